//! The runtime driven through a replay file: deterministic, and its trace
//! validates; a runtime that does not do what the replay expects is
//! reported as a divergence at the first action it cannot play.

use raftcheck_model::explore::replay_file::Replay;
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
    let mut replay = replay_file("elect-and-commit.json");
    let crash_during = r#"{"crash_during":{"step":{"election_timeout":{"node":2}},"groups":1}}"#;
    replay.actions.insert(1, serde_json::from_str(crash_during).unwrap());
    assert!(matches!(run(&replay, None), Err(ReplayError::Unsupported { action: 2, .. })));
    let mut far = replay_file("elect-and-commit.json");
    far.actions.push(serde_json::from_str(r#"{"crash":{"node":9}}"#).unwrap());
    assert!(matches!(run(&far, None), Err(ReplayError::Invalid(_))));
    let mut down = replay_file("elect-and-commit.json");
    down.actions.push(serde_json::from_str(r#"{"restart":{"node":0}}"#).unwrap());
    assert!(matches!(run(&down, None), Err(ReplayError::Diverged { action: 11, .. })));
    assert!(Replay::parse("{\"raftcheck_replay\":2}").unwrap_err().to_string().contains("version 2"));
    assert!(Replay::parse("[]").is_err());
}
