//! `raftcheck trace`: validate recorded event traces against the model.
//!
//! Exit code: 0 every trace valid; 1 some trace invalid (its first bad
//! event named); 2 a usage or input error in any file (with file and line).
//! With `--merge`, the files are one cluster trace, one file per node
//! process (`merge`).

pub(crate) mod merge;

use crate::output::{self, ms, outln, Envelope, InputError, PerFile};
use crate::units::parse_size;
use clap::Args;
use raftcheck_core::properties::Safety;
use raftcheck_core::Mutant;
use raftcheck_traces::etcd::{self, EtcdOptions};
use raftcheck_traces::spec::Rule;
use raftcheck_traces::validate::{self, validate_file, Check, CheckMode, Completeness, Options, Report, Verdict};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `raftcheck trace`.
#[derive(Args, Debug)]
#[command(after_help = after_help())]
pub struct TraceArgs {
    /// The traces to validate (NDJSON, one file per cluster; with
    /// `--merge`, one file per node).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The files are one cluster trace written by separate node processes,
    /// one file per node (the same header, the node's own events numbered
    /// 1, 2, 3, ..., its own end record): merge them in an order
    /// consistent with causality (a receive after its send; clocks are
    /// never used) and validate the merged trace, each failure reported at
    /// its file and line. Native traces only.
    #[arg(long)]
    merge: bool,
    /// Replay with this seeded bug instead of the correct core (a mutant's
    /// own trace then conforms, and what is left to find is what its bug
    /// broke). Id (`m8`) or name.
    #[arg(long, value_parser = |s: &str| s.parse::<Mutant>())]
    mutant: Option<Mutant>,
    /// The longest line accepted, in bytes (a longer one is an input
    /// error naming its line). Suffixes K, M, G.
    #[arg(long, value_parser = parse_line_limit, default_value = "16M")]
    max_line_bytes: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// The trace format: `native` (raftcheck's own, replayed through the
    /// core), `etcd` (etcd-raft's TracingEvent NDJSON, checked against the
    /// Raft spec) or `auto` (from the first line: a `raftcheck_trace`
    /// header is native; a zap record with "tag" or an etcd event is etcd).
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// etcd traces: skip (and count) events of a kind the reader does not
    /// know, or with a message type etcd-raft does not have, instead of
    /// refusing the trace.
    #[arg(long)]
    lenient: bool,
    /// Native traces: what they are checked against. `exact`: replayed
    /// through raftcheck's core (every output and state must be the
    /// core's); `spec`: the executable Raft spec (any Raft the paper
    /// allows passes); `both`: each event against both. etcd traces are
    /// always checked against the spec.
    #[arg(long, value_enum, default_value_t = CheckArg::Both)]
    check: CheckArg,
}

/// `--check`: what a native trace is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum CheckArg {
    Exact,
    Spec,
    Both,
}

impl From<CheckArg> for CheckMode {
    fn from(arg: CheckArg) -> CheckMode {
        match arg {
            CheckArg::Exact => CheckMode::Exact,
            CheckArg::Spec => CheckMode::Spec,
            CheckArg::Both => CheckMode::Both,
        }
    }
}

/// The trace formats `raftcheck trace` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Auto,
    Native,
    Etcd,
}

/// The format of the file at `path`, from its first non-blank line: a
/// `raftcheck_trace` header is native; a line with "tag" or an event with
/// "name" and "nid" is etcd; anything else is left to the native reader
/// (which names what is wrong).
fn detect(path: &std::path::Path) -> Format {
    use std::io::{BufRead, Read};
    let Ok(file) = std::fs::File::open(path) else { return Format::Native };
    let mut reader = std::io::BufReader::new(file).take(1 << 20);
    let mut line = Vec::new();
    let mut first = true;
    // A native trace starts with its header; an etcd trace may start with
    // the application's own log lines before its first trace record.
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return Format::Native,
            Ok(_) if line.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(_) => {}
        }
        let has = |needle: &[u8]| line.windows(needle.len()).any(|w| w == needle);
        if first && has(b"raftcheck_trace") {
            return Format::Native;
        }
        if has(b"\"tag\"") || (has(b"\"name\"") && has(b"\"nid\"")) {
            return Format::Etcd;
        }
        first = false;
    }
}

/// `--max-line-bytes`: a size (suffixes K, M, G), at least one byte.
fn parse_line_limit(text: &str) -> Result<usize, String> {
    match parse_size(text) {
        Ok(0) => Err("a line limit of 0 bytes refuses every line: give at least 1".to_string()),
        Ok(bytes) => Ok(bytes),
        Err(e) => Err(e.to_string()),
    }
}

/// The end of `--help`: exit codes, every check the validator makes, examples.
fn after_help() -> String {
    let checks: String = Check::ALL.iter().map(|c| format!("\n  {:<13} {}", c.name(), c.rule())).collect();
    let properties: Vec<&str> = Safety::ALL.iter().map(|p| p.name()).collect();
    let checks = format!("{checks}\n  (the safety properties: {})", properties.join(", "));
    let rules: String =
        Rule::ALL.iter().map(|r| format!("\n  {:<18} {} ({})", r.name(), r.rule(), r.section())).collect();
    format!(
        "Exit codes: 0 every trace is valid; 1 some trace is invalid (the first bad event is named with its \
line, the rule it breaks, what was expected and seen, and the lines of the earlier events it conflicts with; \
a trace without its end record, or ending in the middle of a line, is reported as cut short); 2 usage or \
input error (malformed or over-long line, unknown format version, a version-1 trace whose last line has no \
end).\n\nA native trace (--check exact or both, the default) is replayed through the Raft core, \
node by node, and every event is checked against these rules:{checks}\n\nThe format is described in \
traces/README.md.\n\nAn etcd-raft trace (--format etcd, or detected), and a native trace under --check spec \
or both, is checked against an executable Raft spec, permissive where the paper leaves a choice, with joint \
configurations and learners; its rules:{rules}\n\n\
An etcd event kind the reader does not know is an input error (exit 2) unless --lenient, which counts and skips \
it.\n\nWith --merge, the files are the per-node files of one cluster (separate processes): they are \
merged, a receive after its send, and validated as one trace (a folder stands for its .ndjson files and those of its subfolders); a failure is named at its file and line, a header \
that differs or a file holding two nodes' events is an input error (exit 2).\n\nExamples:\n  raftcheck trace cluster.ndjson\n  \
raftcheck trace --json traces/corpus/traces/valid/*.ndjson\n  raftcheck trace --mutant m8 replay-m8.ndjson\n  \
raftcheck trace --check spec cluster.ndjson\n  \
raftcheck trace --merge node0.ndjson node1.ndjson node2.ndjson\n  raftcheck trace --merge raftcheck-runs/RUN   # a run folder: its node*/trace.ndjson\n  \
raftcheck trace --format etcd ../shared/conformance/etcd-raft/example.ndjson"
    )
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: TraceArgs) -> u8 {
    let started = Instant::now();
    let options = Options { mutant: args.mutant, max_line_bytes: args.max_line_bytes, check: args.check.into() };
    let etcd_options = EtcdOptions { max_line_bytes: args.max_line_bytes, lenient: args.lenient };
    if args.merge {
        if args.format == Format::Etcd {
            eprintln!("error: --merge reads native traces only, not --format etcd");
            return 2;
        }
        return merge::run(&args.files, options, args.json, started);
    }
    let mut code = 0;
    let mut files = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        let format = if args.format == Format::Auto { detect(path) } else { args.format };
        let result = match format {
            Format::Etcd => etcd::validate_file(path, etcd_options),
            _ => validate_file(path, options),
        };
        match result {
            Ok(report) => {
                if report.verdict == Verdict::Invalid && code == 0 {
                    code = 1;
                }
                let etcd = format == Format::Etcd;
                if !args.json {
                    outln!("{}", text(&name, &report, etcd));
                }
                files.push(PerFile::Read(file_report(&name, &report, etcd)));
            }
            Err(error) => {
                code = 2;
                let error = input_error(name, error);
                if !args.json {
                    eprintln!("{}", error.error);
                }
                files.push(PerFile::failed(error));
            }
        }
    }
    if args.json {
        // The worst verdict wins, as in `raftcheck lin`.
        let overall = match code {
            0 => Verdict::Valid.name(),
            1 => Verdict::Invalid.name(),
            _ => output::ERROR,
        };
        Envelope::new(overall, code, started.elapsed(), TraceReport { files }).print();
    }
    code
}

/// A trace that cannot be read, in the common shape (the column, where
/// known, leads the message).
fn input_error(file: String, error: validate::InputError) -> InputError {
    let message = match error.column {
        Some(column) => format!("column {column}: {}", error.message),
        None => error.message,
    };
    InputError::new(file, error.line, message)
}

/// `raftcheck trace --json`, inside the [`Envelope`]: one entry per file,
/// in the order given.
#[derive(Serialize)]
struct TraceReport {
    files: Vec<PerFile<FileReport>>,
}

/// One trace's verdict.
#[derive(Serialize)]
pub(crate) struct FileReport {
    file: String,
    verdict: &'static str,
    events: u64,
    /// Whether the trace ends with its end record: `null` for a version-1
    /// trace (which had none) or when validation stopped before the end.
    complete: Option<bool>,
    elapsed_ms: f64,
    failure: Option<FailureReport>,
    /// `etcd` for an etcd-raft trace checked against the spec (absent for
    /// a native trace).
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
    /// What was counted apart, with how many (etcd traces: lines of
    /// another tag, extra event kinds, whose state is still checked where
    /// shown, skipped unknown kinds).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    counted: std::collections::BTreeMap<String, u64>,
    /// With `--merge`: every file merged, in the order given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    merged: Vec<String>,
}

/// The first bad event: where, which check, what was expected and seen.
#[derive(Serialize)]
struct FailureReport {
    /// With `--merge`: the file the failing event is in (`line` is its
    /// line there).
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    line: usize,
    /// The failing event's sequence number and node; `null` when the
    /// failure is not an event's (a cut trace).
    seq: Option<u64>,
    node: Option<usize>,
    check: &'static str,
    message: String,
    expected: String,
    seen: String,
    /// The safety property broken, for the `safety` check.
    property: Option<&'static str>,
    /// Earlier events this one conflicts with.
    related: Vec<RelatedReport>,
}

/// An earlier event a failure conflicts with.
#[derive(Serialize)]
struct RelatedReport {
    line: usize,
    what: String,
    /// With `--merge`: the file the event is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
}

fn text(name: &str, report: &Report, etcd: bool) -> String {
    let ms = report.elapsed.as_secs_f64() * 1e3;
    match &report.failure {
        None if report.events == 0 => format!("{name}: valid (no events, {ms:.0} ms)"),
        None if etcd && report.counted.is_empty() => {
            format!("{name}: valid ({} etcd events against the Raft spec, {ms:.0} ms)", report.events)
        }
        None if etcd => format!(
            "{name}: valid ({} etcd events against the Raft spec, {ms:.0} ms; counted apart: {})",
            report.events,
            counted(report)
        ),
        None if report.complete == Completeness::Unknown => format!(
            "{name}: valid ({} events, {ms:.0} ms; a version-1 trace has no end record: whether it was cut short \
             cannot be told)",
            report.events
        ),
        None => format!("{name}: valid ({} events, {ms:.0} ms)", report.events),
        Some(failure) => format!("{name}: INVALID at {failure}"),
    }
}

/// What was counted apart, in words: `3 ApplyEntries events, 1 config records`.
fn counted(report: &Report) -> String {
    report.counted.iter().map(|(what, n)| format!("{n} {what}")).collect::<Vec<_>>().join(", ")
}

fn file_report(name: &str, report: &Report, etcd: bool) -> FileReport {
    let failure = report.failure.as_ref().map(|f| FailureReport {
        file: None,
        line: f.line,
        seq: (f.seq > 0).then_some(f.seq),
        node: (f.seq > 0).then_some(f.node),
        check: f.check.name(),
        message: f.message.clone(),
        expected: f.expected.clone(),
        seen: f.seen.clone(),
        property: f.property.map(|p| p.name()),
        related: f.related.iter().map(|r| RelatedReport { line: r.line, what: r.what.clone(), file: None }).collect(),
    });
    FileReport {
        file: name.to_string(),
        verdict: report.verdict.name(),
        events: report.events,
        complete: match report.complete {
            Completeness::Ended => Some(true),
            Completeness::Cut => Some(false),
            Completeness::Unknown => None,
        },
        elapsed_ms: ms(report.elapsed),
        failure,
        format: etcd.then_some("etcd"),
        counted: report.counted.iter().cloned().collect(),
        merged: Vec::new(),
    }
}
