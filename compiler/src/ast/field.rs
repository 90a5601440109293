//! Building blocks of the AST: [`Spanned`], [`Field`] (absent / invalid / set) and [`NameMap`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::source::Span;
use crate::syntax::de::{SPANNED, SPANNED_FIELDS};

/// A value and the byte span where it is written.
#[derive(Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T: fmt::Debug> fmt::Debug for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a spanned value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Spanned<T>, A::Error> {
                let mut start = 0u32;
                let mut end = 0u32;
                while let Some(key) = map.next_key::<Cow<'_, str>>()? {
                    match key.as_ref() {
                        "$start" => start = map.next_value()?,
                        "$end" => end = map.next_value()?,
                        _ => {
                            let value = map.next_value()?;
                            return Ok(Spanned::new(value, Span::new(start, end)));
                        }
                    }
                }
                Err(de::Error::custom("spanned value without a value"))
            }
        }
        d.deserialize_struct(SPANNED, SPANNED_FIELDS, V(PhantomData))
    }
}

/// A configuration field: not written, written but invalid (already reported), or set.
///
/// `Invalid` lets the rest of the file be checked after a mistake without a cascade of
/// follow-on errors about the same value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Field<T> {
    #[default]
    Absent,
    Invalid,
    Set(Spanned<T>),
}

impl<T> Field<T> {
    pub fn get(&self) -> Option<&T> {
        match self {
            Field::Set(s) => Some(&s.value),
            _ => None,
        }
    }

    pub fn spanned(&self) -> Option<&Spanned<T>> {
        match self {
            Field::Set(s) => Some(s),
            _ => None,
        }
    }

    pub fn span(&self) -> Option<Span> {
        self.spanned().map(|s| s.span)
    }

    /// Written at all, valid or not.
    pub fn is_written(&self) -> bool {
        !matches!(self, Field::Absent)
    }

    pub fn is_invalid(&self) -> bool {
        matches!(self, Field::Invalid)
    }

    /// The set value and its span, by value.
    pub fn into_spanned(self) -> Option<Spanned<T>> {
        match self {
            Field::Set(s) => Some(s),
            _ => None,
        }
    }

    /// The set value, by value.
    pub fn into_value(self) -> Option<T> {
        self.into_spanned().map(|s| s.value)
    }
}

impl<T> Field<List<T>> {
    /// The elements, or none when the list is absent or invalid.
    pub fn items(&self) -> &[T] {
        self.get().map_or(&[], |l| &l.0)
    }

    /// The elements by value, or none when the list is absent or invalid.
    pub fn into_items(self) -> Vec<T> {
        self.into_value().map_or_else(Vec::new, |l| l.0)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Field<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_none<E>(self) -> Result<Field<T>, E> {
                Ok(Field::Absent)
            }
            fn visit_unit<E>(self) -> Result<Field<T>, E> {
                Ok(Field::Absent)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Field<T>, D::Error> {
                // The syntax deserializer has already recorded any error with its span and path.
                Ok(Spanned::<T>::deserialize(d).map_or(Field::Invalid, Field::Set))
            }
        }
        d.deserialize_option(V(PhantomData))
    }
}

/// A list that reads every element it can: an element that fails is reported (by the syntax
/// deserializer, at the element's own path) and left out, and the elements after it are still
/// checked.
#[derive(Clone, Debug, PartialEq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<T> std::ops::Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut out = Vec::new();
                // Each call consumes one element, failed or not; the bound guards against a
                // sequence that would not advance after an error.
                let mut left = seq.size_hint().unwrap_or(usize::MAX);
                while left > 0 {
                    left -= 1;
                    match seq.next_element::<T>() {
                        Ok(Some(v)) => out.push(v),
                        Ok(None) => break,
                        Err(_) => continue,
                    }
                }
                Ok(List(out))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

/// An ordered mapping from spanned names to values (`providers`, `models`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct NameMap<V> {
    pub entries: Vec<(Spanned<String>, V)>,
}

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        NameMap {
            entries: Vec::new(),
        }
    }
}

impl<V> NameMap<V> {
    pub fn get(&self, name: &str) -> Option<&V> {
        self.entries
            .iter()
            .find(|(k, _)| k.value == name)
            .map(|(_, v)| v)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.value.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Spanned<String>, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

impl<'de, V: Deserialize<'de> + Default> Deserialize<'de> for NameMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de> + Default> Visitor<'de> for Vis<V> {
            type Value = NameMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of names")
            }
            fn visit_unit<E>(self) -> Result<NameMap<V>, E> {
                Ok(NameMap::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NameMap<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    // A value that fails was reported at its path, which silences follow-on
                    // checks; the name stays, so references to it still resolve.
                    let v = map.next_value().unwrap_or_default();
                    entries.push((k, v));
                }
                Ok(NameMap { entries })
            }
        }
        d.deserialize_map(Vis(PhantomData))
    }
}

#[cfg(feature = "schema")]
mod schema {
    use super::*;
    use schemars::{JsonSchema, Schema, SchemaGenerator};

    impl<T: JsonSchema> JsonSchema for Spanned<T> {
        fn inline_schema() -> bool {
            T::inline_schema()
        }
        fn schema_name() -> Cow<'static, str> {
            T::schema_name()
        }
        fn schema_id() -> Cow<'static, str> {
            T::schema_id()
        }
        fn json_schema(g: &mut SchemaGenerator) -> Schema {
            T::json_schema(g)
        }
    }

    impl<T: JsonSchema> JsonSchema for Field<T> {
        fn inline_schema() -> bool {
            T::inline_schema()
        }
        fn schema_name() -> Cow<'static, str> {
            T::schema_name()
        }
        fn schema_id() -> Cow<'static, str> {
            T::schema_id()
        }
        fn json_schema(g: &mut SchemaGenerator) -> Schema {
            T::json_schema(g)
        }
    }

    impl<T: JsonSchema> JsonSchema for List<T> {
        fn inline_schema() -> bool {
            true
        }
        fn schema_name() -> Cow<'static, str> {
            format!("List_of_{}", T::schema_name()).into()
        }
        fn json_schema(g: &mut SchemaGenerator) -> Schema {
            <Vec<T>>::json_schema(g)
        }
    }

    impl<V: JsonSchema> JsonSchema for NameMap<V> {
        fn inline_schema() -> bool {
            true
        }
        fn schema_name() -> Cow<'static, str> {
            format!("Map_of_{}", V::schema_name()).into()
        }
        fn json_schema(g: &mut SchemaGenerator) -> Schema {
            <std::collections::BTreeMap<String, V>>::json_schema(g)
        }
    }
}
