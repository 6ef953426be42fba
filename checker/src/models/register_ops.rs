//! The operations of a register and their results, shared by the register
//! models and the fast path for histories of distinct writes (`zones`).

use super::values::ValueId;

/// An operation on a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterInput {
    /// Read the value.
    Read,
    /// Set the value.
    Write(ValueId),
    /// Set the value to `to` if it is `from`.
    Cas {
        /// Expected current value.
        from: ValueId,
        /// New value.
        to: ValueId,
    },
}

/// What a register operation observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOutput {
    /// A read returned this value.
    Read(ValueId),
    /// A write completed.
    Written,
    /// A cas completed: it succeeded (the value was `from`) or not.
    Cas {
        /// Whether the value was swapped.
        succeeded: bool,
    },
}
