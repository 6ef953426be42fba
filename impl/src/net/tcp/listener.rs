//! [`Listener`]: accepts peers' connections and hands every message they
//! carry to the node's [`Inbox`], as a message that needs no reply route
//! (the node's answer leaves through its own transport).

use crate::net::tcp::frame::{read_frame, FrameError, DEFAULT_MAX_FRAME_LEN};
use crate::raft::event::Inbox;
use std::io::{self, BufReader};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the accepting thread looks for a stop while no peer connects.
const ACCEPT_POLL: Duration = Duration::from_millis(20);

/// What a [`Listener`] accepts.
#[derive(Clone, Debug)]
pub struct ListenerOptions {
    /// The cluster's size: a frame from a sender id of at least this is
    /// refused (the core indexes its peers by id).
    pub cluster_size: usize,
    /// A frame whose length field is over this is refused.
    pub max_frame_len: usize,
}

impl ListenerOptions {
    /// Frames of up to [`DEFAULT_MAX_FRAME_LEN`] from the nodes of a
    /// cluster of `cluster_size`.
    pub fn new(cluster_size: usize) -> Self {
        ListenerOptions { cluster_size, max_frame_len: DEFAULT_MAX_FRAME_LEN }
    }
}

/// Counts of what a [`Listener`] did, live. Each counter only grows,
/// except `connections_open`.
#[derive(Debug, Default)]
pub struct ListenerStats {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections whose reader has not ended yet.
    pub connections_open: AtomicU64,
    /// Messages handed to the inbox.
    pub delivered: AtomicU64,
    /// Frames refused (too long, another version, undecodable, truncated,
    /// from a sender outside the cluster), each of which closed its
    /// connection.
    pub refused: AtomicU64,
}

/// A node's listener. One thread accepts connections, one thread per
/// connection reads its frames in order and delivers each message to the
/// inbox. A malformed frame is logged and dropped and its connection
/// closed; it never panics, and other connections go on.
///
/// [`Listener::stop`], or dropping the listener, ends every one of its
/// threads and closes every connection before it returns. Stop it with its
/// node: once the node is gone, each connection is closed at its next frame
/// (the message has nowhere to go), so peers would only reconnect in vain.
///
/// A connection that goes silent without being closed (a peer's machine
/// lost, a partition) keeps its reader until the listener stops: there is
/// no idle timeout, since a healthy peer may have nothing to send for long.
/// While the listener waits for connections it checks for a stop every
/// 20 ms.
pub struct Listener {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepter: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<Connection>>>,
    stats: Arc<ListenerStats>,
}

/// One accepted connection: a handle to shut it down, and its reader.
struct Connection {
    stream: TcpStream,
    reader: JoinHandle<()>,
}

impl Listener {
    /// Binds `address` and serves it (see [`Listener::serve`]).
    pub fn bind(address: impl ToSocketAddrs, inbox: Inbox, options: ListenerOptions) -> io::Result<Listener> {
        Listener::serve(TcpListener::bind(address)?, inbox, options)
    }

    /// Serves a bound `listener`, delivering to `inbox`. Binding first and
    /// serving later lets a cluster learn every node's address (a port the
    /// system picked) before any node starts: a peer that connects in
    /// between waits in the listen backlog.
    pub fn serve(listener: TcpListener, inbox: Inbox, options: ListenerOptions) -> io::Result<Listener> {
        let local_addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let stats = Arc::new(ListenerStats::default());
        let accepter = Accepter {
            listener,
            inbox,
            options,
            stop: Arc::clone(&stop),
            connections: Arc::clone(&connections),
            stats: Arc::clone(&stats),
        };
        let accepter = std::thread::Builder::new()
            .name(format!("tcp-listen-{local_addr}"))
            .spawn(move || accepter.run())
            .expect("the accepting thread starts");
        Ok(Listener { local_addr, stop, accepter: Some(accepter), connections, stats })
    }

    /// The address the listener is bound to (with the port the system
    /// picked, if it was asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The counts of what this listener did, live.
    pub fn stats(&self) -> Arc<ListenerStats> {
        Arc::clone(&self.stats)
    }

    /// Stops accepting, closes every connection, and returns once every
    /// thread of the listener has ended. Calling it again does nothing.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // The accepting thread first, so that no connection is added after
        // the ones below are closed.
        if let Some(accepter) = self.accepter.take() {
            let _ = accepter.join();
        }
        let connections = std::mem::take(&mut *self.connections.lock().unwrap_or_else(|e| e.into_inner()));
        for connection in &connections {
            let _ = connection.stream.shutdown(Shutdown::Both);
        }
        for connection in connections {
            let _ = connection.reader.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The accepting thread.
struct Accepter {
    listener: TcpListener,
    inbox: Inbox,
    options: ListenerOptions,
    stop: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<Connection>>>,
    stats: Arc<ListenerStats>,
}

impl Accepter {
    fn run(self) {
        while !self.stop.load(Ordering::SeqCst) {
            match self.listener.accept() {
                Ok((stream, peer)) => self.start_reader(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
                Err(e) => {
                    eprintln!("tcp listener: accepting a connection failed: {e}");
                    std::thread::sleep(ACCEPT_POLL);
                }
            }
        }
    }

    fn start_reader(&self, stream: TcpStream, peer: SocketAddr) {
        let handle = match stream.set_nonblocking(false).and_then(|()| stream.try_clone()) {
            Ok(handle) => handle,
            Err(e) => {
                eprintln!("tcp listener: the connection from {peer} is dropped: {e}");
                return;
            }
        };
        self.stats.accepted.fetch_add(1, Ordering::SeqCst);
        self.stats.connections_open.fetch_add(1, Ordering::SeqCst);
        let reader = Reader {
            stream,
            peer,
            inbox: self.inbox.clone(),
            options: self.options.clone(),
            stop: Arc::clone(&self.stop),
            stats: Arc::clone(&self.stats),
        };
        let reader = std::thread::Builder::new()
            .name(format!("tcp-read-{peer}"))
            .spawn(move || reader.run())
            .expect("the reading thread starts");
        let mut connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        // Forget the connections that ended.
        connections.retain(|c| !c.reader.is_finished());
        connections.push(Connection { stream: handle, reader });
    }
}

/// The thread that reads one connection.
struct Reader {
    stream: TcpStream,
    peer: SocketAddr,
    inbox: Inbox,
    options: ListenerOptions,
    stop: Arc<AtomicBool>,
    stats: Arc<ListenerStats>,
}

impl Reader {
    /// Delivers each frame's message until the peer closes, a frame is
    /// refused, the node is gone, or the listener stops; then closes the
    /// connection.
    fn run(self) {
        let mut input = BufReader::new(&self.stream);
        loop {
            match read_frame(&mut input, self.options.max_frame_len) {
                Ok(None) => break,
                Ok(Some((from, message))) => {
                    if from >= self.options.cluster_size {
                        eprintln!(
                            "tcp listener: a {} from {} claims to be from node {from}, outside the cluster of {}; \
                             closing the connection",
                            message.kind(),
                            self.peer,
                            self.options.cluster_size
                        );
                        self.stats.refused.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    if !self.inbox.deliver(from, message) {
                        break;
                    }
                    self.stats.delivered.fetch_add(1, Ordering::SeqCst);
                }
                // The connection failed (or the listener shut it down).
                Err(FrameError::Io(e)) => {
                    if !self.stop.load(Ordering::SeqCst) {
                        eprintln!("tcp listener: the connection from {} failed: {e}", self.peer);
                    }
                    break;
                }
                Err(e) => {
                    if !self.stop.load(Ordering::SeqCst) {
                        eprintln!("tcp listener: a frame from {} is dropped: {e}; closing the connection", self.peer);
                        self.stats.refused.fetch_add(1, Ordering::SeqCst);
                    }
                    break;
                }
            }
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        self.stats.connections_open.fetch_sub(1, Ordering::SeqCst);
    }
}
