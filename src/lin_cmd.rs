//! `raftcheck lin`: check histories for linearizability.
//! (Being written in the `lin` branch; this file is replaced there.)

use clap::Args;

/// Options of `raftcheck lin`.
#[derive(Args, Debug)]
pub struct LinArgs {
    /// History files.
    files: Vec<std::path::PathBuf>,
}

/// Runs the subcommand and returns the process exit code.
pub fn run(_args: LinArgs) -> u8 {
    eprintln!("raftcheck lin: not built yet");
    2
}
