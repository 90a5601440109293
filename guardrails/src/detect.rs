//! The built-in detectors: the regular expressions that find candidates, and the checks that
//! keep only real ones (a card number must pass Luhn, an IBAN mod 97, an SSN the assignable
//! ranges). Every pattern's longest match is bounded well under the stream window.

/// A built-in detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Detector {
    Email,
    Phone,
    CreditCard,
    Iban,
    UsSsn,
    IpAddress,
    /// OpenAI, Anthropic and Google API keys, AWS access keys, GitHub and Slack tokens,
    /// private-key blocks, JWTs.
    Secrets,
}

/// What a candidate must also satisfy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    None,
    Luhn,
    Iban,
    Ssn,
}

impl Detector {
    pub const ALL: [Detector; 7] = [
        Detector::Email,
        Detector::Phone,
        Detector::CreditCard,
        Detector::Iban,
        Detector::UsSsn,
        Detector::IpAddress,
        Detector::Secrets,
    ];

    /// The name a configuration writes (`detector: credit_card`).
    pub fn name(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::CreditCard => "credit_card",
            Detector::Iban => "iban",
            Detector::UsSsn => "us_ssn",
            Detector::IpAddress => "ip_address",
            Detector::Secrets => "secrets",
        }
    }

    pub fn parse(name: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The patterns, each with its check.
    pub(crate) fn patterns(self) -> &'static [(&'static str, Check)] {
        match self {
            Detector::Email => &[(
                r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,4}\.[A-Za-z]{2,24}",
                Check::None,
            )],
            Detector::Phone => &[(
                r"(?:\+[1-9]\d{0,2}[ .\-]?)?(?:\(\d{2,4}\)|\d{2,4})[ .\-]\d{3,4}[ .\-]\d{3,4}",
                Check::None,
            )],
            Detector::CreditCard => &[(r"\b\d(?:[ \-]?\d){12,18}\b", Check::Luhn)],
            Detector::Iban => &[(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b", Check::Iban)],
            Detector::UsSsn => &[(r"\b\d{3}-\d{2}-\d{4}\b", Check::Ssn)],
            Detector::IpAddress => &[
                (
                    r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b",
                    Check::None,
                ),
                (
                    r"\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b|\b(?:[0-9A-Fa-f]{1,4}:){1,7}:(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4}\b",
                    Check::None,
                ),
            ],
            Detector::Secrets => &[
                // OpenAI (sk-…, sk-proj-…) and Anthropic (sk-ant-…) keys.
                (r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,160}", Check::None),
                // Google API keys.
                (r"\bAIza[0-9A-Za-z_\-]{35}", Check::None),
                // AWS access key ids.
                (r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b", Check::None),
                // GitHub tokens.
                (
                    r"\b(?:gh[pousr]_[A-Za-z0-9]{36,76}|github_pat_[A-Za-z0-9_]{22,100})",
                    Check::None,
                ),
                // Slack tokens.
                (r"\bxox[abposr]-[A-Za-z0-9\-]{10,120}", Check::None),
                // A private key block's header line.
                (
                    r"-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY-----",
                    Check::None,
                ),
                // JWTs (header and claims are base64url JSON objects).
                (
                    r"\beyJ[A-Za-z0-9_\-]{8,1000}\.eyJ[A-Za-z0-9_\-]{8,4000}\.[A-Za-z0-9_\-]{8,1000}",
                    Check::None,
                ),
            ],
        }
    }
}

impl Check {
    pub(crate) fn holds(self, m: &str) -> bool {
        match self {
            Check::None => true,
            Check::Luhn => luhn(m),
            Check::Iban => iban(m),
            Check::Ssn => ssn(m),
        }
    }
}

/// The Luhn checksum over the digits of `s` (13 to 19 of them).
fn luhn(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// ISO 13616: move the first four characters to the end, letters to numbers, mod 97 == 1.
fn iban(s: &str) -> bool {
    let compact: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let mut rem: u32 = 0;
    for c in compact[4..].iter().chain(&compact[..4]) {
        let v = match c {
            '0'..='9' => *c as u32 - '0' as u32,
            'A'..='Z' => *c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Area 001–665 or 667–899, group 01–99, serial 0001–9999.
fn ssn(s: &str) -> bool {
    let p: Vec<&str> = s.split('-').collect();
    let n = |x: &str| x.parse::<u32>().unwrap_or(0);
    p.len() == 3 && {
        let (a, g, sr) = (n(p[0]), n(p[1]), n(p[2]));
        a != 0 && a != 666 && a < 900 && g != 0 && sr != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums() {
        assert!(luhn("4111 1111 1111 1111"));
        assert!(luhn("5500-0000-0000-0004"));
        assert!(!luhn("4111 1111 1111 1112"));
        assert!(!luhn("1234"));
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(iban("DE89370400440532013000"));
        assert!(!iban("GB82 WEST 1234 5698 7654 33"));
        assert!(ssn("123-45-6789"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert!(!ssn(bad), "{bad}");
        }
    }
}
