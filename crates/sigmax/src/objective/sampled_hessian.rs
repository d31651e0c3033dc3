//! The Hessian of a linear model estimated on a sample of rows, for the trust-region
//! solver's preconditioner. For J = (1/n) Σ_i ℓ(x_i) + λ/2‖w‖² the Hessian of one weight
//! vector is (1/n) Σ_i c_i a_i a_iᵀ + λI with a_i = [x_i, 1] (the 1 only with
//! an intercept) and c_i the row's curvature; on s sampled rows the mean runs over those
//! rows instead. Subsampled-Hessian Newton methods use the same estimate as the system
//! matrix (Byrd, Chin, Neveitt & Nocedal, "On the use of stochastic Hessian information
//! in optimization methods for machine learning", SIAM J. Optim. 21, 2011); here it only
//! preconditions CG on the exact Hessian, so the Newton step stays exact.

use crate::data::Features;
use crate::linalg::weighted_gram;
use rand::seq::index;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What the solver asks for: at most `max_rows` rows, drawn with `seed`, and nothing if
/// the matrix would hold more than `max_entries` entries.
#[derive(Debug, Clone, Copy)]
pub struct HessianSample {
    pub max_rows: usize,
    pub max_entries: usize,
    pub seed: u64,
}

/// The sampled rows, densified once.
pub(crate) struct RowSample {
    pub rows: Vec<usize>,
    /// rows.len() × cols, f32 as the data; the last column is 1 with an intercept.
    pub dense: Vec<f32>,
    pub cols: usize,
}

impl RowSample {
    /// Up to `max_rows` distinct rows of `x` (all of them when n is small), in increasing
    /// order so the gather reads memory forward.
    pub fn draw(x: &Features, intercept: bool, req: &HessianSample) -> RowSample {
        let n = x.n_rows();
        let mut rows: Vec<usize> = if n <= req.max_rows {
            (0..n).collect()
        } else {
            index::sample(&mut ChaCha8Rng::seed_from_u64(req.seed), n, req.max_rows).into_vec()
        };
        rows.sort_unstable();
        let d = x.n_cols();
        let cols = d + intercept as usize;
        let mut dense = vec![0f32; rows.len() * cols];
        for (out, &i) in dense.chunks_mut(cols.max(1)).zip(&rows) {
            match x.row(i) {
                crate::data::Row::Dense(v) => out[..d].copy_from_slice(v),
                crate::data::Row::Sparse(idx, val) => {
                    idx.iter().zip(val).for_each(|(&j, &v)| out[j as usize] = v)
                }
            }
            if intercept {
                out[d] = 1.0;
            }
        }
        RowSample { rows, dense, cols }
    }

    /// (1/s) Σ_sampled c_i a_i a_iᵀ + λ on the first `d` diagonal entries (the weights;
    /// an intercept is not regularized). `curvature[k]` belongs to `rows[k]`. The
    /// diagonal is floored at a tiny positive value so that a feature absent from the
    /// sample (or λ = 0) cannot make the matrix singular.
    pub fn hessian(self, curvature: &[f64], lambda: f64, d: usize) -> Vec<f64> {
        let s = self.rows.len().max(1) as f64;
        let mut g = weighted_gram(self.dense, self.rows.len(), self.cols, curvature);
        let cols = self.cols;
        let mean_diag = (0..cols).map(|j| g[j * cols + j]).sum::<f64>() / (s * cols.max(1) as f64);
        let floor = (1e-10 * mean_diag).max(1e-300);
        for p in 0..cols {
            for q in 0..cols {
                g[p * cols + q] /= s;
            }
            let reg = if p < d { lambda } else { 0.0 };
            g[p * cols + p] = (g[p * cols + p] + reg).max(floor);
        }
        g
    }
}
