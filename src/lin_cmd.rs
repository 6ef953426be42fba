//! `raftcheck lin`: check histories for linearizability.
//!
//! Arguments are parsed into [`LinArgs`], validated into a [`Config`]
//! before any work, then each file is read, decoded for the chosen model,
//! checked and reported. Exit code: 0 all linearizable, 1 some history is
//! not, 3 some check was stopped by a limit (and none refuted), 2 a usage
//! or input error in any file.

use crate::output::{self, ms, Envelope, InputError, PerFile};
use crate::units::{parse_duration, parse_size, total_memory_bytes};
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use raftcheck_checker::explain::render_text;
use raftcheck_checker::formats::{self, Format, ParseError};
use raftcheck_checker::models::{decode_kv, decode_register, Decoded};
use raftcheck_checker::{
    check, html, CheckOptions, Datum, HistoryError, Model, PartitionOutcome, Progress, UnknownReason, Verdict,
};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The built-in models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelName {
    /// Key/value store of strings: get / put / append, partitioned by key.
    Kv,
    /// One register: read / write (starts as null).
    Register,
    /// One register with compare-and-set: read / write / cas [from, to].
    CasRegister,
}

/// History file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatName {
    /// Pick by content.
    Auto,
    /// Native JSON Lines.
    Jsonl,
    /// Jepsen log lines (`INFO  jepsen.util - <process> :<type> :<f> <value>`).
    Jepsen,
    /// EDN operation maps (Jepsen / Knossos): a vector, a list, or one map per
    /// line, with `;` comments anywhere between operations.
    Edn,
}

/// Options of `raftcheck lin`.
#[derive(Args, Debug)]
#[command(after_long_help = "\
Exit codes: 0 every history is linearizable; 1 some history is not; 3 some check \
was stopped by --timeout or --memory-budget (and none refuted); 2 usage or input error.

How each format reads failures and crashes:
  jsonl   fail = did not happen; info or no completion = may take effect later or never
  jepsen  porcupine's reading of the etcd logs: a failed cas observed another value,
          a failed read completed with an unknown result, info stays open
  edn     knossos's reading: fail = did not happen, info stays open, a read of nil is
          unconstrained; entries of keyword processes (:nemesis) are skipped and counted")]
pub struct LinArgs {
    /// History files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Model to check against. Default: from the file name
    /// (`*.kv.jsonl`, `*.register.jsonl`, `*.cas-register.jsonl`).
    #[arg(long, value_enum)]
    model: Option<ModelName>,
    /// File format.
    #[arg(long, value_enum, default_value = "auto")]
    format: FormatName,
    /// Wall-clock limit per file (e.g. `60`, `1.5s`, `500ms`, `2m`), counted
    /// from the start of reading it; past it the verdict is `unknown` (exit 3).
    #[arg(long)]
    timeout: Option<String>,
    /// Limit on the memory of the search caches (e.g. `512M`, `4G`), shared
    /// by the files checked at the same time (each gets an equal share of
    /// it); past it the verdict is `unknown` (exit 3). Default: 4G or half
    /// the machine's memory, whichever is smaller.
    #[arg(long)]
    memory_budget: Option<String>,
    /// Threads that check files and partitions in parallel (default: all
    /// cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Search each history as a whole instead of per partition (key). The
    /// whole search still does not try the orders of independent operations
    /// (different keys) and backjumps over them, so it stays close to the
    /// partitioned one.
    #[arg(long)]
    no_partition: bool,
    /// Initial value of a register, as JSON (e.g. `0`, `"a"`); default null.
    #[arg(long)]
    initial: Option<String>,
    /// Write a self-contained HTML report (timeline per process with the
    /// linearization or the longest linearizable prefix) to this path.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

/// Validated options.
struct Config {
    files: Vec<PathBuf>,
    model: Option<ModelName>,
    format: FormatName,
    check: CheckOptions,
    /// `--timeout`, per file, from the start of its reading.
    timeout: Option<Duration>,
    threads: usize,
    initial: Option<Datum>,
    html: Option<PathBuf>,
    json: bool,
}

/// 4 GiB, or half of the machine's memory if that is smaller.
fn default_memory_budget() -> usize {
    let four_gib = 4usize << 30;
    total_memory_bytes().map_or(four_gib, |bytes| four_gib.min(bytes as usize / 2))
}

impl Config {
    fn from_args(args: LinArgs) -> Result<Config> {
        let timeout = args.timeout.as_deref().map(parse_duration).transpose().map_err(|e| anyhow!("--timeout {e}"))?;
        let memory_budget = match args.memory_budget.as_deref() {
            Some(text) => parse_size(text).map_err(|e| anyhow!("--memory-budget {e}"))?,
            None => default_memory_budget(),
        };
        if args.threads == Some(0) {
            bail!("--threads 0: expected at least 1");
        }
        let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        // Up to `threads` files are checked at once: each gets its share.
        let concurrent_files = threads.min(args.files.len()).max(1);
        let initial = match args.initial.as_deref() {
            None => None,
            Some(text) => {
                let value: Value = serde_json::from_str(text)
                    .with_context(|| format!("--initial {text:?}: expected a JSON value (quote strings: '\"a\"')"))?;
                Some(Datum::from_json(&value))
            }
        };
        Ok(Config {
            files: args.files,
            model: args.model,
            format: args.format,
            timeout,
            check: CheckOptions {
                no_partition: args.no_partition,
                timeout: None,
                deadline: None,
                memory_budget: Some(memory_budget / concurrent_files),
                witness: args.html.is_some(),
            },
            threads,
            initial,
            html: args.html,
            json: args.json,
        })
    }
}

/// What came of one file.
struct FileResult {
    /// `None` for an input error.
    verdict: Option<Verdict>,
    /// The human-readable report.
    text: String,
    /// The input error, if any.
    error: Option<InputError>,
    json: PerFile<FileReport>,
    html: Option<String>,
}

/// Why a file could not be checked (exit code 2).
#[derive(Debug, thiserror::Error)]
enum FileError {
    #[error(
        "no --model given and the file name does not name one (*.kv.jsonl, *.register.jsonl, *.cas-register.jsonl)"
    )]
    NoModel,
    #[error("--initial applies to the register models, not kv")]
    InitialOnKv,
    #[error("cannot read the file: {0}")]
    Read(std::io::Error),
    #[error(
        "cannot tell the format from the start of the file: expected a JSON object (jsonl), a Jepsen log line (`INFO  jepsen.util - ...`) or EDN (a map with keyword keys, a vector or a list of them); use --format"
    )]
    UnknownFormat,
    /// A line that is not an operation of the format.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Operations that do not make a history of the model.
    #[error(transparent)]
    History(#[from] HistoryError),
}

impl FileError {
    /// The error in the common shape: the line when it is on one.
    fn report(&self, path: &Path) -> InputError {
        let file = path.display().to_string();
        match self {
            FileError::Parse(e) => InputError::new(file, Some(e.line), &e.message),
            FileError::History(e) => InputError::new(file, Some(e.line), &e.message),
            other => InputError::new(file, None, other.to_string()),
        }
    }
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: LinArgs) -> u8 {
    let config = match Config::from_args(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("raftcheck lin: {e:#}");
            return 2;
        }
    };
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(config.threads).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("raftcheck lin: cannot start threads: {e}");
            return 2;
        }
    };
    let started = Instant::now();
    let board = ProgressBoard::start();
    // Files are checked concurrently on the pool (each check also splits its
    // partitions over it); results are reported in the order given.
    let results: Vec<FileResult> = pool.install(|| {
        config
            .files
            .par_iter()
            .map(|path| {
                check_file(&config, &board, path).unwrap_or_else(|e| {
                    let error = e.report(path);
                    FileResult {
                        verdict: None,
                        text: String::new(),
                        error: Some(error.clone()),
                        json: PerFile::failed(error),
                        html: None,
                    }
                })
            })
            .collect()
    });
    for r in &results {
        if let Some(error) = &r.error {
            eprintln!("raftcheck lin: {}", error.error);
        }
        if !config.json {
            output::print(&r.text);
        }
    }
    let code = exit_code(results.iter().map(|r| r.verdict));
    if let Some(path) = &config.html {
        let sections: Vec<String> = results.iter().filter_map(|r| r.html.clone()).collect();
        if let Err(e) = std::fs::write(path, html::document(&sections)) {
            eprintln!("raftcheck lin: cannot write {}: {e}", path.display());
            return 2;
        }
        if !config.json {
            output::print(&format!("HTML report: {}\n", path.display()));
        }
    }
    if config.json {
        let overall = match code {
            0 => "linearizable",
            1 => "not-linearizable",
            3 => "unknown",
            _ => output::ERROR,
        };
        let files = results.into_iter().map(|r| r.json).collect();
        Envelope::new(overall, code, started.elapsed(), LinReport { files }).print();
    }
    code
}

/// `raftcheck lin --json`, inside the [`Envelope`]: one entry per file, in
/// the order given.
#[derive(Serialize)]
struct LinReport {
    files: Vec<PerFile<FileReport>>,
}

/// One file's report.
#[derive(Serialize)]
#[serde(untagged)]
enum FileReport {
    Checked(Box<Checked>),
    /// `--timeout` ran out while the file was being read.
    TimedOutReading {
        file: String,
        verdict: &'static str,
        unknown_reason: &'static str,
        parse_ms: f64,
        check_ms: f64,
        elapsed_ms: f64,
    },
}

/// A file that was read and checked.
#[derive(Serialize)]
struct Checked {
    file: String,
    format: String,
    model: Option<String>,
    verdict: &'static str,
    ops: usize,
    open_ops: usize,
    failed_ops_left_out: usize,
    skipped_entries: usize,
    partitions: usize,
    configurations: usize,
    partition_details: Vec<PartitionDetail>,
    search_steps: u64,
    parse_ms: f64,
    check_ms: f64,
    elapsed_ms: f64,
    /// Not linearizable: the refuted partition's key (`null` for the whole
    /// history) and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    refuted_partition: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<ExplanationReport>,
    /// Unknown: which limit stopped the search.
    #[serde(skip_serializing_if = "Option::is_none")]
    unknown_reason: Option<&'static str>,
    /// Unknown: the deepest dead end found so far, and where.
    #[serde(skip_serializing_if = "Option::is_none")]
    partial_partition: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partial_explanation: Option<ExplanationReport>,
}

#[derive(Serialize)]
struct PartitionDetail {
    key: Option<String>,
    ops: usize,
    outcome: &'static str,
    configurations: usize,
    search_steps: u64,
}

/// Why a partition cannot be linearized (or how far the search got): the
/// longest linearizable prefix, the model state after it, the operation
/// that could not be placed next and the candidates tried.
#[derive(Serialize)]
struct ExplanationReport {
    prefix_length: usize,
    prefix: Vec<OperationReport>,
    state: String,
    stuck: OperationReport,
    candidates: Vec<CandidateReport>,
}

#[derive(Serialize)]
struct OperationReport {
    process: u64,
    line: Option<usize>,
    op: String,
}

#[derive(Serialize)]
struct CandidateReport {
    #[serde(flatten)]
    op: OperationReport,
    accepted_by_model: bool,
}

/// Worst first: an input error (2), then not linearizable (1), then
/// unknown (3), then linearizable (0).
fn exit_code(verdicts: impl Iterator<Item = Option<Verdict>>) -> u8 {
    let mut code = 0;
    for v in verdicts {
        let rank = |c: u8| match c {
            2 => 3,
            1 => 2,
            3 => 1,
            _ => 0,
        };
        let this = match v {
            None => 2,
            Some(Verdict::NotLinearizable) => 1,
            Some(Verdict::Unknown) => 3,
            Some(Verdict::Linearizable) => 0,
        };
        if rank(this) > rank(code) {
            code = this;
        }
    }
    code
}

fn model_for(config: &Config, path: &Path) -> Result<ModelName, FileError> {
    if let Some(m) = config.model {
        return Ok(m);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for (suffix, model) in [
        (".cas-register.jsonl", ModelName::CasRegister),
        (".register.jsonl", ModelName::Register),
        (".kv.jsonl", ModelName::Kv),
    ] {
        if name.ends_with(suffix) {
            return Ok(model);
        }
    }
    Err(FileError::NoModel)
}

fn check_file(config: &Config, board: &ProgressBoard, path: &Path) -> Result<FileResult, FileError> {
    let model = model_for(config, path)?;
    if model == ModelName::Kv && config.initial.is_some() {
        return Err(FileError::InitialOnKv);
    }
    let parse_started = Instant::now();
    // The time limit covers reading the file as well as the search.
    let deadline = config.timeout.map(|t| parse_started + t);
    let text = std::fs::read_to_string(path).map_err(FileError::Read)?;
    let format = match config.format {
        FormatName::Jsonl => Format::Jsonl,
        FormatName::Jepsen => Format::Jepsen,
        FormatName::Edn => Format::Edn,
        FormatName::Auto if text.trim().is_empty() => Format::Jsonl,
        FormatName::Auto => Format::detect(&text).ok_or(FileError::UnknownFormat)?,
    };
    let Some(records) = formats::parse_before(&text, format, deadline)? else {
        return Ok(timed_out_reading(path, parse_started.elapsed()));
    };
    let reading = format.reading();
    let skipped = records.skipped.len();
    let context = FileContext { config, board, path, format, model, parse_started, deadline, skipped };
    match model {
        ModelName::Kv => Ok(context.finish(decode_kv(records, reading)?)),
        ModelName::Register | ModelName::CasRegister => {
            let decoded = decode_register(records, model == ModelName::CasRegister, reading, config.initial.clone())?;
            Ok(context.finish(decoded))
        }
    }
}

/// The result for a file whose reading outlasted `--timeout`.
fn timed_out_reading(path: &Path, spent: Duration) -> FileResult {
    let file = path.display().to_string();
    FileResult {
        verdict: Some(Verdict::Unknown),
        text: format!("{file}: unknown (timeout reached while reading the file, after {:.1} ms)\n", ms(spent)),
        error: None,
        json: PerFile::Read(FileReport::TimedOutReading {
            file,
            verdict: Verdict::Unknown.name(),
            unknown_reason: "timeout",
            parse_ms: ms(spent),
            check_ms: 0.0,
            elapsed_ms: ms(spent),
        }),
        html: None,
    }
}

struct FileContext<'a> {
    config: &'a Config,
    board: &'a ProgressBoard,
    path: &'a Path,
    format: Format,
    model: ModelName,
    parse_started: Instant,
    /// When `--timeout` runs out for this file.
    deadline: Option<Instant>,
    skipped: usize,
}

impl FileContext<'_> {
    fn finish<M: Model>(self, decoded: Decoded<M>) -> FileResult {
        let parse_time = self.parse_started.elapsed();
        let check_started = Instant::now();
        let progress = Arc::new(Progress::default());
        let report = self.board.show(&self.path.display().to_string(), &progress, || {
            let options = CheckOptions { deadline: self.deadline, ..self.config.check.clone() };
            check(&decoded.model, &decoded.history, &options, Some(&progress))
        });
        let check_time = check_started.elapsed();
        let file = self.path.display().to_string();
        let summary = format!(
            "{} ops ({} never completed, {} failed left out{}), {} partition(s); parse {:.1} ms, check {:.1} ms",
            decoded.history.len(),
            decoded.open,
            decoded.failed_left_out,
            if self.skipped > 0 { format!(", {} non-client entries skipped", self.skipped) } else { String::new() },
            report.partitions.len(),
            ms(parse_time),
            ms(check_time),
        );
        let mut out = Checked {
            file: file.clone(),
            format: format!("{:?}", self.format).to_lowercase(),
            model: self.model.to_possible_value().map(|v| v.get_name().to_string()),
            verdict: report.verdict.name(),
            ops: decoded.history.len(),
            open_ops: decoded.open,
            failed_ops_left_out: decoded.failed_left_out,
            skipped_entries: self.skipped,
            partitions: report.partitions.len(),
            configurations: report.partitions.iter().map(|p| p.configurations).sum(),
            partition_details: report
                .partitions
                .iter()
                .map(|p| PartitionDetail {
                    key: p.key.clone(),
                    ops: p.ops.len(),
                    outcome: p.outcome.name(),
                    configurations: p.configurations,
                    search_steps: p.steps,
                })
                .collect(),
            search_steps: report.partitions.iter().map(|p| p.steps).sum(),
            parse_ms: ms(parse_time),
            check_ms: ms(check_time),
            elapsed_ms: ms(parse_time + check_time),
            refuted_partition: None,
            explanation: None,
            unknown_reason: None,
            partial_partition: None,
            partial_explanation: None,
        };
        let mut text = String::new();
        match report.verdict {
            Verdict::Linearizable => text.push_str(&format!("{file}: linearizable: {summary}\n")),
            Verdict::NotLinearizable => {
                text.push_str(&format!("{file}: NOT linearizable: {summary}\n"));
                let (partition, explanation) = report.refuted().expect("a refuted partition");
                let name =
                    partition.key.as_ref().map_or("the whole history".to_string(), |k| format!("partition {k:?}"));
                text.push_str(&format!("  {name} ({} ops) cannot be linearized\n", partition.ops.len()));
                text.push_str(&render_text(&decoded.model, &decoded.history, explanation, 12));
                out.refuted_partition = Some(partition.key.clone());
                out.explanation = Some(explanation_report(&decoded.model, &decoded.history, explanation));
            }
            Verdict::Unknown => {
                let why = match report.unknown_reason {
                    Some(UnknownReason::Timeout) => "timeout",
                    Some(UnknownReason::MemoryBudget) => "memory budget",
                    None => "stopped",
                };
                let done =
                    report.partitions.iter().filter(|p| matches!(p.outcome, PartitionOutcome::Linearizable(_))).count();
                text.push_str(&format!(
                    "{file}: unknown ({why} reached; {done}/{} partition(s) linearizable): {summary}\n",
                    report.partitions.len()
                ));
                out.unknown_reason = Some(why);
                // What the search had established when it stopped.
                let partial = report.partitions.iter().find_map(|p| match &p.outcome {
                    PartitionOutcome::Unknown(Some(e)) => Some((p, e)),
                    _ => None,
                });
                if let Some((partition, e)) = partial {
                    text.push_str(&format!(
                        "  deepest dead end so far, in {}:\n",
                        partition.key.as_ref().map_or("the whole history".to_string(), |k| format!("partition {k:?}"))
                    ));
                    text.push_str(&render_text(&decoded.model, &decoded.history, e, 5));
                    out.partial_partition = Some(partition.key.clone());
                    out.partial_explanation = Some(explanation_report(&decoded.model, &decoded.history, e));
                }
            }
        }
        let html = self.config.html.as_ref().map(|_| html::render(&decoded.model, &decoded.history, &report, &file));
        FileResult {
            verdict: Some(report.verdict),
            text,
            error: None,
            json: PerFile::Read(FileReport::Checked(Box::new(out))),
            html,
        }
    }
}

fn explanation_report<M: Model>(
    model: &M,
    history: &[raftcheck_checker::Operation<M::Input, M::Output>],
    e: &raftcheck_checker::Explanation,
) -> ExplanationReport {
    let op = |i: usize| {
        let o = &history[i];
        OperationReport { process: o.process, line: o.line, op: model.describe_operation(&o.input, o.output.as_ref()) }
    };
    ExplanationReport {
        prefix_length: e.prefix.order.len(),
        prefix: e.prefix.order.iter().map(|&i| op(i)).collect(),
        state: e.state().to_string(),
        stuck: op(e.stuck),
        candidates: e
            .candidates
            .iter()
            .map(|c| CandidateReport { op: op(c.op), accepted_by_model: c.accepted_by_model })
            .collect(),
    }
}

/// The files being checked, for progress output. One background thread
/// (started once per run, never joined: it dies with the process) prints
/// every file still being checked once a second; a run that ends within a
/// second prints nothing. A file costs one lock to enter and one to leave,
/// so progress costs nothing measurable however many files there are.
struct ProgressBoard {
    active: Mutex<Vec<(String, Instant, Arc<Progress>)>>,
}

impl ProgressBoard {
    /// A board with its printing thread running.
    fn start() -> Arc<ProgressBoard> {
        let board = Arc::new(ProgressBoard { active: Mutex::new(Vec::new()) });
        let weak = Arc::downgrade(&board);
        // If the thread cannot be started, the run goes on without progress.
        let _ = std::thread::Builder::new().name("progress".into()).spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let Some(board) = weak.upgrade() else { return };
            board.print();
        });
        board
    }

    fn print(&self) {
        let active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        for (label, started, progress) in active.iter() {
            let elapsed = started.elapsed();
            if elapsed < Duration::from_secs(1) {
                continue;
            }
            eprintln!(
                "raftcheck lin: {label}: {}/{} partition(s) done, {:.1} M search steps, {} MiB of cache, {:.0} s",
                progress.partitions_done.load(Ordering::Relaxed),
                progress.partitions.load(Ordering::Relaxed),
                progress.steps.load(Ordering::Relaxed) as f64 / 1e6,
                progress.memory_bytes.load(Ordering::Relaxed) >> 20,
                elapsed.as_secs_f64(),
            );
        }
    }

    /// Runs `work` with `progress` shown under `label` while it runs.
    fn show<T>(&self, label: &str, progress: &Arc<Progress>, work: impl FnOnce() -> T) -> T {
        let entry = (label.to_string(), Instant::now(), progress.clone());
        self.active.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
        let result = work();
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = active.iter().position(|(_, _, p)| Arc::ptr_eq(p, progress)) {
            active.swap_remove(at);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let v = |xs: &[Option<Verdict>]| exit_code(xs.iter().copied());
        assert_eq!(v(&[Some(Verdict::Linearizable), Some(Verdict::Unknown)]), 3);
        assert_eq!(v(&[Some(Verdict::Unknown), Some(Verdict::NotLinearizable)]), 1);
        assert_eq!(v(&[Some(Verdict::NotLinearizable), None]), 2);
        assert_eq!(v(&[]), 0);
    }
}
