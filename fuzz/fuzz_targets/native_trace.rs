//! Fuzzes `raftcheck trace` on native traces: the reader (header, events,
//! end record), exact replay through the core and the spec check of the
//! translated events. The first byte picks `--check` (exact, spec, both).
#![no_main]

use libfuzzer_sys::fuzz_target;
use raftcheck_traces::validate::{validate_reader, CheckMode, Options};

fuzz_target!(|data: &[u8]| {
    if let Some((&selector, text)) = data.split_first() {
        let check = [CheckMode::Exact, CheckMode::Spec, CheckMode::Both][selector as usize % 3];
        let options = Options { max_line_bytes: 1 << 16, check, ..Options::default() };
        let _ = validate_reader(text, options);
    }
});
