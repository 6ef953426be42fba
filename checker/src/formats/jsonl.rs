//! The native JSON Lines history format (design.md): one JSON object per
//! line with `process`, `type`, `f`, optional `key`, `value` and `time`.
//! Blank lines are allowed. Any other field is an error (a misspelt
//! `value` must not silently become `null`), except the metadata fields
//! Jepsen writes, which are ignored: see [`IGNORED_FIELDS`].

use super::{Clock, ParseError, Record, RecordKind, Records};
use crate::datum::Datum;
use serde_json::Value;

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
        out.records.push(parse_line(raw, line)?);
    }
    Ok(Some(out))
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
        Some(Value::String(s)) => s.clone(),
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
