//! Our own search over any stateright [`Model`]: exhaustive depth-first
//! search on several threads with a fingerprint-only visited set,
//! breadth-first search (shortest counterexamples), and seeded random walks
//! for hunting bugs fast. Stateright stays the model interface (and serves
//! the Explorer); this replaces its checker loop, so that the runner decides
//! which counterexample is first, a panic is data, and memory is bounded.
//!
//! Properties are the model's own ([`Model::properties`]): an `always`
//! property is violated by the first state found where it is false, a
//! `sometimes` goal is reached by the first state where it is true. The
//! search stops at the first violation.

mod bfs;
mod dfs;
pub mod distributed;
mod sleep;
pub mod visited;
mod walk;

use stateright::{Expectation, Model, Property};
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use bfs::bfs;
pub use dfs::dfs;
pub use sleep::{dfs_with_sleep_sets, Commuting, SleepOutcome};
pub use walk::{random_walks, Cells, Swarm, WalkStyle};

/// A progress sample, reported about once a second.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Successor states computed so far.
    pub states: usize,
    /// Distinct states stored so far.
    pub unique_states: usize,
    /// Deepest state so far.
    pub max_depth: usize,
    /// Time since the search started.
    pub elapsed: Duration,
}

/// A progress callback.
pub type ProgressFn = fn(&Progress);

/// A path through the model: each state with the action taken from it
/// (`None` on the last state).
pub type Path<S, A> = Vec<(S, Option<A>)>;

/// For each property, the first path found for it, if any.
pub type Discoveries<S, A> = Vec<Option<Path<S, A>>>;

/// Limits of one search.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Stop (incomplete) at this instant.
    pub deadline: Option<Instant>,
    /// Stop (incomplete) once the process's resident memory exceeds this
    /// many bytes.
    pub memory_budget: Option<u64>,
    /// Breadth-first search and random walks: go no deeper than this many
    /// steps.
    pub max_depth: Option<usize>,
    /// Stop (incomplete) once this many successor states were computed:
    /// a bound that does not depend on the machine's speed, so that a
    /// single-threaded run is reproducible.
    pub max_states: Option<usize>,
    /// Set by someone else to end the search (a portfolio partner that
    /// found a counterexample).
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Limits {
    /// No limit: the search runs until it is complete or finds a
    /// violation.
    pub fn none() -> Self {
        Limits { deadline: None, memory_budget: None, max_depth: None, max_states: None, cancel: None }
    }
}

/// Why a search stopped before it was complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Stop {
    /// The deadline passed.
    Timeout,
    /// The memory budget was exceeded.
    Memory,
    /// A depth bound cut paths short.
    Depth,
    /// Random walks never are complete.
    Sampling,
    /// A portfolio partner ended it.
    Cancelled,
    /// The bound on states computed was reached.
    StateBound,
}

/// What a search found.
#[derive(Debug)]
pub struct Outcome<M: Model> {
    /// For each property (in [`Model::properties`] order), the first path
    /// found that violates it (always) or reaches it (sometimes).
    pub discoveries: Discoveries<M::State, M::Action>,
    /// Successor states computed (TLC's "generated states").
    pub states: usize,
    /// Distinct states stored (after symmetry reduction, if any).
    pub unique_states: usize,
    /// The deepest state seen (the initial state has depth 0).
    pub max_depth: usize,
    /// Why the search stopped early; `None` if it was complete or found a
    /// violation.
    pub stopped: Option<Stop>,
    /// Bytes taken by the visited set at the end.
    pub visited_bytes: usize,
    /// The distributed search: the mean serialised size of an exchanged
    /// state (measured on the states whose fingerprint is a multiple of 64).
    pub exchange_bytes_per_state: Option<f64>,
    /// The distributed search: successor states sent to their owner (a
    /// worker sends a fingerprint once per level).
    pub exchanged_states: Option<usize>,
}

/// The hasher of [`fingerprint`]: 64 bits, fixed keys, so a fingerprint
/// is the same in every run.
pub fn fingerprint_hasher() -> impl std::hash::Hasher {
    use std::hash::BuildHasher;
    ahash::RandomState::with_seeds(0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344, 0xa409_3822_299f_31d0, 0x082e_fa98)
        .build_hasher()
}

/// The fingerprint of a state: a 64-bit hash with fixed keys.
pub fn fingerprint<S: Hash>(state: &S) -> u64 {
    let mut hasher = fingerprint_hasher();
    state.hash(&mut hasher);
    std::hash::Hasher::finish(&hasher)
}

/// The fingerprint under which a search stores `state`: that of its
/// symmetry class under `canonical` if given, else its own.
pub fn stored_key<S: Hash>(canonical: Option<fn(&S) -> u64>, state: &S) -> u64 {
    match canonical {
        Some(canonical) => canonical(state),
        None => fingerprint(state),
    }
}

/// What the search threads share: the properties, what was found, counters
/// and the stop signal.
pub struct Shared<'m, M: Model> {
    model: &'m M,
    properties: Vec<Property<M>>,
    /// The fingerprint of a state's symmetry class, if reducing.
    canonical: Option<fn(&M::State) -> u64>,
    limits: Limits,
    found: AtomicU64,
    discoveries: Mutex<Discoveries<M::State, M::Action>>,
    stop: AtomicBool,
    stopped: Mutex<Option<Stop>>,
    states: AtomicUsize,
    unique: AtomicUsize,
    max_depth: AtomicUsize,
    started: Instant,
    /// Called about once a second.
    progress: Option<ProgressFn>,
    last_progress: Mutex<Instant>,
}

impl<'m, M: Model> Shared<'m, M>
where
    M::State: Clone + Hash,
    M::Action: Clone,
{
    /// Shared state for searching `model`.
    pub fn new(
        model: &'m M,
        canonical: Option<fn(&M::State) -> u64>,
        limits: Limits,
        progress: Option<ProgressFn>,
    ) -> Self {
        let properties = model.properties();
        assert!(properties.len() <= 64, "at most 64 properties");
        let discoveries = Mutex::new(vec![None; properties.len()]);
        Shared {
            model,
            properties,
            canonical,
            limits,
            found: AtomicU64::new(0),
            discoveries,
            stop: AtomicBool::new(false),
            stopped: Mutex::new(None),
            states: AtomicUsize::new(0),
            unique: AtomicUsize::new(0),
            max_depth: AtomicUsize::new(0),
            started: Instant::now(),
            progress,
            last_progress: Mutex::new(Instant::now()),
        }
    }

    /// The model's initial state, stored in `visited`, counted and checked:
    /// where both searches begin.
    fn visit_initial(&self, visited: &visited::VisitedSet) -> M::State {
        self.visit_initial_with(|key| {
            visited.insert(key);
        })
    }

    /// [`Shared::visit_initial`], storing the initial state's key with
    /// `store`.
    fn visit_initial_with(&self, store: impl FnOnce(u64)) -> M::State {
        let init = self.model.init_states().into_iter().next().expect("one initial state");
        store(self.key(&init));
        self.count(0, 1, 0);
        self.check(&init, || vec![(init.clone(), None)]);
        init
    }

    /// The fingerprint under which `state` is stored.
    fn key(&self, state: &M::State) -> u64 {
        stored_key(self.canonical, state)
    }

    /// Whether the search must end now.
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Ends the search early for `why` (the first reason is kept).
    fn halt(&self, why: Stop) {
        let mut stopped = self.stopped.lock().expect("stop reason");
        if stopped.is_none() && !self.violation_found() {
            *stopped = Some(why);
        }
        self.stop.store(true, Ordering::Relaxed);
    }

    fn violation_found(&self) -> bool {
        let found = self.found.load(Ordering::Relaxed);
        self.properties
            .iter()
            .enumerate()
            .any(|(i, p)| p.expectation != Expectation::Sometimes && found & (1 << i) != 0)
    }

    /// Evaluates every property not yet discovered on `state`; `path`
    /// builds the path to it, only if something is found.
    fn check(&self, state: &M::State, path: impl FnOnce() -> Path<M::State, M::Action>) {
        let found = self.found.load(Ordering::Relaxed);
        let mut hits = 0u64;
        let mut violation = false;
        for (i, p) in self.properties.iter().enumerate() {
            if found & (1 << i) != 0 {
                continue;
            }
            let holds = (p.condition)(self.model, state);
            let hit = match p.expectation {
                Expectation::Sometimes => holds,
                Expectation::Always | Expectation::Eventually => !holds,
            };
            if hit {
                hits |= 1 << i;
                violation |= p.expectation != Expectation::Sometimes;
            }
        }
        if hits == 0 {
            return;
        }
        let path = path();
        let mut discoveries = self.discoveries.lock().expect("discoveries");
        let before = self.found.fetch_or(hits, Ordering::Relaxed);
        for i in 0..self.properties.len() {
            if hits & (1 << i) != 0 && before & (1 << i) == 0 {
                discoveries[i] = Some(path.clone());
            }
        }
        drop(discoveries);
        if violation {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(cancel) = &self.limits.cancel {
                cancel.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Adds to the counters (threads call it in batches) and enforces the
    /// deadline and the memory budget; reports progress.
    fn count(&self, states: usize, unique: usize, depth: usize) {
        self.states.fetch_add(states, Ordering::Relaxed);
        self.unique.fetch_add(unique, Ordering::Relaxed);
        self.max_depth.fetch_max(depth, Ordering::Relaxed);
        if self.limits.deadline.is_some_and(|d| Instant::now() >= d) {
            self.halt(Stop::Timeout);
        }
        if self.limits.max_states.is_some_and(|m| self.states.load(Ordering::Relaxed) >= m) {
            self.halt(Stop::StateBound);
        }
        if self.limits.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
            self.halt(Stop::Cancelled);
        }
        let Ok(mut last) = self.last_progress.try_lock() else { return };
        if last.elapsed() < Duration::from_secs(1) {
            return;
        }
        *last = Instant::now();
        if self.limits.memory_budget.is_some_and(|b| resident_bytes().is_some_and(|r| r > b)) {
            self.halt(Stop::Memory);
        }
        if let Some(progress) = self.progress {
            progress(&Progress {
                states: self.states.load(Ordering::Relaxed),
                unique_states: self.unique.load(Ordering::Relaxed),
                max_depth: self.max_depth.load(Ordering::Relaxed),
                elapsed: self.started.elapsed(),
            });
        }
    }

    /// The outcome, once every thread has finished.
    fn outcome(self, visited_bytes: usize) -> Outcome<M> {
        Outcome {
            discoveries: self.discoveries.into_inner().expect("discoveries"),
            states: self.states.into_inner(),
            unique_states: self.unique.into_inner(),
            max_depth: self.max_depth.into_inner(),
            stopped: self.stopped.into_inner().expect("stop reason"),
            visited_bytes,
            exchange_bytes_per_state: None,
            exchanged_states: None,
        }
    }
}

/// The process's resident memory now, in bytes, where the operating
/// system tells it.
pub fn resident_bytes() -> Option<u64> {
    memory_stats::memory_stats().map(|stats| stats.physical_mem as u64)
}

/// Rebuilds the path that `actions` take from the initial state.
fn replay<M: Model>(model: &M, actions: &[M::Action]) -> Path<M::State, M::Action>
where
    M::State: Clone,
    M::Action: Clone,
{
    let mut state = model.init_states().into_iter().next().expect("one initial state");
    let mut path = Vec::with_capacity(actions.len() + 1);
    for action in actions {
        let next = model.next_state(&state, action.clone()).expect("a recorded action still applies");
        path.push((state, Some(action.clone())));
        state = next;
    }
    path.push((state, None));
    path
}
