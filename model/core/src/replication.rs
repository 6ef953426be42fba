//! Log replication (Raft §5.3), the commit rule (§5.4.2) and applying.

use crate::io::{AppendEntries, AppendEntriesReply, Message, Output};
use crate::mutant::Mutant;
use crate::node::{Config, Effects, HeartbeatStyle, Node, Role};
use crate::types::{Command, Entry, Index, NodeId, SnapshotData};

impl<C: Command, D: SnapshotData> Node<C, D> {
    /// Heartbeat timer fired: a leader sends AppendEntries to every peer.
    pub(crate) fn handle_heartbeat_timeout(&mut self, cfg: &Config, fx: &mut Effects<C, D>) {
        if !self.is_leader() {
            return;
        }
        for peer in cfg.peers(self.id) {
            self.send_append_entries(cfg, peer, true, fx);
        }
    }

    /// A client proposes a command: the leader appends it in its term and
    /// starts replicating it; anyone else refuses.
    pub(crate) fn handle_propose(&mut self, cfg: &Config, command: C, fx: &mut Effects<C, D>) {
        if !self.is_leader() {
            fx.outputs.push(Output::NotLeader);
            return;
        }
        self.log.append(Entry { term: self.term, command });
        fx.persist = true;
        let index = self.log.last_index();
        if let Role::Leader { match_index, .. } = &mut self.role {
            match_index[self.id] = index;
        }
        fx.outputs.push(Output::Proposed { index, term: self.term });
        for peer in cfg.peers(self.id) {
            self.send_append_entries(cfg, peer, false, fx);
        }
        self.advance_commit_index(cfg, fx);
    }

    /// Sends `peer` what it needs next: the entries from its `next_index`
    /// (none for an [`HeartbeatStyle::Empty`] heartbeat), or our snapshot if
    /// those entries were compacted away.
    pub(crate) fn send_append_entries(&self, cfg: &Config, peer: NodeId, heartbeat: bool, fx: &mut Effects<C, D>) {
        let Role::Leader { next_index, .. } = &self.role else { return };
        let next = next_index[peer];
        if next <= self.log.snapshot_index() {
            self.send_snapshot(peer, fx);
            return;
        }
        let prev_log_index = next - 1;
        let max = if heartbeat && cfg.heartbeat == HeartbeatStyle::Empty { 0 } else { cfg.max_entries_per_append };
        let request = AppendEntries {
            term: self.term,
            prev_log_index,
            prev_log_term: self.log.term_at(prev_log_index).expect("prev_log_index is at or after the snapshot"),
            entries: self.log.entries_from(next, max),
            leader_commit: self.commit_index,
        };
        fx.send(peer, Message::AppendEntries(request));
    }

    /// AppendEntries RPC, receiver side (Figure 2, rules 1-5). The term was
    /// already brought up to date by the caller.
    pub(crate) fn handle_append_entries(
        &mut self,
        cfg: &Config,
        leader: NodeId,
        request: &AppendEntries<C>,
        fx: &mut Effects<C, D>,
    ) {
        let reject = |node: &Self, conflict_term, conflict_index, fx: &mut Effects<C, D>| {
            let reply =
                AppendEntriesReply { term: node.term, success: false, match_index: 0, conflict_term, conflict_index };
            fx.send(leader, Message::AppendEntriesReply(reply));
        };
        // Rule 1: reply false if term < currentTerm.
        if request.term < self.term || self.is_leader() {
            reject(self, None, 0, fx);
            return;
        }
        // The leader of our term exists: a candidate gives up.
        if matches!(self.role, Role::Candidate { .. }) {
            self.become_follower();
        }
        fx.outputs.push(Output::ResetElectionTimer);
        let last_new = request.prev_log_index + request.entries.len() as Index;

        // Entries at or below our snapshot are committed and already here.
        let mut prev = request.prev_log_index;
        let mut entries: &[Entry<C>] = &request.entries;
        let snap = self.log.snapshot_index();
        if prev < snap {
            let covered = ((snap - prev) as usize).min(entries.len());
            entries = &entries[covered..];
            prev = snap.min(last_new);
        } else {
            // Rule 2: reply false if the log has no entry at prev_log_index
            // whose term matches prev_log_term; hint where to back up to.
            match self.log.term_at(prev) {
                None => {
                    reject(self, None, self.log.last_index() + 1, fx);
                    return;
                }
                Some(t) if t != request.prev_log_term => {
                    let first = self.log.first_index_of_term(t).unwrap_or(prev);
                    reject(self, Some(t), first, fx);
                    return;
                }
                Some(_) => {}
            }
        }

        // Rules 3 and 4: delete conflicting entries and what follows them,
        // append what is new. Matching entries are left alone: this request
        // may be older than entries we already have.
        for (k, entry) in entries.iter().enumerate() {
            let index = prev + 1 + k as Index;
            match self.log.term_at(index) {
                Some(t) if t == entry.term => continue,
                Some(_) if cfg.has(Mutant::M10) => self.log.overwrite(index, entry.clone()),
                Some(_) => {
                    self.log.truncate_from(index);
                    self.log.append(entry.clone());
                }
                None => self.log.append(entry.clone()),
            }
            fx.persist = true;
        }

        // Rule 5: commitIndex = min(leaderCommit, index of last new entry).
        let limit = if cfg.has(Mutant::M11) { self.log.last_index() } else { last_new };
        let new_commit = request.leader_commit.min(limit);
        if new_commit > self.commit_index || cfg.has(Mutant::M12) {
            self.commit_index = new_commit;
        }
        self.apply_committed(fx);
        let reply = AppendEntriesReply {
            term: self.term,
            success: true,
            match_index: last_new,
            conflict_term: None,
            conflict_index: 0,
        };
        fx.send(leader, Message::AppendEntriesReply(reply));
    }

    /// AppendEntries reply: record progress and maybe commit; on a
    /// rejection, back `next_index` up with the conflict hint and retry.
    pub(crate) fn handle_append_entries_reply(
        &mut self,
        cfg: &Config,
        peer: NodeId,
        reply: &AppendEntriesReply,
        fx: &mut Effects<C, D>,
    ) {
        if reply.term != self.term {
            return;
        }
        let last = self.log.last_index();
        let leader_last_of_term = reply.conflict_term.and_then(|t| self.log.last_index_of_term(t));
        let Role::Leader { next_index, match_index } = &mut self.role else { return };
        let reply_match = reply.match_index;
        if reply.success {
            // Replies may arrive out of order: progress only moves forward.
            match_index[peer] = match_index[peer].max(reply_match);
            next_index[peer] = next_index[peer].max(reply_match + 1);
            let behind = match_index[peer] < last;
            self.advance_commit_index(cfg, fx);
            if behind && cfg.heartbeat == HeartbeatStyle::Empty {
                self.send_append_entries(cfg, peer, false, fx);
            }
            return;
        }
        // Fast back-up (6.824): skip the follower's whole conflicting term,
        // or jump to just after our own last entry of that term.
        let target = match (reply.conflict_term, leader_last_of_term) {
            (Some(_), Some(ours)) => ours + 1,
            _ => reply.conflict_index,
        };
        next_index[peer] = target.clamp(match_index[peer] + 1, last + 1);
        self.send_append_entries(cfg, peer, false, fx);
    }

    /// Commit rule (§5.3, §5.4.2): the highest N replicated on a quorum
    /// whose entry is from the current term (M8 drops the term condition:
    /// Figure 8). Then apply.
    pub(crate) fn advance_commit_index(&mut self, cfg: &Config, fx: &mut Effects<C, D>) {
        let Role::Leader { match_index, .. } = &self.role else { return };
        let mut n = self.log.last_index();
        while n > self.commit_index {
            let this_term = self.log.term_at(n) == Some(self.term);
            if this_term || cfg.has(Mutant::M8) {
                let replicas = (0..cfg.cluster_size()).filter(|&p| p == self.id || match_index[p] >= n).count();
                if replicas >= cfg.quorum() {
                    self.commit_index = n;
                    break;
                }
            } else if !cfg.has(Mutant::M8) {
                // Terms only go down from here: no older entry can qualify.
                break;
            }
            n -= 1;
        }
        self.apply_committed(fx);
    }

    /// Hands every committed, not yet applied entry to the service, in order.
    pub(crate) fn apply_committed(&mut self, fx: &mut Effects<C, D>) {
        while self.last_applied < self.commit_index {
            let index = self.last_applied + 1;
            let Some(entry) = self.log.entry(index) else { break };
            fx.outputs.push(Output::ApplyCommand { index, term: entry.term, command: entry.command.clone() });
            self.last_applied = index;
        }
    }
}
