//! Symmetry reduction: servers are interchangeable, so a state and the same
//! state with servers renamed have the same future. The checker stores only
//! a canonical representative of each class.

use crate::explore::relabel::{
    hash_relabeled_history, hash_relabeled_server_ids, relabel_history, relabel_node, relabel_persisted,
};
use crate::explore::search::fingerprint_hasher;
use crate::explore::state::{Applied, ClusterState, Envelope, Server, SharedServer, Value};
use raftcheck_core::log::Log;
use raftcheck_core::node::Role;
use raftcheck_core::types::NodeId;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

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
        .then_with(|| logs(a).cmp(&logs(b)))
        .then_with(|| (&a.persisted.log, a.persisted.term).cmp(&(&b.persisted.log, b.persisted.term)))
}

/// A server's log and snapshot, borrowed for comparing.
fn logs(s: &Server) -> Option<(&Log<Value>, Option<&Applied>)> {
    s.node.as_ref().map(|n| (n.log(), n.snapshot()))
}

/// The most servers a scope has (`Bounds` allows 1 to 5): the canonical
/// order fits in an array of this size, so computing it allocates nothing.
const MAX_SERVERS: usize = 8;

/// A renaming of at most [`MAX_SERVERS`] servers, on the stack.
struct Renaming {
    len: usize,
    /// `order[new] = old`.
    order: [NodeId; MAX_SERVERS],
    /// `rename[old] = new`.
    rename: [NodeId; MAX_SERVERS],
}

impl Renaming {
    fn is_identity(&self) -> bool {
        self.order[..self.len].iter().enumerate().all(|(i, &o)| i == o)
    }
}

/// The fingerprint of `state`'s symmetry class: states whose canonical
/// members are equal get the same fingerprint, and different ones differ
/// but for a 64-bit collision. The canonical member is hashed in place
/// (ids renamed, servers and messages in its order) rather than built,
/// which would clone every server; a server's id-free part and a message
/// go in as the 64-bit digests the state keeps with them.
pub fn class_fingerprint(state: &ClusterState) -> u64 {
    let renaming = canonical_renaming(state);
    let mut hasher = fingerprint_hasher();
    hash_relabeled(state, &renaming, &mut hasher);
    hasher.finish()
}

/// Feeds `hasher` what tells `relabel(state, order)` apart, built from
/// `state` on the fly: each field of the relabeled state, a server as its
/// id-free digest and its renamed ids, a message as its digest.
fn hash_relabeled<H: Hasher>(state: &ClusterState, renaming: &Renaming, hasher: &mut H) {
    let ClusterState { servers, network, proposed, elections, heartbeats, crashes, snapshots, history, pinned } = state;
    let n = renaming.len;
    let (order, rename) = (&renaming.order[..n], &renaming.rename[..n]);
    n.hash(hasher);
    for &old in order {
        hasher.write_u64(servers[old].digest());
        hash_relabeled_server_ids(&servers[old], rename, hasher);
    }
    // The relabeled network is sorted by (new from, new to, message); the
    // messages of one link are already sorted, so sorting the entries by
    // their renamed link (keeping each link's in its order) gives its
    // order.
    network.len().hash(hasher);
    let mut links = LinkOrder::default();
    for (envelope, copies) in links.sorted(network, rename) {
        (rename[envelope.from], rename[envelope.to], envelope.message.digest(), copies).hash(hasher);
    }
    (proposed, elections, heartbeats, crashes, snapshots).hash(hasher);
    hash_relabeled_history(history, rename, hasher);
    pinned.hash(hasher);
}

/// The most in-flight entries whose renamed order is sorted on the stack;
/// a network with more is sorted in a `Vec`.
const STACK_ENTRIES: usize = 16;

/// Sorts a network's entries by their renamed link without allocating
/// (for up to [`STACK_ENTRIES`] entries).
#[derive(Default)]
struct LinkOrder {
    on_stack: [(usize, usize); STACK_ENTRIES],
    spilled: Vec<(usize, usize)>,
}

impl LinkOrder {
    /// `network`'s entries ordered by (renamed sender, renamed receiver),
    /// entries of one link in their order in `network`.
    fn sorted<'a>(
        &'a mut self,
        network: &'a [(Envelope, u8)],
        rename: &'a [NodeId],
    ) -> impl Iterator<Item = &'a (Envelope, u8)> + 'a {
        let n = rename.len();
        let keys = network.iter().enumerate().map(|(k, (e, _))| (rename[e.from] * n + rename[e.to], k));
        let order: &mut [(usize, usize)] = if network.len() <= STACK_ENTRIES {
            for (slot, key) in self.on_stack.iter_mut().zip(keys) {
                *slot = key;
            }
            &mut self.on_stack[..network.len()]
        } else {
            self.spilled.extend(keys);
            &mut self.spilled
        };
        // Keys are distinct (the position breaks ties), so an unstable sort
        // keeps each link's entries in their order.
        order.sort_unstable();
        order.iter().map(move |&(_, k)| &network[k])
    }
}

/// The ids of `state`'s servers in the canonical member of its class:
/// server `p` is server `canonical_ids(state)[p]` there.
pub fn canonical_ids(state: &ClusterState) -> Vec<NodeId> {
    let renaming = canonical_renaming(state);
    renaming.rename[..renaming.len].to_vec()
}

/// The canonical member of `state`'s symmetry class. Pinned servers keep
/// their ids; the others are sorted among the remaining slots.
pub fn representative(state: &ClusterState) -> ClusterState {
    let renaming = canonical_renaming(state);
    if renaming.is_identity() {
        return state.clone();
    }
    relabel(state, &renaming.order[..renaming.len])
}

/// The renaming to the canonical member: pinned servers stay, the others
/// are sorted by [`compare_servers`] into the free slots.
fn canonical_renaming(state: &ClusterState) -> Renaming {
    let n = state.servers.len();
    assert!(n <= MAX_SERVERS, "at most {MAX_SERVERS} servers");
    let is_pinned = |p: NodeId| state.pinned & (1 << p) != 0;
    let mut free = [0; MAX_SERVERS];
    let mut free_len = 0;
    for p in (0..n).filter(|&p| !is_pinned(p)) {
        free[free_len] = p;
        free_len += 1;
    }
    free[..free_len].sort_by(|&a, &b| compare_servers(&state.servers[a], &state.servers[b]));
    let mut renaming = Renaming { len: n, order: [0; MAX_SERVERS], rename: [0; MAX_SERVERS] };
    let mut next_free = free[..free_len].iter();
    for slot in 0..n {
        let old = if is_pinned(slot) { slot } else { *next_free.next().expect("one free server per free slot") };
        renaming.order[slot] = old;
        renaming.rename[old] = slot;
    }
    renaming
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
            SharedServer::new(Server {
                node: s.node.as_ref().map(|node| relabel_node(node, &rename)),
                persisted: relabel_persisted(&s.persisted, &rename),
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
        history: relabel_history(&state.history, &rename),
        pinned: state.pinned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::configs;
    use crate::explore::model::RaftModel;
    use crate::explore::search::fingerprint;
    use std::collections::{HashMap, HashSet};

    /// The first `count` states of `config` in breadth-first order.
    fn reachable(config: &str, count: usize) -> Vec<ClusterState> {
        let model = RaftModel::new(configs::named(config).expect("a named configuration").bounds);
        let init = model.initial_state();
        let mut seen = HashSet::from([fingerprint(&init)]);
        let mut states = vec![init];
        let mut actions = Vec::new();
        let mut k = 0;
        while k < states.len() && states.len() < count {
            actions.clear();
            model.enabled_actions(&states[k], &mut actions);
            for action in &actions {
                if let Some(next) = model.successor(&states[k], action) {
                    if seen.insert(fingerprint(&next)) {
                        states.push(next);
                    }
                }
            }
            k += 1;
        }
        states
    }

    /// Every order of `0..n`.
    fn orders(n: usize) -> Vec<Vec<NodeId>> {
        if n == 0 {
            return vec![Vec::new()];
        }
        let mut all = Vec::new();
        for shorter in orders(n - 1) {
            for at in 0..n {
                let mut order = shorter.clone();
                order.insert(at, n - 1);
                all.push(order);
            }
        }
        all
    }

    #[test]
    fn the_class_fingerprint_is_that_of_the_canonical_member_and_tells_classes_apart() {
        // `wide` has 5 servers and no pinned one; `default` has crashes and
        // snapshots; `m10` pins two of its 5 servers (its election order).
        for config in ["default", "wide", "m10"] {
            let mut by_fingerprint: HashMap<u64, ClusterState> = HashMap::new();
            let (mut renamed_copies, mut merged) = (0, 0);
            for state in reachable(config, 2_000) {
                let n = state.servers.len();
                let keeps_pins = |o: &Vec<NodeId>| (0..n).all(|p| state.pinned & (1 << p) == 0 || o[p] == p);
                for order in orders(n).into_iter().filter(keeps_pins) {
                    let renamed = relabel(&state, &order);
                    let canonical = representative(&renamed);
                    let class = class_fingerprint(&renamed);
                    assert_eq!(
                        class_fingerprint(&canonical),
                        class,
                        "{config}: not a function of the canonical member"
                    );
                    let earlier = by_fingerprint.entry(class).or_insert_with(|| canonical.clone());
                    assert_eq!(*earlier, canonical, "{config}: two canonical members share a fingerprint");
                    if order.iter().enumerate().any(|(i, &o)| i != o) {
                        renamed_copies += 1;
                        merged += usize::from(class == class_fingerprint(&state));
                    }
                }
            }
            assert!(by_fingerprint.len() > 50, "{config}: only {} classes", by_fingerprint.len());
            // Most renamed copies fall into their original's class (ties
            // between servers are left in id order, so not all do).
            assert!(merged * 2 > renamed_copies, "{config}: {merged} of {renamed_copies} renamed copies merged");
        }
    }
}
