//! The three checks of a run, each on what the run left in its folder:
//! the client history (linearizable?), the nodes' trace files (merged by
//! causality and validated), and the acknowledged writes (all in the final
//! values?).

use raftcheck_checker::models::kv_recorder::{KvCall, KvRecorder, RecordedOp};
use raftcheck_checker::{check, html, CheckOptions, Verdict};
use raftcheck_traces::merge::{validate_merged_files, MergeError, MergedReport};
use raftcheck_traces::validate::Options;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the linearizability check found.
#[derive(Debug, Serialize)]
pub struct HistoryCheck {
    /// `linearizable`, `not-linearizable` or `unknown`.
    pub verdict: &'static str,
    /// Operations in the history.
    pub operations: usize,
    /// Operations whose outcome the client never learned.
    pub open: usize,
    /// How long the check took, in milliseconds.
    pub check_ms: f64,
    /// The history file.
    pub file: PathBuf,
    /// The HTML report, written when the history is not linearizable or
    /// the check could not decide.
    pub report: Option<PathBuf>,
}

/// Checks `history`, writes it to `out/history.jsonl` and, unless it is
/// linearizable, its report to `out/history.html`.
pub fn check_history(history: &KvRecorder, out: &Path, timeout: Duration) -> Result<HistoryCheck, String> {
    let file = out.join("history.jsonl");
    std::fs::write(&file, history.to_jsonl()).map_err(|e| format!("{}: {e}", file.display()))?;
    let (model, operations) = history.operations();
    let started = Instant::now();
    let options = CheckOptions { timeout: Some(timeout), ..CheckOptions::default() };
    let report = check(&model, &operations, &options, None);
    let check_ms = crate::output::ms(started.elapsed());
    let verdict = report.verdict;
    let page = (verdict != Verdict::Linearizable).then(|| out.join("history.html"));
    if let Some(page) = &page {
        let section = html::render(&model, &operations, &report, "raftcheck run");
        std::fs::write(page, html::document(&[section])).map_err(|e| format!("{}: {e}", page.display()))?;
    }
    Ok(HistoryCheck {
        verdict: verdict.name(),
        operations: operations.len(),
        open: operations.iter().filter(|op| op.output.is_none()).count(),
        check_ms,
        file,
        report: page,
    })
}

/// What the trace check found.
pub struct TraceCheck {
    /// The files merged.
    pub files: Vec<PathBuf>,
    /// The verdict, or why the files could not be merged.
    pub outcome: Result<MergedReport, MergeError>,
}

/// Merges and validates the nodes' trace files.
pub fn check_traces(files: Vec<PathBuf>) -> TraceCheck {
    let outcome = validate_merged_files(&files, Options::default());
    TraceCheck { files, outcome }
}

/// An acknowledged write the final value does not hold.
#[derive(Debug, Serialize)]
pub struct LostWrite {
    /// The key.
    pub key: String,
    /// `put` or `append`.
    pub op: &'static str,
    /// The value written.
    pub value: String,
    /// The client process.
    pub process: u64,
    /// The final value of the key.
    pub final_value: String,
}

/// What the lost-writes check found.
#[derive(Debug, Serialize)]
pub struct WritesCheck {
    /// Acknowledged writes that the final values must show.
    pub checked: usize,
    /// Those they do not.
    pub lost: Vec<LostWrite>,
}

/// Checks that the final values hold every acknowledged write that must
/// show in them. Every value written is unique, so the final value of a key
/// tells which put took effect last: the one whose value begins it (`P*`;
/// none if no put took effect). Then:
///
/// * with no `P*`, every acknowledged put is lost (the last one to take
///   effect would begin the value), and every acknowledged append must be
///   in the value;
/// * with an acknowledged `P*`, every acknowledged put called after `P*`
///   returned is lost (it would come after `P*`), and every acknowledged
///   append called after `P*` returned must be in the value.
///
/// Writes that may be ordered before `P*` (or around a `P*` whose client
/// never learned the outcome) are left to the linearizability check.
pub fn check_writes(ops: &[RecordedOp], keys: &[String], finals: &[String]) -> WritesCheck {
    let mut checked = 0;
    let mut lost = Vec::new();
    for (key, final_value) in keys.iter().zip(finals) {
        let on_key: Vec<&RecordedOp> = ops
            .iter()
            .filter(|op| match &op.call {
                KvCall::Get(k) | KvCall::Put(k, _) | KvCall::Append(k, _) => k == key,
            })
            .collect();
        let last_put = on_key
            .iter()
            .find(|op| matches!(&op.call, KvCall::Put(_, value) if final_value.starts_with(value.as_str())));
        // When writes called after this time must show: never, if the last
        // put's outcome is unknown.
        let after = match last_put {
            None => Some(0),
            Some(put) => put.outcome.as_ref().map(|(ret, _)| *ret),
        };
        let Some(after) = after else { continue };
        for op in &on_key {
            let acknowledged = op.outcome.is_some();
            let is_last = last_put.is_some_and(|p| std::ptr::eq(*p, *op));
            if !acknowledged || is_last || op.call_time < after {
                continue;
            }
            let missing = match &op.call {
                KvCall::Put(_, value) => Some(("put", value)),
                KvCall::Append(_, value) => (!final_value.contains(value.as_str())).then_some(("append", value)),
                KvCall::Get(_) => continue,
            };
            checked += 1;
            if let Some((kind, value)) = missing {
                lost.push(LostWrite {
                    key: key.clone(),
                    op: kind,
                    value: value.clone(),
                    process: op.process,
                    final_value: final_value.clone(),
                });
            }
        }
    }
    WritesCheck { checked, lost }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(process: u64, call: KvCall, call_time: u64, ret: Option<u64>) -> RecordedOp {
        RecordedOp { process, call, call_time, outcome: ret.map(|t| (t, None)) }
    }

    #[test]
    fn acknowledged_writes_after_the_last_put_must_be_in_the_final_value() {
        let put = |p, v: &str, c, r| op(p, KvCall::Put("k".into(), v.into()), c, r);
        let append = |p, v: &str, c, r| op(p, KvCall::Append("k".into(), v.into()), c, r);
        let keys = ["k".to_string()];
        let finals = |v: &str| vec![v.to_string()];
        let ops = vec![
            append(3, "[3.1]", 0, Some(5)),
            put(0, "[0.1]", 1, Some(10)),
            append(1, "[1.1]", 20, Some(30)),
            append(2, "[2.1]", 25, None),
        ];
        // [3.1] may come before the put: not checked; [1.1] must show.
        let found = check_writes(&ops, &keys, &finals("[0.1][1.1]"));
        assert_eq!((found.checked, found.lost.len()), (1, 0), "{found:?}");
        let found = check_writes(&ops, &keys, &finals("[0.1]"));
        assert_eq!((found.lost.len(), found.lost[0].op, found.lost[0].value.as_str()), (1, "append", "[1.1]"));
        // No put begins the value: the acknowledged put is lost, and every
        // acknowledged append must show.
        let found = check_writes(&ops, &keys, &finals("[1.1][3.1]"));
        assert_eq!(found.checked, 3, "{found:?}");
        assert_eq!(found.lost.iter().map(|l| l.value.as_str()).collect::<Vec<_>>(), ["[0.1]"]);
        // A put called after the last put returned is lost.
        let ops = vec![put(0, "[0.1]", 0, Some(10)), put(1, "[1.1]", 20, Some(30))];
        let found = check_writes(&ops, &keys, &finals("[0.1]"));
        assert_eq!(found.lost.iter().map(|l| l.value.as_str()).collect::<Vec<_>>(), ["[1.1]"]);
        assert!(check_writes(&ops, &keys, &finals("[1.1]")).lost.is_empty());
        // The last put's outcome unknown: nothing can be said.
        let ops = vec![put(0, "[0.1]", 0, None), append(1, "[1.1]", 20, Some(30))];
        assert_eq!(check_writes(&ops, &keys, &finals("[0.1]")).checked, 0);
        // Overlapping puts: the one that is not last is not checked.
        let ops = vec![put(0, "[0.1]", 0, Some(10)), put(1, "[1.1]", 5, Some(15))];
        assert!(check_writes(&ops, &keys, &finals("[0.1]")).lost.is_empty());
    }
}
