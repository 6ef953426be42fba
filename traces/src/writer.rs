//! Writing a trace: one writer per cluster, shared by its nodes' threads,
//! numbering events in the order they are written. A writer writes the
//! native format, etcd-raft's `TracingEvent` schema ([`TraceFormat::Etcd`],
//! translated by [`crate::etcd::Translator`]), or both at once.

use crate::etcd::Translator;
use crate::schema::{EndRecord, Event, Header};
use serde::Serialize;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

/// The formats a [`TraceWriter`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// raftcheck's own format (`traces/README.md`), replayable through the
    /// core.
    Native,
    /// etcd-raft's `TracingEvent` NDJSON: a config record, then one
    /// `{"tag":"trace","event":{..}}` line per etcd event; checked against
    /// the Raft spec.
    Etcd,
}

impl TraceFormat {
    /// The format's name on command lines.
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Native => "native",
            TraceFormat::Etcd => "etcd",
        }
    }
}

impl std::str::FromStr for TraceFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "native" => Ok(TraceFormat::Native),
            "etcd" => Ok(TraceFormat::Etcd),
            other => Err(format!("unknown trace format {other:?} (expected native or etcd)")),
        }
    }
}

type Out = BufWriter<Box<dyn Write + Send>>;

/// The etcd-schema output: its file and the translation of native events.
struct EtcdOut {
    out: Out,
    translator: Translator,
}

/// One line of an etcd-schema trace.
#[derive(Serialize)]
struct Tagged<'a> {
    tag: &'static str,
    event: &'a crate::etcd::Event,
}

/// The config record opening an etcd-schema trace written by raftcheck.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigRecord {
    tag: &'static str,
    implementation: &'static str,
    cluster_size: usize,
    /// The 6.824 Raft keeps its commit index in volatile state (Figure 2).
    durable_commit: bool,
    max_entries_per_append: Option<usize>,
    heartbeat: &'static str,
}

struct Sink {
    native: Option<Out>,
    etcd: Option<EtcdOut>,
    next_seq: u64,
    /// The first write error; later events are dropped and `flush` reports it.
    error: Option<io::Error>,
    /// Set by [`TraceWriter::finish`]: the end record is written, and
    /// later events are dropped.
    finished: bool,
    /// Hand each event to the operating system as soon as it is written
    /// (see [`TraceWriter::resume_node_file`]).
    flush_each_event: bool,
}

impl Sink {
    fn write_event(&mut self, event: &Event) -> io::Result<()> {
        if let Some(out) = &mut self.native {
            serde_json::to_writer(&mut *out, event)?;
            out.write_all(b"\n")?;
        }
        if let Some(EtcdOut { out, translator }) = &mut self.etcd {
            for etcd in translator.translate(event) {
                serde_json::to_writer(&mut *out, &Tagged { tag: "trace", event: &etcd.to_etcd() })?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(out) = &mut self.native {
            out.flush()?;
        }
        if let Some(etcd) = &mut self.etcd {
            etcd.out.flush()?;
        }
        Ok(())
    }
}

/// A trace being written. Events get consecutive sequence numbers in the
/// order in which [`TraceWriter::write`] is called, so a node that writes
/// its step before carrying out the step's outputs is guaranteed that a
/// message it sends is numbered before its delivery (and, in etcd's
/// schema, written before it).
pub struct TraceWriter {
    sink: Mutex<Sink>,
}

fn buffered(out: Box<dyn Write + Send>) -> Out {
    BufWriter::with_capacity(1 << 16, out)
}

impl TraceWriter {
    /// Creates (or truncates) `path` and writes the header (native format).
    pub fn create(path: &Path, header: &Header) -> io::Result<TraceWriter> {
        Self::create_as(path, header, TraceFormat::Native)
    }

    /// Creates (or truncates) `path` and writes the opening line of
    /// `format`: the header, or etcd's config record.
    pub fn create_as(path: &Path, header: &Header, format: TraceFormat) -> io::Result<TraceWriter> {
        let file = Box::new(File::create(path)?);
        match format {
            TraceFormat::Native => Self::new(file, header),
            TraceFormat::Etcd => Self::new_etcd(file, header),
        }
    }

    /// A native writer on `out`, with the header written.
    pub fn new(out: Box<dyn Write + Send>, header: &Header) -> io::Result<TraceWriter> {
        Self::with_outputs(Some(out), None, header)
    }

    /// An etcd-schema writer on `out`, with its config record written.
    pub fn new_etcd(out: Box<dyn Write + Send>, header: &Header) -> io::Result<TraceWriter> {
        Self::with_outputs(None, Some(out), header)
    }

    /// A writer of both formats: every event goes to `native` and, as etcd
    /// events, to `etcd`.
    pub fn new_both(
        native: Box<dyn Write + Send>,
        etcd: Box<dyn Write + Send>,
        header: &Header,
    ) -> io::Result<TraceWriter> {
        Self::with_outputs(Some(native), Some(etcd), header)
    }

    fn with_outputs(
        native: Option<Box<dyn Write + Send>>,
        etcd: Option<Box<dyn Write + Send>>,
        header: &Header,
    ) -> io::Result<TraceWriter> {
        let native = match native {
            Some(out) => {
                let mut out = buffered(out);
                serde_json::to_writer(&mut out, header)?;
                out.write_all(b"\n")?;
                Some(out)
            }
            None => None,
        };
        let etcd = match etcd {
            Some(out) => {
                let mut out = buffered(out);
                let config = ConfigRecord {
                    tag: "config",
                    implementation: "raftcheck (the 6.824 Raft)",
                    cluster_size: header.cluster_size,
                    durable_commit: false,
                    max_entries_per_append: header.max_entries_per_append,
                    heartbeat: header.heartbeat.name(),
                };
                serde_json::to_writer(&mut out, &config)?;
                out.write_all(b"\n")?;
                Some(EtcdOut { out, translator: Translator::new(header.cluster_size) })
            }
            None => None,
        };
        Ok(TraceWriter::from_sink(Sink {
            native,
            etcd,
            next_seq: 1,
            error: None,
            finished: false,
            flush_each_event: false,
        }))
    }

    fn from_sink(sink: Sink) -> TraceWriter {
        TraceWriter { sink: Mutex::new(sink) }
    }

    /// A native writer that goes on with a node's own trace file after
    /// what is already in it (no header written; see
    /// [`crate::node_file`]): the next event is numbered `next_seq`.
    /// Every event is handed to the operating system as soon as it is
    /// written, so that a process killed at any moment (`kill -9`) leaves
    /// every event it wrote before carrying the step out: a message is
    /// never delivered before the step that sent it is in the file.
    pub fn resume_node_file(out: Box<dyn Write + Send>, next_seq: u64) -> TraceWriter {
        TraceWriter::from_sink(Sink {
            native: Some(buffered(out)),
            etcd: None,
            next_seq,
            error: None,
            finished: false,
            flush_each_event: true,
        })
    }

    /// Writes the event `make` builds with the next sequence number.
    pub fn write(&self, make: impl FnOnce(u64) -> Event) {
        self.write_if(|| true, make);
    }

    /// Writes the event `make` builds if `still` holds, deciding under the
    /// writer's lock: an event that must not come after another one (an
    /// apply handed over by a node that has just crashed) is either written
    /// before it or not at all.
    pub fn write_if(&self, still: impl FnOnce() -> bool, make: impl FnOnce(u64) -> Event) {
        let mut sink = self.sink.lock().expect("trace lock");
        if sink.error.is_some() || sink.finished || !still() {
            return;
        }
        let event = make(sink.next_seq);
        sink.next_seq += 1;
        let flush = sink.flush_each_event;
        let written = sink.write_event(&event).and_then(|()| if flush { sink.flush() } else { Ok(()) });
        if let Err(e) = written {
            sink.error = Some(e);
        }
    }

    /// How many events were written (native events: one etcd line stands
    /// for one of them, or a part of one).
    pub fn events(&self) -> u64 {
        self.sink.lock().expect("trace lock").next_seq - 1
    }

    /// The sequence number the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.sink.lock().expect("trace lock").next_seq
    }

    /// Closes the trace cleanly: writes the native end record (with the
    /// number of events; etcd's schema has none), flushes, and drops any
    /// event written later. A native trace without its end record was cut
    /// short, and the validator says so. Returns the number of events; a
    /// second call writes nothing more.
    pub fn finish(&self) -> io::Result<u64> {
        let mut sink = self.sink.lock().expect("trace lock");
        let events = sink.next_seq - 1;
        if !sink.finished && sink.error.is_none() {
            sink.finished = true;
            if let Some(out) = &mut sink.native {
                let written = serde_json::to_writer(&mut *out, &EndRecord::new(events))
                    .map_err(io::Error::from)
                    .and_then(|()| out.write_all(b"\n"));
                if let Err(e) = written {
                    sink.error = Some(e);
                }
            }
        }
        if let Some(e) = sink.error.take() {
            return Err(e);
        }
        sink.flush()?;
        Ok(events)
    }

    /// Writes out what is buffered; reports the first error of any write.
    pub fn flush(&self) -> io::Result<()> {
        let mut sink = self.sink.lock().expect("trace lock");
        if let Some(e) = sink.error.take() {
            return Err(e);
        }
        sink.flush()
    }
}

impl Drop for TraceWriter {
    fn drop(&mut self) {
        if let Ok(sink) = self.sink.get_mut() {
            let _ = sink.flush();
        }
    }
}
