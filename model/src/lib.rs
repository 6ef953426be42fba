//! The model of a bounded Raft cluster running the pure core
//! ([`raftcheck_core`]), and the searches that explore every interleaving of
//! it (message loss, reordering, duplication, crashes, snapshots) and check
//! the core's safety properties in each state.

pub mod explore;
