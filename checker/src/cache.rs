//! The set of configurations (linearized operations, model state) the
//! search has already entered (Lowe's just-in-time linearization cache).

use crate::fasthash::hash_one;
use hashbrown::HashTable;
use std::hash::Hash;

/// Index of a configuration in the cache; also names its state.
pub(crate) type ConfigId = u32;

/// Stores each configuration once: its linearized-set key (see
/// `LinearizedSet::key`) in one flat array, its state, and its hash.
///
/// Invariant: `spans[i]` is `(start word, offset in bits, length)` of entry
/// `i`'s key; `states`, `hashes` and `spans` have one element per entry;
/// the table holds exactly the indices `0..states.len()`, each under
/// `hashes[i]`.
pub(crate) struct ConfigCache<S> {
    bits: Vec<u64>,
    spans: Vec<(u32, usize, u32)>,
    states: Vec<S>,
    hashes: Vec<u64>,
    table: HashTable<ConfigId>,
    /// Sum of the model's `state_heap_bytes` over the stored states.
    state_heap_bytes: usize,
    /// Per entry: the model's `state_heap_bytes` (for `truncate`).
    heap: Vec<u32>,
}

impl<S: Eq + Hash> ConfigCache<S> {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        ConfigCache {
            bits: Vec::new(),
            spans: Vec::new(),
            states: Vec::new(),
            hashes: Vec::new(),
            table: HashTable::new(),
            state_heap_bytes: 0,
            heap: Vec::new(),
        }
    }

    /// Adds the configuration (linearized set with `key`, `state`) unless
    /// it is already there. `set_hash` must be a function of the set only.
    /// Returns the new entry's id, or the known entry's id as an error if
    /// the configuration was known (`state` is then dropped).
    #[inline]
    pub(crate) fn insert(
        &mut self,
        key: (u32, &[u64]),
        set_hash: u64,
        state: S,
        heap_bytes: usize,
    ) -> Result<ConfigId, ConfigId> {
        let hash = set_hash ^ hash_one(&state);
        if let Some(known) = self.find(hash, key, &state) {
            return Err(known);
        }
        let id = self.states.len() as ConfigId;
        self.spans.push((key.0, self.bits.len(), key.1.len() as u32));
        self.bits.extend_from_slice(key.1);
        self.states.push(state);
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table.insert_unique(hash, id, |&i| hashes[i as usize]);
        self.state_heap_bytes += heap_bytes;
        self.heap.push(heap_bytes as u32);
        Ok(id)
    }

    /// Stores `state` as a new entry without looking it up or indexing it
    /// (a configuration that is only to be named, never found again); its
    /// key is not kept. Returns its id.
    pub(crate) fn push_unindexed(&mut self, state: S, heap_bytes: usize) -> ConfigId {
        let id = self.states.len() as ConfigId;
        self.spans.push((0, self.bits.len(), 0));
        self.states.push(state);
        self.hashes.push(0);
        self.state_heap_bytes += heap_bytes;
        self.heap.push(heap_bytes as u32);
        id
    }

    /// Drops the entries with ids `len..`, which must all have been
    /// stored by `push_unindexed`.
    pub(crate) fn truncate(&mut self, len: usize) {
        if len >= self.states.len() {
            return;
        }
        self.bits.truncate(self.spans[len].1);
        self.spans.truncate(len);
        self.states.truncate(len);
        self.hashes.truncate(len);
        self.state_heap_bytes -= self.heap.drain(len..).map(|b| b as usize).sum::<usize>();
    }

    /// True if the configuration (set with `key` and `set_hash`, `state`)
    /// is stored.
    pub(crate) fn contains(&self, key: (u32, &[u64]), set_hash: u64, state: &S) -> bool {
        self.find(set_hash ^ hash_one(state), key, state).is_some()
    }

    /// The id of the stored configuration with this key and state, whose
    /// hash is `hash`.
    #[inline]
    fn find(&self, hash: u64, (start, words): (u32, &[u64]), state: &S) -> Option<ConfigId> {
        let found = self.table.find(hash, |&id| {
            let i = id as usize;
            let (s, off, len) = self.spans[i];
            self.hashes[i] == hash
                && s == start
                && len as usize == words.len()
                && &self.bits[off..off + len as usize] == words
                && self.states[i] == *state
        });
        found.copied()
    }

    /// The state of configuration `id`.
    #[inline]
    pub(crate) fn state(&self, id: ConfigId) -> &S {
        &self.states[id as usize]
    }

    /// Bytes allocated by the cache (capacities, not lengths, so that the
    /// growth of a vector is counted when it happens).
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.bits.capacity() * 8
            + self.states.capacity() * std::mem::size_of::<S>()
            + self.hashes.capacity() * 8
            + self.spans.capacity() * std::mem::size_of::<(u32, usize, u32)>()
            + self.table.capacity() * (std::mem::size_of::<ConfigId>() + 1)
            + self.heap.capacity() * 4
            + self.state_heap_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_is_stored_once() {
        let mut cache = ConfigCache::new();
        assert_eq!(cache.insert((0, &[1, 0]), 7, 5u32, 0), Ok(0));
        assert_eq!(cache.insert((0, &[1, 0]), 7, 5u32, 0), Err(0));
        assert_eq!(cache.insert((0, &[1, 0]), 7, 6u32, 0), Ok(1));
        assert_eq!(cache.insert((0, &[1, 1]), 9, 5u32, 0), Ok(2));
        assert_eq!(cache.insert((1, &[1]), 9, 5u32, 0), Ok(3), "another start word is another set");
        assert_eq!(cache.insert((0, &[1, 0]), 7, 6u32, 0), Err(1));
        assert_eq!(*cache.state(1), 6);
        assert_eq!(cache.states.len(), 4);
        assert!(cache.allocated_bytes() >= 4 * (4 + 8));
    }
}
