//! Helpers shared by the paper-driven scenario tests of the Raft core
//! (`core_*.rs`): building nodes in a given state, feeding them inputs and
//! picking apart what they output.
//!
//! Conventions: commands are `u8` and equal to the entry's index (so a
//! command tells where it was proposed), snapshot data is `Vec<u8>`, and a
//! log is written as the list of its entries' terms, `[1, 1, 2]`.

#![allow(dead_code)]

use std::collections::VecDeque;

use raftcheck_core::io::{
    AppendEntries, AppendEntriesReply, InstallSnapshot, InstallSnapshotReply, RequestVote, RequestVoteReply,
};
use raftcheck_core::{Config, Entry, Index, Input, Log, Message, Node, NodeId, Output, PersistentState, Role, Term};

pub type N = Node<u8, Vec<u8>>;
pub type Msg = Message<u8, Vec<u8>>;
pub type Out = Output<u8, Vec<u8>>;
pub type In = Input<u8, Vec<u8>>;

/// The command stored at `index` in every test log.
pub fn cmd(index: Index) -> u8 {
    index as u8
}

/// Entries with the given terms, the first at global index `first`.
pub fn entries(first: Index, terms: &[Term]) -> Vec<Entry<u8>> {
    terms.iter().enumerate().map(|(k, &term)| Entry { term, command: cmd(first + k as Index) }).collect()
}

/// A log holding entries with the given terms from index 1.
pub fn log_of(terms: &[Term]) -> Log<u8> {
    let mut log = Log::new();
    for e in entries(1, terms) {
        log.append(e);
    }
    log
}

/// The terms of the entries a log still retains (after its snapshot).
pub fn terms_of(log: &Log<u8>) -> Vec<Term> {
    log.retained().iter().map(|e| e.term).collect()
}

/// A follower restarted in `term` with `voted_for` and a log of `terms`.
pub fn node(id: NodeId, term: Term, voted_for: Option<NodeId>, terms: &[Term]) -> N {
    Node::restart(id, PersistentState { term, voted_for, log: log_of(terms), snapshot: None }).unwrap()
}

/// A follower whose log of `terms` was compacted through `snap_index`,
/// with snapshot `data`.
pub fn node_with_snapshot(id: NodeId, term: Term, terms: &[Term], snap_index: Index, data: Vec<u8>) -> N {
    let mut log = log_of(terms);
    log.compact_through(snap_index);
    Node::restart(id, PersistentState { term, voted_for: None, log, snapshot: Some(data) }).unwrap()
}

/// Steps `n` and, in a correct configuration, checks its invariants after.
pub fn step(n: &mut N, cfg: &Config, input: In) -> Vec<Out> {
    let outputs = n.step(cfg, input);
    if cfg.mutant.is_none() {
        assert_eq!(n.check_invariants(cfg), Ok(()), "invariants of node {} after a step", n.id());
    }
    outputs
}

/// Delivers `message` from `from` to `n`.
pub fn recv(n: &mut N, cfg: &Config, from: NodeId, message: Msg) -> Vec<Out> {
    step(n, cfg, Input::Receive { from, message })
}

/// The output that sends `message` to `to`.
pub fn send(to: NodeId, message: Msg) -> Out {
    Output::Send { to, message }
}

/// The messages among `outputs`, with their destinations, in order.
pub fn sent(outputs: &[Out]) -> Vec<(NodeId, Msg)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message } => Some((*to, message.clone())),
            _ => None,
        })
        .collect()
}

/// The indices of the commands applied among `outputs`, in order.
pub fn applied(outputs: &[Out]) -> Vec<Index> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::ApplyCommand { index, .. } => Some(*index),
            _ => None,
        })
        .collect()
}

pub fn rv(term: Term, last_log_index: Index, last_log_term: Term) -> Msg {
    Message::RequestVote(RequestVote { term, last_log_index, last_log_term })
}

pub fn vote(term: Term, vote_granted: bool) -> Msg {
    Message::RequestVoteReply(RequestVoteReply { term, vote_granted })
}

pub fn ae(term: Term, prev_log_index: Index, prev_log_term: Term, new_terms: &[Term], leader_commit: Index) -> Msg {
    Message::AppendEntries(AppendEntries {
        term,
        prev_log_index,
        prev_log_term,
        entries: entries(prev_log_index + 1, new_terms),
        leader_commit,
    })
}

pub fn ae_ok(term: Term, match_index: Index) -> Msg {
    Message::AppendEntriesReply(AppendEntriesReply {
        term,
        success: true,
        match_index,
        conflict_term: None,
        conflict_index: 0,
    })
}

pub fn ae_reject(term: Term, conflict_term: Option<Term>, conflict_index: Index) -> Msg {
    Message::AppendEntriesReply(AppendEntriesReply {
        term,
        success: false,
        match_index: 0,
        conflict_term,
        conflict_index,
    })
}

pub fn snap_msg(term: Term, last_included_index: Index, last_included_term: Term, data: Vec<u8>) -> Msg {
    Message::InstallSnapshot(InstallSnapshot { term, last_included_index, last_included_term, data })
}

pub fn snap_reply(term: Term, last_included_index: Index) -> Msg {
    Message::InstallSnapshotReply(InstallSnapshotReply { term, last_included_index, accepted: true })
}

/// The reply of a follower that refused a snapshot (older term, or stale).
pub fn snap_refused(term: Term, last_included_index: Index) -> Msg {
    Message::InstallSnapshotReply(InstallSnapshotReply { term, last_included_index, accepted: false })
}

/// Runs an election on `n` (which must be able to win it): election timeout,
/// then granted votes from the lowest-numbered peers until it leads.
/// Returns the outputs of the vote that made it leader.
pub fn elect(n: &mut N, cfg: &Config) -> Vec<Out> {
    let mut outputs = step(n, cfg, Input::ElectionTimeout);
    let term = n.term();
    for peer in cfg.peers(n.id()).collect::<Vec<_>>() {
        if n.is_leader() {
            break;
        }
        outputs = recv(n, cfg, peer, vote(term, true));
    }
    assert!(n.is_leader(), "node {} should have won the election", n.id());
    outputs
}

/// A leader of `term` whose log has the given terms: restarted in `term - 1`
/// and elected once.
pub fn leader(id: NodeId, cfg: &Config, term: Term, terms: &[Term]) -> N {
    let mut n = node(id, term - 1, None, terms);
    elect(&mut n, cfg);
    assert_eq!(n.term(), term);
    n
}

/// A leader's `next_index` vector.
pub fn next_index(n: &N) -> Vec<Index> {
    match n.role() {
        Role::Leader { next_index, .. } => next_index.clone(),
        other => panic!("node {} is a {}, not a leader", n.id(), other.name()),
    }
}

/// A leader's `match_index` vector.
pub fn match_index(n: &N) -> Vec<Index> {
    match n.role() {
        Role::Leader { match_index, .. } => match_index.clone(),
        other => panic!("node {} is a {}, not a leader", n.id(), other.name()),
    }
}

/// A candidate's vote bitmask.
pub fn votes(n: &N) -> u64 {
    match n.role() {
        Role::Candidate { votes } => *votes,
        other => panic!("node {} is a {}, not a candidate", n.id(), other.name()),
    }
}

/// The config of a correct cluster of `n` servers with the given mutant.
pub fn with_mutant(cluster_size: usize, mutant: raftcheck_core::Mutant) -> Config {
    Config::new(cluster_size).unwrap().with_mutant(Some(mutant))
}

/// A small cluster over a FIFO network, with each server's "disk" (what it
/// last persisted) and what its service applied. Every step is checked
/// against the Persist contract: `Persist` comes first, exactly when the
/// persistent state changed.
pub struct Cluster {
    pub cfg: Config,
    pub nodes: Vec<N>,
    pub disk: Vec<PersistentState<u8, Vec<u8>>>,
    pub net: VecDeque<(NodeId, NodeId, Msg)>,
    pub applied: Vec<Vec<(Index, u8)>>,
}

impl Cluster {
    /// Servers restarted from `(term, log terms)` each, ids in order.
    pub fn new(cfg: Config, logs: &[(Term, &[Term])]) -> Self {
        let nodes: Vec<N> = logs.iter().enumerate().map(|(id, (term, terms))| node(id, *term, None, terms)).collect();
        let disk = nodes.iter().map(|n| n.persistent_state(&cfg)).collect();
        Cluster { cfg, applied: vec![Vec::new(); nodes.len()], disk, nodes, net: VecDeque::new() }
    }

    /// Steps server `id`, checks the Persist contract, writes its disk,
    /// queues its messages and records what it applied.
    pub fn input(&mut self, id: NodeId, input: In) -> Vec<Out> {
        let before = self.nodes[id].persistent_state(&self.cfg);
        let out = step(&mut self.nodes[id], &self.cfg, input.clone());
        let after = self.nodes[id].persistent_state(&self.cfg);
        let persists = out.iter().filter(|o| **o == Output::Persist).count();
        assert!(persists <= 1 && (persists == 0 || out[0] == Output::Persist), "Persist not first: {out:?}");
        assert_eq!(persists == 1, before != after, "node {id} on {input:?}: Persist iff the state changed: {out:?}");
        if persists == 1 {
            self.disk[id] = after;
        }
        for o in &out {
            match o {
                Output::Send { to, message } => self.net.push_back((id, *to, message.clone())),
                Output::ApplyCommand { index, command, .. } => self.applied[id].push((*index, *command)),
                _ => {}
            }
        }
        out
    }

    /// Delivers every message, in order, until the network is empty.
    pub fn deliver_all(&mut self) {
        while let Some((from, to, message)) = self.net.pop_front() {
            self.input(to, Input::Receive { from, message });
        }
    }

    /// Delivers, in order, every message between servers of `group` (and
    /// the messages that causes) until none is left; messages from or to a
    /// server outside `group` are lost (a partition, or a crashed server).
    pub fn deliver_only(&mut self, group: &[NodeId]) {
        while let Some((from, to, message)) = self.net.pop_front() {
            if group.contains(&from) && group.contains(&to) {
                self.input(to, Input::Receive { from, message });
            }
        }
    }

    /// Crashes server `id` and restarts it from its disk; its service starts
    /// over (no snapshot in these scenarios), and messages to it are lost.
    pub fn crash_and_restart(&mut self, id: NodeId) {
        self.nodes[id] = Node::restart(id, self.disk[id].clone()).unwrap();
        self.applied[id].clear();
        self.net.retain(|(_, to, _)| *to != id);
    }
}
