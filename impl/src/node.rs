//! One key/value server as a process of a real cluster: the KV service and
//! its Raft node (as in the lab), a [`FilePersister`] in a data directory,
//! the TCP transport to its peers, a listener for its peers' messages, a
//! listener for clients, and the node's own trace file.
//!
//! [`ClusterNode::start`] refuses, with an error naming the file, a data
//! directory whose state is damaged, a trace file of another cluster or
//! node, and an address it cannot bind: nothing is half-loaded. Stopping it
//! ([`ClusterNode::stop`]) ends every thread and closes the trace with its
//! end record; a process killed with `kill -9` instead leaves a trace the
//! next start of the same node completes ([`raftcheck_traces::node_file`]).

use crate::kv::tcp::ClientListener;
use crate::kv::{KvMutant, KvServer, KvServerOptions};
use crate::net::tcp::{Listener, ListenerOptions, TcpOptions, TcpTransport};
use crate::raft::{MakeError, Options};
use crate::storage::{decode_state, view, FilePersister, Persister, State, StorageError};
use raftcheck_core::{Config, HeartbeatStyle, Mutant, NodeId};
use raftcheck_traces::{node_file, Header, PersistedSummary, TraceWriter};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything a node process needs to know.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This node's id, in `0..cluster_size`.
    pub id: NodeId,
    /// Where this node listens for its peers' Raft messages.
    pub listen: String,
    /// Where this node listens for clients.
    pub client: String,
    /// Where this node sends its messages for each peer (every other id of
    /// the cluster): the peer's `listen` address, or a proxy before it.
    pub peers: BTreeMap<NodeId, String>,
    /// Where the node keeps its state (created if missing).
    pub data_dir: PathBuf,
    /// The node's own trace file (`None`: no trace).
    pub trace: Option<PathBuf>,
    /// Whether a save waits for the disk (`fsync`).
    pub fsync: bool,
    /// The seeded Raft bug to run with.
    pub mutant: Option<Mutant>,
    /// The seeded service bug to run with.
    pub kv_mutant: Option<KvMutant>,
    /// Seed of the election timeouts.
    pub seed: u64,
    /// Snapshot once the Raft state reaches this many bytes (`None`: never).
    pub max_raft_state: Option<usize>,
}

impl NodeConfig {
    /// The number of servers: this node and its peers.
    pub fn cluster_size(&self) -> usize {
        self.peers.len() + 1
    }

    /// Checks that the ids are `0..cluster_size` with this node among them.
    pub fn check(&self) -> Result<(), String> {
        let n = self.cluster_size();
        if self.peers.contains_key(&self.id) {
            return Err(format!("node {} is listed among its own peers", self.id));
        }
        let mut ids: Vec<NodeId> = self.peers.keys().copied().chain([self.id]).collect();
        ids.sort_unstable();
        if ids != (0..n).collect::<Vec<_>>() {
            return Err(format!("the node ids must be 0..{n} (this node and its peers), got {ids:?}"));
        }
        Ok(())
    }
}

/// Reads a seeded bug's id or name (`raftcheck mutants` lists them): one
/// of the Raft core's or one of the key/value service's.
pub fn parse_mutant(name: &str) -> Result<(Option<Mutant>, Option<KvMutant>), String> {
    match (name.parse::<Mutant>(), name.parse::<KvMutant>()) {
        (Ok(core), _) => Ok((Some(core), None)),
        (_, Ok(service)) => Ok((None, Some(service))),
        (Err(e), Err(_)) => Err(e.to_string()),
    }
}

/// Why a node did not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The configuration is inconsistent.
    #[error("bad configuration: {0}")]
    Config(String),
    /// The data directory cannot be used (damaged or unreadable state).
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// The trace file cannot be continued.
    #[error("{0}")]
    Trace(#[from] node_file::NodeFileError),
    /// An address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The Raft node or the service refused to start.
    #[error("{0}")]
    Make(#[from] MakeError),
}

/// A running node. Dropping it stops it.
pub struct ClusterNode {
    server: Arc<KvServer>,
    peers: Listener,
    clients: ClientListener,
    trace: Option<Arc<TraceWriter>>,
}

/// How long binding a port is retried: a node restarted at once after a
/// kill may find its port still held for a moment.
const BIND_PATIENCE: Duration = Duration::from_secs(5);

fn bind(address: &str) -> Result<TcpListener, NodeError> {
    let started = Instant::now();
    loop {
        match TcpListener::bind(address) {
            Ok(listener) => return Ok(listener),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && started.elapsed() < BIND_PATIENCE => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(source) => return Err(NodeError::Bind { address: address.to_string(), source }),
        }
    }
}

impl ClusterNode {
    /// Loads the node's state, binds its two addresses and starts it.
    pub fn start(config: &NodeConfig) -> Result<ClusterNode, NodeError> {
        config.check().map_err(NodeError::Config)?;
        let n = config.cluster_size();
        let persister = FilePersister::open(&config.data_dir)?;
        let persister = if config.fsync { persister } else { persister.without_sync() };
        let state_file = persister.path().display().to_string();
        let loaded = decode_state(&persister.raft_state(), &persister.snapshot())
            .map_err(|e| StorageError::Corrupt { path: state_file, reason: e.to_string() })?;
        let core_config = core_config(n, config.mutant)?;
        let trace = match &config.trace {
            Some(path) => Some(Arc::new(resume_trace(path, &core_config, config.id, &loaded)?)),
            None => None,
        };
        let raft_socket = bind(&config.listen)?;
        let client_socket = bind(&config.client)?;
        let transport = TcpTransport::new(config.id, config.peers.clone(), TcpOptions::default());
        let options = Options { mutant: config.mutant, trace: trace.clone(), ..Options::lab(config.seed) };
        let persister: Arc<dyn Persister> = Arc::new(persister);
        let server = Arc::new(KvServer::start(
            config.id,
            n,
            Box::new(transport),
            persister,
            KvServerOptions { max_raft_state: config.max_raft_state, mutant: config.kv_mutant, raft: options },
        )?);
        let peers = Listener::serve(raft_socket, server.raft().inbox().clone(), ListenerOptions::new(n))
            .map_err(|source| NodeError::Bind { address: config.listen.clone(), source })?;
        let clients = ClientListener::serve(client_socket, Arc::clone(&server))
            .map_err(|source| NodeError::Bind { address: config.client.clone(), source })?;
        Ok(ClusterNode { server, peers, clients, trace })
    }

    /// The address the peers' messages arrive on.
    pub fn raft_addr(&self) -> std::net::SocketAddr {
        self.peers.local_addr()
    }

    /// The address clients connect to.
    pub fn client_addr(&self) -> std::net::SocketAddr {
        self.clients.local_addr()
    }

    /// Stops the node: no more clients or peer messages, the Raft node
    /// killed (its crash recorded), the trace closed with its end record.
    pub fn stop(&mut self) -> std::io::Result<()> {
        self.clients.stop();
        self.peers.stop();
        self.server.kill();
        match &self.trace {
            Some(trace) => trace.finish().map(|_| ()),
            None => Ok(()),
        }
    }
}

/// The core's configuration of every node of a cluster of `n`.
fn core_config(n: usize, mutant: Option<Mutant>) -> Result<Config, NodeError> {
    Ok(Config::new(n)
        .map_err(|e| NodeError::Config(e.to_string()))?
        .with_heartbeat(HeartbeatStyle::WithEntries)
        .with_mutant(mutant))
}

/// Opens node `id`'s trace file and writes what its last process could not
/// (see [`node_file`]), given what its storage holds now.
fn resume_trace(path: &Path, config: &Config, id: NodeId, loaded: &State) -> Result<TraceWriter, NodeError> {
    let resumed = node_file::open(path, &Header::for_config(config), id)?;
    let saved = PersistedSummary::of(view(loaded));
    resumed
        .close_last_life(id, &saved)
        .map_err(|source| node_file::NodeFileError::Io { path: path.to_path_buf(), source })?;
    Ok(resumed.writer)
}

/// Closes the trace of node `id` of a cluster of `cluster_size` whose
/// process is gone without closing it (killed, or exited on its own): its
/// last life's missing save and crash are written, as its next start would
/// (see [`node_file`]), then the end record. For a run that stops a node
/// it had to kill.
pub fn close_trace_of_gone_node(
    id: NodeId,
    cluster_size: usize,
    mutant: Option<Mutant>,
    data_dir: &Path,
    trace: &Path,
) -> Result<(), NodeError> {
    let persister = FilePersister::open(data_dir)?;
    let state_file = persister.path().display().to_string();
    let loaded = decode_state(&persister.raft_state(), &persister.snapshot())
        .map_err(|e| StorageError::Corrupt { path: state_file, reason: e.to_string() })?;
    let writer = resume_trace(trace, &core_config(cluster_size, mutant)?, id, &loaded)?;
    writer.finish().map_err(|source| node_file::NodeFileError::Io { path: trace.to_path_buf(), source })?;
    Ok(())
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
