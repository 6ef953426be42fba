//! The native JSON Lines history format (design.md): one JSON object per
//! line with `process`, `type`, `f`, optional `key`, `value` and `time`.
//! Blank lines are allowed. Any other field is an error (a misspelt
//! `value` must not silently become `null`), except the metadata fields
//! Jepsen writes, which are ignored: see [`IGNORED_FIELDS`].

use super::{op_name, Clock, ParseError, Record, RecordKind, Records};
use crate::datum::Datum;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The fields a line may have.
const FIELDS: [&str; 6] = ["process", "type", "f", "key", "value", "time"];
/// Jepsen metadata fields, accepted and ignored.
pub const IGNORED_FIELDS: [&str; 4] = ["index", "error", "node", "end-time"];

/// Reads every line of a JSON Lines history (`None`: the clock ran out).
pub(crate) fn parse(text: &str, clock: &mut Clock) -> Result<Option<Records>, ParseError> {
    let mut out = Records::for_text(text);
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        if clock.passed() {
            return Ok(None);
        }
        let record = match typed_line(raw, line) {
            Some(record) => record,
            None => parse_line(raw, line)?,
        };
        out.records.push(record);
    }
    Ok(Some(out))
}

/// A line as the fast reader sees it: the fields straight into their
/// types, every other field refused (`deny_unknown_fields`), a repeated
/// field refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypedLine<'a> {
    process: u64,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    f: Cow<'a, str>,
    #[serde(default, deserialize_with = "present")]
    key: Option<Datum>,
    #[serde(default = "nil", deserialize_with = "datum")]
    value: Datum,
    time: Option<u64>,
    #[serde(rename = "index", default)]
    _index: IgnoredAny,
    #[serde(rename = "error", default)]
    _error: IgnoredAny,
    #[serde(rename = "node", default)]
    _node: IgnoredAny,
    #[serde(rename = "end-time", default)]
    _end_time: IgnoredAny,
}

/// The record of a line in the usual shape, read without building a JSON
/// value first; `None` for anything else (including every malformed
/// line), which `parse_line` then reads or names as an error. Gives the
/// same record as `parse_line` wherever it gives one.
fn typed_line(raw: &str, line: usize) -> Option<Record> {
    let typed: TypedLine<'_> = serde_json::from_str(raw).ok()?;
    Some(Record {
        line,
        process: typed.process,
        kind: RecordKind::from_name(&typed.kind)?,
        f: op_name(&typed.f),
        key: typed.key,
        value: typed.value,
        time: typed.time,
    })
}

fn nil() -> Datum {
    Datum::Nil
}

fn datum<'de, D: Deserializer<'de>>(d: D) -> Result<Datum, D::Error> {
    d.deserialize_any(DatumVisitor)
}

/// A field that is present, even as `null`, is `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Datum>, D::Error> {
    datum(d).map(Some)
}

/// Builds the same [`Datum`] as [`Datum::from_json`] does from a parsed
/// value: integers that fit in 64 signed bits are integers, other numbers
/// floats; an object's repeated key keeps its last value.
struct DatumVisitor;

impl<'de> Visitor<'de> for DatumVisitor {
    type Value = Datum;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Datum, E> {
        Ok(Datum::Nil)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Datum, E> {
        Ok(Datum::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Datum, E> {
        Ok(Datum::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Datum, E> {
        Ok(i64::try_from(u).map_or(Datum::Float((u as f64).to_bits()), Datum::Int))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Datum, E> {
        Ok(Datum::Float(f.to_bits()))
    }
    fn visit_str<E>(self, s: &str) -> Result<Datum, E> {
        Ok(Datum::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Datum, E> {
        Ok(Datum::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Datum, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(DatumSeed)? {
            items.push(item);
        }
        Ok(Datum::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Datum, A::Error> {
        let mut entries: BTreeMap<String, Datum> = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(DatumSeed)?;
            entries.insert(key, value);
        }
        Ok(Datum::map(entries.into_iter().map(|(k, v)| (Datum::Str(k), v)).collect()))
    }
}

struct DatumSeed;

impl<'de> DeserializeSeed<'de> for DatumSeed {
    type Value = Datum;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Datum, D::Error> {
        datum(d)
    }
}

fn parse_line(raw: &str, line: usize) -> Result<Record, ParseError> {
    let err = |message: String| Err(ParseError { line, message });
    let value: Value = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) => return err(format!("expected one JSON object per line, but this is not valid JSON ({e})")),
    };
    let Value::Object(fields) = value else {
        return err(format!("expected a JSON object {{\"process\":..,\"type\":..,\"f\":..}}, found {value}"));
    };
    let process = match fields.get("process") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().expect("checked"),
        Some(other) => return err(format!("expected \"process\" to be a non-negative integer, found {other}")),
        None => return err("expected a \"process\" field (a non-negative integer)".into()),
    };
    let kind = match fields.get("type") {
        Some(Value::String(s)) => match RecordKind::from_name(s) {
            Some(kind) => kind,
            None => {
                return err(format!("expected \"type\" to be \"invoke\", \"ok\", \"fail\" or \"info\", found {s:?}"))
            }
        },
        Some(other) => {
            return err(format!(
                "expected \"type\" to be a string (\"invoke\", \"ok\", \"fail\" or \"info\"), found {other}"
            ))
        }
        None => return err("expected a \"type\" field (\"invoke\", \"ok\", \"fail\" or \"info\")".into()),
    };
    let f = match fields.get("f") {
        Some(Value::String(s)) => op_name(s),
        Some(other) => return err(format!("expected \"f\" to be a string, found {other}")),
        None => return err("expected an \"f\" field (the operation's name)".into()),
    };
    let time = match fields.get("time") {
        None => None,
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
        Some(other) => {
            return err(format!("expected \"time\" to be a non-negative integer (nanoseconds), found {other}"))
        }
    };
    if let Some(unknown) =
        fields.keys().find(|k| !FIELDS.contains(&k.as_str()) && !IGNORED_FIELDS.contains(&k.as_str()))
    {
        return err(format!(
            "unknown field {unknown:?}; expected the fields {} (and optionally {})",
            FIELDS.join(", "),
            IGNORED_FIELDS.join(", ")
        ));
    }
    Ok(Record {
        line,
        process,
        kind,
        f,
        key: fields.get("key").map(Datum::from_json),
        value: fields.get("value").map_or(Datum::Nil, Datum::from_json),
        time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Records, ParseError> {
        crate::formats::parse(text, crate::formats::Format::Jsonl)
    }

    #[test]
    fn the_typed_reader_agrees_with_the_value_reader() {
        let lines = [
            r#"{"process":0,"type":"invoke","f":"append","key":"x","value":"a","time":1200}"#,
            r#"{"process":3,"type":"ok","f":"read","value":null,"index":7,"node":"n1"}"#,
            r#"{"process":3,"type":"ok","f":"read","key":null}"#,
            r#"{"process":3,"type":"ok","f":"w","value":{"b":[1,2.5,-3,18446744073709551615],"a":true,"b":"last"}}"#,
            r#"{"process":3,"type":"info","f":"cas","value":[1,2],"error":{"why":"timeout"},"end-time":5}"#,
            r#"{"f":"x","type":"fail","process":9,"value":"\u00e9\n"}"#,
            r#"{"process":1,"type":"ok","f":"read","value":1e3}"#,
            r#"{"process":1,"type":"ok","f":"read","value":-0}"#,
        ];
        for raw in lines {
            let fast = typed_line(raw, 4).unwrap_or_else(|| panic!("the typed reader reads {raw}"));
            assert_eq!(fast, parse_line(raw, 4).unwrap(), "{raw}");
        }
        // Anything unusual goes to the value reader (and its messages).
        for raw in [
            r#"{"process":0,"type":"ok","f":"read","valeu":1}"#,
            r#"{"process":0,"process":1,"type":"ok","f":"read"}"#,
            r#"{"process":-1,"type":"ok","f":"read"}"#,
            r#"{"process":0,"type":"begin","f":"read"}"#,
            r#"{"process":0,"type":"ok","f":"read","time":1.5}"#,
        ] {
            assert!(typed_line(raw, 1).is_none(), "{raw}");
        }
    }

    #[test]
    fn reads_fields_and_names_bad_lines() {
        let r =
            parse("{\"process\":0,\"type\":\"invoke\",\"f\":\"append\",\"key\":\"x\",\"value\":\"a\",\"time\":1200}\n")
                .unwrap();
        assert_eq!(r.records[0].key, Some(Datum::Str("x".into())));
        assert_eq!(r.records[0].time, Some(1200));
        let e =
            parse("{\"process\":0,\"type\":\"invoke\",\"f\":\"get\"}\n{\"process\":0,\"type\":\"ok\",\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("not valid JSON"), "{e}");
        let e = parse("{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"valeu\":1,\"index\":3}").unwrap_err();
        assert!(e.message.contains("unknown field \"valeu\""), "{e}");
        let e = parse("{\"process\":\"zero\",\"type\":\"invoke\",\"f\":\"write\",\"value\":1}").unwrap_err();
        assert!(e.message.contains("\"process\" to be a non-negative integer, found \"zero\""), "{e}");
    }
}
