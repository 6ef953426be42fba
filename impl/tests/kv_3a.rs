//! The lab's part 3A tests: the key/value service without snapshots (§4 of
//! `shared/research/raft-test-plan.md`). Every generic test records its
//! client history and checks it with our linearizability checker.

mod common;

use common::kv::{KvCleanup, KvConfig, ELECTION_TIMEOUT};
use common::kv_generic::{check_client_appends, generic_test, generic_test_speed, Generic};
use std::sync::mpsc;
use std::time::Duration;

fn generic(clients: usize, servers: usize, unreliable: bool, crash: bool, partitions: bool, random_keys: bool) {
    generic_test(Generic {
        part: "3A",
        clients,
        servers,
        unreliable,
        crash,
        partitions,
        max_raft_state: -1,
        random_keys,
    });
}

#[test]
fn test_basic_3a() {
    generic(1, 5, false, false, false, false);
}

#[test]
fn test_speed_3a() {
    generic_test_speed("3A", -1);
}

#[test]
fn test_concurrent_3a() {
    generic(5, 5, false, false, false, false);
}

#[test]
fn test_unreliable_3a() {
    generic(5, 5, true, false, false, false);
}

#[test]
fn test_unreliable_one_key_3a() {
    const SERVERS: usize = 3;
    const CLIENTS: usize = 5;
    const UPTO: usize = 10;
    let cfg = KvConfig::traced(SERVERS, true, -1);
    let _cleanup = KvCleanup(cfg.clone());
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin();
    cfg.put(&mut ck, "k", "", false);

    let clients: Vec<_> = (0..CLIENTS)
        .map(|me| {
            let cfg = cfg.clone();
            std::thread::spawn(move || {
                let mut myck = cfg.make_client(&cfg.all());
                for n in 0..UPTO {
                    cfg.append(&mut myck, "k", &format!("x {me} {n} y"), false);
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("failure");
    }

    let value = cfg.get(&mut ck, "k", false);
    for me in 0..CLIENTS {
        if let Err(failure) = check_client_appends(me, &value, UPTO) {
            panic!("{failure}");
        }
    }
    cfg.end("Test: concurrent append to same key, unreliable (3A)");
}

/// Submit a request in the minority partition and check that it does not go
/// through until the partition heals. The leader in the original network
/// ends up in the minority.
#[test]
fn test_one_partition_3a() {
    const SERVERS: usize = 5;
    let cfg = KvConfig::traced(SERVERS, false, -1);
    let _cleanup = KvCleanup(cfg.clone());
    let mut ck = cfg.make_client(&cfg.all());

    cfg.put(&mut ck, "1", "13", false);

    cfg.begin();
    let (p1, p2) = cfg.make_partition();
    cfg.partition(&p1, &p2);

    let mut ckp1 = cfg.make_client(&p1); // connect ckp1 to p1
    let mut ckp2a = cfg.make_client(&p2); // connect ckp2a to p2
    let mut ckp2b = cfg.make_client(&p2); // connect ckp2b to p2

    cfg.put(&mut ckp1, "1", "14", false);
    cfg.check(&mut ckp1, "1", "14");
    cfg.end("Test: progress in majority (3A)");

    cfg.begin();
    let minority_clerks = [ckp2a.clerk.id(), ckp2b.clerk.id()];
    let (done0_tx, done0) = mpsc::channel();
    let (done1_tx, done1) = mpsc::channel();
    let putter = cfg.clone();
    std::thread::spawn(move || {
        putter.put(&mut ckp2a, "1", "15", false);
        let _ = done0_tx.send(());
    });
    let getter = cfg.clone();
    std::thread::spawn(move || {
        getter.get(&mut ckp2b, "1", false); // a different clerk in p2
        let _ = done1_tx.send(());
    });

    // Neither may complete within a second: the minority has no majority.
    let waited = std::time::Instant::now();
    while waited.elapsed() < Duration::from_secs(1) {
        assert!(done0.try_recv().is_err(), "Put in minority completed");
        assert!(done1.try_recv().is_err(), "Get in minority completed");
        std::thread::sleep(Duration::from_millis(10));
    }

    cfg.check(&mut ckp1, "1", "14");
    cfg.put(&mut ckp1, "1", "16", false);
    cfg.check(&mut ckp1, "1", "16");
    cfg.end("Test: no progress in minority (3A)");

    cfg.begin();
    cfg.connect_all();
    for id in minority_clerks {
        cfg.connect_client(id, &cfg.all());
    }
    std::thread::sleep(ELECTION_TIMEOUT);
    assert!(done0.recv_timeout(Duration::from_millis(30 * 100)).is_ok(), "Put did not complete");
    let _ = done1.try_recv();
    cfg.check(&mut ck, "1", "15");
    cfg.end("Test: completion after heal (3A)");
}

#[test]
fn test_many_partitions_one_client_3a() {
    generic(1, 5, false, false, true, false);
}

#[test]
fn test_many_partitions_many_clients_3a() {
    generic(5, 5, false, false, true, false);
}

#[test]
fn test_persist_one_client_3a() {
    generic(1, 5, false, true, false, false);
}

#[test]
fn test_persist_concurrent_3a() {
    generic(5, 5, false, true, false, false);
}

#[test]
fn test_persist_concurrent_unreliable_3a() {
    generic(5, 5, true, true, false, false);
}

#[test]
fn test_persist_partition_3a() {
    generic(5, 5, false, true, true, false);
}

#[test]
fn test_persist_partition_unreliable_3a() {
    generic(5, 5, true, true, true, false);
}

#[test]
fn test_persist_partition_unreliable_linearizable_3a() {
    generic(15, 7, true, true, true, true);
}
