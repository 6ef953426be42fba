//! The stateright model: a bounded cluster of [`crate::Node`]s driven by a
//! nondeterministic environment (timers, clients, network, crashes).

use crate::core::io::{Input, Output};
use crate::core::node::{Config, Node, Role};
use crate::core::types::NodeId;
use crate::explore::bounds::{Bounds, NetworkKind};
use crate::explore::describe;
use crate::explore::state::{applied_values, ClusterState, Envelope, Ghost, ModelNode, Server};
use crate::properties;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

/// One thing the environment can do next.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Deliver in-flight message `k` (an index into the sorted network).
    Deliver(usize),
    /// Deliver in-flight message `k` and keep a copy in flight (duplication).
    Duplicate(usize),
    /// Lose in-flight message `k`.
    Drop(usize),
    /// Node `n`'s election timer fires.
    ElectionTimeout(NodeId),
    /// Leader `n`'s heartbeat timer fires.
    HeartbeatTimeout(NodeId),
    /// A client proposes the next value to leader `n`.
    Propose(NodeId),
    /// Node `n`'s service snapshots everything it has applied.
    Snapshot(NodeId),
    /// Node `n` crashes, losing its volatile state.
    Crash(NodeId),
    /// Node `n` restarts from what it persisted.
    Restart(NodeId),
}

/// The Raft cluster model over the pure core.
#[derive(Clone, Debug)]
pub struct RaftModel {
    /// The scope explored.
    pub bounds: Bounds,
    /// The core configuration every node runs with.
    pub config: Config,
    /// Set by the runner to end the exploration: from then on no state has
    /// successors, so every checker thread drains its stack and stops.
    /// (stateright's own timeout is only checked between work batches.)
    pub stop: Arc<AtomicBool>,
    /// Bit `k`: safety property `k` already has its counterexample (see
    /// `properties::first_violation`).
    pub reported: Arc<AtomicU32>,
}

impl RaftModel {
    /// A model of `bounds` (which the caller has validated).
    pub fn new(bounds: Bounds) -> Self {
        let config = bounds.core_config();
        RaftModel { bounds, config, stop: Arc::new(AtomicBool::new(false)), reported: Arc::new(AtomicU32::new(0)) }
    }

    /// The single initial state: every server fresh, nothing in flight.
    pub fn initial_state(&self) -> ClusterState {
        let servers = (0..self.bounds.servers)
            .map(|n| Arc::new(Server { node: Some(Node::new(n)), persisted: Default::default() }))
            .collect();
        let ghost = Ghost { leaders: vec![None; self.bounds.max_term as usize + 1], ..Ghost::default() };
        let pinned = self.bounds.election_order.iter().flatten().fold(0u8, |acc, &n| acc | 1 << n);
        ClusterState {
            servers,
            network: Vec::new(),
            proposed: 0,
            elections: 0,
            heartbeats: 0,
            crashes: 0,
            snapshots: 0,
            ghost,
            pinned,
        }
    }

    /// Every action enabled in `state`, in a deterministic order.
    pub fn enabled_actions(&self, state: &ClusterState, actions: &mut Vec<Action>) {
        let b = &self.bounds;
        // A state that broke a safety property ends its path: the
        // counterexample is found, and nothing after it is interesting.
        if self.stop.load(Ordering::Relaxed) || state.ghost.violated() {
            return;
        }
        for (k, (envelope, _)) in state.network.iter().enumerate() {
            if state.node(envelope.to).is_some() {
                actions.push(Action::Deliver(k));
                if b.network == NetworkKind::Duplicating {
                    actions.push(Action::Duplicate(k));
                }
            }
            if b.network != NetworkKind::Reordering {
                actions.push(Action::Drop(k));
            }
        }
        for n in 0..b.servers {
            let Some(node) = state.node(n) else {
                actions.push(Action::Restart(n));
                continue;
            };
            let elections_left = b.max_elections.is_none_or(|e| state.elections < e);
            let my_turn = b.election_order.as_ref().is_none_or(|order| order.get(node.term() as usize) == Some(&n));
            if !node.is_leader() && node.term() < b.max_term && elections_left && my_turn {
                actions.push(Action::ElectionTimeout(n));
            }
            let heartbeats_left = b.max_heartbeats.is_none_or(|h| state.heartbeats < h);
            if b.heartbeats && heartbeats_left && self.heartbeat_useful(state, node) {
                actions.push(Action::HeartbeatTimeout(n));
            }
            let fresh_term = !b.one_value_per_term || node.log().last_term() != node.term();
            if node.is_leader() && state.proposed < b.values && fresh_term {
                actions.push(Action::Propose(n));
            }
            if state.snapshots < b.snapshots && node.last_applied() > node.log().snapshot_index() {
                actions.push(Action::Snapshot(n));
            }
            if state.crashes < b.crashes {
                actions.push(Action::Crash(n));
            }
        }
    }

    /// A heartbeat is explored only if some running peer lags the leader (its
    /// log, its commit index, its term, or it is not a follower) and nothing
    /// is in flight to it.
    fn heartbeat_useful(&self, state: &ClusterState, leader: &ModelNode) -> bool {
        let Role::Leader { match_index, .. } = leader.role() else { return false };
        self.config.peers(leader.id()).any(|p| {
            let lagging = match state.node(p) {
                Some(f) => {
                    match_index[p] < leader.log().last_index()
                        || f.commit_index() < leader.commit_index()
                        || f.term() != leader.term()
                        || !matches!(f.role(), Role::Follower)
                }
                None => false,
            };
            lagging && state.in_flight(leader.id(), p) == 0
        })
    }

    /// The state after `action`, or `None` if the action changes nothing.
    pub fn successor(&self, last: &ClusterState, action: &Action) -> Option<ClusterState> {
        let mut state = last.clone();
        match *action {
            Action::Deliver(k) | Action::Duplicate(k) => {
                let envelope = if matches!(action, Action::Duplicate(_)) {
                    state.network[k].0.clone()
                } else {
                    state.remove_one(k)
                };
                let input = Input::Receive { from: envelope.from, message: envelope.message };
                self.step_node(&mut state, envelope.to, input);
            }
            Action::Drop(k) => {
                state.remove_one(k);
            }
            Action::ElectionTimeout(n) => {
                // Counted only when bounded: an unused counter would split states.
                if self.bounds.max_elections.is_some() {
                    state.elections += 1;
                }
                self.step_node(&mut state, n, Input::ElectionTimeout)
            }
            Action::HeartbeatTimeout(n) => {
                if self.bounds.max_heartbeats.is_some() {
                    state.heartbeats += 1;
                }
                self.step_node(&mut state, n, Input::HeartbeatTimeout)
            }
            Action::Propose(n) => {
                state.proposed += 1;
                let value = state.proposed;
                self.step_node(&mut state, n, Input::Propose(value));
            }
            Action::Snapshot(n) => {
                let node = state.node(n)?;
                let (index, data) = (node.last_applied(), applied_values(node));
                state.snapshots += 1;
                self.step_node(&mut state, n, Input::Snapshot { index, data });
            }
            Action::Crash(n) => {
                Arc::make_mut(&mut state.servers[n]).node = None;
                state.crashes += 1;
            }
            Action::Restart(n) => {
                let server = Arc::make_mut(&mut state.servers[n]);
                server.node = Some(Node::restart(n, server.persisted.clone()));
                state.ghost.restarted |= 1 << n;
                // The restarted node's persisted log meets the others again.
                properties::record_step(&mut state, n);
            }
        }
        if state.crashes >= self.bounds.crashes {
            forget_unneeded_persisted(&mut state);
        }
        Some(state)
    }

    /// Steps node `n` with `input`, carries out its outputs, and updates the
    /// ghost history with what the step did.
    fn step_node(&self, state: &mut ClusterState, n: NodeId, input: Input<u8, Vec<u8>>) {
        let server = Arc::make_mut(&mut state.servers[n]);
        let Some(node) = server.node.as_mut() else { return };
        let before = (node.commit_index(), node.last_applied());
        let outputs = node.step(&self.config, input);
        let after = (node.commit_index(), node.last_applied());
        let mut sends = Vec::new();
        for output in outputs {
            match output {
                Output::Persist => server.persisted = node.persistent_state(&self.config),
                Output::Send { to, message } => sends.push(Envelope { from: n, to, message }),
                Output::ApplyCommand { index, command, .. } => {
                    properties::record_applied(&mut state.ghost, index, &[command])
                }
                Output::ApplySnapshot { data, .. } => {
                    properties::record_applied(&mut state.ghost, 1, &data);
                    state.ghost.snapshot_installed = true;
                }
                Output::ResetElectionTimer | Output::Proposed { .. } | Output::NotLeader => {}
            }
        }
        if after.0 < before.0 || after.1 < before.1 {
            state.ghost.went_backwards = true;
        }
        state.send_all(sends, self.bounds.max_in_flight, self.bounds.max_messages);
        properties::record_step(state, n);
    }
}

/// Clears what running servers persisted once no crash is left: they can
/// never restart, so it cannot matter, and states that differ only there
/// merge.
fn forget_unneeded_persisted(state: &mut ClusterState) {
    for server in &mut state.servers {
        if server.node.is_some() && server.persisted != Default::default() {
            Arc::make_mut(server).persisted = Default::default();
        }
    }
}

impl stateright::Model for RaftModel {
    type State = ClusterState;
    type Action = Action;

    fn init_states(&self) -> Vec<ClusterState> {
        vec![self.initial_state()]
    }

    fn actions(&self, state: &ClusterState, actions: &mut Vec<Action>) {
        self.enabled_actions(state, actions)
    }

    fn next_state(&self, last: &ClusterState, action: Action) -> Option<ClusterState> {
        self.successor(last, &action)
    }

    fn properties(&self) -> Vec<stateright::Property<Self>> {
        properties::stateright_properties(&self.bounds)
    }

    fn format_action(&self, action: &Action) -> String {
        format!("{action:?}")
    }

    /// What the step does and the cluster after it (the Explorer shows it).
    fn format_step(&self, last: &ClusterState, action: Action) -> Option<String> {
        let next = self.successor(last, &action)?;
        let mut lines = vec![describe::action(last, &action)];
        lines.extend(describe::cluster(&next));
        Some(lines.join("\n"))
    }
}
