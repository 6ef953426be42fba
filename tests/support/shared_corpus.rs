//! The external conformance corpus: porcupine's histories in
//! `../shared/conformance/porcupine` and etcd-raft's sample trace in
//! `../shared/conformance/etcd-raft`, beside the repository (kept out of it
//! by their licences). Included by the tests that read it, with `#[path]`.
//!
//! A clone with nothing beside it still passes its tests: a test that needs
//! the corpus and does not find it says so in one line on the terminal and
//! returns. CI, which has the corpus, sets `RAFTCHECK_REQUIRE_SHARED=1`, and
//! then a missing corpus fails the test instead.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Porcupine's corpus folder, or `None` (with the skip line printed) when
/// it is absent and not required. `root` is the repository's root.
#[allow(dead_code)] // not every test that includes this file reads porcupine's corpus
pub fn porcupine(root: &Path, test: &str) -> Option<PathBuf> {
    shared(root, "conformance/porcupine", test)
}

/// etcd-raft's sample trace, `../shared/conformance/etcd-raft/example.ndjson`,
/// or `None` (with the skip line printed) when it is absent and not required.
#[allow(dead_code)] // not every test that includes this file reads etcd's sample
pub fn etcd_sample(root: &Path, test: &str) -> Option<PathBuf> {
    shared(root, "conformance/etcd-raft/example.ndjson", test)
}

/// `../shared/<rel>` beside the repository `root`, or `None` (with the
/// skip line printed) when it is absent and not required.
fn shared(root: &Path, rel: &str, test: &str) -> Option<PathBuf> {
    let dir = root.join("../shared").join(rel);
    if dir.exists() {
        return Some(dir);
    }
    let required = std::env::var("RAFTCHECK_REQUIRE_SHARED").is_ok_and(|v| v == "1");
    assert!(!required, "the conformance corpus is missing: expected {} (RAFTCHECK_REQUIRE_SHARED=1)", dir.display());
    // Written to the process's stderr directly, past the test harness's
    // capture, so that the skip shows in a normal `cargo test` run.
    let _ =
        writeln!(std::io::stderr(), "skipped {test}: no conformance corpus at {} (../shared is absent)", dir.display());
    None
}
