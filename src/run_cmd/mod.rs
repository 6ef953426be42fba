//! `raftcheck run`: a Jepsen-style test of our Raft in one command. It
//! starts a cluster of `raftcheck node` processes on loopback
//! ([`cluster`]), drives seeded clients ([`workload`]), injects the seeded
//! faults ([`faults`]) while they run, heals everything, reads every key
//! once more, stops the nodes, and checks ([`checks`]) the client history
//! (linearizable?), the nodes' traces (merged and valid?) and the
//! acknowledged writes (all in the final values?). Every artefact goes to
//! one folder; the summary ([`report`]) says where.
//!
//! Exit codes: 0 every check holds; 1 one found a violation; 3 the run
//! could not decide (the cluster did not start or settle, the history
//! check ran out of time, a final read got no answer, a node process ended
//! on its own); 2 usage.

mod checks;
mod cluster;
mod faults;
mod report;
mod workload;

use crate::output::{outln, Envelope, PerFile};
use crate::trace_cmd::merge as trace_merge;
use checks::{check_history, check_traces, check_writes};
use clap::Args;
use cluster::{Cluster, NodeSettings};
use faults::{FaultKind, PlannedFault};
use raftcheck_checker::models::kv_recorder::KvRecorder;
use raftcheck_impl::net::proxy::LinkMode;
use raftcheck_traces::validate::Verdict as TraceVerdict;
use report::{FaultRecord, RunReport, WorkloadFigures, WritesEntry};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use workload::{final_reads, key_name, Mix, Workload, WorkloadSettings};

/// How long the cluster may take to elect a leader (at the start, and to
/// settle after the faults are healed).
const SETTLE: Duration = Duration::from_secs(15);
/// How long each final read may take.
const FINAL_READ_TIMEOUT: Duration = Duration::from_secs(15);

/// Options of `raftcheck run`.
#[derive(Args, Debug)]
#[command(after_help = "Faults (--faults, comma-separated, in order, one per equal slot of the workload; \
each lasts 1-3 s, less in a short slot, then is healed):\n  \
kill-leader       kill -9 of the leader's process, restarted when the fault ends\n  \
kill              the same, of a random node\n  \
pause-leader      SIGSTOP of the leader, SIGCONT when the fault ends\n  \
pause             the same, of a random node\n  \
partition-leader  the leader cut off from every other node (through the run's TCP proxies)\n  \
partition         the same, of a random node\n  \
slow              every link of a random node delayed by 50-250 ms\n  \
none              no fault\n\n\
Checks: the client history is linearizable (raftcheck lin's checker; HTML report on a violation), the \
nodes' trace files merged by causality are valid (raftcheck trace --merge), and every acknowledged \
write that no later put can have replaced is in the final values.\n\n\
The output folder holds run.json (what --json prints), summary.txt, history.jsonl, history.html (on a \
violation), and per node its data directory, trace.ndjson and log.txt.\n\n\
Exit codes: 0 every check holds; 1 a violation; 3 undecided (the cluster did not start or settle, \
the history check timed out, a final read got no answer, a node process ended on its own); 2 usage.\n\n\
Examples:\n  \
raftcheck run\n  \
raftcheck run --seed 7 --faults kill-leader,partition,pause,slow --duration 30\n  \
raftcheck run --mutant m6 --out m6-run")]
pub struct RunArgs {
    /// Nodes in the cluster.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
    nodes: u16,
    /// Seconds of client workload (the faults happen during it).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Clients running at once (one thread each).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1024))]
    clients: u16,
    /// Operations per second, all clients together (0: as fast as they can).
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Keys the clients use (puts go to the first half, rounded up; the
    /// others only grow, and every acknowledged append to them is checked).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    keys: u16,
    /// The operation mix, as weights.
    #[arg(long, default_value = "get=1,put=1,append=2")]
    mix: Mix,
    /// The faults, in order (see below), or `none`.
    #[arg(long, default_value = "kill-leader,partition-leader")]
    faults: String,
    /// Seed of the workload, the faults and the nodes' timeouts (default:
    /// from the clock; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// A seeded bug every node runs with (`raftcheck mutants` lists them).
    #[arg(long)]
    mutant: Option<String>,
    /// Nodes do not wait for the disk on saves (to measure what fsync
    /// costs).
    #[arg(long)]
    no_fsync: bool,
    /// Nodes snapshot once their Raft state reaches this many bytes (the
    /// default makes a default run snapshot a few times, so that restarts
    /// and InstallSnapshot are exercised).
    #[arg(long, default_value_t = 4_000)]
    max_raft_state: usize,
    /// Seconds a client waits for one operation before giving up on it.
    #[arg(long, default_value_t = 5.0)]
    op_timeout: f64,
    /// Seconds the linearizability check may take.
    #[arg(long, default_value_t = 60.0)]
    lin_timeout: f64,
    /// The output folder (must not exist, or be empty; default:
    /// raftcheck-runs/<time>-seed<seed>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print one JSON object instead of the summary table.
    #[arg(long)]
    json: bool,
}

/// Why the run stopped before its checks.
#[derive(Serialize)]
struct Aborted {
    seed: u64,
    out: String,
    error: String,
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: RunArgs) -> u8 {
    let started = Instant::now();
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos() as u64
            % 1_000_000
    });
    let plan = match settings_problem(&args).map_or_else(|| faults::parse_faults(&args.faults), Err) {
        Ok(kinds) => faults::plan(&kinds, secs(args.duration), args.nodes as usize, seed),
        Err(message) => {
            eprintln!("raftcheck run: {message}");
            return 2;
        }
    };
    if let Some(name) = &args.mutant {
        if let Err(e) = raftcheck_impl::node::parse_mutant(name) {
            eprintln!("raftcheck run: {e} (raftcheck mutants lists them)");
            return 2;
        }
    }
    let out = args.out.clone().unwrap_or_else(|| default_out(seed));
    if let Err(message) = make_out(&out) {
        eprintln!("raftcheck run: {message}");
        return 2;
    }
    let progress = Progress::new();
    progress.say(&format!("raftcheck run: seed {seed}, output in {}", out.display()));
    match execute(&args, seed, &plan, &out, &progress) {
        Ok(report) => finish(report, &out, args.json, started),
        Err(error) => {
            eprintln!("raftcheck run: {error}");
            if args.json {
                let aborted = Aborted { seed, out: out.display().to_string(), error };
                Envelope::new("unknown", 3, started.elapsed(), aborted).print();
            }
            3
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// The longest time an option may give, in seconds (a day).
const MAX_SECONDS: f64 = 86_400.0;

/// What is wrong with the numeric options, if anything.
fn settings_problem(args: &RunArgs) -> Option<String> {
    let seconds = |name: &str, value: f64| {
        (!(value.is_finite() && value > 0.0 && value <= MAX_SECONDS))
            .then(|| format!("--{name} must be a number of seconds above 0 and at most {MAX_SECONDS}"))
    };
    let rate = args.rate;
    seconds("duration", args.duration)
        .or_else(|| seconds("op-timeout", args.op_timeout))
        .or_else(|| seconds("lin-timeout", args.lin_timeout))
        .or_else(|| {
            (!(rate == 0.0 || (rate.is_finite() && rate >= 0.01))).then(|| {
                "--rate must be 0 (as fast as the clients go) or at least 0.01 operations per second".to_string()
            })
        })
}

fn default_out(seed: u64) -> PathBuf {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    PathBuf::from("raftcheck-runs").join(format!("{now}-seed{seed}"))
}

/// Creates the output folder; an existing one must be empty (a run never
/// writes over another's artefacts).
fn make_out(out: &Path) -> Result<(), String> {
    if let Ok(mut entries) = std::fs::read_dir(out) {
        if entries.next().is_some() {
            return Err(format!("{}: the output folder exists and is not empty (give another --out)", out.display()));
        }
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))
}

/// Progress on stderr: one line rewritten in place on a terminal, else one
/// line per event.
struct Progress {
    terminal: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress { terminal: std::io::stderr().is_terminal() }
    }

    /// An event worth a line of its own.
    fn say(&self, text: &str) {
        if self.terminal {
            eprint!("\r\x1b[2K");
        }
        eprintln!("{text}");
    }

    /// The live status line (terminals only).
    fn status(&self, text: &str) {
        if self.terminal {
            eprint!("\r\x1b[2K{text}");
        }
    }

    fn done(&self) {
        if self.terminal {
            eprint!("\r\x1b[2K");
        }
    }
}

/// A fault under way: what to undo when it ends.
struct Active {
    record: FaultRecord,
    ends: Instant,
}

/// Starts the cluster, runs the workload and the faults, heals, reads the
/// final values, stops the nodes and runs the checks.
fn execute(
    args: &RunArgs,
    seed: u64,
    plan: &[PlannedFault],
    out: &Path,
    progress: &Progress,
) -> Result<RunReport, String> {
    let binary = std::env::current_exe().map_err(|e| format!("cannot find the raftcheck binary: {e}"))?;
    let settings = NodeSettings {
        binary,
        mutant: args.mutant.clone(),
        fsync: !args.no_fsync,
        max_raft_state: Some(args.max_raft_state),
        seed,
    };
    let nodes = args.nodes as usize;
    let mut cluster = Cluster::start(nodes, out, settings).map_err(|e| e.to_string())?;
    progress.say(&format!("started {nodes} nodes; waiting for a leader"));
    if cluster.leader(SETTLE).is_none() {
        return Err(format!("no leader was elected within {SETTLE:?} of the start"));
    }
    let history = Arc::new(KvRecorder::default());
    let workload_settings = WorkloadSettings {
        clients: args.clients as usize,
        rate: args.rate,
        keys: args.keys as usize,
        mix: args.mix,
        op_timeout: secs(args.op_timeout),
        seed,
    };
    let duration = secs(args.duration);
    let workload = Workload::start(cluster.client_addresses(), workload_settings, Arc::clone(&history))
        .map_err(|e| format!("cannot start the clients: {e}"))?;
    let begun = Instant::now();
    let mut pending = plan.iter();
    let mut next = pending.next();
    let mut active: Option<Active> = None;
    let mut done: Vec<FaultRecord> = Vec::new();
    while begun.elapsed() < duration {
        if cluster.reap_exited() > 0 {
            let exit = cluster.unexpected_exits().last().expect("one was just noted");
            progress.say(&format!(
                "{:5.1} s  node {} exited on its own ({}; log {}); it is restarted when the faults heal",
                begun.elapsed().as_secs_f64(),
                exit.node,
                exit.status,
                exit.log
            ));
        }
        if let Some(fault) = &active {
            if Instant::now() >= fault.ends {
                let mut fault = active.take().expect("checked above");
                fault.record.length = begun.elapsed().saturating_sub(fault.record.at);
                end_fault(&mut cluster, &fault.record).map_err(|e| e.to_string())?;
                progress.say(&format!(
                    "{:5.1} s  healed {} of node {}",
                    begun.elapsed().as_secs_f64(),
                    fault.record.kind,
                    fault.record.node
                ));
                done.push(fault.record);
            }
        }
        if let Some(planned) = next {
            if active.is_none() && begun.elapsed() >= planned.at {
                let record = start_fault(&mut cluster, planned, begun.elapsed());
                progress.say(&format!("{:5.1} s  {}", begun.elapsed().as_secs_f64(), record.target()));
                active = Some(Active { record, ends: Instant::now() + planned.length });
                next = pending.next();
            }
        }
        progress.status(&format!(
            "{:5.1}/{:.0} s  {} answered, {} unknown, faults {}/{}",
            begun.elapsed().as_secs_f64(),
            duration.as_secs_f64(),
            workload.completed.load(std::sync::atomic::Ordering::Relaxed),
            workload.timed_out.load(std::sync::atomic::Ordering::Relaxed),
            done.len() + usize::from(active.is_some()),
            plan.len()
        ));
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(mut fault) = active.take() {
        fault.record.length = begun.elapsed().saturating_sub(fault.record.at);
        end_fault(&mut cluster, &fault.record).map_err(|e| e.to_string())?;
        done.push(fault.record);
    }
    // Faults whose time never came (the workload ended first, for example
    // after a slow restart): reported, not dropped.
    let faults_not_started: Vec<PlannedFault> = next.into_iter().chain(pending).cloned().collect();
    progress.status("stopping the clients");
    workload.stop();
    let workload_time = begun.elapsed();
    cluster.heal().map_err(|e| e.to_string())?;
    progress.say(&format!("{:5.1} s  workload over; healed; reading the final values", workload_time.as_secs_f64()));
    let ops = history.recorded();
    let keys: Vec<String> = (0..args.keys as usize).map(key_name).collect();
    let final_process = ops.iter().map(|op| op.process + 1).max().unwrap_or(0);
    let finals = match cluster.leader(SETTLE) {
        None => Err(format!("no leader within {SETTLE:?} after the faults were healed")),
        Some(_) => final_reads(cluster.client_addresses(), keys.len(), &history, final_process, FINAL_READ_TIMEOUT),
    };
    progress.status("stopping the nodes");
    let killed_at_stop = cluster.stop().map_err(|e| e.to_string())?;
    let unexpected_exits = cluster.unexpected_exits().to_vec();
    let node_lives = cluster.lives();
    let trace_files = cluster.trace_files();
    drop(cluster);
    progress.status("checking the history");
    let history_check = check_history(&history, out, secs(args.lin_timeout))?;
    progress.status("checking the traces");
    let traces = check_traces(trace_files);
    progress.done();
    let writes = match finals {
        Ok(values) => WritesEntry::Checked(check_writes(&ops, &keys, &values)),
        Err(reason) => WritesEntry::Undecided { verdict: "unknown", reason },
    };
    let names: Vec<String> = traces.files.iter().map(|f| f.display().to_string()).collect();
    let (traces, trace_text, trace_verdict) = match &traces.outcome {
        Ok(merged) => (
            PerFile::Read(trace_merge::report(&names, merged)),
            trace_merge::text(&names, merged),
            Some(merged.report.verdict),
        ),
        Err(error) => {
            let error = trace_merge::input_error(&names, error);
            let text = format!("could not be read: {}", error.error);
            (PerFile::failed(error), text, None)
        }
    };
    Ok(RunReport {
        seed,
        nodes,
        mutant: args.mutant.clone(),
        fsync: !args.no_fsync,
        out: out.display().to_string(),
        workload_seconds: workload_time,
        workload: WorkloadFigures::of(&ops, workload_time),
        faults: done,
        node_lives,
        killed_at_stop,
        unexpected_exits,
        faults_not_started,
        history: history_check,
        traces,
        trace_text,
        trace_verdict,
        writes,
    })
}

/// Starts `planned` now; the node it hits is the leader for a leader
/// fault (if one is found within a second), else its drawn node.
fn start_fault(cluster: &mut Cluster, planned: &PlannedFault, at: Duration) -> FaultRecord {
    let leader = planned.kind.targets_leader().then(|| cluster.leader(Duration::from_secs(1)));
    let node = leader.flatten().unwrap_or(planned.random_node % cluster.size());
    let mut delay = None;
    match planned.kind {
        FaultKind::KillLeader | FaultKind::Kill => cluster.kill(node),
        FaultKind::PauseLeader | FaultKind::Pause => cluster.pause(node),
        FaultKind::PartitionLeader | FaultKind::Partition => cluster.set_links_of(node, LinkMode::Down),
        FaultKind::Slow => {
            delay = Some(planned.delay);
            cluster.set_links_of(node, LinkMode::Slow { delay: planned.delay });
        }
    }
    FaultRecord {
        kind: planned.kind,
        node,
        at,
        length: planned.length,
        leader_found: leader.map(|l| l.is_some()),
        delay,
    }
}

/// Undoes a fault: restarts a killed node, resumes a paused one, puts its
/// links up.
fn end_fault(cluster: &mut Cluster, fault: &FaultRecord) -> Result<(), cluster::ClusterError> {
    match fault.kind {
        FaultKind::KillLeader | FaultKind::Kill => cluster.restart(fault.node)?,
        FaultKind::PauseLeader | FaultKind::Pause => cluster.resume(fault.node),
        FaultKind::PartitionLeader | FaultKind::Partition | FaultKind::Slow => {
            cluster.set_links_of(fault.node, LinkMode::Up)
        }
    }
    Ok(())
}

/// The verdict and exit code of the three checks, writes the report files
/// and prints the summary (or the JSON).
fn finish(report: RunReport, out: &Path, json: bool, started: Instant) -> u8 {
    let history = report.history.verdict;
    let trace_unreadable = report.trace_verdict.is_none();
    let lost = matches!(&report.writes, WritesEntry::Checked(w) if !w.lost.is_empty());
    let writes_unknown = matches!(report.writes, WritesEntry::Undecided { .. });
    let violated = history == "not-linearizable" || report.trace_verdict == Some(TraceVerdict::Invalid) || lost;
    let (code, verdict) = if violated {
        (1, "violated")
    } else if history == "unknown" || writes_unknown || trace_unreadable || !report.unexpected_exits.is_empty() {
        (3, "unknown")
    } else {
        (0, "ok")
    };
    let summary = report::summary(&report, verdict);
    let envelope = Envelope::new(verdict, code, started.elapsed(), &report);
    let json_text = serde_json::to_string_pretty(&envelope).expect("reports serialise");
    let _ = std::fs::write(out.join("run.json"), json_text + "\n");
    let _ = std::fs::write(out.join("summary.txt"), summary.clone() + "\n");
    if json {
        envelope.print();
    } else {
        outln!("{summary}");
    }
    code
}
