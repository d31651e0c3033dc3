//! `sigmax-fuzz`: a mutation fuzzer for sigmax's readers and decoders that runs on the
//! stable toolchain (cargo-fuzz and libFuzzer need nightly, which this project cannot
//! fetch). It is structure-aware (text targets get tokens such as `nan`, `-0`, `1e400`,
//! huge indices spliced in; caches and checkpoints get their checksums repaired after a
//! mutation so the decoder behind the checksum is reached) and steered by outcomes: an
//! input that produces a kind of result not seen before (an error message with numbers
//! masked) joins the corpus.
//!
//! A supervisor runs the search in a worker process, so that an abort, an allocation
//! beyond the cap or a hang is caught too: the worker keeps the input it is running in a
//! file, and the supervisor saves it as a finding when the worker dies.
//!
//! ```text
//! sigmax-fuzz run TARGET --seconds N [--corpus DIR] [--findings DIR] [--seed S]
//! sigmax-fuzz replay TARGET DIR...      (run every file once; exit 1 on a panic)
//! sigmax-fuzz seed TARGET DIR           (write the built-in seeds)
//! ```

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sigmax_fuzz::Target;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One allocation larger than this is a finding (a reader sized a buffer from input).
const ALLOCATION_CAP: usize = 1 << 30;
/// One input running longer than this is a hang.
const HANG_SECONDS: u64 = 10;
/// Inputs larger than this are not kept in the corpus.
const MAX_KEPT: usize = 64 << 10;

struct Capped;

// SAFETY: forwards to the system allocator; only refuses (by aborting, which is what
// an allocation failure does anyway) requests above the cap.
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_CAP {
            too_big();
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_CAP {
            too_big();
        }
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > ALLOCATION_CAP {
            too_big();
        }
        System.realloc(ptr, layout, new_size)
    }
}

fn too_big() -> ! {
    // No allocation here: a static message straight to stderr.
    let _ = std::io::stderr().write_all(b"FINDING: an allocation above the 1 GiB cap\n");
    std::process::abort()
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: sigmax-fuzz run|replay|seed|worker TARGET ...";
    let (Some(cmd), Some(target)) = (args.first(), args.get(1)) else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    let Some(target) = Target::from_name(target) else {
        let names: Vec<_> = Target::ALL.iter().map(|t| t.name()).collect();
        eprintln!(
            "unknown target {target:?}; expected one of {}",
            names.join(", ")
        );
        return ExitCode::FAILURE;
    };
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let corpus = PathBuf::from(
        flag("--corpus").unwrap_or_else(|| format!("crates/sigmax-fuzz/corpus/{}", target.name())),
    );
    let findings = PathBuf::from(flag("--findings").unwrap_or_else(|| "fuzz-findings".into()));
    let seed: u64 = flag("--seed").and_then(|s| s.parse().ok()).unwrap_or(1);
    match cmd.as_str() {
        "run" => {
            let seconds: u64 = flag("--seconds").and_then(|s| s.parse().ok()).unwrap_or(60);
            supervise(target, &corpus, &findings, seed, seconds)
        }
        "worker" => {
            let seconds: u64 = flag("--seconds").and_then(|s| s.parse().ok()).unwrap_or(60);
            work(target, &corpus, &findings, seed, seconds);
            ExitCode::SUCCESS
        }
        "replay" => replay(target, &args[2..]),
        "seed" => {
            let dir = args.get(2).map_or(corpus, PathBuf::from);
            std::fs::create_dir_all(&dir).unwrap();
            for s in target.seeds() {
                save(&dir, &s);
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{usage}");
            ExitCode::FAILURE
        }
    }
}

/// Runs workers until the time is up, saving the input that killed each one.
fn supervise(target: Target, corpus: &Path, findings: &Path, seed: u64, seconds: u64) -> ExitCode {
    std::fs::create_dir_all(findings).unwrap();
    std::fs::create_dir_all(corpus).unwrap();
    let end = Instant::now() + Duration::from_secs(seconds);
    let exe = std::env::current_exe().unwrap();
    let mut deaths = 0;
    let mut seed = seed;
    while Instant::now() < end {
        let left = end
            .saturating_duration_since(Instant::now())
            .as_secs()
            .max(1);
        let out = std::process::Command::new(&exe)
            .args(["worker", target.name(), "--seconds", &left.to_string()])
            .arg("--corpus")
            .arg(corpus)
            .arg("--findings")
            .arg(findings)
            .args(["--seed", &seed.to_string()])
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprint!("{stderr}");
        if out.status.success() {
            break;
        }
        deaths += 1;
        let current = current_path(findings, target);
        if let Ok(input) = std::fs::read(&current) {
            let p = save_finding(findings, target, "crash", &input);
            let tail: String = stderr.lines().rev().take(20).collect::<Vec<_>>().join("\n");
            let _ = std::fs::write(p.with_extension("txt"), format!("{}\n{tail}\n", out.status));
            eprintln!(
                "FINDING: the worker died ({}); input saved as {}",
                out.status,
                p.display()
            );
        }
        seed = seed.wrapping_add(1_000_003);
    }
    if deaths > 0 {
        eprintln!("{deaths} worker deaths; see {}", findings.display());
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn current_path(findings: &Path, target: Target) -> PathBuf {
    findings.join(format!(".current-{}", target.name()))
}

/// FNV-1a (64 bit): the name of an input's file. (Not CRC-32: inputs whose checksum the
/// fix-up repaired all have the same CRC-32, the CRC's residue 0x2144DF1C.)
fn name_of(input: &[u8]) -> String {
    let h = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{h:016x}")
}

fn save(dir: &Path, input: &[u8]) -> PathBuf {
    let p = dir.join(name_of(input));
    if !p.exists() {
        std::fs::write(&p, input).unwrap();
    }
    p
}

fn save_finding(findings: &Path, target: Target, kind: &str, input: &[u8]) -> PathBuf {
    let p = findings.join(format!("{}-{kind}-{}", target.name(), name_of(input)));
    std::fs::write(&p, input).unwrap();
    p
}

/// The search loop of one worker process.
fn work(target: Target, corpus_dir: &Path, findings: &Path, seed: u64, seconds: u64) {
    let mut corpus: Vec<Vec<u8>> = read_dir_files(corpus_dir);
    for s in target.seeds() {
        if !corpus.contains(&s) {
            save(corpus_dir, &s);
            corpus.push(s);
        }
    }
    let mut seen: HashSet<String> = HashSet::new();
    for input in &corpus {
        seen.insert(run_caught(target, input).unwrap_or_default());
    }
    let current_file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(current_path(findings, target))
        .unwrap();
    static STARTED_MS: AtomicU64 = AtomicU64::new(0);
    let clock = Instant::now();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        let started = STARTED_MS.load(Ordering::Relaxed);
        let now = clock.elapsed().as_millis() as u64;
        if started > 0 && now.saturating_sub(started) > HANG_SECONDS * 1000 {
            let _ = std::io::stderr().write_all(b"FINDING: an input ran longer than 10 s\n");
            std::process::abort();
        }
    });
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let end = Instant::now() + Duration::from_secs(seconds);
    let (mut execs, mut report_at) = (0u64, Instant::now() + Duration::from_secs(60));
    while Instant::now() < end {
        let parent = &corpus[rng.random_range(0..corpus.len())];
        let other = &corpus[rng.random_range(0..corpus.len())];
        let mut input = parent.clone();
        for _ in 0..rng.random_range(1..=6) {
            mutate(target, &mut input, other, &mut rng);
        }
        if rng.random_bool(0.9) {
            target.fix_up(&mut input);
        }
        {
            use std::os::unix::fs::FileExt;
            let _ = current_file.set_len(0);
            let _ = current_file.write_all_at(&input, 0);
        }
        STARTED_MS.store(clock.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
        let outcome = run_caught(target, &input);
        STARTED_MS.store(0, Ordering::Relaxed);
        execs += 1;
        match outcome {
            Err(message) => {
                let p = save_finding(findings, target, "panic", &input);
                let _ = std::fs::write(p.with_extension("txt"), &message);
                eprintln!("FINDING: panic {message:?}; input saved as {}", p.display());
            }
            Ok(o) => {
                if input.len() <= MAX_KEPT && seen.insert(o) {
                    save(corpus_dir, &input);
                    corpus.push(input);
                }
            }
        }
        if Instant::now() > report_at {
            eprintln!(
                "{}: {execs} inputs, corpus {}, {} outcomes",
                target.name(),
                corpus.len(),
                seen.len()
            );
            report_at = Instant::now() + Duration::from_secs(60);
        }
    }
    println!("{}: {execs} inputs, corpus {}", target.name(), corpus.len());
    eprintln!(
        "{}: done, {execs} inputs, corpus {}, {} outcomes",
        target.name(),
        corpus.len(),
        seen.len()
    );
}

fn run_caught(target: Target, input: &[u8]) -> Result<String, String> {
    std::panic::catch_unwind(|| target.run(input)).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

/// The files of `dir`, sorted (none if it cannot be read).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn read_dir_files(dir: &Path) -> Vec<Vec<u8>> {
    files_in(dir)
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

/// Runs every file of the directories once; exit 1 if any panics.
fn replay(target: Target, dirs: &[String]) -> ExitCode {
    let mut failures = 0;
    let mut count = 0;
    for dir in dirs {
        let files = files_in(Path::new(dir));
        for f in files {
            let input = std::fs::read(&f).unwrap();
            count += 1;
            if let Err(m) = run_caught(target, &input) {
                failures += 1;
                eprintln!("{}: panic: {m}", f.display());
            }
        }
    }
    eprintln!(
        "{}: {count} inputs replayed, {failures} panics",
        target.name()
    );
    if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Tokens that have broken parsers before, spliced into text inputs.
const TOKENS: &[&str] = &[
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "-0",
    "+0",
    "0",
    "-1",
    "4294967296",
    "4294967297",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999",
    "1e-400",
    ":",
    "::",
    "0:1",
    "1:",
    ":1",
    "qid:1",
    "#",
    "\n",
    "\r\n",
    "\n\n\n",
    "\0",
    "\0\0\0\0",
    " ",
    "\t",
    ",",
    ";",
    "\"",
    "\"\"",
    "{",
    "}",
    "[",
    "]",
    "null",
    "true",
    "\"weights\"",
    "\"classes\"",
    "\"kind\"",
    "\"n_features\"",
    "nr_feature",
    "nr_class",
    "bias",
    "label",
    "w\n",
    "solver_type L2R_LR\n",
    "\u{feff}",
    "é",
    "\u{7f}",
];

const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    3,
    7,
    8,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    u64::MAX / 2,
    u64::MAX,
];

fn mutate(target: Target, input: &mut Vec<u8>, other: &[u8], rng: &mut ChaCha8Rng) {
    let n = input.len();
    let at = |rng: &mut ChaCha8Rng, n: usize| if n == 0 { 0 } else { rng.random_range(0..n) };
    match rng.random_range(0..10) {
        0 if n > 0 => {
            let i = at(rng, n);
            input[i] ^= 1 << rng.random_range(0..8);
        }
        1 if n > 0 => {
            let i = at(rng, n);
            input[i] = rng.next_u32() as u8;
        }
        2 if n > 0 => {
            // Overwrite 1, 2, 4 or 8 bytes with an interesting number.
            let width = [1usize, 2, 4, 8][rng.random_range(0..4)];
            let v = INTERESTING[rng.random_range(0..INTERESTING.len())];
            let bytes = if rng.random_bool(0.5) {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            };
            let i = at(rng, n);
            for k in 0..width.min(n - i) {
                input[i + k] = bytes[if rng.random_bool(0.5) {
                    k
                } else {
                    8 - width + k
                }];
            }
        }
        3 if n > 1 => {
            let i = at(rng, n);
            let len = rng.random_range(1..=(n - i).min(64));
            input.drain(i..i + len);
        }
        4 if n > 0 => {
            let i = at(rng, n);
            let len = rng.random_range(1..=(n - i).min(256));
            let copy = input[i..i + len].to_vec();
            let j = at(rng, input.len());
            input.splice(j..j, copy);
        }
        5 if !other.is_empty() => {
            // Splice: our head, the other's tail.
            let i = at(rng, n);
            let j = at(rng, other.len());
            input.truncate(i);
            input.extend_from_slice(&other[j..]);
        }
        6 if n > 0 => {
            input.truncate(at(rng, n));
        }
        7 | 8 if target.is_text() => {
            let t = TOKENS[rng.random_range(0..TOKENS.len())].as_bytes();
            let i = at(rng, n + 1);
            if rng.random_bool(0.5) && i < n {
                // Replace the token (run of non-space bytes) at i.
                let end = input[i..]
                    .iter()
                    .position(|b| b.is_ascii_whitespace() || *b == b',' || *b == b':')
                    .map_or(n, |p| i + p);
                input.splice(i..end, t.iter().copied());
            } else {
                input.splice(i..i, t.iter().copied());
            }
        }
        _ => {
            let i = at(rng, n + 1);
            let len = rng.random_range(1..=16);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
            input.splice(i..i, bytes);
        }
    }
    if input.len() > 1 << 20 {
        input.truncate(1 << 20);
    }
}
