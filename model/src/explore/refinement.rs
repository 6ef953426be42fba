//! The core refines the executable Raft spec: every step the model takes
//! is translated into the etcd events it stands for (as a trace of it
//! would show them) and checked by the spec of `raftcheck_traces::spec`,
//! started from the model's exact state before the step. A step the spec
//! refuses breaks [`Safety::SpecRefinement`].
//!
//! Only the stepping node is seeded into the spec's cluster (with its log's
//! exact terms, its votes as candidate, its acknowledgements as leader),
//! with the leaders of past terms and the message being received: the
//! spec's rules about one step need no more. What a leader told a follower
//! is taken to be the follower's commit index before the step, so a commit
//! that moves in the step must be justified by the step's message.

use raftcheck_core::properties::{Breach, History, Safety};
use raftcheck_core::{Command, Config, Input, Message, Node, NodeId, Output, Role, SnapshotData};
use raftcheck_traces::etcd::{etcd_id, message_of, Mapper, Translator};
use raftcheck_traces::spec::{Bounds, Cluster, Log, Seed};
use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::Hash;

/// Checks one step of node `n` (from `before` to `after`, on `input`, with
/// the `outputs` carried out) against the spec, for a cluster of `config`
/// with `history`'s leaders. A refusal is recorded in
/// `history` as a breach of [`Safety::SpecRefinement`].
///
/// Each step is checked on its own: the candidate's votes and the
/// leader's acknowledgements it starts from are the core's own counts (a
/// count the core got wrong in an earlier step is taken as given), and
/// restarts are not steps (the model restarts a node from exactly what it
/// saved).
pub fn check_step<C: Command + Hash, D: SnapshotData + Hash>(
    history: &mut History<C>,
    config: &Config,
    n: NodeId,
    before: Keyed<'_, Node<C, D>>,
    input: &Input<C, D>,
    outputs: &[Output<C, D>],
    after: &Node<C, D>,
) {
    let Keyed { value: before, key: before_key } = before;
    let cluster_size = config.cluster_size();
    let leader_of = |term: u64| history.leaders.get(term as usize).copied().flatten();
    // A step's verdict depends on the cluster's configuration, the node
    // before and after it, its input and outputs, and the leaders of the
    // terms its events show: a step already found allowed is not checked
    // again. The core is deterministic, so the node after the step and its
    // outputs follow from the configuration, the node before and the
    // input; only how many of the outputs were carried out varies (a crash
    // inside the step cuts them short). Those are hashed, not the rest, and
    // the node before only as its key.
    let key = (config, n, before_key, input, outputs.len(), leader_of(before.term()), leader_of(after.term()));
    let key = CHECKED_HASHER.hash_one(key);
    if CHECKED.with(|checked| checked.borrow().contains(&key)) {
        return;
    }
    let mut translator = Translator::new(cluster_size);
    let events = translator.translate_step(n, before, input, outputs, after);
    if events.is_empty() {
        return;
    }
    let mut cluster = Cluster::new();
    cluster.seed(etcd_id(n), seed_of(before, translator.show(n, before)));
    for term in [before.term(), after.term()] {
        if let Some(leader) = leader_of(term) {
            cluster.seed_leader(term, etcd_id(leader));
        }
    }
    if let Input::Receive { from, message } = input {
        let (_, sent) = message_of(message, *from, n, true);
        let entries = match message {
            Message::AppendEntries(a) => a.entries.iter().map(|e| Bounds::exact(e.term)).collect(),
            _ => Vec::new(),
        };
        cluster.seed_sent(sent, entries);
    }
    let mut mapper = Mapper::from_seeded(cluster, [etcd_id(n)]);
    for event in &events {
        if let Err(violation) = mapper.apply(event, 0) {
            let what = format!(
                "node {n}'s step on {} is not one the Raft spec allows: at its {} event, {}: {} (expected {}; seen {})",
                input_name(input),
                event.name,
                violation.rule.name(),
                violation.message,
                violation.expected,
                violation.seen
            );
            history.record_broken(Breach::new(Safety::SpecRefinement, what).nodes(&[n]));
            return;
        }
    }
    CHECKED.with(|checked| {
        let mut checked = checked.borrow_mut();
        if checked.len() >= CHECKED_CAPACITY {
            checked.clear();
        }
        checked.insert(key);
    });
}

/// A value with a 64-bit key that tells it apart from every other but for
/// a 64-bit collision, as a fingerprint does (the model's nodes are keyed
/// by the digest their state already holds, so a memo need not hash them
/// whole).
pub struct Keyed<'a, T> {
    /// The value.
    pub value: &'a T,
    /// Its key.
    pub key: u64,
}

/// How many allowed steps each thread remembers before it starts afresh.
const CHECKED_CAPACITY: usize = 1 << 20;

thread_local! {
    /// Fingerprints of the steps this thread found allowed.
    static CHECKED: RefCell<HashSet<u64, ahash::RandomState>> =
        RefCell::new(HashSet::with_hasher(CHECKED_HASHER.clone()));
}

/// Fixed keys: the same fingerprints in every run.
static CHECKED_HASHER: ahash::RandomState =
    ahash::RandomState::with_seeds(0x9e37_79b9_7f4a_7c15, 0xbf58_476d_1ce4_e5b9, 0x94d0_49bb_1331_11eb, 0x2545_f491);

/// What the spec is told of `node`: its exact log, votes and
/// acknowledgements.
fn seed_of<C: Command, D: SnapshotData>(node: &Node<C, D>, state: raftcheck_traces::spec::NodeState) -> Seed {
    let log = node.log();
    let terms = log.retained().iter().map(|e| e.term);
    let (votes, matched) = match node.role() {
        Role::Candidate { votes } => {
            ((0..64).filter(|p| votes & (1 << p) != 0).map(|p| etcd_id(p as NodeId)).collect(), Vec::new())
        }
        Role::Leader { match_index, .. } => {
            (Vec::new(), match_index.iter().enumerate().map(|(p, &m)| (etcd_id(p), m)).collect())
        }
        Role::Follower => (Vec::new(), Vec::new()),
    };
    // No step reads the saved term (restarts are not steps).
    Seed { state, log: Log::exact(log.snapshot_index(), terms), votes, matched, durable_term: node.term() }
}

fn input_name<C, D>(input: &Input<C, D>) -> &'static str {
    match input {
        Input::Receive { message, .. } => match message {
            Message::RequestVote(_) => "a RequestVote",
            Message::RequestVoteReply(_) => "a RequestVote reply",
            Message::AppendEntries(_) => "an AppendEntries",
            Message::AppendEntriesReply(_) => "an AppendEntries reply",
            Message::InstallSnapshot(_) => "an InstallSnapshot",
            Message::InstallSnapshotReply(_) => "an InstallSnapshot reply",
        },
        Input::ElectionTimeout => "an election timeout",
        Input::HeartbeatTimeout => "a heartbeat timeout",
        Input::Propose(_) => "a proposal",
        Input::Snapshot { .. } => "a service snapshot",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::search::fingerprint;
    use crate::explore::state::ModelNode;
    use raftcheck_core::Mutant;

    /// One election timeout of node 0 of three, with the core running
    /// `mutant`: what the refinement check records.
    fn first_election(mutant: Option<Mutant>) -> History<u8> {
        let config = Config::new(3).unwrap().with_mutant(mutant);
        let before = ModelNode::new(0);
        let mut after = before.clone();
        let outputs = after.step(&config, Input::ElectionTimeout);
        let mut history = History::default();
        let keyed = Keyed { value: &before, key: fingerprint(&before) };
        check_step(&mut history, &config, 0, keyed, &Input::ElectionTimeout, &outputs, &after);
        history
    }

    #[test]
    fn the_correct_core_campaigns_as_the_spec_allows() {
        assert_eq!(first_election(None).first_broken(), None);
    }

    /// M6 counts n/2 votes as a quorum: a candidate of three leads on its
    /// own vote, which the spec refuses (election quorum).
    #[test]
    fn a_leader_without_a_quorum_does_not_refine_the_spec() {
        let history = first_election(Some(Mutant::M6));
        assert_eq!(history.first_broken(), Some(Safety::SpecRefinement));
        let detail = history.detail.as_deref().expect("the breach is described").to_string();
        assert!(detail.contains("election-quorum") && detail.contains("BecomeLeader"), "{detail}");
    }
}
