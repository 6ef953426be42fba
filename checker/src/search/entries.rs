//! The history as a doubly linked list of call and return entries in time
//! order, from which linearized operations are unlinked ("lifted") and
//! relinked on backtracking (dancing links).

use crate::history::Operation;

/// No entry (end of the list, or an operation without a return).
pub(crate) const NONE: u32 = u32::MAX;
/// The sentinel before the first entry.
const HEAD: u32 = 0;
/// Set in `node_op` for a return entry.
const RETURN: u32 = 1 << 31;

/// Entries are numbered `1..` in time order; calls sort before returns at
/// equal times (intervals are closed). Operations have local ids `0..n`.
///
/// Invariant: the list holds exactly the entries of the operations not
/// lifted, in time order; `next`/`prev` of a lifted entry keep the
/// neighbours it had, so that `unlift` in reverse order restores the list.
pub(crate) struct EntryList {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// The operation of each entry, with `RETURN` set for a return entry.
    node_op: Vec<u32>,
    call_node: Vec<u32>,
    /// `NONE` for a pending operation.
    ret_node: Vec<u32>,
}

impl EntryList {
    /// The list of all entries of `ops` (local id = position).
    pub(crate) fn new<I, O>(ops: &[&Operation<I, O>]) -> Self {
        let n = ops.len();
        // (time, 0 = call / 1 = return, op): calls sort before returns on ties.
        let mut entries: Vec<(u64, u8, u32)> = Vec::with_capacity(2 * n);
        for (i, op) in ops.iter().enumerate() {
            entries.push((op.call, 0, i as u32));
            if let Some(ret) = op.ret {
                entries.push((ret, 1, i as u32));
            }
        }
        entries.sort_unstable();
        let nodes = entries.len() + 1;
        let mut node_op = vec![NONE; nodes];
        let mut call_node = vec![NONE; n];
        let mut ret_node = vec![NONE; n];
        for (pos, &(_, kind, op)) in entries.iter().enumerate() {
            let node = pos as u32 + 1;
            if kind == 0 {
                node_op[node as usize] = op;
                call_node[op as usize] = node;
            } else {
                node_op[node as usize] = op | RETURN;
                ret_node[op as usize] = node;
            }
        }
        let next = (0..nodes as u32).map(|i| if i + 1 < nodes as u32 { i + 1 } else { NONE }).collect();
        let prev = (0..nodes as u32).map(|i| if i == 0 { NONE } else { i - 1 }).collect();
        EntryList { next, prev, node_op, call_node, ret_node }
    }

    /// True if operation `op` has a return entry (it completed).
    #[inline]
    pub(crate) fn completed(&self, op: u32) -> bool {
        self.ret_node[op as usize] != NONE
    }

    /// Pushes the operations of the calls before the first return entry
    /// (the candidates to be linearized next) onto `out`, and returns the
    /// operation of that first return (`NONE` if there is none).
    pub(crate) fn candidates(&self, out: &mut Vec<u32>) -> u32 {
        let mut node = self.next[HEAD as usize];
        while node != NONE && self.node_op[node as usize] & RETURN == 0 {
            out.push(self.node_op[node as usize]);
            node = self.next[node as usize];
        }
        if node == NONE {
            NONE
        } else {
            self.node_op[node as usize] & !RETURN
        }
    }

    /// The operations (other than `target`) whose calls are in the list
    /// before `target`'s return entry, i.e. those that may be linearized
    /// before `target`; at most `limit` entries are looked at, and the
    /// flag is set if the walk stopped there.
    pub(crate) fn calls_before_return<'l>(
        &'l self,
        target: u32,
        limit: u32,
        truncated: &'l std::cell::Cell<bool>,
    ) -> impl Iterator<Item = u32> + 'l {
        let ret = self.ret_node[target as usize];
        let mut node = self.next[HEAD as usize];
        let mut walked = 0;
        std::iter::from_fn(move || {
            while node != ret && node != NONE {
                walked += 1;
                if walked > limit {
                    truncated.set(true);
                    return None;
                }
                let op = self.node_op[node as usize];
                node = self.next[node as usize];
                if op & RETURN == 0 && op != target {
                    return Some(op);
                }
            }
            None
        })
    }

    #[inline]
    fn unlink(&mut self, node: u32) {
        let (p, n) = (self.prev[node as usize], self.next[node as usize]);
        self.next[p as usize] = n;
        if n != NONE {
            self.prev[n as usize] = p;
        }
    }

    #[inline]
    fn relink(&mut self, node: u32) {
        let (p, n) = (self.prev[node as usize], self.next[node as usize]);
        self.next[p as usize] = node;
        if n != NONE {
            self.prev[n as usize] = node;
        }
    }

    /// Removes `op`'s call and return entries.
    pub(crate) fn lift(&mut self, op: u32) {
        self.unlink(self.call_node[op as usize]);
        let ret = self.ret_node[op as usize];
        if ret != NONE {
            self.unlink(ret);
        }
    }

    /// Puts back the entries of `op`, the most recently lifted operation.
    pub(crate) fn unlift(&mut self, op: u32) {
        let ret = self.ret_node[op as usize];
        if ret != NONE {
            self.relink(ret);
        }
        self.relink(self.call_node[op as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(call: u64, ret: Option<u64>) -> Operation<(), ()> {
        Operation { process: 0, input: (), output: None, call, ret, line: None }
    }

    #[test]
    fn candidates_stop_at_the_first_return_and_ties_overlap() {
        let ops = [op(0, Some(10)), op(10, Some(20)), op(11, None), op(21, Some(30))];
        let refs: Vec<&Operation<(), ()>> = ops.iter().collect();
        let mut list = EntryList::new(&refs);
        let mut out = Vec::new();
        // The call at 10 comes before the return at 10: closed intervals.
        assert_eq!(list.candidates(&mut out), 0);
        assert_eq!(out, vec![0, 1]);
        list.lift(0);
        out.clear();
        assert_eq!(list.candidates(&mut out), 1);
        assert_eq!(out, vec![1, 2]);
        let flag = std::cell::Cell::new(false);
        assert_eq!(list.calls_before_return(3, 100, &flag).collect::<Vec<_>>(), vec![1, 2]);
        list.unlift(0);
        out.clear();
        assert_eq!(list.candidates(&mut out), 0);
        assert_eq!(out, vec![0, 1]);
        assert!(!list.completed(2) && list.completed(3));
    }
}
