//! Which properties a scope checks, and their wiring into stateright: the
//! predicates themselves are pure functions in [`raftcheck_core::properties`]; here
//! they become stateright [`Property`]s of [`RaftModel`].

use crate::explore::bounds::Bounds;
use crate::explore::model::RaftModel;
use crate::explore::state::{ClusterState, ServersView};
use raftcheck_core::properties::{Goal, Safety};
use stateright::{Model, Property};

/// The reachability goals that `bounds` makes possible: each must be
/// reached by a complete run, so that a scope that does nothing cannot pass.
pub fn goals(bounds: &Bounds) -> Vec<Goal> {
    let two_terms = bounds.max_term >= 2
        && bounds.max_elections.is_none_or(|e| e >= 2)
        && bounds.election_order.as_ref().is_none_or(|o| o.len() >= 2);
    Goal::ALL
        .into_iter()
        .filter(|goal| match goal {
            Goal::LeaderElected => true,
            Goal::CommittedOnAll | Goal::EveryValueCommitted => bounds.values > 0,
            Goal::LaterTermLeaderCommitted | Goal::SuffixTruncated => {
                bounds.values >= 2 && two_terms && bounds.servers >= 2
            }
            Goal::SnapshotInstalled => bounds.values > 0 && bounds.snapshots > 0 && bounds.servers > 1,
            Goal::RestartedCaughtUp => bounds.values > 0 && bounds.crashes > 0,
            Goal::LeaderAfterCrash => bounds.crashes > 0,
        })
        .collect()
}

/// Whether safety property `P` (an index into [`Safety::ALL`]) holds.
fn holds<const P: usize>(_: &RaftModel, state: &ClusterState) -> bool {
    state.history.holds(Safety::ALL[P])
}

/// Whether goal `G` (an index into [`Goal::ALL`]) is reached.
fn reached<const G: usize>(model: &RaftModel, state: &ClusterState) -> bool {
    state.history.reached(Goal::ALL[G], &ServersView(&state.servers), model.bounds.values as usize)
}

type Condition = fn(&RaftModel, &ClusterState) -> bool;

const SAFETY: [Condition; 11] = [
    holds::<0>,
    holds::<1>,
    holds::<2>,
    holds::<3>,
    holds::<4>,
    holds::<5>,
    holds::<6>,
    holds::<7>,
    holds::<8>,
    holds::<9>,
    holds::<10>,
];

const GOALS: [Condition; 8] =
    [reached::<0>, reached::<1>, reached::<2>, reached::<3>, reached::<4>, reached::<5>, reached::<6>, reached::<7>];

/// The stateright properties of `bounds`: every safety property (always;
/// the spec refinement only for the correct core, as a mutant departs
/// from the spec by design and is judged by the other properties), then
/// the scope's reachability goals (sometimes).
pub fn properties(bounds: &Bounds) -> Vec<Property<RaftModel>> {
    let mut props: Vec<Property<RaftModel>> = Safety::ALL
        .iter()
        .enumerate()
        .filter(|(_, s)| **s != Safety::SpecRefinement || bounds.mutant.is_none())
        .map(|(p, s)| Property::always(s.name(), SAFETY[p]))
        .collect();
    for goal in goals(bounds) {
        let g = Goal::ALL.iter().position(|x| *x == goal).expect("every goal is listed");
        props.push(Property::sometimes(goal.name(), GOALS[g]));
    }
    props
}

impl Model for RaftModel {
    type State = ClusterState;
    type Action = crate::explore::action::Action;

    fn init_states(&self) -> Vec<ClusterState> {
        vec![self.initial_state()]
    }

    fn actions(&self, state: &ClusterState, actions: &mut Vec<Self::Action>) {
        self.enabled_actions(state, actions)
    }

    fn next_state(&self, last: &ClusterState, action: Self::Action) -> Option<ClusterState> {
        self.successor(last, &action)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties(&self.bounds)
    }

    fn format_action(&self, action: &Self::Action) -> String {
        format!("{action:?}")
    }

    /// What the step does and the cluster after it (the Explorer shows it).
    fn format_step(&self, last: &ClusterState, action: Self::Action) -> Option<String> {
        let next = self.successor(last, &action)?;
        let mut lines = vec![crate::explore::describe::action(last, &action)];
        lines.extend(crate::explore::describe::cluster(&next));
        Some(lines.join("\n"))
    }
}
