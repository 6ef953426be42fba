//! raftcheck's event traces: what a running Raft cluster did, one event per
//! node step, and the validation of such a trace against the model.
//!
//! * [`schema`]: the versioned NDJSON format (documented in
//!   `traces/README.md`), and the conversion of the core's inputs, outputs
//!   and states into it;
//! * [`digest`]: how commands, snapshots and logs are named by digests;
//! * [`writer`]: a cluster's trace writer, shared by its nodes' threads;
//! * [`validate`]: replaying a trace through the core and checking it;
//! * [`merge`]: one cluster trace from the files of separate node processes;
//! * [`spec`]: an executable Raft spec, for traces of other implementations;
//! * [`etcd`]: reading etcd-raft's traces and checking them against the spec.

pub mod digest;
pub mod etcd;
pub mod merge;
pub mod node_file;
pub mod schema;
pub mod spec;
pub mod validate;
pub mod writer;

pub use digest::{log_digest, Digest, Digestible};
pub use schema::{EndRecord, Event, Header, PersistedSummary, StateSummary, OLDEST_VERSION, VERSION};
pub use validate::{validate_file, validate_reader, Failure, Options, Report, Verdict};
pub use writer::{TraceFormat, TraceWriter};
