//! A key/value store of strings: get / put / append, a missing key reads
//! `""`, partitioned by key.

use crate::fasthash::mix;
use crate::model::Model;
use smallvec::SmallVec;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The id of a key (an index into [`KvModel`]'s key names).
pub type KeyId = u32;

/// Base of the polynomial string hash (odd, so powers never vanish).
const BASE: u64 = 0x100_0000_01b3;

/// An immutable string with a polynomial hash, so that the hash of a
/// concatenation is computed from its parts' hashes. Cloning shares it.
///
/// Invariant: `hash` = Σ byte[i]·BASE^(n-1-i) and `power` = BASE^n
/// (mod 2^64), n = `text.len()`. Equality compares the text itself.
#[derive(Clone, Debug)]
pub struct KvString {
    hash: u64,
    power: u64,
    text: Arc<str>,
}

impl KvString {
    /// Wraps `text`.
    pub fn new(text: &str) -> Self {
        let (mut hash, mut power) = (0u64, 1u64);
        for &b in text.as_bytes() {
            hash = hash.wrapping_mul(BASE).wrapping_add(b as u64);
            power = power.wrapping_mul(BASE);
        }
        KvString {
            hash,
            power,
            text: Arc::from(text),
        }
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn concat(&self, suffix: &KvString) -> KvString {
        let mut s = String::with_capacity(self.text.len() + suffix.text.len());
        s.push_str(&self.text);
        s.push_str(&suffix.text);
        KvString {
            hash: self
                .hash
                .wrapping_mul(suffix.power)
                .wrapping_add(suffix.hash),
            power: self.power.wrapping_mul(suffix.power),
            text: Arc::from(s),
        }
    }
}

impl PartialEq for KvString {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && (Arc::ptr_eq(&self.text, &other.text) || self.text == other.text)
    }
}
impl Eq for KvString {}
impl Hash for KvString {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(mix(self.hash));
    }
}

/// An operation on the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvInput {
    /// Read a key.
    Get(KeyId),
    /// Set a key.
    Put(KeyId, KvString),
    /// Append to a key's value.
    Append(KeyId, KvString),
}

impl KvInput {
    /// The key the operation touches.
    pub fn key(&self) -> KeyId {
        match self {
            KvInput::Get(k) | KvInput::Put(k, _) | KvInput::Append(k, _) => *k,
        }
    }
}

/// The store's state: the keys written so far, sorted by key. A key not
/// listed holds `""`. One key is stored inline (the partitioned case).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvState(SmallVec<[(KeyId, KvString); 1]>);

impl KvState {
    fn get(&self, key: KeyId) -> Option<&KvString> {
        self.0
            .binary_search_by_key(&key, |(k, _)| *k)
            .ok()
            .map(|i| &self.0[i].1)
    }

    fn with(&self, key: KeyId, value: KvString) -> KvState {
        let mut entries = self.0.clone();
        match entries.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => entries[i].1 = value,
            Err(i) => entries.insert(i, (key, value)),
        }
        KvState(entries)
    }
}

/// The key/value model. Steps: `get` is legal iff it returned the key's
/// value (any value if its result is unknown); `put` sets the value;
/// `append` concatenates. Partition: the key.
#[derive(Clone, Debug)]
pub struct KvModel {
    keys: Vec<String>,
}

impl KvModel {
    /// A model whose key ids name `keys` (for partitions and reports).
    pub fn new(keys: Vec<String>) -> Self {
        KvModel { keys }
    }

    fn key_name(&self, key: KeyId) -> &str {
        self.keys.get(key as usize).map_or("?", String::as_str)
    }
}

fn short(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(MAX)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("\"…{}\" ({} chars)", tail.escape_debug(), s.chars().count())
    }
}

impl Model for KvModel {
    type State = KvState;
    type Input = KvInput;
    type Output = KvString;

    fn init(&self) -> Vec<KvState> {
        vec![KvState::default()]
    }

    #[inline]
    fn step(
        &self,
        state: &KvState,
        input: &KvInput,
        output: Option<&KvString>,
        next: &mut Vec<KvState>,
    ) {
        match input {
            KvInput::Get(key) => {
                let legal = match (output, state.get(*key)) {
                    (None, _) => true,
                    (Some(out), Some(value)) => out == value,
                    (Some(out), None) => out.as_str().is_empty(),
                };
                if legal {
                    next.push(state.clone());
                }
            }
            KvInput::Put(key, value) => next.push(state.with(*key, value.clone())),
            KvInput::Append(key, suffix) => {
                let value = match state.get(*key) {
                    Some(old) => old.concat(suffix),
                    None => suffix.clone(),
                };
                next.push(state.with(*key, value));
            }
        }
    }

    fn is_read_only(&self, input: &KvInput, _output: Option<&KvString>) -> bool {
        matches!(input, KvInput::Get(_))
    }

    fn partition(&self, input: &KvInput) -> Option<String> {
        Some(self.key_name(input.key()).to_string())
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvString>) -> String {
        match input {
            KvInput::Get(k) => format!(
                "get({:?}) -> {}",
                self.key_name(*k),
                output.map_or("?".to_string(), |o| short(o.as_str()))
            ),
            KvInput::Put(k, v) => format!("put({:?}, {})", self.key_name(*k), short(v.as_str())),
            KvInput::Append(k, v) => {
                format!("append({:?}, {})", self.key_name(*k), short(v.as_str()))
            }
        }
    }

    fn describe_state(&self, state: &KvState) -> String {
        let entries: Vec<String> = state
            .0
            .iter()
            .map(|(k, v)| format!("{:?}: {}", self.key_name(*k), short(v.as_str())))
            .collect();
        format!("{{{}}}", entries.join(", "))
    }

    fn state_heap_bytes(&self, state: &KvState) -> usize {
        // Strings are shared between states; count each entry's slot and a
        // share of a freshly built string.
        let spilled = if state.0.spilled() {
            state.0.capacity() * std::mem::size_of::<(KeyId, KvString)>()
        } else {
            0
        };
        spilled + state.0.len() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_put_append() {
        let m = KvModel::new(vec!["x".into(), "y".into()]);
        let mut next = Vec::new();
        let s0 = KvState::default();
        m.step(&s0, &KvInput::Get(0), Some(&KvString::new("")), &mut next);
        assert_eq!(next.len(), 1, "a missing key reads \"\"");
        next.clear();
        m.step(
            &s0,
            &KvInput::Append(0, KvString::new("ab")),
            None,
            &mut next,
        );
        let s1 = next.pop().unwrap();
        m.step(
            &s1,
            &KvInput::Append(0, KvString::new("c")),
            None,
            &mut next,
        );
        let s2 = next.pop().unwrap();
        m.step(
            &s2,
            &KvInput::Get(0),
            Some(&KvString::new("abc")),
            &mut next,
        );
        assert_eq!(next.len(), 1);
        next.clear();
        m.step(
            &s2,
            &KvInput::Get(1),
            Some(&KvString::new("abc")),
            &mut next,
        );
        assert!(next.is_empty());
        assert_eq!(m.describe_state(&s2), "{\"x\": \"abc\"}");
        assert_eq!(m.partition(&KvInput::Get(1)).as_deref(), Some("y"));
        // The concatenation's hash is the hash of the concatenated text.
        let (a, b) = (KvString::new("x 1 0 y"), KvString::new("x 2 5 y"));
        assert_eq!(a.concat(&b).hash, KvString::new("x 1 0 yx 2 5 y").hash);
        assert_eq!(a.concat(&b), KvString::new("x 1 0 yx 2 5 y"));
    }
}
