//! What the environment can do next: the model's actions.

use crate::core::types::NodeId;

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
