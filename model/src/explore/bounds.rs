//! The finite scope of one exploration: how many servers, terms, values,
//! crashes and snapshots, what the network may do, and the two settings of
//! the core that the scope picks (what a heartbeat carries, how many entries
//! an AppendEntries holds).

use raftcheck_core::mutant::Mutant;
use raftcheck_core::node::{Config, HeartbeatStyle};
use raftcheck_core::types::{NodeId, Term};
use raftcheck_core::UnknownName;
use std::fmt;
use std::str::FromStr;

/// What the network may do to a message besides delivering it. Every kind
/// reorders freely: any in-flight message may be delivered next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetworkKind {
    /// Messages are delivered in any order; a message is lost only when it
    /// is sent into a link that is already full (see `link_capacity`).
    Reordering,
    /// As `Reordering`, and any in-flight message may also be dropped.
    Lossy,
    /// As `Lossy`, and a message may be delivered while a copy stays in
    /// flight (so it can be delivered again later).
    Duplicating,
}

impl NetworkKind {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            NetworkKind::Reordering => "reordering",
            NetworkKind::Lossy => "lossy",
            NetworkKind::Duplicating => "duplicating",
        }
    }
}

impl fmt::Display for NetworkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NetworkKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        match s.to_ascii_lowercase().as_str() {
            "reordering" => Ok(NetworkKind::Reordering),
            "lossy" => Ok(NetworkKind::Lossy),
            "duplicating" => Ok(NetworkKind::Duplicating),
            _ => Err(UnknownName::new("network", s, &["reordering", "lossy", "duplicating"])),
        }
    }
}

/// When leaders' heartbeat timers fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Heartbeats {
    /// Never.
    Off,
    /// Only while some running peer lags the leader (its log, its commit
    /// index, its term, or it is not a follower) and nothing is in flight to
    /// it: a reduction, checked against `Always` by a test that compares
    /// the reachable node states.
    WhileLagging,
    /// At any time on a leader.
    Always,
}

impl Heartbeats {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Heartbeats::Off => "off",
            Heartbeats::WhileLagging => "while-lagging",
            Heartbeats::Always => "always",
        }
    }
}

impl FromStr for Heartbeats {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        match s.to_ascii_lowercase().as_str() {
            "off" | "false" => Ok(Heartbeats::Off),
            "while-lagging" | "lagging" | "true" => Ok(Heartbeats::WhileLagging),
            "always" => Ok(Heartbeats::Always),
            _ => Err(UnknownName::new("heartbeat setting", s, &["off", "while-lagging", "always"])),
        }
    }
}

/// A bound outside its documented range, with the range in words (the
/// option's name and what it takes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OutOfBounds(pub &'static str);

/// The bounds that make the model finite, plus the shaping choices that keep
/// deep scopes tractable. Most fields limit the environment; two pick a
/// setting of the core (`heartbeat_style`, `max_entries_per_append`, both
/// behaviours the 6.824 Raft allows), and `mutant` seeds one bug.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Bounds {
    /// Number of servers (1 to 5).
    pub servers: usize,
    /// No node times out into a term above this (1 to 8). Leaders can exist
    /// in terms `1..=max_term`.
    pub max_term: Term,
    /// Total number of election timeouts over the whole run (`None`: only
    /// `max_term` limits them). A symmetric way to bound elections tightly.
    pub max_elections: Option<u8>,
    /// If set, who may campaign in each term: `order[t - 1]` is the only
    /// node that may time out into term `t` (terms past the list: nobody).
    /// A scripted election order; the servers it names keep their identity
    /// under symmetry reduction, the others stay interchangeable.
    pub election_order: Option<Vec<NodeId>>,
    /// Number of distinct client values proposed over the whole run (0 to 6).
    pub values: u8,
    /// Total number of crashes over the whole run (each may be followed by a
    /// restart from persisted state).
    pub crashes: u8,
    /// Whether a crash may also fall inside a step, between two groups of
    /// its outputs (the Persist, the sends, the applies) in the order the
    /// core emits them, so that a core that sends before it persists is
    /// caught.
    pub crash_mid_step: bool,
    /// Total number of service snapshots over the whole run.
    pub snapshots: u8,
    /// What the network may do.
    pub network: NetworkKind,
    /// The capacity of each directed link (1 to 4, `--max-in-flight`): at
    /// most this many messages in flight from one server to another; a
    /// message sent into a full link is lost. Within a link, messages may
    /// be delivered in any order.
    pub link_capacity: u8,
    /// The capacity of the whole network (`--max-messages`; `None`: only the
    /// links limit it). A step whose messages do not all fit loses all of
    /// them (so that which survive never depends on server ids). On a lossy
    /// network a cap of one broadcast loses no node state (a test checks
    /// it: dropping messages makes room); on a reordering network, which
    /// loses nothing else, it is a bound: two candidates can never
    /// broadcast at once.
    pub network_capacity: Option<u8>,
    /// When leaders' heartbeat timers fire.
    pub heartbeats: Heartbeats,
    /// Total number of heartbeats over the whole run (`None`: unlimited).
    pub max_heartbeats: Option<u8>,
    /// At most one client value per term: a leader accepts a proposal only
    /// while its log has no entry of its own term.
    pub one_value_per_term: bool,
    /// What a heartbeat AppendEntries carries.
    pub heartbeat_style: HeartbeatStyle,
    /// At most this many entries per AppendEntries (1 to 8).
    pub max_entries_per_append: usize,
    /// The seeded bug, if any.
    pub mutant: Option<Mutant>,
}

impl Bounds {
    /// The core configuration these bounds run the nodes with.
    pub fn core_config(&self) -> Config {
        Config::new(self.servers)
            .expect("the bounds allow 1 to 5 servers (Bounds::validate)")
            .with_max_entries_per_append(self.max_entries_per_append)
            .with_heartbeat(self.heartbeat_style)
            .with_mutant(self.mutant)
    }

    /// Checks every bound against its documented range.
    pub fn validate(&self) -> Result<(), OutOfBounds> {
        let check = |ok: bool, what: &'static str| if ok { Ok(()) } else { Err(OutOfBounds(what)) };
        check((1..=5).contains(&self.servers), "--servers must be 1 to 5")?;
        check((1..=8).contains(&self.max_term), "--max-term must be 1 to 8")?;
        check(self.max_elections.is_none_or(|e| (1..=16).contains(&e)), "--max-elections must be 1 to 16")?;
        if let Some(order) = &self.election_order {
            check(!order.is_empty() && order.len() <= 8, "--election-order must name 1 to 8 candidates")?;
            check(order.iter().all(|&n| n < self.servers), "--election-order names a server beyond --servers")?;
        }
        check(self.network_capacity.is_none_or(|m| (1..=32).contains(&m)), "--max-messages must be 1 to 32")?;
        if let Some(cap) = self.network_capacity {
            // A broadcast that cannot fit is always lost whole: no election
            // or replication to all peers could ever happen.
            check(
                cap as usize + 1 >= self.servers,
                "--max-messages must be at least --servers minus 1 (a broadcast to every peer must fit)",
            )?;
        }
        check(self.max_heartbeats.is_none_or(|h| h <= 16), "--max-heartbeats must be 0 to 16")?;
        check(self.values <= 6, "--values must be 0 to 6")?;
        check(self.crashes <= 4, "--crashes must be 0 to 4")?;
        check(self.snapshots <= 4, "--snapshots must be 0 to 4")?;
        check((1..=4).contains(&self.link_capacity), "--max-in-flight must be 1 to 4")?;
        check((1..=8).contains(&self.max_entries_per_append), "--max-entries must be 1 to 8")?;
        Ok(())
    }

    /// One line describing the scope, for reports.
    pub fn summary(&self) -> String {
        format!(
            "servers={} max-term={} max-elections={} election-order={} values={} crashes={} crash-mid-step={} snapshots={} network={} max-in-flight={} max-messages={} heartbeats={} max-heartbeats={} one-value-per-term={} heartbeat-style={} max-entries={} mutant={}",
            self.servers,
            self.max_term,
            self.max_elections.map_or("any".to_string(), |e| e.to_string()),
            self.election_order.as_ref().map_or("any".to_string(), |o| {
                o.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",")
            }),
            self.values,
            self.crashes,
            self.crash_mid_step,
            self.snapshots,
            self.network,
            self.link_capacity,
            self.network_capacity.map_or("any".to_string(), |m| m.to_string()),
            self.heartbeats.name(),
            self.max_heartbeats.map_or("any".to_string(), |h| h.to_string()),
            self.one_value_per_term,
            self.heartbeat_style,
            self.max_entries_per_append,
            self.mutant.map_or("none".to_string(), |m| m.id().to_string()),
        )
    }
}
