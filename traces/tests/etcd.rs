//! The etcd reader and the spec through the library: random edits of a
//! derived etcd trace are read without a panic, each either valid,
//! invalid with a spec rule, or an input error naming its line.

use raftcheck_traces::etcd::{validate_reader, EtcdOptions};
use raftcheck_traces::validate::Check;
use serde_json::Value;
use std::path::PathBuf;

/// A small deterministic generator (xorshift), so that failures repeat.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_edits_never_panic() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/etcd/invalid/commit-monotonic-commit-goes-down.ndjson");
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<Value> = text.lines().take(160).map(|l| serde_json::from_str(l).unwrap()).collect();
    let fields: [&[&str]; 12] = [
        &["state", "term"],
        &["state", "commit"],
        &["state", "vote"],
        &["log"],
        &["role"],
        &["name"],
        &["nid"],
        &["conf"],
        &["msg", "index"],
        &["msg", "entries"],
        &["msg", "term"],
        &["msg", "from"],
    ];
    let values: Vec<Value> = serde_json::from_str(
        r#"[0, 1, 2, 7, -1, 18446744073709551615, 1e300, "x", "7", null, [], {}, [[],[]], [["1"],["2","3"]],
            "StateLeader", "CompactLog", "ApplyEntries", "BecomeLeader", "Ready", "Teleport"]"#,
    )
    .unwrap();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut valid, mut invalid, mut errors) = (0, 0, 0);
    for _ in 0..300 {
        let mut edited = lines.clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(edited.len());
            let path = fields[rng.below(fields.len())];
            let mut target = &mut edited[at]["event"];
            for key in &path[..path.len() - 1] {
                target = &mut target[*key];
            }
            if target.is_object() {
                target[path[path.len() - 1]] = values[rng.below(values.len())].clone();
            }
        }
        let text: String = edited.iter().map(|v| v.to_string() + "\n").collect();
        let lenient = rng.below(2) == 0;
        match validate_reader(text.as_bytes(), EtcdOptions { lenient, ..EtcdOptions::default() }) {
            Ok(report) => match report.failure {
                None => valid += 1,
                Some(failure) => {
                    assert!(matches!(failure.check, Check::Spec(_)), "{failure}");
                    assert!(failure.line >= 1 && failure.line <= edited.len(), "{failure}");
                    invalid += 1;
                }
            },
            Err(error) => {
                assert!(error.line.is_some_and(|l| l >= 1 && l <= edited.len()), "{error}");
                errors += 1;
            }
        }
    }
    assert!(valid > 0 && invalid > 0 && errors > 0, "{valid} valid, {invalid} invalid, {errors} errors");
}
