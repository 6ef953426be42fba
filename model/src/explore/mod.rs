//! The stateright model over the core, and the runner that checks it.

pub mod bounds;
pub mod configs;
pub mod describe;
pub mod model;
pub mod run;
pub mod state;
pub mod symmetry;
