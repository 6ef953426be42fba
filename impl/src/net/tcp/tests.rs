//! The transport and the listener on real sockets (127.0.0.1, ports the
//! system picks), with a bare inbox in place of a node. Every wait polls
//! for up to 30 s and nothing asserts on speed: a loaded machine only makes
//! these tests slower.

use super::*;
use crate::raft::event::{Event, Inbox};
use crate::raft::{RaftMessage, Transport};
use raftcheck_core::{InstallSnapshot, Message, RequestVote};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);

fn inbox() -> (Inbox, Receiver<Event>) {
    let (sender, events) = mpsc::channel();
    (Inbox { sender }, events)
}

fn vote(term: u64) -> RaftMessage {
    Message::RequestVote(RequestVote { term, last_log_index: 0, last_log_term: 0 })
}

/// The next message delivered, if one comes within [`PATIENCE`].
fn next_message(events: &Receiver<Event>) -> Option<(usize, RaftMessage)> {
    match events.recv_timeout(PATIENCE) {
        Ok(Event::Message { from, message, reply: None }) => Some((from, message)),
        Ok(_) => panic!("the listener delivers only messages, with no reply route"),
        Err(_) => None,
    }
}

fn count(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::SeqCst)
}

/// Polls `done` until it holds or [`PATIENCE`] runs out.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "waited {PATIENCE:?} for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An address nobody listens on (a port the system just gave back).
fn closed_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

fn transport(me: usize, to: usize, address: SocketAddr, options: TcpOptions) -> TcpTransport {
    TcpTransport::new(me, BTreeMap::from([(to, address.to_string())]), options)
}

/// Whether the listener closed `stream` (reads end), within [`PATIENCE`].
fn closed_by_listener(stream: &mut TcpStream) -> bool {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0) | Err(_))
}

#[test]
fn bad_frames_are_dropped_their_connection_closed_and_the_next_connection_works() {
    let (inbox, events) = inbox();
    let mut listener = Listener::bind("127.0.0.1:0", inbox, ListenerOptions::new(3)).unwrap();
    let address = listener.local_addr();
    let good = encode_frame(1, &vote(7), DEFAULT_MAX_FRAME_LEN).unwrap();
    let mut other_version = good.clone();
    other_version[4] = 2;
    let mut garbage = vec![9, 0, 0, 0, WIRE_VERSION];
    garbage.extend([0xff; 8]);
    let outsider = encode_frame(3, &vote(7), DEFAULT_MAX_FRAME_LEN).unwrap();
    let bad_frames: [(&str, Vec<u8>); 5] = [
        ("garbage", garbage),
        ("a length over the limit", u32::MAX.to_le_bytes().to_vec()),
        ("another version", other_version),
        ("a sender outside the cluster", outsider),
        ("a frame cut short", good[..good.len() - 2].to_vec()),
    ];
    for (k, (what, bytes)) in bad_frames.iter().enumerate() {
        let mut stream = TcpStream::connect(address).unwrap();
        stream.write_all(bytes).unwrap();
        if *what == "a frame cut short" {
            stream.shutdown(std::net::Shutdown::Write).unwrap();
        }
        assert!(closed_by_listener(&mut stream), "{what}: the listener closes the connection");
        eventually(what, || count(&listener.stats().refused) == k as u64 + 1);
    }
    // A good frame on a fresh connection is delivered, and it is the first
    // thing delivered at all.
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(&good).unwrap();
    assert_eq!(next_message(&events), Some((1, vote(7))));
    // And so is one from a transport.
    let mut sender = transport(2, 0, address, TcpOptions::default());
    let (unused, _) = self::inbox();
    sender.send(0, vote(8), &unused);
    assert_eq!(next_message(&events), Some((2, vote(8))));
    eventually("the listener to count both deliveries", || count(&listener.stats().delivered) == 2);
    drop(sender);
    drop(stream);
    listener.stop();
    assert_eq!(count(&listener.stats().connections_open), 0, "every reader ended");
    assert!(events.try_recv().is_err(), "nothing else was delivered");
}

#[test]
fn send_to_a_peer_that_is_down_returns_at_once_and_the_message_is_dropped() {
    let options = TcpOptions { queue_capacity: 4, ..TcpOptions::default() };
    let mut sender = transport(0, 1, closed_address(), options);
    let stats = sender.stats();
    let (unused, _) = inbox();
    // Far more than the queue holds: if `send` blocked, this would hang.
    for term in 0..1000 {
        sender.send(1, vote(term), &unused);
    }
    sender.send(2, vote(1), &unused);
    assert_eq!(count(&stats.dropped_unknown_peer), 1, "node 2 is not a peer");
    eventually("every queued message to be handled", || {
        count(&stats.dropped_unsent) == count(&stats.queued)
            && count(&stats.queued) + count(&stats.dropped_queue_full) == 1000
    });
    assert_eq!((count(&stats.written), count(&stats.connections)), (0, 0));
    drop(sender);
    assert_eq!(count(&stats.writers_running), 0, "dropping the transport ended its writer");
}

#[test]
fn a_peer_that_stops_reading_does_not_block_send_and_drop_ends_the_writer() {
    // A listener that never accepts: the kernel completes the connection,
    // then its buffers fill and the writer's write blocks.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let options = TcpOptions { queue_capacity: 4, write_timeout: Duration::from_secs(600), ..TcpOptions::default() };
    let mut sender = transport(0, 1, silent.local_addr().unwrap(), options);
    let stats = sender.stats();
    let (unused, _) = inbox();
    let big = Message::InstallSnapshot(InstallSnapshot {
        term: 1,
        last_included_index: 1,
        last_included_term: 1,
        data: vec![0; 1 << 20],
    });
    // Far more than the socket buffers hold: the write blocks, the queue
    // fills behind it, and `send` drops instead of waiting.
    eventually("the queue to fill behind a blocked write", || {
        sender.send(1, big.clone(), &unused);
        count(&stats.dropped_queue_full) > 0
    });
    // The write is blocked (its timeout is 10 minutes); dropping the
    // transport must still end the writer.
    drop(sender);
    assert_eq!(count(&stats.writers_running), 0);
    drop(silent);
}

#[test]
fn a_peer_that_comes_up_later_receives_later_messages() {
    let address = closed_address();
    let options = TcpOptions {
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(200),
        ..TcpOptions::default()
    };
    let mut sender = transport(0, 1, address, options);
    let stats = sender.stats();
    let (unused, _) = inbox();
    for term in 1..=5 {
        sender.send(1, vote(term), &unused);
    }
    eventually("the messages to the down peer to be dropped", || count(&stats.dropped_unsent) == 5);
    // The peer comes up on the same address; the sender keeps sending, as
    // Raft does, until something gets through.
    let (inbox, events) = inbox();
    let mut listener = Listener::bind(address, inbox, ListenerOptions::new(2)).unwrap();
    let start = Instant::now();
    let mut term = 5;
    let received = loop {
        assert!(start.elapsed() < PATIENCE, "no message reached the peer that came up");
        term += 1;
        sender.send(1, vote(term), &unused);
        if let Ok(Event::Message { from, message, .. }) = events.recv_timeout(Duration::from_millis(50)) {
            break (from, message);
        }
    };
    assert_eq!(received.0, 0);
    assert!(received.1.term() > 5, "only messages sent after the peer was down arrive: {:?}", received.1);
    assert!(count(&stats.connections) >= 1);
    drop(sender);
    listener.stop();
    assert_eq!(count(&stats.writers_running), 0);
    assert_eq!(count(&listener.stats().connections_open), 0);
}
