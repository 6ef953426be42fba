//! `raftcheck replay`: drive the threaded runtime through a counterexample
//! of the model checker (`raftcheck model --replay-out FILE` writes one),
//! record its trace, and validate that trace twice: against the core with
//! the counterexample's mutant (the runtime's plumbing must conform, and the
//! safety property the model found broken must break on the runtime too),
//! and against the correct core (where the implementation first deviates).
//!
//! The outcome compares the first failure of the trace validated with the
//! mutant against the model's violation (the replay's `property`, which
//! shows after the replay's last action): `reproduced` (exit 1) only when
//! the same property breaks at that same action; `stayed-safe` (exit 0)
//! when the trace is valid; `different-property`, `different-action`,
//! `nonconforming` (a check other than safety failed first) and `diverged`
//! (the runtime could not follow the replay) exit 3; an input error exits 2
//! (`error`). The `--json` verdict is the outcome's word.

use crate::output::{self, outln, Envelope, InputError};
use clap::Args;
use raftcheck_model::explore::replay_file::Replay;
use raftcheck_replay::{self as replay, Comparison, Outcome, Played, ReplayError};
use raftcheck_traces::validate::{validate_file, CheckMode, Options, Report};
use raftcheck_traces::TraceWriter;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Options of `raftcheck replay`.
#[derive(Args, Debug)]
#[command(after_help = "The model's violation is the replay's property, broken after its last action. The \
runtime's trace, validated against the core with the replay's mutant, is compared with it:\n  \
reproduced          the same property broke at the same action (exit 1)\n  \
stayed-safe         no property broke (exit 0)\n  \
different-property  another property broke first (exit 3)\n  \
different-action    the same property broke, at another action (exit 3)\n  \
nonconforming       another check failed first: the runtime did not do what its core asked (exit 3)\n  \
diverged            the runtime could not follow the replay (exit 3)\n\
Exit 2: usage or input error. --json prints the outcome as the verdict, with expected and seen \
(property and action, 1-based).\n\nExamples:\n  \
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
    // Exact replays: the comparison is with what the model's core did.
    let exact = Options { check: CheckMode::Exact, ..Options::default() };
    let as_found = validate_file(&trace_path, Options { mutant, ..exact });
    let against_spec = validate_file(&trace_path, exact);
    let (as_found, against_spec) = match (as_found, against_spec) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            let message = format!("the runtime's trace cannot be read back: {e}");
            return input_error(InputError::new(&trace_name, None, message));
        }
    };
    let comparison = replay::compare(&replay, &played, &as_found);
    let outcome = comparison.outcome;
    let code = outcome.exit_code();
    if args.json {
        let report = Replayed {
            file: name,
            actions: played.actions,
            trace: trace_name,
            property: &replay.property,
            reproduced: outcome == Outcome::Reproduced,
            expected: Expected { property: &comparison.expected_property, action: comparison.expected_action },
            seen: Seen { property: comparison.seen_property.map(|p| p.name()), action: comparison.seen_action },
            with_mutant: summary(&as_found, &played),
            against_correct_core: summary(&against_spec, &played),
        };
        Envelope::new(outcome.name(), code, started.elapsed(), report).print();
    } else {
        let with = replay.mutant.as_deref().map_or("the same core".to_string(), |m| format!("the core with {m}"));
        outln!("{name}: replayed {} actions on the threaded runtime; trace {}", played.actions, trace_path.display());
        let unknown = if replay.safety().is_none() { " (not a safety property: nothing can reproduce it)" } else { "" };
        outln!("  the model found: {} broken after action {}{unknown}", replay.property, comparison.expected_action);
        outln!("  validated against {with}: {}", describe(&as_found, &played));
        outln!("  validated against the correct core: {}", describe(&against_spec, &played));
        outln!("{}", conclusion(&comparison, &as_found));
    }
    code
}

/// The last line of the text report: the outcome, and the runtime's
/// property and action against the model's.
fn conclusion(c: &Comparison, report: &Report) -> String {
    let at = |action: Option<usize>| {
        action.map_or("after the replay's last action".to_string(), |a| format!("at action {a}"))
    };
    let model = format!("the model found {} broken after action {}", c.expected_property, c.expected_action);
    let seen = c.seen_property.map_or("?", |p| p.name());
    match c.outcome {
        Outcome::Reproduced => {
            format!(
                "reproduced: {seen} broke on the runtime {}, as in the model (after action {})",
                at(c.seen_action),
                c.expected_action
            )
        }
        Outcome::DifferentProperty => {
            format!("not reproduced (different property): {seen} broke on the runtime {}; {model}", at(c.seen_action))
        }
        Outcome::DifferentAction => {
            format!(
                "not reproduced (broke at another action): {seen} broke on the runtime {}; {model}",
                at(c.seen_action)
            )
        }
        Outcome::StayedSafe => format!("not reproduced (stayed safe): no property broke on the runtime; {model}"),
        Outcome::Nonconforming => {
            let check = report.failure.as_ref().map_or("?", |f| f.check.name());
            format!(
                "not reproduced (nonconforming): the runtime's trace fails the {check} check {} before any property \
                 broke; {model}",
                at(c.seen_action)
            )
        }
    }
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
    /// Whether the outcome is `reproduced`.
    reproduced: bool,
    /// The model's violation: the replay's property, after its last action.
    expected: Expected<'a>,
    /// The runtime's: the property broken first (`null` if none) and the
    /// action whose events include the trace's first failure (`null` if
    /// none, or after the last action).
    seen: Seen,
    /// The trace validated against the core with the replay's mutant.
    with_mutant: Validation,
    against_correct_core: Validation,
}

#[derive(Serialize)]
struct Expected<'a> {
    property: &'a str,
    action: usize,
}

#[derive(Serialize)]
struct Seen {
    property: Option<&'static str>,
    action: Option<usize>,
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
    /// The safety property broken, for the `safety` check.
    property: Option<&'static str>,
    message: String,
    /// The earlier events it conflicts with.
    related: Vec<RelatedEvent>,
    /// The replay action (1-based) whose events include the bad one.
    action: Option<usize>,
}

#[derive(Serialize)]
struct RelatedEvent {
    line: usize,
    what: String,
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
            for related in &f.related {
                text += &format!("\n    see line {}: {}", related.line, related.what);
            }
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
            property: f.property.map(|p| p.name()),
            message: f.message.clone(),
            related: f.related.iter().map(|r| RelatedEvent { line: r.line, what: r.what.clone() }).collect(),
            action: played.action_of(f.seq).map(|a| a + 1),
        }),
    }
}
