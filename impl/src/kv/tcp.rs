//! Clients of a [`KvServer`] over TCP: a [`ClientListener`] beside a node
//! serves requests, a [`TcpClerk`] sends them and finds the leader.
//!
//! # Wire format (version 1)
//!
//! A client's connection carries request frames from the client and reply
//! frames to it, and nothing else (no handshake). Every frame is laid out as
//! the Raft transport's (see [`crate::net::tcp`]):
//!
//! | bytes | content |
//! |---|---|
//! | 4 | `len`: the number of bytes that follow, a `u32`, little-endian |
//! | 1 | the wire version, `1` |
//! | `len - 1` | the postcard body |
//!
//! A request's body is a [`ClientRequest`]: an operation (a [`Request`]:
//! client id, sequence number, the operation) or a question about the
//! node's state; a reply's body is a [`ClientReply`]: an operation's
//! answer naming the sequence number it answers, or the node's
//! [`NodeStatus`]. Replies may come in another order than their requests. A server refuses a frame over [`MAX_CLIENT_FRAME_LEN`],
//! of another version, that does not decode or has bytes left over, or that
//! the connection ends inside: it drops it and closes the connection (the
//! stream is out of step), and never panics. The clerk does the same with
//! a bad reply and tries another server.

use crate::kv::{KvOp, KvServer, Reply, Request};
use crate::net::tcp::{encode_value, read_value, FrameError};
use raftcheck_core::{Index, NodeId, Term};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The limit on a client frame's length (version byte and body): 1 MiB.
pub const MAX_CLIENT_FRAME_LEN: usize = 1 << 20;

/// How long writing one answer to a client may block.
const REPLY_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the accepting thread looks for a stop while nobody connects.
const ACCEPT_POLL: Duration = Duration::from_millis(20);

/// What a client asks a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientRequest {
    /// Carry out an operation (answered once applied, or refused).
    Op(Request),
    /// Tell your state (answered at once, from the node's last step).
    Status,
}

/// What a node answers a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientReply {
    /// The answer to the operation with sequence number `seq`.
    Op {
        /// The request's sequence number.
        seq: u64,
        /// The answer.
        reply: Reply,
    },
    /// The node's state.
    Status(NodeStatus),
}

/// A node's state as of its last step, for people and for `raftcheck run`
/// (which kills or isolates the leader).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's id.
    pub id: NodeId,
    /// Its current term.
    pub term: Term,
    /// Whether it believes it leads that term.
    pub is_leader: bool,
    /// Its commit index.
    pub commit_index: Index,
    /// The last log index its service applied.
    pub last_applied: Index,
}

/// The whole client frame carrying `value`.
pub fn encode_client_frame(value: &impl Serialize) -> Result<Vec<u8>, FrameError> {
    encode_value(value, MAX_CLIENT_FRAME_LEN)
}

/// Reads the next client frame. `Ok(None)` when the stream ends cleanly
/// between two frames. After an error the stream is out of step: close it.
pub fn read_client_frame<T: DeserializeOwned>(reader: &mut impl Read) -> Result<Option<T>, FrameError> {
    read_value(reader, MAX_CLIENT_FRAME_LEN)
}

/// The open client connections and their reading threads.
type Connections = Arc<Mutex<Vec<(TcpStream, JoinHandle<()>)>>>;

/// Serves clients of one [`KvServer`]: one thread accepts connections, one
/// thread per connection reads its requests and submits each to the server;
/// each answer is written back on the connection when the server gives it.
/// A malformed frame is logged and closes its connection; other
/// connections go on. [`ClientListener::stop`], or dropping it, ends every
/// thread and closes every connection.
pub struct ClientListener {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepter: Option<JoinHandle<()>>,
    connections: Connections,
}

impl ClientListener {
    /// Serves the bound `listener` for `server`.
    pub fn serve(listener: TcpListener, server: Arc<KvServer>) -> io::Result<ClientListener> {
        let local_addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (stop_a, connections_a) = (Arc::clone(&stop), Arc::clone(&connections));
        let accepter = std::thread::Builder::new()
            .name(format!("kv-clients-{local_addr}"))
            .spawn(move || accept_loop(listener, server, stop_a, connections_a))?;
        Ok(ClientListener { local_addr, stop, accepter: Some(accepter), connections })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, closes every connection and waits for every thread.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accepter) = self.accepter.take() {
            let _ = accepter.join();
        }
        let connections = std::mem::take(&mut *self.connections.lock().unwrap_or_else(|e| e.into_inner()));
        for (stream, reader) in connections {
            let _ = stream.shutdown(Shutdown::Both);
            let _ = reader.join();
        }
    }
}

impl Drop for ClientListener {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: TcpListener, server: Arc<KvServer>, stop: Arc<AtomicBool>, connections: Connections) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, peer)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_nodelay(true);
                // An answer is written from the server's apply path: a
                // client that stops reading loses its connection, and never
                // holds the server up for longer than this.
                let _ = stream.set_write_timeout(Some(REPLY_WRITE_TIMEOUT));
                let (Ok(reader), Ok(writer)) = (stream.try_clone(), stream.try_clone()) else { continue };
                let server = Arc::clone(&server);
                let Ok(thread) = std::thread::Builder::new()
                    .name(format!("kv-client-{peer}"))
                    .spawn(move || serve_connection(reader, writer, server, peer))
                else {
                    continue;
                };
                let mut connections = connections.lock().unwrap_or_else(|e| e.into_inner());
                // Forget the connections that ended.
                connections.retain(|(_, thread)| !thread.is_finished());
                connections.push((stream, thread));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("kv client listener: accept failed: {e}");
                std::thread::sleep(ACCEPT_POLL);
            }
        }
    }
}

/// Reads one client's requests until it closes or sends a bad frame.
fn serve_connection(mut reader: TcpStream, writer: TcpStream, server: Arc<KvServer>, peer: SocketAddr) {
    let writer = Arc::new(Mutex::new(writer));
    loop {
        match read_client_frame::<ClientRequest>(&mut reader) {
            Ok(Some(ClientRequest::Op(request))) => {
                let seq = request.seq;
                let writer = Arc::clone(&writer);
                server.submit(request, move |reply: &Reply| {
                    send_reply(&writer, &ClientReply::Op { seq, reply: reply.clone() });
                });
            }
            Ok(Some(ClientRequest::Status)) => {
                let status = server.raft().status();
                let status = NodeStatus {
                    id: server.raft().id(),
                    term: status.term,
                    is_leader: status.is_leader,
                    commit_index: status.commit_index,
                    last_applied: server.applied_index(),
                };
                send_reply(&writer, &ClientReply::Status(status));
            }
            Ok(None) => break,
            Err(FrameError::Io(_)) => break,
            Err(e) => {
                eprintln!("kv client listener: a bad frame from {peer} is dropped and the connection closed: {e}");
                break;
            }
        }
    }
    let _ = reader.shutdown(Shutdown::Both);
}

/// Writes `reply` on a client's connection; a client that left loses it.
fn send_reply(writer: &Mutex<TcpStream>, reply: &ClientReply) {
    if let Ok(frame) = encode_client_frame(reply) {
        let mut writer = writer.lock().unwrap_or_else(|e| e.into_inner());
        if writer.write_all(&frame).is_err() {
            // A frame cut short leaves the stream out of step: close it.
            let _ = writer.shutdown(Shutdown::Both);
        }
    }
}

/// Asks the node whose client address is `address` for its state.
pub fn node_status(address: &str, timeout: Duration) -> Result<NodeStatus, FrameError> {
    let mut stream = connect(address, timeout)?;
    stream.write_all(&encode_client_frame(&ClientRequest::Status)?).map_err(FrameError::Io)?;
    loop {
        match read_client_frame::<ClientReply>(&mut stream)? {
            Some(ClientReply::Status(status)) => return Ok(status),
            Some(ClientReply::Op { .. }) => continue,
            None => return Err(closed()),
        }
    }
}

/// A connection to `address` within `timeout`, with reads and writes that
/// give up after `timeout` too.
fn connect(address: &str, timeout: Duration) -> Result<TcpStream, FrameError> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the address resolves to nothing");
    for socket in address.to_socket_addrs().map_err(FrameError::Io)? {
        match TcpStream::connect_timeout(&socket, timeout) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                stream.set_write_timeout(Some(timeout)).map_err(FrameError::Io)?;
                stream.set_read_timeout(Some(timeout)).map_err(FrameError::Io)?;
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(FrameError::Io(last))
}

fn closed() -> FrameError {
    FrameError::Io(io::Error::new(io::ErrorKind::ConnectionAborted, "the server closed the connection"))
}

/// Why a [`TcpClerk`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum ClerkError {
    /// No server applied the operation before the deadline.
    #[error("no server answered within {0:?} (last: {1})")]
    NoAnswer(Duration, String),
}

/// A key/value client over TCP. It tries the servers in turn on a
/// wrong-leader answer, a timeout, a refused connection or a bad reply,
/// resending the same request (same client id and sequence number, so it
/// takes effect at most once) until one applies it or the deadline passes.
/// It keeps its connection to the server that last answered.
pub struct TcpClerk {
    servers: Vec<String>,
    client: u64,
    seq: u64,
    leader: usize,
    /// The open connection to `servers[leader]`, if any.
    connection: Option<TcpStream>,
    /// How long one attempt waits for a connection and for its reply.
    pub attempt_timeout: Duration,
}

impl TcpClerk {
    /// A clerk with id `client` (unique among clients: a random one will
    /// do) for the servers' client addresses.
    pub fn new(servers: Vec<String>, client: u64) -> TcpClerk {
        assert!(!servers.is_empty(), "a clerk needs at least one server");
        TcpClerk { servers, client, seq: 0, leader: 0, connection: None, attempt_timeout: Duration::from_secs(2) }
    }

    /// Runs `op` until a server applies it, or `timeout` passes; returns a
    /// get's value (`""` for a missing key), `None` for put and append.
    pub fn execute(&mut self, op: KvOp, timeout: Duration) -> Result<Option<String>, ClerkError> {
        self.seq += 1;
        let request = Request { client: self.client, seq: self.seq, op };
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no attempt");
        let mut tried = 0usize;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ClerkError::NoAnswer(timeout, last));
            }
            let address = self.servers[self.leader].clone();
            match self.attempt(&address, &request, left.min(self.attempt_timeout)) {
                Ok(Reply::Done(value)) => return Ok(Some(value.unwrap_or_default()).filter(|_| is_get(&request.op))),
                Ok(reply) => last = format!("{address}: {reply:?}"),
                Err(e) => {
                    last = format!("{address}: {e}");
                    self.connection = None;
                }
            }
            self.connection = None;
            self.leader = (self.leader + 1) % self.servers.len();
            tried += 1;
            if tried.is_multiple_of(self.servers.len()) {
                // Nobody leads right now: give an election time.
                std::thread::sleep(Duration::from_millis(100).min(deadline.saturating_duration_since(Instant::now())));
            }
        }
    }

    /// One request to one server, on the open connection or a new one.
    fn attempt(&mut self, address: &str, request: &Request, timeout: Duration) -> Result<Reply, FrameError> {
        let started = Instant::now();
        let mut stream = match self.connection.take() {
            Some(stream) => stream,
            None => connect(address, timeout)?,
        };
        stream.set_write_timeout(Some(timeout)).map_err(FrameError::Io)?;
        stream.write_all(&encode_client_frame(&ClientRequest::Op(request.clone()))?).map_err(FrameError::Io)?;
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(FrameError::Io(io::Error::new(io::ErrorKind::TimedOut, "no reply in time")));
            }
            stream.set_read_timeout(Some(left)).map_err(FrameError::Io)?;
            match read_client_frame::<ClientReply>(&mut stream)? {
                Some(ClientReply::Op { seq, reply }) if seq == request.seq => {
                    // Kept only after a whole answer: the stream is in step.
                    self.connection = Some(stream);
                    return Ok(reply);
                }
                Some(_) => continue,
                None => return Err(closed()),
            }
        }
    }
}

fn is_get(op: &KvOp) -> bool {
    matches!(op, KvOp::Get { .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::tcp::WIRE_VERSION;
    use std::io::Cursor;

    #[test]
    fn requests_and_replies_round_trip() {
        let request = Request { client: 7, seq: 3, op: KvOp::Append { key: "k".into(), value: "v".into() } };
        let request = ClientRequest::Op(request);
        let frame = encode_client_frame(&request).unwrap();
        assert_eq!(frame[4], WIRE_VERSION);
        assert_eq!(u32::from_le_bytes(frame[..4].try_into().unwrap()) as usize, frame.len() - 4);
        let mut reader = Cursor::new(frame);
        assert_eq!(read_client_frame::<ClientRequest>(&mut reader).unwrap(), Some(request));
        assert!(read_client_frame::<ClientRequest>(&mut reader).unwrap().is_none());
        for reply in [Reply::Done(Some("x".into())), Reply::Done(None), Reply::WrongLeader, Reply::Timeout] {
            let reply = ClientReply::Op { seq: 9, reply };
            let frame = encode_client_frame(&reply).unwrap();
            assert_eq!(read_client_frame::<ClientReply>(&mut Cursor::new(frame)).unwrap(), Some(reply));
        }
    }

    #[test]
    fn client_frames_have_their_own_limit_and_body() {
        // The framing's own failures are tested in net::tcp::frame; here,
        // what differs: the 1 MiB limit, and a body that is no request.
        let read = |bytes: &[u8]| read_client_frame::<ClientRequest>(&mut Cursor::new(bytes.to_vec()));
        let over = (MAX_CLIENT_FRAME_LEN as u32 + 1).to_le_bytes();
        assert!(matches!(read(&over), Err(FrameError::TooLong { max: MAX_CLIENT_FRAME_LEN, .. })));
        let big =
            ClientRequest::Op(Request { client: 1, seq: 1, op: KvOp::Get { key: "x".repeat(MAX_CLIENT_FRAME_LEN) } });
        assert!(matches!(encode_client_frame(&big), Err(FrameError::TooLong { .. })));
        let mut garbage = vec![6, 0, 0, 0, WIRE_VERSION];
        garbage.extend([0xff; 5]);
        assert!(matches!(read(&garbage), Err(FrameError::Decode(_))));
    }

    #[test]
    fn a_clerk_with_no_server_up_gives_up_at_its_deadline() {
        // A port that was free a moment ago: nothing listens there.
        let address = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
        let mut clerk = TcpClerk::new(vec![address], 1);
        let result = clerk.execute(KvOp::Get { key: "k".into() }, Duration::from_millis(300));
        assert!(matches!(result, Err(ClerkError::NoAnswer(..))), "{result:?}");
    }
}
