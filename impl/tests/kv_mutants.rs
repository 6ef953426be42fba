//! The service-level seeded bugs are caught by the linearizability check of
//! the recorded history: each mutant runs the lab's generic tests that can
//! expose it, and our checker must refute the history. A bug shows only if
//! the run happens to hit it, so each configuration gets a few attempts; a
//! mutant that survives all of them fails the test.

mod common;

use common::kv_generic::{run_generic, Generic};
use raftcheck_checker::Verdict;
use raftcheck_impl::kv::KvMutant;

const ATTEMPTS: usize = 4;

/// Runs `p` with `mutant` until the checker refutes a history; fails if it
/// never does.
fn caught(mutant: KvMutant, p: Generic) {
    for attempt in 1..=ATTEMPTS {
        let outcome = run_generic(p, Some(mutant), true);
        println!(
            "{mutant} attempt {attempt}: {} ({} ops); the test's own checks: {}",
            outcome.checked.verdict.name(),
            outcome.checked.operations,
            outcome
                .own_failures
                .first()
                .map_or("passed".to_string(), |f| format!("failed: {}", f.lines().next().unwrap_or(""))),
        );
        if outcome.checked.verdict == Verdict::NotLinearizable {
            if let Some((history, report)) = &outcome.checked.files {
                println!("  history: {}\n  report: {}", history.display(), report.display());
            }
            return;
        }
    }
    panic!("{mutant} survived {ATTEMPTS} runs of {}: the checker never refuted a history", p.title());
}

/// M26 (local reads): a leader cut off in a minority keeps answering gets
/// from its own state. The random-keys test has no per-client check, so
/// only the linearizability check can see it.
#[test]
fn m26_local_reads_are_caught_by_the_checker() {
    caught(
        KvMutant::M26,
        Generic {
            part: "3A",
            clients: 15,
            servers: 7,
            unreliable: true,
            crash: true,
            partitions: true,
            max_raft_state: -1,
            random_keys: true,
        },
    );
}

/// M21 (snapshot without the duplicate table): after a restart or an
/// InstallSnapshot, a retried append whose first copy is in the snapshot
/// is applied again.
#[test]
fn m21_snapshot_without_dedup_is_caught_by_the_checker() {
    caught(
        KvMutant::M21,
        Generic {
            part: "3B",
            clients: 15,
            servers: 7,
            unreliable: true,
            crash: true,
            partitions: true,
            max_raft_state: 1000,
            random_keys: true,
        },
    );
}
