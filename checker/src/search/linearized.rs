//! The set of linearized operations of the current search path, with the
//! compact key under which the cache stores it.

use crate::fasthash::zobrist_key;

/// A set of operation ids `0..n` as a bitset, with an incrementally kept
/// Zobrist hash and the lowest id not in the set.
///
/// Operations are numbered in the order they tend to be linearized
/// (completed operations by call time, pending ones last), so the set is
/// usually "everything below some id, plus a few above": its key is only
/// the words from the one holding the lowest missing id up to the last
/// non-zero word, which keeps cache entries small on long histories.
///
/// Invariants: `hash` is the XOR of `zobrist[i]` over the members;
/// `first_missing` is the lowest id not in the set (`n` if all are);
/// every word at index `>= top` is zero.
pub(crate) struct LinearizedSet {
    words: Vec<u64>,
    zobrist: Vec<u64>,
    hash: u64,
    first_missing: usize,
    top: usize,
}

impl LinearizedSet {
    /// The empty set over ids `0..n`.
    pub(crate) fn new(n: usize) -> Self {
        LinearizedSet {
            words: vec![0; n.div_ceil(64)],
            zobrist: (0..n).map(zobrist_key).collect(),
            hash: 0,
            first_missing: 0,
            top: 0,
        }
    }

    /// True if `op` is in the set.
    #[inline]
    pub(crate) fn contains(&self, op: u32) -> bool {
        self.words[op as usize / 64] & (1u64 << (op % 64)) != 0
    }

    /// Adds `op` (not in the set).
    #[inline]
    pub(crate) fn insert(&mut self, op: u32) {
        let w = op as usize / 64;
        self.words[w] |= 1u64 << (op % 64);
        self.hash ^= self.zobrist[op as usize];
        self.top = self.top.max(w + 1);
        if op as usize == self.first_missing {
            self.advance_first_missing();
        }
    }

    /// Removes `op` (in the set).
    #[inline]
    pub(crate) fn remove(&mut self, op: u32) {
        self.words[op as usize / 64] &= !(1u64 << (op % 64));
        self.hash ^= self.zobrist[op as usize];
        self.first_missing = self.first_missing.min(op as usize);
    }

    fn advance_first_missing(&mut self) {
        let n = self.zobrist.len();
        let mut w = self.first_missing / 64;
        while w < self.words.len() {
            // Bits below `first_missing` in this word are all set.
            let below = if w == self.first_missing / 64 { (1u64 << (self.first_missing % 64)) - 1 } else { 0 };
            let word = self.words[w] | below;
            if word != u64::MAX {
                self.first_missing = (w * 64 + word.trailing_ones() as usize).min(n);
                return;
            }
            w += 1;
        }
        self.first_missing = n;
    }

    /// The hash of the set (a function of its members only).
    #[inline]
    pub(crate) fn hash(&self) -> u64 {
        self.hash
    }

    /// The set's key: the index of the word holding the lowest missing id,
    /// and the words from there to the last non-zero one. Equal sets give
    /// equal keys and different sets different keys.
    #[inline]
    pub(crate) fn key(&mut self) -> (u32, &[u64]) {
        let start = (self.first_missing / 64).min(self.words.len());
        while self.top > start && self.words[self.top - 1] == 0 {
            self.top -= 1;
        }
        let end = self.top.max(start);
        (start as u32, &self.words[start..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_canonical_and_short() {
        let mut a = LinearizedSet::new(200);
        for op in 0..130 {
            a.insert(op);
        }
        a.insert(150);
        let (start, words) = a.key();
        assert_eq!((start, words.len()), (2, 1), "only the word of the first missing id on");
        let mut b = LinearizedSet::new(200);
        b.insert(150);
        for op in (0..130).rev() {
            b.insert(op);
        }
        assert_eq!(a.key().0, b.key().0);
        assert_eq!(a.key().1, b.key().1);
        assert_eq!(a.hash(), b.hash());
        b.remove(3);
        assert_ne!(a.key(), b.key());
        assert!(!b.contains(3) && b.contains(4));
        b.insert(3);
        assert_eq!(a.key(), b.key());
        let mut all = LinearizedSet::new(64);
        for op in 0..64 {
            all.insert(op);
        }
        assert_eq!(all.key(), (1, &[][..]));
    }
}
