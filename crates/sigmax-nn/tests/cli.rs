//! End to end through the `sigmax-nn` binary: train, resume, eval, embed, plot, roc, and
//! the errors a user meets.

use std::path::Path;
use std::process::{Command, Output};
#[path = "../../sigmax-cli/tests/common/help.rs"]
mod help;

#[test]
fn every_option_of_every_command_has_help_text() {
    help::assert_every_option_has_help(env!("CARGO_BIN_EXE_sigmax-nn"));
}

fn sigmax_nn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigmax-nn"))
        .args(args)
        .output()
        .expect("runs")
}

fn ok(args: &[&str]) -> String {
    let out = sigmax_nn(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn fails(args: &[&str]) -> String {
    let out = sigmax_nn(args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn train_resume_eval_embed_plot_and_roc() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.sxnn");
    // Train on digits 0–6 only; 7–9 are the open set.
    let common = [
        "--net",
        "mlp",
        "--dim",
        "2",
        "--limit",
        "2000",
        "--classes",
        "0-6",
        "--batch",
        "100",
        "--head",
        "asoftmax",
        "--margin",
        "2",
    ];
    let out = ok(&[&["train", "--epochs", "1", "-o", p(&model)][..], &common].concat());
    assert!(
        out.contains("epoch 1/1: loss") && out.contains(" λ "),
        "{out}"
    );
    // Resume to 2 epochs: the checkpoint's settings win, so --epochs must come from the file;
    // a finished run resumed does nothing more.
    let json = ok(&["train", "--resume", "-o", p(&model), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json[..json.rfind('}').unwrap() + 1]).unwrap();
    assert_eq!(v["history"].as_array().unwrap().len(), 1);

    let eval = ok(&[
        "eval",
        p(&model),
        "--data",
        "mnist5k-test",
        "--pairs-per-fold",
        "100",
    ]);
    assert!(
        eval.contains("closed set: accuracy")
            && eval.contains("open set (300 images of unseen classes, 1000 pairs in 10 folds)"),
        "{eval}"
    );
    let json = ok(&["eval", p(&model), "--json", "--pairs-per-fold", "100"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let auc = v["open_set"]["auc"].as_f64().unwrap();
    assert!(
        (0.0..=1.0).contains(&auc) && v["closed_set"]["images"] == 700,
        "{v}"
    );

    let csv = dir.path().join("f.csv");
    let w = dir.path().join("w.csv");
    ok(&["embed", p(&model), "-o", p(&csv), "--weights", p(&w)]);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().next(), Some("f1,f2,label"));
    assert_eq!(text.lines().count(), 1001);
    assert_eq!(std::fs::read_to_string(&w).unwrap().lines().count(), 7);

    let png = dir.path().join("e.png");
    ok(&["plot", p(&model), "-o", p(&png)]);
    assert!(std::fs::metadata(&png).unwrap().len() > 10_000);
    let roc = dir.path().join("roc.png");
    let out = ok(&[
        "roc",
        p(&model),
        p(&model),
        "-o",
        p(&roc),
        "--pairs-per-fold",
        "50",
    ]);
    assert!(out.contains("asoftmax m=2 AUC"), "{out}");
    assert!(roc.exists());

    // A head of classes 0–6 on data of 0–9: the 2-D picture colors all ten classes and
    // draws the head's weight directions; --classes head keeps its own classes only.
    let svg = dir.path().join("e.svg");
    ok(&["plot", p(&model), "-o", p(&svg)]);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("class weight directions"),
        "no weight directions drawn"
    );
    assert!(
        text.contains(">\n9\n<") || text.contains(">9<"),
        "class 9 not in the legend"
    );
    ok(&["plot", p(&model), "--classes", "head", "-o", p(&svg)]);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        !(text.contains(">\n9\n<") || text.contains(">9<")),
        "--classes head kept class 9"
    );
    // Several models in a grid: each panel is titled by its file.
    let copy = dir.path().join("copy.sxnn");
    std::fs::copy(&model, &copy).unwrap();
    ok(&["plot", p(&model), p(&copy), "-o", p(&svg)]);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("m.sxnn: ") && text.contains("copy.sxnn: "),
        "grid titles"
    );
    // Open-set ROC: a log FAR axis by default, titled by the data.
    let roc_svg = dir.path().join("roc.svg");
    ok(&[
        "roc",
        p(&model),
        "-o",
        p(&roc_svg),
        "--pairs-per-fold",
        "50",
    ]);
    let text = std::fs::read_to_string(&roc_svg).unwrap();
    assert!(
        text.contains("(log scale)") && text.contains("ROC on mnist5k-test"),
        "roc svg"
    );
    // A model of 16-dimensional features on a subset: angle histograms of the head's
    // classes by default (a note says what was left out); roc without unseen classes
    // says how to get them.
    let wide = dir.path().join("wide.sxnn");
    ok(&[
        "train",
        "--net",
        "mlp",
        "--dim",
        "16",
        "--limit",
        "300",
        "--classes",
        "0-6",
        "--batch",
        "100",
        "--epochs",
        "1",
        "-o",
        p(&wide),
    ]);
    let o = sigmax_nn(&["plot", p(&wide), "-o", p(&png)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("300 images of other classes are left out"));
    let e = fails(&["roc", p(&wide), "--classes", "head", "-o", p(&roc)]);
    assert!(e.contains("train with --classes"), "{e}");
}

#[test]
fn defaults_need_no_data_path_and_evaluate_on_the_held_out_digits() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("features.sxnn");
    let out = ok(&["train", "--epochs", "3", "-o", p(&model)]);
    assert!(
        out.contains("training mlp + softmax (dim 2) on 4000 images") && !out.contains(" λ "),
        "{out}"
    );
    let acc: f64 = out
        .split("closed-set accuracy ")
        .nth(1)
        .and_then(|s| s.split('%').next())
        .and_then(|s| s.parse().ok())
        .expect(&out);
    assert!(
        acc > 30.0,
        "3 epochs of 2-D softmax features should beat 10% chance clearly: {acc}%"
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = fails(&["train", "--data", "/no/such/images.csv"]);
    assert!(e.contains("/no/such/images.csv: no such file"), "{e}");
    // Settings are checked before the banner is printed.
    let e = fails(&["train", "--epochs", "0"]);
    assert!(e.contains("epochs") && !e.contains("training mlp"), "{e}");
    // Settings the chosen head or optimizer does not take are refused, not ignored.
    let e = fails(&["train", "--head", "arcface", "--anneal", "none"]);
    assert!(e.contains("lsoftmax and asoftmax only"), "{e}");
    let e = fails(&["train", "--momentum", "0.5"]);
    assert!(e.contains("--optimizer sgd"), "{e}");
    let e = fails(&["train", "--head", "softmax", "--scale", "30"]);
    assert!(e.contains("no scale"), "{e}");

    let small = dir.path().join("small.csv");
    std::fs::write(
        &small,
        format!("{}3\n{}4\n", "0,".repeat(16), "255,".repeat(16)),
    )
    .unwrap();
    let model = dir.path().join("m.sxnn");
    ok(&[
        "train",
        "--net",
        "mlp",
        "--data",
        p(&small),
        "--epochs",
        "1",
        "-o",
        p(&model),
    ]);
    let e = fails(&["eval", p(&model), "--data", "mnist5k-test"]);
    assert!(
        e.contains("mnist5k-test: images are 28×28, the model expects 4×4"),
        "{e}"
    );

    let label = dir.path().join("label.csv");
    std::fs::write(
        &label,
        format!("{}3\n{}1200\n", "0,".repeat(16), "0,".repeat(16)),
    )
    .unwrap();
    let e = fails(&["train", "--data", p(&label)]);
    assert!(
        e.contains("label.csv:2: label \"1200\" is not a class number (0–999)"),
        "{e}"
    );
    let e = fails(&["train", "--data", p(&small), "--classes", "3-12"]);
    assert!(
        e.contains("no images of class 5 (classes present: [3, 4])"),
        "{e}"
    );

    let nan = dir.path().join("nan.csv");
    std::fs::write(
        &nan,
        format!("{}3\n{}nan,4\n", "0,".repeat(16), "0,".repeat(15)),
    )
    .unwrap();
    let e = fails(&["train", "--data", p(&nan)]);
    assert!(
        e.contains("nan.csv:2: column 15: value is not finite"),
        "{e}"
    );

    let e = fails(&["eval", p(&small)]);
    assert!(e.contains("not a sigmax-nn model or checkpoint"), "{e}");
    let e = fails(&["train", "--head", "lsoftmax", "--margin", "2.5"]);
    assert!(e.contains("integer margin"), "{e}");
    let e = fails(&["train", "--resume", "-o", p(&dir.path().join("none.sxnn"))]);
    assert!(e.contains("no checkpoint to resume from"), "{e}");
    let e = fails(&[
        "train",
        "--net",
        "mlp",
        "--lr",
        "1e9",
        "--optimizer",
        "sgd",
        "--weight-decay",
        "0",
        "--limit",
        "500",
        "--epochs",
        "3",
        "-o",
        p(&model),
    ]);
    assert!(
        e.contains("training diverged") && e.contains("lower the learning rate"),
        "{e}"
    );
}
