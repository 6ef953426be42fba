//! Fuzzes the jepsen reader, then decoding and checking what it reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raftcheck_checker::formats::Format;
use raftcheck_fuzz::{exercise, split, ModelChoice};

fuzz_target!(|data: &[u8]| {
    if let Some((selector, text)) = split(data) {
        exercise(text, Format::Jepsen, ModelChoice::from_byte(selector), None);
    }
});
