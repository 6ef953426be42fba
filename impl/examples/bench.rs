//! Throughput and latency of the runtime on the simulated network, reliable
//! and without delays (so the figures measure the runtime, not the network's
//! sleeps):
//!
//! ```text
//! cargo run --release -p raftcheck-impl --example bench -- raft [--seconds S] [--proposers 1,8,64]
//! cargo run --release -p raftcheck-impl --example bench -- kv   [--seconds S] [--clerks 1,8,64]
//! ```
//!
//! `raft`: 3 nodes; each proposer calls `start` on the leader and waits
//! until the leader's service sees the command applied, then proposes the
//! next (closed loop). The service snapshots every 1000 applied entries, as
//! a real service bounds its log. With one proposer this is the commit
//! latency of sequential `start` + wait-for-apply.
//!
//! `kv`: 3 key/value servers (snapshots past 1000 bytes of Raft state, as
//! in the 3B tests); each clerk appends to its own key in a closed loop.
//!
//! `rpc`: the lab network's own benchmark: 100,000 sequential calls on one
//! end to a handler that answers at once (the lab's reference: about 22 µs a
//! call in 2016).
//!
//! Prints, per concurrency level: operations, operations per second, and
//! the latency percentiles p50 / p99 / max in microseconds.
//!
//! `--trace FILE` records the cluster's event trace (one file, the last
//! level run), to measure the cost of tracing and to make large real traces
//! for the validator; `--trace-format etcd` writes it in etcd-raft's schema.

use clap::{Parser, Subcommand};
use raftcheck_core::Config;
use raftcheck_impl::kv::{Clerk, KvServer, KvServerOptions};
use raftcheck_impl::net::{ClientEnd, Network, Server};
use raftcheck_impl::raft::lab_transport::{add_raft_methods, LabTransport};
use raftcheck_impl::raft::{ApplyMsg, Options, Raft, StartError};
use raftcheck_impl::storage::MemoryPersister;
use raftcheck_traces::{Header, TraceFormat, TraceWriter};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NODES: usize = 3;

/// Throughput and latency of the runtime on the simulated network.
#[derive(Parser, Debug)]
#[command(name = "bench")]
struct Args {
    #[command(subcommand)]
    workload: Workload,
}

#[derive(Subcommand, Debug)]
enum Workload {
    /// 3 Raft nodes; each proposer proposes and waits for the apply.
    Raft {
        /// Concurrency levels to run, one after the other.
        #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
        proposers: Vec<usize>,
        #[command(flatten)]
        common: Common,
    },
    /// 3 key/value servers; each clerk appends to its own key.
    Kv {
        /// Concurrency levels to run, one after the other.
        #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
        clerks: Vec<usize>,
        #[command(flatten)]
        common: Common,
    },
    /// The lab network's own benchmark: 100,000 sequential calls.
    Rpc,
}

/// Options of the `raft` and `kv` workloads.
#[derive(clap::Args, Debug)]
struct Common {
    /// How long each concurrency level runs, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Record the cluster's event trace in this file (the last level run).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// The trace's format: `native` (raftcheck's own, replayable through
    /// the core) or `etcd` (etcd-raft's TracingEvent schema, checked
    /// against the Raft spec).
    #[arg(long, default_value = "native")]
    trace_format: TraceFormat,
}

impl Common {
    fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.seconds)
    }

    /// A fresh trace writer, if `--trace` was given.
    fn trace(&self) -> Option<Arc<TraceWriter>> {
        self.trace.as_ref().map(|path| {
            let config = Config::new(NODES).expect("a 3-node cluster");
            let header = Header::for_config(&config);
            Arc::new(TraceWriter::create_as(path, &header, self.trace_format).expect("the trace file can be made"))
        })
    }
}

fn main() {
    match Args::parse().workload {
        Workload::Raft { proposers, common } => {
            for k in proposers {
                let trace = common.trace();
                report(&format!("raft, {k} proposer(s)"), raft_run(k, common.duration(), trace.clone()));
                finish(trace);
            }
        }
        Workload::Kv { clerks, common } => {
            for k in clerks {
                let trace = common.trace();
                report(&format!("kv, {k} clerk(s)"), kv_run(k, common.duration(), trace.clone()));
                finish(trace);
            }
        }
        Workload::Rpc => rpc_run(),
    }
}

fn finish(trace: Option<Arc<TraceWriter>>) {
    if let Some(trace) = trace {
        let events = trace.finish().expect("the trace was written");
        println!("  trace: {events} events");
    }
}

fn options(i: usize, trace: &Option<Arc<TraceWriter>>) -> Options {
    let mut options = Options::lab(i as u64);
    options.trace = trace.clone();
    options
}

/// Operations, the run's length, and each operation's latency.
struct Run {
    latencies: Vec<Duration>,
    took: Duration,
}

fn report(what: &str, mut run: Run) {
    run.latencies.sort();
    let n = run.latencies.len();
    let at = |q: f64| run.latencies[((n as f64 * q) as usize).min(n - 1)].as_micros();
    println!(
        "{what:<24} {n:>8} ops  {:>9.0} ops/s  p50 {:>6} µs  p99 {:>7} µs  max {:>8} µs",
        n as f64 / run.took.as_secs_f64(),
        at(0.50),
        at(0.99),
        run.latencies[n - 1].as_micros()
    );
}

/// Ends from every node to every node on a reliable, delay-free network,
/// all enabled: `ends[i][j]` goes from i to j.
fn wire(net: &Network, prefix: &str) -> Vec<Vec<ClientEnd>> {
    (0..NODES)
        .map(|i| {
            (0..NODES)
                .map(|j| {
                    let name = format!("{prefix}-{i}-{j}");
                    let end = net.make_end(&name);
                    net.connect(&name, &j.to_string());
                    net.enable(&name, true);
                    end
                })
                .collect()
        })
        .collect()
}

/// Who waits for which command: proposer id → its channel, which gets the
/// sequence numbers of the proposer's commands as nodes apply them.
type Waiting = Arc<Mutex<HashMap<u64, Sender<u64>>>>;

fn raft_run(proposers: usize, duration: Duration, trace: Option<Arc<TraceWriter>>) -> Run {
    let net = Network::new(1);
    let waiting: Waiting = Arc::default();
    let mut rafts = Vec::new();
    for (i, ends) in wire(&net, "raft").into_iter().enumerate() {
        let (tx, rx) = mpsc::sync_channel::<ApplyMsg>(1024);
        let persister = Arc::new(MemoryPersister::new());
        let raft = Arc::new(
            Raft::make(i, NODES, Box::new(LabTransport::new(i, ends)), persister, tx, options(i, &trace))
                .expect("fresh state"),
        );
        let mut server = Server::new();
        add_raft_methods(&mut server, raft.inbox().clone());
        net.add_server(&i.to_string(), server);
        let (service, waiting) = (Arc::downgrade(&raft), Arc::clone(&waiting));
        std::thread::spawn(move || {
            for message in rx {
                let ApplyMsg::Command { index, command, .. } = message else { continue };
                let proposer = u64::from_le_bytes(command[..8].try_into().expect("8 bytes"));
                let seq = u64::from_le_bytes(command[8..16].try_into().expect("8 bytes"));
                if let Some(tx) = waiting.lock().unwrap().get(&proposer) {
                    let _ = tx.send(seq);
                }
                if index % 1000 == 0 {
                    if let Some(raft) = service.upgrade() {
                        let _ = raft.snapshot(index, index.to_le_bytes().to_vec());
                    }
                }
            }
        });
        rafts.push(raft);
    }
    let leader = || loop {
        if let Some(r) = rafts.iter().find(|r| r.get_state().1) {
            return Arc::clone(r);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    leader();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let threads: Vec<_> = (0..proposers as u64)
        .map(|p| {
            let (tx, rx) = mpsc::channel();
            waiting.lock().unwrap().insert(p, tx);
            let (stop, rafts) = (Arc::clone(&stop), rafts.clone());
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut leader = 0;
                let mut seq = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    seq += 1;
                    let mut command = p.to_le_bytes().to_vec();
                    command.extend_from_slice(&seq.to_le_bytes());
                    let t0 = Instant::now();
                    match rafts[leader].start(command) {
                        Ok(_) => {
                            // The first node to apply it (the leader, which
                            // commits first); later copies of older commands
                            // are skipped.
                            let applied = loop {
                                match rx.recv_timeout(Duration::from_secs(5)) {
                                    Ok(s) if s == seq => break true,
                                    Ok(_) => continue,
                                    Err(_) => break false,
                                }
                            };
                            if applied {
                                latencies.push(t0.elapsed());
                            }
                        }
                        Err(StartError::NotLeader { .. }) => leader = (leader + 1) % NODES,
                        Err(e) => panic!("start failed: {e}"),
                    }
                }
                latencies
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let took = started.elapsed();
    let latencies = threads.into_iter().flat_map(|t| t.join().expect("a proposer failed")).collect();
    for raft in &rafts {
        raft.kill();
    }
    Run { latencies, took }
}

fn kv_run(clerks: usize, duration: Duration, trace: Option<Arc<TraceWriter>>) -> Run {
    let net = Network::new(2);
    let mut servers = Vec::new();
    for (i, ends) in wire(&net, "kv").into_iter().enumerate() {
        let options = KvServerOptions { max_raft_state: Some(1000), mutant: None, raft: options(i, &trace) };
        let persister = Arc::new(MemoryPersister::new());
        let kv = KvServer::start(i, NODES, Box::new(LabTransport::new(i, ends)), persister, options).expect("fresh");
        let mut server = Server::new();
        kv.add_methods(&mut server);
        net.add_server(&i.to_string(), server);
        servers.push(kv);
    }
    let make_clerk = |id: u64| {
        let ends = (0..NODES)
            .map(|j| {
                let name = format!("clerk-{id}-{j}");
                let end = net.make_end(&name);
                net.connect(&name, &j.to_string());
                net.enable(&name, true);
                end
            })
            .collect();
        Clerk::new(ends, id)
    };
    // Wait for a leader: the first operation completes.
    make_clerk(u64::MAX).get("warm-up");
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let threads: Vec<_> = (0..clerks as u64)
        .map(|c| {
            let mut clerk = make_clerk(c);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let key = format!("k{c}");
                while !stop.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    clerk.append(&key, "x");
                    latencies.push(t0.elapsed());
                }
                latencies
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let took = started.elapsed();
    let latencies = threads.into_iter().flat_map(|t| t.join().expect("a clerk failed")).collect();
    for kv in &servers {
        kv.kill();
    }
    Run { latencies, took }
}

fn rpc_run() {
    const CALLS: u32 = 100_000;
    let net = Network::new(3);
    let mut server = Server::new();
    server.add_method("Junk.Double", |bytes, reply| {
        let x: u64 = postcard::from_bytes(&bytes).expect("a number");
        reply.send(postcard::to_stdvec(&(2 * x)).expect("serialises"));
    });
    net.add_server("server99", server);
    let end = net.make_end("end1-99");
    net.connect("end1-99", "server99");
    net.enable("end1-99", true);
    let started = Instant::now();
    for i in 0..CALLS as u64 {
        assert_eq!(end.call::<u64, u64>("Junk.Double", &i), Ok(2 * i));
    }
    let took = started.elapsed();
    println!(
        "rpc: {CALLS} sequential calls in {:.3} s, {:.2} µs a call",
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / CALLS as f64
    );
}
