//! `raftcheck mutants`: every seeded bug, where it lives and which checker
//! must catch it.

use crate::output::{outln, Envelope};
use clap::Args;
use raftcheck_core::Mutant;
use raftcheck_impl::kv::KvMutant;
use serde::Serialize;
use std::time::Instant;

/// Options of `raftcheck mutants`.
#[derive(Args, Debug)]
pub struct MutantsArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// One listed bug.
#[derive(Serialize)]
struct Listed {
    id: &'static str,
    name: &'static str,
    layer: &'static str,
    caught_by: &'static str,
    description: &'static str,
}

fn listing() -> Vec<Listed> {
    let core = Mutant::ALL.into_iter().map(|m| Listed {
        id: m.id(),
        name: m.name(),
        layer: "core",
        caught_by: "model checker (raftcheck model --mutant ID); the runtime runs it too",
        description: m.description(),
    });
    let service = KvMutant::ALL.into_iter().map(|m| Listed {
        id: m.id(),
        name: m.name(),
        layer: "service",
        caught_by: "linearizability checker, on the key/value tests' recorded histories",
        description: m.description(),
    });
    core.chain(service).collect()
}

/// `raftcheck mutants --json`, inside the [`Envelope`] (verdict `ok`).
#[derive(Serialize)]
struct MutantsReport {
    mutants: Vec<Listed>,
}

/// Prints the listing; always exit code 0.
pub fn run(args: MutantsArgs) -> u8 {
    let started = Instant::now();
    let all = listing();
    if args.json {
        Envelope::new("ok", 0, started.elapsed(), MutantsReport { mutants: all }).print();
        return 0;
    }
    outln!("Seeded bugs (ids as in docs/mutants.md).\n");
    for (layer, heading) in [
        ("core", "In the Raft core: model-checked with `raftcheck model --mutant ID` (see --list-mutants there)"),
        ("service", "In the runtime's key/value service: invisible to the model, caught by checking histories"),
    ] {
        outln!("{heading}:");
        for m in all.iter().filter(|m| m.layer == layer) {
            outln!("  {:<4} {:<26} {}", m.id, m.name, m.description);
        }
        outln!();
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mutant_is_listed_once_with_its_layer() {
        let all = listing();
        assert_eq!(all.len(), Mutant::ALL.len() + KvMutant::ALL.len());
        let mut ids: Vec<_> = all.iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "ids are unique");
        assert!(all.iter().any(|m| m.id == "m21" && m.layer == "service"));
        assert!(all.iter().any(|m| m.id == "m8" && m.layer == "core"));
    }
}
