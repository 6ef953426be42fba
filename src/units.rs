//! Parsing of the quantities users type on the command line (durations and
//! sizes) and the process's memory figures, shared by every subcommand so
//! that `--timeout 90s` or `--memory-budget 2G` mean the same everywhere.

use std::time::Duration;

/// A duration or a size that cannot be read; each names what was typed
/// and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("'{text}': unknown unit '{unit}' (expected a duration such as 60, 1.5s, 500ms, 5m or 1h)")]
    UnknownUnit { text: String, unit: String },
    #[error("'{0}' is not a duration (expected e.g. 60, 1.5s, 500ms, 5m or 1h)")]
    NotADuration(String),
    #[error("'{0}': expected a positive duration of at most 30 days")]
    DurationOutOfRange(String),
    #[error("'{0}': expected a size such as 512M or 4G")]
    NotASize(String),
    #[error("'{0}': expected a positive size")]
    SizeNotPositive(String),
}

/// The longest duration accepted: 30 days.
const MAX_SECONDS: f64 = 30.0 * 24.0 * 3600.0;

/// Parses a positive duration: bare seconds (`60`, `1.5`) or a number with
/// one unit, `ms`, `s`, `m` or `h` (`250ms`, `1.5s`, `5m`, `1h`). At most
/// 30 days. The error names what was expected.
pub fn parse_duration(text: &str) -> Result<Duration, QuantityError> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = (t[..split].trim(), &t[split..]);
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(QuantityError::UnknownUnit { text: text.to_string(), unit: unit.to_string() }),
    };
    let value: f64 = number.parse().map_err(|_| QuantityError::NotADuration(text.to_string()))?;
    let seconds = value * scale;
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_SECONDS) {
        return Err(QuantityError::DurationOutOfRange(text.to_string()));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Parses a positive size in bytes: `1048576`, `512K`, `512M`, `4G`, `1T`
/// (powers of 1024; a trailing `B` or `iB` is allowed: `4GiB`).
pub fn parse_size(text: &str) -> Result<usize, QuantityError> {
    let t = text.trim().trim_end_matches(['B', 'b']).trim_end_matches('i');
    let (number, scale) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        Some('T') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let value: f64 = number.trim().parse().map_err(|_| QuantityError::NotASize(text.to_string()))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(QuantityError::SizeNotPositive(text.to_string()));
    }
    Ok((value * scale as f64) as usize)
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), where the
/// operating system tells it.
pub fn peak_rss_bytes() -> Option<u64> {
    proc_field_kib("/proc/self/status", "VmHWM:").map(|kib| kib * 1024)
}

/// The machine's physical memory in bytes (Linux `MemTotal`), where the
/// operating system tells it.
pub fn total_memory_bytes() -> Option<u64> {
    proc_field_kib("/proc/meminfo", "MemTotal:").map(|kib| kib * 1024)
}

/// The number in kiB on the line of `file` that starts with `key`.
fn proc_field_kib(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration(" 1h "), Ok(Duration::from_secs(3600)));
        for bad in ["soon", "", "0", "-5s", "3d", "1e9h", "ms"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        for bad in ["-1", "0", "lots", "G"] {
            assert!(parse_size(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn memory_figures_are_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes().is_some_and(|b| b > 0));
            assert!(total_memory_bytes().is_some_and(|b| b > 0));
        }
    }
}
