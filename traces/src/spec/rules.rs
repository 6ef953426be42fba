//! The safety rules, each a small pure function over what the cluster
//! knows and what an event shows. Each returns the violation it finds.

use super::{violation, Checked, Config, Id, Log, Rule};
use std::collections::BTreeSet;

/// §5.1: terms only increase; a node's term never goes down. After a
/// restart the node reads its term from stable storage, so it is never
/// below what it persisted (it may be below a term it held but had not
/// yet persisted: etcd persists at Ready).
pub fn term_not_lower(known: u64, seen: u64, restart: bool) -> Checked {
    if seen >= known {
        return Ok(());
    }
    let what = if restart { "the node restarted below the term it had persisted" } else { "the node's term went down" };
    Err(violation(Rule::TermMonotonic, what, format!("term >= {known}"), format!("term {seen}")))
}

/// §5.3: a committed entry stays committed; a node's commit index never
/// goes down (after a restart: not below what it persisted).
pub fn commit_not_lower(known: u64, seen: u64, restart: bool) -> Checked {
    if seen >= known {
        return Ok(());
    }
    let what = if restart {
        "the node restarted below the commit index it had persisted"
    } else {
        "the node's commit index went down"
    };
    Err(violation(Rule::CommitMonotonic, what, format!("commit >= {known}"), format!("commit {seen}")))
}

/// §5.2, Figure 3 "Election Safety": at most one leader can be elected in
/// a given term. `earlier` is the leader already known for `term`.
pub fn one_leader(term: u64, node: Id, earlier: Option<(Id, usize)>) -> Checked {
    match earlier {
        Some((other, line)) if other != node => {
            let mut v = violation(
                Rule::ElectionSafety,
                format!("nodes {other} and {node} both led term {term}"),
                format!("only node {other} leads term {term}"),
                format!("node {node} leads term {term}"),
            );
            v.related.push((line, format!("node {other} became leader of term {term}")));
            Err(v)
        }
        _ => Ok(()),
    }
}

/// §5.2 (etcd spec action BecomeLeader): a candidate wins an election if
/// it receives votes from a majority of the servers, of each half of a
/// joint configuration (thesis §4.3); learners do not vote.
pub fn election_quorum(node: Id, term: u64, config: &Config, votes: &BTreeSet<Id>) -> Checked {
    if config.is_quorum(|v| votes.contains(&v)) {
        return Ok(());
    }
    let got: Vec<String> = votes.iter().map(Id::to_string).collect();
    Err(violation(
        Rule::ElectionQuorum,
        format!("node {node} became leader of term {term} without the votes of a quorum"),
        format!("votes from a majority of each configuration's voters: {}", config.describe()),
        format!("votes from {{{}}}", got.join(",")),
    ))
}

/// §5.2: each server votes for at most one candidate in a given term.
/// `earlier` is the candidate the node already voted for in `term`, with
/// the line that shows it.
pub fn one_vote(node: Id, term: u64, candidate: Id, earlier: Option<(Id, usize)>) -> Checked {
    match earlier {
        Some((other, line)) if other != candidate && other != 0 && candidate != 0 => {
            let mut v = violation(
                Rule::OneVote,
                format!("node {node} voted for {other} and for {candidate} in term {term}"),
                format!("one vote in term {term}: for {other}"),
                format!("a vote for {candidate}"),
            );
            v.related.push((line, format!("node {node} voted for {other} in term {term}")));
            Err(v)
        }
        _ => Ok(()),
    }
}

/// §5.4.1: a voter denies its vote if its own log is more up to date
/// than the candidate's (a later last term, or the same last term and a
/// longer log). Where the voter's last term is known only as bounds, only
/// a candidate behind every possible value is refused.
pub fn vote_up_to_date(voter: Id, log: &Log, last_term: u64, last_index: u64) -> Checked {
    let floor = log.last_term_floor();
    let behind = last_term < floor || (last_term == floor && last_index < log.last());
    if !behind {
        return Ok(());
    }
    Err(violation(
        Rule::VoteUpToDate,
        format!("node {voter} granted its vote to a candidate whose log is behind its own"),
        format!("a candidate's last entry at least (term {floor}, index {})", log.last()),
        format!("the candidate's last entry (term {last_term}, index {last_index})"),
    ))
}

/// §5.3, §5.4.2 (etcd spec action AdvanceCommitIndex): a leader commits
/// an entry once a majority of each configuration (thesis §4.3) has
/// acknowledged it; `held` is the highest index so acknowledged (or
/// known committed before).
pub fn leader_commit(node: Id, commit: u64, held: u64, config: &Config) -> Checked {
    if commit <= held {
        return Ok(());
    }
    Err(violation(
        Rule::CommitQuorum,
        format!("leader {node} committed beyond what a quorum of {} acknowledged", config.describe()),
        format!("commit <= {held}"),
        format!("commit {commit}"),
    ))
}

/// §5.3: a follower learns the commit index from a leader (in
/// AppendEntries, heartbeats or a snapshot); `told` is the highest one any
/// leader sent it.
pub fn follower_commit(node: Id, commit: u64, told: u64) -> Checked {
    if commit <= told {
        return Ok(());
    }
    Err(violation(
        Rule::CommitQuorum,
        format!("node {node} committed beyond what a leader told it"),
        format!("commit <= {told}"),
        format!("commit {commit}"),
    ))
}

/// §5.3: a node commits only entries in its log.
pub fn commit_within_log(node: Id, commit: u64, last: u64) -> Checked {
    if commit <= last {
        return Ok(());
    }
    Err(violation(
        Rule::CommitQuorum,
        format!("node {node} committed beyond the end of its log"),
        format!("commit <= {last}"),
        format!("commit {commit}"),
    ))
}

/// §5.3: the leader sends its own commit index (etcd caps it further by
/// the follower's match): never more than it has committed.
pub fn told_commit_held(node: Id, told: u64, commit: u64) -> Checked {
    if told <= commit {
        return Ok(());
    }
    Err(violation(
        Rule::CommitQuorum,
        format!("node {node} sent a commit index beyond its own"),
        format!("a commit index <= {commit}"),
        format!("commit {told} in the message"),
    ))
}

/// A message is received only if it was sent: the network may lose,
/// delay, reorder or duplicate messages (§5.1), but not make them up.
pub fn message_sent(sent: bool, what: impl FnOnce() -> String) -> Checked {
    if sent {
        return Ok(());
    }
    Err(violation(
        Rule::MessageSent,
        "a message was received that was never sent",
        "a send of this message before",
        what(),
    ))
}
