//! The cluster-wide safety properties (Raft §5.2-§5.4 and Figure 3), their
//! ghost bookkeeping, and the vacuity checks that prove a scope does
//! something. Shared by the model checker and (later) the trace validator.

use crate::core::types::{Index, NodeId};
use crate::explore::bounds::Bounds;
use crate::explore::model::RaftModel;
use crate::explore::state::{log_values, ClusterState, Ghost, ModelNode, Value};
use stateright::Property;
use std::sync::atomic::Ordering;

/// Records that values `values` were applied at indices `first..`: each
/// must agree with what any node applied there before.
pub fn record_applied(ghost: &mut Ghost, first: Index, values: &[Value]) {
    for (k, &value) in values.iter().enumerate() {
        let index = first as usize + k;
        match ghost.applied.get(index - 1) {
            Some(&seen) if seen != value => ghost.apply_conflict = true,
            Some(_) => {}
            None if index == ghost.applied.len() + 1 => ghost.applied.push(value),
            None => {}
        }
    }
}

/// Updates the ghost after node `n` stepped: who leads which term, what is
/// committed, and whether every leader holds every committed entry.
pub fn record_step(state: &mut ClusterState, n: NodeId) {
    let Some(node) = state.servers[n].node.as_ref() else { return };
    let ghost = &mut state.ghost;
    // Election Safety (§5.2): at most one leader per term, over all time.
    if node.is_leader() {
        if let Some(slot) = ghost.leaders.get_mut(node.term() as usize) {
            match *slot {
                Some(other) if other != n => ghost.two_leaders = Some(node.term()),
                _ => *slot = Some(n),
            }
        }
    }
    // Log Matching (§5.3): only the stepped node's log changed.
    if state
        .servers
        .iter()
        .enumerate()
        .any(|(m, other)| m != n && other.node.as_ref().is_some_and(|o| !logs_match(node, o)))
    {
        ghost.log_mismatch = true;
    }
    // State Machine Safety (§5.4.3): committed prefixes never disagree.
    for (k, value) in log_values(node).take(node.commit_index() as usize).enumerate() {
        match ghost.committed.get(k) {
            Some(&(seen, _)) if seen != value => ghost.commit_conflict = true,
            Some(_) => {}
            None => ghost.committed.push((value, node.term())),
        }
    }
    // Leader Completeness (§5.4): a leader holds every entry committed in
    // an earlier term.
    let committed = &ghost.committed;
    let incomplete = state
        .servers
        .iter()
        .filter_map(|s| s.node.as_ref())
        .filter(|l| l.is_leader())
        .any(|l| !holds_committed(l, committed));
    if incomplete {
        state.ghost.leader_incomplete = true;
    }
}

/// Whether leader `node` holds every entry committed before its term.
fn holds_committed(node: &ModelNode, committed: &[(Value, crate::core::types::Term)]) -> bool {
    let mut values = log_values(node);
    committed.iter().all(|&(v, term)| {
        let mine = values.next();
        term >= node.term() || mine == Some(v)
    })
}

/// Log Matching (§5.3) for two logs: if they have an entry with the same
/// index and term, they are identical in all entries up through that index.
/// (It suffices to compare the prefixes up to the highest such index.)
pub fn logs_match(a: &ModelNode, b: &ModelNode) -> bool {
    let top = a.log().last_index().min(b.log().last_index());
    let same_term = |k: Index| matches!((a.log().term_at(k), b.log().term_at(k)), (Some(x), Some(y)) if x == y);
    match (1..=top).rev().find(|&k| same_term(k)) {
        Some(k) => log_values(a).take(k as usize).eq(log_values(b).take(k as usize)),
        None => true,
    }
}

/// Reports a safety property to the checker so that only the first state
/// found to break it becomes its counterexample: stateright records every
/// violating state it evaluates, the last one winning, which would replace
/// a shortest (BFS) or early (DFS) counterexample by a later, longer one.
fn first_violation(model: &RaftModel, property: u32, holds: bool) -> bool {
    if holds {
        return true;
    }
    let bit = 1 << property;
    model.reported.fetch_or(bit, Ordering::Relaxed) & bit != 0
}

/// The properties checked for `bounds`: every safety property, plus the
/// reachability goals ("sometimes") that the scope makes possible, so that a
/// model that does nothing cannot pass.
pub fn stateright_properties(bounds: &Bounds) -> Vec<Property<RaftModel>> {
    let mut props = vec![
        Property::always("election safety", |m, s: &ClusterState| first_violation(m, 0, s.ghost.two_leaders.is_none())),
        Property::always("log matching", |m, s: &ClusterState| first_violation(m, 1, !s.ghost.log_mismatch)),
        Property::always("leader completeness", |m, s: &ClusterState| {
            first_violation(m, 2, !s.ghost.leader_incomplete)
        }),
        Property::always("state machine safety", |m, s: &ClusterState| first_violation(m, 3, !s.ghost.commit_conflict)),
        Property::always("applied-log agreement", |m, s: &ClusterState| first_violation(m, 4, !s.ghost.apply_conflict)),
        Property::always("monotonic commit and applied", |m, s: &ClusterState| {
            first_violation(m, 5, !s.ghost.went_backwards)
        }),
        Property::sometimes("leader elected", |_, s: &ClusterState| s.ghost.leaders.iter().any(Option::is_some)),
    ];
    if bounds.values > 0 {
        props.push(Property::sometimes("entry committed on all nodes", |_, s: &ClusterState| {
            s.servers.iter().all(|srv| srv.node.as_ref().is_some_and(|n| n.commit_index() >= 1))
        }));
    }
    if bounds.values > 0 && bounds.snapshots > 0 && bounds.servers > 1 {
        props.push(Property::sometimes("snapshot installed by InstallSnapshot", |_, s: &ClusterState| {
            s.ghost.snapshot_installed
        }));
    }
    if bounds.values > 0 && bounds.crashes > 0 {
        props.push(Property::sometimes("restarted node caught up", |_, s: &ClusterState| {
            let goal = s.ghost.committed.len() as Index;
            goal >= 1
                && s.servers.iter().enumerate().any(|(n, srv)| {
                    s.ghost.restarted & (1 << n) != 0
                        && srv.node.as_ref().is_some_and(|node| node.last_applied() == goal)
                })
        }));
    }
    props
}
