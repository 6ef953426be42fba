//! Writing a trace: one writer per cluster, shared by its nodes' threads,
//! numbering events in the order they are written.

use crate::schema::{EndRecord, Event, Header};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

struct Sink {
    out: BufWriter<Box<dyn Write + Send>>,
    next_seq: u64,
    /// The first write error; later events are dropped and `flush` reports it.
    error: Option<io::Error>,
    /// Set by [`TraceWriter::finish`]: the end record is written, and
    /// later events are dropped.
    finished: bool,
}

/// A trace being written. Events get consecutive sequence numbers in the
/// order in which [`TraceWriter::write`] is called, so a node that writes
/// its step before carrying out the step's outputs is guaranteed that a
/// message it sends is numbered before its delivery.
pub struct TraceWriter {
    sink: Mutex<Sink>,
}

impl TraceWriter {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path, header: &Header) -> io::Result<TraceWriter> {
        let file = File::create(path)?;
        Self::new(Box::new(file), header)
    }

    /// A writer on `out`, with the header written.
    pub fn new(out: Box<dyn Write + Send>, header: &Header) -> io::Result<TraceWriter> {
        let mut out = BufWriter::with_capacity(1 << 16, out);
        serde_json::to_writer(&mut out, header)?;
        out.write_all(b"\n")?;
        Ok(TraceWriter { sink: Mutex::new(Sink { out, next_seq: 1, error: None, finished: false }) })
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
        let written = serde_json::to_writer(&mut sink.out, &event)
            .map_err(io::Error::from)
            .and_then(|()| sink.out.write_all(b"\n"));
        if let Err(e) = written {
            sink.error = Some(e);
        }
    }

    /// How many events were written.
    pub fn events(&self) -> u64 {
        self.sink.lock().expect("trace lock").next_seq - 1
    }

    /// Closes the trace cleanly: writes the end record (with the number of
    /// events), flushes, and drops any event written later. A trace without
    /// its end record was cut short, and the validator says so. Returns the
    /// number of events; a second call writes nothing more.
    pub fn finish(&self) -> io::Result<u64> {
        let mut sink = self.sink.lock().expect("trace lock");
        let events = sink.next_seq - 1;
        if !sink.finished && sink.error.is_none() {
            sink.finished = true;
            let written = serde_json::to_writer(&mut sink.out, &EndRecord::new(events))
                .map_err(io::Error::from)
                .and_then(|()| sink.out.write_all(b"\n"));
            if let Err(e) = written {
                sink.error = Some(e);
            }
        }
        if let Some(e) = sink.error.take() {
            return Err(e);
        }
        sink.out.flush()?;
        Ok(events)
    }

    /// Writes out what is buffered; reports the first error of any write.
    pub fn flush(&self) -> io::Result<()> {
        let mut sink = self.sink.lock().expect("trace lock");
        if let Some(e) = sink.error.take() {
            return Err(e);
        }
        sink.out.flush()
    }
}

impl Drop for TraceWriter {
    fn drop(&mut self) {
        if let Ok(sink) = self.sink.get_mut() {
            let _ = sink.out.flush();
        }
    }
}
