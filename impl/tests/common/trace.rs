//! Recording a test cluster's event trace and validating it at the end.
//!
//! A traced test writes `<test>.ndjson` under `target/tmp/traces/` (or
//! `RAFTCHECK_TRACE_DIR`), and the same run in etcd-raft's schema as
//! `<test>.etcd.ndjson`. When the test ends, the native trace is validated
//! by exact replay through the core and against the Raft spec, and the
//! etcd-schema trace against the spec by the etcd reader: an invalid trace
//! fails a test that otherwise passed. The files are kept when the test
//! failed, when a trace is invalid, or when `RAFTCHECK_KEEP_TRACES` is set;
//! otherwise they are removed.

use raftcheck_core::{Config as CoreConfig, Mutant};
use raftcheck_impl::raft::Options;
use raftcheck_traces::validate::InputError;
use raftcheck_traces::{etcd, validate_file, Header, Report, TraceWriter, Verdict};
use std::path::{Path, PathBuf};
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
    /// The same trace in etcd-raft's schema.
    etcd_path: PathBuf,
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
        let etcd_path = dir.join(format!("{name}.etcd.ndjson"));
        let lab = Options::lab(0);
        let config = CoreConfig::new(n)
            .expect("a lab cluster size")
            .with_max_entries_per_append(lab.max_entries_per_append)
            .with_heartbeat(lab.heartbeat)
            .with_mutant(mutant);
        let file = |path: &PathBuf| Box::new(std::fs::File::create(path).expect("the trace file can be made"));
        let writer = TraceWriter::new_both(file(&path), file(&etcd_path), &Header::for_config(&config))
            .expect("the trace file can be written");
        TestTrace { path, etcd_path, writer: Arc::new(writer), checked_by_test: mutant.is_some() }
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
        let keep = failed || std::env::var_os("RAFTCHECK_KEEP_TRACES").is_some();
        let native = validate_file(&self.path, Default::default());
        let spec = etcd::validate_file(&self.etcd_path, Default::default());
        let native_ok = Self::verdict(&self.path, "exact replay and the Raft spec", native, keep, failed);
        let etcd_ok = Self::verdict(&self.etcd_path, "etcd schema against the Raft spec", spec, keep, failed);
        if native_ok && etcd_ok && !keep {
            let _ = std::fs::remove_file(&self.path);
            let _ = std::fs::remove_file(&self.etcd_path);
        }
    }

    /// Reports one trace's verdict; panics (failing the test) if it is
    /// invalid or unreadable, unless the test has already failed.
    fn verdict(path: &Path, what: &str, report: Result<Report, InputError>, keep: bool, failed: bool) -> bool {
        let message = match report {
            Ok(report) if report.verdict == Verdict::Valid => {
                println!(
                    "trace ({what}): {} events valid ({:.0} ms){}",
                    report.events,
                    report.elapsed.as_secs_f64() * 1e3,
                    if keep { format!("; kept at {}", path.display()) } else { String::new() }
                );
                return true;
            }
            Ok(report) => {
                let failure = report.failure.expect("an invalid trace names its failure");
                format!("the trace {} is invalid ({what}): {failure}", path.display())
            }
            Err(e) => format!("the trace {} cannot be read: {e}", path.display()),
        };
        if failed {
            eprintln!("{message}");
        } else {
            panic!("{message}");
        }
        false
    }
}
