//! Validating etcd-raft traces (its `TracingEvent` NDJSON, written by
//! `state_trace.go` under the `with_tla` build tag) against the executable
//! spec in [`crate::spec`].
//!
//! Each event is translated into spec actions, in the spirit of etcd's
//! `Traceetcdraft.tla`: the state the event shows of its node is observed
//! (terms, votes, leaders and commit indexes checked against what the
//! node showed before), then the event's own action is taken (an
//! election, a send, a receive, a persist). The mapping event by event is
//! in `traces/README.md`.
//!
//! * `event`: the record's fields and their translation;
//! * `read`: the lines (zap records or bare events), tags and config;
//! * `translate`: native trace events as etcd events (our runtime's
//!   etcd-schema traces, and the spec check of native traces).

mod event;
mod read;
mod translate;

pub use event::{Event, Msg, State};
pub use translate::{etcd_id, message_of, SpecEvent, Translator};

use crate::spec::{Checked, Cluster, MessageKind, Violation};
use crate::validate::{Check, Completeness, Failure, InputError, Report, Verdict, DEFAULT_MAX_LINE_BYTES};
use read::{Record, Records};
use std::collections::{BTreeMap, HashSet};
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

/// How to read an etcd trace.
#[derive(Clone, Copy, Debug)]
pub struct EtcdOptions {
    /// The longest line accepted, in bytes.
    pub max_line_bytes: usize,
    /// Skip (and count) events of a kind the reader does not know, and
    /// events whose message is of a type etcd-raft does not have, instead
    /// of refusing the trace.
    pub lenient: bool,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        EtcdOptions { max_line_bytes: DEFAULT_MAX_LINE_BYTES, lenient: false }
    }
}

/// The event kinds etcd-raft writes (`state_trace.go`).
const KINDS: [&str; 19] = [
    "InitState",
    "BecomeCandidate",
    "BecomeFollower",
    "BecomeLeader",
    "Commit",
    "Replicate",
    "ChangeConf",
    "ApplyConfChange",
    "Ready",
    "SendAppendEntriesRequest",
    "ReceiveAppendEntriesRequest",
    "SendAppendEntriesResponse",
    "ReceiveAppendEntriesResponse",
    "SendRequestVoteRequest",
    "ReceiveRequestVoteRequest",
    "SendRequestVoteResponse",
    "ReceiveRequestVoteResponse",
    "SendSnapshot",
    "ReceiveSnapshot",
];

/// Event kinds other harnesses add: counted, and where they show the
/// node's state (log compaction, applying entries), that state is checked.
const EXTRA_KINDS: [&str; 13] = [
    "ApplyEntries",
    "CompactLog",
    "ReportUnreachable",
    "ReportSnapshotStatus",
    "ManualSendSnapshot",
    "SendReadIndex",
    "ReceiveReadIndex",
    "SendReadIndexResponse",
    "ReceiveReadIndexResponse",
    "SendReadIndexRequest",
    "ReceiveReadIndexRequest",
    "ReadIndexQuorumAck",
    "ReduceNextIndex",
];

/// The kinds a node's bootstrap is made of (etcd's `StartNode` with
/// peers: the initial configuration entries, applied before any message).
const BOOTSTRAP_KINDS: [&str; 3] = ["InitState", "BecomeFollower", "ApplyConfChange"];

/// Validates the etcd trace in the file at `path`.
pub fn validate_file(path: &Path, options: EtcdOptions) -> Result<Report, InputError> {
    validate_reader(crate::validate::read::open(path)?, options)
}

/// Validates the etcd trace read from `reader`.
pub fn validate_reader(reader: impl BufRead, options: EtcdOptions) -> Result<Report, InputError> {
    let started = Instant::now();
    let mut records = Records::new(reader, options.max_line_bytes);
    let mut mapper = Mapper::new();
    let mut counted: BTreeMap<String, u64> = BTreeMap::new();
    let mut events = 0;
    let mut failure = None;
    while let Some(record) = records.next()? {
        let line = records.number();
        let event = match record {
            Record::Event(event) => event,
            Record::Config { durable_commit } => {
                *counted.entry("config records".into()).or_default() += 1;
                if let Some(durable) = durable_commit {
                    mapper.cluster.set_volatile_commit(!durable);
                }
                continue;
            }
            Record::Other(what) => {
                *counted.entry(what).or_default() += 1;
                continue;
            }
        };
        let name = event.name.as_str();
        if !KINDS.contains(&name) {
            if EXTRA_KINDS.contains(&name) {
                *counted.entry(format!("{name} events")).or_default() += 1;
            } else if options.lenient {
                *counted.entry(format!("{name} events (unknown kind, skipped)")).or_default() += 1;
                continue;
            } else {
                let message = format!(
                    "unknown event kind {name:?} (expected one of etcd-raft's: {}; or pass --lenient to skip it)",
                    KINDS.join(", ")
                );
                return Err(InputError { line: Some(line), column: None, message });
            }
        }
        if let (true, Some(kind)) = (options.lenient, event.unknown_message_type()) {
            *counted.entry(format!("events with message type {kind} (unknown, skipped)")).or_default() += 1;
            continue;
        }
        events += 1;
        let input = |message: String| InputError { line: Some(line), column: None, message };
        if let Err(violation) = mapper.event(&event, line).map_err(input)? {
            let node = event.node().unwrap_or(0) as usize;
            failure = Some(to_failure(*violation, &event.name, line, events, node));
            break;
        }
    }
    let verdict = if failure.is_some() { Verdict::Invalid } else { Verdict::Valid };
    Ok(Report {
        verdict,
        events,
        failure,
        // etcd traces have no end record: whether one was cut cannot be told.
        complete: Completeness::Unknown,
        elapsed: started.elapsed(),
        counted: counted.into_iter().collect(),
    })
}

/// A spec violation as a failure of the trace, at its event.
pub(crate) fn to_failure(v: Violation, name: &str, line: usize, seq: u64, node: usize) -> Failure {
    let message = format!("{name}: {} ({})", v.message, v.rule.section());
    Failure {
        line,
        seq,
        node,
        check: Check::Spec(v.rule),
        message,
        expected: v.expected,
        seen: v.seen,
        property: None,
        related: v
            .related
            .into_iter()
            .filter(|(line, _)| *line > 0)
            .map(|(line, what)| crate::validate::Related { line, what })
            .collect(),
    }
}

/// An event is an input error (`Err`), a violation (`Ok(Err)`) or fine.
pub type Mapped = Result<Result<(), Box<Violation>>, String>;

/// Translates etcd events, in trace order, into the spec's actions on a
/// reconstructed [`Cluster`].
pub struct Mapper {
    cluster: Cluster,
    /// Nodes past their bootstrap.
    booted: HashSet<u64>,
}

impl Default for Mapper {
    fn default() -> Self {
        Mapper::new()
    }
}

impl Mapper {
    /// A mapper over an empty cluster, whose nodes persist their commit
    /// index (as etcd's do).
    pub fn new() -> Mapper {
        Mapper { cluster: Cluster::new(), booted: HashSet::new() }
    }

    /// A mapper whose nodes keep their commit index in volatile state
    /// (the paper's Figure 2, the 6.824 Raft).
    pub fn with_volatile_commit() -> Mapper {
        let mut mapper = Mapper::new();
        mapper.cluster.set_volatile_commit(true);
        mapper
    }

    /// A mapper over `cluster`, whose nodes are past their bootstrap
    /// (a cluster seeded from a model state), with volatile commit indexes.
    pub fn from_seeded(mut cluster: Cluster, nodes: impl IntoIterator<Item = u64>) -> Mapper {
        cluster.set_volatile_commit(true);
        Mapper { cluster, booted: nodes.into_iter().collect() }
    }

    /// The cluster as reconstructed so far.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Applies one event (of one of the kinds etcd-raft writes, or an
    /// extra kind): its state observed, then its action taken. An event
    /// that cannot be read (a field missing or malformed) is `Err`; a rule
    /// it breaks is `Ok(Err)`.
    pub fn event(&mut self, event: &Event, line: usize) -> Mapped {
        let id = event.node()?;
        let name = event.name.as_str();
        let state = if EXTRA_KINDS.contains(&name) {
            // Counted; the state it shows (a compaction, an apply), if any,
            // is checked.
            event.state(self.cluster.state(id).map(|s| &s.config))?
        } else {
            Some(event.required_state()?)
        };
        let carries = name.starts_with("Send") || name.starts_with("Receive");
        let message =
            if carries || (EXTRA_KINDS.contains(&name) && event.msg.is_some()) { Some(event.message()?) } else { None };
        Ok(self.dispatch(id, name, state.as_ref(), message.as_ref(), line))
    }

    /// Applies one event already in the spec's terms (a native trace's, or
    /// the model's): as [`Mapper::event`], without the reading.
    pub fn apply(&mut self, event: &SpecEvent, line: usize) -> Checked {
        self.dispatch(event.node, event.name, Some(&event.state), event.message.as_ref(), line)
    }

    /// One event of node `id`, by kind: an extra kind's state observed; a
    /// bootstrap adopted; a restart checked; any other kind's state
    /// observed, then its action taken.
    fn dispatch(
        &mut self,
        id: u64,
        name: &str,
        state: Option<&crate::spec::NodeState>,
        message: Option<&crate::spec::Message>,
        line: usize,
    ) -> Checked {
        if EXTRA_KINDS.contains(&name) {
            // Counted; the state it shows (a compaction, an apply) is
            // checked; a message it sends (a snapshot sent by hand, a
            // ReadIndex) is in flight, one it receives is taken if sent.
            if let Some(state) = state {
                self.cluster.observe(id, state, line)?;
            }
            return match message {
                Some(m) if name.contains("Send") => self.cluster.send(id, m, line),
                Some(m) if name.starts_with("Receive") => self.cluster.receive_if_sent(id, m),
                _ => Ok(()),
            };
        }
        let Some(state) = state else { return Ok(()) };
        if !self.booted.contains(&id) {
            if BOOTSTRAP_KINDS.contains(&name) {
                self.cluster.adopt(id, state);
                return Ok(());
            }
            self.booted.insert(id);
        }
        if name == "InitState" {
            return self.cluster.restart(id, state);
        }
        self.act(id, name, state, message, line)
    }

    /// The spec actions of one event of node `id`.
    fn act(
        &mut self,
        id: u64,
        name: &str,
        state: &crate::spec::NodeState,
        message: Option<&crate::spec::Message>,
        line: usize,
    ) -> Result<(), Box<Violation>> {
        self.cluster.observe(id, state, line)?;
        match (name, message) {
            ("BecomeCandidate", _) => self.cluster.become_candidate(id)?,
            ("BecomeLeader", _) => self.cluster.become_leader(id)?,
            ("Ready", _) => self.cluster.persist(id),
            (_, Some(m)) if name.starts_with("Send") => self.cluster.send(id, m, line)?,
            // A message of another type (etcd's storage messages, MsgHup,
            // MsgProp) may be made locally, never sent through the trace.
            (_, Some(m)) if matches!(m.kind, MessageKind::Other(_)) => self.cluster.receive_if_sent(id, m)?,
            (_, Some(m)) => self.cluster.receive(id, m)?,
            _ => {}
        }
        Ok(())
    }
}
