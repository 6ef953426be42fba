//! `raftcheck trace` end to end: exit codes, the first bad event named with
//! its line, `--json`, input errors, and the regression corpus.

use std::path::PathBuf;
use std::process::{Command, Output};

fn trace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftcheck")).arg("trace").args(args).output().expect("runs raftcheck")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn corpus(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces/corpus").join(rel).display().to_string()
}

/// The files of a corpus folder.
fn corpus_files(rel: &str) -> Vec<String> {
    let dir = PathBuf::from(corpus(rel));
    let mut files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
    files.sort();
    files
}

fn scratch(name: &str, contents: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("trace-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

#[test]
fn the_corpus_gets_its_verdicts() {
    let valid = corpus_files("traces/valid");
    assert!(!valid.is_empty());
    for file in &valid {
        let out = trace(&[file]);
        assert_eq!(code(&out), 0, "{file}: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stdout).contains(": valid ("), "{}", text(&out.stdout));
    }
    for file in corpus_files("traces/invalid") {
        let out = trace(&[&file]);
        assert_eq!(code(&out), 1, "{file}: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stdout).contains("INVALID at line"), "{}", text(&out.stdout));
        assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
    }
    // The histories: the model is named in the file name (`*.kv.jsonl`).
    for (folder, expected) in [("histories/ok", 0), ("histories/bad", 1)] {
        let files = corpus_files(folder);
        assert!(!files.is_empty(), "{folder} is empty");
        for file in files {
            let model = file.rsplit('.').nth(1).expect("a model in the name");
            let out = Command::new(env!("CARGO_BIN_EXE_raftcheck"))
                .args(["lin", "--model", model, &file])
                .output()
                .expect("runs raftcheck");
            assert_eq!(code(&out), expected, "{file}: {}{}", text(&out.stdout), text(&out.stderr));
        }
    }
}

#[test]
fn an_invalid_trace_names_its_first_bad_event() {
    let good = std::fs::read_to_string(corpus("traces/valid/persist3-2c.ndjson")).unwrap();
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    let at = lines.iter().position(|l| l.contains("\"event\":\"persist\"")).unwrap();
    lines[at] = lines[at].replacen("\"term\":1", "\"term\":9", 1);
    let bad = scratch("bad.ndjson", &(lines.join("\n") + "\n"));
    let out = trace(&[&bad]);
    assert_eq!(code(&out), 1);
    let report = text(&out.stdout);
    assert!(report.contains(&format!("INVALID at line {}", at + 1)), "{report}");
    assert!(report.contains("persistence") && report.contains("expected:") && report.contains("seen:"), "{report}");

    let out = trace(&["--json", &bad, &corpus("traces/valid/persist3-2c.ndjson")]);
    assert_eq!(code(&out), 1, "the worst verdict wins");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["files"][0]["verdict"], "invalid");
    assert_eq!(json["files"][0]["failure"]["line"], at + 1);
    assert_eq!(json["files"][0]["failure"]["check"], "persistence");
    assert_eq!(json["files"][1]["verdict"], "valid");
    assert!(json["files"][1]["events"].as_u64() > Some(100));
}

#[test]
fn unreadable_input_is_exit_2_with_file_and_line() {
    let good = std::fs::read_to_string(corpus("traces/valid/initial-election-2a.ndjson")).unwrap();
    let cases = [
        ("truncated.ndjson", good[..good.len() - 30].to_string(), "line"),
        ("version.ndjson", good.replacen("\"raftcheck_trace\":1", "\"raftcheck_trace\":7", 1), "version 7"),
        ("garbage.ndjson", "not json at all\n".to_string(), "line 1"),
        ("empty.ndjson", String::new(), "empty"),
    ];
    for (name, contents, wanted) in cases {
        let file = scratch(name, &contents);
        let out = trace(&[&file]);
        assert_eq!(code(&out), 2, "{name}");
        let err = text(&out.stderr);
        assert!(err.contains(&file) && err.contains(wanted), "{name}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = trace(&["/no/such/trace.ndjson"]);
    assert_eq!(code(&out), 2);
    let valid = corpus("traces/valid/initial-election-2a.ndjson");
    let out = trace(&["--json", &valid, &scratch("garbage2.ndjson", "{\n")]);
    assert_eq!(code(&out), 2, "an input error in any file is 2");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["files"][0]["verdict"], "valid");
    assert_eq!(json["files"][1]["verdict"], "error", "an input error has the same shape as in lin");
    assert_eq!(code(&trace(&[])), 2, "no file is a usage error");
    assert_eq!(code(&trace(&["--mutant", "m99", &valid])), 2);
}
