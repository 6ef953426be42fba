//! The lab's part 2B tests: log replication (§3 of
//! `shared/research/raft-test-plan.md`).

mod common;

use common::raft::{Applier, Cleanup, Config, ELECTION_TIMEOUT};
use common::{int_cmd, show_cmd};
use std::sync::Arc;
use std::time::Duration;

fn cluster(servers: usize, description: &str) -> (Arc<Config>, Cleanup) {
    let cfg = Config::new(servers, false, Applier::Plain);
    cfg.begin(description);
    (cfg.clone(), Cleanup(cfg))
}

#[test]
fn test_basic_agree_2b() {
    let servers = 3;
    let (cfg, _cleanup) = cluster(servers, "Test (2B): basic agreement");
    for index in 1..=3u64 {
        let (nd, _) = cfg.n_committed(index);
        assert!(nd == 0, "some have committed before Start()");
        let xindex = cfg.one(int_cmd(index * 100), servers, false);
        assert_eq!(xindex, Some(index), "got index {xindex:?} but expected {index}");
    }
    cfg.end("Test (2B): basic agreement");
}

/// Each command should be sent to each peer just once.
#[test]
fn test_rpc_bytes_2b() {
    let servers = 3;
    let (cfg, _cleanup) = cluster(servers, "Test (2B): RPC byte count");
    cfg.one(int_cmd(99), servers, false);
    let bytes0 = cfg.net.total_bytes();
    let mut sent = 0;
    for index in 2..12 {
        let cmd = cfg.rng.string(5000).into_bytes();
        sent += cmd.len() as u64;
        let xindex = cfg.one(cmd, servers, false);
        assert_eq!(xindex, Some(index), "got index {xindex:?} but expected {index}");
    }
    let got = cfg.net.total_bytes() - bytes0;
    let expected = servers as u64 * sent;
    assert!(got <= expected + 50000, "too many RPC bytes; got {got}, expected {expected}");
    cfg.end("Test (2B): RPC byte count");
}

/// Test just failure of followers.
#[test]
fn test_follower_failure_2b() {
    let servers = 3;
    let (cfg, _cleanup) = cluster(servers, "Test (2B): test progressive failure of followers");
    cfg.one(int_cmd(101), servers, false);

    // Disconnect one follower from the network.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect((leader1 + 1) % servers);

    // The leader and remaining follower should be able to agree despite
    // the disconnected follower.
    cfg.one(int_cmd(102), servers - 1, false);
    std::thread::sleep(ELECTION_TIMEOUT);
    cfg.one(int_cmd(103), servers - 1, false);

    // Disconnect the remaining follower.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect((leader2 + 1) % servers);
    cfg.disconnect((leader2 + 2) % servers);

    // Submit a command.
    let started = cfg.raft(leader2).unwrap().start(int_cmd(104)).expect("leader rejected Start()");
    assert_eq!(started.index, 4, "expected index 4, got {}", started.index);

    std::thread::sleep(2 * ELECTION_TIMEOUT);

    // Check that command 104 did not commit.
    let (n, _) = cfg.n_committed(started.index);
    assert!(n == 0, "{n} committed but no majority");
    cfg.end("Test (2B): test progressive failure of followers");
}

/// Test just failure of leaders.
#[test]
fn test_leader_failure_2b() {
    let servers = 3;
    let (cfg, _cleanup) = cluster(servers, "Test (2B): test failure of leaders");
    cfg.one(int_cmd(101), servers, false);

    // Disconnect the first leader.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);

    // The remaining followers should elect a new leader.
    cfg.one(int_cmd(102), servers - 1, false);
    std::thread::sleep(ELECTION_TIMEOUT);
    cfg.one(int_cmd(103), servers - 1, false);

    // Disconnect the new leader.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);

    // Submit a command to each server.
    for i in 0..servers {
        let _ = cfg.raft(i).unwrap().start(int_cmd(104));
    }

    std::thread::sleep(2 * ELECTION_TIMEOUT);

    // Check that command 104 did not commit.
    let (n, _) = cfg.n_committed(4);
    assert!(n == 0, "{n} committed but no majority");
    cfg.end("Test (2B): test failure of leaders");
}

/// Test that a follower participates after disconnect and re-connect.
#[test]
fn test_fail_agree_2b() {
    let servers = 3;
    let (cfg, _cleanup) = cluster(servers, "Test (2B): agreement after follower reconnects");
    cfg.one(int_cmd(101), servers, false);

    // Disconnect one follower from the network.
    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 1) % servers);

    // The leader and remaining follower should be able to agree despite
    // the disconnected follower.
    cfg.one(int_cmd(102), servers - 1, false);
    cfg.one(int_cmd(103), servers - 1, false);
    std::thread::sleep(ELECTION_TIMEOUT);
    cfg.one(int_cmd(104), servers - 1, false);
    cfg.one(int_cmd(105), servers - 1, false);

    // Re-connect.
    cfg.connect((leader + 1) % servers);

    // The full set of servers should preserve previous agreements, and be
    // able to agree on new commands.
    cfg.one(int_cmd(106), servers, true);
    std::thread::sleep(ELECTION_TIMEOUT);
    cfg.one(int_cmd(107), servers, true);
    cfg.end("Test (2B): agreement after follower reconnects");
}

#[test]
fn test_fail_no_agree_2b() {
    let servers = 5;
    let (cfg, _cleanup) = cluster(servers, "Test (2B): no agreement if too many followers disconnect");
    cfg.one(int_cmd(10), servers, false);

    // 3 of 5 followers disconnect.
    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 1) % servers);
    cfg.disconnect((leader + 2) % servers);
    cfg.disconnect((leader + 3) % servers);

    let started = cfg.raft(leader).unwrap().start(int_cmd(20)).expect("leader rejected Start()");
    assert_eq!(started.index, 2, "expected index 2, got {}", started.index);

    std::thread::sleep(2 * ELECTION_TIMEOUT);

    let (n, _) = cfg.n_committed(started.index);
    assert!(n == 0, "{n} committed but no majority");

    // Repair.
    cfg.connect((leader + 1) % servers);
    cfg.connect((leader + 2) % servers);
    cfg.connect((leader + 3) % servers);

    // The disconnected majority may have chosen a leader from among their
    // own ranks, forgetting index 2.
    let leader2 = cfg.check_one_leader();
    let started2 = cfg.raft(leader2).unwrap().start(int_cmd(30)).expect("leader2 rejected Start()");
    assert!((2..=3).contains(&started2.index), "unexpected index {}", started2.index);

    cfg.one(int_cmd(1000), servers, true);
    cfg.end("Test (2B): no agreement if too many followers disconnect");
}

#[test]
fn test_concurrent_starts_2b() {
    let servers = 3;
    let (cfg, _cleanup) = cluster(servers, "Test (2B): concurrent Start()s");
    let mut success = false;
    'attempts: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            std::thread::sleep(Duration::from_secs(3));
        }
        let leader = cfg.check_one_leader();
        let raft = cfg.raft(leader).unwrap();
        let Ok(first) = raft.start(int_cmd(1)) else {
            // The leader moved on really quickly.
            continue;
        };
        let term = first.term;
        let iters = 5;
        let starters: Vec<_> = (0..iters)
            .map(|i| {
                let raft = Arc::clone(&raft);
                std::thread::spawn(move || raft.start(int_cmd(100 + i)).ok().filter(|s| s.term == term))
            })
            .collect();
        let indices: Vec<u64> = starters.into_iter().filter_map(|t| t.join().unwrap()).map(|s| s.index).collect();

        for j in 0..servers {
            if cfg.raft(j).unwrap().get_state().0 != term {
                // Term changed: can't expect low RPC counts.
                continue 'attempts;
            }
        }

        let mut cmds = Vec::new();
        for index in indices {
            match cfg.wait(index, servers, Some(term)) {
                // Peers have moved on to later terms, so we can't expect
                // all Start()s to have succeeded.
                None => continue 'attempts,
                Some(cmd) => cmds.push(cmd),
            }
        }
        for i in 0..iters {
            let x = int_cmd(100 + i);
            assert!(
                cmds.contains(&x),
                "cmd {} missing in {:?}",
                100 + i,
                cmds.iter().map(|c| show_cmd(c)).collect::<Vec<_>>()
            );
        }
        success = true;
        break;
    }
    assert!(success, "term changed too often");
    cfg.end("Test (2B): concurrent Start()s");
}

#[test]
fn test_rejoin_2b() {
    let servers = 3;
    let (cfg, _cleanup) = cluster(servers, "Test (2B): rejoin of partitioned leader");
    cfg.one(int_cmd(101), servers, true);

    // Leader network failure.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);

    // Make the old leader try to agree on some entries.
    let old = cfg.raft(leader1).unwrap();
    for x in [102, 103, 104] {
        let _ = old.start(int_cmd(x));
    }

    // The new leader commits, also for index 2.
    cfg.one(int_cmd(103), 2, true);

    // New leader network failure.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);

    // Old leader connected again.
    cfg.connect(leader1);
    cfg.one(int_cmd(104), 2, true);

    // All together now.
    cfg.connect(leader2);
    cfg.one(int_cmd(105), servers, true);
    cfg.end("Test (2B): rejoin of partitioned leader");
}

#[test]
fn test_backup_2b() {
    let servers = 5;
    let (cfg, _cleanup) = cluster(servers, "Test (2B): leader backs up quickly over incorrect follower logs");
    cfg.one(int_cmd(cfg.rng.int()), servers, true);

    // Put the leader and one follower in a partition.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect((leader1 + 2) % servers);
    cfg.disconnect((leader1 + 3) % servers);
    cfg.disconnect((leader1 + 4) % servers);

    // Submit lots of commands that won't commit.
    let raft1 = cfg.raft(leader1).unwrap();
    for _ in 0..50 {
        let _ = raft1.start(int_cmd(cfg.rng.int()));
    }
    std::thread::sleep(ELECTION_TIMEOUT / 2);

    cfg.disconnect(leader1 % servers);
    cfg.disconnect((leader1 + 1) % servers);

    // Allow the other partition to recover.
    cfg.connect((leader1 + 2) % servers);
    cfg.connect((leader1 + 3) % servers);
    cfg.connect((leader1 + 4) % servers);

    // Lots of successful commands to the new group.
    for _ in 0..50 {
        cfg.one(int_cmd(cfg.rng.int()), 3, true);
    }

    // Now another partitioned leader and one follower.
    let leader2 = cfg.check_one_leader();
    let mut other = (leader1 + 2) % servers;
    if leader2 == other {
        other = (leader2 + 1) % servers;
    }
    cfg.disconnect(other);

    // Lots more commands that won't commit.
    let raft2 = cfg.raft(leader2).unwrap();
    for _ in 0..50 {
        let _ = raft2.start(int_cmd(cfg.rng.int()));
    }
    std::thread::sleep(ELECTION_TIMEOUT / 2);

    // Bring the original leader back to life.
    for i in 0..servers {
        cfg.disconnect(i);
    }
    cfg.connect(leader1 % servers);
    cfg.connect((leader1 + 1) % servers);
    cfg.connect(other);

    // Lots of successful commands to the new group.
    for _ in 0..50 {
        cfg.one(int_cmd(cfg.rng.int()), 3, true);
    }

    // Now everyone.
    for i in 0..servers {
        cfg.connect(i);
    }
    cfg.one(int_cmd(cfg.rng.int()), servers, true);
    cfg.end("Test (2B): leader backs up quickly over incorrect follower logs");
}

#[test]
fn test_count_2b() {
    let servers = 3;
    let (cfg, _cleanup) = cluster(servers, "Test (2B): RPC counts aren't too high");
    let rpcs = || (0..servers).map(|j| cfg.rpc_count(j)).sum::<u64>();

    cfg.check_one_leader();
    let total1 = rpcs();
    assert!((1..=30).contains(&total1), "too many or few RPCs ({total1}) to elect initial leader");

    let mut total2 = 0;
    let mut success = false;
    'attempts: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            std::thread::sleep(Duration::from_secs(3));
        }
        let leader = cfg.check_one_leader();
        let total1 = rpcs();
        let iters = 10;
        let raft = cfg.raft(leader).unwrap();
        let Ok(first) = raft.start(int_cmd(1)) else {
            // The leader moved on really quickly.
            continue;
        };
        let (starti, term) = (first.index, first.term);
        let mut cmds = Vec::new();
        for i in 1..iters + 2 {
            let x = int_cmd(cfg.rng.below(1 << 31));
            cmds.push(x.clone());
            match raft.start(x) {
                // No longer the leader, so the term has changed.
                Err(_) => continue 'attempts,
                // The term changed while starting.
                Ok(s) if s.term != term => continue 'attempts,
                Ok(s) => assert_eq!(starti + i, s.index, "Start() failed"),
            }
        }
        for i in 1..iters + 1 {
            match cfg.wait(starti + i, servers, Some(term)) {
                // The term changed: try again.
                None => continue 'attempts,
                Some(cmd) => assert_eq!(cmd, cmds[i as usize - 1], "wrong value committed for index {}", starti + i),
            }
        }
        let mut failed = false;
        total2 = 0;
        for j in 0..servers {
            if cfg.raft(j).unwrap().get_state().0 != term {
                // Term changed: can't expect low RPC counts; keep going to
                // update total2.
                failed = true;
            }
            total2 += cfg.rpc_count(j);
        }
        if failed {
            continue 'attempts;
        }
        assert!(total2 - total1 <= (iters + 1 + 3) * 3, "too many RPCs ({}) for {iters} entries", total2 - total1);
        success = true;
        break;
    }
    assert!(success, "term changed too often");

    std::thread::sleep(ELECTION_TIMEOUT);
    let total3 = rpcs();
    assert!(total3 - total2 <= 3 * 20, "too many RPCs ({}) for 1 second of idleness", total3 - total2);
    cfg.end("Test (2B): RPC counts aren't too high");
}
