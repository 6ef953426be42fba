//! From file records to typed operations of a built-in model: pairs
//! invocations with completions, applies the format's reading of failures
//! and crashes, and checks each operation's name and value types.

use super::kv::{KeyId, KvInput, KvModel, KvOutput, KvString};
use super::register::{RegisterInput, RegisterModel, RegisterOutput};
use super::values::ValueTable;
use crate::datum::Datum;
use crate::fasthash::FastBuild;
use crate::formats::{Reading, Record, RecordKind, Records};
use crate::history::{pair_events, Completion, Event, EventKind, HistoryError, Operation, PairedOp};
use crate::model::Model;
use std::borrow::Cow;
use std::collections::HashMap;

/// A decoded history with the model to check it against.
pub struct Decoded<M: Model> {
    /// The model, carrying the names needed to describe values and keys.
    pub model: M,
    /// The operations, in invocation order.
    pub history: Vec<Operation<M::Input, M::Output>>,
    /// Operations left out because they failed (they did not happen).
    pub failed_left_out: usize,
    /// Operations that never completed (crashed, `info`, or unanswered).
    pub open: usize,
}

/// One invocation or completion's payload.
struct Payload {
    f: Cow<'static, str>,
    key: Option<Datum>,
    value: Datum,
    line: usize,
}

type Paired = PairedOp<Payload, Payload>;

fn pair(records: Vec<Record>) -> Result<Vec<Paired>, HistoryError> {
    let events = records
        .into_iter()
        .map(|r| {
            let payload = Payload { f: r.f, key: r.key, value: r.value, line: r.line };
            let kind = match r.kind {
                RecordKind::Invoke => EventKind::Invoke(payload),
                RecordKind::Ok => EventKind::Complete(Completion::Ok(payload)),
                RecordKind::Fail => EventKind::Complete(Completion::Fail(payload)),
                RecordKind::Info => EventKind::Complete(Completion::Info(payload)),
            };
            Event { process: r.process, kind, time: r.time, line: Some(r.line) }
        })
        .collect();
    let paired = pair_events(events)?;
    for op in &paired {
        if let Completion::Ok(done) | Completion::Fail(done) | Completion::Info(done) = &op.completion {
            if done.f != op.input.f {
                return Err(HistoryError {
                    line: done.line,
                    message: format!(
                        "completion of {:?} for process {} whose operation in flight is {:?} (line {})",
                        done.f, op.process, op.input.f, op.input.line
                    ),
                });
            }
        }
    }
    Ok(paired)
}

/// What happened to a paired operation under a reading.
enum Fate<O> {
    /// Left out: it did not happen.
    LeftOut,
    /// Kept, with this output (`None`: unknown) and return time.
    Kept(Option<O>, Option<u64>),
}

/// The operation's value: the invocation's, or the completion's when the
/// invocation has none (Knossos fills reads and crashed writes this way).
fn value_of(op: &Paired) -> &Datum {
    match (&op.input.value, &op.completion) {
        (Datum::Nil, Completion::Ok(d) | Completion::Info(d) | Completion::Fail(d)) => &d.value,
        (v, _) => v,
    }
}

fn bad(line: usize, message: String) -> HistoryError {
    HistoryError { line, message }
}

/// Decodes a register (`cas == false`: read/write) or cas-register
/// history. `initial` is the starting value (default `null`).
pub fn decode_register(
    records: Records,
    cas: bool,
    reading: Reading,
    initial: Option<Datum>,
) -> Result<Decoded<RegisterModel>, HistoryError> {
    let mut values = ValueTable::default();
    let initial = values.intern(initial.unwrap_or(Datum::Nil));
    let mut collected = Collected::new();
    for op in pair(records.records)? {
        let line = op.input.line;
        let input = match op.input.f.as_ref() {
            "read" => RegisterInput::Read,
            "write" => RegisterInput::Write(values.intern_ref(value_of(&op))),
            "cas" if cas => match value_of(&op) {
                Datum::List(pair) if pair.len() == 2 => {
                    RegisterInput::Cas { from: values.intern_ref(&pair[0]), to: values.intern_ref(&pair[1]) }
                }
                other => {
                    return Err(bad(line, format!("expected the cas value to be a pair [from, to], found {other}")))
                }
            },
            f => {
                let expected = if cas { "read, write or cas" } else { "read or write" };
                let model = if cas { "cas-register" } else { "register" };
                return Err(bad(line, format!("unknown operation {f:?} for the {model} model; expected {expected}")));
            }
        };
        let fate = match (&op.completion, input) {
            (Completion::Info(_) | Completion::Pending, _) => Fate::Kept(None, None),
            (Completion::Ok(done), RegisterInput::Read) => match (&done.value, reading) {
                (Datum::Nil, Reading::Knossos) => Fate::Kept(None, op.ret),
                (v, _) => Fate::Kept(Some(RegisterOutput::Read(values.intern_ref(v))), op.ret),
            },
            (Completion::Ok(_), RegisterInput::Write(_)) => Fate::Kept(Some(RegisterOutput::Written), op.ret),
            (Completion::Ok(_), RegisterInput::Cas { .. }) => {
                Fate::Kept(Some(RegisterOutput::Cas { succeeded: true }), op.ret)
            }
            (Completion::Fail(_), RegisterInput::Read) if reading == Reading::Porcupine => Fate::Kept(None, op.ret),
            (Completion::Fail(_), RegisterInput::Cas { .. }) if reading == Reading::Porcupine => {
                Fate::Kept(Some(RegisterOutput::Cas { succeeded: false }), op.ret)
            }
            (Completion::Fail(_), _) => Fate::LeftOut,
        };
        collected.add(&op, input, fate);
    }
    let mut model = RegisterModel::new(values, initial);
    model.merge_unobserved(&collected.history);
    Ok(collected.finish(model))
}

/// The operations kept so far and the counts reported with them.
struct Collected<I, O> {
    history: Vec<Operation<I, O>>,
    failed_left_out: usize,
    open: usize,
}

impl<I, O> Collected<I, O> {
    fn new() -> Self {
        Collected { history: Vec::new(), failed_left_out: 0, open: 0 }
    }

    /// Records what became of `op` under the reading.
    fn add(&mut self, op: &Paired, input: I, fate: Fate<O>) {
        match fate {
            Fate::LeftOut => self.failed_left_out += 1,
            Fate::Kept(output, ret) => {
                if ret.is_none() {
                    self.open += 1;
                }
                self.history.push(Operation {
                    process: op.process,
                    input,
                    output,
                    call: op.call,
                    ret,
                    line: Some(op.input.line),
                });
            }
        }
    }

    fn finish<M: Model<Input = I, Output = O>>(self, model: M) -> Decoded<M> {
        Decoded { model, history: self.history, failed_left_out: self.failed_left_out, open: self.open }
    }
}

/// The name of a key: a string key is its text, any other key its
/// written form (so `"1"` and `1` name the same key).
fn key_name(key: &Datum) -> std::borrow::Cow<'_, str> {
    match key {
        Datum::Str(s) => s.into(),
        other => other.to_string().into(),
    }
}

fn string_value(d: &Datum, line: usize, what: &str) -> Result<KvString, HistoryError> {
    match d {
        Datum::Str(s) => Ok(KvString::new(s)),
        other => Err(bad(line, format!("expected {what} to be a string, found {other}"))),
    }
}

/// Decodes a key/value history (get / put / append, string values).
pub fn decode_kv(records: Records, reading: Reading) -> Result<Decoded<KvModel>, HistoryError> {
    let mut keys: Vec<String> = Vec::new();
    let mut key_ids: HashMap<String, KeyId, FastBuild> = HashMap::default();
    let mut collected = Collected::new();
    for op in pair(records.records)? {
        let line = op.input.line;
        let Some(key) = op.input.key.as_ref() else {
            return Err(bad(line, "expected a key (the kv model's operations name a key)".into()));
        };
        let name = key_name(key);
        let key = match key_ids.get(name.as_ref()) {
            Some(&id) => id,
            None => {
                let id = keys.len() as KeyId;
                keys.push(name.to_string());
                key_ids.insert(name.into_owned(), id);
                id
            }
        };
        let input = match op.input.f.as_ref() {
            "get" => KvInput::Get(key),
            "put" => KvInput::Put(key, string_value(value_of(&op), line, "the put's value")?),
            "append" => KvInput::Append(key, string_value(value_of(&op), line, "the append's value")?),
            f => {
                return Err(bad(line, format!("unknown operation {f:?} for the kv model; expected get, put or append")))
            }
        };
        let fate = match (&op.completion, &input) {
            (Completion::Info(_) | Completion::Pending, _) => Fate::Kept(None, None),
            (Completion::Ok(done), KvInput::Get(_)) => match (&done.value, reading) {
                (Datum::Nil, Reading::Knossos) => Fate::Kept(None, op.ret),
                (v, _) => Fate::Kept(Some(KvOutput::Got(string_value(v, done.line, "the get's result")?)), op.ret),
            },
            (Completion::Ok(_), _) => Fate::Kept(Some(KvOutput::Done), op.ret),
            (Completion::Fail(_), KvInput::Get(_)) if reading == Reading::Porcupine => Fate::Kept(None, op.ret),
            (Completion::Fail(_), _) => Fate::LeftOut,
        };
        collected.add(&op, input, fate);
    }
    Ok(collected.finish(KvModel::new(keys)))
}
