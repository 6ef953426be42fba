//! The stateright model over the core, our search over it, and the runner
//! that checks it.
//!
//! Dependencies run one way: `action` and `state` are plain data;
//! `model` says which actions are enabled and what they do (recording the
//! ghost history through [`crate::properties`]); `checks` turns the pure
//! properties into stateright's and implements its `Model` trait;
//! `describe` puts actions and states into words; `search` explores any
//! stateright model; `run` ties them together into a report.

pub mod action;
pub mod bounds;
pub mod cells;
pub mod checks;
pub mod configs;
pub mod describe;
pub mod guard;
pub mod model;
pub mod run;
pub mod search;
pub mod state;
pub mod symmetry;
