//! Recording the key/value tests' client histories as our checker's own
//! history type, checking them, and writing them in the native JSON Lines
//! format (`shared/design.md`).
//!
//! Each operation's interval really contains it: the call time is read
//! before the clerk sends anything, the return time after it has its
//! answer. An operation still open when the history is checked (its clerk
//! never learned the outcome) is recorded as `info`: it may have taken
//! effect at any time after its call, or never.

use raftcheck_checker::models::kv::{KeyId, KvInput, KvModel, KvOutput, KvString};
use raftcheck_checker::{check, html, CheckOptions, CheckReport, Operation, Verdict};
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An operation as a clerk issues it.
#[derive(Clone, Debug)]
pub enum KvCall {
    Get(String),
    Put(String, String),
    Append(String, String),
}

struct Recorded {
    process: u64,
    call: KvCall,
    call_time: u64,
    /// `None` while the outcome is unknown.
    outcome: Option<(u64, Option<String>)>,
}

/// A history being recorded by any number of clerks.
pub struct History {
    epoch: Instant,
    ops: Mutex<Vec<Recorded>>,
}

/// What checking a history found.
pub struct Checked {
    pub verdict: Verdict,
    /// How long the first check (with the lab's budget) took.
    pub elapsed: Duration,
    /// Whether that check ran out of its budget (and a longer one decided).
    pub unknown_at_first: bool,
    pub operations: usize,
    /// Where the history and its report were written, if it was kept.
    pub files: Option<(PathBuf, PathBuf)>,
}

impl Default for History {
    fn default() -> Self {
        History { epoch: Instant::now(), ops: Mutex::new(Vec::new()) }
    }
}

impl History {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Records the call of `call` by `process`, now; returns its slot.
    pub fn invoke(&self, process: u64, call: KvCall) -> usize {
        let call_time = self.now();
        let mut ops = self.ops.lock().unwrap();
        ops.push(Recorded { process, call, call_time, outcome: None });
        ops.len() - 1
    }

    /// Records that the operation in `slot` returned now (with a get's
    /// value).
    pub fn complete(&self, slot: usize, value: Option<String>) {
        let time = self.now();
        self.ops.lock().unwrap()[slot].outcome = Some((time, value));
    }

    /// The number of operations recorded so far.
    pub fn len(&self) -> usize {
        self.ops.lock().unwrap().len()
    }

    /// The history as the checker's operations, with the key names.
    pub fn operations(&self) -> (KvModel, Vec<Operation<KvInput, KvOutput>>) {
        let ops = self.ops.lock().unwrap();
        let mut keys: Vec<String> = Vec::new();
        let mut ids: HashMap<String, KeyId> = HashMap::new();
        let mut key_id = |key: &str| {
            *ids.entry(key.to_string()).or_insert_with(|| {
                keys.push(key.to_string());
                (keys.len() - 1) as KeyId
            })
        };
        let operations = ops
            .iter()
            .map(|r| {
                let input = match &r.call {
                    KvCall::Get(k) => KvInput::Get(key_id(k)),
                    KvCall::Put(k, v) => KvInput::Put(key_id(k), KvString::new(v)),
                    KvCall::Append(k, v) => KvInput::Append(key_id(k), KvString::new(v)),
                };
                let output = r.outcome.as_ref().map(|(_, value)| match value {
                    Some(v) => KvOutput::Got(KvString::new(v)),
                    None => KvOutput::Done,
                });
                Operation {
                    process: r.process,
                    input,
                    output,
                    call: r.call_time,
                    ret: r.outcome.as_ref().map(|(t, _)| *t),
                    line: None,
                }
            })
            .collect();
        (KvModel::new(keys), operations)
    }

    /// The history in the native JSON Lines format: events in time order
    /// (calls before returns at equal times); operations never completed
    /// end with an `info` event at the end of the history.
    pub fn to_jsonl(&self) -> String {
        let ops = self.ops.lock().unwrap();
        let end = ops.iter().filter_map(|r| r.outcome.as_ref().map(|(t, _)| *t)).chain(ops.iter().map(|r| r.call_time));
        let end = end.max().unwrap_or(0);
        let mut events: Vec<(u64, u8, serde_json::Value)> = Vec::new();
        for r in ops.iter() {
            let (f, key, value) = match &r.call {
                KvCall::Get(k) => ("get", k, serde_json::Value::Null),
                KvCall::Put(k, v) => ("put", k, json!(v)),
                KvCall::Append(k, v) => ("append", k, json!(v)),
            };
            let line = |kind: &str, value: &serde_json::Value, time: u64| json!({"process": r.process, "type": kind, "f": f, "key": key, "value": value, "time": time});
            events.push((r.call_time, 0, line("invoke", &value, r.call_time)));
            match &r.outcome {
                Some((t, got)) => {
                    let value = got.as_ref().map_or(value.clone(), |g| json!(g));
                    events.push((*t, 1, line("ok", &value, *t)));
                }
                None => events.push((end, 2, line("info", &value, end))),
            }
        }
        events.sort_by_key(|(time, kind, _)| (*time, *kind));
        events.into_iter().map(|(_, _, e)| e.to_string() + "\n").collect()
    }

    /// Checks the history with the lab's budget (`budget`); an `unknown`
    /// is settled by a second check with a generous budget, so that a
    /// non-linearizable history never passes as unknown. A history that is
    /// not linearizable, or that `keep_all` asks for, is written with its
    /// HTML report under the target directory as `<name>.jsonl` / `.html`.
    pub fn check(&self, name: &str, budget: Duration, keep_all: bool) -> Checked {
        let (model, operations) = self.operations();
        let started = Instant::now();
        let first =
            check(&model, &operations, &CheckOptions { timeout: Some(budget), ..CheckOptions::default() }, None);
        let elapsed = started.elapsed();
        let unknown_at_first = first.verdict == Verdict::Unknown;
        let report: CheckReport = if unknown_at_first {
            let options = CheckOptions { timeout: Some(Duration::from_secs(60)), ..CheckOptions::default() };
            check(&model, &operations, &options, None)
        } else {
            first
        };
        let keep = keep_all || report.verdict != Verdict::Linearizable;
        let files = keep.then(|| {
            let dir = history_dir();
            std::fs::create_dir_all(&dir).expect("the history directory can be made");
            let jsonl = dir.join(format!("{name}.kv.jsonl"));
            let page = dir.join(format!("{name}.html"));
            std::fs::write(&jsonl, self.to_jsonl()).expect("the history can be written");
            let section = html::render(&model, &operations, &report, name);
            std::fs::write(&page, html::document(&[section])).expect("the report can be written");
            (jsonl, page)
        });
        Checked { verdict: report.verdict, elapsed, unknown_at_first, operations: operations.len(), files }
    }
}

/// Where kept histories go: `RAFTCHECK_HISTORY_DIR`, or `kv-histories`
/// under the target directory.
pub fn history_dir() -> PathBuf {
    match std::env::var_os("RAFTCHECK_HISTORY_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kv-histories"),
    }
}
