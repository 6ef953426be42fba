//! A log as far as a trace shows it: its length, and for each entry the
//! bounds its term is known to lie in (exact where the trace says it).

use std::collections::VecDeque;

/// The terms an entry may have: `lo..=hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub lo: u64,
    pub hi: u64,
}

impl Bounds {
    /// A term known exactly.
    pub fn exact(term: u64) -> Bounds {
        Bounds { lo: term, hi: term }
    }
}

/// How many of a log's last entries are tracked: etcd's `log` is the last
/// index, which in a long-lived cluster is far beyond what a trace shows
/// (a restart from a snapshot at index 50,000,000); older entries are
/// committed, and their terms unknown.
pub const TRACKED: u64 = 1 << 16;

/// A node's log: entry `offset + k` (k from 1) has a term within
/// `terms[k - 1]`; entries up to `offset` are not tracked (their terms are
/// unknown). A deque, so that dropping the oldest tracked entry as a new
/// one is appended costs O(1), not a move of the whole window.
#[derive(Clone, Debug, Default)]
pub struct Log {
    offset: u64,
    terms: VecDeque<Bounds>,
}

impl Log {
    /// A log whose entries after `offset` have exactly the terms `terms`
    /// (a log known whole, as the model knows it); entries up to `offset`
    /// (a snapshot's) are not tracked.
    pub fn exact(offset: u64, terms: impl IntoIterator<Item = u64>) -> Log {
        Log { offset, terms: terms.into_iter().map(Bounds::exact).collect() }
    }

    /// The index of the last entry (0 for an empty log).
    pub fn last(&self) -> u64 {
        self.offset + self.terms.len() as u64
    }

    /// The bounds of entry `index`, if the log holds it and tracks it.
    pub fn bounds(&self, index: u64) -> Option<Bounds> {
        (index > self.offset).then(|| self.terms.get((index - self.offset - 1) as usize).copied()).flatten()
    }

    /// The bounds of entries `from..=to` (up to the first one untracked).
    pub fn range(&self, from: u64, to: u64) -> Vec<Bounds> {
        (from.max(1)..=to).map_while(|i| self.bounds(i)).collect()
    }

    /// The log now ends at `last`, as the trace says. Entries appended
    /// while the node is in `term` have a term of at most `term` (§5.3: an
    /// entry's term is the term of the leader that created it, never ahead
    /// of the receiver's), at least 1 and at least the previous entry's
    /// (terms never go down along a log); a leader's own appends (`own`)
    /// have exactly its term (§5.3).
    pub fn resize(&mut self, last: u64, term: u64, own: bool) {
        if last <= self.offset {
            self.offset = last;
            self.terms.clear();
            return;
        }
        let len = last - self.offset;
        if len <= self.terms.len() as u64 {
            self.terms.truncate(len as usize);
            return;
        }
        let floor = self.terms.back().map_or(1, |b| b.lo).max(1);
        let new = if own { Bounds::exact(term) } else { Bounds { lo: floor.min(term.max(1)), hi: term.max(floor) } };
        if len > TRACKED {
            // Keep the last TRACKED entries only.
            let offset = last - TRACKED;
            let drop = (offset - self.offset).min(self.terms.len() as u64) as usize;
            self.terms.drain(..drop);
            self.offset = offset;
        }
        let len = (last - self.offset) as usize;
        self.terms.resize(len, new);
    }

    /// The trace says entry `index` has term `term` (a message carried it):
    /// narrow its bounds, if the log tracks it.
    pub fn learn(&mut self, index: u64, term: u64) {
        if index > self.offset {
            if let Some(b) = self.terms.get_mut((index - self.offset - 1) as usize) {
                *b = Bounds::exact(term);
            }
        }
    }

    /// Entries from `first` on are copies of `entries` (an AppendEntries
    /// accepted, §5.3): their bounds are the sender's.
    pub fn copy(&mut self, first: u64, entries: &[Bounds]) {
        for (k, b) in entries.iter().enumerate() {
            let index = first.saturating_add(k as u64);
            if index > self.offset {
                if let Some(slot) = self.terms.get_mut((index - self.offset - 1) as usize) {
                    *slot = *b;
                }
            }
        }
    }

    /// The entries after `after` and up to `through` may have been replaced
    /// by entries of terms `1..=term` the trace does not show (a snapshot
    /// installed, §7; a restart from a log saved before the last appends):
    /// their bounds widen to allow it (a later `learn` narrows them again).
    /// Entries outside that range keep their bounds.
    pub fn widen(&mut self, after: u64, through: u64, term: u64) {
        let first = after.max(self.offset);
        let last = through.min(self.last());
        if last <= first {
            return;
        }
        let (from, to) = ((first - self.offset) as usize, (last - self.offset) as usize);
        for slot in self.terms.range_mut(from..to) {
            slot.lo = 1;
            slot.hi = slot.hi.max(term);
        }
    }

    /// The least the last entry's term can be (0 for an empty log or an
    /// untracked last entry).
    pub fn last_term_floor(&self) -> u64 {
        self.terms.back().map_or(0, |b| b.lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_kept_as_bounds() {
        let mut log = Log::default();
        log.resize(3, 1, false);
        assert_eq!(log.bounds(3), Some(Bounds::exact(1)), "bootstrap entries in term 1");
        log.resize(5, 4, false);
        assert_eq!(log.bounds(5), Some(Bounds { lo: 1, hi: 4 }));
        log.learn(5, 3);
        assert_eq!(log.last_term_floor(), 3);
        log.resize(6, 4, true);
        assert_eq!(log.bounds(6), Some(Bounds::exact(4)));
        log.resize(2, 4, false);
        assert_eq!(log.last(), 2);
    }

    #[test]
    fn a_snapshot_widens_what_it_may_replace() {
        let mut log = Log::exact(0, [1, 1, 2, 2]);
        log.widen(1, 3, 3);
        assert_eq!(log.bounds(1), Some(Bounds::exact(1)), "at or below the commit index: kept");
        assert_eq!(log.bounds(3), Some(Bounds { lo: 1, hi: 3 }));
        assert_eq!(log.bounds(4), Some(Bounds::exact(2)), "after the snapshot point: kept");
        log.learn(3, 3);
        assert_eq!(log.bounds(3), Some(Bounds::exact(3)));
    }

    #[test]
    fn a_long_log_tracks_its_tail_only() {
        let mut log = Log::default();
        log.resize(50_000_000, 7, false);
        assert_eq!(log.last(), 50_000_000);
        assert_eq!(log.bounds(50_000_000), Some(Bounds { lo: 1, hi: 7 }));
        assert_eq!(log.bounds(1), None);
        log.resize(50_000_000 + TRACKED, 8, true);
        assert_eq!(log.last(), 50_000_000 + TRACKED);
        assert_eq!(log.bounds(50_000_000 + TRACKED), Some(Bounds::exact(8)));
        assert_eq!(log.bounds(50_000_000), None);
        log.resize(u64::MAX, 9, false);
        assert_eq!(log.last(), u64::MAX);
        log.resize(3, 9, false);
        assert_eq!((log.last(), log.bounds(3)), (3, None));
    }
}
