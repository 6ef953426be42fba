//! The state of a whole bounded cluster: nodes, what each persisted, what
//! each service applied, the messages in flight, the budgets used, and the
//! ghost history that the history-dependent properties need.

use raftcheck_core::io::Message;
use raftcheck_core::node::{Node, PersistentState};
use raftcheck_core::properties::{ClusterView, History, ServiceState, SnapshotContents};
use raftcheck_core::types::NodeId;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A client value. The model proposes `1, 2, ...`, so every proposal is
/// distinct and a value identifies the entry that carries it.
pub type Value = u8;

/// The model's service state, which is also its snapshot data: the values
/// applied so far, in index order (so `data[i - 1]` is the value at index i).
pub type Applied = Vec<Value>;

/// A node of the model.
pub type ModelNode = Node<Value, Applied>;
/// A message of the model.
pub type ModelMessage = Message<Value, Applied>;
/// What a node of the model persists.
pub type ModelPersistent = PersistentState<Value, Applied>;

/// The model's snapshots are readable: a snapshot through `k` is the list
/// of the `k` values applied.
#[derive(Clone, Copy, Debug, Default)]
pub struct AppliedValues;

impl SnapshotContents<Value, Applied> for AppliedValues {
    fn commands<'a>(&self, data: &'a Applied) -> Option<&'a [Value]> {
        Some(data)
    }
}

/// One server: running or down, what it last persisted, and what its
/// service has applied.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Server {
    /// The running node, or `None` while crashed.
    pub node: Option<ModelNode>,
    /// What the node last persisted. Once no crash is left in the budget a
    /// running node can never restart, so this is cleared to the default
    /// (it can no longer influence anything) and equal states merge.
    pub persisted: ModelPersistent,
    /// The service state, built from the node's Apply outputs (empty while
    /// the server is down). For a correct core it is the node's applied
    /// prefix, so it adds no states.
    pub service: ServiceState<Value>,
}

/// A message in flight on the directed link `from -> to`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// What is sent.
    pub message: ModelMessage,
}

/// What the link capacity did to the messages of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThroughLinks {
    /// How many it let through.
    pub kept: usize,
    /// Bit `n`: a message to server `n` was lost (its link was full).
    pub lost_to: u64,
}

/// The whole cluster. Servers are behind `Arc` so that a step copies only
/// the server it changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterState {
    /// The servers, by id.
    pub servers: Vec<Arc<Server>>,
    /// Messages in flight, sorted, each with its number of copies.
    pub network: Vec<(Envelope, u8)>,
    /// Values proposed so far (the next proposal is `proposed + 1`).
    pub proposed: u8,
    /// Election timeouts so far (counted only when bounded).
    pub elections: u8,
    /// Heartbeats so far (counted only when bounded).
    pub heartbeats: u8,
    /// Crashes so far.
    pub crashes: u8,
    /// Service snapshots so far.
    pub snapshots: u8,
    /// The ghost history the properties need.
    pub history: History<Value>,
    /// Bit `n`: server `n`'s identity matters to the bounds (it is named in
    /// the election order), so symmetry reduction must not rename it.
    pub pinned: u8,
}

impl ClusterView<Value, Applied> for ClusterState {
    fn size(&self) -> usize {
        self.servers.len()
    }
    fn node(&self, n: NodeId) -> Option<&ModelNode> {
        self.servers[n].node.as_ref()
    }
}

impl ClusterState {
    /// How many messages are in flight on `from -> to`.
    pub fn in_flight(&self, from: NodeId, to: NodeId) -> u8 {
        self.network.iter().filter(|(e, _)| e.from == from && e.to == to).map(|(_, c)| c).sum()
    }

    /// How many messages are in flight in the whole network.
    pub fn in_flight_total(&self) -> usize {
        self.network.iter().map(|(_, c)| *c as usize).sum()
    }

    /// Puts the messages of one step in flight. Each is lost if its link
    /// already holds `link_capacity` messages. Then, if what is left does
    /// not all fit under `network_capacity`, all of it is lost: which
    /// messages survive must not depend on server ids (the core sends in id
    /// order), or symmetry reduction would merge states whose futures differ.
    /// Returns what the link capacity did to them.
    pub fn send_all(&mut self, sends: Vec<Envelope>, link_capacity: u8, network_capacity: Option<u8>) -> ThroughLinks {
        let mut kept = Vec::with_capacity(sends.len());
        let mut through_links = ThroughLinks { kept: 0, lost_to: 0 };
        for envelope in sends {
            let queued = kept.iter().filter(|e: &&Envelope| e.from == envelope.from && e.to == envelope.to).count();
            if (self.in_flight(envelope.from, envelope.to) as usize) + queued < link_capacity as usize {
                kept.push(envelope);
            } else {
                through_links.lost_to |= 1 << envelope.to;
            }
        }
        through_links.kept = kept.len();
        if network_capacity.is_some_and(|cap| self.in_flight_total() + kept.len() > cap as usize) {
            return through_links;
        }
        for envelope in kept {
            match self.network.binary_search_by(|(e, _)| e.cmp(&envelope)) {
                Ok(k) => self.network[k].1 += 1,
                Err(k) => self.network.insert(k, (envelope, 1)),
            }
        }
        through_links
    }

    /// Takes one copy of in-flight message `k` out of the network.
    pub fn remove_one(&mut self, k: usize) -> Envelope {
        if self.network[k].1 > 1 {
            self.network[k].1 -= 1;
            self.network[k].0.clone()
        } else {
            self.network.remove(k).0
        }
    }
}
