//! `raftcheck replay` on the model's own counterexamples: M2's, which
//! crashes a node inside a step, is reproduced (exit 1); the same file
//! edited to claim another property, or to go on past the violation, is not
//! (exit 3), and says what the runtime broke and where against the model.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn raftcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftcheck")).args(args).output().expect("runs raftcheck")
}

fn scratch(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("replay-cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).display().to_string()
}

/// M2's counterexample, written by `raftcheck model --replay-out`.
fn m2_counterexample(name: &str) -> (String, Value) {
    let path = scratch(name);
    let out = raftcheck(&["model", "--config", "m2", "--mutant", "m2", "--quiet", "--replay-out", &path]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let replay: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (path, replay)
}

/// `raftcheck replay --json FILE`: the JSON, after checking that the exit
/// code is `code` and the verdict `verdict`.
fn replay_json(file: &str, verdict: &str, code: i32) -> Value {
    let out = raftcheck(&["replay", "--json", file, "--trace", &format!("{file}.ndjson")]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(code), "{v}");
    assert_eq!((v["verdict"].as_str(), v["exit_code"].as_i64()), (Some(verdict), Some(i64::from(code))), "{v}");
    v
}

fn last_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_string()
}

#[test]
fn m2s_crash_inside_a_step_is_reproduced() {
    let (file, replay) = m2_counterexample("m2.replay.json");
    let actions = replay["actions"].as_array().unwrap();
    assert!(actions.iter().any(|a| a.get("crash_during").is_some()), "{replay}");
    let last = actions.len();

    let v = replay_json(&file, "reproduced", 1);
    assert_eq!(v["reproduced"], true);
    assert_eq!(v["expected"], serde_json::json!({"property": "election safety", "action": last}));
    assert_eq!(v["seen"], v["expected"]);
    assert_eq!(v["with_mutant"]["failure"]["property"], "election safety");

    let out = raftcheck(&["replay", &file, "--trace", &format!("{file}.ndjson")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(last_line(&out).starts_with(&format!("reproduced: election safety broke on the runtime at action {last}")));
}

#[test]
fn a_file_that_claims_another_property_is_not_reproduced() {
    let (file, mut replay) = m2_counterexample("m2-claims-log-matching.replay.json");
    replay["property"] = "log matching".into();
    std::fs::write(&file, replay.to_string()).unwrap();
    let last = replay["actions"].as_array().unwrap().len();

    let v = replay_json(&file, "different-property", 3);
    assert_eq!(v["reproduced"], false);
    assert_eq!(v["expected"], serde_json::json!({"property": "log matching", "action": last}));
    assert_eq!(v["seen"], serde_json::json!({"property": "election safety", "action": last}));

    let out = raftcheck(&["replay", &file, "--trace", &format!("{file}.ndjson")]);
    assert_eq!(out.status.code(), Some(3));
    assert!(last_line(&out).starts_with("not reproduced (different property): election safety"), "{}", last_line(&out));
}

#[test]
fn a_file_that_goes_on_past_the_violation_breaks_at_another_action() {
    let (file, mut replay) = m2_counterexample("m2-one-more-action.replay.json");
    replay["actions"].as_array_mut().unwrap().push(serde_json::json!({"crash": {"node": 0}}));
    std::fs::write(&file, replay.to_string()).unwrap();
    let last = replay["actions"].as_array().unwrap().len();

    let v = replay_json(&file, "different-action", 3);
    assert_eq!(v["expected"], serde_json::json!({"property": "election safety", "action": last}));
    assert_eq!(v["seen"], serde_json::json!({"property": "election safety", "action": last - 1}));
}

#[test]
fn help_lists_every_outcome_with_its_exit_code() {
    let out = raftcheck(&["replay", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for (outcome, code) in [
        ("reproduced", 1),
        ("stayed-safe", 0),
        ("different-property", 3),
        ("different-action", 3),
        ("nonconforming", 3),
        ("diverged", 3),
    ] {
        let line = help.lines().find(|l| l.trim_start().starts_with(outcome)).unwrap_or_else(|| panic!("{help}"));
        assert!(line.ends_with(&format!("(exit {code})")), "{line}");
    }
}
