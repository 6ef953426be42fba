//! A node process's own trace file, kept across the process's lives.
//!
//! A node of a real cluster (`raftcheck node`) writes only its own events,
//! numbered 1, 2, 3, ... in its file, for `raftcheck trace --merge`. A node
//! killed with `kill -9` writes nothing more: no crash event, no end record,
//! perhaps half a line. So the next process of the same node, before it
//! starts, reads the file and finishes the story of the last one:
//!
//! * a cut-off last line (the kill came inside a write) is cut off the file;
//! * an end record (the last process was stopped cleanly) is cut off too:
//!   the file goes on, and the next clean stop writes a new one;
//! * a save the last process finished on disk but was killed before
//!   recording is recorded now, from what the storage holds
//!   ([`Resumed::missing_save`]: a save was pending and the storage holds
//!   something else than what the process last saved or started from): the
//!   save happened, the restart reads it, and a trace without it would
//!   refuse the restart;
//! * a header cut off by a kill during the very first write is written
//!   again (the file held nothing else);
//! * a crash event is written if the last process did not write one.
//!
//! Then the caller starts the node, whose restart event follows.
//!
//! Invariant: every line this module leaves in the file is a whole line the
//! writer wrote; nothing else is removed.

use crate::schema::{Event, Header, PersistedSummary, TracePersistent};
use crate::writer::TraceWriter;
use raftcheck_core::{NodeId, Output};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};

/// Why a node's trace file cannot be continued.
#[derive(Debug, thiserror::Error)]
pub enum NodeFileError {
    /// The file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// A whole line of the file is not one this writer writes.
    #[error("{path}:{line}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// What the file said about the node's last process.
pub struct Resumed {
    /// The writer, positioned after the file's last whole event.
    pub writer: TraceWriter,
    /// Whether the file already held events (this is a restart).
    pub restarted: bool,
    /// The last process's last step asked for a save that no persist event
    /// records: it may or may not have reached the disk before the kill.
    pending_save: bool,
    /// What the last process last saved, or else started from.
    last_save: PersistedSummary,
    /// Whether the last process's last event is its crash.
    crashed: bool,
}

impl Resumed {
    /// Whether the storage's state, `loaded`, is a save the last process
    /// finished without recording it: a save was pending and the storage
    /// holds something else than what that process last saved (or, if it
    /// saved nothing, started from).
    pub fn missing_save(&self, loaded: &PersistedSummary) -> bool {
        self.pending_save && &self.last_save != loaded
    }

    /// Writes what the last process could not, before the node restarts:
    /// its finished save (when [`Resumed::missing_save`]) and its crash.
    pub fn close_last_life(&self, node: NodeId, loaded: &PersistedSummary) -> io::Result<()> {
        if !self.restarted {
            return Ok(());
        }
        if self.missing_save(loaded) {
            let state = loaded.clone();
            self.writer.write(|seq| Event::Persist { seq, node, state });
        }
        if !self.crashed {
            self.writer.write(|seq| Event::Crash { seq, node });
        }
        self.writer.flush()
    }
}

/// Opens `path` for node `node` of the cluster `header` describes: creates
/// it with the header if it does not exist or is empty, else checks its
/// header and reads its events (see the module doc) and positions the
/// writer after them.
pub fn open(path: &Path, header: &Header, node: NodeId) -> Result<Resumed, NodeFileError> {
    let io_error = |source| NodeFileError::Io { path: path.to_path_buf(), source };
    let text = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io_error(e)),
    };
    // A file without one whole line holds at most a header cut off by a
    // kill: start it again.
    if !text.contains(&b'\n') {
        let mut file = File::create(path).map_err(io_error)?;
        let mut line = serde_json::to_vec(header).map_err(|e| io_error(e.into()))?;
        line.push(b'\n');
        // One write: a kill leaves all of the header or none of it.
        file.write_all(&line).map_err(io_error)?;
        let writer = TraceWriter::resume_node_file(Box::new(file), 1);
        let last_save = summary(&TracePersistent::default());
        return Ok(Resumed { writer, restarted: false, pending_save: false, last_save, crashed: false });
    }
    let scan = scan(path, &text, header, node)?;
    let mut file = OpenOptions::new().write(true).open(path).map_err(io_error)?;
    file.set_len(scan.keep as u64).map_err(io_error)?;
    file.seek(io::SeekFrom::End(0)).map_err(io_error)?;
    Ok(Resumed {
        writer: TraceWriter::resume_node_file(Box::new(file), scan.last_seq + 1),
        restarted: true,
        pending_save: scan.pending_save,
        last_save: scan.last_save,
        crashed: scan.crashed,
    })
}

/// What a read of the file found.
struct Scan {
    /// Bytes to keep: through the last whole event line.
    keep: usize,
    last_seq: u64,
    pending_save: bool,
    last_save: PersistedSummary,
    crashed: bool,
}

/// The summary of a state as a save of it would record it.
fn summary(state: &TracePersistent) -> PersistedSummary {
    PersistedSummary::of(raftcheck_core::PersistentView {
        term: state.term,
        voted_for: state.voted_for,
        log: &state.log,
        snapshot: state.snapshot.as_ref(),
    })
}

fn scan(path: &Path, text: &[u8], header: &Header, node: NodeId) -> Result<Scan, NodeFileError> {
    let malformed = |line: usize, reason: String| NodeFileError::Malformed { path: path.to_path_buf(), line, reason };
    // A last line without its newline was cut off by a kill.
    let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let empty = summary(&TracePersistent::default());
    let mut scan = Scan { keep: 0, last_seq: 0, pending_save: false, last_save: empty, crashed: false };
    let mut offset = 0;
    for (i, line) in text[..whole].split_inclusive(|&b| b == b'\n').enumerate() {
        let number = i + 1;
        let end = offset + line.len();
        offset = end;
        if i == 0 {
            let seen: Header = serde_json::from_slice(line)
                .map_err(|e| malformed(number, format!("expected the trace header: {e}")))?;
            if &seen != header {
                let reason = format!(
                    "the file's header is another cluster's: {} (this node runs {})",
                    String::from_utf8_lossy(line).trim_end(),
                    serde_json::to_string(header).unwrap_or_default()
                );
                return Err(malformed(number, reason));
            }
            scan.keep = end;
            continue;
        }
        if serde_json::from_slice::<crate::schema::EndRecord>(line).is_ok() {
            // A clean stop's end record: the file goes on after it.
            continue;
        }
        let event: Event =
            serde_json::from_slice(line).map_err(|e| malformed(number, format!("expected an event: {e}")))?;
        if event.node() != node {
            return Err(malformed(number, format!("an event of node {}, in node {node}'s file", event.node())));
        }
        if event.seq() != scan.last_seq + 1 {
            return Err(malformed(number, format!("event number {}, expected {}", event.seq(), scan.last_seq + 1)));
        }
        scan.last_seq = event.seq();
        scan.crashed = matches!(event, Event::Crash { .. });
        match event {
            Event::Step { outputs, .. } if outputs.contains(&Output::Persist) => scan.pending_save = true,
            Event::Persist { state, .. } => {
                scan.pending_save = false;
                scan.last_save = state;
            }
            Event::Restart { state, .. } => {
                scan.pending_save = false;
                scan.last_save = summary(&state);
            }
            Event::Crash { .. } => scan.pending_save = false,
            _ => {}
        }
        scan.keep = end;
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use raftcheck_core::{Config, HeartbeatStyle};

    fn header() -> Header {
        Header::for_config(&Config::new(3).unwrap().with_heartbeat(HeartbeatStyle::WithEntries))
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("raftcheck-node-file-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir.join("trace.ndjson")
    }

    fn saved(term: u64) -> PersistedSummary {
        PersistedSummary {
            term,
            voted_for: None,
            snapshot_index: 0,
            snapshot_term: 0,
            last_index: 0,
            last_term: 0,
            log_digest: crate::log_digest::<Vec<u8>>(&raftcheck_core::Log::new()),
            snapshot: None,
        }
    }

    #[test]
    fn a_new_file_gets_the_header_and_numbering_from_one() {
        let path = temp("new");
        let resumed = open(&path, &header(), 1).unwrap();
        assert!(!resumed.restarted);
        resumed.writer.write(|seq| Event::Crash { seq, node: 1 });
        resumed.writer.finish().unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[1].contains("\"seq\":1"), "{text}");
    }

    #[test]
    fn a_killed_life_is_closed_a_cut_line_dropped_and_a_finished_save_recorded() {
        let path = temp("killed");
        let first = open(&path, &header(), 0).unwrap();
        first.writer.write(|seq| Event::Persist { seq, node: 0, state: saved(1) });
        first.writer.flush().unwrap();
        drop(first);
        // The kill came inside a write.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"event\":\"step\",\"seq\":2,").unwrap();
        drop(file);
        let second = open(&path, &header(), 0).unwrap();
        assert!(second.restarted && !second.crashed);
        // No save was pending: nothing to record but the crash.
        assert!(!second.missing_save(&saved(2)));
        second.close_last_life(0, &saved(1)).unwrap();
        second.writer.finish().unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let events: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(events.len(), 3, "persist, crash, end:\n{text}");
        assert!(events[1].contains("\"crash\"") && events[1].contains("\"seq\":2"), "{text}");
        // A clean stop's end record is cut off when the node comes back, and
        // its crash (written by the stop) is not written twice.
        let third = open(&path, &header(), 0).unwrap();
        assert!(third.crashed);
        third.close_last_life(0, &saved(1)).unwrap();
        assert_eq!(third.writer.next_seq(), 3);
        drop(third);
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 3, "header, persist, crash");
    }

    #[test]
    fn a_pending_save_found_on_disk_is_recorded_before_the_crash() {
        let path = temp("pending");
        let first = open(&path, &header(), 0).unwrap();
        first.writer.write(|seq| Event::Persist { seq, node: 0, state: saved(1) });
        drop(first);
        // The step asked for a save (any step: only its outputs matter here).
        let mut step: serde_json::Value = serde_json::json!({
            "event": "step", "seq": 2, "node": 0, "input": "election_timeout", "outputs": ["persist"],
        });
        let state = serde_json::json!({"term": 2, "voted_for": 0, "role": "candidate", "commit_index": 0,
            "last_applied": 0, "snapshot_index": 0, "snapshot_term": 0, "last_index": 0, "last_term": 0,
            "log_digest": serde_json::to_value(saved(0).log_digest).unwrap()});
        step["state"] = state;
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        writeln!(file, "{step}").unwrap();
        drop(file);
        let resumed = open(&path, &header(), 0).unwrap();
        assert!(!resumed.missing_save(&saved(1)), "the disk holds the old save: it was lost");
        assert!(resumed.missing_save(&saved(2)), "the disk holds a newer one: it was made");
        resumed.close_last_life(0, &saved(2)).unwrap();
        drop(resumed);
        let text = fs::read_to_string(&path).unwrap();
        let events: Vec<&str> = text.lines().skip(1).collect();
        assert!(events[2].contains("\"persist\"") && events[2].contains("\"term\":2"), "{text}");
        assert!(events[3].contains("\"crash\""), "{text}");
    }

    /// The first life's restart event (from the empty state), then a step
    /// that asks for a save, and nothing more: the kill came before the
    /// save was recorded.
    fn first_life_killed_before_recording_its_first_save(path: &Path) {
        let first = open(path, &header(), 0).unwrap();
        first.writer.write(|seq| Event::Restart { seq, node: 0, state: TracePersistent::default() });
        drop(first);
        let step = serde_json::json!({
            "event": "step", "seq": 2, "node": 0, "input": "election_timeout", "outputs": ["persist"],
            "state": {"term": 1, "voted_for": 0, "role": "candidate", "commit_index": 0, "last_applied": 0,
                "snapshot_index": 0, "snapshot_term": 0, "last_index": 0, "last_term": 0,
                "log_digest": serde_json::to_value(saved(0).log_digest).unwrap()},
        });
        let mut file = OpenOptions::new().append(true).open(path).unwrap();
        writeln!(file, "{step}").unwrap();
    }

    #[test]
    fn a_first_save_lost_by_the_kill_is_not_made_up() {
        let path = temp("first-lost");
        first_life_killed_before_recording_its_first_save(&path);
        let resumed = open(&path, &header(), 0).unwrap();
        // The disk still holds the empty state the node started from.
        assert!(!resumed.missing_save(&saved(0)));
        assert!(resumed.missing_save(&saved(1)), "a term-1 state on disk is the pending save, made");
        resumed.close_last_life(0, &saved(0)).unwrap();
        drop(resumed);
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains("\"event\":\"persist\""), "{text}");
        assert!(text.lines().last().unwrap().contains("\"crash\""), "{text}");
    }

    #[test]
    fn a_header_cut_off_by_a_kill_is_written_again() {
        let path = temp("torn-header");
        let whole = serde_json::to_string(&header()).unwrap();
        fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        let resumed = open(&path, &header(), 0).unwrap();
        assert!(!resumed.restarted);
        resumed.writer.write(|seq| Event::Crash { seq, node: 0 });
        drop(resumed);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().next(), Some(whole.as_str()), "{text}");
        assert!(open(&path, &header(), 0).is_ok(), "and it can be continued");
    }

    #[test]
    fn another_clusters_file_or_another_nodes_events_are_refused() {
        let path = temp("refused");
        drop(open(&path, &header(), 0).unwrap());
        let other = Header::for_config(&Config::new(5).unwrap());
        let error = open(&path, &other, 0).err().expect("refused").to_string();
        assert!(error.contains(":1:") && error.contains("another cluster"), "{error}");
        let first = open(&path, &header(), 0).unwrap();
        first.writer.write(|seq| Event::Crash { seq, node: 0 });
        drop(first);
        let error = open(&path, &header(), 2).err().expect("refused").to_string();
        assert!(error.contains(":2:") && error.contains("node 0"), "{error}");
    }
}
