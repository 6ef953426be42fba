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

/// A buffer several owners write to (the trace writer takes a `Box<dyn Write>`).
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The native corpus traces (`valid`), written again through a writer of
/// both formats: the native copy is the same file, and the etcd copy (a
/// config record saying the commit index is volatile, then tagged events)
/// passes the spec through the etcd reader.
#[test]
fn native_traces_written_in_etcd_schema_pass_the_spec() {
    use raftcheck_traces::{Event, Header, TraceWriter};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/traces/valid");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        let header: Header = serde_json::from_str(lines.next().unwrap()).unwrap();
        if header.raftcheck_trace < 2 {
            continue;
        }
        let (native, etcd) = (Shared::default(), Shared::default());
        let writer = TraceWriter::new_both(Box::new(native.clone()), Box::new(etcd.clone()), &header).unwrap();
        for line in lines {
            if let Ok(event) = serde_json::from_str::<Event>(line) {
                writer.write(|_| event);
            }
        }
        writer.finish().unwrap();
        let native = String::from_utf8(native.0.lock().unwrap().clone()).unwrap();
        assert_eq!(native, text, "{}: the native copy is the same trace", path.display());
        let etcd = etcd.0.lock().unwrap().clone();
        let first: Value = serde_json::from_slice(etcd.split(|b| *b == b'\n').next().unwrap()).unwrap();
        assert_eq!((first["tag"].as_str(), first["durableCommit"].as_bool()), (Some("config"), Some(false)));
        let report = validate_reader(&etcd[..], EtcdOptions::default()).unwrap();
        assert!(report.failure.is_none(), "{}: {:?}", path.display(), report.failure);
        assert!(report.events > 100, "{}: {} etcd events", path.display(), report.events);
        checked += 1;
    }
    assert!(checked >= 4, "{checked} traces checked");
}

/// Without its config record, a trace of the 6.824 Raft (whose commit
/// index is volatile) is refused at a restart that comes back below the
/// commit index saved at a Ready: the record is what allows it.
#[test]
fn a_restart_below_the_saved_commit_needs_a_volatile_commit() {
    use raftcheck_traces::{Event, Header, TraceWriter};
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/traces/valid/persist3-2c.ndjson");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Header = serde_json::from_str(lines.next().unwrap()).unwrap();
    let etcd = Shared::default();
    let writer = TraceWriter::new_etcd(Box::new(etcd.clone()), &header).unwrap();
    for line in lines {
        if let Ok(event) = serde_json::from_str::<Event>(line) {
            writer.write(|_| event);
        }
    }
    writer.finish().unwrap();
    let etcd = etcd.0.lock().unwrap().clone();
    let without_config: Vec<u8> = etcd.splitn(2, |b| *b == b'\n').nth(1).unwrap().to_vec();
    let report = validate_reader(&without_config[..], EtcdOptions::default()).unwrap();
    let failure = report.failure.expect("refused without the config record");
    assert_eq!(failure.check, Check::Spec(raftcheck_traces::spec::Rule::CommitMonotonic), "{failure}");
    assert!(failure.message.contains("restarted below"), "{failure}");
}
