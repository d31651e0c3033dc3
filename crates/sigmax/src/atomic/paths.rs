//! What a path to be written really is: symbolic links followed to the end of their
//! chain (a loop is an error), write-protected files refused, and an output that is one
//! of the run's inputs (or another of its outputs) refused before anything is written.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Links followed at most (Linux's own limit, after which it reports ELOOP).
const MAX_LINKS: usize = 40;

/// The file `path` names once every symbolic link of a chain is followed (the last may
/// point to a file that does not exist yet: it is created there). A loop, or a chain
/// longer than 40 links, is an error.
pub fn resolve_links(path: &Path) -> Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&at).map_err(|e| Error::io(&at, e))?;
                at = match at.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(at),
        }
    }
    Err(Error::io(
        path,
        std::io::Error::other(format!(
            "more than {MAX_LINKS} symbolic links in a chain (a loop?); nothing was written"
        )),
    ))
}

/// Refuses to replace a file nobody may write (mode 0444: write-protected on purpose;
/// root included, as `rm` asks before removing one) or that this user may not write.
pub(super) fn refuse_write_protected(path: &Path, m: &std::fs::Metadata) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::PermissionsExt;
        let mode = m.permissions().mode() & 0o7777;
        let protected = mode & 0o222 == 0;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok();
        // SAFETY: access reads a NUL-terminated path.
        let not_ours = c_path.is_some_and(|c| unsafe { libc::access(c.as_ptr(), libc::W_OK) } != 0);
        if protected || not_ours {
            return Err(Error::bad_file(
                path,
                format!(
                    "the file is write-protected (mode {mode:04o}) and is not replaced: make it writable (chmod u+w) or write to another file"
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, m);
    Ok(())
}

/// A file a run reads or writes, and what it is to the run ("the training data", "the
/// model").
#[derive(Debug, Clone, Copy)]
pub struct Role<'a> {
    pub what: &'a str,
    pub path: &'a Path,
}

impl<'a> Role<'a> {
    pub fn new(what: &'a str, path: &'a Path) -> Self {
        Role { what, path }
    }
}

/// Whether `a` and `b` are one regular file (or, where one does not exist yet, one path
/// once links and the folders are resolved). Special files (`/dev/stdout`, a pipe) are
/// never the same: writing one destroys nothing.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(ma), Ok(mb)) => ma.is_file() && mb.is_file() && inode(&ma) == inode(&mb),
        (Err(_), Err(_)) => {
            matches!((where_written(a), where_written(b)), (Some(x), Some(y)) if x == y)
        }
        _ => false,
    }
}

#[cfg(unix)]
fn inode(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The absolute path a file that does not exist yet would be created at.
fn where_written(p: &Path) -> Option<PathBuf> {
    let real = resolve_links(p).ok()?;
    let dir = match real.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(dir).ok()?.join(real.file_name()?))
}

/// Refuses a run whose outputs include one of its inputs (`train d.svm -o d.svm` would
/// replace the data with a model) or the same file twice (`--log-csv` = `-o`): checked by
/// file identity (device and inode), so another spelling or a link is caught too.
pub fn refuse_overwriting(outputs: &[Role], inputs: &[Role]) -> Result<()> {
    for (k, out) in outputs.iter().enumerate() {
        let clash = inputs
            .iter()
            .find(|i| same_file(out.path, i.path))
            .map(|i| {
                (
                    i,
                    "writing it would destroy the input; write to another file",
                )
            })
            .or_else(|| {
                outputs[k + 1..]
                    .iter()
                    .find(|o| same_file(out.path, o.path))
                    .map(|o| {
                        (
                            o,
                            "one would overwrite the other; give them different files",
                        )
                    })
            });
        if let Some((other, why)) = clash {
            // "d.svm", or "./d.svm … (d.svm)" where the two spellings differ.
            let spelled = if other.path == out.path {
                String::new()
            } else {
                format!(" ({})", other.path.display())
            };
            return Err(Error::Unsupported(format!(
                "{} {} is also {}{spelled}: {why}",
                out.what,
                out.path.display(),
                other.what,
            )));
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn chains_are_followed_to_the_end_and_loops_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        std::os::unix::fs::symlink("l2", p("l1")).unwrap();
        std::os::unix::fs::symlink("real.json", p("l2")).unwrap();
        assert_eq!(resolve_links(&p("l1")).unwrap(), p("real.json"));
        std::os::unix::fs::symlink("loopB", p("loopA")).unwrap();
        std::os::unix::fs::symlink("loopA", p("loopB")).unwrap();
        let e = resolve_links(&p("loopA")).unwrap_err().to_string();
        assert!(e.contains("symbolic links in a chain"), "{e}");
    }

    #[test]
    fn an_input_named_as_an_output_is_refused_by_identity() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("d.svm");
        std::fs::write(&data, "1 1:1\n").unwrap();
        let other_spelling = dir.path().join(".").join("d.svm");
        let link = dir.path().join("link.svm");
        std::os::unix::fs::symlink("d.svm", &link).unwrap();
        let input = Role {
            what: "the training data",
            path: &data,
        };
        for out in [&data, &other_spelling, &link] {
            let e = refuse_overwriting(
                &[Role {
                    what: "the model",
                    path: out,
                }],
                &[input],
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.contains("the model") && e.contains("is also the training data"),
                "{e}"
            );
        }
        // Two outputs that do not exist yet, one spelled through the folder's link.
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::os::unix::fs::symlink("sub", dir.path().join("alias")).unwrap();
        let (a, b) = (sub.join("m.json"), dir.path().join("alias/m.json"));
        let e = refuse_overwriting(
            &[
                Role {
                    what: "the model",
                    path: &a,
                },
                Role {
                    what: "the log",
                    path: &b,
                },
            ],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("one would overwrite the other"), "{e}");
        // Distinct files, and special files, pass.
        let m = dir.path().join("m.json");
        let ok = [
            Role {
                what: "the model",
                path: &m,
            },
            Role {
                what: "out",
                path: Path::new("/dev/null"),
            },
        ];
        refuse_overwriting(
            &ok,
            &[
                input,
                Role {
                    what: "x",
                    path: Path::new("/dev/null"),
                },
            ],
        )
        .unwrap();
    }
}
