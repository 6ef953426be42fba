//! The lab's Raft test harness ("config", §2 of
//! `shared/research/raft-test-plan.md`): n servers on the simulated
//! network, crash and restart, the appliers that check every applied
//! command, and the checks the tests are built from (`check_one_leader`,
//! `n_committed`, `wait`, `one`, ...). Every constant is the lab's.
//!
//! A check that fails panics with the lab's message (the test fails); the
//! appliers run on their own threads and record an error, which the next
//! check on the test's thread turns into a failure.

use super::{finish_test, fresh_ends, show_cmd, test_seed, trace, TestRng};
use raftcheck_core::{Index, Mutant, Term};
use raftcheck_impl::net::{Network, Server};
use raftcheck_impl::raft::lab_transport::{add_raft_methods, LabTransport};
use raftcheck_impl::raft::{ApplyMsg, Options, Raft, SnapshotError};
use raftcheck_impl::storage::{MemoryPersister, Persister};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The lab's generous election timeout: tests sleep in multiples of it.
pub const ELECTION_TIMEOUT: Duration = Duration::from_millis(1000);
/// The snapshot applier snapshots after every this many entries (2D).
pub const SNAPSHOT_INTERVAL: u64 = 10;
/// The most a test may take.
const TEST_LIMIT: Duration = Duration::from_secs(120);

/// Which applier reads a server's apply channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applier {
    /// Checks agreement and order; ignores snapshots (2A-2C).
    Plain,
    /// Also installs snapshots, insists on exactly `last_applied + 1`, and
    /// snapshots every [`SNAPSHOT_INTERVAL`] entries (2D).
    Snapshot,
}

/// What every server has applied, as the appliers saw it.
#[derive(Default)]
struct Applied {
    /// `logs[i][k]`: the command server `i` applied at index `k`. Not
    /// cleared when a server restarts: a re-applied value must agree.
    logs: Vec<HashMap<Index, Vec<u8>>>,
    /// The highest index any server applied.
    max_index: Index,
    /// The last index each server applied (snapshot applier).
    last_applied: Vec<Index>,
    /// The first error each server's applier found.
    errors: Vec<Option<String>>,
}

impl Applied {
    /// The lab's `checkLogs`: agreement with every server at `index`;
    /// records the command. Returns an error, and whether server `i` holds
    /// the previous index.
    fn check_and_record(&mut self, i: usize, index: Index, command: &[u8]) -> (Option<String>, bool) {
        let mut error = None;
        for (j, log) in self.logs.iter().enumerate() {
            if let Some(old) = log.get(&index) {
                if old.as_slice() != command {
                    error = Some(format!(
                        "commit index={index} server={i} {} != server={j} {}",
                        show_cmd(command),
                        show_cmd(old)
                    ));
                }
            }
        }
        let previous = self.logs[i].contains_key(&(index.wrapping_sub(1)));
        self.logs[i].insert(index, command.to_vec());
        self.max_index = self.max_index.max(index);
        (error, previous)
    }

    /// The lab's `ingestSnap`: server `i` now holds the commands in
    /// `snapshot`, which must end at `index` (unless `index` is `None`).
    fn ingest(&mut self, i: usize, snapshot: &[u8], index: Option<Index>) -> Option<String> {
        let Ok((last, commands)) = postcard::from_bytes::<(Index, Vec<Vec<u8>>)>(snapshot) else {
            return Some(format!("server {i}: the snapshot does not decode"));
        };
        if index.is_some_and(|k| k != last) {
            return Some(format!("server {i} snapshot doesn't match m.SnapshotIndex"));
        }
        self.logs[i] = commands.into_iter().enumerate().map(|(k, c)| (k as Index + 1, c)).collect();
        self.last_applied[i] = last;
        None
    }

    fn record_error(&mut self, i: usize, error: String) {
        eprintln!("apply error: {error}");
        self.errors[i].get_or_insert(error);
    }
}

/// The snapshot the 2D applier takes after applying `index`: the index and
/// every command through it.
fn encode_snapshot(index: Index, log: &HashMap<Index, Vec<u8>>) -> Vec<u8> {
    let commands: Vec<Vec<u8>> = (1..=index).map(|k| log.get(&k).cloned().unwrap_or_default()).collect();
    postcard::to_stdvec(&(index, commands)).expect("snapshots serialise")
}

/// A cluster of `n` Raft servers under test.
pub struct Config {
    pub n: usize,
    pub net: Network,
    pub rng: TestRng,
    seed: u64,
    mutant: Option<Mutant>,
    applier: Applier,
    rafts: Mutex<Vec<Option<Arc<Raft>>>>,
    connected: Mutex<Vec<bool>>,
    saved: Mutex<Vec<Arc<MemoryPersister>>>,
    /// `end_names[i][j]`: server i's current end to server j.
    end_names: Mutex<Vec<Vec<String>>>,
    applied: Arc<Mutex<Applied>>,
    /// How many instances were started, for fresh end names and seeds.
    starts: AtomicU64,
    made: Instant,
    begun: Mutex<(Instant, u64, u64, Index)>,
    /// Set once the test is over: background `one()` calls give up.
    finished: AtomicBool,
    /// The cluster's event trace, if this test records one.
    trace: Option<trace::TestTrace>,
}

impl Config {
    /// Starts `n` connected servers; `unreliable` makes the network drop
    /// and delay. Long delays are on, as in the lab's Raft tests. The
    /// cluster records its event trace, validated against the model when
    /// the test ends (see `trace.rs`).
    pub fn new(n: usize, unreliable: bool, applier: Applier) -> Arc<Config> {
        Self::build(n, unreliable, applier, None, true)
    }

    /// As [`Config::new`], without a trace unless `RAFTCHECK_TRACE` is set:
    /// for the tests whose traces run to tens of megabytes (heartbeats that
    /// carry thousands of entries).
    pub fn untraced(n: usize, unreliable: bool, applier: Applier) -> Arc<Config> {
        Self::build(n, unreliable, applier, None, trace::wanted())
    }

    /// As [`Config::new`], every server running with `mutant`, traced if
    /// `RAFTCHECK_TRACE` is set.
    pub fn with_mutant(n: usize, unreliable: bool, applier: Applier, mutant: Option<Mutant>) -> Arc<Config> {
        Self::build(n, unreliable, applier, mutant, trace::wanted())
    }

    /// As [`Config::with_mutant`], recording a trace that the test checks
    /// itself (see [`Config::trace_path`]); it is kept, not validated.
    pub fn traced_mutant(n: usize, unreliable: bool, applier: Applier, mutant: Mutant) -> Arc<Config> {
        Self::build(n, unreliable, applier, Some(mutant), true)
    }

    /// The file of this cluster's trace, if it records one.
    pub fn trace_path(&self) -> Option<std::path::PathBuf> {
        self.trace.as_ref().map(|t| t.path().to_path_buf())
    }

    fn build(n: usize, unreliable: bool, applier: Applier, mutant: Option<Mutant>, traced: bool) -> Arc<Config> {
        let seed = test_seed();
        let net = Network::new(seed);
        net.set_reliable(!unreliable);
        net.set_long_delays(true);
        let applied = Applied {
            logs: vec![HashMap::new(); n],
            last_applied: vec![0; n],
            errors: vec![None; n],
            ..Applied::default()
        };
        let cfg = Arc::new(Config {
            n,
            net,
            rng: TestRng::new(seed ^ 0x5eed),
            seed,
            mutant,
            applier,
            rafts: Mutex::new(vec![None; n]),
            connected: Mutex::new(vec![false; n]),
            saved: Mutex::new((0..n).map(|_| Arc::new(MemoryPersister::new())).collect()),
            end_names: Mutex::new(vec![Vec::new(); n]),
            applied: Arc::new(Mutex::new(applied)),
            starts: AtomicU64::new(0),
            made: Instant::now(),
            begun: Mutex::new((Instant::now(), 0, 0, 0)),
            finished: AtomicBool::new(false),
            trace: traced.then(|| trace::TestTrace::start(n, mutant)),
        });
        for i in 0..n {
            cfg.start1(i);
        }
        for i in 0..n {
            cfg.connect(i);
        }
        cfg
    }

    /// The running instance of server `i`.
    pub fn raft(&self, i: usize) -> Option<Arc<Raft>> {
        self.rafts.lock().unwrap()[i].clone()
    }

    /// Whether server `i` is connected.
    pub fn is_connected(&self, i: usize) -> bool {
        self.connected.lock().unwrap()[i]
    }

    /// Crashes server `i`: cut it off, delete its server, kill it (which
    /// returns once its event loop has stopped), then hand what it saved to
    /// a fresh persister. (The lab copies before killing, because its kill
    /// does not wait: a zombie could still write. Ours does, so everything
    /// the node saved before it stopped is kept, as a disk would keep it.)
    pub fn crash1(&self, i: usize) {
        self.disconnect(i);
        self.net.delete_server(&i.to_string());
        let raft = self.rafts.lock().unwrap()[i].take();
        if let Some(raft) = raft {
            raft.kill();
        }
        let mut saved = self.saved.lock().unwrap();
        saved[i] = Arc::new(saved[i].copy());
    }

    /// Restarts server `i` from its persisted state (after crashing it, if
    /// it runs), with fresh ends. Does not connect it.
    pub fn start1(&self, i: usize) {
        self.crash1(i);
        let k = self.starts.fetch_add(1, Ordering::SeqCst);
        let (names, ends) = fresh_ends(&self.net, &format!("end-{i}-{k}"), self.n, &self.rng);
        self.end_names.lock().unwrap()[i] = names;
        let persister = {
            let mut saved = self.saved.lock().unwrap();
            saved[i] = Arc::new(saved[i].copy());
            Arc::clone(&saved[i])
        };
        {
            let mut applied = self.applied.lock().unwrap();
            applied.last_applied[i] = 0;
            let snapshot = persister.snapshot();
            if !snapshot.is_empty() {
                // Mimic the service: restore from the snapshot now.
                if let Some(error) = applied.ingest(i, &snapshot, None) {
                    panic!("{error}");
                }
            }
        }
        let (apply_tx, apply_rx) = mpsc::sync_channel(0);
        let mut options = Options::lab(self.seed.wrapping_add(1000 * k + i as u64));
        options.mutant = self.mutant;
        options.trace = self.trace.as_ref().map(trace::TestTrace::writer);
        let transport = Box::new(LabTransport::new(i, ends));
        let raft = Arc::new(
            Raft::make(i, self.n, transport, persister as Arc<dyn Persister>, apply_tx, options)
                .expect("the persisted state loads"),
        );
        self.rafts.lock().unwrap()[i] = Some(Arc::clone(&raft));
        let applied = Arc::clone(&self.applied);
        let mode = self.applier;
        let weak = Arc::downgrade(&raft);
        std::thread::Builder::new()
            .name(format!("tester-applier-{i}"))
            .spawn(move || match mode {
                Applier::Plain => plain_applier(i, &apply_rx, &applied),
                Applier::Snapshot => snapshot_applier(i, &apply_rx, &applied, &weak),
            })
            .expect("the tester's applier starts");
        let mut server = Server::new();
        add_raft_methods(&mut server, raft.inbox().clone());
        self.net.add_server(&i.to_string(), server);
    }

    /// Connects server `i` to every connected server, both ways.
    pub fn connect(&self, i: usize) {
        let mut connected = self.connected.lock().unwrap();
        connected[i] = true;
        let names = self.end_names.lock().unwrap();
        for j in 0..self.n {
            if connected[j] {
                if let Some(name) = names[i].get(j) {
                    self.net.enable(name, true);
                }
                if let Some(name) = names[j].get(i) {
                    self.net.enable(name, true);
                }
            }
        }
    }

    /// Cuts server `i` off from everyone, both ways.
    pub fn disconnect(&self, i: usize) {
        let mut connected = self.connected.lock().unwrap();
        connected[i] = false;
        let names = self.end_names.lock().unwrap();
        for j in 0..self.n {
            if let Some(name) = names[i].get(j) {
                self.net.enable(name, false);
            }
            if let Some(name) = names[j].get(i) {
                self.net.enable(name, false);
            }
        }
    }

    /// Reliable or unreliable network from now on.
    pub fn set_unreliable(&self, unreliable: bool) {
        self.net.set_reliable(!unreliable);
    }

    /// Long reordering of replies on or off.
    pub fn set_long_reordering(&self, on: bool) {
        self.net.set_long_reordering(on);
    }

    /// The total number of calls made on the network.
    pub fn rpc_total(&self) -> u64 {
        self.net.total_rpcs()
    }

    /// The number of requests server `i`'s current instance was handed.
    pub fn rpc_count(&self, i: usize) -> u64 {
        self.net.count(&i.to_string())
    }

    /// The largest persisted Raft state over all servers, in bytes.
    pub fn log_size(&self) -> usize {
        self.saved.lock().unwrap().iter().map(|p| p.raft_state_size()).max().unwrap_or(0)
    }

    /// Fails the test if an applier found an error.
    fn check_apply_errors(&self) {
        let applied = self.applied.lock().unwrap();
        if let Some(error) = applied.errors.iter().flatten().next() {
            panic!("apply error: {error}");
        }
    }

    /// Waits for a leader among the connected servers and returns it; fails
    /// if some term has two leaders, or if none appears in 10 rounds.
    pub fn check_one_leader(&self) -> usize {
        for _ in 0..10 {
            std::thread::sleep(Duration::from_millis(450 + self.rng.below(100)));
            let mut leaders: HashMap<Term, Vec<usize>> = HashMap::new();
            for i in 0..self.n {
                if self.is_connected(i) {
                    if let Some((term, true)) = self.raft(i).map(|r| r.get_state()) {
                        leaders.entry(term).or_default().push(i);
                    }
                }
            }
            for (term, ids) in &leaders {
                assert!(ids.len() <= 1, "term {term} has {} (>1) leaders", ids.len());
            }
            if let Some(term) = leaders.keys().max() {
                return leaders[term][0];
            }
        }
        panic!("expected one leader, got none");
    }

    /// The term all connected servers agree on; fails if they differ.
    pub fn check_terms(&self) -> Term {
        let mut term = None;
        for i in 0..self.n {
            if self.is_connected(i) {
                let (t, _) = self.raft(i).expect("a connected server runs").get_state();
                match term {
                    None => term = Some(t),
                    Some(seen) => assert_eq!(seen, t, "servers disagree on term"),
                }
            }
        }
        term.expect("no connected server")
    }

    /// Fails if a connected server thinks it leads.
    pub fn check_no_leader(&self) {
        for i in 0..self.n {
            if self.is_connected(i) {
                let (_, leader) = self.raft(i).expect("a connected server runs").get_state();
                assert!(!leader, "expected no leader among connected servers, but {i} claims to be leader");
            }
        }
    }

    /// How many servers applied `index`, and what (all must agree).
    pub fn n_committed(&self, index: Index) -> (usize, Option<Vec<u8>>) {
        self.check_apply_errors();
        let applied = self.applied.lock().unwrap();
        let mut count = 0;
        let mut command: Option<&Vec<u8>> = None;
        for log in &applied.logs {
            if let Some(c) = log.get(&index) {
                if let Some(seen) = command {
                    assert_eq!(
                        seen,
                        c,
                        "committed values do not match: index {index}, {}, {}",
                        show_cmd(seen),
                        show_cmd(c)
                    );
                }
                count += 1;
                command = Some(c);
            }
        }
        (count, command.cloned())
    }

    /// Waits for at least `n` servers to apply `index` (about 30 s at most)
    /// and returns the command; `None` if a term moved past `start_term`.
    pub fn wait(&self, index: Index, n: usize, start_term: Option<Term>) -> Option<Vec<u8>> {
        let mut pause = Duration::from_millis(10);
        for _ in 0..30 {
            if self.n_committed(index).0 >= n {
                break;
            }
            std::thread::sleep(pause);
            if pause < Duration::from_secs(1) {
                pause *= 2;
            }
            if let Some(start) = start_term {
                let rafts: Vec<_> = self.rafts.lock().unwrap().iter().flatten().cloned().collect();
                if rafts.iter().any(|r| r.get_state().0 > start) {
                    return None;
                }
            }
        }
        let (count, command) = self.n_committed(index);
        assert!(count >= n, "only {count} decided for index {index}; wanted {n}");
        command
    }

    /// Gets `command` committed on at least `expected` servers and returns
    /// its index: tries every connected server until one leads, waits 2 s
    /// for agreement, resubmits if `retry`; fails after 10 s.
    pub fn one(&self, command: Vec<u8>, expected: usize, retry: bool) -> Option<Index> {
        let started = Instant::now();
        let mut next = 0;
        while started.elapsed() < Duration::from_secs(10) && !self.finished.load(Ordering::SeqCst) {
            let mut index = None;
            for _ in 0..self.n {
                next = (next + 1) % self.n;
                if !self.is_connected(next) {
                    continue;
                }
                if let Some(raft) = self.raft(next) {
                    if let Ok(s) = raft.start(command.clone()) {
                        index = Some(s.index);
                        break;
                    }
                }
            }
            match index {
                Some(index) => {
                    let submitted = Instant::now();
                    while submitted.elapsed() < Duration::from_secs(2) {
                        let (count, got) = self.n_committed(index);
                        if count > 0 && count >= expected && got.as_ref() == Some(&command) {
                            return Some(index);
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    assert!(retry, "one({}) failed to reach agreement", show_cmd(&command));
                }
                None => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        assert!(self.finished.load(Ordering::SeqCst), "one({}) failed to reach agreement", show_cmd(&command));
        None
    }

    /// Starts a test part: remembers the time and the counters.
    pub fn begin(&self, _description: &str) {
        let max_index = self.applied.lock().unwrap().max_index;
        *self.begun.lock().unwrap() = (Instant::now(), self.rpc_total(), self.net.total_bytes(), max_index);
    }

    /// Ends a test part: checks the time limit and prints the lab's
    /// "Passed" line: seconds, peers, RPCs, bytes, commands agreed.
    pub fn end(&self, description: &str) {
        self.check_timeout();
        self.check_apply_errors();
        let (t0, rpcs0, bytes0, max0) = *self.begun.lock().unwrap();
        let max_index = self.applied.lock().unwrap().max_index;
        // One print, so that tests running side by side do not interleave
        // their two lines; the test's name leads the soak script to it.
        let test = std::thread::current().name().unwrap_or("main").to_string();
        println!(
            "{description} ... [{test}]\n  ... Passed --  {:4.1}  {} {:4} {:7} {:4}",
            t0.elapsed().as_secs_f64(),
            self.n,
            self.rpc_total() - rpcs0,
            self.net.total_bytes() - bytes0,
            max_index - max0
        );
    }

    fn check_timeout(&self) {
        assert!(self.made.elapsed() <= TEST_LIMIT, "test took longer than 120 seconds");
    }

    /// Stops every server (the test is over).
    pub fn cleanup(&self) {
        self.finished.store(true, Ordering::SeqCst);
        let rafts: Vec<_> = self.rafts.lock().unwrap().iter_mut().filter_map(Option::take).collect();
        for raft in rafts {
            raft.kill();
        }
    }
}

/// Ends the test (kills every server) when dropped, also when the test
/// panics, and prints the seed of a failed test. A recorded trace is then
/// validated (a passing test whose trace is invalid fails) and kept if the
/// test failed.
pub struct Cleanup(pub Arc<Config>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.0.cleanup();
        finish_test(self.0.seed, self.0.trace.as_ref());
    }
}

/// The lab's plain applier for server `i` (2A-2C).
fn plain_applier(i: usize, apply: &mpsc::Receiver<ApplyMsg>, applied: &Mutex<Applied>) {
    for message in apply {
        let ApplyMsg::Command { index, command, .. } = message else { continue };
        let mut applied = applied.lock().unwrap();
        let (mut error, previous) = applied.check_and_record(i, index, &command);
        if index > 1 && !previous {
            error = Some(format!("server {i} apply out of order {index}"));
        }
        if let Some(error) = error {
            applied.record_error(i, error);
        }
    }
}

/// The lab's snapshot applier for server `i` (2D).
fn snapshot_applier(
    i: usize,
    apply: &mpsc::Receiver<ApplyMsg>,
    applied: &Mutex<Applied>,
    raft: &std::sync::Weak<Raft>,
) {
    for message in apply {
        let mut state = applied.lock().unwrap();
        match message {
            ApplyMsg::Snapshot { index, data, .. } => {
                if let Some(error) = state.ingest(i, &data, Some(index)) {
                    state.record_error(i, error);
                }
            }
            ApplyMsg::Command { index, command, .. } => {
                let expected = state.last_applied[i] + 1;
                if index != expected {
                    let error = format!("server {i} apply out of order, expected index {expected}, got {index}");
                    state.record_error(i, error);
                } else {
                    let (mut error, previous) = state.check_and_record(i, index, &command);
                    if index > 1 && !previous {
                        error = Some(format!("server {i} apply out of order {index}"));
                    }
                    if let Some(error) = error {
                        state.record_error(i, error);
                    }
                }
                state.last_applied[i] = index;
                if (index + 1) % SNAPSHOT_INTERVAL == 0 {
                    let snapshot = encode_snapshot(index, &state.logs[i]);
                    drop(state);
                    if let Some(raft) = raft.upgrade() {
                        match raft.snapshot(index, snapshot) {
                            Ok(()) | Err(SnapshotError::Stale { .. } | SnapshotError::Killed) => {}
                            Err(e) => applied.lock().unwrap().record_error(i, format!("server {i}: snapshot: {e}")),
                        }
                    }
                }
            }
        }
    }
}
