//! Shared by the lab test suites: the Raft harness (`raft.rs`) and helpers
//! for seeds and random test values.

#![allow(dead_code)]

pub mod history;
pub mod kv;
pub mod kv_generic;
pub mod raft;
pub mod trace;

use raftcheck_impl::net::{ClientEnd, Network};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Mutex;

/// The seed of a test: `RAFTCHECK_SEED` if set, otherwise a fresh one. The
/// harness prints it when the test fails, so that a run can be repeated (up
/// to thread scheduling).
pub fn test_seed() -> u64 {
    match std::env::var("RAFTCHECK_SEED") {
        Ok(text) => text.trim().parse().expect("RAFTCHECK_SEED must be an unsigned integer"),
        Err(_) => rand::rng().random(),
    }
}

/// A seeded random source shared by a test's threads.
pub struct TestRng {
    rng: Mutex<StdRng>,
}

impl TestRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        TestRng { rng: Mutex::new(StdRng::seed_from_u64(seed)) }
    }

    /// A number in `0..bound`.
    pub fn below(&self, bound: u64) -> u64 {
        self.rng.lock().unwrap().random_range(0..bound)
    }

    /// A random non-negative 63-bit number (the lab's `rand.Int()`).
    pub fn int(&self) -> u64 {
        self.rng.lock().unwrap().random::<u64>() >> 1
    }

    /// A random string of `len` letters and digits.
    pub fn string(&self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut rng = self.rng.lock().unwrap();
        (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
    }
}

/// `n` new client ends named `<prefix>-<j>-<random>`, end `j` wired to the
/// server named `j`, all disabled: the names and the ends.
pub fn fresh_ends(net: &Network, prefix: &str, n: usize, rng: &TestRng) -> (Vec<String>, Vec<ClientEnd>) {
    let names: Vec<String> = (0..n).map(|j| format!("{prefix}-{j}-{}", rng.string(8))).collect();
    let ends = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let end = net.make_end(name);
            net.connect(name, &j.to_string());
            end
        })
        .collect();
    (names, ends)
}

/// The end of a test, also when it panics: prints the seed of a failed
/// test, then validates the cluster's trace, if it recorded one.
pub fn finish_test(seed: u64, trace: Option<&trace::TestTrace>) {
    if std::thread::panicking() {
        eprintln!("seed of the failed test: RAFTCHECK_SEED={seed}");
    }
    if let Some(trace) = trace {
        trace.finish();
    }
}

/// A test command holding the integer `x` (the lab's commands are ints).
pub fn int_cmd(x: u64) -> Vec<u8> {
    x.to_le_bytes().to_vec()
}

/// The integer in a command made by [`int_cmd`], for messages.
pub fn show_cmd(cmd: &[u8]) -> String {
    match <[u8; 8]>::try_from(cmd) {
        Ok(bytes) => u64::from_le_bytes(bytes).to_string(),
        Err(_) => format!("<{} bytes>", cmd.len()),
    }
}
