//! The lab's persister: both blobs in memory, replaced together.

use crate::storage::{Blobs, Persister, StorageError};

/// An in-memory [`Persister`]. The tester keeps one per server; on a crash
/// it gives the restarted server a [`MemoryPersister::copy`], so that the
/// killed instance, if it still writes, cannot change what the new one reads.
#[derive(Default)]
pub struct MemoryPersister {
    blobs: Blobs,
}

impl MemoryPersister {
    /// An empty persister.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new persister holding the same two blobs.
    pub fn copy(&self) -> Self {
        MemoryPersister { blobs: self.blobs.copy() }
    }
}

impl Persister for MemoryPersister {
    fn save(&self, raft_state: Vec<u8>, snapshot: Vec<u8>) -> Result<(), StorageError> {
        self.blobs.replace(raft_state, snapshot);
        Ok(())
    }
    fn raft_state(&self) -> Vec<u8> {
        self.blobs.raft_state()
    }
    fn snapshot(&self) -> Vec<u8> {
        self.blobs.snapshot()
    }
    fn raft_state_size(&self) -> usize {
        self.blobs.sizes().0
    }
    fn snapshot_size(&self) -> usize {
        self.blobs.sizes().1
    }
}
