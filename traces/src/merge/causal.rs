//! Which events of a node's file may be merged next: a receive only once
//! its message is in flight, that is, once a merged step of the sender sent
//! it (and, if that step asked to save before sending it, once that save is
//! merged too: the durability rule) and it was not delivered already.
//! Messages are matched by content, `(from, to, message)`, counting copies.

use crate::schema::{Event, TraceMessage};
use raftcheck_core::{Input, NodeId, Output};
use std::collections::HashMap;

/// Who sent what to whom.
type Key = (NodeId, NodeId, TraceMessage);

/// Copies in flight by sender and receiver, then by content (so that a
/// receive is looked up without copying its message).
type InFlight = HashMap<(NodeId, NodeId), HashMap<TraceMessage, u64>>;

/// The messages the merged events have put in flight.
#[derive(Default)]
pub(super) struct Causality {
    /// Copies sent and not yet delivered, by content.
    in_flight: InFlight,
    /// Copies each node sent after asking to save, until that save is merged.
    waiting: HashMap<NodeId, Vec<Key>>,
    /// Whether a delivered message may be delivered again.
    may_duplicate: bool,
}

impl Causality {
    pub(super) fn new(may_duplicate: bool) -> Self {
        Causality { may_duplicate, ..Causality::default() }
    }

    /// Whether `event` may be merged now: anything but a receive whose
    /// message is not in flight.
    pub(super) fn enabled(&self, event: &Event) -> bool {
        match receive(event) {
            Some((pair, message)) => self.in_flight.get(&pair).and_then(|m| m.get(message)).is_some_and(|&n| n > 0),
            None => true,
        }
    }

    /// Records that `event` was merged.
    pub(super) fn take(&mut self, event: &Event) {
        if let Some((pair, message)) = receive(event).filter(|_| !self.may_duplicate) {
            if let Some(messages) = self.in_flight.get_mut(&pair) {
                if let Some(copies) = messages.get_mut(message) {
                    *copies -= 1;
                    if *copies == 0 {
                        messages.remove(message);
                    }
                }
            }
        }
        match event {
            Event::Step { node, outputs, .. } => {
                let mut after_save = false;
                for output in outputs {
                    match output {
                        Output::Persist => after_save = true,
                        Output::Send { to, message } => {
                            let key = (*node, *to, message.clone());
                            if after_save {
                                self.waiting.entry(*node).or_default().push(key);
                            } else {
                                self.send(key);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Event::Persist { node, .. } => {
                for key in self.waiting.remove(node).unwrap_or_default() {
                    self.send(key);
                }
            }
            // A crash loses the save not yet written, and what waited for it.
            Event::Crash { node, .. } => {
                self.waiting.remove(node);
            }
            Event::Applied { .. } | Event::Restart { .. } => {}
        }
    }
}

impl Causality {
    /// Puts one more copy in flight.
    fn send(&mut self, (from, to, message): Key) {
        *self.in_flight.entry((from, to)).or_default().entry(message).or_default() += 1;
    }
}

/// The sender and receiver of the message a step receives, and the message.
fn receive(event: &Event) -> Option<((NodeId, NodeId), &TraceMessage)> {
    match event {
        Event::Step { node, input: Input::Receive { from, message }, .. } => Some(((*from, *node), message)),
        _ => None,
    }
}
