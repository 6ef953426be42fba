//! The processes of a distributed search find one another: the hostfile
//! (one `host:port` per process), the TCP connections between every pair
//! of processes (process `i` connects to each `j < i` and accepts each
//! `j > i`, as timely does), and a handshake that refuses a peer running
//! another scope, another process count or another worker count.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// A hostfile that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HostfileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `host:port`.
    #[error("{path}, line {line}: expected host:port, found '{text}'")]
    BadLine {
        /// The file.
        path: String,
        /// The line number (from 1).
        line: usize,
        /// The line.
        text: String,
    },
    /// Not one address per process.
    #[error("{path}: expected {expected} addresses (one host:port per process), found {found}")]
    Count {
        /// The file.
        path: String,
        /// The number of processes.
        expected: usize,
        /// The addresses found.
        found: usize,
    },
}

/// Reads a hostfile: one `host:port` per line, process `i` at the `i`-th
/// address; blank lines and lines starting with `#` are skipped. Exactly
/// `processes` addresses are expected.
pub fn read_hostfile(path: &std::path::Path, processes: usize) -> Result<Vec<String>, HostfileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| HostfileError::Read { path: shown.clone(), source })?;
    let mut addresses = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let valid = line.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !valid {
            return Err(HostfileError::BadLine { path: shown, line: n + 1, text: line.to_string() });
        }
        addresses.push(line.to_string());
    }
    if addresses.len() != processes {
        return Err(HostfileError::Count { path: shown, expected: processes, found: addresses.len() });
    }
    Ok(addresses)
}

/// What a process tells each peer when they connect; both sides must agree
/// on everything but the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Hello {
    /// The sender's process index.
    pub process: u64,
    /// Processes in the run.
    pub processes: u64,
    /// Workers per process.
    pub workers: u64,
    /// A fingerprint of the model's scope and the search's options.
    pub scope: u64,
}

/// Marks the start of a handshake ("raftcheck distributed search", v1).
const MAGIC: u64 = 0x5246_4344_5331_0001;

impl Hello {
    fn write(&self, stream: &mut TcpStream) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(40);
        for word in [MAGIC, self.process, self.processes, self.workers, self.scope] {
            bytes.extend_from_slice(&word.to_be_bytes());
        }
        stream.write_all(&bytes)
    }

    fn read(stream: &mut TcpStream) -> std::io::Result<Option<Hello>> {
        let mut bytes = [0u8; 40];
        stream.read_exact(&mut bytes)?;
        let word = |i: usize| u64::from_be_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        if word(0) != MAGIC {
            return Ok(None);
        }
        Ok(Some(Hello { process: word(1), processes: word(2), workers: word(3), scope: word(4) }))
    }
}

/// Why the processes could not all be connected.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// This process's own address cannot be listened on.
    #[error("cannot listen on {address} (this process's line of the hostfile): {source}")]
    Listen {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// A peer did not connect (or could not be reached) in time.
    #[error("process {peer} ({address}) did not connect within {waited:?}: is it running, with this hostfile?")]
    Timeout {
        /// The peer's index.
        peer: usize,
        /// Its address.
        address: String,
        /// How long this process waited.
        waited: Duration,
    },
    /// A peer runs something else.
    #[error("process {peer} ({address}) runs a different search: {what}")]
    Mismatch {
        /// The peer's index.
        peer: usize,
        /// Its address.
        address: String,
        /// What differs.
        what: String,
    },
    /// Reading or writing the handshake failed.
    #[error("handshake with process {peer} ({address}) failed: {source}")]
    Handshake {
        /// The peer's index.
        peer: usize,
        /// Its address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Connects this process (`me.process`) to every other one of `addresses`
/// before `deadline`; the result holds a stream to each other process, in
/// process order, and `None` at this process's own index (what timely's
/// `initialize_networking_from_sockets` takes). Each connection has passed
/// the handshake: the peer runs the same scope with the same process and
/// worker counts.
pub(super) fn connect_all(
    addresses: &[String],
    me: Hello,
    deadline: Instant,
    waited: Duration,
) -> Result<Vec<Option<TcpStream>>, ConnectError> {
    let my = me.process as usize;
    let listener = TcpListener::bind(&addresses[my])
        .map_err(|source| ConnectError::Listen { address: addresses[my].clone(), source })?;
    listener.set_nonblocking(true).map_err(|source| ConnectError::Listen { address: addresses[my].clone(), source })?;
    let mut streams: Vec<Option<TcpStream>> = (0..addresses.len()).map(|_| None).collect();
    let timeout = |peer: usize| ConnectError::Timeout { peer, address: addresses[peer].clone(), waited };
    let handshake = |peer: usize, source| ConnectError::Handshake { peer, address: addresses[peer].clone(), source };
    for (peer, address) in addresses.iter().enumerate().take(my) {
        let mut stream = loop {
            let attempt = address
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).ok());
            if let Some(stream) = attempt {
                break stream;
            }
            if Instant::now() >= deadline {
                return Err(timeout(peer));
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
        stream.set_read_timeout(Some(left)).map_err(|e| handshake(peer, e))?;
        me.write(&mut stream).map_err(|e| handshake(peer, e))?;
        let hello = Hello::read(&mut stream).map_err(|e| handshake(peer, e))?;
        let mismatch = |what| ConnectError::Mismatch { peer, address: address.clone(), what };
        let hello = hello.ok_or_else(|| mismatch("it is not a raftcheck distributed search".to_string()))?;
        check(hello, me, peer).map_err(|what| ConnectError::Mismatch { peer, address: address.clone(), what })?;
        streams[peer] = Some(stream);
    }
    let mut waiting: Vec<usize> = (my + 1..addresses.len()).collect();
    while let Some(&first) = waiting.first() {
        match listener.accept() {
            Ok((mut stream, _)) => {
                stream.set_nonblocking(false).map_err(|e| handshake(first, e))?;
                let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
                stream.set_read_timeout(Some(left)).map_err(|e| handshake(first, e))?;
                // Anything that does not greet us properly is not a peer.
                let Ok(Some(hello)) = Hello::read(&mut stream) else { continue };
                let peer = hello.process as usize;
                let Some(k) = waiting.iter().position(|&p| p == peer) else { continue };
                // Answer before checking, so that both sides see a mismatch.
                me.write(&mut stream).map_err(|e| handshake(peer, e))?;
                check(hello, me, peer).map_err(|what| ConnectError::Mismatch {
                    peer,
                    address: addresses[peer].clone(),
                    what,
                })?;
                waiting.remove(k);
                streams[peer] = Some(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(timeout(first));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(handshake(first, e)),
        }
    }
    for stream in streams.iter().flatten() {
        let fail = |e| ConnectError::Handshake { peer: 0, address: String::new(), source: e };
        stream.set_read_timeout(None).map_err(fail)?;
        stream.set_nodelay(true).map_err(fail)?;
    }
    Ok(streams)
}

/// Whether `hello`, from process `peer`, agrees with `me`.
fn check(hello: Hello, me: Hello, peer: usize) -> Result<(), String> {
    if hello.process as usize != peer {
        return Err(format!("it says it is process {}", hello.process));
    }
    if hello.processes != me.processes {
        return Err(format!("--processes {} there, {} here", hello.processes, me.processes));
    }
    if hello.workers != me.workers {
        return Err(format!("--workers {} there, {} here", hello.workers, me.workers));
    }
    if hello.scope != me.scope {
        return Err("another scope (configuration, bounds, mutant or symmetry)".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostfile_has_one_address_per_process() {
        let dir = std::env::temp_dir().join(format!("raftcheck-hostfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hosts");
        std::fs::write(&path, "# two processes\n127.0.0.1:4000\n\nlocalhost:4001\n").unwrap();
        assert_eq!(read_hostfile(&path, 2).unwrap(), vec!["127.0.0.1:4000", "localhost:4001"]);
        assert!(matches!(read_hostfile(&path, 3), Err(HostfileError::Count { expected: 3, found: 2, .. })));
        std::fs::write(&path, "127.0.0.1:4000\nnot-an-address\n").unwrap();
        assert!(matches!(read_hostfile(&path, 2), Err(HostfileError::BadLine { line: 2, .. })));
        assert!(matches!(read_hostfile(&dir.join("missing"), 2), Err(HostfileError::Read { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_peer_with_another_scope_is_refused() {
        let me = Hello { process: 0, processes: 2, workers: 1, scope: 7 };
        assert!(check(Hello { process: 1, ..me }, me, 1).is_ok());
        assert!(check(Hello { process: 1, scope: 8, ..me }, me, 1).is_err());
        assert!(check(Hello { process: 1, workers: 2, ..me }, me, 1).is_err());
        assert!(check(Hello { process: 0, ..me }, me, 1).is_err());
    }
}
