//! The lab's part 2D tests: log compaction (§3 of
//! `shared/research/raft-test-plan.md`). The snapshot applier snapshots
//! every 10 entries and insists that each command comes right after the
//! last one applied.

mod common;

use common::int_cmd;
use common::raft::{Applier, Cleanup, Config, SNAPSHOT_INTERVAL};
use std::sync::Arc;

/// The largest persisted Raft state allowed, in bytes.
const MAX_LOG_SIZE: usize = 2000;

fn cluster(servers: usize, unreliable: bool, description: &str) -> (Arc<Config>, Cleanup) {
    let cfg = Config::new(servers, unreliable, Applier::Snapshot);
    cfg.begin(description);
    (cfg.clone(), Cleanup(cfg))
}

/// 30 rounds: cut off (disconnect or crash) a follower or the leader,
/// commit through the others, send enough to make a snapshot, check the
/// log was trimmed, bring the victim back (it may need InstallSnapshot).
fn snapcommon(name: &str, disconnect: bool, reliable: bool, crash: bool) {
    let iters = 30;
    let servers = 3;
    let (cfg, _cleanup) = cluster(servers, !reliable, name);

    cfg.one(int_cmd(cfg.rng.int()), servers, true);
    let mut leader1 = cfg.check_one_leader();

    for i in 0..iters {
        let (mut victim, mut sender) = ((leader1 + 1) % servers, leader1);
        if i % 3 == 1 {
            sender = (leader1 + 1) % servers;
            victim = leader1;
        }

        if disconnect {
            cfg.disconnect(victim);
            cfg.one(int_cmd(cfg.rng.int()), servers - 1, true);
        }
        if crash {
            cfg.crash1(victim);
            cfg.one(int_cmd(cfg.rng.int()), servers - 1, true);
        }

        // Perhaps send enough to get a snapshot.
        let nn = SNAPSHOT_INTERVAL / 2 + cfg.rng.below(SNAPSHOT_INTERVAL);
        if let Some(raft) = cfg.raft(sender) {
            for _ in 0..nn {
                let _ = raft.start(int_cmd(cfg.rng.int()));
            }
        }

        // Let the applier threads catch up with the starts.
        if !disconnect && !crash {
            // Make sure all followers have caught up, so that an
            // InstallSnapshot RPC isn't required for the basic test.
            cfg.one(int_cmd(cfg.rng.int()), servers, true);
        } else {
            cfg.one(int_cmd(cfg.rng.int()), servers - 1, true);
        }

        let size = cfg.log_size();
        assert!(size < MAX_LOG_SIZE, "Log size too large ({size} bytes)");

        if disconnect {
            // Reconnect a follower, who may be behind and need a snapshot
            // to catch up.
            cfg.connect(victim);
            cfg.one(int_cmd(cfg.rng.int()), servers, true);
            leader1 = cfg.check_one_leader();
        }
        if crash {
            cfg.start1(victim);
            cfg.connect(victim);
            cfg.one(int_cmd(cfg.rng.int()), servers, true);
            leader1 = cfg.check_one_leader();
        }
    }
    cfg.end(name);
}

#[test]
fn test_snapshot_basic_2d() {
    snapcommon("Test (2D): snapshots basic", false, true, false);
}

#[test]
fn test_snapshot_install_2d() {
    snapcommon("Test (2D): install snapshots (disconnect)", true, true, false);
}

#[test]
fn test_snapshot_install_unreliable_2d() {
    snapcommon("Test (2D): install snapshots (disconnect+unreliable)", true, false, false);
}

#[test]
fn test_snapshot_install_crash_2d() {
    snapcommon("Test (2D): install snapshots (crash)", false, true, true);
}

#[test]
fn test_snapshot_install_unreliable_crash_2d() {
    snapcommon("Test (2D): install snapshots (unreliable+crash)", false, false, true);
}

/// Crash and restart all servers: the snapshot and the log tail must
/// survive, and applying must resume right after the snapshot.
#[test]
fn test_snapshot_all_crash_2d() {
    let servers = 3;
    let iters = 5;
    let (cfg, _cleanup) = cluster(servers, false, "Test (2D): crash and restart all servers");

    cfg.one(int_cmd(cfg.rng.int()), servers, true);

    for _ in 0..iters {
        // Perhaps enough to get a snapshot.
        let nn = SNAPSHOT_INTERVAL / 2 + cfg.rng.below(SNAPSHOT_INTERVAL);
        for _ in 0..nn {
            cfg.one(int_cmd(cfg.rng.int()), servers, true);
        }

        let index1 = cfg.one(int_cmd(cfg.rng.int()), servers, true).expect("committed");

        // Crash all.
        for i in 0..servers {
            cfg.crash1(i);
        }
        // Revive all.
        for i in 0..servers {
            cfg.start1(i);
            cfg.connect(i);
        }

        let index2 = cfg.one(int_cmd(cfg.rng.int()), servers, true).expect("committed");
        assert!(index2 > index1, "index decreased from {index1} to {index2}");
    }
    cfg.end("Test (2D): crash and restart all servers");
}

/// A Raft that does not load its snapshot at start-up writes an empty one
/// with its next save; after a second restart its log has a gap.
#[test]
fn test_snapshot_init_2d() {
    let servers = 3;
    let (cfg, _cleanup) = cluster(servers, false, "Test (2D): snapshot initialization after crash");

    cfg.one(int_cmd(cfg.rng.int()), servers, true);

    // Enough ops to make a snapshot.
    for _ in 0..SNAPSHOT_INTERVAL + 1 {
        cfg.one(int_cmd(cfg.rng.int()), servers, true);
    }

    let crash_and_revive_all = || {
        for i in 0..servers {
            cfg.crash1(i);
        }
        for i in 0..servers {
            cfg.start1(i);
            cfg.connect(i);
        }
    };

    crash_and_revive_all();
    // A single op, to get something written back to persistent storage.
    cfg.one(int_cmd(cfg.rng.int()), servers, true);

    crash_and_revive_all();
    // Another op, to trigger the potential bug.
    cfg.one(int_cmd(cfg.rng.int()), servers, true);
    cfg.end("Test (2D): snapshot initialization after crash");
}
