//! Hostile input, second round: readers bounded by one memory budget (an endless or
//! huge input stops at once or at the budget, never at the OOM killer), limits that count
//! `ulimit -v`, no silent wrong model (a byte-order mark, overflowing weights, a line
//! search that cannot descend), no destroyed file (an output that is an input, link
//! chains, write-protected files, output names near NAME_MAX), failed writes to standard
//! output reported, and messages that name the real cause. Each case failed before its
//! fix (run against the previous release, see the closing notes).

mod support;

use support::*;

const D: &[u8] = b"+1 1:0.5 2:1\n-1 1:-0.5 2:0.25\n+1 1:1\n-1 2:-1\n";

const MODEL: &[u8] = br#"{"format":"sigmax-model","version":1,"model":{"kind":"logistic","classes":["-1","1"],"n_features":2,"lambda":0.01,"intercept":true,"weights":[[1.0,-1.0]],"bias":[0.5]}}"#;

fn failures(cases: &[Case], env: &[(&str, &str)]) -> Vec<String> {
    cases
        .iter()
        .filter_map(|c| check_with(c, env, None).err())
        .map(|f| f.chars().take(700).collect())
        .collect()
}

fn assert_none(failures: Vec<String>) {
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn endless_or_binary_inputs_stop_at_their_first_bytes() {
    let imgs = idx(8, &[2, 1, 2], &[0, 1, 2, 3]);
    let imgs: &'static [u8] = Box::leak(imgs.into_boxed_slice());
    let cases = vec![
        case(
            "model file /dev/zero",
            &[("d.svm", D)],
            &["predict", "/dev/zero", "d.svm"],
            &["/dev/zero:1:", "NUL byte"],
        ),
        case(
            "weight file /dev/urandom",
            &[("d.svm", D)],
            &[
                "train",
                "d.svm",
                "--weights",
                "/dev/urandom",
                "-o",
                "m.json",
            ],
            &["/dev/urandom:", "NUL byte"],
        ),
        case(
            "--init /dev/urandom",
            &[("d.svm", D)],
            &["train", "d.svm", "--init", "/dev/urandom", "-o", "m.json"],
            &["/dev/urandom:", "NUL byte"],
        ),
        case(
            "training log /dev/zero",
            &[],
            &["plot", "curve", "/dev/zero", "-o", "c.png"],
            &["/dev/zero:1:", "NUL byte"],
        ),
        case(
            "IDX labels /dev/zero",
            &[("t-images-idx3-ubyte", imgs)],
            &[
                "train",
                "t-images-idx3-ubyte",
                "--idx-labels",
                "/dev/zero",
                "-o",
                "m.json",
            ],
            &["/dev/zero", "IDX data type 0x00"],
        ),
        case(
            "loss matrix /dev/zero",
            &[("w.csv", b"1,0\n0,1\n"), ("y.csv", b"0\n")],
            &[
                "loss",
                "--head",
                "softmax",
                "--features",
                "/dev/zero",
                "--weights",
                "w.csv",
                "--labels",
                "y.csv",
            ],
            &["/dev/zero:1:", "NUL byte"],
        ),
        case(
            "IDX file with no images",
            &[
                (
                    "e-images-idx3-ubyte",
                    &[0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2],
                ),
                ("e-labels-idx1-ubyte", &[0, 0, 8, 1, 0, 0, 0, 0]),
            ],
            &["train", "e-images-idx3-ubyte", "-o", "m.json"],
            &["e-images-idx3-ubyte", "no images"],
        ),
    ];
    assert_none(failures(&cases, &[]));
}

#[test]
fn an_endless_stream_stops_at_the_read_budget() {
    // `yes 1,2,1 | sigmax train /dev/stdin --format csv`, and the same as LIBSVM rows:
    // SIGMAX_MAX_MEMORY caps the whole process (its resident memory counted).
    let env = [("SIGMAX_MAX_MEMORY", "150M")];
    for (format, line) in [("csv", &b"1,2,1\n"[..]), ("libsvm", &b"1 1:1 2:0.5\n"[..])] {
        let c = case(
            "endless stdin",
            &[],
            &["train", "/dev/stdin", "--format", format, "-o", "m.json"],
            &["/dev/stdin", "more than the", "a reader may hold"],
        );
        let text: Vec<u8> = line.repeat(1 << 14);
        check_with(&c, &env, Some(text)).unwrap();
    }
}

#[test]
fn a_byte_order_mark_is_not_a_class() {
    let dir = tempfile::tempdir().unwrap();
    let bom = [&b"\xef\xbb\xbf"[..], &std::fs::read(HEART).unwrap()].concat();
    std::fs::write(dir.path().join("bom.svm"), bom).unwrap();
    let r = run_in(dir.path(), &["train", "bom.svm", "-o", "m.json"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains("270 rows, 13 features, 2 classes"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("trained logistic"), "{}", r.stdout);
}

#[test]
fn the_fit_memory_check_counts_ulimit_v() {
    // 100 classes and a feature index of a million: 10⁸ weights, ~10 GB with the solver's
    // vectors. Under `ulimit -v` 2 GB the check must refuse it (it counted only free memory
    // and let the fit abort on its first large allocation).
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for c in 0..100 {
        text.push_str(&format!("{c} 1:1 2:{c}\n{c} 2:1\n"));
    }
    text.push_str("7 1000000:1\n");
    std::fs::write(dir.path().join("wide.svm"), text).unwrap();
    let r = run_limited(
        dir.path(),
        &[
            "train",
            "wide.svm",
            "--max-features",
            "2000000",
            "-o",
            "m.json",
        ],
        2 << 30,
    );
    assert_eq!((r.code, r.signal), (Some(1), None), "{}", r.stderr);
    assert!(
        r.stderr.contains("would need") && r.stderr.contains("available"),
        "{}",
        r.stderr
    );
}

#[test]
fn blank_lines_keep_no_memory() {
    // Four rows around 400 MB of empty lines: each parsed chunk reserved room for its
    // text's tokens and kept it while the data looked dense (400 MB of address space).
    let dir = tempfile::tempdir().unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.path().join("b.svm")).unwrap());
    use std::io::Write;
    f.write_all(b"+1 1:1 2:0.5\n-1 1:-1\n").unwrap();
    let blank = vec![b'\n'; 1 << 20];
    for _ in 0..400 {
        f.write_all(&blank).unwrap();
    }
    f.write_all(b"+1 2:1\n-1 1:2\n").unwrap();
    drop(f);
    let r = run_limited(dir.path(), &["train", "b.svm", "-o", "m.json"], 400 << 20);
    assert_eq!(r.code, Some(0), "{:?}: {}", r.signal, r.stderr);
    assert!(r.stdout.contains("4 rows"), "{}", r.stdout);
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    heart_in(d);
    std::fs::write(d.join("m.json"), MODEL).unwrap();
    std::fs::write(d.join("t.svm"), D).unwrap();
    std::fs::write(d.join("w.txt"), "1\n".repeat(270)).unwrap();
    std::os::unix::fs::symlink("heart.svm", d.join("alias.svm")).unwrap();
    let runs: [&[&str]; 8] = [
        &["train", "heart.svm", "-o", "heart.svm"],
        &["train", "heart.svm", "-o", "./alias.svm"],
        &["train", "heart.svm", "--weights", "w.txt", "-o", "w.txt"],
        &["train", "heart.svm", "-o", "n.json", "--log-csv", "n.json"],
        &["predict", "m.json", "t.svm", "-o", "t.svm"],
        &["predict", "m.json", "t.svm", "-o", "m.json"],
        &["export", "m.json", "m.json"],
        &["plot", "roc", "m.json", "t.svm", "-o", "t.svm"],
    ];
    let before: Vec<Vec<u8>> = ["heart.svm", "m.json", "t.svm", "w.txt"]
        .iter()
        .map(|f| std::fs::read(d.join(f)).unwrap())
        .collect();
    for args in runs {
        let r = run_in(d, args, &[]);
        assert_eq!(r.code, Some(1), "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("would destroy the input")
                || r.stderr.contains("one would overwrite the other"),
            "{args:?}: {}",
            r.stderr
        );
    }
    let after: Vec<Vec<u8>> = ["heart.svm", "m.json", "t.svm", "w.txt"]
        .iter()
        .map(|f| std::fs::read(d.join(f)).unwrap())
        .collect();
    assert!(before == after, "an input changed");
    assert!(!d.join("n.json").exists());
    // Training on from a model and replacing it stays allowed.
    let r = run_in(d, &["train", "heart.svm", "-o", "h.json"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = run_in(
        d,
        &["train", "heart.svm", "--init", "h.json", "-o", "h.json"],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn outputs_follow_link_chains_and_keep_protected_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    heart_in(d);
    std::fs::write(d.join("real.json"), "old").unwrap();
    std::os::unix::fs::symlink("real.json", d.join("l2")).unwrap();
    std::os::unix::fs::symlink("l2", d.join("l1")).unwrap();
    let r = run_in(d, &["train", "heart.svm", "-o", "l1"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(std::fs::read_to_string(d.join("real.json"))
        .unwrap()
        .contains("sigmax-model"));
    assert!(std::fs::symlink_metadata(d.join("l2"))
        .unwrap()
        .file_type()
        .is_symlink());
    // A loop is an error, not exit 0 with nothing written.
    std::os::unix::fs::symlink("loopB", d.join("loopA")).unwrap();
    std::os::unix::fs::symlink("loopA", d.join("loopB")).unwrap();
    let r = run_in(d, &["train", "heart.svm", "-o", "loopA"], &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("symbolic links"), "{}", r.stderr);
    // A write-protected file in a writable folder is not replaced.
    std::fs::write(d.join("ro.json"), "keep").unwrap();
    std::fs::set_permissions(d.join("ro.json"), std::fs::Permissions::from_mode(0o444)).unwrap();
    let r = run_in(d, &["train", "heart.svm", "-o", "ro.json"], &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("write-protected"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(d.join("ro.json")).unwrap(), "keep");
    // A name of 250 bytes (NAME_MAX is 255): its temporary must fit too.
    let long = format!("{}.json", "m".repeat(245));
    let r = run_in(d, &["train", "heart.svm", "-o", &long], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(d.join(&long).exists());
}

#[test]
fn a_cache_behind_a_link_or_of_another_user_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    heart_in(d);
    std::fs::write(d.join("precious.txt"), "keep me").unwrap();
    std::os::unix::fs::symlink("precious.txt", d.join("heart.svm.sxcache")).unwrap();
    let r = run_in(d, &["train", "heart.svm", "--cache", "-o", "m.json"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert!(
        r.stdout.contains("training accuracy 84.44%"),
        "{}",
        r.stdout
    );
    assert_eq!(
        std::fs::read_to_string(d.join("precious.txt")).unwrap(),
        "keep me"
    );
    // Another user's cache (a forged one: the labels flipped) is left alone. Giving a
    // file away needs root: skipped otherwise.
    std::fs::remove_file(d.join("heart.svm.sxcache")).unwrap();
    let r = run_in(d, &["train", "heart.svm", "--cache", "-o", "m.json"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let cache = d.join("heart.svm.sxcache");
    let c = std::ffi::CString::new(cache.to_str().unwrap()).unwrap();
    // SAFETY: chown of a file of our own.
    if unsafe { libc::chown(c.as_ptr(), 4242, 4242) } == 0 {
        let r = run_in(d, &["train", "heart.svm", "--cache", "-o", "m.json"], &[]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert!(r.stderr.contains("belongs to user 4242"), "{}", r.stderr);
    }
}

#[test]
fn a_failed_write_to_standard_output_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    heart_in(d);
    std::fs::write(d.join("m.json"), MODEL).unwrap();
    std::fs::write(d.join("t.svm"), D).unwrap();
    let runs: [&[&str]; 5] = [
        &["predict", "m.json", "t.svm"],
        &["eval", "m.json", "t.svm"],
        &["objective", "m.json", "t.svm"],
        &["train", "heart.svm", "--json", "-o", "h.json"],
        &["quickstart"],
    ];
    for args in runs {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sigmax"))
            .args(args)
            .current_dir(d)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("writing to standard output") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn results_that_overflow_and_searches_that_cannot_descend_are_errors() {
    let huge = std::str::from_utf8(MODEL)
        .unwrap()
        .replace("[[1.0,-1.0]]", "[[1e308,-1e308]]");
    let huge: &'static [u8] = Box::leak(huge.into_bytes().into_boxed_slice());
    let both: &'static [u8] = b"+1 1:1 2:1\n-1 1:2 2:1\n";
    let cases = vec![
        case(
            "weights of 1e308",
            &[("m.json", huge), ("t.svm", both)],
            &["predict", "m.json", "t.svm", "--proba"],
            &["not finite", "overflow"],
        ),
        case(
            "weights of 1e308, eval",
            &[("m.json", huge), ("t.svm", both)],
            &["eval", "m.json", "t.svm", "--json"],
            &["not finite", "overflow"],
        ),
        case(
            "a scale past f32",
            &[("x.csv", b"1,0\n"), ("w.csv", b"1,0\n0,1\n"), ("y.csv", b"0\n")],
            &["loss", "--head", "cosface", "--scale", "1e39", "--f32", "--json", "--features", "x.csv", "--weights", "w.csv", "--labels", "y.csv"],
            &["not finite", "f32"],
        ),
        case(
            "lbfgs on a feature of 1e30",
            &[("d.svm", b"+1 1:1e30 2:1\n-1 1:-1e30 2:2\n+1 1:2e30 2:-1\n-1 1:1 2:0.5\n")],
            &["train", "d.svm", "--solver", "lbfgs", "-o", "m.json"],
            &["line search found no decrease", "--solver newton"],
        ),
        case(
            "owlqn on a feature of 1e30",
            &[("d.svm", b"+1 1:1e30 2:1\n-1 1:-1e30 2:2\n+1 1:2e30 2:-1\n-1 1:1 2:0.5\n")],
            &["train", "d.svm", "--penalty", "l1", "-o", "m.json"],
            &["line search found no decrease"],
        ),
        case(
            "a LIBLINEAR model with an extra weight line",
            &[
                ("m.txt", b"solver_type L2R_LR\nnr_class 2\nlabel 1 -1\nnr_feature 2\nbias 1\nw\n0.5 \n-0.25 \n0.125 \n6 \n"),
                ("t.svm", D),
            ],
            &["predict", "m.txt", "t.svm"],
            &["m.txt:10:", "more weight lines than nr_feature 2"],
        ),
        case(
            "a model whose class is a NUL byte",
            &[("m.json", br#"{"format":"sigmax-model","version":1,"model":{"kind":"logistic","classes":["-1","\u0000"],"n_features":2,"lambda":0.01,"intercept":true,"weights":[[1.0,-1.0]],"bias":[0.5]}}"#), ("t.svm", D)],
            &["predict", "m.json", "t.svm"],
            &["m.json", "control characters"],
        ),
        case(
            "calibration with 10⁹ bins",
            &[],
            &["plot", "calibration", "--bins", "1000000000", "-o", "c.png"],
            &["--bins", "1..=10000"],
        ),
        case(
            "calibration with 2⁶¹ bins",
            &[],
            &["plot", "calibration", "--bins", "2305843009213693952", "-o", "c.png"],
            &["--bins", "1..=10000"],
        ),
    ];
    assert_none(failures(&cases, &[]));
}

#[test]
fn messages_name_the_real_cause() {
    let heart: &'static [u8] = Box::leak(std::fs::read(HEART).unwrap().into_boxed_slice());
    let tiny: &'static [u8] = Box::leak("1e-320\n".repeat(270).into_bytes().into_boxed_slice());
    let t = |name, args: &[&'static str], needles: &[&'static str]| {
        case(name, &[("h.svm", heart), ("w.txt", tiny)], args, needles)
    };
    let cases = vec![
        t(
            "C = 1e-320",
            &["train", "h.svm", "-c", "1e-320", "-o", "m.json"],
            &["invalid -c/--C", "overflows"],
        ),
        t(
            "weights of 1e-320",
            &["train", "h.svm", "--weights", "w.txt", "-o", "m.json"],
            &["invalid --weights/--weight-col", "sum to a positive number"],
        ),
        t(
            "class weights all 0",
            &[
                "train",
                "h.svm",
                "--class-weight",
                "1:0,-1:0",
                "-o",
                "m.json",
            ],
            &["invalid --class-weight", "above 0"],
        ),
        t(
            "a class weighed twice",
            &[
                "train",
                "h.svm",
                "--class-weight",
                "1:2,1.0:3",
                "-o",
                "m.json",
            ],
            &["--class-weight", "given twice"],
        ),
        t(
            "a class weight for a class the data lacks",
            &[
                "train",
                "h.svm",
                "--class-weight",
                "barollo:2",
                "-o",
                "m.json",
            ],
            &["\"barollo\"", "not one of the data's classes"],
        ),
    ];
    assert_none(failures(&cases, &[]));
}
