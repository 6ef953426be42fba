//! `raftcheck model`: explore the bounded Raft model and report.
//!
//! Arguments are parsed into [`ModelArgs`], validated into bounds and run
//! options before any work, then the report is printed as text or JSON.

use crate::model_cluster::{ClusterArgs, ClusterArgsError};
use crate::output::{self, outln, Envelope};
use crate::units::{parse_duration, parse_size, peak_rss_bytes};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command};
use raftcheck_core::{HeartbeatStyle, Mutant};
use raftcheck_model::explore::bounds::{Bounds, Heartbeats, NetworkKind, OutOfBounds};
use raftcheck_model::explore::configs;
use raftcheck_model::explore::describe;
use raftcheck_model::explore::run::{self, Engine, Progress, RunOptions, RunReport, Status, Strategy, Trace, Verdict};
use raftcheck_model::explore::search::distributed::Cluster;
use raftcheck_model::explore::search::visited::omission_probability;
use serde::Serialize;
use std::time::Duration;

/// Options of `raftcheck model`. Explicit bounds override the chosen
/// configuration's values.
#[derive(Args, Debug)]
#[command(after_help = "Exit codes: 0 every property holds and the run was complete; 1 a property is violated \
(counterexample printed, also when the core panics or breaks a node invariant) or a reachability goal was \
never reached; 3 incomplete (timeout, memory budget, or a bug hunt that found nothing) with nothing found; \
2 usage error.\n\nExamples:\n  raftcheck model --config ci\n  raftcheck model --config m8 --mutant m8\n  \
raftcheck model --config deep --strategy sim --timeout 5m --seed 42\n  \
raftcheck model --config default --processes 2 --process 0 --hostfile hosts   (and --process 1 on the other)")]
pub struct ModelArgs {
    /// Named configuration to start from (see --list-configs); `default`
    /// if not given. Explicit bound options below override its values, and
    /// the report says so.
    #[arg(long)]
    config: Option<String>,
    /// List the named configurations and exit.
    #[arg(long)]
    list_configs: bool,
    /// List the seeded bugs (mutants) and exit.
    #[arg(long)]
    list_mutants: bool,
    #[command(flatten)]
    bounds: BoundArgs,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Re-introduce one classic bug: its id (m8) or name (figure-8-commit).
    #[arg(long)]
    mutant: Option<Mutant>,
    /// auto (a bug hunt of --hunt-time, then dfs), dfs (exhaustive,
    /// symmetry-reduced), bfs (exhaustive, shortest counterexamples), sim
    /// (random walks until --timeout: swarm weights on every other walk,
    /// every other walk from a state that first reached a new cell) or hunt
    /// (bfs and random walks side by side, and after 2 s a one-thread dfs,
    /// until one finds a counterexample or explores everything, or
    /// --timeout or --hunt-time ends them).
    #[arg(long, default_value = "auto")]
    strategy: Strategy,
    /// How long the bug hunt of --strategy auto (and hunt without
    /// --timeout) runs: seconds, or a number with ms, s, m or h.
    #[arg(long, value_parser = parse_duration, default_value = "3s")]
    hunt_time: Duration,
    /// Which search runs the strategy: own (default) or stateright (its own
    /// checker, for comparison; dfs, bfs and sim only).
    #[arg(long, default_value = "own")]
    engine: Engine,
    /// End the run as incomplete (exit 3) once resident memory exceeds
    /// this size, e.g. 512M or 4G.
    #[arg(long, value_parser = parse_size)]
    memory_budget: Option<usize>,
    /// Checker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Stop after this long: seconds, or a number with s, m or h. The run is
    /// then incomplete (exit 3) unless something was found. Simulation
    /// defaults to 60s.
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Seed of the random walks (sim, hunt and the hunt of auto).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Turn symmetry reduction off (dfs and sim).
    #[arg(long)]
    no_symmetry: bool,
    /// Partial-order reduction with sleep sets in the depth-first search
    /// (dfs, and the dfs that follows auto's hunt): of two deliveries (or
    /// losses) of messages that commute, a path that took one does not take
    /// the other later. The same states are visited and checked, fewer
    /// successors computed (a third fewer on 5-server scopes), more memory
    /// used; see "Sleep sets" in the README for when it pays.
    #[arg(long)]
    sleep_sets: bool,
    /// Print one JSON object on stdout instead of the text report.
    #[arg(long)]
    json: bool,
    /// Instead of checking, serve stateright's Explorer (a web UI that walks
    /// the model step by step) at this address, e.g. localhost:3000, until
    /// interrupted.
    #[arg(long, value_name = "ADDR")]
    explore: Option<String>,
    /// No progress lines on stderr.
    #[arg(long)]
    quiet: bool,
    /// When a property is violated, also write the counterexample to FILE
    /// as a replay file, for `raftcheck replay` to play on the threaded
    /// runtime.
    #[arg(long, value_name = "FILE")]
    replay_out: Option<std::path::PathBuf>,
}

/// The bound options of `raftcheck model`: each one given on the command
/// line overrides the configuration's value, and the report names it.
#[derive(Args, Debug)]
struct BoundArgs {
    /// Number of servers (1-5).
    #[arg(long)]
    servers: Option<usize>,
    /// Highest term a node may time out into (1-8).
    #[arg(long)]
    max_term: Option<u64>,
    /// Total election timeouts over the whole run (1-16, or any).
    #[arg(long, value_parser = parse_limit)]
    max_elections: Option<Limit>,
    /// Scripted election order: the node that may campaign in term 1, 2, ...
    /// (comma-separated ids, e.g. 0,1,0,1). Symmetry reduction then keeps
    /// these servers apart from the others.
    #[arg(long, value_delimiter = ',')]
    election_order: Option<Vec<usize>>,
    /// Number of client values proposed over the whole run (0-6).
    #[arg(long)]
    values: Option<u8>,
    /// Number of crashes over the whole run (0-4); each crashed node may
    /// restart from its persisted state.
    #[arg(long)]
    crashes: Option<u8>,
    /// Whether a crash may also fall inside a step, between its Persist,
    /// its sends and its applies, in the order the core emits them
    /// (true/false).
    #[arg(long)]
    crash_mid_step: Option<bool>,
    /// Number of service snapshots over the whole run (0-4).
    #[arg(long)]
    snapshots: Option<u8>,
    /// Network: reordering (lossless unless a link is full), lossy (any
    /// message may be lost), duplicating (lossy, and messages may be
    /// delivered twice). All reorder.
    #[arg(long)]
    network: Option<NetworkKind>,
    /// Capacity of each directed link: messages in flight from one server
    /// to another (1-4), delivered in any order; a message sent into a full
    /// link is lost.
    #[arg(long, visible_alias = "link-capacity")]
    max_in_flight: Option<u8>,
    /// Capacity of the whole network: messages in flight on all links
    /// together (1-32, or any); a step whose messages do not all fit
    /// loses all of them.
    #[arg(long, visible_alias = "network-capacity", value_parser = parse_limit)]
    max_messages: Option<Limit>,
    /// When leaders' heartbeat timers fire: off, while-lagging (only while
    /// some peer lags and nothing is in flight to it) or always.
    #[arg(long)]
    heartbeats: Option<Heartbeats>,
    /// Total heartbeats over the whole run (0-16, or any).
    #[arg(long, value_parser = parse_limit)]
    max_heartbeats: Option<Limit>,
    /// Whether a leader accepts at most one client value per term (true/false).
    #[arg(long)]
    one_value_per_term: Option<bool>,
    /// What heartbeats carry: with-entries or empty.
    #[arg(long, value_parser = |s: &str| s.parse::<HeartbeatStyle>())]
    heartbeat_style: Option<HeartbeatStyle>,
    /// Most entries per AppendEntries (1-8).
    #[arg(long)]
    max_entries: Option<usize>,
}

/// A limit given on the command line: a number, or `any` for none.
#[derive(Clone, Copy, Debug)]
struct Limit(Option<u8>);

/// A limit that is neither a number nor `any`.
#[derive(Debug, thiserror::Error)]
#[error("'{0}': expected a number (0-255) or any")]
struct LimitError(String);

fn parse_limit(s: &str) -> Result<Limit, LimitError> {
    match s {
        "any" | "none" => Ok(Limit(None)),
        _ => s.parse().map(|n| Limit(Some(n))).map_err(|_| LimitError(s.to_string())),
    }
}

/// Options that cannot be run together, found before any work.
#[derive(Debug, thiserror::Error)]
enum PlanError {
    #[error("unknown configuration '{wanted}' (known: {known})")]
    UnknownConfig { wanted: String, known: String },
    /// Bounds out of range or inconsistent, as the model says.
    #[error(transparent)]
    Bounds(#[from] OutOfBounds),
    #[error("--threads must be at least 1")]
    NoThreads,
    #[error("--threads must be at most 256")]
    TooManyThreads,
    #[error("--engine stateright runs --strategy dfs, bfs or sim only")]
    EngineStrategy,
    #[error(transparent)]
    Cluster(#[from] ClusterArgsError),
    #[error("a distributed search (--processes) is breadth-first: --strategy bfs (or none), our engine, no --explore; --workers sets its threads, not --threads")]
    DistributedOptions,
    #[error("--sleep-sets reduces our depth-first search: --strategy dfs or auto, --engine own, no --processes")]
    SleepSetsStrategy,
}

/// An `--explore` address that cannot be served.
#[derive(Debug, thiserror::Error)]
enum AddressError {
    #[error("not an address ({0}); expected HOST:PORT")]
    NotAnAddress(std::io::Error),
    #[error("resolves to no address")]
    NoAddress,
    #[error("cannot listen there: {0}")]
    CannotListen(std::io::Error),
}

/// The validated work: bounds and options.
struct Plan {
    config_name: String,
    /// The bound options given explicitly, which override the
    /// configuration's values (`--servers 5`, ...).
    overrides: Vec<String>,
    bounds: Bounds,
    options: RunOptions,
    /// The distributed search this process takes part in, if one.
    cluster: Option<Cluster>,
}

/// The bound options given on the command line, as typed (`--servers 5`),
/// in the order of `--help`. Which ones were given is clap's to say: those
/// whose value came from the command line.
fn explicit_bounds(matches: &ArgMatches) -> Vec<String> {
    let bound_args = BoundArgs::augment_args(Command::new("bounds"));
    bound_args
        .get_arguments()
        .filter(|arg| matches.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine))
        .map(|arg| {
            let id = arg.get_id().as_str();
            let name = arg.get_long().unwrap_or(id);
            let values: Vec<String> =
                matches.get_raw(id).into_iter().flatten().map(|v| v.to_string_lossy().into_owned()).collect();
            format!("--{name} {}", values.join(","))
        })
        .collect()
}

impl ModelArgs {
    /// The validated work; `matches` are the subcommand's, which tell which
    /// bound options were given.
    fn plan(&self, matches: &ArgMatches) -> Result<Plan, PlanError> {
        let wanted = self.config.as_deref().unwrap_or("default");
        let named = configs::named(wanted).ok_or_else(|| {
            let names: Vec<&str> = configs::all().iter().map(|c| c.name).collect();
            PlanError::UnknownConfig { wanted: wanted.to_string(), known: names.join(", ") }
        })?;
        let given = &self.bounds;
        let mut b = named.bounds;
        b.servers = given.servers.unwrap_or(b.servers);
        b.max_term = given.max_term.unwrap_or(b.max_term);
        b.max_elections = given.max_elections.map_or(b.max_elections, |l| l.0);
        if given.election_order.is_some() {
            b.election_order = given.election_order.clone();
        }
        b.values = given.values.unwrap_or(b.values);
        b.crashes = given.crashes.unwrap_or(b.crashes);
        b.crash_mid_step = given.crash_mid_step.unwrap_or(b.crash_mid_step);
        b.snapshots = given.snapshots.unwrap_or(b.snapshots);
        b.network = given.network.unwrap_or(b.network);
        b.link_capacity = given.max_in_flight.unwrap_or(b.link_capacity);
        b.network_capacity = given.max_messages.map_or(b.network_capacity, |l| l.0);
        b.heartbeats = given.heartbeats.unwrap_or(b.heartbeats);
        b.max_heartbeats = given.max_heartbeats.map_or(b.max_heartbeats, |l| l.0);
        b.one_value_per_term = given.one_value_per_term.unwrap_or(b.one_value_per_term);
        b.heartbeat_style = given.heartbeat_style.unwrap_or(b.heartbeat_style);
        b.max_entries_per_append = given.max_entries.unwrap_or(b.max_entries_per_append);
        b.mutant = self.mutant.or(b.mutant);
        b.validate()?;
        let threads = match self.threads {
            Some(0) => return Err(PlanError::NoThreads),
            Some(t) if t > 256 => return Err(PlanError::TooManyThreads),
            Some(t) => t,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let timeout = match (self.timeout, self.strategy) {
            (None, Strategy::Sim) => Some(Duration::from_secs(60)),
            (t, _) => t,
        };
        if self.engine == Engine::Stateright && matches!(self.strategy, Strategy::Auto | Strategy::Hunt) {
            return Err(PlanError::EngineStrategy);
        }
        let mut cluster = self.cluster.cluster()?;
        let distributed_ok = matches!(self.strategy, Strategy::Auto | Strategy::Bfs)
            && self.engine == Engine::Own
            && self.explore.is_none()
            && self.threads.is_none();
        if cluster.is_some() && !distributed_ok {
            return Err(PlanError::DistributedOptions);
        }
        let depth_first = matches!(self.strategy, Strategy::Dfs | Strategy::Auto) && self.engine == Engine::Own;
        if self.sleep_sets && (!depth_first || cluster.is_some()) {
            return Err(PlanError::SleepSetsStrategy);
        }
        let reports = cluster.as_ref().is_none_or(|c| c.process == 0);
        let progress: Option<fn(&Progress)> = if self.quiet || !reports { None } else { Some(print_progress) };
        let strategy = if cluster.is_some() { Strategy::Bfs } else { self.strategy };
        let threads = cluster.as_ref().map_or(threads, |c| c.processes * c.workers);
        let options = RunOptions {
            strategy,
            engine: self.engine,
            threads,
            timeout,
            hunt_time: self.hunt_time,
            memory_budget: self.memory_budget.map(|m| m as u64),
            max_states: None,
            seed: self.seed,
            symmetry: !self.no_symmetry,
            sleep_sets: self.sleep_sets,
            progress,
        };
        if let Some(c) = cluster.as_mut() {
            c.scope = run::scope_fingerprint(&b, &options);
        }
        Ok(Plan {
            config_name: named.name.to_string(),
            overrides: explicit_bounds(matches),
            bounds: b,
            options,
            cluster,
        })
    }
}

/// How the scope came about: the configuration, and the options merged in.
fn scope_origin(plan: &Plan) -> String {
    if plan.overrides.is_empty() {
        format!("config {}", plan.config_name)
    } else {
        format!("config {} with explicit options merged in: {}", plan.config_name, plan.overrides.join(" "))
    }
}

fn print_progress(p: &Progress) {
    let secs = p.elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "  {:>6.0}s  generated {:>12}  unique {:>12}  {:>9.0} generated/s  {:>8.0} unique/s  depth {}",
        p.elapsed.as_secs_f64(),
        p.states,
        p.unique_states,
        p.states as f64 / secs,
        p.unique_states as f64 / secs,
        p.max_depth
    );
}

/// Runs the subcommand and returns the process exit code; `matches` are
/// the subcommand's.
pub fn run(args: ModelArgs, matches: &ArgMatches) -> u8 {
    if args.list_configs {
        for c in configs::all() {
            outln!("{:<8} {}", c.name, c.description);
            outln!("         {}", c.bounds.summary());
        }
        return 0;
    }
    if args.list_mutants {
        for m in Mutant::ALL {
            outln!("{:<4} {:<26} {}", m.id(), m.name(), m.description());
        }
        return 0;
    }
    let plan = match args.plan(matches) {
        Ok(plan) => plan,
        Err(message) => {
            eprintln!("raftcheck model: {message}");
            return 2;
        }
    };
    if let Some(address) = &args.explore {
        let address = match bindable(address) {
            Ok(a) => a,
            Err(message) => {
                eprintln!("raftcheck model: --explore {address}: {message}");
                return 2;
            }
        };
        eprintln!("raftcheck model: Explorer for config {} at http://{address}/ (Ctrl-C to stop)", plan.config_name);
        run::serve_explorer(&plan.bounds, address);
    }
    let reports = plan.cluster.as_ref().is_none_or(|c| c.process == 0);
    if !args.quiet && reports {
        eprintln!(
            "raftcheck model: {} ({}), strategy {}{}{}",
            scope_origin(&plan),
            plan.bounds.summary(),
            plan.options.strategy,
            if plan.options.sleep_sets { " with sleep sets" } else { "" },
            match &plan.cluster {
                Some(c) => format!(", distributed: {} process(es) of {} worker(s)", c.processes, c.workers),
                None => format!(", {} thread(s)", plan.options.threads),
            }
        );
    }
    let report = match &plan.cluster {
        None => run::run(&plan.bounds, &plan.options),
        Some(cluster) => match run::run_distributed(&plan.bounds, &plan.options, cluster) {
            Ok(report) => report,
            Err(e) => {
                eprintln!("raftcheck model: process {} of {}: {e}", cluster.process, cluster.processes);
                return if e.is_input_error() { 2 } else { 3 };
            }
        },
    };
    let code = match report.verdict {
        Verdict::Ok => 0,
        Verdict::Violated => 1,
        Verdict::Incomplete => 3,
    };
    if !reports {
        return code;
    }
    if let (Some(path), Some(cx)) = (&args.replay_out, report.counterexample()) {
        let trace = cx.path.as_ref().expect("a violated property has a path");
        let model = raftcheck_model::explore::model::RaftModel::new(plan.bounds.clone());
        let replay = raftcheck_model::explore::replay_file::Replay::from_counterexample(&model, trace, cx.name);
        let text = serde_json::to_string_pretty(&replay).expect("replays serialise");
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("raftcheck model: --replay-out {}: {e}", path.display());
            return 2;
        }
    }
    if args.json {
        Envelope::new(report.verdict.name(), code, report.elapsed, json_report(&plan, &report)).print();
    } else {
        output::print(&text_report(&plan, &report));
    }
    code
}

/// Resolves `address` and checks that it can be bound now, so that the
/// Explorer's server does not fail later.
fn bindable(address: &str) -> Result<std::net::SocketAddr, AddressError> {
    use std::net::ToSocketAddrs;
    let resolved =
        address.to_socket_addrs().map_err(AddressError::NotAnAddress)?.next().ok_or(AddressError::NoAddress)?;
    std::net::TcpListener::bind(resolved).map_err(AddressError::CannotListen)?;
    Ok(resolved)
}

fn trace_lines(trace: &Trace) -> Vec<String> {
    let mut lines = Vec::new();
    for (step, window) in trace.windows(2).enumerate() {
        let (state, action) = &window[0];
        let Some(action) = action else { continue };
        lines.push(format!("step {:>2}: {}", step + 1, describe::action(state, action)));
        let after = &window[1].0;
        if let Some(n) = describe::actor(state, action) {
            lines.push(format!("         {}", describe::server(n, &after.servers[n])));
        }
    }
    lines
}

fn text_report(plan: &Plan, report: &RunReport) -> String {
    let mut out = String::new();
    let secs = report.elapsed.as_secs_f64();
    // The counts are those of the search that ran last: rates over its time.
    let search_secs = secs - report.hunt_elapsed.map_or(0.0, |h| h.as_secs_f64());
    out.push_str(&format!("{}\nEffective scope: {}\n\nProperties:\n", scope_origin(plan), plan.bounds.summary()));
    for p in &report.properties {
        out.push_str(&format!("  {:<14} {:<9} {}\n", p.status.name(), p.expectation, p.name));
    }
    out.push_str(&format!(
        "\nStates: {} unique, {} generated, max depth {}, {} ({:.0} unique/s, {:.0} generated/s), {}\n",
        report.unique_states,
        report.states,
        report.max_depth,
        match report.hunt_elapsed {
            Some(hunt) => format!(
                "{secs:.1} s: a {:.1} s bug hunt, then {search_secs:.1} s of exhaustive search",
                hunt.as_secs_f64()
            ),
            None => format!("{secs:.1} s"),
        },
        report.unique_states as f64 / search_secs.max(1e-9),
        report.states as f64 / search_secs.max(1e-9),
        match (report.complete, report.stopped) {
            (true, _) => "complete".to_string(),
            (false, Some(why)) => format!("INCOMPLETE ({why})"),
            (false, None) => "INCOMPLETE".to_string(),
        }
    ));
    if report.visited_bytes > 0 && report.unique_states > 0 {
        out.push_str(&format!(
            "Visited set: {:.1} bytes per state (64-bit fingerprints; chance that two states were merged < {:.1e})\n",
            report.visited_bytes as f64 / report.unique_states as f64,
            omission_probability(report.unique_states)
        ));
    }
    if let Some(c) = &plan.cluster {
        out.push_str(&format!(
            "Distributed breadth-first search: {} process(es) of {} worker(s); {} of the {} successors sent to their owner{}\n",
            c.processes,
            c.workers,
            report.exchanged_states.unwrap_or(0),
            report.states,
            report.exchange_bytes_per_state.map_or(String::new(), |b| format!(", {b:.0} bytes each"))
        ));
    }
    if report.found_by_hunt {
        out.push_str("Found by the bug hunt (breadth-first search and random walks) before the exhaustive search.\n");
    }
    if let Some(bytes) = peak_rss_bytes() {
        out.push_str(&format!("Peak memory: {:.0} MB\n", bytes as f64 / 1e6));
    }
    if let Some(cx) = report.counterexample() {
        let trace = cx.path.as_ref().expect("a violated property has a path");
        out.push_str(&format!("\nCounterexample to \"{}\" ({} steps):\n", cx.name, trace.len() - 1));
        for line in trace_lines(trace) {
            out.push_str(&format!("  {line}\n"));
        }
        let last = &trace.last().expect("paths are not empty").0;
        out.push_str("\nFinal state:\n");
        for line in describe::cluster(last) {
            out.push_str(&format!("  {line}\n"));
        }
        for line in describe::committed(last) {
            out.push_str(&format!("  {line}\n"));
        }
    }
    for p in report.properties.iter().filter(|p| p.status == Status::NoExample) {
        out.push_str(&format!("\nNo state reached \"{}\": the scope cannot exercise it (vacuous run).\n", p.name));
    }
    out.push_str(&format!("\nVerdict: {}\n", report.verdict.name()));
    out
}

/// `raftcheck model --json`, inside the [`Envelope`] (which holds the
/// verdict, the exit code and `elapsed_ms`).
#[derive(Serialize)]
struct ModelReport<'a> {
    config: &'a str,
    /// The bound options merged into the configuration, as typed.
    explicit_options: &'a [String],
    scope: String,
    bounds: BoundsReport,
    stopped: Option<&'static str>,
    found_by_hunt: bool,
    visited_bytes: usize,
    strategy: String,
    threads: usize,
    complete: bool,
    unique_states: usize,
    total_states: usize,
    max_depth: usize,
    /// How long the bug hunt before the exhaustive search took (auto).
    hunt_ms: Option<f64>,
    /// A distributed search: its processes and workers per process.
    processes: Option<usize>,
    workers: Option<usize>,
    /// A distributed search: the mean serialised size of a state sent to
    /// its owner.
    exchange_bytes_per_state: Option<f64>,
    /// A distributed search: successor states sent to their owner.
    exchanged_states: Option<usize>,
    peak_rss_bytes: Option<u64>,
    properties: Vec<PropertyReport>,
    counterexample: Option<CounterexampleReport>,
}

/// The effective bounds, named as their options.
#[derive(Serialize)]
struct BoundsReport {
    servers: usize,
    max_term: u64,
    max_elections: Option<u8>,
    election_order: Option<Vec<usize>>,
    values: u8,
    crashes: u8,
    crash_mid_step: bool,
    snapshots: u8,
    network: &'static str,
    max_in_flight: u8,
    max_messages: Option<u8>,
    heartbeats: &'static str,
    max_heartbeats: Option<u8>,
    one_value_per_term: bool,
    heartbeat_style: &'static str,
    max_entries: usize,
    mutant: Option<&'static str>,
}

#[derive(Serialize)]
struct PropertyReport {
    name: &'static str,
    expectation: &'static str,
    status: &'static str,
}

#[derive(Serialize)]
struct CounterexampleReport {
    property: &'static str,
    /// Steps from the initial state.
    length: usize,
    steps: Vec<String>,
    final_state: Vec<String>,
    detail: Option<String>,
}

fn json_report<'a>(plan: &'a Plan, report: &RunReport) -> ModelReport<'a> {
    let counterexample = report.counterexample().map(|cx| {
        let trace = cx.path.as_ref().expect("a violated property has a path");
        let last = &trace.last().expect("paths are not empty").0;
        CounterexampleReport {
            property: cx.name,
            length: trace.len() - 1,
            steps: trace_lines(trace),
            final_state: describe::cluster(last),
            detail: last.history.detail.as_deref().map(ToString::to_string),
        }
    });
    let b = &plan.bounds;
    ModelReport {
        config: &plan.config_name,
        explicit_options: &plan.overrides,
        scope: b.summary(),
        bounds: BoundsReport {
            servers: b.servers,
            max_term: b.max_term,
            max_elections: b.max_elections,
            election_order: b.election_order.clone(),
            values: b.values,
            crashes: b.crashes,
            crash_mid_step: b.crash_mid_step,
            snapshots: b.snapshots,
            network: b.network.name(),
            max_in_flight: b.link_capacity,
            max_messages: b.network_capacity,
            heartbeats: b.heartbeats.name(),
            max_heartbeats: b.max_heartbeats,
            one_value_per_term: b.one_value_per_term,
            heartbeat_style: b.heartbeat_style.name(),
            max_entries: b.max_entries_per_append,
            mutant: b.mutant.map(|m| m.id()),
        },
        stopped: report.stopped,
        found_by_hunt: report.found_by_hunt,
        visited_bytes: report.visited_bytes,
        strategy: plan.options.strategy.to_string(),
        threads: plan.options.threads,
        complete: report.complete,
        unique_states: report.unique_states,
        total_states: report.states,
        max_depth: report.max_depth,
        hunt_ms: report.hunt_elapsed.map(output::ms),
        processes: plan.cluster.as_ref().map(|c| c.processes),
        workers: plan.cluster.as_ref().map(|c| c.workers),
        exchange_bytes_per_state: report.exchange_bytes_per_state,
        exchanged_states: report.exchanged_states,
        peak_rss_bytes: peak_rss_bytes(),
        properties: report
            .properties
            .iter()
            .map(|p| PropertyReport { name: p.name, expectation: p.expectation, status: p.status.name() })
            .collect(),
        counterexample,
    }
}
