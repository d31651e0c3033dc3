//! glibc malloc settings for training: keep freed tensor buffers for reuse instead of
//! returning them to the kernel.
//!
//! A training step frees and allocates the same activation and gradient buffers every time.
//! With glibc's defaults, buffers over its dynamic mmap threshold (128 KiB rising to at most
//! 32 MiB) are fresh mappings, and freed heap tops above 128 KiB are trimmed: each step then
//! pays page faults to touch new zeroed pages again (~8% of a CNN step here under `perf`).
//! glibc's `mallopt(3)` fixes the threshold (which also turns off its dynamic adjustment) and
//! raises the trim threshold, so those pages stay mapped and are reused.

/// Allocations at or above this size still get their own mapping (not kept after free):
/// glibc's largest accepted value on 64-bit (`DEFAULT_MMAP_THRESHOLD_MAX`, mallopt(3)),
/// above the CNN's largest activation (128 × 32 × 28 × 28 floats, 12.8 MB).
const MMAP_THRESHOLD: i32 = 32 << 20;
/// Freed memory at the top of the heap is given back only beyond this much.
const TRIM_THRESHOLD: i32 = 256 << 20;

/// Applies the settings above, unless the user chose them through glibc's own environment
/// variables (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, or a
/// `GLIBC_TUNABLES=glibc.malloc...`), which then stand. Call it once, early, in a binary (the
/// library never changes a process's allocator behind its user's back). Returns whether the
/// settings were applied. A no-op (false) on platforms without glibc.
pub fn reuse_freed_memory() -> bool {
    let user_set = ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc."));
    if user_set {
        return false;
    }
    set_thresholds()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_thresholds() -> bool {
    // SAFETY: mallopt only changes allocator parameters; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_thresholds() -> bool {
    let _ = (MMAP_THRESHOLD, TRIM_THRESHOLD);
    false
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_thresholds() {
        // mallopt returns 1 on success and 0 for a value out of glibc's range.
        assert!(super::set_thresholds());
    }
}
