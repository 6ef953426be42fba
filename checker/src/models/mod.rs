//! The built-in models and the decoding of file records into their typed
//! operations.

pub mod decode;
pub mod kv;
pub mod kv_recorder;
pub mod register;
mod register_ops;
pub mod values;
mod zones;

pub use decode::{decode_kv, decode_register, Decoded};
pub use kv::{KvInput, KvModel, KvOutput, KvState, KvString};
pub use register::{RegisterInput, RegisterModel, RegisterOutput};
pub use values::{ValueId, ValueTable};
