//! raftcheck's Raft core: one server as a pure, deterministic state machine
//! ([`Node::step`]) covering the 6.824 lab's parts A (election), B
//! (replication), C (persistence) and D (snapshots); the switch that
//! re-introduces one classic bug at a time ([`Mutant`]); and the
//! cluster-wide safety properties ([`properties`]) that the model checker
//! and the trace validator share.
//!
//! No threads, clocks, I/O or randomness: everything a node wants done is
//! returned as [`Output`]s, in the order the driver must carry them out.

mod election;
pub mod io;
pub mod log;
pub mod mutant;
pub mod names;
pub mod node;
pub mod panic_guard;
pub mod properties;
mod replication;
mod snapshot;
pub mod types;

pub use crate::io::{
    AppendEntries, AppendEntriesReply, Input, InstallSnapshot, InstallSnapshotReply, Message, Output, RequestVote,
    RequestVoteReply, SnapshotRefusal,
};
pub use crate::log::Log;
pub use crate::mutant::Mutant;
pub use crate::names::UnknownName;
pub use crate::node::{
    Config, ConfigError, HeartbeatStyle, InvariantViolation, Node, NodeParts, PersistentState, PersistentView,
    RestoreError, Role,
};
pub use crate::types::{majority, Command, Entry, Index, NodeId, Snapshot, SnapshotData, Term};
