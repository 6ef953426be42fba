//! Runs the core so that a panic inside it is a result, not a crash of the
//! checker: the model reports it as a violated property with its trace.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while this thread runs guarded code: its panics are expected
    /// results, so the panic hook stays quiet about them.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Runs `f`, turning a panic into `Err(Panicked(message))`. The panic is
/// not printed.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    result.map_err(|payload| Panicked(panic_message(payload)))
}

/// Whether this thread is running guarded code now: a panic hook can tell
/// expected panics (results of [`guarded`]) from real ones.
pub fn in_guarded_code() -> bool {
    GUARDED.with(Cell::get)
}

/// A panic caught by [`guarded`], with its message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Panicked(pub String);

/// The message a panic was raised with, if it has one in words.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message() {
        assert_eq!(guarded(|| 7), Ok(7));
        let r: Result<(), Panicked> = guarded(|| panic!("broken {}", 42));
        assert_eq!(r, Err(Panicked("broken 42".to_string())));
        let r: Result<(), Panicked> = guarded(|| panic!("plain"));
        assert_eq!(r, Err(Panicked("plain".to_string())));
    }
}
