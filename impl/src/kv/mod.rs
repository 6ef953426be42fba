//! The lab's replicated key/value service (6.824 Lab 3) over the Raft
//! runtime: a [`KvServer`] per Raft node, and [`Clerk`]s that find the
//! leader and retry until their operation takes effect exactly once.
//!
//! Every operation, reads included, goes through the Raft log: a server
//! answers only once the operation was applied at the index `start`
//! returned, so a server that lost leadership or its majority never answers
//! from its own, possibly stale, state. Each request carries the clerk's id
//! and a sequence number; the state machine applies a put or append at most
//! once per (clerk, sequence number), and that table travels in snapshots.

mod clerk;
mod machine;
mod server;
pub mod tcp;

pub use clerk::Clerk;
pub use machine::Machine;
pub use server::{KvServer, KvServerOptions};

use raftcheck_core::UnknownName;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The RPC method of every key/value request.
pub const METHOD: &str = "KVServer.Op";

/// What a clerk asks of the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvOp {
    /// Read a key (`""` if missing).
    Get { key: String },
    /// Set a key.
    Put { key: String, value: String },
    /// Append to a key's value.
    Append { key: String, value: String },
}

/// A clerk's request: the operation with the clerk's identity and the
/// operation's sequence number (increasing per clerk, one at a time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The clerk's id.
    pub client: u64,
    /// The clerk's sequence number for this operation.
    pub seq: u64,
    /// The operation.
    pub op: KvOp,
}

/// A server's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The operation took effect; a get's value (`None` for put/append).
    Done(Option<String>),
    /// This server does not lead, or lost leadership before the operation
    /// was applied at its index: try another server.
    WrongLeader,
    /// The operation was not applied in time: try again.
    Timeout,
}

/// Seeded bugs of the service (ids as in `docs/mutants.md`).
/// They live in the runtime's service, not in the Raft core: the model
/// checker cannot see them; the linearizability checker must.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvMutant {
    /// M21: snapshots leave out the duplicate-detection table, so a retried
    /// append is applied again after a restore.
    M21,
    /// M26: a server that believes it leads answers gets from its own
    /// state, without going through the log (stale reads).
    M26,
}

impl KvMutant {
    /// Every service mutant.
    pub const ALL: [KvMutant; 2] = [KvMutant::M21, KvMutant::M26];

    /// The id, lower case (`m21`).
    pub fn id(self) -> &'static str {
        match self {
            KvMutant::M21 => "m21",
            KvMutant::M26 => "m26",
        }
    }

    /// The full name.
    pub fn name(self) -> &'static str {
        match self {
            KvMutant::M21 => "snapshot-without-dedup",
            KvMutant::M26 => "local-reads",
        }
    }

    /// One line: the bug and what it breaks.
    pub fn description(self) -> &'static str {
        match self {
            KvMutant::M21 => {
                "KV snapshot omits the duplicate-detection table; a retried append applies twice (linearizability)"
            }
            KvMutant::M26 => "leader serves Get from its local state without the log; stale reads (linearizability)",
        }
    }
}

impl fmt::Display for KvMutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id(), self.name())
    }
}

/// Accepts the id (`m21`, `M21`) or the full name.
impl FromStr for KvMutant {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        let wanted = s.trim().to_ascii_lowercase();
        KvMutant::ALL
            .into_iter()
            .find(|m| m.id() == wanted || m.name() == wanted)
            .ok_or_else(|| UnknownName::new("service mutant", s, &["m21", "m26"]))
    }
}
