//! The runtime driven through a replay file: deterministic, and its trace
//! validates; a crash inside a step stops the node between two outputs; a
//! runtime that does not do what the replay expects is reported as a
//! divergence at the first action it cannot play.

use raftcheck_model::explore::replay_file::{Replay, ReplayAction};
use raftcheck_replay::{run, ReplayError};
use raftcheck_traces::{validate_file, Header, TraceWriter, Verdict};
use std::path::PathBuf;
use std::sync::Arc;

fn replay_file(name: &str) -> Replay {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/replays").join(name);
    Replay::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn trace_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("replay-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_hand_written_replay_plays_and_its_trace_validates() {
    let replay = replay_file("elect-and-commit.json");
    let mut first: Option<Vec<String>> = None;
    for attempt in 0..3 {
        let path = trace_path(&format!("elect-and-commit-{attempt}.ndjson"));
        let header = Header::for_config(&raftcheck_core::Config::new(3).unwrap());
        let trace = Arc::new(TraceWriter::create(&path, &header).unwrap());
        let played = run(&replay, Some(Arc::clone(&trace))).unwrap();
        assert_eq!(played.actions, replay.actions.len());
        assert_eq!(played.events_after.len(), replay.actions.len());
        trace.finish().unwrap();
        let report = validate_file(&path, Default::default()).unwrap();
        assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.failure);
        // Deterministic: the same steps every time (applies may interleave
        // differently, the steps may not).
        let steps: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"event\":\"step\""))
            .map(|l| l.split_once(",\"node\"").unwrap().1.to_string())
            .collect();
        assert_eq!(steps.len(), 7, "one step per action that steps a node");
        match &first {
            None => first = Some(steps),
            Some(first) => assert_eq!(first, &steps, "replays are deterministic"),
        }
    }
}

#[test]
fn a_runtime_that_does_otherwise_diverges_at_the_first_action_it_cannot_play() {
    let mut replay = replay_file("elect-and-commit.json");
    // With quorum off by one, a candidate of three leads on its own vote and
    // never asks for votes: the request the replay delivers was never sent.
    replay.mutant = Some("m6".into());
    match run(&replay, None) {
        Err(ReplayError::Diverged { action, what }) => {
            assert_eq!(action, 2);
            assert!(what.contains("never sent"), "{what}");
        }
        other => panic!("expected a divergence, got {other:?}"),
    }
}

#[test]
fn impossible_actions_are_errors_not_panics() {
    let mut far = replay_file("elect-and-commit.json");
    far.actions.push(serde_json::from_str(r#"{"crash":{"node":9}}"#).unwrap());
    assert!(matches!(run(&far, None), Err(ReplayError::Invalid(_))));
    let mut down = replay_file("elect-and-commit.json");
    down.actions.push(serde_json::from_str(r#"{"restart":{"node":0}}"#).unwrap());
    assert!(matches!(run(&down, None), Err(ReplayError::Diverged { action: 11, .. })));
    assert!(Replay::parse("{\"raftcheck_replay\":2}").unwrap_err().to_string().contains("version 2"));
    assert!(Replay::parse("[]").is_err());
}

fn crash_during(node: usize, groups: u8) -> ReplayAction {
    let text = format!(r#"{{"crash_during":{{"step":{{"election_timeout":{{"node":{node}}}}},"groups":{groups}}}}}"#);
    serde_json::from_str(&text).unwrap()
}

/// Node 2's election timeout returns a save, a timer reset and two vote
/// requests: crashed after its first group, the node saves its new term and
/// vote and sends nothing; it restarts from that save. The trace records
/// the whole step, the save, then the crash, and validates.
#[test]
fn a_crash_inside_a_step_stops_the_node_between_two_outputs() {
    let mut replay = replay_file("elect-and-commit.json");
    replay.actions.insert(1, crash_during(2, 1));
    replay.actions.push(serde_json::from_str(r#"{"restart":{"node":2}}"#).unwrap());
    let path = trace_path("crash-during.ndjson");
    let header = Header::for_config(&raftcheck_core::Config::new(3).unwrap());
    let trace = Arc::new(TraceWriter::create(&path, &header).unwrap());
    let played = run(&replay, Some(Arc::clone(&trace))).unwrap();
    trace.finish().unwrap();
    assert_eq!(played.actions, replay.actions.len());
    let report = validate_file(&path, Default::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.failure);

    let text = std::fs::read_to_string(&path).unwrap();
    let node2: Vec<&str> = text.lines().filter(|l| l.contains("\"node\":2")).collect();
    assert!(node2[1].contains("\"event\":\"step\"") && node2[1].contains("request_vote"), "{node2:#?}");
    assert!(node2[2].contains("\"event\":\"persist\"") && node2[2].contains("\"voted_for\":2"), "{node2:#?}");
    assert!(node2[3].contains("\"event\":\"crash\""), "{node2:#?}");
    // Its vote requests never left: nothing was sent to node 0 or 1 from 2.
    assert!(!text.lines().any(|l| l.contains("\"from\":2")), "{text}");
    // It restarts from the save it made before the crash.
    let restart = node2.iter().rev().find(|l| l.contains("\"event\":\"restart\"")).unwrap();
    assert!(restart.contains("\"term\":1") && restart.contains("\"voted_for\":2"), "{restart}");
}

/// A crash after a group the runtime's step does not have is a divergence,
/// not a panic, and the node is down after it.
#[test]
fn a_crash_after_a_group_the_step_does_not_have_diverges() {
    let mut replay = replay_file("elect-and-commit.json");
    replay.actions.insert(1, crash_during(2, 5));
    match run(&replay, None) {
        Err(ReplayError::Diverged { action: 2, what }) => {
            assert!(what.contains("2 group(s)") && what.contains("after group 5"), "{what}")
        }
        other => panic!("expected a divergence at action 2, got {other:?}"),
    }
    let mut down = replay_file("elect-and-commit.json");
    down.actions.insert(1, crash_during(2, 1));
    down.actions.insert(2, crash_during(2, 1));
    assert!(matches!(run(&down, None), Err(ReplayError::Diverged { action: 3, .. })));
}
