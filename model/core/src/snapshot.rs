//! Log compaction (Raft §7): service snapshots and InstallSnapshot.

use crate::io::{InstallSnapshot, InstallSnapshotReply, Message, Output, SnapshotRefusal};
use crate::mutant::Mutant;
use crate::node::{Config, Effects, Node, Role};
use crate::types::{Command, Index, NodeId, SnapshotData};

impl<C: Command, D: SnapshotData> Node<C, D> {
    /// The service snapshotted its state through `index`: drop the log
    /// through `index`. Refused, with an [`Output::SnapshotRefused`] saying
    /// why, unless `index` is applied and beyond the current snapshot.
    pub(crate) fn handle_service_snapshot(&mut self, index: Index, data: D, fx: &mut Effects<C, D>) {
        if index > self.last_applied {
            let why = SnapshotRefusal::BeyondApplied { applied: self.last_applied };
            fx.outputs.push(Output::SnapshotRefused { index, why });
            return;
        }
        if index <= self.log.snapshot_index() {
            let why = SnapshotRefusal::AlreadyCompacted { snapshot_index: self.log.snapshot_index() };
            fx.outputs.push(Output::SnapshotRefused { index, why });
            return;
        }
        self.log.compact_through(index);
        self.snapshot = Some(data);
        fx.persist = true;
    }

    /// Sends our snapshot to `peer`, whose next entries were compacted.
    pub(crate) fn send_snapshot(&self, peer: NodeId, fx: &mut Effects<C, D>) {
        let data = self.snapshot.clone().expect("a compacted log has snapshot data");
        let request = InstallSnapshot {
            term: self.term,
            last_included_index: self.log.snapshot_index(),
            last_included_term: self.log.snapshot_term(),
            data,
        };
        fx.send(peer, Message::InstallSnapshot(request));
    }

    /// InstallSnapshot RPC, receiver side (§7). A snapshot at or below our
    /// commit index is stale and ignored (M19 installs it). If our log has
    /// the snapshot's last entry, the entries after it are kept (M20 drops
    /// them); otherwise the whole log is replaced.
    pub(crate) fn handle_install_snapshot(
        &mut self,
        cfg: &Config,
        leader: NodeId,
        request: &InstallSnapshot<D>,
        fx: &mut Effects<C, D>,
    ) {
        let (last_index, last_term) = (request.last_included_index, request.last_included_term);
        let reply = |node: &Self, accepted: bool, fx: &mut Effects<C, D>| {
            let reply = InstallSnapshotReply { term: node.term, last_included_index: last_index, accepted };
            fx.send(leader, Message::InstallSnapshotReply(reply));
        };
        if request.term < self.term || self.is_leader() {
            reply(self, false, fx);
            return;
        }
        if matches!(self.role, Role::Candidate { .. }) {
            self.become_follower();
        }
        fx.outputs.push(Output::ResetElectionTimer);
        let stale = last_index <= self.commit_index;
        if stale && !cfg.has(Mutant::M19) {
            reply(self, false, fx);
            return;
        }
        let keeps_suffix = last_index >= self.log.snapshot_index() && self.log.term_at(last_index) == Some(last_term);
        if keeps_suffix && !cfg.has(Mutant::M20) {
            self.log.compact_through(last_index);
        } else {
            self.log.reset_to_snapshot(last_index, last_term);
        }
        self.snapshot = Some(request.data.clone());
        self.commit_index = if stale { last_index } else { self.commit_index.max(last_index) };
        self.last_applied = last_index;
        fx.persist = true;
        fx.outputs.push(Output::ApplySnapshot { index: last_index, term: last_term, data: request.data.clone() });
        reply(self, true, fx);
    }

    /// InstallSnapshot reply: the follower now holds everything through
    /// `last_index` (whether it installed the snapshot or refused it as
    /// stale, having committed that far already); send it what follows, if
    /// anything. A refusal from a later term never gets here: its term made
    /// us step down.
    pub(crate) fn handle_install_snapshot_reply(
        &mut self,
        cfg: &Config,
        peer: NodeId,
        reply: &InstallSnapshotReply,
        fx: &mut Effects<C, D>,
    ) {
        if reply.term != self.term {
            return;
        }
        let last_index = reply.last_included_index;
        let last = self.log.last_index();
        let Role::Leader { next_index, match_index } = &mut self.role else { return };
        match_index[peer] = match_index[peer].max(last_index);
        next_index[peer] = next_index[peer].max(last_index + 1);
        let behind = match_index[peer] < last;
        self.advance_commit_index(cfg, fx);
        if behind {
            self.send_append_entries(cfg, peer, false, fx);
        }
    }
}
