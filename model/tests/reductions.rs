//! Every restriction that shrinks the state space must earn its place: on
//! small scopes, the node states reachable with it must be exactly those
//! reachable without it (up to renaming servers). A restriction that loses
//! a node state could hide a bug; it is then a bound, and says so.
//!
//! Node-state classes: the running nodes (and which servers are down),
//! renamed in every way the symmetry allows, the least fingerprint taken.
//! Symmetry reduction itself is checked the same way, on whole states, in
//! `model_checking.rs` (`symmetry_reduction_reaches_every_symmetry_class`).

use raftcheck_model::explore::bounds::{Bounds, Heartbeats, NetworkKind};
use raftcheck_model::explore::configs;
use raftcheck_model::explore::model::RaftModel;
use raftcheck_model::explore::search::fingerprint;
use raftcheck_model::explore::state::ClusterState;
use std::collections::HashSet;

mod renamings;
use renamings::least_over_renamings;

/// The exact class of `state`'s nodes: least fingerprint of the node
/// projection over every renaming of unpinned servers.
fn node_class(state: &ClusterState) -> u64 {
    least_over_renamings(state, |renamed| {
        let nodes: Vec<_> = renamed.servers.iter().map(|s| s.node.clone()).collect();
        fingerprint(&nodes)
    })
}

/// Every node-state class reachable in `bounds` (stored by `key`).
fn node_classes(bounds: &Bounds, key: fn(&ClusterState) -> u64) -> HashSet<u64> {
    let model = RaftModel::new(bounds.clone());
    let mut seen = HashSet::new();
    let mut classes = HashSet::new();
    let init = model.initial_state();
    seen.insert(key(&init));
    classes.insert(node_class(&init));
    let mut stack = vec![init];
    let mut actions = Vec::new();
    while let Some(state) = stack.pop() {
        actions.clear();
        model.enabled_actions(&state, &mut actions);
        for action in &actions {
            let Some(next) = model.successor(&state, action) else { continue };
            if seen.insert(key(&next)) {
                classes.insert(node_class(&next));
                stack.push(next);
            }
        }
    }
    classes
}

fn exact(state: &ClusterState) -> u64 {
    fingerprint(state)
}

fn small() -> Bounds {
    Bounds {
        max_term: 1,
        values: 2,
        one_value_per_term: false,
        crashes: 0,
        network: NetworkKind::Lossy,
        link_capacity: 2,
        network_capacity: None,
        max_entries_per_append: 1,
        ..configs::base()
    }
}

/// Compares the classes reachable in `full` and in `reduced`.
fn same_node_states(full: &Bounds, reduced: &Bounds, reduced_key: fn(&ClusterState) -> u64) {
    let all = node_classes(full, exact);
    let kept = node_classes(reduced, reduced_key);
    assert!(all.len() > 50, "the scope is not trivial: {}", all.len());
    let lost = all.difference(&kept).count();
    let extra = kept.difference(&all).count();
    assert_eq!((lost, extra), (0, 0), "{} classes in full, {} reduced: {}", all.len(), kept.len(), reduced.summary());
}

#[test]
fn heartbeats_only_while_a_peer_lags_lose_no_node_state() {
    for style in [raftcheck_core::HeartbeatStyle::Empty, raftcheck_core::HeartbeatStyle::WithEntries] {
        let always = Bounds {
            heartbeats: Heartbeats::Always,
            max_heartbeats: Some(1),
            heartbeat_style: style,
            link_capacity: 1,
            ..small()
        };
        let lagging = Bounds { heartbeats: Heartbeats::WhileLagging, ..always.clone() };
        same_node_states(&always, &lagging, exact);
    }
}

#[test]
fn crash_mid_step_adds_states_only_where_output_order_matters() {
    // Crashing between a step's outputs is a superset of crashing between
    // steps: nothing is lost by turning it on.
    let between = Bounds { crashes: 1, crash_mid_step: false, values: 1, link_capacity: 1, ..small() };
    let within = Bounds { crash_mid_step: true, ..between.clone() };
    let a = node_classes(&between, exact);
    let b = node_classes(&within, exact);
    assert!(a.len() > 50 && a.is_subset(&b), "{} classes between steps, {} within", a.len(), b.len());
}

#[test]
fn a_network_capacity_of_a_broadcast_loses_no_node_state() {
    // The whole-network cap loses a step's messages when they do not all
    // fit. With a cap of one broadcast (servers - 1) on a lossy network,
    // every node state stays reachable: more messages in flight at once
    // only add orders that a lossy network reaches anyway.
    let open = Bounds { link_capacity: 1, values: 1, ..small() };
    let capped = Bounds { network_capacity: Some(2), ..open.clone() };
    same_node_states(&open, &capped, exact);
}
