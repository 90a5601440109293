//! Guardrails: rules that block, redact or log content in requests and answers
//! (`plugins.bitrouter-guardrails`). A rule is a regular expression or a built-in detector
//! ([`Detector`]: emails, phone numbers, Luhn-checked card numbers, IBANs with their checksum,
//! US SSNs, IP addresses, and secrets such as API keys, tokens and private keys).
//!
//! Every rule's patterns are compiled into one multi-pattern automaton ([`Guard`]), so checking
//! a text costs one scan whatever the number of rules. Validators (Luhn, IBAN mod 97, SSN
//! ranges) run only on candidate matches. A streamed answer is checked by a [`Stream`] that
//! holds back at most [`WINDOW`] bytes, so a match split across deltas is still found and text
//! is released as soon as no match can still reach into it.
//!
//! Pure: no I/O. A matched value is never put in a message, only the rule's name.

mod detect;
mod guard;
mod stream;

pub use detect::Detector;
pub use guard::{
    Action, CompileError, Finding, Guard, Outcome, Phase, RuleSpec, Selection, Source,
};
pub use stream::{Stream, WINDOW};

/// Most rules in one configuration (selections are fixed-size bitsets).
pub const MAX_RULES: usize = 256;
