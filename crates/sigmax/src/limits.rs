//! Guards for sizes that come from input: every allocation whose size a file or a setting
//! decides (rows, columns, classes × features, header fields, margins, line lengths) is
//! computed with checked arithmetic and compared with the memory this process can get
//! before it is made (margins have their own bound, `margin::MAX_INTEGER_MARGIN`), so hostile or corrupt input ends in an error naming the size, not in
//! an allocation abort, an OOM kill or a swap storm.
//!
//! The memory available is the smallest of: Linux's `MemAvailable`, the cgroup's limit
//! less its usage (containers), and `SIGMAX_MAX_MEMORY` (bytes, or with a `K`/`M`/`G`
//! suffix) when set.

use crate::error::{Error, Result};

/// The longest line the text readers accept (64 MiB: a dense row of 4 million features
/// with 16-character values). A file without line ends is refused at this length instead
/// of being carried in memory whole.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Column indices are stored as `u32`: at most 2³² features.
pub const MAX_FEATURES: usize = 1 << 32;

/// Bytes of `count` elements of `elem_bytes` each, or an error if that overflows.
pub fn bytes_of(what: &str, count: u64, elem_bytes: u64) -> Result<u64> {
    count
        .checked_mul(elem_bytes)
        .ok_or_else(|| Error::TooLarge {
            what: what.to_string(),
            needed: u64::MAX,
            available: available_memory(),
        })
}

/// Refuses `needed` bytes for `what` when they exceed the memory available.
pub fn check_memory(what: &str, needed: u64) -> Result<()> {
    let available = available_memory();
    if needed > available {
        return Err(Error::TooLarge {
            what: what.to_string(),
            needed,
            available,
        });
    }
    Ok(())
}

/// `count` × `elem_bytes` bytes for `what`, checked for overflow and against memory.
pub fn check_elements(what: &str, count: u64, elem_bytes: u64) -> Result<()> {
    check_memory(what, bytes_of(what, count, elem_bytes)?)
}

/// A vector of `n` copies of `value`, refused (not aborted) when it does not fit.
pub fn try_filled<T: Clone>(what: &str, n: usize, value: T) -> Result<Vec<T>> {
    let elem = std::mem::size_of::<T>().max(1) as u64;
    check_elements(what, n as u64, elem)?;
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::TooLarge {
        what: what.to_string(),
        needed: n as u64 * elem,
        available: available_memory(),
    })?;
    v.resize(n, value);
    Ok(v)
}

/// Bytes this process may still allocate (see the module documentation).
pub fn available_memory() -> u64 {
    let mut best = u64::MAX;
    if let Some(v) = std::env::var("SIGMAX_MAX_MEMORY")
        .ok()
        .and_then(|s| parse_size(&s))
    {
        best = best.min(v);
    }
    if let Some(v) = meminfo_available() {
        best = best.min(v);
    }
    if let Some(v) = cgroup_headroom() {
        best = best.min(v);
    }
    best
}

/// "512", "64K", "300M", "2G" (powers of 1024) → bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, shift) = match s.chars().last()?.to_ascii_uppercase() {
        'K' => (&s[..s.len() - 1], 10),
        'M' => (&s[..s.len() - 1], 20),
        'G' => (&s[..s.len() - 1], 30),
        'T' => (&s[..s.len() - 1], 40),
        _ => (s, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

fn meminfo_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// cgroup v2 `memory.max − memory.current` of this process's group, when limited.
fn cgroup_headroom() -> Option<u64> {
    let cg = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = cg.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = std::path::Path::new("/sys/fs/cgroup").join(rel.trim_start_matches('/'));
    let max: u64 = std::fs::read_to_string(dir.join("memory.max"))
        .ok()?
        .trim()
        .parse()
        .ok()?; // "max" (no limit) does not parse
    let current: u64 = std::fs::read_to_string(dir.join("memory.current"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(max.saturating_sub(current))
}

/// Bytes for people: "1.5 GiB".
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_overflow_is_an_error_not_a_wrap() {
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("64k"), Some(64 << 10));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("99999999999T"), None);
        let e = bytes_of("a matrix", u64::MAX / 2, 8)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a matrix"), "{e}");
        assert!(available_memory() > 0);
    }

    #[test]
    fn an_allocation_larger_than_memory_is_refused_before_it_is_made() {
        let e = try_filled("the weights", usize::MAX / 16, 0f64)
            .unwrap_err()
            .to_string();
        assert!(e.contains("the weights") && e.contains("available"), "{e}");
        assert_eq!(try_filled("small", 3, 1u8).unwrap(), vec![1, 1, 1]);
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
