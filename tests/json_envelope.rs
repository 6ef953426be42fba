//! Every subcommand's `--json` prints the same envelope: a top-level
//! `verdict` word, the process's `exit_code` and `elapsed_ms` (a float of
//! milliseconds), and, where the command reads files, each file's entry
//! under `files`, with one shape for a file that cannot be read.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn raftcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftcheck")).args(args).output().expect("runs raftcheck")
}

fn repo(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel).display().to_string()
}

fn scratch(name: &str, contents: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("json-envelope");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

/// The one JSON object on stdout, after checking its envelope: `verdict`
/// is `expected`, `exit_code` is the process's, `elapsed_ms` a
/// non-negative number, and no field uses another unit of time.
fn envelope(args: &[&str], expected: &str) -> Value {
    let out = raftcheck(args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("{args:?}: not one JSON object ({e}): {stdout}{}", String::from_utf8_lossy(&out.stderr))
    });
    assert_eq!(v["verdict"], expected, "{args:?}: {v}");
    let code = out.status.code().expect("an exit code");
    assert_eq!(v["exit_code"].as_i64(), Some(i64::from(code)), "{args:?}: {v}");
    let elapsed = v["elapsed_ms"].as_f64().unwrap_or_else(|| panic!("{args:?}: no elapsed_ms: {v}"));
    assert!(elapsed >= 0.0, "{args:?}: {v}");
    for old in ["elapsed_secs", "hunt_secs"] {
        assert!(v.get(old).is_none(), "{args:?}: {old} is now in milliseconds: {v}");
    }
    v
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    keys.sort();
    keys
}

#[test]
fn every_subcommand_prints_the_same_envelope() {
    let replay = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("json-envelope").join("m6.replay.json");
    std::fs::create_dir_all(replay.parent().unwrap()).unwrap();
    let replay = replay.display().to_string();

    let v = envelope(&["model", "--config", "m6", "--json", "--quiet"], "ok");
    assert_eq!(v["exit_code"], 0);
    assert!(v["hunt_ms"].is_null(), "{v}");
    let v = envelope(
        &["model", "--config", "m6", "--mutant", "m6", "--json", "--quiet", "--replay-out", &replay],
        "violated",
    );
    assert_eq!(v["exit_code"], 1);
    let v = envelope(
        &["model", "--config", "ci", "--strategy", "sim", "--timeout", "200ms", "--json", "--quiet"],
        "incomplete",
    );
    assert_eq!(v["exit_code"], 3);

    let history =
        repo("traces/corpus/histories/ok/snapshot-unreliable-recover-partition-linearizable-3b-key3.kv.jsonl");
    let v = envelope(&["lin", "--json", &history], "linearizable");
    assert_eq!(v["files"][0]["verdict"], "linearizable");
    let bad = repo("traces/corpus/histories/bad/m26-local-reads-key12.kv.jsonl");
    let v = envelope(&["lin", "--json", &history, &bad], "not-linearizable");
    assert_eq!(v["exit_code"], 1);

    let trace = repo("traces/corpus/traces/valid/initial-election-2a.ndjson");
    let v = envelope(&["trace", "--json", &trace], "valid");
    assert_eq!(v["files"][0]["verdict"], "valid");
    assert!(v["files"][0]["elapsed_ms"].is_number());
    let invalid = std::fs::read_dir(repo("traces/corpus/traces/invalid")).unwrap().next().unwrap().unwrap().path();
    let v = envelope(&["trace", "--json", &trace, invalid.to_str().unwrap()], "invalid");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["files"][1]["verdict"], "invalid");

    let v = envelope(&["replay", "--json", &replay, "--trace", &format!("{replay}.ndjson")], "reproduced");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["reproduced"], true);

    let v = envelope(&["mutants", "--json"], "ok");
    assert!(v["mutants"].as_array().is_some_and(|m| !m.is_empty()));
}

#[test]
fn input_errors_have_one_shape_in_every_command() {
    let missing = "/no/such/dir/file.kv.jsonl";
    let malformed =
        scratch("malformed.kv.jsonl", "{\"process\":0,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"x\"}\n{\n");
    let history =
        repo("traces/corpus/histories/ok/snapshot-unreliable-recover-partition-linearizable-3b-key3.kv.jsonl");
    let trace = repo("traces/corpus/traces/valid/initial-election-2a.ndjson");

    let lin = envelope(&["lin", "--json", &history, missing, &malformed], "error");
    let traced = envelope(&["trace", "--json", &trace, missing, &malformed], "error");
    let shape = ["error", "file", "line", "message", "verdict"];
    for (command, v) in [("lin", &lin), ("trace", &traced)] {
        assert_eq!(v["exit_code"], 2, "{command}: {v}");
        let files = v["files"].as_array().unwrap();
        assert_eq!(files.len(), 3, "{command}: every file has its entry: {v}");
        assert_ne!(files[0]["verdict"], "error", "{command}: {v}");
        for (entry, path) in [(&files[1], missing), (&files[2], malformed.as_str())] {
            assert_eq!(keys(entry), shape, "{command}: {entry}");
            assert_eq!(entry["verdict"], "error", "{command}: {entry}");
            assert_eq!(entry["file"], path, "{command}: {entry}");
            let message = entry["message"].as_str().unwrap();
            assert!(!message.is_empty(), "{command}: {entry}");
            let error = entry["error"].as_str().unwrap();
            assert!(error.starts_with(path) && error.ends_with(message), "{command}: {entry}");
        }
        assert!(files[1]["line"].is_null(), "{command}: a missing file has no line: {}", files[1]);
        let line = files[2]["line"].as_u64().unwrap_or_else(|| panic!("{command}: a malformed file names its line"));
        assert!(files[2]["error"].as_str().unwrap().contains(&format!("line {line}: ")), "{command}: {}", files[2]);
    }

    // The replay file is the whole input of `replay`: its error is the
    // envelope itself.
    let v = envelope(&["replay", "--json", "/no/such/replay.json"], "error");
    assert_eq!(v["exit_code"], 2);
    assert_eq!(v["file"], "/no/such/replay.json");
    assert!(v["line"].is_null() && v["message"].is_string() && v["error"].is_string(), "{v}");
    assert_eq!(v["reproduced"], false);
}
