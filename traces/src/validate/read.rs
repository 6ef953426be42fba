//! Reading a trace: lines bounded in size, the header, then events and the
//! end record. Every error names the file's own line (and column, for JSON
//! that does not parse), never a position inside a parser's buffer.

use super::InputError;
use crate::schema::{EndRecord, Event, Header, OLDEST_VERSION, VERSION};
use std::io::{BufRead, Read};

/// The file at `path`, buffered for reading line by line; an input error
/// (with no line) if it cannot be opened.
pub(crate) fn open(path: &std::path::Path) -> Result<std::io::BufReader<std::fs::File>, InputError> {
    let file = std::fs::File::open(path).map_err(|e| InputError {
        line: None,
        column: None,
        message: format!("cannot open the file: {e}"),
    })?;
    Ok(std::io::BufReader::with_capacity(1 << 20, file))
}

/// One line after the header.
pub(crate) enum Line {
    Event(Box<Event>),
    End(EndRecord),
    /// A last line without its end of line: the file was cut in the middle
    /// of writing it.
    CutShort,
}

/// The lines of a trace, each at most `max_bytes` long.
pub(crate) struct LineReader<R> {
    reader: R,
    buffer: Vec<u8>,
    number: usize,
    max_bytes: usize,
    /// The last line read had no end of line.
    cut_short: bool,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(reader: R, max_bytes: usize) -> Self {
        LineReader { reader, buffer: Vec::new(), number: 0, max_bytes, cut_short: false }
    }

    /// Whether the line last read had no end of line (the file was cut in
    /// the middle of writing it).
    pub(crate) fn cut_short(&self) -> bool {
        self.cut_short
    }

    /// The number of the last line read.
    pub(crate) fn number(&self) -> usize {
        self.number
    }

    /// The first line: the header, of a version this build reads.
    pub(crate) fn header(&mut self) -> Result<Header, InputError> {
        if !self.next_text()? {
            return Err(InputError::at(1, "empty file: expected a trace header"));
        }
        let line = self.number;
        if self.cut_short {
            return Err(InputError::at(line, "truncated: the header line has no end"));
        }
        let value: serde_json::Value = serde_json::from_slice(&self.buffer)
            .map_err(|e| json_error(line, "expected a trace header, not valid JSON", &e))?;
        match value.get("raftcheck_trace").and_then(serde_json::Value::as_u64) {
            Some(version) if (OLDEST_VERSION..=VERSION).contains(&version) => {}
            Some(other) => {
                let message =
                    format!("trace format version {other}; this build reads versions {OLDEST_VERSION} to {VERSION}");
                return Err(InputError::at(line, message));
            }
            None => return Err(InputError::at(line, "expected a trace header with \"raftcheck_trace\": <version>")),
        }
        serde_json::from_value(value)
            .map_err(|e| InputError::at(line, format!("bad trace header: {}", without_position(&e))))
    }

    /// The next event or end record, `None` at the end of the file.
    pub(crate) fn next(&mut self) -> Result<Option<Line>, InputError> {
        if !self.next_text()? {
            return Ok(None);
        }
        if self.cut_short {
            return Ok(Some(Line::CutShort));
        }
        match serde_json::from_slice::<Event>(&self.buffer) {
            Ok(event) => Ok(Some(Line::Event(Box::new(event)))),
            Err(error) => match serde_json::from_slice::<EndRecord>(&self.buffer) {
                Ok(end) => Ok(Some(Line::End(end))),
                // A line that says it is the end record is read as one.
                Err(end_error) if is_end_record(&self.buffer) => {
                    Err(json_error(self.number, "not an end record", &end_error))
                }
                Err(_) => Err(json_error(self.number, "not a trace event", &error)),
            },
        }
    }

    /// The text of the line last read by [`LineReader::next_text`].
    pub(crate) fn text(&self) -> &[u8] {
        &self.buffer
    }

    /// Reads the next non-blank line into the buffer, without its end of
    /// line; false at the end of the file. A last line cut short (no end of
    /// line) sets [`LineReader::cut_short`]; a line over the size limit is an
    /// error.
    pub(crate) fn next_text(&mut self) -> Result<bool, InputError> {
        loop {
            self.buffer.clear();
            let limit = (self.max_bytes as u64).saturating_add(1);
            let read = (&mut self.reader)
                .take(limit)
                .read_until(b'\n', &mut self.buffer)
                .map_err(|e| InputError::at(self.number + 1, format!("cannot read: {e}")))?;
            if read == 0 {
                return Ok(false);
            }
            self.number += 1;
            if self.buffer.last() != Some(&b'\n') {
                if read as u64 == limit {
                    let message = format!(
                        "the line is longer than {} bytes (raise the limit with --max-line-bytes)",
                        self.max_bytes
                    );
                    return Err(InputError::at(self.number, message));
                }
                self.cut_short = true;
                return Ok(true);
            }
            self.buffer.pop();
            if self.buffer.iter().any(|b| !b.is_ascii_whitespace()) {
                return Ok(true);
            }
        }
    }
}

/// Whether a line that does not parse says it is the end record.
fn is_end_record(text: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(text)
        .is_ok_and(|v| v.get("event").and_then(|e| e.as_str()) == Some("end"))
}

/// A JSON error at `line` of the file: serde's column (the slice parsed is
/// the line), and its message without serde's own position.
pub(crate) fn json_error(line: usize, what: &str, error: &serde_json::Error) -> InputError {
    let column = (error.column() > 0).then_some(error.column());
    InputError { line: Some(line), column, message: format!("{what}: {}", without_position(error)) }
}

/// serde_json's message without its " at line L column C" suffix (its line
/// counts inside the text it was given, not the file).
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}
