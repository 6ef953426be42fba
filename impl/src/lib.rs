//! raftcheck's runtime: real threads that run the pure Raft core of
//! `raftcheck-core`. The runtime makes no protocol decision: it moves bytes
//! between nodes, keeps time, writes what the core asks to persist, and
//! hands applied commands to the service.
//!
//! * [`net`]: the 6.824 lab's simulated network (labrpc).
//! * [`storage`]: where a node's persistent state lives (the lab's
//!   in-memory persister and a crash-safe file).
//! * [`raft`]: a Raft node: its event loop, its applier, and the lab's API
//!   (`make`, `start`, `get_state`, `snapshot`, `kill`).
//! * [`kv`]: the lab's key/value service on top, and its clerks.
//! * [`node`]: one key/value server as a process of a real cluster over TCP.

pub mod kv;
pub mod net;
pub mod node;
pub mod raft;
pub mod storage;

/// The README's Rust examples, compiled and run as doc-tests of this crate
/// (it depends on everything they use), so that the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
