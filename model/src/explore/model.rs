//! The model: a bounded cluster of [`crate::Node`]s driven by a
//! nondeterministic environment (timers, clients, services, network,
//! crashes). Which actions are enabled, and what each does.

use crate::explore::action::{Action, Step};
use crate::explore::bounds::{Bounds, Heartbeats, NetworkKind};
use crate::explore::output_groups::group_ends;
use crate::explore::refinement;
use crate::explore::search::fingerprint;
use crate::explore::state::{
    Applied, AppliedValues, ClusterState, Envelope, ModelNode, Server, ServersView, SharedMessage, SharedServer, Value,
};
use raftcheck_core::io::{Input, Output};
use raftcheck_core::node::{Config, Node, Role};
use raftcheck_core::panic_guard::guarded;
use raftcheck_core::properties::{Breach, History, Safety, ServiceState, StepRecord};
use raftcheck_core::types::{Index, NodeId};

/// An input of a model node.
type ModelInput = Input<Value, Applied>;

/// The Raft cluster model over the pure core.
#[derive(Clone, Debug)]
pub struct RaftModel {
    /// The scope explored.
    pub bounds: Bounds,
    /// The core configuration every node runs with.
    pub config: Config,
}

impl RaftModel {
    /// A model of `bounds` (which the caller has validated).
    pub fn new(bounds: Bounds) -> Self {
        let config = bounds.core_config();
        RaftModel { bounds, config }
    }

    /// The single initial state: every server fresh, nothing in flight.
    pub fn initial_state(&self) -> ClusterState {
        let servers = (0..self.bounds.servers)
            .map(|n| {
                SharedServer::new(Server {
                    node: Some(Node::new(n)),
                    persisted: Default::default(),
                    service: Default::default(),
                })
            })
            .collect();
        let pinned = self.bounds.election_order.iter().flatten().fold(0u8, |acc, &n| acc | 1 << n);
        ClusterState {
            servers,
            network: Vec::new(),
            proposed: 0,
            elections: 0,
            heartbeats: 0,
            crashes: 0,
            snapshots: 0,
            history: History::default(),
            pinned,
        }
    }

    /// Every action enabled in `state`, in a deterministic order.
    pub fn enabled_actions(&self, state: &ClusterState, actions: &mut Vec<Action>) {
        let b = &self.bounds;
        // A state that broke a safety property ends its path: the
        // counterexample is found, and nothing after it is interesting.
        if state.history.broken != 0 {
            return;
        }
        let mut steps = Vec::new();
        for (k, (envelope, _)) in state.network.iter().enumerate() {
            if state.servers[envelope.to].node.is_some() {
                steps.push(Step::Deliver(k));
                if b.network == NetworkKind::Duplicating {
                    steps.push(Step::Duplicate(k));
                }
            }
        }
        for n in 0..b.servers {
            let Some(node) = state.servers[n].node.as_ref() else { continue };
            let elections_left = b.max_elections.is_none_or(|e| state.elections < e);
            let my_turn = b.election_order.as_ref().is_none_or(|order| order.get(node.term() as usize) == Some(&n));
            if !node.is_leader() && node.term() < b.max_term && elections_left && my_turn {
                steps.push(Step::ElectionTimeout(n));
            }
            let heartbeats_left = b.max_heartbeats.is_none_or(|h| state.heartbeats < h);
            let heartbeat = match b.heartbeats {
                Heartbeats::Off => false,
                Heartbeats::WhileLagging => self.heartbeat_useful(state, node),
                Heartbeats::Always => node.is_leader(),
            };
            if heartbeat && heartbeats_left {
                steps.push(Step::HeartbeatTimeout(n));
            }
            let fresh_term = !b.one_value_per_term || node.log().last_term() != node.term();
            if node.is_leader() && state.proposed < b.values && fresh_term {
                steps.push(Step::Propose(n));
            }
            if state.snapshots < b.snapshots && state.servers[n].service.applied() > node.log().snapshot_index() {
                steps.push(Step::Snapshot(n));
            }
        }
        let crash_left = state.crashes < b.crashes;
        for step in steps {
            actions.push(Action::Step(step));
            if crash_left && b.crash_mid_step {
                for groups in 1..self.output_groups(state, step) {
                    actions.push(Action::CrashDuring(step, groups as u8));
                }
            }
        }
        if b.network != NetworkKind::Reordering {
            actions.extend((0..state.network.len()).map(Action::Drop));
        }
        for n in 0..b.servers {
            if state.servers[n].node.is_none() {
                actions.push(Action::Restart(n));
            } else if crash_left {
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
            let lagging = match state.servers[p].node.as_ref() {
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

    /// The node `step` steps and the input it gets.
    pub fn input(&self, state: &ClusterState, step: Step) -> (NodeId, ModelInput) {
        match step {
            Step::Deliver(k) | Step::Duplicate(k) => {
                let envelope = &state.network[k].0;
                (envelope.to, Input::Receive { from: envelope.from, message: (*envelope.message).clone() })
            }
            Step::ElectionTimeout(n) => (n, Input::ElectionTimeout),
            Step::HeartbeatTimeout(n) => (n, Input::HeartbeatTimeout),
            Step::Propose(n) => (n, Input::Propose(state.proposed + 1)),
            Step::Snapshot(n) => {
                let service = &state.servers[n].service;
                (n, Input::Snapshot { index: service.applied(), data: service.commands.clone() })
            }
        }
    }

    /// How many groups of outputs `step` produces (see [`output_groups`]):
    /// a crash may fall after each but the last.
    fn output_groups(&self, state: &ClusterState, step: Step) -> usize {
        let (n, input) = self.input(state, step);
        let Some(mut node) = state.servers[n].node.clone() else { return 0 };
        guarded(|| node.step(&self.config, input)).map_or(0, |outputs| group_ends(&outputs).len())
    }

    /// The state after `action`, or `None` if the action changes nothing.
    pub fn successor(&self, last: &ClusterState, action: &Action) -> Option<ClusterState> {
        self.successor_noting(last, action, None)
    }

    /// [`RaftModel::successor`], and for a delivery (a whole step on a
    /// message, duplicated or not) or a loss what a search needs to tell
    /// whether it commutes with another (see `commuting.rs`).
    pub fn successor_with_delivery(
        &self,
        last: &ClusterState,
        action: &Action,
    ) -> Option<(ClusterState, Option<Delivery>)> {
        let mut delivery = None;
        let next = self.successor_noting(last, action, Some(&mut delivery))?;
        if let Some(delivery) = delivery.as_mut() {
            delivery.broken = next.history.broken != 0;
        }
        Some((next, delivery))
    }

    /// The successor; `delivery`, if given, is filled in if `action` is a
    /// delivery or a loss.
    fn successor_noting(
        &self,
        last: &ClusterState,
        action: &Action,
        noted: Option<&mut Option<Delivery>>,
    ) -> Option<ClusterState> {
        let mut unused = None;
        let delivery = match noted {
            Some(delivery) => {
                *delivery = Handling::of(action).map(|(k, handling)| Delivery::of(&last.network[k].0, handling));
                delivery
            }
            None => &mut unused,
        };
        let mut state = last.clone();
        match *action {
            Action::Step(step) => self.take_step(&mut state, step, None, delivery),
            Action::CrashDuring(step, groups) => self.take_step(&mut state, step, Some(groups as usize), delivery),
            Action::Drop(k) => {
                state.remove_one(k);
            }
            Action::Crash(n) => self.crash(&mut state, n),
            Action::Restart(n) => {
                let server = state.servers[n].make_mut();
                let node = match Node::restart(n, server.persisted.clone()) {
                    Ok(node) => node,
                    Err(refused) => {
                        // The core saved a state it cannot restart from.
                        let detail = format!("node {n} cannot restart from what it saved: {refused}");
                        state.history.record_broken(Breach::new(Safety::NodeInvariants, detail).nodes(&[n]));
                        return Some(state);
                    }
                };
                server.service = ServiceState::restored(node.log().snapshot_index(), node.snapshot(), &AppliedValues);
                server.node = Some(node);
                state.history.observe_restart(&ServersView(&state.servers), n, &AppliedValues);
            }
        }
        if state.crashes >= self.bounds.crashes {
            forget_unneeded_persisted(&mut state);
        }
        Some(state)
    }

    fn crash(&self, state: &mut ClusterState, n: NodeId) {
        let server = state.servers[n].make_mut();
        server.node = None;
        server.service = ServiceState::default();
        state.crashes += 1;
        state.history.observe_crash(n);
    }

    /// Steps a node, carries out its outputs (only the first `groups`
    /// groups of them, then crashes it, if `groups` is given), and records
    /// the step in the ghost history; completes `delivery`, if the step is
    /// one, with what the step did.
    fn take_step(&self, state: &mut ClusterState, step: Step, groups: Option<usize>, delivery: &mut Option<Delivery>) {
        let (n, input) = self.input(state, step);
        match step {
            Step::Deliver(k) => {
                state.remove_one(k);
            }
            // Counted only when bounded: an unused counter would split states.
            Step::ElectionTimeout(_) if self.bounds.max_elections.is_some() => state.elections += 1,
            Step::HeartbeatTimeout(_) if self.bounds.max_heartbeats.is_some() => state.heartbeats += 1,
            Step::Propose(_) => state.proposed += 1,
            Step::Snapshot(_) => state.snapshots += 1,
            _ => {}
        }
        let before = state.servers[n].clone();
        let server = state.servers[n].make_mut();
        let Some(node) = server.node.as_mut() else {
            *delivery = None;
            return;
        };
        // Kept for the spec refinement check (the correct core only).
        let checked_input = self.config.mutant.is_none().then(|| input.clone());
        let mut outputs = match guarded(|| node.step(&self.config, input)) {
            Ok(outputs) => outputs,
            Err(message) => {
                state.history.observe_panic(n, &message.0);
                *delivery = None;
                return;
            }
        };
        if let Some(groups) = groups {
            let ends = group_ends(&outputs);
            outputs.truncate(ends[groups - 1]);
        }
        if outputs.iter().any(|output| matches!(output, Output::Persist)) {
            server.persisted = node.persistent_state(&self.config);
        }
        let mut service = std::mem::take(&mut server.service);
        let before_node = before.node.as_ref().expect("a running node was stepped");
        let history = &mut state.history;
        if let (Some(input), Some(after)) = (&checked_input, state.servers[n].node.as_ref()) {
            // The server's digest and the ids the node holds tell it apart.
            let key = fingerprint(&(before.digest(), before_node.id(), before_node.voted_for(), before_node.role()));
            let before = refinement::Keyed { value: before_node, key };
            refinement::check_step(history, &self.config, n, before, input, &outputs, after);
        }
        let step = StepRecord { node: n, before: before_node, outputs: &outputs };
        history.observe_step(&self.config, &ServersView(&state.servers), step, &mut service, &AppliedValues);
        state.servers[n].make_mut().service = service;
        if let (Some(delivery), Some(after)) = (delivery.as_mut(), state.servers[n].node.as_ref()) {
            delivery.became_leader = after.is_leader() && !before_node.is_leader();
            delivery.commit_after = after.commit_index();
        }
        // The messages move out of the outputs, now that nothing reads them.
        let sends = outputs
            .into_iter()
            .filter_map(|output| match output {
                Output::Send { to, message } => Some(Envelope { from: n, to, message: SharedMessage::new(message) }),
                _ => None,
            })
            .collect();
        let through_links = state.send_all(sends, self.bounds.link_capacity, self.bounds.network_capacity);
        if let Some(delivery) = delivery.as_mut() {
            delivery.kept = through_links.kept;
            delivery.lost_to = through_links.lost_to;
        }
        if groups.is_some() {
            self.crash(state, n);
        }
    }
}

/// What a search keeps of one delivery it took (or one loss of a
/// message), to tell whether it commutes with another (see
/// `commuting.rs`): which link, what the step did to the network and to
/// the parts of the ghost history that record order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The sender.
    pub from: NodeId,
    /// The receiver: the node that stepped.
    pub to: NodeId,
    /// What happened to the message.
    pub handling: Handling,
    /// The digest of the message (see [`SharedMessage`]).
    pub message: u64,
    /// How many of the step's sends the link capacity let through (all of
    /// them are then lost together if the network's capacity is exceeded).
    pub kept: usize,
    /// Bit `n`: the link capacity lost a send to server `n` (its link from
    /// the receiver was full).
    pub lost_to: u64,
    /// Whether the receiver became leader in the step.
    pub became_leader: bool,
    /// The receiver's commit index after the step.
    pub commit_after: Index,
    /// Whether the state after the step broke a property.
    pub broken: bool,
}

/// What a [`Delivery`] did with its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Handling {
    /// Delivered it (the receiver stepped on it) and took it out.
    Delivered,
    /// Delivered it and left a copy in flight.
    Duplicated,
    /// Lost it: took it out, and nothing stepped.
    Dropped,
}

impl Handling {
    /// The in-flight message `action` delivers, duplicates or loses, and
    /// which of these it does; `None` for any other action (a crash inside
    /// a step included: it commutes with nothing).
    pub fn of(action: &Action) -> Option<(usize, Handling)> {
        match *action {
            Action::Step(Step::Deliver(k)) => Some((k, Handling::Delivered)),
            Action::Step(Step::Duplicate(k)) => Some((k, Handling::Duplicated)),
            Action::Drop(k) => Some((k, Handling::Dropped)),
            _ => None,
        }
    }
}

impl Delivery {
    /// A delivery of `envelope` as `handling` says, before its step.
    fn of(envelope: &Envelope, handling: Handling) -> Self {
        Delivery {
            from: envelope.from,
            to: envelope.to,
            handling,
            message: envelope.message.digest(),
            kept: 0,
            lost_to: 0,
            became_leader: false,
            commit_after: 0,
            broken: false,
        }
    }

    /// Whether it took its message out of the network.
    pub fn takes_message(&self) -> bool {
        self.handling != Handling::Duplicated
    }
}

/// Clears what running servers persisted once no crash is left: they can
/// never restart, so it cannot matter, and states that differ only there
/// merge.
fn forget_unneeded_persisted(state: &mut ClusterState) {
    for server in &mut state.servers {
        if server.node.is_some() && server.persisted != Default::default() {
            server.make_mut().persisted = Default::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::configs;
    use raftcheck_core::properties::Safety;

    /// A core that panics (here: a leader whose `next_index` was corrupted
    /// to 0, so building an AppendEntries underflows and its `expect`
    /// fires) yields a state that breaks "core never panics", with the
    /// panic's message, and ends its path.
    #[test]
    fn a_panicking_core_is_a_violation() {
        let model = RaftModel::new(configs::named("ci").expect("ci").bounds);
        let mut state = model.initial_state();
        let server = state.servers[0].make_mut();
        let node = server.node.take().expect("running");
        let mut parts = node.into_parts();
        parts.term = 1;
        parts.role = Role::Leader { next_index: vec![0; 3], match_index: vec![0; 3] };
        server.node = Some(Node::from_parts(parts));
        let next = model.successor(&state, &Action::Step(Step::HeartbeatTimeout(0))).expect("a step");
        assert_eq!(next.history.first_broken(), Some(Safety::NoPanic));
        let detail = next.history.detail.as_deref().expect("the panic's message is kept").to_string();
        assert!(detail.contains("node 0 panicked"), "{detail}");
        let mut actions = Vec::new();
        model.enabled_actions(&next, &mut actions);
        assert!(actions.is_empty(), "a violating state ends its path");
    }

    /// A successor shares each of the ghost history's sequences with its
    /// parent unless its step extended it: the history costs a successor
    /// no copy of them. Checked on every step of the first 50,000 distinct
    /// states of `ci` in breadth-first order, deep enough that each of the
    /// three sequences is extended (leaders elected, values committed and
    /// applied) as well as left alone.
    #[test]
    fn a_step_copies_only_the_ghost_sequences_it_extends() {
        use std::sync::Arc;
        let model = RaftModel::new(configs::named("ci").expect("ci").bounds);
        let initial = model.initial_state();
        let mut seen = std::collections::HashSet::from([initial.clone()]);
        let mut queue = std::collections::VecDeque::from([initial]);
        // Per sequence (leaders, committed, applied): steps that shared it,
        // steps that extended it.
        let mut counts = [(0, 0); 3];
        while let Some(state) = queue.pop_front() {
            let mut actions = Vec::new();
            model.enabled_actions(&state, &mut actions);
            for action in &actions {
                let Some(next) = model.successor(&state, action) else { continue };
                let (before, after) = (&state.history, &next.history);
                let sequences = [
                    (Arc::ptr_eq(&before.leaders, &after.leaders), before.leaders == after.leaders),
                    (Arc::ptr_eq(&before.committed, &after.committed), before.committed == after.committed),
                    (Arc::ptr_eq(&before.applied, &after.applied), before.applied == after.applied),
                ];
                for ((same_allocation, same_value), count) in sequences.into_iter().zip(&mut counts) {
                    assert_eq!(same_allocation, same_value, "{action:?} after {state:?}");
                    if same_allocation {
                        count.0 += 1
                    } else {
                        count.1 += 1
                    }
                }
                if seen.len() < 50_000 && seen.insert(next.clone()) {
                    queue.push_back(next);
                }
            }
        }
        assert!(counts.iter().all(|&(shared, extended)| shared > 0 && extended > 0), "{counts:?}");
    }
}
