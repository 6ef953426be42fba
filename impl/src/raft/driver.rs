//! A node's event loop: it owns the core [`Node`], feeds it one input at a
//! time, and carries out its outputs in the order the core returns them.
//! It makes no protocol decision of its own.
//!
//! Carrying out outputs, in order:
//! * `Persist`: encode the core's persistent state and save it; the save
//!   returns once durable, so nothing later in the same step (a vote, an
//!   acknowledgement, an applied command) leaves before the state it
//!   depends on. A failed save halts the node before anything else runs;
//! * `Send`: the answer to the request being handled goes back on that
//!   request's RPC; anything else goes to the transport, which never blocks;
//! * `ApplyCommand` / `ApplySnapshot`: queued for the applier thread, in
//!   order; the loop never waits for the service;
//! * `ResetElectionTimer`: a fresh randomised deadline;
//! * `Proposed` / `NotLeader`: the answer to the service's `start`.
//!
//! One fault-injection point, for replays and tests (never a Raft rule):
//! [`Event::CrashInNextStep`] makes the node carry out only the first
//! outputs of its next step and then stop as if crashed, between two outputs
//! the loop otherwise carries out as a whole.

use crate::raft::env::{Clock, TimeoutSource, Transport};
use crate::raft::event::{CrashPoint, Event, Inbox, ReplyRoute};
use crate::raft::status::StatusBoard;
use crate::raft::{is_reply, ApplyMsg, SnapshotError, StartError, Started};
use crate::storage::{encode_state, Persister};
use raftcheck_core::{Config, Input, Node, Output, SnapshotRefusal};
use raftcheck_traces::schema::{digest_input, digest_output};
use raftcheck_traces::{log_digest, Digest, Event as TraceEvent, PersistedSummary, StateSummary, TraceWriter};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

/// What one step answered the caller that gave the input.
#[derive(Default)]
struct StepResult {
    /// Where a proposal was appended, if it was.
    started: Option<Started>,
    /// Why a service snapshot was not taken, if it was not.
    refused: Option<SnapshotRefusal>,
}

/// Why a step ended the event loop.
enum Stop {
    /// Saving the state failed: the node halted (why).
    Halted(String),
    /// A [`CrashPoint`] stopped the node part-way through the step.
    Crashed,
}

/// The core node of the runtime: commands and snapshots are bytes.
pub type CoreNode = Node<Vec<u8>, Vec<u8>>;

/// Everything the event loop owns.
pub(crate) struct Driver {
    pub(crate) config: Config,
    pub(crate) node: CoreNode,
    pub(crate) persister: Arc<dyn Persister>,
    pub(crate) transport: Box<dyn Transport>,
    /// This node's own queue, for the transport to deliver replies to.
    pub(crate) inbox: Inbox,
    /// To the applier thread.
    pub(crate) applier: Sender<ApplyMsg>,
    pub(crate) status: Arc<StatusBoard>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) timeouts: Box<dyn TimeoutSource>,
    pub(crate) heartbeat_interval: Duration,
    /// When the election timer fires next (on `clock`).
    pub(crate) election_deadline: Duration,
    /// When the heartbeat timer fires next (on `clock`).
    pub(crate) heartbeat_deadline: Duration,
    /// Where this node's events are recorded, if anywhere.
    pub(crate) trace: Option<Arc<TraceWriter>>,
    /// The digest of the log as of the last traced step (the log changes
    /// only in steps that persist, so it is recomputed only then).
    pub(crate) traced_log: Option<Digest>,
    /// Shared with the node's handle and its applier: set when the node
    /// stops itself at a crash point, as [`crate::raft::Raft::kill`] sets it.
    pub(crate) killed: Arc<AtomicBool>,
    /// Shared with the applier: set when the event loop ends, for whatever
    /// reason (killed, halted by a failed save, a crash point), before its
    /// crash is recorded, so that no apply is recorded after the crash.
    pub(crate) stopped: Arc<AtomicBool>,
    /// Where the next step stops (fault injection), if anywhere.
    pub(crate) crash_point: Option<CrashPoint>,
}

impl Driver {
    /// Arms both timers from now.
    pub(crate) fn arm_timers(&mut self) {
        let now = self.clock.now();
        self.election_deadline = now + self.timeouts.election_timeout();
        self.heartbeat_deadline = now + self.heartbeat_interval;
    }

    /// Runs until killed, until every handle to the inbox is gone, or until
    /// a save fails.
    pub(crate) fn run(mut self, events: Receiver<Event>) {
        loop {
            let deadline = self.election_deadline.min(self.heartbeat_deadline);
            let event = match self.clock.wait_for(deadline) {
                Some(wait) => match events.recv_timeout(wait) {
                    Ok(event) => Some(event),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                },
                None => match events.recv() {
                    Ok(event) => Some(event),
                    Err(_) => return,
                },
            };
            if let Some(event) = event {
                if !self.handle(event) {
                    return self.stopped();
                }
            }
            if !self.fire_due_timers() {
                return self.stopped();
            }
        }
    }

    /// The node is gone (killed or halted): the last thing it records.
    fn stopped(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        if let Some(trace) = &self.trace {
            trace.write(|seq| TraceEvent::Crash { seq, node: self.node.id() });
            let _ = trace.flush();
        }
    }

    /// Handles one event; false when the loop must end.
    fn handle(&mut self, event: Event) -> bool {
        match event {
            Event::Message { from, message, reply } => self.step(Input::Receive { from, message }, reply).is_ok(),
            Event::Propose { command, answer } => {
                let (result, go_on) = match self.step(Input::Propose(command), None) {
                    Ok(StepResult { started: Some(started), .. }) => (Ok(started), true),
                    Ok(StepResult { started: None, .. }) => {
                        (Err(StartError::NotLeader { term: self.node.term() }), true)
                    }
                    Err(Stop::Halted(reason)) => (Err(StartError::Halted(reason)), false),
                    Err(Stop::Crashed) => (Err(StartError::Killed), false),
                };
                let _ = answer.send(result);
                go_on
            }
            Event::Snapshot { index, data, answer } => {
                let (result, go_on) = match self.step(Input::Snapshot { index, data }, None) {
                    Ok(StepResult { refused: Some(SnapshotRefusal::BeyondApplied { applied }), .. }) => {
                        (Err(SnapshotError::BeyondApplied { index, applied }), true)
                    }
                    Ok(StepResult { refused: Some(SnapshotRefusal::AlreadyCompacted { snapshot_index }), .. }) => {
                        (Err(SnapshotError::Stale { index, snapshot_index }), true)
                    }
                    Ok(StepResult { refused: None, .. }) => (Ok(()), true),
                    Err(Stop::Halted(reason)) => (Err(SnapshotError::Halted(reason)), false),
                    Err(Stop::Crashed) => (Err(SnapshotError::Killed), false),
                };
                let _ = answer.send(result);
                go_on
            }
            Event::ElectionTimeout => {
                self.election_deadline = self.clock.now() + self.timeouts.election_timeout();
                self.step(Input::ElectionTimeout, None).is_ok()
            }
            Event::HeartbeatTimeout => self.step(Input::HeartbeatTimeout, None).is_ok(),
            Event::Tick => true,
            Event::Barrier { done } => {
                let _ = done.send(());
                true
            }
            Event::Kill => false,
            Event::CrashInNextStep { point } => {
                self.crash_point = Some(point);
                true
            }
        }
    }

    /// Fires the timers whose deadlines have passed; false if the node
    /// halted.
    fn fire_due_timers(&mut self) -> bool {
        let now = self.clock.now();
        if now >= self.election_deadline {
            // Restart the timer first: a leader's core ignores the firing
            // and asks for no reset, yet the timer keeps running.
            self.election_deadline = now + self.timeouts.election_timeout();
            if self.step(Input::ElectionTimeout, None).is_err() {
                return false;
            }
        }
        if now >= self.heartbeat_deadline {
            self.heartbeat_deadline = now + self.heartbeat_interval;
            if self.step(Input::HeartbeatTimeout, None).is_err() {
                return false;
            }
        }
        true
    }

    /// Steps the core with `input` and carries out its outputs. Returns
    /// what the core answered the caller (see [`StepResult`]), or why the
    /// node stopped (its save failed, or a crash point was set).
    fn step(&mut self, input: Input<Vec<u8>, Vec<u8>>, mut reply: Option<ReplyRoute>) -> Result<StepResult, Stop> {
        let requester = match &input {
            Input::Receive { from, .. } => Some(*from),
            _ => None,
        };
        let traced_input = self.trace.as_ref().map(|_| digest_input(&input));
        let mut outputs = self.node.step(&self.config, input);
        if let Some(input) = traced_input {
            self.trace_step(input, &outputs);
        }
        // Fault injection: the step is recorded whole, then cut.
        let crash_after = self.crash_point.take().map(|point| point(&outputs).min(outputs.len()));
        if let Some(keep) = crash_after {
            outputs.truncate(keep);
        }
        let mut result = StepResult::default();
        for output in outputs {
            match output {
                Output::Persist => {
                    let (raft_state, snapshot) = encode_state(self.node.persistent_view(&self.config));
                    if let Err(e) = self.persister.save(raft_state, snapshot) {
                        let reason = format!("node {} halted: saving its state failed: {e}", self.node.id());
                        self.status.halt(reason.clone());
                        return Err(Stop::Halted(reason));
                    }
                    if let (Some(trace), Some(log)) = (&self.trace, self.traced_log) {
                        // The step's trace computed the log's digest already.
                        let state = PersistedSummary::with_log_digest(self.node.persistent_view(&self.config), log);
                        trace.write(|seq| TraceEvent::Persist { seq, node: self.node.id(), state });
                    }
                }
                Output::Send { to, message } => {
                    if reply.is_some() && Some(to) == requester && is_reply(&message) {
                        (reply.take().expect("checked"))(message);
                    } else {
                        self.transport.send(to, message, &self.inbox);
                    }
                }
                Output::ApplyCommand { index, term, command } => {
                    let _ = self.applier.send(ApplyMsg::Command { index, term, command });
                }
                Output::ApplySnapshot { index, term, data } => {
                    let _ = self.applier.send(ApplyMsg::Snapshot { index, term, data });
                }
                Output::ResetElectionTimer => {
                    self.election_deadline = self.clock.now() + self.timeouts.election_timeout();
                }
                Output::Proposed { index, term } => result.started = Some(Started { index, term }),
                Output::NotLeader => {}
                Output::SnapshotRefused { why, .. } => result.refused = Some(why),
            }
        }
        if crash_after.is_some() {
            // As a kill: the applier hands over nothing more, and `start`
            // and `snapshot` report the node killed.
            self.killed.store(true, Ordering::SeqCst);
            return Err(Stop::Crashed);
        }
        self.publish();
        Ok(result)
    }

    fn publish(&self) {
        self.status.publish(&self.node);
    }

    /// Records the step just taken, before any of its outputs is carried
    /// out (so a send is recorded before its delivery).
    fn trace_step(&mut self, input: raftcheck_traces::schema::TraceInput, outputs: &[Output<Vec<u8>, Vec<u8>>]) {
        let Some(trace) = self.trace.clone() else { return };
        if self.traced_log.is_none() || outputs.contains(&Output::Persist) {
            self.traced_log = Some(log_digest(self.node.log()));
        }
        let state = StateSummary::of(&self.node, self.traced_log.expect("computed above"));
        let outputs = outputs.iter().map(digest_output).collect();
        trace.write(|seq| TraceEvent::Step { seq, node: self.node.id(), input, outputs, state });
    }
}
