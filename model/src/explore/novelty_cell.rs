//! The cells of novelty search: a coarse abstraction of a cluster state that
//! keeps what tells situations apart for a bug hunter (who is up, each
//! node's role, term, log length, snapshot and commit points, which kinds
//! of messages travel on which link) and forgets the rest (values, votes,
//! replication bookkeeping, message contents, copies). A walker keeps the
//! first state it sees in each cell and starts later walks from there.

use crate::explore::search::fingerprint;
use crate::explore::state::ClusterState;
use raftcheck_core::node::Role;

/// The cell of `state`, as a 64-bit fingerprint.
pub fn cell(state: &ClusterState) -> u64 {
    let servers: Vec<_> = state
        .servers
        .iter()
        .map(|s| {
            s.node.as_ref().map(|n| {
                let role = match n.role() {
                    Role::Follower => 0u8,
                    Role::Candidate { .. } => 1,
                    Role::Leader { .. } => 2,
                };
                let log = n.log();
                (role, n.term(), log.last_index(), log.snapshot_index(), n.commit_index())
            })
        })
        .collect();
    let mut links: Vec<(usize, usize, &str)> =
        state.network.iter().map(|(e, _)| (e.from, e.to, e.message.kind())).collect();
    links.dedup();
    fingerprint(&(servers, links, state.proposed, state.crashes, state.snapshots, state.heartbeats, state.elections))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::action::{Action, Step};
    use crate::explore::configs;
    use crate::explore::model::RaftModel;

    #[test]
    fn cells_tell_situations_apart_but_not_copies_or_the_ghost_history() {
        let model = RaftModel::new(configs::named("default").expect("default").bounds);
        let init = model.initial_state();
        let campaign = model.successor(&init, &Action::Step(Step::ElectionTimeout(0))).expect("a step");
        assert_ne!(cell(&init), cell(&campaign), "a candidate and its RequestVotes make a new cell");
        let voted = model.successor(&campaign, &Action::Step(Step::Deliver(0))).expect("a step");
        assert_ne!(cell(&voted), cell(&campaign), "a vote's reply in flight makes a new cell");

        let mut copies = campaign.clone();
        copies.network[0].1 += 1;
        assert_ne!(fingerprint(&copies), fingerprint(&campaign));
        assert_eq!(cell(&copies), cell(&campaign), "a second copy of a message is the same situation");
        let mut ghost = campaign.clone();
        ghost.history.events ^= 1;
        assert_ne!(fingerprint(&ghost), fingerprint(&campaign));
        assert_eq!(cell(&ghost), cell(&campaign), "the ghost history is not part of a cell");
    }
}
