//! Identities of sample and class weights: integer weight k = k copies of the row, unit
//! weights = no weights, weight 0 = the row removed, class weights = the equivalent
//! sample weights, `balanced` as scikit-learn defines it; every solver, binary and
//! softmax, dense and sparse.

use sigmax::data::{Dataset, Features};
use sigmax::model::ModelKind;
use sigmax::train::{
    effective_weights, train, ClassWeight, ModelChoice, Penalty, SolverChoice, TrainOptions,
    Trained,
};

fn heart(sparse: bool) -> Dataset {
    let d = sigmax::datasets::heart_scale();
    if sparse {
        d
    } else {
        Dataset {
            x: Features::Dense(d.x.to_dense()),
            ..d
        }
    }
}

/// Three classes from heart_scale's labels and one feature's sign (a softmax problem
/// on real rows).
fn three_classes(sparse: bool) -> Dataset {
    let d = heart(sparse);
    let y: Vec<u32> = (0..d.n_rows())
        .map(|i| {
            let v = d.x.row(i).dot(&[
                0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            ]);
            if d.y[i] == 0 {
                0
            } else if v > 0.0 {
                1
            } else {
                2
            }
        })
        .collect();
    Dataset::from_class_ids(d.x, y, vec!["a".into(), "b".into(), "c".into()]).unwrap()
}

/// Integer weights 0–3 (seeded), the first row 0.
fn integer_weights(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            if i == 0 {
                0.0
            } else {
                ((i * 7 + 3) % 4) as f64
            }
        })
        .collect()
}

/// Each row repeated weight-many times (rows of weight 0 dropped).
fn repeated(d: &Dataset, w: &[f64]) -> Dataset {
    let rows: Vec<usize> = (0..d.n_rows())
        .flat_map(|i| std::iter::repeat_n(i, w[i] as usize))
        .collect();
    d.select(&rows)
}

fn fit(d: &Dataset, o: &TrainOptions) -> Trained {
    let t = train(d, o, None).unwrap();
    assert!(
        t.report.converged,
        "{:?}: {}",
        o.solver, t.report.stop_reason
    );
    t
}

fn assert_same(a: &Trained, b: &Trained, tol: f64, what: &str) {
    let (ja, jb) = (a.report.objective, b.report.objective);
    assert!(
        (ja - jb).abs() <= tol * ja.abs().max(1e-12),
        "{what}: J {ja} vs {jb}"
    );
    let scale = a
        .model
        .weights
        .iter()
        .flatten()
        .fold(1e-3f64, |m, v| m.max(v.abs()));
    let wa = a.model.flat_params();
    let wb = b.model.flat_params();
    for (p, q) in wa.iter().zip(&wb) {
        assert!(
            (p - q).abs() <= 1e3 * tol * scale,
            "{what}: weight {p} vs {q}"
        );
    }
}

/// Gradient descent is slow on heart_scale's conditioning: a looser stop, and a looser
/// comparison (J is still within ~‖∇J‖²/λ of the optimum).
fn solver_tol(solver: SolverChoice) -> f64 {
    if solver == SolverChoice::Gd {
        1e-7
    } else {
        1e-10
    }
}

/// How close two fits of the same objective must be: dual CD stops on the dual, so its
/// primal J converges slower; GD as above.
fn compare_tol(solver: SolverChoice) -> f64 {
    match solver {
        SolverChoice::Gd => 1e-6,
        SolverChoice::DualCd => 1e-7,
        _ => 1e-8,
    }
}

fn cases() -> Vec<(&'static str, ModelKind, SolverChoice, Penalty, bool)> {
    use ModelKind::*;
    use SolverChoice::*;
    vec![
        ("logistic newton", Logistic, Newton, Penalty::L2, true),
        ("logistic lbfgs", Logistic, Lbfgs, Penalty::L2, true),
        ("logistic gd", Logistic, Gd, Penalty::L2, true),
        ("logistic owlqn l1", Logistic, OwlQn, Penalty::L1, true),
        ("logistic dual-cd", Logistic, DualCd, Penalty::L2, false),
        (
            "logistic owlqn elasticnet",
            Logistic,
            OwlQn,
            Penalty::ElasticNet,
            false,
        ),
        (
            "squared hinge newton",
            SquaredHingeSvm,
            Newton,
            Penalty::L2,
            true,
        ),
        (
            "squared hinge dual-cd",
            SquaredHingeSvm,
            DualCd,
            Penalty::L2,
            false,
        ),
        ("hinge dual-cd", Svm, DualCd, Penalty::L2, false),
        ("hinge dual-cd intercept", Svm, DualCd, Penalty::L2, true),
        (
            "squared hinge dual-cd intercept",
            SquaredHingeSvm,
            DualCd,
            Penalty::L2,
            true,
        ),
        ("softmax newton", Softmax, Newton, Penalty::L2, true),
        ("softmax lbfgs", Softmax, Lbfgs, Penalty::L2, false),
        ("softmax owlqn l1", Softmax, OwlQn, Penalty::L1, true),
    ]
}

#[test]
fn integer_weight_k_equals_k_copies_for_every_solver() {
    for sparse in [false, true] {
        for (what, kind, solver, penalty, intercept) in cases() {
            let d = if kind == ModelKind::Softmax {
                three_classes(sparse)
            } else {
                heart(sparse)
            };
            let w = integer_weights(d.n_rows());
            let copies = repeated(&d, &w);
            let weighted = d.clone().with_weights(w).unwrap();
            // Same S on both sides, so the default λ = 1/S agrees too; also a given λ.
            for lambda in [None, Some(3e-3)] {
                let o = TrainOptions {
                    model: ModelChoice::Kind(kind),
                    solver,
                    penalty,
                    lambda,
                    intercept,
                    tol: Some(solver_tol(solver)),
                    max_iter: Some(200_000),
                    ..TrainOptions::default()
                };
                let what = format!("{what} (sparse {sparse}, λ {lambda:?})");
                let tol = compare_tol(solver);
                assert_same(&fit(&weighted, &o), &fit(&copies, &o), tol, &what);
            }
        }
    }
}

#[test]
fn sgd_with_weights_reaches_the_weighted_optimum() {
    let d = heart(true);
    let w = integer_weights(d.n_rows());
    let weighted = d.clone().with_weights(w).unwrap();
    let o = |solver| TrainOptions {
        solver,
        lambda: Some(1e-2),
        epochs: Some(200),
        learning_rate: Some(0.5),
        ..TrainOptions::default()
    };
    let newton = fit(&weighted, &o(SolverChoice::Newton));
    let sgd = train(&weighted, &o(SolverChoice::Sgd), None).unwrap();
    let (a, b) = (newton.report.objective, sgd.report.objective);
    assert!(
        b >= a - 1e-12 && b - a < 1e-3 * a,
        "SGD J {b} vs optimum {a}"
    );
}

#[test]
fn unit_weights_are_no_weights_and_zero_weight_removes_the_row() {
    for (what, kind, solver, penalty, intercept) in cases() {
        let d = if kind == ModelKind::Softmax {
            three_classes(true)
        } else {
            heart(true)
        };
        let o = TrainOptions {
            model: ModelChoice::Kind(kind),
            solver,
            penalty,
            intercept,
            lambda: Some(1e-2),
            tol: Some(solver_tol(solver)),
            max_iter: Some(200_000),
            ..TrainOptions::default()
        };
        let plain = fit(&d, &o);
        let ones = fit(&d.clone().with_weights(vec![1.0; d.n_rows()]).unwrap(), &o);
        assert_eq!(
            plain.model.flat_params(),
            ones.model.flat_params(),
            "{what}: unit weights"
        );
        assert_eq!(plain.report.objective, ones.report.objective, "{what}");
        let mut w = vec![1.0; d.n_rows()];
        let dropped = [3, 10, 11, 200];
        dropped.iter().for_each(|&i| w[i] = 0.0);
        let kept: Vec<usize> = (0..d.n_rows()).filter(|i| !dropped.contains(i)).collect();
        let tol = compare_tol(solver);
        assert_same(
            &fit(&d.clone().with_weights(w).unwrap(), &o),
            &fit(&d.select(&kept), &o),
            tol,
            &format!("{what}: zero weights"),
        );
    }
}

#[test]
fn class_weights_are_the_equivalent_sample_weights() {
    for kind in [ModelKind::Logistic, ModelKind::Softmax] {
        let d = if kind == ModelKind::Softmax {
            three_classes(false)
        } else {
            heart(false)
        };
        let sw: Vec<f64> = (0..d.n_rows()).map(|i| 0.5 + (i % 3) as f64).collect();
        let d = d.with_weights(sw.clone()).unwrap();
        let given = if kind == ModelKind::Softmax {
            "a:2,b:0.25,c:1.5"
        } else {
            "1:3,-1:0.5"
        };
        for cw in ["balanced", given] {
            let class_weight: ClassWeight = cw.parse().unwrap();
            let per_class = class_weight.per_class(&d).unwrap();
            let o = TrainOptions {
                model: ModelChoice::Kind(kind),
                class_weight: class_weight.clone(),
                tol: Some(1e-10),
                ..TrainOptions::default()
            };
            let with_class = fit(&d, &o);
            let equivalent: Vec<f64> = (0..d.n_rows())
                .map(|i| sw[i] * per_class[d.y[i] as usize])
                .collect();
            assert_eq!(
                effective_weights(&d, &class_weight).unwrap().unwrap(),
                equivalent
            );
            let as_sample = fit(
                &d.clone().with_weights(equivalent).unwrap(),
                &TrainOptions {
                    class_weight: ClassWeight::None,
                    ..o
                },
            );
            assert_same(
                &with_class,
                &as_sample,
                1e-12,
                &format!("{kind} class weight {cw}"),
            );
        }
    }
}

#[test]
fn balanced_is_scikit_learns_definition() {
    // compute_class_weight("balanced") = n_samples / (n_classes · bincount(y)), and with
    // sample weights Σ s / (n_classes · bincount(y, weights=s)).
    let d = three_classes(true);
    let sw: Vec<f64> = (0..d.n_rows()).map(|i| 0.5 + (i % 4) as f64).collect();
    let dw = d.clone().with_weights(sw.clone()).unwrap();
    let w = ClassWeight::Balanced.per_class(&dw).unwrap();
    let mut sc = [0.0; 3];
    (0..d.n_rows()).for_each(|i| sc[d.y[i] as usize] += sw[i]);
    let total: f64 = sw.iter().sum();
    for c in 0..3 {
        assert!((w[c] - total / (3.0 * sc[c])).abs() < 1e-12);
    }
    let d = three_classes(true);
    let counts = d.class_counts();
    let w = ClassWeight::Balanced.per_class(&d).unwrap();
    for c in 0..3 {
        let expected = d.n_rows() as f64 / (3.0 * counts[c] as f64);
        assert!((w[c] - expected).abs() < 1e-15);
    }
    // Every class then weighs n/K in total.
    for c in 0..3 {
        assert!((w[c] * counts[c] as f64 - d.n_rows() as f64 / 3.0).abs() < 1e-9);
    }
}

#[test]
fn bad_weights_and_values_are_refused_with_their_names() {
    let d = heart(true);
    let e = |r: sigmax::Result<Dataset>| r.err().unwrap().to_string();
    assert!(e(d.clone().with_weights(vec![1.0; 5])).contains("one per row"));
    let mut neg = vec![1.0; d.n_rows()];
    neg[4] = -1.0;
    assert!(e(d.clone().with_weights(neg)).contains("row 5"));
    let mut nan = vec![1.0; d.n_rows()];
    nan[0] = f64::NAN;
    assert!(e(d.clone().with_weights(nan)).contains("NaN"));
    assert!(e(d.clone().with_weights(vec![0.0; d.n_rows()])).contains("all zero"));
    let err = "7:1"
        .parse::<ClassWeight>()
        .unwrap()
        .per_class(&d)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"7\"") && err.contains("[\"-1\", \"1\"]"),
        "{err}"
    );
    assert!("1:-2"
        .parse::<ClassWeight>()
        .unwrap_err()
        .to_string()
        .contains("class_weight"));
    assert!("1".parse::<ClassWeight>().is_err());
    let bad_ratio = TrainOptions {
        penalty: Penalty::ElasticNet,
        l1_ratio: Some(1.5),
        ..TrainOptions::default()
    };
    let err = train(&d, &bad_ratio, None).err().unwrap().to_string();
    assert!(err.contains("l1_ratio") && err.contains("[0, 1]"), "{err}");
    let both = TrainOptions {
        lambda: Some(0.1),
        c: Some(1.0),
        ..TrainOptions::default()
    };
    assert!(train(&d, &both, None).is_err());
}

#[test]
fn warm_start_from_the_optimum_needs_no_iterations_and_changes_nothing() {
    let d = heart(true);
    let o = TrainOptions {
        tol: Some(1e-8),
        ..TrainOptions::default()
    };
    let cold = fit(&d, &o);
    let warm = fit(
        &d,
        &TrainOptions {
            warm_start: Some(cold.model.flat_params()),
            ..o.clone()
        },
    );
    assert!(warm.report.iterations <= 1, "{}", warm.report.iterations);
    assert_same(&cold, &warm, 1e-12, "warm start");
}

#[test]
fn logistic_dual_cd_reaches_the_newton_optimum() {
    // Yu, Huang & Lin's dual method (LIBLINEAR -s 7) on the same primal J, with and
    // without weights, dense and sparse, small and large C.
    for sparse in [false, true] {
        let d = heart(sparse);
        let w = integer_weights(d.n_rows());
        for data in [d.clone(), d.clone().with_weights(w).unwrap()] {
            for c in [0.01, 1.0, 100.0] {
                let o = |solver| TrainOptions {
                    solver,
                    c: Some(c),
                    intercept: false,
                    tol: Some(1e-12),
                    max_iter: Some(100_000),
                    ..TrainOptions::default()
                };
                let newton = fit(&data, &o(SolverChoice::Newton));
                let dual = fit(&data, &o(SolverChoice::DualCd));
                assert_eq!(dual.report.solver, "dual-cd");
                let (a, b) = (newton.report.objective, dual.report.objective);
                assert!(
                    (a - b).abs() <= 1e-8 * a,
                    "C = {c}, weighted {}: Newton {a} vs dual CD {b}",
                    data.weights.is_some()
                );
            }
        }
    }
}
