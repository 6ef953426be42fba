//! `raftcheck trace`: validate recorded event traces against the model.
//!
//! Exit code: 0 every trace valid; 1 some trace invalid (its first bad
//! event named); 2 a usage or input error in any file (with file and line).

use crate::output::{self, ms, outln, Envelope, InputError, PerFile};
use crate::units::parse_size;
use clap::Args;
use raftcheck_core::properties::Safety;
use raftcheck_core::Mutant;
use raftcheck_traces::validate::{self, validate_file, Check, Completeness, Options, Report, Verdict};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `raftcheck trace`.
#[derive(Args, Debug)]
#[command(after_help = after_help())]
pub struct TraceArgs {
    /// The traces to validate (NDJSON, one file per cluster).
    #[arg(required = true)]
    files: Vec<PathBuf>,
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
    format!(
        "Exit codes: 0 every trace is valid; 1 some trace is invalid (the first bad event is named with its \
line, the rule it breaks, what was expected and seen, and the lines of the earlier events it conflicts with; \
a trace without its end record, or ending in the middle of a line, is reported as cut short); 2 usage or \
input error (malformed or over-long line, unknown format version, a version-1 trace whose last line has no \
end).\n\nEach trace is replayed through the Raft core, \
node by node, and every event is checked against these rules:{checks}\n\nThe format is described in \
traces/README.md.\n\nExamples:\n  raftcheck trace cluster.ndjson\n  \
raftcheck trace --json traces/corpus/traces/valid/*.ndjson\n  raftcheck trace --mutant m8 replay-m8.ndjson"
    )
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: TraceArgs) -> u8 {
    let started = Instant::now();
    let options = Options { mutant: args.mutant, max_line_bytes: args.max_line_bytes };
    let mut code = 0;
    let mut files = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        match validate_file(path, options) {
            Ok(report) => {
                if report.verdict == Verdict::Invalid && code == 0 {
                    code = 1;
                }
                if !args.json {
                    outln!("{}", text(&name, &report));
                }
                files.push(PerFile::Read(file_report(&name, &report)));
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
struct FileReport {
    file: String,
    verdict: &'static str,
    events: u64,
    /// Whether the trace ends with its end record: `null` for a version-1
    /// trace (which had none) or when validation stopped before the end.
    complete: Option<bool>,
    elapsed_ms: f64,
    failure: Option<FailureReport>,
}

/// The first bad event: where, which check, what was expected and seen.
#[derive(Serialize)]
struct FailureReport {
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
}

fn text(name: &str, report: &Report) -> String {
    let ms = report.elapsed.as_secs_f64() * 1e3;
    match &report.failure {
        None if report.events == 0 => format!("{name}: valid (no events, {ms:.0} ms)"),
        None if report.complete == Completeness::Unknown => format!(
            "{name}: valid ({} events, {ms:.0} ms; a version-1 trace has no end record: whether it was cut short \
             cannot be told)",
            report.events
        ),
        None => format!("{name}: valid ({} events, {ms:.0} ms)", report.events),
        Some(failure) => format!("{name}: INVALID at {failure}"),
    }
}

fn file_report(name: &str, report: &Report) -> FileReport {
    let failure = report.failure.as_ref().map(|f| FailureReport {
        line: f.line,
        seq: (f.seq > 0).then_some(f.seq),
        node: (f.seq > 0).then_some(f.node),
        check: f.check.name(),
        message: f.message.clone(),
        expected: f.expected.clone(),
        seen: f.seen.clone(),
        property: f.property.map(|p| p.name()),
        related: f.related.iter().map(|r| RelatedReport { line: r.line, what: r.what.clone() }).collect(),
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
    }
}
