//! History file formats. Each reader turns a file's text into [`Record`]s
//! (one per invoke or completion line), or a [`ParseError`] naming the line
//! and what was expected.

pub mod edn;
pub mod jepsen;
pub mod jsonl;

use crate::datum::Datum;
use std::borrow::Cow;
use std::fmt;
use std::time::Instant;

/// A history file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The native JSON Lines format (design.md).
    Jsonl,
    /// Jepsen log lines `INFO  jepsen.util - <process> :<type> :<f> <value>`.
    Jepsen,
    /// EDN maps (Jepsen/Knossos): a vector or a list of maps, or one map per
    /// line.
    Edn,
}

impl Format {
    /// How failures and crashes in this format are read.
    pub fn reading(self) -> Reading {
        match self {
            Format::Jsonl => Reading::Native,
            Format::Jepsen => Reading::Porcupine,
            Format::Edn => Reading::Knossos,
        }
    }

    /// Picks the format from the start of the text, or `None` if it looks
    /// like none of them. Blank lines and `;` comments are passed over.
    /// A Jepsen log line names `jepsen.util`; a JSON object opens with `{`
    /// and a string key; EDN opens with a vector or list, or with a map
    /// whose first key is a keyword.
    pub fn detect(text: &str) -> Option<Format> {
        let mut rest = skip_blank_and_comments(text);
        let first_line = rest.lines().next()?;
        if first_line.contains("jepsen.util - ") {
            return Some(Format::Jepsen);
        }
        match rest.as_bytes().first()? {
            b'[' | b'(' => return Some(Format::Edn),
            b'{' => rest = skip_blank_and_comments(&rest[1..]),
            _ => return None,
        }
        match rest.as_bytes().first() {
            Some(b':') => Some(Format::Edn),
            Some(b'"' | b'}') | None => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// `text` without its leading whitespace (EDN's commas included) and
/// `;` comments.
fn skip_blank_and_comments(mut text: &str) -> &str {
    loop {
        text = text.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        match text.strip_prefix(';') {
            Some(comment) => text = comment.find('\n').map_or("", |at| &comment[at..]),
            None => return text,
        }
    }
}

/// How a format's failed and crashed operations are to be understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// design.md: `fail` did not happen; `info` and unanswered invokes stay
    /// open; a read of `null` read the value `null`.
    Native,
    /// Porcupine's reading of the etcd logs: a failed CAS completed and
    /// observed a different value; a failed read completed with an unknown
    /// result; `info` stays open; a read of `nil` read "absent" (`nil`).
    Porcupine,
    /// Knossos's reading: `fail` did not happen; `info` stays open; a read
    /// of `nil` is unconstrained.
    Knossos,
}

/// Whether a line invokes or completes an operation, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// `invoke`.
    Invoke,
    /// `ok`: completed, the value is the result.
    Ok,
    /// `fail`: completed with a definite failure.
    Fail,
    /// `info`: outcome unknown.
    Info,
}

impl RecordKind {
    /// Parses `invoke` / `ok` / `fail` / `info`.
    pub fn from_name(name: &str) -> Option<RecordKind> {
        match name {
            "invoke" => Some(RecordKind::Invoke),
            "ok" => Some(RecordKind::Ok),
            "fail" => Some(RecordKind::Fail),
            "info" => Some(RecordKind::Info),
            _ => None,
        }
    }
}

/// One line (or map) of a history file, before pairing.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// 1-based line where the record starts.
    pub line: usize,
    /// The client process.
    pub process: u64,
    /// Invoke or completion type.
    pub kind: RecordKind,
    /// The operation's name (`read`, `put`, ...), without a leading `:`.
    pub f: Cow<'static, str>,
    /// The key, for keyed models.
    pub key: Option<Datum>,
    /// The value (`Nil` when absent).
    pub value: Datum,
    /// Timestamp, if the line has one.
    pub time: Option<u64>,
}

/// An operation's name, without an allocation for the usual ones.
pub(crate) fn op_name(name: &str) -> Cow<'static, str> {
    const USUAL: [&str; 6] = ["read", "write", "cas", "get", "put", "append"];
    match USUAL.iter().find(|&&usual| usual == name) {
        Some(usual) => Cow::Borrowed(usual),
        None => Cow::Owned(name.to_string()),
    }
}

/// The records of a file, and the entries deliberately not used.
#[derive(Clone, Debug, Default)]
pub struct Records {
    /// Client operations' records, in file order.
    pub records: Vec<Record>,
    /// Entries skipped because they are not client operations (e.g. Jepsen
    /// `:nemesis` entries), as (line, process name).
    pub skipped: Vec<(usize, String)>,
}

impl Records {
    /// Empty, with room for the records of a file of `text`'s size (about
    /// one record per 48 bytes, a short line).
    fn for_text(text: &str) -> Records {
        Records { records: Vec::with_capacity(text.len() / 48), skipped: Vec::new() }
    }
}

/// A line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Reads `text` in `format`.
pub fn parse(text: &str, format: Format) -> Result<Records, ParseError> {
    let records = parse_before(text, format, None)?;
    Ok(records.expect("no deadline to pass"))
}

/// Reads `text` in `format`, giving up with `Ok(None)` once `deadline` has
/// passed (looked at every few hundred records, so a limit on a whole
/// check also bounds the reading of a huge file).
pub fn parse_before(text: &str, format: Format, deadline: Option<Instant>) -> Result<Option<Records>, ParseError> {
    let mut clock = Clock { deadline, countdown: Clock::EVERY };
    match format {
        Format::Jsonl => jsonl::parse(text, &mut clock),
        Format::Jepsen => jepsen::parse(text, &mut clock),
        Format::Edn => edn::parse_history(text, &mut clock),
    }
}

/// A deadline looked at once every `EVERY` records.
pub(crate) struct Clock {
    deadline: Option<Instant>,
    countdown: u32,
}

impl Clock {
    const EVERY: u32 = 256;

    /// True once the deadline has passed (checked every `EVERY` calls).
    #[inline]
    pub(crate) fn passed(&mut self) -> bool {
        let Some(deadline) = self.deadline else { return false };
        self.countdown -= 1;
        if self.countdown > 0 {
            return false;
        }
        self.countdown = Self::EVERY;
        Instant::now() >= deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format() {
        assert_eq!(Format::detect("\n{\"process\":0}"), Some(Format::Jsonl));
        assert_eq!(Format::detect("INFO  jepsen.util - 0\t:invoke\t:read\tnil"), Some(Format::Jepsen));
        assert_eq!(Format::detect("{:process 0, :type :invoke}"), Some(Format::Edn));
        assert_eq!(Format::detect("[{:process 0}]"), Some(Format::Edn));
        assert_eq!(Format::detect("; a comment\n\n({:process 0, :type :invoke})"), Some(Format::Edn));
        assert_eq!(Format::detect("{\n  :type :invoke}"), Some(Format::Edn), "a map spread over lines");
        assert_eq!(Format::detect("{}"), Some(Format::Jsonl));
        assert_eq!(Format::detect("hello world"), None);
        assert_eq!(Format::detect("{hello"), None);
        assert_eq!(Format::detect("; only a comment"), None);
    }
}
