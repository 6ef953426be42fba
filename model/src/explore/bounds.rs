//! The finite scope of one exploration: how many servers, terms, values,
//! crashes and snapshots, and what the network may do.

use crate::core::node::{Config, HeartbeatStyle};
use crate::core::types::{NodeId, Term};
use crate::mutant::Mutant;
use std::fmt;
use std::str::FromStr;

/// What the network may do to a message besides delivering it. Every kind
/// reorders freely: any in-flight message may be delivered next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetworkKind {
    /// Messages are delivered in any order; a message is lost only when it
    /// is sent into a link that is already full (see `max_in_flight`).
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
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "reordering" => Ok(NetworkKind::Reordering),
            "lossy" => Ok(NetworkKind::Lossy),
            "duplicating" => Ok(NetworkKind::Duplicating),
            _ => Err(format!("unknown network '{s}' (expected reordering, lossy or duplicating)")),
        }
    }
}

/// The bounds that make the model finite, plus the shaping choices that keep
/// deep scopes tractable. Every field is a limit on the environment, never a
/// change to the Raft core (except `mutant`, which seeds one bug).
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
    /// Total number of service snapshots over the whole run.
    pub snapshots: u8,
    /// What the network may do.
    pub network: NetworkKind,
    /// At most this many messages in flight on each directed link (1 to 4);
    /// a message sent into a full link is lost.
    pub max_in_flight: u8,
    /// At most this many messages in flight in the whole network (`None`:
    /// only `max_in_flight` per link limits them). A step whose messages do
    /// not all fit loses all of them (so that which survive never depends
    /// on server ids).
    pub max_messages: Option<u8>,
    /// Whether leaders' heartbeat timers fire. When they do, a heartbeat is
    /// taken only while some peer lags the leader (its log, its commit
    /// index, its term, or it is not a follower) and nothing is in flight
    /// to it: a heartbeat that cannot change
    /// anything is not explored.
    pub heartbeats: bool,
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
        Config {
            cluster_size: self.servers,
            max_entries_per_append: self.max_entries_per_append,
            heartbeat: self.heartbeat_style,
            mutant: self.mutant,
        }
    }

    /// Checks every bound against its documented range.
    pub fn validate(&self) -> Result<(), String> {
        let check = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_string()) };
        check((1..=5).contains(&self.servers), "--servers must be 1 to 5")?;
        check((1..=8).contains(&self.max_term), "--max-term must be 1 to 8")?;
        check(self.max_elections.is_none_or(|e| (1..=16).contains(&e)), "--max-elections must be 1 to 16")?;
        if let Some(order) = &self.election_order {
            check(!order.is_empty() && order.len() <= 8, "--election-order must name 1 to 8 candidates")?;
            check(order.iter().all(|&n| n < self.servers), "--election-order names a server beyond --servers")?;
        }
        check(self.max_messages.is_none_or(|m| (1..=32).contains(&m)), "--max-messages must be 1 to 32")?;
        check(self.max_heartbeats.is_none_or(|h| h <= 16), "--max-heartbeats must be 0 to 16")?;
        check(self.values <= 6, "--values must be 0 to 6")?;
        check(self.crashes <= 4, "--crashes must be 0 to 4")?;
        check(self.snapshots <= 4, "--snapshots must be 0 to 4")?;
        check((1..=4).contains(&self.max_in_flight), "--max-in-flight must be 1 to 4")?;
        check((1..=8).contains(&self.max_entries_per_append), "--max-entries must be 1 to 8")?;
        Ok(())
    }

    /// One line describing the scope, for reports.
    pub fn summary(&self) -> String {
        format!(
            "servers={} max-term={} max-elections={} election-order={} values={} crashes={} snapshots={} network={} max-in-flight={} max-messages={} heartbeats={} max-heartbeats={} one-value-per-term={} heartbeat-style={} max-entries={} mutant={}",
            self.servers,
            self.max_term,
            self.max_elections.map_or("any".to_string(), |e| e.to_string()),
            self.election_order.as_ref().map_or("any".to_string(), |o| {
                o.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",")
            }),
            self.values,
            self.crashes,
            self.snapshots,
            self.network,
            self.max_in_flight,
            self.max_messages.map_or("any".to_string(), |m| m.to_string()),
            self.heartbeats,
            self.max_heartbeats.map_or("any".to_string(), |h| h.to_string()),
            self.one_value_per_term,
            match self.heartbeat_style {
                HeartbeatStyle::WithEntries => "with-entries",
                HeartbeatStyle::Empty => "empty",
            },
            self.max_entries_per_append,
            self.mutant.map_or("none".to_string(), |m| m.id().to_string()),
        )
    }
}
