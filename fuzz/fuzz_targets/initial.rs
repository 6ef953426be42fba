//! Fuzzes `--initial`: the JSON value is read as the CLI reads it and
//! becomes a register's initial value for a fixed small history. The input
//! is the option's text, up to a NUL byte; what follows it, if anything,
//! is a JSON Lines history read in its place.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raftcheck_checker::formats::Format;
use raftcheck_checker::Datum;
use raftcheck_fuzz::{exercise, ModelChoice};

const HISTORY: &str = r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"ok","f":"read","value":0}
{"process":2,"type":"invoke","f":"cas","value":[0,2]}
{"process":2,"type":"info","f":"cas","value":[0,2]}
"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (option, history) = text.split_once('\0').unwrap_or((text, HISTORY));
    let Ok(value) = serde_json::from_str::<serde_json::Value>(option) else { return };
    let initial = Datum::from_json(&value);
    for model in [ModelChoice::Register, ModelChoice::CasRegister] {
        exercise(history, Format::Jsonl, model, Some(initial.clone()));
    }
});
