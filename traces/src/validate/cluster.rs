//! The replayed cluster: the core's nodes as the trace says they ran, the
//! messages in flight, what each node saved and still has to save, and the
//! checks of each event (see [`super::Check`] for the rules).

use super::network::{Network, Refusal, Sent};
use super::{Check, Failure, Related};
use crate::digest::{Digest, LogDigester};
use crate::schema::{
    Event, PersistedSummary, StateSummary, TraceInput, TraceMessage, TraceNode, TraceOutput, TracePersistent,
};
use raftcheck_core::panic_guard::guarded;
use raftcheck_core::properties::{History, Opaque, Safety, ServiceState, StepRecord};
use raftcheck_core::{Config, Input, Node, NodeId, Output, Term};
use std::collections::{HashMap, VecDeque};

/// An apply the core asked for, with the step that asked, if that step put
/// a save before it: the apply waits for that save (the durability rule).
struct AskedApply {
    output: TraceOutput,
    after_save_of: Option<(u64, usize)>,
}

/// A save the core asked for, not yet written.
struct PendingSave {
    /// The state to save.
    state: TracePersistent,
    /// The digest of its log (computed at the step).
    log_digest: Digest,
    /// The sequence number and line of the step that asked for it.
    step: u64,
    line: usize,
}

/// What the validator knows of one server (its replayed node is kept apart,
/// in the cluster the properties look at).
#[derive(Default)]
struct Server {
    /// The digest of the node's log, kept current.
    log_digest: Digest,
    /// Computes it, re-chaining only what changed since the last time.
    digester: LogDigester,
    /// Whether it ever started (its first restart is taken as given).
    started: bool,
    /// What it last saved, as the core asked.
    saved: Option<TracePersistent>,
    /// The save the core asked for and the node has not written yet.
    pending: Option<PendingSave>,
    /// Applies the core asked for, not yet handed to the service.
    applies: VecDeque<AskedApply>,
    /// The line of the node's last crash, while it is down.
    crashed_at: Option<usize>,
    /// The line of the node's last event.
    last_line: usize,
}

pub(super) struct Validator {
    config: Config,
    /// The replayed nodes, `None` while down: the cluster the safety
    /// properties are evaluated on.
    nodes: Vec<Option<TraceNode>>,
    servers: Vec<Server>,
    /// What each node's service applied, from the node's apply outputs.
    services: Vec<ServiceState<Digest>>,
    /// The properties' ghost history (the model checker's own bookkeeping).
    history: History<Digest>,
    /// Messages sent and not yet delivered.
    network: Network,
    /// Steps whose save was lost: the node crashed before writing it. By
    /// the step's seq: the line of the crash.
    lost_saves: HashMap<u64, usize>,
    /// Where each node became the leader of each term: (term, node) → line.
    led_at: HashMap<(Term, NodeId), usize>,
    last_seq: u64,
    /// The line of the event being checked.
    current_line: usize,
    /// For each index from 1: the node and line of the step that first
    /// made it committed.
    committed_at: Vec<(NodeId, usize)>,
    /// For each index from 1: the node and line of its first apply.
    applied_at: Vec<(NodeId, usize)>,
}

/// A check failed (line, seq and node are filled in by the caller). Boxed:
/// a failure is rare and large, a success is the common, small case.
pub(super) fn fail(
    check: Check,
    message: impl Into<String>,
    expected: impl Into<String>,
    seen: impl Into<String>,
) -> Box<Failure> {
    Box::new(Failure {
        line: 0,
        seq: 0,
        node: 0,
        check,
        message: message.into(),
        expected: expected.into(),
        seen: seen.into(),
        property: None,
        related: Vec::new(),
    })
}

/// The same failure, naming an earlier event it conflicts with.
fn with_related(mut failure: Box<Failure>, line: usize, what: impl Into<String>) -> Box<Failure> {
    failure.related.push(Related { line, what: what.into() });
    failure
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl Validator {
    pub(super) fn new(config: Config, may_duplicate: bool) -> Self {
        let n = config.cluster_size();
        Validator {
            config,
            nodes: (0..n).map(|_| None).collect(),
            servers: (0..n).map(|_| Server::default()).collect(),
            services: vec![ServiceState::default(); n],
            history: History::default(),
            network: Network::new(may_duplicate),
            lost_saves: HashMap::new(),
            led_at: HashMap::new(),
            last_seq: 0,
            current_line: 0,
            committed_at: Vec::new(),
            applied_at: Vec::new(),
        }
    }

    /// Checks one event, at `line` of the file.
    pub(super) fn event(&mut self, event: &Event, line: usize) -> Result<(), Box<Failure>> {
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
        self.current_line = line;
        self.servers[n].last_line = line;
        match event {
            Event::Restart { state, .. } => self.restart(n, state),
            Event::Crash { .. } => self.crash(n, line),
            Event::Step { seq, input, outputs, state, .. } => self.step(n, *seq, line, input, outputs, state),
            Event::Persist { state, .. } => self.persist(n, state),
            Event::Applied { output, .. } => self.applied(n, output),
        }
    }

    fn restart(&mut self, n: NodeId, state: &TracePersistent) -> Result<(), Box<Failure>> {
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
        server.pending = None;
        server.crashed_at = None;
        server.applies.clear();
        let node = match Node::restart(n, state.clone()) {
            Ok(node) => node,
            Err(refused) => {
                let message = format!("the node restarted from a state the core refuses: {refused}");
                return Err(fail(Check::Persistence, message, "", json(state)));
            }
        };
        server.log_digest = server.digester.digest(node.log());
        self.services[n] = ServiceState::restored(node.log().snapshot_index(), node.snapshot(), &Opaque);
        self.nodes[n] = Some(node);
        self.history.observe_restart(&self.nodes[..], n, &Opaque);
        self.safety()
    }

    fn crash(&mut self, n: NodeId, line: usize) -> Result<(), Box<Failure>> {
        let server = &mut self.servers[n];
        if self.nodes[n].take().is_none() {
            return Err(fail(Check::Lifecycle, "a crash of a node that is not running", "", ""));
        }
        self.history.observe_crash(n);
        self.services[n] = ServiceState::default();
        // A crash may interrupt a save: the write is lost, and the restart
        // must read the previous one. Messages sent after that save in the
        // same step can never be delivered now.
        if let Some(pending) = server.pending.take() {
            self.lost_saves.insert(pending.step, line);
        }
        server.crashed_at = Some(line);
        Ok(())
    }

    fn step(
        &mut self,
        n: NodeId,
        seq: u64,
        line: usize,
        input: &TraceInput,
        outputs: &[TraceOutput],
        state: &StateSummary,
    ) -> Result<(), Box<Failure>> {
        let config = self.config;
        if self.nodes[n].is_none() {
            return Err(fail(Check::Lifecycle, "a step of a node that is not running (no restart before it)", "", ""));
        }
        if let Input::Receive { from, message } = input {
            self.deliver(*from, n, message, line)?;
        }
        let server = &mut self.servers[n];
        let node = self.nodes[n].as_mut().expect("checked above");
        if let Some(pending) = &server.pending {
            let message = "the node stepped again before saving the state its core asked it to save";
            let asked = PersistedSummary::with_log_digest(view(&pending.state), pending.log_digest);
            let failure = fail(Check::Persistence, message, json(&asked), "no save");
            return Err(with_related(failure, pending.line, format!("node {n}'s step that asked for the save")));
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
            server.log_digest = server.digester.digest(node.log());
        }
        let replayed_state = StateSummary::of(node, server.log_digest);
        if &replayed_state != state {
            let message = format!("the state after the step differs ({})", differing_fields(&replayed_state, state));
            return Err(fail(Check::Conformance, message, json(&replayed_state), json(state)));
        }
        let mut after_save = false;
        for output in &expected {
            match output {
                Output::Send { to, message } => {
                    self.network.send(n, *to, message, Sent { step: seq, line, after_save })
                }
                Output::Persist => {
                    let state = node.persistent_state(&config);
                    server.pending = Some(PendingSave { state, log_digest: server.log_digest, step: seq, line });
                    after_save = true;
                }
                Output::ApplyCommand { .. } | Output::ApplySnapshot { .. } => {
                    if let Output::ApplyCommand { index, .. } = output {
                        if self.applied_at.len() as u64 + 1 == *index {
                            self.applied_at.push((n, line));
                        }
                    }
                    let after_save_of = after_save.then_some((seq, line));
                    server.applies.push_back(AskedApply { output: output.clone(), after_save_of });
                }
                _ => {}
            }
        }
        while (self.committed_at.len() as u64) < node.commit_index() {
            self.committed_at.push((n, line));
        }
        if node.is_leader() && !before.is_leader() || node.is_leader() && node.term() != before.term() {
            self.led_at.entry((node.term(), n)).or_insert(line);
        }
        let step = StepRecord { node: n, before: &before, outputs: &expected };
        self.history.observe_step(&config, &self.nodes[..], step, &mut self.services[n], &Opaque);
        self.safety()
    }

    /// The safety properties, the model checker's own, on the cluster as it
    /// is now.
    fn safety(&self) -> Result<(), Box<Failure>> {
        let Some(property) = self.history.first_broken() else { return Ok(()) };
        let breach = self.history.detail.as_deref();
        let detail = breach.map_or(String::new(), |b| format!(": {b}"));
        let mut failure = fail(Check::Safety, format!("{} is broken{detail}", property.name()), "", "");
        failure.property = Some(property);
        if let Some(breach) = breach {
            // Where the index first became committed or applied, for the
            // properties that compare one index across nodes and time.
            let first_at = |lines: &[(NodeId, usize)], done: &str| {
                let index = breach.index.filter(|&i| i >= 1)?;
                let &(node, line) = lines.get(index as usize - 1)?;
                Some((line, format!("node {node} first {done} index {index}")))
            };
            let earlier = match property {
                Safety::StateMachineSafety | Safety::LeaderCompleteness => first_at(&self.committed_at, "committed"),
                Safety::AppliedAgreement => first_at(&self.applied_at, "applied"),
                _ => None,
            };
            if let Some((line, what)) = earlier.filter(|(line, _)| *line != self.current_line) {
                failure = with_related(failure, line, what);
            }
            for &node in &breach.nodes {
                // Where that node did what conflicts: for election safety,
                // where it became leader of the term; else its last event.
                let led = breach.term.filter(|_| property == Safety::ElectionSafety);
                let (line, what) = match led.and_then(|term| self.led_at.get(&(term, node))) {
                    Some(&line) => (line, format!("node {node} became leader of term {}", led.unwrap_or(0))),
                    None => (self.servers[node].last_line, format!("node {node}'s last event")),
                };
                // The failing event itself is the failure's own line.
                if line > 0 && line != self.current_line {
                    failure = with_related(failure, line, what);
                }
            }
        }
        Err(failure)
    }

    /// Takes the message off the network for its delivery to `to` at
    /// `line`: it must have been sent (and not delivered already, on a
    /// network that does not duplicate), and the save its step asked for
    /// before sending it must be written.
    fn deliver(&mut self, from: NodeId, to: NodeId, message: &TraceMessage, line: usize) -> Result<(), Box<Failure>> {
        let (servers, lost) = (&self.servers, &self.lost_saves);
        let saved = |sent: &Sent| {
            servers.get(from).is_none_or(|s| s.pending.as_ref().map(|p| p.step) != Some(sent.step))
                && !lost.contains_key(&sent.step)
        };
        let refusal = match self.network.deliver(from, to, message, line, saved) {
            Ok(()) => return Ok(()),
            Err(refusal) => refusal,
        };
        Err(match refusal {
            Refusal::NeverSent => {
                let what = format!("node {to} received a message that node {from} never sent it");
                fail(Check::Network, what, "a message sent before", json(message))
            }
            Refusal::Duplicate { delivered_at } => {
                let what = format!(
                    "node {to} received a message from node {from} once more than it was sent (a duplicate: \
                     the header does not set may_duplicate)"
                );
                let failure = fail(Check::Duplicate, what, "one delivery per send", json(message));
                with_related(failure, delivered_at, "the earlier delivery")
            }
            Refusal::NotSaved(sent) => {
                let step = format!("node {from}'s step that asked to save its state, then sent the message");
                match self.lost_saves.get(&sent.step) {
                    Some(&crash) => {
                        let what = format!(
                            "node {to} received a message that node {from} sent after asking to save its state, \
                             but node {from} crashed before writing that save"
                        );
                        let failure = fail(Check::Durability, what, "the save written before the delivery", "a crash");
                        with_related(with_related(failure, sent.line, step), crash, format!("node {from}'s crash"))
                    }
                    None => {
                        let what = format!(
                            "node {to} received a message that node {from} sent after asking to save its state, \
                             before that save was written"
                        );
                        let failure = fail(Check::Durability, what, "the save written first", "the delivery first");
                        with_related(failure, sent.line, step)
                    }
                }
            }
        })
    }

    fn persist(&mut self, n: NodeId, state: &PersistedSummary) -> Result<(), Box<Failure>> {
        let server = &mut self.servers[n];
        let Some(pending) = server.pending.take() else {
            let message = "the node saved a state its core did not ask it to save";
            return Err(fail(Check::Persistence, message, "no save", json(state)));
        };
        let expected = PersistedSummary::with_log_digest(view(&pending.state), pending.log_digest);
        if &expected != state {
            let message = "the node saved something else than the state its core asked it to save";
            return Err(fail(Check::Persistence, message, json(&expected), json(state)));
        }
        server.saved = Some(pending.state);
        Ok(())
    }

    fn applied(&mut self, n: NodeId, output: &TraceOutput) -> Result<(), Box<Failure>> {
        let server = &mut self.servers[n];
        if let Some(crashed_at) = server.crashed_at {
            let message = "the service was handed an apply after the node crashed (applies happen before the crash)";
            let failure = fail(Check::Durability, message, "no apply", json(output));
            return Err(with_related(failure, crashed_at, format!("node {n}'s crash")));
        }
        match server.applies.front() {
            Some(next) if next.output == *output => {
                if let Some((step, step_line)) = next.after_save_of {
                    if server.pending.as_ref().is_some_and(|pending| pending.step == step) {
                        let message = "the service was handed an apply that the node's step put after a save, \
                                       before that save was written";
                        let failure = fail(Check::Durability, message, "the save written first", "the apply first");
                        return Err(with_related(failure, step_line, format!("node {n}'s step that asked for both")));
                    }
                }
                server.applies.pop_front();
                Ok(())
            }
            next => {
                let message = "the service was handed something other than the next apply the core asked for";
                let expected = next.map_or("nothing".to_string(), |asked| json(&asked.output));
                Err(fail(Check::Apply, message, expected, json(output)))
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
