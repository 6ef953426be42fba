//! Vocabulary shared by every part of the core: ids, terms, indices, entries.

use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::hash::Hash;

/// A server's identity: its position in the cluster, `0..cluster_size`.
pub type NodeId = usize;

/// A Raft term. Terms start at 0; the first election produces term 1.
pub type Term = u64;

/// A global log index. Index 0 is the empty prefix; the first entry is 1.
/// Indices are global everywhere: only [`crate::Log`] knows the snapshot offset.
pub type Index = u64;

/// What the core needs of a client command: it is copied, compared and hashed,
/// never interpreted. The model uses small integers, the runtime bytes.
pub trait Command: Clone + Debug + Eq + Hash + Ord + Send + Sync + 'static {}
impl<T: Clone + Debug + Eq + Hash + Ord + Send + Sync + 'static> Command for T {}

/// What the core needs of a service snapshot: an opaque value it stores,
/// persists and ships to lagging followers.
pub trait SnapshotData: Clone + Debug + Eq + Hash + Ord + Send + Sync + 'static {}
impl<T: Clone + Debug + Eq + Hash + Ord + Send + Sync + 'static> SnapshotData for T {}

/// One log entry: a command and the term in which a leader created it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry<C> {
    /// The term of the leader that appended this entry.
    pub term: Term,
    /// The client's command.
    pub command: C,
}

/// The snapshot a node holds: the service state through `last_index`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Snapshot<D> {
    /// The last log index the snapshot covers.
    pub last_index: Index,
    /// The term of the entry at `last_index`.
    pub last_term: Term,
    /// The service's state after applying entries `1..=last_index`.
    pub data: D,
}

/// The size of a majority of `cluster_size` servers (Raft §5.2).
pub fn majority(cluster_size: usize) -> usize {
    cluster_size / 2 + 1
}
