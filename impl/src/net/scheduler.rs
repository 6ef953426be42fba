//! A timer thread that runs small jobs at given instants: the simulated
//! network's delays (a failing call, a slow or reordered reply, the
//! 100 ms check of a call in progress) without a thread per call.
//!
//! Jobs run one at a time on the scheduler's thread, so they must be short
//! and must never block: they move a message into a channel or call an RPC
//! handler (which, by the network's contract, does not block either).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A job to run once.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

struct Timed {
    at: Instant,
    /// Tie-breaker: jobs due at the same instant run in the order scheduled.
    seq: u64,
    job: Job,
}

impl PartialEq for Timed {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Timed {}
impl PartialOrd for Timed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timed {
    /// Reversed, so that the max-heap yields the earliest job first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Default)]
struct Queue {
    jobs: BinaryHeap<Timed>,
    next_seq: u64,
    shut_down: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

/// Runs jobs at their instants on one background thread. Dropping the
/// scheduler stops the thread; jobs not yet due are dropped unrun.
pub struct Scheduler {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Scheduler {
    /// Starts the scheduler's thread.
    pub fn new() -> Self {
        let shared = Arc::new(Shared { queue: Mutex::new(Queue::default()), wake: Condvar::new() });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("net-scheduler".into())
            .spawn(move || run(&worker))
            .expect("the scheduler thread starts");
        Scheduler { shared, thread: Some(thread) }
    }

    /// Runs `job` once `delay` has passed (at once if `delay` is zero, but
    /// still on the scheduler's thread).
    pub fn after(&self, delay: Duration, job: Job) {
        let mut queue = self.shared.queue.lock().expect("scheduler lock");
        if queue.shut_down {
            return;
        }
        let seq = queue.next_seq;
        queue.next_seq += 1;
        queue.jobs.push(Timed { at: Instant::now() + delay, seq, job });
        drop(queue);
        self.shared.wake.notify_one();
    }
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.shared.queue.lock().expect("scheduler lock").shut_down = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            // A job dropping the last handle to the network would drop the
            // scheduler on its own thread: do not join ourselves.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

fn run(shared: &Shared) {
    let mut queue = shared.queue.lock().expect("scheduler lock");
    loop {
        if queue.shut_down {
            // Drop pending jobs outside the lock: they may own handles whose
            // drop schedules nothing, but keep the rule simple.
            let jobs = std::mem::take(&mut queue.jobs);
            drop(queue);
            drop(jobs);
            return;
        }
        let now = Instant::now();
        match queue.jobs.peek() {
            Some(first) if first.at <= now => {
                let Timed { job, .. } = queue.jobs.pop().expect("peeked");
                drop(queue);
                job();
                queue = shared.queue.lock().expect("scheduler lock");
            }
            Some(first) => {
                let wait = first.at - now;
                queue = shared.wake.wait_timeout(queue, wait).expect("scheduler lock").0;
            }
            None => queue = shared.wake.wait(queue).expect("scheduler lock"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn jobs_run_in_time_order() {
        let scheduler = Scheduler::new();
        let (tx, rx) = mpsc::channel();
        for (delay, tag) in [(30, 'c'), (0, 'a'), (10, 'b')] {
            let tx = tx.clone();
            scheduler.after(Duration::from_millis(delay), Box::new(move || tx.send(tag).unwrap()));
        }
        let got: Vec<char> = (0..3).map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap()).collect();
        assert_eq!(got, vec!['a', 'b', 'c']);
    }

    #[test]
    fn dropping_the_scheduler_drops_pending_jobs() {
        let scheduler = Scheduler::new();
        let (tx, rx) = mpsc::channel::<()>();
        scheduler.after(Duration::from_secs(3600), Box::new(move || drop(tx)));
        drop(scheduler);
        // The job (and the sender it owns) is gone: the channel closes.
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Err(mpsc::RecvTimeoutError::Disconnected));
    }
}
