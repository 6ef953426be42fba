//! A crash-safe file persister: both blobs in one file, replaced by writing a
//! temporary file, syncing it, renaming it over the old one and syncing the
//! directory. A checksum covers the whole file, so a torn or corrupt file is
//! reported, never loaded.
//!
//! File layout (all integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `RAFTCHK` followed by a zero byte |
//! | 4 | format version (1) |
//! | 8 | length R of the Raft state |
//! | 8 | length S of the snapshot |
//! | R | the Raft state |
//! | S | the snapshot |
//! | 4 | CRC-32 (IEEE) of every byte before it |

use crate::storage::{Blobs, Persister, StorageError};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const MAGIC: &[u8; 8] = b"RAFTCHK\0";
const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 8 + 8;
const CHECKSUM: usize = 4;

/// A [`Persister`] backed by the file `state` in a directory.
pub struct FilePersister {
    path: PathBuf,
    /// What the last successful save (or the load) holds, for reads.
    blobs: Blobs,
    /// Held across a save: two saves must not interleave their renames.
    writing: Mutex<()>,
    /// Whether a save syncs the file and the directory before it returns
    /// (see [`FilePersister::without_sync`]).
    sync: bool,
}

impl FilePersister {
    /// Opens (creating if needed) the directory `dir` and loads its state
    /// file if there is one. A damaged file is an error, not an empty state.
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let path = dir.join("state");
        let blobs = match fs::read(&path) {
            Ok(bytes) => parse(&bytes).map_err(|reason| StorageError::Corrupt { path: display(&path), reason })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), Vec::new()),
            Err(e) => return Err(io_error(&path, e)),
        };
        Ok(FilePersister { path, blobs: Blobs::new(blobs.0, blobs.1), writing: Mutex::new(()), sync: true })
    }

    /// The same persister, but a save no longer waits for the disk (no
    /// `fsync` of the file or the directory): still written by rename and
    /// checksummed, so a killed process loses nothing (the operating system
    /// has the data), but a power loss may. For measuring what durability
    /// costs, never for a cluster that must keep what it acknowledged.
    pub fn without_sync(mut self) -> Self {
        self.sync = false;
        self
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Persister for FilePersister {
    fn save(&self, raft_state: Vec<u8>, snapshot: Vec<u8>) -> Result<(), StorageError> {
        // Reads keep seeing the old pair until the new one is durable.
        let _writing = self.writing.lock().expect("persister lock");
        let bytes = serialise(&raft_state, &snapshot);
        let tmp = self.path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
            file.write_all(&bytes)?;
            if self.sync {
                file.sync_all()?;
            }
            fs::rename(&tmp, &self.path)?;
            let dir = self.path.parent().unwrap_or(Path::new("."));
            if self.sync {
                File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(|e| io_error(&self.path, e))?;
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

fn serialise(raft_state: &[u8], snapshot: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER + raft_state.len() + snapshot.len() + CHECKSUM);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&(raft_state.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&(snapshot.len() as u64).to_le_bytes());
    bytes.extend_from_slice(raft_state);
    bytes.extend_from_slice(snapshot);
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// Checks and splits a state file; the error says what is wrong with it.
fn parse(bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    if bytes.len() < HEADER + CHECKSUM {
        return Err(format!("truncated: {} bytes, shorter than the {}-byte frame", bytes.len(), HEADER + CHECKSUM));
    }
    if &bytes[..8] != MAGIC {
        return Err("not a raftcheck state file (bad magic number)".to_string());
    }
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(format!("format version {version}, this build reads version {VERSION}"));
    }
    let (raft_len, snap_len) = (word(12), word(20));
    let expected = (HEADER as u64).checked_add(raft_len).and_then(|n| n.checked_add(snap_len)).map(|n| n + 4);
    if expected != Some(bytes.len() as u64) {
        let what = if expected.is_some_and(|e| e > bytes.len() as u64) { "truncated" } else { "wrong length" };
        return Err(format!(
            "{what}: the header announces {raft_len} + {snap_len} bytes of state, the file has {}",
            bytes.len()
        ));
    }
    let body = bytes.len() - CHECKSUM;
    let stored = u32::from_le_bytes(bytes[body..].try_into().expect("4 bytes"));
    let actual = crc32fast::hash(&bytes[..body]);
    if stored != actual {
        return Err(format!("checksum mismatch (stored {stored:#010x}, computed {actual:#010x})"));
    }
    let raft_end = HEADER + raft_len as usize;
    Ok((bytes[HEADER..raft_end].to_vec(), bytes[raft_end..body].to_vec()))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn io_error(path: &Path, error: std::io::Error) -> StorageError {
    StorageError::Io { path: display(path), error }
}
