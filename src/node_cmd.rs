//! `raftcheck node`: one key/value server process of a real cluster
//! (`raftcheck_impl::node`), configured by flags or a TOML file (flags win).
//! It runs until SIGINT or SIGTERM, then stops cleanly (its trace closed)
//! and exits 0; a bad configuration or data directory exits 2 at start.

use clap::Args;
use raftcheck_impl::node::{parse_mutant, ClusterNode, NodeConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};

/// Options of `raftcheck node`.
#[derive(Args, Debug)]
#[command(after_help = "A TOML file may give any option (flags given too win); its relative paths are \
relative to its folder:\n\n  \
id = 0\n  \
listen = \"127.0.0.1:7000\"      # Raft messages from the peers\n  \
client = \"127.0.0.1:8000\"      # clients (raftcheck kv)\n  \
data_dir = \"node0\"\n  \
trace = \"node0/trace.ndjson\"   # optional\n  \
fsync = true                   # optional, default true\n  \
seed = 1                       # optional: election-timeout draws\n  \
max_raft_state = 100000        # optional: snapshot above this many bytes\n  \
mutant = \"m6\"                  # optional: a seeded Raft bug\n  \
[peers]                        # every other node: where to send its messages\n  \
1 = \"127.0.0.1:7001\"\n  \
2 = \"127.0.0.1:7002\"\n\n\
Exit codes: 0 stopped by SIGINT or SIGTERM; 2 bad options, bad configuration file, an address that \
cannot be bound, or a data directory or trace file that cannot be loaded (named in the message).")]
pub struct NodeArgs {
    /// A TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// This node's id (0, 1, ...).
    #[arg(long)]
    id: Option<usize>,
    /// Address for the peers' Raft messages.
    #[arg(long)]
    listen: Option<String>,
    /// Address for clients.
    #[arg(long)]
    client: Option<String>,
    /// A peer: ID=ADDRESS (repeat for each other node).
    #[arg(long = "peer", value_name = "ID=ADDRESS")]
    peers: Vec<String>,
    /// The data directory (created if missing).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The node's trace file (continued across restarts).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Do not wait for the disk on saves (measurements only: a power loss
    /// can lose acknowledged writes).
    #[arg(long)]
    no_fsync: bool,
    /// A seeded Raft bug (`raftcheck mutants` lists them).
    #[arg(long)]
    mutant: Option<String>,
    /// Seed of the election timeouts.
    #[arg(long)]
    seed: Option<u64>,
    /// Snapshot once the Raft state reaches this many bytes.
    #[arg(long)]
    max_raft_state: Option<usize>,
}

/// The TOML file's fields.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    id: Option<usize>,
    listen: Option<String>,
    client: Option<String>,
    #[serde(default)]
    peers: BTreeMap<String, String>,
    data_dir: Option<PathBuf>,
    trace: Option<PathBuf>,
    fsync: Option<bool>,
    mutant: Option<String>,
    seed: Option<u64>,
    max_raft_state: Option<usize>,
}

/// Runs the node until it is told to stop; returns the exit code.
pub fn run(args: NodeArgs) -> u8 {
    let config = match config(args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("raftcheck node: {message}");
            return 2;
        }
    };
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    }) {
        eprintln!("raftcheck node: cannot handle signals: {e}");
        return 2;
    }
    let mut node = match ClusterNode::start(&config) {
        Ok(node) => node,
        Err(e) => {
            eprintln!("raftcheck node {}: {e}", config.id);
            return 2;
        }
    };
    eprintln!(
        "raftcheck node {}: Raft on {}, clients on {}, data in {}{}",
        config.id,
        node.raft_addr(),
        node.client_addr(),
        config.data_dir.display(),
        config.trace.as_ref().map(|t| format!(", trace {}", t.display())).unwrap_or_default()
    );
    let _ = stop_rx.recv();
    match node.stop() {
        Ok(()) => {
            eprintln!("raftcheck node {}: stopped", config.id);
            0
        }
        Err(e) => {
            eprintln!("raftcheck node {}: the trace could not be closed: {e}", config.id);
            2
        }
    }
}

/// The node's configuration: the file's, overridden by the flags.
fn config(args: NodeArgs) -> Result<NodeConfig, String> {
    let (file, base) = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let file: FileConfig = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            (file, path.parent().map(Path::to_path_buf).unwrap_or_default())
        }
        None => (FileConfig::default(), PathBuf::new()),
    };
    let from_file = |path: PathBuf| if path.is_relative() { base.join(path) } else { path };
    let missing = |what: &str| format!("no {what}: give --{what} or `{}` in the --config file", what.replace('-', "_"));
    let mut peers = BTreeMap::new();
    for (id, address) in file.peers {
        let id: usize = id.parse().map_err(|_| format!("[peers]: {id:?} is not a node id"))?;
        peers.insert(id, address);
    }
    for peer in &args.peers {
        let (id, address) = peer.split_once('=').ok_or(format!("--peer {peer:?}: expected ID=ADDRESS"))?;
        let id: usize = id.trim().parse().map_err(|_| format!("--peer {peer:?}: {id:?} is not a node id"))?;
        peers.insert(id, address.trim().to_string());
    }
    let mutant = args.mutant.or(file.mutant);
    let (mutant, kv_mutant) = match mutant {
        None => (None, None),
        Some(name) => parse_mutant(&name)?,
    };
    let id = args.id.or(file.id).ok_or_else(|| missing("id"))?;
    let config = NodeConfig {
        id,
        listen: args.listen.or(file.listen).ok_or_else(|| missing("listen"))?,
        client: args.client.or(file.client).ok_or_else(|| missing("client"))?,
        peers,
        data_dir: args.data_dir.or(file.data_dir.map(from_file)).ok_or_else(|| missing("data-dir"))?,
        trace: args.trace.or(file.trace.map(from_file)),
        fsync: !args.no_fsync && file.fsync.unwrap_or(true),
        mutant,
        kv_mutant,
        seed: args.seed.or(file.seed).unwrap_or(id as u64 + 1),
        max_raft_state: args.max_raft_state.or(file.max_raft_state),
    };
    config.check()?;
    for (what, address) in [("--listen", &config.listen), ("--client", &config.client)]
        .into_iter()
        .chain(config.peers.values().map(|a| ("a peer's address", a)))
    {
        if address.to_socket_addrs().map_or(true, |mut a| a.next().is_none()) {
            return Err(format!("{what}: {address:?} is not an address (expected HOST:PORT)"));
        }
    }
    Ok(config)
}
