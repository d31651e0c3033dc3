//! Preconditioners for the conjugate-gradient inner solves of Newton's method: a matrix
//! M ≈ ∇²J that is cheap to invert. CG then works on M^{-1/2} ∇²J M^{-1/2}, whose
//! eigenvalues cluster near 1 when M is good, and needs fewer Hessian-vector products
//! (each a full pass over the data). The trust region is measured in the M-norm.

use crate::linalg::Cholesky;
use crate::objective::{HessianSample, Objective};
use crate::vector::{cg_step_by, dot, dot3_by, dot_by, update_by, update_with};

crate::named_choice! {
    /// Which preconditioner the trust-region solver uses.
    pub enum PreconditionerChoice ("preconditioner") {
        /// The sampled Hessian when the objective offers it within the size limit (models
        /// with up to a few thousand parameters), else the diagonal with the weight
        /// the objective prefers ([`Objective::diagonal_weight`]: Jacobi for binary models,
        /// and sparse softmax, none for dense softmax).
        Auto = "auto",
        /// M = (1 − α)I + α·diag(∇²J), α = 0.01 (Hsia, Chiang & Lin, ACML 2018; LIBLINEAR ≥ 2.20).
        Diagonal = "diagonal",
        /// M = diag(∇²J) (Jacobi; α = 1 above).
        Jacobi = "jacobi",
        /// ∇²J estimated on a row sample, inverted by Cholesky.
        SampledHessian = "sampled-hessian",
    }
}

// (The named-choice macro fixes the derives, so Default is written out.)
#[allow(clippy::derivable_impls)]
impl Default for PreconditionerChoice {
    fn default() -> Self {
        PreconditionerChoice::Auto
    }
}

/// Weight of the Hessian diagonal in the diagonal preconditioner (ACML 2018).
pub(crate) const DIAGONAL_ALPHA: f64 = 0.01;
/// Rows drawn for the sampled Hessian. On Fashion-MNIST (d = 784) 5,000 rows cut the
/// Hessian-vector products of a Newton solve from ~200 to ~40; building costs ~s·d² flops.
pub(crate) const SAMPLE_ROWS: usize = 5_000;
/// Largest sampled Hessian (entries, 8 bytes each): 64 MiB, i.e. up to 2,896 parameters.
pub(crate) const MAX_ENTRIES: usize = 1 << 23;

pub(crate) enum Preconditioner {
    Diagonal(Vec<f64>),
    /// The Cholesky factor of the sampled Hessian.
    SampledHessian(Cholesky),
}

impl Preconditioner {
    /// M = (1 − α)I + α·diag(∇²J) at the objective's last `value_grad` point (M = I if
    /// the objective has no Hessian diagonal, or α = 0). `reuse` lends the buffer of the
    /// previous diagonal: with millions of parameters a second one would raise the peak.
    pub fn diagonal(
        obj: &dyn Objective,
        alpha: f64,
        reuse: Option<Preconditioner>,
    ) -> Preconditioner {
        let mut m = match reuse {
            Some(Preconditioner::Diagonal(mut m)) if m.len() == obj.dim() => {
                m.iter_mut().for_each(|v| *v = 1.0);
                m
            }
            _ => vec![1.0; obj.dim()],
        };
        if alpha > 0.0 && obj.hess_diag(&mut m) {
            // A zero diagonal entry (a feature absent from the data, no λ) is left at 1.
            m.iter_mut().for_each(|v| {
                *v = if *v > 0.0 {
                    (1.0 - alpha) + alpha * *v
                } else {
                    1.0
                }
            });
        } else {
            m.iter_mut().for_each(|v| *v = 1.0);
        }
        Preconditioner::Diagonal(m)
    }

    /// The sampled-Hessian preconditioner, or `None` when the objective does not offer one
    /// (too large, not twice differentiable) or the matrix is not positive definite.
    pub fn sampled_hessian(obj: &dyn Objective, seed: u64) -> Option<Preconditioner> {
        let req = HessianSample {
            max_rows: SAMPLE_ROWS,
            max_entries: MAX_ENTRIES,
            seed,
        };
        let h = obj.sampled_hessian(&req)?;
        Cholesky::factor(h, obj.dim()).map(Preconditioner::SampledHessian)
    }

    /// z = M⁻¹ r.
    pub fn solve(&self, r: &[f64], z: &mut [f64]) {
        match self {
            Preconditioner::Diagonal(m) => update_by(z, r, m, |_, rk, mk| rk / mk),
            Preconditioner::SampledHessian(ch) => {
                z.copy_from_slice(r);
                ch.solve(z);
            }
        }
    }

    /// rᵀM⁻¹r for a conjugate-gradient step. A diagonal M⁻¹r is not stored but
    /// recomputed by [`Preconditioner::cg_direction`] (the same operations, so the same
    /// bits): CG then holds one vector fewer, 33 MB with a 26-class softmax over text.
    /// Otherwise M⁻¹r is left in `scratch` (sized here) for `cg_direction`.
    pub fn cg_residual_dot(&self, r: &[f64], scratch: &mut Vec<f64>) -> f64 {
        match self {
            Preconditioner::Diagonal(m) => dot_by(r, m, |rk, mk| rk * (rk / mk)),
            Preconditioner::SampledHessian(_) => {
                scratch.resize(r.len(), 0.0);
                self.solve(r, scratch);
                dot(r, scratch)
            }
        }
    }

    /// The CG step s += α·d, r −= α·hd, then [`Preconditioner::cg_residual_dot`] of the
    /// new r: one sweep over the vectors with a diagonal M.
    pub fn cg_step(
        &self,
        alpha: f64,
        (s, d): (&mut [f64], &[f64]),
        (r, hd): (&mut [f64], &[f64]),
        scratch: &mut Vec<f64>,
    ) -> f64 {
        match self {
            Preconditioner::Diagonal(m) => {
                cg_step_by(alpha, (s, d), (r, hd), m, |rk, mk| rk * (rk / mk))
            }
            Preconditioner::SampledHessian(_) => {
                update_with(s, d, |sk, dk| sk + alpha * dk);
                update_with(r, hd, |rk, hk| rk - alpha * hk);
                self.cg_residual_dot(r, scratch)
            }
        }
    }

    /// d ← M⁻¹r + β·d, or d ← M⁻¹r without β (the first direction), with the `scratch`
    /// of the [`Preconditioner::cg_residual_dot`] call on the same r.
    pub fn cg_direction(&self, r: &[f64], scratch: &[f64], d: &mut [f64], beta: Option<f64>) {
        match (self, beta) {
            (Preconditioner::Diagonal(m), Some(beta)) => {
                update_by(d, r, m, |dk, rk, mk| rk / mk + beta * dk)
            }
            (Preconditioner::Diagonal(m), None) => update_by(d, r, m, |_, rk, mk| rk / mk),
            (Preconditioner::SampledHessian(_), Some(beta)) => {
                update_with(d, scratch, |dk, zk| zk + beta * dk)
            }
            (Preconditioner::SampledHessian(_), None) => d.copy_from_slice(scratch),
        }
    }

    /// aᵀ M b.
    pub fn dot(&self, a: &[f64], b: &[f64]) -> f64 {
        match self {
            Preconditioner::Diagonal(m) => dot3_by(a, b, m, |x, y, w| x * y * w),
            Preconditioner::SampledHessian(ch) => {
                // M = L Lᵀ, so aᵀMb = (Lᵀa)·(Lᵀb).
                let (mut la, mut lb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
                ch.lt_mul(a, &mut la);
                ch.lt_mul(b, &mut lb);
                dot(&la, &lb)
            }
        }
    }

    /// ‖v‖_M.
    pub fn norm(&self, v: &[f64]) -> f64 {
        self.dot(v, v).max(0.0).sqrt()
    }

    /// ‖v‖_{M⁻¹} = sqrt(vᵀ M⁻¹ v).
    pub fn inv_norm(&self, v: &[f64]) -> f64 {
        let vz = match self {
            Preconditioner::Diagonal(m) => dot_by(v, m, |x, mk| x * (x / mk)),
            Preconditioner::SampledHessian(_) => {
                let mut z = vec![0.0; v.len()];
                self.solve(v, &mut z);
                dot(v, &z)
            }
        };
        vz.max(0.0).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampled_hessian_solve_and_norms_agree_with_the_dense_matrix() {
        let a = vec![4.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 3.0];
        let m = Preconditioner::SampledHessian(Cholesky::factor(a, 3).unwrap());
        let full = |v: &[f64]| [4.0 * v[0] + v[2], v[1], v[0] + 3.0 * v[2]];
        let v = [0.5, -2.0, 1.5];
        let mv = full(&v);
        let mut z = [0.0; 3];
        m.solve(&mv, &mut z);
        for k in 0..3 {
            assert!((z[k] - v[k]).abs() < 1e-12);
        }
        let vmv: f64 = v.iter().zip(&mv).map(|(p, q)| p * q).sum();
        assert!((m.norm(&v) - vmv.sqrt()).abs() < 1e-12);
        assert!((m.inv_norm(&mv) - vmv.sqrt()).abs() < 1e-12);
        let u = [1.0, 2.0, 3.0];
        let umv: f64 = u.iter().zip(&mv).map(|(p, q)| p * q).sum();
        assert!((m.dot(&u, &v) - umv).abs() < 1e-12);
    }

    #[test]
    fn cg_steps_without_a_stored_preconditioned_residual_match_the_stored_one() {
        // M⁻¹r recomputed (diagonal) or kept in the scratch (sampled Hessian) gives the
        // bits of an explicit z = M⁻¹r: rᵀz and d = z + βd, and d = z for the first step.
        let r = [0.3, -1.7, 2.25, 0.05, -0.9];
        let diag = Preconditioner::Diagonal(vec![1.5, 0.25, 3.0, 1.0, 0.7]);
        let a = vec![
            4.0, 0.5, 0.0, 0.0, 0.1, 0.5, 3.0, 0.2, 0.0, 0.0, 0.0, 0.2, 2.0, 0.3, 0.0, 0.0, 0.0,
            0.3, 5.0, 0.4, 0.1, 0.0, 0.0, 0.4, 1.0,
        ];
        let dense = Preconditioner::SampledHessian(Cholesky::factor(a, 5).unwrap());
        for m in [&diag, &dense] {
            let mut z = [0.0; 5];
            m.solve(&r, &mut z);
            let mut scratch = Vec::new();
            let rz = m.cg_residual_dot(&r, &mut scratch);
            let by_dot: f64 = match m {
                Preconditioner::Diagonal(_) => {
                    // The diagonal sums in four lanes by position, as the old sweep did.
                    let mut acc = [0.0; 4];
                    for (t, (rk, zk)) in r.iter().zip(&z).enumerate() {
                        acc[t % 4] += rk * zk;
                    }
                    (acc[0] + acc[1]) + (acc[2] + acc[3])
                }
                Preconditioner::SampledHessian(_) => dot(&r, &z),
            };
            assert_eq!(rz.to_bits(), by_dot.to_bits());
            let mut d = [1.0, -2.0, 0.5, 4.0, -0.25];
            let want: Vec<f64> = z.iter().zip(&d).map(|(zk, dk)| zk + 0.375 * dk).collect();
            m.cg_direction(&r, &scratch, &mut d, Some(0.375));
            assert_eq!(d.to_vec(), want);
            m.cg_direction(&r, &scratch, &mut d, None);
            assert_eq!(d, z);
            assert_eq!(m.inv_norm(&r).to_bits(), dot(&r, &z).sqrt().to_bits());
        }
    }
}
