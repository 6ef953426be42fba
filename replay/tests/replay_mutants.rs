//! Every model counterexample of a seeded bug, replayed on the threaded
//! runtime: the model checker finds the shortest counterexample (BFS) in
//! the mutant's own scope, the runtime (with the same mutant) is driven
//! through exactly those actions, and its trace must show the violation at
//! the same action, by the same property, through the same predicates; the
//! same trace, validated against the correct core, must fail where the bug
//! first made the runtime deviate, at or before that action.
//!
//! M2 (persist after the sends) is absent: its counterexample crashes a
//! node between two outputs of one step, which the runtime, carrying out a
//! step's outputs as a whole, cannot be made to do.

use raftcheck_core::Mutant;
use raftcheck_model::explore::replay_file::Replay;
use raftcheck_model::explore::{configs, model::RaftModel, run};
use raftcheck_replay as replay;
use raftcheck_traces::validate::{validate_file, Check, Options};
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

fn reproduced(mutant: Mutant) {
    let replay = counterexample(mutant);
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("replay-{}.ndjson", mutant.id()));
    let trace = Arc::new(TraceWriter::create(&path, &replay::trace_header(&replay)).unwrap());
    let played = replay::run(&replay, Some(Arc::clone(&trace))).unwrap_or_else(|e| panic!("{mutant}: {e}"));
    trace.finish().unwrap();
    let last = replay.actions.len();

    let with_mutant = validate_file(&path, Options { mutant: Some(mutant) }).unwrap();
    let failure = with_mutant.failure.unwrap_or_else(|| panic!("{mutant}: the runtime's trace shows no violation"));
    assert_eq!(failure.check, Check::Safety, "{mutant}: {failure}");
    assert!(failure.message.starts_with(&replay.property), "{mutant}: model {:?}, runtime {failure}", replay.property);
    assert_eq!(played.action_of(failure.seq).map(|a| a + 1), Some(last), "{mutant}: {failure}");

    let against_spec = validate_file(&path, Options::default()).unwrap();
    let deviation = against_spec.failure.unwrap_or_else(|| panic!("{mutant}: the trace conforms to the correct core"));
    assert!(matches!(deviation.check, Check::Conformance | Check::Persistence), "{mutant}: {deviation}");
    let at = played.action_of(deviation.seq).expect("within the replay") + 1;
    assert!(at <= last, "{mutant}: deviates at action {at} of {last}");
    println!("{mutant}: {} at action {last} of {last}; deviates from the correct core at action {at}", replay.property);
}

#[test]
fn m1_vote_not_persisted() {
    reproduced(Mutant::M1);
}

#[test]
fn m3_up_to_date_index_only() {
    reproduced(Mutant::M3);
}

#[test]
fn m4_stale_vote_counted() {
    reproduced(Mutant::M4);
}

#[test]
fn m6_quorum_off_by_one() {
    reproduced(Mutant::M6);
}

#[test]
fn m7_no_step_down() {
    reproduced(Mutant::M7);
}

#[test]
fn m8_figure_8_commit() {
    reproduced(Mutant::M8);
}

#[test]
fn m10_keep_conflicting_suffix() {
    reproduced(Mutant::M10);
}

#[test]
fn m11_commit_beyond_new_entries() {
    reproduced(Mutant::M11);
}

#[test]
fn m12_commit_goes_down() {
    reproduced(Mutant::M12);
}

#[test]
fn m19_stale_snapshot_installed() {
    reproduced(Mutant::M19);
}

#[test]
fn m20_snapshot_drops_suffix() {
    reproduced(Mutant::M20);
}
