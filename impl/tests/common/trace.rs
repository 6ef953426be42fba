//! Recording a test cluster's event trace and validating it at the end.
//!
//! A traced test writes `<test>.ndjson` under `target/tmp/traces/` (or
//! `RAFTCHECK_TRACE_DIR`). When the test ends, the trace is validated
//! against the model: an invalid trace fails a test that otherwise passed.
//! The file is kept when the test failed, when the trace is invalid, or when
//! `RAFTCHECK_KEEP_TRACES` is set; otherwise it is removed.

use raftcheck_core::{Config as CoreConfig, Mutant};
use raftcheck_impl::raft::Options;
use raftcheck_traces::{validate_file, Header, TraceWriter, Verdict};
use std::path::PathBuf;
use std::sync::Arc;

/// Whether every test should record a trace (`RAFTCHECK_TRACE` is set).
pub fn wanted() -> bool {
    std::env::var_os("RAFTCHECK_TRACE").is_some()
}

/// Where traces go.
pub fn trace_dir() -> PathBuf {
    match std::env::var_os("RAFTCHECK_TRACE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("traces"),
    }
}

/// A test's trace being recorded.
pub struct TestTrace {
    path: PathBuf,
    writer: Arc<TraceWriter>,
    /// Whether the test validates the trace itself (a mutant's trace is
    /// expected to be invalid): then `finish` only flushes it and keeps it.
    checked_by_test: bool,
}

impl TestTrace {
    /// Starts the trace of a cluster of `n` lab nodes running `mutant`,
    /// named after the running test.
    pub fn start(n: usize, mutant: Option<Mutant>) -> TestTrace {
        let dir = trace_dir();
        std::fs::create_dir_all(&dir).expect("the trace directory can be made");
        let name = std::thread::current().name().unwrap_or("trace").replace("::", "-");
        let path = dir.join(format!("{name}.ndjson"));
        let lab = Options::lab(0);
        let config = CoreConfig::new(n)
            .expect("a lab cluster size")
            .with_max_entries_per_append(lab.max_entries_per_append)
            .with_heartbeat(lab.heartbeat)
            .with_mutant(mutant);
        let writer = TraceWriter::create(&path, &Header::for_config(&config)).expect("the trace file can be made");
        TestTrace { path, writer: Arc::new(writer), checked_by_test: mutant.is_some() }
    }

    /// The trace file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The writer the cluster's nodes share.
    pub fn writer(&self) -> Arc<TraceWriter> {
        Arc::clone(&self.writer)
    }

    /// Once every node is stopped: flushes, validates, and keeps or removes
    /// the file. Panics (failing the test) if the trace is invalid.
    pub fn finish(&self) {
        self.writer.finish().expect("the trace was written");
        if self.checked_by_test {
            return;
        }
        let failed = std::thread::panicking();
        let report = validate_file(&self.path, Default::default());
        let keep = failed || std::env::var_os("RAFTCHECK_KEEP_TRACES").is_some();
        match report {
            Ok(report) if report.verdict == Verdict::Valid => {
                println!(
                    "trace: {} events valid ({:.0} ms){}",
                    report.events,
                    report.elapsed.as_secs_f64() * 1e3,
                    if keep { format!("; kept at {}", self.path.display()) } else { String::new() }
                );
                if !keep {
                    let _ = std::fs::remove_file(&self.path);
                }
            }
            Ok(report) => {
                let failure = report.failure.expect("an invalid trace names its failure");
                let message = format!("the trace {} is invalid: {failure}", self.path.display());
                if failed {
                    eprintln!("{message}");
                } else {
                    panic!("{message}");
                }
            }
            Err(e) => {
                let message = format!("the trace {} cannot be read: {e}", self.path.display());
                if failed {
                    eprintln!("{message}");
                } else {
                    panic!("{message}");
                }
            }
        }
    }
}
