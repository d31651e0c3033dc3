//! Helpers shared by the binary's end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const HEART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sigmax/data/heart_scale");

pub struct Out {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

pub fn sigmax<S: AsRef<str>>(args: &[S]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_sigmax"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("run sigmax");
    Out {
        ok: o.status.success(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs and expects failure with every `needle` in stderr.
pub fn fails_with<S: AsRef<str> + std::fmt::Debug>(args: &[S], needles: &[&str]) {
    let o = sigmax(args);
    assert!(
        !o.ok,
        "expected failure for {args:?}, got stdout {}",
        o.stdout
    );
    for n in needles {
        assert!(
            o.stderr.contains(n),
            "stderr for {args:?} lacks {n:?}:\n{}",
            o.stderr
        );
    }
}
