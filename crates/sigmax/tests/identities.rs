//! Identities from the math, checked on real data: the {0,1} and ±1 forms of logistic
//! regression give one model; softmax with K = 2 is logistic regression; dense and sparse
//! storage give the same fit; every solver reaches the same optimum.

mod common;

use common::{fit, one_against_rest, opts, sparse_text_like, wide_sparse};
use sigmax::data::{Dataset, Features};
use sigmax::model::ModelKind;
use sigmax::train::{train, LabelForm, ModelChoice, SolverChoice, TrainOptions};

fn heart() -> Dataset {
    sigmax::datasets::heart_scale()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn zero_one_labels_give_the_same_weights_as_plus_minus_one() {
    let d = heart();
    let a = fit(&d, opts(1e-2));
    let b = fit(
        &d,
        TrainOptions {
            label_form: LabelForm::ZeroOne,
            ..opts(1e-2)
        },
    );
    assert!(max_abs_diff(&a.model.weights[0], &b.model.weights[0]) < 1e-8);
    assert!((a.model.bias[0] - b.model.bias[0]).abs() < 1e-8);
    assert!((a.report.objective - b.report.objective).abs() < 1e-12);
}

#[test]
fn softmax_with_two_classes_is_logistic_regression_with_half_lambda() {
    let d = heart();
    let lambda = 1e-2;
    let logistic = fit(
        &d,
        TrainOptions {
            model: ModelChoice::Kind(ModelKind::Logistic),
            ..opts(lambda / 2.0)
        },
    );
    let softmax = fit(
        &d,
        TrainOptions {
            model: ModelChoice::Kind(ModelKind::Softmax),
            ..opts(lambda)
        },
    );
    let (w0, w1) = (&softmax.model.weights[0], &softmax.model.weights[1]);
    // The optimum is antisymmetric, w_0 = −w_1, and w_1 − w_0 is the logistic weight.
    let neg_w1: Vec<f64> = w1.iter().map(|v| -v).collect();
    assert!(max_abs_diff(w0, &neg_w1) < 1e-7);
    let diff: Vec<f64> = w1.iter().zip(w0).map(|(a, b)| a - b).collect();
    assert!(max_abs_diff(&diff, &logistic.model.weights[0]) < 1e-6);
    let p_log = logistic.model.predict_proba(&d.x).unwrap();
    let p_soft = softmax.model.predict_proba(&d.x).unwrap();
    assert!(max_abs_diff(&p_log, &p_soft) < 1e-7);
    assert_eq!(logistic.model.predict(&d.x), softmax.model.predict(&d.x));
    // And the objectives: softmax J(W) = logistic J(w) at the mapped point.
    assert!((logistic.report.objective - softmax.report.objective).abs() < 1e-10);
}

#[test]
fn dense_and_sparse_storage_fit_the_same_model() {
    let sparse = heart();
    let dense = Dataset {
        x: Features::Dense(sparse.x.to_dense()),
        ..sparse.clone()
    };
    for model in [ModelKind::Logistic, ModelKind::Softmax] {
        let o = || TrainOptions {
            model: ModelChoice::Kind(model),
            ..opts(1e-3)
        };
        let a = fit(&sparse, o());
        let b = fit(&dense, o());
        assert!(max_abs_diff(&a.model.weights.concat(), &b.model.weights.concat()) < 1e-9);
        assert!((a.report.objective - b.report.objective).abs() < 1e-13);
    }
}

/// 400 rows × 3,000 features, 8 stored values per row at skewed positions (a few
/// frequent features, a long tail, as in text), 4 classes that the features predict.

#[test]
fn softmax_intercepts_sum_to_zero_with_any_preconditioner_and_storage() {
    use sigmax::solver::PreconditionerChoice as P;
    let d = sparse_text_like(400, 3000);
    let dense = Dataset {
        x: Features::Dense(d.x.to_dense()),
        ..d.clone()
    };
    let mut fits = vec![];
    for (data, p) in [
        (&d, P::Auto),
        (&d, P::Jacobi),
        (&d, P::Diagonal),
        (&dense, P::Auto),
    ] {
        let t = fit(
            data,
            TrainOptions {
                solver: SolverChoice::Newton,
                preconditioner: p,
                ..opts(1e-3)
            },
        );
        let sum: f64 = t.model.bias.iter().sum();
        assert!(sum.abs() < 1e-12, "{p:?}: Σb = {sum}");
        fits.push(t.model.bias);
    }
    // The same intercepts, not only the same probabilities.
    for b in &fits[1..] {
        assert!(max_abs_diff(b, &fits[0]) < 1e-6, "{b:?} vs {:?}", fits[0]);
    }
}

#[test]
fn wide_sparse_data_fits_over_columns_the_model_of_its_dense_rows() {
    // The shape sends sparse passes over the column copy; dense storage goes over rows.
    let sparse = wide_sparse();
    assert!(sigmax::data::columns_pay(sparse.x.nnz(), 4, 4 * 3000));
    let dense = Dataset {
        x: Features::Dense(sparse.x.to_dense()),
        ..sparse.clone()
    };
    let binary = one_against_rest(&sparse);
    let binary_dense = Dataset {
        x: dense.x.clone(),
        ..binary.clone()
    };
    for (a, b, model, intercept) in [
        (&sparse, &dense, ModelKind::Softmax, true),
        (&binary, &binary_dense, ModelKind::Logistic, false),
    ] {
        let o = || TrainOptions {
            model: ModelChoice::Kind(model),
            intercept,
            solver: SolverChoice::Newton,
            ..opts(1e-3)
        };
        let (over_columns, over_rows) = (fit(a, o()), fit(b, o()));
        let (ja, jb) = (over_columns.report.objective, over_rows.report.objective);
        assert!((ja - jb).abs() <= 1e-12 * jb, "{model}: {ja} vs {jb}");
        let gap = max_abs_diff(
            &over_columns.model.weights.concat(),
            &over_rows.model.weights.concat(),
        );
        assert!(gap < 1e-6, "{model}: weights differ by {gap}");
    }
}

/// Wide, skewed sparse rows: the fit renumbers the columns by frequency (on a copy) and
/// maps the weights back, so the model scores the original columns: its objective on the
/// data is the solver's, and a warm start from it (renumbered in turn) is optimal already.
#[test]
fn renumbered_columns_give_a_model_of_the_original_columns() {
    use sigmax::data::ColumnOrder;
    let d = sparse_text_like(2_000, 40_000);
    let counts = ColumnOrder::column_counts(&d.x);
    assert!(
        ColumnOrder::by_frequency(&counts, 4).is_some(),
        "softmax renumbers"
    );
    for intercept in [false, true] {
        let o = TrainOptions {
            intercept,
            solver: SolverChoice::Newton,
            ..opts(1e-3)
        };
        let t = fit(&d, o.clone());
        let j = sigmax::train::objective_at(&t.model, &d, 1e-3).unwrap();
        let reported = t.report.objective;
        assert!((j - reported).abs() <= 1e-12 * j, "{j} vs {reported}");
        let warm = fit(
            &d,
            TrainOptions {
                warm_start: Some(t.model.flat_params()),
                ..o.clone()
            },
        );
        assert_eq!(warm.report.iterations, 0, "{}", warm.report.stop_reason);
        // Renumbered in place instead of on a copy: the same model, the rows restored.
        let mut own = d.clone();
        let settings = o.clone().check().unwrap();
        let in_place =
            sigmax::fit::fit(&mut own, &settings, &sigmax::collective::Alone, None).unwrap();
        assert_eq!(in_place.model, t.model);
        assert_eq!(own.x, d.x);
    }
}

#[test]
fn probabilities_sum_to_one() {
    let d = heart();
    let m = fit(
        &d,
        TrainOptions {
            model: ModelChoice::Kind(ModelKind::Softmax),
            ..opts(1e-3)
        },
    )
    .model;
    for row in m.predict_proba(&d.x).unwrap().chunks(2) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-14);
    }
}

#[test]
fn regularization_path_is_monotone() {
    // Larger λ: larger optimal objective, smaller ‖w‖, larger training loss never smaller...
    // the clean facts are J*(λ) increasing and ‖w*(λ)‖ decreasing.
    let d = heart();
    let mut prev: Option<(f64, f64)> = None;
    for lambda in [1e-4, 1e-3, 1e-2, 1e-1, 1.0] {
        let t = fit(
            &d,
            TrainOptions {
                intercept: false,
                ..opts(lambda)
            },
        );
        let norm = t.model.weights[0].iter().map(|v| v * v).sum::<f64>().sqrt();
        if let Some((j, n)) = prev {
            assert!(t.report.objective > j, "J* must grow with λ");
            assert!(norm < n, "‖w*‖ must shrink with λ");
        }
        prev = Some((t.report.objective, norm));
    }
}

#[test]
fn every_solver_reaches_the_newton_optimum() {
    let d = heart();
    let lambda = 1e-2;
    let best = fit(&d, opts(lambda)).report.objective;
    let cases = [
        (
            "lbfgs",
            TrainOptions {
                solver: SolverChoice::Lbfgs,
                ..opts(lambda)
            },
            1e-9,
        ),
        (
            "gd line search",
            TrainOptions {
                solver: SolverChoice::Gd,
                tol: Some(1e-6),
                ..opts(lambda)
            },
            1e-3,
        ),
        (
            "gd fixed step",
            TrainOptions {
                solver: SolverChoice::Gd,
                tol: Some(1e-6),
                learning_rate: Some(1.0),
                ..opts(lambda)
            },
            1e-3,
        ),
        (
            "saga",
            TrainOptions {
                solver: SolverChoice::Saga,
                tol: Some(1e-8),
                ..opts(lambda)
            },
            1e-9,
        ),
        (
            "saga-newton",
            TrainOptions {
                solver: SolverChoice::SagaNewton,
                ..opts(lambda)
            },
            1e-12,
        ),
        (
            "sgd",
            TrainOptions {
                solver: SolverChoice::Sgd,
                epochs: Some(30),
                learning_rate: Some(0.5),
                seed: 3,
                ..opts(lambda)
            },
            1e-3,
        ),
    ];
    for (name, o, rel) in cases {
        let t = fit(&d, o);
        let gap = (t.report.objective - best) / best;
        assert!(
            (-1e-14..=rel).contains(&gap),
            "{name}: objective {} vs optimum {best} (gap {gap:e})",
            t.report.objective
        );
    }
}

#[test]
fn sgd_is_reproducible_for_a_seed() {
    let d = heart();
    let o = || TrainOptions {
        solver: SolverChoice::Sgd,
        epochs: Some(3),
        seed: 11,
        ..opts(1e-2)
    };
    assert_eq!(fit(&d, o()).model, fit(&d, o()).model);
}

#[test]
fn objective_of_a_model_equals_the_solver_report() {
    let d = heart();
    for model in [ModelKind::Logistic, ModelKind::Softmax] {
        let t = fit(
            &d,
            TrainOptions {
                model: ModelChoice::Kind(model),
                ..opts(1e-3)
            },
        );
        let j = sigmax::train::objective_at(&t.model, &d, 1e-3).unwrap();
        assert!(
            (j - t.report.objective).abs() < 1e-14,
            "{model:?}: {j} vs {}",
            t.report.objective
        );
    }
}

#[test]
fn svm_dual_coordinate_descent_reaches_the_minimum() {
    use sigmax::train::objective_at;
    let d = heart();
    let lambda = 1e-2;
    let svm = |solver| TrainOptions {
        model: ModelChoice::Kind(ModelKind::Svm),
        intercept: false,
        solver,
        lambda: Some(lambda),
        epochs: Some(300),
        learning_rate: Some(0.5),
        // (Dual CD's default is LIBLINEAR's 0.1 on the dual violation; this test checks
        // the minimum itself.)
        tol: Some(1e-6),
        ..TrainOptions::default()
    };
    let dcd = train(&d, &svm(SolverChoice::Auto), None).unwrap();
    assert_eq!(dcd.report.solver, "dual-cd");
    assert!(dcd.report.converged, "{}", dcd.report.stop_reason);
    let j = objective_at(&dcd.model, &d, lambda).unwrap();
    assert!((j - dcd.report.objective).abs() < 1e-14);
    // Better than 300 epochs of SGD on the same objective.
    let sgd = train(&d, &svm(SolverChoice::Sgd), None).unwrap();
    assert!(
        j <= sgd.report.objective,
        "dual-cd {j} vs sgd {}",
        sgd.report.objective
    );
    // A minimum of a convex function: no small move in any direction lowers J (beyond
    // what the 1e-6 tolerance leaves).
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    for _ in 0..200 {
        let dir: Vec<f64> = (0..13).map(|_| rng.random::<f64>() - 0.5).collect();
        for eps in [1e-2, 1e-4] {
            let mut m = dcd.model.clone();
            m.weights[0]
                .iter_mut()
                .zip(&dir)
                .for_each(|(w, v)| *w += eps * v);
            let moved = objective_at(&m, &d, lambda).unwrap();
            assert!(
                moved >= j - 1e-7 * j,
                "J drops from {j} to {moved} along a random direction"
            );
        }
    }
    // With an unregularized intercept (searched in 1-D over the dual's slope): a lower
    // J than without, and no move of b alone or of (w, b) together lowers it.
    let with_bias = TrainOptions {
        intercept: true,
        ..svm(SolverChoice::DualCd)
    };
    let fit = train(&d, &with_bias, None).unwrap();
    assert!(fit.report.converged, "{}", fit.report.stop_reason);
    let jb = objective_at(&fit.model, &d, lambda).unwrap();
    assert!(jb < j, "J with intercept {jb} vs without {j}");
    for eps in [1e-1, 1e-3, -1e-3, -1e-1] {
        let mut m = fit.model.clone();
        m.bias[0] += eps;
        let moved = objective_at(&m, &d, lambda).unwrap();
        assert!(
            moved >= jb - 1e-7 * jb,
            "J drops from {jb} to {moved} at b + {eps}"
        );
    }
    for _ in 0..200 {
        let dir: Vec<f64> = (0..14).map(|_| rng.random::<f64>() - 0.5).collect();
        let mut m = fit.model.clone();
        m.weights[0]
            .iter_mut()
            .zip(&dir)
            .for_each(|(w, v)| *w += 1e-3 * v);
        m.bias[0] += 1e-3 * dir[13];
        let moved = objective_at(&m, &d, lambda).unwrap();
        assert!(moved >= jb - 1e-7 * jb, "J drops from {jb} to {moved}");
    }
    // Logistic regression's dual takes the same intercept search: Newton's optimum.
    let logistic_with_bias = TrainOptions {
        model: ModelChoice::Kind(ModelKind::Logistic),
        tol: Some(1e-10),
        ..with_bias
    };
    let dual = train(&d, &logistic_with_bias, None).unwrap();
    assert_eq!(dual.report.solver, "dual-cd");
    let newton = train(
        &d,
        &TrainOptions {
            solver: SolverChoice::Newton,
            ..logistic_with_bias.clone()
        },
        None,
    )
    .unwrap();
    let gap = (dual.report.objective - newton.report.objective) / newton.report.objective;
    assert!(gap.abs() < 1e-9, "dual-cd with intercept: gap {gap:e}");
    assert!((dual.model.bias[0] - newton.model.bias[0]).abs() < 1e-4);
}

/// n × d rows with correlated columns (x = z·A for a fixed mixing A, so the Hessian is
/// far from diagonal) and labels from a noisy linear rule; deterministic.
fn correlated(n: usize, d: usize, seed: u64) -> Dataset {
    use sigmax::data::DenseMatrix;
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64) - 0.5
    };
    let a: Vec<f64> = (0..d * d)
        .map(|k| {
            if k % (d + 1) == 0 {
                1.0
            } else {
                0.6 * uniform()
            }
        })
        .collect();
    let (mut x, mut y) = (Vec::with_capacity(n * d), Vec::with_capacity(n));
    for _ in 0..n {
        let z: Vec<f64> = (0..d).map(|_| uniform()).collect();
        let row: Vec<f64> = (0..d)
            .map(|j| (0..d).map(|k| z[k] * a[k * d + j]).sum())
            .collect();
        let score: f64 = row
            .iter()
            .enumerate()
            .map(|(j, v)| v * (j as f64 - d as f64 / 2.0))
            .sum::<f64>()
            + uniform();
        y.push((score > 0.0) as u32);
        x.extend(row.iter().map(|&v| v as f32));
    }
    Dataset {
        x: Features::Dense(DenseMatrix::new(n, d, x).unwrap()),
        y,
        classes: vec!["0".into(), "1".into()],
        weights: None,
        feature_names: None,
    }
}

#[test]
fn every_preconditioner_reaches_the_same_optimum() {
    use sigmax::solver::PreconditionerChoice as P;
    // heart_scale: every row is in the sample (the exact Hessian). The correlated set has
    // more rows than the sample, so the preconditioner is an estimate there; sparse
    // storage goes through the densifying gather.
    let big = correlated(12_000, 40, 7);
    let big_sparse = Dataset {
        x: Features::Sparse(big.x.to_sparse()),
        ..big.clone()
    };
    for (name, d, intercept) in [
        ("heart", heart(), true),
        ("correlated", big, false),
        ("correlated sparse", big_sparse, true),
    ] {
        let o = |p| TrainOptions {
            preconditioner: p,
            intercept,
            ..opts(1e-4)
        };
        let diag = fit(&d, o(P::Diagonal)).report;
        let sampled = fit(&d, o(P::SampledHessian)).report;
        let auto = fit(&d, o(P::Auto)).report;
        let jacobi = fit(&d, o(P::Jacobi)).report;
        for other in [&sampled, &jacobi] {
            let gap = (other.objective - diag.objective).abs() / diag.objective;
            assert!(
                gap < 1e-12,
                "{name}: {} vs {} (gap {gap:e})",
                other.objective,
                diag.objective
            );
        }
        assert_eq!(
            auto.hess_vec_products, sampled.hess_vec_products,
            "{name}: auto uses the sampled Hessian"
        );
        assert!(
            sampled.hess_vec_products * 2 <= diag.hess_vec_products,
            "{name}: {} products with the sampled Hessian vs {} with the diagonal",
            sampled.hess_vec_products,
            diag.hess_vec_products
        );
    }
}

#[test]
fn softmax_preconditioners_reach_the_same_optimum() {
    use sigmax::solver::PreconditionerChoice as P;
    let d = sigmax::datasets::blobs(60, &[(0.0, 0.0), (2.0, 0.5), (-1.0, 2.0)], 0.8, 3);
    let objective = |p| {
        fit(
            &d,
            TrainOptions {
                preconditioner: p,
                ..opts(1e-3)
            },
        )
        .report
        .objective
    };
    let best = objective(P::Auto);
    for p in [P::Diagonal, P::Jacobi] {
        let j = objective(p);
        assert!((j - best).abs() < 1e-12 * best, "{p:?}: {j} vs {best}");
    }
}

#[test]
fn an_observer_can_interrupt_every_solver() {
    use std::ops::ControlFlow;
    let d = heart();
    for solver in [
        SolverChoice::Newton,
        SolverChoice::Lbfgs,
        SolverChoice::Gd,
        SolverChoice::Sgd,
        SolverChoice::DualCd,
        SolverChoice::OwlQn,
    ] {
        let opts = TrainOptions {
            solver,
            intercept: solver != SolverChoice::DualCd,
            penalty: if solver == SolverChoice::OwlQn {
                sigmax::train::Penalty::L1
            } else {
                sigmax::train::Penalty::L2
            },
            tol: Some(1e-14),
            ..TrainOptions::default()
        };
        let mut seen = 0;
        let mut stop_at_two = |r: &sigmax::solver::IterRecord| {
            seen = r.iteration;
            if r.iteration >= 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let Err(e) = train(&d, &opts, Some(&mut stop_at_two)) else {
            panic!("{solver}: not interrupted");
        };
        assert!(
            matches!(e, sigmax::Error::Interrupted { iteration: 2 }),
            "{solver}: {e}"
        );
        assert_eq!(seen, 2, "{solver}");
    }
}

/// Dual CD records, each epoch, J at its dual point (weak duality: a lower bound of J*,
/// no pass over the rows) and reports the primal J at the end: the bounds rise to within
/// the tolerance's reach of the primal, never above it.
#[test]
fn dual_cd_records_lower_bounds_that_close_on_the_primal() {
    let d = heart();
    for model in [
        ModelKind::Svm,
        ModelKind::SquaredHingeSvm,
        ModelKind::Logistic,
    ] {
        let t = fit(
            &d,
            TrainOptions {
                model: ModelChoice::Kind(model),
                intercept: false,
                solver: SolverChoice::DualCd,
                tol: Some(1e-8),
                max_iter: Some(100_000),
                ..opts(1e-2)
            },
        );
        assert!(t.report.converged, "{model:?}: {}", t.report.stop_reason);
        let primal = t.report.objective;
        let bounds: Vec<f64> = t.report.history[..t.report.history.len() - 1]
            .iter()
            .map(|r| r.objective)
            .collect();
        assert!(
            bounds.iter().all(|&b| b <= primal * (1.0 + 1e-12)),
            "{model:?}: a bound above the primal {primal}: {bounds:?}"
        );
        let last = *bounds.last().unwrap();
        assert!(
            (primal - last) / primal < 1e-5,
            "{model:?}: gap {} at the end",
            (primal - last) / primal
        );
        assert_eq!(
            t.report.history.last().unwrap().objective,
            primal,
            "{model:?}: the last record is the primal"
        );
    }
}
