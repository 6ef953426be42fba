//! Replay files: a counterexample found by the model checker, written as the
//! exact sequence of things that happened to the cluster (timers, client
//! proposals, service snapshots, deliveries with their messages, losses,
//! crashes, restarts), so that the threaded runtime can be driven through
//! the same steps deterministically.
//!
//! Commands are the model's values (a proposal of value `v` is the command
//! `v`; the runtime uses the one-byte command `[v]`), and a snapshot's data
//! is the list of values applied through its index.

use crate::explore::action::{Action, Step};
use crate::explore::model::RaftModel;
pub use crate::explore::output_groups::{group_ends, outputs_before_crash};
use crate::explore::run::Trace;
use raftcheck_core::io::{Input, Message};
use raftcheck_core::node::{Config, HeartbeatStyle};
use raftcheck_core::properties::Safety;
use raftcheck_core::types::{Index, NodeId};
use raftcheck_core::Mutant;
use raftcheck_core::UnknownName;
use serde::{Deserialize, Serialize};

/// The format version this build writes and reads.
pub const REPLAY_VERSION: u64 = 1;

/// A message of the model: one-byte values as commands, lists of values as
/// snapshot data.
pub type ReplayMessage = Message<u8, Vec<u8>>;

/// Something that happens to one node and makes it take a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayStep {
    /// Node `node`'s election timer fires.
    ElectionTimeout { node: NodeId },
    /// Node `node`'s heartbeat timer fires.
    HeartbeatTimeout { node: NodeId },
    /// A client proposes `value` to node `node` (which leads).
    Propose { node: NodeId, value: u8 },
    /// Node `node`'s service snapshots what it applied through `index`
    /// (the values in `data`).
    Snapshot { node: NodeId, index: Index, data: Vec<u8> },
    /// `message`, sent by `from`, is delivered to `to`; with `keep_copy`, a
    /// copy stays in flight (the network duplicated it).
    Deliver { from: NodeId, to: NodeId, message: ReplayMessage, keep_copy: bool },
}

impl ReplayStep {
    /// The node that takes the step.
    pub fn node(&self) -> NodeId {
        match self {
            ReplayStep::ElectionTimeout { node }
            | ReplayStep::HeartbeatTimeout { node }
            | ReplayStep::Propose { node, .. }
            | ReplayStep::Snapshot { node, .. } => *node,
            ReplayStep::Deliver { to, .. } => *to,
        }
    }
}

/// One thing the environment did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayAction {
    /// A node takes a step and every output is carried out.
    Step(ReplayStep),
    /// A node takes a step, carries out the outputs of its first `groups`
    /// groups (runs of outputs of one kind), and crashes before the rest
    /// (see [`outputs_before_crash`]).
    CrashDuring { step: ReplayStep, groups: u8 },
    /// `message` from `from` to `to` is lost.
    Drop { from: NodeId, to: NodeId, message: ReplayMessage },
    /// Node `node` crashes (its volatile state is lost).
    Crash { node: NodeId },
    /// Node `node` restarts from what it saved.
    Restart { node: NodeId },
}

/// A counterexample to replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// The format version ([`REPLAY_VERSION`]).
    pub raftcheck_replay: u64,
    /// Servers in the cluster.
    pub cluster_size: usize,
    /// At most this many entries per AppendEntries (`null`: unlimited).
    pub max_entries_per_append: Option<usize>,
    /// What heartbeats carry: `"with_entries"` or `"empty"`.
    pub heartbeat: HeartbeatStyle,
    /// The seeded bug the counterexample was found with (`null`: none).
    pub mutant: Option<String>,
    /// The property the model found broken after the last action: a
    /// safety property's name (`Safety::name`), or, in a hand-written
    /// scenario, any text (no runtime run can then reproduce it).
    pub property: String,
    /// What happened, in order.
    pub actions: Vec<ReplayAction>,
}

/// Why a replay file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplayFileError {
    /// The text is not JSON.
    #[error("not a replay file (invalid JSON: {0})")]
    NotJson(serde_json::Error),
    /// The JSON has no format version.
    #[error("not a replay file: expected \"raftcheck_replay\": <version>")]
    NoVersion,
    /// A format version this build does not read.
    #[error("replay format version {0}; this build reads {REPLAY_VERSION}")]
    Version(u64),
    /// A field is missing, unknown or of the wrong kind.
    #[error("bad replay file: {0}")]
    Malformed(serde_json::Error),
    /// The mutant named is not one this build has.
    #[error("bad replay file: {0}")]
    Mutant(#[from] UnknownName),
}

impl Replay {
    /// The mutant, parsed.
    pub fn mutant(&self) -> Result<Option<Mutant>, UnknownName> {
        self.mutant.as_deref().map(str::parse).transpose()
    }

    /// The safety property the replay says the model found broken, if
    /// `property` names one.
    pub fn safety(&self) -> Option<Safety> {
        Safety::ALL.into_iter().find(|p| p.name() == self.property)
    }

    /// Reads a replay file's text; the error names what is wrong.
    pub fn parse(text: &str) -> Result<Replay, ReplayFileError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(ReplayFileError::NotJson)?;
        match value.get("raftcheck_replay").and_then(serde_json::Value::as_u64) {
            Some(REPLAY_VERSION) => {}
            Some(other) => return Err(ReplayFileError::Version(other)),
            None => return Err(ReplayFileError::NoVersion),
        }
        let replay: Replay = serde_json::from_value(value).map_err(ReplayFileError::Malformed)?;
        replay.mutant()?;
        Ok(replay)
    }
}

impl Replay {
    /// The counterexample `trace` of `model` (found breaking `property`) as
    /// a replay: each action with the node it steps and exactly what that
    /// node is given.
    pub fn from_counterexample(model: &RaftModel, trace: &Trace, property: &str) -> Replay {
        let actions = trace
            .iter()
            .filter_map(|(state, action)| action.map(|action| replay_action(model, state, action)))
            .collect();
        let config: &Config = &model.config;
        Replay {
            raftcheck_replay: REPLAY_VERSION,
            cluster_size: config.cluster_size(),
            max_entries_per_append: (config.max_entries_per_append != usize::MAX)
                .then_some(config.max_entries_per_append),
            heartbeat: config.heartbeat,
            mutant: config.mutant.map(|m| m.id().to_string()),
            property: property.to_string(),
            actions,
        }
    }
}

fn replay_action(model: &RaftModel, state: &crate::explore::state::ClusterState, action: Action) -> ReplayAction {
    let step = |step: Step| {
        let (node, input) = model.input(state, step);
        match input {
            Input::Receive { from, message } => {
                ReplayStep::Deliver { from, to: node, message, keep_copy: matches!(step, Step::Duplicate(_)) }
            }
            Input::ElectionTimeout => ReplayStep::ElectionTimeout { node },
            Input::HeartbeatTimeout => ReplayStep::HeartbeatTimeout { node },
            Input::Propose(value) => ReplayStep::Propose { node, value },
            Input::Snapshot { index, data } => ReplayStep::Snapshot { node, index, data },
        }
    };
    match action {
        Action::Step(s) => ReplayAction::Step(step(s)),
        Action::CrashDuring(s, groups) => ReplayAction::CrashDuring { step: step(s), groups },
        Action::Drop(k) => {
            let envelope = &state.network[k].0;
            ReplayAction::Drop { from: envelope.from, to: envelope.to, message: (*envelope.message).clone() }
        }
        Action::Crash(node) => ReplayAction::Crash { node },
        Action::Restart(node) => ReplayAction::Restart { node },
    }
}
