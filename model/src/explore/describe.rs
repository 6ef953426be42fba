//! Human-readable descriptions of actions and states, for counterexamples.

use crate::core::io::{
    AppendEntries, AppendEntriesReply, InstallSnapshot, InstallSnapshotReply, Message, RequestVote, RequestVoteReply,
};
use crate::core::node::Role;
use crate::explore::model::Action;
use crate::explore::state::{ClusterState, ModelNode, Server};

/// What `action` does in `state`, in words (`n0 -> n1 deliver RequestVote{..}`).
pub fn action(state: &ClusterState, action: &Action) -> String {
    let envelope = |k: usize| {
        let (e, _) = &state.network[k];
        format!("n{} -> n{} {}", e.from, e.to, message(&e.message))
    };
    match *action {
        Action::Deliver(k) => format!("deliver {}", envelope(k)),
        Action::Duplicate(k) => format!("deliver a duplicate of {}", envelope(k)),
        Action::Drop(k) => format!("lose {}", envelope(k)),
        Action::ElectionTimeout(n) => format!("n{n} election timeout"),
        Action::HeartbeatTimeout(n) => format!("n{n} heartbeat timeout"),
        Action::Propose(n) => format!("client proposes value {} to n{n}", state.proposed + 1),
        Action::Snapshot(n) => format!("n{n}'s service takes a snapshot"),
        Action::Crash(n) => format!("n{n} crashes"),
        Action::Restart(n) => format!("n{n} restarts from its persisted state"),
    }
}

/// The node an action steps, if it steps exactly one.
pub fn actor(state: &ClusterState, action: &Action) -> Option<usize> {
    match *action {
        Action::Deliver(k) | Action::Duplicate(k) => Some(state.network[k].0.to),
        Action::Drop(_) => None,
        Action::ElectionTimeout(n)
        | Action::HeartbeatTimeout(n)
        | Action::Propose(n)
        | Action::Snapshot(n)
        | Action::Crash(n)
        | Action::Restart(n) => Some(n),
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

/// The committed values recorded so far (for explaining a violation).
pub fn committed(state: &ClusterState) -> String {
    let values: Vec<u8> = state.ghost.committed.iter().map(|(v, _)| *v).collect();
    format!("committed values so far: {values:?}")
}
