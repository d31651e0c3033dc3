//! Small dense linear algebra the solvers need: the Cholesky factorization of a
//! symmetric positive definite matrix (for the sampled-Hessian preconditioner) and the
//! weighted Gram matrix Σ_i c_i a_i a_iᵀ of a few thousand rows, which is one GEMM.

use crate::vector::dot;
use rayon::prelude::*;

/// Columns per block of the blocked factorization.
const BLOCK: usize = 64;

/// A = L Lᵀ with L lower triangular, stored row-major (the upper part is unused).
#[derive(Debug, Clone)]
pub struct Cholesky {
    n: usize,
    l: Vec<f64>,
}

impl Cholesky {
    /// Factors the symmetric `n × n` row-major matrix `a` (only its lower triangle is
    /// read; the upper one is left with scratch values). `None` when a pivot is not
    /// positive (A not positive definite, numerically).
    ///
    /// Blocked, right-looking: per block of 64 columns (`BLOCK`), the diagonal block is
    /// factored row by row, the rows below are solved against it (in parallel), and the
    /// rest of the lower triangle is updated by GEMMs (A₂₂ −= L₂₁L₂₁ᵀ). Row by row over the
    /// whole matrix, each row re-read every earlier row: 785 columns (Fashion-MNIST's
    /// sampled Hessian, 4.9 MB) took 22–35 ms from L3 cache, 7–10 ms so (same machine, same
    /// runs); a Fashion binary Newton fit, which builds two, 0.242 → 0.210 s (medians of 11).
    pub fn factor(mut a: Vec<f64>, n: usize) -> Option<Cholesky> {
        assert_eq!(a.len(), n * n, "Cholesky: matrix is not n × n");
        for k in (0..n).step_by(BLOCK) {
            let kb = BLOCK.min(n - k);
            // The diagonal block (its columns left of k are already subtracted), row by
            // row against the rows above it in the block.
            for i in k..k + kb {
                let (done, rest) = a.split_at_mut(i * n);
                let row = &mut rest[..n];
                solve_against(row, &done[k * n..], k, i, n);
                let piv = row[i] - dot(&row[k..i], &row[k..i]);
                if !(piv > 0.0 && piv.is_finite()) {
                    return None;
                }
                row[i] = piv.sqrt();
            }
            // The rows below, against the diagonal block: L₂₁ = A₂₁ L₁₁⁻ᵀ.
            let (top, below) = a.split_at_mut((k + kb) * n);
            let diag = &top[k * n..];
            below
                .par_chunks_mut(n)
                .for_each(|row| solve_against(row, diag, k, k + kb, n));
            // The lower triangle to the right: per block row, the columns up to its end.
            let base = a.as_mut_ptr();
            for r0 in (k + kb..n).step_by(BLOCK) {
                let rb = BLOCK.min(n - r0);
                let width = r0 + rb - (k + kb);
                // SAFETY: row-major n × n `a`. A is rows r0..r0+rb, columns k..k+kb; B the
                // transpose of rows k+kb..k+kb+width, columns k..k+kb; C rows r0..r0+rb,
                // columns k+kb..k+kb+width. A and B lie in columns k..k+kb, C in columns
                // from k+kb on: C overlaps neither, and every index is below n × n.
                unsafe {
                    matrixmultiply::dgemm(
                        rb,
                        kb,
                        width,
                        -1.0,
                        base.add(r0 * n + k),
                        n as isize,
                        1,
                        base.add((k + kb) * n + k),
                        1,
                        n as isize,
                        1.0,
                        base.add(r0 * n + k + kb),
                        n as isize,
                        1,
                    );
                }
            }
        }
        Some(Cholesky { n, l: a })
    }

    pub fn dim(&self) -> usize {
        self.n
    }

    /// Solves A x = b in place (forward then back substitution).
    pub fn solve(&self, b: &mut [f64]) {
        let n = self.n;
        for i in 0..n {
            let row = &self.l[i * n..i * n + i];
            b[i] = (b[i] - dot(row, &b[..i])) / self.l[i * n + i];
        }
        // Lᵀ x = y, column-oriented over the rows of L so memory stays contiguous.
        for i in (0..n).rev() {
            b[i] /= self.l[i * n + i];
            let xi = b[i];
            let row = &self.l[i * n..i * n + i];
            for (bj, &lij) in b[..i].iter_mut().zip(row) {
                *bj -= lij * xi;
            }
        }
    }

    /// out = Lᵀ v, so that vᵀ A v = ‖Lᵀv‖² and uᵀ A v = (Lᵀu)·(Lᵀv).
    pub fn lt_mul(&self, v: &[f64], out: &mut [f64]) {
        let n = self.n;
        out[..n].iter_mut().for_each(|o| *o = 0.0);
        for i in 0..n {
            let row = &self.l[i * n..=i * n + i];
            // (Lᵀ v)_j = Σ_{i ≥ j} L_ij v_i: add row i of L times v_i.
            for (oj, &lij) in out[..=i].iter_mut().zip(row) {
                *oj += lij * v[i];
            }
        }
    }
}

/// Forward substitution of one row against the factor's rows k..end (`rows` starts at row
/// k, row length `n`): row[j] = (row[j] − row[k..j]·L[j, k..j]) / L[j, j] for j in k..end.
fn solve_against(row: &mut [f64], rows: &[f64], k: usize, end: usize, n: usize) {
    for j in k..end {
        let lj = &rows[(j - k) * n..];
        row[j] = (row[j] - dot(&row[k..j], &lj[k..j])) / lj[j];
    }
}

/// G = Σ_i c_i a_i a_iᵀ for the rows a_i of the row-major `rows × cols` matrix `a` (f32,
/// as the data is stored; consumed: scaled in place), as a row-major `cols × cols` f64
/// matrix. One single precision GEMM of the scaled rows: the result is used as a
/// preconditioner, where single precision is ample (its rounding, ~1e-6 relative, is far
/// below the ridge the caller adds). `c_i` must be ≥ 0. (Multiplying only the blocks on
/// and below the diagonal, 57% of the products for 785 columns, was no faster: each
/// block's GEMM packs its share of the 5,000 rows again.)
pub fn weighted_gram(mut a: Vec<f32>, rows: usize, cols: usize, c: &[f64]) -> Vec<f64> {
    assert_eq!(a.len(), rows * cols);
    assert_eq!(c.len(), rows);
    // The rows scaled by √c_i where they are: a second copy of the sample (16 MB for
    // Fashion-MNIST's 5,000 × 785) cost its page faults at every build.
    a.par_chunks_mut(cols.max(1))
        .zip(c.par_iter())
        .for_each(|(row, &ci)| {
            let s = ci.max(0.0).sqrt() as f32;
            row.iter_mut().for_each(|x| *x *= s);
        });
    let scaled = a;
    let mut g = vec![0f32; cols * cols];
    if rows > 0 && cols > 0 {
        // SAFETY: `scaled` is rows × cols row-major, read as its transpose (cols × rows,
        // strides 1, cols) and as itself (rows × cols, strides cols, 1); `g` is cols × cols.
        unsafe {
            matrixmultiply::sgemm(
                cols,
                rows,
                cols,
                1.0,
                scaled.as_ptr(),
                1,
                cols as isize,
                scaled.as_ptr(),
                cols as isize,
                1,
                0.0,
                g.as_mut_ptr(),
                cols as isize,
                1,
            );
        }
    }
    g.into_iter().map(f64::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spd(n: usize) -> Vec<f64> {
        // B Bᵀ + I for a fixed B.
        let b: Vec<f64> = (0..n * n)
            .map(|k| ((k * 37 % 11) as f64 - 5.0) / 7.0)
            .collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| b[i * n + k] * b[j * n + k]).sum::<f64>()
                    + if i == j { 1.0 } else { 0.0 };
            }
        }
        a
    }

    #[test]
    fn solve_inverts_the_matrix_and_lt_mul_gives_the_quadratic_form() {
        // 64 and more: one or several blocks of the blocked factorization.
        for n in [1, 2, 5, 17, 63, 64, 65, 200] {
            let a = spd(n);
            let ch = Cholesky::factor(a.clone(), n).unwrap();
            let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
            let mut b: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| a[i * n + j] * x[j]).sum())
                .collect();
            let xax: f64 = x.iter().zip(&b).map(|(p, q)| p * q).sum();
            let mut ltx = vec![0.0; n];
            ch.lt_mul(&x, &mut ltx);
            assert!(
                (dot(&ltx, &ltx) - xax).abs() <= 1e-12 * xax.abs().max(1.0),
                "n = {n}"
            );
            ch.solve(&mut b);
            for i in 0..n {
                assert!(
                    (b[i] - x[i]).abs() < 1e-10,
                    "n = {n}: x[{i}] = {} vs {}",
                    b[i],
                    x[i]
                );
            }
        }
    }

    #[test]
    fn indefinite_matrices_are_refused() {
        assert!(Cholesky::factor(vec![1.0, 2.0, 2.0, 1.0], 2).is_none());
        assert!(Cholesky::factor(vec![0.0], 1).is_none());
        assert!(Cholesky::factor(vec![f64::NAN], 1).is_none());
        // A failing pivot in a later block of the blocked factorization.
        let n = 150;
        let mut a = spd(n);
        a[140 * n + 140] = -1e6;
        assert!(Cholesky::factor(a, n).is_none());
    }

    #[test]
    fn weighted_gram_is_the_sum_of_weighted_outer_products() {
        let (rows, cols) = (7, 3);
        let a: Vec<f32> = (0..rows * cols)
            .map(|k| ((k * 5 % 7) as f32 - 3.0) / 4.0)
            .collect();
        let c: Vec<f64> = (0..rows).map(|i| 0.1 + i as f64 * 0.3).collect();
        let g = weighted_gram(a.clone(), rows, cols, &c);
        for p in 0..cols {
            for q in 0..cols {
                let want: f64 = (0..rows)
                    .map(|i| c[i] * a[i * cols + p] as f64 * a[i * cols + q] as f64)
                    .sum();
                assert!(
                    (g[p * cols + q] - want).abs() < 1e-5 * want.abs().max(1.0),
                    "G[{p}][{q}]"
                );
            }
        }
    }
}
