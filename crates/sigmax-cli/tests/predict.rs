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

#[test]
fn csv_columns_are_matched_by_name_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(dir.path(), "t.csv", "a,b,y\n1,2,p\n2,1,q\n3,3,p\n0,1,q\n");
    let m = dir.path().join("m.json");
    assert!(sigmax(&["train", s(&t), "-o", s(&m)]).ok);
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    assert_eq!(
        model["model"]["feature_names"],
        serde_json::json!(["a", "b"])
    );
    let score = |name: &str, text: &str| {
        let f = write(dir.path(), name, text);
        let o = sigmax(&["predict", s(&m), s(&f), "--scores"]);
        assert!(o.ok, "{name}: {}", o.stderr);
        o.stdout.lines().nth(1).unwrap().to_string()
    };
    // The same row: in order, swapped, with the label first, without a header.
    let reference = score("u.csv", "a,b\n5.0,3.4\n");
    assert_eq!(score("v.csv", "b,a\n3.4,5.0\n"), reference);
    assert_eq!(score("w.csv", "y,b,a\np,3.4,5.0\n"), reference);
    assert_eq!(score("z.csv", "5.0,3.4\n"), reference);
    // Swapped columns give a different score when matched by position: the name match
    // above is what makes them equal.
    assert_ne!(score("p.csv", "3.4,5.0\n"), reference);
    // Unknown or missing names are refused, naming them.
    let x = write(dir.path(), "x.csv", "a,c\n5,3.4\n");
    fails_with(
        &["predict", s(&m), s(&x)],
        &["x.csv", "missing \"b\"", "not in the model: \"c\""],
    );
    // Evaluation (objective) matches by name too.
    let o = sigmax(&[
        "objective",
        s(&m),
        s(&write(dir.path(), "e.csv", "b,y,a\n2,p,1\n1,q,2\n")),
    ]);
    assert!(o.ok, "{}", o.stderr);
    let o2 = sigmax(&[
        "objective",
        s(&m),
        s(&write(dir.path(), "e2.csv", "a,b,y\n1,2,p\n2,1,q\n")),
    ]);
    assert_eq!(o.stdout, o2.stdout);
}

#[test]
fn tsv_and_semicolon_files_and_zero_based_columns_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("t.tsv", "a\tb\ty\n1\t2\tp\n2\t1\tq\n"),
        ("t.txt.csv", "a\tb\ty\n1\t2\tp\n2\t1\tq\n"),
        ("s.csv", "a;b;y\n1;2;p\n2;1;q\n"),
    ] {
        let f = write(dir.path(), name, text);
        let o = sigmax(&["train", s(&f), "-o", s(&dir.path().join("m.json"))]);
        assert!(o.ok, "{name}: {}", o.stderr);
        assert!(
            o.stdout.contains("2 rows, 2 features"),
            "{name}: {}",
            o.stdout
        );
    }
    let f = write(dir.path(), "space.csv", "1 2 p\n2 1 q\n");
    fails_with(
        &["train", s(&f)],
        &["space.csv:1", "single field", "--delimiter"],
    );
    let o = sigmax(&[
        "train",
        s(&f),
        "--delimiter",
        " ",
        "-o",
        s(&dir.path().join("m.json")),
    ]);
    assert!(o.ok, "{}", o.stderr);
    // Columns are counted from 0 in errors, as in --label-col, with the header's name.
    let f = write(dir.path(), "bad.csv", "a,b,y\n1,2,p\n1,x,q\n");
    fails_with(
        &["train", s(&f)],
        &["bad.csv:3", "column 1 (\"b\")", "\"x\" is not a number"],
    );
    // --label-col 1 is that same column: the label now, and "y" a (non-numeric) feature.
    fails_with(
        &["train", s(&f), "--label-col", "1"],
        &["bad.csv:2", "column 2 (\"y\")", "\"p\" is not a number"],
    );
}

#[cfg(unix)]
#[test]
fn outputs_write_through_fifos_and_symlinks_without_replacing_them() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("model.fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = sigmax(&["train", HEART, "-o", s(&fifo)]);
    assert!(o.ok, "{}", o.stderr);
    assert!(reader.join().unwrap().contains("sigmax-model"));
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    let real = dir.path().join("real.json");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert!(sigmax(&["train", HEART, "-o", s(&link)]).ok);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .contains("sigmax-model"));
}
