//! The general configurations catch every mutant, without knowing which bug
//! to look for: the bug hunt's random walks find most of them (one thread,
//! a fixed seed and a bound on states computed, so a run is the same on any
//! machine), and the exhaustive search finds the deep ones (Figure 8 in
//! `deep`; the dropped snapshot suffix in `default`, through the hunt's
//! depth-first member). `scripts/mutant-matrix` runs every mutant against
//! every general configuration; BENCHMARKS.md has the table.

use raftcheck_core::Mutant;
use raftcheck_model::explore::bounds::Bounds;
use raftcheck_model::explore::configs;
use raftcheck_model::explore::run::{run, RunOptions, RunReport, Strategy, Verdict};
use std::time::Duration;

fn config(name: &str) -> Bounds {
    configs::named(name).unwrap_or_else(|| panic!("no configuration named {name}")).bounds
}

fn with(mutant: Mutant, name: &str) -> Bounds {
    Bounds { mutant: Some(mutant), ..config(name) }
}

/// Random walks on one thread, seeded, bounded by states computed (the
/// timeout is only a safety net on a slow machine).
fn walks(bounds: &Bounds, seed: u64) -> RunReport {
    let options = RunOptions {
        seed,
        max_states: Some(20_000_000),
        timeout: Some(Duration::from_secs(600)),
        ..RunOptions::new(Strategy::Sim)
    };
    run(bounds, &options)
}

fn caught_as(report: &RunReport) -> Option<&'static str> {
    report.counterexample().map(|c| c.name)
}

/// Each mutant with the general configuration where the walks catch it,
/// and the property they see broken first.
const CAUGHT_BY_WALKS: [(Mutant, &str, &str); 11] = [
    (Mutant::M1, "ci", "election safety"),
    (Mutant::M2, "ci", "election safety"),
    (Mutant::M3, "deep", "leader completeness"),
    (Mutant::M4, "ci", "election safety"),
    (Mutant::M6, "ci", "election safety"),
    (Mutant::M7, "ci", "node invariants"),
    (Mutant::M8, "deep", "leader completeness"),
    (Mutant::M10, "wide", "node invariants"),
    (Mutant::M11, "ci", "state machine safety"),
    (Mutant::M12, "ci", "monotonic commit and applied"),
    (Mutant::M19, "default", "applies in index order"),
];

#[test]
fn random_walks_catch_mutants_in_the_general_scopes() {
    const SEED: u64 = 1;
    let mut missed = Vec::new();
    for (mutant, name, property) in CAUGHT_BY_WALKS {
        let report = walks(&with(mutant, name), SEED);
        if caught_as(&report) != Some(property) {
            missed.push(format!("{} in {name}: {:?} (expected {property})", mutant.id(), caught_as(&report)));
        }
    }
    assert!(missed.is_empty(), "seed {SEED}: {missed:#?}");
}

/// `wide-deep` (5 servers, 3 terms, duplication, a crash) is too large to
/// explore whole, so it is hunted: seeded walks catch these mutants there.
const CAUGHT_BY_WALKS_IN_WIDE_DEEP: [(Mutant, &str); 5] = [
    (Mutant::M2, "election safety"),
    (Mutant::M4, "election safety"),
    (Mutant::M7, "node invariants"),
    (Mutant::M11, "state machine safety"),
    (Mutant::M12, "monotonic commit and applied"),
];

#[test]
fn random_walks_catch_mutants_in_wide_deep() {
    const SEED: u64 = 1;
    let clean = walks(&config("wide-deep"), SEED);
    assert_eq!(clean.verdict, Verdict::Incomplete, "the correct core in wide-deep: {:?}", caught_as(&clean));
    let mut missed = Vec::new();
    for (mutant, property) in CAUGHT_BY_WALKS_IN_WIDE_DEEP {
        let report = walks(&with(mutant, "wide-deep"), SEED);
        if caught_as(&report) != Some(property) {
            missed.push(format!("{} in wide-deep: {:?} (expected {property})", mutant.id(), caught_as(&report)));
        }
    }
    assert!(missed.is_empty(), "seed {SEED}: {missed:#?}");
}

/// Runs `mutant` in the general configuration `name` exhaustively (DFS, 2
/// threads) and asserts that it is caught as `property`.
fn assert_caught_exhaustively(mutant: Mutant, name: &str, property: &str) {
    let options = RunOptions { threads: 2, ..RunOptions::new(Strategy::Dfs) };
    let report = run(&with(mutant, name), &options);
    assert_eq!(report.verdict, Verdict::Violated);
    assert_eq!(caught_as(&report), Some(property));
}

#[test]
fn deep_catches_figure_8_exhaustively() {
    assert_caught_exhaustively(Mutant::M8, "deep", "leader completeness");
}

/// M20 in `default` needs 25 steps at least along a narrow path (a
/// duplicated stale reply makes a leader that has just taken a snapshot
/// send it to a follower that then acknowledges the next entry, crashes and
/// restarts before the snapshot arrives): neither the walks nor the
/// breadth-first search find it in seconds. The hunt's depth-first member,
/// which joins after `HUNT_DFS_DELAY`, does (34 steps, after 1,376,131
/// states on its one thread). A breadth-first counterexample would have
/// 25 steps and a walk's would come with no stored states.
#[test]
fn the_hunts_depth_first_member_catches_the_dropped_snapshot_suffix_in_default() {
    let options = RunOptions {
        threads: 2,
        hunt_time: Duration::from_secs(600), // a safety net; it takes seconds
        ..RunOptions::new(Strategy::Hunt)
    };
    let report = run(&with(Mutant::M20, "default"), &options);
    assert_eq!(report.verdict, Verdict::Violated);
    assert_eq!(caught_as(&report), Some("leader completeness"));
    let steps = report.counterexample().and_then(|c| c.path.as_ref()).map_or(0, |p| p.len() - 1);
    assert!(steps > 25 && report.unique_states > 0, "{steps} steps, {} states stored", report.unique_states);
}
