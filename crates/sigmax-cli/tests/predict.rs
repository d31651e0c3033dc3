//! `sigmax predict` as LIBLINEAR and scikit-learn users use it: data without labels,
//! decision values, and an accuracy summary when the data has labels.

mod common;
use common::*;

#[test]
fn predict_reads_unlabelled_csv_and_prints_scores() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(dir.path(), "t.csv", "a,b,y\n1,2,p\n2,1,q\n3,3,p\n0,1,q\n");
    let m = dir.path().join("m.json");
    assert!(sigmax(&["train", s(&t), "-o", s(&m)]).ok);
    let u = write(dir.path(), "u.csv", "a,b\n5.0,3.4\n0,1\n");
    let o = sigmax(&["predict", s(&m), s(&u)]);
    assert!(o.ok, "unlabelled rows with the model's width: {}", o.stderr);
    assert_eq!(o.stdout.lines().count(), 2);
    assert!(
        !o.stderr.contains("Accuracy"),
        "no labels, no accuracy: {}",
        o.stderr
    );
    let o = sigmax(&["predict", s(&m), s(&t), "--scores"]);
    assert!(o.ok, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "labels score(q)");
    // The sign of the score is the prediction (positive: the second class).
    for l in &lines[1..] {
        let (label, score) = l.split_once(' ').unwrap();
        let score: f64 = score.parse().unwrap();
        assert_eq!(label, if score > 0.0 { "q" } else { "p" }, "{l}");
    }
    assert!(
        o.stderr.contains("Accuracy = 100.0000% (4/4)"),
        "{}",
        o.stderr
    );
}

#[test]
fn svm_scores_softmax_scores_and_the_proba_hint() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("svm.json");
    assert!(sigmax(&["train", HEART, "--model", "svm", "--no-bias", "-o", s(&m)]).ok);
    fails_with(
        &["predict", s(&m), HEART, "--proba"],
        &["use --scores", "not probabilities"],
    );
    let o = sigmax(&["predict", s(&m), HEART, "--scores"]);
    assert!(
        o.ok && o.stdout.starts_with("labels score(1)\n"),
        "{}",
        o.stdout
    );
    assert!(
        o.stderr.contains("Accuracy = ") && o.stderr.contains("/270)"),
        "{}",
        o.stderr
    );
    let c = write(
        dir.path(),
        "c.csv",
        "x1,x2,y\n1,0,a\n0,1,b\n-1,-1,c\n1.2,0.1,a\n0.1,0.9,b\n-0.8,-1.1,c\n",
    );
    let sm = dir.path().join("sm.json");
    assert!(sigmax(&["train", s(&c), "-o", s(&sm)]).ok);
    let o = sigmax(&["predict", s(&sm), s(&c), "--scores"]);
    assert!(o.ok, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "labels a b c");
    assert_eq!(
        lines[1].split(' ').count(),
        4,
        "label + one score per class"
    );
}

#[test]
fn liblinear_round_trips_give_the_same_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n);
    // A swapped MODEL and DATA, or a sigmax-nn checkpoint, says what it is.
    fails_with(
        &["predict", HEART, HEART],
        &["looks like a data file", "swap MODEL and DATA"],
    );
    let nn = write(dir.path(), "f.sxnn", "SIGMAXNN\u{1}\u{0}\u{0}\u{0}{}");
    fails_with(
        &["predict", s(&nn), HEART],
        &["sigmax-nn checkpoint", "sigmax-nn eval"],
    );
    let m = path("m.json");
    assert!(sigmax(&["train", HEART, "-o", s(&m)]).ok);
    let exported = path("m.model");
    assert!(sigmax(&["export", "--liblinear", s(&m), s(&exported)]).ok);
    // sigmax reads its own export back as the same model.
    let back = sigmax(&["predict", s(&exported), HEART, "--proba"]);
    let orig = sigmax(&["predict", s(&m), HEART, "--proba"]);
    assert!(back.ok && back.stdout == orig.stdout, "{}", back.stderr);
    let sm = path("sm.json");
    let c = write(
        dir.path(),
        "c.csv",
        "x,y\n1,a\n2,b\n3,c\n1.1,a\n2.1,b\n3.1,c\n",
    );
    assert!(sigmax(&["train", s(&c), "-o", s(&sm)]).ok);
    fails_with(
        &["export", "--liblinear", s(&sm), s(&path("x"))],
        &["no softmax model"],
    );
    if std::process::Command::new("liblinear-predict")
        .output()
        .is_err()
    {
        eprintln!("liblinear-tools not installed; the LIBLINEAR half skipped (CI installs it)");
        return;
    }
    let run = |args: &[&str]| {
        let st = std::process::Command::new(args[0])
            .args(&args[1..])
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    };
    let out = path("out");
    run(&["liblinear-predict", HEART, s(&exported), s(&out)]);
    let ours = sigmax(&["predict", s(&m), HEART]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), ours.stdout);
    let ll = path("ll.model");
    run(&["liblinear-train", "-s", "0", "-q", HEART, s(&ll)]);
    let theirs = path("theirs");
    run(&["liblinear-predict", HEART, s(&ll), s(&theirs)]);
    let ours = sigmax(&["predict", s(&ll), HEART]);
    assert!(ours.ok, "{}", ours.stderr);
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), ours.stdout);
}
