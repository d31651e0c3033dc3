//! The margin heads agree with an independent PyTorch autograd implementation of the
//! papers' formulas (pinned in `reference/margin_fixtures.json`, made by
//! `reference/margin_reference.py`): loss, logits and both gradients, float64.

use serde::Deserialize;
use sigmax::margin::{MarginHead, MarginLoss};

#[derive(Deserialize)]
struct Fixtures {
    x: Vec<Vec<f64>>,
    w: Vec<Vec<f64>>,
    y: Vec<u32>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    head: serde_json::Value,
    lam: f64,
    loss: f64,
    logits: Vec<Vec<f64>>,
    grad_x: Vec<Vec<f64>>,
    grad_w: Vec<Vec<f64>>,
}

fn head_of(v: &serde_json::Value) -> MarginHead {
    let num = |k: &str| v[k].as_f64().unwrap();
    match v["kind"].as_str().unwrap() {
        "softmax" => MarginHead::Softmax,
        "modified" => MarginHead::ModifiedSoftmax,
        "lsoftmax" => MarginHead::LSoftmax { m: num("m") as u32 },
        "asoftmax" => MarginHead::ASoftmax { m: num("m") as u32 },
        "combined" => MarginHead::CombinedMargin {
            s: num("s"),
            m1: num("m1"),
            m2: num("m2"),
            m3: num("m3"),
        },
        k => panic!("unknown head {k}"),
    }
}

fn assert_close(ours: &[f64], theirs: &[Vec<f64>], what: &str) {
    let theirs: Vec<f64> = theirs.concat();
    assert_eq!(ours.len(), theirs.len(), "{what}: length");
    let scale = theirs.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert!(
            (a - b).abs() <= 1e-10 * scale,
            "{what}[{i}]: sigmax {a} vs PyTorch {b}"
        );
    }
}

#[test]
fn heads_match_pytorch_autograd() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/margin_fixtures.json"
    ))
    .unwrap();
    let f: Fixtures = serde_json::from_str(&text).unwrap();
    let d = f.x[0].len();
    let (x, w) = (f.x.concat(), f.w.concat());
    assert_eq!(f.cases.len(), 22);
    for c in &f.cases {
        let head = head_of(&c.head);
        let what = format!("{head:?} λ={}", c.lam);
        let mut ml = MarginLoss::<f64>::new(head).unwrap();
        let loss = ml.compute(&x, &w, &f.y, d, c.lam, true).unwrap();
        assert!(
            (loss - c.loss).abs() <= 1e-12 * c.loss.abs().max(1.0),
            "{what}: loss {loss} vs {}",
            c.loss
        );
        assert_close(ml.logits(), &c.logits, &format!("{what} logits"));
        assert_close(ml.grad_features(), &c.grad_x, &format!("{what} ∂L/∂X"));
        assert_close(ml.grad_weights(), &c.grad_w, &format!("{what} ∂L/∂W"));
    }
}
