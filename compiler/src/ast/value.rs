//! Value types of the file format with their own syntax: protocols and `api_protocol` patterns,
//! durations (`10s`) and byte sizes (`32MiB`).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::Spanned;

/// An outbound wire protocol, spelled as in the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProtocolName {
    /// OpenAI Chat Completions (`POST {base}/chat/completions`).
    ChatCompletions,
    /// OpenAI Responses (`POST {base}/responses`).
    Responses,
    /// Anthropic Messages (`POST {base}/v1/messages`).
    Messages,
    /// Google Gemini (`POST {base}/v1beta/models/{model}:generateContent`).
    GenerateContent,
}

impl ProtocolName {
    pub const NAMES: &'static [&'static str] = &[
        "chat_completions",
        "responses",
        "messages",
        "generate_content",
    ];

    fn parse<E: de::Error>(s: &str) -> Result<ProtocolName, E> {
        let d: de::value::StrDeserializer<'_, E> = s.into_deserializer();
        ProtocolName::deserialize(d)
    }
}

/// One protocol or an ordered list of them (the head is preferred).
#[derive(Clone, Debug, PartialEq)]
pub struct ProtocolList(pub Vec<Spanned<ProtocolName>>);

impl<'de> Deserialize<'de> for ProtocolList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ProtocolList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a protocol or a list of protocols")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ProtocolList, E> {
                // The span is filled in by the caller from the enclosing `Spanned`.
                Ok(ProtocolList(vec![Spanned::new(
                    ProtocolName::parse(s)?,
                    Default::default(),
                )]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ProtocolList, A::Error> {
                let mut out = Vec::new();
                let mut failed = None;
                let mut left = seq.size_hint().unwrap_or(usize::MAX);
                while left > 0 {
                    left -= 1;
                    // Keep reading after a bad element so every one is reported.
                    match seq.next_element::<Spanned<ProtocolName>>() {
                        Ok(Some(p)) => out.push(p),
                        Ok(None) => break,
                        Err(e) => failed = failed.or(Some(e)),
                    }
                }
                if let Some(e) = failed {
                    return Err(e);
                }
                if out.is_empty() {
                    return Err(de::Error::custom(
                        "an `api_protocol` list must name at least one protocol",
                    ));
                }
                Ok(ProtocolList(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `api_protocol`: a protocol, a list of protocols, or an ordered list of pattern entries.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiProtocol {
    Protocols(ProtocolList),
    Patterns(Vec<Spanned<PatternEntry>>),
}

/// `pattern: protocol-or-list`, where pattern is `*`, `prefix*` or an exact model name.
#[derive(Clone, Debug, PartialEq)]
pub struct PatternEntry {
    pub pattern: Spanned<String>,
    pub protocols: Spanned<ProtocolList>,
}

enum Item {
    Name(ProtocolName),
    Entry(PatternEntry),
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Item;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a protocol or a single-key `pattern: protocol` mapping")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Item, E> {
                ProtocolName::parse(s).map(Item::Name)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
                let Some(pattern) = map.next_key::<Spanned<String>>()? else {
                    return Err(de::Error::custom(
                        "an empty `api_protocol` entry; write `pattern: protocol`",
                    ));
                };
                let protocols = map.next_value::<Spanned<ProtocolList>>()?;
                if map.next_key::<Spanned<String>>()?.is_some() {
                    return Err(de::Error::custom(
                        "each `api_protocol` entry has exactly one `pattern: protocol` key; write one list item per pattern",
                    ));
                }
                Ok(Item::Entry(PatternEntry { pattern, protocols }))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for ApiProtocol {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ApiProtocol;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a protocol, a list of protocols, or a list of `pattern: protocol` entries",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ApiProtocol, E> {
                let p = ProtocolName::parse(s)?;
                Ok(ApiProtocol::Protocols(ProtocolList(vec![Spanned::new(
                    p,
                    Default::default(),
                )])))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ApiProtocol, A::Error> {
                let mut names = Vec::new();
                let mut entries = Vec::new();
                let mut failed = None;
                let mut left = seq.size_hint().unwrap_or(usize::MAX);
                while left > 0 {
                    left -= 1;
                    match seq.next_element::<Spanned<Item>>() {
                        Ok(Some(item)) => match item.value {
                            Item::Name(n) => names.push(Spanned::new(n, item.span)),
                            Item::Entry(e) => entries.push(Spanned::new(e, item.span)),
                        },
                        Ok(None) => break,
                        Err(e) => failed = failed.or(Some(e)),
                    }
                }
                if let Some(e) = failed {
                    return Err(e);
                }
                match (names.is_empty(), entries.is_empty()) {
                    (false, true) => Ok(ApiProtocol::Protocols(ProtocolList(names))),
                    (true, _) if !entries.is_empty() => Ok(ApiProtocol::Patterns(entries)),
                    (true, _) => Err(de::Error::custom("`api_protocol` is an empty list")),
                    (false, false) => Err(de::Error::custom(
                        "`api_protocol` mixes plain protocols and `pattern: protocol` entries; write `\"*\": protocol` for the default",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A string that may hold a secret (a key, a header value, an environment value): read as any
/// string, but `Debug` prints `***`, so an AST printed for debugging shows no credential.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretText(pub String);

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretText)
    }
}

/// A duration: `500ms`, `10s`, `2m`, `1h`, `30d`, or a bare number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub fn parse(s: &str) -> Result<Duration, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: f64 = num.parse().map_err(|_| {
            format!("`{s}` is not a duration; write e.g. `500ms`, `10s`, `2m` or `1h`")
        })?;
        let secs = match unit.trim() {
            "ms" => n / 1000.0,
            "" | "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            "d" => n * 86_400.0,
            other => {
                return Err(format!(
                    "unknown duration unit `{other}`; use `ms`, `s`, `m`, `h` or `d`"
                ));
            }
        };
        if !secs.is_finite() || !(0.0..=31_536_000.0).contains(&secs) {
            return Err(format!("`{s}` is out of range (at most a year)"));
        }
        Ok(Duration(std::time::Duration::from_secs_f64(secs)))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as `10s`")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                Duration::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Duration::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                Duration::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A size in bytes: a number, or `64KiB`, `32MiB`, `1GiB` (and decimal `KB`, `MB`, `GB`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(s: &str) -> Result<ByteSize, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{s}` is not a size; write e.g. `64KiB` or `32MiB`"))?;
        let mult: u64 = match unit.trim() {
            "" | "B" => 1,
            "KB" | "kB" => 1000,
            "KiB" => 1 << 10,
            "MB" => 1000 * 1000,
            "MiB" => 1 << 20,
            "GB" => 1000 * 1000 * 1000,
            "GiB" => 1 << 30,
            other => {
                return Err(format!(
                    "unknown size unit `{other}`; use `B`, `KiB`, `MiB`, `GiB`, `KB`, `MB` or `GB`"
                ));
            }
        };
        n.checked_mul(mult)
            .map(ByteSize)
            .ok_or_else(|| format!("`{s}` is too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as `32MiB`")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "schema")]
mod schema {
    use super::*;
    use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
    use std::borrow::Cow;

    impl JsonSchema for ProtocolList {
        fn schema_name() -> Cow<'static, str> {
            "ProtocolList".into()
        }
        fn json_schema(g: &mut SchemaGenerator) -> Schema {
            let p = g.subschema_for::<ProtocolName>();
            json_schema!({
                "description": "A protocol, or an ordered list of protocols whose head is preferred.",
                "oneOf": [p, {"type": "array", "items": p, "minItems": 1}]
            })
        }
    }

    impl JsonSchema for ApiProtocol {
        fn schema_name() -> Cow<'static, str> {
            "ApiProtocol".into()
        }
        fn json_schema(g: &mut SchemaGenerator) -> Schema {
            let list = g.subschema_for::<ProtocolList>();
            json_schema!({
                "oneOf": [
                    list,
                    {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "minProperties": 1,
                            "maxProperties": 1,
                            "additionalProperties": list,
                            "description": "`pattern: protocol-or-list`; pattern is `*`, `prefix*` or an exact model id."
                        }
                    }
                ]
            })
        }
    }

    impl JsonSchema for SecretText {
        fn inline_schema() -> bool {
            true
        }
        fn schema_name() -> Cow<'static, str> {
            "String".into()
        }
        fn json_schema(g: &mut SchemaGenerator) -> Schema {
            String::json_schema(g)
        }
    }

    impl JsonSchema for Duration {
        fn schema_name() -> Cow<'static, str> {
            "Duration".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "`500ms`, `10s`, `2m`, `1h`, `30d`, or a number of seconds.",
                "oneOf": [
                    {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)?$"},
                    {"type": "number", "minimum": 0}
                ]
            })
        }
    }

    impl JsonSchema for ByteSize {
        fn schema_name() -> Cow<'static, str> {
            "ByteSize".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "A number of bytes, or `64KiB`, `32MiB`, `1GiB`, `1MB`.",
                "oneOf": [
                    {"type": "string", "pattern": "^[0-9]+ ?(B|KB|kB|KiB|MB|MiB|GB|GiB)?$"},
                    {"type": "integer", "minimum": 0}
                ]
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(Duration::parse("500ms").unwrap().0.as_millis(), 500);
        assert_eq!(Duration::parse("2m").unwrap().0.as_secs(), 120);
        assert_eq!(Duration::parse("365d").unwrap().0.as_secs(), 31_536_000);
        assert!(Duration::parse("366d").is_err());
        assert_eq!(Duration::parse("10").unwrap().0.as_secs(), 10);
        assert!(Duration::parse("10 parsecs").is_err());
        assert!(Duration::parse("s").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(ByteSize::parse("32MiB").unwrap().0, 32 << 20);
        assert_eq!(ByteSize::parse("1 KB").unwrap().0, 1000);
        assert!(ByteSize::parse("99999999999999GiB").is_err());
        assert!(ByteSize::parse("lots").is_err());
    }
}
