//! Seeded random walks: each thread walks from the initial state taking a
//! random enabled action at every step, until no action is enabled or the
//! walk is `max_depth` steps long, then starts again. Never complete, but it
//! reaches deep states at once: a bug hunter.

use super::{replay, Limits, Outcome, ProgressFn, Shared, Stop};
use stateright::Model;
use std::hash::Hash;

/// A small, fast, seeded generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// The next number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z as u128 * n as u128) >> 64) as usize
    }
}

/// Walks `model` at random on `threads` threads (thread `t` seeded with
/// `seed + t`) until a violation is found or `limits` end it (a deadline is
/// needed: walks never finish on their own).
pub fn random_walks<M>(model: &M, threads: usize, seed: u64, limits: Limits, progress: Option<ProgressFn>) -> Outcome<M>
where
    M: Model + Sync,
    M::State: Clone + Hash + Send + Sync,
    M::Action: Clone + Send + Sync,
{
    let max_depth = limits.max_depth.unwrap_or(1_000);
    let shared = Shared::new(model, None, limits, progress);
    std::thread::scope(|scope| {
        for t in 0..threads.max(1) {
            let shared = &shared;
            scope.spawn(move || walker(shared, seed.wrapping_add(t as u64), max_depth));
        }
    });
    shared.halt(Stop::Sampling);
    shared.outcome(0)
}

fn walker<M>(shared: &Shared<'_, M>, seed: u64, max_depth: usize)
where
    M: Model,
    M::State: Clone + Hash,
    M::Action: Clone,
{
    let model = shared.model;
    let mut rng = Rng::new(seed);
    let init = model.init_states().into_iter().next().expect("one initial state");
    let (mut states, mut depth) = (0usize, 0usize);
    let mut actions = Vec::new();
    let mut taken: Vec<M::Action> = Vec::new();
    while !shared.stopping() {
        let mut state = init.clone();
        taken.clear();
        shared.check(&state, || replay(model, &taken));
        while taken.len() < max_depth {
            actions.clear();
            model.actions(&state, &mut actions);
            // Try the actions in a random order until one is a transition.
            let mut next = None;
            while !actions.is_empty() {
                let action = actions.swap_remove(rng.below(actions.len()));
                if let Some(s) = model.next_state(&state, action.clone()) {
                    next = Some((action, s));
                    break;
                }
            }
            let Some((action, s)) = next else { break };
            taken.push(action);
            state = s;
            states += 1;
            shared.check(&state, || replay(model, &taken));
        }
        depth = depth.max(taken.len());
        shared.count(states, 0, depth);
        states = 0;
        if shared.limits.max_states.is_some_and(|m| shared.states.load(std::sync::atomic::Ordering::Relaxed) >= m) {
            break;
        }
    }
}
