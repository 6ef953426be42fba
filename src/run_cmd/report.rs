//! What a run reports: the workload's figures, the faults as they
//! happened, the three checks' verdicts; as a summary table (stdout and
//! `summary.txt`) and as one JSON object (`--json` and `run.json`).

use crate::output::PerFile;
use crate::run_cmd::checks::{HistoryCheck, WritesCheck};
use crate::run_cmd::cluster::UnexpectedExit;
use crate::run_cmd::faults::{FaultKind, PlannedFault};
use crate::trace_cmd::FileReport;
use raftcheck_checker::models::kv_recorder::RecordedOp;
use serde::{Serialize, Serializer};
use std::time::Duration;

/// Serialises a duration as seconds (a float).
pub fn as_seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e3).round() / 1e3)
}

/// The clients' figures.
#[derive(Debug, Serialize)]
pub struct WorkloadFigures {
    /// Operations the clients called (final reads excluded).
    pub operations: usize,
    /// Those that got their answer.
    pub completed: usize,
    /// Those the client gave up on (outcome unknown).
    pub open: usize,
    /// Completed operations per second of workload.
    pub throughput: f64,
    /// Latency of completed operations, milliseconds.
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
}

impl WorkloadFigures {
    /// The figures of `ops` over a workload of `duration`.
    pub fn of(ops: &[RecordedOp], duration: Duration) -> WorkloadFigures {
        let mut latencies: Vec<u64> =
            ops.iter().filter_map(|op| op.outcome.as_ref().map(|(ret, _)| ret - op.call_time)).collect();
        latencies.sort_unstable();
        let at = |q: f64| -> f64 {
            if latencies.is_empty() {
                return 0.0;
            }
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            (latencies[i] as f64 / 1e3).round() / 1e3
        };
        WorkloadFigures {
            operations: ops.len(),
            completed: latencies.len(),
            open: ops.len() - latencies.len(),
            throughput: (latencies.len() as f64 / duration.as_secs_f64().max(1e-9) * 10.0).round() / 10.0,
            latency_p50_ms: at(0.50),
            latency_p99_ms: at(0.99),
            latency_max_ms: at(1.0),
        }
    }
}

/// A fault as it happened.
#[derive(Debug, Serialize)]
pub struct FaultRecord {
    pub kind: FaultKind,
    /// The node it hit.
    pub node: usize,
    /// When it started and how long it lasted, from the workload's start.
    #[serde(serialize_with = "as_seconds")]
    pub at: Duration,
    #[serde(serialize_with = "as_seconds")]
    pub length: Duration,
    /// For a leader fault: whether a leader was found (else a random node
    /// was hit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_found: Option<bool>,
    /// A slow link's delay.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "optional_seconds")]
    pub delay: Option<Duration>,
}

fn optional_seconds<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => as_seconds(d, s),
        None => s.serialize_none(),
    }
}

impl FaultRecord {
    /// What it hit: `kill-leader of node 2`, and whether that was a
    /// random node for want of a leader.
    pub fn target(&self) -> String {
        let mut text = format!("{} of node {}", self.kind, self.node);
        if self.leader_found == Some(false) {
            text += " (no leader found: a random node)";
        }
        text
    }

    /// The whole fault, for the summary: what it hit, when, how long.
    fn describe(&self) -> String {
        let mut text = format!("{} at {:.1} s for {:.1} s", self.target(), secs(self.at), secs(self.length));
        if let Some(delay) = self.delay {
            text += &format!(" ({} ms)", delay.as_millis());
        }
        text
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The lost-writes check's entry.
#[derive(Serialize)]
#[serde(untagged)]
pub enum WritesEntry {
    Checked(WritesCheck),
    /// The final values could not be read.
    Undecided {
        verdict: &'static str,
        reason: String,
    },
}

/// Everything `--json` prints (inside the envelope) and `run.json` holds.
#[derive(Serialize)]
pub struct RunReport {
    pub seed: u64,
    pub nodes: usize,
    pub mutant: Option<String>,
    pub fsync: bool,
    /// The output folder.
    pub out: String,
    #[serde(serialize_with = "as_seconds")]
    pub workload_seconds: Duration,
    pub workload: WorkloadFigures,
    pub faults: Vec<FaultRecord>,
    /// Processes started per node (1 + its restarts).
    pub node_lives: Vec<usize>,
    /// Nodes that did not stop on SIGTERM in time and were killed (the
    /// run closed their traces).
    pub killed_at_stop: Vec<usize>,
    /// Node processes that ended on their own (a node that failed): the run
    /// cannot vouch for the cluster, and says so (exit 3).
    pub unexpected_exits: Vec<UnexpectedExit>,
    /// Planned faults whose time never came.
    pub faults_not_started: Vec<PlannedFault>,
    pub history: HistoryCheck,
    /// The merged traces' verdict, or why the files could not be read.
    pub traces: PerFile<FileReport>,
    /// The trace check in words (as `raftcheck trace --merge` says it).
    #[serde(skip)]
    pub trace_text: String,
    /// The trace check's verdict (`None`: the files could not be read).
    #[serde(skip)]
    pub trace_verdict: Option<raftcheck_traces::validate::Verdict>,
    pub writes: WritesEntry,
}

/// The summary table: one line per part of the run, then the verdict.
pub fn summary(report: &RunReport, verdict: &str) -> String {
    let w = &report.workload;
    let mut out = format!(
        "raftcheck run: {} nodes, seed {}, {:.1} s of workload{}{}, output in {}\n",
        report.nodes,
        report.seed,
        secs(report.workload_seconds),
        report.mutant.as_ref().map(|m| format!(", mutant {m}")).unwrap_or_default(),
        if report.fsync { "" } else { ", no fsync" },
        report.out
    );
    out += &format!(
        "  workload  {} operations: {} answered, {} unknown; {:.1} ops/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms\n",
        w.operations, w.completed, w.open, w.throughput, w.latency_p50_ms, w.latency_p99_ms, w.latency_max_ms
    );
    if report.faults.is_empty() {
        out += "  faults    none\n";
    }
    for (i, fault) in report.faults.iter().enumerate() {
        out += &format!("  {}{}\n", if i == 0 { "faults    " } else { "          " }, fault.describe());
    }
    let h = &report.history;
    out += &format!(
        "  history   {} ({} operations, {} unknown, checked in {:.0} ms): {}{}\n",
        h.verdict,
        h.operations,
        h.open,
        h.check_ms,
        h.file.display(),
        h.report.as_ref().map(|r| format!(", report {}", r.display())).unwrap_or_default()
    );
    let mut traces = report.trace_text.lines();
    out += &format!("  traces    {}\n", traces.next().unwrap_or(""));
    for line in traces {
        out += &format!("            {line}\n");
    }
    match &report.writes {
        WritesEntry::Checked(w) if w.lost.is_empty() => {
            out +=
                &format!("  writes    all {} acknowledged writes that must show are in the final values\n", w.checked)
        }
        WritesEntry::Checked(w) => {
            out += &format!("  writes    {} of {} acknowledged writes LOST:\n", w.lost.len(), w.checked);
            for lost in w.lost.iter().take(5) {
                out += &format!(
                    "            {} {} {} (process {}), final value {:?}\n",
                    lost.op, lost.key, lost.value, lost.process, lost.final_value
                );
            }
        }
        WritesEntry::Undecided { reason, .. } => out += &format!("  writes    undecided: {reason}\n"),
    }
    if !report.killed_at_stop.is_empty() {
        out += &format!(
            "  note      nodes {:?} did not stop on SIGTERM in time: killed, their traces closed by the run\n",
            report.killed_at_stop
        );
    }
    for exit in &report.unexpected_exits {
        out += &format!("  EXITED    node {} ended on its own ({}): see {}\n", exit.node, exit.status, exit.log);
    }
    for fault in &report.faults_not_started {
        out += &format!(
            "  note      {} planned at {:.1} s never started: the workload ended first\n",
            fault.kind,
            secs(fault.at)
        );
    }
    out += &format!("verdict: {verdict}");
    out
}
