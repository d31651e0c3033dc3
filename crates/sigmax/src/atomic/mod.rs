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

mod lock;
mod paths;
mod signals;

pub use paths::{refuse_overwriting, resolve_links, same_file, Role};

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
    // A symlink is followed to the end of its chain: the file it points to is the one
    // written.
    let real = paths::resolve_links(path)?;
    match std::fs::metadata(&real) {
        Err(_) => Ok(Target::Replace {
            path: real,
            mode: None,
        }),
        Ok(m) if m.is_dir() => Err(Error::io(
            path,
            std::io::Error::other("is a directory, not a file to write"),
        )),
        Ok(m) if m.is_file() => {
            paths::refuse_write_protected(path, &m)?;
            Ok(Target::Replace {
                mode: mode_of(&m),
                path: real,
            })
        }
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

/// As [`write_atomically_with`], for a file sigmax derives itself rather than one the
/// user named (the cache beside a data file): a link there is never followed and a
/// special file never written into (either is an error); the temporary is renamed onto
/// the path itself, which replaces a link planted in the meantime, not its target.
pub fn write_derived_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.is_file() {
            return Err(Error::bad_file(
                path,
                "not a regular file (a link or a special file): not replaced",
            ));
        }
    }
    let mut tmp = temp_beside(path, "")?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.file.as_file_mut());
        fill(&mut w)
            .and_then(|()| w.flush())
            .map_err(|e| Error::io(path, e))?;
    }
    publish(tmp, path, None)
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

/// The prefix of sigmax's temporary files for a target named `name`: the name is cut
/// (at a character boundary) to 120 bytes, so that the temporary's name stays within
/// NAME_MAX (255 bytes) for any target name that fits there itself.
fn temp_prefix(name: &str) -> String {
    const KEPT: usize = 120;
    let mut cut = name.len().min(KEPT);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(".{}.sigmax-tmp-", &name[..cut])
}

fn temp_in(dir: &Path, name: &str, suffix: &str) -> Result<Unfinished> {
    let file = tempfile::Builder::new()
        .prefix(&format!("{}{}-", temp_prefix(name), std::process::id()))
        .suffix(suffix)
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    // Held until the file is published or the process ends (however it ends): what tells
    // another process, in another PID namespace too, that this temporary is live.
    lock::hold(file.as_file());
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
/// mid-write); best effort, a file that cannot be removed stays. Stale means: its
/// process is not running here and no process holds its lock. The lock is what protects
/// a writer in another PID namespace (a container sharing the folder), whose process
/// number means nothing here.
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
        if pid != std::process::id()
            && !signals::process_exists(pid)
            && lock::is_free(&entry.path())
        {
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
        // A writer in another PID namespace (a container sharing the folder): its process
        // number is not running here, but it holds the lock of its temporary.
        let foreign = dir.path().join(".m.json.sigmax-tmp-999999998-ghijkl");
        std::fs::write(&foreign, b"half").unwrap();
        let writing = std::fs::File::open(&foreign).unwrap();
        lock::hold(&writing);
        write_atomically(&p, b"newer").unwrap();
        assert!(
            foreign.exists(),
            "a locked temporary is live, whatever its pid"
        );
        drop(writing);
        write_atomically(&p, b"newest").unwrap();
        assert!(!foreign.exists(), "once its writer is gone it is stale");
    }

    #[cfg(unix)]
    #[test]
    fn long_names_and_write_protected_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // A name of 250 bytes (NAME_MAX is 255): its temporary's name must fit too.
        let long = dir.path().join(format!("{}é.json", "m".repeat(243)));
        write_atomically(&long, b"one").unwrap();
        write_atomically(&long, b"two").unwrap();
        assert_eq!(std::fs::read(&long).unwrap(), b"two");
        // A file nobody may write is not replaced (root included).
        let ro = dir.path().join("ro.json");
        std::fs::write(&ro, b"keep").unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
        let e = write_atomically(&ro, b"new").unwrap_err().to_string();
        assert!(e.contains("write-protected (mode 0444)"), "{e}");
        assert_eq!(std::fs::read(&ro).unwrap(), b"keep");
        // A chain of links is followed to its end; a loop is refused, writing nothing.
        let real = dir.path().join("real.json");
        std::fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink("real.json", dir.path().join("l2")).unwrap();
        std::os::unix::fs::symlink("l2", dir.path().join("l1")).unwrap();
        write_atomically(&dir.path().join("l1"), b"new").unwrap();
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert!(std::fs::symlink_metadata(dir.path().join("l2"))
            .unwrap()
            .file_type()
            .is_symlink());
        std::os::unix::fs::symlink("loopB", dir.path().join("loopA")).unwrap();
        std::os::unix::fs::symlink("loopA", dir.path().join("loopB")).unwrap();
        assert!(write_atomically(&dir.path().join("loopA"), b"x").is_err());
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
