//! Exhaustive depth-first search on several threads.
//!
//! Every thread searches from the initial state, each trying actions in its
//! own order, and all share one visited set: whoever stores a state first
//! explores all of its successors, so the search is complete (every stored
//! state is expanded by the thread that stored it, or by the thread it gave
//! the untried actions to) and the threads spread out over different parts
//! of the space. A thread whose search is done does not stop: it waits for
//! work, and a busy thread that sees it waiting gives it the untried
//! actions of its lowest stack frame. The path to the current state is the
//! thread's stack (after the actions to the job's first state), so a
//! counterexample costs nothing to keep.

use super::visited::VisitedSet;
use super::{replay, Limits, Outcome, Path, ProgressFn, Shared};
use stateright::Model;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// One level of a thread's stack: a state, its actions, the next to try.
pub(super) struct Frame<S, A> {
    pub(super) state: S,
    pub(super) actions: Vec<A>,
    pub(super) next: usize,
}

impl<S, A> Frame<S, A> {
    /// The action last tried from this frame's state.
    pub(super) fn taken(&self) -> &A {
        &self.actions[self.next - 1]
    }
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
    dfs_sharing(model, canonical, threads, limits, progress).0
}

/// [`dfs`], and how many jobs the threads gave each other.
fn dfs_sharing<M>(
    model: &M,
    canonical: Option<fn(&M::State) -> u64>,
    threads: usize,
    limits: Limits,
    progress: Option<ProgressFn>,
) -> (Outcome<M>, usize)
where
    M: Model + Sync,
    M::State: Clone + Hash + Send + Sync,
    M::Action: Clone + Send + Sync,
{
    let shared = Shared::new(model, canonical, limits, progress);
    let visited = VisitedSet::default();
    let init = shared.visit_initial(&visited);
    let pool = Pool::new(threads.max(1));
    std::thread::scope(|scope| {
        for t in 0..threads.max(1) {
            let (shared, visited, pool, init) = (&shared, &visited, &pool, init.clone());
            scope.spawn(move || worker(shared, visited, pool, init, t));
        }
    });
    let bytes = visited.bytes();
    let given = pool.queue.into_inner().expect("no thread panicked holding the pool").given;
    (shared.outcome(bytes), given)
}

/// Puts thread `t`'s order on `actions`: thread 0 keeps the model's order,
/// the others rotate it so that they start elsewhere.
pub(super) fn reorder<A>(actions: &mut [A], t: usize, threads: usize) {
    if t > 0 && !actions.is_empty() {
        if t % 2 == 1 {
            actions.reverse();
        }
        actions.rotate_left((t / 2) * actions.len() / threads);
    }
}

/// Work one thread hands to another: a state from the giver's stack, the
/// actions from it the giver has not tried (and now never will), and the
/// actions from the initial state to it (to rebuild a counterexample).
struct Job<S, A> {
    prefix: Vec<A>,
    state: S,
    actions: Vec<A>,
}

/// Where idle threads wait for work and busy threads leave some.
///
/// Invariant (under `queue`'s lock): `idle` counts the threads waiting in
/// [`Pool::take`]; `wanted` is `idle` minus the jobs queued, floored at 0,
/// so a busy thread can tell with one atomic load whether to give. The
/// search is over when every thread is idle and nothing is queued, or when
/// it is stopping.
pub(super) struct Pool<J> {
    queue: Mutex<Queue<J>>,
    changed: Condvar,
    wanted: AtomicUsize,
    /// Set when a thread panicked.
    halted: AtomicBool,
    pub(super) threads: usize,
}

struct Queue<J> {
    jobs: Vec<J>,
    idle: usize,
    over: bool,
    /// Jobs given so far (for the tests).
    given: usize,
}

impl<J> Pool<J> {
    pub(super) fn new(threads: usize) -> Self {
        Pool {
            queue: Mutex::new(Queue { jobs: Vec::new(), idle: 0, over: false, given: 0 }),
            changed: Condvar::new(),
            wanted: AtomicUsize::new(0),
            halted: AtomicBool::new(false),
            threads,
        }
    }

    /// Whether a thread panicked: the others stop as soon as they see it.
    pub(super) fn halted(&self) -> bool {
        self.halted.load(Ordering::Relaxed)
    }

    /// Whether some idle thread waits for a job nobody has given yet.
    pub(super) fn wants_work(&self) -> bool {
        self.wanted.load(Ordering::Relaxed) > 0
    }

    fn update_wanted(&self, queue: &Queue<J>) {
        self.wanted.store(queue.idle.saturating_sub(queue.jobs.len()), Ordering::Relaxed);
    }

    /// Hands `job` to an idle thread.
    pub(super) fn give(&self, job: J) {
        let mut queue = self.queue.lock().expect("no thread panics holding the pool");
        queue.jobs.push(job);
        queue.given += 1;
        self.update_wanted(&queue);
        self.changed.notify_one();
    }

    /// Explores `first`, then each job this thread is given, until the
    /// search is over.
    ///
    /// If building the first job or `explore` panics, the search is over
    /// for every thread (each ends at its next wait, or sooner if it reads
    /// [`Pool::halted`]), so the panic reaches the caller instead of
    /// leaving the others waiting for this thread forever.
    pub(super) fn work(&self, first: impl FnOnce() -> J, stopping: impl Fn() -> bool, mut explore: impl FnMut(J)) {
        let _ends_all_on_panic = EndOnPanic(self);
        let mut job = first();
        loop {
            explore(job);
            match self.take(&stopping) {
                Some(next) => job = next,
                None => break,
            }
        }
    }

    /// Waits for a job; `None` once the search is over (every thread idle
    /// with nothing queued, or `stopping` says so).
    fn take(&self, stopping: impl Fn() -> bool) -> Option<J> {
        let mut queue = self.queue.lock().expect("no thread panics holding the pool");
        queue.idle += 1;
        loop {
            if queue.over || stopping() {
                queue.over = true;
                self.changed.notify_all();
                return None;
            }
            if let Some(job) = queue.jobs.pop() {
                queue.idle -= 1;
                self.update_wanted(&queue);
                return Some(job);
            }
            if queue.idle == self.threads {
                queue.over = true;
                self.changed.notify_all();
                return None;
            }
            self.update_wanted(&queue);
            // The timeout only rechecks `stopping` (a deadline or a
            // violation found by a thread that is not giving work).
            let timeout = Duration::from_millis(20);
            queue = self.changed.wait_timeout(queue, timeout).expect("no thread panics holding the pool").0;
        }
    }
}

/// Ends the search of every thread of its pool if dropped while its
/// thread panics.
struct EndOnPanic<'p, J>(&'p Pool<J>);

impl<J> Drop for EndOnPanic<'_, J> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.halted.store(true, Ordering::Relaxed);
            let mut queue = self.0.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.over = true;
            self.0.changed.notify_all();
        }
    }
}

fn worker<M>(
    shared: &Shared<'_, M>,
    visited: &VisitedSet,
    pool: &Pool<Job<M::State, M::Action>>,
    init: M::State,
    t: usize,
) where
    M: Model,
    M::State: Clone + Hash,
    M::Action: Clone,
{
    let first = || {
        let actions = first_actions(shared.model, &init, t, pool.threads);
        Job { prefix: Vec::new(), state: init, actions }
    };
    pool.work(first, || shared.stopping(), |job| explore(shared, visited, pool, job, t));
}

/// The actions thread `t` of `threads` tries first from the initial state
/// `init`, in its order.
pub(super) fn first_actions<M: Model>(model: &M, init: &M::State, t: usize, threads: usize) -> Vec<M::Action> {
    let mut actions = Vec::new();
    model.actions(init, &mut actions);
    reorder(&mut actions, t, threads);
    actions
}

/// Depth-first search from `job`'s state, trying `job`'s actions there;
/// whenever another thread is idle, the untried actions of the lowest
/// frame that has some are given to it.
fn explore<M>(
    shared: &Shared<'_, M>,
    visited: &VisitedSet,
    pool: &Pool<Job<M::State, M::Action>>,
    job: Job<M::State, M::Action>,
    t: usize,
) where
    M: Model,
    M::State: Clone + Hash,
    M::Action: Clone,
{
    let model = shared.model;
    let Job { prefix, state, actions } = job;
    let mut stack = vec![Frame { state, actions, next: 0 }];
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
            if shared.stopping() || pool.halted() {
                break;
            }
        }
        if !visited.insert(shared.key(&next)) {
            continue;
        }
        unique += 1;
        depth = depth.max(prefix.len() + stack.len());
        shared.check(&next, || path_to(model, &prefix, stack.iter(), &next));
        let mut actions = Vec::new();
        model.actions(&next, &mut actions);
        reorder(&mut actions, t, pool.threads);
        stack.push(Frame { state: next, actions, next: 0 });
        if pool.wants_work() {
            give_lowest_frame(pool, &prefix, &mut stack);
        }
    }
    shared.count(states, unique, depth);
}

/// Gives the untried actions of the lowest frame that has some (its
/// subtree is likely the largest) to an idle thread.
fn give_lowest_frame<S: Clone, A: Clone>(pool: &Pool<Job<S, A>>, prefix: &[A], stack: &mut [Frame<S, A>]) {
    let Some((prefix, k)) = lowest_open_frame(prefix, stack.iter()) else { return };
    let frame = &mut stack[k];
    let actions = frame.actions.split_off(frame.next);
    pool.give(Job { prefix, state: frame.state.clone(), actions });
}

/// Where in a stack the lowest frame with untried actions is (its subtree
/// is likely the largest), and the actions from the initial state to its
/// state.
///
/// Every frame below the top has taken an action (the one that led to the
/// frame above it); the top may have none to take (a state without
/// actions, or whose actions are all asleep), and then nothing is open.
pub(super) fn lowest_open_frame<'f, S: 'f, A: Clone + 'f>(
    prefix: &[A],
    stack: impl Iterator<Item = &'f Frame<S, A>>,
) -> Option<(Vec<A>, usize)> {
    let mut path = prefix.to_vec();
    for (k, frame) in stack.enumerate() {
        if frame.next < frame.actions.len() {
            return Some((path, k));
        }
        if frame.next == 0 {
            return None;
        }
        path.push(frame.taken().clone());
    }
    None
}

/// The path from the initial state through `prefix` (the actions to the
/// first frame's state) and the stack to `last`.
pub(super) fn path_to<'f, M>(
    model: &M,
    prefix: &[M::Action],
    stack: impl Iterator<Item = &'f Frame<M::State, M::Action>>,
    last: &M::State,
) -> Path<M::State, M::Action>
where
    M: Model,
    M::State: Clone + 'f,
    M::Action: Clone + 'f,
{
    let mut path = Vec::new();
    if !prefix.is_empty() {
        path = replay(model, prefix);
        // Its last state is the first frame's, which the stack adds.
        path.pop();
    }
    path.extend(stack.map(|f| (f.state.clone(), Some(f.taken().clone()))));
    path.push((last.clone(), None));
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::configs;
    use crate::explore::model::RaftModel;
    use crate::explore::symmetry::class_fingerprint;
    use raftcheck_core::Mutant;

    /// The top frame of a stack may have no action to take (a state with
    /// none, or with all asleep); it has then taken none either.
    #[test]
    fn a_top_frame_with_no_actions_is_not_open_and_has_taken_nothing() {
        let frame = |actions: Vec<u8>, next| Frame { state: (), actions, next };
        let stack = [frame(vec![1], 1), frame(vec![2, 3], 2), frame(vec![], 0)];
        assert_eq!(lowest_open_frame(&[0], stack.iter()), None);
        let stack = [frame(vec![1], 1), frame(vec![2, 3], 1), frame(vec![], 0)];
        assert_eq!(lowest_open_frame(&[0], stack.iter()), Some((vec![0, 1], 1)));
    }

    /// A thread that panics, building its first job or exploring one, ends
    /// the search for the others, which would otherwise wait for it
    /// forever: the idle one at its next wait, the busy one as soon as it
    /// reads `halted`. The panic reaches the caller.
    #[test]
    fn a_panicking_thread_ends_every_thread_and_its_panic_reaches_the_caller() {
        for while_building in [false, true] {
            let (done, finished) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let pool = Pool::new(3);
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    std::thread::scope(|scope| {
                        for t in 0..3 {
                            let pool = &pool;
                            let first = move || {
                                assert!(!(while_building && t == 0), "thread 0 panics building its first job");
                                t
                            };
                            let explore = |job: usize| {
                                assert_ne!(job, 0, "thread 0 panics exploring");
                                while job == 1 && !pool.halted() {
                                    std::thread::yield_now();
                                }
                            };
                            scope.spawn(move || pool.work(first, || false, explore));
                        }
                    });
                }));
                done.send(result.is_err()).expect("the test waits");
            });
            let panicked = finished.recv_timeout(Duration::from_secs(120)).expect("the threads ended");
            assert!(panicked, "the panic did not reach the caller (while building: {while_building})");
        }
    }

    /// Without symmetry reduction the set of states is exact, so every
    /// number of threads must store the same number; with several, the
    /// threads that finish first are given work, so sharing is exercised.
    #[test]
    fn threads_that_share_work_store_every_state_once() {
        for name in ["m1", "m6", "m4"] {
            let model = RaftModel::new(configs::named(name).expect("a configuration").bounds);
            let (alone, _) = dfs_sharing(&model, None, 1, Limits::none(), None);
            assert!(alone.unique_states > 1_000, "{name}: trivial");
            // Every thread starts by expanding the initial state.
            let mut actions = Vec::new();
            model.actions(&model.initial_state(), &mut actions);
            let from_init = actions.iter().filter(|a| model.next_state(&model.initial_state(), **a).is_some()).count();
            let mut given = 0;
            for threads in [2, 3, 4] {
                let (outcome, jobs) = dfs_sharing(&model, None, threads, Limits::none(), None);
                assert_eq!(outcome.stopped, None, "{name}, {threads} threads");
                assert_eq!(outcome.unique_states, alone.unique_states, "{name}, {threads} threads");
                let expanded_once = alone.states + (threads - 1) * from_init;
                assert_eq!(outcome.states, expanded_once, "{name}, {threads} threads: each state expanded once");
                given += jobs;
            }
            assert!(given > 0, "{name}: no thread was ever given work");
        }
    }

    /// A counterexample found inside a given job starts at the initial state
    /// and each of its steps is the model's: the job's prefix is replayed.
    #[test]
    fn a_counterexample_found_in_a_given_job_is_a_path_of_the_model() {
        let bounds =
            crate::explore::bounds::Bounds { mutant: Some(Mutant::M8), ..configs::named("m8").expect("m8").bounds };
        let model = RaftModel::new(bounds);
        let mut from_given_jobs = 0;
        for _ in 0..6 {
            let (outcome, jobs) = dfs_sharing(&model, Some(class_fingerprint), 4, Limits::none(), None);
            let path = outcome.discoveries.iter().flatten().find(|p| {
                let last = &p.last().expect("a path has a state").0;
                last.history.broken != 0
            });
            let path = path.expect("m8 is caught");
            assert_eq!(path[0].0, model.initial_state());
            for pair in path.windows(2) {
                let action = pair[0].1.expect("every state but the last has its action");
                assert_eq!(model.successor(&pair[0].0, &action).as_ref(), Some(&pair[1].0));
            }
            from_given_jobs += usize::from(jobs > 0);
        }
        assert!(from_given_jobs > 0, "no run gave work away");
    }
}
