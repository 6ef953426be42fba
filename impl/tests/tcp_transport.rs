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
    persister: Arc<MemoryPersister>,
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
        .map(|(me, socket)| start_node(me, socket, &addresses, Arc::new(MemoryPersister::new())))
        .collect()
}

/// Node `me`, restored from `persister`, listening on `socket`.
fn start_node(
    me: usize,
    socket: TcpListener,
    addresses: &BTreeMap<usize, String>,
    persister: Arc<MemoryPersister>,
) -> Node {
    let transport = TcpTransport::new(me, addresses.clone(), TcpOptions::default());
    let stats = transport.stats();
    let (apply, applied) = mpsc::sync_channel(1024);
    let raft = Raft::make(me, NODES, Box::new(transport), persister.clone(), apply, Options::lab(me as u64 + 1))
        .expect("the node starts");
    let listener = Listener::serve(socket, raft.inbox().clone(), ListenerOptions::new(NODES)).unwrap();
    Node { raft, listener, transport: stats, applied, persister, log: Vec::new() }
}

impl Node {
    /// Kills the node and stops its listener, and checks that every thread
    /// of its transport and listener ended.
    fn stop(&mut self) {
        self.raft.kill();
        assert_eq!(self.transport.writers_running.load(Ordering::SeqCst), 0, "the killed node's writers ended");
        self.listener.stop();
        assert_eq!(self.listener.stats().connections_open.load(Ordering::SeqCst), 0);
    }
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

/// The one node that leads the highest term any live node leads.
fn leader(nodes: &[Node]) -> Option<usize> {
    let leaders: Vec<(u64, usize)> = nodes
        .iter()
        .enumerate()
        .filter(|(_, node)| !node.raft.killed())
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

/// As the lab's `one`: proposes `command` to whoever leads now, and again
/// if it is not applied by every node of `on` within a few seconds
/// (leadership moved on a loaded machine).
fn commit(nodes: &mut [Node], command: &[u8], on: &[usize]) {
    eventually("the command to be committed", || {
        let id = leader(&nodes[..])?;
        let started = match nodes[id].raft.start(command.to_vec()) {
            Ok(started) => started,
            Err(StartError::NotLeader { .. }) => return None,
            Err(e) => panic!("node {id}: {e}"),
        };
        let index = started.index as usize;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            for &k in on {
                nodes[k].drain();
            }
            if on.iter().all(|&k| nodes[k].log.len() >= index) {
                return (nodes[on[0]].log[index - 1] == *command).then_some(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    });
}

#[test]
fn a_three_node_cluster_over_tcp_elects_a_leader_and_commits_on_all_three() {
    let mut nodes = cluster();
    eventually("a leader", || leader(&nodes));
    let commands: Vec<Vec<u8>> = (1..=5u8).map(|k| format!("command {k}").into_bytes()).collect();
    for command in &commands {
        commit(&mut nodes, command, &[0, 1, 2]);
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
    for node in &mut nodes {
        node.stop();
    }
}

#[test]
fn a_follower_killed_and_restarted_on_its_address_reconnects_and_catches_up() {
    let mut nodes = cluster();
    let addresses: BTreeMap<usize, String> =
        nodes.iter().enumerate().map(|(id, node)| (id, node.listener.local_addr().to_string())).collect();
    commit(&mut nodes, b"before", &[0, 1, 2]);
    // Kill a follower; the other two go on without it.
    let leader = eventually("a leader", || leader(&nodes));
    let follower = (leader + 1) % NODES;
    let others: Vec<usize> = (0..NODES).filter(|&k| k != follower).collect();
    nodes[follower].stop();
    commit(&mut nodes, b"while down", &others);
    // It comes back on the same address, restored from what it saved; its
    // peers' writers reconnect to it.
    let socket = TcpListener::bind(&addresses[&follower]).expect("the address is free again");
    let persister = nodes[follower].persister.clone();
    let restarted = start_node(follower, socket, &addresses, persister);
    let _killed = std::mem::replace(&mut nodes[follower], restarted);
    commit(&mut nodes, b"after", &[0, 1, 2]);
    let expected: Vec<&[u8]> = vec![b"before", b"while down", b"after"];
    for node in &nodes {
        let applied: Vec<&[u8]> = node.log.iter().map(|c| c.as_slice()).filter(|c| expected.contains(c)).collect();
        assert_eq!(applied.first(), Some(&expected[0]), "node {}", node.raft.id());
        for command in &expected {
            assert!(
                applied.contains(command),
                "node {} applied {:?}",
                node.raft.id(),
                String::from_utf8_lossy(command)
            );
        }
    }
    for node in &mut nodes {
        node.stop();
    }
}
