//! `raftcheck trace` on etcd-raft traces: etcd's sample is valid, each
//! derived invalid trace is refused at its line by its rule, and input the
//! reader cannot take is exit 2 with file and line.

#[path = "support/shared_corpus.rs"]
mod shared_corpus;

#[path = "support/trace_cli.rs"]
mod trace_cli;

use std::path::PathBuf;
use std::time::Instant;
use trace_cli::{code, corpus, text, trace};

fn scratch(name: &str, contents: &str) -> String {
    trace_cli::scratch_in("etcd-cli", name, contents)
}

/// The first lines of a derived trace (an edit of etcd's sample), as a
/// base for the input-error cases.
fn some_lines(n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(corpus("etcd/invalid/commit-quorum-beyond-majority.ndjson")).unwrap();
    text.lines().take(n).map(str::to_string).collect()
}

#[test]
fn the_etcd_sample_is_valid_and_fast() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Some(sample) = shared_corpus::etcd_sample(&root, "the_etcd_sample_is_valid_and_fast") else { return };
    let sample = sample.display().to_string();
    let started = Instant::now();
    let out = trace(&[&sample]);
    let elapsed = started.elapsed();
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("valid (4888 etcd events"), "{}", text(&out.stdout));
    // The target is 50 ms whole process; a loaded CI machine gets slack.
    assert!(elapsed.as_millis() < 2000, "{elapsed:?}");
    let out = trace(&["--json", "--format", "etcd", &sample]);
    assert_eq!(code(&out), 0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files"][0]["verdict"], "valid");
    assert_eq!(json["files"][0]["format"], "etcd");
    assert_eq!(json["files"][0]["events"], 4888);
    // Forced to the native format, it is not a native trace: exit 2.
    assert_eq!(code(&trace(&["--format", "native", &sample])), 2);
}

/// The table of what each invalid etcd trace must be refused for.
fn expected_failures() -> Vec<(String, String, u64)> {
    let table = std::fs::read_to_string(corpus("etcd/expected-failures.tsv")).unwrap();
    table
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "{line}");
            (fields[0].to_string(), fields[1].to_string(), fields[2].parse().unwrap())
        })
        .collect()
}

/// Every rule of the spec has a derived invalid trace that it refuses, at
/// the line the table says; every invalid trace has a row.
#[test]
fn every_spec_rule_refuses_its_corpus_trace_at_its_line() {
    let rows = expected_failures();
    for (file, rule, line) in &rows {
        let path = corpus(file);
        let out = trace(&["--json", &path]);
        assert_eq!(code(&out), 1, "{file}: {}{}", text(&out.stdout), text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let failure = &json["files"][0]["failure"];
        assert_eq!(failure["check"], rule.as_str(), "{file}: {failure}");
        assert_eq!(failure["line"], *line, "{file}: {failure}");
        if file.contains("earlier-term") {
            assert!(failure["message"].as_str().unwrap().contains("earlier term"), "{file}: {failure}");
        }
        let human = text(&trace(&[&path]).stdout);
        assert!(human.contains(&format!("INVALID at line {line}")) && human.contains('§'), "{human}");
    }
    let dir = PathBuf::from(corpus("etcd/invalid"));
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let rel = format!("etcd/invalid/{name}");
        assert!(rows.iter().any(|(f, ..)| *f == rel), "{rel} has no row in etcd/expected-failures.tsv");
    }
    for rule in raftcheck_traces::spec::Rule::ALL {
        assert!(rows.iter().any(|(_, r, _)| r == rule.name()), "no invalid etcd trace for the rule '{}'", rule.name());
    }
}

/// Our own runtime's traces in etcd's schema (the sources of the negatives
/// edited from ours) are valid, read as etcd traces: the config record's
/// volatile commit index, extra kinds and all.
#[test]
fn our_etcd_schema_traces_are_valid() {
    let dir = PathBuf::from(corpus("etcd/valid"));
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path().display().to_string();
        let out = trace(&["--json", &path]);
        assert_eq!(code(&out), 0, "{path}: {}{}", text(&out.stdout), text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["files"][0]["format"], "etcd", "{path}: detected as etcd");
        assert_eq!(json["files"][0]["counted"]["config records"], 1, "{path}");
        checked += 1;
    }
    assert!(checked >= 2, "{checked} traces");
}

#[test]
fn unknown_kinds_are_errors_unless_lenient() {
    let mut lines = some_lines(20);
    lines[9] = lines[9].replacen("\"name\":\"InitState\"", "\"name\":\"Teleport\"", 1);
    assert!(lines[9].contains("Teleport"));
    let file = scratch("unknown-kind.ndjson", &(lines.join("\n") + "\n"));
    let out = trace(&[&file]);
    assert_eq!(code(&out), 2);
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{file}: line 10: unknown event kind \"Teleport\"")), "{err}");
    let out = trace(&["--lenient", "--json", &file]);
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files"][0]["counted"]["Teleport events (unknown kind, skipped)"], 1, "{json}");
}

/// A send written in an extra kind (a snapshot sent by hand) is in flight
/// like any other; etcd's storage messages are known types; a message type
/// etcd-raft does not have is an input error unless `--lenient`.
#[test]
fn extra_sends_and_message_types() {
    let ours = std::fs::read_to_string(corpus("etcd/valid/ours-persist3-2c.ndjson")).unwrap();
    let mut lines: Vec<String> = ours.lines().map(str::to_string).collect();
    let send = lines.iter().position(|l| l.contains("\"SendAppendEntriesRequest\"")).unwrap();
    lines[send] = lines[send].replacen("SendAppendEntriesRequest", "ManualSendSnapshot", 1);
    let file = scratch("manual-send.ndjson", &(lines.join("\n") + "\n"));
    let out = trace(&["--json", &file]);
    assert_eq!(code(&out), 0, "its receive was sent: {}", text(&out.stdout));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files"][0]["counted"]["ManualSendSnapshot events"], 1, "{json}");

    let storage = lines[send].replacen("\"MsgApp\"", "\"MsgStorageAppend\"", 1);
    assert!(storage.contains("MsgStorageAppend"));
    lines.insert(send + 1, storage.clone());
    let file = scratch("storage-message.ndjson", &(lines.join("\n") + "\n"));
    assert_eq!(code(&trace(&[&file])), 0, "MsgStorageAppend is etcd's: {}", text(&trace(&[&file]).stdout));

    lines[send + 1] = storage.replacen("MsgStorageAppend", "MsgTeleport", 1);
    let file = scratch("unknown-message-type.ndjson", &(lines.join("\n") + "\n"));
    let out = trace(&[&file]);
    assert_eq!(code(&out), 2);
    let err = text(&out.stderr);
    assert!(err.contains(&format!("line {}", send + 2)) && err.contains("MsgTeleport"), "{err}");
    let out = trace(&["--lenient", "--json", &file]);
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files"][0]["counted"]["events with message type MsgTeleport (unknown, skipped)"], 1, "{json}");
}

/// Bare event objects, RFC 3339 timestamps, other tags, a config record
/// and the extra kinds are read; the extras are counted.
#[test]
fn the_variants_are_read() {
    // The application's own untagged log line first: skipped, counted, and
    // not in the way of detecting the format.
    let mut out_lines = vec![
        r#"{"level":"info","msg":"starting the cluster"}"#.to_string(),
        r#"{"tag":"config","MaxInflightMsgs":256,"ReadOnlyOption":"Safe"}"#.to_string(),
    ];
    for line in some_lines(30) {
        let mut record: serde_json::Value = serde_json::from_str(&line).unwrap();
        let event = record["event"].take();
        out_lines.push(serde_json::json!({"tag": "trace", "ts": "2024-04-05T15:08:49Z", "event": event}).to_string());
        out_lines.push(event.to_string());
    }
    // An extra kind, showing its node's latest state.
    let mut extra: serde_json::Value = serde_json::from_str(out_lines.last().unwrap()).unwrap();
    out_lines.push(r#"{"level":"info","tag":"app","msg":"hello"}"#.to_string());
    extra["name"] = "ApplyEntries".into();
    out_lines.push(extra.to_string());
    let file = scratch("variants.ndjson", &(out_lines.join("\n") + "\n"));
    let out = trace(&["--json", &file]);
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let counted = &json["files"][0]["counted"];
    assert_eq!(counted["config records"], 1, "{json}");
    assert_eq!(counted["lines tagged \"app\""], 1, "{json}");
    assert_eq!(counted["ApplyEntries events"], 1, "{json}");
    assert_eq!(counted["untagged lines that are not events"], 1, "{json}");
}

#[test]
fn bad_input_is_exit_2_with_file_and_line() {
    let lines = some_lines(5);
    let cases = [
        ("not-json.ndjson", format!("{}\nnot json\n", lines[0]), "line 2"),
        ("no-state.ndjson", format!("{}\n{}\n", lines[0], lines[1].replacen("\"state\"", "\"stat\"", 1)), "line 2"),
        ("bad-id.ndjson", format!("{}\n", lines[0].replacen("\"nid\":\"1\"", "\"nid\":\"one\"", 1)), "line 1"),
        ("no-event.ndjson", "{\"tag\":\"trace\",\"level\":\"debug\"}\n".to_string(), "line 1"),
    ];
    for (name, contents, wanted) in cases {
        let file = scratch(name, &contents);
        let out = trace(&["--format", "etcd", &file]);
        assert_eq!(code(&out), 2, "{name}: {}", text(&out.stdout));
        let err = text(&out.stderr);
        assert!(err.contains(&file) && err.contains(wanted), "{name}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn help_lists_every_spec_rule() {
    let help = text(&trace(&["--help"]).stdout);
    for rule in raftcheck_traces::spec::Rule::ALL {
        assert!(help.contains(rule.name()) && help.contains(rule.section()), "{}: {help}", rule.name());
    }
    assert!(help.contains("--format") && help.contains("--lenient"), "{help}");
}

/// A message received that differs from the one sent names the closest
/// message sent, with its line.
#[test]
fn a_message_never_sent_names_the_closest_one_sent() {
    let text_of = std::fs::read_to_string(corpus("etcd/invalid/commit-monotonic-commit-goes-down.ndjson")).unwrap();
    let mut lines: Vec<String> = text_of.lines().take(115).map(str::to_string).collect();
    let at = lines.iter().position(|l| l.contains("\"name\":\"ReceiveAppendEntriesRequest\"")).unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&lines[at]).unwrap();
    let commit = record["event"]["msg"]["commit"].as_u64().unwrap();
    record["event"]["msg"]["commit"] = (commit + 1).into();
    lines[at] = record.to_string();
    let file = scratch("near-miss.ndjson", &(lines.join("\n") + "\n"));
    let out = trace(&["--json", &file]);
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failure = &json["files"][0]["failure"];
    assert_eq!((failure["check"].as_str(), failure["line"].as_u64()), (Some("message-sent"), Some(at as u64 + 1)));
    let related = &failure["related"][0];
    assert!(related["what"].as_str().unwrap().contains("closest message sent"), "{failure}");
    assert!(related["line"].as_u64().unwrap() < at as u64 + 1, "{failure}");
}

/// The network may duplicate: a message received twice is valid; one
/// received that was never sent is not, even after others were delivered.
#[test]
fn a_message_may_be_received_twice() {
    let text_of = std::fs::read_to_string(corpus("etcd/invalid/commit-monotonic-commit-goes-down.ndjson")).unwrap();
    let mut lines: Vec<String> = text_of.lines().take(150).map(str::to_string).collect();
    let at = lines.iter().position(|l| l.contains("\"name\":\"ReceiveAppendEntriesResponse\"")).unwrap();
    lines.insert(at + 1, lines[at].clone());
    let file = scratch("duplicate.ndjson", &(lines.join("\n") + "\n"));
    let out = trace(&[&file]);
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
}

/// A pre-vote answer (which a modified harness may write) casts no vote:
/// the second vote of the one-vote trace, written as a pre-vote, is valid.
#[test]
fn a_pre_vote_is_not_a_vote() {
    let text_of = std::fs::read_to_string(corpus("etcd/invalid/one-vote-twice-in-a-term.ndjson")).unwrap();
    let table = expected_failures();
    let line = table.iter().find(|(f, ..)| f.ends_with("one-vote-twice-in-a-term.ndjson")).unwrap().2 as usize;
    let mut lines: Vec<String> = text_of.lines().map(str::to_string).collect();
    lines[line - 1] = lines[line - 1].replacen("\"MsgVoteResp\"", "\"MsgPreVoteResp\"", 1);
    let file = scratch("pre-vote.ndjson", &(lines.join("\n") + "\n"));
    let out = trace(&[&file]);
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    lines[line - 1] = lines[line - 1].replacen("\"MsgPreVoteResp\"", "\"MsgBogus\"", 1);
    let file = scratch("bogus-type.ndjson", &(lines.join("\n") + "\n"));
    let out = trace(&[&file]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains(&format!("line {line}: msg.type")), "{}", text(&out.stderr));
}
