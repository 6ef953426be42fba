//! `raftcheck trace --merge FILE...`: the files, one per node process, are
//! merged into one cluster trace (`raftcheck_traces::merge`) and validated
//! as one; every failure is reported at its file and line.

use super::{file_report, FileReport, RelatedReport, TraceReport};
use crate::output::{self, outln, Envelope, InputError, PerFile};
use raftcheck_traces::merge::{validate_merged_files, MergeError, MergedReport, Origin};
use raftcheck_traces::validate::{Check, Options, Verdict};
use std::path::PathBuf;
use std::time::Instant;

/// Merges and validates `paths`; prints the verdict (text, or JSON with
/// `json`) and returns the exit code.
pub(super) fn run(paths: &[PathBuf], options: Options, json: bool, started: Instant) -> u8 {
    let paths = match expand(paths) {
        Ok(paths) => paths,
        Err(error) => {
            eprintln!("{}", error.error);
            if json {
                let entry = PerFile::failed(error);
                Envelope::new(output::ERROR, 2, started.elapsed(), TraceReport { files: vec![entry] }).print();
            }
            return 2;
        }
    };
    let paths = &paths[..];
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let (code, entry) = match validate_merged_files(paths, options) {
        Ok(merged) => {
            let code = if merged.report.verdict == Verdict::Valid { 0 } else { 1 };
            if !json {
                outln!("{}", text(&names, &merged));
            }
            (code, PerFile::Read(report(&names, &merged)))
        }
        Err(error) => {
            let error = input_error(&names, &error);
            if !json {
                eprintln!("{}", error.error);
            }
            (2, PerFile::failed(error))
        }
    };
    if json {
        let overall = match code {
            0 => Verdict::Valid.name(),
            1 => Verdict::Invalid.name(),
            _ => output::ERROR,
        };
        Envelope::new(overall, code, started.elapsed(), TraceReport { files: vec![entry] }).print();
    }
    code
}

/// The files to merge: each path given, a folder standing for the `.ndjson`
/// files in it and in its subfolders one level down (a `raftcheck run`
/// folder's `node*/trace.ndjson`), sorted by path.
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut found = Vec::new();
        let list = |dir: &std::path::Path| -> Result<Vec<PathBuf>, InputError> {
            let entries =
                std::fs::read_dir(dir).map_err(|e| InputError::new(dir.display().to_string(), None, e.to_string()))?;
            Ok(entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        };
        for entry in list(path)? {
            if entry.is_dir() {
                found.extend(list(&entry)?.into_iter().filter(|p| is_ndjson(p)));
            } else if is_ndjson(&entry) {
                found.push(entry);
            }
        }
        if found.is_empty() {
            let message = "a folder with no .ndjson file in it or in its subfolders";
            return Err(InputError::new(path.display().to_string(), None, message));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

fn is_ndjson(path: &std::path::Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e == "ndjson")
}

/// The files merged, as one name: `a.ndjson + b.ndjson`.
fn joined(names: &[String]) -> String {
    names.join(" + ")
}

pub(crate) fn input_error(names: &[String], error: &MergeError) -> InputError {
    let file = error.file().and_then(|f| names.get(f).cloned()).unwrap_or_else(|| joined(names));
    InputError::new(file, error.line(), error.message())
}

/// `FILE: valid (...)`, or `FILE: INVALID at line L (...)` at the
/// failure's origin, with the related events' files and lines.
pub(crate) fn text(names: &[String], merged: &MergedReport) -> String {
    let report = &merged.report;
    let ms = report.elapsed.as_secs_f64() * 1e3;
    let Some(failure) = &report.failure else {
        return format!("{} (merged): valid ({} events, {ms:.0} ms)", joined(names), report.events);
    };
    let (name, line) = place(names, merged.failure, failure.line);
    let mut out = if failure.check == Check::Completeness && failure.seq == 0 {
        format!("{name}: INVALID at line {line}: {}: {}", failure.check.name(), failure.message)
    } else {
        format!(
            "{name}: INVALID at line {line} (node {}, event {} of the merged trace): {}: {}",
            failure.node,
            failure.seq,
            failure.check.name(),
            failure.message
        )
    };
    for (related, origin) in failure.related.iter().zip(&merged.related) {
        let (name, line) = place(names, *origin, related.line);
        out += &format!("\n  see {name} line {line}: {}", related.what);
    }
    if !failure.expected.is_empty() || !failure.seen.is_empty() {
        out += &format!("\n  expected: {}\n  seen:     {}", failure.expected, failure.seen);
    }
    out
}

/// The file and line of `origin`; without one, the merged trace's line.
fn place(names: &[String], origin: Option<Origin>, merged_line: usize) -> (String, usize) {
    match origin.and_then(|o| Some((names.get(o.file)?.clone(), o.line))) {
        Some(place) => place,
        None => (format!("{} (merged)", joined(names)), merged_line),
    }
}

/// The `--json` entry: named after the failing file (or all files, when
/// valid), lines in their files, `merged` listing every file.
pub(crate) fn report(names: &[String], merged: &MergedReport) -> FileReport {
    let (name, _) = place(names, merged.failure, 0);
    let name = if merged.report.failure.is_some() { name } else { joined(names) };
    let mut entry = file_report(&name, &merged.report, false);
    entry.merged = names.to_vec();
    if let Some(failure) = entry.failure.as_mut() {
        if let Some(origin) = merged.failure {
            failure.line = origin.line;
            failure.file = names.get(origin.file).cloned();
        }
        for (related, origin) in failure.related.iter_mut().zip(&merged.related) {
            if let Some(origin) = origin {
                *related = RelatedReport {
                    line: origin.line,
                    what: std::mem::take(&mut related.what),
                    file: names.get(origin.file).cloned(),
                };
            }
        }
    }
    entry
}
