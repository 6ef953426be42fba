//! Breadth-first search on one thread: the first counterexample found is a
//! shortest one. Only the current level's states are kept; every stored
//! state keeps its parent and the action that reached it, and a path is
//! rebuilt by replaying those actions from the initial state.

use super::visited::VisitedSet;
use super::{replay, Limits, Outcome, ProgressFn, Shared, Stop};
use stateright::Model;
use std::hash::Hash;

/// Explores `model` level by level (to `limits.max_depth` steps, if set),
/// storing one fingerprint per state (of its representative under
/// `canonical`, if given). Stops at the first violation.
pub fn bfs<M>(
    model: &M,
    canonical: Option<fn(&M::State) -> u64>,
    limits: Limits,
    progress: Option<ProgressFn>,
) -> Outcome<M>
where
    M: Model,
    M::State: Clone + Hash,
    M::Action: Clone,
{
    let max_depth = limits.max_depth;
    let shared = Shared::new(model, canonical, limits, progress);
    let visited = VisitedSet::default();
    let init = shared.visit_initial(&visited);
    // Every stored state but the first: (its parent's number, the action).
    let mut parents: Vec<(u32, M::Action)> = Vec::new();
    // The current level: each state with its number (0 is the initial one).
    let mut level: Vec<(M::State, u32)> = vec![(init, 0)];
    let mut depth = 0;
    let mut actions = Vec::new();
    let (mut states, mut unique) = (0usize, 0usize);
    while !level.is_empty() && !shared.stopping() {
        if max_depth.is_some_and(|d| depth >= d) {
            shared.halt(Stop::Depth);
            break;
        }
        depth += 1;
        let mut next_level = Vec::new();
        for (state, number) in &level {
            actions.clear();
            model.actions(state, &mut actions);
            for action in actions.drain(..) {
                let Some(next) = model.next_state(state, action.clone()) else { continue };
                states += 1;
                if !visited.insert(shared.key(&next)) {
                    continue;
                }
                unique += 1;
                parents.push((*number, action));
                let id = parents.len() as u32;
                shared.check(&next, || replay(model, &actions_to(&parents, id)));
                next_level.push((next, id));
            }
            if states >= 4096 {
                shared.count(states, unique, depth);
                (states, unique) = (0, 0);
                if shared.stopping() {
                    break;
                }
            }
        }
        level = next_level;
    }
    shared.count(states, unique, depth);
    let bytes = visited.bytes() + parents.capacity() * std::mem::size_of::<(u32, M::Action)>();
    shared.outcome(bytes)
}

/// The actions from the initial state to state number `id`.
fn actions_to<A: Clone>(parents: &[(u32, A)], mut id: u32) -> Vec<A> {
    let mut actions = Vec::new();
    while id != 0 {
        let (parent, action) = &parents[id as usize - 1];
        actions.push(action.clone());
        id = *parent;
    }
    actions.reverse();
    actions
}
