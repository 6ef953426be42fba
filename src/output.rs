//! The CLI's typed output layer.
//!
//! Every subcommand's `--json` prints one [`Envelope`]: the same top-level
//! `verdict` (a word), `exit_code` (the process's) and `elapsed_ms` (a float
//! of milliseconds), then the command's own fields. A command that reads
//! files (`lin`, `trace`) reports each under `files`; a file that cannot be
//! read is reported there as an [`InputError`] with `"verdict": "error"`,
//! the same shape in every command.
//!
//! Everything written to stdout goes through [`print`] (or [`outln!`]),
//! which ends the process quietly with success when stdout is a closed pipe
//! (`raftcheck model --list-configs | head -1`): the reader wanted no more.

use serde::Serialize;
use std::io::{ErrorKind, Write};
use std::time::Duration;

/// The object every `--json` prints: the verdict, the exit code and the
/// elapsed time, then the command's own `report` fields.
#[derive(Serialize)]
pub struct Envelope<T> {
    /// The command's verdict word (`ok`, `violated`, `linearizable`, ...).
    pub verdict: &'static str,
    /// The process's exit code.
    pub exit_code: u8,
    /// Wall time of the whole command, in milliseconds.
    pub elapsed_ms: f64,
    /// The command's own fields, at the top level.
    #[serde(flatten)]
    pub report: T,
}

impl<T: Serialize> Envelope<T> {
    pub fn new(verdict: &'static str, exit_code: u8, elapsed: Duration, report: T) -> Envelope<T> {
        Envelope { verdict, exit_code, elapsed_ms: ms(elapsed), report }
    }

    /// Prints the envelope as one line of JSON on stdout.
    pub fn print(&self) {
        let text = serde_json::to_string(self).expect("reports serialise to JSON");
        print(&(text + "\n"));
    }
}

/// A file that cannot be read (missing, malformed, an unknown version...):
/// which file, the line if known, and what is wrong. `error` is the whole
/// message as printed on stderr (`FILE: line N: MESSAGE`).
#[derive(Clone, Debug, Serialize)]
pub struct InputError {
    pub file: String,
    /// 1-based line, `null` when the error is not on one line.
    pub line: Option<usize>,
    /// What is wrong, without the file and the line.
    pub message: String,
    /// `FILE: line N: MESSAGE`.
    pub error: String,
}

impl InputError {
    pub fn new(file: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> InputError {
        let (file, message) = (file.into(), message.into());
        let error = match line {
            Some(line) => format!("{file}: line {line}: {message}"),
            None => format!("{file}: {message}"),
        };
        InputError { file, line, message, error }
    }
}

/// One file's entry under `files`: its report, or why it could not be read.
#[derive(Serialize)]
#[serde(untagged)]
pub enum PerFile<T> {
    Read(T),
    Failed {
        /// Always `error`.
        verdict: &'static str,
        #[serde(flatten)]
        error: InputError,
    },
}

impl<T> PerFile<T> {
    pub fn failed(error: InputError) -> PerFile<T> {
        PerFile::Failed { verdict: ERROR, error }
    }
}

/// The verdict word of an input or usage error (exit code 2).
pub const ERROR: &str = "error";

/// A duration in milliseconds, to the microsecond.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Writes `text` to stdout. When stdout is a closed pipe the process ends
/// here with exit code 0; another write error ends it with a message and
/// exit code 2.
pub fn print(text: &str) {
    let written = {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes()).and_then(|()| out.flush())
    };
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("raftcheck: cannot write to stdout: {e}");
            std::process::exit(2);
        }
    }
}

/// `println!` through [`print`]: a closed pipe ends the process quietly.
macro_rules! outln {
    () => {
        $crate::output::print("\n")
    };
    ($($arg:tt)*) => {
        $crate::output::print(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Files {
        files: Vec<PerFile<serde_json::Value>>,
    }

    #[test]
    fn the_envelope_and_the_error_shape() {
        let failed = InputError::new("h.jsonl", Some(2), "not valid JSON");
        assert_eq!(failed.error, "h.jsonl: line 2: not valid JSON");
        assert_eq!(InputError::new("t.ndjson", None, "cannot open").error, "t.ndjson: cannot open");
        let files =
            Files { files: vec![PerFile::Read(serde_json::json!({"verdict": "valid"})), PerFile::failed(failed)] };
        let text = serde_json::to_string(&Envelope::new(ERROR, 2, Duration::from_micros(1500), files)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["verdict"], "error");
        assert_eq!(v["exit_code"], 2);
        assert_eq!(v["elapsed_ms"], 1.5);
        assert_eq!(v["files"][0]["verdict"], "valid");
        let e = &v["files"][1];
        assert_eq!(
            (&e["verdict"], &e["file"], &e["line"], &e["message"]),
            (&"error".into(), &"h.jsonl".into(), &2.into(), &"not valid JSON".into())
        );
        assert_eq!(text.matches("\"verdict\"").count(), 3, "one verdict per object: {text}");
    }
}
