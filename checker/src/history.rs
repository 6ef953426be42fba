//! Histories: operations as closed time intervals, and the pairing of
//! invoke/completion events into operations.
//!
//! An [`Operation`] is what the search works on. A history recorded as a
//! sequence of [`Event`]s (Jepsen style: one invoke, then one completion per
//! operation, per process) becomes operations through [`pair_events`], which
//! rejects malformed sequences instead of guessing.

use crate::fasthash::FastBuild;
use std::collections::HashMap;
use std::fmt;

/// One operation of a history: a closed interval `[call, ret]` in time.
///
/// Invariant (checked by [`pair_events`], assumed by the search):
/// `ret >= call` when `ret` is `Some`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// The client process that ran the operation (used for reports only).
    pub process: u64,
    /// What the client asked for.
    pub input: I,
    /// What the client observed; `None` if the result is unknown (a crashed
    /// or timed-out operation), in which case any result is accepted.
    pub output: Option<O>,
    /// When the operation was invoked. Ties with a `ret` count as overlap:
    /// calls are ordered before returns at equal times.
    pub call: u64,
    /// When it completed; `None` if it never did (crashed, `info`, or no
    /// completion in the history): it may then take effect at any time after
    /// `call`, or never.
    pub ret: Option<u64>,
    /// The 1-based line of the file where the operation was invoked, if it
    /// was read from a file.
    pub line: Option<usize>,
}

/// How an operation ended, as recorded (before any reading of what a
/// failure means).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion<C> {
    /// Completed normally with this result.
    Ok(C),
    /// Completed with a definite failure (Jepsen `:fail`), with its payload.
    Fail(C),
    /// Outcome unknown (Jepsen `:info`): the operation stays open.
    Info(C),
    /// No completion before the end of the history: treated like `Info`.
    Pending,
}

/// What one event of an event history says happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind<I, C> {
    /// A process invoked an operation.
    Invoke(I),
    /// The process's operation in flight completed.
    Complete(Completion<C>),
}

/// One event of a history recorded as events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event<I, C> {
    /// The process the event belongs to; at most one operation per process
    /// is in flight.
    pub process: u64,
    /// Invocation or completion.
    pub kind: EventKind<I, C>,
    /// Timestamp (any monotonic unit). Either every event has one, or none
    /// has, and then the position in the sequence is the time.
    pub time: Option<u64>,
    /// 1-based line in the source file, for error messages and reports.
    pub line: Option<usize>,
}

/// An invocation paired with its completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairedOp<I, C> {
    /// The invoking process.
    pub process: u64,
    /// The invocation's payload.
    pub input: I,
    /// How it ended.
    pub completion: Completion<C>,
    /// Invocation time.
    pub call: u64,
    /// Completion time; `None` for `Info` and `Pending`.
    pub ret: Option<u64>,
    /// Line of the invocation.
    pub line: Option<usize>,
    /// Line of the completion, if any.
    pub completion_line: Option<usize>,
}

/// A malformed history: what is wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryError {
    /// 1-based line (or event position when the events carry no line).
    pub line: usize,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for HistoryError {}

/// Pairs each invocation with the next completion of the same process.
///
/// Guarantees: every returned operation has `ret >= call` when completed;
/// operations are in invocation order. Errors (never a guess): a completion
/// with no invocation in flight on its process, a second invocation while
/// one is in flight (unless the first ended with `Info`, which frees the
/// process), timestamps on some events but not others, or a completion
/// stamped before its invocation.
pub fn pair_events<I, C>(events: Vec<Event<I, C>>) -> Result<Vec<PairedOp<I, C>>, HistoryError> {
    let timed = events.first().is_some_and(|e| e.time.is_some());
    let mut ops: Vec<PairedOp<I, C>> = Vec::new();
    // process -> index in `ops` of its operation in flight
    let mut in_flight: HashMap<u64, usize, FastBuild> = HashMap::default();
    for (position, event) in events.into_iter().enumerate() {
        let line = event.line.unwrap_or(position + 1);
        let err = |message: String| HistoryError { line, message };
        let time = match (timed, event.time) {
            (true, Some(t)) => t,
            (false, None) => position as u64,
            (true, None) => {
                return Err(err(
                    "expected a \"time\" like the first event has (times must be on every event or on none)".into(),
                ))
            }
            (false, Some(_)) => {
                return Err(err(
                    "unexpected \"time\": the first event has none (times must be on every event or on none)".into(),
                ))
            }
        };
        match event.kind {
            EventKind::Invoke(input) => {
                if let Some(&busy) = in_flight.get(&event.process) {
                    let other = ops[busy].line.map_or(String::new(), |l| format!(" (invoked at line {l})"));
                    return Err(err(format!(
                        "process {} invokes an operation while its previous one{other} has not completed; expected a completion first",
                        event.process
                    )));
                }
                in_flight.insert(event.process, ops.len());
                ops.push(PairedOp {
                    process: event.process,
                    input,
                    completion: Completion::Pending,
                    call: time,
                    ret: None,
                    line: event.line,
                    completion_line: None,
                });
            }
            EventKind::Complete(completion) => {
                let Some(index) = in_flight.remove(&event.process) else {
                    return Err(err(format!(
                        "completion for process {} which has no operation in flight; expected an invoke first",
                        event.process
                    )));
                };
                let op = &mut ops[index];
                if time < op.call {
                    return Err(err(format!("completion time {time} is before its invocation's time {}", op.call)));
                }
                op.ret = match completion {
                    Completion::Info(_) | Completion::Pending => None,
                    Completion::Ok(_) | Completion::Fail(_) => Some(time),
                };
                op.completion = completion;
                op.completion_line = event.line;
            }
        }
    }
    Ok(ops)
}

/// Turns an event history into operations with the usual reading: `Ok`
/// gives the result, `Fail` means the operation did not happen (it is
/// left out), `Info` and `Pending` stay open with an unknown result.
pub fn operations_from_events<I, O>(events: Vec<Event<I, O>>) -> Result<Vec<Operation<I, O>>, HistoryError> {
    let paired = pair_events(events)?;
    Ok(paired
        .into_iter()
        .filter_map(|op| {
            let output = match op.completion {
                Completion::Ok(out) => Some(out),
                Completion::Fail(_) => return None,
                Completion::Info(_) | Completion::Pending => None,
            };
            Some(Operation { process: op.process, input: op.input, output, call: op.call, ret: op.ret, line: op.line })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(process: u64, kind: EventKind<&'static str, i32>) -> Event<&'static str, i32> {
        Event { process, kind, time: None, line: None }
    }

    #[test]
    fn pairs_per_process_and_keeps_pending_open() {
        let ops = operations_from_events(vec![
            ev(0, EventKind::Invoke("a")),
            ev(1, EventKind::Invoke("b")),
            ev(0, EventKind::Complete(Completion::Ok(1))),
            ev(2, EventKind::Invoke("c")),
            ev(2, EventKind::Complete(Completion::Fail(0))),
        ])
        .unwrap();
        assert_eq!(ops.len(), 2, "the failed op did not happen");
        assert_eq!((ops[0].call, ops[0].ret, ops[0].output), (0, Some(2), Some(1)));
        assert_eq!((ops[1].input, ops[1].ret, ops[1].output), ("b", None, None));
    }

    #[test]
    fn rejects_unmatched_completion_and_double_invoke() {
        let e = pair_events(vec![ev(0, EventKind::Complete(Completion::Ok(1)))]).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("no operation in flight"), "{e}");
        let e = pair_events(vec![ev(0, EventKind::Invoke("a")), ev(0, EventKind::Invoke("b"))]).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("previous one"), "{e}");
    }

    #[test]
    fn info_frees_the_process_and_times_must_be_consistent() {
        let ops = pair_events(vec![
            ev(0, EventKind::Invoke("a")),
            ev(0, EventKind::Complete(Completion::Info(0))),
            ev(0, EventKind::Invoke("b")),
        ])
        .unwrap();
        assert_eq!(ops.len(), 2);
        let mut late = ev(0, EventKind::Invoke("a"));
        late.time = Some(5);
        let mut early = ev(0, EventKind::Complete(Completion::Ok(1)));
        early.time = Some(4);
        assert!(pair_events(vec![late.clone(), early]).unwrap_err().message.contains("before its invocation"));
        assert!(pair_events(vec![late, ev(0, EventKind::Complete(Completion::Ok(1)))])
            .unwrap_err()
            .message
            .contains("time"));
    }
}
