//! A clerk: the client side of the key/value service. It remembers which
//! server led last, tries the others in turn on a wrong-leader answer, a
//! timeout or a failed call, and retries the same request (same sequence
//! number) until some server applies it.

use crate::kv::{KvOp, Reply, Request, METHOD};
use crate::net::ClientEnd;
use std::time::Duration;

/// A key/value client. One operation at a time.
pub struct Clerk {
    /// Ends to the servers, in any order (the tester shuffles them).
    ends: Vec<ClientEnd>,
    client: u64,
    seq: u64,
    /// The end that answered last.
    leader: usize,
}

impl Clerk {
    /// A clerk with id `client` (unique among clerks) talking through
    /// `ends`, one per server.
    pub fn new(ends: Vec<ClientEnd>, client: u64) -> Self {
        assert!(!ends.is_empty(), "a clerk needs at least one server");
        Clerk { ends, client, seq: 0, leader: 0 }
    }

    /// This clerk's id.
    pub fn id(&self) -> u64 {
        self.client
    }

    /// The value of `key` (`""` if it was never written).
    pub fn get(&mut self, key: &str) -> String {
        self.execute(KvOp::Get { key: key.to_string() }).unwrap_or_default()
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: &str, value: &str) {
        self.execute(KvOp::Put { key: key.to_string(), value: value.to_string() });
    }

    /// Appends `value` to `key`'s value.
    pub fn append(&mut self, key: &str, value: &str) {
        self.execute(KvOp::Append { key: key.to_string(), value: value.to_string() });
    }

    /// Sends `op` until a server reports it applied; returns a get's value.
    /// Never gives up: it returns once the operation took effect.
    fn execute(&mut self, op: KvOp) -> Option<String> {
        self.seq += 1;
        let request = Request { client: self.client, seq: self.seq, op };
        let mut tried = 0;
        loop {
            match self.ends[self.leader].call::<Request, Reply>(METHOD, &request) {
                Ok(Reply::Done(value)) => return value,
                Ok(Reply::WrongLeader | Reply::Timeout) | Err(_) => {
                    self.leader = (self.leader + 1) % self.ends.len();
                    tried += 1;
                    if tried % self.ends.len() == 0 {
                        // Nobody leads right now: give an election time.
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        }
    }
}
