//! The cluster of a run: N `raftcheck node` processes on loopback, and one
//! [`Proxy`] per ordered pair of nodes, through which every Raft message
//! from `a` to `b` travels (a's transport is given the proxy's address for
//! b). Cutting or slowing those proxies partitions or slows the network; no
//! root and no network namespace are needed. Clients reach the nodes
//! directly.
//!
//! Every node process is started with `PR_SET_PDEATHSIG`, so it dies with
//! the run even if the run itself is killed; dropping the [`Cluster`] kills
//! and reaps every node process it started.

use raftcheck_impl::kv::tcp::{node_status, NodeStatus};
use raftcheck_impl::net::proxy::{LinkMode, Proxy};
use raftcheck_impl::node::{close_trace_of_gone_node, parse_mutant};
use rand::{Rng, SeedableRng};
use std::fs::{self, OpenOptions};
use std::io;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node has to answer its first status request after it starts.
const START_PATIENCE: Duration = Duration::from_secs(15);
/// How long a node has to stop after SIGTERM before it is killed.
const STOP_PATIENCE: Duration = Duration::from_secs(10);

/// How the nodes run.
#[derive(Clone, Debug)]
pub struct NodeSettings {
    /// The `raftcheck` binary to start nodes with.
    pub binary: PathBuf,
    /// A seeded bug passed to every node.
    pub mutant: Option<String>,
    /// Whether saves wait for the disk.
    pub fsync: bool,
    /// Snapshot threshold passed to the nodes.
    pub max_raft_state: Option<usize>,
    /// Seed of the nodes' election timeouts (node i gets `seed + i`).
    pub seed: u64,
}

/// One node: its addresses, folder and process.
struct NodeSlot {
    listen: String,
    client: String,
    dir: PathBuf,
    process: Option<Child>,
    paused: bool,
    /// Processes started for this node so far.
    lives: usize,
}

/// A running cluster.
pub struct Cluster {
    settings: NodeSettings,
    nodes: Vec<NodeSlot>,
    /// `proxies[a][b]`: the link from node a to node b (`None` for a = b).
    proxies: Vec<Vec<Option<Proxy>>>,
    /// Node processes that ended without being told to, in order.
    exits: Vec<UnexpectedExit>,
}

/// A node process that ended on its own (not killed or stopped by the run).
#[derive(Clone, Debug, serde::Serialize)]
pub struct UnexpectedExit {
    /// The node.
    pub node: usize,
    /// How it ended.
    pub status: String,
    /// Its log file.
    pub log: String,
}

/// Why the cluster could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A file, a socket or a process could not be made.
    #[error("{0}")]
    Io(String),
    /// A node process exited or never answered.
    #[error("node {node} did not start: {reason} (its log: {log})")]
    NodeDown {
        /// The node.
        node: usize,
        /// What happened.
        reason: String,
        /// Its log file.
        log: String,
    },
}

/// A loopback address with a free port outside the system's ephemeral
/// range (above it if there is room, else below it, never under 1024).
///
/// Not a port the system hands out for `bind(0)` or an outgoing
/// connection: a node's port stays free for it while it is down (killed,
/// to be restarted), where a port from the ephemeral range could meanwhile
/// be taken by the proxies' or the transports' own sockets. Ports are drawn
/// at random (not from the run's seed), so that runs at once rarely meet;
/// a node that finds its port taken retries for a few seconds.
fn free_address(taken: &mut Vec<u16>) -> Result<String, ClusterError> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok();
    let mut bounds = range.iter().flat_map(|r| r.split_whitespace()).filter_map(|b| b.parse::<u16>().ok());
    let (low, high) = (bounds.next().unwrap_or(32768), bounds.next().unwrap_or(60999));
    let candidates = if high < u16::MAX - 1000 { high + 1..u16::MAX } else { 1024..low.max(1025) };
    let mut rng = rand::rngs::StdRng::from_os_rng();
    for _ in 0..1000 {
        let port = rng.random_range(candidates.clone());
        if taken.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            taken.push(port);
            return Ok(format!("127.0.0.1:{port}"));
        }
    }
    Err(ClusterError::Io(format!("no free port found in {candidates:?}")))
}

impl Cluster {
    /// Starts `size` nodes under `out` (`node0/`, `node1/`, ...: data,
    /// trace, log) and waits until each answers.
    pub fn start(size: usize, out: &Path, settings: NodeSettings) -> Result<Cluster, ClusterError> {
        let mut nodes = Vec::new();
        let mut taken = Vec::new();
        for id in 0..size {
            let dir = out.join(format!("node{id}"));
            fs::create_dir_all(&dir).map_err(|e| ClusterError::Io(format!("{}: {e}", dir.display())))?;
            nodes.push(NodeSlot {
                listen: free_address(&mut taken)?,
                client: free_address(&mut taken)?,
                dir,
                process: None,
                paused: false,
                lives: 0,
            });
        }
        let mut proxies = Vec::new();
        for a in 0..size {
            let mut row = Vec::new();
            for (b, target) in nodes.iter().enumerate() {
                if a == b {
                    row.push(None);
                    continue;
                }
                let listener = TcpListener::bind("127.0.0.1:0")
                    .map_err(|e| ClusterError::Io(format!("cannot start the proxy {a}->{b}: {e}")))?;
                let proxy = Proxy::start(listener, target.listen.clone())
                    .map_err(|e| ClusterError::Io(format!("cannot start the proxy {a}->{b}: {e}")))?;
                row.push(Some(proxy));
            }
            proxies.push(row);
        }
        let mut cluster = Cluster { settings, nodes, proxies, exits: Vec::new() };
        for id in 0..size {
            cluster.spawn(id)?;
        }
        for id in 0..size {
            cluster.wait_ready(id)?;
        }
        Ok(cluster)
    }

    /// The number of nodes.
    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes' client addresses, by id.
    pub fn client_addresses(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.client.clone()).collect()
    }

    /// Each node's trace file, by id.
    pub fn trace_files(&self) -> Vec<PathBuf> {
        self.nodes.iter().map(|n| n.dir.join("trace.ndjson")).collect()
    }

    /// How many processes each node had.
    pub fn lives(&self) -> Vec<usize> {
        self.nodes.iter().map(|n| n.lives).collect()
    }

    fn spawn(&mut self, id: usize) -> Result<(), ClusterError> {
        let node = &self.nodes[id];
        let log = node.dir.join("log.txt");
        let open_log = || OpenOptions::new().create(true).append(true).open(&log);
        let (stdout, stderr) = match (open_log(), open_log()) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Err(ClusterError::Io(format!("{}: {e}", log.display()))),
        };
        let mut command = Command::new(&self.settings.binary);
        command
            .arg("node")
            .args(["--id", &id.to_string(), "--listen", &node.listen, "--client", &node.client])
            .arg("--data-dir")
            .arg(node.dir.join("data"))
            .arg("--trace")
            .arg(node.dir.join("trace.ndjson"))
            .args(["--seed", &(self.settings.seed.wrapping_add(id as u64)).to_string()]);
        for (peer, proxy) in self.proxies[id].iter().enumerate() {
            if let Some(proxy) = proxy {
                command.args(["--peer", &format!("{peer}={}", proxy.local_addr())]);
            }
        }
        if let Some(mutant) = &self.settings.mutant {
            command.args(["--mutant", mutant]);
        }
        if !self.settings.fsync {
            command.arg("--no-fsync");
        }
        if let Some(bytes) = self.settings.max_raft_state {
            command.args(["--max-raft-state", &bytes.to_string()]);
        }
        command.stdin(Stdio::null()).stdout(Stdio::from(stdout)).stderr(Stdio::from(stderr));
        // SAFETY: prctl is async-signal-safe and touches no memory of the
        // parent; it asks the kernel to SIGKILL the child when the thread
        // that started it (the run's main thread) dies, so that no node
        // outlives a run that was itself killed.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| ClusterError::Io(format!("cannot start {}: {e}", self.settings.binary.display())))?;
        let node = &mut self.nodes[id];
        node.process = Some(child);
        node.paused = false;
        node.lives += 1;
        Ok(())
    }

    /// Waits until node `id` answers a status request.
    fn wait_ready(&mut self, id: usize) -> Result<(), ClusterError> {
        let started = Instant::now();
        loop {
            if node_status(&self.nodes[id].client, Duration::from_millis(500)).is_ok() {
                return Ok(());
            }
            let log = self.nodes[id].dir.join("log.txt").display().to_string();
            if let Some(child) = self.nodes[id].process.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.nodes[id].process = None;
                    return Err(ClusterError::NodeDown { node: id, reason: format!("it exited ({status})"), log });
                }
            }
            if started.elapsed() > START_PATIENCE {
                let reason = format!("no answer within {START_PATIENCE:?}");
                return Err(ClusterError::NodeDown { node: id, reason, log });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Each running node's status, by id (`None`: no answer in `timeout`).
    pub fn statuses(&self, timeout: Duration) -> Vec<Option<NodeStatus>> {
        self.nodes
            .iter()
            .map(|n| if n.process.is_some() && !n.paused { node_status(&n.client, timeout).ok() } else { None })
            .collect()
    }

    /// The node that leads the highest term any node reports leading, if
    /// one does within `patience`.
    pub fn leader(&self, patience: Duration) -> Option<usize> {
        let started = Instant::now();
        loop {
            let leaders = self.statuses(Duration::from_millis(300));
            let top = leaders.iter().flatten().filter(|s| s.is_leader).max_by_key(|s| s.term);
            if let Some(status) = top {
                return Some(status.id);
            }
            if started.elapsed() > patience {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Notes every node process that has ended on its own since the last
    /// look (it is restarted by the next [`Cluster::heal`]); returns how
    /// many there were.
    pub fn reap_exited(&mut self) -> usize {
        let mut found = 0;
        for id in 0..self.size() {
            let node = &mut self.nodes[id];
            let Some(child) = node.process.as_mut() else { continue };
            if let Ok(Some(status)) = child.try_wait() {
                node.process = None;
                let log = node.dir.join("log.txt").display().to_string();
                self.exits.push(UnexpectedExit { node: id, status: status.to_string(), log });
                found += 1;
            }
        }
        found
    }

    /// The node processes that ended on their own so far.
    pub fn unexpected_exits(&self) -> &[UnexpectedExit] {
        &self.exits
    }

    /// `kill -9` of node `id`'s process.
    pub fn kill(&mut self, id: usize) {
        if let Some(mut child) = self.nodes[id].process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.nodes[id].paused = false;
    }

    /// Starts node `id` again, on the same data directory and trace file.
    pub fn restart(&mut self, id: usize) -> Result<(), ClusterError> {
        if self.nodes[id].process.is_none() {
            self.spawn(id)?;
            self.wait_ready(id)?;
        }
        Ok(())
    }

    /// Sends `signal` to node `id`'s process.
    fn signal(&self, id: usize, signal: libc::c_int) {
        if let Some(child) = &self.nodes[id].process {
            // SAFETY: kill(2) on the pid of a child this run started and has
            // not reaped (it is still in `process`), so the pid is not reused.
            unsafe {
                libc::kill(child.id() as libc::pid_t, signal);
            }
        }
    }

    /// SIGSTOP of node `id`: it stops dead, its sockets stay open.
    pub fn pause(&mut self, id: usize) {
        self.signal(id, libc::SIGSTOP);
        self.nodes[id].paused = true;
    }

    /// SIGCONT of node `id`.
    pub fn resume(&mut self, id: usize) {
        self.signal(id, libc::SIGCONT);
        self.nodes[id].paused = false;
    }

    /// Sets every link to and from node `id` to `mode`.
    pub fn set_links_of(&self, id: usize, mode: LinkMode) {
        for a in 0..self.size() {
            for b in 0..self.size() {
                if a != b && (a == id || b == id) {
                    if let Some(proxy) = &self.proxies[a][b] {
                        proxy.set_mode(mode);
                    }
                }
            }
        }
    }

    /// Every link up, every paused node resumed, every killed node
    /// restarted.
    pub fn heal(&mut self) -> Result<(), ClusterError> {
        self.reap_exited();
        for row in &self.proxies {
            for proxy in row.iter().flatten() {
                proxy.set_mode(LinkMode::Up);
            }
        }
        for id in 0..self.size() {
            if self.nodes[id].paused {
                self.resume(id);
            }
        }
        for id in 0..self.size() {
            self.restart(id)?;
        }
        Ok(())
    }

    /// Stops every node cleanly (SIGTERM: each closes its trace), killing
    /// any that does not stop in time and closing its trace for it
    /// ([`close_trace_of_gone_node`]); returns the nodes that had to be
    /// killed. A node that ends with a failure is noted as an unexpected
    /// exit.
    pub fn stop(&mut self) -> Result<Vec<usize>, ClusterError> {
        // Exits before this point were restarted by a heal, whose start
        // closed the trace of the life that ended.
        let exits_before = self.exits.len();
        self.reap_exited();
        for id in 0..self.size() {
            if self.nodes[id].paused {
                self.resume(id);
            }
            self.signal(id, libc::SIGTERM);
        }
        let started = Instant::now();
        let mut killed = Vec::new();
        for id in 0..self.size() {
            let Some(mut child) = self.nodes[id].process.take() else { continue };
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => {
                        if !status.success() {
                            let log = self.nodes[id].dir.join("log.txt").display().to_string();
                            self.exits.push(UnexpectedExit { node: id, status: status.to_string(), log });
                        }
                        break;
                    }
                    Ok(None) if started.elapsed() < STOP_PATIENCE => std::thread::sleep(Duration::from_millis(20)),
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        killed.push(id);
                        break;
                    }
                }
            }
        }
        // Every trace ends closed: those the nodes could not close, the run
        // closes as their next start would have.
        let mutant = self.settings.mutant.as_deref().and_then(|m| parse_mutant(m).ok()).and_then(|(core, _)| core);
        let gone = killed.iter().copied().chain(self.exits[exits_before..].iter().map(|e| e.node));
        let mut gone: Vec<usize> = gone.collect();
        gone.sort_unstable();
        gone.dedup();
        for id in gone {
            let dir = &self.nodes[id].dir;
            close_trace_of_gone_node(id, self.size(), mutant, &dir.join("data"), &dir.join("trace.ndjson"))
                .map_err(|e| ClusterError::Io(format!("node {id}'s trace could not be closed: {e}")))?;
        }
        Ok(killed)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.process.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
