//! `raftcheck model --processes N`: two processes on loopback count what the
//! one-process breadth-first search counts and find its shortest
//! counterexamples; a peer that dies or never comes ends the run with exit
//! 3, not a hang. Every process a test starts is killed and reaped when the
//! test ends, also when it fails.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A started `raftcheck` process, killed and reaped when dropped.
struct Process {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a process ended.
struct Ended {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Process {
    /// Waits for the process to end, at most `limit` (then the test fails
    /// and the guard kills it).
    fn finish(mut self, limit: Duration) -> Ended {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Ended {
                    code: status.code(),
                    stdout: std::fs::read_to_string(&self.stdout).unwrap_or_default(),
                    stderr: std::fs::read_to_string(&self.stderr).unwrap_or_default(),
                    took: start.elapsed(),
                };
            }
            assert!(start.elapsed() < limit, "the process did not end within {limit:?}: a hang");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A fresh folder for one test's files.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("raftcheck-distributed-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

/// A hostfile of `n` free loopback ports.
fn hostfile(dir: &Path, n: usize) -> PathBuf {
    let listeners: Vec<std::net::TcpListener> =
        (0..n).map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port")).collect();
    let lines: Vec<String> = listeners.iter().map(|l| l.local_addr().unwrap().to_string() + "\n").collect();
    let path = dir.join("hosts");
    std::fs::write(&path, lines.concat()).expect("write the hostfile");
    path
}

/// Starts `raftcheck model ARGS --processes N --process I --hostfile FILE`.
fn start(dir: &Path, args: &[&str], processes: usize, process: usize, hosts: &Path) -> Process {
    let stdout = dir.join(format!("p{process}.out"));
    let stderr = dir.join(format!("p{process}.err"));
    let child = Command::new(env!("CARGO_BIN_EXE_raftcheck"))
        .arg("model")
        .args(args)
        .args(["--processes", &processes.to_string(), "--process", &process.to_string()])
        .arg("--hostfile")
        .arg(hosts)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("start raftcheck");
    Process { child, stdout, stderr }
}

/// Runs `args` on two processes of one worker each; returns both ends.
fn two_processes(name: &str, args: &[&str]) -> (Ended, Ended) {
    let dir = folder(name);
    let hosts = hostfile(&dir, 2);
    let p1 = start(&dir, args, 2, 1, &hosts);
    let p0 = start(&dir, args, 2, 0, &hosts);
    let e0 = p0.finish(Duration::from_secs(240));
    let e1 = p1.finish(Duration::from_secs(30));
    let _ = std::fs::remove_dir_all(&dir);
    (e0, e1)
}

/// `raftcheck model ARGS` on one process.
fn one_process(args: &[&str]) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_raftcheck")).arg("model").args(args).output().expect("run raftcheck");
    (out.status.code(), serde_json::from_slice(&out.stdout).expect("one JSON object"))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("process 0 prints one JSON object ({e}): {text}"))
}

#[test]
fn two_processes_count_the_ci_scope_as_the_one_process_bfs_does() {
    let (code, bfs) = one_process(&["--config", "ci", "--strategy", "bfs", "--json", "--quiet"]);
    assert_eq!(code, Some(0));
    let (p0, p1) = two_processes("ci", &["--config", "ci", "--json", "--quiet"]);
    assert_eq!(p0.code, Some(0), "process 0: {}", p0.stderr);
    assert_eq!(p1.code, Some(0), "process 1: {}", p1.stderr);
    assert!(p1.stdout.is_empty(), "only process 0 reports: {}", p1.stdout);
    let d = json(&p0.stdout);
    assert_eq!(d["verdict"], "ok");
    assert_eq!(d["processes"], 2);
    assert_eq!(d["unique_states"], bfs["unique_states"]);
    assert_eq!(d["total_states"], bfs["total_states"]);
    assert_eq!(d["max_depth"], bfs["max_depth"]);
    assert_eq!(d["properties"], bfs["properties"]);
    assert!(d["exchange_bytes_per_state"].as_f64().is_some_and(|b| b > 0.0));
}

#[test]
fn two_processes_find_the_shortest_counterexamples_of_m8_and_m2() {
    for mutant in ["m8", "m2"] {
        let (code, bfs) =
            one_process(&["--config", mutant, "--mutant", mutant, "--strategy", "bfs", "--json", "--quiet"]);
        assert_eq!(code, Some(1));
        let (p0, p1) = two_processes(mutant, &["--config", mutant, "--mutant", mutant, "--json", "--quiet"]);
        assert_eq!(p0.code, Some(1), "{mutant}, process 0: {}", p0.stderr);
        assert_eq!(p1.code, Some(1), "{mutant}, process 1: {}", p1.stderr);
        let d = json(&p0.stdout);
        assert_eq!(d["verdict"], "violated");
        let (found, shortest) = (&d["counterexample"], &bfs["counterexample"]);
        assert_eq!(found["length"], shortest["length"], "{mutant}: a shortest counterexample");
        assert_eq!(found["property"], shortest["property"]);
        assert_eq!(found["steps"], shortest["steps"], "{mutant}: the same first one in breadth-first order");
    }
}

#[test]
fn a_killed_peer_ends_the_other_process_with_exit_3() {
    let dir = folder("killed");
    let hosts = hostfile(&dir, 2);
    // `default` runs for minutes; process 1 is killed once process 0's
    // progress lines show that the search is under way.
    let args = ["--config", "default", "--peer-timeout", "30s"];
    let mut p1 = start(&dir, &args, 2, 1, &hosts);
    let p0 = start(&dir, &args, 2, 0, &hosts);
    let started = Instant::now();
    while !std::fs::read_to_string(&p0.stderr).unwrap_or_default().contains("generated") {
        assert!(started.elapsed() < Duration::from_secs(60), "the search did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    p1.child.kill().expect("SIGKILL process 1");
    let e0 = p0.finish(Duration::from_secs(20));
    assert_eq!(e0.code, Some(3), "{}", e0.stderr);
    assert!(e0.stderr.contains("process 1"), "the error names the lost peer: {}", e0.stderr);
    assert!(e0.took < Duration::from_secs(10), "ended {:?} after the kill", e0.took);
    drop(p1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_peer_that_never_starts_ends_the_run_with_exit_3() {
    let dir = folder("missing");
    let hosts = hostfile(&dir, 2);
    let p0 = start(&dir, &["--config", "ci", "--quiet", "--peer-timeout", "2s"], 2, 0, &hosts);
    let e0 = p0.finish(Duration::from_secs(20));
    assert_eq!(e0.code, Some(3), "{}", e0.stderr);
    assert!(e0.stderr.contains("process 1") && e0.stderr.contains("did not connect"), "{}", e0.stderr);
    assert!(e0.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn distributed_options_that_cannot_run_are_usage_errors() {
    let dir = folder("usage");
    let hosts = hostfile(&dir, 2);
    let bad = dir.join("bad-hosts");
    std::fs::write(&bad, "127.0.0.1:1\nnot an address\n").unwrap();
    let hosts = hosts.to_str().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (&["--process", "0"], "--processes"),
        (&["--processes", "2", "--process", "0"], "--hostfile"),
        (&["--processes", "2", "--hostfile", hosts], "--process"),
        (&["--processes", "2", "--process", "2", "--hostfile", hosts], "not below"),
        (&["--processes", "3", "--process", "0", "--hostfile", hosts], "expected 3 addresses"),
        (&["--processes", "2", "--process", "0", "--hostfile", bad.to_str().unwrap()], "line 2"),
        (&["--processes", "1", "--strategy", "dfs"], "breadth-first"),
    ];
    for (args, says) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_raftcheck"))
            .args(["model", "--config", "m2"])
            .args(args)
            .output()
            .expect("run raftcheck");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?} should say {says}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn one_process_of_three_workers_counts_as_bfs() {
    let (_, bfs) = one_process(&["--config", "m2", "--strategy", "bfs", "--json", "--quiet"]);
    let (code, d) = one_process(&["--config", "m2", "--processes", "1", "--workers", "3", "--json", "--quiet"]);
    assert_eq!(code, Some(0));
    assert_eq!(d["unique_states"], bfs["unique_states"]);
    assert_eq!(d["total_states"], bfs["total_states"]);
}

#[test]
fn a_peer_running_another_scope_is_refused_by_both_with_exit_2() {
    let dir = folder("mismatch");
    let hosts = hostfile(&dir, 2);
    let p1 = start(&dir, &["--config", "m2", "--quiet", "--peer-timeout", "20s"], 2, 1, &hosts);
    let p0 = start(&dir, &["--config", "ci", "--quiet", "--peer-timeout", "20s"], 2, 0, &hosts);
    for ended in [p0.finish(Duration::from_secs(30)), p1.finish(Duration::from_secs(30))] {
        assert_eq!(ended.code, Some(2), "{}", ended.stderr);
        assert!(ended.stderr.contains("runs a different search"), "{}", ended.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--memory-budget` holds in each process: a worker expands a level a
/// chunk at a time and, between chunks, takes in what arrived (one state
/// per fingerprint kept), checking the budget both while it expands and
/// while states arrive. On `wide-deep`, whose levels hold millions of
/// states, two processes with a 1 GB budget stop for memory near it (the
/// search that expanded a level in one go reached twice the budget here).
#[test]
fn the_memory_budget_holds_in_each_process_of_a_large_scope() {
    const BUDGET: u64 = 1_000_000_000;
    let args = ["--config", "wide-deep", "--memory-budget", "1G", "--json", "--quiet"];
    let (e0, e1) = two_processes("memory-budget", &args);
    assert_eq!((e0.code, e1.code), (Some(3), Some(3)), "stderr: {} / {}", e0.stderr, e1.stderr);
    let report: Value = serde_json::from_str(&e0.stdout).expect("a JSON report");
    assert_eq!(report["stopped"], "memory budget", "{report}");
    let peak = report["peak_rss_bytes"].as_u64().expect("the peak is reported");
    assert!(peak > BUDGET && peak < BUDGET * 14 / 10, "peak {peak} bytes against a budget of {BUDGET}");
}
