//! `raftcheck trace --merge`: the per-node files of one cluster, merged in
//! causal order and validated as one trace; failures named at their file
//! and line.

#[path = "support/trace_cli.rs"]
mod trace_cli;

use std::collections::BTreeMap;
use std::path::PathBuf;
use trace_cli::{code, corpus, text, trace};

/// The valid version-2 traces of the corpus: name and text.
fn valid_v2() -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(corpus("traces/valid")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let named = files.into_iter().map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p));
    let texts = named.map(|(name, p)| (name, std::fs::read_to_string(p).unwrap()));
    texts.filter(|(_, text)| text.starts_with("{\"raftcheck_trace\":2")).collect()
}

/// `trace` split into one file per node, in node order: the same header,
/// the node's events in their order renumbered 1, 2, 3, ..., an end record.
fn split(trace: &str) -> Vec<String> {
    let mut lines = trace.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap();
    let mut nodes: BTreeMap<u64, Vec<serde_json::Value>> = BTreeMap::new();
    for line in lines {
        let mut event: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(node) = event.get("node").and_then(|n| n.as_u64()) else { continue };
        let events = nodes.entry(node).or_default();
        event["seq"] = (events.len() as u64 + 1).into();
        events.push(event);
    }
    let file = |events: &Vec<serde_json::Value>| {
        let body: String = events.iter().map(|e| format!("{e}\n")).collect();
        format!("{header}\n{body}{{\"event\":\"end\",\"events\":{}}}\n", events.len())
    };
    nodes.values().map(file).collect()
}

/// Writes the files of `case` as `node0.ndjson`, ...; returns their paths.
fn write(case: &str, files: &[String]) -> Vec<String> {
    let folder = format!("trace-merge/{case}");
    files.iter().enumerate().map(|(n, f)| trace_cli::scratch_in(&folder, &format!("node{n}.ndjson"), f)).collect()
}

/// `raftcheck trace [--json] --merge FILES`.
fn merge(json: bool, files: &[String]) -> std::process::Output {
    let mut args = vec!["--merge"];
    if json {
        args.insert(0, "--json");
    }
    args.extend(files.iter().map(String::as_str));
    trace(&args)
}

fn events(trace: &str) -> usize {
    trace.lines().filter(|l| l.contains("\"seq\":")).count()
}

/// Every valid trace of the corpus, split per node, merges into a valid
/// trace of as many events: no delivery is put before its send (nor before
/// the save its send waited for), else the validator would say so.
#[test]
fn split_corpus_traces_merge_valid() {
    let corpus = valid_v2();
    assert!(corpus.len() >= 4, "the corpus has its version-2 traces");
    for (name, whole) in corpus {
        let files = write(&name, &split(&whole));
        assert!(files.len() > 1, "{name}");
        let out = merge(false, &files);
        let report = text(&out.stdout);
        assert_eq!(code(&out), 0, "{name}: {report}{}", text(&out.stderr));
        assert!(report.contains(&format!("(merged): valid ({} events", events(&whole))), "{name}: {report}");
    }
}

/// Without `--merge`, each file is its own trace, as before: a node's file
/// alone receives messages nobody sent.
#[test]
fn without_merge_each_file_is_its_own_trace() {
    let (_, whole) = valid_v2().into_iter().find(|(n, _)| n == "initial-election-2a").unwrap();
    let files = write("unmerged", &split(&whole));
    let out = trace(&files.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code(&out), 1);
    let report = text(&out.stdout);
    assert_eq!(report.lines().filter(|l| l.contains("node") && l.contains(".ndjson: ")).count(), files.len());
}

/// A receive of a message never sent: exit 1, at that node's file and
/// line, the `network` check; `--json` names the file and line too.
#[test]
fn a_receive_never_sent_is_named_at_its_file_and_line() {
    let (_, whole) = valid_v2().into_iter().find(|(n, _)| n == "initial-election-2a").unwrap();
    let mut files = split(&whole);
    let mut lines: Vec<String> = files[1].lines().map(str::to_string).collect();
    let at = lines.iter().position(|l| l.contains("{\"receive\":")).expect("node 1 receives");
    // The message's term changed: no node sent that message.
    let input = lines[at].find("{\"receive\":").unwrap();
    let term = input + lines[at][input..].find("\"term\":").unwrap() + "\"term\":".len();
    let digits = lines[at][term..].find(|c: char| !c.is_ascii_digit()).unwrap();
    lines[at] = format!("{}77{}", &lines[at][..term], &lines[at][term + digits..]);
    files[1] = lines.join("\n") + "\n";
    let paths = write("never-sent", &files);

    let out = merge(false, &paths);
    let report = text(&out.stdout);
    assert_eq!(code(&out), 1, "{report}{}", text(&out.stderr));
    assert!(report.contains(&format!("node1.ndjson: INVALID at line {}", at + 1)), "{report}");
    assert!(report.contains("): network: node 1 received a message"), "{report}");

    let out = merge(true, &paths);
    assert_eq!(code(&out), 1);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let failure = &json["files"][0]["failure"];
    assert!(failure["file"].as_str().unwrap().ends_with("node1.ndjson"), "{json}");
    assert_eq!(failure["line"], at + 1);
    assert_eq!(failure["check"], "network");
    assert_eq!(json["files"][0]["merged"].as_array().unwrap().len(), paths.len());
}

/// A file whose header differs from the first file's: exit 2, naming it
/// and its line 1.
#[test]
fn a_header_that_differs_is_an_input_error() {
    let (_, whole) = valid_v2().into_iter().next().unwrap();
    let mut files = split(&whole);
    files[2] = files[2].replacen("\"heartbeat\":\"with_entries\"", "\"heartbeat\":\"empty\"", 1);
    assert!(files[2].contains("\"heartbeat\":\"empty\""));
    let paths = write("header", &files);
    let out = merge(false, &paths);
    assert_eq!(code(&out), 2);
    let error = text(&out.stderr);
    assert!(error.contains("node2.ndjson: line 1: the header differs"), "{error}");

    let out = merge(true, &paths);
    assert_eq!(code(&out), 2);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["files"][0]["verdict"], "error");
    assert!(json["files"][0]["file"].as_str().unwrap().ends_with("node2.ndjson"), "{json}");
    assert_eq!(json["files"][0]["line"], 1);

    let out = trace(&["--merge", "--format", "etcd", &paths[0], &paths[1]]);
    assert_eq!(code(&out), 2, "--merge reads native traces only");
    assert!(text(&out.stderr).contains("native traces only"), "{}", text(&out.stderr));
}

/// A file cut short (no end record): the merged trace is cut short, exit
/// 1, the completeness check at that file.
#[test]
fn a_file_cut_short_cuts_the_merged_trace() {
    let (_, whole) = valid_v2().into_iter().find(|(n, _)| n == "persist3-2c").unwrap();
    let mut files = split(&whole);
    let kept: Vec<&str> = files[1].lines().collect();
    let lines = kept.len() - 1;
    files[1] = kept[..lines].join("\n") + "\n";
    let paths = write("cut", &files);
    let out = merge(false, &paths);
    let report = text(&out.stdout);
    assert_eq!(code(&out), 1, "{report}{}", text(&out.stderr));
    assert!(report.contains(&format!("node1.ndjson: INVALID at line {}: completeness:", lines + 1)), "{report}");

    let out = merge(true, &paths);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["files"][0]["complete"], false);
    assert_eq!(json["files"][0]["failure"]["check"], "completeness");
}
