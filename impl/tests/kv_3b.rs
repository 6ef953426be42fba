//! The lab's part 3B tests: the key/value service with snapshots (§4 of
//! `shared/research/raft-test-plan.md`). Every generic test records its
//! client history and checks it with our linearizability checker.

mod common;

use common::kv::{KvCleanup, KvConfig, ELECTION_TIMEOUT};
use common::kv_generic::{generic_test, generic_test_speed, Generic};

fn generic(clients: usize, servers: usize, unreliable: bool, crash: bool, partitions: bool, random_keys: bool) {
    generic_test(Generic {
        part: "3B",
        clients,
        servers,
        unreliable,
        crash,
        partitions,
        max_raft_state: 1000,
        random_keys,
    });
}

/// If one server falls behind, then rejoins, does it recover by using the
/// InstallSnapshot RPC? Also checks that the majority discards committed
/// log entries even if the minority doesn't respond.
#[test]
fn test_snapshot_rpc_3b() {
    const SERVERS: usize = 3;
    let max_raft_state = 1000;
    let cfg = KvConfig::traced(SERVERS, false, max_raft_state as i64);
    let _cleanup = KvCleanup(cfg.clone());
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin();

    cfg.put(&mut ck, "a", "A", false);
    cfg.check(&mut ck, "a", "A");

    // A bunch of puts into the majority partition.
    cfg.partition(&[0, 1], &[2]);
    {
        let mut ck1 = cfg.make_client(&[0, 1]);
        for i in 0..50 {
            cfg.put(&mut ck1, &i.to_string(), &i.to_string(), false);
        }
        std::thread::sleep(ELECTION_TIMEOUT);
        cfg.put(&mut ck1, "b", "B", false);
    }

    // Check that the majority partition has thrown away most of its log
    // entries.
    let size = cfg.log_size();
    assert!(size <= 8 * max_raft_state, "logs were not trimmed ({size} > 8*{max_raft_state}): {}", cfg.log_report());

    // Now make a group that requires the participation of the lagging
    // server, so that it has to catch up.
    cfg.partition(&[0, 2], &[1]);
    {
        let mut ck1 = cfg.make_client(&[0, 2]);
        cfg.put(&mut ck1, "c", "C", false);
        cfg.put(&mut ck1, "d", "D", false);
        cfg.check(&mut ck1, "a", "A");
        cfg.check(&mut ck1, "b", "B");
        cfg.check(&mut ck1, "1", "1");
        cfg.check(&mut ck1, "49", "49");
    }

    // Now everybody.
    cfg.partition(&[0, 1, 2], &[]);

    cfg.put(&mut ck, "e", "E", false);
    cfg.check(&mut ck, "c", "C");
    cfg.check(&mut ck, "e", "E");
    cfg.check(&mut ck, "1", "1");
    cfg.end("Test: InstallSnapshot RPC (3B)");
}

/// Are the snapshots not too huge? 500 bytes is a generous bound for the
/// operations done here.
#[test]
fn test_snapshot_size_3b() {
    const SERVERS: usize = 3;
    let max_raft_state = 1000;
    let max_snapshot_state = 500;
    let cfg = KvConfig::traced(SERVERS, false, max_raft_state as i64);
    let _cleanup = KvCleanup(cfg.clone());
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin();

    for _ in 0..200 {
        cfg.put(&mut ck, "x", "0", false);
        cfg.check(&mut ck, "x", "0");
        cfg.put(&mut ck, "x", "1", false);
        cfg.check(&mut ck, "x", "1");
    }

    // Check that the servers have thrown away most of their log entries.
    let size = cfg.log_size();
    assert!(size <= 8 * max_raft_state, "logs were not trimmed ({size} > 8*{max_raft_state}): {}", cfg.log_report());

    // Check that the snapshots are not unreasonably large.
    let snapshot = cfg.snapshot_size();
    assert!(snapshot <= max_snapshot_state, "snapshot too large ({snapshot} > {max_snapshot_state})");
    cfg.end("Test: snapshot size is reasonable (3B)");
}

#[test]
fn test_speed_3b() {
    generic_test_speed("3B", 1000);
}

#[test]
fn test_snapshot_recover_3b() {
    generic(1, 5, false, true, false, false);
}

#[test]
fn test_snapshot_recover_many_clients_3b() {
    generic(20, 5, false, true, false, false);
}

#[test]
fn test_snapshot_unreliable_3b() {
    generic(5, 5, true, false, false, false);
}

#[test]
fn test_snapshot_unreliable_recover_3b() {
    generic(5, 5, true, true, false, false);
}

#[test]
fn test_snapshot_unreliable_recover_concurrent_partition_3b() {
    generic(5, 5, true, true, true, false);
}

#[test]
fn test_snapshot_unreliable_recover_concurrent_partition_linearizable_3b() {
    generic(15, 7, true, true, true, true);
}
