//! Native trace events as etcd-raft `TracingEvent`s: how our runtime
//! writes etcd's schema, and how a native trace is checked against the
//! spec (`--check spec`). One translation serves both, so the spec check of
//! a native trace and the etcd reader on the same run's etcd-schema trace
//! see the same events.
//!
//! A native step (input, outputs, state after) becomes the events etcd's
//! `state_trace.go` would write for it, in its order: the receive (with the
//! state before the message is handled), the role changes (BecomeFollower
//! with the new term and no vote yet, BecomeCandidate, BecomeLeader), a
//! leader's Replicate of a proposal or a CompactLog of a service snapshot,
//! each send (with the state after the step), and a Commit if the commit
//! index moved. A save becomes Ready, an apply ApplyEntries, a restart
//! InitState; a crash writes nothing (etcd has no such event).
//!
//! Node ids are shifted by one (native node 0 is etcd node "1"), since etcd
//! writes "0" for none.

use super::event::{Event, Msg, State};
use crate::schema::{Event as Native, StateSummary};
use crate::spec::{Config, Id, Message as SpecMessage, MessageKind, NodeState, Role};
use raftcheck_core::{Command, Index, Input, Message, Node, NodeId, Output, SnapshotData, Term};
use std::collections::HashMap;

/// One etcd event, in the spec's terms: its kind, its node, the state it
/// shows and its message. [`SpecEvent::to_etcd`] writes it in etcd's
/// schema; [`super::Mapper::apply`] checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecEvent {
    /// etcd's event name (`SendAppendEntriesRequest`, `BecomeLeader`, ...).
    pub name: &'static str,
    /// The node, as an etcd id (native node + 1).
    pub node: Id,
    /// The node's state the event shows.
    pub state: NodeState,
    /// The message sent or received.
    pub message: Option<SpecMessage>,
}

impl SpecEvent {
    /// The event in etcd's schema.
    pub fn to_etcd(&self) -> Event {
        let ids = |list: &[Id]| list.iter().map(Id::to_string).collect::<Vec<_>>();
        let s = &self.state;
        Event {
            name: self.name.to_string(),
            nid: Some(self.node.to_string()),
            state: Some(State {
                term: s.term,
                vote: s.vote.to_string(),
                commit: s.commit,
                applied: s.applied,
                snapshot_index: s.snapshot.map(|(index, _)| index),
                snapshot_term: s.snapshot.and_then(|(_, term)| term),
            }),
            role: Some(
                match s.role {
                    Some(Role::Leader) => "StateLeader",
                    Some(Role::Candidate) => "StateCandidate",
                    _ => "StateFollower",
                }
                .to_string(),
            ),
            log: Some(s.last),
            conf: Some([ids(&s.config.incoming), ids(&s.config.outgoing)]),
            msg: self.message.as_ref().map(msg_of),
        }
    }
}

/// A spec message in etcd's schema.
fn msg_of(m: &SpecMessage) -> Msg {
    let kind = match m.kind {
        MessageKind::App => "MsgApp",
        MessageKind::Heartbeat => "MsgHeartbeat",
        MessageKind::Snapshot => "MsgSnap",
        MessageKind::AppResp => "MsgAppResp",
        MessageKind::HeartbeatResp => "MsgHeartbeatResp",
        MessageKind::Vote => "MsgVote",
        MessageKind::VoteResp => "MsgVoteResp",
        MessageKind::PreVote => "MsgPreVote",
        MessageKind::PreVoteResp => "MsgPreVoteResp",
        MessageKind::Other(k) => super::event::OTHER_TYPES.get(k as usize).copied().unwrap_or("MsgUnknown"),
    };
    Msg {
        kind: kind.to_string(),
        term: m.term,
        from: m.from.to_string(),
        to: m.to.to_string(),
        entries: m.entries,
        log_term: m.log_term,
        index: m.index,
        commit: m.commit,
        vote: None,
        reject: m.reject,
        reject_hint: m.reject_hint,
    }
}

/// What the translation last showed of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Shown {
    term: Term,
    vote: Option<NodeId>,
    role: Role,
    commit: Index,
    applied: Index,
    last: Index,
    snapshot: (Index, Term),
}

impl Shown {
    fn of(summary: &StateSummary) -> Shown {
        let role = match summary.role.as_str() {
            "leader" => Role::Leader,
            "candidate" => Role::Candidate,
            _ => Role::Follower,
        };
        Shown {
            term: summary.term,
            vote: summary.voted_for,
            role,
            commit: summary.commit_index,
            applied: summary.last_applied,
            last: summary.last_index,
            snapshot: (summary.snapshot_index, summary.snapshot_term),
        }
    }

    fn of_node<C: Command, D: SnapshotData>(node: &Node<C, D>) -> Shown {
        let role = match node.role() {
            raftcheck_core::Role::Leader { .. } => Role::Leader,
            raftcheck_core::Role::Candidate { .. } => Role::Candidate,
            raftcheck_core::Role::Follower => Role::Follower,
        };
        Shown {
            term: node.term(),
            vote: node.voted_for(),
            role,
            commit: node.commit_index(),
            applied: node.last_applied(),
            last: node.log().last_index(),
            snapshot: (node.log().snapshot_index(), node.log().snapshot_term()),
        }
    }
}

/// Translates a native trace's events, in order, into etcd events.
pub struct Translator {
    /// The voters: every node of the cluster.
    config: Config,
    /// Each node's state as last shown.
    shown: HashMap<NodeId, Shown>,
}

/// The etcd id of native node `node`.
pub fn etcd_id(node: NodeId) -> Id {
    (node as Id).saturating_add(1)
}

impl Translator {
    /// A translator for a cluster of `cluster_size` nodes (ids from 0).
    pub fn new(cluster_size: usize) -> Translator {
        Translator { config: Config::new((0..cluster_size).map(etcd_id).collect(), Vec::new()), shown: HashMap::new() }
    }

    /// The etcd events `event` stands for (none for a crash).
    pub fn translate(&mut self, event: &Native) -> Vec<SpecEvent> {
        match event {
            Native::Step { node, input, outputs, state, .. } => self.step(*node, input, outputs, Shown::of(state)),
            Native::Persist { node, .. } => self.again(*node, "Ready", None),
            Native::Applied { node, output, .. } => {
                let applied = match output {
                    Output::ApplyCommand { index, .. } | Output::ApplySnapshot { index, .. } => Some(*index),
                    _ => None,
                };
                self.again(*node, "ApplyEntries", applied)
            }
            Native::Crash { .. } => Vec::new(),
            Native::Restart { node, state, .. } => {
                let start = state.log.snapshot_index();
                let shown = Shown {
                    term: state.term,
                    vote: state.voted_for,
                    role: Role::Follower,
                    commit: start,
                    applied: start,
                    last: state.log.last_index(),
                    snapshot: (start, state.log.snapshot_term()),
                };
                let event = self.event("InitState", *node, &shown, None);
                self.shown.insert(*node, shown);
                vec![event]
            }
        }
    }

    /// The events of one step of `node`, which was in state `before` and
    /// is now `after` (for the model's refinement check, where the core's
    /// own types are at hand).
    pub fn translate_step<C: Command, D: SnapshotData>(
        &mut self,
        node: NodeId,
        before: &Node<C, D>,
        input: &Input<C, D>,
        outputs: &[Output<C, D>],
        after: &Node<C, D>,
    ) -> Vec<SpecEvent> {
        self.shown.insert(node, Shown::of_node(before));
        self.step(node, input, outputs, Shown::of_node(after))
    }

    /// The spec's view of core node `node` (native id `id`) as an event
    /// would show it.
    pub fn show<C: Command, D: SnapshotData>(&self, id: NodeId, node: &Node<C, D>) -> NodeState {
        self.event("", id, &Shown::of_node(node), None).state
    }

    /// An event showing the node's last state again (with `applied`, if
    /// given); none for a node never shown.
    fn again(&self, node: NodeId, name: &'static str, applied: Option<Index>) -> Vec<SpecEvent> {
        let Some(shown) = self.shown.get(&node) else { return Vec::new() };
        let mut shown = shown.clone();
        if let Some(applied) = applied {
            shown.applied = applied;
        }
        vec![self.event(name, node, &shown, None)]
    }

    /// The events of one step, in the order etcd writes them.
    fn step<C, D>(
        &mut self,
        node: NodeId,
        input: &Input<C, D>,
        outputs: &[Output<C, D>],
        after: Shown,
    ) -> Vec<SpecEvent> {
        let before = self.shown.get(&node).cloned().unwrap_or_else(|| after.clone());
        let mut events = Vec::new();
        if let Input::Receive { from, message } = input {
            let (name, message) = message_of(message, *from, node, false);
            events.push(self.event(name, node, &before, Some(message)));
        }
        let new_term = after.term > before.term;
        let mut commit_shown = before.commit;
        if new_term || before.role != after.role {
            match after.role {
                Role::Follower => {
                    // The term moved first, with no vote yet in it (etcd's
                    // becomeFollower); what the message did comes after.
                    let vote = if new_term { None } else { before.vote };
                    let stepped = Shown { term: after.term, vote, role: Role::Follower, ..before.clone() };
                    events.push(self.event("BecomeFollower", node, &stepped, None));
                }
                Role::Candidate => {
                    events.push(self.event("BecomeCandidate", node, &after, None));
                    commit_shown = after.commit;
                }
                Role::Leader => {
                    if new_term || before.role != Role::Candidate {
                        // Elected in the step that started the election (a
                        // cluster of one).
                        let candidate = Shown { role: Role::Candidate, ..after.clone() };
                        events.push(self.event("BecomeCandidate", node, &candidate, None));
                    }
                    events.push(self.event("BecomeLeader", node, &after, None));
                    commit_shown = after.commit;
                }
            }
        }
        match input {
            Input::Propose(_) if outputs.iter().any(|o| matches!(o, Output::Proposed { .. })) => {
                events.push(self.event("Replicate", node, &after, None));
                commit_shown = after.commit;
            }
            Input::Snapshot { .. } if after.snapshot != before.snapshot => {
                events.push(self.event("CompactLog", node, &after, None));
                commit_shown = after.commit;
            }
            _ => {}
        }
        for output in outputs {
            if let Output::Send { to, message } = output {
                let (name, message) = message_of(message, node, *to, true);
                events.push(self.event(name, node, &after, Some(message)));
                commit_shown = after.commit;
            }
        }
        if after.commit > commit_shown {
            events.push(self.event("Commit", node, &after, None));
        }
        self.shown.insert(node, after);
        events
    }

    /// The event `name` of `node` in state `shown`, with `message`.
    fn event(&self, name: &'static str, node: NodeId, shown: &Shown, message: Option<SpecMessage>) -> SpecEvent {
        let snapshot = (shown.snapshot.0 > 0).then_some((shown.snapshot.0, Some(shown.snapshot.1)));
        SpecEvent {
            name,
            node: etcd_id(node),
            state: NodeState {
                term: shown.term,
                vote: shown.vote.map_or(0, etcd_id),
                commit: shown.commit,
                role: Some(shown.role),
                last: shown.last,
                config: self.config.clone(),
                applied: Some(shown.applied),
                snapshot,
            },
            message,
        }
    }
}

/// The event name (a send's, or a receive's if not `send`) and the spec
/// message of a native message from `from` to `to`.
pub fn message_of<C, D>(message: &Message<C, D>, from: NodeId, to: NodeId, send: bool) -> (&'static str, SpecMessage) {
    let mut m = SpecMessage::bare(MessageKind::App, message.term(), etcd_id(from), etcd_id(to));
    let names = match message {
        Message::RequestVote(v) => {
            m.kind = MessageKind::Vote;
            m.index = v.last_log_index;
            m.log_term = v.last_log_term;
            ("SendRequestVoteRequest", "ReceiveRequestVoteRequest")
        }
        Message::RequestVoteReply(v) => {
            m.kind = MessageKind::VoteResp;
            m.reject = !v.vote_granted;
            ("SendRequestVoteResponse", "ReceiveRequestVoteResponse")
        }
        Message::AppendEntries(a) => {
            m.index = a.prev_log_index;
            m.log_term = a.prev_log_term;
            m.entries = a.entries.len() as u64;
            m.commit = a.leader_commit;
            ("SendAppendEntriesRequest", "ReceiveAppendEntriesRequest")
        }
        Message::AppendEntriesReply(r) => {
            m.kind = MessageKind::AppResp;
            m.index = r.match_index;
            m.reject = !r.success;
            if !r.success {
                // etcd's hint: where the follower's log may match.
                m.reject_hint = r.conflict_index;
                m.log_term = r.conflict_term.unwrap_or(0);
            }
            ("SendAppendEntriesResponse", "ReceiveAppendEntriesResponse")
        }
        Message::InstallSnapshot(i) => {
            // As etcd writes MsgSnap: the snapshot's index in `entries`.
            m.kind = MessageKind::Snapshot;
            m.entries = i.last_included_index;
            ("SendSnapshot", "ReceiveSnapshot")
        }
        Message::InstallSnapshotReply(r) => {
            // etcd answers a snapshot with an AppendEntries response at
            // the snapshot's index.
            m.kind = MessageKind::AppResp;
            m.index = r.last_included_index;
            m.reject = !r.accepted;
            ("SendAppendEntriesResponse", "ReceiveAppendEntriesResponse")
        }
    };
    (if send { names.0 } else { names.1 }, m)
}
