//! Named configurations: documented bundles of bounds.
//!
//! The general ones are what a user runs on a changed core: `ci` (seconds)
//! and `default` shape nothing of the protocol (several values per term,
//! empty heartbeats, one entry per AppendEntries, two messages per link
//! delivered in any order, crashes also between a step's outputs; `default`
//! adds a snapshot and duplication); `deep` is the exhaustive Figure-8 scope
//! (leaders in four terms); `wide` has five servers; `wide-deep` has five
//! servers, three terms, duplication and a crash, and is for the hunt and
//! the distributed search (it is too large to finish on one machine). Each `mN` is the
//! smallest scope we found in which mutant `mN`'s bug shows (and which is
//! clean without it): the fast regression proofs.

use crate::explore::bounds::{Bounds, Heartbeats, NetworkKind};
use raftcheck_core::node::HeartbeatStyle;

/// A named, documented set of bounds.
#[derive(Clone, Debug)]
pub struct NamedConfig {
    pub name: &'static str,
    /// What the scope covers and why it is shaped this way.
    pub description: &'static str,
    pub bounds: Bounds,
}

/// The bounds every configuration starts from: 3 servers, two terms, one
/// value, a lossy network with one message per link, heartbeats on.
pub fn base() -> Bounds {
    Bounds {
        servers: 3,
        max_term: 2,
        max_elections: None,
        election_order: None,
        values: 1,
        crashes: 0,
        crash_mid_step: true,
        snapshots: 0,
        network: NetworkKind::Lossy,
        link_capacity: 1,
        network_capacity: None,
        heartbeats: Heartbeats::WhileLagging,
        max_heartbeats: None,
        one_value_per_term: true,
        heartbeat_style: HeartbeatStyle::WithEntries,
        max_entries_per_append: 8,
        mutant: None,
    }
}

/// The general scope `ci` and `default` share: no shaping of the protocol
/// (several values per term, empty heartbeats, one entry per
/// AppendEntries), crashes also inside a step, two messages per link.
fn general() -> Bounds {
    Bounds {
        values: 2,
        one_value_per_term: false,
        crashes: 1,
        link_capacity: 2,
        network_capacity: Some(2),
        max_heartbeats: Some(1),
        heartbeat_style: HeartbeatStyle::Empty,
        max_entries_per_append: 1,
        ..base()
    }
}

/// The general scope on 5 servers and 3 terms: replies that outlive two
/// elections and duplicated replies among 5 servers, which neither `wide`
/// (2 terms, no crash, no duplication) nor `deep` (3 servers) reaches. Five
/// messages in flight: one broadcast (4) beside one stale message.
fn wide_deep() -> Bounds {
    Bounds {
        servers: 5,
        max_term: 3,
        max_elections: Some(3),
        network: NetworkKind::Duplicating,
        network_capacity: Some(5),
        ..general()
    }
}

/// Every named configuration, in the order `--list-configs` shows them.
pub fn all() -> Vec<NamedConfig> {
    let b = base();
    // The mutant scopes: a reordering network that loses nothing (unless a
    // link is full) and no heartbeats, unless the bug needs them.
    let quiet = Bounds { network: NetworkKind::Reordering, heartbeats: Heartbeats::Off, ..b.clone() };
    let cfg = |name, description, bounds| NamedConfig { name, description, bounds };
    vec![
        cfg(
            "ci",
            "seconds: 3 servers, 2 terms, 2 values (several per term), 1 crash (also inside a step), lossy network, 2 messages per link (reordered within it), 2 in flight, 1 empty heartbeat, 1 entry per AppendEntries",
            general(),
        ),
        cfg(
            "default",
            "under a minute (about 23 s on 2 idle cores): ci plus 1 snapshot and a duplicating network",
            Bounds { snapshots: 1, network: NetworkKind::Duplicating, ..general() },
        ),
        cfg(
            "deep",
            "the Figure-8 scope: 3 servers, leaders in up to 4 terms (4 elections), 2 values, 1 crash (also inside a step), 1 snapshot, lossy network, 1 heartbeat, 2 messages in flight",
            Bounds {
                max_term: 4,
                max_elections: Some(4),
                values: 2,
                crashes: 1,
                snapshots: 1,
                max_heartbeats: Some(1),
                network_capacity: Some(2),
                ..b.clone()
            },
        ),
        cfg(
            "wide",
            "5 servers (conflicting suffixes): 2 terms (2 elections), 3 values (several per term), reordering network, 4 messages in flight (so one broadcast at a time), no heartbeats",
            Bounds {
                servers: 5,
                max_elections: Some(2),
                values: 3,
                one_value_per_term: false,
                network: NetworkKind::Reordering,
                network_capacity: Some(4),
                heartbeats: Heartbeats::Off,
                ..b.clone()
            },
        ),
        cfg(
            "wide-deep",
            "5 servers and 3 terms (3 elections) on the general scope: 2 values (several per term), 1 crash (also inside a step), duplicating network, 2 messages per link, 5 in flight (a broadcast beside a stale reply), 1 empty heartbeat, 1 entry per AppendEntries; too large to explore whole on one machine (over 45 M states after 10 min): hunt it, or spread it with --processes",
            wide_deep(),
        ),
        cfg(
            "m1",
            "vote lost on restart: 1 term, 1 crash (a voter restarts and votes again)",
            Bounds { max_term: 1, values: 0, crashes: 1, ..b.clone() },
        ),
        cfg(
            "m2",
            "vote sent before it is persisted: 1 term, 1 crash inside a step (a voter crashes between its reply and its write, restarts and votes again)",
            Bounds { max_term: 1, values: 0, crashes: 1, ..b.clone() },
        ),
        cfg(
            "m3",
            "index-only up-to-date check: 3 terms, 3 elections, 2 values, no heartbeats",
            Bounds { max_term: 3, max_elections: Some(3), values: 2, ..quiet.clone() },
        ),
        cfg("m4", "stale votes counted: 2 terms, no values", Bounds { values: 0, ..b.clone() }),
        cfg("m6", "quorum off by one: 1 term, no values", Bounds { max_term: 1, values: 0, ..b.clone() }),
        cfg("m7", "no step-down: 2 terms, no values", Bounds { values: 0, ..b.clone() }),
        cfg(
            "m8",
            "Figure 8: leaders in 4 terms (4 elections), 2 values, no heartbeats, 3 messages in flight",
            Bounds { max_term: 4, max_elections: Some(4), values: 2, network_capacity: Some(3), ..quiet.clone() },
        ),
        cfg(
            "m10",
            "conflicting suffix kept: 5 servers (3 cannot show it), n0 then n1 campaign, 3 values, 4 messages in flight",
            Bounds {
                servers: 5,
                election_order: Some(vec![0, 1]),
                values: 3,
                one_value_per_term: false,
                network_capacity: Some(4),
                ..quiet.clone()
            },
        ),
        cfg(
            "m11",
            "commit beyond new entries: 2 terms, 3 elections, 2 values, 1 empty heartbeat",
            Bounds {
                max_elections: Some(3),
                max_heartbeats: Some(1),
                values: 2,
                heartbeats: Heartbeats::WhileLagging,
                heartbeat_style: HeartbeatStyle::Empty,
                ..quiet.clone()
            },
        ),
        cfg(
            "m12",
            "commit goes down: 1 term, 2 values in it, 2 messages per link",
            Bounds {
                max_term: 1,
                max_elections: Some(1),
                values: 2,
                one_value_per_term: false,
                link_capacity: 2,
                heartbeats: Heartbeats::WhileLagging,
                ..quiet.clone()
            },
        ),
        cfg(
            "m19",
            "stale snapshot installed: 1 term, 2 values in it, 1 snapshot, 2 heartbeats, 2 messages per link",
            Bounds {
                max_heartbeats: Some(2),
                max_term: 1,
                max_elections: Some(1),
                values: 2,
                snapshots: 1,
                one_value_per_term: false,
                link_capacity: 2,
                heartbeats: Heartbeats::WhileLagging,
                ..quiet.clone()
            },
        ),
        cfg(
            "m20",
            "snapshot drops matching suffix: n0 then n1 campaign, 2 values, 1 snapshot, 1 heartbeat, 2 messages per link, 4 in flight",
            Bounds {
                election_order: Some(vec![0, 1]),
                max_heartbeats: Some(1),
                network_capacity: Some(4),
                values: 2,
                snapshots: 1,
                one_value_per_term: false,
                link_capacity: 2,
                heartbeats: Heartbeats::WhileLagging,
                ..quiet.clone()
            },
        ),
    ]
}

/// The named configuration `name` (case-insensitive).
pub fn named(name: &str) -> Option<NamedConfig> {
    all().into_iter().find(|c| c.name.eq_ignore_ascii_case(name))
}
