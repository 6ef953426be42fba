//! Jepsen log lines, as in porcupine's etcd corpus:
//! `INFO  jepsen.util - <process> :<type> :<f> <value>`, fields separated
//! by any whitespace; the value is an EDN form (`nil`, `3`, `[3 0]`,
//! `:timed-out`). Blank lines are allowed; any other line is an error.

use super::edn::{Entry, Reader};
use super::{op_name, Clock, ParseError, Record, RecordKind, Records};
use crate::datum::Datum;

const MARKER: &str = "jepsen.util - ";
const EXPECTED: &str = "expected a Jepsen log line `INFO  jepsen.util - <process> :<type> :<f> <value>`";

/// Reads every line of a Jepsen log (`None`: the clock ran out).
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
        // Jepsen writes `INFO  jepsen.util - `: look there first.
        let at = if raw.get(6..6 + MARKER.len()) == Some(MARKER) { Some(6) } else { raw.find(MARKER) };
        let Some(at) = at else {
            return Err(ParseError { line, message: format!("{EXPECTED}, found {:?}", truncate(raw)) });
        };
        let rest = &raw[at + MARKER.len()..];
        let record = match simple_line(rest, line) {
            Some(record) => Some(record),
            None => general_line(rest, line, &mut out.skipped)?,
        };
        out.records.extend(record);
    }
    Ok(Some(out))
}

/// The record of the fields after the marker, read with the EDN reader
/// (`None` for a non-client entry, which is added to `skipped`).
fn general_line(rest: &str, line: usize, skipped: &mut Vec<(usize, String)>) -> Result<Option<Record>, ParseError> {
    let err = |message: String| Err(ParseError { line, message });
    let mut reader = Reader::new(rest, line);
    let mut fields: [Option<Entry<'_>>; 4] = [None, None, None, None];
    let mut found = 0;
    while reader.peek_line()?.is_some() {
        let entry = reader.read_entry()?;
        if let Some(slot) = fields.get_mut(found) {
            *slot = Some(entry);
        }
        found += 1;
    }
    let ([Some(process), Some(kind), Some(f), Some(value)], 4) = (fields, found) else {
        return err(format!("{EXPECTED}: found {found} field(s) after `{MARKER}`, expected 4"));
    };
    let process = match process {
        Entry::Datum(Datum::Int(p)) if p >= 0 => p as u64,
        Entry::Name(name) => {
            skipped.push((line, format!(":{name}")));
            return Ok(None);
        }
        other => return err(format!("expected the process to be a non-negative integer, found {other}")),
    };
    let Some(kind) = kind.as_name().and_then(RecordKind::from_name) else {
        return err(format!("expected the type to be :invoke, :ok, :fail or :info, found {kind}"));
    };
    let Entry::Name(f) = f else {
        return err(format!("expected the operation name to be a keyword such as :read, found {f}"));
    };
    Ok(Some(Record { line, process, kind, f: op_name(f), key: None, value: value.into_datum(), time: None }))
}

/// The record of the fields after the marker when they are of the usual
/// shapes (an integer process, keyword type and name, a value that is
/// `nil`, an integer, a keyword or a pair of integers), read without the
/// general EDN reader; `None` for anything else, which the general reader
/// then reads (or names as an error). Gives the same record as the
/// general reader wherever it gives one.
fn simple_line(rest: &str, line: usize) -> Option<Record> {
    let mut fields = rest.split_ascii_whitespace();
    let process: u64 = digits(fields.next()?)?;
    let kind = RecordKind::from_name(keyword(fields.next()?)?)?;
    let f = keyword(fields.next()?)?;
    let value = match fields.next()? {
        "nil" => Datum::Nil,
        word if word.starts_with('[') => {
            let first = digits_i64(word.strip_prefix('[')?)?;
            let second = digits_i64(fields.next()?.strip_suffix(']')?)?;
            Datum::List(vec![Datum::Int(first), Datum::Int(second)])
        }
        word => match keyword(word) {
            Some(name) => Datum::Keyword(name.to_string()),
            None => Datum::Int(digits_i64(word)?),
        },
    };
    if fields.next().is_some() {
        return None;
    }
    Some(Record { line, process, kind, f: op_name(f), key: None, value, time: None })
}

/// `:name` with only letters, digits and `-` in the name.
fn keyword(word: &str) -> Option<&str> {
    let name = word.strip_prefix(':')?;
    (!name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')).then_some(name)
}

/// A non-negative decimal integer of at most 18 digits.
fn digits(word: &str) -> Option<u64> {
    (!word.is_empty() && word.len() <= 18 && word.bytes().all(|c| c.is_ascii_digit())).then(|| word.parse().ok())?
}

/// An integer of at most 18 digits, with an optional `-`.
fn digits_i64(word: &str) -> Option<i64> {
    match word.strip_prefix('-') {
        Some(abs) => digits(abs).map(|d| -(d as i64)),
        None => digits(word).map(|d| d as i64),
    }
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

    fn general(rest: &str) -> Option<Record> {
        general_line(rest, 1, &mut Vec::new()).ok().flatten()
    }

    #[test]
    fn the_fast_path_agrees_with_the_edn_reader() {
        let lines = [
            "0\t:invoke\t:read\tnil",
            "13   :info   :cas    :timed-out",
            "2\t:ok\t:cas\t[3 0]",
            "2\t:ok\t:cas\t[-3 007]",
            "5 :ok :write -0",
            "5 :ok :write 123456789012345678",
            "5 :ok :write 1234567890123456789",
            "5 :ok :write :a/b",
            "5 :ok :write [1 2 3]",
            "5 :ok :write \"x\"",
            "5 :ok :write [1 2]x",
            "5 :ok :write []",
            "007 :fail :read nil",
        ];
        for rest in lines {
            if let Some(fast) = simple_line(rest, 1) {
                assert_eq!(Some(fast), general(rest), "{rest:?}");
            }
        }
        assert!(simple_line("0\t:invoke\t:read\tnil", 1).is_some(), "the usual line takes the fast path");
        assert!(simple_line("2\t:ok\t:cas\t[3 0]", 1).is_some());
        assert!(simple_line("5 :ok :write :a/b", 1).is_none(), "an unusual keyword goes to the EDN reader");
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
