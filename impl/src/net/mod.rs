//! The simulated network of the 6.824 lab, on which the tests run every
//! cluster inside one process, and a real one over TCP ([`tcp`]) for nodes
//! in separate processes, and a forwarding [`proxy`] that partitions or
//! slows one link between such processes, for fault injection.

pub mod network;
pub mod proxy;
pub mod scheduler;
pub mod tcp;

pub use network::{CallResult, ClientEnd, Done, Network, Reply, RpcError, Server};
