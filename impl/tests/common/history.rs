//! Recording the key/value tests' client histories
//! ([`raftcheck_checker::models::kv_recorder`]), checking them, and keeping
//! those that fail in the native JSON Lines format (`shared/design.md`)
//! with their HTML report.

use raftcheck_checker::{check, html, CheckOptions, CheckReport, Verdict};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use raftcheck_checker::models::kv_recorder::{KvCall, KvRecorder as History};

/// What checking a history found.
pub struct Checked {
    pub verdict: Verdict,
    /// How long the first check (with the lab's budget) took.
    pub elapsed: Duration,
    /// Whether that check ran out of its budget (and a longer one decided).
    pub unknown_at_first: bool,
    pub operations: usize,
    /// Where the history and its report were written, if it was kept.
    pub files: Option<(PathBuf, PathBuf)>,
}

/// Checking a recorded history the way every KV test does.
pub trait CheckHistory {
    /// Checks the history with the lab's budget (see the impl).
    fn check(&self, name: &str, budget: Duration, keep_all: bool) -> Checked;
}

impl CheckHistory for History {
    /// Checks the history with the lab's budget (`budget`); an `unknown`
    /// is settled by a second check with a generous budget, so that a
    /// non-linearizable history never passes as unknown. A history that is
    /// not linearizable, or that `keep_all` asks for, is written with its
    /// HTML report under the target directory as `<name>.jsonl` / `.html`.
    fn check(&self, name: &str, budget: Duration, keep_all: bool) -> Checked {
        let (model, operations) = self.operations();
        let started = Instant::now();
        let first =
            check(&model, &operations, &CheckOptions { timeout: Some(budget), ..CheckOptions::default() }, None);
        let elapsed = started.elapsed();
        let unknown_at_first = first.verdict == Verdict::Unknown;
        let report: CheckReport = if unknown_at_first {
            let options = CheckOptions { timeout: Some(Duration::from_secs(60)), ..CheckOptions::default() };
            check(&model, &operations, &options, None)
        } else {
            first
        };
        let keep = keep_all || report.verdict != Verdict::Linearizable;
        let files = keep.then(|| {
            let dir = history_dir();
            std::fs::create_dir_all(&dir).expect("the history directory can be made");
            let jsonl = dir.join(format!("{name}.kv.jsonl"));
            let page = dir.join(format!("{name}.html"));
            std::fs::write(&jsonl, self.to_jsonl()).expect("the history can be written");
            let section = html::render(&model, &operations, &report, name);
            std::fs::write(&page, html::document(&[section])).expect("the report can be written");
            (jsonl, page)
        });
        Checked { verdict: report.verdict, elapsed, unknown_at_first, operations: operations.len(), files }
    }
}

/// Where kept histories go: `RAFTCHECK_HISTORY_DIR`, or `kv-histories`
/// under the target directory.
pub fn history_dir() -> PathBuf {
    match std::env::var_os("RAFTCHECK_HISTORY_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kv-histories"),
    }
}
