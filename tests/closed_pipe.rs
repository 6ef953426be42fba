//! Output to a closed pipe (`raftcheck model --list-configs | head -1`)
//! ends the process quietly with success, never a panic.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The writing end of a pipe whose reader has already exited: `true`'s
/// standard input, once `true` is gone. Every write to it fails with EPIPE,
/// whatever the timing.
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().expect("run true");
    let writer = reader.stdin.take().expect("a pipe to true");
    reader.wait().expect("true exits");
    Stdio::from(writer)
}

fn repo(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel).display().to_string()
}

#[test]
fn a_closed_stdout_ends_quietly_with_success() {
    let trace = repo("traces/corpus/traces/valid/initial-election-2a.ndjson");
    let history =
        repo("traces/corpus/histories/ok/snapshot-unreliable-recover-partition-linearizable-3b-key3.kv.jsonl");
    let cases: &[&[&str]] = &[
        &["model", "--list-configs"],
        &["model", "--list-mutants"],
        &["mutants"],
        &["mutants", "--json"],
        &["model", "--config", "m6", "--json", "--quiet"],
        &["model", "--config", "m6", "--quiet"],
        &["lin", &history],
        &["lin", "--json", &history],
        &["trace", &trace],
        &["trace", "--json", &trace],
        &["--help"],
    ];
    for args in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_raftcheck"))
            .args(*args)
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .expect("runs raftcheck");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
