//! Raft over the lab's simulated network: each request is an RPC
//! (`Raft.RequestVote`, `Raft.AppendEntries`, `Raft.InstallSnapshot`) whose
//! answer is the receiver's reply message, as in the lab, so the network's
//! counts of calls and bytes mean what the lab's tests expect.
//!
//! On the wire, a request is `(sender id, message)` and an answer is the
//! reply message, both encoded with postcard.

use crate::net::{ClientEnd, Reply, Server};
use crate::raft::env::Transport;
use crate::raft::event::{Event, Inbox};
use crate::raft::RaftMessage;
use raftcheck_core::{Message, NodeId};
use serde::{Deserialize, Serialize};

/// A request on the wire: who sends it, and the message.
#[derive(Serialize, Deserialize)]
struct WireRequest {
    from: NodeId,
    message: RaftMessage,
}

/// The RPC method that carries a request of this kind (`None` for replies).
fn method(message: &RaftMessage) -> Option<&'static str> {
    match message {
        Message::RequestVote(_) => Some("Raft.RequestVote"),
        Message::AppendEntries(_) => Some("Raft.AppendEntries"),
        Message::InstallSnapshot(_) => Some("Raft.InstallSnapshot"),
        _ => None,
    }
}

/// Sends a node's requests over its client ends, one per peer.
pub struct LabTransport {
    me: NodeId,
    /// `ends[p]` reaches peer `p` (`ends[me]` is never used).
    ends: Vec<ClientEnd>,
}

impl LabTransport {
    /// The transport of node `me`, whose end to peer `p` is `ends[p]`.
    pub fn new(me: NodeId, ends: Vec<ClientEnd>) -> Self {
        LabTransport { me, ends }
    }
}

impl Transport for LabTransport {
    fn send(&mut self, to: NodeId, message: RaftMessage, inbox: &Inbox) {
        // A reply travels back on the call that carried its request; one
        // with no call to answer is lost, as a network may lose any message.
        let (Some(method), Some(end)) = (method(&message), self.ends.get(to)) else { return };
        let bytes = postcard::to_stdvec(&WireRequest { from: self.me, message }).expect("messages serialise");
        let inbox = inbox.clone();
        end.call_async(
            method,
            bytes,
            Box::new(move |result| {
                // A failed call is a lost message: Raft retries on its own.
                if let Ok(bytes) = result {
                    if let Ok(reply) = postcard::from_bytes::<RaftMessage>(&bytes) {
                        inbox.deliver(to, reply);
                    }
                }
            }),
        );
    }
}

/// Adds the Raft methods to `server`: each delivers the request to the node
/// behind `inbox`, with a route for its reply. A request that does not
/// decode, or arrives on the wrong method, is refused (the call fails).
pub fn add_raft_methods(server: &mut Server, inbox: Inbox) {
    for name in ["Raft.RequestVote", "Raft.AppendEntries", "Raft.InstallSnapshot"] {
        let inbox = inbox.clone();
        server.add_method(name, move |bytes: Vec<u8>, reply: Reply| {
            let Ok(request) = postcard::from_bytes::<WireRequest>(&bytes) else { return };
            if method(&request.message) != Some(name) {
                return;
            }
            let route = Box::new(move |answer: RaftMessage| {
                reply.send(postcard::to_stdvec(&answer).expect("messages serialise"));
            });
            inbox.send(Event::Message { from: request.from, message: request.message, reply: Some(route) });
        });
    }
}
