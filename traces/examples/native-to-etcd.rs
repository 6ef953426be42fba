//! Writes a native trace again in etcd-raft's schema (the translation the
//! runtime's `TraceFormat::Etcd` and `raftcheck trace --check spec` use),
//! to make etcd-schema traces of our Raft for the corpus.
//!
//!     cargo run -p raftcheck-traces --example native-to-etcd -- IN.ndjson OUT.ndjson

use raftcheck_traces::{Event, Header, TraceWriter};
use std::io::BufRead;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        return Err("usage: native-to-etcd IN.ndjson OUT.ndjson".into());
    };
    let mut lines = std::io::BufReader::new(std::fs::File::open(input)?).lines();
    let header: Header = serde_json::from_str(&lines.next().ok_or("an empty trace")??)?;
    let writer = TraceWriter::new_etcd(Box::new(std::fs::File::create(output)?), &header)?;
    for (number, line) in lines.enumerate() {
        let line = line?;
        if line.starts_with("{\"event\":\"end\"") {
            break;
        }
        let event: Event = serde_json::from_str(&line).map_err(|e| format!("{input}:{}: {e}", number + 2))?;
        writer.write(|_| event);
    }
    writer.finish()?;
    Ok(())
}
