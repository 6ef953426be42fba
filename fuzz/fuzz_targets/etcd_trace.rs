//! Fuzzes `raftcheck trace` on etcd-raft traces: the reader (zap records or
//! bare events, tags, the config record) and the spec behind it. The first
//! byte picks `--lenient` (odd) or not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raftcheck_traces::etcd::{validate_reader, EtcdOptions};

fuzz_target!(|data: &[u8]| {
    if let Some((&selector, text)) = data.split_first() {
        let options = EtcdOptions { max_line_bytes: 1 << 16, lenient: selector % 2 == 1 };
        let _ = validate_reader(text, options);
    }
});
