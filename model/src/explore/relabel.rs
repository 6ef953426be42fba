//! Renaming servers inside the parts of a model state, for the symmetry
//! reduction (`symmetry.rs`): `rename[p]` is the new id of
//! server `p`, a permutation of `0..n`.
//!
//! Each `relabel_*` builds the renamed value; the `hash_*` functions feed a
//! hasher what tells the renamed value apart without building it, so that
//! a class can be fingerprinted without cloning. A server is fed in two
//! parts: what holds no id ([`hash_id_free_server`], which the state keeps
//! as a 64-bit digest per server, `SharedServer::digest`) and the ids it
//! holds, renamed ([`hash_relabeled_server_ids`]); the history field by
//! field, ids renamed. Keep the relabeling and the hashing in step.

use crate::explore::state::Server;
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

/// The same persisted state with its vote renamed.
pub fn relabel_persisted<C: Clone, D: Clone>(
    state: &PersistentState<C, D>,
    rename: &[NodeId],
) -> PersistentState<C, D> {
    PersistentState { voted_for: state.voted_for.map(|v| rename[v]), ..state.clone() }
}

/// Feeds `hasher` the parts of `server` that hold no server id: the same
/// in every renaming. With [`hash_relabeled_server_ids`] it tells
/// `server` renamed apart: together they hash every field of the node
/// (`NodeParts`), of what it persisted and of its service.
pub fn hash_id_free_server<H: Hasher>(server: &Server, hasher: &mut H) {
    let Server { node, persisted, service } = server;
    match node {
        None => 0u8.hash(hasher),
        Some(node) => {
            1u8.hash(hasher);
            node.term().hash(hasher);
            node.log().hash(hasher);
            node.snapshot().hash(hasher);
            node.commit_index().hash(hasher);
            node.last_applied().hash(hasher);
        }
    }
    let PersistentState { term, voted_for: _, log, snapshot } = persisted;
    (term, log, snapshot).hash(hasher);
    service.hash(hasher);
}

/// Feeds `hasher` the ids `server` holds, renamed: the node's own, its
/// vote, its votes as a candidate and its slots as a leader (in their new
/// order), and the persisted vote. The small ones go in one word (an id is
/// below 64, `Config::MAX_CLUSTER_SIZE`), as do a leader's two slots for a
/// server while both fit in 32 bits: each word fed costs a multiply.
pub fn hash_relabeled_server_ids<H: Hasher>(server: &Server, rename: &[NodeId], hasher: &mut H) {
    // 0 for none, else the renamed id plus one.
    let renamed = |id: Option<NodeId>| id.map_or(0, |p| rename[p] as u64 + 1);
    let mut ids = renamed(server.persisted.voted_for);
    let Some(node) = &server.node else {
        hasher.write_u64(ids);
        return;
    };
    ids |= renamed(Some(node.id())) << 8 | renamed(node.voted_for()) << 16;
    match node.role() {
        Role::Follower => hasher.write_u64(ids),
        Role::Candidate { votes } => {
            hasher.write_u64(ids | 1 << 24);
            hasher.write_u64(relabel_set(*votes, rename));
        }
        Role::Leader { next_index, match_index } => {
            let narrow = next_index.iter().chain(match_index).all(|&i| i < 1 << 32);
            // The tag says how the slots are fed, so the two ways never
            // feed the same words.
            let tag: u64 = if narrow { 2 } else { 3 };
            hasher.write_u64(ids | tag << 24);
            // Slot k of the relabeled vectors is old slot order[k], where
            // rename[order[k]] == k.
            let mut order = [0u8; 64];
            for (p, &k) in rename.iter().enumerate() {
                order[k] = p as u8;
            }
            for &p in &order[..rename.len()] {
                let (next, matched) = (next_index[p as usize], match_index[p as usize]);
                if narrow {
                    hasher.write_u64(next | matched << 32);
                } else {
                    hasher.write_u64(next);
                    hasher.write_u64(matched);
                }
            }
        }
    }
}

/// The same ghost history with every server id renamed.
pub fn relabel_history<C: Clone>(history: &History<C>, rename: &[NodeId]) -> History<C> {
    History {
        leaders: Arc::new(history.leaders.iter().map(|l| l.map(|p| rename[p])).collect()),
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
    // Eight leaders to a word: 0 for none, else the renamed id plus one
    // (below 65, `Config::MAX_CLUSTER_SIZE`).
    leaders.len().hash(hasher);
    for eight in leaders.chunks(8) {
        let word = eight.iter().enumerate().map(|(k, leader)| leader.map_or(0, |p| rename[p] as u64 + 1) << (8 * k));
        hasher.write_u64(word.fold(0, |word, leader| word | leader));
    }
    committed.hash(hasher);
    applied.hash(hasher);
    let small = u64::from(*broken) | u64::from(*events) << 16 | u64::from(detail.is_some()) << 24;
    hasher.write_u64(small);
    hasher.write_u64(relabel_set(*restarted, rename));
    match detail {
        None => {}
        Some(breach) => {
            // Not its words: they name the ids of the state the search
            // found, so renamed copies would hash apart.
            let renamed = relabel_breach(breach, rename);
            (renamed.property, renamed.nodes, renamed.term, renamed.index).hash(hasher);
        }
    }
}
