//! [`Secret`]: a credential that never shows in `Debug`, `Display`, logs or dumps.

use std::fmt;

/// A credential or secret header value. Formatting prints `***`; only [`Secret::expose`] gives
/// the text, and only the data plane's upstream request builder should call it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    pub fn new(value: impl Into<Box<str>>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_value() {
        let s = Secret::new("sk-live-SENTINEL");
        assert!(!format!("{s:?} {s} {:?}", Some(&s)).contains("SENTINEL"));
        assert_eq!(s.expose(), "sk-live-SENTINEL");
    }
}
