//! raftcheck's Raft: a pure core ([`Node`]) covering the 6.824 lab's parts A
//! (election), B (replication), C (persistence) and D (snapshots), the
//! cluster-wide safety properties, and a stateright model that explores every
//! interleaving of a bounded cluster running that core.

pub mod core;
pub mod mutant;

pub use crate::core::io::{
    AppendEntries, AppendEntriesReply, Input, InstallSnapshot, InstallSnapshotReply, Message, Output, RequestVote,
    RequestVoteReply,
};
pub use crate::core::log::Log;
pub use crate::core::node::{Config, HeartbeatStyle, InvariantViolation, Node, PersistentState, Role};
pub use crate::core::types::{majority, Command, Entry, Index, NodeId, Snapshot, SnapshotData, Term};
pub use crate::mutant::Mutant;
pub mod explore;
pub mod properties;
