//! A single register (read/write) and a compare-and-set register
//! (read/write/cas), over interned values.

pub use super::register_ops::{RegisterInput, RegisterOutput};
use super::values::{ValueId, ValueTable};
use super::zones;
use crate::model::Model;

/// A register: the state is the current value.
///
/// Steps: a read is legal iff it returned the current value (any value
/// if its result is unknown); a write sets the value; a cas that
/// succeeded is legal iff the value was `from` and sets `to`; a cas that
/// observed failure is legal iff the value was not `from`; a cas with an
/// unknown result is always legal and sets `to` iff the value was `from`.
///
/// Values no operation of the history observes (no read returns them, no
/// cas compares with them) can be merged into one state with
/// [`RegisterModel::merge_unobserved`]: whichever of them the register
/// holds, every operation behaves the same, so the search need not tell
/// them apart (orders of writes nobody read then lead to the same
/// configuration).
#[derive(Clone, Debug)]
pub struct RegisterModel {
    values: ValueTable,
    initial: ValueId,
    /// Per value id: `UNOBSERVED` if merged, else the id itself. Empty
    /// when nothing is merged.
    merged: Vec<ValueId>,
}

/// The state of a register holding a value no operation observes.
pub const UNOBSERVED: ValueId = ValueId::MAX;

impl RegisterModel {
    /// A register starting at `initial`, describing values with `values`.
    pub fn new(values: ValueTable, initial: ValueId) -> Self {
        RegisterModel { values, initial, merged: Vec::new() }
    }

    /// Merges the values that no operation of `history` observes into the
    /// state [`UNOBSERVED`]. Observed: a read's known result, and the
    /// `from` of every cas (its step compares with it whatever its
    /// output). Check only `history` (or a part of it) with the result.
    pub fn merge_unobserved(&mut self, history: &[crate::Operation<RegisterInput, RegisterOutput>]) {
        let mut observed = vec![false; self.values.len()];
        for op in history {
            match (&op.input, &op.output) {
                (RegisterInput::Read, Some(RegisterOutput::Read(v))) => observed[*v as usize] = true,
                (RegisterInput::Cas { from, .. }, _) => observed[*from as usize] = true,
                _ => {}
            }
        }
        self.merged =
            observed.iter().enumerate().map(|(v, &seen)| if seen { v as ValueId } else { UNOBSERVED }).collect();
    }

    /// The state of a register holding `v`.
    #[inline]
    fn holding(&self, v: ValueId) -> ValueId {
        self.merged.get(v as usize).copied().unwrap_or(v)
    }
}

impl Model for RegisterModel {
    type State = ValueId;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn init(&self) -> Vec<ValueId> {
        vec![self.holding(self.initial)]
    }

    #[inline]
    fn step(&self, state: &ValueId, input: &RegisterInput, output: Option<&RegisterOutput>, next: &mut Vec<ValueId>) {
        let s = *state;
        match (input, output) {
            (RegisterInput::Read, None) => next.push(s),
            (RegisterInput::Read, Some(RegisterOutput::Read(v))) if *v == s => next.push(s),
            (RegisterInput::Write(v), None | Some(RegisterOutput::Written)) => next.push(self.holding(*v)),
            (RegisterInput::Cas { from, to }, None) => next.push(if s == *from { self.holding(*to) } else { s }),
            (RegisterInput::Cas { from, to }, Some(RegisterOutput::Cas { succeeded: true })) if s == *from => {
                next.push(self.holding(*to))
            }
            (RegisterInput::Cas { from, .. }, Some(RegisterOutput::Cas { succeeded: false })) if s != *from => {
                next.push(s)
            }
            _ => {}
        }
    }

    fn is_read_only(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> bool {
        matches!(
            (input, output),
            (RegisterInput::Read, _) | (RegisterInput::Cas { .. }, Some(RegisterOutput::Cas { succeeded: false }))
        )
    }

    /// A read of `v` needs the value `v` now or an operation that may
    /// write it; a successful cas from `f` likewise needs `f`.
    fn can_still_take_effect(
        &self,
        state: &ValueId,
        next: (&RegisterInput, Option<&RegisterOutput>),
        others: &mut dyn Iterator<Item = (&RegisterInput, Option<&RegisterOutput>)>,
    ) -> bool {
        let needed = match next {
            (RegisterInput::Read, Some(RegisterOutput::Read(v))) => *v,
            (RegisterInput::Cas { from, .. }, Some(RegisterOutput::Cas { succeeded: true })) => *from,
            _ => return true,
        };
        if needed == *state {
            return true;
        }
        for op in others {
            if let (RegisterInput::Write(v), _)
            | (RegisterInput::Cas { to: v, .. }, None | Some(RegisterOutput::Cas { succeeded: true })) = op
            {
                if *v == needed {
                    return true;
                }
            }
        }
        false
    }

    /// Read/write histories whose writes all have distinct values, none
    /// of them the initial one: decided by zones (Gibbons and Korach,
    /// "Testing shared memories", 1997), in O(n log n). See `zones`.
    fn decide(&self, ops: &[&crate::Operation<RegisterInput, RegisterOutput>]) -> Option<Result<(), usize>> {
        zones::decide(ops, self.initial)
    }

    fn describe_operation(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        let v = |id: &ValueId| self.values.get(*id).to_string();
        match (input, output) {
            (RegisterInput::Read, Some(RegisterOutput::Read(r))) => format!("read() -> {}", v(r)),
            (RegisterInput::Read, _) => "read() -> ?".to_string(),
            (RegisterInput::Write(w), Some(_)) => format!("write({})", v(w)),
            (RegisterInput::Write(w), None) => format!("write({}) -> ?", v(w)),
            (RegisterInput::Cas { from, to }, out) => {
                let result = match out {
                    Some(RegisterOutput::Cas { succeeded: true }) => "ok",
                    Some(RegisterOutput::Cas { succeeded: false }) => "failed",
                    _ => "?",
                };
                format!("cas({}, {}) -> {result}", v(from), v(to))
            }
        }
    }

    fn describe_state(&self, state: &ValueId) -> String {
        if *state == UNOBSERVED {
            return "(a value no read or cas observes)".to_string();
        }
        self.values.get(*state).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datum::Datum;

    #[test]
    fn cas_semantics() {
        let mut t = ValueTable::default();
        let (nil, one, two) = (t.intern(Datum::Nil), t.intern(Datum::Int(1)), t.intern(Datum::Int(2)));
        let m = RegisterModel::new(t, nil);
        let step = |s, i, o: Option<RegisterOutput>| {
            let mut next = Vec::new();
            m.step(&s, &i, o.as_ref(), &mut next);
            next
        };
        let cas = RegisterInput::Cas { from: one, to: two };
        assert_eq!(step(one, cas, Some(RegisterOutput::Cas { succeeded: true })), vec![two]);
        assert_eq!(step(nil, cas, Some(RegisterOutput::Cas { succeeded: true })), Vec::<ValueId>::new());
        assert_eq!(step(nil, cas, Some(RegisterOutput::Cas { succeeded: false })), vec![nil]);
        assert_eq!(step(one, cas, Some(RegisterOutput::Cas { succeeded: false })), Vec::<ValueId>::new());
        assert_eq!(step(one, cas, None), vec![two]);
        assert_eq!(step(nil, cas, None), vec![nil]);
        assert_eq!(step(one, RegisterInput::Read, Some(RegisterOutput::Read(two))), Vec::<ValueId>::new());
        assert_eq!(step(one, RegisterInput::Read, None), vec![one]);
        assert_eq!(m.describe_operation(&cas, None), "cas(1, 2) -> ?");
    }
}
