//! One node's file: its events read one ahead, each checked to be of the
//! file's node and numbered 1, 2, 3, ... in the file; how the file ends.

use super::{MergeError, Origin, Problem};
use crate::schema::TraceMessage;
use crate::schema::{Event, Header};
use crate::validate::read::{Line, LineReader};
use crate::validate::{Check, InputError};
use raftcheck_core::{NodeId, Output};
use std::collections::VecDeque;
use std::io::BufRead;

/// How a file ended, once it has no events left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    /// Events are left to read.
    Open,
    /// It ended with its end record.
    Ended,
    /// It has no end record (a version-1 file never has one): where it
    /// should be.
    Cut { line: usize },
}

/// A node's file, read one event ahead (or, once asked, to its end).
pub(super) struct Source<R> {
    pub(super) file: usize,
    lines: LineReader<R>,
    /// The events read and not yet taken, with their lines.
    queue: VecDeque<(Box<Event>, usize)>,
    /// The node whose events the file holds (from its first event).
    pub(super) node: Option<NodeId>,
    /// Events taken from the file.
    taken: u64,
    pub(super) ending: Ending,
    /// What is wrong with the file's numbering or its end, if anything.
    pub(super) problems: Vec<Problem>,
}

impl<R: BufRead> Source<R> {
    /// The file's header, and the file ready to give its first event.
    pub(super) fn open(file: usize, reader: R, max_line_bytes: usize) -> Result<(Header, Self), MergeError> {
        let mut lines = LineReader::new(reader, max_line_bytes);
        let header = lines.header().map_err(|error| MergeError::Input { file, error })?;
        let source = Source {
            file,
            lines,
            queue: VecDeque::new(),
            node: None,
            taken: 0,
            ending: Ending::Open,
            problems: Vec::new(),
        };
        Ok((header, source))
    }

    /// The next event, without taking it.
    pub(super) fn peek(&self) -> Option<&Event> {
        self.queue.front().map(|(event, _)| &**event)
    }

    /// The line of the next event, if any.
    pub(super) fn next_line(&self) -> Option<usize> {
        self.queue.front().map(|(_, line)| *line)
    }

    /// Takes the next event and its line; `merged` is the number it gets
    /// in the merged trace. Reads the one after it.
    pub(super) fn take(&mut self, merged: u64) -> Option<(Box<Event>, usize)> {
        let (event, line) = self.queue.pop_front()?;
        self.taken += 1;
        if event.seq() != self.taken && self.problems.is_empty() {
            self.problems.push(Problem {
                at: merged,
                origin: Origin { file: self.file, line },
                node: event.node(),
                check: Check::Sequence,
                message: format!("the file's event {} is numbered {}", self.taken, event.seq()),
                expected: self.taken.to_string(),
                seen: event.seq().to_string(),
            });
        }
        Some((event, line))
    }

    /// Reads the next event unless one is read already (or the file has
    /// none left). `version` is the header's: a version-1 file ends
    /// without a record.
    pub(super) fn advance(&mut self, version: u64) -> Result<(), MergeError> {
        if self.queue.is_empty() && self.ending == Ending::Open {
            self.read_one(version)?;
        }
        Ok(())
    }

    /// Whether a step of the file not yet taken sends `message` to `to`
    /// (the file is read to its end to tell).
    pub(super) fn sends_later(&mut self, to: NodeId, message: &TraceMessage, version: u64) -> Result<bool, MergeError> {
        while self.ending == Ending::Open {
            self.read_one(version)?;
        }
        let sends = |outputs: &[Output<_, _>]| {
            outputs.iter().any(|o| matches!(o, Output::Send { to: t, message: m } if *t == to && m == message))
        };
        Ok(self.queue.iter().any(|(event, _)| matches!(&**event, Event::Step { outputs, .. } if sends(outputs))))
    }

    /// Reads the file's next line: an event (checking its node), or how
    /// the file ends.
    fn read_one(&mut self, version: u64) -> Result<(), MergeError> {
        let file = self.file;
        let input = |error: InputError| MergeError::Input { file, error };
        match self.lines.next().map_err(input)? {
            Some(Line::Event(event)) => {
                let line = self.lines.number();
                match self.node {
                    Some(node) if node != event.node() => {
                        return Err(MergeError::MixedNodes { file, line, node, other: event.node() });
                    }
                    _ => self.node = Some(event.node()),
                }
                self.queue.push_back((event, line));
            }
            Some(Line::End(end)) => {
                let line = self.lines.number();
                self.ending = Ending::Ended;
                if end.events != self.taken {
                    let message = format!("the end record counts {} events, the file holds {}", end.events, self.taken);
                    self.problem(line, message, self.taken.to_string(), end.events.to_string());
                }
                if self.lines.next().map_err(input)?.is_some() {
                    let line = self.lines.number();
                    self.problem(
                        line,
                        "something follows the end record".into(),
                        "end of file".into(),
                        "a line".into(),
                    );
                }
            }
            Some(Line::CutShort) if version < 2 => {
                let message = "truncated: the last line has no end".to_string();
                return Err(input(InputError { line: Some(self.lines.number()), column: None, message }));
            }
            Some(Line::CutShort) => self.ending = Ending::Cut { line: self.lines.number() },
            None => self.ending = Ending::Cut { line: self.lines.number() + 1 },
        }
        Ok(())
    }

    /// A problem with the file's end, reported once every event is merged.
    fn problem(&mut self, line: usize, message: String, expected: String, seen: String) {
        let origin = Origin { file: self.file, line };
        let node = self.node.unwrap_or(0);
        self.problems.push(Problem { at: u64::MAX, origin, node, check: Check::Completeness, message, expected, seen });
    }
}
