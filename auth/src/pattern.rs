//! Model patterns a token may be limited to (`models` claim): `*` matches any run of
//! characters, `?` one character, anything else itself. Matched against the model name exactly
//! as the caller sent it, so `gpt-4o` does not admit `openai:gpt-4o`. No allocation.

/// Whether `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    // The last `*` seen and where in `name` its match currently ends.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether `pattern` is one a token may carry: not empty, at most 256 bytes, printable.
pub fn valid(pattern: &str) -> bool {
    !pattern.is_empty() && pattern.len() <= 256 && pattern.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        for (p, n, want) in [
            ("*", "anything", true),
            ("*", "", true),
            ("gpt-4o", "gpt-4o", true),
            ("gpt-4o", "openai:gpt-4o", false),
            ("gpt-*", "gpt-4o-mini", true),
            ("gpt-*", "claude", false),
            ("openai:*", "openai:gpt-4o", true),
            ("*-mini", "gpt-4o-mini", true),
            ("g?t", "gpt", true),
            ("g?t", "gt", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("**", "x", true),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(matches(p, n), want, "{p} ~ {n}");
        }
    }
}
