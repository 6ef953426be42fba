//! The one error for a name that is not in a fixed set: a mutant, a
//! heartbeat style, a network kind, a search strategy... Each such type
//! defines its names once (`name()` and `FromStr`) and reports a miss with
//! this.

/// `given` is not a known `kind`; `expected` lists the known names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{given}' (expected {expected})")]
pub struct UnknownName {
    /// What was being named ("mutant", "heartbeat style", ...).
    pub kind: &'static str,
    /// The name given.
    pub given: String,
    /// The known names, in words ("off, while-lagging or always").
    pub expected: String,
}

impl UnknownName {
    /// `given` is not one of `known` (listed in the message).
    pub fn new(kind: &'static str, given: &str, known: &[&str]) -> Self {
        let expected = match known {
            [] => "nothing".to_string(),
            [one] => (*one).to_string(),
            [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
        };
        UnknownName { kind, given: given.to_string(), expected }
    }
}
