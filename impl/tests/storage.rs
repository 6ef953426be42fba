//! The persisters: the lab's in-memory one (copy-on-crash) and the
//! crash-safe file (atomic replace, checksum: damage is an error, never a
//! state).

use raftcheck_impl::storage::{FilePersister, MemoryPersister, Persister, StorageError};
use std::path::PathBuf;

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("storage-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn memory_persister_saves_both_blobs_together_and_copies_are_independent() {
    let p = MemoryPersister::new();
    assert_eq!((p.raft_state(), p.snapshot()), (vec![], vec![]));
    p.save(b"state-1".to_vec(), b"snap-1".to_vec()).unwrap();
    assert_eq!((p.raft_state_size(), p.snapshot_size()), (7, 6));
    let copy = p.copy();
    // The killed instance keeps writing to the old persister...
    p.save(b"state-2".to_vec(), b"snap-2".to_vec()).unwrap();
    // ...which the restarted one, holding the copy, never sees.
    assert_eq!((copy.raft_state(), copy.snapshot()), (b"state-1".to_vec(), b"snap-1".to_vec()));
    assert_eq!((p.raft_state(), p.snapshot()), (b"state-2".to_vec(), b"snap-2".to_vec()));
}

#[test]
fn file_persister_survives_reopening() {
    let dir = scratch("reopen");
    let p = FilePersister::open(&dir).unwrap();
    assert_eq!((p.raft_state(), p.snapshot()), (vec![], vec![]), "a new directory holds nothing");
    p.save(b"first".to_vec(), vec![]).unwrap();
    p.save(b"term 3, vote 1, log ...".to_vec(), vec![9; 1000]).unwrap();
    drop(p);
    let again = FilePersister::open(&dir).unwrap();
    assert_eq!(again.raft_state(), b"term 3, vote 1, log ...");
    assert_eq!(again.snapshot(), vec![9; 1000]);
    assert_eq!((again.raft_state_size(), again.snapshot_size()), (23, 1000));
    assert!(!dir.join("state.tmp").exists(), "the temporary file was renamed into place");
}

#[test]
fn a_leftover_temporary_file_is_ignored() {
    // A crash between writing the temporary file and renaming it leaves the
    // old state in place.
    let dir = scratch("leftover");
    FilePersister::open(&dir).unwrap().save(b"durable".to_vec(), b"snap".to_vec()).unwrap();
    std::fs::write(dir.join("state.tmp"), b"half a new sta").unwrap();
    let p = FilePersister::open(&dir).unwrap();
    assert_eq!((p.raft_state(), p.snapshot()), (b"durable".to_vec(), b"snap".to_vec()));
}

fn open_error(dir: &std::path::Path) -> String {
    match FilePersister::open(dir) {
        Err(e @ StorageError::Corrupt { .. }) => e.to_string(),
        Err(e) => panic!("expected a corrupt-state error, got {e}"),
        Ok(p) => panic!("damaged state was loaded: {:?}", p.raft_state()),
    }
}

/// Saves a known state and returns the file's bytes.
fn saved_file(dir: &std::path::Path) -> Vec<u8> {
    FilePersister::open(dir).unwrap().save(b"raft state bytes".to_vec(), b"snapshot bytes".to_vec()).unwrap();
    std::fs::read(dir.join("state")).unwrap()
}

#[test]
fn a_truncated_file_is_an_error_naming_the_file() {
    let dir = scratch("truncated");
    let bytes = saved_file(&dir);
    for keep in [0, 5, 27, bytes.len() - 1] {
        std::fs::write(dir.join("state"), &bytes[..keep]).unwrap();
        let message = open_error(&dir);
        assert!(message.contains("truncated"), "{message}");
        assert!(message.contains(&dir.join("state").display().to_string()), "{message}");
    }
}

#[test]
fn a_flipped_bit_is_a_checksum_error() {
    let dir = scratch("flipped");
    let bytes = saved_file(&dir);
    for at in [30, 40, bytes.len() - 6, bytes.len() - 1] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        std::fs::write(dir.join("state"), &damaged).unwrap();
        let message = open_error(&dir);
        assert!(message.contains("checksum mismatch"), "byte {at}: {message}");
    }
}

#[test]
fn a_damaged_header_is_an_error() {
    let dir = scratch("header");
    let bytes = saved_file(&dir);
    let mut magic = bytes.clone();
    magic[0] = b'X';
    std::fs::write(dir.join("state"), &magic).unwrap();
    assert!(open_error(&dir).contains("bad magic"));
    let mut version = bytes.clone();
    version[8] = 7;
    std::fs::write(dir.join("state"), &version).unwrap();
    assert!(open_error(&dir).contains("format version 7"));
    let mut length = bytes.clone();
    length[12] = length[12].wrapping_add(1);
    std::fs::write(dir.join("state"), &length).unwrap();
    assert!(open_error(&dir).contains("the header announces"));
    let mut longer = bytes;
    longer.extend_from_slice(b"junk");
    std::fs::write(dir.join("state"), &longer).unwrap();
    assert!(open_error(&dir).contains("wrong length"));
}

#[test]
fn a_save_that_cannot_be_written_is_an_error() {
    let dir = scratch("unwritable");
    let p = FilePersister::open(&dir).unwrap();
    // A directory where the temporary file should go makes the write fail.
    std::fs::create_dir(dir.join("state.tmp")).unwrap();
    let error = p.save(b"x".to_vec(), vec![]).unwrap_err();
    assert!(matches!(error, StorageError::Io { .. }), "{error}");
    assert_eq!(p.raft_state(), Vec::<u8>::new(), "a failed save changes nothing");
}
