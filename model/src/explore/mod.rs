//! The stateright model over the core, our search over it, and the runner
//! that checks it.
//!
//! Dependencies run one way: `action` and `state` are plain data;
//! `model` says which actions are enabled and what they do (recording the
//! ghost history through [`raftcheck_core::properties`]); `stateright_properties` turns the pure
//! properties into stateright's and implements its `Model` trait;
//! `describe` puts actions and states into words; `search` explores any
//! stateright model; `run` ties them together into a report.

pub mod action;
pub mod bounds;
pub mod commuting;
pub mod configs;
pub mod describe;
pub mod model;
pub mod novelty_cell;
pub mod output_groups;
pub mod refinement;
pub mod relabel;
pub mod replay_file;
pub mod run;
pub mod search;
pub mod state;
pub mod stateright_properties;
pub mod symmetry;
