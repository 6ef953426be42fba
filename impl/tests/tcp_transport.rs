//! A three-node cluster of the runtime's Raft over real TCP on 127.0.0.1
//! (ports the system picks): it elects a leader and commits commands on all
//! three. Every wait polls for up to 30 s and nothing asserts on speed.
//! The framing and the transport's failure modes are tested beside the code
//! (`src/net/tcp`).

use raftcheck_impl::net::tcp::{Listener, ListenerOptions, TcpOptions, TcpStats, TcpTransport};
use raftcheck_impl::raft::{ApplyMsg, Options, Raft, StartError};
use raftcheck_impl::storage::MemoryPersister;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);
const NODES: usize = 3;

struct Node {
    raft: Raft,
    listener: Listener,
    transport: Arc<TcpStats>,
    applied: Receiver<ApplyMsg>,
    /// The commands applied so far, in order.
    log: Vec<Vec<u8>>,
}

impl Node {
    /// Reads what the applier handed over since the last call.
    fn drain(&mut self) {
        while let Ok(message) = self.applied.try_recv() {
            match message {
                ApplyMsg::Command { index, command, .. } => {
                    assert_eq!(index as usize, self.log.len() + 1, "node {} applies in order", self.raft.id());
                    self.log.push(command);
                }
                ApplyMsg::Snapshot { .. } => panic!("no snapshot was taken"),
            }
        }
    }
}

fn cluster() -> Vec<Node> {
    // Bind every listener first, so that every node knows every address.
    let sockets: Vec<TcpListener> = (0..NODES).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let addresses: BTreeMap<usize, String> =
        sockets.iter().enumerate().map(|(id, s)| (id, s.local_addr().unwrap().to_string())).collect();
    sockets
        .into_iter()
        .enumerate()
        .map(|(me, socket)| {
            let transport = TcpTransport::new(me, addresses.clone(), TcpOptions::default());
            let stats = transport.stats();
            let (apply, applied) = mpsc::sync_channel(1024);
            let persister = Arc::new(MemoryPersister::new());
            let raft = Raft::make(me, NODES, Box::new(transport), persister, apply, Options::lab(me as u64 + 1))
                .expect("the node starts");
            let listener = Listener::serve(socket, raft.inbox().clone(), ListenerOptions::new(NODES)).unwrap();
            Node { raft, listener, transport: stats, applied, log: Vec::new() }
        })
        .collect()
}

/// Polls `find` until it returns something or [`PATIENCE`] runs out.
fn eventually<T>(what: &str, mut find: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = find() {
            return found;
        }
        assert!(start.elapsed() < PATIENCE, "waited {PATIENCE:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The one node that leads the highest term any node leads.
fn leader(nodes: &[Node]) -> Option<usize> {
    let leaders: Vec<(u64, usize)> = nodes
        .iter()
        .enumerate()
        .filter_map(|(id, node)| match node.raft.get_state() {
            (term, true) => Some((term, id)),
            _ => None,
        })
        .collect();
    let top = leaders.iter().map(|(term, _)| *term).max()?;
    let at_top: Vec<usize> = leaders.iter().filter(|(term, _)| *term == top).map(|(_, id)| *id).collect();
    assert!(at_top.len() <= 1, "two leaders in term {top}: {at_top:?}");
    at_top.first().copied()
}

#[test]
fn a_three_node_cluster_over_tcp_elects_a_leader_and_commits_on_all_three() {
    let mut nodes = cluster();
    eventually("a leader", || leader(&nodes));
    let commands: Vec<Vec<u8>> = (1..=5u8).map(|k| format!("command {k}").into_bytes()).collect();
    for command in &commands {
        // As the lab's `one`: propose to whoever leads now, and again if the
        // command is not applied everywhere within a few seconds (leadership
        // moved on a loaded machine).
        eventually("the command to be committed on every node", || {
            let id = leader(&nodes)?;
            let started = match nodes[id].raft.start(command.clone()) {
                Ok(started) => started,
                Err(StartError::NotLeader { .. }) => return None,
                Err(e) => panic!("node {id}: {e}"),
            };
            let index = started.index as usize;
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                for node in &mut nodes {
                    node.drain();
                }
                if nodes.iter().all(|node| node.log.len() >= index) {
                    return (nodes[0].log[index - 1] == *command).then_some(());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            None
        });
    }
    // Agreement on what all have applied (a retried command may have been
    // committed twice, and some node may have applied more by now).
    let common = nodes.iter().map(|node| node.log.len()).min().unwrap_or(0);
    for node in &nodes {
        assert_eq!(node.log[..common], nodes[0].log[..common], "node {} applied what node 0 applied", node.raft.id());
        for command in &commands {
            assert!(
                node.log.contains(command),
                "node {} applied {:?}",
                node.raft.id(),
                String::from_utf8_lossy(command)
            );
        }
    }
    for node in &nodes {
        assert!(node.transport.written.load(Ordering::SeqCst) > 0);
        assert!(node.listener.stats().delivered.load(Ordering::SeqCst) > 0);
    }
    // Stop everything the test started, and check it stopped.
    for mut node in nodes {
        node.raft.kill();
        assert_eq!(node.transport.writers_running.load(Ordering::SeqCst), 0, "the killed node's writers ended");
        node.listener.stop();
        assert_eq!(node.listener.stats().connections_open.load(Ordering::SeqCst), 0);
    }
}
