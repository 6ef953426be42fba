//! Digests: how a trace names commands, snapshots and logs without copying
//! them. A digest is FNV-1a (64 bits) and is written as 16 lower-case hex
//! digits.

use raftcheck_core::{Index, Log, Term};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A 64-bit digest. The core treats commands and snapshots as opaque
/// values, so the validator runs it on digests in their place: two commands
/// are told apart as long as their digests differ.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Digest(pub u64);

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over `bytes`, continuing from `state`.
fn fnv(mut state: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        state ^= b as u64;
        state = state.wrapping_mul(PRIME);
    }
    state
}

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(fnv(OFFSET, bytes))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if text.len() != 16 {
            return Err(serde::de::Error::custom(format!("a digest is 16 hex digits, found {text:?}")));
        }
        u64::from_str_radix(&text, 16)
            .map(Digest)
            .map_err(|_| serde::de::Error::custom(format!("a digest is 16 hex digits, found {text:?}")))
    }
}

/// A command or snapshot, as the trace names it.
pub trait Digestible {
    /// Its digest.
    fn digest(&self) -> Digest;
}

impl Digestible for Vec<u8> {
    fn digest(&self) -> Digest {
        Digest::of(self)
    }
}

impl Digestible for Digest {
    fn digest(&self) -> Digest {
        *self
    }
}

/// The digest of a log: chained from the snapshot boundary over every
/// retained entry, `d = H(snapshot index, snapshot term)`, then for each
/// entry `d = H(d, term, command digest)`, each number as 8 little-endian
/// bytes. Two logs with the same digest have the same snapshot boundary and
/// the same retained entries.
pub fn log_digest<C: Digestible + Clone>(log: &Log<C>) -> Digest {
    let mut d = fnv(OFFSET, &log.snapshot_index().to_le_bytes());
    d = fnv(d, &log.snapshot_term().to_le_bytes());
    for entry in log.retained() {
        d = chain(d, entry.term, entry.command.digest());
    }
    Digest(d)
}

/// [`log_digest`] of a log that changes a little between calls (entries
/// appended, a suffix replaced): keeps the digest after each entry of the
/// last log seen, and re-chains only from the first entry that differs.
/// Always equal to [`log_digest`] of the same log.
#[derive(Clone, Debug, Default)]
pub struct LogDigester {
    /// The snapshot boundary of the last log: (index, term).
    boundary: Option<(Index, Term)>,
    /// The last log's retained entries: (term, command digest).
    entries: Vec<(Term, Digest)>,
    /// `chained[k]`: the digest after entry `k` of `entries`.
    chained: Vec<u64>,
}

impl LogDigester {
    /// The digest of `log`.
    pub fn digest<C: Digestible + Clone>(&mut self, log: &Log<C>) -> Digest {
        let boundary = (log.snapshot_index(), log.snapshot_term());
        if self.boundary != Some(boundary) {
            self.boundary = Some(boundary);
            self.entries.clear();
            self.chained.clear();
        }
        let retained = log.retained();
        let same = self
            .entries
            .iter()
            .zip(retained)
            .take_while(|((term, command), entry)| *term == entry.term && *command == entry.command.digest())
            .count();
        self.entries.truncate(same);
        self.chained.truncate(same);
        let mut d = match self.chained.last() {
            Some(&d) => d,
            None => fnv(fnv(OFFSET, &boundary.0.to_le_bytes()), &boundary.1.to_le_bytes()),
        };
        for entry in &retained[same..] {
            let command = entry.command.digest();
            d = chain(d, entry.term, command);
            self.entries.push((entry.term, command));
            self.chained.push(d);
        }
        Digest(d)
    }
}

fn chain(d: u64, term: Term, command: Digest) -> u64 {
    let d = fnv(d, &term.to_le_bytes());
    fnv(d, &command.0.to_le_bytes())
}

/// The boundary numbers of a log: snapshot index and term, last index and
/// term.
pub fn log_bounds<C: Clone>(log: &Log<C>) -> (Index, Term, Index, Term) {
    (log.snapshot_index(), log.snapshot_term(), log.last_index(), log.last_term())
}

#[cfg(test)]
mod tests {
    use super::*;
    use raftcheck_core::Entry;

    #[test]
    fn digests_are_fnv1a_and_round_trip_as_hex() {
        assert_eq!(Digest::of(b""), Digest(0xcbf2_9ce4_8422_2325));
        assert_eq!(Digest::of(b"a"), Digest(0xaf63_dc4c_8601_ec8c));
        let text = serde_json::to_string(&Digest::of(b"a")).unwrap();
        assert_eq!(text, "\"af63dc4c8601ec8c\"");
        assert_eq!(serde_json::from_str::<Digest>(&text).unwrap(), Digest::of(b"a"));
        assert!(serde_json::from_str::<Digest>("\"xyz\"").is_err());
    }

    #[test]
    fn log_digests_see_terms_commands_and_the_boundary() {
        let log = |entries: &[(Term, &[u8])]| {
            let mut l: Log<Vec<u8>> = Log::new();
            for (term, c) in entries {
                l.append(Entry { term: *term, command: c.to_vec() });
            }
            l
        };
        let a = log(&[(1, b"x"), (2, b"y")]);
        assert_eq!(log_digest(&a), log_digest(&a.clone()));
        assert_ne!(log_digest(&a), log_digest(&log(&[(1, b"x"), (3, b"y")])));
        assert_ne!(log_digest(&a), log_digest(&log(&[(1, b"x"), (2, b"z")])));
        let mut compacted = a.clone();
        compacted.compact_through(1);
        assert_ne!(log_digest(&a), log_digest(&compacted));
        // The same log over digests has the same digest.
        let mut over_digests: Log<Digest> = Log::new();
        for e in a.retained() {
            over_digests.append(Entry { term: e.term, command: e.command.digest() });
        }
        assert_eq!(log_digest(&a), log_digest(&over_digests));
    }

    /// The incremental digester agrees with the whole-log digest through
    /// appends, a replaced suffix, and a compaction.
    #[test]
    fn the_digester_agrees_with_the_whole_log_digest() {
        let entry = |term, byte| Entry { term, command: vec![byte] };
        let mut log: Log<Vec<u8>> = Log::new();
        let mut digester = LogDigester::default();
        assert_eq!(digester.digest(&log), log_digest(&log));
        for k in 0..6u8 {
            log.append(entry(1, k));
            assert_eq!(digester.digest(&log), log_digest(&log));
        }
        log.truncate_from(4);
        log.append(entry(2, 9));
        assert_eq!(digester.digest(&log), log_digest(&log));
        log.compact_through(2);
        assert_eq!(digester.digest(&log), log_digest(&log));
        log.append(entry(2, 10));
        assert_eq!(digester.digest(&log), log_digest(&log));
    }
}
