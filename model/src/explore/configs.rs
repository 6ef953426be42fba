//! Named configurations: documented bundles of bounds. `ci` runs in
//! seconds, `default` in about 25 seconds, `deep` is the exhaustive Figure-8
//! scope, and each `mN` is the smallest scope we found in which mutant `mN`'s
//! bug shows (and which is clean without it).

use crate::core::node::HeartbeatStyle;
use crate::explore::bounds::{Bounds, Heartbeats, NetworkKind};

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

/// Every named configuration, in the order `--list-configs` shows them.
pub fn all() -> Vec<NamedConfig> {
    let b = base();
    // The mutant scopes: a reordering network that loses nothing (unless a
    // link is full) and no heartbeats, unless the bug needs them.
    let quiet = Bounds { network: NetworkKind::Reordering, heartbeats: Heartbeats::Off, ..b.clone() };
    let cfg = |name, description, bounds| NamedConfig { name, description, bounds };
    vec![
        cfg("ci", "seconds: 3 servers, 2 terms, 1 value, lossy network", Bounds { ..b.clone() }),
        cfg(
            "default",
            "about 25 seconds: 3 servers, 2 terms, 2 values, 1 crash, 1 snapshot, lossy network, 1 heartbeat, 3 messages in flight",
            Bounds {
                values: 2,
                crashes: 1,
                snapshots: 1,
                max_heartbeats: Some(1),
                network_capacity: Some(3),
                ..b.clone()
            },
        ),
        cfg(
            "deep",
            "the Figure-8 scope: 3 servers, leaders in up to 4 terms (4 elections), 2 values, 1 crash, 1 snapshot, lossy network, 1 heartbeat, 2 messages in flight",
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
