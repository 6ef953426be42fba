//! The Raft core: pure, deterministic transition functions for one server.
//! No threads, clocks, I/O or randomness: see [`Node::step`].

mod election;
pub mod io;
pub mod log;
pub mod node;
mod replication;
mod snapshot;
pub mod types;
