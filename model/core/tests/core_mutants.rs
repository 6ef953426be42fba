//! Each seeded bug of [`Mutant::ALL`] changes the core's behaviour exactly at
//! the rule of the paper it breaks: the same scenario is run with a correct
//! config and with the mutant, and the outcomes differ as the bug predicts.
//! These tests show the correct-behaviour tests in the other `core_*.rs`
//! files are sharp enough to see the bug, and guard the mutants against
//! being silently neutralised by a refactoring of the core.

mod common;

use common::*;
use raftcheck_core::{Config, Input, Mutant, Node, Output};

fn correct(cluster_size: usize) -> Config {
    Config::new(cluster_size).unwrap()
}

/// M1 (Figure 2, votedFor is persistent): a server votes for 1 in term 1,
/// crashes and restarts from what it persisted; candidate 2 of the same term
/// then asks. Correct: refused. M1: granted, a second vote in term 1.
fn m1_scenario(cfg: &Config) -> bool {
    let mut n = node(0, 0, None, &[]);
    recv(&mut n, cfg, 1, rv(1, 0, 0));
    let mut r: N = Node::restart(0, n.persistent_state(cfg)).unwrap();
    recv(&mut r, cfg, 2, rv(1, 0, 0)).contains(&send(2, vote(1, true)))
}

#[test]
fn m1_forgets_its_vote_across_a_restart() {
    assert!(!m1_scenario(&correct(3)));
    assert!(m1_scenario(&with_mutant(3, Mutant::M1)));
}

/// M2 (Figure 2, "updated on stable storage before responding to RPCs"):
/// a voter grants its vote. Correct: the Persist comes before the reply.
/// M2: the reply is sent first, so a crash between them loses the vote.
fn m2_scenario(cfg: &Config) -> bool {
    let mut n = node(0, 0, None, &[]);
    let out = recv(&mut n, cfg, 1, rv(1, 0, 0));
    out.first() == Some(&Output::Persist)
}

#[test]
fn m2_sends_before_persisting() {
    assert!(m2_scenario(&correct(3)));
    assert!(!m2_scenario(&with_mutant(3, Mutant::M2)));
}

/// M3 (§5.4.1): a voter with log `[1, 2]` asked by a candidate whose log is
/// longer (5 entries) but ends in term 1. Correct: refused. M3: granted.
fn m3_scenario(cfg: &Config) -> bool {
    let mut n = node(0, 2, None, &[1, 2]);
    recv(&mut n, cfg, 1, rv(3, 5, 1)).contains(&send(1, vote(3, true)))
}

#[test]
fn m3_grants_a_vote_to_a_longer_log_of_an_older_term() {
    assert!(!m3_scenario(&correct(3)));
    assert!(m3_scenario(&with_mutant(3, Mutant::M3)));
}

/// M4 (§5.2, one vote per term): a candidate of a 5-server cluster in term 2
/// receives granted votes of term 1 from servers 1 and 2. Correct: ignored.
/// M4: counted, and with its own vote it has "a majority" of 5.
fn m4_scenario(cfg: &Config) -> bool {
    let mut n = node(0, 0, None, &[]);
    step(&mut n, cfg, Input::ElectionTimeout);
    step(&mut n, cfg, Input::ElectionTimeout);
    recv(&mut n, cfg, 1, vote(1, true));
    recv(&mut n, cfg, 2, vote(1, true));
    n.is_leader()
}

#[test]
fn m4_counts_a_stale_term_vote() {
    assert!(!m4_scenario(&correct(5)));
    assert!(m4_scenario(&with_mutant(5, Mutant::M4)));
}

/// M6 (§5.2, majority): in a cluster of 4, a candidate with one vote besides
/// its own has 2 of 4. Correct: not a majority. M6 (quorum n/2): leader.
fn m6_scenario(cfg: &Config) -> bool {
    let mut n = node(0, 0, None, &[]);
    step(&mut n, cfg, Input::ElectionTimeout);
    recv(&mut n, cfg, 1, vote(1, true));
    n.is_leader()
}

#[test]
fn m6_quorum_is_one_short() {
    assert_eq!(correct(4).quorum(), 3);
    assert_eq!(with_mutant(4, Mutant::M6).quorum(), 2);
    assert!(!m6_scenario(&correct(4)));
    assert!(m6_scenario(&with_mutant(4, Mutant::M6)));
}

/// M7 (Figure 2, All Servers: "convert to follower"): a term-2 leader sees a
/// RequestVote of term 3. Correct: follower in term 3. M7: still leader, now
/// in term 3 (which the new candidate may also win).
fn m7_scenario(cfg: &Config) -> (u64, bool) {
    let mut n = leader(0, cfg, 2, &[1]);
    recv(&mut n, cfg, 1, rv(3, 1, 1));
    (n.term(), n.is_leader())
}

#[test]
fn m7_keeps_the_leader_role_on_a_higher_term() {
    assert_eq!(m7_scenario(&correct(3)), (3, false));
    assert_eq!(m7_scenario(&with_mutant(3, Mutant::M7)), (3, true));
}

/// M8 (§5.4.2, Figure 8): a term-3 leader whose entry 2 is from term 2 learns
/// that follower 1 has it (a majority of 3). Correct: not committed. M8:
/// committed and applied by counting replicas.
fn m8_scenario(cfg: &Config) -> u64 {
    let mut n = leader(0, cfg, 3, &[1, 2]);
    recv(&mut n, cfg, 1, ae_ok(3, 2));
    n.commit_index()
}

#[test]
fn m8_commits_an_old_term_entry_by_counting_replicas() {
    assert_eq!(m8_scenario(&correct(3)), 0);
    assert_eq!(m8_scenario(&with_mutant(3, Mutant::M8)), 2);
}

/// M10 (AppendEntries receiver 3): a follower with `[1, 1, 2, 2]` receives a
/// term-3 entry at index 3. Correct: `[1, 1, 3]`. M10: entry 3 overwritten,
/// entry 4 of term 2 kept after it.
fn m10_scenario(cfg: &Config) -> Vec<u64> {
    let mut n = node(1, 3, None, &[1, 1, 2, 2]);
    recv(&mut n, cfg, 0, ae(3, 2, 1, &[3], 0));
    terms_of(n.log())
}

#[test]
fn m10_keeps_the_suffix_after_an_overwritten_conflict() {
    assert_eq!(m10_scenario(&correct(3)), vec![1, 1, 3]);
    assert_eq!(m10_scenario(&with_mutant(3, Mutant::M10)), vec![1, 1, 3, 2]);
}

/// M11 (AppendEntries receiver 5): a follower with 4 entries gets a request
/// covering only through index 2, with leaderCommit 4. Correct: commit 2
/// (entries 3-4 were not checked against the leader's). M11: commit 4.
fn m11_scenario(cfg: &Config) -> (u64, Vec<u64>) {
    let mut n = node(1, 1, None, &[1, 1, 1, 1]);
    let out = recv(&mut n, cfg, 0, ae(1, 1, 1, &[1], 4));
    (n.commit_index(), applied(&out))
}

#[test]
fn m11_commits_up_to_its_last_log_index() {
    assert_eq!(m11_scenario(&correct(3)), (2, vec![1, 2]));
    assert_eq!(m11_scenario(&with_mutant(3, Mutant::M11)), (4, vec![1, 2, 3, 4]));
}

/// M12 (commitIndex is monotonic): a follower at commit 3 gets a delayed
/// request with leaderCommit 1. Correct: stays 3. M12: goes down to 1.
fn m12_scenario(cfg: &Config) -> u64 {
    let mut n = node(1, 1, None, &[1, 1, 1]);
    recv(&mut n, cfg, 0, ae(1, 3, 1, &[], 3));
    recv(&mut n, cfg, 0, ae(1, 1, 1, &[], 1));
    n.commit_index()
}

#[test]
fn m12_lowers_commit_on_a_stale_append_entries() {
    assert_eq!(m12_scenario(&correct(3)), 3);
    assert_eq!(m12_scenario(&with_mutant(3, Mutant::M12)), 1);
}

/// M19 (§7, stale snapshots): a follower that committed and applied 3 gets a
/// snapshot through 2. Correct: ignored. M19: installed, the service is
/// rewound to 2 and commit/applied go down.
fn m19_scenario(cfg: &Config) -> (u64, u64, bool) {
    let mut n = node(1, 1, None, &[1, 1, 1]);
    recv(&mut n, cfg, 0, ae(1, 3, 1, &[], 3));
    let out = recv(&mut n, cfg, 0, snap_msg(1, 2, 1, vec![2]));
    let rewound = out.iter().any(|o| matches!(o, Output::ApplySnapshot { .. }));
    (n.commit_index(), n.last_applied(), rewound)
}

#[test]
fn m19_installs_a_stale_snapshot() {
    assert_eq!(m19_scenario(&correct(3)), (3, 3, false));
    assert_eq!(m19_scenario(&with_mutant(3, Mutant::M19)), (2, 2, true));
}

/// M20 (Figure 13, receiver 6): a follower with `[1, 1, 2, 2, 2]` gets a
/// snapshot through (3, term 2), which its log has. Correct: entries 4-5 are
/// kept. M20: they are dropped.
fn m20_scenario(cfg: &Config) -> (u64, Vec<u64>) {
    let mut n = node(1, 3, None, &[1, 1, 2, 2, 2]);
    recv(&mut n, cfg, 0, snap_msg(3, 3, 2, vec![3]));
    (n.log().last_index(), terms_of(n.log()))
}

#[test]
fn m20_drops_the_matching_suffix_on_install_snapshot() {
    assert_eq!(m20_scenario(&correct(3)), (5, vec![2, 2]));
    assert_eq!(m20_scenario(&with_mutant(3, Mutant::M20)), (3, vec![]));
}

/// Every mutant has a scenario here (the match is exhaustive, so a new
/// mutant does not compile until it gets one), and only its own mutant
/// changes that scenario's outcome: each bug lives at exactly one rule.
#[test]
fn every_mutant_changes_only_its_own_scenario() {
    fn outcome(scenario: Mutant, cfg: &Config) -> String {
        match scenario {
            Mutant::M1 => format!("{:?}", m1_scenario(cfg)),
            Mutant::M2 => format!("{:?}", m2_scenario(cfg)),
            Mutant::M3 => format!("{:?}", m3_scenario(cfg)),
            Mutant::M4 => format!("{:?}", m4_scenario(cfg)),
            Mutant::M6 => format!("{:?}", m6_scenario(cfg)),
            Mutant::M7 => format!("{:?}", m7_scenario(cfg)),
            Mutant::M8 => format!("{:?}", m8_scenario(cfg)),
            Mutant::M10 => format!("{:?}", m10_scenario(cfg)),
            Mutant::M11 => format!("{:?}", m11_scenario(cfg)),
            Mutant::M12 => format!("{:?}", m12_scenario(cfg)),
            Mutant::M19 => format!("{:?}", m19_scenario(cfg)),
            Mutant::M20 => format!("{:?}", m20_scenario(cfg)),
        }
    }
    fn size(scenario: Mutant) -> usize {
        match scenario {
            Mutant::M4 => 5,
            Mutant::M6 => 4,
            _ => 3,
        }
    }
    for scenario in Mutant::ALL {
        let baseline = outcome(scenario, &correct(size(scenario)));
        for mutant in Mutant::ALL {
            let changed = outcome(scenario, &with_mutant(size(scenario), mutant)) != baseline;
            assert_eq!(changed, mutant == scenario, "scenario of {scenario} under mutant {mutant}");
        }
    }
}
