//! The state of a whole bounded cluster: nodes, what each persisted, what
//! each service applied, the messages in flight, the budgets used, and the
//! ghost history that the history-dependent properties need.

use crate::explore::relabel::hash_id_free_server;
use crate::explore::search::fingerprint_hasher;
use raftcheck_core::io::Message;
use raftcheck_core::node::{Node, PersistentState};
use raftcheck_core::properties::{ClusterView, History, ServiceState, SnapshotContents};
use raftcheck_core::types::NodeId;
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
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

/// A part of a state shared between the states that have it unchanged (a
/// step copies only what it changes), with a 64-bit digest of it computed
/// at most once and then read by every state that shares it: servers
/// ([`SharedServer`]) and messages ([`SharedMessage`]).
///
/// Invariant: the digest, once computed, is that of the value as it is.
/// The value can be changed only through [`Digested::make_mut`], which
/// forgets it; a copy starts without one.
pub struct Digested<T>(Arc<WithDigest<T>>);

/// What a [`Digested`] digests of its value.
pub trait Digest {
    /// Feeds `hasher` what the digest covers.
    fn feed<H: Hasher>(&self, hasher: &mut H);
}

/// A server's digest covers what it is apart from the ids it holds (see
/// [`hash_id_free_server`]): it is the same in every renaming of a state.
pub type SharedServer = Digested<Server>;

/// A message's digest covers all of it (a message holds no server id; its
/// link is the envelope's).
pub type SharedMessage = Digested<ModelMessage>;

impl Digest for Server {
    fn feed<H: Hasher>(&self, hasher: &mut H) {
        hash_id_free_server(self, hasher);
    }
}

impl Digest for ModelMessage {
    fn feed<H: Hasher>(&self, hasher: &mut H) {
        self.hash(hasher);
    }
}

struct WithDigest<T> {
    value: T,
    /// The digest, 0 until computed (a digest of 0 is stored as 1).
    digest: AtomicU64,
}

impl<T: Clone> Clone for WithDigest<T> {
    fn clone(&self) -> Self {
        WithDigest { value: self.value.clone(), digest: AtomicU64::new(0) }
    }
}

impl<T> Clone for Digested<T> {
    fn clone(&self) -> Self {
        Digested(Arc::clone(&self.0))
    }
}

impl<T> Digested<T> {
    /// Shares `value`.
    pub fn new(value: T) -> Self {
        Digested(Arc::new(WithDigest { value, digest: AtomicU64::new(0) }))
    }
}

impl<T: Digest + Clone> Digested<T> {
    /// The value, to change: copied first if another state shares it.
    pub fn make_mut(&mut self) -> &mut T {
        let own = Arc::make_mut(&mut self.0);
        *own.digest.get_mut() = 0;
        &mut own.value
    }

    /// The value's digest (see [`Digest`]), computed on the first call.
    pub fn digest(&self) -> u64 {
        match self.0.digest.load(Ordering::Relaxed) {
            0 => {
                let mut hasher = fingerprint_hasher();
                self.0.value.feed(&mut hasher);
                let digest = hasher.finish().max(1);
                // Threads that race here store the same value.
                self.0.digest.store(digest, Ordering::Relaxed);
                digest
            }
            digest => digest,
        }
    }
}

impl<T> std::ops::Deref for Digested<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.value
    }
}

impl<T: PartialEq> PartialEq for Digested<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || **self == **other
    }
}

impl<T: Eq> Eq for Digested<T> {}

impl<T: PartialOrd> PartialOrd for Digested<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: Ord> Ord for Digested<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

/// The value's own hash, not the digest: a state's plain fingerprint is
/// the same as if nothing were shared.
impl<T: Hash> Hash for Digested<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Digested<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: Serialize> Serialize for Digested<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Digested<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Digested::new)
    }
}

/// A message in flight on the directed link `from -> to`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// What is sent.
    pub message: SharedMessage,
}

/// What the link capacity did to the messages of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThroughLinks {
    /// How many it let through.
    pub kept: usize,
    /// Bit `n`: a message to server `n` was lost (its link was full).
    pub lost_to: u64,
}

/// The whole cluster. Servers are shared so that a step copies only the
/// server it changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterState {
    /// The servers, by id.
    pub servers: Vec<SharedServer>,
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

/// The servers of a state seen as a cluster: what the ghost history's
/// properties read. It borrows the servers apart from the state's history,
/// so that the history can be updated in place while it observes them
/// (taking the history out would build a placeholder).
pub struct ServersView<'a>(pub &'a [SharedServer]);

impl ClusterView<Value, Applied> for ServersView<'_> {
    fn size(&self) -> usize {
        self.0.len()
    }
    fn node(&self, n: NodeId) -> Option<&ModelNode> {
        self.0[n].node.as_ref()
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

#[cfg(test)]
mod tests {
    use super::*;
    use raftcheck_core::node::NodeParts;

    fn server(id: NodeId, term: u64, voted_for: Option<NodeId>) -> Server {
        let mut parts: NodeParts<Value, Applied> = Node::new(id).into_parts();
        parts.term = term;
        parts.voted_for = voted_for;
        Server { node: Some(Node::from_parts(parts)), persisted: Default::default(), service: Default::default() }
    }

    /// The digest follows every change made through `make_mut`, whether the
    /// server was shared (copied) or not, and ignores the ids the server
    /// holds.
    #[test]
    fn a_servers_digest_is_that_of_the_server_as_it_is_now_without_its_ids() {
        let mut shared = SharedServer::new(server(0, 1, Some(2)));
        let before = shared.digest();
        let other_ids = SharedServer::new(server(1, 1, Some(0)));
        assert_eq!(other_ids.digest(), before, "the ids changed the digest");

        let copy = shared.clone();
        let mut parts = shared.make_mut().node.take().expect("running").into_parts();
        parts.term = 2;
        shared.make_mut().node = Some(Node::from_parts(parts));
        assert_eq!(copy.digest(), before, "the copy changed with the original");
        let after = shared.digest();
        assert_ne!(after, before, "a changed term kept the digest");
        assert_eq!(after, SharedServer::new(server(0, 2, Some(2))).digest());

        // Not shared any more: changed in place.
        shared.make_mut().node = None;
        assert_ne!(shared.digest(), after, "a crash kept the digest");
    }
}
