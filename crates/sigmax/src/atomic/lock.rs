//! Advisory locks (flock) on temporaries being written: the kernel drops a lock when its
//! holder ends, however it ends (SIGKILL, a crash), and sees locks across PID namespaces
//! (and, over NFS, across machines), where a process number cannot be checked.
//!
//! A temporary is locked right after it is created; in the microseconds between, another
//! process that finds it would see it free (and its writer, if that process is not
//! running in the finder's namespace, as gone).

use std::path::Path;

/// Takes the lock of an open file (best effort: without locks the process check alone
/// decides).
pub fn hold(file: &std::fs::File) {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a descriptor we own.
        let _ = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    }
    #[cfg(not(unix))]
    let _ = file;
}

/// Whether no process holds the lock of the regular file at `path` (a link, a FIFO or a
/// file that cannot be opened is not free: nothing is removed on doubt).
pub fn is_free(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        let regular = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file());
        let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
        else {
            return false;
        };
        // SAFETY: flock on a descriptor we own; the lock goes when `f` is closed.
        regular && unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_seen_and_a_released_one_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        let f = std::fs::File::create(&p).unwrap();
        assert!(is_free(&p));
        // Another open file description: as another process would see it.
        hold(&f);
        assert!(!is_free(&p));
        drop(f);
        assert!(is_free(&p));
        std::os::unix::fs::symlink("t", dir.path().join("link")).unwrap();
        assert!(!is_free(&dir.path().join("link")));
    }
}
