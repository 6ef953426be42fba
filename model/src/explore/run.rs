//! Runs a search over a [`RaftModel`] and turns what it found into a
//! [`RunReport`]: a verdict, counts, each property's status and, for a
//! violation, the counterexample path.

use crate::explore::action::Action;
use crate::explore::bounds::Bounds;
use crate::explore::model::RaftModel;
use crate::explore::novelty_cell;
use crate::explore::search::distributed::{distributed_bfs, Cluster, DistributedError};
use crate::explore::search::{self, Limits, Outcome, Stop};
use crate::explore::state::ClusterState;
use crate::explore::symmetry;
use raftcheck_core::UnknownName;
use stateright::{Checker, Expectation, HasDiscoveries, Model, UniformChooser};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the state space is explored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// A short bug hunt (as `Hunt`, for `RunOptions::hunt_time`), then
    /// exhaustive depth-first search.
    Auto,
    /// Depth-first, exhaustive, with symmetry reduction; little memory.
    Dfs,
    /// Breadth-first, exhaustive; counterexamples are shortest; one thread.
    Bfs,
    /// Seeded random walks until the timeout; never complete.
    Sim,
    /// Bug hunting: breadth-first search, random walks and (after
    /// [`HUNT_DFS_DELAY`]) a depth-first search side by side, until one
    /// finds a counterexample, one explores everything (then the run is
    /// complete), or the timeout.
    Hunt,
}

impl FromStr for Strategy {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Strategy::Auto),
            "dfs" => Ok(Strategy::Dfs),
            "bfs" => Ok(Strategy::Bfs),
            "sim" | "simulation" | "walk" => Ok(Strategy::Sim),
            "hunt" => Ok(Strategy::Hunt),
            _ => Err(UnknownName::new("strategy", s, &["auto", "dfs", "bfs", "sim", "hunt"])),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strategy::Auto => "auto",
            Strategy::Dfs => "dfs",
            Strategy::Bfs => "bfs",
            Strategy::Sim => "sim",
            Strategy::Hunt => "hunt",
        })
    }
}

/// Which search runs the strategy: ours, or stateright's own checker (for
/// side-by-side measurements; `dfs`, `bfs` and `sim` only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The search in [`crate::explore::search`].
    Own,
    /// stateright's `spawn_dfs`, `spawn_bfs` and `spawn_simulation`.
    Stateright,
}

impl FromStr for Engine {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        match s.to_ascii_lowercase().as_str() {
            "own" | "raftcheck" => Ok(Engine::Own),
            "stateright" => Ok(Engine::Stateright),
            _ => Err(UnknownName::new("engine", s, &["own", "stateright"])),
        }
    }
}

/// How to run one check.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How to explore.
    pub strategy: Strategy,
    /// Which search runs it.
    pub engine: Engine,
    /// Search threads (at least 1).
    pub threads: usize,
    /// Stop (incomplete) after this long.
    pub timeout: Option<Duration>,
    /// How long the bug hunt of `Strategy::Auto` may take.
    pub hunt_time: Duration,
    /// Stop (incomplete) once resident memory exceeds this many bytes.
    pub memory_budget: Option<u64>,
    /// Stop (incomplete) after computing this many states; with one
    /// thread, a run so bounded is reproducible on any machine.
    pub max_states: Option<usize>,
    /// Seed of the random walks.
    pub seed: u64,
    /// Use symmetry reduction (exhaustive searches).
    pub symmetry: bool,
    /// Use sleep sets (the depth-first search, alone or after the hunt):
    /// deliveries that commute are taken in one order only.
    pub sleep_sets: bool,
    /// Called about once a second with the progress so far.
    pub progress: Option<fn(&Progress)>,
}

impl RunOptions {
    /// Defaults: `strategy` with our engine, one thread, no limits, seed 0,
    /// symmetry on, a 3-second hunt, no progress.
    pub fn new(strategy: Strategy) -> Self {
        RunOptions {
            strategy,
            engine: Engine::Own,
            threads: 1,
            timeout: None,
            hunt_time: Duration::from_secs(3),
            memory_budget: None,
            max_states: None,
            seed: 0,
            symmetry: true,
            sleep_sets: false,
            progress: None,
        }
    }
}

pub use crate::explore::search::Progress;

/// The overall outcome of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Complete, every safety property holds and every reachability goal
    /// was reached.
    Ok,
    /// A safety property has a counterexample, or a complete run never
    /// reached a reachability goal (the scope is vacuous).
    Violated,
    /// Stopped early (timeout, memory budget, depth bound, or sampling)
    /// with nothing found.
    Incomplete,
}

impl Verdict {
    /// The name used in `--json` and reports.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Violated => "violated",
            Verdict::Incomplete => "incomplete",
        }
    }
}

/// What became of one property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// A safety property that held over every state explored.
    Holds,
    /// A safety property with a counterexample.
    Violated,
    /// A reachability goal that was reached.
    ExampleFound,
    /// A reachability goal never reached in a complete run.
    NoExample,
    /// Nothing found, but the run was incomplete.
    Unknown,
}

impl Status {
    /// The name used in `--json` and reports.
    pub fn name(self) -> &'static str {
        match self {
            Status::Holds => "holds",
            Status::Violated => "violated",
            Status::ExampleFound => "example found",
            Status::NoExample => "no example",
            Status::Unknown => "unknown",
        }
    }
}

/// A path through the model: each state with the action taken from it
/// (`None` on the last state).
pub type Trace = Vec<(ClusterState, Option<Action>)>;

/// One property's result.
#[derive(Clone, Debug)]
pub struct PropertyReport {
    /// The property's name.
    pub name: &'static str,
    /// `always` or `sometimes`.
    pub expectation: &'static str,
    /// What became of it.
    pub status: Status,
    /// The counterexample (violated) or example (found).
    pub path: Option<Trace>,
}

/// Everything a run found.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The verdict.
    pub verdict: Verdict,
    /// Whether every reachable state was explored.
    pub complete: bool,
    /// Why the run was incomplete, in words (`None` if complete or violated).
    pub stopped: Option<&'static str>,
    /// Successor states computed (TLC's "generated").
    pub states: usize,
    /// Distinct states stored (TLC's "distinct").
    pub unique_states: usize,
    /// The deepest state seen.
    pub max_depth: usize,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Bytes of the visited set at the end (our engine).
    pub visited_bytes: usize,
    /// For `Strategy::Auto`: whether the hunt found the counterexample.
    pub found_by_hunt: bool,
    /// For `Strategy::Auto` when the exhaustive search ran after the hunt:
    /// how long the hunt took. The counts are then the exhaustive
    /// search's alone, made in `elapsed - hunt_elapsed`.
    pub hunt_elapsed: Option<Duration>,
    /// Each property, in the model's order.
    pub properties: Vec<PropertyReport>,
    /// The distributed search: the mean serialised size of a state sent
    /// to its owner.
    pub exchange_bytes_per_state: Option<f64>,
    /// The distributed search: successor states sent to their owner.
    pub exchanged_states: Option<usize>,
}

impl RunReport {
    /// The first violated property with its counterexample, if any.
    pub fn counterexample(&self) -> Option<&PropertyReport> {
        self.properties.iter().find(|p| p.status == Status::Violated && p.expectation == "always")
    }
}

/// The search limits `options` set, with `deadline`.
fn limits_of(options: &RunOptions, deadline: Option<Instant>) -> Limits {
    Limits {
        deadline,
        memory_budget: options.memory_budget,
        max_depth: None,
        max_states: options.max_states,
        cancel: None,
    }
}

/// The symmetry class fingerprint, when `options` reduce symmetry.
fn canonical_of(options: &RunOptions) -> Option<fn(&ClusterState) -> u64> {
    options.symmetry.then_some(symmetry::class_fingerprint as fn(&ClusterState) -> u64)
}

/// The exhaustive depth-first search `options` ask for: with sleep sets or
/// without.
fn depth_first(model: &RaftModel, options: &RunOptions, threads: usize, limits: Limits) -> Outcome<RaftModel> {
    let canonical = canonical_of(options);
    if options.sleep_sets {
        search::dfs_with_sleep_sets(model, canonical, threads, limits, options.progress).outcome
    } else {
        search::dfs(model, canonical, threads, limits, options.progress)
    }
}

/// Explores `bounds` with `options` and reports.
pub fn run(bounds: &Bounds, options: &RunOptions) -> RunReport {
    let model = RaftModel::new(bounds.clone());
    let started = Instant::now();
    let deadline = options.timeout.map(|t| started + t);
    let limits = |deadline| limits_of(options, deadline);
    let canonical = canonical_of(options);
    let progress = options.progress;
    if options.engine == Engine::Stateright {
        return run_stateright(&model, options, started);
    }
    let threads = options.threads.max(1);
    let mut found_by_hunt = false;
    let mut hunt_elapsed = None;
    let outcome = match options.strategy {
        Strategy::Dfs => depth_first(&model, options, threads, limits(deadline)),
        Strategy::Bfs => search::bfs(&model, canonical, limits(deadline), progress),
        Strategy::Sim => {
            let deadline = deadline.or(Some(started + Duration::from_secs(60)));
            search::random_walks(&model, threads, options.seed, limits(deadline), progress, &WALKS)
        }
        Strategy::Hunt => {
            let limits = limits(deadline.or(Some(started + options.hunt_time)));
            hunt(&model, canonical, threads, options.seed, limits, Some(HUNT_DFS_DELAY))
        }
        Strategy::Auto => {
            let hunt_deadline = started + options.hunt_time;
            let hunt_deadline = deadline.map_or(hunt_deadline, |d| d.min(hunt_deadline));
            // No depth-first member: the exhaustive depth-first search
            // follows anyway.
            let found = hunt(&model, canonical, threads, options.seed, limits(Some(hunt_deadline)), None);
            if violated(&model, &found) {
                found_by_hunt = true;
                found
            } else if found.stopped.is_none() {
                // The breadth-first hunter explored everything: complete.
                found
            } else {
                hunt_elapsed = Some(started.elapsed());
                depth_first(&model, options, threads, limits(deadline))
            }
        }
    };
    RunReport { hunt_elapsed, ..report(&model, outcome, started.elapsed(), found_by_hunt) }
}

/// Explores `bounds` breadth-first across the processes of `cluster`
/// (see [`search::distributed`]); `options` give the symmetry reduction,
/// the timeout and memory budget (per process) and the progress callback.
/// Every process gets the same report; the caller prints process 0's.
pub fn run_distributed(
    bounds: &Bounds,
    options: &RunOptions,
    cluster: &Cluster,
) -> Result<RunReport, DistributedError> {
    let model = RaftModel::new(bounds.clone());
    let started = Instant::now();
    let limits = limits_of(options, options.timeout.map(|t| started + t));
    let outcome = distributed_bfs(model.clone(), canonical_of(options), limits, options.progress, cluster)?;
    Ok(report(&model, outcome, started.elapsed(), false))
}

/// A fingerprint of what a distributed search explores (the bounds, with
/// the mutant, and whether symmetry is reduced), for its processes to
/// check that they all explore the same thing.
pub fn scope_fingerprint(bounds: &Bounds, options: &RunOptions) -> u64 {
    search::fingerprint(&format!("{bounds:?} symmetry={}", options.symmetry))
}

/// The hunt's walks tell the model's actions apart by kind.
const SWARM: search::Swarm<Action> = search::Swarm { kinds: Action::KINDS, kind_of: Action::kind };

/// The hunt's walks start every other walk from a state that first reached
/// a cell of [`novelty_cell::cell`].
const CELLS: search::Cells<ClusterState> = search::Cells { cell: novelty_cell::cell };

/// How the hunt's (and `sim`'s) walks go: swarm weights on every other
/// walk, and every other walk from the novelty pool.
const WALKS: search::WalkStyle<'static, ClusterState, Action> =
    search::WalkStyle { swarm: Some(&SWARM), cells: Some(&CELLS) };

/// How long `--strategy hunt` runs before its depth-first member joins.
/// The breadth-first search and the walks find the shallow and the common
/// bugs, with short counterexamples, well within it (their slowest catch
/// in the mutant matrix: 1.1-1.3 s); the depth-first search is for the deep and
/// narrow ones (M20 in `default`), whose counterexamples are longer.
pub const HUNT_DFS_DELAY: Duration = Duration::from_secs(2);

/// A portfolio side by side on the cores until one member finds a
/// violation, one ends complete, or `limits` end them: breadth-first search
/// (shortest counterexamples; symmetry-reduced under `canonical`), random
/// walks (deep but common situations) and, if `dfs_after` is given, from
/// then on a depth-first search on one thread (deep, narrow paths; it
/// needs no memory per level). One thread: breadth-first first, then walks,
/// half the time each.
fn hunt(
    model: &RaftModel,
    canonical: Option<fn(&ClusterState) -> u64>,
    threads: usize,
    seed: u64,
    limits: Limits,
    dfs_after: Option<Duration>,
) -> Outcome<RaftModel> {
    let cancel = Arc::new(AtomicBool::new(false));
    let limits = Limits { cancel: Some(Arc::clone(&cancel)), ..limits };
    if threads == 1 {
        let now = Instant::now();
        let half = limits.deadline.map(|d| now + d.saturating_duration_since(now) / 2);
        let first = search::bfs(model, canonical, Limits { deadline: half, ..limits.clone() }, None);
        if first.stopped.is_none() || violated(model, &first) {
            return first;
        }
        return search::random_walks(model, 1, seed, limits, None, &WALKS);
    }
    // A member that explored everything makes the others pointless.
    let complete_ends_the_hunt = |outcome: Outcome<RaftModel>| {
        if outcome.stopped.is_none() {
            cancel.store(true, Ordering::Relaxed);
        }
        outcome
    };
    let dfs_start = dfs_after.map(|delay| Instant::now() + delay);
    let (limits, cancel, complete_ends_the_hunt) = (&limits, &cancel, &complete_ends_the_hunt);
    let (bfs, walks, dfs) = std::thread::scope(|scope| {
        let bfs = scope.spawn(move || complete_ends_the_hunt(search::bfs(model, canonical, limits.clone(), None)));
        let dfs = dfs_start.map(|start| {
            scope.spawn(move || {
                while Instant::now() < start {
                    if cancel.load(Ordering::Relaxed) || limits.deadline.is_some_and(|d| d <= start) {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Some(complete_ends_the_hunt(search::dfs(model, canonical, 1, limits.clone(), None)))
            })
        });
        let walks = search::random_walks(model, threads - 1, seed, limits.clone(), None, &WALKS);
        let dfs = dfs.and_then(|d| d.join().expect("the depth-first hunter does not panic"));
        (bfs.join().expect("the breadth-first hunter does not panic"), walks, dfs)
    });
    let states = bfs.states + walks.states + dfs.as_ref().map_or(0, |d| d.states);
    let complete = |o: &Outcome<RaftModel>| o.stopped.is_none() && !violated(model, o);
    // The breadth-first counterexample is a shortest one; otherwise the
    // shorter of the others'. A member that ran to its end is a complete
    // check.
    let mut found: Vec<Outcome<RaftModel>> = std::iter::once(bfs).chain(std::iter::once(walks)).chain(dfs).collect();
    let preferred = (0..found.len())
        .filter(|&i| violated(model, &found[i]))
        .min_by_key(|&i| (i > 0, counterexample_length(model, &found[i])));
    if let Some(i) = preferred {
        return found.swap_remove(i);
    }
    if let Some(k) = found.iter().position(complete) {
        return found.swap_remove(k);
    }
    let walks = found.swap_remove(1);
    Outcome { states, ..walks }
}

/// The length of `outcome`'s first counterexample to a safety property.
fn counterexample_length(model: &RaftModel, outcome: &Outcome<RaftModel>) -> usize {
    model
        .properties()
        .iter()
        .zip(&outcome.discoveries)
        .filter(|(p, _)| p.expectation != Expectation::Sometimes)
        .find_map(|(_, d)| d.as_ref().map(Vec::len))
        .unwrap_or(usize::MAX)
}

/// Whether `outcome` holds a counterexample to a safety property.
fn violated(model: &RaftModel, outcome: &Outcome<RaftModel>) -> bool {
    model
        .properties()
        .iter()
        .zip(&outcome.discoveries)
        .any(|(p, d)| p.expectation != Expectation::Sometimes && d.is_some())
}

/// Turns a search outcome into a report.
fn report(model: &RaftModel, outcome: Outcome<RaftModel>, elapsed: Duration, found_by_hunt: bool) -> RunReport {
    let properties = model.properties();
    let violated =
        properties.iter().zip(&outcome.discoveries).any(|(p, d)| p.expectation == Expectation::Always && d.is_some());
    let complete = outcome.stopped.is_none() && !violated;
    let reports = properties
        .iter()
        .zip(outcome.discoveries)
        .map(|(p, path)| property_report(p.name, &p.expectation, path, complete))
        .collect();
    finish(reports, complete, violated, outcome.stopped.map(stop_name), elapsed, |r| RunReport {
        states: outcome.states,
        unique_states: outcome.unique_states,
        max_depth: outcome.max_depth,
        visited_bytes: outcome.visited_bytes,
        exchange_bytes_per_state: outcome.exchange_bytes_per_state,
        exchanged_states: outcome.exchanged_states,
        found_by_hunt,
        ..r
    })
}

fn stop_name(stop: Stop) -> &'static str {
    match stop {
        Stop::Timeout => "timeout",
        Stop::Memory => "memory budget",
        Stop::Depth => "depth bound",
        Stop::Sampling => "random walks are never complete",
        Stop::Cancelled => "cancelled",
        Stop::StateBound => "state bound",
    }
}

fn property_report(
    name: &'static str,
    expectation: &Expectation,
    path: Option<Trace>,
    complete: bool,
) -> PropertyReport {
    let (expectation, status) = match (expectation, path.is_some()) {
        (Expectation::Always | Expectation::Eventually, true) => ("always", Status::Violated),
        (Expectation::Always | Expectation::Eventually, false) if complete => ("always", Status::Holds),
        (Expectation::Always | Expectation::Eventually, false) => ("always", Status::Unknown),
        (Expectation::Sometimes, true) => ("sometimes", Status::ExampleFound),
        (Expectation::Sometimes, false) if complete => ("sometimes", Status::NoExample),
        (Expectation::Sometimes, false) => ("sometimes", Status::Unknown),
    };
    PropertyReport { name, expectation, status, path }
}

/// The verdict from the property reports; `fill` adds the counts.
fn finish(
    properties: Vec<PropertyReport>,
    complete: bool,
    violated: bool,
    stopped: Option<&'static str>,
    elapsed: Duration,
    fill: impl FnOnce(RunReport) -> RunReport,
) -> RunReport {
    let vacuous = properties.iter().any(|p| p.status == Status::NoExample);
    let verdict = if violated || vacuous {
        Verdict::Violated
    } else if complete {
        Verdict::Ok
    } else {
        Verdict::Incomplete
    };
    fill(RunReport {
        verdict,
        complete,
        stopped: if complete || violated { None } else { stopped },
        states: 0,
        unique_states: 0,
        max_depth: 0,
        elapsed,
        visited_bytes: 0,
        found_by_hunt: false,
        hunt_elapsed: None,
        properties,
        exchange_bytes_per_state: None,
        exchanged_states: None,
    })
}

/// The same run on stateright's own checker (for measuring side by side).
fn run_stateright(model: &RaftModel, options: &RunOptions, started: Instant) -> RunReport {
    let properties = model.properties();
    let mut builder = model.clone().checker().threads(options.threads.max(1)).finish_when(HasDiscoveries::AnyFailures);
    if let Some(t) = options.timeout {
        builder = builder.timeout(t);
    }
    if options.symmetry && options.strategy != Strategy::Bfs {
        builder = builder.symmetry_fn(symmetry::representative);
    }
    let mut checker: Box<dyn Checker<RaftModel>> = match options.strategy {
        Strategy::Bfs => Box::new(builder.spawn_bfs()),
        Strategy::Sim | Strategy::Hunt => Box::new(builder.spawn_simulation(options.seed, UniformChooser)),
        Strategy::Dfs | Strategy::Auto => Box::new(builder.spawn_dfs()),
    };
    for handle in checker.handles() {
        // A panicking checker thread ends with nothing found; the report
        // then says incomplete.
        let _ = handle.join();
    }
    let elapsed = started.elapsed();
    let discoveries = checker.discoveries();
    let violated = properties.iter().any(|p| p.expectation == Expectation::Always && discoveries.contains_key(p.name));
    let timed_out = options.timeout.is_some_and(|t| elapsed >= t);
    let complete = !matches!(options.strategy, Strategy::Sim | Strategy::Hunt) && !timed_out && !violated;
    let reports = properties
        .iter()
        .map(|p| {
            let path = discoveries.get(p.name).map(|path| path.clone().into_vec());
            property_report(p.name, &p.expectation, path, complete)
        })
        .collect();
    finish(reports, complete, violated, Some("timeout"), elapsed, |r| RunReport {
        states: checker.state_count(),
        unique_states: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        ..r
    })
}

/// Serves stateright's Explorer (a web UI that walks the model step by
/// step) for `bounds` at `address`. Never returns; the caller has checked
/// that the address can be bound.
pub fn serve_explorer(bounds: &Bounds, address: std::net::SocketAddr) -> ! {
    let model = RaftModel::new(bounds.clone());
    let _checker = model.checker().serve(address);
    loop {
        std::thread::park();
    }
}
