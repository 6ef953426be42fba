//! A trace of the runtime running a seeded bug fails validation against the
//! correct core, at the first event where the bug made a difference: the
//! check and the kind of input that exercises the bug's rule are asserted
//! for each mutant that every election exercises, so that random faults show
//! it within seconds. The mutants that need a particular history (Figure 8,
//! a stale message, a conflicting suffix, a stale snapshot) are replayed
//! exactly from model counterexamples instead (`impl/tests/replay_mutants.rs`).

mod common;

use common::int_cmd;
use common::raft::{Applier, Cleanup, Config};
use raftcheck_core::Mutant;
use raftcheck_traces::validate::{validate_file, Check, CheckMode, Options};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Five servers under random faults (crashes, restarts, disconnections, an
/// unreliable network), with bursts of proposals to every server and quiet
/// spells between them (so that a new leader sometimes finds only entries
/// of earlier terms to replicate), for `seconds`.
fn chaos(cfg: &Config, seconds: u64) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        if cfg.rng.below(10) == 0 {
            for i in 0..cfg.n {
                if let Some(raft) = cfg.raft(i) {
                    let _ = raft.start(int_cmd(cfg.rng.int()));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(cfg.rng.below(40)));
        let s = cfg.rng.below(cfg.n as u64) as usize;
        let up = (0..cfg.n).filter(|&i| cfg.raft(i).is_some()).count();
        match cfg.rng.below(100) {
            0..=5 if up > 3 => cfg.crash1(s),
            6..=15 if cfg.raft(s).is_none() => {
                cfg.start1(s);
                cfg.connect(s);
            }
            16..=21 => cfg.disconnect(s),
            22..=35 if cfg.raft(s).is_some() => cfg.connect(s),
            _ => {}
        }
    }
}

/// Runs the chaos with `mutant` until its trace is refuted (up to five runs;
/// these mutants show in the first); returns the failing check and the
/// failing event.
fn refuted(mutant: Mutant) -> (Check, String, Value) {
    for attempt in 1..=5 {
        let cfg = Config::traced_mutant(5, true, Applier::Plain, mutant);
        let cleanup = Cleanup(cfg.clone());
        chaos(&cfg, 4);
        let path = cfg.trace_path().expect("traced");
        drop(cleanup);
        let exact = Options { check: CheckMode::Exact, ..Options::default() };
        let report = validate_file(&path, exact).expect("a readable trace");
        if let Some(failure) = report.failure {
            let line = std::fs::read_to_string(&path).unwrap().lines().nth(failure.line - 1).unwrap().to_string();
            println!("{mutant}: attempt {attempt}: {failure}");
            return (failure.check, failure.message, serde_json::from_str(&line).unwrap());
        }
        println!("{mutant}: attempt {attempt}: the trace is valid (the bug did not show)");
    }
    panic!("{mutant}: five runs with the bug, and every trace validated against the correct core");
}

fn input_kind(event: &Value) -> String {
    match &event["input"] {
        Value::String(s) => s.clone(),
        Value::Object(o) => match o.get("receive") {
            Some(r) => r["message"].as_object().and_then(|m| m.keys().next().cloned()).unwrap_or_default(),
            None => o.keys().next().cloned().unwrap_or_default(),
        },
        _ => String::new(),
    }
}

#[test]
fn m1_a_vote_not_saved_fails_at_the_save() {
    let (check, _, event) = refuted(Mutant::M1);
    assert_eq!(check, Check::Persistence);
    assert_eq!(event["event"], "persist");
}

#[test]
fn m2_saving_after_sending_fails_at_the_step_that_sends_first() {
    let (check, message, event) = refuted(Mutant::M2);
    assert_eq!(check, Check::Conformance);
    assert_eq!(event["event"], "step");
    assert!(message.contains("outputs differ"), "{message}");
}

#[test]
fn m6_quorum_off_by_one_fails_at_an_election() {
    let (check, _, event) = refuted(Mutant::M6);
    assert_eq!(check, Check::Conformance);
    // With five servers a quorum of two: the first granted vote elects.
    assert_eq!(input_kind(&event), "request_vote_reply");
}

#[test]
fn m7_no_step_down_fails_when_a_higher_term_arrives() {
    let (check, _, event) = refuted(Mutant::M7);
    assert_eq!(check, Check::Conformance);
    // The first difference is the role kept, or what the kept role sends.
    assert!(event["input"].get("receive").is_some(), "{event}");
}
