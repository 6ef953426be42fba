//! etcd-raft's `TracingEvent`, as its trace loggers write it, and its
//! translation into the spec's terms.

use super::super::spec::{Config, Id, Message, MessageKind, NodeState, Role};
use serde::{Deserialize, Serialize};

/// One `TracingEvent` (every field optional here: which are required
/// depends on the kind, see [`Event::state`] and [`Event::message`]).
/// Written as etcd writes it, without the fields that are `None`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conf: Option<[Vec<String>; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<Msg>,
}

/// `state`: the node's hard state, and the extra fields some harnesses add.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub term: u64,
    pub vote: String,
    pub commit: u64,
    /// The index of the last entry applied (some harnesses add it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<u64>,
    /// The log's snapshot point (some harnesses add it; after a
    /// compaction or a snapshot installed).
    #[serde(default, rename = "snapshotIndex", skip_serializing_if = "Option::is_none")]
    pub snapshot_index: Option<u64>,
    #[serde(default, rename = "snapshotTerm", skip_serializing_if = "Option::is_none")]
    pub snapshot_term: Option<u64>,
}

/// `msg`: the message sent or received.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    #[serde(rename = "type")]
    pub kind: String,
    pub term: u64,
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub entries: u64,
    #[serde(default, rename = "logTerm")]
    pub log_term: u64,
    #[serde(default)]
    pub index: u64,
    #[serde(default)]
    pub commit: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vote: Option<String>,
    #[serde(default)]
    pub reject: bool,
    #[serde(default, rename = "rejectHint")]
    pub reject_hint: u64,
}

/// etcd-raft's other message types (`raftpb.MessageType`): state_trace.go
/// writes none of them, a modified harness may; they are matched between
/// send and receive and have no effect on the spec.
pub(super) const OTHER_TYPES: [&str; 15] = [
    "MsgHup",
    "MsgBeat",
    "MsgProp",
    "MsgUnreachable",
    "MsgSnapStatus",
    "MsgCheckQuorum",
    "MsgTransferLeader",
    "MsgTimeoutNow",
    "MsgReadIndex",
    "MsgReadIndexResp",
    "MsgForgetLeader",
    // The local messages of etcd-raft's asynchronous storage writes.
    "MsgStorageAppend",
    "MsgStorageAppendResp",
    "MsgStorageApply",
    "MsgStorageApplyResp",
];

/// A node id: etcd writes them as decimal strings ("0" is none).
pub(super) fn id(text: &str, what: &str) -> Result<Id, String> {
    text.parse().map_err(|_| format!("{what}: expected a node id (a decimal number in a string), found {text:?}"))
}

impl Event {
    /// The node the event is about.
    pub fn node(&self) -> Result<Id, String> {
        id(self.nid.as_deref().ok_or(format!("a {} event without \"nid\"", self.name))?, "nid")
    }

    /// The state the event shows of its node; `None` when the event has
    /// none (an extra kind may carry only part of it). Without `conf`, the
    /// configuration is `known` if given, else the event is refused.
    pub fn state(&self, known: Option<&Config>) -> Result<Option<NodeState>, String> {
        let (Some(state), Some(role), Some(log)) = (&self.state, &self.role, self.log) else {
            return Ok(None);
        };
        let role = match role.as_str() {
            "StateFollower" | "StatePreCandidate" => Role::Follower,
            "StateCandidate" => Role::Candidate,
            "StateLeader" => Role::Leader,
            other => {
                return Err(format!("role: expected StateFollower, StateCandidate or StateLeader, found {other:?}"))
            }
        };
        let config = match &self.conf {
            Some([incoming, outgoing]) => {
                let ids = |list: &[String]| list.iter().map(|v| id(v, "conf")).collect::<Result<Vec<_>, _>>();
                Config::new(ids(incoming)?, ids(outgoing)?)
            }
            None => match known {
                Some(config) => config.clone(),
                None => return Err(format!("a {} event without \"conf\"", self.name)),
            },
        };
        Ok(Some(NodeState {
            term: state.term,
            vote: id(&state.vote, "state.vote")?,
            commit: state.commit,
            role: Some(role),
            last: log,
            config,
            applied: state.applied,
            snapshot: state.snapshot_index.map(|index| (index, state.snapshot_term)),
        }))
    }

    /// The state, required: the 19 kinds etcd writes all carry it.
    pub fn required_state(&self) -> Result<NodeState, String> {
        self.state(None)?.ok_or_else(|| format!("a {} event without \"state\", \"role\" and \"log\"", self.name))
    }

    /// The event's message type, if it has a message of a type etcd-raft
    /// does not have.
    pub fn unknown_message_type(&self) -> Option<&str> {
        let kind = self.msg.as_ref()?.kind.as_str();
        let known = [
            "MsgApp",
            "MsgHeartbeat",
            "MsgSnap",
            "MsgAppResp",
            "MsgHeartbeatResp",
            "MsgVote",
            "MsgVoteResp",
            "MsgPreVote",
            "MsgPreVoteResp",
        ];
        (!known.contains(&kind) && !OTHER_TYPES.contains(&kind)).then_some(kind)
    }

    /// The message of a send or receive event.
    pub fn message(&self) -> Result<Message, String> {
        let msg = self.msg.as_ref().ok_or_else(|| format!("a {} event without \"msg\"", self.name))?;
        let kind = match msg.kind.as_str() {
            "MsgApp" => MessageKind::App,
            "MsgHeartbeat" => MessageKind::Heartbeat,
            "MsgSnap" => MessageKind::Snapshot,
            "MsgAppResp" => MessageKind::AppResp,
            "MsgHeartbeatResp" => MessageKind::HeartbeatResp,
            "MsgVote" => MessageKind::Vote,
            "MsgVoteResp" => MessageKind::VoteResp,
            "MsgPreVote" => MessageKind::PreVote,
            "MsgPreVoteResp" => MessageKind::PreVoteResp,
            other => match OTHER_TYPES.iter().position(|t| *t == other) {
                Some(k) => MessageKind::Other(k as u8),
                None => {
                    return Err(format!(
                        "msg.type: expected one of etcd-raft's message types (MsgApp, MsgHeartbeat, MsgSnap, \
                         MsgAppResp, MsgHeartbeatResp, MsgVote, MsgVoteResp, MsgPreVote, MsgPreVoteResp, {}), \
                         found {other:?} (or pass --lenient to skip the event)",
                        OTHER_TYPES.join(", ")
                    ))
                }
            },
        };
        Ok(Message {
            kind,
            term: msg.term,
            from: id(&msg.from, "msg.from")?,
            to: id(&msg.to, "msg.to")?,
            entries: msg.entries,
            log_term: msg.log_term,
            index: msg.index,
            commit: msg.commit,
            vote: msg.vote.as_deref().map_or(Ok(0), |v| id(v, "msg.vote"))?,
            reject: msg.reject,
            reject_hint: msg.reject_hint,
        })
    }
}
