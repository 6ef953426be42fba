//! Where a node's persistent state lives. A [`Persister`] holds two byte
//! blobs, the Raft state (term, vote, log) and the service's snapshot, and
//! replaces both together, atomically, as the lab's `Save(raftstate,
//! snapshot)` does. [`encode_state`] and [`decode_state`] turn the core's
//! [`PersistentState`] into those blobs and back.

mod file;
mod memory;

pub use file::FilePersister;
pub use memory::MemoryPersister;

use raftcheck_core::{Log, NodeId, PersistentState, PersistentView, Term};
use std::fmt;

/// The state a runtime node persists: commands and snapshots are opaque
/// bytes to the runtime.
pub type State = PersistentState<Vec<u8>, Vec<u8>>;

/// Why stored state could not be saved or loaded.
#[derive(Debug)]
pub enum StorageError {
    /// Reading or writing the medium failed.
    Io { path: String, error: std::io::Error },
    /// The stored bytes are damaged: a torn write, a truncated file, a
    /// checksum that does not match. Never loaded.
    Corrupt { path: String, reason: String },
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Io { path, error } => write!(f, "{path}: {error}"),
            StorageError::Corrupt { path, reason } => write!(f, "{path}: corrupt state, not loaded: {reason}"),
        }
    }
}

impl std::error::Error for StorageError {}

/// Stable storage for one node: the Raft state and the snapshot, saved
/// together. Reads return copies of what the last successful save wrote.
pub trait Persister: Send + Sync {
    /// Replaces both blobs atomically: after a crash, a reader sees either
    /// the old pair or the new pair, never a mix. Returns once durable.
    fn save(&self, raft_state: Vec<u8>, snapshot: Vec<u8>) -> Result<(), StorageError>;
    /// The Raft state last saved (empty if none).
    fn raft_state(&self) -> Vec<u8>;
    /// The snapshot last saved (empty if none).
    fn snapshot(&self) -> Vec<u8>;
    /// The size of [`Persister::raft_state`] in bytes.
    fn raft_state_size(&self) -> usize;
    /// The size of [`Persister::snapshot`] in bytes.
    fn snapshot_size(&self) -> usize;
}

/// The two blobs as last saved, shared by the persisters: replaced as a
/// pair under one lock, read as copies.
#[derive(Default)]
struct Blobs {
    pair: std::sync::Mutex<BlobPair>,
}

/// (Raft state, snapshot).
type BlobPair = (std::sync::Arc<Vec<u8>>, std::sync::Arc<Vec<u8>>);

impl Blobs {
    fn new(raft_state: Vec<u8>, snapshot: Vec<u8>) -> Self {
        let blobs = Blobs::default();
        blobs.replace(raft_state, snapshot);
        blobs
    }
    fn replace(&self, raft_state: Vec<u8>, snapshot: Vec<u8>) {
        *self.lock() = (raft_state.into(), snapshot.into());
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, BlobPair> {
        self.pair.lock().expect("persister lock")
    }
    fn raft_state(&self) -> Vec<u8> {
        self.lock().0.to_vec()
    }
    fn snapshot(&self) -> Vec<u8> {
        self.lock().1.to_vec()
    }
    fn sizes(&self) -> (usize, usize) {
        let pair = self.lock();
        (pair.0.len(), pair.1.len())
    }
    fn copy(&self) -> Self {
        Blobs { pair: std::sync::Mutex::new(self.lock().clone()) }
    }
}

/// The Raft state blob as stored: everything of [`State`] but the snapshot.
#[derive(serde::Serialize)]
struct RaftStateRef<'a> {
    term: Term,
    voted_for: Option<NodeId>,
    log: &'a Log<Vec<u8>>,
}

#[derive(serde::Deserialize)]
struct RaftStateOwned {
    term: Term,
    voted_for: Option<NodeId>,
    log: Log<Vec<u8>>,
}

/// Why the two stored blobs do not decode into a state.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A snapshot blob but no Raft state blob.
    #[error("a snapshot without Raft state")]
    SnapshotWithoutState,
    /// The Raft state blob does not decode.
    #[error("the Raft state does not decode: {0}")]
    State(postcard::Error),
    /// Bytes left after the Raft state.
    #[error("{0} unexpected bytes after the Raft state")]
    TrailingBytes(usize),
}

/// Splits the state to persist into the two blobs a [`Persister`] stores.
pub fn encode_state(state: PersistentView<'_, Vec<u8>, Vec<u8>>) -> (Vec<u8>, Vec<u8>) {
    let record = RaftStateRef { term: state.term, voted_for: state.voted_for, log: state.log };
    let raft_state = postcard::to_stdvec(&record).expect("the Raft state serialises");
    (raft_state, state.snapshot.cloned().unwrap_or_default())
}

/// A borrowed view of an owned state, for [`encode_state`].
pub fn view(state: &State) -> PersistentView<'_, Vec<u8>, Vec<u8>> {
    PersistentView { term: state.term, voted_for: state.voted_for, log: &state.log, snapshot: state.snapshot.as_ref() }
}

/// Rebuilds the state from the two blobs: a node that never saved
/// anything (both empty) gets the initial state. Whether the state is one
/// a node can restart from (a snapshot exactly when the log was compacted)
/// is the core's to say, in [`raftcheck_core::Node::restart`].
pub fn decode_state(raft_state: &[u8], snapshot: &[u8]) -> Result<State, DecodeError> {
    if raft_state.is_empty() {
        if !snapshot.is_empty() {
            return Err(DecodeError::SnapshotWithoutState);
        }
        return Ok(State::default());
    }
    let (record, rest): (RaftStateOwned, _) = postcard::take_from_bytes(raft_state).map_err(DecodeError::State)?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    // An empty blob is no snapshot, unless the log says one was taken.
    let compacted = record.log.snapshot_index() > 0;
    Ok(PersistentState {
        term: record.term,
        voted_for: record.voted_for,
        log: record.log,
        snapshot: (compacted || !snapshot.is_empty()).then(|| snapshot.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use raftcheck_core::Entry;

    fn sample() -> State {
        let mut log = Log::new();
        for k in 1..=6u64 {
            log.append(Entry { term: k.div_ceil(2), command: vec![k as u8; k as usize] });
        }
        log.compact_through(2);
        PersistentState { term: 4, voted_for: Some(1), log, snapshot: Some(b"service state".to_vec()) }
    }

    #[test]
    fn state_round_trips_through_the_two_blobs() {
        let state = sample();
        let (raft_state, snapshot) = encode_state(view(&state));
        assert_eq!(snapshot, b"service state");
        assert_eq!(decode_state(&raft_state, &snapshot).unwrap(), state);
        assert_eq!(decode_state(&[], &[]).unwrap(), State::default());
    }

    #[test]
    fn damaged_blobs_are_errors() {
        let (raft_state, snapshot) = encode_state(view(&sample()));
        assert!(decode_state(&raft_state[..raft_state.len() - 3], &snapshot).is_err());
        let mut longer = raft_state.clone();
        longer.push(0);
        assert!(decode_state(&longer, &snapshot).is_err());
        assert!(decode_state(&[], b"x").is_err());
        // A snapshot beside a log that says nothing was compacted decodes,
        // and the core refuses to restart from it.
        let (plain, _) = encode_state(view(&State::default()));
        let state = decode_state(&plain, b"x").unwrap();
        let refused = raftcheck_core::Node::<Vec<u8>, Vec<u8>>::restart(0, state);
        assert!(matches!(refused, Err(raftcheck_core::RestoreError::SnapshotMismatch { .. })), "{refused:?}");
    }
}
