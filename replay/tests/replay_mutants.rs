//! Every model counterexample of a seeded bug, replayed on the threaded
//! runtime: the model checker finds the shortest counterexample (BFS) in
//! the mutant's own scope, the runtime (with the same mutant) is driven
//! through exactly those actions, and its trace must show the violation at
//! the same action, by the same property, through the same predicates; the
//! same trace, validated against the correct core, must fail where the bug
//! first made the runtime deviate, at or before that action.
//!
//! Every public mutant is here (`every_public_mutant_is_replayed`),
//! M2 (persist after the sends) too: its counterexample crashes a node
//! between two outputs of one step, which the runtime does at the driver's
//! crash point. And a counterexample edited to claim another property, or
//! to end later than where the property broke, is not reproduced.

use raftcheck_core::Mutant;
use raftcheck_model::explore::replay_file::{Replay, ReplayAction};
use raftcheck_model::explore::{configs, model::RaftModel, run};
use raftcheck_replay::{self as replay, Outcome, Played};
use raftcheck_traces::validate::{validate_file, Check, CheckMode, Options, Report};
use raftcheck_traces::TraceWriter;
use std::path::PathBuf;
use std::sync::Arc;

/// The model's shortest counterexample for `mutant` in its scope.
fn counterexample(mutant: Mutant) -> Replay {
    let mut bounds = configs::named(mutant.id()).expect("every mutant has a scope").bounds;
    bounds.mutant = Some(mutant);
    let report = run::run(&bounds, &run::RunOptions::new(run::Strategy::Bfs));
    let cx = report.counterexample().unwrap_or_else(|| panic!("the model finds no counterexample for {mutant}"));
    let trace = cx.path.as_ref().expect("a counterexample has a path");
    Replay::from_counterexample(&RaftModel::new(bounds), trace, cx.name)
}

/// Exact replay through the core (the spec check is asserted apart).
fn exact() -> Options {
    Options { check: CheckMode::Exact, ..Options::default() }
}

/// Plays `replay` on the runtime; its trace, validated with the mutant.
fn play(mutant: Mutant, replay: &Replay, name: &str) -> (Played, Report, PathBuf) {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("replay-{name}.ndjson"));
    let trace = Arc::new(TraceWriter::create(&path, &replay::trace_header(replay)).unwrap());
    let played = replay::run(replay, Some(Arc::clone(&trace))).unwrap_or_else(|e| panic!("{mutant}: {e}"));
    trace.finish().unwrap();
    let with_mutant = validate_file(&path, Options { mutant: Some(mutant), ..exact() }).unwrap();
    (played, with_mutant, path)
}

fn reproduced(mutant: Mutant) {
    let replay = counterexample(mutant);
    let (played, with_mutant, path) = play(mutant, &replay, mutant.id());
    let last = replay.actions.len();

    let failure =
        with_mutant.failure.as_ref().unwrap_or_else(|| panic!("{mutant}: the runtime's trace shows no violation"));
    assert_eq!(failure.check, Check::Safety, "{mutant}: {failure}");
    assert_eq!(played.action_of(failure.seq).map(|a| a + 1), Some(last), "{mutant}: {failure}");
    let compared = replay::compare(&replay, &played, &with_mutant);
    assert_eq!(compared.outcome, Outcome::Reproduced, "{mutant}: {compared:?}\n{failure}");
    assert_eq!(compared.seen_property.map(|p| p.name()), Some(replay.property.as_str()), "{mutant}: {failure}");
    assert_eq!(compared.seen_property, replay.safety(), "{mutant}");
    assert_eq!((compared.expected_action, compared.seen_action), (last, Some(last)), "{mutant}");

    let against_spec = validate_file(&path, exact()).unwrap();
    let deviation = against_spec.failure.unwrap_or_else(|| panic!("{mutant}: the trace conforms to the correct core"));
    assert!(matches!(deviation.check, Check::Conformance | Check::Persistence), "{mutant}: {deviation}");
    let at = played.action_of(deviation.seq).expect("within the replay") + 1;
    assert!(at <= last, "{mutant}: deviates at action {at} of {last}");
    println!("{mutant}: {} at action {last} of {last}; deviates from the correct core at action {at}", replay.property);

    // The executable Raft spec, which knows nothing of our core, refuses
    // the trace too, unless the bug is one etcd's schema cannot show.
    let spec = validate_file(&path, Options { check: CheckMode::Spec, ..Options::default() }).unwrap();
    if BEYOND_THE_SPEC.contains(&mutant) {
        println!("{mutant}: against the spec: {:?}", spec.failure.map(|f| f.to_string()));
    } else {
        let refused = spec.failure.unwrap_or_else(|| panic!("{mutant}: the Raft spec accepts the trace"));
        assert!(matches!(refused.check, Check::Spec(_)), "{mutant}: {refused}");
        println!("{mutant}: the Raft spec refuses it: {refused}");
    }
}

/// The mutant whose bug a trace in etcd's schema cannot show: M19 hands
/// the service an older snapshot after newer commands (the apply order is
/// not in the schema).
const BEYOND_THE_SPEC: [Mutant; 1] = [Mutant::M19];

/// One test per mutant, and the list of those replayed.
macro_rules! replayed {
    ($($test:ident: $mutant:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                reproduced(Mutant::$mutant);
            }
        )*
        const REPLAYED: &[Mutant] = &[$(Mutant::$mutant),*];
    };
}

replayed! {
    m1_vote_not_persisted: M1,
    m2_persist_after_send: M2,
    m3_up_to_date_index_only: M3,
    m4_stale_vote_counted: M4,
    m6_quorum_off_by_one: M6,
    m7_no_step_down: M7,
    m8_figure_8_commit: M8,
    m10_keep_conflicting_suffix: M10,
    m11_commit_beyond_new_entries: M11,
    m12_commit_goes_down: M12,
    m19_stale_snapshot_installed: M19,
    m20_snapshot_drops_suffix: M20,
}

#[test]
fn every_public_mutant_is_replayed() {
    for mutant in Mutant::ALL {
        assert!(REPLAYED.contains(&mutant), "{mutant} has no replay test");
    }
}

/// M2's counterexample is the one with a crash inside a step: the node
/// sends its vote and crashes before saving it.
#[test]
fn m2_crashes_a_node_inside_a_step() {
    let replay = counterexample(Mutant::M2);
    assert!(
        replay.actions.iter().any(|a| matches!(a, ReplayAction::CrashDuring { .. })),
        "M2's counterexample has no crash inside a step: {:?}",
        replay.actions
    );
}

/// A counterexample edited to claim another property still breaks election
/// safety on the runtime, and is reported as not reproduced.
#[test]
fn a_replay_that_claims_another_property_is_not_reproduced() {
    let mut replay = counterexample(Mutant::M2);
    assert_eq!(replay.property, "election safety");
    replay.property = "log matching".into();
    let (played, with_mutant, _) = play(Mutant::M2, &replay, "m2-other-property");
    let compared = replay::compare(&replay, &played, &with_mutant);
    assert_eq!(compared.outcome, Outcome::DifferentProperty, "{compared:?}");
    assert_eq!(compared.seen_property.map(|p| p.name()), Some("election safety"));
    assert_eq!(compared.expected_property, "log matching");
    assert_eq!(compared.outcome.exit_code(), 3);
}

/// A counterexample edited to go on after the violation (here: a crash
/// the model never took) breaks the property one action before the one
/// the file claims.
#[test]
fn a_replay_that_breaks_at_another_action_is_not_reproduced() {
    let mut replay = counterexample(Mutant::M6);
    let last = replay.actions.len();
    replay.actions.push(ReplayAction::Crash { node: 0 });
    let (played, with_mutant, _) = play(Mutant::M6, &replay, "m6-later-action");
    let compared = replay::compare(&replay, &played, &with_mutant);
    assert_eq!(compared.outcome, Outcome::DifferentAction, "{compared:?}");
    assert_eq!((compared.expected_action, compared.seen_action), (last + 1, Some(last)));
    assert_eq!(compared.seen_property, replay.safety());
    assert_eq!(compared.outcome.exit_code(), 3);
}

/// The other outcomes: a trace that fails another check before any property
/// (here M6's run, validated against the correct core) is nonconforming; a
/// run where nothing breaks stayed safe (exit 0).
#[test]
fn nonconforming_and_safe_runs_are_not_reproduced() {
    let replay = counterexample(Mutant::M6);
    let (played, _, path) = play(Mutant::M6, &replay, "m6-nonconforming");
    let correct = validate_file(&path, Options::default()).unwrap();
    let compared = replay::compare(&replay, &played, &correct);
    assert_eq!(compared.outcome, Outcome::Nonconforming, "{compared:?}");
    assert_eq!((compared.seen_property, compared.outcome.exit_code()), (None, 3));

    // The model's first action alone: a candidate of three that leads on
    // its own vote breaks nothing yet.
    let mut safe = replay.clone();
    safe.actions.truncate(1);
    let (played, with_mutant, _) = play(Mutant::M6, &safe, "m6-safe");
    let compared = replay::compare(&safe, &played, &with_mutant);
    assert_eq!(compared.outcome, Outcome::StayedSafe, "{compared:?}");
    assert_eq!((compared.seen_property, compared.seen_action, compared.outcome.exit_code()), (None, None, 0));
}
