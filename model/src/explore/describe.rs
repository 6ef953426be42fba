//! Human-readable descriptions of actions and states, for counterexamples.

use crate::explore::action::{Action, Step};
use crate::explore::state::{ClusterState, ModelNode, Server};
use raftcheck_core::io::{
    AppendEntries, AppendEntriesReply, InstallSnapshot, InstallSnapshotReply, Message, RequestVote, RequestVoteReply,
};
use raftcheck_core::node::Role;

/// What `step` does in `state`, in words.
fn step(state: &ClusterState, step: Step) -> String {
    let envelope = |k: usize| {
        let (e, _) = &state.network[k];
        format!("n{} -> n{} {}", e.from, e.to, message(&e.message))
    };
    match step {
        Step::Deliver(k) => format!("deliver {}", envelope(k)),
        Step::Duplicate(k) => format!("deliver a duplicate of {}", envelope(k)),
        Step::ElectionTimeout(n) => format!("n{n} election timeout"),
        Step::HeartbeatTimeout(n) => format!("n{n} heartbeat timeout"),
        Step::Propose(n) => format!("client proposes value {} to n{n}", state.proposed + 1),
        Step::Snapshot(n) => format!("n{n}'s service takes a snapshot"),
    }
}

/// What `action` does in `state`, in words (`deliver n0 -> n1 RequestVote(..)`).
pub fn action(state: &ClusterState, action: &Action) -> String {
    match *action {
        Action::Step(s) => step(state, s),
        Action::CrashDuring(s, groups) => {
            let (n, _) = stepped(state, s);
            let done = match groups {
                1 => "its first group of outputs".to_string(),
                g => format!("its first {g} groups of outputs"),
            };
            format!("{}, but n{n} crashes after {done}", step(state, s))
        }
        Action::Drop(k) => {
            let (e, _) = &state.network[k];
            format!("lose n{} -> n{} {}", e.from, e.to, message(&e.message))
        }
        Action::Crash(n) => format!("n{n} crashes"),
        Action::Restart(n) => format!("n{n} restarts from its persisted state"),
    }
}

/// The node `s` steps (and whether it is a delivery).
fn stepped(state: &ClusterState, s: Step) -> (usize, bool) {
    match s {
        Step::Deliver(k) | Step::Duplicate(k) => (state.network[k].0.to, true),
        Step::ElectionTimeout(n) | Step::HeartbeatTimeout(n) | Step::Propose(n) | Step::Snapshot(n) => (n, false),
    }
}

/// The node an action steps, if it steps exactly one.
pub fn actor(state: &ClusterState, action: &Action) -> Option<usize> {
    match *action {
        Action::Step(s) | Action::CrashDuring(s, _) => Some(stepped(state, s).0),
        Action::Drop(_) => None,
        Action::Crash(n) | Action::Restart(n) => Some(n),
    }
}

/// A message in one line.
pub fn message(m: &Message<u8, Vec<u8>>) -> String {
    match m {
        Message::RequestVote(RequestVote { term, last_log_index, last_log_term }) => {
            format!("RequestVote(term {term}, last log {last_log_index}@t{last_log_term})")
        }
        Message::RequestVoteReply(RequestVoteReply { term, vote_granted }) => {
            format!("RequestVoteReply(term {term}, {})", if *vote_granted { "granted" } else { "refused" })
        }
        Message::AppendEntries(AppendEntries { term, prev_log_index, prev_log_term, entries, leader_commit }) => {
            let entries: Vec<String> = entries.iter().map(|e| format!("v{}@t{}", e.command, e.term)).collect();
            format!(
                "AppendEntries(term {term}, prev {prev_log_index}@t{prev_log_term}, entries [{}], commit {leader_commit})",
                entries.join(" ")
            )
        }
        Message::AppendEntriesReply(AppendEntriesReply {
            term,
            success,
            match_index,
            conflict_term,
            conflict_index,
        }) => {
            if *success {
                format!("AppendEntriesReply(term {term}, ok, match {match_index})")
            } else {
                let ct = conflict_term.map_or("none".to_string(), |t| format!("t{t}"));
                format!("AppendEntriesReply(term {term}, rejected, conflict {ct} at {conflict_index})")
            }
        }
        Message::InstallSnapshot(InstallSnapshot { term, last_included_index, last_included_term, data }) => {
            format!(
                "InstallSnapshot(term {term}, through {last_included_index}@t{last_included_term}, values {data:?})"
            )
        }
        Message::InstallSnapshotReply(InstallSnapshotReply { term, last_included_index, accepted }) => {
            let verdict = if *accepted { "installed" } else { "refused" };
            format!("InstallSnapshotReply(term {term}, through {last_included_index}, {verdict})")
        }
    }
}

/// A node in one line: role, term, vote, log, commit and applied indices.
pub fn node(n: &ModelNode) -> String {
    let role = match n.role() {
        Role::Leader { match_index, .. } => format!("leader    match {match_index:?}"),
        Role::Candidate { votes } => format!("candidate votes {:#b}", votes),
        Role::Follower => "follower".to_string(),
    };
    let mut log = Vec::new();
    let snap = n.log().snapshot_index();
    if snap > 0 {
        log.push(format!("snapshot..{snap}@t{}", n.log().snapshot_term()));
    }
    for (k, e) in n.log().retained().iter().enumerate() {
        log.push(format!("{}:v{}@t{}", snap + 1 + k as u64, e.command, e.term));
    }
    let vote = n.voted_for().map_or("-".to_string(), |v| format!("n{v}"));
    format!(
        "term {} vote {vote} log [{}] commit {} applied {} {role}",
        n.term(),
        log.join(" "),
        n.commit_index(),
        n.last_applied()
    )
}

/// A server in one line (`down` if crashed).
pub fn server(id: usize, s: &Server) -> String {
    match &s.node {
        Some(n) => format!("n{id}: {}", node(n)),
        None => {
            format!("n{id}: down (persisted term {}, log up to {})", s.persisted.term, s.persisted.log.last_index())
        }
    }
}

/// The whole cluster, one line per server plus the network.
pub fn cluster(state: &ClusterState) -> Vec<String> {
    let mut lines: Vec<String> = state.servers.iter().enumerate().map(|(i, s)| server(i, s)).collect();
    lines.push(format!("in flight: {} message(s)", state.network.iter().map(|(_, c)| *c as usize).sum::<usize>()));
    lines
}

/// The committed values recorded so far, and what broke (for explaining a
/// violation).
pub fn committed(state: &ClusterState) -> Vec<String> {
    let values: Vec<u8> = state.history.committed.iter().map(|(v, _)| *v).collect();
    let mut lines = vec![format!("committed values so far: {values:?}")];
    if let Some(detail) = &state.history.detail {
        lines.push(format!("what broke: {detail}"));
    }
    lines
}
