//! `raftcheck replay`: drive the threaded runtime through a counterexample
//! of the model checker (`raftcheck model --replay-out FILE` writes one),
//! record its trace, and validate that trace twice: against the core with
//! the counterexample's mutant (the runtime's plumbing must conform, and the
//! safety property the model found broken must break on the runtime too),
//! and against the correct core (where the implementation first deviates).
//!
//! Exit code: 1 the violation was reproduced on the runtime; 0 the replay
//! ran and nothing broke; 3 the runtime could not follow the replay
//! (diverged, or an action it cannot play); 2 usage or input error. The
//! `--json` verdict says the same in a word: `reproduced`,
//! `not-reproduced`, `diverged` or `error`.

use crate::output::{self, outln, Envelope, InputError};
use clap::Args;
use raftcheck_model::explore::replay_file::Replay;
use raftcheck_replay::{self as replay, Played, ReplayError};
use raftcheck_traces::validate::{validate_file, Check, Options, Report};
use raftcheck_traces::TraceWriter;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

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
    let started = Instant::now();
    let name = args.file.display().to_string();
    // An input error is said on stderr, and with --json in the envelope too.
    let input_error = |error: InputError| {
        eprintln!("{}", error.error);
        if args.json {
            Envelope::new(output::ERROR, 2, started.elapsed(), Failed { error, reproduced: false }).print();
        }
        2
    };
    let parsed = match std::fs::read_to_string(&args.file) {
        Ok(text) => Replay::parse(&text).map_err(|e| InputError::new(&name, None, e.to_string())),
        Err(e) => Err(InputError::new(&name, None, e.to_string())),
    };
    let replay = match parsed {
        Ok(replay) => replay,
        Err(error) => return input_error(error),
    };
    let mutant = replay.mutant().expect("checked by parse");
    let trace_path = args.trace.clone().unwrap_or_else(|| args.file.with_extension("ndjson"));
    let trace_name = trace_path.display().to_string();
    let header = replay::trace_header(&replay);
    let writer = match TraceWriter::create(&trace_path, &header) {
        Ok(w) => Arc::new(w),
        Err(e) => return input_error(InputError::new(&trace_name, None, format!("cannot write the trace: {e}"))),
    };
    let played = replay::run(&replay, Some(Arc::clone(&writer)));
    let flushed = writer.finish();
    let played = match played {
        Ok(played) => played,
        Err(e) => {
            let error = InputError::new(&name, None, e.to_string());
            let (verdict, code) =
                if matches!(e, ReplayError::Invalid(_)) { (output::ERROR, 2) } else { ("diverged", 3) };
            if args.json {
                Envelope::new(verdict, code, started.elapsed(), Failed { error, reproduced: false }).print();
            } else {
                eprintln!("{}", error.error);
            }
            return code;
        }
    };
    if let Err(e) = flushed {
        return input_error(InputError::new(&trace_name, None, format!("cannot write the trace: {e}")));
    }
    let as_found = validate_file(&trace_path, Options { mutant });
    let against_spec = validate_file(&trace_path, Options::default());
    let (as_found, against_spec) = match (as_found, against_spec) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            let message = format!("the runtime's trace cannot be read back: {e}");
            return input_error(InputError::new(&trace_name, None, message));
        }
    };
    let reproduced = as_found.failure.as_ref().is_some_and(|f| f.check == Check::Safety);
    let code = u8::from(reproduced);
    if args.json {
        let report = Replayed {
            file: name,
            actions: played.actions,
            trace: trace_name,
            property: &replay.property,
            reproduced,
            with_mutant: summary(&as_found, &played),
            against_correct_core: summary(&against_spec, &played),
        };
        let verdict = if reproduced { "reproduced" } else { "not-reproduced" };
        Envelope::new(verdict, code, started.elapsed(), report).print();
    } else {
        let with = replay.mutant.as_deref().map_or("the same core".to_string(), |m| format!("the core with {m}"));
        outln!("{name}: replayed {} actions on the threaded runtime; trace {}", played.actions, trace_path.display());
        outln!("  the model found: {}", replay.property);
        outln!("  validated against {with}: {}", describe(&as_found, &played));
        outln!("  validated against the correct core: {}", describe(&against_spec, &played));
        outln!("{}", if reproduced { "violation reproduced on the runtime" } else { "no violation on the runtime" });
    }
    code
}

/// `raftcheck replay --json` when the replay ran, inside the [`Envelope`].
#[derive(Serialize)]
struct Replayed<'a> {
    file: String,
    actions: usize,
    /// The runtime's trace.
    trace: String,
    /// The property the model found broken.
    property: &'a str,
    reproduced: bool,
    /// The trace validated against the core with the replay's mutant.
    with_mutant: Validation,
    against_correct_core: Validation,
}

/// `raftcheck replay --json` when it could not play the file (an input
/// error, or the runtime diverged): the common error shape.
#[derive(Serialize)]
struct Failed {
    #[serde(flatten)]
    error: InputError,
    reproduced: bool,
}

/// One validation of the runtime's trace.
#[derive(Serialize)]
struct Validation {
    verdict: &'static str,
    events: u64,
    failure: Option<ValidationFailure>,
}

#[derive(Serialize)]
struct ValidationFailure {
    line: usize,
    seq: u64,
    node: usize,
    check: &'static str,
    message: String,
    /// The replay action (1-based) whose events include the bad one.
    action: Option<usize>,
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

fn summary(report: &Report, played: &Played) -> Validation {
    Validation {
        verdict: report.verdict.name(),
        events: report.events,
        failure: report.failure.as_ref().map(|f| ValidationFailure {
            line: f.line,
            seq: f.seq,
            node: f.node,
            check: f.check.name(),
            message: f.message.clone(),
            action: played.action_of(f.seq).map(|a| a + 1),
        }),
    }
}
