//! Symmetry reduction: servers are interchangeable, so a state and the same
//! state with servers renamed have the same future. The checker stores only
//! a canonical representative of each class.

use crate::core::node::Role;
use crate::core::types::NodeId;
use crate::explore::search::fingerprint;
use crate::explore::state::{ClusterState, Envelope, Server};
use std::cmp::Ordering;
use std::sync::Arc;

/// Orders servers by what they are, ignoring who they are, so that renamed
/// copies of a state sort the same way. Ties are left in id order; that only
/// makes the reduction less strong, never unsound.
fn compare_servers(a: &Server, b: &Server) -> Ordering {
    let key = |s: &Server| {
        s.node.as_ref().map(|n| {
            let role = match n.role() {
                Role::Follower => 0,
                Role::Candidate { votes } => 1 + votes.count_ones(),
                Role::Leader { .. } => 100,
            };
            (n.term(), role, n.voted_for().is_some(), n.commit_index(), n.last_applied())
        })
    };
    key(a)
        .cmp(&key(b))
        .then_with(|| {
            let logs = |s: &Server| s.node.as_ref().map(|n| (n.log().clone(), n.snapshot().cloned()));
            logs(a).cmp(&logs(b))
        })
        .then_with(|| (&a.persisted.log, a.persisted.term).cmp(&(&b.persisted.log, b.persisted.term)))
}

/// The fingerprint of `state`'s symmetry class: that of its canonical
/// member, computed without building it when `state` is canonical already.
pub fn class_fingerprint(state: &ClusterState) -> u64 {
    let order = canonical_order(state);
    if order.iter().enumerate().all(|(i, &o)| i == o) {
        fingerprint(state)
    } else {
        fingerprint(&relabel(state, &order))
    }
}

/// The canonical member of `state`'s symmetry class. Pinned servers keep
/// their ids; the others are sorted among the remaining slots.
pub fn representative(state: &ClusterState) -> ClusterState {
    relabel(state, &canonical_order(state))
}

/// The order of the canonical member: new server `k` is old `order[k]`.
fn canonical_order(state: &ClusterState) -> Vec<NodeId> {
    let n = state.servers.len();
    let is_pinned = |p: NodeId| state.pinned & (1 << p) != 0;
    let mut free: Vec<NodeId> = (0..n).filter(|&p| !is_pinned(p)).collect();
    free.sort_by(|&a, &b| compare_servers(&state.servers[a], &state.servers[b]));
    let mut free = free.into_iter();
    (0..n)
        .map(|slot| if is_pinned(slot) { slot } else { free.next().expect("one free server per free slot") })
        .collect()
}

/// `state` with its servers reordered: new server `k` is old server
/// `order[k]`, and every id inside the state is renamed to match.
pub fn relabel(state: &ClusterState, order: &[NodeId]) -> ClusterState {
    // order[new] = old; rename[old] = new.
    let mut rename = vec![0; order.len()];
    for (new, &old) in order.iter().enumerate() {
        rename[old] = new;
    }
    if rename.iter().enumerate().all(|(i, &r)| i == r) {
        return state.clone();
    }
    let servers = order
        .iter()
        .map(|&old| {
            let s = &state.servers[old];
            Arc::new(Server {
                node: s.node.as_ref().map(|node| node.relabeled(&rename)),
                persisted: s.persisted.relabeled(&rename),
                service: s.service.clone(),
            })
        })
        .collect();
    let mut network: Vec<(Envelope, u8)> = state
        .network
        .iter()
        .map(|(e, c)| (Envelope { from: rename[e.from], to: rename[e.to], message: e.message.clone() }, *c))
        .collect();
    network.sort();
    ClusterState {
        servers,
        network,
        proposed: state.proposed,
        elections: state.elections,
        heartbeats: state.heartbeats,
        crashes: state.crashes,
        snapshots: state.snapshots,
        history: state.history.relabeled(&rename),
        pinned: state.pinned,
    }
}
