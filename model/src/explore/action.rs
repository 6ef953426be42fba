//! What the environment can do next: the model's actions.

use raftcheck_core::types::NodeId;

/// Something that steps one node: a delivery, a timer, a client, a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Deliver in-flight message `k` (an index into the sorted network).
    Deliver(usize),
    /// Deliver in-flight message `k` and keep a copy in flight (duplication).
    Duplicate(usize),
    /// Node `n`'s election timer fires.
    ElectionTimeout(NodeId),
    /// Leader `n`'s heartbeat timer fires.
    HeartbeatTimeout(NodeId),
    /// A client proposes the next value to leader `n`.
    Propose(NodeId),
    /// Node `n`'s service snapshots everything it has applied.
    Snapshot(NodeId),
}

/// One thing the environment can do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// A node takes a step and every output of it is carried out.
    Step(Step),
    /// A node takes a step, the outputs of its first `groups` groups are
    /// carried out (a group is a run of outputs of one kind: the Persist,
    /// the sends, the applies), and the node crashes before the rest.
    CrashDuring(Step, u8),
    /// Lose in-flight message `k`.
    Drop(usize),
    /// Node `n` crashes, losing its volatile state.
    Crash(NodeId),
    /// Node `n` restarts from what it persisted.
    Restart(NodeId),
}

impl Action {
    /// How many kinds of actions [`Action::kind`] tells apart.
    pub const KINDS: usize = 10;

    /// The kind of this action, in `0..KINDS`: each `Step` variant, a crash
    /// inside a step, a loss, a crash, a restart. Swarm walks weight them.
    pub fn kind(&self) -> usize {
        match self {
            Action::Step(Step::Deliver(_)) => 0,
            Action::Step(Step::Duplicate(_)) => 1,
            Action::Step(Step::ElectionTimeout(_)) => 2,
            Action::Step(Step::HeartbeatTimeout(_)) => 3,
            Action::Step(Step::Propose(_)) => 4,
            Action::Step(Step::Snapshot(_)) => 5,
            Action::CrashDuring(..) => 6,
            Action::Drop(_) => 7,
            Action::Crash(_) => 8,
            Action::Restart(_) => 9,
        }
    }
}
