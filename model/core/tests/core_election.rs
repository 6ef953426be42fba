//! Leader election (Raft §5.2) and the vote restriction (§5.4.1), tested
//! rule by rule against Figure 2 ("RequestVote RPC", "Rules for Servers").

mod common;

use common::*;
use raftcheck_core::{Config, Input, Output, Role};

/// Figure 2, Candidates: "On conversion to candidate, start election:
/// increment currentTerm, vote for self, reset election timer, send
/// RequestVote RPCs to all other servers". The new term and vote must be
/// persisted before any RequestVote leaves, and the RPC must carry the last
/// log entry for §5.4.1. If any of this broke, two candidates could share a
/// term or voters could not judge up-to-dateness.
#[test]
fn election_timeout_starts_candidacy_in_next_term() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 2, None, &[1, 1, 2]);
    let out = step(&mut n, &cfg, Input::ElectionTimeout);
    assert_eq!(out, vec![Output::Persist, Output::ResetElectionTimer, send(1, rv(3, 3, 2)), send(2, rv(3, 3, 2))]);
    assert_eq!(n.term(), 3);
    assert_eq!(n.voted_for(), Some(0));
    assert_eq!(votes(&n), 0b001, "a candidate counts its own vote only");
    assert_eq!(n.persistent_state(&cfg).voted_for, Some(0));
}

/// §5.2: a candidate whose election times out starts a new one in the next
/// term, with a fresh vote count. Votes from the old term must not carry over,
/// or a candidate could win with votes that were cast in different terms.
#[test]
fn candidate_timing_out_restarts_election_with_fresh_votes() {
    let cfg = Config::new(5).unwrap();
    let mut n = node(0, 0, None, &[]);
    step(&mut n, &cfg, Input::ElectionTimeout);
    recv(&mut n, &cfg, 1, vote(1, true));
    assert_eq!(votes(&n), 0b011);
    step(&mut n, &cfg, Input::ElectionTimeout);
    assert_eq!(n.term(), 2);
    assert_eq!(votes(&n), 0b001, "term-1 votes are forgotten");
    recv(&mut n, &cfg, 2, vote(2, true));
    assert!(!n.is_leader(), "votes of 0 and 2 are not a majority of 5");
    recv(&mut n, &cfg, 3, vote(2, true));
    assert!(n.is_leader());
}

/// §5.2 with a cluster of one: the candidate's own vote is a majority, so
/// it becomes leader at once without sending anything.
#[test]
fn single_node_cluster_elects_itself_at_once() {
    let cfg = Config::new(1).unwrap();
    let mut n = node(0, 0, None, &[]);
    let out = step(&mut n, &cfg, Input::ElectionTimeout);
    assert_eq!(out, vec![Output::Persist, Output::ResetElectionTimer]);
    assert!(n.is_leader());
    assert_eq!(n.term(), 1);
}

/// Figure 2, Followers/Candidates: only they start elections. A leader
/// whose election timer fires (it should not be running) must not depose
/// itself by bumping its term.
#[test]
fn leader_ignores_election_timeout() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 2, &[1]);
    assert_eq!(step(&mut n, &cfg, Input::ElectionTimeout), vec![]);
    assert!(n.is_leader());
    assert_eq!(n.term(), 2);
}

/// Figure 2, RequestVote receiver 2: grant when votedFor is null and the
/// candidate's log is up to date; the vote is persisted before the reply is
/// sent, and granting a vote resets the election timer (Followers rule).
#[test]
fn follower_grants_vote_persists_then_replies() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 1, None, &[1]);
    let out = recv(&mut n, &cfg, 2, rv(1, 1, 1));
    assert_eq!(out, vec![Output::Persist, Output::ResetElectionTimer, send(2, vote(1, true))]);
    assert_eq!(n.voted_for(), Some(2));
}

/// Figure 2, All Servers: "If RPC request contains term T > currentTerm:
/// set currentTerm = T, convert to follower"; the vote of the old term is
/// forgotten, so the node may vote in the new term.
#[test]
fn request_vote_with_higher_term_adopts_term_and_can_grant() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 1, Some(0), &[1]);
    let out = recv(&mut n, &cfg, 2, rv(2, 1, 1));
    assert_eq!(out, vec![Output::Persist, Output::ResetElectionTimer, send(2, vote(2, true))]);
    assert_eq!((n.term(), n.voted_for()), (2, Some(2)));
}

/// Figure 2, RequestVote receiver 2, "votedFor is null or candidateId": a
/// second candidate of the same term is refused, nothing is persisted and the
/// timer is not reset. Granting would allow two leaders in one term (Election
/// Safety).
#[test]
fn at_most_one_vote_per_term() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 1, Some(1), &[]);
    let out = recv(&mut n, &cfg, 2, rv(1, 5, 1));
    assert_eq!(out, vec![send(2, vote(1, false))]);
    assert_eq!(n.voted_for(), Some(1));
}

/// §5.2: "each server will vote for at most one candidate in a given
/// term": a candidate has voted for itself, so it refuses a rival of its term.
#[test]
fn candidate_refuses_a_rival_of_its_term() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 0, None, &[]);
    step(&mut n, &cfg, Input::ElectionTimeout);
    assert_eq!(recv(&mut n, &cfg, 1, rv(1, 0, 0)), vec![send(1, vote(1, false))]);
    assert_eq!(votes(&n), 0b001);
}

/// Figure 2, RequestVote receiver 2, "or candidateId": a retransmitted
/// RequestVote from the candidate we already voted for is granted again
/// (the reply may have been lost), without a new write to stable storage.
#[test]
fn duplicate_request_vote_is_granted_again_without_persist() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 1, None, &[]);
    recv(&mut n, &cfg, 1, rv(1, 0, 0));
    let out = recv(&mut n, &cfg, 1, rv(1, 0, 0));
    assert_eq!(out, vec![Output::ResetElectionTimer, send(1, vote(1, true))]);
}

/// Figure 2, RequestVote receiver 1: "Reply false if term < currentTerm".
/// The reply carries our term so the stale candidate can update itself.
#[test]
fn request_vote_from_stale_term_is_refused() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 3, None, &[]);
    let out = recv(&mut n, &cfg, 1, rv(2, 10, 2));
    assert_eq!(out, vec![send(1, vote(3, false))]);
    assert_eq!((n.term(), n.voted_for()), (3, None));
}

/// §5.4.1: "If the logs have last entries with different terms, then the log
/// with the later term is more up-to-date". A longer log that ends in an
/// older term loses: granting would let a leader without committed entries
/// be elected (Leader Completeness).
#[test]
fn vote_refused_to_longer_log_with_older_last_term() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 2, None, &[1, 2]);
    let out = recv(&mut n, &cfg, 1, rv(3, 5, 1));
    assert_eq!(out, vec![Output::Persist, send(1, vote(3, false))]);
    assert_eq!((n.term(), n.voted_for()), (3, None), "the higher term is still adopted");
}

/// §5.4.1: "If the logs end with the same term, then whichever log is longer
/// is more up-to-date".
#[test]
fn vote_refused_to_shorter_log_with_same_last_term() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 2, None, &[1, 2, 2]);
    let out = recv(&mut n, &cfg, 1, rv(2, 2, 2));
    assert_eq!(out, vec![send(1, vote(2, false))]);
}

/// §5.4.1, the granting side: "at least as up-to-date" means a later last
/// term wins even with a shorter log, and an equal log is good enough.
#[test]
fn vote_granted_to_later_last_term_or_equal_log() {
    let cfg = Config::new(3).unwrap();
    let mut a = node(0, 2, None, &[1, 1, 1]);
    assert_eq!(sent(&recv(&mut a, &cfg, 1, rv(3, 1, 2))), vec![(1, vote(3, true))]);
    let mut b = node(0, 2, None, &[1, 2]);
    assert_eq!(sent(&recv(&mut b, &cfg, 1, rv(2, 2, 2))), vec![(1, vote(2, true))]);
}

/// Figure 2, Candidates: "If votes received from majority of servers: become
/// leader", and Leaders: "Upon election: send initial empty AppendEntries
/// RPCs (heartbeat) to each server". nextIndex starts after the leader's
/// last entry, matchIndex at 0.
#[test]
fn majority_of_votes_makes_leader_which_heartbeats_everyone() {
    let cfg = Config::new(5).unwrap();
    let mut n = node(0, 1, None, &[1, 1]);
    step(&mut n, &cfg, Input::ElectionTimeout);
    assert!(recv(&mut n, &cfg, 1, vote(2, true)).is_empty());
    assert!(!n.is_leader(), "2 of 5 is not a majority");
    let out = recv(&mut n, &cfg, 3, vote(2, true));
    assert!(n.is_leader());
    let hb = ae(2, 2, 1, &[], 0);
    assert_eq!(out, vec![send(1, hb.clone()), send(2, hb.clone()), send(3, hb.clone()), send(4, hb)]);
    assert_eq!(next_index(&n), vec![3; 5]);
    assert_eq!(match_index(&n), vec![2, 0, 0, 0, 0]);
}

/// §5.2: a vote counts once per voter. A duplicated reply must not be
/// counted twice, or a candidate could "win" with a minority.
#[test]
fn duplicate_vote_reply_counts_once() {
    let cfg = Config::new(5).unwrap();
    let mut n = node(0, 0, None, &[]);
    step(&mut n, &cfg, Input::ElectionTimeout);
    recv(&mut n, &cfg, 1, vote(1, true));
    recv(&mut n, &cfg, 1, vote(1, true));
    recv(&mut n, &cfg, 1, vote(1, true));
    assert_eq!(votes(&n), 0b011);
    assert!(!n.is_leader());
}

/// §5.2: a refused vote is not a vote.
#[test]
fn refused_votes_are_not_counted() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 0, None, &[]);
    step(&mut n, &cfg, Input::ElectionTimeout);
    assert_eq!(recv(&mut n, &cfg, 1, vote(1, false)), vec![]);
    assert_eq!(votes(&n), 0b001);
    assert!(!n.is_leader());
}

/// A vote reply from an earlier term answers an earlier election: counting
/// it could combine votes of different terms into a false majority.
#[test]
fn stale_term_vote_reply_is_ignored() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 0, None, &[]);
    step(&mut n, &cfg, Input::ElectionTimeout);
    step(&mut n, &cfg, Input::ElectionTimeout);
    assert_eq!(recv(&mut n, &cfg, 1, vote(1, true)), vec![]);
    assert!(!n.is_leader());
    assert_eq!(votes(&n), 0b001);
}

/// Figure 2, All Servers: a reply with a higher term makes a candidate adopt
/// it, persist, and become a follower with no vote in the new term.
#[test]
fn candidate_steps_down_on_higher_term_vote_reply() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 0, None, &[]);
    step(&mut n, &cfg, Input::ElectionTimeout);
    let out = recv(&mut n, &cfg, 1, vote(5, false));
    assert_eq!(out, vec![Output::Persist]);
    assert_eq!((n.term(), n.voted_for(), n.role()), (5, None, &Role::Follower));
}

/// Figure 2, Candidates: "If AppendEntries RPC received from new leader:
/// convert to follower". A leader of the candidate's own term exists, so the
/// candidate accepts its entries and stops campaigning.
#[test]
fn candidate_steps_down_on_append_entries_of_its_term() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 0, None, &[]);
    step(&mut n, &cfg, Input::ElectionTimeout);
    let out = recv(&mut n, &cfg, 1, ae(1, 0, 0, &[1], 0));
    assert_eq!(out, vec![Output::Persist, Output::ResetElectionTimer, send(1, ae_ok(1, 1))]);
    assert_eq!(n.role(), &Role::Follower);
    assert_eq!(n.voted_for(), Some(0), "its own vote in term 1 stands");
    assert_eq!(terms_of(n.log()), vec![1]);
}

/// Figure 2, All Servers, for a leader: any message with a higher term
/// deposes it (persisting the new term). A leader that stayed in power would
/// be a second leader alongside the new term's one.
#[test]
fn leader_steps_down_on_higher_term() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 2, &[1]);
    let out = recv(&mut n, &cfg, 1, rv(3, 0, 0));
    assert_eq!(out, vec![Output::Persist, send(1, vote(3, false))], "candidate 1's log is behind");
    assert_eq!((n.term(), n.role()), (3, &Role::Follower));
    assert_eq!(step(&mut n, &cfg, Input::Propose(9)), vec![Output::NotLeader]);
}

/// Vote replies reaching a node that is no longer a candidate (here, already
/// leader) change nothing.
#[test]
fn vote_reply_to_leader_is_ignored() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 1, &[]);
    let before = n.clone();
    assert_eq!(recv(&mut n, &cfg, 2, vote(1, true)), vec![]);
    assert_eq!(n, before);
}

/// Figure 2: heartbeats are the leader's business; followers and candidates
/// do nothing on a heartbeat tick.
#[test]
fn heartbeat_timeout_does_nothing_on_non_leaders() {
    let cfg = Config::new(3).unwrap();
    let mut f = node(0, 1, None, &[1]);
    assert_eq!(step(&mut f, &cfg, Input::HeartbeatTimeout), vec![]);
    step(&mut f, &cfg, Input::ElectionTimeout);
    assert_eq!(step(&mut f, &cfg, Input::HeartbeatTimeout), vec![]);
}
