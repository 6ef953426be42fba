//! `raftcheck kv`: a client of a `raftcheck node` cluster, for a person to
//! try it by hand: one get, put or append (found the leader, retried until
//! applied or the timeout), or each node's status.

use crate::output::{outln, Envelope};
use clap::{Args, Subcommand};
use raftcheck_impl::kv::tcp::{node_status, NodeStatus, TcpClerk};
use raftcheck_impl::kv::KvOp;
use serde::Serialize;
use std::net::ToSocketAddrs;
use std::time::{Duration, Instant};

/// Options of `raftcheck kv`.
#[derive(Args, Debug)]
#[command(after_help = "Exit codes: 0 the operation was applied (or every node answered the status); \
3 no server applied it before the timeout (a put or append may still take effect later), or a node \
did not answer the status; 2 usage.\n\nExamples:\n  \
raftcheck kv --servers 127.0.0.1:8000,127.0.0.1:8001,127.0.0.1:8002 put x 1\n  \
raftcheck kv --servers 127.0.0.1:8000,127.0.0.1:8001,127.0.0.1:8002 get x\n  \
raftcheck kv --servers 127.0.0.1:8000,127.0.0.1:8001,127.0.0.1:8002 status")]
pub struct KvArgs {
    /// The nodes' client addresses, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    servers: Vec<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    action: KvAction,
}

#[derive(Subcommand, Debug)]
enum KvAction {
    /// Read a key ("" if it is missing).
    Get { key: String },
    /// Set a key.
    Put { key: String, value: String },
    /// Append to a key's value.
    Append { key: String, value: String },
    /// Each node's term, role, commit and applied index.
    Status,
}

#[derive(Serialize)]
struct OpReport {
    op: &'static str,
    key: String,
    /// A get's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct StatusReport {
    nodes: Vec<NodeAnswer>,
}

#[derive(Serialize)]
struct NodeAnswer {
    address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<NodeStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Runs the subcommand and returns the process exit code.
pub fn run(args: KvArgs) -> u8 {
    let started = Instant::now();
    let Some(timeout) =
        Duration::try_from_secs_f64(args.timeout).ok().filter(|t| !t.is_zero() && t.as_secs() <= 86_400)
    else {
        eprintln!("raftcheck kv: --timeout must be a number of seconds above 0 and at most 86400");
        return 2;
    };
    for address in &args.servers {
        if address.to_socket_addrs().map_or(true, |mut a| a.next().is_none()) {
            eprintln!("raftcheck kv: --servers: {address:?} is not an address (expected HOST:PORT)");
            return 2;
        }
    }
    let (name, key, op) = match args.action {
        KvAction::Status => return status(&args.servers, timeout, args.json, started),
        KvAction::Get { key } => ("get", key.clone(), KvOp::Get { key }),
        KvAction::Put { key, value } => ("put", key.clone(), KvOp::Put { key, value }),
        KvAction::Append { key, value } => ("append", key.clone(), KvOp::Append { key, value }),
    };
    // A client id nobody else has: the clock's nanoseconds and the process id.
    let client = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()
        as u64)
        ^ ((std::process::id() as u64) << 32);
    let mut clerk = TcpClerk::new(args.servers, client);
    let (code, report) = match clerk.execute(op, timeout) {
        Ok(value) => {
            if !args.json {
                match &value {
                    Some(value) => outln!("{value}"),
                    None => outln!("ok"),
                }
            }
            (0, OpReport { op: name, key, value, error: None })
        }
        Err(e) => {
            eprintln!("raftcheck kv: {name} {key}: {e}");
            (3, OpReport { op: name, key, value: None, error: Some(e.to_string()) })
        }
    };
    if args.json {
        let verdict = if code == 0 { "ok" } else { "unknown" };
        Envelope::new(verdict, code, started.elapsed(), report).print();
    }
    code
}

fn status(servers: &[String], timeout: Duration, json: bool, started: Instant) -> u8 {
    let nodes: Vec<NodeAnswer> = servers
        .iter()
        .map(|address| match node_status(address, timeout) {
            Ok(status) => NodeAnswer { address: address.clone(), status: Some(status), error: None },
            Err(e) => NodeAnswer { address: address.clone(), status: None, error: Some(e.to_string()) },
        })
        .collect();
    let code = if nodes.iter().all(|n| n.status.is_some()) { 0 } else { 3 };
    if json {
        let verdict = if code == 0 { "ok" } else { "unknown" };
        Envelope::new(verdict, code, started.elapsed(), StatusReport { nodes }).print();
    } else {
        for node in &nodes {
            match (&node.status, &node.error) {
                (Some(s), _) => outln!(
                    "{}: node {} term {} {} commit {} applied {}",
                    node.address,
                    s.id,
                    s.term,
                    if s.is_leader { "leader" } else { "not leader" },
                    s.commit_index,
                    s.last_applied
                ),
                (None, error) => outln!("{}: no answer: {}", node.address, error.as_deref().unwrap_or("")),
            }
        }
    }
    code
}
