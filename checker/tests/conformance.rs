//! Every history of porcupine's test corpus (in `../shared/conformance/
//! porcupine`, beside the repository) gets the verdict porcupine's own test
//! suite asserts. The files are read at test time, not copied.

use raftcheck_checker::formats::{self, Format};
use raftcheck_checker::models::{decode_kv, decode_register};
use raftcheck_checker::{check, CheckOptions, PartitionOutcome, Verdict};
use std::path::PathBuf;

const ETCD_LINEARIZABLE: [usize; 23] = [
    2, 5, 7, 18, 25, 31, 38, 45, 48, 49, 51, 53, 56, 67, 75, 76, 80, 87, 92, 98, 100, 101, 102,
];

fn corpus() -> PathBuf {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/conformance/porcupine"
    ));
    assert!(
        dir.is_dir(),
        "the conformance corpus is missing: expected {} (the project's shared/ folder beside the repository)",
        dir.display()
    );
    dir
}

fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn check_etcd(n: usize, options: &CheckOptions) -> Verdict {
    let path = corpus().join(format!("jepsen/etcd_{n:03}.log"));
    let records = formats::parse(&read(&path), Format::Jepsen).unwrap();
    let decoded = decode_register(records, true, Format::Jepsen.reading(), None).unwrap();
    check(&decoded.model, &decoded.history, options, None).verdict
}

fn check_kv(name: &str, options: &CheckOptions) -> raftcheck_checker::CheckReport {
    let path = corpus().join(format!("kv/{name}.txt"));
    let text = read(&path);
    assert_eq!(Format::detect(&text), Some(Format::Edn));
    let records = formats::parse(&text, Format::Edn).unwrap();
    let decoded = decode_kv(records, Format::Edn.reading()).unwrap();
    check(&decoded.model, &decoded.history, options, None)
}

#[test]
fn etcd_logs_get_porcupines_verdicts() {
    let options = CheckOptions::default();
    let mut wrong = Vec::new();
    for n in (0..=102).filter(|&n| n != 95) {
        let expected = if ETCD_LINEARIZABLE.contains(&n) {
            Verdict::Linearizable
        } else {
            Verdict::NotLinearizable
        };
        let got = check_etcd(n, &options);
        if got != expected {
            wrong.push(format!("etcd_{n:03}: got {got:?}, expected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn empty_etcd_log_is_trivially_linearizable() {
    assert_eq!(
        check_etcd(95, &CheckOptions::default()),
        Verdict::Linearizable
    );
}

#[test]
fn kv_logs_get_porcupines_verdicts_partitioned_and_whole() {
    for (name, expected) in [
        ("c01-ok", true),
        ("c01-bad", false),
        ("c10-ok", true),
        ("c10-bad", false),
        ("c50-ok", true),
        ("c50-bad", false),
    ] {
        let expected = if expected {
            Verdict::Linearizable
        } else {
            Verdict::NotLinearizable
        };
        let report = check_kv(name, &CheckOptions::default());
        assert_eq!(report.verdict, expected, "{name} partitioned");
        if name != "c01-ok" && name != "c01-bad" {
            assert_eq!(report.partitions.len(), 10, "{name}: one partition per key");
        }
        if !name.starts_with("c50") {
            let whole = check_kv(
                name,
                &CheckOptions {
                    no_partition: true,
                    ..CheckOptions::default()
                },
            );
            assert_eq!(whole.verdict, expected, "{name} unpartitioned");
        }
    }
}

#[test]
fn refutation_explains_the_partition() {
    let report = check_kv("c10-bad", &CheckOptions::default());
    let (partition, explanation) = report.refuted().expect("c10-bad is refuted");
    assert!(partition.key.is_some());
    // The prefix and the stuck operation belong to the refuted partition.
    assert!(explanation
        .prefix
        .order
        .iter()
        .all(|i| partition.ops.contains(i)));
    assert!(partition.ops.contains(&explanation.stuck));
    assert!(explanation
        .candidates
        .iter()
        .any(|c| c.op == explanation.stuck));
    assert_eq!(
        explanation.prefix.states.len(),
        explanation.prefix.order.len()
    );
    assert!(explanation.prefix.order.len() < partition.ops.len());
    let refuted = report
        .partitions
        .iter()
        .filter(|p| matches!(p.outcome, PartitionOutcome::NotLinearizable(_)))
        .count();
    assert!(refuted >= 1);
}
