//! Jepsen log lines, as in porcupine's etcd corpus:
//! `INFO  jepsen.util - <process> :<type> :<f> <value>`, fields separated
//! by any whitespace; the value is an EDN form (`nil`, `3`, `[3 0]`,
//! `:timed-out`). Blank lines are allowed; any other line is an error.

use super::edn::Reader;
use super::{Clock, ParseError, Record, RecordKind, Records};
use crate::datum::Datum;

const MARKER: &str = "jepsen.util - ";
const EXPECTED: &str = "expected a Jepsen log line `INFO  jepsen.util - <process> :<type> :<f> <value>`";

/// Reads every line of a Jepsen log (`None`: the clock ran out).
pub(crate) fn parse(text: &str, clock: &mut Clock) -> Result<Option<Records>, ParseError> {
    let mut out = Records::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        if clock.passed() {
            return Ok(None);
        }
        let err = |message: String| Err(ParseError { line, message });
        let Some(at) = raw.find(MARKER) else {
            return err(format!("{EXPECTED}, found {:?}", truncate(raw)));
        };
        let mut reader = Reader::new(&raw[at + MARKER.len()..], line);
        let mut fields = Vec::with_capacity(4);
        while let Some(d) = reader.read()? {
            fields.push(d);
        }
        if fields.len() != 4 {
            return err(format!("{EXPECTED}: found {} field(s) after `{MARKER}`, expected 4", fields.len()));
        }
        let process = match &fields[0] {
            Datum::Int(p) if *p >= 0 => *p as u64,
            Datum::Keyword(name) => {
                out.skipped.push((line, format!(":{name}")));
                continue;
            }
            other => return err(format!("expected the process to be a non-negative integer, found {other}")),
        };
        let Some(kind) = fields[1].as_name().and_then(RecordKind::from_name) else {
            return err(format!("expected the type to be :invoke, :ok, :fail or :info, found {}", fields[1]));
        };
        let Datum::Keyword(f) = &fields[2] else {
            return err(format!("expected the operation name to be a keyword such as :read, found {}", fields[2]));
        };
        out.records.push(Record { line, process, kind, f: f.clone(), key: None, value: fields[3].clone(), time: None });
    }
    Ok(Some(out))
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Records, ParseError> {
        crate::formats::parse(text, crate::formats::Format::Jepsen)
    }

    #[test]
    fn reads_tabs_spaces_and_cas_values() {
        let r = parse(
            "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n\nINFO  jepsen.util - 13   :info   :cas    :timed-out\n",
        )
        .unwrap();
        assert_eq!(r.records.len(), 2);
        assert_eq!(r.records[0].value, Datum::List(vec![Datum::Int(3), Datum::Int(0)]));
        assert_eq!((r.records[1].line, r.records[1].kind), (3, RecordKind::Info));
        let e = parse("INFO  jepsen.util - 2\t:invoke\t:cas\n").unwrap_err();
        assert!(e.message.contains("found 3 field(s)"), "{e}");
        assert_eq!(parse("garbage").unwrap_err().line, 1);
    }
}
