//! What happens to a node ([`Input`]), what travels between nodes
//! ([`Message`]) and what a node asks its driver to do ([`Output`]).

use crate::types::{Entry, Index, NodeId, Term};
use serde::{Deserialize, Serialize};

/// RequestVote RPC arguments: a candidate asks for a vote (§5.2, Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestVote {
    /// The candidate's term.
    pub term: Term,
    /// Index of the candidate's last log entry (§5.4).
    pub last_log_index: Index,
    /// Term of the candidate's last log entry (§5.4).
    pub last_log_term: Term,
}

/// RequestVote RPC results.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestVoteReply {
    /// The voter's current term, for the candidate to update itself.
    pub term: Term,
    /// Whether the voter granted its vote.
    pub vote_granted: bool,
}

/// AppendEntries RPC arguments: the leader replicates entries, or just
/// asserts its leadership (§5.3, Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AppendEntries<C> {
    /// The leader's term.
    pub term: Term,
    /// Index of the entry immediately preceding `entries`.
    pub prev_log_index: Index,
    /// Term of the entry at `prev_log_index`.
    pub prev_log_term: Term,
    /// Entries to store, starting at `prev_log_index + 1` (may be empty).
    pub entries: Vec<Entry<C>>,
    /// The leader's commit index.
    pub leader_commit: Index,
}

/// AppendEntries RPC results, with the 6.824 fast back-up hint.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AppendEntriesReply {
    /// The follower's current term.
    pub term: Term,
    /// Whether the follower's log matched `prev_log_index`/`prev_log_term`.
    pub success: bool,
    /// On success: the follower's log matches the leader's through this
    /// index (`prev_log_index + entries.len()` of the request answered).
    pub match_index: Index,
    /// On failure, the fast back-up hint (6.824): the term of the
    /// follower's conflicting entry, or `None` if its log is too short.
    pub conflict_term: Option<Term>,
    /// On failure: the first index of `conflict_term` in the follower's
    /// log, or its `last_index + 1` if the log is too short.
    pub conflict_index: Index,
}

/// InstallSnapshot RPC arguments: the leader ships its snapshot to a
/// follower that lags behind its log (§7, sent whole, not in chunks).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InstallSnapshot<D> {
    /// The leader's term.
    pub term: Term,
    /// The snapshot replaces all entries through this index.
    pub last_included_index: Index,
    /// The term of the entry at `last_included_index`.
    pub last_included_term: Term,
    /// The service state through `last_included_index`.
    pub data: D,
}

/// InstallSnapshot RPC results.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InstallSnapshotReply {
    /// The follower's current term.
    pub term: Term,
    /// The `last_included_index` of the request answered.
    pub last_included_index: Index,
    /// Whether the follower installed the snapshot. A refused one was from
    /// an older term, or stale (at or below the follower's commit index, so
    /// the follower holds those entries already).
    pub accepted: bool,
}

/// A Raft RPC request or reply (Figure 2, and §7 for InstallSnapshot).
/// Requests and replies are separate one-way messages, so that a network may
/// lose, reorder or duplicate each of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Message<C, D> {
    /// A candidate asks for a vote.
    RequestVote(RequestVote),
    /// The answer to a [`Message::RequestVote`].
    RequestVoteReply(RequestVoteReply),
    /// The leader replicates entries or asserts its leadership.
    AppendEntries(AppendEntries<C>),
    /// The answer to a [`Message::AppendEntries`].
    AppendEntriesReply(AppendEntriesReply),
    /// The leader ships its snapshot.
    InstallSnapshot(InstallSnapshot<D>),
    /// The answer to a [`Message::InstallSnapshot`].
    InstallSnapshotReply(InstallSnapshotReply),
}

impl<C, D> Message<C, D> {
    /// The sender's term, carried by every message.
    pub fn term(&self) -> Term {
        match self {
            Message::RequestVote(m) => m.term,
            Message::RequestVoteReply(m) => m.term,
            Message::AppendEntries(m) => m.term,
            Message::AppendEntriesReply(m) => m.term,
            Message::InstallSnapshot(m) => m.term,
            Message::InstallSnapshotReply(m) => m.term,
        }
    }

    /// The same message with every command mapped by `command` and the
    /// snapshot data by `data` (for a trace's digests, a replay's bytes).
    pub fn map<C2, D2>(&self, command: impl Fn(&C) -> C2, data: impl Fn(&D) -> D2) -> Message<C2, D2> {
        match self {
            Message::RequestVote(m) => Message::RequestVote(m.clone()),
            Message::RequestVoteReply(m) => Message::RequestVoteReply(m.clone()),
            Message::AppendEntries(m) => Message::AppendEntries(AppendEntries {
                term: m.term,
                prev_log_index: m.prev_log_index,
                prev_log_term: m.prev_log_term,
                entries: m.entries.iter().map(|e| Entry { term: e.term, command: command(&e.command) }).collect(),
                leader_commit: m.leader_commit,
            }),
            Message::AppendEntriesReply(m) => Message::AppendEntriesReply(m.clone()),
            Message::InstallSnapshot(m) => Message::InstallSnapshot(InstallSnapshot {
                term: m.term,
                last_included_index: m.last_included_index,
                last_included_term: m.last_included_term,
                data: data(&m.data),
            }),
            Message::InstallSnapshotReply(m) => Message::InstallSnapshotReply(m.clone()),
        }
    }

    /// A short name of the message kind, for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::RequestVote(_) => "RequestVote",
            Message::RequestVoteReply(_) => "RequestVoteReply",
            Message::AppendEntries(_) => "AppendEntries",
            Message::AppendEntriesReply(_) => "AppendEntriesReply",
            Message::InstallSnapshot(_) => "InstallSnapshot",
            Message::InstallSnapshotReply(_) => "InstallSnapshotReply",
        }
    }
}

/// Something that happens to a node. Restarting is not an input: a restarted
/// node is built by [`crate::Node::restart`] from what it had persisted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input<C, D> {
    /// A message arrived from `from`.
    Receive { from: NodeId, message: Message<C, D> },
    /// The election timer fired: no leader was heard from for a randomised
    /// timeout (the driver draws it; the core never sees time).
    ElectionTimeout,
    /// The leader's heartbeat timer fired.
    HeartbeatTimeout,
    /// A client asks to replicate `command` (6.824's `Start`).
    Propose(C),
    /// The service has snapshotted its state through `index` (6.824's
    /// `Snapshot(index, data)`); `index` must not exceed what was applied.
    Snapshot { index: Index, data: D },
}

/// What the node asks its driver to do. The driver executes outputs in order:
/// a [`Output::Persist`] always comes first, so that nothing is sent or
/// applied before the state it depends on is durable (Figure 2: "updated on
/// stable storage before responding to RPCs").
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output<C, D> {
    /// Durably write [`crate::Node::persistent_state`] as it is after this
    /// step, before executing any later output.
    Persist,
    /// Send `message` to node `to`.
    Send { to: NodeId, message: Message<C, D> },
    /// Apply a committed command to the service, in index order.
    ApplyCommand { index: Index, term: Term, command: C },
    /// Replace the service state with a snapshot received from the leader.
    ApplySnapshot { index: Index, term: Term, data: D },
    /// Restart the election timer with a fresh randomised timeout.
    ResetElectionTimer,
    /// A proposal was appended at `index` in `term` (6.824's `Start` result).
    Proposed { index: Index, term: Term },
    /// A proposal was refused: this node is not the leader.
    NotLeader,
    /// A snapshot handed over by the service was not taken (the log and
    /// the snapshot are unchanged).
    SnapshotRefused { index: Index, why: SnapshotRefusal },
}

/// Why a node did not take a snapshot its service handed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotRefusal {
    /// The snapshot's index is beyond what the node has applied.
    BeyondApplied { applied: Index },
    /// The log is already compacted through the snapshot's index.
    AlreadyCompacted { snapshot_index: Index },
}
