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

/// One piece of a string built by appends: the pieces before it, then
/// `text`.
#[derive(Debug)]
struct Chunk {
    before: Option<Arc<Chunk>>,
    text: Arc<str>,
}

impl Drop for Chunk {
    /// Frees a long chain of pieces iteratively (no deep recursion).
    fn drop(&mut self) {
        let mut before = self.before.take();
        while let Some(chunk) = before {
            match Arc::try_unwrap(chunk) {
                Ok(mut owned) => before = owned.before.take(),
                Err(_) => break,
            }
        }
    }
}

/// An immutable string stored as a chain of appended pieces, so that an
/// append shares everything before it (one small allocation, no copy),
/// with a polynomial hash so that a concatenation's hash comes from its
/// parts' hashes. Cloning shares it.
///
/// Invariant: for the text t = the pieces in order, n = `len` = |t|,
/// `hash` = Σ t[i]·BASE^(n-1-i) and `power` = BASE^n (mod 2^64); `last`
/// is `None` iff t is empty. Equality compares the text itself.
#[derive(Clone, Debug)]
pub struct KvString {
    hash: u64,
    power: u64,
    len: usize,
    last: Option<Arc<Chunk>>,
}

impl KvString {
    /// Wraps `text`.
    pub fn new(text: &str) -> Self {
        let (mut hash, mut power) = (0u64, 1u64);
        for &b in text.as_bytes() {
            hash = hash.wrapping_mul(BASE).wrapping_add(b as u64);
            power = power.wrapping_mul(BASE);
        }
        let last = (!text.is_empty()).then(|| Arc::new(Chunk { before: None, text: Arc::from(text) }));
        KvString { hash, power, len: text.len(), last }
    }

    /// True for `""`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pieces, first to last.
    fn pieces(&self) -> Vec<&str> {
        let mut pieces = Vec::new();
        let mut chunk = self.last.as_deref();
        while let Some(c) = chunk {
            pieces.push(&*c.text);
            chunk = c.before.as_deref();
        }
        pieces.reverse();
        pieces
    }

    /// The whole text.
    pub fn text(&self) -> String {
        self.pieces().concat()
    }

    /// True if `self` is a prefix of `other`.
    pub fn is_prefix_of(&self, other: &KvString) -> bool {
        if self.len > other.len {
            return false;
        }
        match other.flat() {
            Some(text) => self.matches_bytes(&text.as_bytes()[..self.len]),
            None => other.text().as_bytes().starts_with(self.text().as_bytes()),
        }
    }

    /// The text if it is stored as one piece.
    fn flat(&self) -> Option<&str> {
        match &self.last {
            None => Some(""),
            Some(c) if c.before.is_none() => Some(&c.text),
            Some(_) => None,
        }
    }

    /// True if the text is exactly `bytes` (compared piece by piece from
    /// the end, without building the text).
    fn matches_bytes(&self, bytes: &[u8]) -> bool {
        if bytes.len() != self.len {
            return false;
        }
        let mut end = self.len;
        let mut chunk = self.last.as_deref();
        while let Some(c) = chunk {
            let start = end - c.text.len();
            if &bytes[start..end] != c.text.as_bytes() {
                return false;
            }
            end = start;
            chunk = c.before.as_deref();
        }
        true
    }

    /// `self` followed by `suffix`.
    fn concat(&self, suffix: &KvString) -> KvString {
        let Some(suffix_last) = &suffix.last else {
            return self.clone();
        };
        let text: Arc<str> =
            if suffix_last.before.is_none() { suffix_last.text.clone() } else { Arc::from(suffix.text()) };
        KvString {
            hash: self.hash.wrapping_mul(suffix.power).wrapping_add(suffix.hash),
            power: self.power.wrapping_mul(suffix.power),
            len: self.len + suffix.len,
            last: Some(Arc::new(Chunk { before: self.last.clone(), text })),
        }
    }
}

impl PartialEq for KvString {
    fn eq(&self, other: &Self) -> bool {
        if self.hash != other.hash || self.len != other.len {
            return false;
        }
        match (&self.last, &other.last) {
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => true,
            (None, None) => true,
            _ => match (self.flat(), other.flat()) {
                (_, Some(b)) => self.matches_bytes(b.as_bytes()),
                (Some(a), None) => other.matches_bytes(a.as_bytes()),
                (None, None) => self.text() == other.text(),
            },
        }
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

/// What a kv operation observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvOutput {
    /// A get returned this value.
    Got(KvString),
    /// A put or append completed.
    Done,
}

/// The store's state: the keys written so far, sorted by key. A key not
/// listed holds `""`. One key is stored inline (the partitioned case).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvState(SmallVec<[(KeyId, KvString); 1]>);

impl KvState {
    fn get(&self, key: KeyId) -> Option<&KvString> {
        self.0.binary_search_by_key(&key, |(k, _)| *k).ok().map(|i| &self.0[i].1)
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
        let tail: String = s.chars().rev().take(MAX).collect::<Vec<_>>().into_iter().rev().collect();
        format!("\"…{}\" ({} chars)", tail.escape_debug(), s.chars().count())
    }
}

impl Model for KvModel {
    type State = KvState;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> Vec<KvState> {
        vec![KvState::default()]
    }

    #[inline]
    fn step(&self, state: &KvState, input: &KvInput, output: Option<&KvOutput>, next: &mut Vec<KvState>) {
        match input {
            KvInput::Get(key) => {
                let legal = match (output, state.get(*key)) {
                    (None, _) => true,
                    (Some(KvOutput::Got(out)), Some(value)) => out == value,
                    (Some(KvOutput::Got(out)), None) => out.is_empty(),
                    (Some(KvOutput::Done), _) => false,
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

    fn is_read_only(&self, input: &KvInput, _output: Option<&KvOutput>) -> bool {
        matches!(input, KvInput::Get(_))
    }

    /// A get of `g` needs the key's value to become `g`: without a put on
    /// that key among `others`, only appends can change it, so the value
    /// now must be a prefix of `g`.
    fn can_still_take_effect(
        &self,
        state: &KvState,
        next: (&KvInput, Option<&KvOutput>),
        others: &mut dyn Iterator<Item = (&KvInput, Option<&KvOutput>)>,
    ) -> bool {
        let (KvInput::Get(key), Some(KvOutput::Got(wanted))) = next else {
            return true;
        };
        let Some(value) = state.get(*key) else {
            return true;
        };
        if value.is_prefix_of(wanted) {
            return true;
        }
        for (op, _) in others {
            if matches!(op, KvInput::Put(k, _) if k == key) {
                return true;
            }
        }
        false
    }

    /// Operations on different keys commute.
    fn independent(&self, a: &KvInput, b: &KvInput) -> bool {
        a.key() != b.key()
    }

    /// The key's entry alone.
    fn class_state(&self, state: &KvState, input: &KvInput) -> KvState {
        let key = input.key();
        KvState(state.get(key).map(|v| (key, v.clone())).into_iter().collect())
    }

    fn partition(&self, input: &KvInput) -> Option<String> {
        Some(self.key_name(input.key()).to_string())
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        match input {
            KvInput::Get(k) => {
                let result = match output {
                    Some(KvOutput::Got(o)) => short(&o.text()),
                    Some(KvOutput::Done) => "(no value)".to_string(),
                    None => "?".to_string(),
                };
                format!("get({:?}) -> {result}", self.key_name(*k))
            }
            KvInput::Put(k, v) => format!("put({:?}, {})", self.key_name(*k), short(&v.text())),
            KvInput::Append(k, v) => {
                format!("append({:?}, {})", self.key_name(*k), short(&v.text()))
            }
        }
    }

    fn describe_state(&self, state: &KvState) -> String {
        let entries: Vec<String> =
            state.0.iter().map(|(k, v)| format!("{:?}: {}", self.key_name(*k), short(&v.text()))).collect();
        format!("{{{}}}", entries.join(", "))
    }

    fn state_heap_bytes(&self, state: &KvState) -> usize {
        // Pieces are shared between states: a step adds at most one new
        // piece (an Arc'd chunk of about 48 bytes), plus a spilled array.
        let spilled = if state.0.spilled() { state.0.capacity() * std::mem::size_of::<(KeyId, KvString)>() } else { 0 };
        spilled + 48
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
        m.step(&s0, &KvInput::Get(0), Some(&KvOutput::Got(KvString::new(""))), &mut next);
        assert_eq!(next.len(), 1, "a missing key reads \"\"");
        next.clear();
        m.step(&s0, &KvInput::Append(0, KvString::new("ab")), None, &mut next);
        let s1 = next.pop().unwrap();
        m.step(&s1, &KvInput::Append(0, KvString::new("c")), None, &mut next);
        let s2 = next.pop().unwrap();
        m.step(&s2, &KvInput::Get(0), Some(&KvOutput::Got(KvString::new("abc"))), &mut next);
        assert_eq!(next.len(), 1);
        next.clear();
        m.step(&s2, &KvInput::Get(1), Some(&KvOutput::Got(KvString::new("abc"))), &mut next);
        assert!(next.is_empty());
        assert_eq!(m.describe_state(&s2), "{\"x\": \"abc\"}");
        assert_eq!(m.partition(&KvInput::Get(1)).as_deref(), Some("y"));
        // The concatenation's hash is the hash of the concatenated text.
        let (a, b) = (KvString::new("x 1 0 y"), KvString::new("x 2 5 y"));
        let ab = a.concat(&b);
        assert_eq!(ab.hash, KvString::new("x 1 0 yx 2 5 y").hash);
        assert_eq!(ab, KvString::new("x 1 0 yx 2 5 y"));
        assert_ne!(ab, b.concat(&a));
        assert_eq!(ab.concat(&ab).text(), "x 1 0 yx 2 5 yx 1 0 yx 2 5 y");
        assert_eq!(KvString::new("").concat(&a), a);
        assert!(a.is_prefix_of(&ab) && !b.is_prefix_of(&ab) && !ab.is_prefix_of(&a));
    }
}
