//! Interning of values: each distinct [`Datum`] gets a small id, so that
//! model states are cheap to copy, compare and hash.

use crate::datum::Datum;
use crate::fasthash::FastBuild;
use std::collections::HashMap;
use std::sync::Arc;

/// The id of an interned value.
pub type ValueId = u32;

/// Interns values. Ids are dense, in order of first interning; cloning the
/// table shares the values already interned.
#[derive(Clone, Debug, Default)]
pub struct ValueTable {
    values: Vec<Arc<Datum>>,
    ids: HashMap<Arc<Datum>, ValueId, FastBuild>,
}

impl ValueTable {
    /// The id of `value`, interning it if new.
    pub fn intern(&mut self, value: Datum) -> ValueId {
        if let Some(&id) = self.ids.get(&value) {
            return id;
        }
        self.add(value)
    }

    /// The id of `value`, interning a copy of it if new.
    pub fn intern_ref(&mut self, value: &Datum) -> ValueId {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        self.add(value.clone())
    }

    fn add(&mut self, value: Datum) -> ValueId {
        let id = self.values.len() as ValueId;
        let value = Arc::new(value);
        self.values.push(value.clone());
        self.ids.insert(value, id);
        id
    }

    /// The number of values interned.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True if no value is interned.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value of an id handed out by this table.
    pub fn get(&self, id: ValueId) -> &Datum {
        &self.values[id as usize]
    }
}
