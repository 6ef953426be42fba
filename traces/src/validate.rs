//! Validating a trace: each node's recorded steps are replayed through the
//! core (the correct one, unless a mutant is named), and every event is
//! checked:
//!
//! * **sequence**: events are numbered 1, 2, 3, ... in file order;
//! * **lifecycle**: a node steps only between a restart and a crash;
//! * **network**: a delivered message was sent before, with the same
//!   content, and no more often than it was sent;
//! * **conformance**: the core, fed the recorded input from the node's
//!   previous (validated) state, returns exactly the recorded outputs and
//!   leaves exactly the recorded state;
//! * **persistence**: what a node saved is what the core asked it to save,
//!   nothing is saved unasked or left unsaved before the node's next step
//!   (a crash may interrupt a save: that write is lost), and a restarted
//!   node starts from exactly what it last saved;
//! * **apply**: the service is handed exactly the applies the core asked
//!   for, in order;
//! * **safety**: the model checker's safety properties hold on the cluster
//!   after every step, crash and restart: the same functions the model
//!   checker calls ([`raftcheck_core::properties::History`]), with snapshot
//!   contents opaque (the checks that need a compacted command skip it).
//!
//! The first failing event ends the validation, reported with its line, what
//! was expected and what was seen. Malformed lines, an unknown version and a
//! truncated file are input errors, not verdicts.

use crate::digest::{log_digest, Digest};
use crate::schema::{
    Event, Header, PersistedSummary, StateSummary, TraceInput, TraceMessage, TraceNode, TraceOutput, TracePersistent,
    VERSION,
};
use raftcheck_core::panic_guard::guarded;
use raftcheck_core::properties::{History, Opaque, ServiceState, StepRecord};
use raftcheck_core::{Config, Input, Mutant, Node, NodeId, Output};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

/// How to validate.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Replay with this seeded bug instead of the correct core (to check a
    /// mutant's trace for everything but its own deviation).
    pub mutant: Option<Mutant>,
}

/// The verdict on a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every event passed every check.
    Valid,
    /// Some event failed a check.
    Invalid,
}

impl Verdict {
    /// The contract's name for the verdict.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
        }
    }
}

/// Which check an event failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Sequence,
    Lifecycle,
    Network,
    Conformance,
    Persistence,
    Apply,
    Safety,
}

impl Check {
    /// The check's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Check::Sequence => "sequence",
            Check::Lifecycle => "lifecycle",
            Check::Network => "network",
            Check::Conformance => "conformance",
            Check::Persistence => "persistence",
            Check::Apply => "apply",
            Check::Safety => "safety",
        }
    }
}

/// The first event that failed a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the event.
    pub line: usize,
    pub seq: u64,
    pub node: NodeId,
    pub check: Check,
    /// What is wrong, in one sentence.
    pub message: String,
    pub expected: String,
    pub seen: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} (event {}, node {}): {}: {}",
            self.line,
            self.seq,
            self.node,
            self.check.name(),
            self.message
        )?;
        if !self.expected.is_empty() || !self.seen.is_empty() {
            write!(f, "\n  expected: {}\n  seen:     {}", self.expected, self.seen)?;
        }
        Ok(())
    }
}

/// What validating a trace found.
#[derive(Clone, Debug)]
pub struct Report {
    pub verdict: Verdict,
    /// Events read (up to and including the failing one).
    pub events: u64,
    pub failure: Option<Failure>,
    pub elapsed: Duration,
}

/// A trace that cannot be read: the line and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for InputError {}

/// Validates the trace in the file at `path`.
pub fn validate_file(path: &Path, options: Options) -> Result<Report, InputError> {
    let file = std::fs::File::open(path)
        .map_err(|e| InputError { line: 0, message: format!("cannot open {}: {e}", path.display()) })?;
    validate_reader(std::io::BufReader::with_capacity(1 << 20, file), options)
}

/// Validates the trace read from `reader`.
pub fn validate_reader(mut reader: impl BufRead, options: Options) -> Result<Report, InputError> {
    let started = Instant::now();
    let mut line = Vec::new();
    let mut number = 0;
    let header = match next_line(&mut reader, &mut line, &mut number)? {
        Some(text) => parse_header(text, number)?,
        None => return Err(InputError { line: 1, message: "empty file: expected a trace header".into() }),
    };
    let config =
        header.config(options.mutant).map_err(|e| InputError { line: 1, message: format!("cluster_size: {e}") })?;
    let mut validator = Validator::new(config);
    let mut events = 0;
    while let Some(text) = next_line(&mut reader, &mut line, &mut number)? {
        let event: Event = serde_json::from_slice(text)
            .map_err(|e| InputError { line: number, message: format!("not a trace event: {e}") })?;
        events += 1;
        if let Err(failure) = validator.event(&event) {
            let failure = Failure { line: number, seq: event.seq(), node: event.node(), ..failure };
            return Ok(Report {
                verdict: Verdict::Invalid,
                events,
                failure: Some(failure),
                elapsed: started.elapsed(),
            });
        }
    }
    Ok(Report { verdict: Verdict::Valid, events, failure: None, elapsed: started.elapsed() })
}

/// The next non-blank line, without its end of line; an error for a last
/// line cut short (no end of line).
fn next_line<'a>(
    reader: &mut impl BufRead,
    buffer: &'a mut Vec<u8>,
    number: &mut usize,
) -> Result<Option<&'a [u8]>, InputError> {
    loop {
        buffer.clear();
        let read = reader
            .read_until(b'\n', buffer)
            .map_err(|e| InputError { line: *number + 1, message: format!("cannot read: {e}") })?;
        if read == 0 {
            return Ok(None);
        }
        *number += 1;
        if buffer.last() != Some(&b'\n') {
            return Err(InputError { line: *number, message: "truncated: the last line has no end".into() });
        }
        if buffer.iter().any(|b| !b.is_ascii_whitespace()) {
            return Ok(Some(buffer.as_slice()));
        }
    }
}

fn parse_header(text: &[u8], line: usize) -> Result<Header, InputError> {
    let error = |message: String| InputError { line, message };
    let value: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| error(format!("expected a trace header, not valid JSON ({e})")))?;
    match value.get("raftcheck_trace").and_then(serde_json::Value::as_u64) {
        Some(VERSION) => {}
        Some(other) => return Err(error(format!("trace format version {other}; this build reads version {VERSION}"))),
        None => return Err(error("expected a trace header with \"raftcheck_trace\": <version>".into())),
    }
    serde_json::from_value(value).map_err(|e| error(format!("bad trace header: {e}")))
}

/// What the validator knows of one server (its replayed node is kept apart,
/// in the cluster the properties look at).
#[derive(Default)]
struct Server {
    /// The digest of the node's log, kept current.
    log_digest: Digest,
    /// Whether it ever started (its first restart is taken as given).
    started: bool,
    /// What it last saved, as the core asked.
    saved: Option<TracePersistent>,
    /// What the core asked it to save, not yet reported saved.
    unsaved: Option<TracePersistent>,
    /// Applies the core asked for, not yet handed to the service.
    applies: VecDeque<TraceOutput>,
}

struct Validator {
    config: Config,
    /// The replayed nodes, `None` while down: the cluster the safety
    /// properties are evaluated on.
    nodes: Vec<Option<TraceNode>>,
    servers: Vec<Server>,
    /// What each node's service applied, from the node's apply outputs.
    services: Vec<ServiceState<Digest>>,
    /// The properties' ghost history (the model checker's own bookkeeping).
    history: History<Digest>,
    /// Messages sent and not yet delivered: (from, to, message) → copies.
    network: HashMap<(NodeId, NodeId, TraceMessage), u32>,
    last_seq: u64,
}

/// A check failed (line, seq and node are filled in by the caller).
fn fail(check: Check, message: impl Into<String>, expected: impl Into<String>, seen: impl Into<String>) -> Failure {
    Failure { line: 0, seq: 0, node: 0, check, message: message.into(), expected: expected.into(), seen: seen.into() }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl Validator {
    fn new(config: Config) -> Self {
        let n = config.cluster_size();
        Validator {
            config,
            nodes: (0..n).map(|_| None).collect(),
            servers: (0..n).map(|_| Server::default()).collect(),
            services: vec![ServiceState::default(); n],
            history: History::default(),
            network: HashMap::new(),
            last_seq: 0,
        }
    }

    fn event(&mut self, event: &Event) -> Result<(), Failure> {
        let seq = event.seq();
        if seq != self.last_seq + 1 {
            let message = "events must be numbered 1, 2, 3, ... in file order (a line is missing or misplaced)";
            return Err(fail(Check::Sequence, message, (self.last_seq + 1).to_string(), seq.to_string()));
        }
        self.last_seq = seq;
        let n = event.node();
        if n >= self.servers.len() {
            let message = format!("node {n} is not in the cluster of {}", self.servers.len());
            return Err(fail(Check::Lifecycle, message, "", ""));
        }
        match event {
            Event::Restart { state, .. } => self.restart(n, state),
            Event::Crash { .. } => self.crash(n),
            Event::Step { input, outputs, state, .. } => self.step(n, input, outputs, state),
            Event::Persist { state, .. } => self.persist(n, state),
            Event::Applied { output, .. } => self.applied(n, output),
        }
    }

    fn restart(&mut self, n: NodeId, state: &TracePersistent) -> Result<(), Failure> {
        let server = &mut self.servers[n];
        if self.nodes[n].is_some() {
            return Err(fail(Check::Lifecycle, "a restart of a running node (no crash before it)", "", ""));
        }
        if server.started {
            let expected = server.saved.clone().unwrap_or_default();
            if &expected != state {
                let message = "the node restarted from a state that is not the last one it saved";
                return Err(fail(Check::Persistence, message, json(&expected), json(state)));
            }
        }
        server.started = true;
        server.saved = Some(state.clone());
        server.unsaved = None;
        server.applies.clear();
        let node = match Node::restart(n, state.clone()) {
            Ok(node) => node,
            Err(refused) => {
                let message = format!("the node restarted from a state the core refuses: {refused}");
                return Err(fail(Check::Persistence, message, "", json(state)));
            }
        };
        server.log_digest = log_digest(node.log());
        self.services[n] = ServiceState::restored(node.log().snapshot_index(), node.snapshot(), &Opaque);
        self.nodes[n] = Some(node);
        self.history.observe_restart(&self.nodes[..], n, &Opaque);
        self.safety()
    }

    fn crash(&mut self, n: NodeId) -> Result<(), Failure> {
        let server = &mut self.servers[n];
        if self.nodes[n].take().is_none() {
            return Err(fail(Check::Lifecycle, "a crash of a node that is not running", "", ""));
        }
        self.history.observe_crash(n);
        self.services[n] = ServiceState::default();
        // A crash may interrupt a save: the write is lost, and the restart
        // must read the previous one.
        server.unsaved = None;
        Ok(())
    }

    fn step(
        &mut self,
        n: NodeId,
        input: &TraceInput,
        outputs: &[TraceOutput],
        state: &StateSummary,
    ) -> Result<(), Failure> {
        let config = self.config;
        let server = &mut self.servers[n];
        let Some(node) = self.nodes[n].as_mut() else {
            return Err(fail(Check::Lifecycle, "a step of a node that is not running (no restart before it)", "", ""));
        };
        if let Some(unsaved) = &server.unsaved {
            let message = "the node stepped again before saving the state its core asked it to save";
            return Err(fail(Check::Persistence, message, json(&PersistedSummary::of(view(unsaved))), "no save"));
        }
        if let Input::Receive { from, message } = input {
            let key = (*from, n, message.clone());
            match self.network.get_mut(&key) {
                Some(copies) if *copies > 0 => *copies -= 1,
                _ => {
                    let what =
                        format!("node {n} received a message that node {from} never sent it (or not that often)");
                    return Err(fail(Check::Network, what, "a message sent before", json(message)));
                }
            }
        }
        let before = node.clone();
        // The one panic guard: a panic of the core is a failure of the trace,
        // kept off the terminal.
        let replayed = guarded(|| node.step(&config, input.clone()));
        let expected = match replayed {
            Ok(outputs) => outputs,
            Err(_) => {
                self.nodes[n] = None;
                return Err(fail(Check::Conformance, "the core panicked on this input", "", json(input)));
            }
        };
        if expected.as_slice() != outputs {
            let at =
                expected.iter().zip(outputs).position(|(a, b)| a != b).unwrap_or(expected.len().min(outputs.len()));
            let message = format!("the core's outputs differ from the recorded ones, from output {}", at + 1);
            return Err(fail(Check::Conformance, message, json(&expected), json(&outputs)));
        }
        if expected.contains(&Output::Persist) {
            server.log_digest = log_digest(node.log());
        }
        let replayed_state = StateSummary::of(node, server.log_digest);
        if &replayed_state != state {
            let message = format!("the state after the step differs ({})", differing_fields(&replayed_state, state));
            return Err(fail(Check::Conformance, message, json(&replayed_state), json(state)));
        }
        for output in &expected {
            match output {
                Output::Send { to, message } => *self.network.entry((n, *to, message.clone())).or_insert(0) += 1,
                Output::Persist => server.unsaved = Some(node.persistent_state(&config)),
                Output::ApplyCommand { .. } | Output::ApplySnapshot { .. } => server.applies.push_back(output.clone()),
                _ => {}
            }
        }
        let step = StepRecord { node: n, before: &before, outputs: &expected };
        self.history.observe_step(&config, &self.nodes[..], step, &mut self.services[n], &Opaque);
        self.safety()
    }

    /// The safety properties, the model checker's own, on the cluster as it
    /// is now.
    fn safety(&self) -> Result<(), Failure> {
        match self.history.first_broken() {
            None => Ok(()),
            Some(property) => {
                let detail = self.history.detail.as_deref().map_or(String::new(), |d| format!(": {d}"));
                let message = format!("{} is broken{detail}", property.name());
                Err(fail(Check::Safety, message, "", ""))
            }
        }
    }

    fn persist(&mut self, n: NodeId, state: &PersistedSummary) -> Result<(), Failure> {
        let server = &mut self.servers[n];
        let Some(asked) = server.unsaved.take() else {
            let message = "the node saved a state its core did not ask it to save";
            return Err(fail(Check::Persistence, message, "no save", json(state)));
        };
        let expected = PersistedSummary::of(view(&asked));
        if &expected != state {
            let message = "the node saved something else than the state its core asked it to save";
            return Err(fail(Check::Persistence, message, json(&expected), json(state)));
        }
        server.saved = Some(asked);
        Ok(())
    }

    fn applied(&mut self, n: NodeId, output: &TraceOutput) -> Result<(), Failure> {
        let server = &mut self.servers[n];
        match server.applies.front() {
            Some(next) if next == output => {
                server.applies.pop_front();
                Ok(())
            }
            next => {
                let message = "the service was handed something other than the next apply the core asked for";
                Err(fail(Check::Apply, message, next.map_or("nothing".to_string(), json), json(output)))
            }
        }
    }
}

fn view(state: &TracePersistent) -> raftcheck_core::PersistentView<'_, Digest, Digest> {
    raftcheck_core::PersistentView {
        term: state.term,
        voted_for: state.voted_for,
        log: &state.log,
        snapshot: state.snapshot.as_ref(),
    }
}

/// The names of the fields in which two summaries differ.
fn differing_fields(a: &StateSummary, b: &StateSummary) -> String {
    let mut fields = Vec::new();
    let mut check = |name: &str, differ: bool| {
        if differ {
            fields.push(name.to_string());
        }
    };
    check("term", a.term != b.term);
    check("voted_for", a.voted_for != b.voted_for);
    check("role", a.role != b.role);
    check("commit_index", a.commit_index != b.commit_index);
    check("last_applied", a.last_applied != b.last_applied);
    check("snapshot", (a.snapshot_index, a.snapshot_term) != (b.snapshot_index, b.snapshot_term));
    check("last entry", (a.last_index, a.last_term) != (b.last_index, b.last_term));
    check("log_digest", a.log_digest != b.log_digest);
    fields.join(", ")
}
