//! What a node publishes after every step, for the service and the tester
//! to read without going through the event loop.

use raftcheck_core::{Command, Index, Node, SnapshotData, Term};
use std::sync::Mutex;

/// A node's state as of its last step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// The current term.
    pub term: Term,
    /// Whether the node leads `term`.
    pub is_leader: bool,
    /// The highest index known committed.
    pub commit_index: Index,
    /// The highest index handed to the applier.
    pub last_applied: Index,
    /// The last index in the log (compacted or not).
    pub last_index: Index,
    /// The last index covered by the snapshot.
    pub snapshot_index: Index,
    /// Set when the node stopped because its state could not be saved.
    pub halted: Option<String>,
}

/// The published [`Status`] of one node.
#[derive(Default)]
pub(crate) struct StatusBoard {
    status: Mutex<Status>,
}

impl StatusBoard {
    pub(crate) fn publish<C: Command, D: SnapshotData>(&self, node: &Node<C, D>) {
        let mut status = self.status.lock().expect("status lock");
        status.term = node.term();
        status.is_leader = node.is_leader();
        status.commit_index = node.commit_index();
        status.last_applied = node.last_applied();
        status.last_index = node.log().last_index();
        status.snapshot_index = node.log().snapshot_index();
    }

    pub(crate) fn halt(&self, reason: String) {
        let mut status = self.status.lock().expect("status lock");
        status.is_leader = false;
        status.halted = Some(reason);
    }

    pub(crate) fn read(&self) -> Status {
        self.status.lock().expect("status lock").clone()
    }
}
