//! The clients of a run: each on its own thread with its own seeded random
//! numbers, issuing gets, puts and appends on a few keys at a set rate, and
//! recording every call and answer in one history.
//!
//! A client whose operation got no answer in time cannot know whether it
//! took effect; the operation stays open in the history (`info`), and the
//! client goes on as a new process with a new clerk (a process of the
//! history never has two operations open at once). Every value a client
//! writes is unique (`[process.n]`), so an acknowledged append can be
//! looked for in the final value; puts go to half of the keys only
//! ([`put_keys`]), so the other half keeps every append.

use raftcheck_checker::models::kv_recorder::{KvCall, KvRecorder};
use raftcheck_impl::kv::tcp::TcpClerk;
use raftcheck_impl::kv::KvOp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often each operation is drawn, relative to the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Mix {
    pub get: u32,
    pub put: u32,
    pub append: u32,
}

impl std::str::FromStr for Mix {
    type Err = String;
    /// `get=1,put=1,append=2`; a missing operation has weight 0.
    fn from_str(text: &str) -> Result<Mix, String> {
        let mut mix = Mix { get: 0, put: 0, append: 0 };
        for part in text.split(',') {
            let (op, weight) = part.split_once('=').ok_or(format!("{part:?}: expected OP=WEIGHT"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .ok()
                .filter(|w| *w <= 1_000_000)
                .ok_or(format!("{part:?}: the weight is not a number from 0 to 1000000"))?;
            match op.trim() {
                "get" => mix.get = weight,
                "put" => mix.put = weight,
                "append" => mix.append = weight,
                other => return Err(format!("{other:?}: expected get, put or append")),
            }
        }
        if mix.get + mix.put + mix.append == 0 {
            return Err("every weight is 0".to_string());
        }
        Ok(mix)
    }
}

/// What the clients do.
#[derive(Clone, Debug)]
pub struct WorkloadSettings {
    /// Clients running at once.
    pub clients: usize,
    /// Operations per second, all clients together (0: as fast as they can).
    pub rate: f64,
    /// Keys `k0`, `k1`, ...
    pub keys: usize,
    /// The operation mix.
    pub mix: Mix,
    /// How long a client waits for one operation before it gives up on it.
    pub op_timeout: Duration,
    /// Seed of the clients' draws.
    pub seed: u64,
}

/// The clients, running.
pub struct Workload {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Operations that got their answer so far.
    pub completed: Arc<AtomicU64>,
    /// Operations given up on so far.
    pub timed_out: Arc<AtomicU64>,
}

/// Puts go only to the first `put_keys(keys)` keys (half, rounded up):
/// the others only grow, so that every acknowledged append to them must be
/// in their final value.
pub fn put_keys(keys: usize) -> usize {
    keys.div_ceil(2)
}

/// The name of key `i`.
pub fn key_name(i: usize) -> String {
    format!("k{i}")
}

/// Where each client's process numbers come from: a client that gives up
/// on an operation takes the next one.
struct Processes(AtomicU64);

impl Processes {
    fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

impl Workload {
    /// Starts the clients on `servers` (the nodes' client addresses).
    pub fn start(
        servers: Vec<String>,
        settings: WorkloadSettings,
        history: Arc<KvRecorder>,
    ) -> std::io::Result<Workload> {
        let stop = Arc::new(AtomicBool::new(false));
        let completed = Arc::new(AtomicU64::new(0));
        let timed_out = Arc::new(AtomicU64::new(0));
        let processes = Arc::new(Processes(AtomicU64::new(0)));
        let threads: std::io::Result<Vec<JoinHandle<()>>> = (0..settings.clients)
            .map(|index| {
                let client = Client {
                    servers: servers.clone(),
                    settings: settings.clone(),
                    history: Arc::clone(&history),
                    stop: Arc::clone(&stop),
                    completed: Arc::clone(&completed),
                    timed_out: Arc::clone(&timed_out),
                    processes: Arc::clone(&processes),
                    rng: StdRng::seed_from_u64(settings.seed.wrapping_mul(1_000_003).wrapping_add(index as u64)),
                };
                std::thread::Builder::new().name(format!("run-client-{index}")).spawn(move || client.run())
            })
            .collect();
        let workload = Workload { stop, threads: Vec::new(), completed, timed_out };
        match threads {
            Ok(threads) => Ok(Workload { threads, ..workload }),
            Err(e) => {
                // The clients that did start see the stop and end.
                workload.stop();
                Err(e)
            }
        }
    }

    /// Tells the clients to stop and waits for them (each finishes the
    /// operation it is in, at most its timeout).
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

struct Client {
    servers: Vec<String>,
    settings: WorkloadSettings,
    history: Arc<KvRecorder>,
    stop: Arc<AtomicBool>,
    completed: Arc<AtomicU64>,
    timed_out: Arc<AtomicU64>,
    processes: Arc<Processes>,
    rng: StdRng,
}

impl Client {
    fn run(mut self) {
        let interval = (self.settings.rate > 0.0)
            .then(|| Duration::from_secs_f64(self.settings.clients as f64 / self.settings.rate));
        let mut process = self.processes.next();
        let mut clerk = TcpClerk::new(self.servers.clone(), self.rng.random());
        let mut written = 0u64;
        let mut next = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            if let Some(interval) = interval {
                // Wait for the next slot in short naps, so that a stop is
                // seen at once even at a slow rate.
                while Instant::now() < next && !self.stop.load(Ordering::SeqCst) {
                    std::thread::sleep((next - Instant::now()).min(Duration::from_millis(50)));
                }
                if self.stop.load(Ordering::SeqCst) {
                    break;
                }
                next = next.max(Instant::now()) + interval;
            }
            let mix = self.settings.mix;
            let draw = self.rng.random_range(0..mix.get + mix.put + mix.append);
            let is_put = (mix.get..mix.get + mix.put).contains(&draw);
            let keys = if is_put { put_keys(self.settings.keys) } else { self.settings.keys };
            let key = key_name(self.rng.random_range(0..keys));
            written += 1;
            let (call, op) = if draw < mix.get {
                (KvCall::Get(key.clone()), KvOp::Get { key })
            } else if is_put {
                let value = format!("[{process}.{written}]");
                (KvCall::Put(key.clone(), value.clone()), KvOp::Put { key, value })
            } else {
                let value = format!("[{process}.{written}]");
                (KvCall::Append(key.clone(), value.clone()), KvOp::Append { key, value })
            };
            let slot = self.history.invoke(process, call);
            match clerk.execute(op, self.settings.op_timeout) {
                Ok(value) => {
                    self.history.complete(slot, value);
                    self.completed.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    // Unknown outcome: the operation stays open; go on as
                    // a new process with a new clerk.
                    self.timed_out.fetch_add(1, Ordering::Relaxed);
                    process = self.processes.next();
                    clerk = TcpClerk::new(self.servers.clone(), self.rng.random());
                }
            }
        }
    }
}

/// After the run: one get of every key through the log (recorded in the
/// history as the process after every client's), each retried until
/// `timeout`. The values by key, or why one could not be read.
pub fn final_reads(
    servers: Vec<String>,
    keys: usize,
    history: &KvRecorder,
    process: u64,
    timeout: Duration,
) -> Result<Vec<String>, String> {
    let mut clerk = TcpClerk::new(servers, u64::MAX - process);
    let mut values = Vec::new();
    for i in 0..keys {
        let key = key_name(i);
        let slot = history.invoke(process, KvCall::Get(key.clone()));
        match clerk.execute(KvOp::Get { key: key.clone() }, timeout) {
            Ok(value) => {
                history.complete(slot, value.clone());
                values.push(value.unwrap_or_default());
            }
            Err(e) => return Err(format!("the final read of {key} got no answer: {e}")),
        }
    }
    Ok(values)
}
