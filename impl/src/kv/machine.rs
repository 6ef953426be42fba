//! The replicated state machine of the key/value service: the data, and the
//! table that makes a retried put or append take effect once.

use crate::kv::{KvMutant, KvOp, Request};
use raftcheck_core::Index;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What every replica of the service holds, identical on all of them at a
/// given applied index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The store.
    pub data: BTreeMap<String, String>,
    /// For each clerk, the sequence number of its last put or append that
    /// took effect. Invariant: a clerk's operations come with increasing
    /// sequence numbers, one at a time, so a request whose number is not
    /// above this one is a retry of something already applied.
    pub applied_seq: BTreeMap<u64, u64>,
    /// The last log index applied.
    pub last_applied: Index,
}

impl Machine {
    /// Applies `request` (the command at `index`) and returns a get's
    /// value. A duplicate put or append changes nothing.
    pub fn apply(&mut self, index: Index, request: &Request) -> Option<String> {
        self.last_applied = index;
        let seen = self.applied_seq.get(&request.client).copied().unwrap_or(0);
        match &request.op {
            KvOp::Get { key } => Some(self.data.get(key).cloned().unwrap_or_default()),
            KvOp::Put { .. } | KvOp::Append { .. } if request.seq <= seen => None,
            KvOp::Put { key, value } => {
                self.data.insert(key.clone(), value.clone());
                self.applied_seq.insert(request.client, request.seq);
                None
            }
            KvOp::Append { key, value } => {
                self.data.entry(key.clone()).or_default().push_str(value);
                self.applied_seq.insert(request.client, request.seq);
                None
            }
        }
    }

    /// The snapshot of this state (under M21, without the duplicate table).
    pub fn snapshot(&self, mutant: Option<KvMutant>) -> Vec<u8> {
        let kept;
        let state = if mutant == Some(KvMutant::M21) {
            kept = Machine { applied_seq: BTreeMap::new(), ..self.clone() };
            &kept
        } else {
            self
        };
        postcard::to_stdvec(state).expect("the machine serialises")
    }

    /// The state a snapshot holds.
    pub fn restore(snapshot: &[u8]) -> Result<Machine, SnapshotDecodeError> {
        postcard::from_bytes(snapshot).map_err(SnapshotDecodeError)
    }
}

/// A service snapshot whose bytes do not decode into the machine's state.
#[derive(Debug, thiserror::Error)]
#[error("a service snapshot does not decode: {0}")]
pub struct SnapshotDecodeError(postcard::Error);

#[cfg(test)]
mod tests {
    use super::*;

    fn request(client: u64, seq: u64, op: KvOp) -> Request {
        Request { client, seq, op }
    }

    fn append(client: u64, seq: u64, value: &str) -> Request {
        request(client, seq, KvOp::Append { key: "k".into(), value: value.into() })
    }

    #[test]
    fn a_retried_append_takes_effect_once() {
        let mut m = Machine::default();
        m.apply(1, &append(7, 1, "a"));
        m.apply(2, &append(7, 1, "a")); // the retry
        m.apply(3, &append(8, 1, "b"));
        m.apply(4, &append(7, 2, "c"));
        assert_eq!(m.data["k"], "abc");
        assert_eq!(m.apply(5, &request(9, 1, KvOp::Get { key: "k".into() })), Some("abc".into()));
        assert_eq!(m.apply(6, &request(9, 2, KvOp::Get { key: "none".into() })), Some(String::new()));
        assert_eq!(m.last_applied, 6);
    }

    #[test]
    fn snapshots_carry_the_table_unless_m21() {
        let mut m = Machine::default();
        m.apply(1, &append(7, 1, "a"));
        let mut restored = Machine::restore(&m.snapshot(None)).unwrap();
        assert_eq!(restored, m);
        restored.apply(2, &append(7, 1, "a"));
        assert_eq!(restored.data["k"], "a", "the retry after a restore is recognised");
        let mut forgetful = Machine::restore(&m.snapshot(Some(KvMutant::M21))).unwrap();
        forgetful.apply(2, &append(7, 1, "a"));
        assert_eq!(forgetful.data["k"], "aa", "M21 applies the retry again");
        assert!(Machine::restore(b"\xff\xff\xff").is_err());
    }
}
