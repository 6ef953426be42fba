//! Leader election (Raft §5.2) with the up-to-date vote restriction (§5.4.1).

use crate::io::{Message, Output, RequestVote, RequestVoteReply};
use crate::mutant::Mutant;
use crate::node::{Config, Effects, Node, Role};
use crate::types::{Command, Index, NodeId, SnapshotData, Term};

impl<C: Command, D: SnapshotData> Node<C, D> {
    /// Election timer fired: a non-leader starts an election in the next
    /// term, voting for itself (§5.2). A leader ignores it.
    pub(crate) fn handle_election_timeout(&mut self, cfg: &Config, fx: &mut Effects<C, D>) {
        if self.is_leader() {
            return;
        }
        self.term += 1;
        self.voted_for = Some(self.id);
        self.role = Role::Candidate { votes: 1 << self.id };
        fx.persist = true;
        fx.outputs.push(Output::ResetElectionTimer);
        if cfg.quorum() <= 1 {
            self.become_leader(cfg, fx);
            return;
        }
        for peer in cfg.peers(self.id) {
            let request = RequestVote {
                term: self.term,
                last_log_index: self.log.last_index(),
                last_log_term: self.log.last_term(),
            };
            fx.send(peer, Message::RequestVote(request));
        }
    }

    /// Is a candidate's log at least as up-to-date as ours (§5.4.1)? Compare
    /// last terms first, then last indices. (M3 compares indices only.)
    fn candidate_is_up_to_date(&self, cfg: &Config, last_log_index: Index, last_log_term: Term) -> bool {
        if cfg.has(Mutant::M3) {
            return last_log_index >= self.log.last_index();
        }
        (last_log_term, last_log_index) >= (self.log.last_term(), self.log.last_index())
    }

    /// RequestVote RPC, receiver side (Figure 2). The term was already
    /// brought up to date by the caller.
    pub(crate) fn handle_request_vote(
        &mut self,
        cfg: &Config,
        candidate: NodeId,
        request: &RequestVote,
        fx: &mut Effects<C, D>,
    ) {
        let grant = request.term == self.term
            && self.voted_for.is_none_or(|v| v == candidate)
            && self.candidate_is_up_to_date(cfg, request.last_log_index, request.last_log_term);
        if grant {
            if self.voted_for != Some(candidate) {
                self.voted_for = Some(candidate);
                fx.persist = true;
            }
            fx.outputs.push(Output::ResetElectionTimer);
        }
        fx.send(candidate, Message::RequestVoteReply(RequestVoteReply { term: self.term, vote_granted: grant }));
    }

    /// RequestVote reply: count the vote; a majority makes us leader.
    /// Replies from other terms are stale and ignored (M4 counts them).
    pub(crate) fn handle_request_vote_reply(
        &mut self,
        cfg: &Config,
        voter: NodeId,
        reply: &RequestVoteReply,
        fx: &mut Effects<C, D>,
    ) {
        let current = reply.term == self.term || (cfg.has(Mutant::M4) && reply.term < self.term);
        let Role::Candidate { votes } = &mut self.role else { return };
        if !current || !reply.vote_granted {
            return;
        }
        *votes |= 1 << voter;
        if votes.count_ones() as usize >= cfg.quorum() {
            self.become_leader(cfg, fx);
        }
    }

    /// Becomes leader of the current term: every follower's `next_index`
    /// starts after our last entry, and a heartbeat asserts leadership.
    pub(crate) fn become_leader(&mut self, cfg: &Config, fx: &mut Effects<C, D>) {
        let last = self.log.last_index();
        let mut match_index = vec![0; cfg.cluster_size()];
        match_index[self.id] = last;
        self.role = Role::Leader { next_index: vec![last + 1; cfg.cluster_size()], match_index };
        for peer in cfg.peers(self.id) {
            self.send_append_entries(cfg, peer, true, fx);
        }
        // A cluster of one commits on its own.
        self.advance_commit_index(cfg, fx);
    }
}
