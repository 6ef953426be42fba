//! Fuzzes format detection (`--format auto`), then the reader it picks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raftcheck_checker::formats::Format;
use raftcheck_fuzz::{exercise, split, ModelChoice};

fuzz_target!(|data: &[u8]| {
    if let Some((selector, text)) = split(data) {
        if let Some(format) = Format::detect(text) {
            exercise(text, format, ModelChoice::from_byte(selector), None);
        }
    }
});
