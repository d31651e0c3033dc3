//! The harness of the hostile-input tests: runs the `sigmax` binary on files made for the
//! case, measuring its exit, its messages, its peak memory (wait4) and its time.

#![allow(dead_code)] // each test file uses part of it

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const HEART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sigmax/data/heart_scale");
/// Peak resident memory allowed for one run.
pub const MAX_RSS_MB: i64 = 400;
pub const TIME_LIMIT: Duration = Duration::from_secs(60);

pub struct Run {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub max_rss_mb: i64,
}

/// Runs sigmax in `dir` with `args` (`{}` in an argument is replaced by `dir`), measuring
/// its peak RSS; killed after TIME_LIMIT (a hang).
// The child is reaped by wait4 (which also reports its peak RSS), not by Child::wait.
#[allow(clippy::zombie_processes)]
pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_fed(dir, args, env, None)
}

/// [`run_in`] with `stdin` written to the command's standard input again and again until
/// it stops reading (`yes TEXT | sigmax …`).
pub fn run_fed(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<Vec<u8>>) -> Run {
    run_full(dir, args, env, stdin, None)
}

/// [`run_in`] under `ulimit -v` (RLIMIT_AS) of `address_space` bytes.
pub fn run_limited(dir: &Path, args: &[&str], address_space: u64) -> Run {
    run_full(dir, args, &[], None, Some(address_space))
}

#[allow(clippy::zombie_processes)]
fn run_full(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<Vec<u8>>,
    address_space: Option<u64>,
) -> Run {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("{}", dir.to_str().unwrap()))
        .collect();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sigmax"));
    cmd.args(&args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(limit) = address_space {
        use std::os::unix::process::CommandExt;
        // SAFETY: only setrlimit (async-signal-safe) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().expect("run sigmax");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        std::thread::spawn(move || while pipe.write_all(&text).is_ok() {});
    }
    let reader = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out_t = reader(Box::new(child.stdout.take().unwrap()));
    let err_t = reader(Box::new(child.stderr.take().unwrap()));
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    let (status, rusage) = loop {
        let mut status = 0;
        // SAFETY: plain wait4 on our own child; rusage is written by the kernel.
        let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut rusage) };
        if r == pid {
            break (status, rusage);
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sigmax {args:?} hung (killed after {TIME_LIMIT:?})");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let status = std::process::ExitStatus::from_raw(status);
    Run {
        code: status.code(),
        signal: status.signal(),
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
        max_rss_mb: rusage.ru_maxrss / 1024,
    }
}

/// A case: files to create, the command line, and the words the error must contain
/// (empty: the run must succeed).
pub struct Case {
    pub name: &'static str,
    pub files: Vec<(&'static str, Vec<u8>)>,
    pub args: Vec<&'static str>,
    pub needles: Vec<&'static str>,
}

pub fn case(
    name: &'static str,
    files: &[(&'static str, &[u8])],
    args: &[&'static str],
    needles: &[&'static str],
) -> Case {
    Case {
        name,
        files: files.iter().map(|(n, b)| (*n, b.to_vec())).collect(),
        args: args.to_vec(),
        needles: needles.to_vec(),
    }
}

pub fn check(c: &Case) -> Result<(), String> {
    check_with(c, &[], None)
}

/// [`check`] with environment variables set and, if given, `stdin` fed again and again.
pub fn check_with(c: &Case, env: &[(&str, &str)], stdin: Option<Vec<u8>>) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in &c.files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let r = run_fed(dir.path(), &c.args, env, stdin);
    let what = format!("{} ({:?})", c.name, c.args);
    if r.signal.is_some() || r.code == Some(101) || r.stderr.contains("panicked") {
        return Err(format!(
            "{what}: crashed ({:?} {:?}):\n{}",
            r.code, r.signal, r.stderr
        ));
    }
    if r.max_rss_mb > MAX_RSS_MB {
        return Err(format!("{what}: peak RSS {} MB", r.max_rss_mb));
    }
    if c.needles.is_empty() {
        if r.code != Some(0) {
            return Err(format!(
                "{what}: expected success, got {:?}:\n{}",
                r.code, r.stderr
            ));
        }
        return Ok(());
    }
    if r.code != Some(1) {
        return Err(format!(
            "{what}: expected exit 1, got {:?}:\n{}{}",
            r.code, r.stdout, r.stderr
        ));
    }
    for n in &c.needles {
        if !r.stderr.contains(n) {
            return Err(format!("{what}: stderr lacks {n:?}:\n{}", r.stderr));
        }
    }
    // No temporaries left in the directory.
    let litter: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".sigmax-tmp-"))
        .collect();
    if !litter.is_empty() {
        return Err(format!("{what}: temporaries left: {litter:?}"));
    }
    Ok(())
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn idx(magic_type: u8, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, magic_type, dims.len() as u8];
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v.extend(payload);
    v
}

pub fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".sigmax-tmp-"))
        .collect()
}

pub fn heart_in(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("heart.svm");
    std::fs::copy(HEART, &p).unwrap();
    p
}
