//! Agreement with LIBLINEAR and scikit-learn on what the weighted L2-ERM core added:
//! sample and class weights (scikit-learn lbfgs), the squared hinge (`liblinear-train -s 1`
//! and `-s 2`), L1 logistic regression (`-s 6`) and L1 / elastic net (scikit-learn saga).
//! Pinned in `reference/fixtures_weighted.json`, made by `reference/make_fixtures.py`.

use serde::Deserialize;
use sigmax::data::{load, Dataset, LoadOptions};
use sigmax::model::ModelKind;
use sigmax::objective::L1Penalty;
use sigmax::solver::pseudo_gradient;
use sigmax::train::{
    linear_objective, objective_at, train, ClassWeight, ModelChoice, Penalty, SolverChoice,
    Strengths, TrainOptions,
};
use std::path::Path;

#[derive(Deserialize)]
struct Fixture {
    data: String,
    model: String,
    tool: String,
    c: f64,
    l1: f64,
    l2: f64,
    intercept: bool,
    sample_weight: Option<Vec<f64>>,
    class_weight: Option<serde_json::Value>,
    weights: Vec<Vec<f64>>,
    bias: Vec<f64>,
    objective: f64,
}

fn reference(name: &str) -> String {
    format!("{}/tests/reference/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn dataset(name: &str) -> Dataset {
    match name {
        "heart_scale" => sigmax::datasets::heart_scale(),
        "iris" => load(Path::new(&reference("iris.csv")), &LoadOptions::default()).unwrap(),
        "sparse_l1" => load(
            Path::new(&reference("sparse_l1.svm")),
            &LoadOptions {
                dense_above: f64::INFINITY,
                ..Default::default()
            },
        )
        .unwrap(),
        other => panic!("unknown fixture data {other}"),
    }
}

fn fixtures() -> Vec<Fixture> {
    let text = std::fs::read_to_string(reference("fixtures_weighted.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The training options that state the fixture's objective in sigmax's terms.
fn options(f: &Fixture, kind: ModelKind) -> TrainOptions {
    let class_weight = match &f.class_weight {
        None => ClassWeight::None,
        Some(serde_json::Value::String(s)) => s.parse().unwrap(),
        Some(v) => ClassWeight::Given(
            v.as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_f64().unwrap()))
                .collect(),
        ),
    };
    let (penalty, l1_ratio) = match (f.l1 > 0.0, f.l2 > 0.0) {
        (false, _) => (Penalty::L2, None),
        (true, false) => (Penalty::L1, None),
        (true, true) => (Penalty::ElasticNet, Some(f.l1 / (f.l1 + f.l2))),
    };
    TrainOptions {
        model: ModelChoice::Kind(kind),
        c: Some(f.c),
        penalty,
        l1_ratio,
        class_weight,
        intercept: f.intercept,
        // The hinge's dual CD converges linearly but slowly (~10⁴ epochs on heart_scale
        // with the intercept search); 1e-8 puts J within 1e-9 of libsvm's.
        tol: Some(if kind == ModelKind::Svm { 1e-8 } else { 1e-10 }),
        max_iter: (kind == ModelKind::Svm).then_some(100_000),
        ..TrainOptions::default()
    }
}

#[test]
fn weighted_squared_hinge_and_l1_objectives_match_the_reference_tools() {
    let fixtures = fixtures();
    assert_eq!(fixtures.len(), 16);
    for f in &fixtures {
        let mut d = dataset(&f.data);
        if let Some(sw) = &f.sample_weight {
            d = d.with_weights(sw.clone()).unwrap();
        }
        let kind: ModelKind = f.model.parse().unwrap();
        let opts = options(f, kind);
        let what = format!("{} on {} (intercept {})", f.tool, f.data, f.intercept);
        let strengths = opts.resolve_strengths(
            sigmax::train::effective_total_weight(&d, &opts.class_weight).unwrap(),
        );
        // C ↔ λ through Σ weights is the tools' mapping.
        assert!(
            (strengths.l2 - f.l2).abs() <= 1e-12 * f.l2.max(1e-300),
            "{what}: λ₂"
        );
        assert!(
            (strengths.l1 - f.l1).abs() <= 1e-12 * f.l1.max(1e-300),
            "{what}: λ₁"
        );
        let fit = train(&d, &opts, None).unwrap();
        assert!(fit.report.converged, "{what}: {}", fit.report.stop_reason);
        let mut theirs_model = fit.model.clone();
        theirs_model.weights = f.weights.clone();
        theirs_model.bias = f.bias.clone();
        let strengths = Strengths { l2: f.l2, l1: f.l1 };
        // Sample weights enter J through the data; class weights as equivalent sample
        // weights (tested separately), so J here is evaluated with the effective ones.
        let mut de = d.clone();
        de.weights = sigmax::train::effective_weights(&d, &opts.class_weight).unwrap();
        let ours = objective_at(&fit.model, &de, strengths).unwrap();
        let theirs = objective_at(&theirs_model, &de, strengths).unwrap();
        assert!(
            (ours - fit.report.objective).abs() <= 1e-12 * ours,
            "{what}: reported J {} vs {ours}",
            fit.report.objective
        );
        assert!(
            (ours - theirs).abs() <= 1e-6 * theirs,
            "{what}: sigmax J={ours}, reference J={theirs}"
        );
        assert!(
            ours <= theirs * (1.0 + 1e-9),
            "{what}: sigmax J={ours} above the reference's {theirs}"
        );
        assert!(
            (ours - f.objective).abs() <= 1e-6 * f.objective,
            "{what}: sigmax J={ours}, tool's own J={}",
            f.objective
        );
        if f.l1 > 0.0 {
            // The same zero pattern (where the reference is clearly zero or not).
            for (j, (&a, &b)) in fit.model.weights[0].iter().zip(&f.weights[0]).enumerate() {
                if b.abs() > 1e-6 {
                    assert!(a != 0.0, "{what}: w[{j}] = 0, reference {b}");
                } else if b == 0.0 {
                    assert!(a.abs() < 1e-7, "{what}: w[{j}] = {a}, reference 0");
                }
            }
        }
    }
}

#[test]
fn l1_solutions_satisfy_the_subgradient_optimality_conditions() {
    // At an optimum of f + λ₁‖w‖₁: ∂f/∂w_j = −λ₁ sign(w_j) where w_j ≠ 0, |∂f/∂w_j| ≤ λ₁
    // where w_j = 0, and ∂f/∂b = 0 — i.e. the pseudo-gradient vanishes.
    for f in fixtures().iter().filter(|f| f.l1 > 0.0) {
        let d = dataset(&f.data);
        let kind: ModelKind = f.model.parse().unwrap();
        let fit = train(&d, &options(f, kind), None).unwrap();
        let mut obj = linear_objective(
            kind,
            kind.binary_loss().unwrap(),
            &d.x,
            &d.y,
            2,
            Strengths { l2: f.l2, l1: f.l1 },
            f.intercept,
            None,
        )
        .unwrap();
        let w = fit.model.flat_params();
        let mut g = vec![0.0; w.len()];
        obj.value_grad(&w, &mut g);
        let l1 = L1Penalty {
            strength: f.l1,
            penalized: d.n_features(),
        };
        let mut pg = vec![0.0; w.len()];
        pseudo_gradient(&w, &g, &l1, &mut pg);
        let worst = pg.iter().fold(0f64, |m, v| m.max(v.abs()));
        assert!(
            worst < 1e-6 * f.l1.max(1e-3),
            "{}: max |◇J| = {worst}",
            f.tool
        );
        for j in 0..d.n_features() {
            if w[j] == 0.0 {
                assert!(
                    g[j].abs() <= f.l1 * (1.0 + 1e-9),
                    "{}: |∂f/∂w_{j}| > λ₁",
                    f.tool
                );
            }
        }
    }
}

#[test]
fn squared_hinge_newton_and_dual_cd_reach_the_same_optimum() {
    // With an intercept too: dual CD then searches b (P*(b) is smooth here, so this is
    // an exact check of the 1-D search against Newton on the joint problem).
    for f in fixtures().iter().filter(|f| f.model == "squared-hinge-svm") {
        for intercept in [false, true] {
            let d = dataset(&f.data);
            let opts = |solver| TrainOptions {
                solver,
                intercept,
                ..options(f, ModelKind::SquaredHingeSvm)
            };
            let newton = train(&d, &opts(SolverChoice::Newton), None).unwrap();
            let dual = train(&d, &opts(SolverChoice::DualCd), None).unwrap();
            assert_eq!(newton.report.solver, "newton");
            assert_eq!(dual.report.solver, "dual-cd");
            assert!(dual.report.converged, "{}", dual.report.stop_reason);
            let (a, b) = (newton.report.objective, dual.report.objective);
            assert!(
                (a - b).abs() <= 1e-8 * a,
                "{} (intercept {intercept}): Newton {a} vs dual CD {b}",
                f.data
            );
            if intercept {
                let (ba, bb) = (newton.model.bias[0], dual.model.bias[0]);
                assert!((ba - bb).abs() <= 1e-4 * (1.0 + ba.abs()), "b {ba} vs {bb}");
            }
        }
    }
}
