//! The checking driver: splits a history into partitions, searches them
//! in parallel on the current rayon pool in fair time slices, and turns the
//! results into a report. The first refuted partition cancels the rest.

use crate::explain::{explain_dead_end, linearization, Explanation, Linearization};
use crate::history::Operation;
use crate::limits::{SharedLimits, UnknownReason};
use crate::model::Model;
use crate::search::{PartitionSearch, SearchEnd};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How to check a history.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// Split the history with the model's `partition` (P-compositionality).
    /// When false, the history is searched as one.
    pub no_partition: bool,
    /// Wall-clock limit for the whole check; past it the verdict is
    /// `Unknown`.
    pub timeout: Option<Duration>,
    /// An instant past which the verdict is `Unknown`, for a caller whose
    /// time limit started before the check (for example when reading the
    /// file). The earlier of this and `timeout` applies.
    pub deadline: Option<Instant>,
    /// Limit on the bytes held by the search caches; past it the verdict
    /// is `Unknown`.
    pub memory_budget: Option<usize>,
    /// Describe a witness linearization for linearizable partitions (costs
    /// one state description per operation).
    pub witness: bool,
}

/// The answer for a history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some order of the operations, consistent with real time, is legal
    /// for the model.
    Linearizable,
    /// No such order exists.
    NotLinearizable,
    /// The search was stopped by a limit before it could tell.
    Unknown,
}

impl Verdict {
    /// The contract's name for the verdict.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable => "not-linearizable",
            Verdict::Unknown => "unknown",
        }
    }
}

/// What the search found for one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionOutcome {
    /// Linearizable; a witness if [`CheckOptions::witness`] was set.
    Linearizable(Option<Linearization>),
    /// Not linearizable, with the deepest dead end.
    NotLinearizable(Explanation),
    /// Stopped by a limit; the deepest dead end so far, if any.
    Unknown(Option<Explanation>),
    /// Not finished because another partition was refuted first.
    Cancelled,
}

impl PartitionOutcome {
    /// A short name: `linearizable`, `not-linearizable`, `unknown`,
    /// `cancelled`.
    pub fn name(&self) -> &'static str {
        match self {
            PartitionOutcome::Linearizable(_) => "linearizable",
            PartitionOutcome::NotLinearizable(_) => "not-linearizable",
            PartitionOutcome::Unknown(_) => "unknown",
            PartitionOutcome::Cancelled => "cancelled",
        }
    }
}

/// One partition of the history and its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionReport {
    /// The partition's key (`None` when the history is checked whole).
    pub key: Option<String>,
    /// Indices into the history of the partition's operations.
    pub ops: Vec<usize>,
    /// What the search found.
    pub outcome: PartitionOutcome,
    /// Configurations the search entered.
    pub configurations: usize,
    /// Search steps taken (entries examined).
    pub steps: u64,
}

/// The result of checking one history.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// The overall verdict: not linearizable if any partition is, else
    /// unknown if any partition is, else linearizable.
    pub verdict: Verdict,
    /// Which limit stopped the search, when the verdict is `Unknown`.
    pub unknown_reason: Option<UnknownReason>,
    /// Per partition, in order of first appearance in the history.
    pub partitions: Vec<PartitionReport>,
}

impl CheckReport {
    /// The first refuted partition, if any.
    pub fn refuted(&self) -> Option<(&PartitionReport, &Explanation)> {
        self.partitions.iter().find_map(|p| match &p.outcome {
            PartitionOutcome::NotLinearizable(e) => Some((p, e)),
            _ => None,
        })
    }
}

/// Counters a caller can read while a check runs (for progress output).
#[derive(Debug, Default)]
pub struct Progress {
    /// Partitions in the history.
    pub partitions: AtomicUsize,
    /// Partitions finished.
    pub partitions_done: AtomicUsize,
    /// Search steps taken.
    pub steps: AtomicU64,
    /// Bytes held by search caches.
    pub memory_bytes: AtomicUsize,
}

/// Splits the history into partitions: groups of operation indices with
/// the same key, in order of first appearance. Returns one group with key
/// `None` if partitioning is off or some operation has no key. Within a
/// group, completed operations come first by call time, then pending ones
/// (the order in which the search numbers them).
pub fn partition<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    no_partition: bool,
) -> Vec<(Option<String>, Vec<usize>)> {
    let mut groups: Vec<(Option<String>, Vec<usize>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, op) in history.iter().enumerate() {
        let key = if no_partition { None } else { model.partition(&op.input) };
        let Some(key) = key else {
            groups = vec![(None, (0..history.len()).collect())];
            break;
        };
        let g = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((Some(key), Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }
    if groups.is_empty() {
        groups.push((None, Vec::new()));
    }
    for (_, ids) in &mut groups {
        ids.sort_by_key(|&i| (history[i].ret.is_none(), history[i].call, i));
    }
    groups
}

/// Search steps of a partition's first time slice; slices double up to
/// `MAX_SLICE` so that long searches pay little for interleaving.
const FIRST_SLICE: u64 = 1 << 13;
const MAX_SLICE: u64 = 1 << 20;

/// Checks `history` against `model`.
///
/// Guarantees: the verdict is `NotLinearizable` only if some partition was
/// fully refuted, `Linearizable` only if every partition has a witness;
/// the run ends by the timeout (checked inside the search loop) and keeps
/// the caches under the memory budget (checked every few thousand steps),
/// answering `Unknown` when either is hit.
pub fn check<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    options: &CheckOptions,
    progress: Option<&Progress>,
) -> CheckReport {
    let deadline = match (options.timeout.map(|t| Instant::now() + t), options.deadline) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let limits = SharedLimits::new(deadline, options.memory_budget);
    limits.check_deadline();
    let groups = partition(model, history, options.no_partition);
    if let Some(p) = progress {
        p.partitions.store(groups.len(), Ordering::Relaxed);
    }
    let mut outcomes: Vec<Option<(PartitionOutcome, usize, u64)>> = vec![None; groups.len()];
    // The model's own decision, where it has one (`Model::decide`): the
    // search then only looks for an explanation or a witness.
    let mut decisions: Vec<Option<Result<(), usize>>> = Vec::with_capacity(groups.len());
    let mut active: Vec<(usize, PartitionSearch<'_, M>)> = Vec::with_capacity(groups.len());
    for (g, (_, ids)) in groups.iter().enumerate() {
        let ops: Vec<&Operation<M::Input, M::Output>> = ids.iter().map(|&i| &history[i]).collect();
        let decision = model.decide(&ops);
        decisions.push(decision);
        if decision == Some(Ok(())) && !options.witness {
            outcomes[g] = Some((PartitionOutcome::Linearizable(None), 0, 0));
            if let Some(p) = progress {
                p.partitions_done.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        active.push((g, PartitionSearch::new(model, ops)));
    }
    let mut slice = FIRST_SLICE;
    while !active.is_empty() {
        let finished: Vec<Option<(PartitionOutcome, usize, u64)>> = active
            .par_iter_mut()
            .map(|(g, search)| {
                let before = search.steps;
                let end = search.run(slice, &limits);
                if let Some(p) = progress {
                    p.steps.fetch_add(search.steps - before, Ordering::Relaxed);
                    p.memory_bytes.store(limits.memory_used(), Ordering::Relaxed);
                }
                let decision = decisions[*g];
                let end = match end {
                    Some(end) => end,
                    // A verdict known from the model needs only a bounded
                    // search: for a refutation, its deepest dead end so far
                    // explains it; a witness is given if found in time.
                    None if decision.is_some() && search.steps >= EXPLANATION_STEPS => SearchEnd::Stopped,
                    None => return None,
                };
                let ids = &groups[*g].1;
                let outcome = match (end, decision) {
                    (SearchEnd::Stopped, Some(Ok(()))) => PartitionOutcome::Linearizable(None),
                    (SearchEnd::Stopped, Some(Err(blamed))) => PartitionOutcome::NotLinearizable(
                        search
                            .longest_dead_end()
                            .map(|d| explain_dead_end(search, model, ids, d))
                            .unwrap_or_else(|| no_dead_end_yet(model, ids[blamed])),
                    ),
                    (end, _) => outcome_of(model, search, ids, end, &limits, options.witness),
                };
                if matches!(outcome, PartitionOutcome::NotLinearizable(_)) {
                    limits.cancel();
                }
                search.release(&limits);
                if let Some(p) = progress {
                    p.partitions_done.fetch_add(1, Ordering::Relaxed);
                }
                Some((outcome, search.configurations(), search.steps))
            })
            .collect();
        let mut still_active = Vec::with_capacity(active.len());
        for ((g, search), done) in active.into_iter().zip(finished) {
            match done {
                Some(result) => outcomes[g] = Some(result),
                None => still_active.push((g, search)),
            }
        }
        active = still_active;
        slice = (slice * 2).min(MAX_SLICE);
    }
    let partitions: Vec<PartitionReport> = groups
        .into_iter()
        .zip(outcomes)
        .map(|((key, ops), outcome)| {
            let (outcome, configurations, steps) = outcome.expect("every partition finishes");
            PartitionReport { key, ops, outcome, configurations, steps }
        })
        .collect();
    let refuted = partitions.iter().any(|p| matches!(p.outcome, PartitionOutcome::NotLinearizable(_)));
    let unknown =
        partitions.iter().any(|p| matches!(p.outcome, PartitionOutcome::Unknown(_) | PartitionOutcome::Cancelled));
    let verdict = if refuted {
        Verdict::NotLinearizable
    } else if unknown {
        Verdict::Unknown
    } else {
        Verdict::Linearizable
    };
    let unknown_reason = if verdict == Verdict::Unknown { limits.reason() } else { None };
    CheckReport { verdict, unknown_reason, partitions }
}

fn outcome_of<M: Model>(
    model: &M,
    search: &PartitionSearch<'_, M>,
    ids: &[usize],
    end: SearchEnd,
    limits: &SharedLimits,
    witness: bool,
) -> PartitionOutcome {
    let longest = || search.longest_dead_end().map(|d| explain_dead_end(search, model, ids, d));
    match end {
        SearchEnd::Linearizable { order, initial, states } => {
            PartitionOutcome::Linearizable(witness.then(|| linearization(search, model, ids, &order, initial, &states)))
        }
        SearchEnd::Refuted => PartitionOutcome::NotLinearizable(longest().unwrap_or_else(|| no_initial_state(ids))),
        SearchEnd::Stopped if limits.reason().is_some() => PartitionOutcome::Unknown(longest()),
        SearchEnd::Stopped => PartitionOutcome::Cancelled,
    }
}

/// Search steps spent on explaining a refutation the model decided, or on
/// finding a witness for a history it decided linearizable.
const EXPLANATION_STEPS: u64 = 1 << 21;

/// The explanation of a refutation the model decided before the search
/// met any dead end: the operation the model blames, from the start.
fn no_dead_end_yet<M: Model>(model: &M, blamed: usize) -> Explanation {
    let initial = model.init().first().map_or_else(String::new, |s| model.describe_state(s));
    Explanation {
        prefix: Linearization { order: Vec::new(), initial_state: initial, states: Vec::new() },
        candidates: Vec::new(),
        stuck: blamed,
    }
}

/// The explanation when the model offered no initial state at all.
fn no_initial_state(ids: &[usize]) -> Explanation {
    Explanation {
        prefix: Linearization {
            order: Vec::new(),
            initial_state: "(the model has no initial state)".into(),
            states: Vec::new(),
        },
        candidates: Vec::new(),
        stuck: ids.first().copied().unwrap_or(0),
    }
}
