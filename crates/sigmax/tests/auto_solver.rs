//! The automatic solver choice (which solver `auto` picks for which data, and that the
//! pick reaches the optimum of the solver it replaces) and what dual CD's defaults reach.

mod common;

use common::{fit, one_against_rest, opts, sparse_text_like, wide_sparse};
use sigmax::data::Dataset;
use sigmax::model::ModelKind;
use sigmax::train::{train, ModelChoice, SolverChoice, TrainOptions};

#[test]
fn auto_takes_saga_then_newton_for_softmax_on_wide_sparse_data_only() {
    let wide = sparse_text_like(sigmax::train::SAGA_MIN_ROWS, 12_000);
    let auto = fit(&wide, opts(1e-3));
    assert_eq!(auto.report.solver, "saga-newton");
    let newton = fit(
        &wide,
        TrainOptions {
            solver: SolverChoice::Newton,
            ..opts(1e-3)
        },
    );
    let (ja, jn) = (auto.report.objective, newton.report.objective);
    assert!((ja - jn).abs() <= 1e-12 * jn, "{ja} vs {jn}");
    let binary = Dataset {
        y: wide.y.iter().map(|&c| u32::from(c == 2)).collect(),
        classes: vec!["0".into(), "1".into()],
        ..wide.clone()
    };
    let tall = Dataset::concat(vec![wide.clone(); 2]).unwrap();
    assert!(tall.n_rows() > tall.n_features());
    let small = wide_sparse();
    assert!(small.n_rows() < small.n_features());
    // (Dense rows of this shape would take 480 MB; the rule asks for sparse rows first.)
    for (name, d) in [("binary", &binary), ("tall", &tall), ("small", &small)] {
        assert_eq!(fit(d, opts(1e-3)).report.solver, "newton", "{name}");
    }
}

/// Sparse binary rows without an intercept, rows ≤ 3 × features, C ≥ 0.5: dual CD, which for
/// logistic regression (no tolerance given) stops on a relative duality gap of 1e-6, a
/// certificate: J within 1e-6 of Newton's optimum. With an intercept, on dense rows, with
/// many rows per feature or with a strong penalty: Newton.
#[test]
fn auto_takes_dual_cd_for_sparse_binary_fits_without_intercept() {
    let wide = one_against_rest(&sparse_text_like(3_000, 3_000));
    for model in [ModelKind::Logistic, ModelKind::SquaredHingeSvm] {
        let no_intercept = TrainOptions {
            model: ModelChoice::Kind(model),
            intercept: false,
            tol: None,
            ..opts(1e-4)
        };
        let auto = fit(&wide, no_intercept.clone());
        assert_eq!(auto.report.solver, "dual-cd", "{model:?}");
        let newton = fit(
            &wide,
            TrainOptions {
                solver: SolverChoice::Newton,
                tol: Some(1e-10),
                ..no_intercept.clone()
            },
        );
        let gap = (auto.report.objective - newton.report.objective) / newton.report.objective;
        assert!(gap > -1e-12, "{model:?}: below the optimum by {gap:e}");
        if model == ModelKind::Logistic {
            assert!(gap <= 1e-6, "logistic: gap {gap:e}");
            assert!(
                auto.report.stop_reason.contains("duality gap"),
                "{}",
                auto.report.stop_reason
            );
        }
        let with_intercept = TrainOptions {
            intercept: true,
            ..no_intercept.clone()
        };
        assert_eq!(fit(&wide, with_intercept).report.solver, "newton");
        let tall = Dataset::concat(vec![wide.clone(); 4]).unwrap();
        assert_eq!(fit(&tall, no_intercept.clone()).report.solver, "newton");
        // C = 1/(λn) = 3.3 above; a strong penalty (C = 0.033) is Newton's.
        let strong = TrainOptions {
            lambda: Some(1e-2),
            ..no_intercept.clone()
        };
        assert_eq!(fit(&wide, strong).report.solver, "newton");
        let dense = Dataset {
            x: sigmax::data::Features::Dense(wide.x.to_dense()),
            ..wide.clone()
        };
        assert_eq!(fit(&dense, no_intercept).report.solver, "newton");
    }
}

/// A tolerance given is LIBLINEAR's test on the dual alone: at 0.1 the gap stays wider
/// than the default's certified 1e-6 on this set, which is why the default checks it.
#[test]
fn a_given_dual_tolerance_is_liblinears_test_alone() {
    let wide = one_against_rest(&sparse_text_like(3_000, 3_000));
    let at = |tol: Option<f64>| {
        let o = TrainOptions {
            intercept: false,
            solver: SolverChoice::DualCd,
            tol,
            ..opts(1e-4)
        };
        train(&wide, &o, None).unwrap().report
    };
    let (loose, certified) = (at(Some(0.1)), at(None));
    assert!(loose.iterations < certified.iterations);
    let wider = (loose.objective - certified.objective) / certified.objective;
    assert!(wider > 1e-6, "LIBLINEAR's 0.1 is within {wider:e} here");
}

/// Dual CD with an unregularized intercept at its default tolerance (LIBLINEAR's 0.1 on
/// the dual's violation): the intercept is still balanced to 1e-3 of Σα, so J lands near
/// Newton's optimum (the squared hinge on the binary text set was 1.5% above it when the
/// balance test took the dual's 0.1 as a share of Σα).
#[test]
fn dual_cd_balances_the_intercept_tighter_than_its_tolerance() {
    let wide = one_against_rest(&sparse_text_like(3_000, 3_000));
    let with_intercept = TrainOptions {
        model: ModelChoice::Kind(ModelKind::SquaredHingeSvm),
        intercept: true,
        tol: None,
        ..opts(1e-4)
    };
    let dual = train(
        &wide,
        &TrainOptions {
            solver: SolverChoice::DualCd,
            ..with_intercept.clone()
        },
        None,
    )
    .unwrap();
    let newton = fit(
        &wide,
        TrainOptions {
            solver: SolverChoice::Newton,
            tol: Some(1e-10),
            ..with_intercept
        },
    );
    let gap = (dual.report.objective - newton.report.objective) / newton.report.objective;
    assert!((-1e-12..1e-3).contains(&gap), "gap {gap:e}");
}

/// Rows without any feature and no intercept: their loss is log 2 whatever w, and their
/// dual variable sits at its optimum C/2 outside the coordinate loop. The certified gap
/// counts their term (C log 2); without it the dual's bound stayed below J* by their
/// share of the loss and the default stop never certified.
#[test]
fn rows_without_features_keep_the_duality_gap_closable() {
    let wide = one_against_rest(&sparse_text_like(3_000, 3_000));
    let sigmax::data::Features::Sparse(m) = &wide.x else {
        unreachable!()
    };
    let (indptr, indices, values) = m.parts();
    // Every tenth row emptied (its entries dropped).
    let (mut ptr, mut idx, mut val) = (vec![0], Vec::new(), Vec::new());
    for i in 0..wide.n_rows() {
        if i % 10 != 0 {
            let span = indptr.span(i);
            idx.extend_from_slice(&indices[span.clone()]);
            val.extend_from_slice(&values[span]);
        }
        ptr.push(idx.len());
    }
    let x = sigmax::data::CsrMatrix::new(m.n_cols(), ptr, idx, val);
    let holed = Dataset {
        x: sigmax::data::Features::Sparse(x),
        ..wide.clone()
    };
    let o = TrainOptions {
        intercept: false,
        solver: SolverChoice::DualCd,
        tol: None,
        ..opts(1e-4)
    };
    let dual = train(&holed, &o, None).unwrap().report;
    assert!(dual.converged, "{}", dual.stop_reason);
    assert!(
        dual.stop_reason.contains("duality gap"),
        "{}",
        dual.stop_reason
    );
    let newton = fit(
        &holed,
        TrainOptions {
            solver: SolverChoice::Newton,
            tol: Some(1e-10),
            ..o
        },
    );
    let gap = (dual.objective - newton.report.objective) / newton.report.objective;
    assert!((-1e-12..=1e-6).contains(&gap), "gap {gap:e}");
}

/// Dual CD's parallel epochs (one replica of w per thread, CoCoA+) on a set large enough
/// for them: with 2 and 3 threads the logistic and squared-hinge duals reach the
/// certified gap, within it of the serial fit's J; the dual objective never falls from
/// one epoch to the next (the method's guarantee); a fit gives the same bits run after
/// run; and its path differs from one thread's (so the parallel epochs ran). The hinge
/// stays serial: the same bits whatever the threads.
#[test]
fn parallel_dual_cd_converges_to_the_serial_optimum_with_the_same_bits_each_run() {
    let big = one_against_rest(&sparse_text_like(160_000, 20_000));
    assert!(big.x.nnz() >= 1 << 20, "{} nonzeros", big.x.nnz());
    for model in [
        ModelKind::Logistic,
        ModelKind::SquaredHingeSvm,
        ModelKind::Svm,
    ] {
        let o = TrainOptions {
            model: ModelChoice::Kind(model),
            intercept: false,
            solver: SolverChoice::DualCd,
            tol: None,
            ..opts(1e-4)
        };
        let in_pool = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| train(&big, &o, None).unwrap())
        };
        let one = in_pool(1);
        for threads in [2, 3] {
            let (a, b) = (in_pool(threads), in_pool(threads));
            let r = &a.report;
            assert!(
                r.converged && r.stop_reason.contains("duality gap"),
                "{model:?} {threads}: {}",
                r.stop_reason
            );
            let (j, j1) = (r.objective, one.report.objective);
            assert!(
                (j - j1).abs() <= 1e-6 * j1,
                "{model:?} {threads}: {j} vs {j1}"
            );
            let duals: Vec<f64> = r.history[..r.history.len() - 1]
                .iter()
                .map(|h| h.objective)
                .collect();
            for pair in duals.windows(2) {
                assert!(
                    pair[1] >= pair[0] - 1e-12 * pair[0].abs(),
                    "{model:?} {threads}: the dual fell, {pair:?}"
                );
            }
            assert_eq!(a.model.weights, b.model.weights, "{model:?} {threads}");
            if model == ModelKind::Svm {
                assert_eq!(a.model.weights, one.model.weights, "{threads}");
            } else {
                assert_ne!(a.model.weights, one.model.weights, "{model:?} {threads}");
            }
        }
    }
}
