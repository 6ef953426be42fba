//! Deciding a read/write register history whose written values are all
//! distinct by "zones" (Gibbons and Korach, "Testing shared memories",
//! SIAM J. Comput. 1997), without searching.
//!
//! With distinct values every read names the write it read from. Group
//! each write with the reads of its value (a *cluster*; the reads of the
//! initial value form one with a write before all time). In a cluster let
//! `f` be the earliest return and `s` the latest call. If `f < s` the
//! cluster's write takes effect by `f` and its value must still be there
//! at `s`: its *forward zone* is the open interval `(f, s)`, during which
//! no other write may take effect. Otherwise every operation of the
//! cluster is in progress throughout `[s, f]`, so the whole cluster can
//! take effect at one instant there: its *backward zone*. The history is
//! linearizable iff no read returns before its write is called, no two
//! forward zones intersect, and no backward zone lies inside a forward
//! zone (strictly: operations meeting at an instant overlap, as calls come
//! before returns at equal times).
//!
//! What does not constrain: a read whose result is unknown (it may read
//! anything) and a pending write nobody read (it may never take effect).
//! A pending write that was read has no return (`f` comes from its reads).

use super::register_ops::{RegisterInput, RegisterOutput};
use super::values::ValueId;
use crate::history::Operation;
use std::collections::HashMap;

/// A time: `None` stands for "never returned" (after everything).
type Time = i128;
const BEFORE_ALL: Time = i128::MIN;
const AFTER_ALL: Time = i128::MAX;

/// One cluster's earliest return and latest call, and an operation of it
/// (the one called last) to blame.
#[derive(Clone, Copy)]
struct Cluster {
    earliest_return: Time,
    latest_call: Time,
    latest_caller: usize,
}

impl Cluster {
    fn new() -> Self {
        Cluster { earliest_return: AFTER_ALL, latest_call: BEFORE_ALL, latest_caller: usize::MAX }
    }

    fn add(&mut self, i: usize, call: Time, ret: Time) {
        self.earliest_return = self.earliest_return.min(ret);
        if call >= self.latest_call {
            self.latest_call = call;
            self.latest_caller = i;
        }
    }
}

/// `Some(Ok(()))` linearizable, `Some(Err(i))` not (`ops[i]` is to blame),
/// `None` if the history is not a read/write history with distinct
/// written values other than `initial`.
pub(crate) fn decide(ops: &[&Operation<RegisterInput, RegisterOutput>], initial: ValueId) -> Option<Result<(), usize>> {
    let time = |t: u64| t as Time;
    let ret_of = |op: &Operation<RegisterInput, RegisterOutput>| op.ret.map_or(AFTER_ALL, time);
    // The write of each value.
    let mut writer: HashMap<ValueId, usize> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        match op.input {
            RegisterInput::Cas { .. } => return None,
            RegisterInput::Write(v) => {
                if v == initial || writer.insert(v, i).is_some() {
                    return None;
                }
            }
            RegisterInput::Read => {}
        }
    }
    let mut clusters: HashMap<ValueId, Cluster> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        let (RegisterInput::Read, Some(RegisterOutput::Read(v))) = (&op.input, &op.output) else { continue };
        let Some(ret) = op.ret else { continue };
        let cluster = clusters.entry(*v).or_insert_with(|| {
            let mut c = Cluster::new();
            if *v == initial {
                c.add(usize::MAX, BEFORE_ALL, BEFORE_ALL);
            }
            c
        });
        cluster.add(i, time(op.call), time(ret));
        if *v != initial {
            let Some(&w) = writer.get(v) else {
                return Some(Err(i)); // a value nobody wrote
            };
            if time(ret) < time(ops[w].call) {
                return Some(Err(i)); // returned before its write was called
            }
        }
    }
    for (&v, &w) in &writer {
        let op = ops[w];
        if op.ret.is_some() || clusters.contains_key(&v) {
            clusters.entry(v).or_insert_with(Cluster::new).add(w, time(op.call), ret_of(op));
        }
    }
    let (mut forward, mut backward): (Vec<Cluster>, Vec<Cluster>) =
        clusters.into_values().partition(|c| c.earliest_return < c.latest_call);
    // Forward zones, by start: each must start no earlier than every
    // earlier one ends.
    forward.sort_by_key(|c| (c.earliest_return, c.latest_call));
    let mut end_so_far = BEFORE_ALL;
    for c in &forward {
        if c.earliest_return < end_so_far {
            return Some(Err(c.latest_caller));
        }
        end_so_far = end_so_far.max(c.latest_call);
    }
    // Now the forward zones are disjoint and sorted; a backward zone
    // [s, f] lies inside one (f', s') iff f' < s and f < s'.
    backward.sort_by_key(|c| c.latest_call);
    for b in &backward {
        // The last forward zone starting before b's start.
        let k = forward.partition_point(|z| z.earliest_return < b.latest_call);
        if k > 0 && b.earliest_return < forward[k - 1].latest_call {
            return Some(Err(b.latest_caller));
        }
    }
    Some(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(
        input: RegisterInput,
        output: Option<RegisterOutput>,
        call: u64,
        ret: Option<u64>,
    ) -> Operation<RegisterInput, RegisterOutput> {
        Operation { process: 0, input, output, call, ret, line: None }
    }
    fn write(v: ValueId, call: u64, ret: u64) -> Operation<RegisterInput, RegisterOutput> {
        op(RegisterInput::Write(v), Some(RegisterOutput::Written), call, Some(ret))
    }
    fn read(v: ValueId, call: u64, ret: u64) -> Operation<RegisterInput, RegisterOutput> {
        op(RegisterInput::Read, Some(RegisterOutput::Read(v)), call, Some(ret))
    }
    fn run(ops: &[Operation<RegisterInput, RegisterOutput>]) -> Option<Result<(), usize>> {
        decide(&ops.iter().collect::<Vec<_>>(), 0)
    }

    #[test]
    fn an_unread_write_inside_a_forward_zone_refutes() {
        // write 1 [0,1], write 2 [2,3] (never read), read 1 [4,5]: the
        // write of 2 must fall between the write of 1 and its read; it is
        // the one blamed.
        assert_eq!(run(&[write(1, 0, 1), write(2, 2, 3), read(1, 4, 5)]), Some(Err(1)));
        // Overlapping the read instead, it may come after it.
        assert_eq!(run(&[write(1, 0, 1), write(2, 2, 5), read(1, 4, 5)]), Some(Ok(())));
    }

    #[test]
    fn zones_that_meet_at_an_instant_do_not_conflict() {
        // Forward zones (1, 4) and (4, 6): calls come before returns at 4.
        assert_eq!(run(&[write(1, 0, 1), read(1, 4, 5), write(2, 2, 4), read(2, 6, 7)]), Some(Ok(())));
        // (1, 5) and (4, 6) overlap.
        assert_eq!(
            run(&[write(1, 0, 1), read(1, 5, 6), write(2, 2, 4), read(2, 6, 7)]).map(|r| r.is_ok()),
            Some(false)
        );
    }

    #[test]
    fn what_it_does_not_decide_and_plain_refutations() {
        assert_eq!(run(&[write(1, 0, 1), write(1, 2, 3)]), None, "a value written twice");
        assert_eq!(run(&[write(0, 0, 1)]), None, "the initial value written");
        let cas = op(RegisterInput::Cas { from: 0, to: 1 }, None, 0, None);
        assert_eq!(run(&[cas]), None);
        assert_eq!(run(&[read(3, 0, 1)]), Some(Err(0)), "a value nobody wrote");
        assert_eq!(run(&[read(1, 0, 1), write(1, 2, 3)]), Some(Err(0)), "read before its write was called");
        // A pending write that was read takes effect; one nobody read need not.
        let pending = op(RegisterInput::Write(1), None, 0, None);
        assert_eq!(run(&[pending.clone(), read(1, 2, 3)]), Some(Ok(())));
        assert_eq!(run(&[pending, read(0, 2, 3)]), Some(Ok(())));
    }
}
