//! A Raft node on real threads, with the 6.824 lab's API: [`Raft::make`],
//! [`Raft::start`], [`Raft::get_state`], [`Raft::snapshot`], [`Raft::kill`].
//!
//! Each node has two threads: the event loop (`driver.rs`), which alone
//! touches the core node, and the applier, which hands committed commands
//! and installed snapshots to the service's channel in order, so that a
//! slow service never holds up the loop.

mod driver;
pub mod env;
pub mod event;
pub mod lab_transport;
mod status;

pub use driver::CoreNode;
pub use env::{Clock, FixedTimeout, ManualClock, RandomTimeouts, SystemClock, TimeoutSource, Transport};
pub use event::{CrashPoint, Event, Inbox, ReplyRoute};
pub use status::Status;

use crate::storage::{decode_state, view, Persister, StorageError};
use driver::Driver;
use raftcheck_core::{Config, ConfigError, HeartbeatStyle, Index, Message, Mutant, Node, NodeId, Term};
use raftcheck_traces::schema::{digest_output, digest_persistent};
use raftcheck_traces::{Event as TraceEvent, TraceWriter};
use status::StatusBoard;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A message between runtime nodes: commands and snapshots are bytes.
pub type RaftMessage = Message<Vec<u8>, Vec<u8>>;

/// Whether `message` answers a request (and so travels back on the RPC
/// that carried the request).
pub fn is_reply(message: &RaftMessage) -> bool {
    matches!(message, Message::RequestVoteReply(_) | Message::AppendEntriesReply(_) | Message::InstallSnapshotReply(_))
}

/// What the applier hands the service, in log order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyMsg {
    /// A committed command at `index`.
    Command { index: Index, term: Term, command: Vec<u8> },
    /// A snapshot from the leader replaces the service state through
    /// `index`; the next command is at `index + 1`.
    Snapshot { index: Index, term: Term, data: Vec<u8> },
}

/// Where an accepted proposal will be, if it commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Started {
    /// The index it was appended at.
    pub index: Index,
    /// The leader's term.
    pub term: Term,
}

/// Why [`Raft::start`] did not accept a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartError {
    /// This node does not lead; `term` is its current term.
    NotLeader { term: Term },
    /// The node was killed.
    Killed,
    /// The node stopped because its state could not be saved.
    Halted(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::NotLeader { term } => write!(f, "not the leader (term {term})"),
            StartError::Killed => write!(f, "the node was killed"),
            StartError::Halted(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Why [`Raft::make`] could not start a node.
#[derive(Debug, thiserror::Error)]
pub enum MakeError {
    /// What the persister holds cannot be loaded.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The core refuses the cluster (its size).
    #[error("{0}")]
    Config(#[from] ConfigError),
}

/// Why [`Raft::snapshot`] did nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// The service cannot have snapshotted what was not applied yet.
    BeyondApplied { index: Index, applied: Index },
    /// The log is already compacted through `snapshot_index` (for example a
    /// leader's snapshot was installed meanwhile). Harmless: nothing changes.
    Stale { index: Index, snapshot_index: Index },
    /// The node was killed.
    Killed,
    /// The node stopped because its state could not be saved.
    Halted(String),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::BeyondApplied { index, applied } => {
                write!(f, "snapshot at index {index}, but only {applied} entries were applied")
            }
            SnapshotError::Stale { index, snapshot_index } => {
                write!(f, "snapshot at index {index}, but the log is already compacted through {snapshot_index}")
            }
            SnapshotError::Killed => write!(f, "the node was killed"),
            SnapshotError::Halted(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// How a node runs: its timers, clock, and the core's settings.
pub struct Options {
    /// Election timeouts are drawn uniformly from this range.
    pub election_timeout: Range<Duration>,
    /// A leader's heartbeat period (the lab allows at most 10 per second).
    pub heartbeat_interval: Duration,
    /// Seed of the election-timeout draws.
    pub seed: u64,
    /// The seeded bug to run with, if any.
    pub mutant: Option<Mutant>,
    /// At most this many entries in one AppendEntries.
    pub max_entries_per_append: usize,
    /// What a heartbeat carries.
    pub heartbeat: HeartbeatStyle,
    /// The clock the timers run on.
    pub clock: Arc<dyn Clock>,
    /// Overrides `election_timeout` and `seed` when set.
    pub timeouts: Option<Box<dyn TimeoutSource>>,
    /// Where to record every step, save, apply, crash and restart of this
    /// node (shared by the cluster's nodes; `None`: no trace).
    pub trace: Option<Arc<TraceWriter>>,
}

impl Options {
    /// The lab's timing: election timeouts of 300-600 ms (well above the
    /// 100 ms heartbeat, well below the 5 s within which a new leader must
    /// be elected), 10 heartbeats per second, real time.
    pub fn lab(seed: u64) -> Self {
        Options {
            election_timeout: Duration::from_millis(300)..Duration::from_millis(600),
            heartbeat_interval: Duration::from_millis(100),
            seed,
            mutant: None,
            max_entries_per_append: usize::MAX,
            heartbeat: HeartbeatStyle::WithEntries,
            clock: Arc::new(SystemClock::new()),
            timeouts: None,
            trace: None,
        }
    }
}

/// A running Raft node. Dropping the handle kills the node.
pub struct Raft {
    me: NodeId,
    inbox: Inbox,
    status: Arc<StatusBoard>,
    killed: Arc<AtomicBool>,
    /// The event loop's thread, joined by [`Raft::kill`].
    event_loop: Mutex<Option<JoinHandle<()>>>,
}

impl Raft {
    /// Starts node `me` of a cluster of `cluster_size`, restored from what
    /// `persister` holds (a fresh node if it holds nothing). Returns at once;
    /// the node works on its own threads. Committed commands and installed
    /// snapshots arrive on `apply`, in order.
    pub fn make(
        me: NodeId,
        cluster_size: usize,
        transport: Box<dyn Transport>,
        persister: Arc<dyn Persister>,
        apply: SyncSender<ApplyMsg>,
        options: Options,
    ) -> Result<Raft, MakeError> {
        let (sender, events) = mpsc::channel();
        let inbox = Inbox { sender };
        let state = decode_state(&persister.raft_state(), &persister.snapshot())
            .map_err(|e| StorageError::Corrupt { path: format!("node {me}'s persister"), reason: e.to_string() })?;
        let config = Config::new(cluster_size)?
            .with_max_entries_per_append(options.max_entries_per_append)
            .with_heartbeat(options.heartbeat)
            .with_mutant(options.mutant);
        let node = Node::restart(me, state.clone()).map_err(|refused| StorageError::Corrupt {
            path: format!("node {me}'s persister"),
            reason: refused.to_string(),
        })?;
        let timeouts =
            options.timeouts.unwrap_or_else(|| Box::new(RandomTimeouts::new(options.seed, options.election_timeout)));
        if let Some(trace) = &options.trace {
            trace.write(|seq| TraceEvent::Restart { seq, node: me, state: digest_persistent(view(&state)) });
        }
        let status = Arc::new(StatusBoard::default());
        let killed = Arc::new(AtomicBool::new(false));
        let stopped = Arc::new(AtomicBool::new(false));
        let (applier, applied) = mpsc::channel();
        let mut driver = Driver {
            config,
            node,
            persister,
            transport,
            inbox: inbox.clone(),
            applier,
            status: Arc::clone(&status),
            clock: options.clock,
            timeouts,
            heartbeat_interval: options.heartbeat_interval,
            election_deadline: Duration::ZERO,
            heartbeat_deadline: Duration::ZERO,
            trace: options.trace.clone(),
            traced_log: None,
            killed: Arc::clone(&killed),
            stopped: Arc::clone(&stopped),
            crash_point: None,
        };
        driver.arm_timers();
        // Readable at once: a restarted node reports its saved term.
        status.publish(&driver.node);
        let event_loop = std::thread::Builder::new()
            .name(format!("raft-{me}"))
            .spawn(move || driver.run(events))
            .expect("the event loop thread starts");
        let applier = Applier { me, service: apply, killed: Arc::clone(&killed), stopped, trace: options.trace };
        std::thread::Builder::new()
            .name(format!("applier-{me}"))
            .spawn(move || applier.run(applied))
            .expect("the applier thread starts");
        Ok(Raft { me, inbox, status, killed, event_loop: Mutex::new(Some(event_loop)) })
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.me
    }

    /// Proposes `command`. Returns at once (it does not wait for the
    /// command to commit) with the index and term it will have if it
    /// commits, or why it was not accepted.
    pub fn start(&self, command: Vec<u8>) -> Result<Started, StartError> {
        if self.killed.load(Ordering::SeqCst) {
            return Err(StartError::Killed);
        }
        let (answer, wait) = mpsc::sync_channel(1);
        if !self.inbox.send(Event::Propose { command, answer }) {
            return Err(self.gone_start());
        }
        wait.recv().unwrap_or_else(|_| Err(self.gone_start()))
    }

    /// The current term and whether this node believes it leads it.
    pub fn get_state(&self) -> (Term, bool) {
        let status = self.status.read();
        (status.term, status.is_leader)
    }

    /// The node's state as of its last step.
    pub fn status(&self) -> Status {
        self.status.read()
    }

    /// The service has snapshotted its state through `index` (which it has
    /// applied): the node compacts its log through `index` and saves the
    /// snapshot with its state. Refused, with the reason, when `index` was
    /// not applied or is already compacted.
    pub fn snapshot(&self, index: Index, data: Vec<u8>) -> Result<(), SnapshotError> {
        if self.killed.load(Ordering::SeqCst) {
            return Err(SnapshotError::Killed);
        }
        let (answer, wait) = mpsc::sync_channel(1);
        if !self.inbox.send(Event::Snapshot { index, data, answer }) {
            return Err(self.gone_snapshot());
        }
        wait.recv().unwrap_or_else(|_| Err(self.gone_snapshot()))
    }

    /// Stops the node: its loop handles the events already queued, then
    /// nothing more, and its applier delivers nothing more. Returns once the
    /// loop has ended (at once if called from the loop itself), so that
    /// nothing the node does comes after its kill.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.inbox.send(Event::Kill);
        let event_loop = self.event_loop.lock().expect("kill lock").take();
        if let Some(event_loop) = event_loop {
            if event_loop.thread().id() != std::thread::current().id() {
                let _ = event_loop.join();
            }
        }
    }

    /// Whether [`Raft::kill`] was called.
    pub fn killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// The node's event queue (to inject events, for example from a script).
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    fn gone_start(&self) -> StartError {
        self.status.read().halted.map_or(StartError::Killed, StartError::Halted)
    }

    fn gone_snapshot(&self) -> SnapshotError {
        self.status.read().halted.map_or(SnapshotError::Killed, SnapshotError::Halted)
    }
}

impl Drop for Raft {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The applier thread of one node.
struct Applier {
    me: NodeId,
    service: SyncSender<ApplyMsg>,
    killed: Arc<AtomicBool>,
    /// Set by the event loop when it ends (killed or halted), before it
    /// records the node's crash.
    stopped: Arc<AtomicBool>,
    trace: Option<Arc<TraceWriter>>,
}

impl Applier {
    /// Forwards applied commands and snapshots to the service, in order,
    /// until the node stops (killed or halted) or either side goes away.
    fn run(self, applied: Receiver<ApplyMsg>) {
        for message in applied {
            let traced = self.trace.as_ref().map(|_| digest_output(&message.as_output()));
            let running = || !self.killed.load(Ordering::SeqCst) && !self.stopped.load(Ordering::SeqCst);
            if !running() || self.service.send(message).is_err() {
                return;
            }
            if let (Some(trace), Some(output)) = (&self.trace, traced) {
                // The node writes its crash after `killed` or `stopped` is
                // set, under the writer's lock: a delivery that raced with
                // the stop is not recorded after the crash.
                trace.write_if(running, |seq| TraceEvent::Applied { seq, node: self.me, output });
            }
        }
    }
}

impl ApplyMsg {
    /// The core's output this message carries out.
    pub fn as_output(&self) -> raftcheck_core::Output<Vec<u8>, Vec<u8>> {
        match self {
            ApplyMsg::Command { index, term, command } => {
                raftcheck_core::Output::ApplyCommand { index: *index, term: *term, command: command.clone() }
            }
            ApplyMsg::Snapshot { index, term, data } => {
                raftcheck_core::Output::ApplySnapshot { index: *index, term: *term, data: data.clone() }
            }
        }
    }
}
