//! The state of a whole bounded cluster: nodes, what each persisted, the
//! messages in flight, the budgets used, and the ghost history that the
//! history-dependent properties need.

use crate::core::io::Message;
use crate::core::node::{Node, PersistentState};
use crate::core::types::{NodeId, Term};
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

/// One server: running or down, and what it last persisted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Server {
    /// The running node, or `None` while crashed.
    pub node: Option<ModelNode>,
    /// What the node last persisted. Once no crash is left in the budget a
    /// running node can never restart, so this is cleared to the default
    /// (it can no longer influence anything) and equal states merge.
    pub persisted: ModelPersistent,
}

/// A message in flight on the directed link `from -> to`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Envelope {
    pub from: NodeId,
    pub to: NodeId,
    pub message: ModelMessage,
}

/// The history-dependent facts that no single state shows. Each flag is set
/// by the transition that broke (or witnessed) it and never cleared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ghost {
    /// `leaders[t]`: the node seen as leader in term `t`, if any.
    pub leaders: Vec<Option<NodeId>>,
    /// The longest committed prefix any node has had, by index: each value
    /// with the term of the node that first reported it committed (at or
    /// after the term in which it was really committed).
    pub committed: Vec<(Value, Term)>,
    /// The longest applied sequence any node has had (values by index).
    pub applied: Vec<Value>,
    /// Two nodes were leaders of one term (Raft §5.2, Election Safety).
    pub two_leaders: Option<Term>,
    /// Two running nodes' logs had an entry with the same index and term but
    /// different entries before it (§5.3, Log Matching).
    pub log_mismatch: bool,
    /// A leader lacked a committed entry (§5.4, Leader Completeness).
    pub leader_incomplete: bool,
    /// Two nodes committed different values at one index (§5.4.3).
    pub commit_conflict: bool,
    /// Two nodes applied different values at one index.
    pub apply_conflict: bool,
    /// A running node's commit or applied index went down.
    pub went_backwards: bool,
    /// Some node installed a snapshot sent by a leader.
    pub snapshot_installed: bool,
    /// Bit `n`: node `n` has restarted at least once.
    pub restarted: u8,
}

impl Ghost {
    /// Whether any safety property has been broken on the way here.
    pub fn violated(&self) -> bool {
        self.two_leaders.is_some()
            || self.log_mismatch
            || self.leader_incomplete
            || self.commit_conflict
            || self.apply_conflict
            || self.went_backwards
    }
}

/// The whole cluster. Servers are behind `Arc` so that a step copies only
/// the server it changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClusterState {
    pub servers: Vec<Arc<Server>>,
    /// Messages in flight, sorted, each with its number of copies.
    pub network: Vec<(Envelope, u8)>,
    /// Values proposed so far (the next proposal is `proposed + 1`).
    pub proposed: u8,
    /// Election timeouts so far.
    pub elections: u8,
    /// Heartbeats so far.
    pub heartbeats: u8,
    /// Crashes so far.
    pub crashes: u8,
    /// Service snapshots so far.
    pub snapshots: u8,
    pub ghost: Ghost,
    /// Bit `n`: server `n`'s identity matters to the bounds (it is named in
    /// the election order), so symmetry reduction must not rename it.
    pub pinned: u8,
}

impl ClusterState {
    /// The running node `n`, if it is up.
    pub fn node(&self, n: NodeId) -> Option<&ModelNode> {
        self.servers[n].node.as_ref()
    }

    /// How many messages are in flight on `from -> to`.
    pub fn in_flight(&self, from: NodeId, to: NodeId) -> u8 {
        self.network.iter().filter(|(e, _)| e.from == from && e.to == to).map(|(_, c)| c).sum()
    }

    /// Puts the messages of one step in flight. Each is lost if its link
    /// already holds `link_cap` messages. Then, if what is left does not all
    /// fit under `network_cap`, all of it is lost: which messages survive
    /// must not depend on server ids (the core sends in id order), or
    /// symmetry reduction would merge states whose futures differ.
    pub fn send_all(&mut self, sends: Vec<Envelope>, link_cap: u8, network_cap: Option<u8>) {
        let mut kept = Vec::with_capacity(sends.len());
        for envelope in sends {
            let queued = kept.iter().filter(|e: &&Envelope| e.from == envelope.from && e.to == envelope.to).count();
            if (self.in_flight(envelope.from, envelope.to) as usize) + queued < link_cap as usize {
                kept.push(envelope);
            }
        }
        if let Some(cap) = network_cap {
            let in_flight: usize = self.network.iter().map(|(_, c)| *c as usize).sum();
            if in_flight + kept.len() > cap as usize {
                return;
            }
        }
        for envelope in kept {
            match self.network.binary_search_by(|(e, _)| e.cmp(&envelope)) {
                Ok(k) => self.network[k].1 += 1,
                Err(k) => self.network.insert(k, (envelope, 1)),
            }
        }
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

/// The values of a node's whole log, compacted prefix included: the
/// snapshot's applied values, then the retained entries' values.
pub fn log_values(node: &ModelNode) -> impl Iterator<Item = Value> + '_ {
    let compacted = node.snapshot().map(|d| d.as_slice()).unwrap_or(&[]);
    compacted.iter().copied().chain(node.log().retained().iter().map(|e| e.command))
}

/// The values a node has applied, by index: what its service state is.
pub fn applied_values(node: &ModelNode) -> Applied {
    log_values(node).take(node.last_applied() as usize).collect()
}
