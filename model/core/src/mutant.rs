//! Seeded bugs: each [`Mutant`] re-introduces one classic Raft bug in the
//! core (ids as in `docs/mutants.md`), so that tests and CI can
//! prove that the checkers catch it. Off unless a caller asks for one.

use std::fmt;
use std::str::FromStr;

use crate::names::UnknownName;

/// One classic Raft bug. The core consults the active mutant (if any) at the
/// exact place where the bug lives; nowhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mutant {
    /// M1: `voted_for` is not part of the persisted state, so a restarted
    /// node forgets its vote and may vote twice in one term.
    M1,
    /// M2: a step's [`crate::Output::Persist`] comes after its sends
    /// instead of before them, so a crash in between loses a vote or an
    /// entry that was already announced.
    M2,
    /// M3: the up-to-date check of a vote compares only last log indices.
    M3,
    /// M4: a candidate counts vote replies from older terms.
    M4,
    /// M6: quorum off by one (`n / 2` instead of `n / 2 + 1`).
    M6,
    /// M7: a leader or candidate that sees a higher term adopts it but does
    /// not step down.
    M7,
    /// M8: Figure 8: a leader commits an entry from an earlier term by
    /// counting its replicas.
    M8,
    /// M10: on a conflict a follower overwrites the conflicting entry but
    /// keeps the entries after it.
    M10,
    /// M11: a follower sets its commit index to `min(leaderCommit, last log
    /// index)` instead of `min(leaderCommit, index of last new entry)`.
    M11,
    /// M12: a follower lets its commit index go down on a stale
    /// AppendEntries.
    M12,
    /// M19: a follower installs a stale snapshot (one at or below its commit
    /// index), moving its commit and applied indices back.
    M19,
    /// M20: on InstallSnapshot a follower discards the entries after the
    /// snapshot point even where they match.
    M20,
}

impl Mutant {
    /// Every mutant, in id order.
    pub const ALL: [Mutant; 12] = [
        Mutant::M1,
        Mutant::M2,
        Mutant::M3,
        Mutant::M4,
        Mutant::M6,
        Mutant::M7,
        Mutant::M8,
        Mutant::M10,
        Mutant::M11,
        Mutant::M12,
        Mutant::M19,
        Mutant::M20,
    ];

    /// The id, lower case (`m8`).
    pub fn id(self) -> &'static str {
        self.info().0
    }

    /// The full name (`figure-8-commit`).
    pub fn name(self) -> &'static str {
        self.info().1
    }

    /// One line saying what the bug is and which property it breaks.
    pub fn description(self) -> &'static str {
        self.info().2
    }

    fn info(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Mutant::M1 => (
                "m1",
                "vote-not-persisted",
                "votedFor is not persisted; a restarted node votes twice in one term (election safety)",
            ),
            Mutant::M2 => (
                "m2",
                "persist-after-send",
                "the new term, vote or log is persisted after the step's messages are sent; a crash in between loses it (election safety)",
            ),
            Mutant::M3 => (
                "m3",
                "up-to-date-index-only",
                "vote up-to-date check compares only last log indices (leader completeness)",
            ),
            Mutant::M4 => {
                ("m4", "stale-vote-counted", "candidate counts vote replies from older terms (election safety)")
            }
            Mutant::M6 => ("m6", "quorum-off-by-one", "quorum is n/2 instead of n/2+1 (election safety)"),
            Mutant::M7 => {
                ("m7", "no-step-down", "leader/candidate adopts a higher term but does not step down (election safety)")
            }
            Mutant::M8 => (
                "m8",
                "figure-8-commit",
                "leader commits an earlier-term entry by counting replicas, Raft Figure 8 (leader completeness)",
            ),
            Mutant::M10 => (
                "m10",
                "keep-conflicting-suffix",
                "follower overwrites a conflicting entry but keeps the suffix after it (log matching)",
            ),
            Mutant::M11 => (
                "m11",
                "commit-beyond-new-entries",
                "follower commit = min(leaderCommit, last log index), not last new entry (applied-log agreement)",
            ),
            Mutant::M12 => (
                "m12",
                "commit-goes-down",
                "follower lowers its commit index on a stale AppendEntries (monotonic commit)",
            ),
            Mutant::M19 => (
                "m19",
                "stale-snapshot-installed",
                "follower installs a snapshot at or below its commit index (monotonic commit/applied)",
            ),
            Mutant::M20 => (
                "m20",
                "snapshot-drops-suffix",
                "InstallSnapshot discards matching entries after the snapshot (leader completeness)",
            ),
        }
    }
}

impl fmt::Display for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id(), self.name())
    }
}

/// Accepts the id (`m8`, `M8`) or the full name (`figure-8-commit`).
impl FromStr for Mutant {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        let wanted = s.trim().to_ascii_lowercase();
        Mutant::ALL.into_iter().find(|m| m.id() == wanted || m.name() == wanted).ok_or_else(|| {
            let known: Vec<&str> = Mutant::ALL.iter().map(|m| m.id()).collect();
            UnknownName::new("mutant", s, &known)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_and_names_case_insensitively() {
        for m in Mutant::ALL {
            assert_eq!(m.id().parse::<Mutant>(), Ok(m));
            assert_eq!(m.id().to_uppercase().parse::<Mutant>(), Ok(m));
            assert_eq!(m.name().parse::<Mutant>(), Ok(m));
        }
        assert!("m99".parse::<Mutant>().is_err());
    }
}
