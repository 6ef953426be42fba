//! The sequential specification a history is checked against.

use std::hash::Hash;

/// A sequential data type: its initial states and its transitions.
///
/// Contract (the search relies on it):
/// * `step` is pure: the same state, input and output always give the same
///   successors, in the same order, and the given state is not changed.
/// * Equal states have equal hashes (`Eq` and `Hash` agree), so that the
///   search can recognise a configuration it has already explored.
/// * If `partition` returns `Some` for every input, the history is
///   linearizable iff each sub-history of the inputs sharing a key is
///   (P-compositionality). Return `None` when that does not hold.
///
/// A model is nondeterministic when `init` gives several states or `step`
/// pushes several successors; the history is linearizable if some choice
/// of states explains it.
pub trait Model: Sync {
    /// A state of the data type.
    type State: Clone + Eq + Hash + Send;
    /// An operation's input (what the client asked for). Equality lets
    /// the search treat identical pending operations as interchangeable.
    type Input: PartialEq + Sync;
    /// An operation's output (what the client observed).
    type Output: PartialEq + Sync;

    /// The possible initial states (at least one).
    fn init(&self) -> Vec<Self::State>;

    /// Pushes onto `next` every state that can follow `state` when an
    /// operation with `input` takes effect and returns `output` (`None`:
    /// the output is unknown and any output is accepted). Pushing nothing
    /// means the operation cannot take effect in `state`. `next` is empty
    /// when called.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
        next: &mut Vec<Self::State>,
    );

    /// True if the operation never changes the state: in every state where
    /// it can take effect, its only successor is that state (a read, a
    /// failed compare-and-set). The search then takes it as soon as it is
    /// legal, without trying other orders. Default: false (always sound).
    fn is_read_only(&self, _input: &Self::Input, _output: Option<&Self::Output>) -> bool {
        false
    }

    /// Optional pruning, for speed. The completed operation `next` (with
    /// its output) has not taken effect yet, and only `others` may take
    /// effect before it does. Return false only if `next` cannot take
    /// effect from `state` after any sequence of some of `others`; the
    /// search then abandons this branch. Called for read-only operations
    /// and for the operation that must come first. Default: true (no
    /// pruning, always sound).
    fn can_still_take_effect(
        &self,
        _state: &Self::State,
        _next: (&Self::Input, Option<&Self::Output>),
        _others: &mut dyn Iterator<Item = (&Self::Input, Option<&Self::Output>)>,
    ) -> bool {
        true
    }

    /// True if operations with inputs `a` and `b` are independent: they
    /// touch disjoint parts of the state, so that in every state taking
    /// them in either order is legal for both orders or for neither, with
    /// the same successors (for example kv operations on different keys).
    /// The search then does not try the orders of independent operations
    /// (see the search's module documentation); this works whether or not
    /// the history is partitioned. Dependence (`!independent`) must be an
    /// equivalence: operations fall into classes (such as keys) and two
    /// are independent iff they are in different classes. Default: false
    /// (always sound).
    fn independent(&self, _a: &Self::Input, _b: &Self::Input) -> bool {
        false
    }

    /// The part of `state` in the class of the operation with `input` (see
    /// `independent`): equal for any two states that agree on that class.
    /// The search remembers which such parts fail, so that a class's dead
    /// ends are not searched again under other classes' states. Default:
    /// the whole state (always sound, remembers less).
    fn class_state(&self, state: &Self::State, _input: &Self::Input) -> Self::State {
        state.clone()
    }

    /// A decision procedure faster than the search, for the histories it
    /// applies to: `Some(Ok(()))` if the operations `ops` (one partition,
    /// in the search's order) are linearizable, `Some(Err(i))` if not,
    /// with `ops[i]` an operation that cannot take effect where it must;
    /// `None` where it does not apply. The search then only looks for an
    /// explanation (a refutation) or a witness (if asked for). Default:
    /// `None`.
    fn decide(&self, _ops: &[&crate::Operation<Self::Input, Self::Output>]) -> Option<Result<(), usize>> {
        None
    }

    /// The independent part of the data type an input touches (for example
    /// its key), or `None` if the history must be checked as a whole.
    fn partition(&self, _input: &Self::Input) -> Option<String> {
        None
    }

    /// Human-readable text for an operation, for reports.
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String;

    /// Human-readable text for a state, for reports.
    fn describe_state(&self, state: &Self::State) -> String;

    /// Approximate heap bytes owned by a state beyond its inline size; the
    /// search counts it against its memory budget. Default: 0.
    fn state_heap_bytes(&self, _state: &Self::State) -> usize {
        0
    }
}
