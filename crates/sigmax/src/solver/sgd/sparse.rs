//! SGD steps on sparse rows in O(nnz of the batch), not O(dimension).
//!
//! The step w ← (1 − ηλ)w − η·scale·Σ_{i∈B} s_i ℓ'_i ⊗ x_i shrinks every penalized weight
//! but moves only the batch's features. The penalized weights are kept as w = a·v
//! (Shalev-Shwartz, Singer & Srebro, "Pegasos", ICML 2007, §2; Bottou, "Stochastic
//! gradient descent tricks", 2012, §5.1): the shrink is a ← a(1 − ηλ), the move
//! v ← v − (η/a)·(…) on the batch's features; intercepts (not penalized) are kept as they
//! are. `v` lives in the caller's weight vector and is folded back (v ← a·v, a ← 1) at the
//! end of each epoch, or sooner if |a| gets tiny.
//!
//! Suffix averaging without touching every weight each step: with c_t = Σ_{τ≤t} a_τ over
//! the averaged steps, Σ_τ a_τ v_τ = c_t·v_t − r_t, where r gathers c_{s−1}·δ_s for every
//! move δ_s of v at step s (Xu, "Towards optimal one pass large scale learning with
//! averaged stochastic gradient descent", 2011, §4, in this form). So each move also
//! adds c·δ to r, and the average is (c·v − r)/T. Folding keeps it: r ← r − c·v, c ← 0.

use super::Step;
use crate::error::{Error, Result};
use crate::objective::RowsView;

/// |a| below this is folded into v before it loses range (a shrinks by 1 − ηλ a step).
const FOLD_BELOW: f64 = 1e-100;
/// While averaging, sooner: c·v − r cancels to the average's size from terms 1/|a| times
/// larger, so its relative error is ~ε/|a| (at 1e-100 the average of a toy run with
/// ηλ = 0.9 came out at 1e82). Folds cost O(dimension); at ηλ ≤ 1e-3 they come at most
/// every 13,800 steps.
const AVERAGING_FOLD_BELOW: f64 = 1e-6;

pub(super) struct SparseSteps {
    /// Outputs per row (K for softmax, 1 for a binary model), features per output.
    k: usize,
    d: usize,
    lambda: f64,
    /// The penalized weights are a·v (v stored in the caller's w).
    a: f64,
    /// Scores, then their weighted score gradients, of the batch's rows (row-major, K each).
    coef: Vec<f64>,
    /// The averaged steps so far, Σ a over them, the corrections r (penalized weights)
    /// and the running mean of the intercepts.
    averaged: f64,
    c: f64,
    r: Vec<f64>,
    intercept_avg: Vec<f64>,
    /// The average, materialized by `settle`.
    avg: Vec<f64>,
}

impl SparseSteps {
    pub(super) fn new(view: &RowsView) -> SparseSteps {
        SparseSteps {
            k: view.outputs,
            d: view.x.n_cols(),
            lambda: view.erm.lambda(),
            a: 1.0,
            coef: Vec::new(),
            averaged: 0.0,
            c: 0.0,
            r: Vec::new(),
            intercept_avg: Vec::new(),
            avg: Vec::new(),
        }
    }

    /// The penalized parameters: K·d weights (the intercepts follow them).
    fn penalized(&self) -> usize {
        self.k * self.d
    }

    pub(super) fn step(&mut self, view: &RowsView, w: &mut [f64], s: &Step) -> Result<()> {
        let (k, d, p) = (self.k, self.d, self.penalized());
        let (x, erm) = (view.x, view.erm);
        let scale = erm.batch_scale(s.batch.len());
        // Score gradients at the current w, for every row of the batch first.
        self.coef.resize(s.batch.len() * k, 0.0);
        for (&i, c) in s.batch.iter().zip(self.coef.chunks_mut(k)) {
            let row = x.row(i);
            for (j, cj) in c.iter_mut().enumerate() {
                let b = if view.intercept { w[p + j] } else { 0.0 };
                *cj = self.a * row.dot(&w[j * d..(j + 1) * d]) + b;
            }
            if let Some(bad) = c.iter().find(|v| !v.is_finite()) {
                return Err(Error::Diverged {
                    iteration: s.epoch,
                    objective: *bad,
                    advice: "the scores overflow; try a smaller learning rate",
                });
            }
            view.loss.score_gradient(i, c);
            let weight = scale * erm.weight(i);
            c.iter_mut().for_each(|v| *v *= weight);
        }
        if s.averaging && self.r.is_empty() {
            self.r = vec![0.0; p];
            self.intercept_avg = vec![0.0; w.len() - p];
        }
        self.a *= 1.0 - s.eta * self.lambda;
        let fold_below = if s.averaging {
            AVERAGING_FOLD_BELOW
        } else {
            FOLD_BELOW
        };
        if !(self.a.abs() >= fold_below) {
            self.fold(w);
        }
        // Moves of v; each also adds c_{t−1}·δ to r while averaging.
        let (move_scale, c_before) = (-s.eta / self.a, self.c);
        for (&i, c) in s.batch.iter().zip(self.coef.chunks(k)) {
            let row = x.row(i);
            for (j, &cj) in c.iter().enumerate() {
                if cj == 0.0 {
                    continue;
                }
                let m = move_scale * cj;
                let (vj, off) = (&mut w[j * d..(j + 1) * d], j * d);
                if s.averaging {
                    let r = &mut self.r;
                    row.for_each(|l, xl| {
                        let delta = m * xl;
                        vj[l] += delta;
                        r[off + l] += c_before * delta;
                    });
                } else {
                    row.for_each(|l, xl| vj[l] += m * xl);
                }
            }
        }
        if view.intercept {
            for j in 0..k {
                let sum: f64 = self.coef.chunks(k).map(|c| c[j]).sum();
                w[p + j] -= s.eta * sum;
            }
        }
        if s.averaging {
            self.c += self.a;
            self.averaged += 1.0;
            let n = self.averaged;
            for (m, &b) in self.intercept_avg.iter_mut().zip(&w[p..]) {
                *m += (b - *m) / n;
            }
        }
        Ok(())
    }

    /// v ← a·v, a ← 1, keeping the average's sum c·v − r.
    fn fold(&mut self, w: &mut [f64]) {
        let p = self.penalized();
        if !self.r.is_empty() {
            let c = self.c;
            self.r
                .iter_mut()
                .zip(&w[..p])
                .for_each(|(r, v)| *r -= c * v);
            self.c = 0.0;
        }
        let a = self.a;
        w[..p].iter_mut().for_each(|v| *v *= a);
        self.a = 1.0;
    }

    /// Makes `w` the current iterate; the average, once averaging has begun.
    pub(super) fn settle(&mut self, w: &mut [f64]) -> Option<&[f64]> {
        self.fold(w);
        if self.averaged == 0.0 {
            return None;
        }
        let p = self.penalized();
        self.avg.resize(w.len(), 0.0);
        // After the fold c = 0, so the sum of the averaged iterates is −r.
        let inv = 1.0 / self.averaged;
        for (m, r) in self.avg[..p].iter_mut().zip(&self.r) {
            *m = -r * inv;
        }
        self.avg[p..].copy_from_slice(&self.intercept_avg);
        Some(&self.avg)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{LearningRateSchedule, Sgd};
    use crate::data::Features;
    use crate::error::Error;
    use crate::loss::BinaryLoss;
    use crate::objective::testing::sparse_toy;
    use crate::objective::{BinaryObjective, ErmObjective, Objective, SoftmaxObjective};
    use crate::solver::StopRule;

    fn sgd(learning_rate: f64, batch_size: usize, averaging: bool, inverse: bool) -> Sgd {
        Sgd {
            stop: StopRule {
                tol: 0.0,
                max_iter: 4,
            },
            learning_rate,
            schedule: if inverse {
                LearningRateSchedule::InverseTime { lambda: 0.05 }
            } else {
                LearningRateSchedule::Constant
            },
            batch_size,
            seed: 7,
            averaging,
        }
    }

    /// The objectives the sparse steps serve, on the toy rows `x`.
    fn objectives<'a>(
        x: &'a Features,
        y: &'a [u32],
        positive: &'a [bool],
        weights: &'a [f64],
        lambda: f64,
    ) -> Vec<(String, Box<dyn Objective + 'a>)> {
        let mut out: Vec<(String, Box<dyn Objective + 'a>)> = Vec::new();
        for intercept in [false, true] {
            let s = SoftmaxObjective::new(x, y, 4, lambda, intercept).unwrap();
            out.push((format!("softmax {intercept}"), Box::new(s)));
            let s = SoftmaxObjective::new(x, y, 4, lambda, intercept)
                .unwrap()
                .with_sample_weights(weights)
                .unwrap();
            out.push((format!("weighted softmax {intercept}"), Box::new(s)));
            for loss in [
                BinaryLoss::Logistic,
                BinaryLoss::Hinge,
                BinaryLoss::SquaredHinge,
            ] {
                let b =
                    BinaryObjective::new(x, positive.to_vec(), loss, lambda, intercept).unwrap();
                out.push((format!("{loss:?} {intercept}"), Box::new(b)));
            }
        }
        out
    }

    fn fit(obj: &mut dyn Objective, sgd: &Sgd) -> crate::Result<Vec<f64>> {
        let mut w = vec![0.0; obj.dim()];
        sgd.minimize(obj, &mut w, None)?;
        Ok(w)
    }

    /// The lazy steps on sparse rows against the plain steps on the same rows stored
    /// dense, from the same row order: the same iterates up to rounding.
    fn assert_sparse_matches_dense(lambda: f64, sgd: &Sgd, rel: f64) {
        let (sparse, y, weights) = sparse_toy();
        let dense = Features::Dense(sparse.to_dense());
        let positive: Vec<bool> = y.iter().map(|&c| c % 2 == 1).collect();
        let by_sparse = objectives(&sparse, &y, &positive, &weights, lambda);
        let by_dense = objectives(&dense, &y, &positive, &weights, lambda);
        for ((name, mut s), (_, mut d)) in by_sparse.into_iter().zip(by_dense) {
            let ws = fit(s.as_mut(), sgd).unwrap_or_else(|e| panic!("{name} sparse: {e}"));
            let wd = fit(d.as_mut(), sgd).unwrap_or_else(|e| panic!("{name} dense: {e}"));
            let scale = wd.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let err = ws
                .iter()
                .zip(&wd)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(scale > 0.0, "{name}: the fit moved");
            assert!(
                err <= rel * scale,
                "{name}: {sgd:?}: max diff {err:e}, scale {scale:e}"
            );
        }
    }

    #[test]
    fn sparse_steps_give_the_dense_steps_numbers() {
        for (batch, averaging, inverse) in [(1, true, false), (7, false, true), (60, true, true)] {
            assert_sparse_matches_dense(0.05, &sgd(0.01, batch, averaging, inverse), 1e-11);
        }
    }

    #[test]
    fn a_vanishing_weight_scale_is_folded_without_changing_the_steps() {
        // ηλ = 0.9: a shrinks tenfold a step and is folded every ~100 steps (every 6
        // within averaged epochs); ηλ = 1: a = 0 at every step (w = −η·ĝ), folded at once.
        assert_sparse_matches_dense(90.0, &sgd(0.01, 1, true, false), 1e-9);
        assert_sparse_matches_dense(100.0, &sgd(0.01, 2, true, false), 1e-11);
    }

    #[test]
    fn an_overflowing_run_is_reported_not_kept() {
        let (x, y, _) = sparse_toy();
        let positive: Vec<bool> = y.iter().map(|&c| c % 2 == 1).collect();
        let mut obj = BinaryObjective::new(&x, positive, BinaryLoss::Logistic, 1.0, false).unwrap();
        // ηλ = 1e6: a = (1 − 1e6)^t overflows within the first epoch.
        match fit(&mut obj, &sgd(1e6, 1, false, false)) {
            Err(Error::Diverged { advice, .. }) => assert!(advice.contains("smaller"), "{advice}"),
            other => panic!("expected a divergence error, got {other:?}"),
        }
    }
}
