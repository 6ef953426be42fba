//! Raft over TCP, for nodes in separate processes: a [`TcpTransport`] sends
//! a node's messages, a [`Listener`] receives its peers' messages.
//!
//! # Connections
//!
//! Each node opens one connection to each peer and only writes on it; each
//! node's listener only reads the connections it accepts. So between two
//! nodes there are two connections, one per direction, and a message from
//! `a` to `b` always travels on `a`'s connection to `b`'s listener.
//!
//! A reply is an ordinary message: unlike the lab's network, where an
//! answer travels back on the RPC that carried its request, here the
//! listener hands a request to the node with no reply route
//! ([`crate::raft::Inbox::deliver`]), so the driver gives the node's answer
//! to its transport, which sends it to the requester's listener. Raft needs
//! nothing more: a reply names its term and is matched by the sender's id.
//!
//! Delivery is in order on one connection, or not at all: a full queue, a
//! peer that is down, a broken connection lose messages, as any network
//! may, and Raft retries (heartbeats, election timeouts).
//!
//! # Wire format (version 1)
//!
//! A connection carries frames, back to back, and nothing else (no
//! handshake). One frame is one message:
//!
//! | bytes | content |
//! |---|---|
//! | 4 | `len`: the number of bytes that follow in this frame, a `u32`, little-endian |
//! | 1 | the wire version, `1` |
//! | `len - 1` | the postcard encoding of the tuple `(from, message)`: the sender's `NodeId` (a `usize`, a postcard varint), then the [`crate::raft::RaftMessage`] |
//!
//! A reader refuses a frame whose `len` is over its limit (64 MiB by
//! default; checked before anything is allocated) or zero, whose version is
//! not 1, whose body does not decode or has bytes left after the message,
//! that the connection ends inside, or whose sender is not a node of the
//! cluster: it logs the frame, drops it and closes the connection (the
//! stream is out of step). A writer never sends a frame over its own limit
//! (the message is dropped and logged).

mod frame;
mod listener;
#[cfg(test)]
mod tests;
mod transport;

pub use frame::{encode_frame, encode_value, read_frame, read_value, FrameError, DEFAULT_MAX_FRAME_LEN, WIRE_VERSION};
pub use listener::{Listener, ListenerOptions, ListenerStats};
pub use transport::{TcpOptions, TcpStats, TcpTransport};
