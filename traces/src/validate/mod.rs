//! Validating a trace: each node's recorded steps are replayed through the
//! core (the correct one, unless a mutant is named), and every event is
//! checked against the rules listed in [`Check`]. The first failing event
//! ends the validation, reported with its line, what was expected, what was
//! seen and the lines of the earlier events it conflicts with. Malformed
//! lines, over-long lines and an unknown version are input errors, not
//! verdicts.
//!
//! * `read`: lines (bounded in size), the header, events and the end record;
//! * `network`: messages in flight, and which save each one waits for;
//! * `cluster`: the replayed cluster and the checks of each event.

mod cluster;
mod network;
pub(crate) mod read;

use cluster::Validator;
use raftcheck_core::properties::Safety;
use raftcheck_core::{Mutant, NodeId};
use read::{Line, LineReader};
use std::fmt;
use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

/// A line longer than this (in bytes) is refused unless
/// [`Options::max_line_bytes`] says otherwise: the longest event the runtime
/// writes is an AppendEntries with its entries' digests, well under 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;

/// What a native trace is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CheckMode {
    /// Exact replay through raftcheck's core: every output and state must
    /// be the core's ([`Check::ALL`]).
    Exact,
    /// The executable Raft spec ([`crate::spec`]): any Raft the paper
    /// allows passes, however it batches, hints or persists.
    Spec,
    /// Both, event by event; the first event that fails either is reported.
    #[default]
    Both,
}

impl CheckMode {
    /// The mode's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CheckMode::Exact => "exact",
            CheckMode::Spec => "spec",
            CheckMode::Both => "both",
        }
    }

    fn exact(self) -> bool {
        self != CheckMode::Spec
    }

    fn spec(self) -> bool {
        self != CheckMode::Exact
    }
}

/// How to validate.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Replay with this seeded bug instead of the correct core (to check a
    /// mutant's trace for everything but its own deviation).
    pub mutant: Option<Mutant>,
    /// The longest line accepted, in bytes (see [`DEFAULT_MAX_LINE_BYTES`]).
    pub max_line_bytes: usize,
    /// Exact replay, the spec, or both (the default).
    pub check: CheckMode,
}

impl Default for Options {
    fn default() -> Self {
        Options { mutant: None, max_line_bytes: DEFAULT_MAX_LINE_BYTES, check: CheckMode::Both }
    }
}

/// The verdict on a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every event passed every check, and the trace ended cleanly.
    Valid,
    /// Some event failed a check, or the trace was cut short.
    Invalid,
}

impl Verdict {
    /// The contract's name for the verdict.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
        }
    }
}

/// The rules a trace is checked against, one per kind of failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Check {
    /// Events are numbered 1, 2, 3, ... in file order.
    Sequence,
    /// A node steps only while running (after a restart, before a crash),
    /// restarts only while down and crashes only while running.
    Lifecycle,
    /// A delivered message was sent before, to that node, with that content.
    Network,
    /// A message is delivered at most as often as it was sent, unless the
    /// header says the network may duplicate.
    Duplicate,
    /// A step's outputs happen in the order the core returned them: a
    /// message or an apply that follows a save in its step happens only once
    /// that save is written, and an apply is handed over only before the
    /// node crashes.
    Durability,
    /// The core, fed the recorded input, returns exactly the recorded
    /// outputs and leaves exactly the recorded state.
    Conformance,
    /// A save is what the core asked for, before the node's next step; a
    /// restart reads exactly the last save.
    Persistence,
    /// The service is handed exactly the applies the core asked for, in
    /// order.
    Apply,
    /// The model checker's safety properties hold after every event.
    Safety,
    /// The trace ends with its end record, which counts its events.
    Completeness,
    /// A rule of the executable Raft spec ([`crate::spec`]), which traces
    /// of other implementations (etcd-raft's) are checked against; never
    /// reported on a native trace, and not in [`Check::ALL`] (the spec's
    /// rules are listed in [`crate::spec::Rule::ALL`]).
    Spec(crate::spec::Rule),
}

impl Check {
    /// Every check, in the order listed in `--help`.
    pub const ALL: [Check; 10] = [
        Check::Sequence,
        Check::Lifecycle,
        Check::Network,
        Check::Duplicate,
        Check::Durability,
        Check::Conformance,
        Check::Persistence,
        Check::Apply,
        Check::Safety,
        Check::Completeness,
    ];

    /// The check's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Check::Sequence => "sequence",
            Check::Lifecycle => "lifecycle",
            Check::Network => "network",
            Check::Duplicate => "duplicate",
            Check::Durability => "durability",
            Check::Conformance => "conformance",
            Check::Persistence => "persistence",
            Check::Apply => "apply",
            Check::Safety => "safety",
            Check::Completeness => "completeness",
            Check::Spec(rule) => rule.name(),
        }
    }

    /// What the check enforces, in one sentence (for `--help`).
    pub fn rule(self) -> &'static str {
        match self {
            Check::Sequence => "events are numbered 1, 2, 3, ... in file order",
            Check::Lifecycle => "a node steps only while running, restarts only while down, crashes only while running",
            Check::Network => "a delivered message was sent before, to that node, with that content",
            Check::Duplicate => {
                "a message is delivered at most as often as it was sent, unless the header sets may_duplicate"
            }
            Check::Durability => {
                "a message or an apply the step put after a save happens only once that save is written; \
                 an apply is handed over only before the node crashes"
            }
            Check::Conformance => "the core, fed the recorded input, returns exactly the recorded outputs and state",
            Check::Persistence => {
                "a save is what the core asked for, before the node's next step; a restart reads the last save"
            }
            Check::Apply => "the service is handed exactly the applies the core asked for, in order",
            Check::Safety => {
                "the model checker's safety properties (raftcheck_core::properties::Safety) hold after every event"
            }
            Check::Completeness => "the trace ends with its end record, which counts its events",
            Check::Spec(rule) => rule.rule(),
        }
    }
}

/// An earlier event a failure conflicts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    /// Its 1-based line.
    pub line: usize,
    /// What it is, in words ("node 0's step that sent the message").
    pub what: String,
}

/// The first event that failed a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the event (for a cut trace: the line where the end
    /// record should be).
    pub line: usize,
    /// The event's sequence number (0 for a cut trace).
    pub seq: u64,
    /// The node the event concerns.
    pub node: NodeId,
    /// The rule broken.
    pub check: Check,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What the rule expected, if it says.
    pub expected: String,
    /// What the trace holds instead.
    pub seen: String,
    /// The safety property broken, for [`Check::Safety`].
    pub property: Option<Safety>,
    /// The earlier events it conflicts with.
    pub related: Vec<Related>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.check == Check::Completeness && self.seq == 0 {
            write!(f, "line {}: {}: {}", self.line, self.check.name(), self.message)?;
        } else {
            let (line, seq, node, check) = (self.line, self.seq, self.node, self.check.name());
            write!(f, "line {line} (event {seq}, node {node}): {check}: {}", self.message)?;
        }
        for related in &self.related {
            write!(f, "\n  see line {}: {}", related.line, related.what)?;
        }
        if !self.expected.is_empty() || !self.seen.is_empty() {
            write!(f, "\n  expected: {}\n  seen:     {}", self.expected, self.seen)?;
        }
        Ok(())
    }
}

/// Whether the trace was closed cleanly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// It ends with its end record.
    Ended,
    /// It has no end record: cut short (or still being written).
    Cut,
    /// It cannot tell: a version-1 trace, which had no end record, or a
    /// validation that stopped at a failure before the end.
    Unknown,
}

/// What validating a trace found.
#[derive(Clone, Debug)]
pub struct Report {
    /// Valid, or invalid with the first failure.
    pub verdict: Verdict,
    /// Events read (up to and including the failing one).
    pub events: u64,
    /// The first failure, if any.
    pub failure: Option<Failure>,
    /// Whether the trace ended cleanly (as far as it was read).
    pub complete: Completeness,
    /// How long validation took.
    pub elapsed: Duration,
    /// What was counted apart, with how many: lines of another tag, the
    /// extra event kinds (whose state, where shown, is still checked),
    /// skipped unknown kinds (always empty for a native trace).
    pub counted: Vec<(String, u64)>,
}

/// A trace that cannot be read: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// The 1-based line, if the error is in one.
    pub line: Option<usize>,
    /// The 1-based column in that line, if known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    fn at(line: usize, message: impl Into<String>) -> Self {
        InputError { line: Some(line), column: None, message: message.into() }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "line {line}, column {column}: {}", self.message),
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for InputError {}

/// The spec check of a native trace: each event translated into the etcd
/// events it stands for, and those checked by the spec.
struct SpecCheck {
    translator: crate::etcd::Translator,
    mapper: crate::etcd::Mapper,
}

impl SpecCheck {
    fn new(cluster_size: usize) -> SpecCheck {
        // Native traces are the 6.824 Raft's: its commit index is volatile.
        SpecCheck {
            translator: crate::etcd::Translator::new(cluster_size),
            mapper: crate::etcd::Mapper::with_volatile_commit(),
        }
    }

    /// The event checked by the spec: the first rule broken, if any.
    fn event(&mut self, event: &crate::schema::Event, line: usize) -> Result<(), Box<Failure>> {
        for spec in self.translator.translate(event) {
            if let Err(violation) = self.mapper.apply(&spec, line) {
                let failure = crate::etcd::to_failure(*violation, spec.name, line, event.seq(), event.node());
                return Err(Box::new(failure));
            }
        }
        Ok(())
    }
}

/// Validates the trace in the file at `path`.
pub fn validate_file(path: &Path, options: Options) -> Result<Report, InputError> {
    validate_reader(read::open(path)?, options)
}

/// Validates the trace read from `reader`.
pub fn validate_reader(reader: impl BufRead, options: Options) -> Result<Report, InputError> {
    let started = Instant::now();
    let mut lines = LineReader::new(reader, options.max_line_bytes);
    let header = lines.header()?;
    let config = header.config(options.mutant).map_err(|e| InputError::at(1, format!("cluster_size: {e}")))?;
    let ends = header.raftcheck_trace >= 2;
    let mut validator = Validator::new(config, header.may_duplicate);
    let mut spec = options.check.spec().then(|| SpecCheck::new(header.cluster_size));
    let mut events = 0;
    let report = |verdict, events, failure, complete| Report {
        verdict,
        events,
        failure,
        complete,
        elapsed: started.elapsed(),
        counted: Vec::new(),
    };
    loop {
        match lines.next()? {
            Some(Line::CutShort) if !ends => {
                let message = "truncated: the last line has no end".to_string();
                return Err(InputError { line: Some(lines.number()), column: None, message });
            }
            Some(Line::CutShort) => {
                let line = lines.number();
                let message =
                    format!("a valid prefix of {events} events, then a line without its end: the trace was cut short");
                let failure = cluster::fail(Check::Completeness, message, "a whole line", "a line cut short");
                return Ok(report(Verdict::Invalid, events, Some(Failure { line, ..*failure }), Completeness::Cut));
            }
            None if ends => {
                let line = lines.number() + 1;
                let message = if events == 0 {
                    "no events and no end record: the trace holds only its header".to_string()
                } else {
                    format!("a valid prefix of {events} events, but the trace has no end record: it was cut short")
                };
                let failure = cluster::fail(Check::Completeness, message, "{\"event\":\"end\",...}", "end of file");
                return Ok(report(Verdict::Invalid, events, Some(Failure { line, ..*failure }), Completeness::Cut));
            }
            None => return Ok(report(Verdict::Valid, events, None, Completeness::Unknown)),
            Some(Line::End(end)) => {
                let number = lines.number();
                if end.events != events {
                    let message = format!("the end record counts {} events, the trace holds {events}", end.events);
                    let failure =
                        cluster::fail(Check::Completeness, message, events.to_string(), end.events.to_string());
                    return Ok(report(
                        Verdict::Invalid,
                        events,
                        Some(Failure { line: number, ..*failure }),
                        Completeness::Ended,
                    ));
                }
                if let Some(extra) = lines.next()? {
                    let what = match extra {
                        Line::End(_) => "a second end record",
                        Line::Event(_) => "an event",
                        Line::CutShort => "a line",
                    };
                    let failure =
                        cluster::fail(Check::Completeness, format!("{what} after the end record"), "end of file", what);
                    let line = lines.number();
                    return Ok(report(
                        Verdict::Invalid,
                        events,
                        Some(Failure { line, ..*failure }),
                        Completeness::Ended,
                    ));
                }
                return Ok(report(Verdict::Valid, events, None, Completeness::Ended));
            }
            Some(Line::Event(event)) => {
                events += 1;
                let line = lines.number();
                let exact = if options.check.exact() { validator.event(&event, line) } else { Ok(()) };
                let checked = match (exact, spec.as_mut()) {
                    (Err(failure), _) => Err(Failure { line, seq: event.seq(), node: event.node(), ..*failure }),
                    (Ok(()), Some(spec)) => spec.event(&event, line).map_err(|failure| *failure),
                    (Ok(()), None) => Ok(()),
                };
                if let Err(failure) = checked {
                    // Validation stops here: whether the trace ends is not known.
                    return Ok(report(Verdict::Invalid, events, Some(failure), Completeness::Unknown));
                }
            }
        }
    }
}
