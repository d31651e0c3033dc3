//! End-to-end tests of the weighted core's options through the `sigmax` binary: sample
//! weights (file and CSV column), class weights, the squared-hinge SVM, L1 and elastic
//! net, warm starts, and a clear error for each bad value.

mod common;
use common::*;

fn json(o: &Out) -> serde_json::Value {
    assert!(o.ok, "{}", o.stderr);
    serde_json::from_str(o.stdout.trim()).unwrap()
}

#[test]
fn a_weight_file_equals_repeated_rows() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(HEART).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    let weights: Vec<usize> = (0..rows.len()).map(|i| (i * 5 + 1) % 3).collect();
    let wfile = write(
        dir.path(),
        "w.txt",
        &weights.iter().map(|w| format!("{w}\n")).collect::<String>(),
    );
    let repeated: String = rows
        .iter()
        .zip(&weights)
        .flat_map(|(r, &w)| std::iter::repeat_n(format!("{r}\n"), w))
        .collect();
    let rep = write(dir.path(), "rep.svm", &repeated);
    let m = dir.path().join("m.json");
    let a = json(&sigmax(&[
        "train",
        HEART,
        "--weights",
        s(&wfile),
        "--tol",
        "1e-10",
        "--json",
        "-o",
        s(&m),
    ]));
    let b = json(&sigmax(&[
        "train",
        s(&rep),
        "--tol",
        "1e-10",
        "--json",
        "-o",
        s(&m),
    ]));
    let (ja, jb) = (
        a["objective"].as_f64().unwrap(),
        b["objective"].as_f64().unwrap(),
    );
    assert!((ja - jb).abs() < 1e-9 * ja, "{ja} vs {jb}");
    assert_eq!(a["total_weight"].as_f64(), b["n_rows"].as_f64());
    assert_eq!(a["lambda"], b["lambda"], "default λ = 1/Σ weights");
}

#[test]
fn csv_weight_column_and_class_weights() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "d.csv",
        "x1,x2,w,y\n1,2,1,a\n2,1,2,b\n3,3,1,a\n0,1,0.5,b\n1,1,3,a\n2,2,1,b\n",
    );
    let m = dir.path().join("m.json");
    let o = json(&sigmax(&[
        "train",
        s(&csv),
        "--weight-col",
        "w",
        "--class-weight",
        "balanced",
        "--json",
        "-o",
        s(&m),
    ]));
    assert_eq!(o["n_features"], 2, "the weight column is not a feature");
    // balanced: 6 rows, 3 per class → class weights 1; Σ s = 8.5.
    let total = |o: &serde_json::Value| o["total_weight"].as_f64().unwrap();
    assert!((total(&o) - 8.5).abs() < 1e-12);
    let o = json(&sigmax(&[
        "train",
        s(&csv),
        "--weight-col",
        "w",
        "--class-weight",
        "a:2,b:1",
        "--json",
        "-o",
        s(&m),
    ]));
    assert!((total(&o) - (2.0 * 5.0 + 3.5)).abs() < 1e-12);
}

#[test]
fn squared_hinge_l1_and_elastic_net_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    let svm = json(&sigmax(&[
        "train",
        HEART,
        "--model",
        "squared-hinge-svm",
        "--json",
        "-o",
        s(&m),
    ]));
    assert_eq!(
        (svm["solver"].as_str(), svm["converged"].as_bool()),
        (Some("newton"), Some(true))
    );
    assert_eq!(svm["model"], "squared-hinge-svm");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    assert_eq!(saved["model"]["kind"], "squared-hinge-svm");
    let l1 = sigmax(&["train", HEART, "--penalty", "l1", "-c", "0.05", "-o", s(&m)]);
    assert!(l1.ok, "{}", l1.stderr);
    assert!(
        l1.stdout.contains("solver: owlqn") && l1.stdout.contains("weights are nonzero"),
        "{}",
        l1.stdout
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    let zeros = saved["model"]["weights"][0]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v.as_f64() == Some(0.0))
        .count();
    assert!(zeros >= 3, "a strong L1 penalty zeroes weights: {zeros}");
    let en = json(&sigmax(&[
        "train",
        HEART,
        "--penalty",
        "elasticnet",
        "--l1-ratio",
        "0.3",
        "--json",
        "-o",
        s(&m),
    ]));
    let (l1, l2) = (en["l1"].as_f64().unwrap(), en["lambda"].as_f64().unwrap());
    assert!((l1 / (l1 + l2) - 0.3).abs() < 1e-12 && (l1 + l2 - 1.0 / 270.0).abs() < 1e-15);
}

#[test]
fn init_starts_from_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    let cold = json(&sigmax(&[
        "train",
        HEART,
        "--tol",
        "1e-8",
        "--json",
        "-o",
        s(&m),
    ]));
    let m2 = dir.path().join("m2.json");
    let warm = json(&sigmax(&[
        "train",
        HEART,
        "--tol",
        "1e-8",
        "--init",
        s(&m),
        "--json",
        "-o",
        s(&m2),
    ]));
    assert!(warm["iterations"].as_u64().unwrap() < cold["iterations"].as_u64().unwrap());
    let (a, b) = (
        cold["objective"].as_f64().unwrap(),
        warm["objective"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 1e-12 * a);
    let csv = write(dir.path(), "t.csv", "a,b,y\n1,2,p\n2,1,q\n3,3,p\n0,1,q\n");
    fails_with(
        &["train", s(&csv), "--init", s(&m), "-o", s(&m2)],
        &["m.json", "starting model has 13 features"],
    );
}

#[test]
fn bad_weights_and_penalty_values_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    let m = s(&m);
    let short = write(dir.path(), "short.txt", "1\n2\n");
    fails_with(
        &["train", HEART, "--weights", s(&short), "-o", m],
        &["short.txt", "2 weights for 270 data rows"],
    );
    let mut text = "1\n".repeat(269);
    text.insert_str(4, "-3\n");
    let neg = write(dir.path(), "neg.txt", &text);
    fails_with(
        &["train", HEART, "--weights", s(&neg), "-o", m],
        &["neg.txt:3", "weight -3 is not a finite number ≥ 0"],
    );
    let junk = write(dir.path(), "junk.txt", &"x\n".repeat(270));
    fails_with(
        &["train", HEART, "--weights", s(&junk), "-o", m],
        &["junk.txt:1", "not a number"],
    );
    let zeros = write(dir.path(), "zeros.txt", &"0\n".repeat(270));
    fails_with(
        &["train", HEART, "--weights", s(&zeros), "-o", m],
        &["zeros.txt", "all zero"],
    );
    fails_with(
        &["train", HEART, "--class-weight", "7:2", "-o", m],
        &["--class-weight", "\"7\"", "\"-1\", \"1\""],
    );
    fails_with(
        &["train", HEART, "--class-weight", "1:x", "-o", m],
        &["--class-weight", "LABEL:WEIGHT"],
    );
    fails_with(
        &[
            "train",
            HEART,
            "--penalty",
            "elasticnet",
            "--l1-ratio",
            "1.5",
            "-o",
            m,
        ],
        &["--l1-ratio", "must be in [0, 1]"],
    );
    fails_with(
        &["train", HEART, "--l1-ratio", "0.5", "-o", m],
        &["--l1-ratio", "elasticnet"],
    );
    fails_with(
        &["train", HEART, "--lambda", "-1", "-o", m],
        &["invalid --lambda", "must be a finite number ≥ 0"],
    );
    fails_with(
        &[
            "train",
            HEART,
            "--penalty",
            "l1",
            "--solver",
            "newton",
            "-o",
            m,
        ],
        &["newton does not handle an L1 penalty", "owlqn"],
    );
    fails_with(
        &["train", HEART, "--solver", "tronn", "-o", m],
        &["unknown solver \"tronn\"", "dual-cd"],
    );
    let csv = write(dir.path(), "d.csv", "x,w,y\n1,2,a\n2,-1,b\n");
    fails_with(
        &["train", s(&csv), "--weight-col", "w", "-o", m],
        &["d.csv:3", "weight \"-1\" is not a finite number ≥ 0"],
    );
}

#[test]
fn liblinear_squared_hinge_models_are_read_as_such() {
    if std::process::Command::new("liblinear-train")
        .arg("-q")
        .output()
        .is_err()
    {
        eprintln!("liblinear-train not installed; skipped (CI installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ll = dir.path().join("ll.model");
    let st = std::process::Command::new("liblinear-train")
        .args(["-s", "2", "-c", "0.5", "-e", "1e-10", "-q", HEART, s(&ll)])
        .status()
        .unwrap();
    assert!(st.success());
    let lambda = format!("{}", 1.0 / (270.0 * 0.5));
    let j = json(&sigmax(&[
        "objective",
        s(&ll),
        HEART,
        "--liblinear",
        "--lambda",
        &lambda,
    ]));
    assert_eq!(j["model"], "squared-hinge-svm");
    let m = dir.path().join("m.json");
    let ours = json(&sigmax(&[
        "train",
        HEART,
        "--model",
        "squared-hinge-svm",
        "--no-bias",
        "-c",
        "0.5",
        "--tol",
        "1e-10",
        "--json",
        "-o",
        s(&m),
    ]));
    let (a, b) = (
        ours["objective"].as_f64().unwrap(),
        j["objective"].as_f64().unwrap(),
    );
    assert!(
        (a - b).abs() <= 1e-6 * b && a <= b * (1.0 + 1e-9),
        "sigmax {a} vs LIBLINEAR -s 2 {b}"
    );
}

#[test]
fn margin_heads_come_from_one_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    let x = write(dir.path(), "x.csv", "1,0\n0,1\n");
    let w = write(dir.path(), "w.csv", "1,0\n0,1\n");
    let y = write(dir.path(), "y.csv", "0\n1\n");
    let base = [
        "loss",
        "--features",
        s(&x),
        "--weights",
        s(&w),
        "--labels",
        s(&y),
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|a| a.to_string()).collect()
    };
    fails_with(
        &with(&["--head", "arcface", "--margin", "4"]),
        &["--head arcface", "radians"],
    );
    fails_with(
        &with(&["--head", "softmax", "--scale", "30"]),
        &["no scale"],
    );
    fails_with(
        &with(&["--head", "lsoftmax", "--margin", "3000000000"]),
        &["integer margin 1–16"],
    );
    fails_with(
        &with(&["--head", "arcfce"]),
        &["unknown margin head \"arcfce\"", "cosface"],
    );
    let o = sigmax(&with(&["--head", "sphereface", "--json"]));
    assert!(o.ok, "an alias of asoftmax: {}", o.stderr);
}

#[test]
fn objective_defaults_to_the_models_own_penalty() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    let fit = json(&sigmax(&[
        "train",
        HEART,
        "--penalty",
        "elasticnet",
        "-c",
        "0.2",
        "--json",
        "-o",
        s(&m),
    ]));
    let j = json(&sigmax(&["objective", s(&m), HEART]));
    let (a, b) = (
        fit["objective"].as_f64().unwrap(),
        j["objective"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-12 * a, "train J {a} vs objective J {b}");
    assert_eq!(j["l1"], fit["l1"]);
    fails_with(
        &["objective", s(&m), HEART, "--lambda", "-1"],
        &["invalid --lambda", "finite number ≥ 0"],
    );
}

#[test]
fn the_default_svm_converges_with_and_without_an_intercept() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json");
    for extra in [&[][..], &["--no-bias"][..]] {
        for model in ["svm", "squared-hinge-svm"] {
            let mut args = vec!["train", HEART, "--model", model, "--json", "-o", s(&m)];
            args.extend_from_slice(extra);
            let o = sigmax(&args);
            assert!(o.ok, "{}", o.stderr);
            let j = json(&o);
            assert_eq!(
                j["converged"], true,
                "{model} {extra:?}: {}",
                j["stop_reason"]
            );
            if model == "svm" {
                assert_eq!(j["solver"], "dual-cd");
            }
            assert!(!o.stderr.contains("warning"), "{}", o.stderr);
        }
    }
    // SGD counts epochs and says so; its advice names the flags that apply to it.
    let o = sigmax(&[
        "train",
        HEART,
        "--model",
        "svm",
        "--solver",
        "sgd",
        "-o",
        s(&m),
    ]);
    assert!(o.ok, "{}", o.stderr);
    assert!(o.stdout.contains("after 50 epochs"), "{}", o.stdout);
    assert!(!o.stderr.contains("--max-iter"), "{}", o.stderr);
    assert!(o.stderr.contains("dual-cd"), "{}", o.stderr);
}
