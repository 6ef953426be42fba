//! Driving the threaded runtime through a model counterexample: the same
//! nodes, event loops, appliers and persisters as in a real run, but on a
//! clock that never moves (no timer fires unless the replay says so) and a
//! network that delivers exactly the messages the replay names, when it
//! names them. Every action is handed to the node's event loop and waited
//! for, so the run is deterministic. A crash inside a step
//! ([`ReplayAction::CrashDuring`]) is played through the driver's
//! fault-injection point, [`Event::CrashInNextStep`].
//!
//! [`compare`] then says whether the runtime's trace, validated against the
//! core with the replay's mutant, shows the model's violation: the same
//! property, broken at the same action.

use raftcheck_core::properties::Safety;
use raftcheck_core::{Config, HeartbeatStyle, Mutant, NodeId};
use raftcheck_impl::raft::{
    ApplyMsg, CrashPoint, Event, FixedTimeout, Inbox, ManualClock, Options, Raft, RaftMessage, Transport,
};
use raftcheck_impl::storage::MemoryPersister;
use raftcheck_model::explore::replay_file::{
    group_ends, outputs_before_crash, Replay, ReplayAction, ReplayMessage, ReplayStep,
};
use raftcheck_traces::validate::{Check, Report};
use raftcheck_traces::{Header, TraceWriter};
use std::fmt;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Messages sent and not yet delivered or lost: (from, to, message).
type Pool = Arc<Mutex<Vec<(NodeId, NodeId, RaftMessage)>>>;

/// A transport that only puts what a node sends into the pool.
struct PoolTransport {
    me: NodeId,
    pool: Pool,
}

impl Transport for PoolTransport {
    fn send(&mut self, to: NodeId, message: RaftMessage, _inbox: &Inbox) {
        self.pool.lock().expect("pool lock").push((self.me, to, message));
    }
}

/// Why a replay stopped before its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// The runtime did not do what the model did (action number, 1-based).
    Diverged { action: usize, what: String },
    /// The replay file names something impossible (a node out of range...).
    Invalid(String),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Diverged { action, what } => write!(f, "action {action}: the runtime diverged: {what}"),
            ReplayError::Invalid(what) => write!(f, "{what}"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// The runtime's messages for the model's: value `v` is the command `[v]`,
/// a snapshot's list of values is its bytes.
pub fn runtime_message(message: &ReplayMessage) -> RaftMessage {
    message.map(|v| vec![*v], Vec::clone)
}

/// A cluster of runtime nodes under a replay's control.
struct Cluster {
    replay_mutant: Option<Mutant>,
    max_entries: usize,
    heartbeat: HeartbeatStyle,
    pool: Pool,
    persisters: Vec<Arc<MemoryPersister>>,
    nodes: Vec<Option<Raft>>,
    trace: Option<Arc<TraceWriter>>,
}

impl Cluster {
    fn start(&mut self, n: NodeId) -> Result<(), String> {
        let mut options = Options::lab(n as u64);
        options.clock = Arc::new(ManualClock::new());
        options.timeouts = Some(Box::new(FixedTimeout(Duration::from_secs(3600))));
        options.mutant = self.replay_mutant;
        options.max_entries_per_append = self.max_entries;
        options.heartbeat = self.heartbeat;
        options.trace = self.trace.clone();
        let (apply, applied) = mpsc::sync_channel::<ApplyMsg>(1024);
        // The service only takes what is applied (snapshots come from the
        // replay itself).
        std::thread::spawn(move || for _ in applied {});
        let transport = Box::new(PoolTransport { me: n, pool: Arc::clone(&self.pool) });
        let raft = Raft::make(n, self.nodes.len(), transport, self.persisters[n].clone(), apply, options)
            .map_err(|e| e.to_string())?;
        self.nodes[n] = Some(raft);
        Ok(())
    }

    fn node(&self, n: NodeId) -> Result<&Raft, String> {
        self.nodes.get(n).and_then(Option::as_ref).ok_or_else(|| format!("node {n} is not running"))
    }

    /// Hands `event` to node `n` and waits until it was handled.
    fn inject(&self, n: NodeId, event: Event) -> Result<(), String> {
        let inbox = self.node(n)?.inbox();
        if !inbox.send(event) || !inbox.barrier() {
            return Err(format!("node {n} stopped"));
        }
        Ok(())
    }

    /// Takes one copy of `message` from `from` to `to` out of the pool
    /// (leaving it if `keep`).
    fn take(&self, from: NodeId, to: NodeId, message: &RaftMessage, keep: bool) -> Result<(), String> {
        let mut pool = self.pool.lock().expect("pool lock");
        let Some(k) = pool.iter().position(|(f, t, m)| *f == from && *t == to && m == message) else {
            return Err(format!("node {from} never sent node {to} {message:?}"));
        };
        if !keep {
            pool.remove(k);
        }
        Ok(())
    }

    /// The event that gives `step`'s node its input, for the inputs that
    /// go through its queue (a delivery takes the message out of the pool);
    /// `None` for a proposal or a snapshot, which go through the node's API.
    fn queued_input(&self, step: &ReplayStep) -> Result<Option<Event>, String> {
        Ok(match step {
            ReplayStep::ElectionTimeout { .. } => Some(Event::ElectionTimeout),
            ReplayStep::HeartbeatTimeout { .. } => Some(Event::HeartbeatTimeout),
            ReplayStep::Propose { .. } | ReplayStep::Snapshot { .. } => None,
            ReplayStep::Deliver { from, to, message, keep_copy } => {
                let message = runtime_message(message);
                self.take(*from, *to, &message, *keep_copy)?;
                Some(Event::Message { from: *from, message, reply: None })
            }
        })
    }

    fn step(&mut self, step: &ReplayStep) -> Result<(), String> {
        match step {
            ReplayStep::Propose { node, value } => {
                let started = self.node(*node)?.start(vec![*value]);
                started.map(|_| ()).map_err(|e| format!("node {node} refused the proposal of {value}: {e}"))
            }
            ReplayStep::Snapshot { node, index, data } => {
                let done = self.node(*node)?.snapshot(*index, data.clone());
                done.map_err(|e| format!("node {node} refused the snapshot through {index}: {e}"))
            }
            _ => {
                let event = self.queued_input(step)?.expect("a queued input");
                self.inject(step.node(), event)
            }
        }
    }

    /// Node `step.node()` takes `step`, carries out the outputs of its first
    /// `groups` groups and stops as if crashed (the driver's crash point);
    /// then it is down, as after [`ReplayAction::Crash`].
    fn crash_during(&mut self, step: &ReplayStep, groups: u8) -> Result<(), String> {
        let n = step.node();
        let inbox = self.node(n)?.inbox().clone();
        let input = self.queued_input(step)?;
        // The number of groups the runtime's step had, once it is taken.
        let had = Arc::new(Mutex::new(None));
        let point: CrashPoint = {
            let had = Arc::clone(&had);
            Box::new(move |outputs| {
                *had.lock().expect("groups lock") = Some(group_ends(outputs).len());
                // Beyond its groups: all of it (the replay reports it below).
                outputs_before_crash(outputs, groups).unwrap_or(outputs.len())
            })
        };
        if !inbox.send(Event::CrashInNextStep { point }) {
            return Err(format!("node {n} stopped"));
        }
        match (input, step) {
            (Some(event), _) => drop(inbox.send(event)),
            // The node answers that it was killed: it stopped in the step.
            (None, ReplayStep::Propose { value, .. }) => drop(self.node(n)?.start(vec![*value])),
            (None, ReplayStep::Snapshot { index, data, .. }) => drop(self.node(n)?.snapshot(*index, data.clone())),
            (None, _) => unreachable!("only proposals and snapshots go through the API"),
        }
        // The loop ends inside the step: nothing after it is handled.
        let stopped = !inbox.barrier();
        let raft = self.nodes[n].take().expect("checked running");
        raft.kill();
        self.persisters[n] = Arc::new(self.persisters[n].copy());
        let had = *had.lock().expect("groups lock");
        match had {
            None => Err(format!("node {n} did not take the step")),
            Some(had) if usize::from(groups) > had || groups == 0 => Err(format!(
                "node {n}'s step has {had} group(s) of outputs; the replay crashes it after group {groups}"
            )),
            Some(_) if !stopped => Err(format!("node {n} did not stop inside its step")),
            Some(_) => Ok(()),
        }
    }

    fn act(&mut self, action: &ReplayAction) -> Result<(), String> {
        match action {
            ReplayAction::Step(step) => self.step(step),
            ReplayAction::CrashDuring { step, groups } => self.crash_during(step, *groups),
            ReplayAction::Drop { from, to, message } => self.take(*from, *to, &runtime_message(message), false),
            ReplayAction::Crash { node } => {
                let raft = self.nodes[*node].take().ok_or_else(|| format!("node {node} is down"))?;
                raft.kill();
                // What it saved survives; the killed instance can no longer write.
                self.persisters[*node] = Arc::new(self.persisters[*node].copy());
                Ok(())
            }
            ReplayAction::Restart { node } => {
                if self.nodes[*node].is_some() {
                    return Err(format!("node {node} is running"));
                }
                self.start(*node)
            }
        }
    }
}

/// What a replay did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Played {
    /// The number of actions played (all of them).
    pub actions: usize,
    /// For each action, how many trace events had been written once it was
    /// done: action `k`'s events (its step, crash or restart) are numbered
    /// after `events_after[k - 1]` and up to `events_after[k]`. Empty
    /// without a trace.
    pub events_after: Vec<u64>,
}

impl Played {
    /// The 0-based action whose events include the trace event `seq`.
    pub fn action_of(&self, seq: u64) -> Option<usize> {
        self.events_after.iter().position(|&end| seq <= end)
    }
}

/// The header of the trace of `replay`'s cluster: its size, its core
/// settings and its mutant.
pub fn trace_header(replay: &Replay) -> Header {
    Header {
        raftcheck_trace: raftcheck_traces::VERSION,
        cluster_size: replay.cluster_size,
        max_entries_per_append: replay.max_entries_per_append,
        heartbeat: replay.heartbeat,
        mutant: replay.mutant.clone(),
        may_duplicate: false,
    }
}

/// Plays `replay` on a fresh cluster of runtime nodes (with the replay's
/// mutant), recording their events in `trace` if given.
pub fn run(replay: &Replay, trace: Option<Arc<TraceWriter>>) -> Result<Played, ReplayError> {
    let mutant = replay.mutant().map_err(|e| ReplayError::Invalid(e.to_string()))?;
    let heartbeat = replay.heartbeat;
    let n = replay.cluster_size;
    // The core says which sizes it runs, before a persister is made per node.
    Config::new(n).map_err(|e| ReplayError::Invalid(format!("cluster_size: {e}")))?;
    let mut cluster = Cluster {
        replay_mutant: mutant,
        max_entries: replay.max_entries_per_append.unwrap_or(usize::MAX),
        heartbeat,
        pool: Pool::default(),
        persisters: (0..n).map(|_| Arc::new(MemoryPersister::new())).collect(),
        nodes: (0..n).map(|_| None).collect(),
        trace: trace.clone(),
    };
    let mut events_after = Vec::new();
    for node in 0..n {
        cluster.start(node).map_err(ReplayError::Invalid)?;
    }
    for (k, action) in replay.actions.iter().enumerate() {
        let names_a_node = |node: NodeId| node < n;
        let nodes_ok = match action {
            ReplayAction::Step(s) | ReplayAction::CrashDuring { step: s, .. } => names_a_node(s.node()),
            ReplayAction::Drop { from, to, .. } => names_a_node(*from) && names_a_node(*to),
            ReplayAction::Crash { node } | ReplayAction::Restart { node } => names_a_node(*node),
        };
        if !nodes_ok {
            return Err(ReplayError::Invalid(format!("action {}: names a node outside the cluster of {n}", k + 1)));
        }
        cluster.act(action).map_err(|what| ReplayError::Diverged { action: k + 1, what })?;
        if let Some(trace) = &trace {
            events_after.push(trace.events());
        }
    }
    for raft in cluster.nodes.iter().flatten() {
        raft.kill();
    }
    Ok(Played { actions: replay.actions.len(), events_after })
}

/// How the runtime's run of a replay compares with the model's violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The property the model found broken broke on the runtime too, at the
    /// same action (the replay's last).
    Reproduced,
    /// Another safety property broke first.
    DifferentProperty,
    /// The same property broke, but at another action.
    DifferentAction,
    /// Every check passed: no property broke.
    StayedSafe,
    /// The trace fails a check other than safety first (the runtime did not
    /// do what the core asked), so safety was not checked to the end.
    Nonconforming,
}

impl Outcome {
    /// Every outcome, in the order documented.
    pub const ALL: [Outcome; 5] = [
        Outcome::Reproduced,
        Outcome::DifferentProperty,
        Outcome::DifferentAction,
        Outcome::StayedSafe,
        Outcome::Nonconforming,
    ];

    /// The outcome's word (the `--json` verdict).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Reproduced => "reproduced",
            Outcome::DifferentProperty => "different-property",
            Outcome::DifferentAction => "different-action",
            Outcome::StayedSafe => "stayed-safe",
            Outcome::Nonconforming => "nonconforming",
        }
    }

    /// The exit code of `raftcheck replay`: 1 reproduced, 0 stayed safe, 3
    /// any other outcome.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Reproduced => 1,
            Outcome::StayedSafe => 0,
            Outcome::DifferentProperty | Outcome::DifferentAction | Outcome::Nonconforming => 3,
        }
    }
}

/// The model's violation (what the replay claims) against what the
/// runtime's trace shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub outcome: Outcome,
    /// The property the model found broken (the replay's `property`).
    pub expected_property: String,
    /// The action (1-based) after which the model's violation shows: the
    /// replay's last.
    pub expected_action: usize,
    /// The safety property the runtime broke first, if one broke.
    pub seen_property: Option<Safety>,
    /// The action (1-based) whose events include the trace's first failure
    /// (safety or any other check), if it failed during the replay.
    pub seen_action: Option<usize>,
}

/// Compares the model's violation, as `replay` states it, with the trace of
/// its run (`played`) validated against the core with the replay's mutant
/// (`with_mutant`): reproduced only when the same property breaks at the
/// replay's last action.
pub fn compare(replay: &Replay, played: &Played, with_mutant: &Report) -> Comparison {
    let expected_action = replay.actions.len();
    let failure = with_mutant.failure.as_ref();
    let seen_property = failure.and_then(|f| f.property);
    let seen_action = failure.and_then(|f| played.action_of(f.seq)).map(|a| a + 1);
    let outcome = match failure {
        None => Outcome::StayedSafe,
        Some(f) if f.check != Check::Safety => Outcome::Nonconforming,
        Some(_) if seen_property.is_none() || seen_property != replay.safety() => Outcome::DifferentProperty,
        Some(_) if seen_action != Some(expected_action) => Outcome::DifferentAction,
        Some(_) => Outcome::Reproduced,
    };
    Comparison { outcome, expected_property: replay.property.clone(), expected_action, seen_property, seen_action }
}
