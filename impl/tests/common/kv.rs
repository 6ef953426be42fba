//! The lab's key/value test harness (§4.1 of
//! `shared/research/raft-test-plan.md`): n key/value servers on the
//! simulated network (each server hosts its KV service and its Raft node,
//! so both share its fate), clerks with their own shuffled ends, partitions,
//! shutdown and restart, and the counting, recording wrappers of the clerk
//! operations. Long delays stay off, so clerks cycle through servers fast.

use super::history::{CheckHistory, Checked, History, KvCall};
use super::{finish_test, fresh_ends, test_seed, trace, TestRng};
use raftcheck_checker::Verdict;
use raftcheck_impl::kv::{Clerk, KvMutant, KvServer, KvServerOptions};
use raftcheck_impl::net::{Network, Server};
use raftcheck_impl::raft::lab_transport::LabTransport;
use raftcheck_impl::raft::Options;
use raftcheck_impl::storage::{MemoryPersister, Persister};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The lab's allowance for an election.
pub const ELECTION_TIMEOUT: Duration = Duration::from_secs(1);
/// The lab's budget for a linearizability check.
pub const LINEARIZABILITY_CHECK_TIMEOUT: Duration = Duration::from_secs(1);
const TEST_LIMIT: Duration = Duration::from_secs(120);

/// History checks made by this test binary, and how many of them were
/// unknown within the lab's budget.
static CHECKS: AtomicU64 = AtomicU64::new(0);
static UNKNOWNS: AtomicU64 = AtomicU64::new(0);

/// A clerk of the tests: its ends are known to the harness, so that it can
/// be connected to some servers only.
pub struct TestClerk {
    pub clerk: Clerk,
    /// Its process number in the recorded history.
    pub process: u64,
}

/// A cluster of key/value servers under test.
pub struct KvConfig {
    pub n: usize,
    pub net: Network,
    pub rng: TestRng,
    pub history: History,
    seed: u64,
    max_raft_state: Option<usize>,
    mutant: Option<KvMutant>,
    servers: Mutex<Vec<Option<Arc<KvServer>>>>,
    saved: Mutex<Vec<Arc<MemoryPersister>>>,
    end_names: Mutex<Vec<Vec<String>>>,
    /// Each clerk's end names, by server.
    clerks: Mutex<HashMap<u64, Vec<String>>>,
    next_client: AtomicU64,
    starts: AtomicU64,
    made: Instant,
    begun: Mutex<(Instant, u64)>,
    ops: AtomicU64,
    /// The cluster's event trace, if this test records one.
    trace: Option<trace::TestTrace>,
}

impl KvConfig {
    /// Starts `n` connected servers; `max_raft_state` < 0 means no snapshots.
    pub fn new(n: usize, unreliable: bool, max_raft_state: i64) -> Arc<KvConfig> {
        Self::with_mutant(n, unreliable, max_raft_state, None)
    }

    /// As [`KvConfig::new`], recording the cluster's event trace, which is
    /// validated against the model when the test ends.
    pub fn traced(n: usize, unreliable: bool, max_raft_state: i64) -> Arc<KvConfig> {
        Self::build(n, unreliable, max_raft_state, None, true)
    }

    /// As [`KvConfig::new`], every server running with a service bug. The
    /// cluster records a trace if `RAFTCHECK_TRACE` is set.
    pub fn with_mutant(n: usize, unreliable: bool, max_raft_state: i64, mutant: Option<KvMutant>) -> Arc<KvConfig> {
        Self::build(n, unreliable, max_raft_state, mutant, trace::wanted())
    }

    fn build(n: usize, unreliable: bool, max_raft_state: i64, mutant: Option<KvMutant>, traced: bool) -> Arc<KvConfig> {
        let seed = test_seed();
        let cfg = Arc::new(KvConfig {
            n,
            net: Network::new(seed),
            rng: TestRng::new(seed ^ 0xc1e4),
            history: History::default(),
            seed,
            max_raft_state: usize::try_from(max_raft_state).ok(),
            mutant,
            servers: Mutex::new(vec![None; n]),
            saved: Mutex::new((0..n).map(|_| Arc::new(MemoryPersister::new())).collect()),
            end_names: Mutex::new(vec![Vec::new(); n]),
            clerks: Mutex::new(HashMap::new()),
            next_client: AtomicU64::new(n as u64 + 1000),
            starts: AtomicU64::new(0),
            made: Instant::now(),
            begun: Mutex::new((Instant::now(), 0)),
            ops: AtomicU64::new(0),
            trace: traced.then(|| trace::TestTrace::start(n, None)),
        });
        for i in 0..n {
            cfg.start_server(i);
        }
        cfg.connect_all();
        cfg.net.set_reliable(!unreliable);
        cfg
    }

    /// The seed of this test's random choices.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Every server id.
    pub fn all(&self) -> Vec<usize> {
        (0..self.n).collect()
    }

    fn connect_unlocked(&self, names: &[Vec<String>], i: usize, to: &[usize]) {
        for &j in to {
            if let Some(name) = names[i].get(j) {
                self.net.enable(name, true);
            }
            if let Some(name) = names[j].get(i) {
                self.net.enable(name, true);
            }
        }
    }

    fn disconnect_unlocked(&self, names: &[Vec<String>], i: usize, from: &[usize]) {
        for &j in from {
            if let Some(name) = names[i].get(j) {
                self.net.enable(name, false);
            }
            if let Some(name) = names[j].get(i) {
                self.net.enable(name, false);
            }
        }
    }

    /// Connects every server to every server.
    pub fn connect_all(&self) {
        let names = self.end_names.lock().unwrap();
        for i in 0..self.n {
            self.connect_unlocked(&names, i, &self.all());
        }
    }

    /// Two partitions: connected inside each, cut off across.
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        let names = self.end_names.lock().unwrap();
        for &i in p1 {
            self.disconnect_unlocked(&names, i, p2);
            self.connect_unlocked(&names, i, p1);
        }
        for &i in p2 {
            self.disconnect_unlocked(&names, i, p1);
            self.connect_unlocked(&names, i, p2);
        }
    }

    /// A new clerk with ends to every server, in shuffled order, of which
    /// only those to the servers in `to` are enabled.
    pub fn make_client(&self, to: &[usize]) -> TestClerk {
        let id = self.next_client.fetch_add(1, Ordering::SeqCst);
        let (names, mut ends) = fresh_ends(&self.net, &format!("clerk-{id}"), self.n, &self.rng);
        // Shuffle: a clerk must not assume that end k reaches server k.
        for k in (1..ends.len()).rev() {
            ends.swap(k, self.rng.below(k as u64 + 1) as usize);
        }
        for &j in to {
            self.net.enable(&names[j], true);
        }
        self.clerks.lock().unwrap().insert(id, names);
        TestClerk { clerk: Clerk::new(ends, id), process: id }
    }

    /// Enables the ends of the clerk with id `clerk` to the servers in `to`.
    pub fn connect_client(&self, clerk: u64, to: &[usize]) {
        let clerks = self.clerks.lock().unwrap();
        for &j in to {
            self.net.enable(&clerks[&clerk][j], true);
        }
    }

    /// Shuts server `i` down: cut off, deleted from the network (its late
    /// answers are never delivered), killed, its state handed to a fresh
    /// persister.
    pub fn shutdown_server(&self, i: usize) {
        {
            let names = self.end_names.lock().unwrap();
            self.disconnect_unlocked(&names, i, &self.all());
        }
        self.net.delete_server(&i.to_string());
        // Kill first (it returns once the node has stopped), then copy what
        // it saved: nothing it saved is lost (see the Raft harness).
        let server = self.servers.lock().unwrap()[i].take();
        if let Some(server) = server {
            server.kill();
        }
        let mut saved = self.saved.lock().unwrap();
        saved[i] = Arc::new(saved[i].copy());
    }

    /// Starts server `i` from its persisted state, with fresh ends. Does not
    /// connect it.
    pub fn start_server(&self, i: usize) {
        let k = self.starts.fetch_add(1, Ordering::SeqCst);
        let (names, ends) = fresh_ends(&self.net, &format!("srv-{i}-{k}"), self.n, &self.rng);
        self.end_names.lock().unwrap()[i] = names;
        let persister = {
            let mut saved = self.saved.lock().unwrap();
            saved[i] = Arc::new(saved[i].copy());
            Arc::clone(&saved[i])
        };
        let mut raft = Options::lab(self.seed.wrapping_add(1000 * k + i as u64));
        raft.trace = self.trace.as_ref().map(trace::TestTrace::writer);
        let options = KvServerOptions { max_raft_state: self.max_raft_state, mutant: self.mutant, raft };
        let transport = Box::new(LabTransport::new(i, ends));
        let server = Arc::new(
            KvServer::start(i, self.n, transport, persister as Arc<dyn Persister>, options)
                .expect("the persisted state loads"),
        );
        let mut endpoint = Server::new();
        server.add_methods(&mut endpoint);
        self.servers.lock().unwrap()[i] = Some(server);
        self.net.add_server(&i.to_string(), endpoint);
    }

    /// A server that believes it leads, if any.
    pub fn leader(&self) -> Option<usize> {
        let servers = self.servers.lock().unwrap();
        (0..self.n).find(|&i| servers[i].as_ref().is_some_and(|s| s.raft().get_state().1))
    }

    /// A majority without the current leader, and the rest, ending with it.
    pub fn make_partition(&self) -> (Vec<usize>, Vec<usize>) {
        let leader = self.leader().unwrap_or(0);
        let others: Vec<usize> = (0..self.n).filter(|&i| i != leader).collect();
        let (p1, rest) = others.split_at(self.n / 2 + 1);
        let mut p2 = rest.to_vec();
        p2.push(leader);
        (p1.to_vec(), p2)
    }

    /// The largest persisted Raft state over all servers, in bytes.
    pub fn log_size(&self) -> usize {
        self.saved.lock().unwrap().iter().map(|p| p.raft_state_size()).max().unwrap_or(0)
    }

    /// Each server's persisted Raft state size and log positions, for the
    /// message of a failed size check.
    pub fn log_report(&self) -> String {
        let saved = self.saved.lock().unwrap();
        let servers = self.servers.lock().unwrap();
        (0..self.n)
            .map(|i| {
                let size = saved[i].raft_state_size();
                match &servers[i] {
                    Some(server) => {
                        let s = server.raft().status();
                        format!(
                            "server {i}: {size} bytes, snapshot {} service applied {} raft applied {} commit {} last {}",
                            s.snapshot_index,
                            server.applied_index(),
                            s.last_applied,
                            s.commit_index,
                            s.last_index
                        )
                    }
                    None => format!("server {i}: {size} bytes, down"),
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The largest snapshot over all servers, in bytes.
    pub fn snapshot_size(&self) -> usize {
        self.saved.lock().unwrap().iter().map(|p| p.snapshot_size()).max().unwrap_or(0)
    }

    /// A counted get; recorded in the history when `record`.
    pub fn get(&self, ck: &mut TestClerk, key: &str, record: bool) -> String {
        let slot = record.then(|| self.history.invoke(ck.process, KvCall::Get(key.to_string())));
        let value = ck.clerk.get(key);
        if let Some(slot) = slot {
            self.history.complete(slot, Some(value.clone()));
        }
        self.ops.fetch_add(1, Ordering::Relaxed);
        value
    }

    /// A counted put; recorded in the history when `record`.
    pub fn put(&self, ck: &mut TestClerk, key: &str, value: &str, record: bool) {
        let slot = record.then(|| self.history.invoke(ck.process, KvCall::Put(key.to_string(), value.to_string())));
        ck.clerk.put(key, value);
        if let Some(slot) = slot {
            self.history.complete(slot, None);
        }
        self.ops.fetch_add(1, Ordering::Relaxed);
    }

    /// A counted append; recorded in the history when `record`.
    pub fn append(&self, ck: &mut TestClerk, key: &str, value: &str, record: bool) {
        let call = KvCall::Append(key.to_string(), value.to_string());
        let slot = record.then(|| self.history.invoke(ck.process, call));
        ck.clerk.append(key, value);
        if let Some(slot) = slot {
            self.history.complete(slot, None);
        }
        self.ops.fetch_add(1, Ordering::Relaxed);
    }

    /// Fails unless `key` reads `value` (not recorded).
    pub fn check(&self, ck: &mut TestClerk, key: &str, value: &str) {
        let got = self.get(ck, key, false);
        assert_eq!(got, value, "Get({key}): expected:\n{value}\nreceived:\n{got}");
    }

    /// Checks the recorded history for linearizability with the lab's
    /// budget, prints the outcome, and fails the test, naming the kept
    /// history and report, if it is not linearizable. An `unknown` within
    /// the budget is settled by a longer check, counted, and fails the test
    /// if more than one check in ten of this test binary (counting at least
    /// ten) ran out of the budget.
    pub fn check_history(&self, name: &str) -> Checked {
        let keep_all = std::env::var_os("RAFTCHECK_KEEP_HISTORIES").is_some();
        let checked = self.history.check(name, LINEARIZABILITY_CHECK_TIMEOUT, keep_all);
        let checks = CHECKS.fetch_add(1, Ordering::SeqCst) + 1;
        let unknowns = UNKNOWNS.fetch_add(u64::from(checked.unknown_at_first), Ordering::SeqCst)
            + u64::from(checked.unknown_at_first);
        println!(
            "linearizability [{name}]: {} ops, {} in {:.1} ms{}",
            checked.operations,
            checked.verdict.name(),
            checked.elapsed.as_secs_f64() * 1e3,
            if checked.unknown_at_first { " (unknown within the 1 s budget; settled by a longer check)" } else { "" }
        );
        if checked.verdict != Verdict::Linearizable {
            let files = checked
                .files
                .as_ref()
                .map_or(String::new(), |(h, r)| format!("; history: {}; report: {}", h.display(), r.display()));
            panic!("history is not linearizable ({}){files}", checked.verdict.name());
        }
        assert!(
            unknowns * 10 <= checks.max(10),
            "{unknowns} of {checks} linearizability checks were unknown within the 1 s budget (more than rarely)"
        );
        checked
    }

    /// Starts a test part.
    pub fn begin(&self) {
        *self.begun.lock().unwrap() = (Instant::now(), self.net.total_rpcs());
        self.ops.store(0, Ordering::Relaxed);
    }

    /// Ends a test part: checks the time limit and prints the lab's
    /// "Passed" line: seconds, peers, RPCs, clerk operations.
    pub fn end(&self, description: &str) {
        assert!(self.made.elapsed() <= TEST_LIMIT, "test took longer than 120 seconds");
        let (t0, rpcs0) = *self.begun.lock().unwrap();
        let test = std::thread::current().name().unwrap_or("main").to_string();
        println!(
            "{description} ... [{test}]\n  ... Passed --  {:4.1}  {} {:5} {:4}",
            t0.elapsed().as_secs_f64(),
            self.n,
            self.net.total_rpcs() - rpcs0,
            self.ops.load(Ordering::Relaxed)
        );
    }

    /// Stops every server.
    pub fn cleanup(&self) {
        let servers: Vec<_> = self.servers.lock().unwrap().iter_mut().filter_map(Option::take).collect();
        for server in servers {
            server.kill();
        }
    }
}

/// Stops the cluster when dropped (also when the test panics) and prints
/// the seed of a failed test.
pub struct KvCleanup(pub Arc<KvConfig>);

impl Drop for KvCleanup {
    fn drop(&mut self) {
        self.0.cleanup();
        finish_test(self.0.seed, self.0.trace.as_ref());
    }
}
