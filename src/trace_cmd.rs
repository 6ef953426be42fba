//! `raftcheck trace`: validate recorded event traces against the model.
//!
//! Exit code: 0 every trace valid; 1 some trace invalid (its first bad
//! event named); 2 a usage or input error in any file (with file and line).

use clap::Args;
use raftcheck_core::Mutant;
use raftcheck_traces::validate::{replaying, validate_file, Options, Report, Verdict};
use serde_json::json;
use std::path::PathBuf;

/// Options of `raftcheck trace`.
#[derive(Args, Debug)]
#[command(after_help = "Exit codes: 0 every trace is valid; 1 some trace is invalid (the first bad event is \
named with its line, what was expected and what was seen); 2 usage or input error (malformed line, unknown \
format version, truncated file).\n\nEach trace is replayed through the Raft core, node by node, and every event \
is checked: sequence numbers, lifecycle (steps only between a restart and a crash), network (nothing \
delivered that was not sent), conformance (the core gives exactly the recorded outputs and state), \
persistence (saves are what the core asked for; a restart reads exactly the last save) and apply order. \
The format is described in traces/README.md.\n\nExamples:\n  raftcheck trace cluster.ndjson\n  \
raftcheck trace --json traces/corpus/traces/valid/*.ndjson\n  raftcheck trace --mutant m8 replay-m8.ndjson")]
pub struct TraceArgs {
    /// The traces to validate (NDJSON, one file per cluster).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Replay with this seeded bug instead of the correct core (a mutant's
    /// own trace then conforms, and what is left to find is what its bug
    /// broke). Id (`m8`) or name.
    #[arg(long, value_parser = |s: &str| s.parse::<Mutant>())]
    mutant: Option<Mutant>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: TraceArgs) -> u8 {
    quiet_core_panics();
    let options = Options { mutant: args.mutant };
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
                    println!("{}", text(&name, &report));
                }
                files.push(report_json(&name, &report));
            }
            Err(error) => {
                code = 2;
                if !args.json {
                    eprintln!("{name}: {error}");
                }
                files.push(json!({"file": name, "verdict": null, "error": error.to_string(), "line": error.line}));
            }
        }
    }
    if args.json {
        println!("{}", json!({ "files": files }));
    }
    code
}

fn text(name: &str, report: &Report) -> String {
    let ms = report.elapsed.as_secs_f64() * 1e3;
    match &report.failure {
        None => format!("{name}: valid ({} events, {ms:.0} ms)", report.events),
        Some(failure) => format!("{name}: INVALID at {failure}"),
    }
}

fn report_json(name: &str, report: &Report) -> serde_json::Value {
    let failure = report.failure.as_ref().map(|f| {
        json!({"line": f.line, "seq": f.seq, "node": f.node, "check": f.check.name(), "message": f.message,
               "expected": f.expected, "seen": f.seen})
    });
    json!({"file": name, "verdict": report.verdict.name(), "events": report.events,
           "elapsed_ms": report.elapsed.as_secs_f64() * 1e3, "failure": failure})
}

/// A core that panics on a recorded input is reported as an invalid trace;
/// keep the panic's own message off the terminal.
fn quiet_core_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !replaying() {
            default(info);
        }
    }));
}
