//! raftcheck-checker: checks recorded client histories for
//! linearizability.
//!
//! * [`history`]: operations as closed intervals; pairing of invoke and
//!   completion events, with pending (crashed) operations first-class.
//! * [`model`]: the [`Model`] trait a data type implements to be checked;
//!   [`models`] has `kv`, `register` and `cas-register`.
//! * [`formats`]: readers for the native JSON Lines format, Jepsen log
//!   lines and EDN histories.
//! * [`check()`]: Wing & Gong's search with Lowe's configuration cache,
//!   per partition (P-compositionality), in parallel, with a timeout and a
//!   memory budget; [`explain`] and [`html`] report the result.
//!
//! A verdict is a value ([`Verdict`]); errors are only for bad input.
//!
//! Checking your own data type: implement [`Model`] and call [`check()`].
//!
//! ```
//! use raftcheck_checker::{check, CheckOptions, Model, Operation, Verdict};
//!
//! /// A counter: `Some(n)` adds n, `None` reads.
//! struct Counter;
//!
//! impl Model for Counter {
//!     type State = i64;
//!     type Input = Option<i64>;
//!     type Output = i64; // a read's result
//!     fn init(&self) -> Vec<i64> {
//!         vec![0]
//!     }
//!     fn step(&self, s: &i64, input: &Option<i64>, output: Option<&i64>, next: &mut Vec<i64>) {
//!         match (input, output) {
//!             (Some(n), _) => next.push(s + n),
//!             (None, Some(read)) if read != s => {} // illegal: pushes nothing
//!             (None, _) => next.push(*s),
//!         }
//!     }
//!     fn describe_operation(&self, input: &Option<i64>, output: Option<&i64>) -> String {
//!         format!("{input:?} -> {output:?}")
//!     }
//!     fn describe_state(&self, s: &i64) -> String {
//!         s.to_string()
//!     }
//! }
//!
//! let op = |process, input, output, call, ret| Operation { process, input, output, call, ret, line: None };
//! // p0 adds 1 during [0, 10]; p1 reads 1 during [5, 15]; p1 then reads 0 during [20, 30].
//! let history = vec![op(0, Some(1), None, 0, Some(10)), op(1, None, Some(1), 5, Some(15)), op(1, None, Some(0), 20, Some(30))];
//! let report = check(&Counter, &history, &CheckOptions::default(), None);
//! assert_eq!(report.verdict, Verdict::NotLinearizable);
//! let (_, why) = report.refuted().unwrap();
//! assert_eq!(why.stuck, 2); // the last read cannot be placed
//! assert_eq!(check(&Counter, &history[..2], &CheckOptions::default(), None).verdict, Verdict::Linearizable);
//! ```

#![warn(missing_docs)]

mod cache;
pub mod check;
pub mod datum;
pub mod explain;
mod fasthash;
pub mod formats;
pub mod history;
pub mod html;
mod limits;
pub mod model;
pub mod models;
mod search;

pub use check::{check, CheckOptions, CheckReport, PartitionOutcome, PartitionReport, Progress, Verdict};
pub use datum::Datum;
pub use explain::{Candidate, Explanation, Linearization};
pub use history::{Completion, Event, EventKind, HistoryError, Operation};
pub use limits::UnknownReason;
pub use model::Model;
