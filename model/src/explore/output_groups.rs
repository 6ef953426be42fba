//! Where a crash may fall inside a step: between groups of the step's
//! outputs. The model explores these crash points and replay files name
//! them; the runtime's fault injection cuts a step at them.

use raftcheck_core::Output;

/// How many of a step's `outputs` (in the order the core returned them) a
/// `CrashDuring` action (of the model or of a replay file) with `groups` carries out before the
/// crash: the outputs of its first `groups` groups (see [`group_ends`]).
/// `None` when `groups` is 0 or the step has fewer groups.
pub fn outputs_before_crash<C, S>(outputs: &[Output<C, S>], groups: u8) -> Option<usize> {
    group_ends(outputs).get(usize::from(groups).checked_sub(1)?).copied()
}

/// Where each group of a step's `outputs` ends (an index into `outputs`),
/// in order. A group is a maximal run of outputs of one kind (the save;
/// sends; applies); outputs of no kind (timer resets, answers to the
/// caller) join the group before them. The model lets a crash fall after
/// each group but the last. A crash between two sends of one group is not a
/// separate case: which peer the core sends to first depends on ids (so
/// symmetry reduction could not merge such states), and losing the later
/// sends is what a lossy network does anyway.
pub fn group_ends<C, S>(outputs: &[Output<C, S>]) -> Vec<usize> {
    let kind = |output: &Output<C, S>| match output {
        Output::Persist => Some(0),
        Output::Send { .. } => Some(1),
        Output::ApplyCommand { .. } | Output::ApplySnapshot { .. } => Some(2),
        _ => None,
    };
    let mut ends = Vec::new();
    let mut current = None;
    for (i, output) in outputs.iter().enumerate() {
        let Some(k) = kind(output) else { continue };
        if current.is_some_and(|c| c != k) {
            ends.push(i);
        }
        current = Some(k);
    }
    if current.is_some() {
        ends.push(outputs.len());
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;
    use raftcheck_core::io::RequestVoteReply;
    use raftcheck_core::io::{InstallSnapshotReply, Message};

    type Out = Output<u8, Vec<u8>>;

    fn send() -> Out {
        let reply = InstallSnapshotReply { term: 1, last_included_index: 0, accepted: true };
        Output::Send { to: 1, message: Message::InstallSnapshotReply(reply) }
    }

    /// The groups of a step: runs of one kind, with outputs of no kind
    /// joining the run before them.
    #[test]
    fn a_crash_falls_between_runs_of_one_kind() {
        let outputs: Vec<Out> = vec![
            send(),
            Output::ResetElectionTimer,
            Output::Persist,
            send(),
            send(),
            Output::ApplyCommand { index: 1, term: 1, command: 7 },
        ];
        assert_eq!(group_ends(&outputs), vec![2, 3, 5, 6]);
        assert_eq!(outputs_before_crash(&outputs, 1), Some(2));
        assert_eq!(outputs_before_crash(&outputs, 3), Some(5));
        assert_eq!(outputs_before_crash(&outputs, 4), Some(6));
        assert_eq!(outputs_before_crash(&outputs, 5), None);
        assert_eq!(outputs_before_crash(&outputs, 0), None);
        assert_eq!(group_ends::<u8, Vec<u8>>(&[Output::ResetElectionTimer]), Vec::<usize>::new());
    }

    #[test]
    fn groups_split_where_the_kind_changes() {
        let send = |to| Output::<u8, Vec<u8>>::Send {
            to,
            message: Message::RequestVoteReply(RequestVoteReply { term: 1, vote_granted: true }),
        };
        let outputs = vec![Output::Persist, Output::ResetElectionTimer, send(1), send(2)];
        assert_eq!(group_ends(&outputs), vec![2, 4]);
        assert_eq!(outputs_before_crash(&outputs, 1), Some(2));
        assert_eq!(outputs_before_crash(&outputs, 3), None);
        let late = vec![send(1), send(2), Output::Persist];
        assert_eq!(group_ends(&late), vec![2, 3]);
        assert_eq!(group_ends(&[Output::<u8, Vec<u8>>::ResetElectionTimer]), Vec::<usize>::new());
    }
}
