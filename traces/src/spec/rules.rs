//! The safety rules, each a small pure function over what the cluster
//! knows and what an event shows. Each returns the violation it finds.

use super::{violation, Bounds, Checked, Config, Id, Log, Rule};
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

/// §5.2: a candidate votes for itself in the term it campaigns in; a
/// vote for another node in that term (`vote`, 0 for none) is a second one.
pub fn candidate_votes_for_itself(node: Id, term: u64, vote: Id) -> Checked {
    if vote == 0 || vote == node {
        return Ok(());
    }
    Err(violation(
        Rule::OneVote,
        format!("node {node} is a candidate in term {term}, in which it voted for node {vote}"),
        format!("a candidate's vote for itself in term {term}"),
        format!("a vote for node {vote}"),
    ))
}

/// §5.3 (Log Matching; Figure 2, AppendEntries receiver rule 3): after
/// the entries an AppendEntries brought, ending at `end` with a term in
/// `copied`, a kept entry `end + 1` with a term in `next` must not be of
/// an earlier term: terms never go down along a log, so such an entry
/// conflicted with the leader's and had to be removed.
pub fn suffix_after_append(node: Id, end: u64, copied: Bounds, next: Bounds) -> Checked {
    if next.hi >= copied.lo {
        return Ok(());
    }
    Err(violation(
        Rule::LogMatching,
        format!(
            "node {node} kept entry {} after the leader's entries, though it is of an earlier term",
            end.saturating_add(1)
        ),
        format!("entries after {end} removed, or of a term >= {}", copied.lo),
        format!("entry {} of a term <= {}", end.saturating_add(1), next.hi),
    ))
}

/// §7 (Figure 13, InstallSnapshot receiver rule 6; etcd's `restore`): a
/// receiver whose log already holds the snapshot's last entry (`holds`:
/// the entry at `index` is of the snapshot's term, or within the commit
/// index) keeps the entries after it; its log, which ended at `had`, may
/// not end earlier (`last`) when it answers. Entries it held past the
/// snapshot (acknowledged to a leader, perhaps counted toward a commit)
/// would be lost.
pub fn snapshot_keeps_what_matches(node: Id, index: u64, holds: bool, had: u64, last: u64) -> Checked {
    if !holds || last >= had {
        return Ok(());
    }
    Err(violation(
        Rule::LogMatching,
        format!(
            "node {node} dropped entries {}..={had} on a snapshot through index {index}, whose last entry its log \
             already held",
            last.saturating_add(1)
        ),
        format!("a log still ending at {had} (the entries after a matching snapshot point are kept)"),
        format!("a log ending at {last}"),
    ))
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

/// §5.4.2 (Figure 8; etcd spec action AdvanceCommitIndex): a leader
/// commits by counting replicas only an entry of its own term; earlier
/// entries are committed with it, never on their own. `known` bounds the
/// term of the entry at `commit`.
pub fn commit_current_term(node: Id, commit: u64, term: u64, known: Option<Bounds>) -> Checked {
    match known {
        Some(b) if b.hi < term => Err(violation(
            Rule::CommitQuorum,
            format!("leader {node} committed an entry of an earlier term by counting replicas"),
            format!("the entry at the new commit index {commit} of term {term}"),
            format!("entry {commit} of a term at most {}", b.hi),
        )),
        _ => Ok(()),
    }
}

/// §5.4 (Leader Completeness, State Machine Safety): a committed entry
/// is never removed from a log; a node's log never ends below the commit
/// index it held.
pub fn log_keeps_committed(node: Id, commit: u64, last: u64) -> Checked {
    if last >= commit {
        return Ok(());
    }
    Err(violation(
        Rule::CommittedKept,
        format!("node {node}'s log was cut below its commit index: committed entries were removed"),
        format!("a log reaching at least index {commit}"),
        format!("a log ending at {last}"),
    ))
}

/// §5.4: a committed entry is never overwritten: an AppendEntries the
/// node accepts may not replace an entry it committed with one of another
/// term (as far as the bounds of both tell).
pub fn committed_entry_kept(node: Id, index: u64, had: Option<Bounds>, new: Bounds) -> Checked {
    match had {
        Some(old) if new.hi < old.lo || new.lo > old.hi => Err(violation(
            Rule::CommittedKept,
            format!("node {node} overwrote its committed entry {index} with an entry of another term"),
            format!("entry {index} of a term in {}..={}", old.lo, old.hi),
            format!("an entry of a term in {}..={}", new.lo, new.hi),
        )),
        _ => Ok(()),
    }
}

/// §5.3: an entry is applied to the state machine only once committed;
/// §7: a snapshot (and so a log compaction) covers only committed
/// entries. `what` says which: "applied", "compacted its log up to".
pub fn only_committed_applied(node: Id, what: &str, index: u64, commit: u64) -> Checked {
    if index <= commit {
        return Ok(());
    }
    Err(violation(
        Rule::AppliedCommitted,
        format!("node {node} {what} index {index}, beyond its commit index {commit}"),
        format!("an index <= {commit}"),
        format!("index {index}"),
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

/// §5.3, the AppendEntries consistency check (Figure 2, receiver rule 2):
/// a follower accepts entries only if its log holds an entry at the
/// previous index with the previous term. `had` is the follower's last
/// index when the request arrived; `known` the bounds of its entry there.
pub fn append_matches(node: Id, prev: u64, prev_term: u64, had: u64, known: Option<Bounds>) -> Checked {
    let (expected, seen) = if prev > had {
        (format!("a log reaching index {prev}"), format!("a log ending at {had}"))
    } else {
        match known {
            Some(b) if prev_term < b.lo || prev_term > b.hi => {
                let term =
                    if b.lo == b.hi { format!("term {}", b.lo) } else { format!("a term in {}..={}", b.lo, b.hi) };
                (format!("entry {prev} of term {prev_term}"), format!("entry {prev} of {term}"))
            }
            _ => return Ok(()),
        }
    };
    Err(violation(
        Rule::LogMatching,
        format!("node {node} accepted entries after index {prev} though its log does not match the leader's there"),
        expected,
        seen,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn votes_and_leaders_are_one_per_term() {
        assert!(one_vote(5, 2, 3, Some((3, 10))).is_ok(), "the same vote again");
        let v = one_vote(5, 2, 4, Some((3, 10))).unwrap_err();
        assert_eq!((v.rule, v.related[0].0), (Rule::OneVote, 10));
        assert!(one_leader(2, 1, Some((1, 7))).is_ok());
        assert_eq!(one_leader(2, 2, Some((1, 7))).unwrap_err().rule, Rule::ElectionSafety);
    }

    #[test]
    fn an_election_needs_each_half_of_a_joint_configuration() {
        let joint = Config::new(vec![1, 2, 3], vec![3, 4, 5]);
        let new_only: BTreeSet<Id> = [1, 2, 3].into();
        assert_eq!(election_quorum(1, 2, &joint, &new_only).unwrap_err().rule, Rule::ElectionQuorum);
        let both: BTreeSet<Id> = [1, 3, 4].into();
        assert!(election_quorum(1, 2, &joint, &both).is_ok());
        let with_learner: BTreeSet<Id> = [1, 9].into();
        assert!(election_quorum(1, 2, &Config::new(vec![1, 2, 3], vec![]), &with_learner).is_err());
    }

    #[test]
    fn votes_go_to_candidates_at_least_as_up_to_date() {
        let mut log = Log::default();
        log.resize(5, 2, true);
        assert!(vote_up_to_date(1, &log, 2, 5).is_ok());
        assert!(vote_up_to_date(1, &log, 3, 1).is_ok(), "a later last term wins");
        assert_eq!(vote_up_to_date(1, &log, 2, 4).unwrap_err().rule, Rule::VoteUpToDate);
        assert!(vote_up_to_date(1, &log, 1, 9).is_err());
    }

    #[test]
    fn commits_follow_quorums_and_the_current_term() {
        assert!(leader_commit(1, 5, 5, &Config::default()).is_ok());
        assert_eq!(leader_commit(1, 6, 5, &Config::default()).unwrap_err().rule, Rule::CommitQuorum);
        assert!(commit_current_term(1, 6, 3, Some(Bounds::exact(3))).is_ok());
        assert!(commit_current_term(1, 6, 3, Some(Bounds { lo: 1, hi: 3 })).is_ok(), "it may be of term 3");
        assert_eq!(commit_current_term(1, 6, 3, Some(Bounds { lo: 1, hi: 2 })).unwrap_err().rule, Rule::CommitQuorum);
        assert!(follower_commit(2, 4, 4).is_ok() && follower_commit(2, 5, 4).is_err());
        assert!(commit_within_log(2, 6, 5).is_err());
    }

    #[test]
    fn only_committed_entries_are_applied_or_compacted() {
        assert!(only_committed_applied(1, "applied", 5, 5).is_ok());
        assert_eq!(only_committed_applied(1, "applied", 6, 5).unwrap_err().rule, Rule::AppliedCommitted);
    }

    #[test]
    fn committed_entries_stay() {
        assert!(log_keeps_committed(1, 5, 5).is_ok());
        assert_eq!(log_keeps_committed(1, 5, 4).unwrap_err().rule, Rule::CommittedKept);
        assert!(committed_entry_kept(1, 3, Some(Bounds::exact(2)), Bounds { lo: 1, hi: 2 }).is_ok());
        assert!(committed_entry_kept(1, 3, Some(Bounds::exact(2)), Bounds::exact(3)).is_err());
    }

    #[test]
    fn a_snapshot_keeps_the_entries_after_a_point_the_log_holds() {
        assert!(snapshot_keeps_what_matches(2, 1, true, 2, 2).is_ok(), "the suffix kept");
        assert!(snapshot_keeps_what_matches(2, 1, false, 2, 1).is_ok(), "no match: the log is replaced");
        assert_eq!(snapshot_keeps_what_matches(2, 1, true, 2, 1).unwrap_err().rule, Rule::LogMatching);
    }

    #[test]
    fn appends_need_the_previous_entry() {
        assert!(append_matches(2, 5, 1, 5, Some(Bounds::exact(1))).is_ok());
        assert_eq!(append_matches(2, 5, 2, 5, Some(Bounds::exact(1))).unwrap_err().rule, Rule::LogMatching);
        assert!(append_matches(2, 6, 1, 5, None).is_err(), "the follower lacks entry 6");
        assert!(append_matches(2, 0, 0, 0, None).is_ok());
    }
}
