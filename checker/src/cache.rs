//! The set of configurations (linearized operations, model state) the
//! search has already entered (Lowe's just-in-time linearization cache).

use crate::fasthash::hash_one;
use hashbrown::HashTable;
use std::hash::Hash;

/// Index of a configuration in the cache; also names its state.
pub(crate) type ConfigId = u32;

/// Stores each configuration once: its linearized-set bitset in one flat
/// array (`words` words per entry), its state, and its hash.
///
/// Invariant: `bits.len() == states.len() * words == hashes.len() * words`;
/// the table holds exactly the indices `0..states.len()`, each under
/// `hashes[i]`.
pub(crate) struct ConfigCache<S> {
    words: usize,
    bits: Vec<u64>,
    states: Vec<S>,
    hashes: Vec<u64>,
    table: HashTable<ConfigId>,
    /// Sum of the model's `state_heap_bytes` over the stored states.
    state_heap_bytes: usize,
}

impl<S: Eq + Hash> ConfigCache<S> {
    /// An empty cache for bitsets of `words` 64-bit words.
    pub(crate) fn new(words: usize) -> Self {
        ConfigCache {
            words,
            bits: Vec::new(),
            states: Vec::new(),
            hashes: Vec::new(),
            table: HashTable::new(),
            state_heap_bytes: 0,
        }
    }

    /// Adds the configuration (`bits`, `state`) unless it is already there.
    /// `bits_hash` must be a function of `bits` only. Returns the new
    /// entry's id, or `None` if the configuration was known (`state` is
    /// then dropped).
    #[inline]
    pub(crate) fn insert(
        &mut self,
        bits: &[u64],
        bits_hash: u64,
        state: S,
        heap_bytes: usize,
    ) -> Option<ConfigId> {
        let hash = bits_hash ^ hash_one(&state);
        let words = self.words;
        let (all_bits, states, hashes) = (&self.bits, &self.states, &self.hashes);
        let found = self.table.find(hash, |&id| {
            let i = id as usize;
            hashes[i] == hash && &all_bits[i * words..(i + 1) * words] == bits && states[i] == state
        });
        if found.is_some() {
            return None;
        }
        let id = self.states.len() as ConfigId;
        self.bits.extend_from_slice(bits);
        self.states.push(state);
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table.insert_unique(hash, id, |&i| hashes[i as usize]);
        self.state_heap_bytes += heap_bytes;
        Some(id)
    }

    /// The state of configuration `id`.
    #[inline]
    pub(crate) fn state(&self, id: ConfigId) -> &S {
        &self.states[id as usize]
    }

    /// Number of configurations stored.
    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }

    /// Bytes allocated by the cache (capacities, not lengths, so that the
    /// growth of a vector is counted when it happens).
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.bits.capacity() * 8
            + self.states.capacity() * std::mem::size_of::<S>()
            + self.hashes.capacity() * 8
            + self.table.capacity() * (std::mem::size_of::<ConfigId>() + 1)
            + self.state_heap_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_is_stored_once() {
        let mut cache = ConfigCache::new(2);
        assert_eq!(cache.insert(&[1, 0], 7, 5u32, 0), Some(0));
        assert_eq!(cache.insert(&[1, 0], 7, 5u32, 0), None);
        assert_eq!(cache.insert(&[1, 0], 7, 6u32, 0), Some(1));
        assert_eq!(cache.insert(&[1, 1], 9, 5u32, 0), Some(2));
        assert_eq!(*cache.state(1), 6);
        assert_eq!(cache.len(), 3);
        assert!(cache.allocated_bytes() >= 3 * (16 + 4 + 8));
    }
}
