//! The search agrees with a brute-force reference checker on thousands of
//! random tiny histories (up to 10 operations, up to 4 processes, pending
//! and crashed operations, ties in time), for the kv, register and
//! cas-register models and a nondeterministic model.
//!
//! Deterministic: the base seed is fixed (override with RAFTCHECK_SEED);
//! a failure prints the case's seed and history.

use raftcheck_checker::models::{
    KvInput, KvModel, KvOutput, KvString, RegisterInput, RegisterModel, RegisterOutput, ValueTable,
};
use raftcheck_checker::{check, CheckOptions, Datum, Model, Operation, Verdict};
use std::collections::HashSet;
use std::fmt::Debug;

/// SplitMix64: a small seeded generator (no dependency needed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The reference: does some order of a subset of the operations, holding
/// every completed one and respecting real time (`a` before `b` whenever
/// `a` returned strictly before `b` was called), pass the model? Memoised
/// on (placed set, state), so only its failures are remembered.
fn reference<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>]) -> bool
where
    M::State: Debug,
{
    fn dfs<M: Model>(
        model: &M,
        ops: &[Operation<M::Input, M::Output>],
        placed: u32,
        state: &M::State,
        failed: &mut HashSet<(u32, M::State)>,
    ) -> bool {
        let all_completed = ops.iter().enumerate().all(|(i, o)| o.ret.is_none() || placed & (1 << i) != 0);
        if all_completed {
            return true;
        }
        if failed.contains(&(placed, state.clone())) {
            return false;
        }
        for (i, op) in ops.iter().enumerate() {
            if placed & (1 << i) != 0 {
                continue;
            }
            let must_wait = ops
                .iter()
                .enumerate()
                .any(|(j, o)| placed & (1 << j) == 0 && j != i && o.ret.is_some_and(|r| r < op.call));
            if must_wait {
                continue;
            }
            let mut next = Vec::new();
            model.step(state, &op.input, op.output.as_ref(), &mut next);
            for s in next {
                if dfs(model, ops, placed | (1 << i), &s, failed) {
                    return true;
                }
            }
        }
        failed.insert((placed, state.clone()));
        false
    }
    let mut failed = HashSet::new();
    model.init().iter().any(|s0| dfs(model, ops, 0, s0, &mut failed))
}

/// Generates a history by running clients against a true sequential
/// object: each operation takes effect at its completion (or, if it
/// crashes, maybe at some point), and reports the true result, except
/// that sometimes it reports a wrong one.
fn generate<I: Clone, O: Clone, S: Clone>(
    rng: &mut Rng,
    init: S,
    mut random_input: impl FnMut(&mut Rng) -> I,
    mut apply: impl FnMut(&S, &I) -> (S, O),
    mut random_output: impl FnMut(&mut Rng, &I) -> O,
) -> Vec<Operation<I, O>> {
    let n_ops = 1 + rng.below(10) as usize;
    let processes = 1 + rng.below(4);
    let mut state = init;
    let mut time = 0u64;
    let mut ops: Vec<Operation<I, O>> = Vec::new();
    let mut busy: Vec<Option<usize>> = vec![None; processes as usize];
    let mut invoked = 0;
    while invoked < n_ops || busy.iter().any(Option::is_some) {
        time += rng.below(2); // ties happen
        let p = rng.below(processes) as usize;
        match busy[p] {
            None if invoked < n_ops => {
                ops.push(Operation {
                    process: p as u64,
                    input: random_input(rng),
                    output: None,
                    call: time,
                    ret: None,
                    line: None,
                });
                busy[p] = Some(ops.len() - 1);
                invoked += 1;
            }
            None => {}
            Some(i) => {
                busy[p] = None;
                let crashed = rng.chance(20);
                if crashed {
                    // Outcome unknown: it took effect now, or never.
                    if rng.chance(50) {
                        state = apply(&state, &ops[i].input).0;
                    }
                    continue;
                }
                let (next, out) = apply(&state, &ops[i].input);
                state = next;
                ops[i].output = Some(if rng.chance(15) { random_output(rng, &ops[i].input) } else { out });
                ops[i].ret = Some(time);
            }
        }
    }
    ops
}

fn agree<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>], seed: u64, no_partition: bool) -> bool
where
    M::State: Debug,
    M::Input: Debug,
    M::Output: Debug,
{
    let expected = reference(model, ops);
    let options = CheckOptions { no_partition, ..CheckOptions::default() };
    let got = check(model, ops, &options, None).verdict;
    let want = if expected { Verdict::Linearizable } else { Verdict::NotLinearizable };
    assert_eq!(got, want, "case seed {seed:#x} (no_partition {no_partition}): history {ops:#?}");
    expected
}

fn base_seed() -> u64 {
    std::env::var("RAFTCHECK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_2026)
}

const CASES: u64 = 20_000;

fn register_model(values: &mut ValueTable) -> (RegisterModel, Vec<u32>) {
    let ids: Vec<u32> = std::iter::once(Datum::Nil).chain((1..=3).map(Datum::Int)).map(|d| values.intern(d)).collect();
    (RegisterModel::new(values.clone(), ids[0]), ids)
}

fn run_register(cas: bool, salt: u64) {
    let mut values = ValueTable::default();
    let (model, ids) = register_model(&mut values);
    let mut linearizable = 0;
    for case in 0..CASES {
        let seed = base_seed() ^ salt ^ case;
        let mut rng = Rng(seed);
        let ops = generate(
            &mut rng,
            ids[0],
            |rng| match rng.below(if cas { 3 } else { 2 }) {
                0 => RegisterInput::Read,
                1 => RegisterInput::Write(ids[rng.below(4) as usize]),
                _ => RegisterInput::Cas { from: ids[rng.below(4) as usize], to: ids[rng.below(4) as usize] },
            },
            |s, input| match *input {
                RegisterInput::Read => (*s, RegisterOutput::Read(*s)),
                RegisterInput::Write(v) => (v, RegisterOutput::Written),
                RegisterInput::Cas { from, to } if *s == from => (to, RegisterOutput::Cas { succeeded: true }),
                RegisterInput::Cas { .. } => (*s, RegisterOutput::Cas { succeeded: false }),
            },
            |rng, input| match input {
                RegisterInput::Read => RegisterOutput::Read(ids[rng.below(4) as usize]),
                RegisterInput::Write(_) => RegisterOutput::Written,
                RegisterInput::Cas { .. } => RegisterOutput::Cas { succeeded: rng.chance(50) },
            },
        );
        linearizable += agree(&model, &ops, seed, false) as u32;
        // Merging the values nobody observes keeps the verdict.
        let mut merged = model.clone();
        merged.merge_unobserved(&ops);
        let want = if reference(&model, &ops) { Verdict::Linearizable } else { Verdict::NotLinearizable };
        let got = check(&merged, &ops, &CheckOptions::default(), None).verdict;
        assert_eq!(got, want, "case seed {seed:#x}, unobserved values merged: history {ops:#?}");
    }
    // The generator must produce both verdicts, or the test proves little.
    assert!(
        linearizable > CASES as u32 / 10 && linearizable < CASES as u32 * 9 / 10,
        "{linearizable} of {CASES} linearizable"
    );
}

/// Histories whose writes have distinct values are decided by zones
/// (`Model::decide`) instead of searched: the decision must agree with the
/// brute-force reference, and so must the whole check.
#[test]
fn register_zones_agree_with_reference() {
    let mut values = ValueTable::default();
    let ids: Vec<u32> = std::iter::once(Datum::Nil).chain((1..=12).map(Datum::Int)).map(|d| values.intern(d)).collect();
    let model = RegisterModel::new(values.clone(), ids[0]);
    let (mut decided, mut linearizable) = (0, 0);
    for case in 0..CASES {
        let seed = base_seed() ^ 0x5000_0000 ^ case;
        let mut rng = Rng(seed);
        let mut written = 0;
        let ops = generate(
            &mut rng,
            ids[0],
            |rng| {
                if rng.chance(50) {
                    RegisterInput::Read
                } else {
                    written += 1;
                    RegisterInput::Write(ids[written])
                }
            },
            |s, input| match *input {
                RegisterInput::Write(v) => (v, RegisterOutput::Written),
                _ => (*s, RegisterOutput::Read(*s)),
            },
            |rng, input| match input {
                RegisterInput::Read => RegisterOutput::Read(ids[rng.below(12) as usize]),
                _ => RegisterOutput::Written,
            },
        );
        let refs: Vec<&Operation<RegisterInput, RegisterOutput>> = ops.iter().collect();
        let Some(decision) = model.decide(&refs) else { continue };
        decided += 1;
        let want = reference(&model, &ops);
        linearizable += want as u32;
        assert_eq!(decision.is_ok(), want, "case seed {seed:#x}: zones say {decision:?}; history {ops:#?}");
        agree(&model, &ops, seed, false);
    }
    assert_eq!(decided, CASES as u32, "every history of distinct writes is decided");
    assert!(linearizable > CASES as u32 / 10 && linearizable < CASES as u32 * 9 / 10, "{linearizable} linearizable");
}

#[test]
fn register_agrees_with_reference() {
    run_register(false, 0x1000_0000);
}

#[test]
fn cas_register_agrees_with_reference() {
    run_register(true, 0x2000_0000);
}

#[test]
fn kv_agrees_with_reference_partitioned_and_whole() {
    // Three keys, so that searches of whole histories interleave several
    // classes of independent operations (candidate reduction, backjumping
    // and remembered failing parts all come into play).
    let model = KvModel::new(vec!["a".into(), "b".into(), "c".into()]);
    let tokens = ["1", "2", "3"];
    let mut linearizable = 0;
    for case in 0..CASES {
        let seed = base_seed() ^ 0x3000_0000 ^ case;
        let mut rng = Rng(seed);
        let ops = generate(
            &mut rng,
            [String::new(), String::new(), String::new()],
            |rng| {
                let key = rng.below(3) as u32;
                let token = KvString::new(tokens[rng.below(3) as usize]);
                match rng.below(3) {
                    0 => KvInput::Get(key),
                    1 => KvInput::Put(key, token),
                    _ => KvInput::Append(key, token),
                }
            },
            |s, input| {
                let mut s = s.clone();
                let out = match input {
                    KvInput::Get(k) => KvOutput::Got(KvString::new(&s[*k as usize])),
                    KvInput::Put(k, v) => {
                        s[*k as usize] = v.text();
                        KvOutput::Done
                    }
                    KvInput::Append(k, v) => {
                        s[*k as usize].push_str(&v.text());
                        KvOutput::Done
                    }
                };
                (s, out)
            },
            |rng, input| match input {
                KvInput::Get(_) => KvOutput::Got(KvString::new(["", "1", "12", "21", "3"][rng.below(5) as usize])),
                _ => KvOutput::Done,
            },
        );
        let whole = case % 2 == 0;
        linearizable += agree(&model, &ops, seed, whole) as u32;
    }
    assert!(
        linearizable > CASES as u32 / 10 && linearizable < CASES as u32 * 9 / 10,
        "{linearizable} of {CASES} linearizable"
    );
}

/// A register whose writes may be lost (nondeterministic: a write leads
/// to the new value or keeps the old one), starting at 0 or 1.
struct LossyRegister;

impl Model for LossyRegister {
    type State = u8;
    type Input = (bool, u8); // (is_write, value)
    type Output = u8; // a read's result

    fn init(&self) -> Vec<u8> {
        vec![0, 1]
    }
    fn step(&self, state: &u8, input: &(bool, u8), output: Option<&u8>, next: &mut Vec<u8>) {
        match (input, output) {
            ((true, v), _) => {
                next.push(*v);
                if v != state {
                    next.push(*state);
                }
            }
            ((false, _), Some(out)) if out != state => {}
            ((false, _), _) => next.push(*state),
        }
    }
    fn describe_operation(&self, input: &(bool, u8), output: Option<&u8>) -> String {
        format!("{input:?} -> {output:?}")
    }
    fn describe_state(&self, state: &u8) -> String {
        state.to_string()
    }
}

#[test]
fn nondeterministic_model_agrees_with_reference() {
    let mut linearizable = 0;
    for case in 0..CASES {
        let seed = base_seed() ^ 0x4000_0000 ^ case;
        let mut rng = Rng(seed);
        let ops = generate(
            &mut rng,
            0u8,
            |rng| (rng.chance(50), rng.below(4) as u8),
            |s, &(write, v)| if write { (v, 0) } else { (*s, *s) },
            |rng, _| rng.below(4) as u8,
        );
        linearizable += agree(&LossyRegister, &ops, seed, false) as u32;
    }
    assert!(
        linearizable > CASES as u32 / 10 && linearizable < CASES as u32 * 9 / 10,
        "{linearizable} of {CASES} linearizable"
    );
}
