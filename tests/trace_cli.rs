//! `raftcheck trace` end to end: exit codes, the first bad event named with
//! its line, `--json`, input errors, and the regression corpus.

#[path = "support/trace_cli.rs"]
mod trace_cli;

use std::path::PathBuf;
use std::process::Command;
use trace_cli::{code, corpus, text, trace};

/// The files of a corpus folder.
fn corpus_files(rel: &str) -> Vec<String> {
    let dir = PathBuf::from(corpus(rel));
    let mut files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
    files.sort();
    files
}

fn scratch(name: &str, contents: &str) -> String {
    trace_cli::scratch_in("trace-cli", name, contents)
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
    let old = std::fs::read_to_string(corpus("traces/valid/v1-initial-election-2a.ndjson")).unwrap();
    let cases = [
        ("truncated-v1.ndjson", old[..old.len() - 30].to_string(), "truncated"),
        ("version.ndjson", good.replacen("\"raftcheck_trace\":2", "\"raftcheck_trace\":7", 1), "version 7"),
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

/// One row of the table of what each invalid trace must be refused for.
struct Expected {
    file: String,
    /// The rule: a check of exact replay, or a rule of the spec.
    check: String,
    line: u64,
    /// The mutant to validate with (none: the correct core).
    mutant: Option<String>,
    /// `--check`: `exact` or `spec`.
    mode: String,
}

/// The table `expected-trace-failures.tsv`.
fn expected_failures() -> Vec<Expected> {
    let table = std::fs::read_to_string(corpus("expected-trace-failures.tsv")).unwrap();
    table
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 5, "{line}");
            Expected {
                file: fields[0].to_string(),
                check: fields[1].to_string(),
                line: fields[2].parse().unwrap(),
                mutant: (!fields[3].is_empty()).then(|| fields[3].to_string()),
                mode: fields[4].to_string(),
            }
        })
        .collect()
}

/// Every rule of the validator has an invalid trace in the corpus that it
/// alone refuses (under `--check exact`), at the line the table says; every
/// invalid trace is in the table, so a rule without one shows as a missing
/// row. Under `--check spec`, the replayed traces of the mutants that break
/// a protocol rule are refused by the spec, at the line the table says.
#[test]
fn every_rule_refuses_its_corpus_trace_at_its_line() {
    let rows = expected_failures();
    for Expected { file, check, line, mutant, mode } in &rows {
        let path = corpus(file);
        let mut args = vec!["--json", "--check", mode.as_str(), path.as_str()];
        if let Some(m) = mutant {
            args.extend(["--mutant", m.as_str()]);
        }
        let out = trace(&args);
        assert_eq!(code(&out), 1, "{file} {mutant:?} {mode}: {}{}", text(&out.stdout), text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let failure = &json["files"][0]["failure"];
        assert_eq!(failure["check"], check.as_str(), "{file} {mutant:?} {mode}: {failure}");
        assert_eq!(failure["line"], *line, "{file} {mutant:?} {mode}: {failure}");
    }
    for file in corpus_files("traces/invalid") {
        let rel = format!("traces/invalid/{}", file.rsplit('/').next().unwrap());
        assert!(rows.iter().any(|r| r.file == rel), "{rel} has no row in expected-trace-failures.tsv");
    }
    for check in raftcheck_traces::validate::Check::ALL {
        assert!(
            rows.iter().any(|r| r.check == check.name() && r.mode == "exact"),
            "no invalid trace in the corpus for the rule '{}'",
            check.name()
        );
    }
}

/// The default, `--check both`, refuses each invalid trace at the first
/// line either check refuses, and accepts every valid trace.
#[test]
fn both_checks_report_the_earliest_failure() {
    let rows = expected_failures();
    let files: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    for file in files {
        let earliest = rows.iter().filter(|r| r.file == file && r.mutant.is_none()).map(|r| r.line).min();
        let path = corpus(file);
        let out = trace(&["--json", path.as_str()]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(line) = earliest {
            assert_eq!(json["files"][0]["failure"]["line"], line, "{file}: {json}");
        }
    }
    for file in corpus_files("traces/valid") {
        let out = trace(&["--check", "both", file.as_str()]);
        assert_eq!(code(&out), 0, "{file}: {}", text(&out.stdout));
    }
}

#[test]
fn help_lists_every_rule() {
    let out = trace(&["--help"]);
    let help = text(&out.stdout);
    for check in raftcheck_traces::validate::Check::ALL {
        assert!(help.contains(check.name()) && help.contains(check.rule()), "{}: {help}", check.name());
    }
    assert!(help.contains("--max-line-bytes"), "{help}");
}

/// Completeness: a trace closed with its end record is complete; without
/// it, cut short (exit 1, the line where the record should be); a
/// version-1 trace cannot tell (valid, `complete: null`).
#[test]
fn json_says_whether_the_trace_is_complete() {
    let complete = corpus("traces/valid/persist3-2c.ndjson");
    let cut = corpus("traces/invalid/check-completeness-cut-short.ndjson");
    let old = corpus("traces/valid/v1-initial-election-2a.ndjson");
    let out = trace(&["--json", &complete, &cut, &old]);
    assert_eq!(code(&out), 1);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files"][0]["complete"], true);
    assert_eq!(json["files"][1]["complete"], false);
    assert_eq!(json["files"][1]["verdict"], "invalid");
    assert!(json["files"][1]["failure"]["message"].as_str().unwrap().contains("cut short"));
    assert_eq!(json["files"][2]["complete"], serde_json::Value::Null);
    assert_eq!(json["files"][2]["verdict"], "valid");
    let text = text(&trace(&[&cut]).stdout);
    assert!(text.contains("a valid prefix of") && text.contains("no end record"), "{text}");
}

/// Errors point at the file's own line and column, never at a parser's
/// inner position; a missing file is not "line 0"; an unknown mutant does
/// not point at an option `trace` does not have.
#[test]
fn errors_point_at_the_file() {
    let good = std::fs::read_to_string(corpus("traces/valid/initial-election-2a.ndjson")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines[3] = "{\"event\":\"step\",\"seq\":3,";
    let bad = scratch("bad-json.ndjson", &(lines.join("\n") + "\n"));
    let err = text(&trace(&[&bad]).stderr);
    assert!(err.contains(&format!("{bad}: line 4: column 24: not a trace event")), "{err}");
    assert!(!err.contains("at line"), "serde's own position leaks: {err}");
    let err = text(&trace(&["/no/such/trace.ndjson"]).stderr);
    assert!(err.contains("/no/such/trace.ndjson: cannot open") && !err.contains("line 0"), "{err}");
    let err = text(&trace(&["--mutant", "m99", &bad]).stderr);
    assert!(err.contains("unknown mutant 'm99'") && !err.contains("list-mutants"), "{err}");
}

/// A line longer than the limit is an input error naming it, before it is
/// buffered whole; the limit can be raised.
#[test]
fn lines_are_bounded_in_size() {
    let valid = corpus("traces/valid/snapshot-init-2d.ndjson");
    let text_of = std::fs::read_to_string(&valid).unwrap();
    let first_long = text_of.lines().position(|l| l.len() > 400).expect("a line over 400 bytes") + 1;
    let out = trace(&["--max-line-bytes", "400", &valid]);
    assert_eq!(code(&out), 2);
    let err = text(&out.stderr);
    assert!(err.contains(&format!("line {first_long}: the line is longer than 400 bytes")), "{err}");
    assert_eq!(code(&trace(&["--max-line-bytes", "1M", &valid])), 0);
}

/// A failure names the earlier events it conflicts with: the step that sent
/// a message before its save, the crash that lost the save; for two leaders
/// of one term, where each became leader.
#[test]
fn failures_name_the_lines_they_conflict_with() {
    let file = corpus("traces/invalid/check-durability-vote-delivered-then-crash.ndjson");
    let json: serde_json::Value = serde_json::from_slice(&trace(&["--json", &file]).stdout).unwrap();
    let failure = &json["files"][0]["failure"];
    let related: Vec<(u64, String)> = failure["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["what"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(related.len(), 2, "{failure}");
    assert!(related[0].1.contains("asked to save") && related[1].1.contains("crash"), "{related:?}");
    assert!(related[0].0 < related[1].0 && related[1].0 < failure["line"].as_u64().unwrap(), "{related:?}");

    let file = corpus("traces/invalid/replay-m6-quorum-off-by-one.ndjson");
    let json: serde_json::Value =
        serde_json::from_slice(&trace(&["--json", "--check", "exact", "--mutant", "m6", &file]).stdout).unwrap();
    let failure = &json["files"][0]["failure"];
    assert_eq!(failure["property"], "election safety");
    let message = failure["message"].as_str().unwrap();
    assert!(message.contains("both led term 1"), "{message}");
    let related = failure["related"].as_array().unwrap();
    assert_eq!(related.len(), 1, "the other leader (the failing line is the second): {failure}");
    assert!(related[0]["what"].as_str().unwrap().contains("became leader of term 1"), "{failure}");
}
