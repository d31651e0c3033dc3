//! Binary passes over sparse data whose Xᵀ-products go over the column copy
//! ([`Columns`]): the rows give z_i and the per-row coefficients, the columns the sums,
//! and no buffer as long as the model is allocated or zeroed per pass.

use super::BinaryObjective;
use crate::data::Columns;
use crate::objective::lock;
use crate::sum::{par_row_reduce, par_row_reduce_mut, Sums};

impl BinaryObjective<'_> {
    pub(super) fn value_grad_over_columns(
        &mut self,
        cols: &Columns,
        w: &[f64],
        grad: &mut [f64],
    ) -> f64 {
        let (d, b, loss) = (self.d, self.bias(w), self.loss);
        let wd = &w[..d];
        let smooth = loss.is_smooth();
        let n = self.t.len();
        let mut curvature = std::mem::take(&mut self.curvature);
        curvature.resize(n, 0.0);
        let mut coef = lock(&self.coef);
        coef.resize(n, 0.0);
        let (x, t, erm) = (self.x, &self.t, &self.erm);
        let mut rows: Vec<(&mut f64, &mut f64)> =
            curvature.iter_mut().zip(coef.iter_mut()).collect();
        // [Σ_i s_i ℓ'(z_i) (the intercept's gradient sum), Σ_i s_i ℓ(z_i)]
        let blocks = erm.block_rows();
        let mut small = par_row_reduce_mut(&mut rows, blocks, 2, |start, rows, acc| {
            for (r, (curv, c)) in rows.iter_mut().enumerate() {
                let i = start + r;
                let (value, d1, d2) = loss.all(x.row(i).dot(wd) + b, t[i]);
                let s = erm.weight(i);
                **c = s * d1;
                **curv = s * d2;
                acc[0] += **c;
                acc[1] += s * value;
            }
        });
        drop(rows);
        let mut params = self.erm.pass_sums(self.erm.dim());
        cols.tmatvec_by(&coef, blocks, params.columns_mut(0..d), |v| v as f64);
        drop(coef);
        let loss = small.split_off(1);
        if self.intercept {
            params.put(d, small);
        }
        let (params, loss) = self.erm.reduce_pass(params, loss);
        self.erm.finish(&params, w, grad);
        self.curvature = if smooth { curvature } else { Vec::new() };
        self.has_curvature = smooth;
        self.erm.value(loss[0], w)
    }

    pub(super) fn hess_vec_over_columns(&self, cols: &Columns, v: &[f64], out: &mut [f64]) {
        let (d, vb) = (self.d, self.bias(v));
        let vd = &v[..d];
        let mut coef = lock(&self.coef);
        coef.resize(self.t.len(), 0.0);
        let blocks = self.erm.block_rows();
        let sum = par_row_reduce_mut(&mut coef, blocks, 1, |start, rows, acc| {
            for (r, u) in rows.iter_mut().enumerate() {
                let i = start + r;
                *u = self.curvature[i] * (self.x.row(i).dot(vd) + vb);
                acc[0] += *u;
            }
        });
        let mut params = self.erm.pass_sums(self.erm.dim());
        cols.tmatvec_by(&coef, blocks, params.columns_mut(0..d), |x| x as f64);
        if self.intercept {
            params.put(d, sum);
        }
        let (params, _) = self.erm.reduce_pass(params, Sums::Plain(Vec::new()));
        self.erm.finish(&params, v, out);
    }

    pub(super) fn hess_diag_over_columns(&self, cols: &Columns, out: &mut [f64]) {
        let (d, blocks) = (self.d, self.erm.block_rows());
        let mut params = self.erm.pass_sums(self.erm.dim());
        let f = |x: f32| x as f64 * x as f64;
        cols.tmatvec_by(&self.curvature, blocks, params.columns_mut(0..d), f);
        if self.intercept {
            params.put(
                d,
                par_row_reduce(self.t.len(), blocks, 1, |rows, acc| {
                    acc[0] = self.curvature[rows].iter().fold(0.0, |s, c| s + c);
                }),
            );
        }
        let (params, _) = self.erm.reduce_pass(params, Sums::Plain(Vec::new()));
        self.erm.finish_diag(&params, out);
    }
}
