//! What every fuzz target does with its input: the same steps as
//! `raftcheck lin` on a file (read the text in a format, decode it for a
//! model, check it), with small limits so that one input stays cheap.
//!
//! A panic anywhere is a crash. A hang or unbounded memory shows as
//! libFuzzer's timeout or RSS limit (`fuzz/run` sets both); the check
//! itself is bounded by its timeout and memory budget, so only reading
//! and decoding can hang.

use raftcheck_checker::formats::{self, Format};
use raftcheck_checker::models::{decode_kv, decode_register};
use raftcheck_checker::{check, CheckOptions, Datum, Model};
use std::time::Duration;

/// The limits of one check: far below libFuzzer's per-input timeout and
/// memory limit, so that exceeding those means a bug outside the search.
pub fn options() -> CheckOptions {
    CheckOptions {
        timeout: Some(Duration::from_millis(200)),
        memory_budget: Some(16 << 20),
        witness: true,
        ..CheckOptions::default()
    }
}

/// Which model a target checks its input against, chosen by one byte.
#[derive(Clone, Copy, Debug)]
pub enum ModelChoice {
    /// get / put / append.
    Kv,
    /// read / write.
    Register,
    /// read / write / cas.
    CasRegister,
}

impl ModelChoice {
    /// The model selected by `byte`.
    pub fn from_byte(byte: u8) -> ModelChoice {
        match byte % 3 {
            0 => ModelChoice::Kv,
            1 => ModelChoice::Register,
            _ => ModelChoice::CasRegister,
        }
    }
}

/// Splits a fuzz input into (selector byte, text); `None` if the text is
/// not UTF-8 (the CLI refuses such a file before reading it).
pub fn split(data: &[u8]) -> Option<(u8, &str)> {
    let (&first, rest) = data.split_first()?;
    Some((first, std::str::from_utf8(rest).ok()?))
}

/// Reads `text` in `format` and, if it reads, decodes and checks it.
pub fn exercise(text: &str, format: Format, model: ModelChoice, initial: Option<Datum>) {
    let Ok(records) = formats::parse(text, format) else { return };
    let reading = format.reading();
    match model {
        ModelChoice::Kv => {
            if let Ok(decoded) = decode_kv(records, reading) {
                run(&decoded.model, &decoded.history);
            }
        }
        ModelChoice::Register | ModelChoice::CasRegister => {
            let cas = matches!(model, ModelChoice::CasRegister);
            if let Ok(decoded) = decode_register(records, cas, reading, initial) {
                run(&decoded.model, &decoded.history);
            }
        }
    }
}

/// Checks the history whole and per partition, and renders the reports
/// (text explanation and HTML), as the CLI does.
fn run<M: Model>(model: &M, history: &[raftcheck_checker::Operation<M::Input, M::Output>]) {
    for no_partition in [false, true] {
        let report = check(model, history, &CheckOptions { no_partition, ..options() }, None);
        if let Some((_, explanation)) = report.refuted() {
            let _ = raftcheck_checker::explain::render_text(model, history, explanation, 12);
        }
        let _ = raftcheck_checker::html::render(model, history, &report, "fuzz");
    }
}
