//! Explanations: what the search found, in terms of the history's
//! operations and the model's state descriptions.

use crate::history::Operation;
use crate::model::Model;
use crate::search::{DeadEnd, PartitionSearch};
use std::fmt::Write as _;

/// A sequence of operations that is a valid linearization (of a whole
/// partition, or of a prefix of one), with the model state after each step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linearization {
    /// Indices into the checked history, in linearization order.
    pub order: Vec<usize>,
    /// The model state before the first operation.
    pub initial_state: String,
    /// `states[k]` is the model state after `order[k]`.
    pub states: Vec<String>,
}

/// An operation that could have been linearized next at a dead end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Index into the checked history.
    pub op: usize,
    /// True if the model accepts it in the dead end's state (it then led
    /// only to further dead ends); false if the model rejects it there.
    pub accepted_by_model: bool,
}

impl Candidate {
    /// Why the candidate did not work, in words.
    pub fn reason(&self) -> &'static str {
        if self.accepted_by_model {
            "accepted here, but every continuation fails"
        } else {
            "rejected by the model in this state"
        }
    }
}

/// Why a partition is not linearizable: the longest linearizable prefix
/// the search found and what blocked it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The longest prefix that could be linearized.
    pub prefix: Linearization,
    /// The operations that could have come next; none worked.
    pub candidates: Vec<Candidate>,
    /// The operation that had to be linearized before anything invoked
    /// after it returned, and could not be.
    pub stuck: usize,
}

impl Explanation {
    /// The model state at the dead end (after the prefix).
    pub fn state(&self) -> &str {
        self.prefix.states.last().unwrap_or(&self.prefix.initial_state)
    }
}

/// Maps a search path to history indices and state descriptions.
pub(crate) fn linearization<M: Model>(
    search: &PartitionSearch<'_, M>,
    model: &M,
    history_index: &[usize],
    order: &[u32],
    initial: u32,
    states: &[u32],
) -> Linearization {
    Linearization {
        order: order.iter().map(|&op| history_index[op as usize]).collect(),
        initial_state: model.describe_state(search.state(initial)),
        states: states.iter().map(|&s| model.describe_state(search.state(s))).collect(),
    }
}

/// Builds the explanation of a dead end.
pub(crate) fn explain_dead_end<M: Model>(
    search: &PartitionSearch<'_, M>,
    model: &M,
    history_index: &[usize],
    dead_end: &DeadEnd,
) -> Explanation {
    let prefix = linearization(search, model, history_index, &dead_end.order, dead_end.initial, &dead_end.states);
    let state = search.state(dead_end.states.last().copied().unwrap_or(dead_end.initial));
    let mut next = Vec::new();
    let candidates = dead_end
        .candidates
        .iter()
        .map(|&op| {
            let o = search.ops()[op as usize];
            next.clear();
            model.step(state, &o.input, o.output.as_ref(), &mut next);
            Candidate { op: history_index[op as usize], accepted_by_model: !next.is_empty() }
        })
        .collect();
    Explanation { prefix, candidates, stuck: history_index[dead_end.stuck as usize] }
}

/// Describes one operation for a report: `p3 write(4) [line 12]`.
pub fn describe_op<M: Model>(model: &M, op: &Operation<M::Input, M::Output>) -> String {
    let mut text = format!("p{} {}", op.process, model.describe_operation(&op.input, op.output.as_ref()));
    if op.ret.is_none() {
        text.push_str(" (never returned)");
    }
    if let Some(line) = op.line {
        let _ = write!(text, " [line {line}]");
    }
    text
}

/// Writes an explanation as indented text lines; at most `max_prefix` of
/// the prefix's last operations are listed.
pub fn render_text<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    e: &Explanation,
    max_prefix: usize,
) -> String {
    let mut out = String::new();
    let n = e.prefix.order.len();
    let _ = writeln!(out, "  longest linearizable prefix: {n} operation(s), from state {}", e.prefix.initial_state);
    if n > max_prefix {
        let _ = writeln!(out, "    ... {} earlier operation(s) ...", n - max_prefix);
    }
    for k in n.saturating_sub(max_prefix)..n {
        let _ = writeln!(
            out,
            "    {:>4}. {}  -> {}",
            k + 1,
            describe_op(model, &history[e.prefix.order[k]]),
            e.prefix.states[k]
        );
    }
    let _ = writeln!(out, "  state after the prefix: {}", e.state());
    let _ = writeln!(out, "  must come next, but cannot: {}", describe_op(model, &history[e.stuck]));
    for c in &e.candidates {
        let why = c.reason();
        let _ = writeln!(out, "    candidate {}: {why}", describe_op(model, &history[c.op]));
    }
    out
}
