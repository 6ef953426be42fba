//! A key/value server: a Raft node, the state machine its applied commands
//! build, and the requests waiting for their commands to be applied.
//!
//! A request is answered only by the apply loop, when the log entry at the
//! index `start` gave it is applied: with the result if that entry is the
//! request, with "wrong leader" if another entry took the index. A janitor
//! fails waiting requests whose server lost its term or leadership, or that
//! waited too long, so the clerk moves on.

use crate::kv::{KvMutant, KvOp, Machine, Reply, Request, METHOD};
use crate::net::Server;
use crate::raft::lab_transport::add_raft_methods;
use crate::raft::{ApplyMsg, MakeError, Options, Raft, Transport};
use crate::storage::{Persister, StorageError};
use raftcheck_core::{Index, NodeId, Term};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a request may wait for its entry before the clerk is told to
/// try again.
const WAIT_LIMIT: Duration = Duration::from_millis(800);
/// How often the janitor looks at the waiting requests.
const JANITOR_PERIOD: Duration = Duration::from_millis(50);
/// While more applied entries already wait, a full log is snapshotted only
/// every this many commands. Each snapshot serialises the whole machine, and
/// Raft can trim only what the machine has applied: a server that took one
/// per command while catching up fell further behind (and its untrimmed log
/// grew) the further behind it was. Idle, servers snapshot about this often
/// anyway (every 63 commands in the many-clients snapshot test).
const SNAPSHOT_EVERY_WHILE_BEHIND: usize = 64;

/// How a server runs.
pub struct KvServerOptions {
    /// Snapshot once the persisted Raft state reaches this many bytes
    /// (`None`: never snapshot).
    pub max_raft_state: Option<usize>,
    /// The seeded service bug, if any.
    pub mutant: Option<KvMutant>,
    /// The Raft node's options.
    pub raft: Options,
}

/// A request waiting for its log entry.
struct Waiter {
    term: Term,
    client: u64,
    seq: u64,
    since: Instant,
    reply: Answer,
}

/// Where a waiting request's answer goes: back on its lab RPC, or to a
/// caller of [`KvServer::submit`] (the TCP client listener).
type Answer = Box<dyn FnOnce(&Reply) + Send>;

impl Waiter {
    fn answer(self, reply: &Reply) {
        (self.reply)(reply);
    }
}

#[derive(Default)]
struct State {
    machine: Machine,
    /// By log index.
    waiters: BTreeMap<Index, Waiter>,
}

/// Everything the handler, the apply loop and the janitor share.
struct Shared {
    raft: Raft,
    persister: Arc<dyn Persister>,
    state: Mutex<State>,
    killed: AtomicBool,
    max_raft_state: Option<usize>,
    mutant: Option<KvMutant>,
}

/// A running key/value server.
pub struct KvServer {
    shared: Arc<Shared>,
}

impl KvServer {
    /// Starts server `me` of `cluster_size`, restored from `persister` (its
    /// snapshot, then the log after it, which Raft re-applies).
    pub fn start(
        me: NodeId,
        cluster_size: usize,
        transport: Box<dyn Transport>,
        persister: Arc<dyn Persister>,
        options: KvServerOptions,
    ) -> Result<KvServer, MakeError> {
        let snapshot = persister.snapshot();
        let machine = if snapshot.is_empty() {
            Machine::default()
        } else {
            Machine::restore(&snapshot)
                .map_err(|e| StorageError::Corrupt { path: format!("server {me}'s snapshot"), reason: e.to_string() })?
        };
        let (apply_tx, apply_rx) = mpsc::sync_channel(64);
        let raft = Raft::make(me, cluster_size, transport, Arc::clone(&persister), apply_tx, options.raft)?;
        let shared = Arc::new(Shared {
            raft,
            persister,
            state: Mutex::new(State { machine, waiters: BTreeMap::new() }),
            killed: AtomicBool::new(false),
            max_raft_state: options.max_raft_state,
            mutant: options.mutant,
        });
        let applier = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("kv-apply-{me}"))
            .spawn(move || applier.apply_loop(apply_rx))
            .expect("the apply loop starts");
        let janitor = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("kv-janitor-{me}"))
            .spawn(move || janitor.janitor())
            .expect("the janitor starts");
        Ok(KvServer { shared })
    }

    /// Adds this server's methods to `server`: the key/value service and
    /// its Raft node's, so both share the server's fate on the network.
    pub fn add_methods(&self, server: &mut Server) {
        let shared = Arc::clone(&self.shared);
        server.add_method(METHOD, move |bytes, reply| {
            let Ok(request) = postcard::from_bytes::<Request>(&bytes) else { return };
            shared.handle(request, Box::new(move |answer: &Reply| reply.send(encode(answer))));
        });
        add_raft_methods(server, self.shared.raft.inbox().clone());
    }

    /// Hands `request` to the server, as a request over the lab's network
    /// does: `answer` is called once, from another thread, when its entry is
    /// applied (`Done`), when another entry took its index or the server
    /// does not lead (`WrongLeader`), or when it waited too long
    /// (`Timeout`). It is never called if the server is killed first (it is
    /// dropped instead).
    pub fn submit(&self, request: Request, answer: impl FnOnce(&Reply) + Send + 'static) {
        self.shared.handle(request, Box::new(answer));
    }

    /// The Raft node under this server.
    pub fn raft(&self) -> &Raft {
        &self.shared.raft
    }

    /// The index of the last log entry the state machine has applied.
    pub fn applied_index(&self) -> Index {
        self.shared.state.lock().expect("kv lock").machine.last_applied
    }

    /// Stops the server and its Raft node; waiting requests are dropped
    /// unanswered.
    pub fn kill(&self) {
        self.shared.killed.store(true, Ordering::SeqCst);
        self.shared.raft.kill();
        let waiters = std::mem::take(&mut self.shared.state.lock().expect("kv lock").waiters);
        drop(waiters);
    }
}

impl Drop for KvServer {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Shared {
    /// A request arrived: hand it to Raft and wait (without blocking) for
    /// its entry to be applied.
    fn handle(&self, request: Request, reply: Answer) {
        if self.killed.load(Ordering::SeqCst) {
            return;
        }
        if let (Some(KvMutant::M26), KvOp::Get { key }) = (self.mutant, &request.op) {
            if self.raft.get_state().1 {
                let value = self.state.lock().expect("kv lock").machine.data.get(key).cloned().unwrap_or_default();
                return reply(&Reply::Done(Some(value)));
            }
        }
        let command = postcard::to_stdvec(&request).expect("requests serialise");
        // Hold the state while proposing, so that the entry cannot be
        // applied before its waiter is registered. (The apply loop waits for
        // the lock; Raft's event loop never waits for this service.)
        let mut state = self.state.lock().expect("kv lock");
        let Ok(started) = self.raft.start(command) else {
            drop(state);
            return reply(&Reply::WrongLeader);
        };
        let waiter =
            Waiter { term: started.term, client: request.client, seq: request.seq, since: Instant::now(), reply };
        let replaced = state.waiters.insert(started.index, waiter);
        drop(state);
        if let Some(old) = replaced {
            old.answer(&Reply::WrongLeader);
        }
    }

    /// Applies what Raft delivers, answers the waiting requests, and
    /// snapshots when the persisted Raft state grows past the limit.
    fn apply_loop(&self, applied: Receiver<ApplyMsg>) {
        // Commands applied since the last snapshot while the log was full.
        let mut deferred = 0;
        let mut next = applied.recv().ok();
        while let Some(message) = next {
            let waiting = applied.try_recv().ok();
            match message {
                ApplyMsg::Command { index, command, .. } => {
                    let full = self.max_raft_state.is_some_and(|max| self.persister.raft_state_size() >= max);
                    let snapshot_now = full && (waiting.is_none() || deferred + 1 >= SNAPSHOT_EVERY_WHILE_BEHIND);
                    deferred = if full && !snapshot_now { deferred + 1 } else { 0 };
                    self.apply_command(index, &command, snapshot_now);
                }
                ApplyMsg::Snapshot { index, data, .. } => self.install_snapshot(index, &data),
            }
            next = waiting.or_else(|| applied.recv().ok());
        }
    }

    /// Applies the command at `index`, answers its waiter, and then, if
    /// `snapshot`, hands Raft a snapshot taken just after it.
    fn apply_command(&self, index: Index, command: &[u8], snapshot: bool) {
        let mut state = self.state.lock().expect("kv lock");
        if index <= state.machine.last_applied {
            return;
        }
        let (value, request) = match postcard::from_bytes::<Request>(command) {
            Ok(request) => (state.machine.apply(index, &request), Some(request)),
            Err(_) => {
                // Not a command of this service: it holds a place in the log
                // and changes nothing.
                state.machine.last_applied = index;
                (None, None)
            }
        };
        let waiter = state.waiters.remove(&index);
        let snapshot = snapshot.then(|| state.machine.snapshot(self.mutant));
        drop(state);
        if let Some(waiter) = waiter {
            let ours = request.is_some_and(|r| r.client == waiter.client && r.seq == waiter.seq);
            waiter.answer(&if ours { Reply::Done(value) } else { Reply::WrongLeader });
        }
        if let Some(snapshot) = snapshot {
            // Refused only when stale (a leader's snapshot got here first).
            let _ = self.raft.snapshot(index, snapshot);
        }
    }

    fn install_snapshot(&self, index: Index, data: &[u8]) {
        let mut state = self.state.lock().expect("kv lock");
        if index <= state.machine.last_applied {
            return;
        }
        match Machine::restore(data) {
            Ok(mut machine) => {
                machine.last_applied = index;
                state.machine = machine;
            }
            Err(reason) => {
                eprintln!("kv server {}: {reason}; the snapshot is ignored", self.raft.id());
                return;
            }
        }
        let rest = state.waiters.split_off(&(index + 1));
        let covered = std::mem::replace(&mut state.waiters, rest);
        drop(state);
        for (_, waiter) in covered {
            waiter.answer(&Reply::WrongLeader);
        }
    }

    /// Fails waiting requests whose server changed term or lost leadership,
    /// or that waited too long.
    fn janitor(&self) {
        while !self.killed.load(Ordering::SeqCst) {
            std::thread::sleep(JANITOR_PERIOD);
            let (term, leader) = self.raft.get_state();
            let mut state = self.state.lock().expect("kv lock");
            let stale: Vec<Index> = state
                .waiters
                .iter()
                .filter(|(_, w)| w.term != term || !leader || w.since.elapsed() > WAIT_LIMIT)
                .map(|(&index, _)| index)
                .collect();
            let failed: Vec<Waiter> = stale.iter().filter_map(|index| state.waiters.remove(index)).collect();
            drop(state);
            for waiter in failed {
                let reply = if waiter.term == term && leader { Reply::Timeout } else { Reply::WrongLeader };
                waiter.answer(&reply);
            }
        }
    }
}

fn encode(reply: &Reply) -> Vec<u8> {
    postcard::to_stdvec(reply).expect("replies serialise")
}
