//! `raftcheck`: model-check Raft, check histories for linearizability.
//!
//! This binary is thin: it parses arguments, dispatches to one subcommand
//! module and turns the verdict into an exit code (see the README):
//! 0 ok, 1 violated / not linearizable, 2 usage or input error, 3 incomplete.
//! Everything printed on stdout goes through [`output`] (a closed pipe ends
//! the process quietly with success); `print!` and `println!` are refused.

#![deny(clippy::print_stdout)]

mod kv_cmd;
mod lin_cmd;
mod model_cluster;
mod model_cmd;
mod mutants_cmd;
mod node_cmd;
mod output;
mod replay_cmd;
mod run_cmd;
mod trace_cmd;
mod units;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// The model checker allocates and frees small states at a high rate;
/// mimalloc does that markedly faster than the system allocator (measured
/// in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Make Raft verifiable: exhaustive model checking of a Raft core and
/// linearizability checking of recorded client histories.
#[derive(Parser, Debug)]
#[command(name = "raftcheck", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Explore the bounded Raft model exhaustively (or by random walks) and
    /// check its safety properties.
    Model(model_cmd::ModelArgs),
    /// Check histories for linearizability.
    Lin(lin_cmd::LinArgs),
    /// List every seeded bug (core and service), where it lives and which
    /// checker catches it.
    Mutants(mutants_cmd::MutantsArgs),
    /// Validate recorded event traces against the model.
    Trace(trace_cmd::TraceArgs),
    /// Drive the threaded runtime through a model counterexample and check
    /// that the violation happens there too.
    Replay(replay_cmd::ReplayArgs),
    /// Run one key/value server of a real cluster over TCP, with durable
    /// storage and its own trace, until stopped.
    Node(node_cmd::NodeArgs),
    /// A client of such a cluster: get, put, append, or the nodes' status.
    Kv(kv_cmd::KvArgs),
    /// Start a cluster of node processes on loopback, drive clients, inject
    /// faults, then check the history, the traces and the acknowledged
    /// writes.
    Run(run_cmd::RunArgs),
}

fn main() -> ExitCode {
    // The matches are kept beside the parsed arguments: they tell which
    // options the user gave (`model` reports those that override its
    // configuration).
    let parsed = Cli::command().try_get_matches().and_then(|matches| {
        let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut Cli::command()))?;
        Ok((cli, matches))
    });
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            // clap prints help/version to stdout with exit 0, usage errors with 2.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let (_, command_matches) = matches.subcommand().expect("clap requires a subcommand");
    let code = match cli.command {
        Command::Model(args) => model_cmd::run(args, command_matches),
        Command::Lin(args) => lin_cmd::run(args),
        Command::Mutants(args) => mutants_cmd::run(args),
        Command::Trace(args) => trace_cmd::run(args),
        Command::Replay(args) => replay_cmd::run(args),
        Command::Node(args) => node_cmd::run(args),
        Command::Kv(args) => kv_cmd::run(args),
        Command::Run(args) => run_cmd::run(args),
    };
    ExitCode::from(code)
}
