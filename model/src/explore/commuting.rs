//! Which deliveries and losses of messages commute, for the search with
//! sleep sets (`search/sleep.rs`).
//!
//! Two of them (a delivery is a whole step on a message, duplicated or
//! not; a loss takes a message out and steps nothing) commute in a state
//! when each stays enabled after the other and either order reaches the
//! same state. That holds when each changes only what the other neither
//! reads nor changes:
//!
//! * two deliveries have different receivers; a loss and anything else
//!   concern different messages (the same message may have only one copy
//!   left);
//! * the link capacity lets the same sends through in either order: a
//!   message that comes from the other's receiver frees a slot on a link
//!   that receiver sends on, which matters only if a send on it was lost
//!   with the message still there;
//! * the network's capacity (if bounded) keeps or loses each step's sends
//!   alike in either order, worked out from the messages in flight now and
//!   what each takes out and puts in;
//! * neither receiver becomes leader (the ghost history records a term's
//!   first leader, the spec check of a step reads the leaders, and a new
//!   leader's broadcast is what a freed slot in the network decides);
//! * at most one of them extends the committed prefix the ghost history
//!   keeps (it records the term of the node that reported each entry
//!   first);
//! * neither breaks a property (a broken state ends its path).
//!
//! Everything else a step touches is its own receiver's (node, persisted
//! state, service) or commutes (the applied sequence grows to the longest
//! of the two, events are a union). Each condition stays true along a path
//! of actions that commute with the sleeping one: its receiver and the
//! links it sends on are untouched, so it would do the same. The tests in
//! `search/sleep.rs` compare the states stored with and without sleep sets;
//! dropping the receiver, link, committed-prefix or (together) leader and
//! capacity conditions makes them fail.

use crate::explore::action::Action;
use crate::explore::model::{Delivery, Handling, RaftModel};
use crate::explore::search::{fingerprint, Commuting};
use crate::explore::state::ClusterState;
use crate::explore::symmetry::canonical_ids;
use raftcheck_core::types::NodeId;

impl Commuting for RaftModel {
    type Effect = Delivery;

    fn step_noting(&self, state: &ClusterState, action: &Action) -> Option<(ClusterState, Option<Delivery>)> {
        self.successor_with_delivery(state, action)
    }

    fn commute(&self, state: &ClusterState, a: &Delivery, b: &Delivery) -> bool {
        if a.broken || b.broken || a.became_leader || b.became_leader {
            return false;
        }
        let lost = a.handling == Handling::Dropped || b.handling == Handling::Dropped;
        let same_message = (a.from, a.to, a.message) == (b.from, b.to, b.message);
        // A loss steps no node: it commutes with a step of its receiver,
        // not with anything done to the same message (which may be its
        // only copy).
        if if lost { same_message } else { a.to == b.to } {
            return false;
        }
        if !link_unshared(a, b) || !link_unshared(b, a) {
            return false;
        }
        let committed = state.history.committed.len() as u64;
        if a.commit_after > committed && b.commit_after > committed {
            return false;
        }
        match self.bounds.network_capacity {
            None => true,
            Some(capacity) => same_fate(state.in_flight_total(), capacity as usize, a, b),
        }
    }

    fn is_action_of(&self, state: &ClusterState, action: &Action, effect: &Delivery) -> bool {
        let Some((k, handling)) = Handling::of(action) else { return false };
        let envelope = &state.network[k].0;
        handling == effect.handling
            && (envelope.from, envelope.to) == (effect.from, effect.to)
            && envelope.message.digest() == effect.message
    }

    fn effect_names(&self, state: &ClusterState, symmetric: bool, effects: &[Delivery]) -> Vec<u64> {
        let ids = ids(state, symmetric);
        effects.iter().map(|e| name(&ids, e.from, e.to, e.message, e.handling)).collect()
    }

    fn action_names(&self, state: &ClusterState, symmetric: bool, actions: &[Action]) -> Vec<Option<u64>> {
        let ids = ids(state, symmetric);
        let named = |(k, handling): (usize, Handling)| {
            let envelope = &state.network[k].0;
            name(&ids, envelope.from, envelope.to, envelope.message.digest(), handling)
        };
        actions.iter().map(|action| Handling::of(action).map(named)).collect()
    }
}

/// The ids servers have in the member of `state`'s class that names are
/// given in: the canonical member's if `symmetric`, else `state`'s own.
fn ids(state: &ClusterState, symmetric: bool) -> Vec<NodeId> {
    if symmetric {
        canonical_ids(state)
    } else {
        (0..state.servers.len()).collect()
    }
}

/// The name of what is done (`handling`) with message `message` on
/// `from -> to`.
fn name(ids: &[NodeId], from: NodeId, to: NodeId, message: u64, handling: Handling) -> u64 {
    fingerprint(&(ids[from], ids[to], message, handling))
}

/// Whether `b`'s sends let through by the link capacity do not depend on
/// whether `a`'s message is still in flight: `a`'s message is not on a link
/// `b` sends on, or `a` leaves it there (duplicates it), or none of `b`'s
/// sends on that link was lost with it there (so none would be without
/// it). `b`'s effect was noted where `a`'s message was in flight.
fn link_unshared(a: &Delivery, b: &Delivery) -> bool {
    a.from != b.to || !a.takes_message() || b.lost_to & (1 << a.to) == 0
}

/// Whether the network's capacity keeps or loses each of the two steps'
/// sends alike in either order, with `in_flight` messages in flight now.
/// A step first takes its message out (unless it duplicates it), then puts
/// its sends in: all of them if they fit, none otherwise.
fn same_fate(in_flight: usize, capacity: usize, a: &Delivery, b: &Delivery) -> bool {
    let takes = |d: &Delivery| usize::from(d.takes_message());
    let in_turn = |first: &Delivery, second: &Delivery| {
        let mut n = in_flight - takes(first);
        let first_kept = n + first.kept <= capacity;
        if first_kept {
            n += first.kept;
        }
        n -= takes(second);
        (first_kept, n + second.kept <= capacity)
    };
    let (a_first, b_second) = in_turn(a, b);
    let (b_first, a_second) = in_turn(b, a);
    a_first == a_second && b_first == b_second
}
