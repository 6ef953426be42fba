//! The simulated network's own tests: the lab's labrpc tests (§1.3 of
//! `shared/research/raft-test-plan.md`), with their constants.

use raftcheck_impl::net::{Network, Reply, RpcError, Server};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A server with the lab's "junk" handlers:
/// * `Junk.Double` (u64 → u64): twice the argument;
/// * `Junk.Greet` (String → String): `"handler-" + arg`;
/// * `Junk.Length` (String → u64): the length, counted in `seen`;
/// * `Junk.Big` (u64 → String): a 107-character reply;
/// * `Junk.Stall` (u64 → u64): answers only after 20 s, from another thread.
fn junk_server(seen: Arc<AtomicU64>) -> Server {
    let mut server = Server::new();
    server.add_method("Junk.Double", |bytes, reply: Reply| {
        let x: u64 = postcard::from_bytes(&bytes).unwrap();
        reply.send(postcard::to_stdvec(&(x * 2)).unwrap());
    });
    server.add_method("Junk.Greet", |bytes, reply: Reply| {
        let s: String = postcard::from_bytes(&bytes).unwrap();
        reply.send(postcard::to_stdvec(&format!("handler-{s}")).unwrap());
    });
    server.add_method("Junk.Length", move |bytes, reply: Reply| {
        seen.fetch_add(1, Ordering::SeqCst);
        let s: String = postcard::from_bytes(&bytes).unwrap();
        reply.send(postcard::to_stdvec(&(s.len() as u64)).unwrap());
    });
    server.add_method("Junk.Big", |_bytes, reply: Reply| {
        reply.send(postcard::to_stdvec(&"y".repeat(107)).unwrap());
    });
    server.add_method("Junk.Stall", |_bytes, reply: Reply| {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(20));
            reply.send(postcard::to_stdvec(&0u64).unwrap());
        });
    });
    server
}

/// A network with one junk server, `server99`, and a function making ends
/// wired and enabled to it.
fn setup() -> (Network, Arc<AtomicU64>) {
    let net = Network::new(7);
    let seen = Arc::new(AtomicU64::new(0));
    net.add_server("server99", junk_server(Arc::clone(&seen)));
    (net, seen)
}

fn wired_end(net: &Network, name: &str) -> raftcheck_impl::net::ClientEnd {
    let end = net.make_end(name);
    net.connect(name, "server99");
    net.enable(name, true);
    end
}

#[test]
fn basic() {
    let (net, _) = setup();
    let end = wired_end(&net, "end1-99");
    assert_eq!(end.call::<_, String>("Junk.Greet", &"hello".to_string()), Ok("handler-hello".to_string()));
    assert_eq!(end.call::<_, u64>("Junk.Double", &111u64), Ok(222));
}

#[test]
fn types() {
    let (net, _) = setup();
    let end = wired_end(&net, "end1-99");
    // Different argument and reply types on one server and one end.
    assert_eq!(end.call::<_, u64>("Junk.Length", &"abc".to_string()), Ok(3));
    assert_eq!(end.call::<_, String>("Junk.Big", &0u64).map(|s| s.len()), Ok(107));
    assert!(matches!(end.call::<_, u64>("Junk.Nothing", &0u64), Err(RpcError::NoSuchMethod(_))));
}

#[test]
fn disconnect() {
    let (net, _) = setup();
    let end = net.make_end("end1-99");
    net.connect("end1-99", "server99");
    assert_eq!(end.call::<_, u64>("Junk.Double", &1u64), Err(RpcError::Disconnected), "a new end starts disabled");
    net.enable("end1-99", true);
    assert_eq!(end.call::<_, u64>("Junk.Double", &1u64), Ok(2));
}

#[test]
fn counts() {
    let (net, _) = setup();
    let end = wired_end(&net, "end1-99");
    for i in 0..17u64 {
        assert_eq!(end.call::<_, u64>("Junk.Double", &i), Ok(2 * i));
    }
    assert_eq!(net.count("server99"), 17);
}

#[test]
fn bytes() {
    let (net, _) = setup();
    let end = wired_end(&net, "end1-99");
    let arg = "x".repeat(284);
    let before = net.total_bytes();
    for _ in 0..17 {
        assert_eq!(end.call::<_, u64>("Junk.Length", &arg), Ok(284));
    }
    let sent = net.total_bytes() - before;
    assert!((4828..=6000).contains(&sent), "17 calls with a 284-byte argument counted {sent} bytes");
    let before = net.total_bytes();
    for _ in 0..17 {
        assert_eq!(end.call::<_, String>("Junk.Big", &0u64).map(|s| s.len()), Ok(107));
    }
    let received = net.total_bytes() - before;
    assert!((1800..=2500).contains(&received), "17 calls with 107-byte replies counted {received} bytes");
}

#[test]
fn concurrent_many() {
    let (net, _) = setup();
    let threads: Vec<_> = (0..20)
        .map(|t| {
            let end = wired_end(&net, &format!("end{t}-99"));
            std::thread::spawn(move || {
                (0..10u64).filter(|&i| end.call::<_, u64>("Junk.Double", &i) == Ok(2 * i)).count()
            })
        })
        .collect();
    let ok: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(ok, 200);
    assert_eq!(net.count("server99"), 200);
}

#[test]
fn unreliable() {
    let (net, _) = setup();
    net.set_reliable(false);
    let threads: Vec<_> = (0..300)
        .map(|t| {
            let end = wired_end(&net, &format!("end{t}-99"));
            std::thread::spawn(move || end.call::<_, u64>("Junk.Double", &3u64) == Ok(6))
        })
        .collect();
    let ok = threads.into_iter().map(|t| t.join().unwrap()).filter(|&ok| ok).count();
    assert!(ok > 0 && ok < 300, "{ok} of 300 unreliable calls succeeded: expected some, not all");
}

#[test]
fn concurrent_one() {
    let (net, seen) = setup();
    let end = Arc::new(wired_end(&net, "end1-99"));
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let end = Arc::clone(&end);
            std::thread::spawn(move || end.call::<_, u64>("Junk.Length", &"z".repeat(i)) == Ok(i as u64))
        })
        .collect();
    assert!(threads.into_iter().all(|t| t.join().unwrap()));
    assert_eq!(seen.load(Ordering::SeqCst), 20);
    assert_eq!(net.count("server99"), 20);
}

/// Calls started on a disabled end must not hold up a later call once the
/// end is enabled.
#[test]
fn regression1() {
    let (net, seen) = setup();
    let end = Arc::new(net.make_end("end1-99"));
    net.connect("end1-99", "server99");
    let done = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let (end, done) = (Arc::clone(&end), Arc::clone(&done));
            std::thread::spawn(move || {
                let result = end.call::<_, u64>("Junk.Length", &"a".to_string());
                done.lock().unwrap().push(result);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    net.enable("end1-99", true);
    let started = Instant::now();
    assert_eq!(end.call::<_, u64>("Junk.Length", &"b".to_string()), Ok(1));
    let took = started.elapsed();
    assert!(took < Duration::from_millis(30), "a call after enabling took {took:?}, held up by earlier calls");
    for t in threads {
        t.join().unwrap();
    }
    let results = done.lock().unwrap().clone();
    assert!(results.iter().all(|r| *r == Err(RpcError::Disconnected)), "{results:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 1, "only the call made while enabled reached the handler");
    assert_eq!(net.count("server99"), 1);
}

/// A call whose handler is stuck fails once its server is deleted.
#[test]
fn killed() {
    let (net, _) = setup();
    let end = wired_end(&net, "end1-99");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(end.call::<_, u64>("Junk.Stall", &99u64)).unwrap());
    std::thread::sleep(Duration::from_secs(1));
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "the stalled call returned early");
    net.delete_server("server99");
    let outcome =
        rx.recv_timeout(Duration::from_millis(100)).expect("the call must fail within 100 ms of the deletion");
    assert_eq!(outcome, Err(RpcError::ServerGone));
}

/// A disconnected end fails its calls after up to 7 s with long delays.
#[test]
fn long_delays_hold_failures_back() {
    let net = Network::new(11);
    net.set_long_delays(true);
    let end = net.make_end("lonely");
    let started = Instant::now();
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let end = net.make_end("lonely");
            std::thread::spawn(move || end.call::<_, u64>("Junk.Double", &1u64))
        })
        .collect();
    drop(end);
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(results.iter().all(|r| *r == Err(RpcError::Disconnected)));
    let took = started.elapsed();
    assert!(took > Duration::from_millis(500), "20 long-delayed failures all came within {took:?}");
    assert!(took < Duration::from_secs(30), "a long delay is at most 7 s");
}

/// Long reordering holds two replies in three back by 200-2199 ms, and
/// loses none.
#[test]
fn long_reordering_delays_replies() {
    let (net, _) = setup();
    net.set_long_reordering(true);
    let threads: Vec<_> = (0..30)
        .map(|t| {
            let end = wired_end(&net, &format!("end{t}-99"));
            std::thread::spawn(move || {
                let started = Instant::now();
                let result = end.call::<_, u64>("Junk.Double", &t);
                (result == Ok(2 * t), started.elapsed())
            })
        })
        .collect();
    let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(outcomes.iter().all(|(ok, _)| *ok), "long reordering loses nothing");
    let held = outcomes.iter().filter(|(_, took)| *took >= Duration::from_millis(200)).count();
    assert!((5..30).contains(&held), "{held} of 30 replies were held back: expected about two in three");
}
