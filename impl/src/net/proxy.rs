//! A TCP forwarding [`Proxy`] that partitions or slows one link, for the
//! fault-injection runner: with no root and no network namespace, the
//! runner gives node `a`'s transport the address of a proxy instead of
//! node `b`'s listener, one proxy per directed pair `a -> b`, and sets each
//! proxy's [`LinkMode`] to cut or delay the traffic on that link.
//!
//! # Design
//!
//! One thread accepts connections (the listener is polled every 20 ms, so
//! [`Proxy::stop`] is prompt). For each accepted connection, the proxy
//! connects to the target and starts four threads: in each direction a
//! reader that reads chunks and queues them stamped with the time they
//! were read and the delay of the mode at that time, and a writer that
//! holds each chunk until its delay has passed and writes it. One queue
//! per direction keeps a connection's bytes in order, also across a change
//! of mode: a chunk read after going back to [`LinkMode::Up`] still waits
//! behind the held ones read before.
//!
//! Cutting a connection (going [`LinkMode::Down`], [`Proxy::stop`], an I/O
//! error on either side) marks it cut and shuts both of its sockets down
//! in both directions: blocked reads and writes return at once, writers
//! drop the chunks they hold, and every thread of the connection ends. A
//! clean end of stream on one side is passed on to the other side (a
//! half-close), after the chunks held for it.
//!
//! # Guarantees
//!
//! - After [`Proxy::set_mode`]`(Down)` returns, no chunk is written any
//!   more, except one whose write had already begun, and every connection
//!   is closed (its client reads an end of stream or an error); a
//!   connection accepted while down is closed at once without connecting
//!   to the target.
//! - A chunk read while [`LinkMode::Slow`] is written no earlier than its
//!   delay after it was read.
//! - The proxy never panics on an I/O error: a failed connection is closed
//!   (the transport on the other side reconnects), and a target that
//!   cannot be reached closes the client's connection.
//! - [`Proxy::stop`] (or dropping the proxy) returns once every thread of
//!   the proxy has ended and every connection is closed.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the accepting thread looks for a stop while nobody connects,
/// and how often a writer holding a chunk looks for a cut.
const POLL: Duration = Duration::from_millis(20);
/// How long connecting to one address of the target may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The most bytes one read takes.
const CHUNK_LEN: usize = 16 * 1024;
/// The most chunks one direction of a connection holds; beyond, the reader
/// waits (so a slow link pushes back on its sender instead of buffering
/// without bound).
const QUEUE_LEN: usize = 256;

/// What a [`Proxy`] does with the traffic of its link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkMode {
    /// Every byte is forwarded as soon as it is read.
    Up,
    /// Nothing passes: every connection is closed, and every new one is
    /// closed as soon as it is accepted.
    Down,
    /// Every chunk is forwarded `delay` after it was read, in order.
    Slow {
        /// How long each chunk is held.
        delay: Duration,
    },
}

/// A copy of the counts of what a [`Proxy`] did since it started. Each
/// count only grows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections accepted on the proxy's listener, including the ones
    /// refused or that failed.
    pub accepted: u64,
    /// Connections closed as soon as accepted because the link was down.
    pub refused: u64,
    /// Connections closed because the target could not be reached.
    pub target_failed: u64,
    /// Bytes written to the target (client to target).
    pub bytes_to_target: u64,
    /// Bytes written back to clients (target to client).
    pub bytes_to_client: u64,
}

/// Forwards the connections accepted on a listener to a target address,
/// according to its [`LinkMode`] (initially [`LinkMode::Up`]). See the
/// [module documentation](self) for the design and its guarantees.
pub struct Proxy {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    accepter: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Forwards every connection accepted on `listener` to `target` (any
    /// address [`ToSocketAddrs`] resolves, looked up for each connection),
    /// starting [`LinkMode::Up`]. Fails only if the listener cannot be set
    /// up or the accepting thread cannot start.
    pub fn start(listener: TcpListener, target: String) -> io::Result<Proxy> {
        let local_addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            target,
            stop: AtomicBool::new(false),
            state: Mutex::new(State { mode: LinkMode::Up, links: Vec::new() }),
            running: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            target_failed: AtomicU64::new(0),
            bytes_to_target: AtomicU64::new(0),
            bytes_to_client: AtomicU64::new(0),
        });
        let accepter = {
            let shared_ = Arc::clone(&shared);
            spawn(&shared, format!("proxy-accept-{local_addr}"), move || accept_loop(&shared_, listener))?
        };
        Ok(Proxy { local_addr, shared, accepter: Some(accepter) })
    }

    /// The address clients connect to (with the port the system picked, if
    /// the listener was bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Sets the link's mode, for the chunks read from now on. Going
    /// [`LinkMode::Down`] cuts every open connection before returning
    /// (both halves shut down, held chunks dropped). It never waits on I/O
    /// or on a thread, only on a short internal lock.
    pub fn set_mode(&self, mode: LinkMode) {
        let mut state = self.shared.lock();
        state.mode = mode;
        if mode == LinkMode::Down {
            for link in &state.links {
                link.sockets.cut();
            }
        }
        state.links.retain(|link| !link.finished());
    }

    /// The link's current mode.
    pub fn mode(&self) -> LinkMode {
        self.shared.lock().mode
    }

    /// A copy of the counts of what the proxy did so far.
    pub fn stats(&self) -> ProxyStats {
        let shared = &self.shared;
        ProxyStats {
            accepted: shared.accepted.load(Ordering::SeqCst),
            refused: shared.refused.load(Ordering::SeqCst),
            target_failed: shared.target_failed.load(Ordering::SeqCst),
            bytes_to_target: shared.bytes_to_target.load(Ordering::SeqCst),
            bytes_to_client: shared.bytes_to_client.load(Ordering::SeqCst),
        }
    }

    /// Stops accepting (the listener is closed), closes every connection,
    /// and returns once every thread of the proxy has ended. Calling it
    /// again does nothing; dropping the proxy calls it.
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // The accepting thread first, so that no link is added after the
        // ones below are cut.
        if let Some(accepter) = self.accepter.take() {
            let _ = accepter.join();
        }
        let links = std::mem::take(&mut self.shared.lock().links);
        for link in &links {
            link.sockets.cut();
        }
        for link in links {
            for thread in link.threads {
                let _ = thread.join();
            }
        }
    }

    /// How many threads of the proxy are running.
    #[cfg(test)]
    fn running_threads(&self) -> usize {
        self.shared.running.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the proxy's threads share.
struct Shared {
    target: String,
    stop: AtomicBool,
    state: Mutex<State>,
    /// Threads started and not ended yet.
    running: AtomicUsize,
    accepted: AtomicU64,
    refused: AtomicU64,
    target_failed: AtomicU64,
    bytes_to_target: AtomicU64,
    bytes_to_client: AtomicU64,
}

/// The mode and the connections, under one lock: a connection is added
/// only while the link is not down, and going down cuts every connection
/// added before.
struct State {
    mode: LinkMode,
    links: Vec<Link>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bytes_written(&self, direction: Direction) -> &AtomicU64 {
        match direction {
            Direction::ToTarget => &self.bytes_to_target,
            Direction::ToClient => &self.bytes_to_client,
        }
    }
}

/// One forwarded connection: its sockets and its threads.
struct Link {
    sockets: Arc<Sockets>,
    threads: Vec<JoinHandle<()>>,
}

impl Link {
    fn finished(&self) -> bool {
        self.threads.iter().all(|thread| thread.is_finished())
    }
}

/// The two sockets of a connection, and whether it was cut.
struct Sockets {
    client: TcpStream,
    target: TcpStream,
    cut: AtomicBool,
}

impl Sockets {
    /// Closes the connection: held chunks are dropped and blocked reads
    /// and writes return.
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.target.shutdown(Shutdown::Both);
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    /// The socket read and the socket written in `direction`.
    fn ends(&self, direction: Direction) -> (&TcpStream, &TcpStream) {
        match direction {
            Direction::ToTarget => (&self.client, &self.target),
            Direction::ToClient => (&self.target, &self.client),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Direction {
    ToTarget,
    ToClient,
}

/// Bytes read, and when they may be written.
struct Chunk {
    bytes: Vec<u8>,
    read_at: Instant,
    delay: Duration,
}

/// Starts a thread counted in [`Shared::running`] until it ends.
fn spawn(shared: &Arc<Shared>, name: String, body: impl FnOnce() + Send + 'static) -> io::Result<JoinHandle<()>> {
    /// Counts the thread as ended when dropped, even on a panic.
    struct Running(Arc<Shared>);
    impl Drop for Running {
        fn drop(&mut self) {
            self.0.running.fetch_sub(1, Ordering::SeqCst);
        }
    }
    shared.running.fetch_add(1, Ordering::SeqCst);
    let running = Running(Arc::clone(shared));
    std::thread::Builder::new().name(name).spawn(move || {
        let _running = running;
        body();
    })
    // If the thread did not start, its closure (and `running`) is dropped.
}

fn accept_loop(shared: &Arc<Shared>, listener: TcpListener) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, peer)) => open(shared, client, peer),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) => {
                eprintln!("proxy to {}: accepting a connection failed: {e}", shared.target);
                std::thread::sleep(POLL);
            }
        }
    }
}

/// Forwards a connection just accepted, or closes it.
fn open(shared: &Arc<Shared>, client: TcpStream, peer: SocketAddr) {
    shared.accepted.fetch_add(1, Ordering::SeqCst);
    if shared.lock().mode == LinkMode::Down {
        shared.refused.fetch_add(1, Ordering::SeqCst);
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    if client.set_nonblocking(false).is_err() {
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let target = match connect(&shared.target) {
        Ok(target) => target,
        Err(_) => {
            shared.target_failed.fetch_add(1, Ordering::SeqCst);
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    };
    // Frames are small and latency matters more than packet count.
    let _ = client.set_nodelay(true);
    let _ = target.set_nodelay(true);
    let sockets = Arc::new(Sockets { client, target, cut: AtomicBool::new(false) });
    let mut state = shared.lock();
    // The link may have gone down while the target was being connected.
    if state.mode == LinkMode::Down {
        shared.refused.fetch_add(1, Ordering::SeqCst);
        sockets.cut();
        return;
    }
    let mut threads = Vec::new();
    for direction in [Direction::ToTarget, Direction::ToClient] {
        let (chunks, queue) = sync_channel(QUEUE_LEN);
        let reader = {
            let (shared_, sockets_) = (Arc::clone(shared), Arc::clone(&sockets));
            spawn(shared, format!("proxy-{peer}-{direction:?}-read"), move || {
                read_chunks(&shared_, &sockets_, direction, chunks)
            })
        };
        let writer = {
            let (shared_, sockets_) = (Arc::clone(shared), Arc::clone(&sockets));
            spawn(shared, format!("proxy-{peer}-{direction:?}-write"), move || {
                write_chunks(&shared_, &sockets_, direction, queue)
            })
        };
        for thread in [reader, writer] {
            match thread {
                Ok(thread) => threads.push(thread),
                // The threads that did start end on the cut.
                Err(e) => {
                    eprintln!("proxy to {}: the connection from {peer} is closed: {e}", shared.target);
                    sockets.cut();
                }
            }
        }
    }
    state.links.retain(|link| !link.finished());
    state.links.push(Link { sockets, threads });
}

/// Connects to the first address of `target` that answers.
fn connect(target: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{target} resolves to no address"));
    for address in target.to_socket_addrs()? {
        match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Reads chunks in `direction` and queues them for the writer, until the
/// end of stream, an error (which cuts the connection) or a cut.
fn read_chunks(shared: &Shared, sockets: &Sockets, direction: Direction, chunks: SyncSender<Chunk>) {
    let (mut input, _) = sockets.ends(direction);
    let mut buffer = vec![0; CHUNK_LEN];
    loop {
        match input.read(&mut buffer) {
            // The end of stream, or a cut; dropping `chunks` tells the writer.
            Ok(0) => return,
            Ok(n) => {
                let read_at = Instant::now();
                let delay = match shared.lock().mode {
                    LinkMode::Slow { delay } => delay,
                    LinkMode::Up | LinkMode::Down => Duration::ZERO,
                };
                if chunks.send(Chunk { bytes: buffer[..n].to_vec(), read_at, delay }).is_err() {
                    // The writer ended, so did the connection.
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                sockets.cut();
                return;
            }
        }
    }
}

/// Writes each queued chunk in `direction` once its delay has passed; once
/// the reader has ended cleanly and every chunk is written, passes the end
/// of stream on. Ends at once on a cut; a write error cuts the connection.
fn write_chunks(shared: &Shared, sockets: &Sockets, direction: Direction, queue: Receiver<Chunk>) {
    let (_, mut output) = sockets.ends(direction);
    while let Ok(chunk) = queue.recv() {
        if !hold(sockets, &chunk) {
            return;
        }
        if output.write_all(&chunk.bytes).is_err() {
            sockets.cut();
            return;
        }
        shared.bytes_written(direction).fetch_add(chunk.bytes.len() as u64, Ordering::SeqCst);
    }
    if !sockets.is_cut() {
        let _ = output.shutdown(Shutdown::Write);
    }
}

/// Waits until `chunk` may be written: true then, false as soon as the
/// connection is cut.
fn hold(sockets: &Sockets, chunk: &Chunk) -> bool {
    loop {
        if sockets.is_cut() {
            return false;
        }
        let held = chunk.read_at.elapsed();
        if held >= chunk.delay {
            return true;
        }
        std::thread::sleep((chunk.delay - held).min(POLL));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest any test waits for something that should happen.
    const PATIENCE: Duration = Duration::from_secs(10);

    /// A target that echoes every byte back and counts what it received.
    struct Echo {
        address: SocketAddr,
        stop: Arc<AtomicBool>,
        accepted: Arc<AtomicU64>,
        received: Arc<AtomicU64>,
        thread: Option<JoinHandle<()>>,
    }

    impl Echo {
        fn start() -> Echo {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let address = listener.local_addr().unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let accepted = Arc::new(AtomicU64::new(0));
            let received = Arc::new(AtomicU64::new(0));
            let (s, a, r) = (Arc::clone(&stop), Arc::clone(&accepted), Arc::clone(&received));
            let thread = std::thread::spawn(move || {
                let mut echoes = Vec::new();
                while !s.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            a.fetch_add(1, Ordering::SeqCst);
                            let (s, r) = (Arc::clone(&s), Arc::clone(&r));
                            echoes.push(std::thread::spawn(move || echo(stream, &s, &r)));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
                for e in echoes {
                    e.join().unwrap();
                }
            });
            Echo { address, stop, accepted, received, thread: Some(thread) }
        }

        fn target(&self) -> String {
            self.address.to_string()
        }
    }

    fn echo(mut stream: TcpStream, stop: &AtomicBool, received: &AtomicU64) {
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut buffer = [0; 4096];
        while !stop.load(Ordering::SeqCst) {
            match stream.read(&mut buffer) {
                Ok(0) => return,
                Ok(n) => {
                    received.fetch_add(n as u64, Ordering::SeqCst);
                    if stream.write_all(&buffer[..n]).is_err() {
                        return;
                    }
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
    }

    impl Drop for Echo {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
            if let Some(thread) = self.thread.take() {
                thread.join().unwrap();
            }
        }
    }

    fn proxy_to(target: String) -> Proxy {
        Proxy::start(TcpListener::bind("127.0.0.1:0").unwrap(), target).unwrap()
    }

    fn client(proxy: &Proxy) -> TcpStream {
        let stream = TcpStream::connect(proxy.local_addr()).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
    }

    /// Sends `bytes` and reads them back.
    fn round_trip(stream: &mut TcpStream, bytes: &[u8]) {
        stream.write_all(bytes).unwrap();
        let mut back = vec![0; bytes.len()];
        stream.read_exact(&mut back).unwrap();
        assert_eq!(back, bytes);
    }

    /// Asserts that the connection was closed by the other side: a read
    /// ends (an end of stream or an error) rather than timing out.
    fn assert_closed(stream: &mut TcpStream) {
        let mut byte = [0; 1];
        match stream.read(&mut byte) {
            Ok(0) => {}
            Ok(_) => panic!("a byte came through"),
            Err(e) => assert!(
                !matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut),
                "the connection stayed open"
            ),
        }
    }

    fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn up_forwards_both_ways() {
        let echo = Echo::start();
        let proxy = proxy_to(echo.target());
        assert_eq!(proxy.mode(), LinkMode::Up);
        let mut stream = client(&proxy);
        round_trip(&mut stream, b"hello");
        round_trip(&mut stream, b"again");
        wait_for("the counts", || {
            let stats = proxy.stats();
            stats.bytes_to_target == 10 && stats.bytes_to_client == 10
        });
        assert_eq!(proxy.stats().accepted, 1);
        assert_eq!(echo.received.load(Ordering::SeqCst), 10);
    }

    #[test]
    fn down_closes_open_connections_and_refuses_new_ones() {
        let echo = Echo::start();
        let proxy = proxy_to(echo.target());
        let mut open = client(&proxy);
        round_trip(&mut open, b"a");
        proxy.set_mode(LinkMode::Down);
        assert_eq!(proxy.mode(), LinkMode::Down);
        assert_closed(&mut open);
        // A new connection may be accepted, but closes at once.
        if let Ok(mut refused) = TcpStream::connect(proxy.local_addr()) {
            refused.set_read_timeout(Some(PATIENCE)).unwrap();
            let _ = refused.write_all(b"b");
            assert_closed(&mut refused);
        }
        wait_for("the refusal", || proxy.stats().refused == 1);
        assert_eq!(echo.accepted.load(Ordering::SeqCst), 1);
        assert_eq!(echo.received.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn up_again_lets_new_connections_through() {
        let echo = Echo::start();
        let proxy = proxy_to(echo.target());
        proxy.set_mode(LinkMode::Down);
        let mut refused = client(&proxy);
        assert_closed(&mut refused);
        proxy.set_mode(LinkMode::Up);
        let mut stream = client(&proxy);
        round_trip(&mut stream, b"back up");
        assert_eq!(proxy.stats().refused, 1);
    }

    #[test]
    fn slow_delays_by_at_least_the_delay_and_keeps_order() {
        let delay = Duration::from_millis(200);
        let echo = Echo::start();
        let proxy = proxy_to(echo.target());
        proxy.set_mode(LinkMode::Slow { delay });
        let mut stream = client(&proxy);
        let sent: Vec<u8> = (0..=255).collect();
        let start = Instant::now();
        // Separate writes, so that the proxy reads several chunks.
        for piece in sent.chunks(16) {
            stream.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut back = vec![0; sent.len()];
        stream.read_exact(&mut back).unwrap();
        // Held once on the way there and once on the way back.
        assert!(start.elapsed() >= 2 * delay, "echoed in {:?}", start.elapsed());
        assert_eq!(back, sent);

        // Back to Up: a chunk read now waits behind the ones held before.
        stream.write_all(b"held").unwrap();
        proxy.set_mode(LinkMode::Up);
        stream.write_all(b" then fast").unwrap();
        let mut back = vec![0; 14];
        stream.read_exact(&mut back).unwrap();
        assert_eq!(back, b"held then fast");
    }

    #[test]
    fn down_drops_the_chunks_a_slow_link_holds() {
        let echo = Echo::start();
        let proxy = proxy_to(echo.target());
        let mut stream = client(&proxy);
        round_trip(&mut stream, b"a");
        proxy.set_mode(LinkMode::Slow { delay: Duration::from_secs(60) });
        stream.write_all(b"held").unwrap();
        proxy.set_mode(LinkMode::Down);
        assert_closed(&mut stream);
        // Once the connection's threads have ended, nothing more can pass.
        wait_for("the connection's threads to end", || proxy.running_threads() == 1);
        assert_eq!(echo.received.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn stop_with_open_connections_ends_every_thread() {
        let echo = Echo::start();
        let mut proxy = proxy_to(echo.target());
        let mut streams: Vec<TcpStream> = (0..3).map(|_| client(&proxy)).collect();
        for stream in &mut streams {
            round_trip(stream, b"x");
        }
        // One accepting thread, and four per connection.
        assert_eq!(proxy.running_threads(), 1 + 4 * 3);
        // A chunk held for a long time must not hold the stop.
        proxy.set_mode(LinkMode::Slow { delay: Duration::from_secs(60) });
        streams[0].write_all(b"held").unwrap();
        let start = Instant::now();
        proxy.stop();
        assert!(start.elapsed() < PATIENCE, "stopping took {:?}", start.elapsed());
        assert_eq!(proxy.running_threads(), 0);
        for stream in &mut streams {
            assert_closed(stream);
        }
        proxy.stop();
    }

    #[test]
    fn unreachable_target_closes_the_client() {
        // A port that was just free: nothing listens on it.
        let target = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let proxy = proxy_to(target.to_string());
        let mut stream = client(&proxy);
        let _ = stream.write_all(b"lost");
        assert_closed(&mut stream);
        wait_for("the failure", || proxy.stats().target_failed == 1);
        assert_eq!(proxy.stats().bytes_to_target, 0);
    }
}
