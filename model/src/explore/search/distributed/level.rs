//! The search dataflow: one loop around two operators, one round of the
//! loop per breadth-first level (the timestamp is the depth).
//!
//! * `Own` receives the candidate states of a level, each at the worker
//!   that owns its fingerprint, and keeps as they arrive only the first
//!   (in breadth-first order) of each fingerprint not visited yet. Once
//!   every worker has sent its share (the input frontier has passed the
//!   level) it stores them in the visited set with each state's parent
//!   fingerprint, checks the properties on each, passes them on to
//!   `Expand` on the same worker and broadcasts a [`Summary`] of the level
//!   to every worker.
//! * `Expand` waits until it has every worker's summary of the level.
//!   Then every worker knows the same totals and discoveries, so all stop
//!   together (a violation, a halt, a bound) or all expand their new
//!   states, a chunk at a time, so that between chunks the worker takes in
//!   what arrived; the successors go round the loop into the next level.
//!
//! Memory: a level's new states are held whole, but its candidates are
//! thinned out to one per fingerprint as they arrive, and the memory
//! budget is checked (every [`MEMORY_CHECK_EVERY`]) both while candidates
//! arrive and while a level is expanded; past it, the worker drops what
//! it holds of the level and halts every worker.
//!
//! Which of several states of one fingerprint (one symmetry class) is kept
//! and expanded matters to the counts when symmetry is reduced, so it is
//! chosen as the one-thread search chooses it: the first in breadth-first
//! order. Each state carries its place in that order, the action indices
//! of its path from the initial state (compared lexicographically within
//! a level), and an owner keeps the least of a level's candidates. So the
//! counts, and the counterexample, are those of [`super::super::bfs`],
//! whatever the number of processes and workers.

use super::super::{resident_bytes, Limits, Progress, Stop};
use super::Shared;
use serde::{Deserialize, Serialize};
use stateright::{Expectation, Model};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::{Broadcast, Partition};
use timely::dataflow::operators::{Capability, Concat, ConnectLoop, Feedback, Probe, ToStream};
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

/// A worker's visited set: each state's fingerprint with its parent's.
pub(super) type Visited = HashMap<u64, u64, BuildFingerprintHasher>;

/// Fingerprints are hashes already: a map keyed by them uses them as they
/// are.
#[derive(Clone, Copy, Default)]
pub(super) struct FingerprintHasher(u64);

impl std::hash::Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Builds [`FingerprintHasher`]s.
pub(super) type BuildFingerprintHasher = std::hash::BuildHasherDefault<FingerprintHasher>;

/// What travels round the loop, to the worker that owns it.
#[derive(Clone, Serialize, Deserialize)]
pub(super) enum Transit<S> {
    /// A successor (or the initial state, whose parent is itself).
    State {
        /// Its fingerprint (of its symmetry class, if reducing).
        key: u64,
        /// Its place in breadth-first order: the index of each action on
        /// its path from the initial state.
        order: Vec<u32>,
        /// Its parent's fingerprint.
        parent: u64,
        /// The state.
        state: S,
    },
    /// A worker's count of the successors it computed in a level, and of
    /// those it sent (it sends a fingerprint once per level, and not at
    /// all if it owns it and has visited it); to worker 0.
    Generated {
        /// Successors computed.
        computed: u64,
        /// Successors sent.
        sent: u64,
    },
    /// A worker stopped early (deadline, memory); sent to worker 0, whose
    /// summary of the next level tells every worker to stop.
    Halt(Stop),
}

/// Which worker owns the fingerprint `key`: a multiplicative hash, so that
/// the bits timely routes on (it takes the key modulo the workers) depend
/// on every bit of the fingerprint.
pub(super) fn route(key: u64) -> u64 {
    key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32
}

/// One worker's account of one level, broadcast to every worker.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Summary {
    /// Successors computed in the level above (by every worker, as told
    /// to worker 0).
    received: u64,
    /// Of those, the ones sent to their owner.
    sent: u64,
    /// New states among them.
    unique: u64,
    /// For each property first hit in this level on this worker: its index,
    /// and the place in breadth-first order and the fingerprint of the
    /// first state hitting it.
    hits: Vec<(u8, Vec<u32>, u64)>,
    /// Why a worker stopped early, if one did.
    halt: Option<Stop>,
}

/// How often a worker compares its process's resident memory with the
/// budget, while candidates arrive and while it expands a level.
const MEMORY_CHECK_EVERY: Duration = Duration::from_millis(100);

/// Compares the process's resident memory with the budget, at most once
/// every [`MEMORY_CHECK_EVERY`] (reading it costs a system call).
struct MemoryGauge {
    budget: Option<u64>,
    last_check: Instant,
}

impl MemoryGauge {
    fn new(budget: Option<u64>) -> Self {
        MemoryGauge { budget, last_check: Instant::now() }
    }

    /// Whether a check is due and finds the budget exceeded.
    fn over_budget(&mut self) -> bool {
        let Some(budget) = self.budget else { return false };
        if self.last_check.elapsed() < MEMORY_CHECK_EVERY {
            return false;
        }
        self.last_check = Instant::now();
        resident_bytes().is_some_and(|r| r > budget)
    }
}

/// States of a level expanded per activation of `Expand`: between two
/// chunks the worker runs its other operators, so what it sent is taken in
/// by its owner (and thinned out to one state per fingerprint) before the
/// next chunk adds more.
const EXPANSION_CHUNK: usize = 4096;

/// A level being expanded, a chunk at a time, under its capability.
struct Expansion<S> {
    cap: Capability<u64>,
    /// The level's new states, in breadth-first order.
    level: Vec<NewState<S>>,
    /// The next state of `level` to expand.
    next: usize,
    /// Fingerprints sent in this level (each is sent once).
    sent: std::collections::HashSet<u64, BuildFingerprintHasher>,
    computed: u64,
    sent_count: u64,
    /// Exchanged states measured, and their serialised bytes.
    measured: (u64, u64),
}

impl<S> Expansion<S> {
    fn new(cap: Capability<u64>, mut level: Vec<NewState<S>>) -> Self {
        // In breadth-first order, each fingerprint is first generated at
        // its least place: the later ones need not be sent.
        level.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        Expansion { cap, level, next: 0, sent: Default::default(), computed: 0, sent_count: 0, measured: (0, 0) }
    }
}

/// A level's candidates at their owner, as they arrive, under the level's
/// capability: only the first in breadth-first order of each fingerprint
/// not visited yet is kept (a level's candidates arrive after the level
/// above was stored, so this is what the level will store). Counts and
/// halts from the other workers are added to the level's summary.
struct Arriving<S> {
    cap: Capability<u64>,
    /// Fingerprint to (place in breadth-first order, parent, state).
    firsts: HashMap<u64, (Vec<u32>, u64, S), BuildFingerprintHasher>,
    summary: Summary,
}

impl<S> Arriving<S> {
    fn new(cap: Capability<u64>) -> Self {
        Arriving { cap, firsts: HashMap::default(), summary: Summary::default() }
    }

    /// Takes one arrival into account.
    fn take(&mut self, item: Transit<S>, visited: &Visited) {
        match item {
            Transit::State { key, order, parent, state } => {
                if self.summary.halt.is_some() || visited.contains_key(&key) {
                    return;
                }
                match self.firsts.entry(key) {
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert((order, parent, state));
                    }
                    std::collections::hash_map::Entry::Occupied(mut o) if order < o.get().0 => {
                        o.insert((order, parent, state));
                    }
                    std::collections::hash_map::Entry::Occupied(_) => {}
                }
            }
            Transit::Halt(stop) => self.halt(stop),
            Transit::Generated { computed, sent } => {
                self.summary.received += computed;
                self.summary.sent += sent;
            }
        }
    }

    fn halt(&mut self, stop: Stop) {
        self.summary.halt = Some(self.summary.halt.map_or(stop, |h| h.min(stop)));
    }

    /// Drops the level's candidates (their memory is freed) and halts.
    fn drop_for(&mut self, stop: Stop) {
        self.firsts = HashMap::default();
        self.halt(stop);
    }
}

/// A new state at `Expand`: its fingerprint, its place in breadth-first
/// order, the state.
type NewState<S> = (u64, Vec<u32>, S);

/// What `Own` hands to `Expand` on the same worker, or broadcasts.
#[derive(Clone, Serialize, Deserialize)]
enum Owned<S> {
    New { key: u64, order: Vec<u32>, state: S },
    Summary(Summary),
}

/// What every worker knows once a level's summaries are merged: the same
/// on every worker.
#[derive(Clone, Debug, Default)]
pub(super) struct Tally {
    /// Successor states computed.
    pub states: usize,
    /// Distinct states stored.
    pub unique: usize,
    /// As the one-process search counts it: the number of levels expanded
    /// (the depth of the level where a violation was found).
    pub max_depth: usize,
    /// For each property, the (depth, fingerprint) of the state that
    /// discovered it: the first in breadth-first order.
    pub discoveries: Vec<Option<(usize, u64)>>,
    /// Why the search stopped early, if it did.
    pub stopped: Option<Stop>,
    /// Successor states sent to their owner.
    pub sent: usize,
    /// Exchanged states measured, and their serialised bytes.
    pub measured: (u64, u64),
}

/// Builds the search dataflow on `worker` and runs it to its end; returns
/// the tally and the worker's visited map (fingerprint to parent
/// fingerprint).
pub(super) fn search<M>(worker: &mut Worker, shared: &Shared<M>) -> (Tally, Rc<RefCell<Visited>>)
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Hash + Send + Serialize + for<'a> Deserialize<'a> + 'static,
{
    let model = &shared.model;
    let properties = model.properties();
    let count = properties.len();
    let visited: Rc<RefCell<Visited>> = Rc::default();
    let tally = Rc::new(RefCell::new(Tally { discoveries: vec![None; count], ..Tally::default() }));
    // The properties found so far (bit i: property i), as of the last level
    // merged: `Own` skips them.
    let found = Rc::new(RefCell::new(0u64));
    let probe = ProbeHandle::new();
    let first = worker.index() == 0;
    let initial: Vec<Transit<M::State>> = if first {
        let init = model.init_states().into_iter().next().expect("one initial state");
        let key = shared.key(&init);
        vec![Transit::State { key, order: Vec::new(), parent: key, state: init }]
    } else {
        Vec::new()
    };
    let (me, peers) = (worker.index() as u64, worker.peers());
    let reporter = shared.progress.filter(|_| first && shared.reports);
    worker.dataflow::<u64, _, _>(|scope| {
        let (handle, cycle) = scope.feedback::<Vec<Transit<M::State>>>(1);
        let transit = initial.to_stream(scope).concat(cycle);
        let own = {
            let (model, visited, found, activity) =
                (shared.model.clone(), visited.clone(), found.clone(), shared.activity.clone());
            let (started, budget) = (shared.started, shared.limits.memory_budget);
            transit.unary_frontier::<CapacityContainerBuilder<Vec<Owned<M::State>>>, _, _, _>(
                Exchange::new(|t: &Transit<M::State>| match t {
                    Transit::State { key, .. } => route(*key),
                    Transit::Halt(_) | Transit::Generated { .. } => 0,
                }),
                "Own",
                move |_, _| {
                    let properties = model.properties();
                    let mut stash: BTreeMap<u64, Arriving<M::State>> = BTreeMap::new();
                    let mut memory = MemoryGauge::new(budget);
                    move |(input, frontier), output| {
                        let visited_now = visited.borrow();
                        input.for_each_stamp(|cap, data| {
                            if let Some(cap) = cap.retain_least(output.output_index()) {
                                let level = stash.entry(*cap.time()).or_insert_with(|| Arriving::new(cap));
                                for batch in data {
                                    for item in batch.drain(..) {
                                        level.take(item, &visited_now);
                                    }
                                }
                                // The budget applies while candidates
                                // arrive too: past it, the level is dropped
                                // and its summary stops every worker.
                                if memory.over_budget() {
                                    level.drop_for(Stop::Memory);
                                }
                            }
                            activity.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                        });
                        drop(visited_now);
                        while let Some(&time) = stash.keys().next() {
                            if frontier.frontier().less_equal(&time) {
                                break;
                            }
                            let Arriving { cap, firsts, mut summary } = stash.remove(&time).expect("a stashed level");
                            let mut session = output.session(&cap);
                            let known = *found.borrow();
                            let mut visited = visited.borrow_mut();
                            let mut hits: Vec<Option<(Vec<u32>, u64)>> = vec![None; properties.len()];
                            for (key, (order, parent, state)) in firsts {
                                visited.insert(key, parent);
                                summary.unique += 1;
                                for (i, p) in properties.iter().enumerate() {
                                    if known & (1 << i) != 0 {
                                        continue;
                                    }
                                    let holds = (p.condition)(&*model, &state);
                                    let hit = match p.expectation {
                                        Expectation::Sometimes => holds,
                                        Expectation::Always | Expectation::Eventually => !holds,
                                    };
                                    if hit && hits[i].as_ref().is_none_or(|(o, _)| order < *o) {
                                        hits[i] = Some((order.clone(), key));
                                    }
                                }
                                session.give(Owned::New { key, order, state });
                            }
                            summary.hits = hits
                                .into_iter()
                                .enumerate()
                                .filter_map(|(i, h)| h.map(|(order, key)| (i as u8, order, key)))
                                .collect();
                            session.give(Owned::Summary(summary));
                        }
                    }
                },
            )
        };
        let mut parts = own.partition(2, |o| match o {
            Owned::New { .. } => (0, o),
            Owned::Summary(_) => (1, o),
        });
        let summaries = parts.pop().expect("two parts").broadcast();
        let new_states = parts.pop().expect("two parts");
        let expanded = {
            let (model, tally, found, activity) =
                (shared.model.clone(), tally.clone(), found.clone(), shared.activity.clone());
            let visited = visited.clone();
            let (limits, started, canonical) = (shared.limits.clone(), shared.started, shared.canonical);
            let expectations: Vec<Expectation> = properties.iter().map(|p| p.expectation.clone()).collect();
            let scope_handle = new_states.scope();
            new_states.binary_frontier::<_, CapacityContainerBuilder<Vec<Transit<M::State>>>, _, _, _, _>(
                summaries,
                Pipeline,
                Pipeline,
                "Expand",
                move |_, info| {
                    let activator = scope_handle.activator_for(info.address.clone());
                    let mut pending: BTreeMap<u64, Capability<u64>> = BTreeMap::new();
                    let mut levels: HashMap<u64, Vec<NewState<M::State>>> = HashMap::new();
                    let mut heard: HashMap<u64, Vec<Summary>> = HashMap::new();
                    let mut halted = false;
                    let mut actions = Vec::new();
                    let mut last_report = Instant::now();
                    let mut memory = MemoryGauge::new(limits.memory_budget);
                    // The level being expanded, a chunk per activation.
                    let mut expansion: Option<Expansion<M::State>> = None;
                    move |(input1, frontier1), (input2, frontier2), output| {
                        input1.for_each_stamp(|cap, data| {
                            if let Some(cap) = cap.retain_least(output.output_index()) {
                                let level = levels.entry(*cap.time()).or_default();
                                for batch in data {
                                    level.extend(batch.drain(..).filter_map(|o| match o {
                                        Owned::New { key, order, state } => Some((key, order, state)),
                                        Owned::Summary(_) => None,
                                    }));
                                }
                                pending.entry(*cap.time()).or_insert(cap);
                            }
                        });
                        input2.for_each_stamp(|cap, data| {
                            if let Some(cap) = cap.retain_least(output.output_index()) {
                                let summaries = heard.entry(*cap.time()).or_default();
                                for batch in data {
                                    summaries.extend(batch.drain(..).filter_map(|o| match o {
                                        Owned::Summary(s) => Some(s),
                                        Owned::New { .. } => None,
                                    }));
                                }
                                pending.entry(*cap.time()).or_insert(cap);
                            }
                        });
                        loop {
                            if expansion.is_none() {
                                let Some(&time) = pending.keys().next() else { break };
                                if frontier1.frontier().less_equal(&time) || frontier2.frontier().less_equal(&time) {
                                    break;
                                }
                                let cap = pending.remove(&time).expect("a pending level");
                                let level = levels.remove(&time).unwrap_or_default();
                                let summaries = heard.remove(&time).unwrap_or_default();
                                let go_on = merge(&mut tally.borrow_mut(), &expectations, &limits, time, summaries);
                                *found.borrow_mut() =
                                    tally.borrow().discoveries.iter().enumerate().fold(0, |bits, (i, d)| {
                                        if d.is_some() {
                                            bits | (1 << i)
                                        } else {
                                            bits
                                        }
                                    });
                                activity.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                                if let Some(report) = reporter {
                                    if last_report.elapsed() >= Duration::from_secs(1) {
                                        last_report = Instant::now();
                                        let t = tally.borrow();
                                        report(&Progress {
                                            states: t.states,
                                            unique_states: t.unique,
                                            max_depth: t.max_depth,
                                            elapsed: started.elapsed(),
                                        });
                                    }
                                }
                                if !go_on || halted {
                                    continue;
                                }
                                expansion = Some(Expansion::new(cap, level));
                            }
                            let exp = expansion.as_mut().expect("a level being expanded");
                            let mut session = output.session(&exp.cap);
                            // Checked once per chunk: a deadline or the
                            // memory budget halts every worker.
                            let stop = if limits.deadline.is_some_and(|d| Instant::now() >= d) {
                                Some(Stop::Timeout)
                            } else if memory.over_budget() {
                                Some(Stop::Memory)
                            } else {
                                None
                            };
                            if let Some(stop) = stop {
                                session.give(Transit::Halt(stop));
                                drop(session);
                                halted = true;
                                expansion = None;
                                continue;
                            }
                            activity.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                            let end = (exp.next + EXPANSION_CHUNK).min(exp.level.len());
                            let peers = peers as u64;
                            for (parent, order, state) in &exp.level[exp.next..end] {
                                actions.clear();
                                model.actions(state, &mut actions);
                                for (index, action) in actions.drain(..).enumerate() {
                                    let Some(next) = model.next_state(state, action) else { continue };
                                    let key = super::super::stored_key(canonical, &next);
                                    exp.computed += 1;
                                    let owned_here = route(key) % peers == me;
                                    if !exp.sent.insert(key) || (owned_here && visited.borrow().contains_key(&key)) {
                                        continue;
                                    }
                                    exp.sent_count += 1;
                                    let mut place = Vec::with_capacity(order.len() + 1);
                                    place.extend_from_slice(order);
                                    place.push(index as u32);
                                    let message = Transit::State { key, order: place, parent: *parent, state: next };
                                    // A sample of the states, chosen by fingerprint.
                                    if key % 64 == 0 {
                                        exp.measured.0 += 1;
                                        exp.measured.1 += bincode::serialized_size(&message).unwrap_or(0);
                                    }
                                    session.give(message);
                                }
                            }
                            exp.next = end;
                            if exp.next < exp.level.len() {
                                // The rest of the level at the next
                                // activation: in between, this worker
                                // takes in (and thins out) what arrived.
                                drop(session);
                                activator.activate();
                                break;
                            }
                            // Nothing is sent for a level that computed
                            // nothing, so that the loop can run dry.
                            if exp.computed > 0 {
                                session.give(Transit::Generated { computed: exp.computed, sent: exp.sent_count });
                            }
                            drop(session);
                            let mut t = tally.borrow_mut();
                            t.measured.0 += exp.measured.0;
                            t.measured.1 += exp.measured.1;
                            expansion = None;
                        }
                    }
                },
            )
        };
        expanded.probe_with(&probe).connect_loop(handle);
    });
    worker.step_or_park_while(Some(Duration::from_millis(100)), || !probe.done());
    let tally = tally.borrow().clone();
    (tally, visited)
}

/// Merges every worker's summary of level `time` into `tally`; whether the
/// level is to be expanded. Every worker merges the same summaries, so all
/// decide alike.
fn merge(tally: &mut Tally, expectations: &[Expectation], limits: &Limits, time: u64, summaries: Vec<Summary>) -> bool {
    let depth = time as usize;
    let mut unique = 0;
    let mut halt: Option<Stop> = None;
    for s in &summaries {
        tally.states += s.received as usize;
        tally.sent += s.sent as usize;
        unique += s.unique as usize;
        if let Some(h) = s.halt {
            halt = Some(halt.map_or(h, |x| x.min(h)));
        }
    }
    tally.unique += unique;
    let mut level_hits: Vec<Option<(&[u32], u64)>> = vec![None; expectations.len()];
    for (i, order, key) in summaries.iter().flat_map(|s| s.hits.iter()) {
        let i = *i as usize;
        if level_hits[i].is_none_or(|(o, _)| order.as_slice() < o) {
            level_hits[i] = Some((order, *key));
        }
    }
    let mut violated = false;
    for (i, hit) in level_hits.into_iter().enumerate() {
        if let (None, Some((_, key))) = (tally.discoveries[i], hit) {
            tally.discoveries[i] = Some((depth, key));
        }
    }
    for (i, e) in expectations.iter().enumerate() {
        violated |= *e != Expectation::Sometimes && tally.discoveries[i].is_some();
    }
    if violated {
        tally.max_depth = depth;
        tally.stopped = None;
        return false;
    }
    if tally.stopped.is_some() {
        return false;
    }
    if let Some(h) = halt {
        tally.stopped = Some(h);
        return false;
    }
    if unique == 0 {
        return false;
    }
    if limits.max_depth.is_some_and(|d| depth >= d) {
        tally.stopped = Some(Stop::Depth);
        return false;
    }
    if limits.max_states.is_some_and(|m| tally.states >= m) {
        tally.stopped = Some(Stop::StateBound);
        return false;
    }
    tally.max_depth = depth + 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(received: u64, unique: u64, hits: Vec<(u8, Vec<u32>, u64)>) -> Summary {
        Summary { received, sent: received, unique, hits, halt: None }
    }

    fn no_limits() -> Limits {
        Limits::none()
    }

    /// Property 0 is `always`, property 1 `sometimes`.
    const EXPECTATIONS: [Expectation; 2] = [Expectation::Always, Expectation::Sometimes];

    #[test]
    fn a_violation_stops_the_search_at_its_level_with_the_first_state_in_breadth_first_order() {
        let mut tally = Tally { discoveries: vec![None; 2], ..Tally::default() };
        assert!(merge(&mut tally, &EXPECTATIONS, &no_limits(), 0, vec![summary(0, 1, vec![])]));
        assert_eq!(tally.max_depth, 1);
        let level_1 = vec![summary(3, 2, vec![(1, vec![2], 70)]), summary(2, 1, vec![(1, vec![0], 90)])];
        assert!(merge(&mut tally, &EXPECTATIONS, &no_limits(), 1, level_1), "a sometimes goal does not stop it");
        assert_eq!(tally.discoveries[1], Some((1, 90)), "the first in breadth-first order, not the least key");
        let level_2 = vec![summary(4, 3, vec![(0, vec![1, 5], 11)]), summary(4, 2, vec![(0, vec![0, 7], 99)])];
        assert!(!merge(&mut tally, &EXPECTATIONS, &no_limits(), 2, level_2));
        assert_eq!(tally.discoveries[0], Some((2, 99)));
        assert_eq!((tally.states, tally.unique, tally.max_depth, tally.stopped), (13, 9, 2, None));
    }

    #[test]
    fn a_halt_or_a_bound_stops_every_worker_alike_and_an_empty_level_ends_the_search() {
        let mut tally = Tally { discoveries: vec![None; 2], ..Tally::default() };
        let halted = Summary { halt: Some(Stop::Timeout), ..summary(5, 5, vec![]) };
        assert!(!merge(&mut tally, &EXPECTATIONS, &no_limits(), 3, vec![summary(1, 1, vec![]), halted]));
        assert_eq!(tally.stopped, Some(Stop::Timeout));
        let bounded = Limits { max_depth: Some(2), ..no_limits() };
        let mut tally = Tally { discoveries: vec![None; 2], ..Tally::default() };
        assert!(merge(&mut tally, &EXPECTATIONS, &bounded, 1, vec![summary(1, 1, vec![])]));
        assert!(!merge(&mut tally, &EXPECTATIONS, &bounded, 2, vec![summary(1, 1, vec![])]));
        assert_eq!((tally.stopped, tally.max_depth), (Some(Stop::Depth), 2));
        let mut tally = Tally { discoveries: vec![None; 2], ..Tally::default() };
        assert!(!merge(&mut tally, &EXPECTATIONS, &bounded, 1, vec![summary(4, 0, vec![])]));
        assert_eq!((tally.stopped, tally.states), (None, 4), "complete: nothing new in the level");
    }

    #[test]
    fn routing_spreads_consecutive_fingerprints_over_the_workers() {
        let mut counts = [0usize; 3];
        for key in 0..3000u64 {
            counts[(route(key) % 3) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (800..1200).contains(&c)), "{counts:?}");
    }
}
