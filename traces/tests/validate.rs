//! The validator against real traces (the corpus, captured from the
//! runtime's lab tests) and against the same traces tampered with, one
//! check at a time: each tampering must be caught by the check it targets,
//! at the tampered line.

use raftcheck_traces::validate::{validate_reader, Check, Options, Verdict};
use serde_json::Value;
use std::path::PathBuf;

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus").join(name)
}

/// A trace as lines of JSON: the header and the events.
struct Lines(Vec<Value>);

impl Lines {
    fn read(name: &str) -> Lines {
        let text = std::fs::read_to_string(corpus(name)).unwrap();
        Lines(text.lines().map(|l| serde_json::from_str(l).unwrap()).collect())
    }

    /// Renumbers the events 1, 2, 3, ... after lines were added or removed.
    fn renumber(&mut self) {
        for (k, event) in self.0.iter_mut().skip(1).enumerate() {
            event["seq"] = Value::from(k as u64 + 1);
        }
    }

    /// The index of the first line whose event satisfies `pick`.
    fn find(&self, pick: impl Fn(&Value) -> bool) -> usize {
        self.0.iter().position(pick).expect("the trace has such an event")
    }

    fn text(&self) -> String {
        self.0.iter().map(|v| v.to_string() + "\n").collect()
    }

    /// Validates; returns the failing check and its 1-based line.
    fn failure(&self) -> Option<(Check, usize)> {
        let report = validate_reader(self.text().as_bytes(), Options::default()).expect("readable");
        report.failure.map(|f| (f.check, f.line))
    }
}

fn is(event: &Value, kind: &str) -> bool {
    event["event"] == kind
}

fn receives(event: &Value, message: &str) -> bool {
    is(event, "step") && event["input"]["receive"]["message"].get(message).is_some()
}

const VALID: [&str; 4] = [
    "traces/valid/initial-election-2a.ndjson",
    "traces/valid/persist3-2c.ndjson",
    "traces/valid/snapshot-init-2d.ndjson",
    "traces/valid/snapshot-rpc-3b.ndjson",
];

#[test]
fn the_valid_corpus_validates() {
    for name in VALID {
        let report = validate_reader(Lines::read(name).text().as_bytes(), Options::default()).unwrap();
        assert_eq!(report.verdict, Verdict::Valid, "{name}: {:?}", report.failure);
        assert!(report.events > 100, "{name} is a real trace");
    }
}

#[test]
fn a_missing_line_breaks_the_sequence() {
    let mut t = Lines::read(VALID[1]);
    t.0.remove(50);
    assert_eq!(t.failure(), Some((Check::Sequence, 51)));
}

#[test]
fn a_message_never_sent_is_caught_by_the_network_check() {
    let mut t = Lines::read(VALID[1]);
    let at = t.find(|e| receives(e, "append_entries"));
    t.0[at]["input"]["receive"]["message"]["append_entries"]["leader_commit"] = Value::from(99);
    assert_eq!(t.failure(), Some((Check::Network, at + 1)));
}

#[test]
fn a_message_delivered_twice_is_caught_as_a_duplicate() {
    let mut t = Lines::read(VALID[0]);
    let at = t.find(|e| receives(e, "append_entries_reply"));
    let copy = t.0[at].clone();
    t.0.insert(at + 1, copy);
    t.renumber();
    assert_eq!(t.failure(), Some((Check::Duplicate, at + 2)));
}

#[test]
fn a_wrong_state_after_a_step_is_a_conformance_failure() {
    let mut t = Lines::read(VALID[1]);
    let at = t.find(|e| is(e, "step") && e["state"]["term"] == 1);
    t.0[at]["state"]["term"] = Value::from(2);
    assert_eq!(t.failure(), Some((Check::Conformance, at + 1)));
}

#[test]
fn a_missing_output_is_a_conformance_failure() {
    let mut t = Lines::read(VALID[1]);
    let at = t.find(|e| is(e, "step") && e["outputs"].as_array().is_some_and(|o| o.len() >= 2));
    t.0[at]["outputs"].as_array_mut().unwrap().pop();
    assert_eq!(t.failure(), Some((Check::Conformance, at + 1)));
}

#[test]
fn saving_something_else_is_a_persistence_failure() {
    let mut t = Lines::read(VALID[1]);
    let at = t.find(|e| is(e, "persist") && !e["state"]["voted_for"].is_null());
    t.0[at]["state"]["voted_for"] = Value::Null;
    assert_eq!(t.failure(), Some((Check::Persistence, at + 1)));
}

#[test]
fn a_restart_that_forgets_its_vote_or_term_is_caught() {
    let t = Lines::read(VALID[1]);
    // A restart after a crash, of a node that had voted.
    let at = t.find(|e| is(e, "restart") && !e["state"]["voted_for"].is_null());
    let mut forgot_vote = Lines(t.0.clone());
    forgot_vote.0[at]["state"]["voted_for"] = Value::Null;
    assert_eq!(forgot_vote.failure(), Some((Check::Persistence, at + 1)));
    let mut forgot_term = Lines(t.0.clone());
    forgot_term.0[at]["state"]["term"] = Value::from(0);
    assert_eq!(forgot_term.failure(), Some((Check::Persistence, at + 1)));
}

#[test]
fn a_step_of_a_crashed_node_is_a_lifecycle_failure() {
    let mut t = Lines::read(VALID[1]);
    let restart = t.find(|e| is(e, "restart") && e["seq"].as_u64() > Some(10));
    let node = t.0[restart]["node"].clone();
    t.0.remove(restart);
    t.renumber();
    let next = t.0.iter().skip(restart).position(|e| e["node"] == node).expect("the node acts again") + restart;
    assert_eq!(t.failure(), Some((Check::Lifecycle, next + 1)));
}

#[test]
fn an_apply_that_was_not_asked_for_is_caught() {
    let mut t = Lines::read(VALID[1]);
    let at = t.find(|e| is(e, "applied"));
    t.0[at]["output"]["apply_command"]["index"] = Value::from(7);
    assert_eq!(t.failure(), Some((Check::Apply, at + 1)));
}

#[test]
fn unreadable_traces_are_input_errors_with_their_line() {
    let text = Lines::read(VALID[0]).text();
    let error = |text: &str| validate_reader(text.as_bytes(), Options::default()).unwrap_err();
    // Cut in the middle of a line: a version-2 trace is reported cut short,
    // with the line (a version-1 trace, which cannot say, is an input error).
    let cut = &text[..text.len() - 40];
    let report = validate_reader(cut.as_bytes(), Options::default()).unwrap();
    let failure = report.failure.expect("a cut trace is invalid");
    assert_eq!((failure.check, failure.line), (Check::Completeness, cut.lines().count()), "{failure}");
    let old = std::fs::read_to_string(corpus("traces/valid/v1-initial-election-2a.ndjson")).unwrap();
    let e = error(&old[..old.len() - 40]);
    assert!(e.message.contains("truncated"), "{e}");
    // An unknown format version.
    let newer = text.replacen("\"raftcheck_trace\":2", "\"raftcheck_trace\":9", 1);
    assert!(error(&newer).message.contains("version 9"), "{}", error(&newer));
    // A malformed line, an unknown field, an empty file.
    let mut lines: Vec<&str> = text.lines().collect();
    lines[5] = "{\"event\":\"step\",";
    let e = error(&(lines.join("\n") + "\n"));
    assert_eq!(e.line, Some(6), "{e}");
    let odd = text.replacen("\"event\":\"crash\",", "\"event\":\"crash\",\"why\":1,", 1);
    if odd != text {
        assert!(error(&odd).message.contains("unknown field"), "{}", error(&odd));
    }
    assert_eq!(error("").line, Some(1));
    assert!(error("{\"hello\":1}\n").message.contains("raftcheck_trace"));
}
