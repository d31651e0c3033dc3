//! Removing unfinished temporary files when the process is interrupted.
//!
//! The paths of temporaries being written sit in a fixed table of slots; the signal
//! handler takes each out (an atomic swap, so the writer and the handler never both own
//! one) and unlinks it, then re-raises the signal with its default action, so the exit
//! status still says which signal ended the process. Only async-signal-safe calls
//! (`unlink`, `signal`, `raise`) run inside the handler.

#[cfg(unix)]
mod imp {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::ptr::null_mut;
    use std::sync::atomic::{AtomicPtr, Ordering};

    const SLOTS: usize = 64;
    static PENDING: [AtomicPtr<libc::c_char>; SLOTS] =
        [const { AtomicPtr::new(null_mut()) }; SLOTS];

    /// Remembers `path` for the handler; `None` when every slot is taken (the file is then
    /// left to the stale-temporary cleanup of the next write).
    pub fn register(path: &Path) -> Option<usize> {
        let c = CString::new(path.as_os_str().as_bytes()).ok()?.into_raw();
        for (k, slot) in PENDING.iter().enumerate() {
            if slot
                .compare_exchange(null_mut(), c, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return Some(k);
            }
        }
        // SAFETY: `c` came from `into_raw` above and was not stored anywhere.
        drop(unsafe { CString::from_raw(c) });
        None
    }

    pub fn unregister(slot: usize) {
        let c = PENDING[slot].swap(null_mut(), Ordering::AcqRel);
        if !c.is_null() {
            // SAFETY: the swap made this thread the pointer's only owner; it came from
            // `CString::into_raw` in `register`.
            drop(unsafe { CString::from_raw(c) });
        }
    }

    extern "C" fn on_signal(signal: libc::c_int) {
        for slot in &PENDING {
            let c = slot.swap(null_mut(), Ordering::AcqRel);
            if !c.is_null() {
                // SAFETY: a NUL-terminated path owned by this handler now (leaked on purpose:
                // freeing is not async-signal-safe, and the process is about to end).
                unsafe { libc::unlink(c) };
            }
        }
        // SAFETY: restoring the default action and re-raising are async-signal-safe.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }

    pub fn install() {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: installs a handler that only makes async-signal-safe calls; a signal
            // the parent set to be ignored (`nohup`) stays ignored.
            unsafe {
                let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                if libc::signal(signal, handler) == libc::SIG_IGN {
                    libc::signal(signal, libc::SIG_IGN);
                }
            }
        }
    }

    pub fn process_exists(pid: u32) -> bool {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        alive || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

#[cfg(not(unix))]
mod imp {
    use std::path::Path;
    pub fn register(_: &Path) -> Option<usize> {
        None
    }
    pub fn unregister(_: usize) {}
    pub fn install() {}
    /// Without a way to ask, every temporary is assumed to belong to a live process.
    pub fn process_exists(_: u32) -> bool {
        true
    }
}

pub(super) use imp::{install, process_exists, register, unregister};
