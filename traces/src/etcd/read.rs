//! Reading an etcd trace: each line a zap record wrapping an event
//! (`{"level":..,"tag":"trace","event":{..}}`) or a bare event object.
//! Records of another tag are skipped (counted); a `tag:"config"` record
//! is read as the harness's settings.

use super::event::Event;
use crate::validate::read::{json_error, LineReader};
use crate::validate::InputError;
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::io::BufRead;

/// One line of an etcd trace.
pub(super) enum Record {
    /// A trace event.
    Event(Box<Event>),
    /// The harness's settings (`tag:"config"`). Flow control and read
    /// options are left to the implementation; `durableCommit: false`
    /// says the nodes keep their commit index in volatile state.
    Config { durable_commit: Option<bool> },
    /// A record of another tag: skipped, counted under its tag.
    Other(String),
}

/// What a line is, before its event is read.
#[derive(Deserialize)]
struct Outer {
    tag: Option<String>,
    event: Option<IgnoredAny>,
    name: Option<IgnoredAny>,
}

/// A zap record around an event.
#[derive(Deserialize)]
struct Wrapped {
    event: Event,
}

/// The records of an etcd trace, line by line.
pub(super) struct Records<R> {
    lines: LineReader<R>,
}

impl<R: BufRead> Records<R> {
    pub(super) fn new(reader: R, max_bytes: usize) -> Self {
        Records { lines: LineReader::new(reader, max_bytes) }
    }

    /// The number of the line last read.
    pub(super) fn number(&self) -> usize {
        self.lines.number()
    }

    /// The next record, `None` at the end of the file.
    pub(super) fn next(&mut self) -> Result<Option<Record>, InputError> {
        if !self.lines.next_text()? {
            return Ok(None);
        }
        let line = self.lines.number();
        if self.lines.cut_short() {
            // etcd's traces have no end record: a cut last line is bad input.
            return Err(InputError {
                line: Some(line),
                column: None,
                message: "truncated: the last line has no end".into(),
            });
        }
        let text = self.lines.text();
        let outer: Outer = serde_json::from_slice(text)
            .map_err(|e| json_error(line, "expected an etcd trace record (a JSON object)", &e))?;
        match outer.tag.as_deref() {
            Some("trace") | None => {}
            Some("config") => {
                let value: serde_json::Value = serde_json::from_slice(text)
                    .map_err(|e| json_error(line, "expected an etcd config record (a JSON object)", &e))?;
                let setting = |v: &serde_json::Value| v.get("durableCommit").and_then(serde_json::Value::as_bool);
                let durable_commit = setting(&value)
                    .or_else(|| value.get("event").and_then(setting))
                    .or_else(|| value.get("config").and_then(setting));
                return Ok(Some(Record::Config { durable_commit }));
            }
            Some(other) => return Ok(Some(Record::Other(format!("lines tagged {other:?}")))),
        }
        let event = if outer.event.is_some() {
            serde_json::from_slice::<Wrapped>(text)
                .map(|w| w.event)
                .map_err(|e| json_error(line, "expected an etcd TracingEvent in \"event\"", &e))?
        } else if outer.name.is_some() {
            serde_json::from_slice::<Event>(text).map_err(|e| json_error(line, "expected an etcd TracingEvent", &e))?
        } else if outer.tag.is_some() {
            return Err(InputError {
                line: Some(line),
                column: None,
                message: "a trace record without \"event\"".into(),
            });
        } else {
            // The application's own log lines in the same file: etcd's trace
            // validation keeps only the trace records, and so does this.
            return Ok(Some(Record::Other("untagged lines that are not events".to_string())));
        };
        Ok(Some(Record::Event(Box::new(event))))
    }
}
