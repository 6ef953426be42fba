//! The lab's two key/value test drivers shared by parts 3A and 3B:
//! `GenericTest` (clients appending and reading for three rounds under the
//! chosen faults, then their own checks and the linearizability check of
//! the whole recorded history) and `GenericTestSpeed`.

use super::history::{CheckHistory, Checked};
use super::kv::{KvCleanup, KvConfig, TestClerk, ELECTION_TIMEOUT};
use raftcheck_impl::kv::KvMutant;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The parameters of a generic test.
#[derive(Clone, Copy, Debug)]
pub struct Generic {
    pub part: &'static str,
    pub clients: usize,
    pub servers: usize,
    pub unreliable: bool,
    pub crash: bool,
    pub partitions: bool,
    /// Negative: no snapshots.
    pub max_raft_state: i64,
    pub random_keys: bool,
}

impl Generic {
    /// The lab's title for these parameters.
    pub fn title(&self) -> String {
        let mut title = String::from("Test: ");
        if self.unreliable {
            title += "unreliable net, ";
        }
        if self.crash {
            title += "restarts, ";
        }
        if self.partitions {
            title += "partitions, ";
        }
        if self.max_raft_state != -1 {
            title += "snapshots, ";
        }
        if self.random_keys {
            title += "random keys, ";
        }
        title += if self.clients > 1 { "many clients" } else { "one client" };
        title + " (" + self.part + ")"
    }
}

/// What a generic run found.
pub struct GenericOutcome {
    /// The failures of the test's own checks (wrong value, missing or
    /// duplicate element, untrimmed log), in order.
    pub own_failures: Vec<String>,
    /// The linearizability check of the recorded history.
    pub checked: Checked,
}

/// Fails unless every "x <client> <k> y" for k < count appears in `value`
/// exactly once, in increasing k.
pub fn check_client_appends(client: usize, value: &str, count: usize) -> Result<(), String> {
    let mut last = None;
    for k in 0..count {
        let wanted = format!("x {client} {k} y");
        let Some(at) = value.find(&wanted) else {
            return Err(format!("{client} missing element {wanted} in Append result {value}"));
        };
        if value.rfind(&wanted) != Some(at) {
            return Err(format!("duplicate element {wanted} in Append result"));
        }
        if last.is_some_and(|l| at <= l) {
            return Err(format!("wrong order for element {wanted} in Append result"));
        }
        last = Some(at);
    }
    Ok(())
}

/// The lab's `GenericTest`: fails the test on any of its checks.
pub fn generic_test(p: Generic) {
    let outcome = run_generic(p, None, false);
    if let Some(failure) = outcome.own_failures.first() {
        panic!("{failure}");
    }
}

/// Runs the generic test with `mutant`, collecting the failures of the
/// test's own checks instead of stopping at the first, and checking the
/// history at the end (`expect_linearizable`: fail the test unless it is).
pub fn run_generic(p: Generic, mutant: Option<KvMutant>, keep_going: bool) -> GenericOutcome {
    let title = p.title();
    let cfg = KvConfig::with_mutant(p.servers, p.unreliable, p.max_raft_state, mutant);
    let _cleanup = KvCleanup(cfg.clone());
    cfg.begin();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let fail = |failure: String| {
        assert!(keep_going, "{failure}");
        failures.lock().unwrap().push(failure);
    };

    let mut ck = cfg.make_client(&cfg.all());
    for _round in 0..3 {
        let done_clients = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..p.clients)
            .map(|cli| {
                let (cfg, done, failures) = (Arc::clone(&cfg), Arc::clone(&done_clients), Arc::clone(&failures));
                std::thread::spawn(move || client_loop(&cfg, p, cli, &done, &failures))
            })
            .collect();

        let done_partitioner = Arc::new(AtomicBool::new(false));
        let partitioner = p.partitions.then(|| {
            // Allow the clients to perform some operations without
            // interruption.
            std::thread::sleep(Duration::from_secs(1));
            let (cfg, done) = (Arc::clone(&cfg), Arc::clone(&done_partitioner));
            std::thread::spawn(move || partitioner(&cfg, &done))
        });
        std::thread::sleep(Duration::from_secs(5));
        done_clients.store(true, Ordering::SeqCst);
        done_partitioner.store(true, Ordering::SeqCst);

        if let Some(partitioner) = partitioner {
            partitioner.join().expect("the partitioner ran");
            // Reconnect the network and give a request stuck in a minority
            // the time to see that a new term has started.
            cfg.connect_all();
            std::thread::sleep(ELECTION_TIMEOUT);
        }

        if p.crash {
            for i in 0..p.servers {
                cfg.shutdown_server(i);
            }
            // Shutting down is not instantaneous.
            std::thread::sleep(ELECTION_TIMEOUT);
            for i in 0..p.servers {
                cfg.start_server(i);
            }
            cfg.connect_all();
        }

        for (i, client) in clients.into_iter().enumerate() {
            let j = client.join().expect("a client thread failed");
            let value = cfg.get(&mut ck, &i.to_string(), true);
            if !p.random_keys {
                if let Err(failure) = check_client_appends(i, &value, j) {
                    fail(failure);
                }
            }
        }

        if p.max_raft_state > 0 {
            // The servers have processed every request and had time to
            // snapshot.
            let size = cfg.log_size();
            if size > 8 * p.max_raft_state as usize {
                fail(format!("logs were not trimmed ({size} > 8*{}): {}", p.max_raft_state, cfg.log_report()));
            }
        }
        if p.max_raft_state < 0 {
            let size = cfg.snapshot_size();
            if size > 0 {
                fail(format!("snapshot too large ({size}), should not be used when maxraftstate = -1"));
            }
        }
    }

    let name = std::thread::current().name().unwrap_or("generic").replace("::", "-");
    let checked = if keep_going {
        cfg.history.check(&name, super::kv::LINEARIZABILITY_CHECK_TIMEOUT, true)
    } else {
        cfg.check_history(&name)
    };
    cfg.end(&title);
    let own_failures = std::mem::take(&mut *failures.lock().unwrap());
    GenericOutcome { own_failures, checked }
}

/// One client of a generic round: appends (and, with random keys, puts)
/// and gets until told to stop; returns how many appends/puts it made.
fn client_loop(cfg: &KvConfig, p: Generic, cli: usize, done: &AtomicBool, failures: &Mutex<Vec<String>>) -> usize {
    let mut ck: TestClerk = cfg.make_client(&cfg.all());
    let mut j = 0;
    let mut last = String::new();
    if !p.random_keys {
        cfg.put(&mut ck, &cli.to_string(), &last, true);
    }
    while !done.load(Ordering::SeqCst) {
        let key = if p.random_keys { cfg.rng.below(p.clients as u64).to_string() } else { cli.to_string() };
        let nv = format!("x {cli} {j} y");
        if cfg.rng.below(1000) < 500 {
            cfg.append(&mut ck, &key, &nv, true);
            if !p.random_keys {
                last += &nv;
            }
            j += 1;
        } else if p.random_keys && cfg.rng.below(1000) < 100 {
            // Only with random keys: it would break the check after gets.
            cfg.put(&mut ck, &key, &nv, true);
            j += 1;
        } else {
            let v = cfg.get(&mut ck, &key, true);
            if !p.random_keys && v != last {
                failures.lock().unwrap().push(format!("get wrong value, key {key}, wanted:\n{last}\n, got\n{v}\n"));
                // The lab stops the test here.
                return j;
            }
        }
    }
    j
}

/// Repartitions the servers at random about once a second.
fn partitioner(cfg: &KvConfig, done: &AtomicBool) {
    while !done.load(Ordering::SeqCst) {
        let sides: Vec<u64> = (0..cfg.n).map(|_| cfg.rng.below(2)).collect();
        let group = |side| (0..cfg.n).filter(|&i| sides[i] == side).collect::<Vec<_>>();
        cfg.partition(&group(0), &group(1));
        std::thread::sleep(ELECTION_TIMEOUT + Duration::from_millis(cfg.rng.below(200)));
    }
}

/// The lab's `GenericTestSpeed`: 1000 sequential appends must average at
/// most a third of a heartbeat interval (33.3 ms) each.
pub fn generic_test_speed(part: &str, max_raft_state: i64) -> Duration {
    const SERVERS: usize = 3;
    const OPS: u32 = 1000;
    let cfg = KvConfig::new(SERVERS, false, max_raft_state);
    let _cleanup = KvCleanup(cfg.clone());
    let mut ck = cfg.make_client(&cfg.all());
    cfg.begin();

    // Wait until the first operation completes: a leader is elected and
    // the servers are ready.
    ck.clerk.get("x");

    let start = Instant::now();
    for i in 0..OPS {
        ck.clerk.append("x", &format!("x 0 {i} y"));
    }
    let took = start.elapsed();

    let v = ck.clerk.get("x");
    if let Err(failure) = check_client_appends(0, &v, OPS as usize) {
        panic!("{failure}");
    }

    // The heartbeat interval is about 100 ms; require at least 3 ops per.
    let per_op_limit = Duration::from_millis(100) / 3;
    let per_op = took / OPS;
    assert!(took <= per_op_limit * OPS, "Operations completed too slowly {per_op:?}/op > {per_op_limit:?}/op");
    println!("speed ({part}): {OPS} sequential appends in {:.3} s, {} µs/op", took.as_secs_f64(), per_op.as_micros());
    cfg.end(&format!("Test: ops complete fast enough ({part})"));
    per_op
}
