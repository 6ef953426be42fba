//! The reconstructed cluster: each node as the trace has shown it, the
//! messages sent, and the spec's actions, each checking its rules.

use super::log::{Bounds, Log};
use super::{rules, Checked, Config, Id};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;
use std::rc::Rc;

/// A node's role (§5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower,
    Candidate,
    Leader,
}

/// What an event shows of its node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeState {
    pub term: u64,
    /// The vote in `term`, 0 for none.
    pub vote: Id,
    pub commit: u64,
    pub role: Option<Role>,
    /// The index of the last log entry.
    pub last: u64,
    pub config: Config,
    /// The index of the last entry applied, if the trace says.
    pub applied: Option<u64>,
    /// The snapshot point (index, and term if known), if the trace says.
    pub snapshot: Option<(u64, Option<u64>)>,
}

/// The kinds of message the spec knows (§5: RequestVote, AppendEntries and
/// their responses; heartbeats and snapshots as AppendEntries).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    App,
    Heartbeat,
    Snapshot,
    AppResp,
    HeartbeatResp,
    Vote,
    VoteResp,
    /// A pre-vote request or answer (§9.6 of the thesis): no vote is cast.
    PreVote,
    PreVoteResp,
    /// Any other message an implementation names (etcd's ReadIndex,
    /// TimeoutNow, ...), by the index of its name in the reader's table:
    /// matched between send and receive, with no effect on the spec.
    Other(u8),
}

/// A message as a trace shows it. `entries` is a count (for a snapshot:
/// the snapshot's index), not the entries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Message {
    pub kind: MessageKind,
    pub term: u64,
    pub from: Id,
    pub to: Id,
    pub entries: u64,
    pub log_term: u64,
    pub index: u64,
    pub commit: u64,
    pub vote: Id,
    pub reject: bool,
    pub reject_hint: u64,
}

impl Message {
    /// A message of `kind` in `term` from `from` to `to`, every other
    /// field zero (no entries, no commit, not a rejection).
    pub fn bare(kind: MessageKind, term: u64, from: Id, to: Id) -> Message {
        Message {
            kind,
            term,
            from,
            to,
            entries: 0,
            log_term: 0,
            index: 0,
            commit: 0,
            vote: 0,
            reject: false,
            reject_hint: 0,
        }
    }
}

/// A message sent and not yet received: how many copies are in flight,
/// where it was (last) sent, and the terms of the entries it carried as
/// the sender's log knew them.
struct Sent {
    copies: u32,
    line: usize,
    entries: Rc<[Bounds]>,
}

/// An AppendEntries received, kept until the receiver answers it.
struct Append {
    /// The request's term: only an answer of that term answers it.
    term: u64,
    /// The previous entry's index and term, as the leader sent them.
    prev: u64,
    prev_term: u64,
    /// The entries' term bounds, as the leader's log knew them.
    entries: Rc<[Bounds]>,
    /// The receiver's last index when it received the request.
    had: u64,
    /// The receiver's commit index when it received the request: entries
    /// up to it were committed before this request could replace them
    /// (what the request itself lets it commit comes after).
    committed: u64,
}

/// A snapshot received, kept until the receiver answers it.
struct Snapshot {
    /// Its term: only an answer of that term answers it.
    term: u64,
    /// Its last included index.
    index: u64,
    /// The receiver's commit index and last index when it arrived.
    committed: u64,
    had: u64,
    /// The bounds of the receiver's entry at `index` when it arrived.
    held: Option<Bounds>,
}

/// A node of the reconstructed cluster.
#[derive(Default)]
struct Node {
    state: NodeState,
    log: Log,
    /// The candidate voted for in `voted.0`, and the line showing it.
    voted: Option<(u64, Id, usize)>,
    /// The votes received in the current term (as candidate).
    votes: BTreeSet<Id>,
    /// As leader: the highest index each node acknowledged in this term.
    matched: HashMap<Id, u64>,
    /// The highest commit index a leader sent this node.
    told: u64,
    /// What the node last persisted: term and commit.
    durable: (u64, u64),
    /// The last RequestVote received from each candidate: (term, last
    /// log term, last log index).
    vote_requests: HashMap<Id, (u64, u64, u64)>,
    /// The last AppendEntries received from each leader.
    appends: HashMap<Id, Append>,
    /// The last snapshot received from each leader, until it is answered.
    snapshots: HashMap<Id, Snapshot>,
    /// Whether the node has been seen yet.
    seen: bool,
}

/// A node as known exactly (by the model checker, which holds the core's
/// state), to start a [`Cluster`] from: see [`Cluster::seed`].
#[derive(Clone, Debug, Default)]
pub struct Seed {
    /// What the node shows.
    pub state: NodeState,
    /// Its log, terms exact.
    pub log: Log,
    /// As candidate: the nodes that granted their votes in this term.
    pub votes: Vec<Id>,
    /// As leader: the highest index each node acknowledged in this term.
    pub matched: Vec<(Id, u64)>,
    /// The term on stable storage.
    pub durable_term: u64,
}

/// The cluster reconstructed from a trace.
#[derive(Default)]
pub struct Cluster {
    nodes: HashMap<Id, Node>,
    /// The leader of each term, and the line it was first seen leading.
    leaders: HashMap<u64, (Id, usize)>,
    /// Messages in flight.
    sent: HashMap<Message, Sent>,
    /// Fingerprints of the messages delivered as often as they were sent:
    /// the network may deliver them again (duplication). Only a 64-bit
    /// fingerprint is kept of each, so that a message's content is held
    /// only while it is in flight (the set still grows by 8 bytes or so per
    /// distinct message delivered).
    delivered: HashSet<u64>,
    /// Whether nodes persist their commit index (etcd's HardState does;
    /// the paper's Figure 2 keeps it volatile, as the 6.824 Raft does):
    /// only then may a restart not come back below it.
    volatile_commit: bool,
}

impl Cluster {
    pub fn new() -> Cluster {
        Cluster::default()
    }

    /// Nodes keep their commit index in volatile state only (Figure 2):
    /// a restart may come back with a lower one. By default the commit
    /// index is taken to be saved with the term and vote, as etcd does.
    pub fn set_volatile_commit(&mut self, volatile: bool) {
        self.volatile_commit = volatile;
    }

    fn node(&mut self, id: Id) -> &mut Node {
        self.nodes.entry(id).or_default()
    }

    /// Starts node `id` from what is known of it exactly (the model's
    /// state before a step): the step's events are then checked against
    /// it as if the trace had led there. What a leader told the node is
    /// taken to be its commit index.
    pub fn seed(&mut self, id: Id, seed: Seed) {
        let Seed { state, log, votes, matched, durable_term } = seed;
        let node = self.node(id);
        node.voted = (state.vote != 0).then_some((state.term, state.vote, 0));
        node.votes = votes.into_iter().collect();
        node.matched = matched.into_iter().collect();
        node.told = state.commit;
        node.durable = (durable_term, state.commit);
        node.log = log;
        node.state = state;
        node.seen = true;
    }

    /// Node `id` is known to have led `term`.
    pub fn seed_leader(&mut self, term: u64, id: Id) {
        self.leaders.entry(term).or_insert((id, 0));
    }

    /// `message` is in flight, carrying entries of the terms `entries`.
    pub fn seed_sent(&mut self, message: Message, entries: Vec<Bounds>) {
        let sent = self.sent.entry(message).or_insert(Sent { copies: 0, line: 0, entries: Rc::from(entries) });
        sent.copies = sent.copies.saturating_add(1);
    }

    /// Whether `id` has shown any state yet.
    pub fn knows(&self, id: Id) -> bool {
        self.nodes.get(&id).is_some_and(|n| n.seen)
    }

    /// The node's state as last shown.
    pub fn state(&self, id: Id) -> Option<&NodeState> {
        self.nodes.get(&id).map(|n| &n.state)
    }

    /// The node's initial state, taken as the trace gives it (the
    /// bootstrap of a new cluster: etcd's initial configuration entries).
    pub fn adopt(&mut self, id: Id, state: &NodeState) {
        let node = self.node(id);
        node.log.resize(state.last, state.term, false);
        node.told = node.told.max(state.commit);
        node.durable = (state.term, state.commit);
        node.voted = (state.vote != 0).then_some((state.term, state.vote, 0));
        node.state = state.clone();
        node.seen = true;
    }

    /// A restart from stable storage (etcd spec action Restart): the term
    /// (and the commit index, unless it is volatile) are at least what the
    /// node persisted; volatile state is lost.
    pub fn restart(&mut self, id: Id, state: &NodeState) -> Checked {
        let volatile_commit = self.volatile_commit;
        let node = self.node(id);
        if node.seen {
            rules::term_not_lower(node.durable.0, state.term, true)?;
            if !volatile_commit {
                rules::commit_not_lower(node.durable.1, state.commit, true)?;
            }
        }
        node.votes.clear();
        node.matched.clear();
        node.vote_requests.clear();
        node.appends.clear();
        node.snapshots.clear();
        self.adopt(id, state);
        // What the node appended after its last save is lost, and the
        // entries it reads back may be older ones of other terms: only the
        // committed prefix it restarted with is certain (§5.4).
        let node = self.node(id);
        node.log.widen(state.commit, u64::MAX, state.term);
        Ok(())
    }

    /// The state an event shows of its node, checked against what the
    /// node showed before (the rules on terms, votes, leaders and commit
    /// indexes), then taken as the node's state.
    pub fn observe(&mut self, id: Id, state: &NodeState, line: usize) -> Checked {
        if !self.knows(id) {
            self.adopt(id, state);
        }
        let node = self.nodes.get_mut(&id).expect("adopted");
        rules::term_not_lower(node.state.term, state.term, false)?;
        if state.term > node.state.term {
            node.votes.clear();
            node.matched.clear();
        }
        if state.vote != 0 {
            let earlier = node.voted.filter(|v| v.0 == state.term).map(|v| (v.1, v.2));
            rules::one_vote(id, state.term, state.vote, earlier)?;
            if earlier.is_none() {
                node.voted = Some((state.term, state.vote, line));
            }
        }
        if state.role == Some(Role::Leader) {
            rules::one_leader(state.term, id, self.leaders.get(&state.term).copied())?;
            self.leaders.entry(state.term).or_insert((id, line));
        }
        let node = self.nodes.get_mut(&id).expect("adopted");
        rules::log_keeps_committed(id, node.state.commit, state.last)?;
        node.log.resize(state.last, state.term, state.role == Some(Role::Leader));
        rules::commit_not_lower(node.state.commit, state.commit, false)?;
        if let Some((index, term)) = state.snapshot {
            rules::only_committed_applied(id, "compacted its log up to", index, state.commit)?;
            if let Some(term) = term {
                node.log.learn(index, term);
            }
        }
        if let Some(applied) = state.applied {
            rules::only_committed_applied(id, "applied", applied, state.commit)?;
        }
        if state.commit > node.state.commit {
            rules::commit_within_log(id, state.commit, state.last)?;
            if state.role == Some(Role::Leader) && state.commit > node.told {
                let last = node.log.last();
                let held = state.config.quorum_index(|v| {
                    let acked = node.matched.get(&v).copied().unwrap_or(0);
                    if v == id {
                        acked.max(last)
                    } else {
                        acked
                    }
                });
                rules::leader_commit(id, state.commit, held.max(node.told), &state.config)?;
                rules::commit_current_term(id, state.commit, state.term, node.log.bounds(state.commit))?;
            } else if state.role != Some(Role::Leader) {
                rules::follower_commit(id, state.commit, node.told)?;
            }
        }
        node.state = state.clone();
        Ok(())
    }

    /// §5.2 (etcd spec action Timeout): the node starts an election in a
    /// new term, voting for itself.
    pub fn become_candidate(&mut self, id: Id) -> Checked {
        let node = self.node(id);
        rules::candidate_votes_for_itself(id, node.state.term, node.state.vote)?;
        node.votes.clear();
        node.votes.insert(id);
        Ok(())
    }

    /// §5.2 (etcd spec action BecomeLeader): the node has won the
    /// election of its term (the one-leader rule was checked when its
    /// state showed it leading).
    pub fn become_leader(&mut self, id: Id) -> Checked {
        let node = self.node(id);
        if node.state.vote == id {
            node.votes.insert(id);
        }
        rules::election_quorum(id, node.state.term, &node.state.config, &node.votes)?;
        node.matched.clear();
        Ok(())
    }

    /// etcd spec action Ready: the node persists its state.
    pub fn persist(&mut self, id: Id) {
        let node = self.node(id);
        node.durable = (node.state.term, node.state.commit);
    }

    /// The node sends `message` (§5: RequestVote, AppendEntries and their
    /// responses). What the message says of the sender's log is learned;
    /// a vote granted is checked (one per term, an up-to-date candidate);
    /// an AppendEntries accepted copies the leader's entries.
    pub fn send(&mut self, id: Id, message: &Message, line: usize) -> Checked {
        let node = self.node(id);
        let mut carried: Rc<[Bounds]> = Rc::from(Vec::new());
        match message.kind {
            MessageKind::App => {
                node.log.learn(message.index, message.log_term);
                let last = message.index.saturating_add(message.entries);
                carried = Rc::from(node.log.range(message.index.saturating_add(1), last));
                rules::told_commit_held(id, message.commit, node.state.commit)?;
            }
            MessageKind::Heartbeat => rules::told_commit_held(id, message.commit, node.state.commit)?,
            MessageKind::Vote => node.log.learn(message.index, message.log_term),
            MessageKind::VoteResp if !message.reject && message.to != id => {
                let earlier = node.voted.filter(|v| v.0 == message.term).map(|v| (v.1, v.2));
                rules::one_vote(id, message.term, message.to, earlier)?;
                if earlier.is_none() {
                    node.voted = Some((message.term, message.to, line));
                }
                if let Some(&(_, last_term, last_index)) = node.vote_requests.get(&message.to) {
                    rules::vote_up_to_date(id, &node.log, last_term, last_index)?;
                }
            }
            MessageKind::AppResp if message.to != id => {
                if let Some(snapshot) = node.snapshots.remove(&message.to).filter(|s| s.term == message.term) {
                    // The snapshot's term, if the state says it (snapshotTerm).
                    let term = node.state.snapshot.filter(|(i, _)| *i == snapshot.index).and_then(|(_, t)| t);
                    let matched = term.is_some_and(|t| snapshot.held == Some(Bounds::exact(t)));
                    let Snapshot { index, committed, had, .. } = snapshot;
                    rules::snapshot_keeps_what_matches(id, index, index <= committed || matched, had, node.log.last())?;
                }
                // The answer to the last AppendEntries from that leader: if
                // it accepted all of it, the entries are the leader's.
                if let Some(append) = node.appends.remove(&message.to) {
                    let Append { term, prev, prev_term, entries, had, committed } = append;
                    let answers = term == message.term && !message.reject;
                    if answers && prev.saturating_add(entries.len() as u64) == message.index {
                        rules::append_matches(id, prev, prev_term, had, node.log.bounds(prev))?;
                        node.log.learn(prev, prev_term);
                        for (k, &new) in entries.iter().enumerate() {
                            let index = prev.saturating_add(1 + k as u64);
                            if index > committed {
                                break;
                            }
                            rules::committed_entry_kept(id, index, node.log.bounds(index), new)?;
                        }
                        node.log.copy(prev.saturating_add(1), &entries);
                        let end = prev.saturating_add(entries.len() as u64);
                        if let (Some(copied), Some(next)) = (entries.last(), node.log.bounds(end.saturating_add(1))) {
                            rules::suffix_after_append(id, end, *copied, next)?;
                        }
                    }
                }
            }
            _ => {}
        }
        let sent = self.sent.entry(message.clone()).or_insert(Sent { copies: 0, line, entries: carried });
        sent.copies = sent.copies.saturating_add(1);
        sent.line = line;
        Ok(())
    }

    /// The node receives `message`: it must have been sent (duplicates are
    /// allowed, as the network may duplicate). What it tells the receiver
    /// is recorded: a vote, an acknowledgement, a commit index, a request
    /// to answer.
    pub fn receive(&mut self, id: Id, message: &Message) -> Checked {
        let entries = match self.sent.get_mut(message) {
            Some(sent) => {
                sent.copies -= 1;
                let entries = sent.entries.clone();
                if sent.copies == 0 {
                    self.sent.remove(message);
                    self.delivered.insert(fingerprint(message));
                }
                Some(entries)
            }
            None => self.delivered.contains(&fingerprint(message)).then(|| Rc::from(Vec::new())),
        };
        rules::message_sent(entries.is_some(), || describe(message)).map_err(|mut v| {
            // The closest message that was sent (same kind, ends and term),
            // to show what differs.
            let near = self
                .sent
                .iter()
                .filter(|(m, _)| {
                    (m.kind, m.from, m.to, m.term) == (message.kind, message.from, message.to, message.term)
                })
                .min_by_key(|(m, s)| (m.index.abs_diff(message.index), s.line));
            if let Some((m, s)) = near {
                v.related.push((s.line, format!("the closest message sent: {}", describe(m))));
            }
            v
        })?;
        let entries = entries.unwrap_or_else(|| Rc::from(Vec::new()));
        let node = self.node(id);
        match message.kind {
            MessageKind::Vote => {
                node.vote_requests.insert(message.from, (message.term, message.log_term, message.index));
            }
            MessageKind::VoteResp if !message.reject && message.term == node.state.term => {
                node.votes.insert(message.from);
            }
            MessageKind::App => {
                node.told = node.told.max(message.commit.min(message.index.saturating_add(message.entries)));
                // A newer request from that leader: a snapshot it sent
                // before and left unanswered is not what the next answer
                // answers.
                node.snapshots.remove(&message.from);
                let append = Append {
                    term: message.term,
                    prev: message.index,
                    prev_term: message.log_term,
                    entries,
                    had: node.log.last(),
                    committed: node.state.commit,
                };
                node.appends.insert(message.from, append);
            }
            MessageKind::Heartbeat => node.told = node.told.max(message.commit),
            MessageKind::Snapshot => {
                node.told = node.told.max(message.entries).max(message.commit);
                // The follower may install it, replacing its uncommitted
                // entries up to it with the leader's: what its log held
                // there before no longer pins their terms. An AppendEntries
                // from that leader left unanswered is not what the answer
                // to the snapshot answers.
                let held = node.log.bounds(message.entries);
                let (term, index, committed, had) = (message.term, message.entries, node.state.commit, node.log.last());
                let snapshot = Snapshot { term, index, committed, had, held };
                node.log.widen(node.state.commit, message.entries, message.term);
                node.appends.remove(&message.from);
                node.snapshots.insert(message.from, snapshot);
            }
            MessageKind::AppResp if !message.reject && message.term == node.state.term => {
                let acked = node.matched.entry(message.from).or_insert(0);
                *acked = (*acked).max(message.index);
            }
            _ => {}
        }
        Ok(())
    }

    /// A receive the trace writes in a kind of its own (an extra kind such
    /// as ReceiveReadIndex), whose send may not have been traced: taken as
    /// a receive if the message was sent, else ignored.
    pub fn receive_if_sent(&mut self, id: Id, message: &Message) -> Checked {
        if self.sent.contains_key(message) {
            return self.receive(id, message);
        }
        Ok(())
    }

    /// How many messages are in flight (sent, not yet received).
    pub fn in_flight(&self) -> usize {
        self.sent.values().map(|s| s.copies as usize).sum()
    }
}

/// A message's 64-bit fingerprint (a fixed-key hash: the same in every
/// run), kept for messages already delivered.
fn fingerprint(message: &Message) -> u64 {
    FIXED.hash_one(message)
}

/// The fixed-key hasher of fingerprints.
const FIXED: std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher> =
    std::hash::BuildHasherDefault::new();

/// A message in words, for reports.
pub fn describe(m: &Message) -> String {
    format!(
        "{:?} from {} to {} (term {}, index {}, logTerm {}, entries {}, commit {}, reject {})",
        m.kind, m.from, m.to, m.term, m.index, m.log_term, m.entries, m.commit, m.reject
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(term: u64, vote: Id, commit: u64, role: Role, last: u64) -> NodeState {
        NodeState {
            term,
            vote,
            commit,
            role: Some(role),
            last,
            config: Config::new(vec![1, 2, 3], vec![]),
            ..Default::default()
        }
    }

    fn message(kind: MessageKind, term: u64, from: Id, to: Id) -> Message {
        Message::bare(kind, term, from, to)
    }

    /// Node 2 holds entries of terms 1, 1, 2 and takes a leader's entry 3 of
    /// term 3 (the spec now knows entry 3 is of term 3), then crashes before
    /// saving it and restarts with its old log: a candidate whose last
    /// entry is (term 2, index 3), as up to date as the saved log, may
    /// have its vote.
    #[test]
    fn a_restart_forgets_the_terms_of_unsaved_entries() {
        let mut cluster = Cluster::new();
        cluster.set_volatile_commit(true);
        cluster.adopt(2, &state(2, 0, 0, Role::Follower, 3));
        cluster.nodes.get_mut(&2).unwrap().log = Log::exact(0, [1, 1, 2]);
        let app = Message { index: 2, log_term: 1, entries: 1, ..message(MessageKind::App, 3, 1, 2) };
        cluster.adopt(1, &state(3, 1, 0, Role::Leader, 3));
        cluster.nodes.get_mut(&1).unwrap().log = Log::exact(0, [1, 1, 3]);
        cluster.send(1, &app, 1).unwrap();
        cluster.receive(2, &app).unwrap();
        cluster.observe(2, &state(3, 0, 0, Role::Follower, 3), 2).unwrap();
        let ack = Message { index: 3, ..message(MessageKind::AppResp, 3, 2, 1) };
        cluster.send(2, &ack, 3).unwrap();
        assert_eq!(cluster.nodes[&2].log.bounds(3), Some(Bounds::exact(3)));
        cluster.restart(2, &state(3, 0, 0, Role::Follower, 3)).unwrap();
        let request = Message { index: 3, log_term: 2, ..message(MessageKind::Vote, 4, 3, 2) };
        cluster.adopt(3, &state(4, 3, 0, Role::Candidate, 3));
        cluster.send(3, &request, 4).unwrap();
        cluster.receive(2, &request).unwrap();
        cluster.observe(2, &state(4, 3, 0, Role::Follower, 3), 5).unwrap();
        let grant = message(MessageKind::VoteResp, 4, 2, 3);
        assert!(cluster.send(2, &grant, 6).is_ok(), "the saved log ends with term 2: the vote is allowed");
    }

    /// An AppendEntries of an older term left unanswered is not what a
    /// later answer, to a snapshot, answers.
    #[test]
    fn an_answer_answers_the_request_of_its_term() {
        let mut cluster = Cluster::new();
        cluster.adopt(1, &state(2, 1, 0, Role::Leader, 10));
        cluster.adopt(2, &state(3, 0, 0, Role::Follower, 7));
        let stale = Message { index: 10, log_term: 2, ..message(MessageKind::App, 2, 1, 2) };
        cluster.send(1, &stale, 1).unwrap();
        cluster.receive(2, &stale).unwrap();
        let answer = Message { index: 10, ..message(MessageKind::AppResp, 3, 2, 1) };
        assert!(cluster.send(2, &answer, 2).is_ok(), "not an answer to the request of term 2");
    }
}
