//! Breadth-first search over several processes (and several worker threads
//! in each), on timely dataflow: each worker owns the states whose
//! fingerprints hash to it, keeps their visited set and parents, checks the
//! properties on them and expands them; successors travel to their owner.
//! Levels are synchronous (timely's progress tracking tells each worker
//! when every worker has sent its share of a level), so the first
//! violation found is in the shallowest level that has one: a shortest
//! counterexample, as [`super::bfs`] finds. The counts of a complete run
//! are those of [`super::bfs`].
//!
//! Fingerprints are [`super::fingerprint`] (or the symmetry class's): fixed
//! keys, so every process computes the same ones from the same binary.
//!
//! A peer that dies or stops answering ends the run with an error, never a
//! hang: connecting has a deadline, a lost connection is caught (timely's
//! network threads panic on it; a panic hook installed here records it),
//! and a run in which nothing arrives for the peer timeout ends too.

mod connect;
mod level;
mod parents;

pub use connect::{read_hostfile, ConnectError, HostfileError};

use super::{Limits, Outcome, ProgressFn};
use serde::{Deserialize, Serialize};
use stateright::Model;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::communication::Hooks;
use timely::worker::Worker;

/// Where this process stands among the processes of one search.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// Processes in the run (at least 1).
    pub processes: usize,
    /// This process's index, `0..processes`; process 0 reports.
    pub process: usize,
    /// Worker threads in each process (at least 1).
    pub workers: usize,
    /// Each process's `host:port`, by index (empty with one process).
    pub addresses: Vec<String>,
    /// How long to wait for the peers to connect, and how long a running
    /// search may go with nothing arriving before it is declared stalled.
    pub peer_timeout: Duration,
    /// A fingerprint of what is searched (scope and options): peers with
    /// another one are refused.
    pub scope: u64,
}

/// Why a distributed search failed (it has no verdict).
#[derive(Debug, thiserror::Error)]
pub enum DistributedError {
    /// The processes could not all be connected.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Timely could not start the workers.
    #[error("cannot start the workers: {0}")]
    Start(String),
    /// A connection to a peer broke, or a worker failed.
    #[error("lost a peer or a worker: {0}")]
    Lost(String),
    /// Nothing arrived for the peer timeout.
    #[error("no progress for {0:?}: a peer has stopped answering")]
    Stalled(Duration),
    /// A discovery's path could not be rebuilt from the parents.
    #[error("the path to a discovery could not be rebuilt (a missing parent or a fingerprint collision)")]
    Rebuild,
}

impl DistributedError {
    /// Whether the error lies in what the user gave (this process's address
    /// cannot be listened on, a peer runs another search), rather than in
    /// a peer that failed.
    pub fn is_input_error(&self) -> bool {
        matches!(self, DistributedError::Connect(ConnectError::Listen { .. } | ConnectError::Mismatch { .. }))
    }
}

/// What every worker of one process shares.
pub(super) struct Shared<M: Model> {
    model: Arc<M>,
    canonical: Option<fn(&M::State) -> u64>,
    limits: Limits,
    progress: Option<ProgressFn>,
    /// Whether this process reports progress (process 0).
    reports: bool,
    started: Instant,
    /// Milliseconds since `started` at the last sign of life (data
    /// received, a level done).
    activity: Arc<AtomicU64>,
}

impl<M: Model> Shared<M>
where
    M::State: Hash,
{
    /// The fingerprint under which `state` is stored.
    fn key(&self, state: &M::State) -> u64 {
        super::stored_key(self.canonical, state)
    }
}

/// The first panic of a timely thread (network or worker) outside the
/// model's guarded code, since the last run began.
static FATAL: Mutex<Option<String>> = Mutex::new(None);

/// Installs (once) the panic hook that records timely threads' panics in
/// [`FATAL`] instead of printing them; other panics go to the hook that
/// was there before.
fn watch_timely_panics() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let timely = std::thread::current().name().is_some_and(|n| n.starts_with("timely:"));
            if timely && !raftcheck_core::panic_guard::in_guarded_code() {
                let message = info
                    .payload()
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic without a message".to_string());
                let thread = std::thread::current().name().unwrap_or("timely").to_string();
                let peer = thread.strip_prefix("timely:recv-").or_else(|| thread.strip_prefix("timely:send-"));
                let what = match peer {
                    Some(peer) => format!("the connection to process {peer} broke ({message})"),
                    None => format!("{thread}: {message}"),
                };
                let mut fatal = FATAL.lock().unwrap_or_else(|e| e.into_inner());
                fatal.get_or_insert(what);
            } else {
                previous(info);
            }
        }));
    });
}

/// Explores `model` breadth-first across `cluster`, this process being
/// `cluster.process`. Every process returns the same outcome (the
/// counterexample rebuilt on each); the caller lets process 0 report it.
/// `limits` apply per process (deadline, memory budget) or to the global
/// counts (depth, states), which every worker knows at the end of each
/// level; `cancel` is not used.
pub fn distributed_bfs<M>(
    model: M,
    canonical: Option<fn(&M::State) -> u64>,
    limits: Limits,
    progress: Option<ProgressFn>,
    cluster: &Cluster,
) -> Result<Outcome<M>, DistributedError>
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Hash + Send + Serialize + for<'a> Deserialize<'a> + 'static,
    M::Action: Clone + Send + 'static,
{
    let started = Instant::now();
    watch_timely_panics();
    *FATAL.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let workers = cluster.workers.max(1);
    let (builders, others): (Vec<AllocatorBuilder>, Box<dyn std::any::Any + Send>) = if cluster.processes <= 1 {
        timely::CommunicationConfig::Process(workers).try_build().map_err(DistributedError::Start)?
    } else {
        let me = connect::Hello {
            process: cluster.process as u64,
            processes: cluster.processes as u64,
            workers: workers as u64,
            scope: cluster.scope,
        };
        let sockets =
            connect::connect_all(&cluster.addresses, me, started + cluster.peer_timeout, cluster.peer_timeout)?;
        let hooks = Hooks::default();
        let local = ProcessBuilder::new_typed_vector(workers, hooks.refill.clone(), hooks.spill.clone());
        let (builders, guard) = initialize_networking_from_sockets(local, sockets, cluster.process, workers, hooks)
            .map_err(|e| DistributedError::Start(e.to_string()))?;
        (builders.into_iter().map(AllocatorBuilder::Tcp).collect(), Box::new(guard))
    };
    let activity = Arc::new(AtomicU64::new(0));
    let shared = Arc::new(Shared {
        model: Arc::new(model),
        canonical,
        limits,
        progress,
        reports: cluster.process == 0,
        started,
        activity: Arc::clone(&activity),
    });
    let (send, receive) = mpsc::channel();
    let runner = std::thread::Builder::new().name("raftcheck:distributed".to_string()).spawn(move || {
        let guards = timely::execute::execute_from(builders, others, timely::WorkerConfig::default(), move |worker| {
            run_worker(worker, &shared, workers)
        });
        let results = guards.map(|g| g.join());
        let _ = send.send(results);
    });
    runner.map_err(|e| DistributedError::Start(e.to_string()))?;
    loop {
        match receive.recv_timeout(Duration::from_millis(100)) {
            Ok(Err(e)) => return Err(DistributedError::Start(e)),
            Ok(Ok(results)) => {
                let mut outcome = None;
                for result in results {
                    match result {
                        Err(e) => return Err(DistributedError::Lost(fatal().unwrap_or(e))),
                        Ok(Some(Err(e))) => return Err(e),
                        Ok(Some(Ok(o))) => outcome = outcome.or(Some(o)),
                        Ok(None) => {}
                    }
                }
                return outcome.ok_or_else(|| DistributedError::Start("no worker reported".to_string()));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(DistributedError::Lost(fatal().unwrap_or_else(|| "the search thread failed".to_string())))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(message) = fatal() {
                    return Err(DistributedError::Lost(message));
                }
                let idle = started.elapsed().saturating_sub(Duration::from_millis(activity.load(Ordering::Relaxed)));
                if cluster.processes > 1 && idle > cluster.peer_timeout {
                    return Err(DistributedError::Stalled(cluster.peer_timeout));
                }
            }
        }
    }
}

/// The recorded fatal panic, if any.
fn fatal() -> Option<String> {
    FATAL.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// One worker: the search, then the walk back from each discovery. The
/// first worker of each process returns the outcome.
fn run_worker<M>(
    worker: &mut Worker,
    shared: &Shared<M>,
    workers: usize,
) -> Option<Result<Outcome<M>, DistributedError>>
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + Hash + Send + Serialize + for<'a> Deserialize<'a> + 'static,
    M::Action: Clone,
{
    let (tally, visited) = level::search(worker, shared);
    let wanted: Vec<(u32, u64)> =
        tally.discoveries.iter().enumerate().filter_map(|(i, d)| d.map(|(_, key)| (i as u32, key))).collect();
    let init = shared.model.init_states().into_iter().next().expect("one initial state");
    let chains = parents::walk_back(worker, visited, &wanted, shared.key(&init));
    if !worker.index().is_multiple_of(workers) {
        return None;
    }
    let mut discoveries = vec![None; tally.discoveries.len()];
    for (&(which, _), chain) in wanted.iter().zip(chains) {
        let Some(path) = chain.and_then(|keys| parents::rebuild(shared, &keys)) else {
            return Some(Err(DistributedError::Rebuild));
        };
        discoveries[which as usize] = Some(path);
    }
    let (measured, bytes) = tally.measured;
    Some(Ok(Outcome {
        discoveries,
        states: tally.states,
        unique_states: tally.unique,
        max_depth: tally.max_depth,
        stopped: tally.stopped,
        visited_bytes: 0,
        exchanged_states: Some(tally.sent),
        exchange_bytes_per_state: (measured > 0).then(|| bytes as f64 / measured as f64),
    }))
}
