//! The faults of a run: which kinds, when, for how long, all drawn from
//! the run's seed before the run starts, so that one seed always asks for
//! the same schedule (which node a fault hits may still depend on who
//! leads at that moment).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// `kill -9` of the leader's process; restarted when the fault ends.
    KillLeader,
    /// `kill -9` of a random node's process; restarted when the fault ends.
    Kill,
    /// SIGSTOP of the leader; SIGCONT when the fault ends.
    PauseLeader,
    /// SIGSTOP of a random node; SIGCONT when the fault ends.
    Pause,
    /// The leader cut off from every other node (both directions).
    PartitionLeader,
    /// A random node cut off from every other node.
    Partition,
    /// Every link of a random node delayed by 50-250 ms.
    Slow,
}

impl FaultKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [FaultKind; 7] = [
        FaultKind::KillLeader,
        FaultKind::Kill,
        FaultKind::PauseLeader,
        FaultKind::Pause,
        FaultKind::PartitionLeader,
        FaultKind::Partition,
        FaultKind::Slow,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::KillLeader => "kill-leader",
            FaultKind::Kill => "kill",
            FaultKind::PauseLeader => "pause-leader",
            FaultKind::Pause => "pause",
            FaultKind::PartitionLeader => "partition-leader",
            FaultKind::Partition => "partition",
            FaultKind::Slow => "slow",
        }
    }

    /// Whether the fault hits whoever leads when it starts.
    pub fn targets_leader(self) -> bool {
        matches!(self, FaultKind::KillLeader | FaultKind::PauseLeader | FaultKind::PartitionLeader)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FaultKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown fault {s:?} (expected none or a list of: {})", names.join(", "))
        })
    }
}

/// Parses `--faults`: `none`, or kinds separated by commas (a kind may
/// repeat: it happens that many times).
pub fn parse_faults(text: &str) -> Result<Vec<FaultKind>, String> {
    if text.trim() == "none" {
        return Ok(Vec::new());
    }
    text.split(',').map(|s| s.trim().parse()).collect()
}

/// One fault of the schedule.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedFault {
    /// What happens.
    pub kind: FaultKind,
    /// When it starts, from the start of the workload.
    #[serde(serialize_with = "crate::run_cmd::report::as_seconds")]
    pub at: Duration,
    /// How long it lasts.
    #[serde(serialize_with = "crate::run_cmd::report::as_seconds")]
    pub length: Duration,
    /// The node it hits when it does not target the leader (drawn now; an
    /// index into the cluster).
    pub random_node: usize,
    /// A slow link's delay.
    #[serde(serialize_with = "crate::run_cmd::report::as_seconds")]
    pub delay: Duration,
}

/// The schedule: `kinds` in order, one per equal slot of `duration`, each
/// starting at a random point of the first half of its slot and lasting
/// 1-3 s (never past its slot's end), on a cluster of `nodes`.
pub fn plan(kinds: &[FaultKind], duration: Duration, nodes: usize, seed: u64) -> Vec<PlannedFault> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x6661_756c_7473);
    let slot = duration / (kinds.len() as u32).max(1);
    kinds
        .iter()
        .enumerate()
        .map(|(i, &kind)| {
            let start = slot * i as u32 + slot.mul_f64(rng.random_range(0.05..0.5));
            let room = (slot * (i as u32 + 1)).saturating_sub(start);
            let length = Duration::from_millis(rng.random_range(1000..=3000)).min(room.mul_f64(0.9));
            PlannedFault {
                kind,
                at: start,
                length,
                random_node: rng.random_range(0..nodes),
                delay: Duration::from_millis(rng.random_range(50..=250)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_and_plans_are_seeded_and_fit_their_slots() {
        assert_eq!(parse_faults("none").unwrap(), vec![]);
        assert_eq!(parse_faults("kill-leader, slow").unwrap(), vec![FaultKind::KillLeader, FaultKind::Slow]);
        assert!(parse_faults("kill-leader,explode").unwrap_err().contains("explode"));
        let kinds = [FaultKind::KillLeader, FaultKind::PartitionLeader, FaultKind::Pause];
        let duration = Duration::from_secs(12);
        let a = plan(&kinds, duration, 3, 7);
        assert_eq!(format!("{a:?}"), format!("{:?}", plan(&kinds, duration, 3, 7)), "same seed, same plan");
        assert_ne!(format!("{a:?}"), format!("{:?}", plan(&kinds, duration, 3, 8)));
        for (i, fault) in a.iter().enumerate() {
            let slot = Duration::from_secs(4);
            assert!(fault.at >= slot * i as u32 && fault.at + fault.length <= slot * (i as u32 + 1), "{fault:?}");
            assert!(fault.length >= Duration::from_millis(900) && fault.random_node < 3, "{fault:?}");
        }
    }
}
