//! The real cluster from the command line: `raftcheck node` processes,
//! `raftcheck kv` against them, and `raftcheck run` breaking a cluster and
//! checking what it did. Every process a test starts is killed and reaped
//! when the test ends, also when it fails (the [`Child`] guard below; the
//! run's own nodes die with the run). No test asserts on speed: a run is
//! given minutes where it needs seconds.

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_raftcheck");

/// A child process killed and reaped when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `raftcheck ARGS` to completion, killing it after `limit`.
fn raftcheck(args: &[&str], limit: Duration) -> Output {
    let child = Command::new(BIN).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut child = Child(child);
    let started = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            child.0.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
            child.0.stderr.take().unwrap().read_to_end(&mut stderr).unwrap();
            return Output { status, stdout, stderr };
        }
        assert!(started.elapsed() < limit, "raftcheck {args:?} still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The folder of test `name`, as an argument.
fn folder_path(name: &str) -> String {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cluster-cli").join(name).display().to_string()
}

/// A fresh folder for one test.
fn folder(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cluster-cli").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    dir
}

fn json(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}\nstderr:\n{}", String::from_utf8_lossy(&output.stderr)))
}

/// Runs one at a time: each run's nodes pick random free ports, and two
/// runs at once could (rarely) pick the same one.
static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `raftcheck run` with `extra` options, its JSON report and exit code.
fn run(name: &str, extra: &[&str]) -> (i32, Value) {
    let _alone = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = folder(name);
    let out_arg = out.display().to_string();
    let mut args = vec!["run", "--json", "--out", &out_arg, "--duration", "6"];
    args.extend_from_slice(extra);
    let output = raftcheck(&args, Duration::from_secs(300));
    let report = json(&output);
    for file in ["run.json", "summary.txt", "history.jsonl", "node0/trace.ndjson", "node0/log.txt"] {
        assert!(out.join(file).is_file(), "{file} is in the run's folder");
    }
    (output.status.code().unwrap(), report)
}

#[test]
fn a_short_run_survives_a_leader_kill_and_a_partition_and_every_check_holds() {
    let (code, report) = run("healthy", &["--seed", "11", "--faults", "kill-leader,partition-leader"]);
    assert_eq!((code, report["verdict"].as_str()), (0, Some("ok")), "{report:#}");
    let kinds: Vec<&str> = report["faults"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["kill-leader", "partition-leader"]);
    // The killed node came back: two processes for it.
    let killed = report["faults"][0]["node"].as_u64().unwrap() as usize;
    assert_eq!(report["node_lives"][killed], 2, "{report:#}");
    assert_eq!(report["history"]["verdict"], "linearizable");
    assert!(report["history"]["operations"].as_u64().unwrap() > 10, "{report:#}");
    assert_eq!(report["traces"]["verdict"], "valid");
    assert_eq!(report["traces"]["merged"].as_array().unwrap().len(), 3);
    assert_eq!(report["writes"]["lost"].as_array().unwrap().len(), 0);
    assert!(report["writes"]["checked"].as_u64().unwrap() > 0, "{report:#}");
    // The run's folder stands for its node traces.
    let out = folder_path("healthy");
    let output = raftcheck(&["trace", "--merge", &out], Duration::from_secs(60));
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("node2/trace.ndjson") && text.contains("valid"), "{text}");
}

#[test]
fn a_run_of_nodes_with_a_data_losing_mutant_is_a_violation() {
    // m6: a quorum of one, so a leader acknowledges writes no majority
    // holds, which a later leader overwrites.
    let (code, report) = run("mutant", &["--seed", "11", "--mutant", "m6"]);
    assert_eq!((code, report["verdict"].as_str()), (1, Some("violated")), "{report:#}");
    let found = [
        report["history"]["verdict"] == "not-linearizable",
        report["traces"]["verdict"] == "invalid",
        report["writes"]["lost"].as_array().is_some_and(|lost| !lost.is_empty()),
    ];
    assert!(found.contains(&true), "{report:#}");
}

#[test]
fn run_kv_and_node_refuse_bad_options_and_run_a_used_output_folder() {
    let used = folder("used");
    std::fs::create_dir_all(&used).unwrap();
    std::fs::write(used.join("keep.txt"), "a user's file").unwrap();
    let used = used.display().to_string();
    for args in [
        vec!["run", "--faults", "explode"],
        vec!["run", "--nodes", "0"],
        vec!["run", "--duration", "-1"],
        vec!["run", "--mix", "get=0"],
        vec!["run", "--mutant", "m99"],
        vec!["run", "--duration", "1e20"],
        vec!["run", "--op-timeout", "1e20"],
        vec!["run", "--rate", "1e-300"],
        vec!["run", "--clients", "60000"],
        vec!["run", "--mix", "get=4294967295,put=1"],
        vec!["run", "--out", &used],
        vec!["kv", "--servers", "nonsense", "get", "x"],
        vec!["kv", "--servers", "127.0.0.1:1", "--timeout", "1e20", "get", "x"],
        vec![
            "node",
            "--id",
            "0",
            "--listen",
            "127.0.0.1:0",
            "--client",
            "127.0.0.1:0",
            "--data-dir",
            "d",
            "--peer",
            "1=x",
        ],
    ] {
        let output = raftcheck(&args, Duration::from_secs(30));
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(!output.stderr.is_empty(), "{args:?} says why");
    }
    assert_eq!(std::fs::read_to_string(Path::new(&used).join("keep.txt")).unwrap(), "a user's file");
}

/// A free loopback address above the ephemeral port range (so that no
/// outgoing connection takes it while the node that owns it is down).
fn free_address() -> String {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let high: u16 = range.split_whitespace().nth(1).and_then(|h| h.parse().ok()).unwrap_or(60999);
    let base = high.saturating_add(1).max(20_000);
    let spread = (u16::MAX - base).max(1);
    for _ in 0..1000 {
        let offset = (std::process::id() as u16).wrapping_add(NEXT.fetch_add(7, Ordering::SeqCst)) % spread;
        let address = format!("127.0.0.1:{}", base + offset);
        if std::net::TcpListener::bind(&address).is_ok() {
            return address;
        }
    }
    panic!("no free port above {base}");
}

#[test]
fn a_one_node_cluster_serves_the_kv_client_and_keeps_its_data_across_a_kill() {
    let dir = folder("one-node");
    let (listen, client) = (free_address(), free_address());
    let data = dir.join("data").display().to_string();
    let trace = dir.join("trace.ndjson").display().to_string();
    let start = || {
        let args =
            ["node", "--id", "0", "--listen", &listen, "--client", &client, "--data-dir", &data, "--trace", &trace];
        Child(Command::new(BIN).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap())
    };
    let kv = |args: &[&str]| {
        let mut all = vec!["kv", "--servers", &client, "--timeout", "60"];
        all.extend_from_slice(args);
        let output = raftcheck(&all, Duration::from_secs(90));
        assert_eq!(output.status.code(), Some(0), "kv {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let node = start();
    assert_eq!(kv(&["put", "x", "1"]), "ok");
    assert_eq!(kv(&["append", "x", "2"]), "ok");
    assert_eq!(kv(&["get", "x"]), "12");
    assert!(kv(&["status"]).contains("node 0 term 1 leader"));
    drop(node); // kill -9
    let mut node = start();
    assert_eq!(kv(&["get", "x"]), "12", "acknowledged writes survive the kill");
    // SIGTERM: a clean stop, the trace closed.
    sigterm(&node.0);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = node.0.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the node did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let output = raftcheck(&["trace", "--merge", &trace], Duration::from_secs(60));
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stdout));
}

/// SIGTERM to `child`, through the `kill` command.
fn sigterm(child: &std::process::Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

#[test]
fn a_node_refuses_a_corrupt_data_directory_naming_the_file() {
    let dir = folder("corrupt");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let state = data.join("state");
    // A torn write: the start of a state file, cut short.
    std::fs::write(&state, b"RAFTCHK\0\x01\0\0\0").unwrap();
    let (listen, client) = (free_address(), free_address());
    let data_arg = data.display().to_string();
    let args = ["node", "--id", "0", "--listen", &listen, "--client", &client, "--data-dir", &data_arg];
    let output = raftcheck(&args, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&state.display().to_string()) && stderr.contains("corrupt"), "{stderr}");
    // Nothing was written over it.
    assert_eq!(std::fs::read(&state).unwrap(), b"RAFTCHK\0\x01\0\0\0");
}

#[test]
fn a_node_refuses_a_bad_configuration_file_with_its_line() {
    let dir = folder("config");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("node.toml");
    std::fs::write(&file, "id = 0\nlisten = \"127.0.0.1:1\"\nclients = \"oops\"\n").unwrap();
    let output = raftcheck(&["node", "--config", &file.display().to_string()], Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("node.toml") && stderr.contains("line 3"), "{stderr}");
}
