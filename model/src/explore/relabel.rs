//! Renaming servers inside the parts of a model state, for the symmetry
//! reduction (`symmetry.rs`): `rename[p]` is the new id of
//! server `p`, a permutation of `0..n`.
//!
//! Each `relabel_*` builds the renamed value; each `hash_relabeled_*` feeds a
//! hasher what tells the renamed value apart without building it (every
//! field, ids renamed, per-server slots in their new order), so that a
//! class can be fingerprinted without cloning. Keep each pair in step.

use raftcheck_core::properties::{Breach, History};
use raftcheck_core::{Command, Node, NodeId, NodeParts, PersistentState, Role, SnapshotData};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Renames the members of a set of ids kept as a bitmask.
pub fn relabel_set(set: u64, rename: &[NodeId]) -> u64 {
    (0..rename.len()).filter(|&p| set & (1 << p) != 0).fold(0, |acc, p| acc | 1 << rename[p])
}

/// Moves each per-server slot `p` to `rename[p]`.
fn relabel_slots<T: Clone>(values: &[T], rename: &[NodeId]) -> Vec<T> {
    let mut out = values.to_vec();
    for (p, v) in values.iter().enumerate() {
        out[rename[p]] = v.clone();
    }
    out
}

/// The same node with every server id renamed.
pub fn relabel_node<C: Command, D: SnapshotData>(node: &Node<C, D>, rename: &[NodeId]) -> Node<C, D> {
    let mut parts: NodeParts<C, D> = node.clone().into_parts();
    parts.id = rename[parts.id];
    parts.voted_for = parts.voted_for.map(|v| rename[v]);
    parts.role = match parts.role {
        Role::Follower => Role::Follower,
        Role::Candidate { votes } => Role::Candidate { votes: relabel_set(votes, rename) },
        Role::Leader { next_index, match_index } => Role::Leader {
            next_index: relabel_slots(&next_index, rename),
            match_index: relabel_slots(&match_index, rename),
        },
    };
    Node::from_parts(parts)
}

/// Feeds `hasher` what tells [`relabel_node`]`(node, rename)` apart.
pub fn hash_relabeled_node<C: Command, D: SnapshotData, H: Hasher>(
    node: &Node<C, D>,
    rename: &[NodeId],
    hasher: &mut H,
) {
    rename[node.id()].hash(hasher);
    node.term().hash(hasher);
    node.voted_for().map(|v| rename[v]).hash(hasher);
    node.log().hash(hasher);
    node.snapshot().hash(hasher);
    match node.role() {
        Role::Follower => 0u8.hash(hasher),
        Role::Candidate { votes } => (1u8, relabel_set(*votes, rename)).hash(hasher),
        Role::Leader { next_index, match_index } => {
            2u8.hash(hasher);
            // Slot k of the relabeled vector is old slot order[k], where
            // rename[order[k]] == k.
            // (A cluster has at most 64 servers: `Config::MAX_CLUSTER_SIZE`.)
            let mut order = [0u8; 64];
            for (p, &k) in rename.iter().enumerate() {
                order[k] = p as u8;
            }
            for slots in [next_index, match_index] {
                for &p in &order[..rename.len()] {
                    slots[p as usize].hash(hasher);
                }
            }
        }
    }
    node.commit_index().hash(hasher);
    node.last_applied().hash(hasher);
}

/// The same persisted state with its vote renamed.
pub fn relabel_persisted<C: Clone, D: Clone>(
    state: &PersistentState<C, D>,
    rename: &[NodeId],
) -> PersistentState<C, D> {
    PersistentState { voted_for: state.voted_for.map(|v| rename[v]), ..state.clone() }
}

/// Feeds `hasher` what tells [`relabel_persisted`]`(state, rename)` apart.
pub fn hash_relabeled_persisted<C: Hash, D: Hash, H: Hasher>(
    state: &PersistentState<C, D>,
    rename: &[NodeId],
    hasher: &mut H,
) {
    let PersistentState { term, voted_for, log, snapshot } = state;
    term.hash(hasher);
    voted_for.map(|v| rename[v]).hash(hasher);
    log.hash(hasher);
    snapshot.hash(hasher);
}

/// The same ghost history with every server id renamed.
pub fn relabel_history<C: Clone>(history: &History<C>, rename: &[NodeId]) -> History<C> {
    History {
        leaders: history.leaders.iter().map(|l| l.map(|p| rename[p])).collect(),
        restarted: relabel_set(history.restarted, rename),
        detail: history.detail.as_ref().map(|breach| Arc::new(relabel_breach(breach, rename))),
        ..history.clone()
    }
}

/// The same breach with its nodes renamed (its words keep the old ids:
/// they describe the state the search found, before renaming).
fn relabel_breach(breach: &Breach, rename: &[NodeId]) -> Breach {
    Breach { nodes: breach.nodes.iter().map(|&p| rename[p]).collect(), ..breach.clone() }
}

/// Feeds `hasher` what tells [`relabel_history`]`(history, rename)` apart.
pub fn hash_relabeled_history<C: Hash, H: Hasher>(history: &History<C>, rename: &[NodeId], hasher: &mut H) {
    let History { leaders, committed, applied, broken, detail, restarted, events } = history;
    leaders.len().hash(hasher);
    for leader in leaders {
        leader.map(|p| rename[p]).hash(hasher);
    }
    committed.hash(hasher);
    applied.hash(hasher);
    broken.hash(hasher);
    match detail {
        None => 0u8.hash(hasher),
        Some(breach) => {
            1u8.hash(hasher);
            // Not its words: they name the ids of the state the search
            // found, so renamed copies would hash apart.
            let renamed = relabel_breach(breach, rename);
            (renamed.property, renamed.nodes, renamed.term, renamed.index).hash(hasher);
        }
    }
    relabel_set(*restarted, rename).hash(hasher);
    events.hash(hasher);
}
