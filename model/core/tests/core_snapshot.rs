//! Log compaction (Raft §7): service snapshots, the leader sending
//! InstallSnapshot to a lagging follower, and the receiver's rules
//! ("InstallSnapshot RPC", Figure 13, receiver implementation 1-8).

mod common;

use common::*;
use raftcheck_core::{Config, Input, Output, Role, SnapshotRefusal};

/// A follower of term 1 with the log `[1, 1, 1]` fully committed and applied.
fn applied_follower(cfg: &Config) -> N {
    let mut n = node(1, 1, None, &[1, 1, 1]);
    recv(&mut n, cfg, 0, ae(1, 3, 1, &[], 3));
    assert_eq!((n.commit_index(), n.last_applied()), (3, 3));
    n
}

/// §7: "Each server takes snapshots independently, covering just the
/// committed entries in its log". The service's snapshot replaces the log
/// prefix (global indices unchanged, the last included term remembered for
/// the consistency check) and is persisted.
#[test]
fn service_snapshot_compacts_the_log_and_persists() {
    let cfg = Config::new(3).unwrap();
    let mut n = applied_follower(&cfg);
    let out = step(&mut n, &cfg, Input::Snapshot { index: 2, data: vec![2] });
    assert_eq!(out, vec![Output::Persist]);
    assert_eq!((n.log().snapshot_index(), n.log().snapshot_term(), n.log().last_index()), (2, 1, 3));
    assert_eq!(n.log().retained(), &entries(3, &[1])[..]);
    assert_eq!(n.snapshot(), Some(&vec![2]));
    assert_eq!(n.persistent_state(&cfg).snapshot, Some(vec![2]));
    assert_eq!((n.commit_index(), n.last_applied()), (3, 3));
}

/// A service snapshot that is not newer than the current one, or that covers
/// entries not yet applied (so possibly not committed, §7), is refused, and
/// the output says why.
#[test]
fn service_snapshot_ignored_if_old_or_beyond_applied() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 1, None, &[1, 1, 1, 1]);
    recv(&mut n, &cfg, 0, ae(1, 4, 1, &[], 2));
    step(&mut n, &cfg, Input::Snapshot { index: 2, data: vec![2] });
    let before = n.clone();
    let compacted = SnapshotRefusal::AlreadyCompacted { snapshot_index: 2 };
    let refused = |index, why| vec![Output::SnapshotRefused { index, why }];
    assert_eq!(step(&mut n, &cfg, Input::Snapshot { index: 2, data: vec![9] }), refused(2, compacted));
    assert_eq!(step(&mut n, &cfg, Input::Snapshot { index: 1, data: vec![9] }), refused(1, compacted));
    let beyond = SnapshotRefusal::BeyondApplied { applied: 2 };
    assert_eq!(step(&mut n, &cfg, Input::Snapshot { index: 3, data: vec![9] }), refused(3, beyond), "3 is not applied");
    assert_eq!(n, before);
}

/// A leader of term 3 (3 servers) whose log `[1, 1, 2, 2]` is compacted
/// through index 3, with snapshot data `[3]`.
fn snapshotted_leader(cfg: &Config) -> N {
    let mut n = node_with_snapshot(0, 2, &[1, 1, 2, 2], 3, vec![3]);
    let out = elect(&mut n, cfg);
    assert_eq!(sent(&out), vec![(1, ae(3, 4, 2, &[], 3)), (2, ae(3, 4, 2, &[], 3))]);
    n
}

/// §7: "the leader must occasionally send snapshots to followers that lag
/// behind ... when it has already discarded the next log entry that it needs
/// to send to a follower". The back-up lands below the snapshot, so the
/// leader sends InstallSnapshot instead of AppendEntries.
#[test]
fn lagging_follower_gets_install_snapshot() {
    let cfg = Config::new(3).unwrap();
    let mut n = snapshotted_leader(&cfg);
    let out = recv(&mut n, &cfg, 2, ae_reject(3, None, 1));
    assert_eq!(out, vec![send(2, snap_msg(3, 3, 2, vec![3]))]);
    assert_eq!(next_index(&n)[2], 1);
    let out = step(&mut n, &cfg, Input::HeartbeatTimeout);
    assert_eq!(out, vec![send(1, ae(3, 4, 2, &[], 3)), send(2, snap_msg(3, 3, 2, vec![3]))]);
}

/// §7, leader side of the reply: the follower now holds everything through
/// the snapshot, so matchIndex/nextIndex move there and the entries after the
/// snapshot follow at once.
#[test]
fn install_snapshot_reply_advances_progress_and_sends_the_rest() {
    let cfg = Config::new(3).unwrap();
    let mut n = snapshotted_leader(&cfg);
    recv(&mut n, &cfg, 2, ae_reject(3, None, 1));
    let out = recv(&mut n, &cfg, 2, snap_reply(3, 3));
    assert_eq!(out, vec![send(2, ae(3, 3, 2, &[2], 3))]);
    assert_eq!((match_index(&n)[2], next_index(&n)[2]), (3, 4));
}

/// The snapshot boundary is a real log position for the fast back-up: a
/// conflict in term 2, whose last entry the leader only knows as its
/// snapshot's last included entry, backs up to just after the snapshot.
#[test]
fn fast_backup_uses_the_snapshot_boundary_term() {
    let cfg = Config::new(3).unwrap();
    let mut n = node_with_snapshot(0, 3, &[1, 1, 2, 3], 3, vec![3]);
    elect(&mut n, &cfg);
    let out = recv(&mut n, &cfg, 1, ae_reject(4, Some(2), 3));
    assert_eq!(out, vec![send(1, ae(4, 3, 2, &[3], 3))]);
}

/// Figure 13, receiver 1 (as for every RPC): a snapshot from a stale term is
/// refused; the reply tells the old leader our term; no timer reset.
#[test]
fn install_snapshot_from_stale_term_is_refused() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 4, None, &[1]);
    let before = n.clone();
    let out = recv(&mut n, &cfg, 0, snap_msg(3, 3, 2, vec![3]));
    assert_eq!(out, vec![send(0, snap_refused(4, 3))]);
    assert_eq!(n, before);
}

/// Figure 13, receivers 6-8: the log does not contain the snapshot's last
/// entry (too short), so the whole log is discarded, the service is reset
/// from the snapshot, and commit/applied jump to its last index. Persisted
/// before anything is applied or answered.
#[test]
fn install_snapshot_replaces_a_short_log() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 3, None, &[1]);
    let out = recv(&mut n, &cfg, 0, snap_msg(3, 3, 2, vec![3]));
    assert_eq!(
        out,
        vec![
            Output::Persist,
            Output::ResetElectionTimer,
            Output::ApplySnapshot { index: 3, term: 2, data: vec![3] },
            send(0, snap_reply(3, 3))
        ]
    );
    assert_eq!((n.log().snapshot_index(), n.log().snapshot_term(), n.log().last_index()), (3, 2, 3));
    assert!(n.log().retained().is_empty());
    assert_eq!((n.commit_index(), n.last_applied()), (3, 3));
    assert_eq!(n.persistent_state(&cfg).snapshot, Some(vec![3]));
}

/// Figure 13, receiver 6-7: an entry at the snapshot's index with another
/// term does not match, so the whole log (including the entries after it,
/// which conflict with the leader's) is discarded.
#[test]
fn install_snapshot_discards_a_conflicting_log() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 3, None, &[1, 1, 1, 1]);
    recv(&mut n, &cfg, 0, snap_msg(3, 3, 2, vec![3]));
    assert_eq!((n.log().last_index(), n.log().last_term()), (3, 2));
    assert!(n.log().retained().is_empty());
}

/// Figure 13, receiver 6: "If existing log entry has same index and term as
/// snapshot's last included entry, retain log entries following it". Those
/// entries may be committed by the leader already: dropping them could lose
/// a committed entry's replica.
#[test]
fn install_snapshot_keeps_the_matching_suffix() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 3, None, &[1, 1, 2, 2, 2]);
    let out = recv(&mut n, &cfg, 0, snap_msg(3, 3, 2, vec![3]));
    assert_eq!(sent(&out), vec![(0, snap_reply(3, 3))]);
    assert_eq!(n.log().snapshot_index(), 3);
    assert_eq!(n.log().retained(), &entries(4, &[2, 2])[..]);
    assert_eq!((n.commit_index(), n.last_applied()), (3, 3));
}

/// A snapshot at or below our commit index is stale (a delayed or
/// duplicated RPC): installing it would move the service state back. It is
/// answered (so the leader's progress moves) and otherwise ignored.
#[test]
fn stale_install_snapshot_is_answered_and_ignored() {
    let cfg = Config::new(3).unwrap();
    let mut n = applied_follower(&cfg);
    let before = n.clone();
    let out = recv(&mut n, &cfg, 0, snap_msg(1, 2, 1, vec![2]));
    assert_eq!(out, vec![Output::ResetElectionTimer, send(0, snap_refused(1, 2))]);
    assert_eq!(n, before);
}

/// Figure 2, Candidates: a message from the leader of its own term (here an
/// InstallSnapshot) makes a candidate a follower.
#[test]
fn candidate_steps_down_on_install_snapshot_of_its_term() {
    let cfg = Config::new(3).unwrap();
    let mut n = node(1, 1, None, &[1]);
    step(&mut n, &cfg, Input::ElectionTimeout);
    let out = recv(&mut n, &cfg, 0, snap_msg(2, 2, 1, vec![2]));
    assert_eq!(n.role(), &Role::Follower);
    assert_eq!(sent(&out), vec![(0, snap_reply(2, 2))]);
    assert_eq!(n.log().snapshot_index(), 2);
}

/// AppendEntries overlapping a follower's snapshot: entries at or below the
/// snapshot are committed and already there (no consistency check on
/// compacted entries), the rest are appended and committed by receiver 5.
#[test]
fn append_entries_overlapping_the_snapshot_appends_the_rest() {
    let cfg = Config::new(3).unwrap();
    let mut n = node_with_snapshot(1, 2, &[1, 1, 2], 3, vec![3]);
    let out = recv(&mut n, &cfg, 0, ae(2, 1, 1, &[1, 2, 2], 4));
    assert_eq!(
        out,
        vec![
            Output::Persist,
            Output::ResetElectionTimer,
            Output::ApplyCommand { index: 4, term: 2, command: cmd(4) },
            send(0, ae_ok(2, 4))
        ]
    );
    assert_eq!(n.log().retained(), &entries(4, &[2])[..]);
}

/// AppendEntries entirely below the follower's snapshot (a delayed request):
/// success for what it covered, no change, no commit regression.
#[test]
fn append_entries_entirely_below_the_snapshot_changes_nothing() {
    let cfg = Config::new(3).unwrap();
    let mut n = node_with_snapshot(1, 2, &[1, 1, 2], 3, vec![3]);
    let before = n.clone();
    let out = recv(&mut n, &cfg, 0, ae(2, 0, 0, &[1, 1], 2));
    assert_eq!(out, vec![Output::ResetElectionTimer, send(0, ae_ok(2, 2))]);
    assert_eq!(n, before);
}

/// §7 on the leader: after the service snapshots, a follower whose
/// nextIndex falls inside the compacted prefix gets the snapshot on the next
/// heartbeat; an up-to-date follower gets an ordinary heartbeat.
#[test]
fn leader_compaction_switches_lagging_follower_to_install_snapshot() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 2, &[1]);
    step(&mut n, &cfg, Input::Propose(cmd(2)));
    let out = recv(&mut n, &cfg, 1, ae_ok(2, 2));
    assert_eq!(applied(&out), vec![1, 2]);
    assert_eq!(step(&mut n, &cfg, Input::Snapshot { index: 2, data: vec![2] }), vec![Output::Persist]);
    let out = step(&mut n, &cfg, Input::HeartbeatTimeout);
    assert_eq!(out, vec![send(1, ae(2, 2, 2, &[], 2)), send(2, snap_msg(2, 2, 2, vec![2]))]);
}

/// An InstallSnapshotReply from an earlier term answers an earlier leader:
/// the current leader's progress is not changed by it.
#[test]
fn stale_term_install_snapshot_reply_is_ignored() {
    let cfg = Config::new(3).unwrap();
    let mut n = snapshotted_leader(&cfg);
    let before = n.clone();
    assert_eq!(recv(&mut n, &cfg, 2, snap_reply(2, 3)), vec![]);
    assert_eq!(n, before);
}

/// §7 end to end: a follower cut off while the leader commits and compacts
/// comes back, is rejected into the compacted prefix, installs the snapshot,
/// and then follows by AppendEntries; every step keeps the Persist contract.
#[test]
fn partitioned_follower_catches_up_through_a_snapshot() {
    let mut c = Cluster::new(Config::new(3).unwrap(), &[(0, &[]), (0, &[]), (0, &[])]);
    c.input(0, Input::ElectionTimeout);
    c.deliver_all();
    for k in 1..=3 {
        c.input(0, Input::Propose(cmd(k)));
    }
    c.deliver_only(&[0, 1]);
    assert_eq!(c.nodes[0].last_applied(), 3);
    c.input(0, Input::Snapshot { index: 3, data: vec![3] });
    assert_eq!(c.nodes[0].log().snapshot_index(), 3);
    c.input(0, Input::HeartbeatTimeout);
    c.deliver_all();
    let follower = &c.nodes[2];
    assert_eq!((follower.log().snapshot_index(), follower.snapshot()), (3, Some(&vec![3])));
    assert_eq!((follower.commit_index(), follower.last_applied()), (3, 3));
    assert_eq!(match_index(&c.nodes[0])[2], 3);
    c.input(0, Input::Propose(cmd(4)));
    c.deliver_all();
    c.input(0, Input::HeartbeatTimeout);
    c.deliver_all();
    assert_eq!(c.applied[2], vec![(4, 4)], "entries after the snapshot are applied as commands");
    assert_eq!(c.applied[1], vec![(1, 1), (2, 2), (3, 3), (4, 4)]);
}

/// Figure 2, All Servers, via InstallSnapshot: a leader receiving a snapshot
/// from a higher term steps down, adopts the term and installs it (its log
/// lacks the snapshot's last entry, so the log is replaced).
#[test]
fn leader_steps_down_on_higher_term_install_snapshot() {
    let cfg = Config::new(3).unwrap();
    let mut n = leader(0, &cfg, 2, &[1]);
    let out = recv(&mut n, &cfg, 1, snap_msg(3, 2, 1, vec![2]));
    assert_eq!(
        out,
        vec![
            Output::Persist,
            Output::ResetElectionTimer,
            Output::ApplySnapshot { index: 2, term: 1, data: vec![2] },
            send(1, snap_reply(3, 2))
        ]
    );
    assert_eq!((n.term(), n.voted_for(), n.role()), (3, None, &Role::Follower));
    assert_eq!((n.log().snapshot_index(), n.commit_index()), (2, 2));
}
