//! Binary passes over sparse data whose Xᵀ-products go over the column copy
//! ([`Columns`]): the rows give z_i and the per-row coefficients, the columns the sums,
//! and no buffer as long as the model is allocated or zeroed per pass.

use super::BinaryObjective;
use crate::data::{Columns, GATHER_MIN_LEN};
use crate::objective::lock;
use crate::sum::{par_row_reduce, par_row_reduce_mut, ColumnOut};

/// Rows ahead whose gathers from the model are asked for (a hint), for models of at
/// least [`GATHER_MIN_LEN`] weights: with millions of columns the model's rare entries
/// are cache misses the hardware cannot foresee (the 4.2M-column code set's
/// Hessian-vector product 2.59 → 1.14 s with the prefetches of the pass over columns),
/// while a model that fits in cache only pays for the hints.
const GATHER_AHEAD: usize = 4;

/// How many rows ahead a pass gathering from `v` asks for them: 0 (no hints) below
/// [`GATHER_MIN_LEN`].
fn rows_ahead(v: &[f64]) -> usize {
    if v.len() >= GATHER_MIN_LEN {
        GATHER_AHEAD
    } else {
        0
    }
}

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
        let blocks = erm.row_blocks();
        let ahead = rows_ahead(wd);
        let mut small = par_row_reduce_mut(&mut rows, blocks, 2, |start, rows, acc| {
            for (r, (curv, c)) in rows.iter_mut().enumerate() {
                let i = start + r;
                if ahead > 0 {
                    x.prefetch_gather(i + ahead, wd);
                }
                let (value, d1, d2) = loss.all(x.row(i).dot(wd) + b, t[i]);
                let s = erm.weight(i);
                **c = s * d1;
                **curv = s * d2;
                acc[0] += **c;
                acc[1] += s * value;
            }
        });
        drop(rows);
        let loss = small.split_off(1);
        let intercept = self.intercept.then_some(small);
        let columns = |out: ColumnOut| cols.tmatvec_by(&coef, blocks, out, |v| v as f64);
        self.erm.reduce_columns(grad, d, columns, intercept);
        drop(coef);
        let loss = self.erm.reduce(loss);
        self.erm.finish_in_place(w, grad);
        self.curvature = if smooth { curvature } else { Vec::new() };
        self.has_curvature = smooth;
        self.erm.value(loss[0], w)
    }

    pub(super) fn hess_vec_over_columns(&self, cols: &Columns, v: &[f64], out: &mut [f64]) {
        let (d, vb) = (self.d, self.bias(v));
        let vd = &v[..d];
        let mut coef = lock(&self.coef);
        coef.resize(self.t.len(), 0.0);
        let blocks = self.erm.row_blocks();
        let ahead = rows_ahead(vd);
        let sum = par_row_reduce_mut(&mut coef, blocks, 1, |start, rows, acc| {
            for (r, u) in rows.iter_mut().enumerate() {
                let i = start + r;
                if ahead > 0 {
                    self.x.prefetch_gather(i + ahead, vd);
                }
                *u = self.curvature[i] * (self.x.row(i).dot(vd) + vb);
                acc[0] += *u;
            }
        });
        let columns = |o: ColumnOut| cols.tmatvec_by(&coef, blocks, o, |x| x as f64);
        self.erm
            .reduce_columns(out, d, columns, self.intercept.then_some(sum));
        self.erm.finish_in_place(v, out);
    }

    pub(super) fn hess_diag_over_columns(&self, cols: &Columns, out: &mut [f64]) {
        let (d, blocks) = (self.d, self.erm.row_blocks());
        let f = |x: f32| x as f64 * x as f64;
        let columns = |o: ColumnOut| cols.tmatvec_by(&self.curvature, blocks, o, f);
        let intercept = self.intercept.then(|| {
            par_row_reduce(self.t.len(), blocks, 1, |rows, acc| {
                acc[0] = self.curvature[rows].iter().fold(0.0, |s, c| s + c);
            })
        });
        self.erm.reduce_columns(out, d, columns, intercept);
        self.erm.finish_diag_in_place(out);
    }
}
