//! Format-neutral values read from history files.
//!
//! JSON and EDN values both become a [`Datum`], so that a value written as
//! `3` in a JSON history and `3` in an EDN history compare equal, and so that
//! values can be hashed and interned by the built-in models.

use std::fmt;

/// A value read from a history file (JSON or EDN).
///
/// Equality is structural. Vectors and lists are the same kind of value
/// ([`Datum::List`]); map entries and set members are kept sorted so that
/// equal maps and sets compare equal whatever order they were written in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Datum {
    /// JSON `null`, EDN `nil`.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A floating-point number, stored as its IEEE-754 bits.
    Float(u64),
    /// A string.
    Str(String),
    /// An EDN keyword, without its leading `:`.
    Keyword(String),
    /// An EDN symbol (a bare word other than `nil`, `true`, `false`).
    Symbol(String),
    /// A JSON array, an EDN vector or list.
    List(Vec<Datum>),
    /// An EDN set, members sorted and deduplicated.
    Set(Vec<Datum>),
    /// A JSON object or EDN map, entries sorted by key.
    Map(Vec<(Datum, Datum)>),
}

impl Datum {
    /// Builds a map datum, sorting the entries by key.
    pub fn map(mut entries: Vec<(Datum, Datum)>) -> Datum {
        entries.sort();
        Datum::Map(entries)
    }

    /// Builds a set datum, sorting and deduplicating the members.
    pub fn set(mut members: Vec<Datum>) -> Datum {
        members.sort();
        members.dedup();
        Datum::Set(members)
    }

    /// Converts a parsed JSON value.
    pub fn from_json(value: &serde_json::Value) -> Datum {
        use serde_json::Value;
        match value {
            Value::Null => Datum::Nil,
            Value::Bool(b) => Datum::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Datum::Int(i),
                None => Datum::Float(n.as_f64().unwrap_or(f64::NAN).to_bits()),
            },
            Value::String(s) => Datum::Str(s.clone()),
            Value::Array(items) => Datum::List(items.iter().map(Datum::from_json).collect()),
            Value::Object(entries) => {
                Datum::map(entries.iter().map(|(k, v)| (Datum::Str(k.clone()), Datum::from_json(v))).collect())
            }
        }
    }

    /// The value's string if it is a [`Datum::Str`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Datum::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value's name if it is a keyword or a string (`:ok` and `"ok"`
    /// both give `ok`), which is how operation names and types are written.
    pub fn as_name(&self) -> Option<&str> {
        match self {
            Datum::Keyword(s) | Datum::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Datum::Nil => "null",
            Datum::Bool(_) => "a boolean",
            Datum::Int(_) => "an integer",
            Datum::Float(_) => "a float",
            Datum::Str(_) => "a string",
            Datum::Keyword(_) => "a keyword",
            Datum::Symbol(_) => "a symbol",
            Datum::List(_) => "a list",
            Datum::Set(_) => "a set",
            Datum::Map(_) => "a map",
        }
    }
}

fn write_seq(f: &mut fmt::Formatter<'_>, open: &str, items: &[Datum], close: &str) -> fmt::Result {
    f.write_str(open)?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    f.write_str(close)
}

/// Writes the value in a JSON-like notation (`null`, `3`, `"a"`, `[1, 2]`),
/// keywords as `:name`.
impl fmt::Display for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Datum::Nil => f.write_str("null"),
            Datum::Bool(b) => write!(f, "{b}"),
            Datum::Int(i) => write!(f, "{i}"),
            Datum::Float(bits) => write!(f, "{}", f64::from_bits(*bits)),
            Datum::Str(s) => write!(f, "{s:?}"),
            Datum::Keyword(k) => write!(f, ":{k}"),
            Datum::Symbol(s) => f.write_str(s),
            Datum::List(items) => write_seq(f, "[", items, "]"),
            Datum::Set(items) => write_seq(f, "#{", items, "}"),
            Datum::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_maps_normalise() {
        let a = Datum::from_json(&serde_json::json!({"b": 1, "a": [null, "x", 2.5]}));
        let b = Datum::map(vec![
            (
                Datum::Str("a".into()),
                Datum::List(vec![Datum::Nil, Datum::Str("x".into()), Datum::Float(2.5f64.to_bits())]),
            ),
            (Datum::Str("b".into()), Datum::Int(1)),
        ]);
        assert_eq!(a, b);
        assert_eq!(a.to_string(), r#"{"a": [null, "x", 2.5], "b": 1}"#);
    }
}
