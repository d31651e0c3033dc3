//! Binary linear models: J(w, b) = (1/n) Σ_i ℓ(w·x_i + b, t_i) + λ/2‖w‖².
//!
//! With ℓ the logistic loss log(1 + e^{−y z}) this is L2-regularized logistic regression,
//! P(y = +1 | x) = g(w·x + b); with the hinge loss it is the linear SVM. Parameters are
//! laid out as [w_0 … w_{d−1}, b] (b only with an intercept; never regularized).
//! Gradient (1/n) Xᵀ ℓ'(z) + λw; Hessian (1/n) Xᵀ D X + λI with D = diag ℓ''(z)
//! (Lin, Weng & Keerthi, "Trust region Newton method for large-scale logistic
//! regression", JMLR 2008, §2).

mod columns;

use super::erm::{Erm, ErmObjective, L1Penalty};
use super::sampled_hessian::RowSample;
use super::{BinaryView, FiniteSum, HessianSample, Objective, RowLoss, RowsView};
use crate::data::{ColumnPasses, Features};
use crate::error::{Error, Result};
use crate::loss::BinaryLoss;
use crate::sum::{par_row_reduce, par_row_reduce_mut};
use std::sync::Mutex;

pub struct BinaryObjective<'a> {
    x: &'a Features,
    /// true = positive class.
    t: Vec<bool>,
    loss: BinaryLoss,
    erm: Erm<'a>,
    intercept: bool,
    d: usize,
    /// s_i ℓ''(z_i) at the last `value_grad` point.
    curvature: Vec<f64>,
    /// Whether `curvature` holds the curvature (a smooth loss after a `value_grad`);
    /// not its emptiness: a process's share of the rows may be empty.
    has_curvature: bool,
    /// Whether the passes go over sparse data's column copy ([`columns_pay`](crate::data::columns_pay)).
    column_passes: ColumnPasses<'a>,
    /// The per-row coefficients of a pass over columns, reused from pass to pass.
    coef: Mutex<Vec<f64>>,
}

impl<'a> BinaryObjective<'a> {
    /// `positive[i]` says whether row i is in the positive class; λ is the L2 strength.
    pub fn new(
        x: &'a Features,
        positive: Vec<bool>,
        loss: BinaryLoss,
        lambda: f64,
        intercept: bool,
    ) -> Result<Self> {
        if x.n_rows() != positive.len() {
            return Err(Error::Shape {
                what: "labels (one per row)",
                expected: x.n_rows(),
                got: positive.len(),
            });
        }
        let d = x.n_cols();
        Ok(BinaryObjective {
            x,
            erm: Erm::new(positive.len(), d, d + intercept as usize, lambda)?,
            t: positive,
            loss,
            intercept,
            d,
            curvature: Vec::new(),
            has_curvature: false,
            column_passes: ColumnPasses::by_cost(x, 1, d),
            coef: Mutex::default(),
        })
    }

    /// Whether passes over sparse data go over its column copy (the default follows
    /// [`columns_pay`](crate::data::columns_pay), from the nonzeros of every process; dense data always goes over
    /// rows). Both give the same numbers up to rounding; this is for tests and
    /// measurements.
    pub fn with_column_passes(mut self, on: bool) -> Self {
        self.column_passes = ColumnPasses::new(self.x, on);
        self
    }

    /// The shared weighted-ERM part (weights, S, λ).
    pub fn erm(&self) -> &Erm<'a> {
        &self.erm
    }

    /// Rows' classes (true = positive).
    pub fn positive(&self) -> &[bool] {
        &self.t
    }

    pub fn features(&self) -> &'a Features {
        self.x
    }

    pub fn loss(&self) -> BinaryLoss {
        self.loss
    }

    fn bias(&self, w: &[f64]) -> f64 {
        if self.intercept {
            w[self.d]
        } else {
            0.0
        }
    }
}

impl<'a> ErmObjective<'a> for BinaryObjective<'a> {
    fn erm_mut(&mut self) -> &mut Erm<'a> {
        &mut self.erm
    }

    fn reducer_set(&mut self) {
        let nnz = self.erm.global_count(self.x.nnz());
        self.column_passes.decide_by_total(nnz);
    }
}

impl Objective for BinaryObjective<'_> {
    fn dim(&self) -> usize {
        self.erm.dim()
    }

    fn value(&mut self, w: &[f64]) -> f64 {
        let (wd, b, loss) = (&w[..self.d], self.bias(w), self.loss);
        let blocks = self.erm.row_blocks();
        let acc = par_row_reduce(self.t.len(), blocks, 1, |rows, acc| {
            for i in rows {
                acc[0] += self.erm.weight(i) * loss.value(self.x.row(i).dot(wd) + b, self.t[i]);
            }
        });
        self.erm.value(self.erm.reduce(acc)[0], w)
    }

    /// One fused pass over the data: z_i = x_i·w + b, the loss, s_i ℓ'(z_i)·x_i
    /// accumulated into the gradient and s_i ℓ''(z_i) stored for Hessian-vector products.
    fn value_grad(&mut self, w: &[f64], grad: &mut [f64]) -> f64 {
        if let Some(cols) = self.column_passes.get() {
            return self.value_grad_over_columns(cols, w, grad);
        }
        let (d, b, loss) = (self.d, self.bias(w), self.loss);
        let wd = &w[..d];
        let smooth = loss.is_smooth();
        let mut curvature = std::mem::take(&mut self.curvature);
        curvature.resize(self.t.len(), 0.0);
        let (x, t, erm) = (self.x, &self.t, &self.erm);
        let blocks = erm.row_blocks();
        let mut acc = par_row_reduce_mut(&mut curvature, blocks, d + 2, |start, rows, acc| {
            let (acc_w, sums) = acc.split_at_mut(d);
            x.dot_then_axpy(start..start + rows.len(), wd, acc_w, |i, z| {
                let (value, c, curvature) = loss.all(z + b, t[i]);
                let s = erm.weight(i);
                sums[0] += s * c;
                sums[1] += s * value;
                rows[i - start] = s * curvature;
                s * c
            });
        });
        // [parameter sums (d, then Σ s_i ℓ' for the intercept), the loss]
        let loss = acc.split_off(d + 1);
        let (params, loss) = self.erm.reduce_pass(acc, loss);
        self.erm.finish(&params, w, grad);
        self.curvature = if smooth { curvature } else { Vec::new() };
        self.has_curvature = smooth;
        self.erm.value(loss[0], w)
    }

    /// One fused pass: Σ_i s_i ℓ''(z_i)(x_i·v + v_b) x_i, then /S + λv.
    fn hess_vec(&self, v: &[f64], out: &mut [f64]) -> bool {
        if !self.has_curvature {
            return false;
        }
        if let Some(cols) = self.column_passes.get() {
            self.hess_vec_over_columns(cols, v, out);
            return true;
        }
        let (d, vb) = (self.d, self.bias(v));
        let vd = &v[..d];
        let blocks = self.erm.row_blocks();
        let acc = par_row_reduce(self.t.len(), blocks, d + 1, |rows, acc| {
            let (acc_w, sum) = acc.split_at_mut(d);
            self.x.dot_then_axpy(rows, vd, acc_w, |i, z| {
                let u = self.curvature[i] * (z + vb);
                sum[0] += u;
                u
            });
        });
        let acc = self.erm.reduce_params(acc);
        self.erm.finish(&acc, v, out);
        true
    }

    /// (1/S) Σ_i s_i ℓ''(z_i) x_ij² + λ, and (1/S) Σ_i s_i ℓ''(z_i) for the intercept.
    fn hess_diag(&self, out: &mut [f64]) -> bool {
        if !self.has_curvature {
            return false;
        }
        if let Some(cols) = self.column_passes.get() {
            self.hess_diag_over_columns(cols, out);
            return true;
        }
        let d = self.d;
        let blocks = self.erm.row_blocks();
        let acc = par_row_reduce(self.t.len(), blocks, d + 1, |rows, acc| {
            for i in rows {
                let c = self.curvature[i];
                // c·(x²) as the pass over columns computes it, for the same bits.
                self.x.row(i).for_each(|j, v| acc[j] += c * (v * v));
                acc[d] += c;
            }
        });
        let acc = self.erm.reduce_params(acc);
        self.erm.finish_diag(&acc, out);
        true
    }

    /// Jacobi. On the 500k × 177k sparse benchmark set (power-law feature frequencies, so
    /// the diagonal spans orders of magnitude) Newton to tol 1e-6 needed 18
    /// Hessian-vector products with it against 119 with α = 0.01. Models small enough for
    /// the sampled Hessian use that instead.
    fn diagonal_weight(&self) -> f64 {
        1.0
    }

    /// (1/s) Σ s_i ℓ''(z_i) \[x_i,1\]\[x_i,1\]ᵀ·(n/S) + λI on s rows, over all parameters.
    fn sampled_hessian(&self, req: &HessianSample) -> Option<Vec<f64>> {
        let dim = self.dim();
        if !self.has_curvature || dim * dim > req.max_entries {
            return None;
        }
        let sample = RowSample::draw(self.x, self.intercept, req);
        let scale = self.erm.sample_scale();
        let c: Vec<f64> = sample
            .rows
            .iter()
            .map(|&i| self.curvature[i] * scale)
            .collect();
        Some(sample.hessian(&c, self.erm.lambda(), self.d))
    }

    fn l1_penalty(&self) -> L1Penalty {
        self.erm.l1()
    }

    fn is_smooth(&self) -> bool {
        self.loss.is_smooth()
    }

    fn as_finite_sum(&mut self) -> Option<&mut dyn FiniteSum> {
        Some(self)
    }

    fn rows_view(&self) -> Option<RowsView<'_>> {
        Some(RowsView {
            x: self.x,
            outputs: 1,
            intercept: self.intercept,
            erm: &self.erm,
            curvature_bound: self.curvature_bound(),
            loss: self,
        })
    }

    fn binary_view(&self) -> Option<BinaryView<'_>> {
        Some(BinaryView {
            x: self.x,
            positive: &self.t,
            loss: self.loss,
            intercept: self.intercept,
            erm: &self.erm,
            l1: self.erm.l1(),
        })
    }
}

impl BinaryObjective<'_> {
    /// sup ℓ''(z): the smoothness constant per unit of ‖x‖² (`None`: unbounded, or no
    /// second derivative).
    fn curvature_bound(&self) -> Option<f64> {
        match self.loss {
            BinaryLoss::Logistic | BinaryLoss::CrossEntropy => Some(0.25),
            BinaryLoss::SquaredHinge => Some(2.0),
            BinaryLoss::Hinge | BinaryLoss::Exponential => None,
        }
    }
}

impl RowLoss for BinaryObjective<'_> {
    fn score_gradient(&self, i: usize, scores: &mut [f64]) {
        scores[0] = self.loss.d1(scores[0], self.t[i]);
    }
}

impl FiniteSum for BinaryObjective<'_> {
    fn n_samples(&self) -> usize {
        self.t.len()
    }

    fn batch_value_grad(&self, w: &[f64], batch: &[usize], grad: &mut [f64]) -> f64 {
        let (d, b, dim) = (self.d, self.bias(w), self.dim());
        let blocks = crate::sum::RowBlocks::new(batch.len());
        let acc = par_row_reduce(batch.len(), blocks, dim + 1, |range, acc| {
            for &i in &batch[range] {
                let row = self.x.row(i);
                let z = row.dot(&w[..d]) + b;
                let s = self.erm.weight(i);
                let c = s * self.loss.d1(z, self.t[i]);
                row.axpy(c, &mut acc[..d]);
                if self.intercept {
                    acc[d] += c;
                }
                acc[dim] += s * self.loss.value(z, self.t[i]);
            }
        });
        let acc = acc.local_values();
        self.erm.finish_batch(acc[dim], &acc, batch.len(), w, grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DenseMatrix;
    use crate::objective::testing::{assert_columns_match_rows, check_gradient, check_hess_vec};
    use crate::objective::HessianSample;

    pub(crate) fn toy() -> (Features, Vec<bool>) {
        let x = DenseMatrix::new(
            6,
            3,
            vec![
                1.0, 0.5, -1.0, 0.2, -0.3, 0.0, -1.0, 2.0, 0.5, 0.0, 0.0, 1.5, 3.0, -1.0, 0.2,
                -0.7, 0.1, 0.9,
            ],
        )
        .unwrap();
        (
            Features::Dense(x),
            vec![true, false, true, false, true, false],
        )
    }

    #[test]
    fn passes_over_columns_give_the_numbers_of_passes_over_rows() {
        let (x, classes, weights) = crate::objective::softmax::tests::sparse_toy();
        let positive: Vec<bool> = classes.iter().map(|&c| c % 2 == 1).collect();
        for intercept in [false, true] {
            for weighted in [false, true] {
                assert_columns_match_rows(|over_columns| {
                    let obj = BinaryObjective::new(
                        &x,
                        positive.clone(),
                        BinaryLoss::Logistic,
                        0.01,
                        intercept,
                    )
                    .unwrap();
                    let obj = if weighted {
                        obj.with_sample_weights(&weights).unwrap()
                    } else {
                        obj
                    }
                    .with_column_passes(over_columns);
                    assert_eq!(obj.column_passes.get().is_some(), over_columns);
                    Box::new(obj)
                });
            }
        }
    }

    #[test]
    fn gradients_and_hessians_match_finite_differences() {
        let (x, t) = toy();
        let sparse = Features::Sparse(x.to_sparse());
        let w = [0.3, -0.2, 0.5, 0.1];
        let v = [0.7, 0.1, -0.4, 0.3];
        for loss in [
            BinaryLoss::Logistic,
            BinaryLoss::CrossEntropy,
            BinaryLoss::Exponential,
            BinaryLoss::Hinge,
            BinaryLoss::SquaredHinge,
        ] {
            for intercept in [false, true] {
                for feats in [&x, &sparse] {
                    let mut obj =
                        BinaryObjective::new(feats, t.clone(), loss, 0.1, intercept).unwrap();
                    let m = obj.dim();
                    check_gradient(&mut obj, &w[..m], 1e-6);
                    if loss.is_smooth() {
                        check_hess_vec(&mut obj, &w[..m], &v[..m], 1e-6);
                    } else {
                        assert!(!obj.hess_vec(&v[..m], &mut [0.0; 4][..m]));
                    }
                }
            }
        }
    }

    #[test]
    fn sampled_hessian_of_all_rows_is_the_hessian() {
        let (x, t) = toy();
        let sparse = Features::Sparse(x.to_sparse());
        let w = [0.3, -0.2, 0.5, 0.1];
        let v = [0.7, 0.1, -0.4, 0.3];
        let all = HessianSample {
            max_rows: 100,
            max_entries: 100,
            seed: 1,
        };
        for intercept in [false, true] {
            for feats in [&x, &sparse] {
                let mut obj =
                    BinaryObjective::new(feats, t.clone(), BinaryLoss::Logistic, 0.1, intercept)
                        .unwrap();
                let m = obj.dim();
                assert!(
                    obj.sampled_hessian(&all).is_none(),
                    "no curvature before value_grad"
                );
                obj.value_grad(&w[..m], &mut [0.0; 4][..m]);
                let h = obj.sampled_hessian(&all).unwrap();
                assert_eq!(h.len(), m * m, "one matrix over all parameters");
                let mut hv = [0.0; 4];
                obj.hess_vec(&v[..m], &mut hv[..m]);
                for p in 0..m {
                    let row: f64 = (0..m).map(|q| h[p * m + q] * v[q]).sum();
                    assert!(
                        (row - hv[p]).abs() < 1e-6,
                        "(Hv)[{p}]: sampled {row} vs hess_vec {}",
                        hv[p]
                    );
                }
                let tiny = HessianSample {
                    max_entries: m * m - 1,
                    ..all
                };
                assert!(obj.sampled_hessian(&tiny).is_none(), "larger than allowed");
            }
        }
    }

    #[test]
    fn batch_of_all_rows_is_the_full_objective() {
        let (x, t) = toy();
        let mut obj = BinaryObjective::new(&x, t, BinaryLoss::Logistic, 0.05, true).unwrap();
        let w = [0.3, -0.2, 0.5, 0.1];
        let (mut g1, mut g2) = ([0.0; 4], [0.0; 4]);
        let f1 = obj.value_grad(&w, &mut g1);
        let f2 = obj.batch_value_grad(&w, &[0, 1, 2, 3, 4, 5], &mut g2);
        assert!((f1 - f2).abs() < 1e-14);
        for k in 0..4 {
            assert!((g1[k] - g2[k]).abs() < 1e-14);
        }
    }

    #[test]
    fn intercept_is_not_regularized() {
        let (x, t) = toy();
        let mut obj = BinaryObjective::new(&x, t, BinaryLoss::Logistic, 10.0, true).unwrap();
        // Moving only b changes J by the loss alone: at w = 0, J = log 2 + 0 regardless of λ.
        let f = obj.value(&[0.0, 0.0, 0.0, 0.0]);
        assert!((f - 2f64.ln()).abs() < 1e-15);
        let f = obj.value(&[0.0, 0.0, 0.0, 5.0]);
        let loss: f64 = (0..6)
            .map(|i| BinaryLoss::Logistic.value(5.0, i % 2 == 0))
            .sum::<f64>()
            / 6.0;
        assert!((f - loss).abs() < 1e-14);
    }
}
