//! The merge of traces split per node: valid traces stay valid, and what is
//! wrong is reported at its file and line.

use super::*;
use crate::validate::Options;
use std::collections::HashMap;

/// The valid version-2 traces of the corpus.
fn corpus() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/traces/valid");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let texts = files.into_iter().map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap()));
    texts.filter(|(_, text)| text.starts_with("{\"raftcheck_trace\":2")).collect()
}

/// `trace` split into one file per node (in node order): the header, the
/// node's events in their order renumbered 1, 2, 3, ..., an end record.
fn split(trace: &str) -> Vec<String> {
    let mut lines = trace.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap();
    let mut files: std::collections::BTreeMap<u64, Vec<serde_json::Value>> = Default::default();
    for line in lines {
        let mut event: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(node) = event.get("node").and_then(|n| n.as_u64()) else { continue };
        let events = files.entry(node).or_default();
        event["seq"] = (events.len() as u64 + 1).into();
        events.push(event);
    }
    let file = |events: &Vec<serde_json::Value>| {
        let body: String = events.iter().map(|e| format!("{e}\n")).collect();
        format!("{header}\n{body}{{\"event\":\"end\",\"events\":{}}}\n", events.len())
    };
    files.values().map(file).collect()
}

/// The receive `line` with its message's term changed to one no node has.
pub(super) fn never_sent(line: &str) -> String {
    let input = line.find("{\"receive\":").unwrap();
    let term = input + line[input..].find("\"term\":").unwrap() + "\"term\":".len();
    let digits = line[term..].find(|c: char| !c.is_ascii_digit()).unwrap();
    format!("{}77{}", &line[..term], &line[term + digits..])
}

fn validate(files: &[String]) -> Result<MergedReport, MergeError> {
    validate_merged(files.iter().map(|f| f.as_bytes()).collect(), Options::default())
}

fn events(trace: &str) -> u64 {
    trace.lines().filter(|l| l.contains("\"seq\":")).count() as u64
}

/// Each valid corpus trace, split per node, merges into a valid trace of
/// as many events: no delivery before its send, no send before its save.
#[test]
fn split_valid_traces_merge_valid() {
    let corpus = corpus();
    assert!(corpus.len() >= 4);
    for (name, trace) in corpus {
        let files = split(&trace);
        assert!(files.len() > 1, "{name}");
        let merged = validate(&files).unwrap();
        assert_eq!(merged.report.verdict, Verdict::Valid, "{name}: {:?}", merged.report.failure);
        assert_eq!(merged.report.events, events(&trace), "{name}");
        assert_eq!(merged.report.complete, Completeness::Ended, "{name}");
    }
}

/// The merge of each split corpus trace puts every delivery after its
/// send, and after the save its send waited for, seen on the merged text
/// itself; lines keep their origins.
#[test]
fn deliveries_follow_their_sends_and_saves() {
    for (name, trace) in corpus() {
        let files = split(&trace);
        let merged = merge(files.iter().map(|f| f.as_bytes()).collect(), usize::MAX).unwrap();
        let text = String::from_utf8(merged.text().to_vec()).unwrap();
        // Copies in flight by (from, to, message); copies waiting for a save, by sender.
        let mut in_flight: HashMap<String, i64> = HashMap::new();
        let mut waiting: HashMap<u64, Vec<String>> = HashMap::new();
        let duplicate = text.lines().next().unwrap().contains("\"may_duplicate\":true");
        for (k, line) in text.lines().enumerate().skip(1) {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            let Some(node) = event["node"].as_u64() else { continue };
            let origin = merged.origin(k + 1).unwrap();
            assert_eq!(files[origin.file].lines().nth(origin.line - 1).map(|l| l.contains("\"node\":")), Some(true));
            match event["event"].as_str().unwrap() {
                "persist" => {
                    for key in waiting.remove(&node).unwrap_or_default() {
                        *in_flight.entry(key).or_default() += 1;
                    }
                }
                "crash" => drop(waiting.remove(&node)),
                "step" => {
                    if let Some(receive) = event["input"].get("receive") {
                        let key = format!("{} {node} {}", receive["from"], receive["message"]);
                        let copies = in_flight.entry(key).or_default();
                        assert!(*copies > 0, "{name}: line {}: a delivery before its send or save", k + 1);
                        *copies -= i64::from(!duplicate);
                    }
                    let mut after_save = false;
                    for output in event["outputs"].as_array().unwrap() {
                        if output == "persist" {
                            after_save = true;
                        } else if let Some(send) = output.get("send") {
                            let key = format!("{node} {} {}", send["to"], send["message"]);
                            if after_save {
                                waiting.entry(node).or_default().push(key);
                            } else {
                                *in_flight.entry(key).or_default() += 1;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// A receive whose message no node sent is merged anyway, once nothing
/// else can be, and reported as a network failure at its file and line.
#[test]
fn a_receive_never_sent_is_reported_at_its_file_and_line() {
    let (_, trace) = corpus().into_iter().find(|(n, _)| n.ends_with("initial-election-2a.ndjson")).unwrap();
    let mut files = split(&trace);
    let mut lines: Vec<String> = files[1].lines().map(str::to_string).collect();
    let at = lines.iter().position(|l| l.contains("{\"receive\":")).unwrap();
    lines[at] = never_sent(&lines[at]);
    files[1] = lines.join("\n") + "\n";
    let merged = validate(&files).unwrap();
    let failure = merged.report.failure.expect("a failure");
    assert_eq!(failure.check, Check::Network, "{failure}");
    assert_eq!(merged.failure, Some(Origin { file: 1, line: at + 1 }));
}

/// A message delivered twice: the duplicate is reported at its line, and
/// the earlier delivery (a related event) at its own.
#[test]
fn related_events_are_reported_at_their_origin() {
    let (_, trace) = corpus().into_iter().find(|(n, _)| n.ends_with("persist3-2c.ndjson")).unwrap();
    let mut files = split(&trace);
    let mut lines: Vec<String> = files[0].lines().map(str::to_string).collect();
    let at = lines.iter().position(|l| l.contains("{\"receive\":")).unwrap();
    lines.insert(at + 1, lines[at].clone());
    for (k, line) in lines.iter_mut().enumerate().skip(1) {
        let mut event: serde_json::Value = serde_json::from_str(line).unwrap();
        if event.get("seq").is_some() {
            event["seq"] = (k as u64).into();
        } else {
            event["events"] = (k as u64 - 1).into();
        }
        *line = event.to_string();
    }
    files[0] = lines.join("\n") + "\n";
    let merged = validate(&files).unwrap();
    let failure = merged.report.failure.expect("a failure");
    assert_eq!(failure.check, Check::Duplicate, "{failure}");
    let origin = merged.failure.unwrap();
    let earlier = merged.related[0].expect("the earlier delivery has its origin");
    assert_eq!((origin.file, earlier.file), (0, 0));
    assert!(earlier.line < origin.line);
    let receive = |line: usize| serde_json::from_str::<serde_json::Value>(&lines[line - 1]).unwrap()["input"].clone();
    assert_eq!(receive(earlier.line), receive(origin.line));
}

/// A file without its end record makes the merged trace cut short, at
/// that file.
#[test]
fn a_file_cut_short_is_a_cut_merged_trace() {
    let (_, trace) = corpus().into_iter().next().unwrap();
    let mut files = split(&trace);
    let kept: Vec<&str> = files[2].lines().collect();
    let kept = kept[..kept.len() - 1].join("\n") + "\n";
    let lines = kept.lines().count();
    files[2] = kept;
    let merged = validate(&files).unwrap();
    assert_eq!(merged.report.verdict, Verdict::Invalid);
    assert_eq!(merged.report.complete, Completeness::Cut);
    assert_eq!(merged.report.failure.unwrap().check, Check::Completeness);
    assert_eq!(merged.failure, Some(Origin { file: 2, line: lines + 1 }));
}

/// Headers must agree; a file holds one node; a node has one file; each
/// file is numbered on its own; its end record counts its events.
#[test]
fn what_cannot_be_merged_is_named() {
    let (_, trace) = corpus().into_iter().next().unwrap();
    let files = split(&trace);
    let mut other = files.clone();
    other[1] = other[1].replacen("\"cluster_size\":3", "\"cluster_size\":5", 1);
    assert!(matches!(validate(&other), Err(MergeError::HeaderDiffers { file: 1, .. })));

    let mut mixed = files.clone();
    let first_event = files[0].lines().nth(1).unwrap().to_string();
    let moved = first_event.replacen("\"node\":0", "\"node\":2", 1).replacen("\"seq\":1", "\"seq\":2", 1);
    let mut lines: Vec<&str> = mixed[0].lines().collect();
    lines.insert(2, &moved);
    mixed[0] = lines.join("\n") + "\n";
    let error = validate(&mixed).unwrap_err();
    assert!(matches!(error, MergeError::MixedNodes { file: 0, line: 3, node: 0, other: 2 }), "{error}");

    let same = vec![files[0].clone(), files[0].clone()];
    assert!(matches!(validate(&same), Err(MergeError::SameNode { file: 1, line: 2, node: 0, first: 0 })));

    let mut renumbered = files.clone();
    renumbered[1] = renumbered[1].replacen("\"seq\":2,", "\"seq\":3,", 1);
    let merged = validate(&renumbered).unwrap();
    assert_eq!(merged.report.failure.unwrap().check, Check::Sequence);
    assert_eq!(merged.failure, Some(Origin { file: 1, line: 3 }));

    let mut miscounted = files.clone();
    let count = events(&files[0]);
    miscounted[0] = files[0].replacen(&format!("\"events\":{count}}}"), &format!("\"events\":{}}}", count + 1), 1);
    let merged = validate(&miscounted).unwrap();
    assert_eq!(merged.report.failure.unwrap().check, Check::Completeness);
    assert_eq!(merged.failure, Some(Origin { file: 0, line: count as usize + 2 }));
}
