//! Hashing for the configuration cache and the decoding maps: the
//! `rustc-hash` crate (FxHash), deterministic across runs and fast on short
//! keys. It replaced a hand-written FxHash-style hasher that measured
//! equal or slower (BENCHMARKS.md, "Hashing"). Not collision-resistant
//! against adversaries; histories are trusted input for that purpose (a
//! crafted collision only slows the search, the memory budget still holds).

use std::hash::{BuildHasher, Hash};

/// Builds FxHash hashers, for `HashMap`s keyed by small values.
pub type FastBuild = rustc_hash::FxBuildHasher;

/// Hashes one value with FxHash.
#[inline]
pub fn hash_one<T: Hash + ?Sized>(value: &T) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(value)
}

/// MurmurHash3's 64-bit finalizer: spreads the bits of `x` (used to turn
/// counters and polynomial string hashes into well-mixed hashes).
#[inline]
pub fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// A fixed pseudo-random 64-bit key for `index` (SplitMix64), used for
/// Zobrist hashing of the set of linearized operations.
#[inline]
pub fn zobrist_key(index: usize) -> u64 {
    mix((index as u64).wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}
