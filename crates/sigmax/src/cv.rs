//! Choosing λ: K-fold cross-validation over a λ grid, each fold walking the grid from
//! the largest λ down with warm starts (the previous solution is a good start for the
//! next, smaller λ, as in LIBLINEAR's `-C` search; Chu et al., "Warm start for parameter
//! selection of linear classifiers", KDD 2015).

use crate::collective::{Collective, Reducing};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::fit::Settings;
use crate::metrics::{weighted_accuracy, weighted_log_loss};
use crate::objective::{LocalReducer, Reducer};
use crate::train::{train_over, TrainOptions};
use serde::Serialize;

/// Cross-validated scores of one λ.
#[derive(Debug, Clone, Serialize)]
pub struct CvRow {
    pub lambda: f64,
    /// Mean validation accuracy over folds.
    pub accuracy: f64,
    /// Mean validation log loss over folds (NaN for models without probabilities).
    pub log_loss: f64,
    /// Solver iterations summed over folds.
    pub iterations: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CvReport {
    pub folds: usize,
    /// Rows in the order of decreasing λ.
    pub rows: Vec<CvRow>,
    /// Index into `rows` of the best λ: lowest log loss (highest accuracy when the model
    /// has no probabilities).
    pub best: usize,
}

/// `n` values log-spaced from `hi` down to `lo`.
pub fn lambda_grid(hi: f64, lo: f64, n: usize) -> Vec<f64> {
    if n <= 1 {
        // n = 0 is an empty grid, which cross_validate refuses, naming it.
        return vec![hi; n];
    }
    (0..n)
        .map(|i| hi * (lo / hi).powf(i as f64 / (n - 1) as f64))
        .collect()
}

/// Stratified K-fold CV of `settings` for each λ in `lambdas`, on one process
/// ([`Alone`](crate::collective::Alone)) or on rows spread over several: then each
/// process deals its own rows into the folds (stratified, seeded by `seed` and nothing
/// else, so every process must pass its own seed, e.g. `seed + rank`, for the folds not
/// to repeat one pattern), fold k of the whole is the union of the processes' fold k,
/// every fit is distributed (see [`crate::fit::fit`]), and the scores are weighted means
/// over all validation rows.
pub fn cross_validate(
    data: &Dataset,
    settings: &Settings,
    lambdas: &[f64],
    folds: usize,
    seed: u64,
    collective: &dyn Collective,
) -> Result<CvReport> {
    if collective.is_alone() {
        return cross_validate_over(data, settings, lambdas, folds, seed, &LocalReducer);
    }
    let reducing = Reducing::new(collective);
    let report = settings
        .spread(data, &reducing)
        .and_then(|s| cross_validate_over(data, &s, lambdas, folds, seed, &reducing));
    match reducing.failure() {
        Some(e) => Err(e),
        None => report,
    }
}

fn cross_validate_over(
    data: &Dataset,
    settings: &Settings,
    lambdas: &[f64],
    folds: usize,
    seed: u64,
    reducer: &dyn Reducer,
) -> Result<CvReport> {
    let mut n = [data.n_rows() as f64];
    reducer.sum(&mut n);
    if folds < 2 || folds as f64 > n[0] {
        return Err(Error::InvalidParameter {
            name: "cv",
            value: folds.to_string(),
            expected: "between 2 and the number of rows",
        });
    }
    if lambdas.is_empty() {
        return Err(Error::InvalidParameter {
            name: "lambdas",
            value: "[]".into(),
            expected: "at least one λ",
        });
    }
    let mut grid = lambdas.to_vec();
    grid.sort_by(|a, b| b.total_cmp(a));
    let fold_of = fold_assignment(data, folds, seed);
    let mut acc = vec![0.0; grid.len()];
    let mut ll = vec![0.0; grid.len()];
    let mut iters = vec![0; grid.len()];
    for f in 0..folds {
        let train_rows: Vec<usize> = (0..data.n_rows()).filter(|&i| fold_of[i] != f).collect();
        let val_rows: Vec<usize> = (0..data.n_rows()).filter(|&i| fold_of[i] == f).collect();
        let (tr, va) = (data.select(&train_rows), data.select(&val_rows));
        let mut warm: Option<Vec<f64>> = None;
        for (g, &lambda) in grid.iter().enumerate() {
            let o = TrainOptions {
                lambda: Some(lambda),
                // The grid states λ; a C given with it is replaced, not combined.
                c: None,
                warm_start: warm.take(),
                ..settings.options().clone()
            }
            .check()?;
            let fit = train_over(&tr, o.options(), None, reducer)?;
            let m = &fit.model;
            // Validation scores weigh rows by their sample weights (class weights shape
            // the fit only, as in scikit-learn's scorers); summed over the processes as
            // (mean × weight, weight).
            let vw = va.weights.as_deref();
            let w = crate::data::weight_sum(vw, va.n_rows());
            let mut sums = if w > 0.0 {
                let a = weighted_accuracy(&va.y, &m.predict(&va.x), vw);
                let l = m
                    .predict_proba(&va.x)
                    .map(|p| weighted_log_loss(&va.y, &p, m.n_classes(), vw))
                    .unwrap_or(f64::NAN);
                [a * w, l * w, w]
            } else {
                [
                    0.0,
                    if m.predict_proba(&va.x).is_ok() {
                        0.0
                    } else {
                        f64::NAN
                    },
                    0.0,
                ]
            };
            reducer.sum(&mut sums);
            acc[g] += sums[0] / sums[2] / folds as f64;
            ll[g] += sums[1] / sums[2] / folds as f64;
            iters[g] += fit.report.iterations;
            warm = Some(m.flat_params());
        }
    }
    let rows: Vec<CvRow> = (0..grid.len())
        .map(|g| CvRow {
            lambda: grid[g],
            accuracy: acc[g],
            log_loss: ll[g],
            iterations: iters[g],
        })
        .collect();
    let best = if rows.iter().all(|r| r.log_loss.is_finite()) {
        (0..rows.len())
            .min_by(|&a, &b| rows[a].log_loss.total_cmp(&rows[b].log_loss))
            .unwrap()
    } else {
        (0..rows.len())
            .max_by(|&a, &b| rows[a].accuracy.total_cmp(&rows[b].accuracy))
            .unwrap()
    };
    Ok(CvReport { folds, rows, best })
}

/// Fold of each row: classes dealt round-robin after a seeded shuffle (stratified).
fn fold_assignment(data: &Dataset, folds: usize, seed: u64) -> Vec<usize> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut fold = vec![0; data.n_rows()];
    let mut k = 0;
    for c in 0..data.classes.len() as u32 {
        let mut rows: Vec<usize> = (0..data.n_rows()).filter(|&i| data.y[i] == c).collect();
        rows.shuffle(&mut rng);
        for i in rows {
            fold[i] = k % folds;
            k += 1;
        }
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collective::Alone;
    use crate::datasets::heart_scale;
    use crate::train::train;

    #[test]
    fn warm_started_path_reaches_the_cold_optima_in_fewer_iterations() {
        let d = heart_scale();
        let grid = lambda_grid(1.0, 1e-4, 9);
        let opts = TrainOptions {
            tol: Some(1e-8),
            ..TrainOptions::default()
        };
        let (mut warm, mut cold_iters, mut warm_iters) = (None::<Vec<f64>>, 0, 0);
        for &l in &grid {
            let cold = train(
                &d,
                &TrainOptions {
                    lambda: Some(l),
                    ..opts.clone()
                },
                None,
            )
            .unwrap();
            let hot = train(
                &d,
                &TrainOptions {
                    lambda: Some(l),
                    warm_start: warm.take(),
                    ..opts.clone()
                },
                None,
            )
            .unwrap();
            assert!(
                (cold.report.objective - hot.report.objective).abs()
                    <= 1e-10 * cold.report.objective
            );
            cold_iters += cold.report.iterations;
            warm_iters += hot.report.iterations;
            warm = Some(hot.model.flat_params());
        }
        assert!(
            warm_iters < cold_iters,
            "warm {warm_iters} vs cold {cold_iters}"
        );
    }

    #[test]
    fn cross_validation_picks_a_sensible_lambda() {
        let d = heart_scale();
        let grid = lambda_grid(10.0, 1e-5, 7);
        let r = cross_validate(&d, &Settings::default(), &grid, 5, 1, &Alone).unwrap();
        assert_eq!(r.rows.len(), 7);
        assert!(r.rows.windows(2).all(|w| w[0].lambda > w[1].lambda));
        let best = &r.rows[r.best];
        // Heavy regularization (λ = 10) is clearly worse than the best.
        assert!(best.lambda < 10.0 && best.log_loss < r.rows[0].log_loss);
        assert!(best.accuracy > 0.8, "{best:?}");
        // Folds are stratified and cover every row once.
        let f = fold_assignment(&d, 5, 1);
        for k in 0..5 {
            let n = f.iter().filter(|&&x| x == k).count();
            assert!((53..=55).contains(&n));
        }
        assert!(cross_validate(&d, &Settings::default(), &grid, 1, 1, &Alone).is_err());
    }
}
