//! The replicated log with its snapshot offset (Raft §5.3, §7).
//!
//! Every index in and out of this type is global. Entries `1..=snapshot_index`
//! have been compacted into a snapshot; the log keeps only the term of the
//! last compacted entry, which is what the consistency check needs.

use crate::types::{Entry, Index, Term};
use serde::{Deserialize, Serialize};

/// A log whose prefix may have been compacted.
///
/// Invariant: `entries[k]` has global index `snapshot_index + 1 + k`, and the
/// terms of `entries` never decrease (Raft's leaders append in their term).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Log<C> {
    snapshot_index: Index,
    snapshot_term: Term,
    entries: Vec<Entry<C>>,
}

impl<C> Default for Log<C> {
    fn default() -> Self {
        Log { snapshot_index: 0, snapshot_term: 0, entries: Vec::new() }
    }
}

impl<C: Clone> Log<C> {
    /// An empty log with nothing compacted.
    pub fn new() -> Self {
        Self::default()
    }

    /// The last index covered by the snapshot (0 if none).
    pub fn snapshot_index(&self) -> Index {
        self.snapshot_index
    }

    /// The term of the entry at [`Self::snapshot_index`] (0 if none).
    pub fn snapshot_term(&self) -> Term {
        self.snapshot_term
    }

    /// The index of the last entry, compacted or not (0 for an empty log).
    pub fn last_index(&self) -> Index {
        self.snapshot_index + self.entries.len() as Index
    }

    /// The term of the last entry, compacted or not (0 for an empty log).
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    /// The term at `index`, if the log still knows it: the snapshot's last
    /// entry and every retained entry do; compacted and missing ones do not.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == self.snapshot_index {
            Some(self.snapshot_term)
        } else {
            self.entry(index).map(|e| e.term)
        }
    }

    /// The retained entry at `index`, if any.
    pub fn entry(&self, index: Index) -> Option<&Entry<C>> {
        if index <= self.snapshot_index {
            return None;
        }
        self.entries.get((index - self.snapshot_index - 1) as usize)
    }

    /// The retained entries from `from` (inclusive) to the end, at most `max`.
    /// `from` must be above the snapshot index.
    pub fn entries_from(&self, from: Index, max: usize) -> Vec<Entry<C>> {
        debug_assert!(from > self.snapshot_index);
        let start = ((from - self.snapshot_index - 1) as usize).min(self.entries.len());
        let end = start.saturating_add(max).min(self.entries.len());
        self.entries[start..end].to_vec()
    }

    /// The retained entries, in index order, starting at `snapshot_index + 1`.
    pub fn retained(&self) -> &[Entry<C>] {
        &self.entries
    }

    /// The first retained index whose term is `term`, if any.
    pub fn first_index_of_term(&self, term: Term) -> Option<Index> {
        let k = self.entries.iter().position(|e| e.term == term)?;
        Some(self.snapshot_index + 1 + k as Index)
    }

    /// The last index (compacted boundary included) whose term is `term`.
    pub fn last_index_of_term(&self, term: Term) -> Option<Index> {
        if let Some(k) = self.entries.iter().rposition(|e| e.term == term) {
            return Some(self.snapshot_index + 1 + k as Index);
        }
        (self.snapshot_index > 0 && self.snapshot_term == term).then_some(self.snapshot_index)
    }

    /// Appends one entry at `last_index() + 1`.
    pub fn append(&mut self, entry: Entry<C>) {
        self.entries.push(entry);
    }

    /// Removes every entry at `index` and after. `index` must be above the
    /// snapshot: committed (compacted) entries are never removed this way.
    pub fn truncate_from(&mut self, index: Index) {
        debug_assert!(index > self.snapshot_index);
        self.entries.truncate((index - self.snapshot_index - 1) as usize);
    }

    /// Replaces the entry at `index` in place, keeping what follows. Only the
    /// M10 mutant does this; a correct follower truncates instead.
    pub fn overwrite(&mut self, index: Index, entry: Entry<C>) {
        let k = (index - self.snapshot_index - 1) as usize;
        self.entries[k] = entry;
    }

    /// Compacts everything through `index` (which must be in the log),
    /// remembering the term at `index`.
    pub fn compact_through(&mut self, index: Index) {
        let term = self.term_at(index).expect("compact_through: index not in the log");
        let drop = (index - self.snapshot_index) as usize;
        self.entries.drain(..drop);
        self.snapshot_index = index;
        self.snapshot_term = term;
    }

    /// Discards the whole log and starts it after a snapshot at
    /// (`index`, `term`): what a follower does when its log does not contain
    /// the snapshot's last entry.
    pub fn reset_to_snapshot(&mut self, index: Index, term: Term) {
        self.entries.clear();
        self.snapshot_index = index;
        self.snapshot_term = term;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with_terms(terms: &[Term]) -> Log<u8> {
        let mut log = Log::new();
        for (k, &term) in terms.iter().enumerate() {
            log.append(Entry { term, command: k as u8 });
        }
        log
    }

    #[test]
    fn global_indices_survive_compaction() {
        let mut log = log_with_terms(&[1, 1, 2, 3]);
        log.compact_through(2);
        assert_eq!(log.snapshot_index(), 2);
        assert_eq!(log.snapshot_term(), 1);
        assert_eq!(log.last_index(), 4);
        assert_eq!(log.term_at(2), Some(1));
        assert_eq!(log.term_at(1), None, "compacted entries have no term");
        assert_eq!(log.term_at(3), Some(2));
        assert_eq!(log.entry(4).map(|e| e.command), Some(3));
        assert_eq!(log.entries_from(3, 10).len(), 2);
        assert_eq!(log.entries_from(3, 1).len(), 1);
        assert_eq!(log.entries_from(5, 10).len(), 0);
    }

    #[test]
    fn term_lookups() {
        let mut log = log_with_terms(&[1, 2, 2, 4]);
        assert_eq!(log.first_index_of_term(2), Some(2));
        assert_eq!(log.last_index_of_term(2), Some(3));
        assert_eq!(log.last_index_of_term(3), None);
        log.compact_through(3);
        assert_eq!(log.last_index_of_term(2), Some(3), "the snapshot boundary counts");
        assert_eq!(log.first_index_of_term(2), None);
    }

    #[test]
    fn truncate_and_reset() {
        let mut log = log_with_terms(&[1, 1, 1]);
        log.truncate_from(2);
        assert_eq!(log.last_index(), 1);
        log.reset_to_snapshot(5, 3);
        assert_eq!((log.last_index(), log.last_term()), (5, 3));
        assert!(log.retained().is_empty());
    }
}
