//! What a node needs from its environment, each behind a small trait so that
//! the same event loop runs on real time and a real network, or under a
//! script (virtual time, a network that delivers only what it is told):
//!
//! * [`Clock`]: what time it is, and whether waiting happens in real time;
//! * [`TimeoutSource`]: the randomised election timeouts;
//! * [`Transport`]: how a message leaves the node.

use crate::raft::event::Inbox;
use crate::raft::RaftMessage;
use raftcheck_core::NodeId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock.
pub trait Clock: Send + Sync {
    /// Time since the clock's epoch. Never goes down.
    fn now(&self) -> Duration;

    /// How long the event loop may block waiting for an event when its next
    /// timer is due at `deadline`: `Some` for a clock that moves by itself;
    /// `None` for a virtual clock, whose owner moves it and then wakes the
    /// node with [`crate::raft::Event::Tick`].
    fn wait_for(&self, deadline: Duration) -> Option<Duration>;
}

/// Real time, from the moment the clock was made.
#[derive(Debug)]
pub struct SystemClock {
    epoch: Instant,
}

impl SystemClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        SystemClock { epoch: Instant::now() }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }
    fn wait_for(&self, deadline: Duration) -> Option<Duration> {
        Some(deadline.saturating_sub(self.now()))
    }
}

/// Virtual time that moves only when its owner calls
/// [`ManualClock::advance`]. A node on this clock fires a timer only once
/// the clock has passed its deadline and the node was woken.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
    fn wait_for(&self, _deadline: Duration) -> Option<Duration> {
        None
    }
}

/// Where election timeouts come from.
pub trait TimeoutSource: Send {
    /// The next election timeout, drawn each time the timer is restarted.
    fn election_timeout(&mut self) -> Duration;
}

/// Election timeouts drawn uniformly from a range by a seeded generator.
#[derive(Debug)]
pub struct RandomTimeouts {
    rng: StdRng,
    range: Range<Duration>,
}

impl RandomTimeouts {
    /// Timeouts uniform in `range` (which must not be empty), from `seed`.
    pub fn new(seed: u64, range: Range<Duration>) -> Self {
        assert!(range.start < range.end, "an empty election-timeout range");
        RandomTimeouts { rng: StdRng::seed_from_u64(seed), range }
    }
}

impl TimeoutSource for RandomTimeouts {
    fn election_timeout(&mut self) -> Duration {
        let nanos = self.rng.random_range(self.range.start.as_nanos() as u64..self.range.end.as_nanos() as u64);
        Duration::from_nanos(nanos)
    }
}

/// The same timeout every time (for virtual-time tests).
#[derive(Debug, Clone, Copy)]
pub struct FixedTimeout(pub Duration);

impl TimeoutSource for FixedTimeout {
    fn election_timeout(&mut self) -> Duration {
        self.0
    }
}

/// How messages leave a node. `send` must never block: a peer that is slow,
/// disconnected or dead must not hold up the event loop.
pub trait Transport: Send {
    /// Sends `message` to node `to`. Anything that comes back (a reply)
    /// is delivered to `inbox`, the sending node's own.
    fn send(&mut self, to: NodeId, message: RaftMessage, inbox: &Inbox);
}
