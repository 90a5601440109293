//! Wire protocols, ordered protocol sets, and the per-provider rules that pick a set for a model.

use std::fmt;

use rustc_hash::FxHashMap;

/// An upstream (or inbound) wire protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    ChatCompletions,
    Responses,
    Messages,
    GenerateContent,
}

impl Protocol {
    pub const ALL: [Protocol; 4] = [
        Protocol::ChatCompletions,
        Protocol::Responses,
        Protocol::Messages,
        Protocol::GenerateContent,
    ];

    /// As spelled in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::ChatCompletions => "chat_completions",
            Protocol::Responses => "responses",
            Protocol::Messages => "messages",
            Protocol::GenerateContent => "generate_content",
        }
    }

    pub fn parse(s: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ordered set of protocols; the head is preferred. Never empty.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProtocolSet {
    items: [Protocol; 4],
    len: u8,
}

impl fmt::Debug for ProtocolSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl ProtocolSet {
    pub fn one(p: Protocol) -> ProtocolSet {
        ProtocolSet {
            items: [p; 4],
            len: 1,
        }
    }

    /// Builds a set from a non-empty list, dropping repeats. `None` for an empty list.
    pub fn from_list(list: impl IntoIterator<Item = Protocol>) -> Option<ProtocolSet> {
        let mut set: Option<ProtocolSet> = None;
        for p in list {
            match &mut set {
                None => set = Some(ProtocolSet::one(p)),
                Some(s) if !s.contains(p) => {
                    s.items[s.len as usize] = p;
                    s.len += 1;
                }
                Some(_) => {}
            }
        }
        set
    }

    pub fn head(&self) -> Protocol {
        self.items[0]
    }

    pub fn contains(&self, p: Protocol) -> bool {
        self.as_slice().contains(&p)
    }

    pub fn as_slice(&self) -> &[Protocol] {
        &self.items[..self.len as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = Protocol> + '_ {
        self.as_slice().iter().copied()
    }

    /// The protocol to speak upstream for a caller of `inbound`: the caller's own when the set
    /// has it (no translation), else the preferred head.
    pub fn choose(&self, inbound: Option<Protocol>) -> (Protocol, Choice) {
        match inbound {
            Some(p) if self.contains(p) => (p, Choice::Native),
            _ => (self.head(), Choice::Preferred),
        }
    }
}

/// Why [`ProtocolSet::choose`] picked what it picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The caller's protocol is in the set: passthrough, no translation.
    Native,
    /// The set's head (the caller's protocol is not in it, or no caller protocol was given).
    Preferred,
}

/// Which rule gave a model its protocol set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolSource {
    /// `api_protocol` on the model's own entry.
    ModelOverride,
    /// An exact-name pattern.
    Exact,
    /// The longest matching `prefix*` pattern.
    Prefix(Box<str>),
    /// The `*` pattern.
    Wildcard,
    /// A plain `api_protocol` value (no patterns).
    Provider,
    /// No `api_protocol` anywhere: inferred from the host of `api_base`.
    Inferred,
}

impl fmt::Display for ProtocolSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolSource::ModelOverride => f.write_str("the model's own `api_protocol`"),
            ProtocolSource::Exact => f.write_str("exact `api_protocol` pattern"),
            ProtocolSource::Prefix(p) => write!(f, "`api_protocol` pattern `{p}*`"),
            ProtocolSource::Wildcard => f.write_str("`api_protocol` pattern `*`"),
            ProtocolSource::Provider => f.write_str("the provider's `api_protocol`"),
            ProtocolSource::Inferred => f.write_str("inferred from the api_base host"),
        }
    }
}

/// A provider's `api_protocol`, compiled: most specific match wins (exact > longest prefix > `*`).
#[derive(Clone, Debug)]
pub struct ProtocolRules {
    pub(crate) exact: FxHashMap<Box<str>, ProtocolSet>,
    /// Sorted longest prefix first.
    pub(crate) prefixes: Box<[(Box<str>, ProtocolSet)]>,
    pub(crate) wildcard: Option<(ProtocolSet, ProtocolSource)>,
    /// Used when nothing matches and there is no `*` (inferred from the host).
    pub(crate) fallback: ProtocolSet,
}

impl ProtocolRules {
    /// Every protocol set the rules can yield.
    pub fn sets(&self) -> impl Iterator<Item = ProtocolSet> + '_ {
        self.exact
            .values()
            .copied()
            .chain(self.prefixes.iter().map(|(_, s)| *s))
            .chain(Some(
                self.wildcard.as_ref().map_or(self.fallback, |(s, _)| *s),
            ))
    }

    /// The protocol set for `model` and the rule that chose it. Allocates nothing.
    pub fn resolve(&self, model: &str) -> (ProtocolSet, ProtocolSourceRef<'_>) {
        if let Some(set) = self.exact.get(model) {
            return (*set, ProtocolSourceRef::Exact);
        }
        if let Some((prefix, set)) = self.prefixes.iter().find(|(p, _)| model.starts_with(&**p)) {
            return (*set, ProtocolSourceRef::Prefix(prefix));
        }
        match &self.wildcard {
            Some((set, ProtocolSource::Provider)) => (*set, ProtocolSourceRef::Provider),
            Some((set, _)) => (*set, ProtocolSourceRef::Wildcard),
            None => (self.fallback, ProtocolSourceRef::Inferred),
        }
    }
}

/// A borrowed [`ProtocolSource`], as returned by the allocation-free [`ProtocolRules::resolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolSourceRef<'a> {
    ModelOverride,
    Exact,
    Prefix(&'a str),
    Wildcard,
    Provider,
    Inferred,
}

impl ProtocolSourceRef<'_> {
    pub fn to_owned(self) -> ProtocolSource {
        match self {
            ProtocolSourceRef::ModelOverride => ProtocolSource::ModelOverride,
            ProtocolSourceRef::Exact => ProtocolSource::Exact,
            ProtocolSourceRef::Prefix(p) => ProtocolSource::Prefix(p.into()),
            ProtocolSourceRef::Wildcard => ProtocolSource::Wildcard,
            ProtocolSourceRef::Provider => ProtocolSource::Provider,
            ProtocolSourceRef::Inferred => ProtocolSource::Inferred,
        }
    }
}

/// The protocol a host speaks when nothing says otherwise.
pub fn infer_from_host(host: &str) -> Protocol {
    let host = host.to_ascii_lowercase();
    let is = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    if is("anthropic.com") {
        Protocol::Messages
    } else if is("googleapis.com") {
        Protocol::GenerateContent
    } else {
        Protocol::ChatCompletions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_keep_order_and_drop_repeats() {
        let s = ProtocolSet::from_list([
            Protocol::Responses,
            Protocol::ChatCompletions,
            Protocol::Responses,
        ])
        .unwrap();
        assert_eq!(
            s.as_slice(),
            &[Protocol::Responses, Protocol::ChatCompletions]
        );
        assert_eq!(
            s.choose(Some(Protocol::ChatCompletions)),
            (Protocol::ChatCompletions, Choice::Native)
        );
        assert_eq!(
            s.choose(Some(Protocol::Messages)),
            (Protocol::Responses, Choice::Preferred)
        );
        assert!(ProtocolSet::from_list([]).is_none());
    }

    #[test]
    fn host_inference() {
        assert_eq!(infer_from_host("api.anthropic.com"), Protocol::Messages);
        assert_eq!(
            infer_from_host("generativelanguage.googleapis.com"),
            Protocol::GenerateContent
        );
        assert_eq!(
            infer_from_host("notanthropic.com"),
            Protocol::ChatCompletions
        );
        assert_eq!(infer_from_host("openrouter.ai"), Protocol::ChatCompletions);
    }
}
