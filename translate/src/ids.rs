//! Tool-call and response ids across protocols: a deterministic, collision-safe rewrite for ids a
//! wire cannot carry, and made-up ids where an upstream has none (docs/translation-cases.md#e19,
//! #e20).

use std::borrow::Cow;
use std::fmt::Write as _;

/// The longest id any wire accepts (OpenAI Responses `call_id`).
pub const MAX_ID: usize = 64;

/// `id` as every wire accepts it: `^[a-zA-Z0-9_-]{1,64}$` (Anthropic's charset, Responses'
/// length). Ids that already conform pass through unchanged; others are cleaned and get a
/// hash of the original as a suffix, so the rewrite is the same on every turn (the call and
/// its result match) and two different ids stay different.
pub fn wire_safe(id: &str) -> Cow<'_, str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !id.is_empty() && id.len() <= MAX_ID && id.chars().all(ok) {
        return Cow::Borrowed(id);
    }
    let mut s = String::with_capacity(MAX_ID);
    for c in id.chars() {
        if s.len() >= MAX_ID - 17 {
            break;
        }
        s.push(if ok(c) { c } else { '_' });
    }
    let _ = write!(s, "_{:016x}", fnv1a(id.as_bytes()));
    Cow::Owned(s)
}

/// Writes a made-up id: `prefix` then 24 hex digits that depend only on `seed` and `n`.
pub fn synthesize(prefix: &str, seed: u64, n: u64, out: &mut String) {
    out.clear();
    out.push_str(prefix);
    let a = splitmix(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let b = splitmix(a ^ n);
    let _ = write!(out, "{a:016x}{:08x}", b >> 32);
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &c| {
        (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforming_ids_pass_through() {
        assert!(matches!(wire_safe("call_abc-123"), Cow::Borrowed(_)));
        assert!(matches!(wire_safe("toolu_01A"), Cow::Borrowed(_)));
    }

    #[test]
    fn other_ids_are_rewritten_deterministically_and_distinctly() {
        let a = wire_safe("functions.Bash:0");
        let b = wire_safe("functions.Bash:1");
        assert_ne!(a, b);
        assert_eq!(a, wire_safe("functions.Bash:0"));
        assert!(a.starts_with("functions_Bash_0_"));
        let long = "x".repeat(200);
        let l = wire_safe(&long);
        assert!(l.len() <= MAX_ID, "{l}");
        assert!(wire_safe("").len() > 1);
        for id in [&*a, &*b, &*l] {
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            );
        }
    }

    #[test]
    fn synthesized_ids_depend_on_seed_and_counter() {
        let (mut a, mut b, mut c) = (String::new(), String::new(), String::new());
        synthesize("call_", 7, 0, &mut a);
        synthesize("call_", 7, 1, &mut b);
        synthesize("call_", 8, 0, &mut c);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 5 + 24);
        let mut again = String::new();
        synthesize("call_", 7, 0, &mut again);
        assert_eq!(a, again);
    }
}
