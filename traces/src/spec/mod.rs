//! An executable Raft spec over an abstract cluster, for traces of other
//! Raft implementations.
//!
//! The spec is the paper's Raft (Ongaro and Ousterhout, "In Search of an
//! Understandable Consensus Algorithm", 2014, cited as §N) with membership
//! changes by joint consensus (Ongaro's thesis, §4.3) and learners, written
//! as small rules over what a trace can show of a cluster: per node its
//! term, vote, role, log (entry terms kept as bounds where the trace does
//! not say them), commit index and configuration; the messages sent. It is
//! permissive wherever the paper leaves a choice to the implementation:
//! batch sizes, heartbeat contents, rejection hints, when a node persists,
//! a new leader's empty entry, flow control, check-quorum step-down and an
//! invisible pre-vote phase are all allowed.
//!
//! * `config`: configurations, joint ones, and their quorums;
//! * `log`: a log whose entry terms are known as bounds;
//! * `rules`: the safety rules, one small function each;
//! * `cluster`: the reconstructed cluster, its nodes and messages in flight.
//!
//! A reader (today: [`crate::etcd`]) translates each event into calls on
//! [`Cluster`]; every call checks the rules it touches and returns the
//! first [`Violation`].

mod cluster;
mod config;
mod log;
mod rules;

pub use cluster::{Cluster, Message, MessageKind, NodeState, Role, Seed};
pub use config::Config;
pub use log::{Bounds, Log};

/// A node's id, as the trace names it.
pub type Id = u64;

/// The rules of the spec, one per kind of violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// At most one leader per term (§5.2, Figure 3 "Election Safety").
    ElectionSafety,
    /// A candidate becomes leader only with the votes of a majority of
    /// each configuration's voters (§5.2; thesis §4.3 for joint ones;
    /// learners never count).
    ElectionQuorum,
    /// A node votes for at most one candidate per term (§5.2).
    OneVote,
    /// A vote is granted only to a candidate whose log is at least as up
    /// to date as the voter's, as far as the trace shows (§5.4.1).
    VoteUpToDate,
    /// A node's term never goes down; after a restart, not below the term
    /// it persisted (§5.1).
    TermMonotonic,
    /// A node's commit index never goes down (§5.3).
    CommitMonotonic,
    /// A commit index is never beyond what a majority of each
    /// configuration holds: a leader's is acknowledged by a quorum, a
    /// follower's was told by a leader, and no node commits past its log
    /// (§5.3, §5.4.2).
    CommitQuorum,
    /// A message received was sent before, with that content.
    MessageSent,
    /// A follower accepts an AppendEntries only if its log holds the
    /// previous entry, with the previous term (§5.3, Log Matching).
    LogMatching,
    /// A committed entry is never removed from a log nor overwritten
    /// (§5.4: Leader Completeness, State Machine Safety).
    CommittedKept,
    /// A node applies, and compacts into a snapshot, only committed
    /// entries (§5.3, §7).
    AppliedCommitted,
}

impl Rule {
    /// Every rule, in the order listed in `--help`.
    pub const ALL: [Rule; 11] = [
        Rule::ElectionSafety,
        Rule::ElectionQuorum,
        Rule::OneVote,
        Rule::VoteUpToDate,
        Rule::TermMonotonic,
        Rule::CommitMonotonic,
        Rule::CommitQuorum,
        Rule::MessageSent,
        Rule::LogMatching,
        Rule::CommittedKept,
        Rule::AppliedCommitted,
    ];

    /// The rule's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Rule::ElectionSafety => "election-safety",
            Rule::ElectionQuorum => "election-quorum",
            Rule::OneVote => "one-vote",
            Rule::VoteUpToDate => "vote-up-to-date",
            Rule::TermMonotonic => "term-monotonic",
            Rule::CommitMonotonic => "commit-monotonic",
            Rule::CommitQuorum => "commit-quorum",
            Rule::MessageSent => "message-sent",
            Rule::LogMatching => "log-matching",
            Rule::CommittedKept => "committed-kept",
            Rule::AppliedCommitted => "applied-committed",
        }
    }

    /// Where the rule comes from: the paper's section (or the thesis').
    pub fn section(self) -> &'static str {
        match self {
            Rule::ElectionSafety => "§5.2",
            Rule::ElectionQuorum => "§5.2, thesis §4.3",
            Rule::OneVote => "§5.2",
            Rule::VoteUpToDate => "§5.4.1",
            Rule::TermMonotonic => "§5.1",
            Rule::CommitMonotonic => "§5.3",
            Rule::CommitQuorum => "§5.3, §5.4.2, thesis §4.3",
            Rule::MessageSent => "§5.1",
            Rule::LogMatching => "§5.3",
            Rule::CommittedKept => "§5.4",
            Rule::AppliedCommitted => "§5.3, §7",
        }
    }

    /// What the rule enforces, in one sentence (for `--help`).
    pub fn rule(self) -> &'static str {
        match self {
            Rule::ElectionSafety => "at most one leader per term",
            Rule::ElectionQuorum => {
                "a candidate becomes leader only with votes from a majority of each configuration's voters \
                 (learners never count)"
            }
            Rule::OneVote => "a node votes for at most one candidate per term (a candidate, for itself)",
            Rule::VoteUpToDate => {
                "a vote is granted only to a candidate whose log is at least as up to date as the voter's"
            }
            Rule::TermMonotonic => "a node's term never goes down (after a restart: not below its persisted term)",
            Rule::CommitMonotonic => "a node's commit index never goes down",
            Rule::CommitQuorum => {
                "a commit index is never beyond what a majority of each configuration holds (a leader's is \
                 acknowledged by a quorum and lands on an entry of its term, a follower's was told by a leader)"
            }
            Rule::MessageSent => "a message received was sent before, with that content",
            Rule::LogMatching => {
                "a follower accepts an AppendEntries only if its log holds the previous entry with the previous term, \
                 and keeps no entry of an earlier term after the entries it accepted"
            }
            Rule::CommittedKept => "a committed entry is never removed from a log nor overwritten",
            Rule::AppliedCommitted => {
                "a node applies, and compacts into a snapshot, only committed entries (when the trace writes \
                 applied or snapshotIndex)"
            }
        }
    }
}

/// A rule broken, as the spec says it: the event's position is added by
/// the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What the rule expected.
    pub expected: String,
    /// What the trace holds instead.
    pub seen: String,
    /// Earlier lines it conflicts with, and what they are.
    pub related: Vec<(usize, String)>,
}

/// The result of a spec action.
pub type Checked = Result<(), Box<Violation>>;

/// A violation of `rule`.
pub(crate) fn violation(
    rule: Rule,
    message: impl Into<String>,
    expected: impl Into<String>,
    seen: impl Into<String>,
) -> Box<Violation> {
    Box::new(Violation {
        rule,
        message: message.into(),
        expected: expected.into(),
        seen: seen.into(),
        related: Vec::new(),
    })
}
