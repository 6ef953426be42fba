//! Log replication (Raft §5.3), the commit rule (§5.4.2, Figure 8) and
//! applying, tested against Figure 2 ("AppendEntries RPC", "Rules for
//! Servers": Leaders and All Servers).

mod common;

use common::*;
use raftcheck_core::{Config, Entry, HeartbeatStyle, Input, Output, Role};

// ---------------------------------------------------------------- leader side

/// Figure 2, Leaders: "If command received from client: append entry to local
/// log". The entry is in the leader's term, persisted before it is sent, and
/// sent at once to every follower from its nextIndex.
#[test]
fn propose_on_leader_appends_persists_and_replicates() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 2, &[1]);
    let out = step(&mut n, &cfg, Input::Propose(cmd(2)));
    let append = ae(2, 1, 1, &[2], 0);
    assert_eq!(
        out,
        vec![Output::Persist, Output::Proposed { index: 2, term: 2 }, send(1, append.clone()), send(2, append)]
    );
    assert_eq!(terms_of(n.log()), vec![1, 2]);
    assert_eq!(n.commit_index(), 0, "one replica of three commits nothing");
}

/// Only the leader accepts client commands (§5.1); others refuse, and
/// their log is untouched.
#[test]
fn propose_on_follower_or_candidate_is_refused() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 1, None, &[1]);
    assert_eq!(step(&mut n, &cfg, Input::Propose(7)), vec![Output::NotLeader]);
    step(&mut n, &cfg, Input::ElectionTimeout);
    assert_eq!(step(&mut n, &cfg, Input::Propose(7)), vec![Output::NotLeader]);
    assert_eq!(terms_of(n.log()), vec![1]);
}

/// §5.3 with a cluster of one: the leader alone is a majority, so a proposal
/// commits and is applied in the same step, after it was persisted.
#[test]
fn single_node_commits_its_proposal_at_once() {
    let cfg = Config::new(1).unwrap();
    let mut n = leader(0, &cfg, 1, &[]);
    let out = step(&mut n, &cfg, Input::Propose(cmd(1)));
    assert_eq!(
        out,
        vec![
            Output::Persist,
            Output::Proposed { index: 1, term: 1 },
            Output::ApplyCommand { index: 1, term: 1, command: cmd(1) }
        ]
    );
    assert_eq!((n.commit_index(), n.last_applied()), (1, 1));
}

/// Figure 2, Leaders: "If successful: update nextIndex and matchIndex for
/// follower", and "If there exists an N > commitIndex such that a majority of
/// matchIndex[i] ≥ N, and log[N].term == currentTerm: set commitIndex = N".
/// The older entry 1 below N is committed with it, and both are applied in
/// index order.
#[test]
fn majority_replication_of_current_term_entry_commits_and_applies() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 2, &[1]);
    step(&mut n, &cfg, Input::Propose(cmd(2)));
    let out = recv(&mut n, &cfg, 1, ae_ok(2, 2));
    assert_eq!(
        out,
        vec![
            Output::ApplyCommand { index: 1, term: 1, command: cmd(1) },
            Output::ApplyCommand { index: 2, term: 2, command: cmd(2) }
        ]
    );
    assert_eq!(match_index(&n), vec![2, 2, 0]);
    assert_eq!(next_index(&n)[1..], [3, 2], "the leader's own slot is unused");
    assert_eq!((n.commit_index(), n.last_applied()), (2, 2));
}

/// The next heartbeat carries the new commit index to followers (§5.3:
/// "the leader ... includes that index in future AppendEntries RPCs"), and,
/// with [`HeartbeatStyle::WithEntries`], whatever each follower still lacks.
#[test]
fn heartbeat_carries_commit_index_and_missing_entries() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 2, &[1]);
    step(&mut n, &cfg, Input::Propose(cmd(2)));
    recv(&mut n, &cfg, 1, ae_ok(2, 2));
    let out = step(&mut n, &cfg, Input::HeartbeatTimeout);
    assert_eq!(out, vec![send(1, ae(2, 2, 2, &[], 2)), send(2, ae(2, 1, 1, &[2], 2))]);
}

/// etcd-style [`HeartbeatStyle::Empty`]: heartbeats carry no entries; a
/// successful reply that shows the follower behind makes the leader send the
/// missing entries.
#[test]
fn empty_heartbeat_then_catch_up_on_successful_reply() {
    let cfg = Config::new(3).unwrap().with_heartbeat(HeartbeatStyle::Empty);
    let mut n = leader(0, &cfg, 2, &[1]);
    let out = step(&mut n, &cfg, Input::Propose(cmd(2)));
    assert_eq!(sent(&out), vec![(1, ae(2, 1, 1, &[2], 0)), (2, ae(2, 1, 1, &[2], 0))], "a proposal is not a heartbeat");
    let out = step(&mut n, &cfg, Input::HeartbeatTimeout);
    assert_eq!(out, vec![send(1, ae(2, 1, 1, &[], 0)), send(2, ae(2, 1, 1, &[], 0))]);
    let out = recv(&mut n, &cfg, 2, ae_ok(2, 1));
    assert_eq!(out, vec![send(2, ae(2, 1, 1, &[2], 0))]);
}

/// §5.4.2 and Figure 8: "Raft never commits log entries from previous terms
/// by counting replicas". Entry 2 (term 2) on a majority under a term-3 leader
/// stays uncommitted; it becomes committed, with entry 1, once the term-3
/// entry above it reaches a majority.
#[test]
fn figure_8_old_term_entry_commits_only_through_a_current_term_entry() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 3, &[1, 2]);
    assert_eq!(recv(&mut n, &cfg, 1, ae_ok(3, 2)), vec![]);
    assert_eq!(match_index(&n), vec![2, 2, 0]);
    assert_eq!(n.commit_index(), 0, "entry 2 is from term 2: replicas do not commit it");
    let out = step(&mut n, &cfg, Input::Propose(cmd(3)));
    assert_eq!(sent(&out), vec![(1, ae(3, 2, 2, &[3], 0)), (2, ae(3, 2, 2, &[3], 0))]);
    let out = recv(&mut n, &cfg, 1, ae_ok(3, 3));
    assert_eq!(applied(&out), vec![1, 2, 3]);
    assert_eq!(n.commit_index(), 3);
}

/// Replies may arrive out of order (the network reorders): matchIndex is
/// monotonic, so an old success must not move it back, or the leader could
/// resend and miscount replicas.
#[test]
fn reordered_success_reply_does_not_move_progress_back() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 2, &[1, 1, 1]);
    recv(&mut n, &cfg, 1, ae_ok(2, 3));
    assert_eq!(recv(&mut n, &cfg, 1, ae_ok(2, 1)), vec![]);
    assert_eq!(match_index(&n)[1], 3);
    assert_eq!(next_index(&n)[1], 4);
}

/// Figure 2, Leaders: "If AppendEntries fails because of log inconsistency:
/// decrement nextIndex and retry", accelerated (§5.3, last paragraphs): the
/// follower's conflicting term is one the leader also has, so nextIndex goes
/// to one past the leader's last entry of that term.
#[test]
fn rejection_backs_up_past_leaders_last_entry_of_conflict_term() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 4, &[1, 1, 2, 3]);
    let out = recv(&mut n, &cfg, 1, ae_reject(4, Some(2), 3));
    assert_eq!(out, vec![send(1, ae(4, 3, 2, &[3], 0))]);
    assert_eq!(next_index(&n)[1], 4);
}

/// Fast back-up when the leader has no entry of the follower's conflicting
/// term: the follower's whole term is skipped (nextIndex = conflictIndex).
#[test]
fn rejection_skips_conflict_term_the_leader_lacks() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 4, &[1, 1, 3, 3]);
    let out = recv(&mut n, &cfg, 1, ae_reject(4, Some(2), 3));
    assert_eq!(out, vec![send(1, ae(4, 2, 1, &[3, 3], 0))]);
}

/// Fast back-up when the follower's log is too short: nextIndex goes to the
/// follower's last index + 1.
#[test]
fn rejection_for_short_log_backs_up_to_its_end() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 4, &[1, 1, 3, 3]);
    let out = recv(&mut n, &cfg, 2, ae_reject(4, None, 2));
    assert_eq!(out, vec![send(2, ae(4, 1, 1, &[1, 3, 3], 0))]);
    assert_eq!(next_index(&n)[2], 2);
}

/// A rejection overtaken by a success (reordering) must not push nextIndex
/// to or below matchIndex: entries known to match are never resent as if
/// unknown, and `next > match` holds.
#[test]
fn stale_rejection_does_not_back_up_below_match_index() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 2, &[1, 1, 1]);
    recv(&mut n, &cfg, 1, ae_ok(2, 3));
    let out = recv(&mut n, &cfg, 1, ae_reject(2, None, 1));
    assert_eq!(out, vec![send(1, ae(2, 3, 1, &[], 0))]);
    assert_eq!((match_index(&n)[1], next_index(&n)[1]), (3, 4));
}

/// An AppendEntries reply from an earlier term answers an earlier leader's
/// request: the current leader ignores it.
#[test]
fn stale_term_append_entries_reply_is_ignored() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 3, &[1, 2]);
    let before = n.clone();
    assert_eq!(recv(&mut n, &cfg, 1, ae_ok(2, 2)), vec![]);
    assert_eq!(recv(&mut n, &cfg, 1, ae_reject(2, None, 1)), vec![]);
    assert_eq!(n, before);
}

/// Figure 2, All Servers: a reply with a higher term deposes the leader.
#[test]
fn leader_steps_down_on_higher_term_append_entries_reply() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 2, &[1]);
    let out = recv(&mut n, &cfg, 1, ae_reject(5, None, 0));
    assert_eq!(out, vec![Output::Persist]);
    assert_eq!((n.term(), n.voted_for(), n.role()), (5, None, &Role::Follower));
}

/// `max_entries_per_append` bounds each AppendEntries batch.
#[test]
fn batches_respect_max_entries_per_append() {
    let cfg = Config::new(3).unwrap().with_max_entries_per_append(2);
    let mut n = leader(0, &cfg, 2, &[1, 1, 1, 1]);
    let out = recv(&mut n, &cfg, 1, ae_reject(2, None, 1));
    assert_eq!(out, vec![send(1, ae(2, 0, 0, &[1, 1], 0))]);
}

// -------------------------------------------------------------- follower side

/// AppendEntries receiver 1: "Reply false if term < currentTerm". The deposed
/// leader learns our term from the reply; the timer is not reset (a stale
/// leader must not keep us from electing a new one).
#[test]
fn append_entries_from_stale_term_is_rejected() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 3, None, &[1]);
    let out = recv(&mut n, &cfg, 0, ae(2, 1, 1, &[2], 1));
    assert_eq!(out, vec![send(0, ae_reject(3, None, 0))]);
    assert_eq!(terms_of(n.log()), vec![1]);
    assert_eq!(n.commit_index(), 0);
}

/// AppendEntries receiver 2: "Reply false if log doesn't contain an entry at
/// prevLogIndex". Hint: no conflicting term, retry from our last index + 1.
#[test]
fn append_entries_beyond_our_log_is_rejected_with_length_hint() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 2, None, &[1]);
    let out = recv(&mut n, &cfg, 0, ae(2, 3, 2, &[2], 0));
    assert_eq!(out, vec![Output::ResetElectionTimer, send(0, ae_reject(2, None, 2))]);
    assert_eq!(terms_of(n.log()), vec![1]);
}

/// AppendEntries receiver 2, "... whose term matches prevLogTerm": a term
/// mismatch is rejected with the conflicting term and its first index, and
/// nothing is deleted yet.
#[test]
fn append_entries_with_mismatched_prev_term_is_rejected_with_term_hint() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 3, None, &[1, 2, 2, 2]);
    let out = recv(&mut n, &cfg, 0, ae(3, 4, 3, &[3], 0));
    assert_eq!(out, vec![Output::ResetElectionTimer, send(0, ae_reject(3, Some(2), 2))]);
    assert_eq!(terms_of(n.log()), vec![1, 2, 2, 2]);
}

/// AppendEntries receiver 3: "If an existing entry conflicts with a new one
/// (same index but different terms), delete the existing entry and all that
/// follow it". Keeping entry 4 (term 2) after the new term-3 entry would
/// break Log Matching.
#[test]
fn conflicting_entry_and_all_after_it_are_deleted() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 3, None, &[1, 1, 2, 2]);
    let out = recv(&mut n, &cfg, 0, ae(3, 2, 1, &[3], 0));
    assert_eq!(out, vec![Output::Persist, Output::ResetElectionTimer, send(0, ae_ok(3, 3))]);
    assert_eq!(n.log().retained(), &entries(1, &[1, 1, 3])[..]);
}

/// AppendEntries receiver 4: "Append any new entries not already in the
/// log", persisted before the success reply.
#[test]
fn new_entries_are_appended_and_persisted_before_the_reply() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 1, None, &[1]);
    let out = recv(&mut n, &cfg, 0, ae(1, 1, 1, &[1, 1], 0));
    assert_eq!(out, vec![Output::Persist, Output::ResetElectionTimer, send(0, ae_ok(1, 3))]);
    assert_eq!(terms_of(n.log()), vec![1, 1, 1]);
}

/// Receiver 3 only deletes on a conflict: an older, delayed request whose
/// entries all match must not truncate entries that arrived later (they may
/// be committed). Its success reply reports only what it covered.
#[test]
fn delayed_matching_request_does_not_truncate() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 1, None, &[1, 1, 1, 1]);
    let out = recv(&mut n, &cfg, 0, ae(1, 1, 1, &[1], 0));
    assert_eq!(out, vec![Output::ResetElectionTimer, send(0, ae_ok(1, 2))]);
    assert_eq!(terms_of(n.log()), vec![1, 1, 1, 1]);
}

/// AppendEntries receiver 5: "commitIndex = min(leaderCommit, index of last
/// new entry)". Entries 3-4 were not checked by this request, so they must
/// not be committed even though the leader has committed through 4. Applied
/// in order (All Servers: "If commitIndex > lastApplied ... apply").
#[test]
fn commit_index_limited_to_last_new_entry() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 1, None, &[1, 1, 1, 1]);
    let out = recv(&mut n, &cfg, 0, ae(1, 1, 1, &[1], 4));
    assert_eq!(
        out,
        vec![
            Output::ResetElectionTimer,
            Output::ApplyCommand { index: 1, term: 1, command: cmd(1) },
            Output::ApplyCommand { index: 2, term: 1, command: cmd(2) },
            send(0, ae_ok(1, 2)),
        ]
    );
    assert_eq!((n.commit_index(), n.last_applied()), (2, 2));
}

/// Receiver 5, the other bound: the commit index follows leaderCommit when
/// it is the smaller one, and a later heartbeat commits the rest.
#[test]
fn commit_index_follows_leader_commit() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 1, None, &[]);
    let out = recv(&mut n, &cfg, 0, ae(1, 0, 0, &[1, 1, 1], 1));
    assert_eq!(applied(&out), vec![1]);
    assert_eq!(n.commit_index(), 1);
    let out = recv(&mut n, &cfg, 0, ae(1, 3, 1, &[], 3));
    assert_eq!(applied(&out), vec![2, 3]);
    assert_eq!(n.commit_index(), 3);
}

/// The commit index never decreases: a delayed heartbeat carrying an older
/// leaderCommit leaves it (and what was applied) alone.
#[test]
fn commit_index_never_goes_down_on_delayed_request() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 1, None, &[1, 1, 1]);
    recv(&mut n, &cfg, 0, ae(1, 3, 1, &[], 3));
    assert_eq!(n.commit_index(), 3);
    let out = recv(&mut n, &cfg, 0, ae(1, 1, 1, &[], 1));
    assert_eq!(out, vec![Output::ResetElectionTimer, send(0, ae_ok(1, 1))]);
    assert_eq!((n.commit_index(), n.last_applied()), (3, 3));
}

/// Figure 2, All Servers, via AppendEntries: a leader of a higher term makes
/// a follower adopt the term and forget its old vote, persisted first.
#[test]
fn append_entries_with_higher_term_adopts_it() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 1, Some(2), &[1]);
    let out = recv(&mut n, &cfg, 0, ae(3, 1, 1, &[], 0));
    assert_eq!(out, vec![Output::Persist, Output::ResetElectionTimer, send(0, ae_ok(3, 1))]);
    assert_eq!((n.term(), n.voted_for()), (3, None));
}

// --------------------------------------------------------------- whole cluster

/// Figure 7 in small: a new leader with divergent followers (one missing
/// entries, one with an uncommitted entry of a deposed term) brings both logs
/// to its own through rejections and fast back-up (§5.3), then commits a
/// current-term entry, and every server applies the same commands in the same
/// order (State Machine Safety).
#[test]
fn leader_repairs_divergent_followers_and_all_apply_the_same() {
    let mut c = Cluster::new(Config::new(3).unwrap(), &[(3, &[1, 1, 3]), (3, &[1]), (3, &[1, 1, 2, 2])]);
    c.input(0, Input::ElectionTimeout);
    c.deliver_all();
    assert!(c.nodes[0].is_leader());
    c.input(0, Input::Propose(cmd(4)));
    c.deliver_all();
    c.input(0, Input::HeartbeatTimeout);
    c.deliver_all();
    let expected = [
        Entry { term: 1, command: 1 },
        Entry { term: 1, command: 2 },
        Entry { term: 3, command: 3 },
        Entry { term: 4, command: 4 },
    ];
    for n in &c.nodes {
        assert_eq!(n.log().retained(), &expected[..], "log of node {}", n.id());
        assert_eq!(n.commit_index(), 4, "commit of node {}", n.id());
    }
    for id in 0..3 {
        assert_eq!(c.applied[id], vec![(1, 1), (2, 2), (3, 3), (4, 4)], "applied by node {id}");
    }
}

/// What one service applied: (index, command), in order.
type Applied = Vec<(u64, u8)>;

/// The run of Figure 8 (servers S1..S5 are ids 0..4; all start in term 1
/// with entry 1). Returns what S1 had applied when it crashed in (d), and what
/// every server applied at the end. Commands are 20 (S1's, term 2), 30
/// (S5's, term 3) and 50 (S5's, term 5).
fn figure_8_run(cfg: Config) -> (Applied, Vec<Applied>) {
    let all = [0, 1, 2, 3, 4];
    let mut c = Cluster::new(cfg, &[(1, &[1]), (1, &[1]), (1, &[1]), (1, &[1]), (1, &[1])]);
    // (a) S1 leads term 2 and replicates index 2 to S2 only.
    c.input(0, Input::ElectionTimeout);
    c.deliver_only(&all);
    assert!(c.nodes[0].is_leader());
    c.input(0, Input::Propose(20));
    c.deliver_only(&[0, 1]);
    // (b) S1 crashes; S5 is elected in term 3 by S3, S4 and itself, and
    // appends a different entry at index 2, which reaches no one.
    c.crash_and_restart(0);
    c.input(4, Input::ElectionTimeout);
    c.deliver_only(&[2, 3, 4]);
    assert!(c.nodes[4].is_leader());
    assert_eq!(c.nodes[4].term(), 3);
    c.input(4, Input::Propose(30));
    c.deliver_only(&[4]);
    // (c) S5 crashes; S1 restarts and is elected in term 4 (its term-3 bid
    // fails: S3 and S4 voted for S5), and replicates its entry 2 (term 2) to
    // S2, S3: a majority.
    c.crash_and_restart(4);
    c.input(0, Input::ElectionTimeout);
    c.deliver_only(&[0, 1, 2, 3]);
    assert!(!c.nodes[0].is_leader());
    c.input(0, Input::ElectionTimeout);
    c.deliver_only(&[0, 1, 2, 3]);
    assert!(c.nodes[0].is_leader());
    assert_eq!(c.nodes[0].term(), 4);
    for id in 0..4 {
        assert_eq!(c.nodes[id].log().term_at(2), Some(2), "S{} has S1's entry 2", id + 1);
    }
    let s1_applied = c.applied[0].clone();
    // (d) S1 crashes before its term-4 entry is replicated; S5 is elected in
    // term 5 (after a failed term-4 bid) by S2, S3, S4: its last term 3 beats
    // their 2. It overwrites index 2 everywhere and commits in term 5.
    c.crash_and_restart(0);
    c.crash_and_restart(4);
    c.input(4, Input::ElectionTimeout);
    c.deliver_only(&[1, 2, 3, 4]);
    c.input(4, Input::ElectionTimeout);
    c.deliver_only(&[1, 2, 3, 4]);
    assert!(c.nodes[4].is_leader());
    assert_eq!(c.nodes[4].term(), 5);
    c.input(4, Input::Propose(50));
    c.deliver_only(&[1, 2, 3, 4]);
    c.input(4, Input::HeartbeatTimeout);
    c.deliver_all();
    c.input(4, Input::HeartbeatTimeout);
    c.deliver_all();
    (s1_applied, c.applied)
}

/// Figure 8 end to end (§5.4.2): in (c) S1's term-2 entry is on a majority
/// but must not be committed, because S5 can still be elected and overwrite
/// it in (d). With the rule, no server ever applies S1's command at index 2
/// and all apply the same log at the end; with mutant M8 S1 applies it before
/// crashing and the others later apply S5's command at the same index
/// (State Machine Safety broken).
#[test]
fn figure_8_run_never_applies_an_overwritten_entry() {
    let (s1_applied, end) = figure_8_run(Config::new(5).unwrap());
    assert_eq!(s1_applied, vec![], "S1 must not commit its term-2 entry by counting replicas");
    for (id, applied) in end.iter().enumerate() {
        assert_eq!(applied, &vec![(1, 1), (2, 30), (3, 50)], "applied by S{}", id + 1);
    }
    let (s1_applied, end) = figure_8_run(Config::new(5).unwrap().with_mutant(Some(raftcheck_core::Mutant::M8)));
    assert_eq!(s1_applied, vec![(1, 1), (2, 20)], "M8: S1 commits the term-2 entry");
    assert_eq!(end[4], vec![(1, 1), (2, 30), (3, 50)], "and S5 later commits another at index 2");
}
