//! What the CLI tests of `raftcheck trace` share: running it, reading its
//! output, the corpus, scratch files. Included by those tests with `#[path]`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `raftcheck trace ARGS`.
pub fn trace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftcheck")).arg("trace").args(args).output().expect("runs raftcheck")
}

/// The exit code.
pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A path inside `traces/corpus`.
pub fn corpus(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces/corpus").join(rel).display().to_string()
}

/// Writes `contents` to `name` in the test folder `folder` under the
/// target's temporary directory; returns its path.
pub fn scratch_in(folder: &str, name: &str, contents: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(folder);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}
