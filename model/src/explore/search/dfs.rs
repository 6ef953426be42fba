//! Exhaustive depth-first search on several threads.
//!
//! Every thread searches from the initial state, each trying actions in its
//! own order, and all share one visited set: whoever stores a state first
//! explores all of its successors, so the search is complete (every stored
//! state is expanded by the thread that stored it) and the threads spread
//! out over different parts of the space. The path to the current state is
//! the thread's stack, so a counterexample costs nothing to keep.

use super::visited::VisitedSet;
use super::{Limits, Outcome, Path, ProgressFn, Shared};
use stateright::Model;
use std::hash::Hash;

/// One level of a thread's stack: a state, its actions, the next to try.
struct Frame<S, A> {
    state: S,
    actions: Vec<A>,
    next: usize,
}

/// Explores every state of `model` reachable from its initial state, on
/// `threads` threads, storing one fingerprint per state (of its
/// symmetry class under `canonical`, if given). Stops at the first
/// violation, or when `limits` end it.
pub fn dfs<M>(
    model: &M,
    canonical: Option<fn(&M::State) -> u64>,
    threads: usize,
    limits: Limits,
    progress: Option<ProgressFn>,
) -> Outcome<M>
where
    M: Model + Sync,
    M::State: Clone + Hash + Send + Sync,
    M::Action: Clone + Send + Sync,
{
    let shared = Shared::new(model, canonical, limits, progress);
    let visited = VisitedSet::default();
    let init = shared.visit_initial(&visited);
    std::thread::scope(|scope| {
        for t in 0..threads.max(1) {
            let (shared, visited, init) = (&shared, &visited, init.clone());
            scope.spawn(move || worker(shared, visited, init, t, threads.max(1)));
        }
    });
    let bytes = visited.bytes();
    shared.outcome(bytes)
}

/// Puts thread `t`'s order on `actions`: thread 0 keeps the model's order,
/// the others rotate it so that they start elsewhere.
fn reorder<A>(actions: &mut [A], t: usize, threads: usize) {
    if t > 0 && !actions.is_empty() {
        if t % 2 == 1 {
            actions.reverse();
        }
        actions.rotate_left((t / 2) * actions.len() / threads);
    }
}

fn worker<M>(shared: &Shared<'_, M>, visited: &VisitedSet, init: M::State, t: usize, threads: usize)
where
    M: Model,
    M::State: Clone + Hash,
    M::Action: Clone,
{
    let model = shared.model;
    let mut actions = Vec::new();
    model.actions(&init, &mut actions);
    reorder(&mut actions, t, threads);
    let mut stack = vec![Frame { state: init, actions, next: 0 }];
    let (mut states, mut unique, mut depth) = (0usize, 0usize, 0usize);
    while let Some(top) = stack.last_mut() {
        if top.next == top.actions.len() {
            stack.pop();
            continue;
        }
        let action = top.actions[top.next].clone();
        top.next += 1;
        let Some(next) = model.next_state(&top.state, action) else { continue };
        states += 1;
        if states >= 4096 {
            shared.count(states, unique, depth);
            (states, unique) = (0, 0);
            if shared.stopping() {
                break;
            }
        }
        if !visited.insert(shared.key(&next)) {
            continue;
        }
        unique += 1;
        depth = depth.max(stack.len());
        shared.check(&next, || path_to(&stack, &next));
        let mut actions = Vec::new();
        model.actions(&next, &mut actions);
        reorder(&mut actions, t, threads);
        stack.push(Frame { state: next, actions, next: 0 });
    }
    shared.count(states, unique, depth);
}

/// The path from the initial state through the stack to `last`.
fn path_to<S: Clone, A: Clone>(stack: &[Frame<S, A>], last: &S) -> Path<S, A> {
    let mut path: Path<S, A> = stack.iter().map(|f| (f.state.clone(), Some(f.actions[f.next - 1].clone()))).collect();
    path.push((last.clone(), None));
    path
}
