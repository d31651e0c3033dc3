//! End-to-end tests through the `sigmax` binary: the quick start, train → predict → eval,
//! and every kind of bad input giving a clear error (file, line, problem) and exit ≠ 0.

use std::path::{Path, PathBuf};

mod common;
use common::*;
#[path = "common/help.rs"]
mod help;

#[test]
fn every_option_of_every_command_has_help_text() {
    help::assert_every_option_has_help(env!("CARGO_BIN_EXE_sigmax"));
}

#[test]
fn quickstart_trains_evaluates_and_explains_a_patient() {
    let o = sigmax(&["quickstart"]);
    assert!(o.ok, "{}", o.stderr);
    assert!(o.stdout.contains("converged in"), "{}", o.stdout);
    let acc: f64 = o
        .stdout
        .split("held-out: accuracy ")
        .nth(1)
        .unwrap()
        .split('%')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(acc > 75.0, "held-out accuracy {acc}");
    assert!(o.stdout.contains("P(heart disease) = "));
    assert!(o.stdout.contains("maximum heart rate") || o.stdout.contains("major vessels"));
}

#[test]
fn train_predict_eval_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let o = sigmax(&["train", HEART, "-c", "1", "--json", "-o", s(&model)]);
    assert!(o.ok, "{}", o.stderr);
    let j: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
    for key in [
        "objective",
        "grad_norm",
        "iterations",
        "converged",
        "train_accuracy",
        "seconds",
        "fit_seconds",
    ] {
        assert!(j.get(key).is_some(), "missing {key} in {j}");
    }
    assert_eq!(j["converged"], true);
    // The whole fit includes the solver's time.
    assert!(j["fit_seconds"].as_f64().unwrap() >= j["seconds"].as_f64().unwrap());
    assert!(
        (j["lambda"].as_f64().unwrap() - 1.0 / 270.0).abs() < 1e-15,
        "-c 1 means λ = 1/n"
    );
    assert!(j["train_accuracy"].as_f64().unwrap() > 0.8);

    let o = sigmax(&["predict", s(&model), HEART]);
    assert!(o.ok, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 270);
    assert!(lines.iter().all(|l| *l == "1" || *l == "-1"));

    let out = dir.path().join("p.txt");
    let o = sigmax(&["predict", s(&model), HEART, "--proba", "-o", s(&out)]);
    assert!(o.ok && o.stdout.is_empty(), "{}", o.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("labels -1 1"));
    for l in lines {
        let f: Vec<&str> = l.split(' ').collect();
        let (p0, p1): (f64, f64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        assert!((p0 + p1 - 1.0).abs() < 2e-6);
        assert_eq!(f[0], if p1 > 0.5 { "1" } else { "-1" });
    }

    let o = sigmax(&["eval", s(&model), HEART, "--json"]);
    assert!(o.ok, "{}", o.stderr);
    let e: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(e["accuracy"], j["train_accuracy"]);
    assert!(e["roc_auc"].as_f64().unwrap() > 0.85);
    let cm = &e["confusion_matrix"]["counts"];
    let total: u64 = (0..2)
        .flat_map(|a| (0..2).map(move |b| (a, b)))
        .map(|(a, b)| cm[a][b].as_u64().unwrap())
        .sum();
    assert_eq!(total, 270);
    let o = sigmax(&["eval", s(&model), HEART]);
    assert!(o.ok && o.stdout.contains("ROC AUC") && o.stdout.contains("confusion matrix"));
}

#[test]
fn every_model_and_solver_runs_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    for args in [
        vec!["--solver", "lbfgs"],
        vec!["--solver", "gd"],
        vec!["--solver", "gd", "--learning-rate", "1"],
        vec![
            "--solver",
            "sgd",
            "--epochs",
            "5",
            "--batch-size",
            "4",
            "--seed",
            "2",
        ],
        vec!["--model", "softmax", "--no-bias"],
        vec!["--model", "svm", "--epochs", "5"],
        vec!["--model", "svm", "--no-bias"],
    ] {
        let mut a = vec!["train", HEART, "--lambda", "0.01", "--json", "-o", s(&m)];
        a.extend(args.iter());
        let o = sigmax(&a);
        assert!(o.ok, "{args:?}: {}", o.stderr);
        let j: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
        assert!(
            j["train_accuracy"].as_f64().unwrap() > 0.75,
            "{args:?}: {j}"
        );
    }
    // An SVM has scores but no probabilities.
    fails_with(
        &["predict", s(&m), HEART, "--proba"],
        &["not probabilities"],
    );
}

#[test]
fn csv_with_string_labels_trains_softmax_and_maps_labels_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("x1,x2,species\n");
    for i in 0..60 {
        let (c, cx, cy) = [("cat", 0.0, 0.0), ("dog", 3.0, 0.0), ("emu", 0.0, 3.0)][i % 3];
        let jitter = (i as f64 * 0.37).sin() * 0.5;
        text.push_str(&format!("{},{},{c}\n", cx + jitter, cy - jitter));
    }
    let data = write(dir.path(), "animals.csv", &text);
    let m = dir.path().join("m.json");
    let o = sigmax(&["train", s(&data), "-o", s(&m), "--json"]);
    assert!(o.ok, "{}", o.stderr);
    assert!(!o.stderr.contains("classes in"), "{}", o.stderr);
    let j: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(j["model"], "softmax");
    assert_eq!(j["classes"], serde_json::json!(["cat", "dog", "emu"]));
    assert_eq!(j["train_accuracy"], 1.0);
    let o = sigmax(&["predict", s(&m), s(&data)]);
    assert_eq!(
        o.stdout.lines().take(3).collect::<Vec<_>>(),
        vec!["cat", "dog", "emu"]
    );
    // A class per row looks like an id column (twenty rows a class, above, did not).
    let ids = write(dir.path(), "ids.csv", "0.5,1\n0.7,2\n0.1,3\n0.2,4\n");
    let o = sigmax(&["train", s(&ids), "-o", s(&m)]);
    assert!(o.ok, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("4 classes in 4 rows (under two rows a class): is the label column right?"),
        "{}",
        o.stderr
    );
}

#[test]
fn bad_data_files_name_the_file_line_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fails_with(
        &["train", s(&d.join("nope.svm"))],
        &["nope.svm", "No such file"],
    );
    assert_eq!(
        sigmax(&["train", s(&d.join("nope.svm"))])
            .stderr
            .matches("No such file")
            .count(),
        1,
        "said once"
    );
    let empty = write(d, "empty.svm", "");
    fails_with(&["train", s(&empty)], &["empty.svm", "empty"]);
    for (name, text, needle) in [
        ("abc.svm", "1 1:1\n-1 3:abc\n", ":2: bad value in \"3:abc\""),
        (
            "noidx.svm",
            "1 1:1\n-1 :5\n",
            ":2: token \":5\" has no feature index",
        ),
        (
            "noval.svm",
            "1 1:1\n-1 3:\n",
            ":2: token \"3:\" has no value",
        ),
        ("zero.svm", "1 0:1\n-1 1:1\n", ":1: feature index 0"),
        (
            "dec.svm",
            "1 1:1\n-1 3:1 2:1\n",
            ":2: decreasing feature index 2 after 3",
        ),
        (
            "dup.svm",
            "1 1:1\n-1 2:1 2:1\n",
            ":2: duplicate feature index 2",
        ),
        (
            "nan.svm",
            "1 1:1\n-1 1:nan\n",
            ":2: value in \"1:nan\" is not finite",
        ),
        (
            "inf.svm",
            "1 1:1\n-1 1:-inf\n",
            ":2: value in \"1:-inf\" is not finite",
        ),
        (
            "huge.svm",
            "1 1:1\n-1 4000000000:1\n",
            ":2: feature index 4000000000 exceeds the limit",
        ),
        ("one.svm", "1 1:1\n1 2:1\n", "single class"),
        // The label in the first column, read from the last (the default).
        (
            "label_first.csv",
            "0,0.5,1.25\n1,0.7,2.5\n0,0.1,3.75\n",
            "labels look continuous (3 distinct numbers in 3 rows",
        ),
        (
            "ragged.csv",
            "1,2,0\n3,4,1\n5,1\n",
            "ragged.csv:3: row has 2 columns, the first row has 3",
        ),
        (
            "nan.csv",
            "1,2,0\n3,nan,1\n",
            "nan.csv:2: column 1: value is not finite",
        ),
    ] {
        let p = write(d, name, text);
        fails_with(&["train", s(&p)], &[name, needle]);
    }
    // Refused labels get the error alone, not also the id-column warning.
    let o = sigmax(&["train", s(&d.join("label_first.csv"))]);
    assert!(!o.ok && !o.stderr.contains("classes in"), "{}", o.stderr);
    // 0 is fine in 0-based mode.
    let p = write(d, "zero_ok.svm", "1 0:1\n-1 1:1\n");
    fails_with(
        &["train", s(&p), "-o", s(&d.join("z.json"))],
        &[":1: feature index 0", "--zero-based"],
    );
    assert!(sigmax(&["train", s(&p), "--zero-based", "-o", s(&d.join("z.json"))]).ok);
}

#[test]
fn bad_parameters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    fails_with(
        &["train", HEART, "--lambda=-1", "-o", s(&m)],
        &["lambda", "≥ 0"],
    );
    fails_with(
        &[
            "train",
            HEART,
            "--solver",
            "sgd",
            "--learning-rate",
            "0",
            "-o",
            s(&m),
        ],
        &["learning-rate", "> 0"],
    );
    fails_with(
        &[
            "train",
            HEART,
            "--solver",
            "sgd",
            "--epochs",
            "0",
            "-o",
            s(&m),
        ],
        &["epochs"],
    );
    fails_with(
        &["train", HEART, "-c", "0", "-o", s(&m)],
        &["invalid -c/--C", "must be a finite number > 0"],
    );
    fails_with(
        &[
            "train",
            HEART,
            "--model",
            "svm",
            "--solver",
            "newton",
            "-o",
            s(&m),
        ],
        &["needs a differentiable objective"],
    );
    assert!(!m.exists(), "no model is written when training fails");
}

#[test]
fn divergence_stops_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    fails_with(
        &[
            "train",
            HEART,
            "--solver",
            "gd",
            "--learning-rate",
            "1000",
            "--lambda",
            "1",
            "-o",
            s(&m),
        ],
        &["diverged", "smaller --learning-rate"],
    );
    fails_with(
        &[
            "train",
            HEART,
            "--solver",
            "sgd",
            "--learning-rate",
            "1e6",
            "--schedule",
            "constant",
            "--lambda",
            "1",
            "-o",
            s(&m),
        ],
        &["diverged", "learning"],
    );
}

#[test]
fn predict_tolerates_unseen_labels_and_extra_features() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    assert!(sigmax(&["train", HEART, "-o", s(&m)]).ok);
    let p = write(dir.path(), "new.svm", "7 1:0.5 3:1\nfoo 2:-1 20:3\n");
    let o = sigmax(&["predict", s(&m), s(&p)]);
    assert!(o.ok, "{}", o.stderr);
    assert_eq!(o.stdout.lines().count(), 2);
    assert_eq!(o.stderr.matches("warning").count(), 1, "{}", o.stderr);
    assert!(o.stderr.contains("up to 20") && o.stderr.contains("ignored"));
    // eval needs known labels.
    fails_with(
        &["eval", s(&m), s(&p)],
        &["label \"7\"", "not one of the model's classes"],
    );
    // LIBSVM rows name their features: a file that uses only the first two (and so is
    // stored densely) still fits the 13-feature model.
    let few = write(dir.path(), "few.svm", "1 1:0.5 2:0.1\n-1 1:-0.5 2:1\n");
    let o = sigmax(&["eval", s(&m), s(&few)]);
    assert!(o.ok, "{}", o.stderr);
    // CSV rows have a fixed width, which must match.
    let narrow = write(dir.path(), "narrow.csv", "0.5,0.1,1\n");
    fails_with(
        &["predict", s(&m), s(&narrow)],
        &["2 features per row", "expects 13"],
    );
}

#[test]
fn bad_model_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    assert!(sigmax(&["train", HEART, "-o", s(&m)]).ok);
    let text = std::fs::read_to_string(&m).unwrap();
    let cut = write(dir.path(), "cut.json", &text[..text.len() / 3]);
    fails_with(&["predict", s(&cut), HEART], &["cut.json", "truncated"]);
    let future = write(
        dir.path(),
        "future.json",
        &text.replace("\"version\": 1", "\"version\": 2"),
    );
    fails_with(
        &["predict", s(&future), HEART],
        &["future.json", "newer sigmax"],
    );
    fails_with(&["predict", HEART, HEART], &["looks like a data file"]);
    let junk = write(dir.path(), "junk.json", "hello");
    fails_with(
        &["predict", s(&junk), HEART],
        &["junk.json", "not valid JSON"],
    );
}

#[test]
fn every_command_has_help() {
    for cmd in [
        vec!["--help"],
        vec!["train", "--help"],
        vec!["predict", "--help"],
        vec!["eval", "--help"],
        vec!["quickstart", "--help"],
        vec!["loss", "--help"],
    ] {
        let o = sigmax(&cmd);
        assert!(o.ok && o.stdout.contains("Usage"), "{cmd:?}");
    }
}

/// Writes the PyTorch fixture's inputs as the CSV files `sigmax loss` reads.
fn margin_inputs(dir: &Path) -> (serde_json::Value, [PathBuf; 3]) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sigmax/tests/reference/margin_fixtures.json"
    ))
    .unwrap();
    let f: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let x = write(dir, "X.csv", &rows(&f["x"]));
    let w = write(dir, "W.csv", &rows(&f["w"]));
    let labels: Vec<String> = f["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let y = write(dir, "y.csv", &labels.join("\n"));
    (f, [x, w, y])
}

#[test]
fn loss_command_reproduces_the_pytorch_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (f, [x, w, y]) = margin_inputs(dir.path());
    let find = |pred: &dyn Fn(&serde_json::Value) -> bool| {
        f["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| pred(c))
            .unwrap()
            .clone()
    };
    let cases = [
        (
            vec!["--head", "softmax"],
            find(&|c| c["head"]["kind"] == "softmax"),
        ),
        (
            vec!["--head", "lsoftmax", "--margin", "3", "--lambda", "3"],
            find(&|c| c["head"]["kind"] == "lsoftmax" && c["head"]["m"] == 3 && c["lam"] == 3.0),
        ),
        (
            vec!["--head", "asoftmax"],
            find(&|c| c["head"]["kind"] == "asoftmax" && c["head"]["m"] == 4 && c["lam"] == 0.0),
        ),
        (
            vec!["--head", "modified"],
            find(&|c| c["head"]["kind"] == "modified"),
        ),
        (
            vec!["--head", "cosface"],
            find(&|c| c["head"]["name"] == "cosface"),
        ),
        (
            vec!["--head", "arcface"],
            find(&|c| c["head"]["name"] == "arcface"),
        ),
        (
            vec![
                "--head",
                "combined",
                "--scale",
                "8",
                "--margins",
                "1.2",
                "0.2",
                "0.1",
            ],
            find(&|c| c["head"]["name"] == "combined"),
        ),
    ];
    for (args, want) in cases {
        let mut a = vec![
            "loss",
            "--features",
            s(&x),
            "--weights",
            s(&w),
            "--labels",
            s(&y),
            "--json",
            "--grad",
        ];
        a.extend(args.iter());
        let o = sigmax(&a);
        assert!(o.ok, "{args:?}: {}", o.stderr);
        let got: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
        let (l, r) = (
            got["loss"].as_f64().unwrap(),
            want["loss"].as_f64().unwrap(),
        );
        assert!(
            (l - r).abs() < 1e-10 * r.max(1.0),
            "{args:?}: loss {l} vs {r}"
        );
        for (ours, theirs) in [
            ("grad_features", "grad_x"),
            ("grad_weights", "grad_w"),
            ("logits", "logits"),
        ] {
            let a: Vec<f64> = got[ours]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
                .collect();
            let b: Vec<f64> = want[theirs]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
                .collect();
            assert_eq!(a.len(), b.len());
            assert!(
                a.iter()
                    .zip(&b)
                    .all(|(p, q)| (p - q).abs() < 1e-9 * (1.0 + q.abs())),
                "{args:?} {ours}"
            );
        }
    }
    // Plain output, f32.
    let o = sigmax(&[
        "loss",
        "--head",
        "arcface",
        "--f32",
        "--features",
        s(&x),
        "--weights",
        s(&w),
        "--labels",
        s(&y),
    ]);
    assert!(o.ok && o.stdout.starts_with("loss 51.98"), "{}", o.stdout);
}

#[test]
fn loss_command_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (_, [x, w, y]) = margin_inputs(dir.path());
    let base = |extra: &[&str]| {
        let mut a = vec![
            "loss",
            "--head",
            "softmax",
            "--features",
            s(&x),
            "--weights",
            s(&w),
        ];
        a.extend_from_slice(extra);
        a.iter().map(|v| v.to_string()).collect::<Vec<String>>()
    };
    let run = |a: Vec<String>| sigmax(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let bad_labels = write(dir.path(), "bad_y.csv", "0\n1\n2\n3\n4\n0\n1\n");
    let o = run(base(&["--labels", s(&bad_labels)]));
    assert!(
        !o.ok && o.stderr.contains("label 4 but") && o.stderr.contains("4 classes"),
        "{}",
        o.stderr
    );
    // λ belongs to the annealing heads only; a negative one is refused.
    let o = run(base(&["--labels", s(&y), "--lambda", "3"]));
    assert!(
        !o.ok && o.stderr.contains("lsoftmax and asoftmax only"),
        "{}",
        o.stderr
    );
    let o = run(base(&["--labels", s(&y), "--lambda", "-1"]));
    assert!(!o.ok && o.stderr.contains("≥ 0"), "{}", o.stderr);
    let short = write(dir.path(), "short_y.csv", "0\n1\n");
    let o = run(base(&["--labels", s(&short)]));
    assert!(
        !o.ok && o.stderr.contains("2 labels for 7 feature rows"),
        "{}",
        o.stderr
    );
    let narrow = write(dir.path(), "W3.csv", "1,2,3\n4,5,6\n");
    let o = sigmax(&[
        "loss",
        "--head",
        "softmax",
        "--features",
        s(&x),
        "--weights",
        s(&narrow),
        "--labels",
        s(&y),
    ]);
    assert!(!o.ok && o.stderr.contains("same dimension"), "{}", o.stderr);
    let o = sigmax(&[
        "loss",
        "--head",
        "asoftmax",
        "--margin",
        "2.5",
        "--features",
        s(&x),
        "--weights",
        s(&w),
        "--labels",
        s(&y),
    ]);
    assert!(!o.ok && o.stderr.contains("integer margin"), "{}", o.stderr);
    let o = sigmax(&[
        "loss",
        "--head",
        "cosface",
        "--scale",
        "0",
        "--features",
        s(&x),
        "--weights",
        s(&w),
        "--labels",
        s(&y),
    ]);
    assert!(!o.ok && o.stderr.contains("scale"), "{}", o.stderr);
    let nan = write(dir.path(), "nan.csv", "1,2,3,4,5\n1,nan,3,4,5\n");
    let o = sigmax(&[
        "loss",
        "--head",
        "softmax",
        "--features",
        s(&nan),
        "--weights",
        s(&w),
        "--labels",
        s(&y),
    ]);
    assert!(
        !o.ok
            && o.stderr
                .contains("nan.csv:2: column 1: value is not finite"),
        "{}",
        o.stderr
    );
}

#[test]
fn every_figure_has_a_one_command_default() {
    let dir = tempfile::tempdir().unwrap();
    for fig in [
        "losses",
        "psi",
        "boundary",
        "embedding",
        "roc",
        "calibration",
        "confusion",
    ] {
        for ext in ["png", "svg"] {
            let out = dir.path().join(format!("{fig}.{ext}"));
            let o = sigmax(&["plot", fig, "-o", s(&out)]);
            assert!(o.ok, "plot {fig}: {}", o.stderr);
            let bytes = std::fs::read(&out).unwrap();
            if ext == "png" {
                assert!(
                    bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
                    "{fig}: not a real PNG"
                );
            } else {
                assert!(bytes.starts_with(b"<svg"), "{fig}: not an SVG");
            }
        }
    }
}

#[test]
fn training_logs_become_curves() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    let mut logs = Vec::new();
    for solver in ["newton", "lbfgs", "gd"] {
        let log = dir.path().join(format!("{solver}.csv"));
        let o = sigmax(&[
            "train",
            HEART,
            "--solver",
            solver,
            "--tol",
            "1e-8",
            "-o",
            s(&m),
            "--log-csv",
            s(&log),
        ]);
        assert!(o.ok, "{}", o.stderr);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.starts_with("iteration,seconds,objective,grad_norm\n0,"));
        logs.push(log);
    }
    let out = dir.path().join("curves.svg");
    let o = sigmax(&[
        "plot",
        "curve",
        s(&logs[0]),
        s(&logs[1]),
        s(&logs[2]),
        "-o",
        s(&out),
    ]);
    assert!(o.ok, "{}", o.stderr);
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains("newton") && svg.contains("lbfgs") && svg.contains("gd"));
}

#[test]
fn plot_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    assert!(sigmax(&["train", HEART, "-o", s(&m)]).ok);
    let out = dir.path().join("b.png");
    fails_with(
        &["plot", "boundary", s(&m), HEART, "-o", s(&out)],
        &["2-feature", "13 features"],
    );
    fails_with(
        &["plot", "scatterplot", "-o", s(&out)],
        &["unrecognized subcommand", "scatterplot"],
    );
    fails_with(&["plot", "losses"], &["-o FILE.png"]);
    fails_with(
        &["plot", "losses", "-o", s(&dir.path().join("x.jpg"))],
        &[".png or .svg"],
    );
    fails_with(
        &["plot", "roc", s(&m), "-o", s(&out)],
        &["both MODEL and DATA"],
    );
    let three = write(
        dir.path(),
        "three.svm",
        "1 1:1\n2 1:-1\n3 2:1\n1 1:0.9\n2 1:-0.8\n3 2:0.7\n",
    );
    let m3 = dir.path().join("m3.json");
    assert!(sigmax(&["train", s(&three), "-o", s(&m3)]).ok);
    fails_with(
        &["plot", "roc", s(&m3), s(&three), "-o", s(&out)],
        &["binary model"],
    );
    assert!(!out.exists());
}

#[test]
fn objective_of_a_liblinear_model_matches_the_same_sigmax_model() {
    let dir = tempfile::tempdir().unwrap();
    let w: Vec<f64> = (0..13).map(|j| (j as f64 - 6.0) * 0.1).collect();
    let mut ll =
        String::from("solver_type L2R_LR\nnr_class 2\nlabel 1 -1\nnr_feature 13\nbias -1\nw\n");
    w.iter().for_each(|v| ll.push_str(&format!("{v}\n")));
    let ll_path = write(dir.path(), "heart.model", &ll);
    let ours = serde_json::json!({"format": "sigmax-model", "version": 1, "model": {
        "kind": "logistic", "classes": ["-1", "1"], "n_features": 13, "lambda": 0.01, "intercept": false,
        "weights": [w], "bias": [0.0]}});
    let ours_path = write(dir.path(), "heart.json", &ours.to_string());
    let a = sigmax(&[
        "objective",
        s(&ll_path),
        HEART,
        "--lambda",
        "0.01",
        "--liblinear",
    ]);
    let b = sigmax(&["objective", s(&ours_path), HEART, "--lambda", "0.01"]);
    assert!(a.ok && b.ok, "{} {}", a.stderr, b.stderr);
    let (ja, jb): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&a.stdout).unwrap(),
        serde_json::from_str(&b.stdout).unwrap(),
    );
    assert_eq!(ja["objective"], jb["objective"]);
    assert_eq!(ja["accuracy"], jb["accuracy"]);
}

#[test]
fn cross_validation_chooses_lambda_and_trains_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    let o = sigmax(&[
        "train",
        HEART,
        "--cv",
        "5",
        "--lambdas",
        "1,1e-2,1e-5",
        "--json",
        "-o",
        s(&m),
    ]);
    assert!(o.ok, "{}", o.stderr);
    let j: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
    let rows = j["cv"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let best = &rows[j["cv"]["best"].as_u64().unwrap() as usize];
    assert_eq!(
        j["lambda"], best["lambda"],
        "the final model uses the best λ"
    );
    assert!(rows
        .iter()
        .all(|r| r["log_loss"].as_f64().unwrap() >= best["log_loss"].as_f64().unwrap()));
    let o = sigmax(&["train", HEART, "--cv", "5", "--path", "5", "-o", s(&m)]);
    assert!(o.ok && o.stdout.contains("← best"), "{}", o.stdout);
    // C beside λ (λ = 1 on 270 rows is C = 1/270), and a C given with a grid is replaced.
    assert!(o.stdout.contains("3.7037e-3"), "{}", o.stdout);
    let o = sigmax(&[
        "train",
        HEART,
        "-c",
        "2",
        "--cv",
        "3",
        "--lambdas",
        "0.1,0.01",
        "-o",
        s(&m),
    ]);
    assert!(o.ok && o.stdout.contains("← best"), "{}", o.stderr);
    fails_with(
        &["train", HEART, "--cv", "1", "-o", s(&m)],
        &["cv", "between 2"],
    );
    fails_with(
        &["train", HEART, "--lambdas", "1,2", "-o", s(&m)],
        &["--cv"],
    );
}

#[test]
fn plots_refuse_a_model_that_does_not_fit_the_data() {
    let dir = tempfile::tempdir().unwrap();
    // A 2-feature model (trained on a CSV) against 13-feature data, and the reverse.
    let two = write(
        dir.path(),
        "two.csv",
        "0.1,0.2,a\n0.9,0.8,b\n0.2,0.1,a\n0.8,0.9,b\n",
    );
    let m2 = dir.path().join("m2.json");
    assert!(sigmax(&["train", s(&two), "-o", s(&m2)]).ok);
    let out = dir.path().join("x.png");
    fails_with(
        &["plot", "boundary", s(&m2), HEART, "-o", s(&out)],
        &["2-feature", "13 features"],
    );
    let wide = write(dir.path(), "wide.csv", "0.1,0.2,0.3,a\n0.9,0.8,0.7,b\n");
    fails_with(
        &["plot", "confusion", s(&m2), s(&wide), "-o", s(&out)],
        &["3 features per row", "expects 2"],
    );
    let other = write(dir.path(), "other.csv", "0.1,0.2,z\n0.9,0.8,b\n");
    fails_with(
        &["plot", "confusion", s(&m2), s(&other), "-o", s(&out)],
        &["label \"z\"", "not one of the model's classes"],
    );
    assert!(!out.exists());
}

#[test]
fn data_cache_gives_the_same_model_as_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("heart.svm");
    std::fs::copy(HEART, &data).unwrap();
    let objective = |args: &[&str]| -> String {
        let model = dir.path().join("m.json");
        let o = sigmax(&[&["train", s(&data), "--json", "-o", s(&model)][..], args].concat());
        assert!(o.ok, "{}", o.stderr);
        let j: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
        assert!(j["objective"].as_f64().is_some_and(|v| v > 0.0), "{j}");
        j["objective"].to_string()
    };
    let parsed = objective(&[]);
    assert_eq!(objective(&["--cache"]), parsed);
    assert!(sigmax::data::cache_path(&data).exists());
    assert_eq!(objective(&["--cache"]), parsed, "from the cache");
}

#[test]
fn a_closed_output_pipe_ends_quietly() {
    // `sigmax … | head -1`: the reader leaves after one line; no panic message.
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    assert!(sigmax(&["train", HEART, "-o", s(&model)]).ok);
    // Far more output than a pipe buffers, so the writer meets the closed pipe.
    let big = write(
        dir.path(),
        "big.svm",
        &std::fs::read_to_string(HEART).unwrap().repeat(200),
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sigmax"))
        .args(["predict", s(&model), s(&big), "--proba"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("labels"), "{first}");
    // (the reader is dropped here: the pipe is closed)
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
