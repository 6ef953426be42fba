//! What happens to a node ([`Input`]), what travels between nodes
//! ([`Message`]) and what a node asks its driver to do ([`Output`]).

use crate::core::types::{Entry, Index, NodeId, Term};

/// A Raft RPC or its reply (Raft Figure 2, and §7 for InstallSnapshot).
/// Requests and replies are separate one-way messages, so that a network may
/// lose, reorder or duplicate each of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Message<C, D> {
    /// A candidate asks for a vote (§5.2).
    RequestVote {
        /// The candidate's term.
        term: Term,
        /// Index of the candidate's last log entry (§5.4).
        last_log_index: Index,
        /// Term of the candidate's last log entry (§5.4).
        last_log_term: Term,
    },
    /// The answer to a [`Message::RequestVote`].
    RequestVoteReply {
        /// The voter's current term, for the candidate to update itself.
        term: Term,
        /// Whether the voter granted its vote.
        vote_granted: bool,
    },
    /// The leader replicates entries, or just asserts its leadership (§5.3).
    AppendEntries {
        /// The leader's term.
        term: Term,
        /// Index of the entry immediately preceding `entries`.
        prev_log_index: Index,
        /// Term of the entry at `prev_log_index`.
        prev_log_term: Term,
        /// Entries to store, starting at `prev_log_index + 1` (may be empty).
        entries: Vec<Entry<C>>,
        /// The leader's commit index.
        leader_commit: Index,
    },
    /// The answer to a [`Message::AppendEntries`].
    AppendEntriesReply {
        /// The follower's current term.
        term: Term,
        /// Whether the follower's log matched `prev_log_index`/`prev_log_term`.
        success: bool,
        /// On success: the follower's log matches the leader's through this
        /// index (`prev_log_index + entries.len()` of the request answered).
        match_index: Index,
        /// On failure, the fast back-up hint (6.824): the term of the
        /// follower's conflicting entry, or `None` if its log is too short.
        conflict_term: Option<Term>,
        /// On failure: the first index of `conflict_term` in the follower's
        /// log, or its `last_index + 1` if the log is too short.
        conflict_index: Index,
    },
    /// The leader ships its snapshot to a follower that lags behind it (§7).
    InstallSnapshot {
        /// The leader's term.
        term: Term,
        /// The snapshot replaces all entries through this index.
        last_included_index: Index,
        /// The term of the entry at `last_included_index`.
        last_included_term: Term,
        /// The service state through `last_included_index`.
        data: D,
    },
    /// The answer to a [`Message::InstallSnapshot`].
    InstallSnapshotReply {
        /// The follower's current term.
        term: Term,
        /// The `last_included_index` of the request answered.
        last_included_index: Index,
    },
}

impl<C, D> Message<C, D> {
    /// The sender's term, carried by every message.
    pub fn term(&self) -> Term {
        match self {
            Message::RequestVote { term, .. }
            | Message::RequestVoteReply { term, .. }
            | Message::AppendEntries { term, .. }
            | Message::AppendEntriesReply { term, .. }
            | Message::InstallSnapshot { term, .. }
            | Message::InstallSnapshotReply { term, .. } => *term,
        }
    }

    /// A short name of the message kind, for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::RequestVote { .. } => "RequestVote",
            Message::RequestVoteReply { .. } => "RequestVoteReply",
            Message::AppendEntries { .. } => "AppendEntries",
            Message::AppendEntriesReply { .. } => "AppendEntriesReply",
            Message::InstallSnapshot { .. } => "InstallSnapshot",
            Message::InstallSnapshotReply { .. } => "InstallSnapshotReply",
        }
    }
}

/// Something that happens to a node. Restarting is not an input: a restarted
/// node is built by [`crate::Node::restart`] from what it had persisted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
}
