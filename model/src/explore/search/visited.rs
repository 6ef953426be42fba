//! The visited set of an exhaustive search: 64-bit fingerprints only (hash
//! compaction, as TLC and SPIN do), in open-addressing tables split into
//! shards so that threads rarely wait for one another.
//!
//! Two distinct states with the same fingerprint are taken for one, and the
//! second is never explored. The chance that this happens at all in a run
//! of `n` states is at most about `n² / 2^65` (see [`omission_probability`]).

use std::sync::Mutex;

const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;

/// A set of non-zero 64-bit fingerprints.
pub struct VisitedSet {
    shards: Vec<Mutex<Table>>,
}

/// One shard: linear probing over an array of any length; 0 marks a free
/// slot.
///
/// Invariant: at most 7/8 of the slots are taken, and a table grows by half
/// (not by doubling), so right after growing 7/12 are taken: a shard never
/// holds more than 8 × 12/7 ≈ 13.7 bytes per fingerprint once it is past its
/// first 1,024 slots.
struct Table {
    slots: Vec<u64>,
    len: usize,
}

impl Table {
    fn insert(&mut self, fp: u64) -> bool {
        self.probe(fp, |x| x == fp).is_ok()
    }

    /// Looks `value` up by `same` from where its high bits point; stores
    /// it in the first free slot if no slot holds the same (`Ok`), else
    /// gives the slot's value (`Err`).
    fn probe(&mut self, value: u64, same: impl Fn(u64) -> bool) -> Result<(), u64> {
        if (self.len + 1) * 8 > self.slots.len() * 7 {
            self.grow();
        }
        let n = self.slots.len();
        // The low bits chose the shard; the probe starts where the high
        // bits point (a multiply-shift maps them onto 0..n).
        let mut i = ((value as u128 * n as u128) >> 64) as usize;
        loop {
            match self.slots[i] {
                0 => {
                    self.slots[i] = value;
                    self.len += 1;
                    return Ok(());
                }
                x if same(x) => return Err(x),
                _ => i = if i + 1 == n { 0 } else { i + 1 },
            }
        }
    }

    /// [`Table::insert`] for a set whose fingerprints carry a mark in bit
    /// 0 (they are told apart by the other 63 bits): stores `key | mark`
    /// if `key` is new, else says how the stored one is marked.
    fn insert_marked(&mut self, key: u64, mark: bool) -> Arrival {
        match self.probe(key | u64::from(mark), |x| x & !1 == key) {
            Ok(()) => Arrival::New,
            Err(x) => Arrival::Seen { marked: x & 1 == 1 },
        }
    }

    fn grow(&mut self) {
        let size = (self.slots.len() + self.slots.len() / 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        self.len = 0;
        for fp in old.into_iter().filter(|&f| f != 0) {
            self.insert(fp);
        }
    }
}

impl Default for VisitedSet {
    fn default() -> Self {
        VisitedSet { shards: (0..SHARDS).map(|_| Mutex::new(Table { slots: Vec::new(), len: 0 })).collect() }
    }
}

impl VisitedSet {
    /// Adds `fingerprint`; true if it was not there yet.
    pub fn insert(&self, fingerprint: u64) -> bool {
        let fp = fingerprint.max(1);
        let shard = fp as usize & (SHARDS - 1);
        self.shards[shard].lock().expect("no thread panics holding a shard").insert(fp)
    }

    /// Adds `fingerprint` with a mark (bit 0 is the mark: fingerprints are
    /// told apart by their other 63 bits), or says whether it was there
    /// and how it is marked. A set is used either marked or not, apart from
    /// the initial state's [`VisitedSet::insert`].
    pub fn insert_marked(&self, fingerprint: u64, mark: bool) -> Arrival {
        let key = match fingerprint & !1 {
            0 => 2,
            key => key,
        };
        let shard = key as usize >> 1 & (SHARDS - 1);
        self.shards[shard].lock().expect("no thread panics holding a shard").insert_marked(key, mark)
    }

    /// The number of fingerprints held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().expect("shard").len).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes the tables take.
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| s.lock().expect("shard").slots.len() * 8).sum()
    }
}

/// What [`VisitedSet::insert_marked`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// The fingerprint was not there: it is now, with its mark.
    New,
    /// It was there, marked or not.
    Seen {
        /// The stored mark.
        marked: bool,
    },
}

/// An upper bound on the probability that a run which stored `states`
/// distinct fingerprints merged two distinct states (birthday bound).
pub fn omission_probability(states: usize) -> f64 {
    let n = states as f64;
    (n * n / 2f64.powi(65)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_once_and_grows() {
        let set = VisitedSet::default();
        for k in 0..100_000u64 {
            assert!(set.insert(k.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        }
        for k in 0..100_000u64 {
            assert!(!set.insert(k.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        }
        assert_eq!(set.len(), 100_000);
        assert!(set.bytes() < 100_000 * 24, "{} bytes", set.bytes());
        assert!(omission_probability(1_000_000) < 1e-7);
    }

    /// Growing by half keeps the set at or below 13.7 bytes per fingerprint
    /// at every size past the shards' first slots (doubling would reach
    /// 18.3 right after each growth).
    #[test]
    fn never_takes_more_than_14_bytes_per_fingerprint() {
        let set = VisitedSet::default();
        let mut worst: f64 = 0.0;
        for k in 1..=3_000_000u64 {
            set.insert(k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (k >> 7));
            if k >= 200_000 && k % 10_000 == 0 {
                worst = worst.max(set.bytes() as f64 / k as f64);
            }
        }
        assert_eq!(set.len(), 3_000_000);
        assert!(worst <= 14.0, "{worst:.2} bytes per fingerprint");
    }
}
