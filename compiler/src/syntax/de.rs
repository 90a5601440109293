//! A serde `Deserializer` over the spanned [`Node`] tree that reports every problem and goes on.
//!
//! - Unknown keys in a struct are reported (with a did-you-mean taken from the struct's own field
//!   list, which serde hands us) and skipped, so the field list in `ast` is the only source of
//!   truth for what keys exist.
//! - Every error is recorded as a diagnostic, with the node's span and YAML path, at the moment it
//!   arises inside this deserializer; `ast::Field` then absorbs it as `Field::Invalid` so the
//!   surrounding struct keeps going. A struct written as something other than a mapping is
//!   reported and read as empty.
//! - `ast::Spanned` and mapping keys get their byte spans through a private struct name.

use std::cell::RefCell;
use std::fmt;

use serde::de::value::{StrDeserializer, U32Deserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::{Key, Node, NodeKind};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean, suggest};
use crate::source::Span;

/// The struct name through which `ast::Spanned` asks for a span.
pub const SPANNED: &str = "$bitrouter::Spanned";
pub const SPANNED_FIELDS: &[&str] = &["$start", "$end", "$value"];

/// Reads `node` into `T`, pushing every problem into `acc`.
pub fn from_node<'de, T: de::Deserialize<'de>>(
    node: &Node,
    path: &str,
    acc: &mut Diagnostics,
) -> Option<T> {
    let cx = RefCell::new(std::mem::take(acc));
    let result = T::deserialize(De {
        node,
        path: Path {
            parent: None,
            seg: Seg::Root(path),
        },
        cx: &cx,
    });
    *acc = cx.into_inner();
    result.ok()
}

/// The deserializer's error: recorded as a diagnostic where it arises (`reported`).
#[derive(Debug)]
pub struct Error {
    code: Code,
    message: String,
    help: Option<String>,
    reported: bool,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        let msg = msg.to_string();
        // Shape errors raised by `ast::ApiProtocol`'s own visitors.
        let code = if msg.contains("`api_protocol`") {
            Code::InvalidPattern
        } else {
            Code::InvalidValue
        };
        Error::new(code, msg)
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Error {
        Error::new(
            Code::WrongType,
            format!("expected {}, found {unexp}", plain(&exp.to_string())),
        )
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Error {
        Error::new(
            Code::InvalidValue,
            format!(
                "invalid value {unexp}: expected {}",
                plain(&exp.to_string())
            ),
        )
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Error {
        let (code, what) = if expected == crate::ast::ProtocolName::NAMES {
            (Code::UnknownProtocol, "protocol")
        } else {
            (Code::InvalidValue, "value")
        };
        let mut e = Error::new(code, format!("unknown {what} `{variant}`"));
        e.help = suggest(variant, expected);
        e
    }
}

/// serde names Rust types ("u32"); users read YAML.
fn plain(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        other => other.to_owned(),
    }
}

impl Error {
    fn new(code: Code, message: String) -> Error {
        Error {
            code,
            message,
            help: None,
            reported: false,
        }
    }
}

type Cx = RefCell<Diagnostics>;

/// The YAML path of a node, as a chain of borrowed segments: built into a string only when a
/// diagnostic needs it, so reading a large file allocates no paths.
#[derive(Clone, Copy)]
struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    seg: Seg<'p>,
}

#[derive(Clone, Copy)]
enum Seg<'p> {
    Root(&'p str),
    Key(&'p str),
    Index(usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        let mut segs = vec![self.seg];
        let mut cur = self.parent;
        while let Some(p) = cur {
            segs.push(p.seg);
            cur = p.parent;
        }
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Root(r) => out.push_str(r),
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Index(i) => {
                    let _ = fmt::Write::write_fmt(&mut out, format_args!("[{i}]"));
                }
            }
        }
        out
    }

    fn is_root(&self) -> bool {
        self.parent.is_none() && matches!(self.seg, Seg::Root(r) if r.is_empty())
    }
}

struct De<'a, 'p> {
    node: &'a Node,
    path: Path<'p>,
    cx: &'a Cx,
}

impl<'a, 'p> De<'a, 'p> {
    /// Records `r`'s error (once) at this node.
    fn check<T>(&self, r: Result<T, Error>) -> Result<T, Error> {
        r.map_err(|mut e| {
            if !e.reported {
                let d = Diagnostic::error(e.code, self.path.render(), e.message.clone())
                    .at(self.node.span)
                    .help_opt(e.help.take());
                self.cx.borrow_mut().push(d);
                e.reported = true;
            }
            e
        })
    }

    fn wrong_type<T>(&self, expected: &str) -> Result<T, Error> {
        let e = Error::new(
            Code::WrongType,
            format!("expected {expected}, found {}", self.node.describe()),
        );
        self.check(Err(e))
    }
}

macro_rules! forward_number {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match &self.node.kind {
                NodeKind::Int(i) => { let r = visitor.visit_i64(*i); self.check(r) }
                NodeKind::Float(f) => { let r = visitor.visit_f64(*f); self.check(r) }
                NodeKind::Str(s) if self.node.expanded => match (s.trim().parse::<i64>(), s.trim().parse::<f64>()) {
                    (Ok(i), _) => { let r = visitor.visit_i64(i); self.check(r) }
                    (_, Ok(f)) => { let r = visitor.visit_f64(f); self.check(r) }
                    _ => self.wrong_type("a number (after expanding the environment variable)"),
                },
                _ => self.wrong_type("a number"),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for De<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match &self.node.kind {
            NodeKind::Null => visitor.visit_unit(),
            NodeKind::Bool(b) => visitor.visit_bool(*b),
            NodeKind::Int(i) => visitor.visit_i64(*i),
            NodeKind::Float(f) => visitor.visit_f64(*f),
            NodeKind::Str(s) => visitor.visit_str(s),
            NodeKind::Seq(items) => return self.seq(items, visitor),
            NodeKind::Map(entries) => return self.map(entries, None, visitor),
        };
        self.check(r)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let b = match &self.node.kind {
            NodeKind::Bool(b) => *b,
            NodeKind::Str(s) if self.node.expanded && s.trim() == "true" => true,
            NodeKind::Str(s) if self.node.expanded && s.trim() == "false" => false,
            NodeKind::Str(_) if self.node.expanded => {
                return self
                    .wrong_type("`true` or `false` (after expanding the environment variable)");
            }
            _ => return self.wrong_type("`true` or `false`"),
        };
        let r = visitor.visit_bool(b);
        self.check(r)
    }

    forward_number! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_f32 deserialize_f64
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match &self.node.kind {
            NodeKind::Str(s) => visitor.visit_str(s),
            // An unquoted `4` or `1.5` where text belongs (a model id, a version) is text.
            NodeKind::Int(i) => visitor.visit_string(i.to_string()),
            NodeKind::Float(f) => visitor.visit_string(f.to_string()),
            _ => return self.wrong_type("a string"),
        };
        self.check(r)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.kind {
            NodeKind::Null => {
                let r = visitor.visit_none();
                self.check(r)
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.kind {
            NodeKind::Null => {
                let r = visitor.visit_unit();
                self.check(r)
            }
            _ => self.wrong_type("nothing (null)"),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            NodeKind::Seq(items) => self.seq(items, visitor),
            NodeKind::Null => self.seq(&[], visitor),
            _ => self.wrong_type("a list"),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.kind {
            NodeKind::Map(entries) => self.map(entries, None, visitor),
            NodeKind::Null => self.map(&[], None, visitor),
            _ => {
                // Reported once; read as empty so the rest of the file is still checked.
                let _ = self.wrong_type::<()>("a mapping");
                self.map(&[], None, visitor)
            }
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == SPANNED {
            let span = self.node.span;
            let r = visitor.visit_map(SpannedAccess {
                span,
                value: Some(De { ..self }),
                state: 0,
            });
            return r;
        }
        match &self.node.kind {
            NodeKind::Map(entries) => self.map(entries, Some(fields), visitor),
            NodeKind::Null => self.map(&[], Some(fields), visitor),
            _ => {
                // Reported once here; the struct is then read as empty so its siblings go on.
                let _ = self.wrong_type::<()>("a mapping");
                self.map(&[], Some(fields), visitor)
            }
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node.kind {
            NodeKind::Str(s) => {
                if !variants.contains(&s.as_str()) {
                    return self.check(Err(de::Error::unknown_variant(s, variants)));
                }
                let d: StrDeserializer<'_, Error> = s.as_str().into_deserializer();
                let r = visitor.visit_enum(d);
                self.check(r)
            }
            _ => {
                let list: Vec<String> = variants.iter().map(|v| format!("`{v}`")).collect();
                self.wrong_type(&format!("one of {}", list.join(", ")))
            }
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

impl<'a> De<'a, '_> {
    fn seq<'de, V: Visitor<'de>>(self, items: &'a [Node], visitor: V) -> Result<V::Value, Error> {
        let access = SeqAccess {
            parent: &self,
            items: items.iter().enumerate(),
        };
        let r = visitor.visit_seq(access);
        self.check(r)
    }

    fn map<'de, V: Visitor<'de>>(
        self,
        entries: &'a [(Key, Node)],
        known: Option<&'static [&'static str]>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let access = MapAccess {
            parent: &self,
            entries: entries.iter(),
            known,
            pending: None,
        };
        let r = visitor.visit_map(access);
        self.check(r)
    }

    fn unknown_key(&self, key: &Key, known: &[&str]) {
        let candidates: Vec<&str> = known
            .iter()
            .copied()
            .filter(|k| !k.starts_with('$'))
            .collect();
        let here = self.path.render();
        let msg = if self.path.is_root() {
            format!("unknown top-level section `{}`", key.name)
        } else {
            format!("unknown key `{}` in `{here}`", key.name)
        };
        let key_path = Path {
            parent: Some(&self.path),
            seg: Seg::Key(&key.name),
        };
        let path = key_path.render();
        let d = Diagnostic::error(Code::UnknownKey, path, msg)
            .at(key.span)
            .label("unknown key")
            .help_opt(suggest(&key.name, &candidates));
        let mut cx = self.cx.borrow_mut();
        cx.push(d);
        // A misspelling of a real key: that key counts as written (and invalid), so no
        // "missing `api_base`" follows the "did you mean `api_base`?".
        if let Some(meant) = did_you_mean(&key.name, candidates.iter().copied()) {
            let sibling = Path {
                parent: Some(&self.path),
                seg: Seg::Key(meant),
            }
            .render();
            cx.poison(sibling);
        }
    }
}

struct SeqAccess<'s, 'a, 'p> {
    parent: &'s De<'a, 'p>,
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, '_, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            None => Ok(None),
            Some((i, node)) => {
                let child = De {
                    node,
                    path: Path {
                        parent: Some(&self.parent.path),
                        seg: Seg::Index(i),
                    },
                    cx: self.parent.cx,
                };
                seed.deserialize(child).map(Some)
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAccess<'s, 'a, 'p> {
    parent: &'s De<'a, 'p>,
    entries: std::slice::Iter<'a, (Key, Node)>,
    known: Option<&'static [&'static str]>,
    pending: Option<&'a (Key, Node)>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, '_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        for entry in self.entries.by_ref() {
            if let Some(known) = self.known {
                if !known.contains(&entry.0.name.as_str()) {
                    self.parent.unknown_key(&entry.0, known);
                    continue;
                }
            }
            self.pending = Some(entry);
            return seed.deserialize(KeyDe { key: &entry.0 }).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        let Some((key, node)) = self.pending.take() else {
            return Err(de::Error::custom("value requested before key"));
        };
        seed.deserialize(De {
            node,
            path: Path {
                parent: Some(&self.parent.path),
                seg: Seg::Key(&key.name),
            },
            cx: self.parent.cx,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// Gives `ast::Spanned` its span, then its value.
struct SpannedAccess<'a, 'p> {
    span: Span,
    value: Option<De<'a, 'p>>,
    state: u8,
}

impl<'de> de::MapAccess<'de> for SpannedAccess<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(&name) = SPANNED_FIELDS.get(self.state as usize) else {
            return Ok(None);
        };
        let d: StrDeserializer<'_, Error> = name.into_deserializer();
        seed.deserialize(d).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        self.state += 1;
        match self.state {
            1 => seed.deserialize(U32Deserializer::<Error>::new(self.span.start)),
            2 => seed.deserialize(U32Deserializer::<Error>::new(self.span.end)),
            _ => match self.value.take() {
                Some(v) => seed.deserialize(v),
                None => Err(de::Error::custom("span value read twice")),
            },
        }
    }
}

/// A mapping key: its text, or (for `Spanned<String>`) its text and span.
struct KeyDe<'a> {
    key: &'a Key,
}

impl<'de> de::Deserializer<'de> for KeyDe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(&self.key.name)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == SPANNED {
            return visitor.visit_map(KeySpannedAccess {
                key: self.key,
                state: 0,
            });
        }
        visitor.visit_str(&self.key.name)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

struct KeySpannedAccess<'a> {
    key: &'a Key,
    state: u8,
}

impl<'de> de::MapAccess<'de> for KeySpannedAccess<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(&name) = SPANNED_FIELDS.get(self.state as usize) else {
            return Ok(None);
        };
        let d: StrDeserializer<'_, Error> = name.into_deserializer();
        seed.deserialize(d).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        self.state += 1;
        match self.state {
            1 => seed.deserialize(U32Deserializer::<Error>::new(self.key.span.start)),
            2 => seed.deserialize(U32Deserializer::<Error>::new(self.key.span.end)),
            _ => seed.deserialize(StrDeserializer::<Error>::new(&self.key.name)),
        }
    }
}
