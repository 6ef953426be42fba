//! The lab's part 2C tests: persistence (§3 of
//! `shared/research/raft-test-plan.md`).

mod common;

use common::int_cmd;
use common::raft::{Applier, Cleanup, Config, ELECTION_TIMEOUT};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn cluster(servers: usize, unreliable: bool, description: &str) -> (Arc<Config>, Cleanup) {
    let cfg = Config::new(servers, unreliable, Applier::Plain);
    cfg.begin(description);
    (cfg.clone(), Cleanup(cfg))
}

/// A cluster without a trace (`RAFTCHECK_TRACE` turns it on): these tests'
/// traces run to 20-80 MB, heartbeats carrying thousands of entries.
fn big_cluster(servers: usize, unreliable: bool, description: &str) -> (Arc<Config>, Cleanup) {
    let cfg = Config::untraced(servers, unreliable, Applier::Plain);
    cfg.begin(description);
    (cfg.clone(), Cleanup(cfg))
}

#[test]
fn test_persist1_2c() {
    let servers = 3;
    let (cfg, _cleanup) = cluster(servers, false, "Test (2C): basic persistence");
    cfg.one(int_cmd(11), servers, true);

    // Crash and re-start all.
    for i in 0..servers {
        cfg.start1(i);
    }
    for i in 0..servers {
        cfg.disconnect(i);
        cfg.connect(i);
    }
    cfg.one(int_cmd(12), servers, true);

    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);
    cfg.start1(leader1);
    cfg.connect(leader1);
    cfg.one(int_cmd(13), servers, true);

    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);
    cfg.one(int_cmd(14), servers - 1, true);
    cfg.start1(leader2);
    cfg.connect(leader2);

    // Wait for leader2 to join before killing i3.
    cfg.wait(4, servers, None);

    let i3 = (cfg.check_one_leader() + 1) % servers;
    cfg.disconnect(i3);
    cfg.one(int_cmd(15), servers - 1, true);
    cfg.start1(i3);
    cfg.connect(i3);

    cfg.one(int_cmd(16), servers, true);
    cfg.end("Test (2C): basic persistence");
}

#[test]
fn test_persist2_2c() {
    let servers = 5;
    let (cfg, _cleanup) = cluster(servers, false, "Test (2C): more persistence");
    let mut index = 1;
    for _ in 0..5 {
        cfg.one(int_cmd(10 + index), servers, true);
        index += 1;

        let leader1 = cfg.check_one_leader();

        cfg.disconnect((leader1 + 1) % servers);
        cfg.disconnect((leader1 + 2) % servers);

        cfg.one(int_cmd(10 + index), servers - 2, true);
        index += 1;

        cfg.disconnect(leader1 % servers);
        cfg.disconnect((leader1 + 3) % servers);
        cfg.disconnect((leader1 + 4) % servers);

        cfg.start1((leader1 + 1) % servers);
        cfg.start1((leader1 + 2) % servers);
        cfg.connect((leader1 + 1) % servers);
        cfg.connect((leader1 + 2) % servers);

        std::thread::sleep(ELECTION_TIMEOUT);

        cfg.start1((leader1 + 3) % servers);
        cfg.connect((leader1 + 3) % servers);

        cfg.one(int_cmd(10 + index), servers - 2, true);
        index += 1;

        cfg.connect((leader1 + 4) % servers);
        cfg.connect(leader1 % servers);
    }
    cfg.one(int_cmd(1000), servers, true);
    cfg.end("Test (2C): more persistence");
}

#[test]
fn test_persist3_2c() {
    let servers = 3;
    let (cfg, _cleanup) =
        cluster(servers, false, "Test (2C): partitioned leader and one follower crash, leader restarts");
    cfg.one(int_cmd(101), 3, true);

    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 2) % servers);

    cfg.one(int_cmd(102), 2, true);

    cfg.crash1(leader % servers);
    cfg.crash1((leader + 1) % servers);
    cfg.connect((leader + 2) % servers);
    cfg.start1(leader % servers);
    cfg.connect(leader % servers);

    cfg.one(int_cmd(103), 2, true);

    cfg.start1((leader + 1) % servers);
    cfg.connect((leader + 1) % servers);

    cfg.one(int_cmd(104), servers, true);
    cfg.end("Test (2C): partitioned leader and one follower crash, leader restarts");
}

/// The lab's sleep between rounds of the Figure 8 tests: with probability
/// 1/10 up to half an election timeout, otherwise up to 12 ms.
fn figure8_pause(cfg: &Config) {
    let ms = if cfg.rng.below(1000) < 100 {
        cfg.rng.below(ELECTION_TIMEOUT.as_millis() as u64 / 2)
    } else {
        cfg.rng.below(13)
    };
    std::thread::sleep(Duration::from_millis(ms));
}

/// Test the scenarios described in Figure 8 of the extended Raft paper.
/// Each iteration asks a leader, if there is one, to insert a command in
/// the log. If there is a leader, that leader will fail quickly with a high
/// probability (perhaps without committing the command), or crash after a
/// while with low probability (most likely committing the command). If the
/// number of alive servers isn't enough to form a majority, perhaps start a
/// new server. The leader in a new term may try to finish replicating log
/// entries that haven't been committed yet.
#[test]
fn test_figure_8_2c() {
    let servers = 5;
    let (cfg, _cleanup) = cluster(servers, false, "Test (2C): Figure 8");
    cfg.one(int_cmd(cfg.rng.int()), 1, true);

    let mut nup = servers;
    for _ in 0..1000 {
        let mut leader = None;
        for i in 0..servers {
            if let Some(raft) = cfg.raft(i) {
                if raft.start(int_cmd(cfg.rng.int())).is_ok() {
                    leader = Some(i);
                }
            }
        }
        figure8_pause(&cfg);
        if let Some(leader) = leader {
            cfg.crash1(leader);
            nup -= 1;
        }
        if nup < 3 {
            let s = cfg.rng.below(servers as u64) as usize;
            if cfg.raft(s).is_none() {
                cfg.start1(s);
                cfg.connect(s);
                nup += 1;
            }
        }
    }
    for i in 0..servers {
        if cfg.raft(i).is_none() {
            cfg.start1(i);
            cfg.connect(i);
        }
    }
    cfg.one(int_cmd(cfg.rng.int()), servers, true);
    cfg.end("Test (2C): Figure 8");
}

#[test]
fn test_unreliable_agree_2c() {
    let servers = 5;
    let (cfg, _cleanup) = cluster(servers, true, "Test (2C): unreliable agreement");
    let mut helpers = Vec::new();
    for iters in 1..50u64 {
        for j in 0..4 {
            let cfg = Arc::clone(&cfg);
            helpers.push(std::thread::spawn(move || {
                cfg.one(int_cmd(100 * iters + j), 1, true);
            }));
        }
        cfg.one(int_cmd(iters), 1, true);
    }
    cfg.set_unreliable(false);
    for helper in helpers {
        helper.join().expect("a concurrent one() failed");
    }
    cfg.one(int_cmd(100), servers, true);
    cfg.end("Test (2C): unreliable agreement");
}

#[test]
fn test_figure_8_unreliable_2c() {
    let servers = 5;
    let (cfg, _cleanup) = big_cluster(servers, true, "Test (2C): Figure 8 (unreliable)");
    cfg.one(int_cmd(cfg.rng.int() % 10000), 1, true);

    let mut nup = servers;
    for iters in 0..1000 {
        if iters == 200 {
            cfg.set_long_reordering(true);
        }
        let mut leader = None;
        for i in 0..servers {
            let accepted = cfg.raft(i).unwrap().start(int_cmd(cfg.rng.int() % 10000)).is_ok();
            if accepted && cfg.is_connected(i) {
                leader = Some(i);
            }
        }
        figure8_pause(&cfg);
        if let Some(leader) = leader {
            if cfg.rng.below(1000) < ELECTION_TIMEOUT.as_millis() as u64 / 2 {
                cfg.disconnect(leader);
                nup -= 1;
            }
        }
        if nup < 3 {
            let s = cfg.rng.below(servers as u64) as usize;
            if !cfg.is_connected(s) {
                cfg.connect(s);
                nup += 1;
            }
        }
    }
    for i in 0..servers {
        if !cfg.is_connected(i) {
            cfg.connect(i);
        }
    }
    cfg.one(int_cmd(cfg.rng.int() % 10000), servers, true);
    cfg.end("Test (2C): Figure 8 (unreliable)");
}

/// Clients propose to every server while servers are disconnected,
/// crashed and restarted; at the end everything committed must be on all
/// five, and every value a client saw committed must be among them.
fn internal_churn(unreliable: bool) {
    let servers = 5;
    let description = if unreliable { "Test (2C): unreliable churn" } else { "Test (2C): churn" };
    let (cfg, _cleanup) = big_cluster(servers, unreliable, description);
    let stop = Arc::new(AtomicBool::new(false));

    // Concurrent clients.
    let clients: Vec<_> = (0..3u64)
        .map(|me| {
            let (cfg, stop) = (Arc::clone(&cfg), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut values = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let x = cfg.rng.int();
                    let mut index = None;
                    for i in 0..servers {
                        // Try them all: maybe one of them is a leader.
                        if let Some(Ok(started)) = cfg.raft(i).map(|r| r.start(int_cmd(x))) {
                            index = Some(started.index);
                        }
                    }
                    match index {
                        Some(index) => {
                            // Maybe the leader will commit our value, maybe
                            // not, but don't wait forever.
                            for pause in [10, 20, 50, 100, 200] {
                                let (nd, cmd) = cfg.n_committed(index);
                                if nd > 0 {
                                    if cmd == Some(int_cmd(x)) {
                                        values.push(x);
                                    }
                                    break;
                                }
                                std::thread::sleep(Duration::from_millis(pause));
                            }
                        }
                        None => std::thread::sleep(Duration::from_millis(79 + me * 17)),
                    }
                }
                values
            })
        })
        .collect();

    for _ in 0..20 {
        if cfg.rng.below(1000) < 200 {
            let i = cfg.rng.below(servers as u64) as usize;
            cfg.disconnect(i);
        }
        if cfg.rng.below(1000) < 500 {
            let i = cfg.rng.below(servers as u64) as usize;
            if cfg.raft(i).is_none() {
                cfg.start1(i);
            }
            cfg.connect(i);
        }
        if cfg.rng.below(1000) < 200 {
            let i = cfg.rng.below(servers as u64) as usize;
            if cfg.raft(i).is_some() {
                cfg.crash1(i);
            }
        }
        // Make crash/restart infrequent enough that the peers can often
        // keep up, but not so infrequent that everything has settled down
        // from one change to the next: a little below the election timeout.
        std::thread::sleep(ELECTION_TIMEOUT * 7 / 10);
    }

    std::thread::sleep(ELECTION_TIMEOUT);
    cfg.set_unreliable(false);
    for i in 0..servers {
        if cfg.raft(i).is_none() {
            cfg.start1(i);
        }
        cfg.connect(i);
    }

    stop.store(true, Ordering::SeqCst);
    let mut values = Vec::new();
    for client in clients {
        values.extend(client.join().expect("client failed"));
    }

    std::thread::sleep(ELECTION_TIMEOUT);

    let last_index = cfg.one(int_cmd(cfg.rng.int()), servers, true).expect("the last command commits");
    let really: Vec<Vec<u8>> =
        (1..=last_index).map(|index| cfg.wait(index, servers, None).expect("every index is applied")).collect();
    for v in values {
        assert!(really.contains(&int_cmd(v)), "didn't find a value");
    }
    cfg.end(description);
}

#[test]
fn test_reliable_churn_2c() {
    internal_churn(false);
}

#[test]
fn test_unreliable_churn_2c() {
    internal_churn(true);
}
