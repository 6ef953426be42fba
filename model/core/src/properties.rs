//! The cluster-wide safety properties of Raft (§5.2-§5.4, Figure 3, §7),
//! the ghost history they need, and the reachability goals that show that a
//! scope does something. Pure functions: no checker, no model types.
//!
//! # How to call this (model checker and trace validator alike)
//!
//! A *cluster* is anything that implements [`ClusterView`]: a list of
//! servers, each running a [`Node`] or down. A plain `[Option<Node<C, D>>]`
//! (or a `Vec` of them) is one. The properties that depend on the past
//! (two leaders of one term, a commit index that went down, a committed
//! entry later lost) are recorded in a [`History`] as the cluster changes:
//!
//! ```
//! use raftcheck_core::properties::{History, Opaque, ServiceState, StepRecord};
//! use raftcheck_core::{Config, Input, Node};
//!
//! let cfg = Config::new(3).unwrap();
//! let mut nodes: Vec<Option<Node<Vec<u8>, Vec<u8>>>> = (0..3).map(|n| Some(Node::new(n))).collect();
//! let mut services = vec![ServiceState::default(); 3];
//! let mut history = History::default();
//! // For every step of node 0 (here: its election timer fires):
//! let before = nodes[0].clone().expect("running");
//! let outputs = nodes[0].as_mut().expect("running").step(&cfg, Input::ElectionTimeout);
//! let step = StepRecord { node: 0, before: &before, outputs: &outputs };
//! history.observe_step(&cfg, &nodes[..], step, &mut services[0], &Opaque);
//! assert_eq!(history.first_broken(), None);
//! ```
//!
//! Call [`History::observe_step`] after every step of a running node with
//! the outputs it returned (in order; the ones carried out, if it crashed
//! part-way), [`History::observe_crash`] when a node goes down and
//! [`History::observe_restart`] when it comes back. Then
//! [`History::first_broken`] names the first property broken so far (in
//! [`Safety::ALL`] order), and [`History::reached`] tells whether a
//! reachability goal was reached. Snapshot data is never interpreted unless
//! the caller says how, through [`SnapshotContents`]; with [`Opaque`], the
//! checks that need a compacted entry's command skip it.

use crate::io::Output;
use crate::node::{Config, Node};
use crate::types::{Command, Index, NodeId, SnapshotData, Term};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How the properties see a cluster: `size()` servers, each running a node
/// or down.
pub trait ClusterView<C, D> {
    /// The number of servers (ids `0..size()`).
    fn size(&self) -> usize;
    /// Server `n`'s node, or `None` while it is down.
    fn node(&self, n: NodeId) -> Option<&Node<C, D>>;
}

impl<C, D> ClusterView<C, D> for [Option<Node<C, D>>] {
    fn size(&self) -> usize {
        self.len()
    }
    fn node(&self, n: NodeId) -> Option<&Node<C, D>> {
        self[n].as_ref()
    }
}

/// What the properties may know of a snapshot's content: the commands at
/// indices `1..=k` of a snapshot through `k`, if the caller can tell.
pub trait SnapshotContents<C, D> {
    /// The commands `data` holds, in index order from index 1, if known.
    fn commands<'a>(&self, data: &'a D) -> Option<&'a [C]>;
}

/// Snapshot data is opaque (the runtime's bytes): checks that need a
/// compacted entry's command skip it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Opaque;

impl<C, D> SnapshotContents<C, D> for Opaque {
    fn commands<'a>(&self, _data: &'a D) -> Option<&'a [C]> {
        None
    }
}

/// The safety properties, in the order in which a state breaking several is
/// reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Safety {
    /// §5.2: at most one leader per term, over the whole history.
    ElectionSafety,
    /// §5.3: two logs with an entry of the same index and term are equal
    /// up to it.
    LogMatching,
    /// §5.4: a leader holds every entry committed in an earlier term.
    LeaderCompleteness,
    /// §5.4.3: no two nodes commit different commands at one index.
    StateMachineSafety,
    /// No two nodes apply different commands at one index.
    AppliedAgreement,
    /// A running node's commit and applied indices never go down.
    Monotonic,
    /// A node applies exactly the index after its last applied one (a
    /// snapshot only ever moves it forward).
    ApplyOrder,
    /// §7: a node's snapshot holds exactly what its service had applied
    /// through the snapshot's index.
    SnapshotMatchesApplied,
    /// The per-node invariants of [`Node::check_invariants`].
    NodeInvariants,
    /// The core returned from every step (a panic is a bug too).
    NoPanic,
    /// Every step the core takes is one the executable Raft spec
    /// (`raftcheck_traces::spec`, the one other implementations' traces
    /// are checked against) allows. The core cannot see the spec: the
    /// model checker checks each step and records a breach here.
    SpecRefinement,
}

impl Safety {
    /// Every property, in report order.
    pub const ALL: [Safety; 11] = [
        Safety::ElectionSafety,
        Safety::LogMatching,
        Safety::LeaderCompleteness,
        Safety::StateMachineSafety,
        Safety::AppliedAgreement,
        Safety::Monotonic,
        Safety::ApplyOrder,
        Safety::SnapshotMatchesApplied,
        Safety::NodeInvariants,
        Safety::NoPanic,
        Safety::SpecRefinement,
    ];

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Safety::ElectionSafety => "election safety",
            Safety::LogMatching => "log matching",
            Safety::LeaderCompleteness => "leader completeness",
            Safety::StateMachineSafety => "state machine safety",
            Safety::AppliedAgreement => "applied-log agreement",
            Safety::Monotonic => "monotonic commit and applied",
            Safety::ApplyOrder => "applies in index order",
            Safety::SnapshotMatchesApplied => "snapshot holds what was applied",
            Safety::NodeInvariants => "node invariants",
            Safety::NoPanic => "core never panics",
            Safety::SpecRefinement => "refines the Raft spec",
        }
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// How a safety property was broken: the property, the nodes involved, the
/// term or index where it shows (where there is one), and all of it in
/// words (`Display`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Breach {
    /// The property broken.
    pub property: Safety,
    /// The nodes involved (the one whose event broke the property first,
    /// where there are two).
    pub nodes: Vec<NodeId>,
    /// The term where it shows, if one.
    pub term: Option<Term>,
    /// The log index where it shows, if one.
    pub index: Option<Index>,
    /// What happened, in words.
    pub what: String,
}

impl Breach {
    /// `property` broken as `what` says.
    pub fn new(property: Safety, what: impl Into<String>) -> Self {
        Breach { property, nodes: Vec::new(), term: None, index: None, what: what.into() }
    }
    /// The same, naming the nodes involved.
    pub fn nodes(mut self, nodes: &[NodeId]) -> Self {
        self.nodes = nodes.to_vec();
        self
    }
    /// The same, naming the term.
    pub fn term(mut self, term: Term) -> Self {
        self.term = Some(term);
        self
    }
    /// The same, naming the index.
    pub fn index(mut self, index: Index) -> Self {
        self.index = Some(index);
        self
    }
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

/// Reachability goals: states a scope must be able to reach, so that a
/// scope (or a core) that does nothing cannot pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Goal {
    /// Some node became leader.
    LeaderElected,
    /// Every server is running and has committed an entry.
    CommittedOnAll,
    /// A leader whose term is later than an earlier leader's committed an
    /// entry of its own term.
    LaterTermLeaderCommitted,
    /// A follower truncated a conflicting suffix of its log.
    SuffixTruncated,
    /// Every value the scope proposes was committed.
    EveryValueCommitted,
    /// A node installed a snapshot sent by a leader.
    SnapshotInstalled,
    /// A restarted node applied everything committed so far.
    RestartedCaughtUp,
    /// A node became leader after some node had crashed.
    LeaderAfterCrash,
}

impl Goal {
    /// Every goal, in report order.
    pub const ALL: [Goal; 8] = [
        Goal::LeaderElected,
        Goal::CommittedOnAll,
        Goal::LaterTermLeaderCommitted,
        Goal::SuffixTruncated,
        Goal::EveryValueCommitted,
        Goal::SnapshotInstalled,
        Goal::RestartedCaughtUp,
        Goal::LeaderAfterCrash,
    ];

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Goal::LeaderElected => "leader elected",
            Goal::CommittedOnAll => "entry committed on all nodes",
            Goal::LaterTermLeaderCommitted => "later-term leader commits",
            Goal::SuffixTruncated => "conflicting suffix truncated",
            Goal::EveryValueCommitted => "every value committed",
            Goal::SnapshotInstalled => "snapshot installed by InstallSnapshot",
            Goal::RestartedCaughtUp => "restarted node caught up",
            Goal::LeaderAfterCrash => "leader elected after a crash",
        }
    }
}

/// One step of a node, as [`History::observe_step`] needs it.
#[derive(Clone, Copy, Debug)]
pub struct StepRecord<'a, C, D> {
    /// The node that stepped.
    pub node: NodeId,
    /// The node as it was before the step.
    pub before: &'a Node<C, D>,
    /// The outputs of the step that were carried out, in order (all of
    /// them, unless the node crashed part-way).
    pub outputs: &'a [Output<C, D>],
}

/// Events recorded in [`History::events`].
const SNAPSHOT_INSTALLED: u8 = 1;
const SUFFIX_TRUNCATED: u8 = 2;
const LEADER_AFTER_CRASH: u8 = 4;
const CRASHED: u8 = 8;

/// What a node's service has applied, rebuilt from the node's
/// [`Output::ApplyCommand`] and [`Output::ApplySnapshot`] outputs (not from
/// its log). Volatile: a restarted service starts from the node's snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServiceState<C> {
    /// The index the known commands start after (0 unless an opaque
    /// snapshot was installed).
    pub base: Index,
    /// The commands applied at `base + 1 ..= applied()`.
    pub commands: Vec<C>,
}

impl<C> Default for ServiceState<C> {
    fn default() -> Self {
        ServiceState { base: 0, commands: Vec::new() }
    }
}

impl<C: Command> ServiceState<C> {
    /// A service restored from a snapshot through `index` (`data`, read
    /// through `contents`), or empty without one.
    pub fn restored<D>(index: Index, data: Option<&D>, contents: &impl SnapshotContents<C, D>) -> Self {
        match data.and_then(|d| contents.commands(d)) {
            Some(commands) => ServiceState { base: 0, commands: commands.to_vec() },
            None => ServiceState { base: index, commands: Vec::new() },
        }
    }

    /// The index of the last command applied.
    pub fn applied(&self) -> Index {
        self.base + self.commands.len() as Index
    }

    /// The commands applied through `index`, if all of them are known.
    pub fn prefix(&self, index: Index) -> Option<&[C]> {
        (self.base == 0 && index <= self.applied()).then(|| &self.commands[..index as usize])
    }
}

/// The history-dependent facts that no single state shows. Each is set by
/// the step that broke (or witnessed) it and never cleared.
///
/// The three sequences are shared between copies of a history and copied
/// only when a step extends one (`Arc::make_mut`): most steps extend none,
/// so a model checker that copies the history into every successor state
/// copies three pointers, not three vectors. Equality, hashing and the
/// serialised form are those of the sequences themselves.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct History<C> {
    /// `leaders[t]`: the node seen as leader in term `t`, if any.
    pub leaders: Arc<Vec<Option<NodeId>>>,
    /// The longest committed prefix any node has had, by index: each
    /// command with the term of the node that first reported it committed
    /// (at or after the term in which it was really committed).
    pub committed: Arc<Vec<(C, Term)>>,
    /// The longest applied sequence any node has had (commands by index).
    pub applied: Arc<Vec<C>>,
    /// Bit `p as u16`: safety property `p` was broken.
    pub broken: u16,
    /// How the first broken property was broken: the nodes, the term or
    /// index where it shows, in words.
    pub detail: Option<Arc<Breach>>,
    /// Bit `n`: node `n` has restarted at least once.
    pub restarted: u64,
    /// Events witnessed (snapshot installed, suffix truncated, ...).
    pub events: u8,
}

impl<C> Default for History<C> {
    fn default() -> Self {
        History {
            leaders: Arc::default(),
            committed: Arc::default(),
            applied: Arc::default(),
            broken: 0,
            detail: None,
            restarted: 0,
            events: 0,
        }
    }
}

impl<C: Command> History<C> {
    /// The first safety property broken so far, in [`Safety::ALL`] order.
    pub fn first_broken(&self) -> Option<Safety> {
        Safety::ALL.into_iter().find(|p| !self.holds(*p))
    }

    /// Whether `property` has held so far.
    pub fn holds(&self, property: Safety) -> bool {
        self.broken & property.bit() == 0
    }

    /// Records a broken property. The breach kept is that of the property
    /// [`History::first_broken`] names (the first in [`Safety::ALL`] order;
    /// of two breaches of it, the earlier).
    pub fn record_broken(&mut self, breach: Breach) {
        self.broken |= breach.property.bit();
        if self.detail.as_ref().is_none_or(|kept| breach.property < kept.property) {
            self.detail = Some(Arc::new(breach));
        }
    }

    /// Records one step of a running node: `cluster` holds the node as it
    /// is now, `step` says which node it was, how it was before and which
    /// outputs were carried out, and `service` is that node's service state
    /// (brought up to date here from the Apply outputs).
    pub fn observe_step<D: SnapshotData>(
        &mut self,
        cfg: &Config,
        cluster: &(impl ClusterView<C, D> + ?Sized),
        step: StepRecord<'_, C, D>,
        service: &mut ServiceState<C>,
        contents: &impl SnapshotContents<C, D>,
    ) {
        let StepRecord { node: n, before, outputs } = step;
        let Some(node) = cluster.node(n) else { return };
        for output in outputs {
            self.observe_output(n, output, service, contents);
        }
        if node.commit_index() < before.commit_index() || node.last_applied() < before.last_applied() {
            let what = format!(
                "node {n}'s commit/applied went from {}/{} to {}/{}",
                before.commit_index(),
                before.last_applied(),
                node.commit_index(),
                node.last_applied()
            );
            self.record_broken(Breach::new(Safety::Monotonic, what).nodes(&[n]).index(node.commit_index()));
        }
        if truncated(before, node) {
            self.events |= SUFFIX_TRUNCATED;
        }
        if node.is_leader() && !before.is_leader() && self.events & CRASHED != 0 {
            self.events |= LEADER_AFTER_CRASH;
        }
        if let Some(snapshot) = node.snapshot().and_then(|d| contents.commands(d)) {
            let index = node.log().snapshot_index();
            if service.prefix(index).is_some_and(|applied| applied != snapshot) || snapshot.len() as Index != index {
                let what = format!("node {n}'s snapshot through index {index} differs from what its service applied");
                self.record_broken(Breach::new(Safety::SnapshotMatchesApplied, what).nodes(&[n]).index(index));
            }
        }
        if let Err(broken) = node.check_invariants(cfg) {
            self.record_broken(Breach::new(Safety::NodeInvariants, broken.to_string()).nodes(&[n]));
        }
        self.observe_node(cluster, n, contents);
    }

    /// Records that a node crashed (its service state is lost with it).
    pub fn observe_crash(&mut self, _n: NodeId) {
        self.events |= CRASHED;
    }

    /// Records that node `n` (now running in `cluster`) restarted from what
    /// it had persisted: its log meets the others again.
    pub fn observe_restart<D: SnapshotData>(
        &mut self,
        cluster: &(impl ClusterView<C, D> + ?Sized),
        n: NodeId,
        contents: &impl SnapshotContents<C, D>,
    ) {
        self.restarted |= 1 << n;
        self.observe_node(cluster, n, contents);
    }

    /// Records that the core panicked while stepping a node.
    pub fn observe_panic(&mut self, n: NodeId, message: &str) {
        self.record_broken(Breach::new(Safety::NoPanic, format!("node {n} panicked: {message}")).nodes(&[n]));
    }

    /// One output's effect on the service and on the applied history.
    fn observe_output<D>(
        &mut self,
        n: NodeId,
        output: &Output<C, D>,
        service: &mut ServiceState<C>,
        contents: &impl SnapshotContents<C, D>,
    ) {
        match output {
            Output::ApplyCommand { index, command, .. } => {
                if *index != service.applied() + 1 {
                    let what = format!("node {n} applied index {index} after {}", service.applied());
                    self.record_broken(Breach::new(Safety::ApplyOrder, what).nodes(&[n]).index(*index));
                }
                self.record_applied(n, *index, std::slice::from_ref(command));
                if *index == service.applied() + 1 {
                    service.commands.push(command.clone());
                }
            }
            Output::ApplySnapshot { index, data, .. } => {
                if *index <= service.applied() {
                    let what = format!("node {n} applied a snapshot through {index} after {}", service.applied());
                    self.record_broken(Breach::new(Safety::ApplyOrder, what).nodes(&[n]).index(*index));
                }
                self.events |= SNAPSHOT_INSTALLED;
                *service = ServiceState::restored(*index, Some(data), contents);
                if let Some(commands) = contents.commands(data) {
                    self.record_applied(n, 1, commands);
                }
            }
            _ => {}
        }
    }

    /// Commands `commands` were applied at indices `first..`: each must
    /// agree with what any node applied there before.
    fn record_applied(&mut self, n: NodeId, first: Index, commands: &[C]) {
        for (k, command) in commands.iter().enumerate() {
            let index = first as usize + k;
            match self.applied.get(index - 1) {
                Some(seen) if seen != command => {
                    let what =
                        format!("node {n} applied at index {index} a command other than the one applied there before");
                    self.record_broken(Breach::new(Safety::AppliedAgreement, what).nodes(&[n]).index(index as Index))
                }
                Some(_) => {}
                None if index == self.applied.len() + 1 => Arc::make_mut(&mut self.applied).push(command.clone()),
                None => {}
            }
        }
    }

    /// The properties that compare node `n` (which just changed) with the
    /// history and with the other nodes.
    fn observe_node<D: SnapshotData>(
        &mut self,
        cluster: &(impl ClusterView<C, D> + ?Sized),
        n: NodeId,
        contents: &impl SnapshotContents<C, D>,
    ) {
        let Some(node) = cluster.node(n) else { return };
        // Election Safety (§5.2): at most one leader per term, over all time.
        if node.is_leader() {
            let term = node.term() as usize;
            // Written only when new: a write copies the shared sequence.
            match self.leaders.get(term).copied().flatten() {
                Some(other) if other != n => {
                    let what = format!("nodes {other} and {n} both led term {term}");
                    self.record_broken(Breach::new(Safety::ElectionSafety, what).nodes(&[other, n]).term(term as Term))
                }
                Some(_) => {}
                None => {
                    let leaders = Arc::make_mut(&mut self.leaders);
                    if leaders.len() <= term {
                        leaders.resize(term + 1, None);
                    }
                    leaders[term] = Some(n);
                }
            }
        }
        // Log Matching (§5.3): only the stepped node's log changed.
        let mismatch = (0..cluster.size())
            .filter(|&m| m != n)
            .find(|&m| cluster.node(m).is_some_and(|other| !logs_match(node, other, contents)));
        if let Some(m) = mismatch {
            let what = format!("nodes {n} and {m} hold an entry of the same index and term but differ before it");
            self.record_broken(Breach::new(Safety::LogMatching, what).nodes(&[n, m]));
        }
        // State Machine Safety (§5.4.3): committed prefixes never disagree.
        // (Compacted commands the caller cannot read are skipped: starting
        // after them saves a scan of the whole history per step.)
        for index in opaque_through(node, contents) + 1..=node.commit_index() {
            let Some(command) = command_at(node, contents, index) else { continue };
            match self.committed.get(index as usize - 1) {
                Some((seen, _)) if seen != command => {
                    let what = format!(
                        "node {n} committed at index {index} a command other than the one committed there before"
                    );
                    self.record_broken(Breach::new(Safety::StateMachineSafety, what).nodes(&[n]).index(index))
                }
                Some(_) => {}
                None if index as usize == self.committed.len() + 1 => {
                    Arc::make_mut(&mut self.committed).push((command.clone(), node.term()))
                }
                None => {}
            }
        }
        // Leader Completeness (§5.4): every leader holds every entry
        // committed before its term.
        let incomplete = (0..cluster.size()).find_map(|m| {
            let leader = cluster.node(m).filter(|l| l.is_leader())?;
            missing_committed(leader, &self.committed, contents).map(|index| (m, leader.term(), index))
        });
        if let Some((l, term, index)) = incomplete {
            let what =
                format!("leader {l} of term {term} lacks the entry at index {index}, committed in an earlier term");
            self.record_broken(Breach::new(Safety::LeaderCompleteness, what).nodes(&[l]).term(term).index(index));
        }
    }

    /// Whether `goal` has been reached in `cluster` with this history.
    /// `values` is how many values the scope proposes in all.
    pub fn reached<D: SnapshotData>(
        &self,
        goal: Goal,
        cluster: &(impl ClusterView<C, D> + ?Sized),
        values: usize,
    ) -> bool {
        let running = || (0..cluster.size()).filter_map(|n| cluster.node(n).map(|node| (n, node)));
        match goal {
            Goal::LeaderElected => self.leaders.iter().any(Option::is_some),
            Goal::CommittedOnAll => (0..cluster.size()).all(|n| cluster.node(n).is_some_and(|x| x.commit_index() >= 1)),
            Goal::LaterTermLeaderCommitted => running().any(|(_, l)| {
                let term = l.term();
                l.is_leader()
                    && l.commit_index() >= 1
                    && l.log().term_at(l.commit_index()) == Some(term)
                    && self.leaders.iter().take(term as usize).any(Option::is_some)
            }),
            Goal::SuffixTruncated => self.events & SUFFIX_TRUNCATED != 0,
            Goal::EveryValueCommitted => values > 0 && self.committed.len() >= values,
            Goal::SnapshotInstalled => self.events & SNAPSHOT_INSTALLED != 0,
            Goal::RestartedCaughtUp => {
                let goal = self.committed.len() as Index;
                goal >= 1 && running().any(|(n, node)| self.restarted & (1 << n) != 0 && node.last_applied() == goal)
            }
            Goal::LeaderAfterCrash => self.events & LEADER_AFTER_CRASH != 0,
        }
    }
}

/// The command at `index` (from 1) of `node`'s whole log: a retained entry,
/// or from its snapshot if `contents` can tell; `None` if unknown.
pub fn command_at<'a, C: Command, D: SnapshotData>(
    node: &'a Node<C, D>,
    contents: &impl SnapshotContents<C, D>,
    index: Index,
) -> Option<&'a C> {
    let log = node.log();
    if index > log.snapshot_index() {
        return log.entry(index).map(|e| &e.command);
    }
    node.snapshot().and_then(|d| contents.commands(d)).and_then(|cs| cs.get(index as usize - 1))
}

/// Log Matching (§5.3) for two logs: if they have an entry with the same
/// index and term, they hold the same commands up through that index (as
/// far as those are known). It suffices to compare up to the highest such
/// index.
pub fn logs_match<C: Command, D: SnapshotData>(
    a: &Node<C, D>,
    b: &Node<C, D>,
    contents: &impl SnapshotContents<C, D>,
) -> bool {
    let top = a.log().last_index().min(b.log().last_index());
    let same_term = |k: Index| matches!((a.log().term_at(k), b.log().term_at(k)), (Some(x), Some(y)) if x == y);
    // Where either command is unreadable the pair counts as matching:
    // start after both unreadable prefixes.
    let known = opaque_through(a, contents).max(opaque_through(b, contents)) + 1;
    match (1..=top).rev().find(|&k| same_term(k)) {
        Some(k) => (known..=k).all(|i| match (command_at(a, contents, i), command_at(b, contents, i)) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }),
        None => true,
    }
}

/// The first index committed before leader `node`'s term whose entry the
/// leader lacks, if any (none: it holds them all).
fn missing_committed<C: Command, D: SnapshotData>(
    node: &Node<C, D>,
    committed: &[(C, Term)],
    contents: &impl SnapshotContents<C, D>,
) -> Option<Index> {
    // An unreadable compacted prefix holds whatever was committed there.
    let skip = (opaque_through(node, contents) as usize).min(committed.len());
    committed.iter().enumerate().skip(skip).find_map(|(k, (command, term))| {
        let index = k as Index + 1;
        let holds = *term >= node.term()
            || index <= node.log().last_index() && command_at(node, contents, index).is_none_or(|mine| mine == command);
        (!holds).then_some(index)
    })
}

/// The last index whose command [`command_at`] cannot read: the node's
/// snapshot index if the caller cannot read its snapshot, else 0.
fn opaque_through<C: Command, D: SnapshotData>(node: &Node<C, D>, contents: &impl SnapshotContents<C, D>) -> Index {
    match node.snapshot() {
        Some(data) if contents.commands(data).is_none() => node.log().snapshot_index(),
        _ => 0,
    }
}

/// Whether a step from `before` to `after` removed or replaced a log entry
/// that was not compacted (a conflicting suffix truncated).
fn truncated<C: Command, D: SnapshotData>(before: &Node<C, D>, after: &Node<C, D>) -> bool {
    let (b, a) = (before.log(), after.log());
    let from = a.snapshot_index().max(b.snapshot_index()) + 1;
    (from..=b.last_index()).any(|i| match (b.term_at(i), a.term_at(i)) {
        (Some(x), Some(y)) => x != y,
        (Some(_), None) => a.snapshot_index() < i,
        _ => false,
    })
}
