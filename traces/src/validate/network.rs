//! Messages in flight, each copy with the step that sent it and whether that
//! step asked to save before the send (the durability rule: such a message
//! may be delivered only once that save is written).

use crate::schema::TraceMessage;
use raftcheck_core::NodeId;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// One sent copy of a message.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sent {
    /// The sequence number of the step that sent it.
    pub step: u64,
    /// That step's line.
    pub line: usize,
    /// Whether that step's outputs put a save before this send.
    pub after_save: bool,
}

/// Who sent what to whom.
type Key = (NodeId, NodeId, TraceMessage);

/// The messages sent and not yet delivered.
#[derive(Default)]
pub(super) struct Network {
    in_flight: HashMap<Key, Vec<Sent>>,
    /// The line of the last delivery of each message, by a hash of its key:
    /// only to tell a duplicate delivery from a message never sent (a
    /// collision could only blur that message, not change a verdict).
    delivered: HashMap<u64, usize>,
    /// Whether a message may be delivered more often than it was sent.
    may_duplicate: bool,
}

/// Why a delivery is refused.
pub(super) enum Refusal {
    /// Never sent to that node with that content.
    NeverSent,
    /// Sent, but every copy was delivered already (at that line).
    Duplicate { delivered_at: usize },
    /// Every copy waits for a save that was not written: the first one.
    NotSaved(Sent),
}

impl Network {
    pub(super) fn new(may_duplicate: bool) -> Self {
        Network { may_duplicate, ..Network::default() }
    }

    /// Records a sent copy.
    pub(super) fn send(&mut self, from: NodeId, to: NodeId, message: &TraceMessage, sent: Sent) {
        self.in_flight.entry((from, to, message.clone())).or_default().push(sent);
    }

    /// Delivers a copy at `line`: the first whose save, if it needs one,
    /// was written (`saved` tells). On a network that may duplicate, the
    /// copy stays in flight.
    pub(super) fn deliver(
        &mut self,
        from: NodeId,
        to: NodeId,
        message: &TraceMessage,
        line: usize,
        saved: impl Fn(&Sent) -> bool,
    ) -> Result<(), Refusal> {
        let key = (from, to, message.clone());
        let hash = hash_of(&key);
        let Some(copies) = self.in_flight.get_mut(&key) else {
            return Err(match self.delivered.get(&hash) {
                Some(&delivered_at) => Refusal::Duplicate { delivered_at },
                None => Refusal::NeverSent,
            });
        };
        let Some(k) = copies.iter().position(|c| !c.after_save || saved(c)) else {
            return Err(Refusal::NotSaved(copies[0]));
        };
        if !self.may_duplicate {
            copies.remove(k);
            if copies.is_empty() {
                self.in_flight.remove(&key);
            }
        }
        self.delivered.insert(hash, line);
        Ok(())
    }
}

fn hash_of(key: &Key) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use raftcheck_core::io::{Message, RequestVoteReply};

    fn reply(granted: bool) -> TraceMessage {
        Message::RequestVoteReply(RequestVoteReply { term: 1, vote_granted: granted })
    }

    fn sent(step: u64, after_save: bool) -> Sent {
        Sent { step, line: step as usize + 1, after_save }
    }

    /// A copy that waits for a save is delivered only once it is written;
    /// another copy of the same message that waits for nothing is taken
    /// first; a copy that waits for nothing is delivered whatever the saves.
    #[test]
    fn a_copy_is_delivered_only_once_its_save_is_written() {
        let mut net = Network::new(false);
        net.send(0, 1, &reply(true), sent(5, true));
        assert!(matches!(net.deliver(0, 1, &reply(true), 10, |_| false), Err(Refusal::NotSaved(s)) if s.step == 5));
        assert!(net.deliver(0, 1, &reply(true), 11, |_| true).is_ok());
        net.send(0, 1, &reply(false), sent(6, true));
        net.send(0, 1, &reply(false), sent(7, false));
        assert!(net.deliver(0, 1, &reply(false), 12, |_| false).is_ok(), "the copy that waits for nothing");
        assert!(matches!(net.deliver(0, 1, &reply(false), 13, |_| false), Err(Refusal::NotSaved(s)) if s.step == 6));
    }

    /// Delivered as often as sent, a message is a duplicate the next time
    /// (naming the last delivery), unless the network may duplicate; a
    /// message never sent is told apart.
    #[test]
    fn duplicates_and_messages_never_sent() {
        let mut strict = Network::new(false);
        strict.send(0, 1, &reply(true), sent(1, false));
        assert!(strict.deliver(0, 1, &reply(true), 20, |_| true).is_ok());
        assert!(matches!(
            strict.deliver(0, 1, &reply(true), 21, |_| true),
            Err(Refusal::Duplicate { delivered_at: 20 })
        ));
        assert!(matches!(strict.deliver(1, 0, &reply(true), 22, |_| true), Err(Refusal::NeverSent)));
        let mut loose = Network::new(true);
        loose.send(0, 1, &reply(true), sent(1, false));
        for line in 30..33 {
            assert!(loose.deliver(0, 1, &reply(true), line, |_| true).is_ok());
        }
    }
}
