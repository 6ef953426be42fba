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
//!
//! With a [`Cells`] abstraction, a walker also keeps a pool of states that
//! were the first to reach a cell (an abstract state: roles, terms, log
//! lengths, message kinds in flight), and every other walk starts from a
//! state of the pool instead of the initial one, with the path that reached
//! it (novelty search, as in Go-Explore, Ecoffet et al. 2021). Walks from the
//! initial state rarely get deep into rare situations; walks from the pool
//! start there, so a bug that needs two rare situations in turn is found
//! in seconds rather than never.

use super::{replay, Limits, Outcome, ProgressFn, Shared, Stop};
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;
use stateright::Model;
use std::collections::HashSet;
use std::hash::Hash;
use std::sync::Arc;

/// The walks' seeded generator: PCG (`Pcg64Mcg`), whose stream for a seed
/// is fixed across platforms and crate versions, so a walk's seed replays.
pub struct Rng(Pcg64Mcg);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(Pcg64Mcg::seed_from_u64(seed))
    }
    /// The next number in `0..n` (`n > 0`), by widening multiplication (the
    /// bias is below 2^-32 for the small `n` the walks use).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.0.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

/// How to tell the kinds of actions apart, for swarm walks.
pub struct Swarm<A> {
    /// How many kinds there are.
    pub kinds: usize,
    /// The kind of an action, in `0..kinds`.
    pub kind_of: fn(&A) -> usize,
}

/// How far a walk from the pool may go beyond its start: the pool holds
/// the deep states, a walk from it only needs to try what comes next.
const POOL_WALK_LENGTHS: [usize; 4] = [5, 10, 20, 40];

/// An abstraction of states for novelty search: states in one cell count
/// as "seen" together.
pub struct Cells<S> {
    /// The cell of a state.
    pub cell: fn(&S) -> u64,
}

/// How walks choose their actions and where they start.
pub struct WalkStyle<'a, S, A> {
    /// Weight actions by kind on every other walk.
    pub swarm: Option<&'a Swarm<A>>,
    /// Start every other walk from a state that first reached a cell.
    pub cells: Option<&'a Cells<S>>,
}

/// The walkers together keep at most this many pool states (each walker an
/// equal share, so memory does not grow with the number of threads; about
/// 1 KB each with its share of the paths); cells found beyond a walker's
/// share are still counted as seen.
const POOL_CAPACITY: usize = 400_000;

/// A path as a persistent list: each step points to the path before it, so
/// the pool's entries share their common prefixes and a walk's path costs
/// memory only while something still holds it.
#[derive(Clone)]
struct Trail<A> {
    last: Option<Arc<TrailStep<A>>>,
    len: usize,
}

struct TrailStep<A> {
    action: A,
    before: Option<Arc<TrailStep<A>>>,
}

impl<A: Clone> Trail<A> {
    fn empty() -> Self {
        Trail { last: None, len: 0 }
    }

    fn push(&mut self, action: A) {
        let before = self.last.take();
        self.last = Some(Arc::new(TrailStep { action, before }));
        self.len += 1;
    }

    /// The actions from the initial state, in order.
    fn actions(&self) -> Vec<A> {
        let mut actions = Vec::with_capacity(self.len);
        let mut step = self.last.as_deref();
        while let Some(s) = step {
            actions.push(s.action.clone());
            step = s.before.as_deref();
        }
        actions.reverse();
        actions
    }
}

impl<A> Drop for TrailStep<A> {
    /// Drops a long chain without recursing once per step.
    fn drop(&mut self) {
        let mut before = self.before.take();
        while let Some(step) = before {
            match Arc::try_unwrap(step) {
                Ok(mut step) => before = step.before.take(),
                Err(_) => break,
            }
        }
    }
}

/// The states that first reached a cell, with their paths, and how often
/// each was a walk's start.
struct Pool<S, A> {
    capacity: usize,
    seen: HashSet<u64>,
    entries: Vec<(S, Trail<A>, u32)>,
}

impl<S: Clone, A: Clone> Pool<S, A> {
    fn new(capacity: usize) -> Self {
        Pool { capacity, seen: HashSet::new(), entries: Vec::new() }
    }

    /// Keeps `state` if it is the first seen in `cell`.
    fn offer(&mut self, cell: u64, state: &S, path: &Trail<A>) {
        if self.seen.insert(cell) && self.entries.len() < self.capacity {
            self.entries.push((state.clone(), path.clone(), 0));
        }
    }

    /// A start drawn from the pool: the least used of three picked at
    /// random, so that new entries get their turn before old ones get
    /// another.
    fn start(&mut self, rng: &mut Rng) -> (S, Trail<A>) {
        let mut best = rng.below(self.entries.len());
        for _ in 0..2 {
            let other = rng.below(self.entries.len());
            if self.entries[other].2 < self.entries[best].2 {
                best = other;
            }
        }
        let entry = &mut self.entries[best];
        entry.2 += 1;
        (entry.0.clone(), entry.1.clone())
    }
}

/// The weights a swarm walk may draw for a kind: off, rare, even, frequent.
const SWARM_WEIGHTS: [u32; 4] = [0, 1, 8, 64];

/// The lengths a swarm walk may draw: where a network can duplicate without
/// end, long walks spend most of their steps in loops.
const SWARM_LENGTHS: [usize; 4] = [40, 80, 160, usize::MAX];

/// Walks `model` at random on `threads` threads (thread `t` seeded with
/// `seed + t`) until a violation is found or `limits` end it (a deadline is
/// needed: walks never finish on their own). With a swarm, every other walk
/// weights the kinds of actions at random; with cells, every other walk
/// starts from the pool (see the module's comment).
pub fn random_walks<M>(
    model: &M,
    threads: usize,
    seed: u64,
    limits: Limits,
    progress: Option<ProgressFn>,
    style: &WalkStyle<'_, M::State, M::Action>,
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
            let pool = Pool::new(POOL_CAPACITY / threads.max(1));
            scope.spawn(move || walker(shared, seed.wrapping_add(t as u64), max_depth, style, pool));
        }
    });
    shared.halt(Stop::Sampling);
    shared.outcome(0)
}

fn walker<M>(
    shared: &Shared<'_, M>,
    seed: u64,
    max_depth: usize,
    style: &WalkStyle<'_, M::State, M::Action>,
    mut pool: Pool<M::State, M::Action>,
) where
    M: Model,
    M::State: Clone + Hash,
    M::Action: Clone,
{
    let model = shared.model;
    let mut rng = Rng::new(seed);
    let init = model.init_states().into_iter().next().expect("one initial state");
    if let Some(cells) = style.cells {
        pool.offer((cells.cell)(&init), &init, &Trail::empty());
    }
    let (mut states, mut depth) = (0usize, 0usize);
    let mut actions = Vec::new();
    let mut weights: Vec<u32> = Vec::new();
    let mut walks = 0u64;
    while !shared.stopping() {
        walks += 1;
        let from_pool = style.cells.is_some() && (walks / 2) % 2 == 1;
        let (mut state, mut taken) = if from_pool { pool.start(&mut rng) } else { (init.clone(), Trail::empty()) };
        weights.clear();
        let mut length = max_depth;
        if from_pool {
            length = length.min(taken.len + POOL_WALK_LENGTHS[rng.below(POOL_WALK_LENGTHS.len())]);
        }
        let this_swarm = style.swarm.filter(|_| walks.is_multiple_of(2));
        if let Some(swarm) = this_swarm {
            weights.extend((0..swarm.kinds).map(|_| SWARM_WEIGHTS[rng.below(SWARM_WEIGHTS.len())]));
            length = length.min(taken.len.saturating_add(SWARM_LENGTHS[rng.below(SWARM_LENGTHS.len())]));
        }
        if !from_pool {
            shared.check(&state, || replay(model, &taken.actions()));
        }
        while taken.len < length {
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
            shared.check(&state, || replay(model, &taken.actions()));
            if let Some(cells) = style.cells {
                pool.offer((cells.cell)(&state), &state, &taken);
            }
        }
        depth = depth.max(taken.len);
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
    use stateright::Property;

    /// A combination lock: `LOCK_LENGTH` digits; the right digit (`position %
    /// 10`) moves one position on, any other digit resets the lock. Opening
    /// it is the "bug". A uniform walk opens it with chance 10^-8 per try;
    /// a walk from the position reached so far needs about ten tries a digit.
    struct Lock;
    const LOCK_LENGTH: u8 = 8;

    impl Model for Lock {
        type State = u8;
        type Action = u8;
        fn init_states(&self) -> Vec<u8> {
            vec![0]
        }
        fn actions(&self, state: &u8, actions: &mut Vec<u8>) {
            if *state < LOCK_LENGTH {
                actions.extend(0..10);
            }
        }
        fn next_state(&self, state: &u8, digit: u8) -> Option<u8> {
            Some(if digit == state % 10 { state + 1 } else { 0 })
        }
        fn properties(&self) -> Vec<Property<Self>> {
            vec![Property::always("locked", |_, state: &u8| *state < LOCK_LENGTH)]
        }
    }

    fn opened(style: &WalkStyle<'_, u8, u8>) -> bool {
        let limits = Limits {
            deadline: None,
            memory_budget: None,
            max_depth: Some(40),
            max_states: Some(1_000_000),
            cancel: None,
        };
        let outcome = random_walks(&Lock, 1, 3, limits, None, style);
        outcome.discoveries[0].is_some()
    }

    #[test]
    fn walks_from_the_novelty_pool_pass_stages_that_walks_from_the_start_do_not() {
        let cells = Cells { cell: |s: &u8| u64::from(*s) };
        assert!(!opened(&WalkStyle { swarm: None, cells: None }), "a million uniform steps open a 10^-8 lock");
        assert!(opened(&WalkStyle { swarm: None, cells: Some(&cells) }), "the pool keeps each stage reached");
    }

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
