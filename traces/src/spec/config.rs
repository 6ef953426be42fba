//! Configurations: the voters, the outgoing voters of a joint
//! configuration, and learners; what counts as a quorum of them.

use super::Id;

/// A node's configuration. A joint configuration (thesis §4.3) has
/// outgoing voters too; learners receive the log but never count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// The voters (of the new configuration, in a joint one), sorted.
    pub incoming: Vec<Id>,
    /// The voters of the old configuration while joint, else empty; sorted.
    pub outgoing: Vec<Id>,
    /// Learners: never counted in a quorum; sorted.
    pub learners: Vec<Id>,
}

impl Config {
    /// A configuration of these voters (any order), with outgoing voters
    /// when joint.
    pub fn new(mut incoming: Vec<Id>, mut outgoing: Vec<Id>) -> Config {
        incoming.sort_unstable();
        incoming.dedup();
        outgoing.sort_unstable();
        outgoing.dedup();
        Config { incoming, outgoing, learners: Vec::new() }
    }

    /// Whether the configuration is joint.
    pub fn is_joint(&self) -> bool {
        !self.outgoing.is_empty()
    }

    /// Whether `node` is a voter in either half.
    pub fn is_voter(&self, node: Id) -> bool {
        self.incoming.binary_search(&node).is_ok() || self.outgoing.binary_search(&node).is_ok()
    }

    /// Whether `agree` holds a quorum: a majority of the voters of each
    /// half (§5.2 for one configuration, thesis §4.3 for a joint one).
    /// Only voters count, so a learner in `agree` adds nothing. An empty
    /// half agrees to anything, as in etcd (a node not yet configured).
    pub fn is_quorum(&self, agree: impl Fn(Id) -> bool) -> bool {
        majority(&self.incoming, &agree) && majority(&self.outgoing, &agree)
    }

    /// The highest index a quorum holds, given what each voter holds
    /// (§5.3: an entry is committed once a majority stores it; thesis
    /// §4.3: a majority of each half while joint). `u64::MAX` when the
    /// configuration has no voters.
    pub fn quorum_index(&self, holds: impl Fn(Id) -> u64) -> u64 {
        majority_index(&self.incoming, &holds).min(majority_index(&self.outgoing, &holds))
    }

    /// The configuration in words, for reports: `{1,2,3}` or
    /// `{1,2,3} joint with {1,2,4}`.
    pub fn describe(&self) -> String {
        let set = |ids: &[Id]| format!("{{{}}}", ids.iter().map(Id::to_string).collect::<Vec<_>>().join(","));
        if self.is_joint() {
            format!("{} joint with {}", set(&self.incoming), set(&self.outgoing))
        } else {
            set(&self.incoming)
        }
    }
}

/// Whether a strict majority of `voters` agree (true for no voters).
fn majority(voters: &[Id], agree: &impl Fn(Id) -> bool) -> bool {
    voters.is_empty() || voters.iter().filter(|&&v| agree(v)).count() * 2 > voters.len()
}

/// The highest index held by a strict majority of `voters`.
fn majority_index(voters: &[Id], holds: &impl Fn(Id) -> u64) -> u64 {
    if voters.is_empty() {
        return u64::MAX;
    }
    let mut held: Vec<u64> = voters.iter().map(|&v| holds(v)).collect();
    held.sort_unstable_by(|a, b| b.cmp(a));
    held[voters.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_joint_quorum_needs_both_halves() {
        let joint = Config::new(vec![1, 2, 3], vec![3, 4, 5]);
        assert!(!joint.is_quorum(|n| n <= 3), "the new majority alone is not enough");
        assert!(joint.is_quorum(|n| n == 2 || n == 3 || n == 4));
        assert_eq!(joint.quorum_index(|n| [0, 9, 9, 5, 1, 1][n as usize]), 1);
        let simple = Config::new(vec![1, 2, 3], vec![]);
        assert_eq!(simple.quorum_index(|n| [0, 9, 7, 5][n as usize]), 7);
        assert!(!simple.is_quorum(|n| n == 1 || n == 7), "a non-voter does not count");
    }
}
