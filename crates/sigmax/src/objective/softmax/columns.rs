//! Softmax passes over sparse rows with the weights feature-major and the Xᵀ-products
//! over the column copy ([`Columns`]): no buffer as long as the model is allocated or
//! zeroed per pass.
//!
//! Scores: with W class-major (K × d, the parameter layout) a sparse row's K dot
//! products gather K scattered weights per nonzero; transposed once per pass into
//! d × K, each nonzero reads K adjacent weights (one or a few cache lines). The
//! products Σ_i c_ij x_il then go over columns, each output written once.

use super::SoftmaxObjective;
use crate::data::{Columns, Row};
use crate::loss::softmax_into;
use crate::objective::lock;
use crate::sum::{par_row_reduce, par_row_reduce_mut, ColumnOut};
use rayon::prelude::*;

/// Buffers reused from pass to pass.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// d × K: the weights (or the direction) transposed.
    feature_major: Vec<f64>,
    /// n × K: the coefficients c_i of the current pass.
    coef: Vec<f64>,
}

impl Scratch {
    /// `w` (K × d) transposed into the feature-major buffer, and the coefficient buffer
    /// sized for n rows.
    fn prepare(&mut self, w: &[f64], k: usize, d: usize, n: usize) -> (&[f64], &mut [f64]) {
        transpose_into(w, k, d, &mut self.feature_major);
        self.coef.resize(n * k, 0.0);
        (&self.feature_major, &mut self.coef)
    }
}

/// out\[l·K + j\] = w\[j·d + l\]: the K × d class-major weights as d × K.
fn transpose_into(w: &[f64], k: usize, d: usize, out: &mut Vec<f64>) {
    const FEATURES_PER_TASK: usize = 4096;
    out.resize(k * d, 0.0);
    out.par_chunks_mut(FEATURES_PER_TASK * k)
        .enumerate()
        .for_each(|(t, block)| {
            let first = t * FEATURES_PER_TASK;
            for (j, class) in w.chunks_exact(d).enumerate() {
                for (r, &wl) in class[first..first + block.len() / k].iter().enumerate() {
                    block[r * k + j] = wl;
                }
            }
        });
}

impl SoftmaxObjective<'_> {
    /// s = b + Σ_l x_il·W\[:, l\] with W feature-major (`wt`, d × K).
    #[inline]
    fn feature_major_scores(&self, i: usize, wt: &[f64], w: &[f64], s: &mut [f64]) {
        let (k, d) = (self.k, self.d);
        if self.intercept {
            s.copy_from_slice(&w[k * d..k * d + k]);
        } else {
            s.fill(0.0);
        }
        let Row::Sparse(idx, val) = self.x.row(i) else {
            unreachable!("column passes run on sparse rows only")
        };
        for (&l, &v) in idx.iter().zip(val) {
            let wl = &wt[l as usize * k..(l as usize + 1) * k];
            let v = v as f64;
            s.iter_mut().zip(wl).for_each(|(sj, &wj)| *sj += v * wj);
        }
    }

    pub(super) fn value_over_columns(&self, w: &[f64]) -> f64 {
        let (n, k, d) = (self.y.len(), self.k, self.d);
        let mut scratch = lock(&self.scratch);
        transpose_into(&w[..k * d], k, d, &mut scratch.feature_major);
        let wt = &scratch.feature_major;
        let acc = par_row_reduce(n, self.erm.row_blocks(), 1, |rows, acc| {
            let (mut s, mut p) = (vec![0.0; k], vec![0.0; k]);
            for i in rows {
                self.feature_major_scores(i, wt, w, &mut s);
                let yi = self.y[i] as usize;
                acc[0] += self.erm.weight(i) * (softmax_into(&s, &mut p) - s[yi]);
            }
        });
        self.erm.value(self.erm.reduce(acc)[0], w)
    }

    pub(super) fn value_grad_over_columns(
        &mut self,
        cols: &Columns,
        w: &[f64],
        grad: &mut [f64],
    ) -> f64 {
        let (n, k, d) = (self.y.len(), self.k, self.d);
        let mut probs = std::mem::take(&mut self.probs);
        probs.resize(n * k, 0.0);
        let mut scratch = lock(&self.scratch);
        let (wt, coef) = scratch.prepare(&w[..k * d], k, d, n);
        let mut rows: Vec<(&mut [f64], &mut [f64])> =
            probs.chunks_mut(k).zip(coef.chunks_mut(k)).collect();
        // [Σ_i c_i (the intercepts' gradient sums), Σ_i s_i·loss_i]
        let blocks = self.erm.row_blocks();
        let mut small = par_row_reduce_mut(&mut rows, blocks, k + 1, |start, rows, acc| {
            let mut s = vec![0.0; k];
            for (r, (p, c)) in rows.iter_mut().enumerate() {
                let i = start + r;
                self.feature_major_scores(i, wt, w, &mut s);
                let (yi, si) = (self.y[i] as usize, self.erm.weight(i));
                acc[k] += si * (softmax_into(&s, p) - s[yi]);
                c.copy_from_slice(p);
                c[yi] -= 1.0;
                if si != 1.0 {
                    c.iter_mut().for_each(|cj| *cj *= si);
                }
                acc[..k]
                    .iter_mut()
                    .zip(c.iter())
                    .for_each(|(a, &cj)| *a += cj);
            }
        });
        drop(rows);
        let loss = small.split_off(k);
        let columns = |out: ColumnOut| cols.tmatmul_by(coef, k, blocks, out, |v| v as f64);
        self.erm
            .reduce_columns(grad, k * d, columns, self.intercept.then_some(small));
        drop(scratch);
        self.probs = probs;
        self.has_probs = true;
        let loss = self.erm.reduce(loss);
        self.erm.finish_in_place(w, grad);
        self.erm.value(loss[0], w)
    }

    pub(super) fn hess_vec_over_columns(&self, cols: &Columns, v: &[f64], out: &mut [f64]) {
        let (n, k, d) = (self.y.len(), self.k, self.d);
        let mut scratch = lock(&self.scratch);
        let (vt, coef) = scratch.prepare(&v[..k * d], k, d, n);
        let mut rows: Vec<&mut [f64]> = coef.chunks_mut(k).collect();
        let blocks = self.erm.row_blocks();
        let bias_sums = par_row_reduce_mut(&mut rows, blocks, k, |start, rows, acc| {
            for (r, u) in rows.iter_mut().enumerate() {
                let i = start + r;
                // u = V x_i + v_b, then s_i [diag(p_i) − p_i p_iᵀ] u.
                self.feature_major_scores(i, vt, v, u);
                let p = &self.probs[i * k..(i + 1) * k];
                let pu: f64 = p.iter().zip(u.iter()).map(|(a, b)| a * b).sum();
                let si = self.erm.weight(i);
                for ((uj, &pj), a) in u.iter_mut().zip(p).zip(acc.iter_mut()) {
                    *uj = si * (pj * (*uj - pu));
                    *a += *uj;
                }
            }
        });
        drop(rows);
        let columns = |o: ColumnOut| cols.tmatmul_by(coef, k, blocks, o, |x| x as f64);
        self.erm
            .reduce_columns(out, k * d, columns, self.intercept.then_some(bias_sums));
        self.erm.finish_in_place(v, out);
    }

    pub(super) fn hess_diag_over_columns(&self, cols: &Columns, out: &mut [f64]) {
        let (k, d) = (self.k, self.d);
        let mut scratch = lock(&self.scratch);
        let coef = &mut scratch.coef;
        coef.clear();
        coef.extend(self.probs.iter().enumerate().map(|(t, &p)| {
            let si = self.erm.weight(t / k);
            si * p * (1.0 - p)
        }));
        // Squared in single precision, as over rows (ample for a preconditioner).
        let blocks = self.erm.row_blocks();
        let f = |x: f32| (x * x) as f64;
        let intercept = self.intercept.then(|| {
            par_row_reduce(self.y.len(), blocks, k, |rows, acc| {
                for i in rows {
                    acc.iter_mut()
                        .zip(&coef[i * k..(i + 1) * k])
                        .for_each(|(a, &c)| *a += c);
                }
            })
        });
        let columns = |o: ColumnOut| cols.tmatmul_by(coef, k, blocks, o, f);
        self.erm.reduce_columns(out, k * d, columns, intercept);
        self.erm.finish_diag_in_place(out);
    }
}
