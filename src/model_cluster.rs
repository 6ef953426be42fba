//! The options of `raftcheck model`'s distributed search (`--processes`,
//! `--process`, `--hostfile`, `--workers`, `--peer-timeout`), validated
//! into a [`Cluster`] before any work.

use crate::units::parse_duration;
use clap::Args;
use raftcheck_model::explore::search::distributed::{read_hostfile, Cluster, HostfileError};
use std::path::PathBuf;
use std::time::Duration;

/// How long a process waits for its peers by default.
const DEFAULT_PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// The distributed search's options.
#[derive(Args, Debug)]
pub struct ClusterArgs {
    /// Distributed breadth-first search over N processes, each started with
    /// the same options plus its own --process (see "More than one machine"
    /// in the README); with 1, on --workers threads of this process.
    #[arg(long, value_name = "N")]
    processes: Option<usize>,
    /// This process's index in a distributed search, 0 to N-1; process 0
    /// prints the report, the others only errors.
    #[arg(long, value_name = "I")]
    process: Option<usize>,
    /// The processes' addresses: one host:port per line, process i at the
    /// i-th (blank lines and # comments skipped). Each process listens on
    /// its own line's address.
    #[arg(long, value_name = "FILE")]
    hostfile: Option<PathBuf>,
    /// Worker threads per process in a distributed search (default 1).
    #[arg(long, value_name = "W")]
    workers: Option<usize>,
    /// How long a distributed search waits for the other processes to
    /// connect, and may go on with nothing arriving from them, before it
    /// ends (exit 3): seconds, or a number with ms, s, m or h (default 60s).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    peer_timeout: Option<Duration>,
}

/// Distributed-search options that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum ClusterArgsError {
    #[error("--{0} is for a distributed search: give --processes too")]
    WithoutProcesses(&'static str),
    #[error("--processes must be at least 1")]
    NoProcesses,
    #[error("--workers must be 1 to 256")]
    Workers,
    #[error("--process is needed with --processes {0} (0 to {max})", max = .0 - 1)]
    NoProcess(usize),
    #[error("--process {process} is not below --processes {processes}")]
    ProcessOutOfRange { process: usize, processes: usize },
    #[error("--hostfile is needed with --processes {0}")]
    NoHostfile(usize),
    #[error("--hostfile: {0}")]
    Hostfile(#[from] HostfileError),
}

impl ClusterArgs {
    /// The cluster this process belongs to, if a distributed search was
    /// asked for; its `scope` is 0, for the caller to fill in.
    pub fn cluster(&self) -> Result<Option<Cluster>, ClusterArgsError> {
        let Some(processes) = self.processes else {
            let given = [
                ("process", self.process.is_some()),
                ("hostfile", self.hostfile.is_some()),
                ("workers", self.workers.is_some()),
                ("peer-timeout", self.peer_timeout.is_some()),
            ];
            return match given.iter().find(|(_, g)| *g) {
                Some((name, _)) => Err(ClusterArgsError::WithoutProcesses(name)),
                None => Ok(None),
            };
        };
        if processes == 0 {
            return Err(ClusterArgsError::NoProcesses);
        }
        let workers = self.workers.unwrap_or(1);
        if !(1..=256).contains(&workers) {
            return Err(ClusterArgsError::Workers);
        }
        let process = match (self.process, processes) {
            (Some(p), n) if p >= n => return Err(ClusterArgsError::ProcessOutOfRange { process: p, processes: n }),
            (Some(p), _) => p,
            (None, 1) => 0,
            (None, n) => return Err(ClusterArgsError::NoProcess(n)),
        };
        let addresses = match (&self.hostfile, processes) {
            (Some(path), n) => read_hostfile(path, n)?,
            (None, 1) => Vec::new(),
            (None, n) => return Err(ClusterArgsError::NoHostfile(n)),
        };
        Ok(Some(Cluster {
            processes,
            process,
            workers,
            addresses,
            peer_timeout: self.peer_timeout.unwrap_or(DEFAULT_PEER_TIMEOUT),
            scope: 0,
        }))
    }
}
