//! Persistence and restart (Figure 2, "Persistent state on all servers ...
//! updated on stable storage before responding to RPCs", and §5.1/§7 for
//! what a restarted server knows).

mod common;

use common::*;
use raftcheck_core::{Config, Input, Node, Output, PersistentState, Role};

/// Figure 2: currentTerm, votedFor and log[] (plus the snapshot of §7) are
/// the persistent state, and a restart rebuilds exactly them. Volatile state
/// restarts: a follower, with commitIndex = lastApplied = the snapshot index
/// (the service restores itself from the snapshot).
#[test]
fn restart_restores_term_vote_log_and_snapshot_only() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 1, None, &[1, 1, 1]);
    recv(&mut n, &cfg, 0, ae(1, 3, 1, &[], 3));
    step(&mut n, &cfg, Input::Snapshot { index: 2, data: vec![2] });
    recv(&mut n, &cfg, 2, rv(2, 3, 1));
    assert_eq!((n.term(), n.voted_for(), n.commit_index()), (2, Some(2), 3));
    let persisted = n.persistent_state(&cfg);
    assert_eq!(
        persisted,
        PersistentState { term: 2, voted_for: Some(2), log: n.log().clone(), snapshot: Some(vec![2]) }
    );
    let r: N = Node::restart(1, persisted).unwrap();
    assert_eq!((r.term(), r.voted_for(), r.log(), r.snapshot()), (2, Some(2), n.log(), Some(&vec![2])));
    assert_eq!(r.role(), &Role::Follower);
    assert_eq!((r.commit_index(), r.last_applied()), (2, 2));
    assert_eq!(r.check_invariants(&cfg), Ok(()));
}

/// Figure 2, RequestVote receiver 2 across a crash: the vote is on stable
/// storage, so a restarted server still refuses a second candidate of the
/// same term (Election Safety).
#[test]
fn restarted_voter_does_not_vote_twice_in_a_term() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(0, 0, None, &[]);
    recv(&mut n, &cfg, 1, rv(1, 0, 0));
    let mut r: N = Node::restart(0, n.persistent_state(&cfg)).unwrap();
    assert_eq!(recv(&mut r, &cfg, 2, rv(1, 0, 0)), vec![send(2, vote(1, false))]);
    assert_eq!(r.voted_for(), Some(1));
}

/// Leadership is volatile: a restarted leader comes back as a follower of the
/// same term and must win a new election to lead again.
#[test]
fn restarted_leader_is_a_follower_of_the_same_term() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 2, &[1]);
    step(&mut n, &cfg, Input::Propose(cmd(2)));
    let mut r: N = Node::restart(0, n.persistent_state(&cfg)).unwrap();
    assert_eq!((r.term(), r.role()), (2, &Role::Follower));
    assert_eq!(terms_of(r.log()), vec![1, 2], "the proposal was persisted");
    assert_eq!(step(&mut r, &cfg, Input::Propose(cmd(3))), vec![Output::NotLeader]);
    elect(&mut r, &cfg);
    assert_eq!(r.term(), 3);
}

/// A server restarted from a snapshot resumes from it: AppendEntries whose
/// prevLogIndex is the snapshot's last index passes the consistency check
/// against the remembered snapshot term.
#[test]
fn restarted_server_with_snapshot_continues_after_it() {
    let cfg = Config::new(3).unwrap();
    let mut n = node_with_snapshot(1, 2, &[1, 1, 2], 3, vec![3]);
    assert_eq!((n.commit_index(), n.last_applied()), (3, 3));
    let out = recv(&mut n, &cfg, 0, ae(2, 3, 2, &[2], 4));
    assert_eq!(
        out,
        vec![
            Output::Persist,
            Output::ResetElectionTimer,
            Output::ApplyCommand { index: 4, term: 2, command: cmd(4) },
            send(0, ae_ok(2, 4))
        ]
    );
}

/// Figure 2's storage rule, as the Persist contract, over a whole run: every
/// step that changes term, vote or log emits `Persist` first (and only
/// those do), and a cluster whose every server crashes and restarts from
/// what it persisted loses no committed entry: a new leader is elected,
/// commits in its term, and every service re-applies the same commands in
/// the same order (State Machine Safety).
#[test]
fn crash_of_every_server_loses_nothing_that_was_persisted() {
    let mut c = Cluster::new(Config::new(3).unwrap(), &[(0, &[]), (0, &[]), (0, &[])]);
    c.input(0, Input::ElectionTimeout);
    c.deliver_all();
    c.input(0, Input::Propose(cmd(1)));
    c.input(0, Input::Propose(cmd(2)));
    c.deliver_all();
    assert_eq!(c.nodes[0].commit_index(), 2);
    for id in 0..3 {
        c.crash_and_restart(id);
        assert_eq!((c.nodes[id].term(), c.nodes[id].log().last_index()), (1, 2), "node {id}");
        assert_eq!(c.nodes[id].commit_index(), 0, "commitIndex is volatile");
    }
    c.input(1, Input::ElectionTimeout);
    c.deliver_all();
    assert!(c.nodes[1].is_leader());
    assert_eq!(c.nodes[1].term(), 2);
    c.input(1, Input::Propose(cmd(3)));
    c.deliver_all();
    c.input(1, Input::HeartbeatTimeout);
    c.deliver_all();
    for id in 0..3 {
        assert_eq!(terms_of(c.nodes[id].log()), vec![1, 1, 2], "log of node {id}");
        assert_eq!(c.applied[id], vec![(1, 1), (2, 2), (3, 3)], "applied by node {id}");
    }
}

/// The core refuses to restart from a state it could not have saved, and
/// says why: snapshot data without a compacted log, a compacted log without
/// snapshot data, an entry of a term after the saved term.
#[test]
fn restart_refuses_a_state_the_core_cannot_have_saved() {
    use raftcheck_core::RestoreError;
    let data_without_compaction =
        PersistentState { term: 1, voted_for: None, log: log_of(&[1]), snapshot: Some(vec![1]) };
    assert_eq!(
        N::restart(0, data_without_compaction).unwrap_err(),
        RestoreError::SnapshotMismatch { snapshot_index: 0, has_data: true }
    );
    let mut compacted = log_of(&[1, 1]);
    compacted.compact_through(1);
    let compaction_without_data = PersistentState { term: 1, voted_for: None, log: compacted, snapshot: None };
    assert_eq!(
        N::restart(0, compaction_without_data).unwrap_err(),
        RestoreError::SnapshotMismatch { snapshot_index: 1, has_data: false }
    );
    let entry_ahead = PersistentState { term: 1, voted_for: None, log: log_of(&[1, 2]), snapshot: None };
    assert_eq!(N::restart(0, entry_ahead).unwrap_err(), RestoreError::EntryTermAhead { entry_term: 2, term: 1 });
}

/// A cluster the core cannot count votes for is refused when configured.
#[test]
fn config_refuses_cluster_sizes_outside_1_to_64() {
    assert!(Config::new(0).is_err());
    assert!(Config::new(65).is_err());
    assert_eq!(Config::new(64).unwrap().cluster_size(), 64);
}
