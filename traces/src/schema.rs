//! The trace format, version 2 (NDJSON: one JSON object per line). See
//! `traces/README.md` for the full description with examples.
//!
//! The first line is a [`Header`]; every other line is an [`Event`] with a
//! global sequence number (1, 2, 3, ... in file order) and the node it
//! concerns. Commands and snapshots appear as [`Digest`]s; messages, inputs
//! and outputs are the core's own types over digests.

use crate::digest::{log_digest, Digest, Digestible};
use raftcheck_core::{
    Command, Config, ConfigError, Entry, HeartbeatStyle, Index, Input, Log, Message, Mutant, Node, NodeId, Output,
    PersistentState, PersistentView, Role, SnapshotData, Term,
};
use serde::{Deserialize, Serialize};

/// The format version this build writes and reads.
pub const VERSION: u64 = 2;

/// The oldest format version this build reads (version 1 had no end record
/// and no `may_duplicate`).
pub const OLDEST_VERSION: u64 = 1;

/// A message as traced: commands and snapshot data by digest.
pub type TraceMessage = Message<Digest, Digest>;
/// An input as traced.
pub type TraceInput = Input<Digest, Digest>;
/// An output as traced.
pub type TraceOutput = Output<Digest, Digest>;
/// A node's stable state as traced (the log's commands by digest).
pub type TracePersistent = PersistentState<Digest, Digest>;
/// The core node the validator replays.
pub type TraceNode = Node<Digest, Digest>;

/// The first line of a trace: the format version and what the nodes run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The format version ([`VERSION`]).
    pub raftcheck_trace: u64,
    /// Servers in the cluster (ids `0..cluster_size`).
    pub cluster_size: usize,
    /// At most this many entries per AppendEntries (`null`: unlimited).
    pub max_entries_per_append: Option<usize>,
    /// What heartbeats carry: `"with_entries"` or `"empty"`.
    pub heartbeat: HeartbeatStyle,
    /// The seeded bug the nodes ran with (`null`: none). Informative: the
    /// validator checks against the correct core unless told otherwise.
    pub mutant: Option<String>,
    /// Whether the network may deliver one sent message more than once (a
    /// transport that retransmits). Absent: it may not, and a second
    /// delivery is reported as a duplicate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub may_duplicate: bool,
}

/// The last line of a trace closed cleanly ([`crate::TraceWriter::finish`]):
/// `{"event":"end","events":N}`, N the number of events before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndRecord {
    /// Always `"end"`.
    pub event: EndTag,
    /// How many events the trace holds.
    pub events: u64,
}

/// The tag of an [`EndRecord`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndTag {
    /// `"end"`.
    End,
}

impl EndRecord {
    /// The end record of a trace of `events` events.
    pub fn new(events: u64) -> Self {
        EndRecord { event: EndTag::End, events }
    }
}

impl Header {
    /// The header of a cluster whose nodes run with `config`.
    pub fn for_config(config: &Config) -> Header {
        Header {
            raftcheck_trace: VERSION,
            cluster_size: config.cluster_size(),
            max_entries_per_append: (config.max_entries_per_append != usize::MAX)
                .then_some(config.max_entries_per_append),
            heartbeat: config.heartbeat,
            mutant: config.mutant.map(|m| m.id().to_string()),
            may_duplicate: false,
        }
    }

    /// The core configuration to validate with: the header's, with
    /// `mutant` instead of the header's mutant.
    pub fn config(&self, mutant: Option<Mutant>) -> Result<Config, ConfigError> {
        let config = Config::new(self.cluster_size)?;
        Ok(config
            .with_max_entries_per_append(self.max_entries_per_append.unwrap_or(usize::MAX))
            .with_heartbeat(self.heartbeat)
            .with_mutant(mutant))
    }
}

/// A node's state after a step, as far as the model can see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSummary {
    pub term: Term,
    pub voted_for: Option<NodeId>,
    /// `"follower"`, `"candidate"` or `"leader"`.
    pub role: String,
    pub commit_index: Index,
    pub last_applied: Index,
    pub snapshot_index: Index,
    pub snapshot_term: Term,
    pub last_index: Index,
    pub last_term: Term,
    /// [`crate::digest::log_digest`] of the log.
    pub log_digest: Digest,
}

impl StateSummary {
    /// The summary of `node`, whose log digest is `log`.
    pub fn of<C: Digestible + Command, D: SnapshotData>(node: &Node<C, D>, log: Digest) -> StateSummary {
        StateSummary {
            term: node.term(),
            voted_for: node.voted_for(),
            role: role_name(node.role()).to_string(),
            commit_index: node.commit_index(),
            last_applied: node.last_applied(),
            snapshot_index: node.log().snapshot_index(),
            snapshot_term: node.log().snapshot_term(),
            last_index: node.log().last_index(),
            last_term: node.log().last_term(),
            log_digest: log,
        }
    }
}

fn role_name(role: &Role) -> &'static str {
    role.name()
}

/// What a node saved to stable storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistedSummary {
    pub term: Term,
    pub voted_for: Option<NodeId>,
    pub snapshot_index: Index,
    pub snapshot_term: Term,
    pub last_index: Index,
    pub last_term: Term,
    pub log_digest: Digest,
    /// The snapshot's digest (`null` if the log was never compacted).
    pub snapshot: Option<Digest>,
}

impl PersistedSummary {
    /// The summary of a state to save.
    pub fn of<C: Digestible + Clone, D: Digestible>(view: PersistentView<'_, C, D>) -> PersistedSummary {
        let digest = log_digest(view.log);
        Self::with_log_digest(view, digest)
    }

    /// The same, with the log's digest already known (it is the costly part).
    pub fn with_log_digest<C: Digestible + Clone, D: Digestible>(
        view: PersistentView<'_, C, D>,
        log_digest: Digest,
    ) -> PersistedSummary {
        PersistedSummary {
            term: view.term,
            voted_for: view.voted_for,
            snapshot_index: view.log.snapshot_index(),
            snapshot_term: view.log.snapshot_term(),
            last_index: view.log.last_index(),
            last_term: view.log.last_term(),
            log_digest,
            snapshot: view.snapshot.map(Digestible::digest),
        }
    }
}

/// One line of a trace after the header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// The node handled `input`; the core returned `outputs` (in order) and
    /// left the node in `state`. Written before any output is carried out.
    Step { seq: u64, node: NodeId, input: TraceInput, outputs: Vec<TraceOutput>, state: StateSummary },
    /// The node's stable storage now holds `state` (written after the save).
    Persist { seq: u64, node: NodeId, state: PersistedSummary },
    /// The node handed `output` (an apply) to its service.
    Applied { seq: u64, node: NodeId, output: TraceOutput },
    /// The node stopped; its volatile state is gone.
    Crash { seq: u64, node: NodeId },
    /// The node (re)started from `state`, what it read from stable storage
    /// (the empty state for a node that never saved anything).
    Restart { seq: u64, node: NodeId, state: TracePersistent },
}

impl Event {
    /// The event's sequence number.
    pub fn seq(&self) -> u64 {
        match self {
            Event::Step { seq, .. }
            | Event::Persist { seq, .. }
            | Event::Applied { seq, .. }
            | Event::Crash { seq, .. }
            | Event::Restart { seq, .. } => *seq,
        }
    }

    /// The node the event concerns.
    pub fn node(&self) -> NodeId {
        match self {
            Event::Step { node, .. }
            | Event::Persist { node, .. }
            | Event::Applied { node, .. }
            | Event::Crash { node, .. }
            | Event::Restart { node, .. } => *node,
        }
    }

    /// A short name of the event kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Step { .. } => "step",
            Event::Persist { .. } => "persist",
            Event::Applied { .. } => "applied",
            Event::Crash { .. } => "crash",
            Event::Restart { .. } => "restart",
        }
    }
}

fn digest_entries<C: Digestible>(entries: &[Entry<C>]) -> Vec<Entry<Digest>> {
    entries.iter().map(|e| Entry { term: e.term, command: e.command.digest() }).collect()
}

/// `message` with its commands and snapshot data replaced by digests.
pub fn digest_message<C: Digestible, D: Digestible>(message: &Message<C, D>) -> TraceMessage {
    message.map(Digestible::digest, Digestible::digest)
}

/// `input` with digests.
pub fn digest_input<C: Digestible, D: Digestible>(input: &Input<C, D>) -> TraceInput {
    match input {
        Input::Receive { from, message } => Input::Receive { from: *from, message: digest_message(message) },
        Input::ElectionTimeout => Input::ElectionTimeout,
        Input::HeartbeatTimeout => Input::HeartbeatTimeout,
        Input::Propose(c) => Input::Propose(c.digest()),
        Input::Snapshot { index, data } => Input::Snapshot { index: *index, data: data.digest() },
    }
}

/// `output` with digests.
pub fn digest_output<C: Digestible, D: Digestible>(output: &Output<C, D>) -> TraceOutput {
    match output {
        Output::Persist => Output::Persist,
        Output::Send { to, message } => Output::Send { to: *to, message: digest_message(message) },
        Output::ApplyCommand { index, term, command } => {
            Output::ApplyCommand { index: *index, term: *term, command: command.digest() }
        }
        Output::ApplySnapshot { index, term, data } => {
            Output::ApplySnapshot { index: *index, term: *term, data: data.digest() }
        }
        Output::ResetElectionTimer => Output::ResetElectionTimer,
        Output::Proposed { index, term } => Output::Proposed { index: *index, term: *term },
        Output::NotLeader => Output::NotLeader,
        Output::SnapshotRefused { index, why } => Output::SnapshotRefused { index: *index, why: *why },
    }
}

/// A stable state with digests (the log keeps its snapshot boundary).
pub fn digest_persistent<C: Digestible + Clone, D: Digestible>(view: PersistentView<'_, C, D>) -> TracePersistent {
    let mut log = Log::new();
    if view.log.snapshot_index() > 0 {
        log.reset_to_snapshot(view.log.snapshot_index(), view.log.snapshot_term());
    }
    for entry in digest_entries(view.log.retained()) {
        log.append(entry);
    }
    PersistentState { term: view.term, voted_for: view.voted_for, log, snapshot: view.snapshot.map(Digestible::digest) }
}
