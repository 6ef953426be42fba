//! Small, fast, deterministic hashing for the configuration cache.

use std::hash::{Hash, Hasher};

/// A multiply-rotate hasher (the FxHash scheme): fast on short keys, not
/// collision-resistant against adversaries, deterministic across runs.
#[derive(Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Builds [`FastHasher`]s, for `HashMap`s keyed by small trusted values.
pub type FastBuild = std::hash::BuildHasherDefault<FastHasher>;

/// Hashes one value with [`FastHasher`], then mixes the bits (MurmurHash3
/// finalizer) so that low bits are usable as table indices.
#[inline]
pub fn hash_one<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = FastHasher::default();
    value.hash(&mut h);
    mix(h.finish())
}

/// MurmurHash3's 64-bit finalizer.
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
