//! One Raft server as a pure state machine: [`Node::step`] takes an
//! [`Input`] and returns the [`Output`]s the driver must carry out.
//!
//! The handlers live beside this file, one per protocol concern:
//! `election.rs` (§5.2, §5.4.1), `replication.rs` (§5.3, §5.4.2) and
//! `snapshot.rs` (§7).

use crate::io::{Input, Message, Output};
use crate::log::Log;
use crate::mutant::Mutant;
use crate::names::UnknownName;
use crate::types::{majority, Command, Index, NodeId, SnapshotData, Term};
use serde::{Deserialize, Serialize};

/// How a leader's heartbeat AppendEntries are built.
///
/// Spelled `with-entries` / `empty` on the command line and in reports
/// ([`HeartbeatStyle::name`], [`str::parse`]), `with_entries` / `empty` in
/// trace and replay files (serde); each reader accepts both spellings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeartbeatStyle {
    /// A heartbeat carries every entry from the follower's `next_index`
    /// (the usual 6.824 design): it doubles as a retransmission.
    #[default]
    #[serde(alias = "with-entries")]
    WithEntries,
    /// A heartbeat carries no entries; the leader sends missing entries when
    /// a successful reply shows the follower behind (etcd's design).
    Empty,
}

impl HeartbeatStyle {
    /// Both styles.
    pub const ALL: [HeartbeatStyle; 2] = [HeartbeatStyle::WithEntries, HeartbeatStyle::Empty];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            HeartbeatStyle::WithEntries => "with-entries",
            HeartbeatStyle::Empty => "empty",
        }
    }
}

impl std::fmt::Display for HeartbeatStyle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for HeartbeatStyle {
    type Err = UnknownName;
    /// `with-entries` (or `with_entries`) or `empty`.
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        match s {
            "with-entries" | "with_entries" => Ok(HeartbeatStyle::WithEntries),
            "empty" => Ok(HeartbeatStyle::Empty),
            _ => Err(UnknownName::new("heartbeat style", s, &["with-entries", "empty"])),
        }
    }
}

/// Cluster-wide settings of the core. Not part of a node's state.
///
/// Built by [`Config::new`], which refuses a cluster the core cannot run;
/// the other settings are changed with the `with_*` methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Number of servers; ids are `0..cluster_size`. Invariant: 1 to
    /// [`Config::MAX_CLUSTER_SIZE`] (a candidate's votes are a 64-bit set).
    cluster_size: usize,
    /// At most this many entries in one AppendEntries (at least 1).
    pub max_entries_per_append: usize,
    /// What a heartbeat carries.
    pub heartbeat: HeartbeatStyle,
    /// The seeded bug to re-introduce, if any (`None` in production).
    pub mutant: Option<Mutant>,
}

/// Why [`Config::new`] refused a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The cluster size is 0 or above [`Config::MAX_CLUSTER_SIZE`].
    ClusterSize(usize),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::ClusterSize(n) => {
                write!(f, "a cluster of {n} servers (the core runs 1 to {})", Config::MAX_CLUSTER_SIZE)
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The most servers a cluster can have: votes are kept as a 64-bit set.
    pub const MAX_CLUSTER_SIZE: usize = 64;

    /// A correct cluster of `cluster_size` servers, unlimited batches,
    /// heartbeats with entries; an error unless `cluster_size` is 1 to
    /// [`Config::MAX_CLUSTER_SIZE`].
    pub fn new(cluster_size: usize) -> Result<Self, ConfigError> {
        if !(1..=Self::MAX_CLUSTER_SIZE).contains(&cluster_size) {
            return Err(ConfigError::ClusterSize(cluster_size));
        }
        Ok(Config {
            cluster_size,
            max_entries_per_append: usize::MAX,
            heartbeat: HeartbeatStyle::WithEntries,
            mutant: None,
        })
    }

    /// The same settings with `mutant` as the seeded bug (or none).
    pub fn with_mutant(self, mutant: Option<Mutant>) -> Self {
        Config { mutant, ..self }
    }

    /// The same settings with heartbeats built as `heartbeat` says.
    pub fn with_heartbeat(self, heartbeat: HeartbeatStyle) -> Self {
        Config { heartbeat, ..self }
    }

    /// The same settings with at most `max` entries per AppendEntries
    /// (0 is taken as 1: an AppendEntries must be able to carry an entry).
    pub fn with_max_entries_per_append(self, max: usize) -> Self {
        Config { max_entries_per_append: max.max(1), ..self }
    }

    /// Number of servers; ids are `0..cluster_size()`.
    pub fn cluster_size(&self) -> usize {
        self.cluster_size
    }

    /// Whether `mutant` is the active seeded bug.
    pub fn has(&self, mutant: Mutant) -> bool {
        self.mutant == Some(mutant)
    }

    /// How many votes or replicas make a quorum (M6 makes it one too few).
    pub fn quorum(&self) -> usize {
        if self.has(Mutant::M6) {
            self.cluster_size / 2
        } else {
            majority(self.cluster_size)
        }
    }

    /// Every server id except `me`.
    pub fn peers(&self, me: NodeId) -> impl Iterator<Item = NodeId> {
        (0..self.cluster_size).filter(move |&p| p != me)
    }
}

/// A server's role and the volatile state only that role has.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Follows whoever leads the current term.
    Follower,
    /// Campaigns in the current term.
    Candidate {
        /// Bit `p` is set if `p` granted its vote in the current term
        /// (the candidate's own vote included).
        votes: u64,
    },
    /// Leads the current term.
    Leader {
        /// For each server, the index of the next entry to send it
        /// (Figure 2). Invariant: `next_index[p] > match_index[p]`.
        next_index: Vec<Index>,
        /// For each server, the highest index known to be replicated on it
        /// (Figure 2). The leader's own slot is unused.
        match_index: Vec<Index>,
    },
}

impl Role {
    /// A short name: `follower`, `candidate` or `leader`.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate { .. } => "candidate",
            Role::Leader { .. } => "leader",
        }
    }
}

/// What a node must keep on stable storage (Figure 2 "persistent state on
/// all servers", plus the snapshot of §7). A restart rebuilds the node from
/// exactly this.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PersistentState<C, D> {
    /// Latest term the server has seen.
    pub term: Term,
    /// Candidate that received this server's vote in `term`, if any.
    pub voted_for: Option<NodeId>,
    /// The log, with its snapshot offset.
    pub log: Log<C>,
    /// The service snapshot through `log.snapshot_index()`, if any.
    pub snapshot: Option<D>,
}

/// A borrowed [`PersistentState`]: what [`Output::Persist`] must write,
/// without copying the log (see [`Node::persistent_view`]).
#[derive(Clone, Copy, Debug)]
pub struct PersistentView<'a, C, D> {
    /// Latest term the server has seen.
    pub term: Term,
    /// The vote to persist (none under mutant M1).
    pub voted_for: Option<NodeId>,
    /// The log, with its snapshot offset.
    pub log: &'a Log<C>,
    /// The service snapshot, if the log was compacted.
    pub snapshot: Option<&'a D>,
}

impl<C: Clone, D> Default for PersistentState<C, D> {
    fn default() -> Self {
        PersistentState { term: 0, voted_for: None, log: Log::new(), snapshot: None }
    }
}

/// A broken per-node invariant, found by [`Node::check_invariants`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InvariantViolation {
    /// The node whose invariant is broken.
    pub node: NodeId,
    /// Which invariant, with the values that break it.
    pub what: String,
}

impl std::fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "node {}: {}", self.node, self.what)
    }
}

impl std::error::Error for InvariantViolation {}

/// Why [`Node::restart`] refused a persisted state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreError {
    /// Snapshot data must be present exactly when the log was compacted.
    SnapshotMismatch {
        /// The log's snapshot index (0: nothing compacted).
        snapshot_index: Index,
        /// Whether snapshot data was saved.
        has_data: bool,
    },
    /// The log holds an entry of a term after the saved current term.
    EntryTermAhead {
        /// The last entry's term.
        entry_term: Term,
        /// The saved current term.
        term: Term,
    },
}

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreError::SnapshotMismatch { snapshot_index, has_data: true } => {
                write!(f, "snapshot data saved, but the log's snapshot index is {snapshot_index}")
            }
            RestoreError::SnapshotMismatch { snapshot_index, has_data: false } => {
                write!(f, "the log was compacted through index {snapshot_index}, but no snapshot data was saved")
            }
            RestoreError::EntryTermAhead { entry_term, term } => {
                write!(f, "the log holds an entry of term {entry_term}, after the saved term {term}")
            }
        }
    }
}

impl std::error::Error for RestoreError {}

/// One Raft server. Owns no threads, clocks, sockets or files: everything it
/// wants done is returned by [`Node::step`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Node<C, D> {
    pub(crate) id: NodeId,
    /// Latest term seen (persistent).
    pub(crate) term: Term,
    /// Vote granted in `term` (persistent).
    pub(crate) voted_for: Option<NodeId>,
    /// The log (persistent).
    pub(crate) log: Log<C>,
    /// The snapshot data through `log.snapshot_index()` (persistent).
    /// Invariant: `Some` exactly when `log.snapshot_index() > 0`.
    pub(crate) snapshot: Option<D>,
    /// Role and role-specific volatile state.
    pub(crate) role: Role,
    /// Highest index known to be committed.
    /// Invariant: `last_applied <= commit_index <= log.last_index()`.
    pub(crate) commit_index: Index,
    /// Highest index handed to the service (by command or snapshot).
    /// Invariant: `log.snapshot_index() <= last_applied`.
    pub(crate) last_applied: Index,
}

/// The outputs of one step, collected in order, and whether the persistent
/// state changed (then [`Output::Persist`] is put first).
pub(crate) struct Effects<C, D> {
    pub(crate) outputs: Vec<Output<C, D>>,
    pub(crate) persist: bool,
}

impl<C, D> Effects<C, D> {
    pub(crate) fn send(&mut self, to: NodeId, message: Message<C, D>) {
        self.outputs.push(Output::Send { to, message });
    }
}

impl<C: Command, D: SnapshotData> Node<C, D> {
    /// A fresh server that has never run: term 0, empty log, follower.
    pub fn new(id: NodeId) -> Self {
        Self::restart(id, PersistentState::default()).expect("the initial state is consistent")
    }

    /// A server restarted from what it had persisted: a follower whose
    /// commit and applied indices start at its snapshot (the service restores
    /// itself from the same snapshot). Refuses a persisted state the core
    /// could not have written: a snapshot present but nothing compacted (or
    /// the other way round), or a log entry of a term after the saved term.
    pub fn restart(id: NodeId, persisted: PersistentState<C, D>) -> Result<Self, RestoreError> {
        let start = persisted.log.snapshot_index();
        if persisted.snapshot.is_some() != (start > 0) {
            return Err(RestoreError::SnapshotMismatch {
                snapshot_index: start,
                has_data: persisted.snapshot.is_some(),
            });
        }
        if persisted.log.last_term() > persisted.term {
            return Err(RestoreError::EntryTermAhead { entry_term: persisted.log.last_term(), term: persisted.term });
        }
        Ok(Node {
            id,
            term: persisted.term,
            voted_for: persisted.voted_for,
            log: persisted.log,
            snapshot: persisted.snapshot,
            role: Role::Follower,
            commit_index: start,
            last_applied: start,
        })
    }

    /// What [`Output::Persist`] must write: the persistent part of the state.
    /// (Under mutant M1 the vote is left out.)
    pub fn persistent_state(&self, cfg: &Config) -> PersistentState<C, D> {
        let view = self.persistent_view(cfg);
        PersistentState {
            term: view.term,
            voted_for: view.voted_for,
            log: view.log.clone(),
            snapshot: view.snapshot.cloned(),
        }
    }

    /// The same as [`Node::persistent_state`], borrowed: a driver that
    /// serialises the state need not copy the log first.
    pub fn persistent_view(&self, cfg: &Config) -> PersistentView<'_, C, D> {
        PersistentView {
            term: self.term,
            voted_for: if cfg.has(Mutant::M1) { None } else { self.voted_for },
            log: &self.log,
            snapshot: self.snapshot.as_ref(),
        }
    }

    /// Handles one input and returns what the driver must do, in order.
    pub fn step(&mut self, cfg: &Config, input: Input<C, D>) -> Vec<Output<C, D>> {
        let mut fx = Effects { outputs: Vec::new(), persist: false };
        match input {
            Input::Receive { from, message } => self.receive(cfg, from, message, &mut fx),
            Input::ElectionTimeout => self.handle_election_timeout(cfg, &mut fx),
            Input::HeartbeatTimeout => self.handle_heartbeat_timeout(cfg, &mut fx),
            Input::Propose(command) => self.handle_propose(cfg, command, &mut fx),
            Input::Snapshot { index, data } => self.handle_service_snapshot(index, data, &mut fx),
        }
        if fx.persist {
            if cfg.has(Mutant::M2) {
                // M2: the new state is written only after everything else.
                fx.outputs.push(Output::Persist);
            } else {
                fx.outputs.insert(0, Output::Persist);
            }
        }
        if cfg.mutant.is_none() {
            debug_assert_eq!(self.check_invariants(cfg), Ok(()), "node {} after a step", self.id);
        }
        fx.outputs
    }

    fn receive(&mut self, cfg: &Config, from: NodeId, message: Message<C, D>, fx: &mut Effects<C, D>) {
        // Figure 2, all servers: a higher term in any message makes us adopt
        // it and become a follower.
        if message.term() > self.term {
            self.adopt_term(cfg, message.term(), fx);
        }
        match message {
            Message::RequestVote(request) => self.handle_request_vote(cfg, from, &request, fx),
            Message::RequestVoteReply(reply) => self.handle_request_vote_reply(cfg, from, &reply, fx),
            Message::AppendEntries(request) => self.handle_append_entries(cfg, from, &request, fx),
            Message::AppendEntriesReply(reply) => self.handle_append_entries_reply(cfg, from, &reply, fx),
            Message::InstallSnapshot(request) => self.handle_install_snapshot(cfg, from, &request, fx),
            Message::InstallSnapshotReply(reply) => self.handle_install_snapshot_reply(cfg, from, &reply, fx),
        }
    }

    /// Moves to a higher term: forget the vote, become a follower (M7: a
    /// leader or candidate keeps its role).
    fn adopt_term(&mut self, cfg: &Config, term: Term, fx: &mut Effects<C, D>) {
        self.term = term;
        self.voted_for = None;
        fx.persist = true;
        if !cfg.has(Mutant::M7) {
            self.role = Role::Follower;
        }
    }

    /// Becomes a follower in the current term (a candidate that hears from
    /// this term's leader).
    pub(crate) fn become_follower(&mut self) {
        self.role = Role::Follower;
    }

    /// Checks the per-node invariants written on the fields. Returns the
    /// first one broken. Cheap enough to run after every step in release
    /// builds: the model checker does, and reports a broken invariant as a
    /// counterexample.
    pub fn check_invariants(&self, cfg: &Config) -> Result<(), InvariantViolation> {
        self.first_broken_invariant(cfg).map_err(|what| InvariantViolation { node: self.id, what })
    }

    fn first_broken_invariant(&self, cfg: &Config) -> Result<(), String> {
        let snap = self.log.snapshot_index();
        if !(snap <= self.last_applied && self.last_applied <= self.commit_index) {
            return Err(format!(
                "snapshot {snap} <= applied {} <= commit {} broken",
                self.last_applied, self.commit_index
            ));
        }
        if self.commit_index > self.log.last_index() {
            return Err(format!("commit {} beyond last index {}", self.commit_index, self.log.last_index()));
        }
        if self.snapshot.is_some() != (snap > 0) {
            return Err(format!("snapshot data present = {} but snapshot index {snap}", self.snapshot.is_some()));
        }
        if self.log.last_term() > self.term {
            return Err(format!("log has term {} beyond current term {}", self.log.last_term(), self.term));
        }
        if self.log.retained().windows(2).any(|w| w[0].term > w[1].term) {
            return Err("log terms decrease".to_string());
        }
        match &self.role {
            Role::Follower => {}
            Role::Candidate { votes } => {
                if self.voted_for != Some(self.id) || votes & (1 << self.id) == 0 {
                    return Err("a candidate must vote for itself".to_string());
                }
            }
            Role::Leader { next_index, match_index } => {
                if match_index[self.id] != self.log.last_index() {
                    return Err(format!(
                        "leader's own match index {} is not its last index {}",
                        match_index[self.id],
                        self.log.last_index()
                    ));
                }
                for p in cfg.peers(self.id) {
                    if next_index[p] <= match_index[p] || match_index[p] > self.log.last_index() {
                        return Err(format!("leader's next/match for {p} out of order"));
                    }
                }
            }
        }
        Ok(())
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// The current term.
    pub fn term(&self) -> Term {
        self.term
    }
    /// The vote granted in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    /// The log.
    pub fn log(&self) -> &Log<C> {
        &self.log
    }
    /// The snapshot data, if the log was compacted.
    pub fn snapshot(&self) -> Option<&D> {
        self.snapshot.as_ref()
    }
    /// The role.
    pub fn role(&self) -> &Role {
        &self.role
    }
    /// Whether this node is a leader.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }
    /// The commit index.
    pub fn commit_index(&self) -> Index {
        self.commit_index
    }
    /// The highest index handed to the service.
    pub fn last_applied(&self) -> Index {
        self.last_applied
    }
}

/// Every field of a [`Node`], taken apart by [`Node::into_parts`] and put
/// back by [`Node::from_parts`]: for tools that transform a node's state as a
/// whole (the model checker renames servers for its symmetry reduction).
/// The fields mean what they mean on [`Node`]; [`Node::check_invariants`]
/// tells whether a rebuilt node is one the core could have reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeParts<C, D> {
    /// The server's id.
    pub id: NodeId,
    /// Latest term seen.
    pub term: Term,
    /// Vote granted in `term`.
    pub voted_for: Option<NodeId>,
    /// The log.
    pub log: Log<C>,
    /// The snapshot data through `log.snapshot_index()`.
    pub snapshot: Option<D>,
    /// Role and role-specific volatile state.
    pub role: Role,
    /// Highest index known to be committed.
    pub commit_index: Index,
    /// Highest index handed to the service.
    pub last_applied: Index,
}

impl<C, D> Node<C, D> {
    /// Takes the node apart (see [`NodeParts`]).
    pub fn into_parts(self) -> NodeParts<C, D> {
        let Node { id, term, voted_for, log, snapshot, role, commit_index, last_applied } = self;
        NodeParts { id, term, voted_for, log, snapshot, role, commit_index, last_applied }
    }

    /// Puts a node back together from its parts, as they are: the caller
    /// keeps the invariants, which [`Node::check_invariants`] checks.
    pub fn from_parts(parts: NodeParts<C, D>) -> Self {
        let NodeParts { id, term, voted_for, log, snapshot, role, commit_index, last_applied } = parts;
        Node { id, term, voted_for, log, snapshot, role, commit_index, last_applied }
    }
}
