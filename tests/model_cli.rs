//! `raftcheck model` as a user meets it: exit codes, reports, `--json`,
//! listings and bad options.

use std::process::{Command, Output};

fn raftcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftcheck")).arg("model").args(args).output().expect("run raftcheck")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn bad_options_are_usage_errors_not_panics() {
    let cases: &[&[&str]] = &[
        &["--servers", "banana"],
        &["--servers", "0"],
        &["--servers", "9"],
        &["--max-term", "0"],
        &["--max-in-flight", "9"],
        &["--threads", "0"],
        &["--timeout", "-1"],
        &["--timeout", "5 parsecs"],
        &["--network", "carrier-pigeon"],
        &["--strategy", "guess"],
        &["--mutant", "no-such-mutant"],
        &["--config", "no-such-config"],
        &["--election-order", "0,7"],
        &["--heartbeats", "sometimes"],
        &["--engine", "tlc"],
        &["--memory-budget", "lots"],
        &["--engine", "stateright", "--strategy", "hunt"],
        &["--sleep-sets", "--strategy", "bfs"],
        &["--sleep-sets", "--strategy", "sim"],
        &["--sleep-sets", "--engine", "stateright", "--strategy", "dfs"],
        &["--no-such-option"],
    ];
    for args in cases {
        let out = raftcheck(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
        assert!(!stderr.trim().is_empty(), "{args:?} must say what is wrong");
    }
}

#[test]
fn unknown_names_list_the_known_ones() {
    let err = text(&raftcheck(&["--config", "nope"]).stderr);
    assert!(err.contains("ci") && err.contains("deep") && err.contains("m8"), "{err}");
    let err = text(&raftcheck(&["--mutant", "nope"]).stderr);
    assert!(err.contains("m1") && err.contains("m20"), "{err}");
}

#[test]
fn listings() {
    let out = raftcheck(&["--list-mutants"]);
    assert_eq!(out.status.code(), Some(0));
    let listed = text(&out.stdout);
    for id in ["m1", "m3", "m4", "m6", "m7", "m8", "m10", "m11", "m12", "m19", "m20"] {
        assert!(listed.lines().any(|l| l.starts_with(&format!("{id} "))), "--list-mutants lacks {id}");
    }
    let out = raftcheck(&["--list-configs"]);
    assert_eq!(out.status.code(), Some(0));
    let listed = text(&out.stdout);
    for name in ["ci", "default", "deep", "m8", "m20"] {
        assert!(listed.lines().any(|l| l.starts_with(&format!("{name} "))), "--list-configs lacks {name}");
    }
}

#[test]
fn help_documents_every_option() {
    let help = text(&raftcheck(&["--help"]).stdout);
    for option in [
        "--config",
        "--list-configs",
        "--list-mutants",
        "--servers",
        "--max-term",
        "--max-elections",
        "--election-order",
        "--values",
        "--crashes",
        "--snapshots",
        "--network",
        "--max-in-flight",
        "--max-messages",
        "--heartbeats",
        "--max-heartbeats",
        "--one-value-per-term",
        "--heartbeat-style",
        "--max-entries",
        "--crash-mid-step",
        "--hunt-time",
        "--engine",
        "--memory-budget",
        "--mutant",
        "--strategy",
        "--threads",
        "--timeout",
        "--seed",
        "--no-symmetry",
        "--sleep-sets",
        "--json",
        "--quiet",
        "--explore",
        "Exit codes",
    ] {
        assert!(help.contains(option), "--help does not mention {option}");
    }
}

#[test]
fn a_mutant_gives_a_readable_counterexample_and_exit_1() {
    let out = raftcheck(&["--config", "m6", "--mutant", "M6", "--strategy", "bfs", "--threads", "1", "--quiet"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("Counterexample to \"election safety\" (2 steps)"), "{report}");
    assert!(report.contains("step  1: n0 election timeout"), "{report}");
    assert!(report.contains("leader"), "{report}");
    assert!(report.contains("Verdict: violated"), "{report}");
}

#[test]
fn json_report_of_a_clean_run() {
    let out = raftcheck(&["--config", "m6", "--json", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON value on stdout");
    assert_eq!(v["verdict"], "ok");
    assert_eq!(v["complete"], true);
    assert!(v["unique_states"].as_u64().unwrap() > 0);
    assert!(v["total_states"].as_u64().unwrap() >= v["unique_states"].as_u64().unwrap());
    assert!(v["elapsed_ms"].as_f64().is_some());
    let props = v["properties"].as_array().unwrap();
    assert!(props.iter().any(|p| p["name"] == "election safety" && p["status"] == "holds"));
    assert!(v["counterexample"].is_null());
}

/// With sleep sets the same scope is complete with fewer successors
/// computed, and a mutant is still caught.
#[test]
fn sleep_sets_compute_fewer_successors_and_still_catch_a_mutant() {
    let json = |extra: &[&str]| {
        let mut args = vec!["--config", "m10", "--strategy", "dfs", "--json", "--quiet"];
        args.extend(extra);
        let out = raftcheck(&args);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("one JSON value on stdout")
    };
    let (plain, reduced) = (json(&[]), json(&["--sleep-sets"]));
    assert_eq!(reduced["complete"], true);
    let generated = |v: &serde_json::Value| v["total_states"].as_u64().expect("a count");
    assert!(generated(&reduced) * 10 < generated(&plain) * 8, "{} against {}", generated(&reduced), generated(&plain));
    let out = raftcheck(&["--config", "m10", "--mutant", "m10", "--strategy", "dfs", "--sleep-sets", "--quiet"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&raftcheck(&["--config", "m10", "--strategy", "dfs", "--sleep-sets", "--timeout", "1"]).stderr);
    assert!(err.contains("strategy dfs with sleep sets"), "{err}");
}

#[test]
fn json_report_of_a_violation_names_the_property() {
    let out = raftcheck(&["--config", "m1", "--mutant", "vote-not-persisted", "--json", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON value on stdout");
    assert_eq!(v["verdict"], "violated");
    assert_eq!(v["counterexample"]["property"], "election safety");
    assert!(!v["counterexample"]["steps"].as_array().unwrap().is_empty());
}

#[test]
fn a_simulation_that_finds_nothing_is_incomplete() {
    let out = raftcheck(&["--config", "m6", "--strategy", "sim", "--timeout", "1", "--quiet"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("INCOMPLETE"));
}

#[test]
fn explore_rejects_an_address_it_cannot_serve() {
    let out = raftcheck(&["--explore", "not an address"]);
    assert_eq!(out.status.code(), Some(2));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = raftcheck(&["--explore", &address]);
    assert_eq!(out.status.code(), Some(2), "a port in use is an error, not a panic");
    assert!(!text(&out.stderr).contains("panicked"));
}

#[test]
fn explore_serves_the_explorer() {
    use std::io::{Read, Write};
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_raftcheck"))
        .args(["model", "--config", "ci", "--explore", &address])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the explorer");
    let mut reply = String::new();
    for _ in 0..300 {
        if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
            stream.write_all(b"GET /.status HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
            stream.read_to_string(&mut reply).unwrap();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().ok();
    child.wait().ok();
    assert!(reply.contains("election safety"), "the status page lists the properties: {reply}");
}

#[test]
fn the_report_names_the_effective_scope_and_merged_options() {
    let out = raftcheck(&["--config", "m6", "--servers", "2", "--quiet"]);
    let report = text(&out.stdout);
    assert!(report.contains("config m6 with explicit options merged in: --servers 2"), "{report}");
    assert!(report.contains("Effective scope: servers=2"), "{report}");
    let out = raftcheck(&["--config", "m6", "--servers", "2", "--json", "--quiet"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON value");
    assert_eq!(v["explicit_options"][0], "--servers 2");
    assert!(v["scope"].as_str().unwrap().contains("servers=2"));
}

#[test]
fn a_network_that_cannot_hold_a_broadcast_is_a_usage_error() {
    let out = raftcheck(&["--servers", "5", "--max-messages", "3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("broadcast"), "{}", text(&out.stderr));
}

#[test]
fn a_memory_budget_ends_the_run_as_incomplete() {
    let out = raftcheck(&["--config", "default", "--strategy", "dfs", "--memory-budget", "1M", "--json", "--quiet"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON value");
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["stopped"], "memory budget");
}

#[test]
fn the_bug_hunt_finds_a_mutant_in_a_general_scope() {
    let out = raftcheck(&[
        "--config",
        "ci",
        "--mutant",
        "m4",
        "--strategy",
        "hunt",
        "--hunt-time",
        "60s",
        "--json",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON value");
    assert_eq!(v["counterexample"]["property"], "election safety");
    assert!(v["counterexample"]["length"].as_u64().unwrap() >= 2);
}
