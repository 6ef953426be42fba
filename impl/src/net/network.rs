//! The 6.824 lab's simulated network ("labrpc"): named client ends wired to
//! named servers, each end enabled or not, a reliable or unreliable mode,
//! long delays for calls that cannot get through, long reordering of
//! replies, and counters of calls and bytes. Requests and replies cross it
//! as bytes, so the two sides share no memory.
//!
//! Nothing here blocks the caller: a call is handed a completion callback,
//! and every delay is a job on the [`Scheduler`]. Handlers must not block
//! either: a handler that needs to wait keeps its [`Reply`] and answers later
//! from another thread.
//!
//! A call, step by step (the numbers of the plan, §1.2 of
//! `shared/research/raft-test-plan.md`):
//! 1. the total call count and the request's bytes are counted, always;
//! 2. an end that is disabled, or wired to no live server, fails after a
//!    random delay: up to 7 s with long delays, up to 100 ms without;
//! 3. unreliable: a delay of up to 26 ms, then one request in ten is lost;
//! 4. the server's handler runs; if meanwhile the call's end is disabled or
//!    its server deleted or replaced, the call fails at once (the lab checks
//!    every 100 ms; failing at once is within that bound);
//! 5. when the handler answers, the same check again (a killed server's
//!    answer never arrives);
//! 6. unreliable: one reply in ten is lost;
//! 7. long reordering: two replies in three are held back 200 to 2199 ms;
//! 8. the reply is delivered and its bytes counted.

use crate::net::scheduler::{Job, Scheduler};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::time::Duration;

/// Why a call returned no reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RpcError {
    /// The end is disabled, or wired to no live server.
    Disconnected,
    /// Unreliable mode lost the request.
    RequestLost,
    /// Unreliable mode lost the reply (the handler did run).
    ReplyLost,
    /// The end was disabled, or its server deleted or replaced, while the
    /// call was in progress.
    ServerGone,
    /// The handler dropped its [`Reply`] without answering.
    Unanswered,
    /// The server has no handler of that name.
    NoSuchMethod(String),
    /// The reply's bytes do not decode as the expected type.
    Decode(String),
    /// The network was shut down with the call in progress.
    NetworkGone,
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::Disconnected => write!(f, "the end is disconnected"),
            RpcError::RequestLost => write!(f, "the request was lost"),
            RpcError::ReplyLost => write!(f, "the reply was lost"),
            RpcError::ServerGone => write!(f, "the server went away during the call"),
            RpcError::Unanswered => write!(f, "the handler gave no answer"),
            RpcError::NoSuchMethod(m) => write!(f, "no handler for {m}"),
            RpcError::Decode(e) => write!(f, "the reply does not decode: {e}"),
            RpcError::NetworkGone => write!(f, "the network was shut down"),
        }
    }
}

impl std::error::Error for RpcError {}

/// What a call eventually gets: the reply's bytes or why there is none.
pub type CallResult = Result<Vec<u8>, RpcError>;

/// The completion callback of a call. It runs on whichever thread finishes
/// the call, so it must be short and must not block.
pub type Done = Box<dyn FnOnce(CallResult) + Send + 'static>;

/// A method handler: gets the request's bytes and a [`Reply`] to answer
/// with, now or later from another thread. It must not block.
pub type Handler = Arc<dyn Fn(Vec<u8>, Reply) + Send + Sync + 'static>;

/// A server: a set of named methods (`"Raft.AppendEntries"`), and how many
/// requests it was handed.
pub struct Server {
    id: u64,
    methods: HashMap<String, Handler>,
    count: AtomicU64,
}

static NEXT_SERVER_ID: AtomicU64 = AtomicU64::new(1);

impl Server {
    /// A server with no methods yet. Each server has a unique identity, so
    /// that a call can tell when its server was replaced by a new one
    /// registered under the same name.
    pub fn new() -> Self {
        Server { id: NEXT_SERVER_ID.fetch_add(1, Ordering::Relaxed), methods: HashMap::new(), count: AtomicU64::new(0) }
    }

    /// Registers `handler` under the full method name `name`
    /// (`"Service.Method"`).
    pub fn add_method(&mut self, name: &str, handler: impl Fn(Vec<u8>, Reply) + Send + Sync + 'static) {
        self.methods.insert(name.to_string(), Arc::new(handler));
    }
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

/// The answer slot of a call in progress, handed to the handler. Dropping it
/// unanswered fails the call with [`RpcError::Unanswered`].
pub struct Reply {
    call: Option<Arc<Call>>,
}

impl Reply {
    /// Answers the call with `bytes` (steps 5 to 8 of the module's list).
    pub fn send(mut self, bytes: Vec<u8>) {
        if let Some(call) = self.call.take() {
            Call::answered(call, bytes);
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.finish(Err(RpcError::Unanswered));
        }
    }
}

/// One call dispatched to a server and not yet finished.
struct Call {
    net: Weak<Inner>,
    end: String,
    server_name: String,
    server_id: u64,
    /// Set when the handler answers: from then on only the reply's own
    /// fate (loss, delay) matters, not the server's.
    answered: AtomicBool,
    done: Mutex<Option<Done>>,
}

impl Call {
    /// Finishes the call once; later attempts do nothing.
    fn finish(&self, result: CallResult) {
        let done = self.done.lock().expect("call lock").take();
        if let Some(done) = done {
            done(result);
        }
    }

    /// Whether the call still waits for its handler's answer.
    fn awaits_handler(&self) -> bool {
        !self.answered.load(Ordering::SeqCst) && self.done.lock().expect("call lock").is_some()
    }

    /// The handler answered: check the server is still there, maybe lose or
    /// delay the reply, then deliver it.
    fn answered(call: Arc<Call>, bytes: Vec<u8>) {
        call.answered.store(true, Ordering::SeqCst);
        let Some(net) = call.net.upgrade() else { return call.finish(Err(RpcError::NetworkGone)) };
        if !net.still_reachable(&call) {
            return call.finish(Err(RpcError::ServerGone));
        }
        if !net.reliable.load(Ordering::Relaxed) && net.chance(100, 1000) {
            return call.finish(Err(RpcError::ReplyLost));
        }
        if net.long_reordering.load(Ordering::Relaxed) && net.chance(600, 900) {
            let delay = {
                let mut rng = net.rng.lock().expect("rng lock");
                let spread = rng.random_range(0..2000u64);
                200 + rng.random_range(0..=spread)
            };
            let weak = Arc::downgrade(&net);
            net.after(Duration::from_millis(delay), move || deliver(&weak, &call, bytes));
            return;
        }
        deliver(&Arc::downgrade(&net), &call, bytes);
    }
}

/// Step 8: count the reply's bytes and hand it to the caller.
fn deliver(net: &Weak<Inner>, call: &Call, bytes: Vec<u8>) {
    if let Some(net) = net.upgrade() {
        net.total_bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
    call.finish(Ok(bytes));
}

struct EndEntry {
    enabled: bool,
    server: Option<String>,
}

#[derive(Default)]
struct Tables {
    ends: HashMap<String, EndEntry>,
    servers: HashMap<String, Arc<Server>>,
}

struct Inner {
    tables: Mutex<Tables>,
    /// Calls handed to a handler, to fail when their end or server goes
    /// away (finished ones are pruned as the list grows).
    in_progress: Mutex<Vec<Weak<Call>>>,
    reliable: AtomicBool,
    long_delays: AtomicBool,
    long_reordering: AtomicBool,
    total_rpcs: AtomicU64,
    total_bytes: AtomicU64,
    rng: Mutex<StdRng>,
    scheduler: Scheduler,
}

impl Inner {
    fn chance(&self, numerator: u64, denominator: u64) -> bool {
        self.rng.lock().expect("rng lock").random_range(0..denominator) < numerator
    }

    fn random_millis(&self, below: u64) -> Duration {
        Duration::from_millis(self.rng.lock().expect("rng lock").random_range(0..below))
    }

    fn after(&self, delay: Duration, job: impl FnOnce() + Send + 'static) {
        self.scheduler.after(delay, Box::new(job) as Job);
    }

    /// Whether `call`'s end is still enabled and its server still the one
    /// the call was dispatched to.
    fn still_reachable(&self, call: &Call) -> bool {
        reachable(&self.tables.lock().expect("network lock"), call)
    }

    /// Remembers a call handed to a handler.
    fn track(&self, call: &Arc<Call>) {
        let mut calls = self.in_progress.lock().expect("calls lock");
        if calls.len() >= 64 && calls.len().is_power_of_two() {
            calls.retain(|c| c.upgrade().is_some_and(|c| c.awaits_handler()));
        }
        calls.push(Arc::downgrade(call));
    }

    /// Fails every call waiting for a handler whose end or server has gone
    /// (after a change to the tables).
    fn fail_unreachable(&self) {
        let doomed: Vec<Arc<Call>> = {
            let tables = self.tables.lock().expect("network lock");
            let mut calls = self.in_progress.lock().expect("calls lock");
            calls.retain(|c| c.upgrade().is_some_and(|c| c.awaits_handler()));
            calls.iter().filter_map(Weak::upgrade).filter(|c| !reachable(&tables, c)).collect()
        };
        for call in doomed {
            call.finish(Err(RpcError::ServerGone));
        }
    }
}

fn reachable(tables: &Tables, call: &Call) -> bool {
    let enabled = tables.ends.get(&call.end).is_some_and(|e| e.enabled);
    enabled && tables.servers.get(&call.server_name).is_some_and(|s| s.id == call.server_id)
}

/// The simulated network. Cheap to clone: clones share one network.
#[derive(Clone)]
pub struct Network {
    inner: Arc<Inner>,
}

impl Network {
    /// A reliable network without long delays or reordering, whose random
    /// choices (delays, losses) come from `seed`.
    pub fn new(seed: u64) -> Self {
        let inner = Inner {
            tables: Mutex::new(Tables::default()),
            in_progress: Mutex::new(Vec::new()),
            reliable: AtomicBool::new(true),
            long_delays: AtomicBool::new(false),
            long_reordering: AtomicBool::new(false),
            total_rpcs: AtomicU64::new(0),
            total_bytes: AtomicU64::new(0),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            scheduler: Scheduler::new(),
        };
        Network { inner: Arc::new(inner) }
    }

    /// A new client end named `name`: disabled and wired to nothing until
    /// [`Network::connect`] and [`Network::enable`].
    pub fn make_end(&self, name: &str) -> ClientEnd {
        let mut tables = self.inner.tables.lock().expect("network lock");
        tables.ends.insert(name.to_string(), EndEntry { enabled: false, server: None });
        ClientEnd { name: name.to_string(), net: Arc::clone(&self.inner) }
    }

    /// Wires end `end` to the server named `server` (whether or not one is
    /// registered under that name now).
    pub fn connect(&self, end: &str, server: &str) {
        if let Some(e) = self.inner.tables.lock().expect("network lock").ends.get_mut(end) {
            e.server = Some(server.to_string());
        }
    }

    /// Enables or disables end `end`. Disabling it fails its calls in
    /// progress.
    pub fn enable(&self, end: &str, enabled: bool) {
        if let Some(e) = self.inner.tables.lock().expect("network lock").ends.get_mut(end) {
            e.enabled = enabled;
        }
        if !enabled {
            self.inner.fail_unreachable();
        }
    }

    /// Registers `server` under `name`, replacing any server of that name
    /// (calls in progress to the old one then fail).
    pub fn add_server(&self, name: &str, server: Server) {
        let old = self.inner.tables.lock().expect("network lock").servers.insert(name.to_string(), Arc::new(server));
        if old.is_some() {
            self.inner.fail_unreachable();
        }
    }

    /// Removes the server named `name`: calls in progress to it fail at
    /// once, and its late answers are never delivered.
    pub fn delete_server(&self, name: &str) {
        self.inner.tables.lock().expect("network lock").servers.remove(name);
        self.inner.fail_unreachable();
    }

    /// Reliable (the default) or unreliable: delays of up to 26 ms and one
    /// request and one reply in ten lost.
    pub fn set_reliable(&self, reliable: bool) {
        self.inner.reliable.store(reliable, Ordering::Relaxed);
    }

    /// With long delays, a call that cannot get through fails after up to
    /// 7 s instead of 100 ms.
    pub fn set_long_delays(&self, on: bool) {
        self.inner.long_delays.store(on, Ordering::Relaxed);
    }

    /// With long reordering, two replies in three are held back 200-2199 ms.
    pub fn set_long_reordering(&self, on: bool) {
        self.inner.long_reordering.store(on, Ordering::Relaxed);
    }

    /// How many requests the server now registered under `name` was handed
    /// (0 if none is).
    pub fn count(&self, name: &str) -> u64 {
        let tables = self.inner.tables.lock().expect("network lock");
        tables.servers.get(name).map_or(0, |s| s.count.load(Ordering::Relaxed))
    }

    /// Every call ever made on this network, delivered or not.
    pub fn total_rpcs(&self) -> u64 {
        self.inner.total_rpcs.load(Ordering::Relaxed)
    }

    /// Bytes of every request sent and every reply delivered.
    pub fn total_bytes(&self) -> u64 {
        self.inner.total_bytes.load(Ordering::Relaxed)
    }
}

/// A named sending end. Calls may run concurrently and may complete in any
/// order.
pub struct ClientEnd {
    name: String,
    net: Arc<Inner>,
}

impl ClientEnd {
    /// The end's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Calls `method` with `request` and returns at once; `done` gets the
    /// outcome later, exactly once, on some other thread or this one.
    pub fn call_async(&self, method: &str, request: Vec<u8>, done: Done) {
        let net = &self.net;
        net.total_rpcs.fetch_add(1, Ordering::Relaxed);
        net.total_bytes.fetch_add(request.len() as u64, Ordering::Relaxed);
        let target = {
            let tables = net.tables.lock().expect("network lock");
            let end = tables.ends.get(&self.name);
            match end.filter(|e| e.enabled).and_then(|e| e.server.as_ref()) {
                Some(name) => tables.servers.get(name).map(|s| (name.clone(), Arc::clone(s))),
                None => None,
            }
        };
        let Some((server_name, server)) = target else {
            let delay =
                if net.long_delays.load(Ordering::Relaxed) { net.random_millis(7000) } else { net.random_millis(100) };
            net.after(delay, move || done(Err(RpcError::Disconnected)));
            return;
        };
        let call = Arc::new(Call {
            net: Arc::downgrade(net),
            end: self.name.clone(),
            server_name,
            server_id: server.id,
            answered: AtomicBool::new(false),
            done: Mutex::new(Some(done)),
        });
        let method = method.to_string();
        if net.reliable.load(Ordering::Relaxed) {
            dispatch(net, &server, call, &method, request);
        } else {
            let delay = net.random_millis(27);
            let weak = Arc::downgrade(net);
            net.after(delay, move || {
                let Some(net) = weak.upgrade() else { return call.finish(Err(RpcError::NetworkGone)) };
                if net.chance(100, 1000) {
                    return call.finish(Err(RpcError::RequestLost));
                }
                dispatch(&net, &server, call, &method, request);
            });
        }
    }

    /// Calls `method` with `request` and waits for the decoded reply.
    pub fn call<Q: Serialize, R: DeserializeOwned>(&self, method: &str, request: &Q) -> Result<R, RpcError> {
        let bytes = postcard::to_stdvec(request).expect("requests serialise");
        let (tx, rx) = mpsc::sync_channel(1);
        self.call_async(
            method,
            bytes,
            Box::new(move |result| {
                let _ = tx.send(result);
            }),
        );
        let reply = rx.recv().map_err(|_| RpcError::NetworkGone)??;
        postcard::from_bytes(&reply).map_err(|e| RpcError::Decode(e.to_string()))
    }
}

/// Step 4: hand the request to the server's handler, tracking the call
/// until the handler answers.
fn dispatch(net: &Arc<Inner>, server: &Arc<Server>, call: Arc<Call>, method: &str, request: Vec<u8>) {
    server.count.fetch_add(1, Ordering::Relaxed);
    let Some(handler) = server.methods.get(method).cloned() else {
        return call.finish(Err(RpcError::NoSuchMethod(method.to_string())));
    };
    net.track(&call);
    let watched = Arc::clone(&call);
    handler(request, Reply { call: Some(call) });
    // The end or server may have gone between the lookup and the tracking.
    if watched.awaits_handler() && !net.still_reachable(&watched) {
        watched.finish(Err(RpcError::ServerGone));
    }
}
