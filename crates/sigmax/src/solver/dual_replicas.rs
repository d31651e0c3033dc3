//! Parallel epochs of dual coordinate descent on one replica of w per thread (CoCoA+:
//! Ma, Smith, Jaggi, Jordan, Richtárik & Takáč, "Adding vs. averaging in distributed
//! primal-dual optimization", ICML 2015; Smith et al., "CoCoA: a general framework for
//! communication-efficient distributed optimization", JMLR 18, 2018, with γ = 1 and
//! σ' = K).
//!
//! An epoch's shuffled rows are cut into K parts, one per thread. Part k's rows are
//! solved one at a time, exactly as in the serial method, against its own replica
//! v_k = w + K·u_k, where u_k = Σ_{i in part k} Δα_i y_i x_i is the part's change of w so
//! far, with each one-variable subproblem's curvature ‖x_i‖² scaled by K. That is
//! coordinate descent on the part's local subproblem, whose quadratic term K‖u_k‖²/2
//! bounds the parts' interference (‖Σ_k u_k‖² ≤ K Σ_k ‖u_k‖²): the dual at α + Δα is at
//! least the sum of the local subproblems, each improved by its part's steps, so every
//! epoch improves the dual objective, and the framework's convergence theorems (linear
//! for the logistic and squared-hinge duals, whose conjugate losses are strongly convex)
//! apply. Then w ← w + Σ_k u_k = (1/K) Σ_k v_k.
//!
//! The parts and their order come from the one seeded shuffle and the average sums the
//! replicas in order, so a fit gives the same bits for a given thread count whatever the
//! scheduling, and K = 1 is the serial method bit for bit. Different thread counts take
//! different paths to the same optimum: the models agree within the stopping rule (with
//! the certified stop, both within its duality gap).

use crate::data::{prefetch, Features};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The dual variables, shared by the threads of a parallel epoch: row i's α is read and
/// written only by the thread whose part holds row i, so relaxed atomics (plain loads
/// and stores on x86-64 and AArch64) are enough and nothing races.
pub(super) struct DualCells<'a>(&'a [AtomicU64]);

impl<'a> DualCells<'a> {
    pub fn new(alpha: &'a mut [f64]) -> Self {
        const {
            assert!(std::mem::size_of::<f64>() == std::mem::size_of::<AtomicU64>());
            assert!(std::mem::align_of::<f64>() == std::mem::align_of::<AtomicU64>());
        }
        // SAFETY: f64 and AtomicU64 have the same size and alignment (checked above), and
        // the exclusive borrow of `alpha` lasts as long as the cells.
        DualCells(unsafe { &*(alpha as *mut [f64] as *const [AtomicU64]) })
    }

    #[inline(always)]
    pub fn get(&self, i: usize) -> f64 {
        f64::from_bits(self.0[i].load(Relaxed))
    }

    #[inline(always)]
    pub fn set(&self, i: usize, v: f64) {
        self.0[i].store(v.to_bits(), Relaxed)
    }

    #[inline(always)]
    pub fn prefetch(&self, i: usize) {
        prefetch(self.0, i)
    }
}

/// Nonzeros per epoch below which the parallel epoch does not pay for its threads.
const MIN_PARALLEL_NNZ: usize = 1 << 20;

/// The per-thread replicas of w of the parallel epochs.
pub(super) struct Replicas {
    replicas: Vec<Vec<f64>>,
}

impl Replicas {
    /// One replica per thread of the current pool, when there are several and an epoch
    /// over `x` has at least 2^20 nonzeros and 4 per number the replicas copy and average
    /// (K·d of each); `None`: serial epochs.
    pub fn for_data(x: &Features, params: usize) -> Option<Replicas> {
        let parts = rayon::current_num_threads();
        let nnz = x.nnz();
        (parts > 1 && nnz >= MIN_PARALLEL_NNZ && nnz / 4 >= parts * params).then(|| Replicas {
            replicas: vec![vec![0.0; params]; parts],
        })
    }

    /// One parallel epoch from w over `rows` (the epoch's order): part k, rows
    /// [k·n/K, (k+1)·n/K), goes to `sweep(part, v_k, K)` with v_k a copy of w; then w is
    /// the replicas' average. Returns each part's result, in part order.
    pub fn epoch<R: Send>(
        &mut self,
        rows: &mut [usize],
        w: &mut [f64],
        sweep: impl Fn(&mut [usize], &mut [f64], f64) -> R + Sync,
    ) -> Vec<R> {
        let k = self.replicas.len();
        let n = rows.len();
        let mut parts = Vec::with_capacity(k);
        let mut rest = rows;
        for p in 0..k {
            let (part, tail) = rest.split_at_mut((p + 1) * n / k - p * n / k);
            parts.push(part);
            rest = tail;
        }
        let from: &[f64] = w;
        let scale = k as f64;
        let results = self
            .replicas
            .par_iter_mut()
            .zip(parts)
            .map(|(v, part)| {
                v.copy_from_slice(from);
                sweep(part, v, scale)
            })
            .collect();
        let replicas = &self.replicas;
        w.par_chunks_mut(1 << 14)
            .enumerate()
            .for_each(|(block, out)| {
                let lo = block << 14;
                for (j, o) in out.iter_mut().enumerate() {
                    let sum: f64 = replicas.iter().map(|v| v[lo + j]).sum();
                    *o = sum / scale;
                }
            });
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_rows_once_and_w_becomes_the_replicas_average() {
        let mut replicas = Replicas {
            replicas: vec![vec![0.0; 3]; 3],
        };
        let mut rows: Vec<usize> = (0..10).collect();
        let mut w = vec![1.0, 2.0, 3.0];
        let seen = replicas.epoch(&mut rows, &mut w, |part, v, scale| {
            assert_eq!(scale, 3.0);
            // Each part moves its replica by its rows' count in entry 0.
            v[0] += part.len() as f64;
            part.to_vec()
        });
        assert_eq!(seen, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8, 9]]);
        // w + Σ_k (v_k − w)/K: entry 0 gains 10/3, the others stay.
        assert_eq!(w[1..], [2.0, 3.0]);
        assert!((w[0] - 13.0 / 3.0).abs() < 1e-15, "{}", w[0]);
    }

    #[test]
    fn cells_read_back_what_was_written() {
        let mut alpha = vec![0.5, 0.25];
        let cells = DualCells::new(&mut alpha);
        cells.set(1, 2.0);
        assert_eq!((cells.get(0), cells.get(1)), (0.5, 2.0));
        assert_eq!(alpha, vec![0.5, 2.0]);
    }
}
