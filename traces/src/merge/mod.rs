//! Traces of separate processes: each node of a cluster writes its own file
//! (the cluster's header, only its own events numbered 1, 2, 3, ... in the
//! file, its own end record), and [`merge`] makes one cluster trace of them,
//! in an order consistent with causality, which the validator then checks.
//!
//! The merge is a k-way merge that repeatedly takes the next event of the
//! lowest-numbered file whose next event is enabled: every event is, but a
//! step that receives a message no merged step of the sender has sent (and
//! that is not delivered already; messages are matched by content,
//! `(from, to, message)`, counting copies, and on a `may_duplicate` network
//! a delivered message stays deliverable). A message its step sent after
//! asking to save is sent only once that save is merged (the durability
//! rule). When no file has an enabled event, a blocked receive is taken
//! anyway, for the validator to report: that of the lowest file whose
//! message its sender never sends later, else that of the lowest file.
//! Clocks are never used.
//!
//! Every line of the merged trace keeps its [`Origin`], the file and line it
//! came from, so that a failure is reported where it is.

mod causal;
mod source;

use crate::schema::{EndRecord, Event, Header};
use crate::validate::{self, Check, Completeness, Failure, InputError, Options, Report, Verdict};
use causal::Causality;
use raftcheck_core::{Input, NodeId};
use source::{Ending, Source};
use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;
use std::path::Path;

/// Where a line of the merged trace comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file's index among those merged.
    pub file: usize,
    /// The 1-based line in that file.
    pub line: usize,
}

/// Why files cannot be merged: an input error, in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeError {
    /// No file was given.
    NoFiles,
    /// A file cannot be read (at its own line, if in one).
    Input {
        /// The file's index.
        file: usize,
        /// What is wrong, where.
        error: InputError,
    },
    /// A file's header differs from the first file's.
    HeaderDiffers {
        /// The file's index.
        file: usize,
        /// The first file's header.
        expected: Box<Header>,
        /// This file's.
        seen: Box<Header>,
    },
    /// A file holds events of two nodes.
    MixedNodes {
        /// The file's index.
        file: usize,
        /// The line of the event of the other node.
        line: usize,
        /// The node of the file's first event.
        node: NodeId,
        /// The other node.
        other: NodeId,
    },
    /// Two files hold events of the same node.
    SameNode {
        /// The second file's index.
        file: usize,
        /// The line of its first event.
        line: usize,
        /// The node.
        node: NodeId,
        /// The first file that holds its events.
        first: usize,
    },
}

impl MergeError {
    /// The index of the file the error is in, if any.
    pub fn file(&self) -> Option<usize> {
        match self {
            MergeError::NoFiles => None,
            MergeError::Input { file, .. }
            | MergeError::HeaderDiffers { file, .. }
            | MergeError::MixedNodes { file, .. }
            | MergeError::SameNode { file, .. } => Some(*file),
        }
    }

    /// The line in that file, if the error is in one.
    pub fn line(&self) -> Option<usize> {
        match self {
            MergeError::NoFiles => None,
            MergeError::Input { error, .. } => error.line,
            MergeError::HeaderDiffers { .. } => Some(1),
            MergeError::MixedNodes { line, .. } | MergeError::SameNode { line, .. } => Some(*line),
        }
    }

    /// What is wrong, without the file and line.
    pub fn message(&self) -> String {
        match self {
            MergeError::NoFiles => "no files to merge".to_string(),
            MergeError::Input { error, .. } => match error.column {
                Some(column) => format!("column {column}: {}", error.message),
                None => error.message.clone(),
            },
            MergeError::HeaderDiffers { expected, seen, .. } => {
                let json = |h: &Header| serde_json::to_string(h).unwrap_or_default();
                format!("the header differs from the first file's: {} instead of {}", json(seen), json(expected))
            }
            MergeError::MixedNodes { node, other, .. } => {
                format!("an event of node {other} in the file of node {node} (one file holds one node's events)")
            }
            MergeError::SameNode { node, first, .. } => {
                format!("events of node {node}, whose events file {} holds already", first + 1)
            }
        }
    }
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file(), self.line()) {
            (Some(file), Some(line)) => write!(f, "file {}, line {line}: {}", file + 1, self.message()),
            (Some(file), None) => write!(f, "file {}: {}", file + 1, self.message()),
            _ => f.write_str(&self.message()),
        }
    }
}

impl std::error::Error for MergeError {}

/// What is wrong with one file's numbering or end, found while merging.
#[derive(Clone, Debug)]
struct Problem {
    /// The merged event it is at (`u64::MAX`: after every event).
    at: u64,
    origin: Origin,
    node: NodeId,
    check: Check,
    message: String,
    expected: String,
    seen: String,
}

/// The merged trace, with the origin of each of its lines.
#[derive(Debug)]
pub struct Merged {
    text: Vec<u8>,
    /// The origin of each event, in merged order.
    origins: Vec<Origin>,
    /// The first file without its end record (format version 2): where it
    /// should be.
    cut: Option<Origin>,
    problems: Vec<Problem>,
}

impl Merged {
    /// The merged trace: the header, the events renumbered 1, 2, 3, ... in
    /// merged order, and an end record if every file ended with one.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// The number of events merged.
    pub fn events(&self) -> u64 {
        self.origins.len() as u64
    }

    /// Where the merged trace's `line` comes from: an event's file and
    /// line; past the events, the first file cut short, where its end
    /// record should be; `None` for the header and the end record.
    pub fn origin(&self, line: usize) -> Option<Origin> {
        match line.checked_sub(2) {
            None => None,
            Some(k) if k < self.origins.len() => Some(self.origins[k]),
            Some(_) => self.cut,
        }
    }
}

/// Merges the files read from `readers` (one per node, in this order) into
/// one cluster trace; lines longer than `max_line_bytes` are refused.
pub fn merge<R: BufRead>(readers: Vec<R>, max_line_bytes: usize) -> Result<Merged, MergeError> {
    let mut header: Option<Header> = None;
    let mut sources = Vec::new();
    for (file, reader) in readers.into_iter().enumerate() {
        let (this, source) = Source::open(file, reader, max_line_bytes)?;
        match &header {
            Some(first) if *first != this => {
                return Err(MergeError::HeaderDiffers { file, expected: Box::new(first.clone()), seen: Box::new(this) })
            }
            Some(_) => {}
            None => header = Some(this),
        }
        sources.push(source);
    }
    let header = header.ok_or(MergeError::NoFiles)?;
    let version = header.raftcheck_trace;
    let mut owners: HashMap<NodeId, usize> = HashMap::new();
    for (file, source) in sources.iter_mut().enumerate() {
        source.advance(version)?;
        if let (Some(node), Some(line)) = (source.node, source.next_line()) {
            if let Some(&first) = owners.get(&node) {
                return Err(MergeError::SameNode { file, line, node, first });
            }
            owners.insert(node, file);
        }
    }
    let mut text = serde_json::to_vec(&header).expect("a header serializes");
    text.push(b'\n');
    let mut causality = Causality::new(header.may_duplicate);
    let mut origins = Vec::new();
    loop {
        let enabled = sources.iter().position(|s| s.peek().is_some_and(|e| causality.enabled(e)));
        let Some(file) = enabled.map_or_else(|| blocked(&mut sources, version), |file| Ok(Some(file)))? else {
            break;
        };
        let seq = origins.len() as u64 + 1;
        let (mut event, line) = sources[file].take(seq).expect("an event was peeked");
        causality.take(&event);
        set_seq(&mut event, seq);
        serde_json::to_writer(&mut text, &*event).expect("an event serializes");
        text.push(b'\n');
        origins.push(Origin { file, line });
        sources[file].advance(version)?;
    }
    let cut = sources.iter().find_map(|s| match s.ending {
        Ending::Cut { line } => Some(Origin { file: s.file, line }),
        _ => None,
    });
    if cut.is_none() && version >= 2 {
        serde_json::to_writer(&mut text, &EndRecord::new(origins.len() as u64)).expect("an end record serializes");
        text.push(b'\n');
    }
    let cut = cut.filter(|_| version >= 2);
    let problems = sources.into_iter().flat_map(|s| s.problems).collect();
    Ok(Merged { text, origins, cut, problems })
}

/// When no file has an enabled event: the file whose next event is taken
/// anyway, for the validator to report (`None` once no events are left).
/// That is the lowest file whose receive is of a message its sender never
/// sends later; failing that (receives that wait for each other), the
/// lowest file with an event.
fn blocked<R: BufRead>(sources: &mut [Source<R>], version: u64) -> Result<Option<usize>, MergeError> {
    let waiting: Vec<usize> = (0..sources.len()).filter(|&i| sources[i].peek().is_some()).collect();
    for &file in &waiting {
        let Some(Event::Step { node, input: Input::Receive { from, message }, .. }) = sources[file].peek() else {
            continue;
        };
        let (node, from, message) = (*node, *from, message.clone());
        let Some(sender) = sources.iter().position(|s| s.node == Some(from)) else { return Ok(Some(file)) };
        if !sources[sender].sends_later(node, &message, version)? {
            return Ok(Some(file));
        }
    }
    Ok(waiting.first().copied())
}

/// `event` numbered `seq`.
fn set_seq(event: &mut Event, new: u64) {
    match event {
        Event::Step { seq, .. }
        | Event::Persist { seq, .. }
        | Event::Applied { seq, .. }
        | Event::Crash { seq, .. }
        | Event::Restart { seq, .. } => *seq = new,
    }
}

/// The verdict on merged files, with the origins of the lines it names.
#[derive(Clone, Debug)]
pub struct MergedReport {
    /// The verdict on the merged trace; its lines are the merged trace's,
    /// its time the merge's and the validation's.
    pub report: Report,
    /// Where the failure is: its file and line.
    pub failure: Option<Origin>,
    /// Where each of the failure's related events is, in order.
    pub related: Vec<Option<Origin>>,
}

/// Merges the files read from `readers` (one per node) and validates the
/// merged trace; every failure is reported at its origin.
pub fn validate_merged<R: BufRead>(readers: Vec<R>, options: Options) -> Result<MergedReport, MergeError> {
    let started = std::time::Instant::now();
    let merged = merge(readers, options.max_line_bytes)?;
    let mut report = validate::validate_reader(merged.text(), options).map_err(|error| {
        // The merged text is written by the merge: an error in it is one of
        // the line it came from (a line too long, say).
        let origin = error.line.and_then(|line| merged.origin(line)).unwrap_or(Origin { file: 0, line: 1 });
        MergeError::Input { file: origin.file, error: InputError { line: Some(origin.line), ..error } }
    })?;
    // A file's own numbering or end, if it is wrong before the failure (a
    // file's numbering is checked before its event; a merged trace cut
    // short is reported before an end record that miscounts).
    let first = merged.problems.iter().min_by_key(|p| p.at);
    let before = |p: &Problem, f: &Failure| if f.seq == 0 { p.at != u64::MAX } else { p.at <= f.seq };
    if let Some(problem) = first.filter(|p| report.failure.as_ref().is_none_or(|f| before(p, f))) {
        let after_all = problem.at == u64::MAX;
        report.verdict = Verdict::Invalid;
        report.events = if after_all { merged.events() } else { problem.at };
        report.complete = if after_all { Completeness::Ended } else { Completeness::Unknown };
        report.failure = Some(Failure {
            line: if after_all { merged.origins.len() + 2 } else { problem.at as usize + 1 },
            seq: if after_all { 0 } else { problem.at },
            node: problem.node,
            check: problem.check,
            message: problem.message.clone(),
            expected: problem.expected.clone(),
            seen: problem.seen.clone(),
            property: None,
            related: Vec::new(),
        });
        report.elapsed = started.elapsed();
        return Ok(MergedReport { report, failure: Some(problem.origin), related: Vec::new() });
    }
    report.elapsed = started.elapsed();
    let failure = report.failure.as_ref().and_then(|f| merged.origin(f.line));
    let related = report.failure.iter().flat_map(|f| &f.related).map(|r| merged.origin(r.line)).collect();
    Ok(MergedReport { report, failure, related })
}

/// Merges the files at `paths` (one per node) and validates the merged
/// trace; see [`validate_merged`].
pub fn validate_merged_files<P: AsRef<Path>>(paths: &[P], options: Options) -> Result<MergedReport, MergeError> {
    let mut readers = Vec::new();
    for (file, path) in paths.iter().enumerate() {
        readers.push(validate::read::open(path.as_ref()).map_err(|error| MergeError::Input { file, error })?);
    }
    validate_merged(readers, options)
}

#[cfg(test)]
mod tests;
