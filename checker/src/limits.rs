//! What ends a check early: a wall-clock deadline, a memory budget, or the
//! refutation of another partition. Shared by all partitions of one check.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::Instant;

/// Why a check ended without a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownReason {
    /// The wall-clock timeout passed.
    Timeout,
    /// The search's caches reached the memory budget.
    MemoryBudget,
}

/// Stop conditions and memory accounting shared by concurrent searches.
///
/// Invariant: once `stopped()` is true it stays true; `reason()` is the
/// first limit that was hit (or `None` if the stop was a cancellation
/// because a partition was refuted).
pub(crate) struct SharedLimits {
    deadline: Option<Instant>,
    memory_budget: Option<usize>,
    memory_used: AtomicUsize,
    stopped: AtomicBool,
    /// 0 = none, 1 = timeout, 2 = memory budget.
    reason: AtomicU8,
}

impl SharedLimits {
    pub(crate) fn new(deadline: Option<Instant>, memory_budget: Option<usize>) -> Self {
        SharedLimits {
            deadline,
            memory_budget,
            memory_used: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            reason: AtomicU8::new(0),
        }
    }

    /// True once any search must stop.
    #[inline]
    pub(crate) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// Stops every search without a limit reason (a partition was refuted).
    pub(crate) fn cancel(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    fn stop_for(&self, reason: UnknownReason) {
        let code = match reason {
            UnknownReason::Timeout => 1,
            UnknownReason::MemoryBudget => 2,
        };
        let _ = self.reason.compare_exchange(0, code, Ordering::Relaxed, Ordering::Relaxed);
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// Checks the clock; stops everything if the deadline has passed.
    pub(crate) fn check_deadline(&self) -> bool {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.stop_for(UnknownReason::Timeout);
        }
        self.stopped()
    }

    /// Records that a search's memory went from `old` to `new` bytes; stops
    /// everything if the total passes the budget.
    pub(crate) fn account(&self, old: usize, new: usize) {
        let total = if new >= old {
            self.memory_used.fetch_add(new - old, Ordering::Relaxed) + (new - old)
        } else {
            self.memory_used.fetch_sub(old - new, Ordering::Relaxed) - (old - new)
        };
        if self.memory_budget.is_some_and(|b| total > b) {
            self.stop_for(UnknownReason::MemoryBudget);
        }
    }

    /// Bytes currently accounted for by all searches.
    pub(crate) fn memory_used(&self) -> usize {
        self.memory_used.load(Ordering::Relaxed)
    }

    /// The limit that stopped the check, if any.
    pub(crate) fn reason(&self) -> Option<UnknownReason> {
        match self.reason.load(Ordering::Relaxed) {
            1 => Some(UnknownReason::Timeout),
            2 => Some(UnknownReason::MemoryBudget),
            _ => None,
        }
    }
}
