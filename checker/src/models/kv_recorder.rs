//! Recording a key/value client history as it happens, for the checker:
//! clients on any threads call [`KvRecorder::invoke`] before they send an
//! operation and [`KvRecorder::complete`] once they have its answer, so
//! that each operation's interval really contains it. An operation never
//! completed (its client never learned the outcome) is `info`: it may have
//! taken effect at any time after its call, or never.

use crate::history::Operation;
use crate::models::kv::{KeyId, KvInput, KvModel, KvOutput, KvString};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// An operation as a clerk issues it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvCall {
    /// Read a key.
    Get(String),
    /// Set a key to a value.
    Put(String, String),
    /// Append a value to a key's value.
    Append(String, String),
}

/// One recorded operation. Times are nanoseconds since the recorder was
/// made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedOp {
    /// The client's process number.
    pub process: u64,
    /// What it asked.
    pub call: KvCall,
    /// When it asked.
    pub call_time: u64,
    /// When it learned the outcome, with a get's value; `None` while the
    /// outcome is unknown.
    pub outcome: Option<(u64, Option<String>)>,
}

/// A key/value history being recorded by any number of clients, from
/// any number of threads.
pub struct KvRecorder {
    epoch: Instant,
    ops: Mutex<Vec<RecordedOp>>,
}

impl Default for KvRecorder {
    fn default() -> Self {
        KvRecorder { epoch: Instant::now(), ops: Mutex::new(Vec::new()) }
    }
}

impl KvRecorder {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Records the call of `call` by `process`, now; returns its slot.
    pub fn invoke(&self, process: u64, call: KvCall) -> usize {
        let call_time = self.now();
        let mut ops = self.ops.lock().unwrap_or_else(|e| e.into_inner());
        ops.push(RecordedOp { process, call, call_time, outcome: None });
        ops.len() - 1
    }

    /// Records that the operation in `slot` returned now (with a get's
    /// value).
    pub fn complete(&self, slot: usize, value: Option<String>) {
        let time = self.now();
        self.ops.lock().unwrap_or_else(|e| e.into_inner())[slot].outcome = Some((time, value));
    }

    /// Every operation recorded so far, in the order of their calls.
    pub fn recorded(&self) -> Vec<RecordedOp> {
        self.ops.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The number of operations recorded so far.
    pub fn len(&self) -> usize {
        self.ops.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The history as the checker's operations, with the key names.
    pub fn operations(&self) -> (KvModel, Vec<Operation<KvInput, KvOutput>>) {
        let ops = self.ops.lock().unwrap_or_else(|e| e.into_inner());
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
        let ops = self.ops.lock().unwrap_or_else(|e| e.into_inner());
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
}
