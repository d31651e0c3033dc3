//! Agreement with LIBLINEAR (`liblinear-train -s 0`) and scikit-learn on the same
//! objective. The reference weights are pinned in `reference/fixtures.json`, made by
//! `reference/make_fixtures.py` (rerun it with `--check` to verify them).

use serde::Deserialize;
use sigmax::data::{load, Dataset, LoadOptions};
use sigmax::loss::BinaryLoss;
use sigmax::model::ModelKind;
use sigmax::objective::{BinaryObjective, Objective, SoftmaxObjective};
use sigmax::train::{train, ModelChoice, TrainOptions};
use std::path::Path;

#[derive(Deserialize)]
struct Fixture {
    data: String,
    model: String,
    tool: String,
    lam: f64,
    intercept: bool,
    weights: Vec<Vec<f64>>,
    bias: Vec<f64>,
    objective: f64,
}

fn dataset(name: &str) -> Dataset {
    match name {
        "heart_scale" => sigmax::datasets::heart_scale(),
        "iris" => load(
            Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/reference/iris.csv"
            )),
            &LoadOptions::default(),
        )
        .unwrap(),
        other => panic!("unknown fixture data {other}"),
    }
}

/// sigmax's J at the given flat parameters.
fn objective_at(d: &Dataset, kind: ModelKind, lam: f64, intercept: bool, flat: &[f64]) -> f64 {
    match kind {
        ModelKind::Softmax => SoftmaxObjective::new(&d.x, &d.y, d.classes.len(), lam, intercept)
            .unwrap()
            .value(flat),
        _ => {
            let pos = d.y.iter().map(|&c| c == 1).collect();
            BinaryObjective::new(&d.x, pos, BinaryLoss::Logistic, lam, intercept)
                .unwrap()
                .value(flat)
        }
    }
}

fn flat(weights: &[Vec<f64>], bias: &[f64], intercept: bool) -> Vec<f64> {
    let mut v: Vec<f64> = weights.concat();
    if intercept {
        v.extend_from_slice(bias);
    }
    v
}

#[test]
fn final_objective_matches_liblinear_and_scikit_learn() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/fixtures.json"
    ))
    .unwrap();
    let fixtures: Vec<Fixture> = serde_json::from_str(&text).unwrap();
    assert_eq!(fixtures.len(), 10);
    for f in fixtures {
        let d = dataset(&f.data);
        let kind = if f.model == "softmax" {
            ModelKind::Softmax
        } else {
            ModelKind::Logistic
        };
        let opts = TrainOptions {
            model: ModelChoice::Kind(kind),
            lambda: Some(f.lam),
            intercept: f.intercept,
            tol: Some(1e-10),
            ..TrainOptions::default()
        };
        let fit = train(&d, &opts, None).unwrap();
        assert!(
            fit.report.converged,
            "{}: {:?}",
            f.tool, fit.report.stop_reason
        );
        let ours = objective_at(
            &d,
            kind,
            f.lam,
            f.intercept,
            &flat(&fit.model.weights, &fit.model.bias, f.intercept),
        );
        let theirs = objective_at(
            &d,
            kind,
            f.lam,
            f.intercept,
            &flat(&f.weights, &f.bias, f.intercept),
        );
        let what = format!(
            "{} on {} λ={} intercept={}",
            f.tool, f.data, f.lam, f.intercept
        );
        // Same objective function, both optima: equal to 1e-6 relative (ours no worse).
        assert!(
            (ours - theirs).abs() <= 1e-6 * theirs,
            "{what}: sigmax J={ours}, reference J={theirs}"
        );
        assert!(
            ours <= theirs + 1e-12,
            "{what}: sigmax J={ours} above the reference's {theirs}"
        );
        // And the reference tool's own J (f64 data; ours stores f32) agrees too.
        assert!(
            (ours - f.objective).abs() <= 1e-6 * f.objective,
            "{what}: sigmax J={ours}, tool J={}",
            f.objective
        );
    }
}
