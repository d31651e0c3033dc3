//! Writing files atomically: the contents go to a temporary file in the target's
//! directory, are flushed to disk, and the file is renamed over the target (then the
//! directory is synced), so a crash leaves either the old file or the new one, never half
//! of one. Every file sigmax writes (models, caches, checkpoints, figures, predictions)
//! goes through here.
//!
//! What is at the path decides how: a regular file is replaced and keeps its permission
//! bits; a symbolic link is followed and its target replaced (the link stays); a device,
//! FIFO or socket (`/dev/null`, `/dev/stdout`, a named pipe) is written to directly, never
//! replaced by a regular file; a directory is an error.
//!
//! Nothing is left behind: an unfinished temporary file is removed when its write fails,
//! when the process gets SIGINT, SIGTERM or SIGHUP (once a front end has called
//! [`remove_unfinished_on_signals`]), and, after a SIGKILL or a power cut, on the next
//! write to the same path (temporaries are named `.NAME.sigmax-tmp-PID-XXXXXX`, and one
//! whose process is gone is stale).

mod signals;

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// How a write to a path is carried out.
enum Target {
    /// Through a temporary file renamed onto `path`, with these permission bits.
    Replace { path: PathBuf, mode: Option<u32> },
    /// Straight into an existing special file.
    Direct(PathBuf),
}

fn target(path: &Path) -> Result<Target> {
    // A symlink is followed: the file it points to is the one written.
    let real = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            let link = std::fs::read_link(path).map_err(|e| Error::io(path, e))?;
            match path.parent() {
                Some(dir) if link.is_relative() => dir.join(link),
                _ => link,
            }
        }
        _ => path.to_path_buf(),
    };
    match std::fs::metadata(&real) {
        Err(_) => Ok(Target::Replace {
            path: real,
            mode: None,
        }),
        Ok(m) if m.is_dir() => Err(Error::io(
            path,
            std::io::Error::other("is a directory, not a file to write"),
        )),
        Ok(m) if m.is_file() => Ok(Target::Replace {
            mode: mode_of(&m),
            path: real,
        }),
        Ok(_) => Ok(Target::Direct(real)),
    }
}

#[cfg(unix)]
fn mode_of(m: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_of(_: &std::fs::Metadata) -> Option<u32> {
    None
}

/// Makes SIGINT, SIGTERM and SIGHUP remove the temporaries being written before the
/// process ends as the signal says (for front ends: a library should not own signals).
pub fn remove_unfinished_on_signals() {
    signals::install();
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |w| w.write_all(bytes))
}

/// As [`write_atomically`], with the contents streamed by `fill` (buffered), so large
/// files need not be assembled in memory first.
pub fn write_atomically_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let (real, mode) = match target(path)? {
        Target::Direct(p) => {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .map_err(|e| Error::io(&p, e))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            return fill(&mut w)
                .and_then(|()| w.flush())
                .map_err(|e| Error::io(&p, e));
        }
        Target::Replace { path, mode } => (path, mode),
    };
    let mut tmp = temp_beside(&real, "")?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.file.as_file_mut());
        fill(&mut w)
            .and_then(|()| w.flush())
            .map_err(|e| Error::io(&real, e))?;
    }
    pause_for_signal_tests();
    publish(tmp, &real, mode)
}

/// For writers that want a path rather than a stream (e.g. image encoders): `write`
/// gets the path of a fresh temporary file ending in `suffix`, beside `path`; once it
/// returns Ok, that file replaces `path`. Its error type is the caller's.
pub fn write_atomically_via<E>(
    path: &Path,
    suffix: &str,
    write: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> std::result::Result<(), E>
where
    E: From<Error>,
{
    match target(path)? {
        Target::Replace { path, mode } => {
            let tmp = temp_beside(&path, suffix)?;
            write(tmp.file.path())?;
            Ok(publish(tmp, &path, mode)?)
        }
        Target::Direct(p) => {
            // The writer wants a path: a private temporary, then copied into the special
            // file (the temporary is removed when `tmp` drops).
            let tmp = temp_in(&std::env::temp_dir(), "special", suffix)?;
            let at = tmp.file.path();
            write(at)?;
            let bytes = std::fs::read(at).map_err(|e| Error::io(at, e))?;
            Ok(write_atomically(&p, &bytes)?)
        }
    }
}

/// Tests of the signal cleanup need a write in progress when the signal comes: with
/// `SIGMAX_TEST_WRITE_PAUSE_MS` set, a finished temporary waits that long before it is
/// published.
fn pause_for_signal_tests() {
    if let Some(ms) = std::env::var("SIGMAX_TEST_WRITE_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

fn temp_beside(path: &Path, suffix: &str) -> Result<Unfinished> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    remove_stale_temporaries(dir, &name);
    temp_in(dir, &name, suffix)
}

/// The prefix of sigmax's temporary files for a target named `name`.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.sigmax-tmp-")
}

fn temp_in(dir: &Path, name: &str, suffix: &str) -> Result<Unfinished> {
    let file = tempfile::Builder::new()
        .prefix(&format!("{}{}-", temp_prefix(name), std::process::id()))
        .suffix(suffix)
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let known = KnownToSignals(signals::register(file.path()));
    Ok(Unfinished { file, known })
}

/// A temporary file being written (dropping it removes it), known to the signal handler
/// until it is published or dropped.
struct Unfinished {
    file: tempfile::NamedTempFile,
    known: KnownToSignals,
}

struct KnownToSignals(Option<usize>);

impl Drop for KnownToSignals {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            signals::unregister(slot);
        }
    }
}

/// Removes temporaries for `name` in `dir` left by processes that no longer run (killed
/// mid-write); best effort, a file that cannot be removed stays.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = temp_prefix(name);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !signals::process_exists(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Flushes the finished temporary file and renames it onto `path` with the replaced
/// file's permission bits, or (a new file) readable by others as an ordinary file would
/// be (temporary files are created private, mode 0600); then syncs the directory so the
/// rename itself survives a crash.
fn publish(unfinished: Unfinished, path: &Path, mode: Option<u32>) -> Result<()> {
    // `_known` is dropped last: the signal handler may remove the temporary until it has
    // been renamed (afterwards its name no longer exists).
    let Unfinished {
        file: tmp,
        known: _known,
    } = unfinished;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = mode.unwrap_or(0o644);
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(tmp.path(), e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        // Best effort: some file systems cannot sync a directory.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn special_files_are_written_into_and_links_followed_and_modes_kept() {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        // A FIFO stands for every special file (devices, sockets): written into.
        let dir = tempfile::tempdir().unwrap();
        // A FIFO stays a FIFO: a reader thread gets the bytes.
        let fifo = dir.path().join("pipe");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_atomically(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
        // (Not tried on /dev/null itself: a regression would replace the machine's device.)
        // A symlink is followed: the target changes, the link remains a link.
        let real = dir.path().join("real.json");
        std::fs::write(&real, b"old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        // ... and the replaced file keeps its mode.
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A directory is refused, naming it.
        let e = write_atomically(dir.path(), b"x").unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
    }

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed_on_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        // pid 999999999 is above Linux's pid_max: no such process.
        let dead = dir.path().join(".m.json.sigmax-tmp-999999999-abcdef");
        let live = dir
            .path()
            .join(format!(".m.json.sigmax-tmp-{}-abcdef", std::process::id()));
        let other = dir.path().join(".n.json.sigmax-tmp-999999999-abcdef");
        for f in [&dead, &live, &other] {
            std::fs::write(f, b"half").unwrap();
        }
        write_atomically(&p, b"new").unwrap();
        assert!(!dead.exists(), "a dead process's temporary is removed");
        assert!(live.exists(), "a running process's temporary stays");
        assert!(other.exists(), "another target's temporary is not touched");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        write_atomically(&p, b"old").unwrap();
        let r = write_atomically_with(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(r.unwrap_err().to_string().contains("disk full"));
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        let r: Result<()> = write_atomically_via(&p, ".png", |tmp| {
            std::fs::write(tmp, b"partial").unwrap();
            Err(Error::Unsupported("encoder failed".into()))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        write_atomically_via(&p, ".png", |tmp| {
            std::fs::write(tmp, b"new").map_err(|e| Error::io(tmp, e))
        })
        .unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("f.txt")],
            "no temporaries left"
        );
    }
}
