//! Runs the model checker over a [`RaftModel`] and turns what it found into
//! a [`RunReport`]: a verdict, counts, each property's status and, for a
//! violation, the counterexample path.

use crate::explore::bounds::Bounds;
use crate::explore::model::{Action, RaftModel};
use crate::explore::state::ClusterState;
use crate::explore::symmetry;
use stateright::{Checker, Expectation, HasDiscoveries, Model, UniformChooser};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the state space is explored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Depth-first, exhaustive, with symmetry reduction; little memory.
    Dfs,
    /// Breadth-first, exhaustive; counterexamples are shortest (with one
    /// thread); much more memory, no symmetry reduction.
    Bfs,
    /// Random walks until the timeout; never complete, finds deep bugs fast.
    Sim,
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "dfs" => Ok(Strategy::Dfs),
            "bfs" => Ok(Strategy::Bfs),
            "sim" | "simulation" => Ok(Strategy::Sim),
            _ => Err(format!("unknown strategy '{s}' (expected dfs, bfs or sim)")),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strategy::Dfs => "dfs",
            Strategy::Bfs => "bfs",
            Strategy::Sim => "sim",
        })
    }
}

/// How to run one check.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub strategy: Strategy,
    /// Checker threads (at least 1).
    pub threads: usize,
    /// Stop (incomplete) after this long.
    pub timeout: Option<Duration>,
    /// Seed of the random walks (`Strategy::Sim`).
    pub seed: u64,
    /// Use symmetry reduction (DFS and simulation only).
    pub symmetry: bool,
    /// Called about once a second with the progress so far.
    pub progress: Option<fn(&Progress)>,
}

/// A progress sample.
#[derive(Clone, Debug)]
pub struct Progress {
    pub states: usize,
    pub unique_states: usize,
    pub max_depth: usize,
    pub elapsed: Duration,
}

/// The overall outcome of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Complete, every safety property holds and every reachability goal
    /// was reached.
    Ok,
    /// A safety property has a counterexample, or a complete run never
    /// reached a reachability goal (the scope is vacuous).
    Violated,
    /// Stopped early (timeout, or a simulation) with nothing found.
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
    pub name: &'static str,
    /// `always` or `sometimes`.
    pub expectation: &'static str,
    pub status: Status,
    /// The counterexample (violated) or example (found).
    pub path: Option<Trace>,
}

/// Everything a run found.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub verdict: Verdict,
    pub complete: bool,
    pub states: usize,
    pub unique_states: usize,
    pub max_depth: usize,
    pub elapsed: Duration,
    pub properties: Vec<PropertyReport>,
}

impl RunReport {
    /// The first violated property with its counterexample, if any.
    pub fn counterexample(&self) -> Option<&PropertyReport> {
        self.properties.iter().find(|p| p.status == Status::Violated && p.expectation == "always")
    }
}

/// Explores `bounds` with `options` and reports.
pub fn run(bounds: &Bounds, options: &RunOptions) -> RunReport {
    let model = RaftModel::new(bounds.clone());
    let properties = model.properties();
    let stop = Arc::clone(&model.stop);
    let mut builder = model.checker().threads(options.threads.max(1)).finish_when(HasDiscoveries::AnyFailures);
    if let (Strategy::Sim, Some(t)) = (options.strategy, options.timeout) {
        // Random walks end only at stateright's own shutdown signal.
        builder = builder.timeout(t);
    }
    if options.symmetry && options.strategy != Strategy::Bfs {
        builder = builder.symmetry_fn(symmetry::representative);
    }
    let started = Instant::now();
    let checker: Box<dyn Checker<RaftModel>> = match options.strategy {
        Strategy::Dfs => Box::new(builder.spawn_dfs()),
        Strategy::Bfs => Box::new(builder.spawn_bfs()),
        Strategy::Sim => Box::new(builder.spawn_simulation(options.seed, UniformChooser)),
    };
    let mut checker = checker;
    let handles = checker.handles();
    let mut last_report = Instant::now();
    let mut timed_out = false;
    while handles.iter().any(|h| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(20));
        if options.timeout.is_some_and(|t| started.elapsed() >= t) && !timed_out {
            timed_out = true;
            stop.store(true, Ordering::Relaxed);
        }
        if let Some(progress) = options.progress {
            if last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                progress(&Progress {
                    states: checker.state_count(),
                    unique_states: checker.unique_state_count(),
                    max_depth: checker.max_depth(),
                    elapsed: started.elapsed(),
                });
            }
        }
    }
    for h in handles {
        if h.join().is_err() {
            // A checker thread panicked: the core or the model has a bug.
            // Re-raise it so that it is not mistaken for a verdict.
            panic!("a model-checker thread panicked (a bug in raftcheck; see the message above)");
        }
    }
    let elapsed = started.elapsed();
    // Paths are rebuilt by re-running the model: it must have actions again.
    stop.store(false, Ordering::Relaxed);
    let discoveries = checker.discoveries();
    let violated = properties.iter().any(|p| p.expectation == Expectation::Always && discoveries.contains_key(p.name));
    let complete = options.strategy != Strategy::Sim && !timed_out && !violated;
    let reports: Vec<PropertyReport> = properties
        .iter()
        .map(|p| {
            let path = discoveries.get(p.name).map(|path| path.clone().into_vec());
            let (expectation, status) = match (&p.expectation, path.is_some()) {
                (Expectation::Always | Expectation::Eventually, true) => ("always", Status::Violated),
                (Expectation::Always | Expectation::Eventually, false) if complete => ("always", Status::Holds),
                (Expectation::Always | Expectation::Eventually, false) => ("always", Status::Unknown),
                (Expectation::Sometimes, true) => ("sometimes", Status::ExampleFound),
                (Expectation::Sometimes, false) if complete => ("sometimes", Status::NoExample),
                (Expectation::Sometimes, false) => ("sometimes", Status::Unknown),
            };
            PropertyReport { name: p.name, expectation, status, path }
        })
        .collect();
    let vacuous = reports.iter().any(|p| p.status == Status::NoExample);
    let verdict = if violated || vacuous {
        Verdict::Violated
    } else if complete {
        Verdict::Ok
    } else {
        Verdict::Incomplete
    };
    RunReport {
        verdict,
        complete,
        states: checker.state_count(),
        unique_states: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        elapsed,
        properties: reports,
    }
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
