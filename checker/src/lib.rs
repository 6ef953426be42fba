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

pub use check::{
    check, CheckOptions, CheckReport, PartitionOutcome, PartitionReport, Progress, Verdict,
};
pub use datum::Datum;
pub use explain::{Candidate, Explanation, Linearization};
pub use history::{Completion, Event, EventKind, HistoryError, Operation};
pub use limits::UnknownReason;
pub use model::Model;
