//! What a node's event loop receives: messages from peers, calls from the
//! service, injected timer firings, and its end. Everything that changes a
//! node goes through this one queue, one event at a time, so a node's steps
//! are totally ordered.

use crate::raft::{RaftMessage, SnapshotError, StartError, Started};
use raftcheck_core::{Index, NodeId, Output};
use std::sync::mpsc::{Sender, SyncSender};

/// Where the answer to a request goes: the RPC in progress that carried
/// it. Dropping a route unanswered fails that RPC.
pub type ReplyRoute = Box<dyn FnOnce(RaftMessage) + Send>;

/// Fault injection (see [`Event::CrashInNextStep`]): given the outputs of
/// the step, in the order the core returned them, how many of the first
/// ones the node carries out before it stops as if crashed.
pub type CrashPoint = Box<dyn FnOnce(&[Output<Vec<u8>, Vec<u8>>]) -> usize + Send>;

/// One thing for a node's event loop to handle.
pub enum Event {
    /// A message from node `from`. A request that came as an RPC carries the
    /// route its reply must take.
    Message { from: NodeId, message: RaftMessage, reply: Option<ReplyRoute> },
    /// The service proposes `command` (the lab's `Start`).
    Propose { command: Vec<u8>, answer: SyncSender<Result<Started, StartError>> },
    /// The service has snapshotted its state through `index`.
    Snapshot { index: Index, data: Vec<u8>, answer: SyncSender<Result<(), SnapshotError>> },
    /// The election timer fires now (a script's timer; real timers fire
    /// inside the loop).
    ElectionTimeout,
    /// The heartbeat timer fires now (a script's timer).
    HeartbeatTimeout,
    /// A virtual clock moved: check the timers.
    Tick,
    /// Handle every event sent before this one, then tell `done`.
    Barrier { done: SyncSender<()> },
    /// Stop: the loop ends and handles nothing more.
    Kill,
    /// Fault injection, not a Raft rule (a replay or a test asks for it):
    /// on its next step, whatever its input, the node carries out only the
    /// first outputs, as many as the [`CrashPoint`] returns for them (at most
    /// all of them), then stops as if crashed. The step is recorded whole,
    /// as the core returned it; what was not carried out (a save, a send, an
    /// apply) never happens. The caller of the step (`start`, `snapshot`)
    /// is told the node was killed, and [`crate::raft::Raft::killed`] holds.
    CrashInNextStep { point: CrashPoint },
}

/// A handle to a node's event queue. Cheap to clone; sending never blocks.
#[derive(Clone)]
pub struct Inbox {
    pub(crate) sender: Sender<Event>,
}

impl Inbox {
    /// Queues `event`. Returns false if the node's loop has ended (the event
    /// is dropped, and with it any reply route it carried).
    pub fn send(&self, event: Event) -> bool {
        self.sender.send(event).is_ok()
    }

    /// Queues a message from `from` that needs no reply.
    pub fn deliver(&self, from: NodeId, message: RaftMessage) -> bool {
        self.send(Event::Message { from, message, reply: None })
    }

    /// Waits until the loop has handled every event queued before this call.
    /// Returns false if the loop ended first.
    pub fn barrier(&self) -> bool {
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        self.send(Event::Barrier { done }) && wait.recv().is_ok()
    }
}
