//! A cluster node in this process (`raftcheck_impl::node`): it serves
//! clients over TCP, keeps its state across a restart, and a trace left
//! unclosed by a killed process is closed by `close_trace_of_gone_node`
//! into one the validator accepts. Every wait polls for up to 60 s.

use raftcheck_impl::kv::tcp::TcpClerk;
use raftcheck_impl::kv::KvOp;
use raftcheck_impl::node::{close_trace_of_gone_node, ClusterNode, NodeConfig};
use raftcheck_traces::merge::validate_merged_files;
use raftcheck_traces::validate::{Options, Verdict};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

fn folder(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cluster-node").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(dir: &std::path::Path) -> NodeConfig {
    NodeConfig {
        id: 0,
        listen: "127.0.0.1:0".into(),
        client: "127.0.0.1:0".into(),
        peers: BTreeMap::new(),
        data_dir: dir.join("data"),
        trace: Some(dir.join("trace.ndjson")),
        fsync: true,
        mutant: None,
        kv_mutant: None,
        seed: 1,
        max_raft_state: None,
    }
}

fn put(node: &ClusterNode, key: &str, value: &str) {
    let mut clerk = TcpClerk::new(vec![node.client_addr().to_string()], 7);
    let op = KvOp::Put { key: key.into(), value: value.into() };
    clerk.execute(op, Duration::from_secs(60)).expect("the put is applied");
}

fn get(node: &ClusterNode, key: &str) -> String {
    let mut clerk = TcpClerk::new(vec![node.client_addr().to_string()], 8);
    clerk.execute(KvOp::Get { key: key.into() }, Duration::from_secs(60)).expect("the get is applied").unwrap()
}

fn valid(trace: &std::path::Path) -> bool {
    let merged = validate_merged_files(&[trace], Options::default()).expect("the trace reads");
    merged.report.verdict == Verdict::Valid
}

#[test]
fn a_trace_its_killed_process_left_open_is_closed_into_a_valid_one() {
    let dir = folder("gone");
    let config = config(&dir);
    let trace = dir.join("trace.ndjson");
    let mut node = ClusterNode::start(&config).unwrap();
    put(&node, "x", "1");
    node.stop().unwrap();
    drop(node);
    assert!(valid(&trace), "a clean stop leaves a valid trace");
    // What a kill -9 right after the last save would have left: no crash
    // event, no end record.
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let crash = lines.iter().rposition(|l| l.contains("\"crash\"")).unwrap();
    std::fs::write(&trace, lines[..crash].join("\n") + "\n").unwrap();
    assert!(!valid(&trace), "a trace cut short is refused");
    close_trace_of_gone_node(0, 1, None, &config.data_dir, &trace).unwrap();
    assert!(valid(&trace), "{}", std::fs::read_to_string(&trace).unwrap());
    // The node comes back on the same data and trace.
    let mut node = ClusterNode::start(&config).unwrap();
    assert_eq!(get(&node, "x"), "1");
    node.stop().unwrap();
    drop(node);
    assert!(valid(&trace));
}
