//! The simulated network of the 6.824 lab, on which the tests run every
//! cluster inside one process.

pub mod network;
pub mod scheduler;

pub use network::{CallResult, ClientEnd, Done, Network, Reply, RpcError, Server};
