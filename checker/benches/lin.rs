//! Benchmarks of the linearizability checker on porcupine's corpus (read
//! from `../shared/conformance/porcupine` beside the repository, never
//! copied): reading (parsing and decoding) and the search, separately, on
//! one thread, so that a change's effect is one command away:
//!
//! ```text
//! cargo bench -p raftcheck-checker --bench lin                 # everything
//! cargo bench -p raftcheck-checker --bench lin -- search/kv    # a group
//! cargo bench -p raftcheck-checker --bench lin -- --save-baseline before
//! cargo bench -p raftcheck-checker --bench lin -- --baseline before
//! ```
//!
//! `search/*` is what porcupine's own benchmarks time (the search alone);
//! BENCHMARKS.md compares the two.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use raftcheck_checker::formats::{self, Format};
use raftcheck_checker::models::{decode_kv, decode_register, Decoded, KvModel, RegisterModel};
use raftcheck_checker::{check, CheckOptions, Verdict};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn corpus() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance/porcupine"));
    assert!(dir.is_dir(), "the conformance corpus is missing: expected {}", dir.display());
    dir
}

/// The 102 non-empty etcd logs, as text.
fn etcd_texts() -> Vec<String> {
    (0..=102)
        .filter(|&n| n != 95)
        .map(|n| std::fs::read_to_string(corpus().join(format!("jepsen/etcd_{n:03}.log"))).expect("etcd log"))
        .collect()
}

const KV_FILES: [&str; 6] = ["c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok", "c50-bad"];

fn kv_text(name: &str) -> String {
    std::fs::read_to_string(corpus().join(format!("kv/{name}.txt"))).expect("kv file")
}

fn decode_etcd(text: &str) -> Decoded<RegisterModel> {
    let records = formats::parse(text, Format::Jepsen).expect("parses");
    decode_register(records, true, Format::Jepsen.reading(), None).expect("decodes")
}

fn decode_kv_text(text: &str) -> Decoded<KvModel> {
    let records = formats::parse(text, Format::Edn).expect("parses");
    decode_kv(records, Format::Edn.reading()).expect("decodes")
}

/// A native JSON Lines register history of `ops` sequential writes and
/// reads on 10 processes, with timestamps (40,000 lines for 20,000 ops).
fn register_jsonl(ops: u64) -> String {
    let mut text = String::new();
    for i in 0..ops {
        let (p, t) = (i % 10, i * 10);
        let (f, v) = if i % 2 == 0 { ("write", i.to_string()) } else { ("read", (i - 1).to_string()) };
        let invoke = if f == "write" { v.as_str() } else { "null" };
        text.push_str(&format!(
            "{{\"process\":{p},\"type\":\"invoke\",\"f\":\"{f}\",\"value\":{invoke},\"time\":{t}}}\n"
        ));
        text.push_str(&format!("{{\"process\":{p},\"type\":\"ok\",\"f\":\"{f}\",\"value\":{v},\"time\":{}}}\n", t + 5));
    }
    text
}

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a thread")
}

fn reading(c: &mut Criterion) {
    let etcd = etcd_texts();
    let kv: Vec<String> = KV_FILES.iter().map(|n| kv_text(n)).collect();
    let mut group = c.benchmark_group("read");
    group
        .bench_function("etcd-corpus", |b| b.iter(|| etcd.iter().map(|t| decode_etcd(t).history.len()).sum::<usize>()));
    group.bench_function("kv-corpus", |b| b.iter(|| kv.iter().map(|t| decode_kv_text(t).history.len()).sum::<usize>()));
    group.bench_function("kv-c50-ok", |b| b.iter(|| decode_kv_text(&kv[4]).history.len()));
    let jsonl = register_jsonl(20_000);
    group.bench_function("jsonl-register-20k-ops", |b| {
        b.iter(|| {
            let records = formats::parse(&jsonl, Format::Jsonl).expect("parses");
            decode_register(records, false, Format::Jsonl.reading(), None).expect("decodes").history.len()
        })
    });
    group.finish();
}

fn search(c: &mut Criterion) {
    let pool = one_thread();
    let options = CheckOptions::default();
    let etcd: Vec<Decoded<RegisterModel>> = etcd_texts().iter().map(|t| decode_etcd(t)).collect();
    let kv: Vec<Decoded<KvModel>> = KV_FILES.iter().map(|n| decode_kv_text(&kv_text(n))).collect();
    let mut group = c.benchmark_group("search");
    group.bench_function("etcd-corpus", |b| {
        b.iter(|| {
            pool.install(|| {
                etcd.iter()
                    .filter(|d| check(&d.model, &d.history, &options, None).verdict == Verdict::Linearizable)
                    .count()
            })
        })
    });
    group.bench_function("kv-corpus", |b| {
        b.iter(|| {
            pool.install(|| {
                kv.iter()
                    .filter(|d| check(&d.model, &d.history, &options, None).verdict == Verdict::Linearizable)
                    .count()
            })
        })
    });
    for (i, name) in KV_FILES.iter().enumerate().skip(4) {
        group.bench_function(format!("kv-{name}"), |b| {
            b.iter(|| pool.install(|| check(&kv[i].model, &kv[i].history, &options, None).verdict))
        });
    }
    let whole = CheckOptions { no_partition: true, ..CheckOptions::default() };
    group.sample_size(20).measurement_time(Duration::from_secs(10));
    for (i, name) in KV_FILES.iter().enumerate().skip(2).take(2) {
        group.bench_function(format!("kv-{name}-no-partition"), |b| {
            b.iter_batched(
                || (),
                |()| pool.install(|| black_box(check(&kv[i].model, &kv[i].history, &whole, None).verdict)),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, reading, search);
criterion_main!(benches);
