//! `raftcheck replay`: drive the threaded runtime through a counterexample
//! of the model checker (`raftcheck model --replay-out FILE` writes one),
//! record its trace, and validate that trace twice: against the core with
//! the counterexample's mutant (the runtime's plumbing must conform, and the
//! safety property the model found broken must break on the runtime too),
//! and against the correct core (where the implementation first deviates).
//!
//! Exit code: 1 the violation was reproduced on the runtime; 0 the replay
//! ran and nothing broke; 3 the runtime could not follow the replay
//! (diverged, or an action it cannot play); 2 usage or input error.

use clap::Args;
use raftcheck_model::explore::replay_file::Replay;
use raftcheck_replay::{self as replay, Played, ReplayError};
use raftcheck_traces::validate::{validate_file, Check, Options, Report};
use raftcheck_traces::TraceWriter;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

/// Options of `raftcheck replay`.
#[derive(Args, Debug)]
#[command(after_help = "Exit codes: 1 the model's violation was reproduced on the threaded runtime; 0 the replay \
ran and no property broke; 3 the runtime could not follow the replay (it diverged, or an action such as a crash \
in the middle of a step cannot be played on it); 2 usage or input error.\n\nExamples:\n  \
raftcheck model --config m8 --mutant m8 --replay-out m8.replay.json\n  \
raftcheck replay m8.replay.json --trace m8.ndjson")]
pub struct ReplayArgs {
    /// The replay file.
    file: PathBuf,
    /// Where to write the runtime's trace (default: beside the replay file,
    /// with the extension `.ndjson`).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: ReplayArgs) -> u8 {
    let name = args.file.display().to_string();
    let parsed = std::fs::read_to_string(&args.file).map_err(|e| e.to_string()).and_then(|t| Replay::parse(&t));
    let replay = match parsed {
        Ok(replay) => replay,
        Err(e) => {
            eprintln!("{name}: {e}");
            return 2;
        }
    };
    let mutant = replay.mutant().expect("checked by parse");
    let trace_path = args.trace.clone().unwrap_or_else(|| args.file.with_extension("ndjson"));
    let header = replay::trace_header(&replay);
    let writer = match TraceWriter::create(&trace_path, &header) {
        Ok(w) => Arc::new(w),
        Err(e) => {
            eprintln!("{}: cannot write the trace: {e}", trace_path.display());
            return 2;
        }
    };
    let played = replay::run(&replay, Some(Arc::clone(&writer)));
    let flushed = writer.flush();
    let played = match played {
        Ok(played) => played,
        Err(e) => return diverged(&name, &e, args.json),
    };
    if let Err(e) = flushed {
        eprintln!("{}: cannot write the trace: {e}", trace_path.display());
        return 2;
    }
    let as_found = validate_file(&trace_path, Options { mutant });
    let against_spec = validate_file(&trace_path, Options::default());
    let (as_found, against_spec) = match (as_found, against_spec) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{}: the runtime's trace cannot be read back: {e}", trace_path.display());
            return 2;
        }
    };
    let reproduced = as_found.failure.as_ref().is_some_and(|f| f.check == Check::Safety);
    if args.json {
        println!(
            "{}",
            json!({
                "file": name, "actions": played.actions, "trace": trace_path.display().to_string(),
                "property": replay.property, "reproduced": reproduced,
                "with_mutant": summary(&as_found, &played), "against_correct_core": summary(&against_spec, &played),
            })
        );
    } else {
        let with = replay.mutant.as_deref().map_or("the same core".to_string(), |m| format!("the core with {m}"));
        println!("{name}: replayed {} actions on the threaded runtime; trace {}", played.actions, trace_path.display());
        println!("  the model found: {}", replay.property);
        println!("  validated against {with}: {}", describe(&as_found, &played));
        println!("  validated against the correct core: {}", describe(&against_spec, &played));
        println!("{}", if reproduced { "violation reproduced on the runtime" } else { "no violation on the runtime" });
    }
    u8::from(reproduced)
}

fn describe(report: &Report, played: &Played) -> String {
    match &report.failure {
        None => format!("valid ({} events)", report.events),
        Some(f) => {
            let action = played.action_of(f.seq).map_or(String::new(), |a| format!(", replay action {}", a + 1));
            let mut text = format!(
                "INVALID at line {} (event {}, node {}{action}): {}: {}",
                f.line,
                f.seq,
                f.node,
                f.check.name(),
                f.message
            );
            if !f.expected.is_empty() || !f.seen.is_empty() {
                text += &format!("\n    expected: {}\n    seen:     {}", f.expected, f.seen);
            }
            text
        }
    }
}

fn summary(report: &Report, played: &Played) -> serde_json::Value {
    json!({
        "verdict": report.verdict.name(),
        "events": report.events,
        "failure": report.failure.as_ref().map(|f| json!({
            "line": f.line, "seq": f.seq, "node": f.node, "check": f.check.name(), "message": f.message,
            "action": played.action_of(f.seq).map(|a| a + 1),
        })),
    })
}

fn diverged(name: &str, error: &ReplayError, json: bool) -> u8 {
    let code = if matches!(error, ReplayError::Invalid(_)) { 2 } else { 3 };
    if json {
        println!("{}", json!({"file": name, "error": error.to_string(), "reproduced": false}));
    } else {
        eprintln!("{name}: {error}");
    }
    code
}
