//! Guards for sizes that come from input: every allocation whose size a file or a setting
//! decides (rows, columns, classes × features, header fields, margins, line lengths) is
//! computed with checked arithmetic and compared with the memory this process can get
//! before it is made (margins have their own bound, `margin::MAX_INTEGER_MARGIN`), so hostile or corrupt input ends in an error naming the size, not in
//! an allocation abort, an OOM kill or a swap storm.
//!
//! The memory available is the smallest of: Linux's `MemAvailable`; the cgroup's limit
//! less its usage (v2 `memory.max`, v1 `memory.limit_in_bytes`: containers, systemd
//! units, batch schedulers); the address-space limit (`ulimit -v`, RLIMIT_AS) less the
//! address space already mapped; and `SIGMAX_MAX_MEMORY` (bytes, or with a `K`/`M`/`G`
//! suffix) less this process's resident memory, so that variable caps the whole process.
//!
//! Readers hold what they read under one [`ReadBudget`]: a fraction of that memory, fixed
//! when the read starts and checked before every growth.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

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

/// Allocations up to this size are not compared with the memory available: no worse than
/// any of the program's small allocations, and asking the system (a few files under /proc
/// and the cgroup's) costs ~0.1 ms, most of a small fit's fixed cost when done for each
/// of its vectors.
pub const UNCHECKED_BYTES: u64 = 16 << 20;

/// Refuses `needed` bytes for `what` when they exceed the memory available.
pub fn check_memory(what: &str, needed: u64) -> Result<()> {
    if needed <= UNCHECKED_BYTES {
        return Ok(());
    }
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
    let mut take = |v: Option<u64>| {
        if let Some(v) = v {
            best = best.min(v);
        }
    };
    take(env_cap_headroom());
    take(meminfo_available());
    take(cgroup_headroom(
        Path::new("/proc/self/cgroup"),
        Path::new("/sys/fs/cgroup"),
    ));
    take(address_space_headroom());
    best
}

/// `SIGMAX_MAX_MEMORY` less what the process already holds (its resident set).
fn env_cap_headroom() -> Option<u64> {
    let cap = parse_size(&std::env::var("SIGMAX_MAX_MEMORY").ok()?)?;
    Some(cap.saturating_sub(statm_bytes(1).unwrap_or(0)))
}

/// Field `k` of `/proc/self/statm` (0: address space, 1: resident) in bytes.
fn statm_bytes(k: usize) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = text.split_whitespace().nth(k)?.parse().ok()?;
    pages.checked_mul(page_size())
}

fn page_size() -> u64 {
    #[cfg(unix)]
    {
        // SAFETY: sysconf has no preconditions.
        let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if p > 0 {
            return p as u64;
        }
    }
    4096
}

/// `ulimit -v` (RLIMIT_AS) less the address space already mapped: past it, an allocation
/// fails (and Rust aborts) however much memory is free.
fn address_space_headroom() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: getrlimit writes the struct it is given.
        let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } != 0
            || lim.rlim_cur == libc::RLIM_INFINITY
        {
            return None;
        }
        Some((lim.rlim_cur as u64).saturating_sub(statm_bytes(0).unwrap_or(0)))
    }
    #[cfg(not(unix))]
    None
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

/// The memory cgroup's limit less its usage, when limited: v2 (`0::PATH` in
/// `proc_cgroup`, `memory.max` − `memory.current`) or v1 (`N:memory:PATH`,
/// `memory/…/memory.limit_in_bytes` − `memory.usage_in_bytes`; v1 writes "no limit" as a
/// huge number). Inside a container the group's path may not exist under the mount, whose
/// root is then the group: both are tried.
fn cgroup_headroom(proc_cgroup: &Path, root: &Path) -> Option<u64> {
    let read = |p: PathBuf| -> Option<u64> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    let cg = std::fs::read_to_string(proc_cgroup).ok()?;
    let mut best: Option<u64> = None;
    for line in cg.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, rel) = (parts.next()?, parts.next()?, parts.next()?);
        let rel = rel.trim_start_matches('/');
        let (base, max, current) = if controllers.is_empty() {
            (root.to_path_buf(), "memory.max", "memory.current")
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                root.join("memory"),
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            )
        } else {
            continue;
        };
        for dir in [base.join(rel), base] {
            // "max" (v2 without a limit) does not parse.
            if let (Some(m), Some(c)) = (read(dir.join(max)), read(dir.join(current))) {
                let room = m.saturating_sub(c);
                best = Some(best.map_or(room, |b| b.min(room)));
                break;
            }
        }
    }
    best
}

/// What one reader may hold of what it reads: text, parsed rows, labels. Three quarters of
/// the memory available when the read starts, so that the fit (weights, working vectors)
/// and the rest of the process keep the last quarter; fixed for the read, so a reader
/// stops before it has eaten the memory a check made later would need.
#[derive(Debug, Clone, Copy)]
pub struct ReadBudget {
    limit: u64,
    available: u64,
}

impl ReadBudget {
    /// The budget of a read starting now.
    pub fn new() -> Self {
        let available = available_memory();
        ReadBudget {
            limit: available / 4 * 3,
            available,
        }
    }

    /// A budget of `limit` bytes (tests).
    pub fn with_limit(limit: u64) -> Self {
        ReadBudget {
            limit,
            available: limit.saturating_mul(4) / 3,
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Refuses holding `bytes` in all; the error ("more than the … a reader may hold
    /// (…)") names the budget and where it came from, for the caller to say what needs it.
    pub fn check(&self, bytes: u64) -> std::result::Result<(), String> {
        if bytes <= self.limit {
            return Ok(());
        }
        Err(format!(
            "more than the {} of memory a reader may hold (three quarters of the {} available: free memory, the cgroup's limit, `ulimit -v` or SIGMAX_MAX_MEMORY)",
            human_bytes(self.limit),
            human_bytes(self.available)
        ))
    }

    /// Makes room for `additional` more elements in `v` as `Vec::reserve` would (doubling
    /// the capacity), but refuses before allocating when the reader's memory, `held`
    /// bytes elsewhere plus `v`'s new capacity, would pass the budget; near the budget it
    /// grows by exactly what is asked.
    pub fn reserve<T>(
        &self,
        v: &mut Vec<T>,
        additional: usize,
        held: u64,
    ) -> std::result::Result<(), String> {
        let need = v
            .len()
            .checked_add(additional)
            .ok_or("a length overflowed")?;
        if need <= v.capacity() {
            return Ok(());
        }
        let elem = std::mem::size_of::<T>().max(1) as u64;
        let bytes = |cap: usize| held.saturating_add((cap as u64).saturating_mul(elem));
        let doubled = need.max(v.capacity().saturating_mul(2));
        let target = if self.check(bytes(doubled)).is_ok() {
            doubled
        } else {
            self.check(bytes(need))?;
            need
        };
        v.try_reserve_exact(target - v.len())
            .map_err(|_| self.check(u64::MAX).unwrap_err())
    }
}

impl Default for ReadBudget {
    fn default() -> Self {
        Self::new()
    }
}

/// Bytes of a vector's capacity.
pub fn capacity_bytes<T>(v: &Vec<T>) -> u64 {
    (v.capacity() as u64).saturating_mul(std::mem::size_of::<T>() as u64)
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

    #[test]
    fn cgroup_limits_of_v1_and_v2_are_read_from_the_groups_files() {
        let dir = tempfile::tempdir().unwrap();
        let (root, proc_cg) = (dir.path().join("cg"), dir.path().join("cgroup"));
        let put = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        // v1: the memory controller's line; "no limit" is a huge number.
        std::fs::write(&proc_cg, "5:cpu,cpuacct:/job\n4:memory:/job\n").unwrap();
        put("memory/job/memory.limit_in_bytes", "1073741824\n");
        put("memory/job/memory.usage_in_bytes", "73741824\n");
        assert_eq!(cgroup_headroom(&proc_cg, &root), Some(1_000_000_000));
        // In a container the group is the mount's root.
        std::fs::write(&proc_cg, "4:memory:/docker/abc\n").unwrap();
        put("memory/memory.limit_in_bytes", "9223372036854771712\n");
        put("memory/memory.usage_in_bytes", "100\n");
        assert_eq!(cgroup_headroom(&proc_cg, &root), Some(9223372036854771612));
        // v2: `max` is no limit; a number is one.
        std::fs::write(&proc_cg, "0::/user.slice\n").unwrap();
        put("user.slice/memory.max", "max\n");
        put("user.slice/memory.current", "5\n");
        assert_eq!(cgroup_headroom(&proc_cg, &root), None);
        put("user.slice/memory.max", "2048\n");
        assert_eq!(cgroup_headroom(&proc_cg, &root), Some(2043));
    }

    #[test]
    fn a_read_budget_is_checked_before_a_vector_grows() {
        let budget = ReadBudget::with_limit(1000);
        let mut v: Vec<u64> = Vec::new();
        budget.reserve(&mut v, 10, 0).unwrap();
        assert!(v.capacity() >= 10);
        v.resize(100, 0);
        // Doubling to 200 × 8 bytes would pass 1000: it grows by what is asked instead...
        budget.reserve(&mut v, 20, 0).unwrap();
        assert_eq!(v.capacity(), 120);
        // ...and refuses, allocating nothing, when even that does not fit.
        let e = budget.reserve(&mut v, 30, 0).unwrap_err();
        assert!(e.contains("more than the 1000 bytes"), "{e}");
        assert_eq!(v.capacity(), 120);
    }

    #[test]
    fn the_address_space_limit_counts() {
        // Run in a child so the limit does not reach the test harness.
        if std::env::var_os("SIGMAX_RLIMIT_CHILD").is_some() {
            // SAFETY: setrlimit on this process only.
            let lim = libc::rlimit {
                rlim_cur: statm_bytes(0).unwrap() + (256 << 20),
                rlim_max: libc::RLIM_INFINITY,
            };
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) }, 0);
            let a = available_memory();
            assert!(a <= 256 << 20, "{a}");
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args(["--exact", "limits::tests::the_address_space_limit_counts"])
            .env("SIGMAX_RLIMIT_CHILD", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
