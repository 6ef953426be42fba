//! [`TcpTransport`]: a node's outgoing messages, one bounded queue and one
//! writer thread per peer. `send` only queues (or drops), so a slow, dead
//! or unreachable peer never holds up the event loop.

use crate::net::tcp::frame::{encode_frame, DEFAULT_MAX_FRAME_LEN};
use crate::raft::env::Transport;
use crate::raft::event::Inbox;
use crate::raft::RaftMessage;
use raftcheck_core::NodeId;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a [`TcpTransport`] queues, connects and writes.
#[derive(Clone, Debug)]
pub struct TcpOptions {
    /// At most this many messages wait for one peer; a message sent to a
    /// full queue is dropped.
    pub queue_capacity: usize,
    /// A message whose frame would be longer is dropped (see
    /// [`crate::net::tcp::read_frame`]); the peer's listener must accept
    /// at least this much.
    pub max_frame_len: usize,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// A write that makes no progress for this long fails, and the
    /// connection is closed (a peer that stopped reading).
    pub write_timeout: Duration,
    /// The wait after the first failed connection attempt; it doubles after
    /// each further failure, up to `max_backoff`, and is reset by a
    /// successful connection.
    pub min_backoff: Duration,
    /// The longest wait between two connection attempts.
    pub max_backoff: Duration,
}

impl Default for TcpOptions {
    /// 256 messages per peer, 64 MiB frames, 1 s to connect, 5 s to write,
    /// backoff from 50 ms up to 2 s.
    fn default() -> Self {
        TcpOptions {
            queue_capacity: 256,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            connect_timeout: Duration::from_secs(1),
            write_timeout: Duration::from_secs(5),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// Counts of what a [`TcpTransport`] did with the messages it was given,
/// shared with its writer threads. Each counter only grows, except
/// `writers_running`.
#[derive(Debug, Default)]
pub struct TcpStats {
    /// Messages queued for a writer.
    pub queued: AtomicU64,
    /// Messages dropped by `send` because the peer's queue was full (or,
    /// were its writer to panic, had no reader).
    pub dropped_queue_full: AtomicU64,
    /// Messages dropped by `send` because the destination is not a peer.
    pub dropped_unknown_peer: AtomicU64,
    /// Messages a writer dropped: no connection (the peer is down, or the
    /// writer is waiting out its backoff), a failed write, or a frame over
    /// the limit.
    pub dropped_unsent: AtomicU64,
    /// Frames written whole to a connection (which does not mean the peer
    /// read them: a connection can fail after the write).
    pub written: AtomicU64,
    /// Connections made (the first one to a peer, and each reconnection).
    pub connections: AtomicU64,
    /// Writer threads that have not ended yet.
    pub writers_running: AtomicU64,
}

/// A node's transport over TCP. Each peer has a bounded queue drained by
/// its own writer thread, which connects on the first message, writes one
/// frame per message, and after a failure reconnects with capped
/// exponential backoff. Messages are delivered in order on one connection,
/// or lost: a full queue, a peer that is down, a failed write all drop
/// messages, and Raft retries.
///
/// A reply is not special: the driver hands it to [`Transport::send`] like
/// any message, and it travels to the requester's listener on this node's
/// own connection to it. Nothing ever comes back on a connection this
/// transport opened, and the `inbox` argument of `send` is not used.
///
/// Dropping the transport ends its writer threads: it closes their
/// connections (which unblocks a write in progress) and waits for them,
/// at most about the connect timeout.
pub struct TcpTransport {
    me: NodeId,
    peers: BTreeMap<NodeId, Peer>,
    stats: Arc<TcpStats>,
}

/// One peer's queue and writer.
struct Peer {
    /// `None` once the transport is being dropped (which ends the writer's
    /// `recv`).
    queue: Option<SyncSender<RaftMessage>>,
    shared: Arc<WriterShared>,
    thread: Option<JoinHandle<()>>,
}

/// What a writer shares with the transport, for shutdown.
#[derive(Default)]
struct WriterShared {
    /// A clone of the writer's current connection. Under this lock the
    /// transport sets `stop` and shuts the connection down, and the writer
    /// checks `stop` before it publishes a new connection, so no connection
    /// escapes the shutdown.
    connection: Mutex<Option<TcpStream>>,
    stop: AtomicBool,
}

impl TcpTransport {
    /// The transport of node `me`, which reaches peer `p` at `peers[p]` (a
    /// `host:port` resolved at each connection attempt; an entry for `me`
    /// is ignored). Starts one writer thread per peer; connects to no one
    /// until there is something to send.
    pub fn new(me: NodeId, peers: BTreeMap<NodeId, String>, options: TcpOptions) -> Self {
        let stats = Arc::new(TcpStats::default());
        let peers = peers
            .into_iter()
            .filter(|(id, _)| *id != me)
            .map(|(id, address)| {
                let (queue, messages) = mpsc::sync_channel(options.queue_capacity);
                let shared = Arc::new(WriterShared::default());
                let writer = Writer {
                    me,
                    peer: id,
                    address,
                    options: options.clone(),
                    shared: Arc::clone(&shared),
                    stats: Arc::clone(&stats),
                };
                stats.writers_running.fetch_add(1, Ordering::SeqCst);
                let thread = std::thread::Builder::new()
                    .name(format!("tcp-{me}-to-{id}"))
                    .spawn(move || writer.run(messages))
                    .expect("the writer thread starts");
                (id, Peer { queue: Some(queue), shared, thread: Some(thread) })
            })
            .collect();
        TcpTransport { me, peers, stats }
    }

    /// The counts of what this transport did, live.
    pub fn stats(&self) -> Arc<TcpStats> {
        Arc::clone(&self.stats)
    }
}

impl Transport for TcpTransport {
    /// Queues `message` for peer `to` and returns at once; drops it if the
    /// queue is full or `to` is not a peer.
    fn send(&mut self, to: NodeId, message: RaftMessage, _inbox: &Inbox) {
        let Some(queue) = self.peers.get(&to).and_then(|peer| peer.queue.as_ref()) else {
            self.stats.dropped_unknown_peer.fetch_add(1, Ordering::SeqCst);
            return;
        };
        match queue.try_send(message) {
            Ok(()) => self.stats.queued.fetch_add(1, Ordering::SeqCst),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.dropped_queue_full.fetch_add(1, Ordering::SeqCst)
            }
        };
    }
}

impl Drop for TcpTransport {
    fn drop(&mut self) {
        for peer in self.peers.values_mut() {
            {
                let connection = peer.shared.connection.lock().unwrap_or_else(|e| e.into_inner());
                peer.shared.stop.store(true, Ordering::SeqCst);
                if let Some(connection) = connection.as_ref() {
                    let _ = connection.shutdown(Shutdown::Both);
                }
            }
            peer.queue = None;
        }
        for (id, peer) in &mut self.peers {
            if let Some(thread) = peer.thread.take() {
                if thread.join().is_err() {
                    eprintln!("tcp transport {}: the writer to {id} panicked", self.me);
                }
            }
        }
    }
}

/// The thread that drains one peer's queue onto its connection.
struct Writer {
    me: NodeId,
    peer: NodeId,
    address: String,
    options: TcpOptions,
    shared: Arc<WriterShared>,
    stats: Arc<TcpStats>,
}

impl Writer {
    /// Writes each queued message, until the transport is dropped.
    fn run(self, messages: Receiver<RaftMessage>) {
        let mut connection: Option<TcpStream> = None;
        let mut backoff = self.options.min_backoff;
        let mut next_attempt = Instant::now();
        let mut failures = 0u64;
        while let Ok(message) = messages.recv() {
            if self.shared.stop.load(Ordering::SeqCst) {
                break;
            }
            if connection.is_none() {
                if Instant::now() < next_attempt {
                    self.stats.dropped_unsent.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                match self.connect() {
                    Ok(stream) => {
                        if !self.publish(Some(&stream)) {
                            break;
                        }
                        if failures > 0 {
                            eprintln!(
                                "tcp transport {}: connected to {} after {failures} failures",
                                self.me, self.peer
                            );
                        }
                        self.stats.connections.fetch_add(1, Ordering::SeqCst);
                        connection = Some(stream);
                        backoff = self.options.min_backoff;
                        failures = 0;
                    }
                    Err(e) => {
                        if failures == 0 {
                            eprintln!(
                                "tcp transport {}: cannot connect to {} at {}: {e}; retrying with backoff",
                                self.me, self.peer, self.address
                            );
                        }
                        failures += 1;
                        next_attempt = Instant::now() + backoff;
                        backoff = (backoff * 2).min(self.options.max_backoff);
                        self.stats.dropped_unsent.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                }
            }
            // Encoded only once there is somewhere to write it.
            let frame = match encode_frame(self.me, &message, self.options.max_frame_len) {
                Ok(frame) => frame,
                Err(e) => {
                    eprintln!("tcp transport {}: a {} to {} is dropped: {e}", self.me, message.kind(), self.peer);
                    self.stats.dropped_unsent.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
            };
            let stream = connection.as_mut().expect("connected above");
            match stream.write_all(&frame) {
                Ok(()) => {
                    self.stats.written.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => {
                    if !self.shared.stop.load(Ordering::SeqCst) {
                        eprintln!("tcp transport {}: writing to {} failed: {e}; reconnecting", self.me, self.peer);
                    }
                    self.stats.dropped_unsent.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.shutdown(Shutdown::Both);
                    connection = None;
                    self.publish(None);
                    // The next message tries to reconnect at once; the
                    // backoff grows only if that fails.
                    next_attempt = Instant::now();
                }
            }
        }
        self.publish(None);
        self.stats.writers_running.fetch_sub(1, Ordering::SeqCst);
    }

    /// A new connection to the peer, set up for writing frames.
    fn connect(&self) -> io::Result<TcpStream> {
        let mut last_error = io::Error::new(io::ErrorKind::NotFound, "the address resolves to nothing");
        for address in self.address.to_socket_addrs()? {
            match TcpStream::connect_timeout(&address, self.options.connect_timeout) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    stream.set_write_timeout(Some(self.options.write_timeout))?;
                    return Ok(stream);
                }
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// Shares (a clone of) the current connection with the transport, for
    /// shutdown. False if the transport is stopping (the new connection is
    /// then closed, unused).
    fn publish(&self, stream: Option<&TcpStream>) -> bool {
        let mut shared = self.shared.connection.lock().unwrap_or_else(|e| e.into_inner());
        if self.shared.stop.load(Ordering::SeqCst) {
            if let Some(stream) = stream {
                let _ = stream.shutdown(Shutdown::Both);
            }
            *shared = None;
            return false;
        }
        *shared = stream.and_then(|s| s.try_clone().ok());
        true
    }
}
