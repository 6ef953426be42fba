//! `raftcheck model`: explore the Raft model.
//! (Being written in the `main` branch; this file is replaced there.)

use clap::Args;

/// Options of `raftcheck model`.
#[derive(Args, Debug)]
pub struct ModelArgs {
    /// Unused.
    files: Vec<std::path::PathBuf>,
}

/// Runs the subcommand and returns the process exit code.
pub fn run(_args: ModelArgs) -> u8 {
    eprintln!("raftcheck model: not built yet");
    2
}
