//! Seeded random walks: each thread walks from the initial state taking a
//! random enabled action at every step, until no action is enabled or the
//! walk is `max_depth` steps long, then starts again. Never complete, but it
//! reaches deep states at once: a bug hunter.
//!
//! With a [`Swarm`], every other walk draws a weight for each kind of action
//! (swarm testing, Groce et al. 2012): some walks rarely lose messages,
//! others crash often or never time out, so the walks cover paths that one
//! uniform choice makes unlikely (a bug that needs many deliveries and no
//! loss in between, say). The other walks stay uniform.

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

/// How to tell the kinds of actions apart, for swarm walks.
pub struct Swarm<A> {
    /// How many kinds there are.
    pub kinds: usize,
    /// The kind of an action, in `0..kinds`.
    pub kind_of: fn(&A) -> usize,
}

/// The weights a swarm walk may draw for a kind: off, rare, even, frequent.
const SWARM_WEIGHTS: [u32; 4] = [0, 1, 8, 64];

/// The lengths a swarm walk may draw: where a network can duplicate without
/// end, long walks spend most of their steps in loops.
const SWARM_LENGTHS: [usize; 4] = [40, 80, 160, usize::MAX];

/// Walks `model` at random on `threads` threads (thread `t` seeded with
/// `seed + t`) until a violation is found or `limits` end it (a deadline is
/// needed: walks never finish on their own). With `swarm`, every other walk
/// weights the kinds of actions at random (see the module's comment).
pub fn random_walks<M>(
    model: &M,
    threads: usize,
    seed: u64,
    limits: Limits,
    progress: Option<ProgressFn>,
    swarm: Option<&Swarm<M::Action>>,
) -> Outcome<M>
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
            scope.spawn(move || walker(shared, seed.wrapping_add(t as u64), max_depth, swarm));
        }
    });
    shared.halt(Stop::Sampling);
    shared.outcome(0)
}

fn walker<M>(shared: &Shared<'_, M>, seed: u64, max_depth: usize, swarm: Option<&Swarm<M::Action>>)
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
    let mut weights: Vec<u32> = Vec::new();
    let mut walks = 0u64;
    while !shared.stopping() {
        let mut state = init.clone();
        taken.clear();
        walks += 1;
        weights.clear();
        let mut length = max_depth;
        let this_swarm = swarm.filter(|_| walks.is_multiple_of(2));
        if let Some(swarm) = this_swarm {
            weights.extend((0..swarm.kinds).map(|_| SWARM_WEIGHTS[rng.below(SWARM_WEIGHTS.len())]));
            length = length.min(SWARM_LENGTHS[rng.below(SWARM_LENGTHS.len())]);
        }
        shared.check(&state, || replay(model, &taken));
        while taken.len() < length {
            actions.clear();
            model.actions(&state, &mut actions);
            // Try the actions in a random (weighted) order until one is a
            // transition.
            let mut next = None;
            while !actions.is_empty() {
                let pick = match this_swarm {
                    Some(swarm) => weighted(&mut rng, &actions, |a| weights[(swarm.kind_of)(a)]),
                    None => rng.below(actions.len()),
                };
                let action = actions.swap_remove(pick);
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

/// An index into `actions` drawn in proportion to `weight`; uniform when
/// every enabled action weighs nothing (a walk never stops for its weights
/// alone).
fn weighted<A>(rng: &mut Rng, actions: &[A], weight: impl Fn(&A) -> u32) -> usize {
    let total: u64 = actions.iter().map(|a| u64::from(weight(a))).sum();
    if total == 0 {
        return rng.below(actions.len());
    }
    let mut point = rng.below(total as usize) as u64;
    for (i, a) in actions.iter().enumerate() {
        let w = u64::from(weight(a));
        if point < w {
            return i;
        }
        point -= w;
    }
    unreachable!("the point lies below the total weight")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_choice_follows_the_weights_and_falls_back_to_uniform() {
        let mut rng = Rng::new(7);
        let actions = [0usize, 1, 2];
        let mut counts = [0u32; 3];
        for _ in 0..9_000 {
            counts[weighted(&mut rng, &actions, |&a| [0, 1, 8][a])] += 1;
        }
        assert_eq!(counts[0], 0, "a kind weighing nothing is never drawn while others weigh");
        assert!((7_500..8_500).contains(&counts[2]), "{counts:?}");
        let mut seen = [false; 3];
        for _ in 0..100 {
            seen[weighted(&mut rng, &actions, |_| 0)] = true;
        }
        assert_eq!(seen, [true; 3], "all weights zero: uniform");
    }
}
