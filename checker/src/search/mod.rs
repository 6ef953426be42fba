//! Wing & Gong's backtracking search with Lowe's configuration cache, for
//! one partition of a history. The search is resumable: it runs for a given
//! number of steps and can be continued, so that a driver can interleave
//! partitions fairly on any number of threads.
//!
//! The history is a doubly linked list of call and return entries in time
//! order (calls before returns at equal times: intervals are closed). An
//! operation is *linearized* by unlinking both of its entries. Scanning the
//! list from its head, every call met before the first return belongs to an
//! operation that may take effect next (a *candidate*); the first return
//! met belongs to an operation that must take effect before anything
//! invoked after it, so if no candidate works the search backtracks. Two
//! paths that reach the same configuration (set of linearized operations,
//! model state) have the same future, so each configuration is entered at
//! most once (for histories of several classes of independent operations
//! other means prune instead: see "Memory").
//!
//! Candidates are tried read-only operations first, then by earliest
//! return (pending operations last): the order does not change the answer,
//! but operations that must take effect soon are the likeliest to be next,
//! so a witness is usually found with fewer wrong turns.
//!
//! Pending operations (no return) have only a call entry: they may be
//! linearized at any point after their call, or never. The search succeeds
//! as soon as every completed operation is linearized.
//!
//! When entering a configuration the search asks the model whether each
//! completed read-only candidate, and the operation of the first return,
//! can still take effect given the operations that may come before it (the
//! unlinearized ones called before it returned; `Model::can_still_take_effect`);
//! if one cannot, the configuration is abandoned at once.
//!
//! Read-only operations (`Model::is_read_only`: no legal step of theirs
//! changes the state) are taken greedily: if such a candidate is legal now,
//! then whenever some linearization exists from here, one exists that
//! takes this candidate first (moving it to the front keeps every state,
//! and it is minimal, so real time allows it). So the search does not try
//! other candidates in its place: backtracking over it goes straight to
//! the choice before.
//!
//! A pending operation whose step would keep the current state is not
//! taken: the configuration with it linearized has the same state and
//! fewer options than the current one, which is being explored anyway.
//!
//! Independence (a partial-order reduction that generalises
//! P-compositionality to histories searched whole): only the candidates
//! that depend on the operation of the first return (`Model::independent`;
//! dependence is an equivalence, so these are its class's candidates) are
//! tried. Any linearization from here places that
//! operation before everything called after its return, so the operations
//! placed before it are candidates now; the independent ones among them
//! commute with it and with its dependents, and they returned no earlier
//! than it did, so moving them just after it keeps the order legal for
//! the model and for real time. Hence if some linearization exists, one
//! exists whose next operation is a dependent candidate. For a kv history
//! searched whole, this linearizes key by key as the returns demand,
//! instead of trying every interleaving of the keys.
//!
//! Backjumping: when dependence is an equivalence (operations fall into
//! classes, such as keys, and are independent iff in different classes),
//! the rest of the history is linearizable from a configuration iff, for
//! every class, the rest of that class's operations is from the part of
//! the configuration in that class (locality, as for P-compositionality).
//! So a configuration that fails is failed by one class, its *culprit*:
//! the class of the first-returning operation when every candidate failed
//! by that class, or the class that failed one of its candidates. The
//! configuration before an operation independent of the culprit has the
//! same part in the culprit's class, so it fails too: backtracking passes
//! it without trying its other candidates, up to the last operation of the
//! culprit's class. (Operations are named as culprits by a member of the
//! class: any operation stands for its class.) The failing
//! parts themselves are remembered too (per class: its linearized
//! operations and `Model::class_state`), so that a class's dead ends are
//! not searched again after a backjump has undone the other classes'
//! progress: a configuration whose first-returning operation's class is
//! in a known failing part fails at once.
//!
//! Memory: with several classes the cache does not look configurations
//! up. Failing parts per class prune instead, and a configuration reached
//! again costs at most one walk to where its culprit's class comes first.
//! So the cache keeps only the configurations of the current path (and
//! those of the deepest dead end, for the explanation), and the memory of
//! a search over many keys stays that of its failing parts.
//!
//! Symmetry reduction: two pending operations with equal input and output
//! are interchangeable, except that the one called earlier is available
//! whenever the other is. So a pending operation is only tried once every
//! earlier identical pending operation is linearized: any linearization
//! maps to one of that form by swapping identical operations, which keeps
//! it legal for the model and consistent with real time.

mod entries;
mod linearized;

use crate::cache::{ConfigCache, ConfigId};
use crate::history::Operation;
use crate::limits::SharedLimits;
use crate::model::Model;
use entries::{EntryList, NONE};
use linearized::LinearizedSet;

/// Longest walk along the entry list when gathering the operations that
/// may precede one (see `cannot_take_effect`).
const MAX_WALK: u32 = 128;

/// The deepest point where the search got stuck: a linearizable prefix,
/// the operations that could have come next (all of them failed), and the
/// operation whose return ended the candidates.
#[derive(Clone, Debug)]
pub(crate) struct DeadEnd {
    /// Local ids of the linearized operations, in order.
    pub order: Vec<u32>,
    /// Configuration whose state is the initial state of this path.
    pub initial: ConfigId,
    /// Configuration after each operation of `order`.
    pub states: Vec<ConfigId>,
    /// Operations that were candidates to come next.
    pub candidates: Vec<u32>,
    /// The operation that had to be linearized before the rest.
    pub stuck: u32,
}

/// How a search ended.
#[derive(Debug)]
pub(crate) enum SearchEnd {
    /// Every completed operation was linearized: `order` is a witness.
    Linearizable { order: Vec<u32>, initial: ConfigId, states: Vec<ConfigId> },
    /// Every configuration was explored: no linearization exists.
    Refuted,
    /// A shared limit stopped the search.
    Stopped,
}

struct Frame<S> {
    op: u32,
    /// A read-only operation: no sibling needs trying in its place.
    forced: bool,
    before: ConfigId,
    /// Other successor states of the same step still to try (popped from
    /// the back). Empty for deterministic models.
    alternatives: Vec<S>,
}

/// The candidates of one configuration on the current path, in the order
/// they are tried: `arena[start..start + len]`, the first `tried` done.
struct Level {
    start: u32,
    len: u32,
    tried: u32,
    /// The operation whose return ends the candidates.
    stuck: u32,
    /// Set when this configuration is known to fail by another operation's
    /// class than `stuck`'s (see "Backjumping"); `NONE` otherwise.
    culprit: u32,
}

/// The operations' classes of dependence (see "Backjumping") and the
/// parts of states known to fail per class.
///
/// Invariant: `sets[c]` holds the class-local indices of the linearized
/// operations of class `c`; `failed[c]` holds (set of class `c`, class
/// state) pairs from which class `c`'s remaining operations cannot be
/// linearized.
struct Classes<S> {
    /// Per operation: its class.
    class: Vec<u32>,
    /// Per operation: its index among the operations of its class.
    index: Vec<u32>,
    sets: Vec<LinearizedSet>,
    failed: Vec<ConfigCache<S>>,
}

/// More classes than this and the parts are not remembered (finding an
/// operation's class compares it with one operation of each class).
const MAX_CLASSES: usize = 256;

impl<S: Clone + Eq + std::hash::Hash> Classes<S> {
    /// The classes of `ops`, or `None` if all are in one class (nothing to
    /// gain) or there are more than `MAX_CLASSES`.
    fn of<M: Model<State = S>>(model: &M, ops: &[&Operation<M::Input, M::Output>]) -> Option<Self> {
        let mut representatives: Vec<u32> = Vec::new();
        let mut sizes: Vec<u32> = Vec::new();
        let (mut class, mut index) = (Vec::with_capacity(ops.len()), Vec::with_capacity(ops.len()));
        for (i, op) in ops.iter().enumerate() {
            let found = representatives.iter().position(|&r| !model.independent(&ops[r as usize].input, &op.input));
            let c = found.unwrap_or_else(|| {
                representatives.push(i as u32);
                sizes.push(0);
                representatives.len() - 1
            });
            if representatives.len() > MAX_CLASSES {
                return None;
            }
            class.push(c as u32);
            index.push(sizes[c]);
            sizes[c] += 1;
        }
        if representatives.len() < 2 {
            return None;
        }
        Some(Classes {
            class,
            index,
            sets: sizes.iter().map(|&n| LinearizedSet::new(n as usize)).collect(),
            failed: sizes.iter().map(|_| ConfigCache::new()).collect(),
        })
    }

    fn insert(&mut self, op: u32) {
        self.sets[self.class[op as usize] as usize].insert(self.index[op as usize]);
    }

    fn remove(&mut self, op: u32) {
        self.sets[self.class[op as usize] as usize].remove(self.index[op as usize]);
    }

    /// Records that `op`'s class fails from its part of the configuration
    /// (linearized operations as now, `part` of the state).
    fn record_failure(&mut self, op: u32, part: S) {
        let c = self.class[op as usize] as usize;
        let set = &mut self.sets[c];
        let hash = set.hash();
        let _ = self.failed[c].insert(set.key(), hash, part, 0);
    }

    /// True if `op`'s class is known to fail from its part of the
    /// configuration.
    fn known_failure(&mut self, op: u32, part: S) -> bool {
        let c = self.class[op as usize] as usize;
        let set = &mut self.sets[c];
        let hash = set.hash();
        self.failed[c].contains(set.key(), hash, &part)
    }

    fn allocated_bytes(&self) -> usize {
        self.failed.iter().map(ConfigCache::allocated_bytes).sum::<usize>() + self.class.capacity() * 8
    }
}

/// What came of trying one candidate.
enum Attempt {
    /// It was linearized.
    Linearized,
    /// It cannot come next (or was tried before); try the next candidate.
    Skipped,
    /// The current configuration fails by the class of this operation: a
    /// read-only step led to a configuration known to fail by it, or a
    /// step led to one known to fail by a class independent of the
    /// current candidates.
    FailsBy(u32),
}

/// The search state of one partition.
pub(crate) struct PartitionSearch<'a, M: Model> {
    model: &'a M,
    ops: Vec<&'a Operation<M::Input, M::Output>>,
    /// The unlinearized operations' call and return entries.
    entries: EntryList,
    /// For a pending operation, the latest earlier-called identical pending
    /// operation (`NONE` if there is none): it must be linearized first.
    twin_before: Vec<u32>,
    /// Per operation: `Model::is_read_only`.
    read_only: Vec<bool>,
    /// Per operation: the key candidates are sorted by (smaller first).
    priority: Vec<(bool, u64, u64)>,
    /// The operations linearized on the current path.
    linearized: LinearizedSet,
    cache: ConfigCache<M::State>,
    /// Per configuration: an operation of the class it failed by (see
    /// "Backjumping"), `NONE` while it is on the current path.
    failed_by: Vec<u32>,
    /// The classes of independent operations, when there are several.
    /// Then the cache keeps only the configurations of the current path
    /// (and of the deepest dead end): see "Memory" above.
    classes: Option<Classes<M::State>>,
    /// Configurations entered so far (the cache may hold fewer).
    entered: usize,
    /// With classes: the cache's entries below this id are kept (those of
    /// the deepest dead end, which explanations replay).
    keep_below: usize,
    /// The linearized operations of the current path, in order.
    stack: Vec<Frame<M::State>>,
    /// One level per configuration on the path: `levels.len() ==
    /// stack.len() + 1` while the search runs.
    levels: Vec<Level>,
    /// Candidate lists of all levels, back to back.
    arena: Vec<u32>,
    current: ConfigId,
    completed_left: usize,
    initial_states: Vec<M::State>,
    successors: Vec<M::State>,
    longest: Option<DeadEnd>,
    /// How many first steps of the current path (operation and state after
    /// it) equal those of `longest`: recording a deeper dead end then only
    /// copies the rest, so that a search that keeps going deeper does not
    /// spend quadratic time on its record.
    longest_agrees: usize,
    started: bool,
    /// Search steps taken so far (one per candidate tried or dead end).
    pub(crate) steps: u64,
    accounted_bytes: usize,
}

impl<'a, M: Model> PartitionSearch<'a, M> {
    /// Prepares the search over `ops` (local id = position in `ops`).
    pub(crate) fn new(model: &'a M, ops: Vec<&'a Operation<M::Input, M::Output>>) -> Self {
        let n = ops.len();
        let completed_left = ops.iter().filter(|op| op.ret.is_some()).count();
        let twin_before = twins_before(&ops);
        let read_only: Vec<bool> = ops.iter().map(|o| model.is_read_only(&o.input, o.output.as_ref())).collect();
        let priority = ops.iter().zip(&read_only).map(|(o, &ro)| (!ro, o.ret.map_or(1, |_| 0), o.call)).collect();
        let classes = Classes::of(model, &ops);
        let mut initial_states = model.init();
        initial_states.reverse();
        PartitionSearch {
            model,
            entries: EntryList::new(&ops),
            ops,
            twin_before,
            read_only,
            priority,
            linearized: LinearizedSet::new(n),
            cache: ConfigCache::new(),
            failed_by: Vec::new(),
            classes,
            entered: 0,
            keep_below: 0,
            stack: Vec::new(),
            levels: Vec::new(),
            arena: Vec::new(),
            current: 0,
            completed_left,
            initial_states,
            successors: Vec::new(),
            longest: None,
            longest_agrees: 0,
            started: false,
            steps: 0,
            accounted_bytes: 0,
        }
    }

    /// The operations of this partition, by local id.
    pub(crate) fn ops(&self) -> &[&'a Operation<M::Input, M::Output>] {
        &self.ops
    }

    /// The state of a configuration the search has entered.
    pub(crate) fn state(&self, id: ConfigId) -> &M::State {
        self.cache.state(id)
    }

    /// The deepest dead end met so far.
    pub(crate) fn longest_dead_end(&self) -> Option<&DeadEnd> {
        self.longest.as_ref()
    }

    /// Number of configurations entered.
    pub(crate) fn configurations(&self) -> usize {
        self.entered
    }

    /// Runs at most `budget` steps. Returns `None` if the search is not
    /// finished (call again to continue), or how it ended.
    pub(crate) fn run(&mut self, budget: u64, limits: &SharedLimits) -> Option<SearchEnd> {
        if !self.started {
            self.started = true;
            if !self.enter_next_initial_state() {
                return Some(SearchEnd::Refuted);
            }
            if self.completed_left == 0 {
                return Some(self.witness());
            }
        }
        for _ in 0..budget {
            self.steps += 1;
            if self.steps & 63 == 0 && limits.stopped() {
                return Some(SearchEnd::Stopped);
            }
            if self.steps & 4095 == 0 {
                self.account(limits);
                if limits.check_deadline() {
                    return Some(SearchEnd::Stopped);
                }
            }
            let level = self.levels.last_mut().expect("a configuration is entered");
            let dead_end = if level.tried < level.len {
                let op = self.arena[(level.start + level.tried) as usize];
                level.tried += 1;
                match self.try_linearize(op) {
                    Attempt::Linearized if self.completed_left == 0 => return Some(self.witness()),
                    Attempt::Linearized => {
                        self.enter_configuration();
                        false
                    }
                    Attempt::Skipped => false,
                    Attempt::FailsBy(culprit) => {
                        self.levels.last_mut().expect("entered").culprit = culprit;
                        true
                    }
                }
            } else {
                if self.levels.last().expect("entered").culprit == NONE {
                    self.record_dead_end();
                }
                true
            };
            if dead_end && !self.backtrack() && !self.enter_next_initial_state() {
                return Some(SearchEnd::Refuted);
            }
        }
        self.account(limits);
        None
    }

    /// Releases this search's memory from the shared account.
    pub(crate) fn release(&mut self, limits: &SharedLimits) {
        limits.account(self.accounted_bytes, 0);
        self.accounted_bytes = 0;
    }

    fn account(&mut self, limits: &SharedLimits) {
        let now = self.cache.allocated_bytes()
            + self.stack.capacity() * std::mem::size_of::<Frame<M::State>>()
            + self.arena.capacity() * 4
            + self.levels.capacity() * std::mem::size_of::<Level>()
            + self.failed_by.capacity() * 4
            + self.classes.as_ref().map_or(0, Classes::allocated_bytes);
        limits.account(self.accounted_bytes, now);
        self.accounted_bytes = now;
    }

    /// Tries to take candidate `op` as the next operation.
    #[inline]
    fn try_linearize(&mut self, op: u32) -> Attempt {
        let twin = self.twin_before[op as usize];
        if twin != NONE && !self.linearized.contains(twin) {
            return Attempt::Skipped;
        }
        let o = self.ops[op as usize];
        self.successors.clear();
        let current = self.cache.state(self.current);
        self.model.step(current, &o.input, o.output.as_ref(), &mut self.successors);
        let keeps_state = self.successors.len() == 1 && self.successors[0] == *current;
        if keeps_state && !self.entries.completed(op) {
            // A pending operation that changes nothing here is useless here.
            return Attempt::Skipped;
        }
        let forced = self.read_only[op as usize] && keeps_state;
        let stuck = self.levels.last().expect("entered").stuck;
        let mut fails_by = NONE;
        if !self.successors.is_empty() {
            self.linearized.insert(op);
            if let Some(classes) = &mut self.classes {
                classes.insert(op);
            }
            self.successors.reverse();
            while let Some(state) = self.successors.pop() {
                match self.enter_state(state) {
                    Ok(id) => {
                        let alternatives =
                            if self.successors.is_empty() { Vec::new() } else { std::mem::take(&mut self.successors) };
                        self.stack.push(Frame { op, forced, before: self.current, alternatives });
                        self.current = id;
                        self.entries.lift(op);
                        self.note_pushed(op, id);
                        if self.entries.completed(op) {
                            self.completed_left -= 1;
                        }
                        return Attempt::Linearized;
                    }
                    Err(known) => {
                        let culprit = self.failed_by[known as usize];
                        if forced || self.independent(culprit, stuck) {
                            fails_by = culprit;
                        }
                    }
                }
            }
            self.linearized.remove(op);
            if let Some(classes) = &mut self.classes {
                classes.remove(op);
            }
        }
        if fails_by != NONE {
            // A read-only step was the only way on from here and it fails,
            // or the part of the state in the culprit's class is the same
            // here and fails.
            self.successors.clear();
            return Attempt::FailsBy(fails_by);
        }
        Attempt::Skipped
    }

    /// True if the part of the current configuration in `op`'s class is
    /// known to fail.
    fn class_known_to_fail(&mut self, op: u32) -> bool {
        let Some(classes) = &mut self.classes else { return false };
        let part = self.model.class_state(self.cache.state(self.current), &self.ops[op as usize].input);
        classes.known_failure(op, part)
    }

    /// True if the model declares operations `a` and `b` independent
    /// (false if either is `NONE`).
    #[inline]
    fn independent(&self, a: u32, b: u32) -> bool {
        a != NONE && b != NONE && self.model.independent(&self.ops[a as usize].input, &self.ops[b as usize].input)
    }

    /// Leaves the current configuration, which failed: tries the next
    /// successor state of the last linearized operation, else
    /// unlinearizes it so that its level tries its next candidate. Returns
    /// false if there is nothing to undo.
    fn backtrack(&mut self) -> bool {
        loop {
            let level = self.levels.pop().expect("a configuration is entered");
            self.arena.truncate(level.start as usize);
            let culprit = if level.culprit != NONE { level.culprit } else { level.stuck };
            self.failed_by[self.current as usize] = culprit;
            if let (Some(classes), true) = (&mut self.classes, culprit != NONE) {
                let input = &self.ops[culprit as usize].input;
                classes.record_failure(culprit, self.model.class_state(self.cache.state(self.current), input));
            }
            // The configuration left and all entered after it are off the
            // path from here on.
            self.forget_from(self.current);
            if self.stack.is_empty() {
                return false;
            }
            // Backjumping: the configuration before an operation
            // independent of the culprit fails by the culprit too.
            let jump = self.independent(self.stack.last().expect("checked above").op, culprit);
            while let Some(state) = self.stack.last_mut().and_then(|f| f.alternatives.pop()) {
                if jump {
                    continue;
                }
                if let Ok(id) = self.enter_state(state) {
                    self.current = id;
                    self.longest_agrees = self.longest_agrees.min(self.stack.len() - 1);
                    self.enter_configuration();
                    return true;
                }
            }
            let frame = self.stack.pop().expect("checked above");
            self.longest_agrees = self.longest_agrees.min(self.stack.len());
            let op = frame.op;
            self.current = frame.before;
            self.linearized.remove(op);
            if let Some(classes) = &mut self.classes {
                classes.remove(op);
            }
            self.entries.unlift(op);
            if self.entries.completed(op) {
                self.completed_left += 1;
            }
            if !frame.forced && !jump {
                return true;
            }
            // A read-only step was the only choice worth trying here, or
            // the culprit's class is untouched by the step: the
            // configuration before it fails too, by the same culprit.
            self.levels.last_mut().expect("the level of the configuration before").culprit = culprit;
        }
    }

    /// Pushes the level of the configuration just entered: its candidates
    /// (the calls before the first return), in priority order.
    fn enter_configuration(&mut self) {
        let start = self.arena.len();
        let stuck = self.entries.candidates(&mut self.arena);
        if stuck != NONE {
            self.keep_dependent_candidates(start, stuck);
        }
        let priority = &self.priority;
        self.arena[start..].sort_unstable_by_key(|&op| priority[op as usize]);
        let len = (self.arena.len() - start) as u32;
        // If the model can tell that some operation that must still take
        // effect no longer can, this configuration is a dead end (its
        // candidates count as tried).
        let doomed = if stuck == NONE {
            None
        } else {
            self.arena[start..].iter().copied().find(|&op| self.cannot_take_effect(op, stuck))
        };
        let known = stuck != NONE && doomed.is_none() && self.class_known_to_fail(stuck);
        let tried = if doomed.is_some() || known { len } else { 0 };
        // A doomed configuration fails by the class of the operation that
        // can no longer take effect.
        let culprit = doomed.filter(|&op| self.independent(op, stuck)).unwrap_or(NONE);
        self.levels.push(Level { start: start as u32, len, tried, stuck, culprit });
    }

    /// Keeps, of the candidates in `arena[start..]`, those that depend on
    /// `stuck` (the operation of the first return, itself a candidate; see
    /// "Independence" above). Dependence is an equivalence, so these are
    /// the candidates of `stuck`'s class. Order is kept.
    fn keep_dependent_candidates(&mut self, start: usize, stuck: u32) {
        let mut kept = start;
        for i in start..self.arena.len() {
            let op = self.arena[i];
            if !self.independent(op, stuck) {
                self.arena[kept] = op;
                kept += 1;
            }
        }
        self.arena.truncate(kept);
    }

    /// True if the model shows that completed operation `target` can no
    /// longer take effect: only operations called before `target` returned
    /// (the unlinearized calls ahead of its return entry) may precede it.
    /// Asked for the first-returning operation and for read-only ones.
    fn cannot_take_effect(&self, target: u32, first_return: u32) -> bool {
        if !self.entries.completed(target) || !(self.read_only[target as usize] || target == first_return) {
            return false;
        }
        let ops = &self.ops;
        // The walk is bounded: past MAX_WALK entries the answer is "it may
        // still take effect" (the model saw only some of the others).
        let truncated = std::cell::Cell::new(false);
        let mut others = self
            .entries
            .calls_before_return(target, MAX_WALK, &truncated)
            .map(|op| (&ops[op as usize].input, ops[op as usize].output.as_ref()));
        let t = ops[target as usize];
        let possible = self.model.can_still_take_effect(
            self.cache.state(self.current),
            (&t.input, t.output.as_ref()),
            &mut others,
        );
        !possible && !truncated.get()
    }

    /// Adds the configuration (current linearized set, `state`) to the
    /// cache; its id if it is new, the known id as an error if it was
    /// entered before (and so has failed).
    #[inline]
    fn enter_state(&mut self, state: M::State) -> Result<ConfigId, ConfigId> {
        let heap = self.model.state_heap_bytes(&state);
        let entered = if self.classes.is_some() {
            Ok(self.cache.push_unindexed(state, heap))
        } else {
            let set_hash = self.linearized.hash();
            self.cache.insert(self.linearized.key(), set_hash, state, heap)
        };
        if let Ok(id) = entered {
            self.entered += 1;
            self.failed_by.truncate(id as usize);
            self.failed_by.push(NONE);
        }
        entered
    }

    /// With classes, forgets the configurations from `id` on (left by the
    /// search), except those of the deepest dead end.
    fn forget_from(&mut self, id: ConfigId) {
        if self.classes.is_some() {
            let keep = (id as usize).max(self.keep_below);
            self.cache.truncate(keep);
            self.failed_by.truncate(keep);
        }
    }

    /// Starts the search again from the next initial state not yet entered.
    fn enter_next_initial_state(&mut self) -> bool {
        debug_assert!(self.stack.is_empty());
        while let Some(state) = self.initial_states.pop() {
            if let Ok(id) = self.enter_state(state) {
                self.current = id;
                self.enter_configuration();
                return true;
            }
        }
        false
    }

    fn path(&self) -> (Vec<u32>, ConfigId, Vec<ConfigId>) {
        let order = self.stack.iter().map(|f| f.op).collect();
        let initial = self.stack.first().map_or(self.current, |f| f.before);
        let mut states: Vec<ConfigId> = self.stack.iter().skip(1).map(|f| f.before).collect();
        if !self.stack.is_empty() {
            states.push(self.current);
        }
        (order, initial, states)
    }

    fn witness(&self) -> SearchEnd {
        let (order, initial, states) = self.path();
        SearchEnd::Linearizable { order, initial, states }
    }

    /// Keeps `longest_agrees` up to date after `op` was linearized into
    /// configuration `id` at depth `stack.len() - 1`.
    fn note_pushed(&mut self, op: u32, id: ConfigId) {
        let depth = self.stack.len() - 1;
        if self.longest_agrees == depth {
            if let Some(l) = &self.longest {
                if l.order.get(depth) == Some(&op) && l.states.get(depth) == Some(&id) {
                    self.longest_agrees += 1;
                }
            }
        }
    }

    fn record_dead_end(&mut self) {
        let depth = self.stack.len();
        if self.longest.as_ref().is_some_and(|l| l.order.len() >= depth) {
            return;
        }
        let level = self.levels.last().expect("a configuration is entered");
        let candidates = self.arena[level.start as usize..(level.start + level.len) as usize].to_vec();
        let stuck = level.stuck;
        let initial = self.stack.first().map_or(self.current, |f| f.before);
        let keep = match &self.longest {
            Some(l) if l.initial == initial => self.longest_agrees,
            _ => 0,
        };
        let mut longest = self.longest.take().unwrap_or(DeadEnd {
            order: Vec::new(),
            initial,
            states: Vec::new(),
            candidates: Vec::new(),
            stuck,
        });
        longest.order.truncate(keep);
        longest.states.truncate(keep);
        for k in keep..depth {
            longest.order.push(self.stack[k].op);
            longest.states.push(self.stack.get(k + 1).map_or(self.current, |f| f.before));
        }
        longest.initial = initial;
        longest.candidates = candidates;
        longest.stuck = stuck;
        let deepest = longest.states.iter().copied().chain([longest.initial]).max().unwrap_or(0);
        self.keep_below = self.keep_below.max(deepest as usize + 1);
        self.longest = Some(longest);
        self.longest_agrees = depth;
    }
}

/// For each pending operation, the latest earlier-called pending operation
/// with the same input and output (see the symmetry reduction above).
fn twins_before<I: PartialEq, O: PartialEq>(ops: &[&Operation<I, O>]) -> Vec<u32> {
    let mut pending: Vec<u32> = (0..ops.len() as u32).filter(|&i| ops[i as usize].ret.is_none()).collect();
    pending.sort_by_key(|&i| (ops[i as usize].call, i));
    let mut twin = vec![NONE; ops.len()];
    for (k, &b) in pending.iter().enumerate() {
        let ob = ops[b as usize];
        if let Some(&a) = pending[..k]
            .iter()
            .rev()
            .find(|&&a| ops[a as usize].input == ob.input && ops[a as usize].output == ob.output)
        {
            twin[b as usize] = a;
        }
    }
    twin
}
