//! Trust-region Newton method with conjugate-gradient inner solves (TRON), the primal
//! solver of LIBLINEAR's `-s 0`: Lin, Weng & Keerthi, "Trust region Newton method for
//! large-scale logistic regression", JMLR 9 (2008), Alg. 2 and 3; radius update of
//! Lin & Moré, "Newton's method for large bound-constrained optimization problems",
//! SIAM J. Optim. 9 (1999). Needs only Hessian-vector products, never the Hessian.
//! CG is preconditioned and the trust region measured in the M-norm (Hsia, Chiang & Lin,
//! "Preconditioned conjugate gradient methods in truncated Newton frameworks for
//! large-scale linear classification", ACML 2018), with M either their diagonal
//! preconditioner or, for models with few enough parameters, the Hessian estimated on a
//! row sample (see [`PreconditionerChoice`]).
//!
//! Measured against a backtracking line search in place of the trust region (LIBLINEAR
//! ≥ 2.40's globalization: Galli & Lin, IEEE TNNLS 2022; CG to the same residual, Armijo
//! η = 0.01, α halved), same preconditioners, 2026-12-03: on the WordNet text set (26
//! classes, λ = 1e-5) to tol 1e-3 4.0 s vs 4.8 s here, to tol 1e-4 5.6–6.2 s vs
//! 5.95–6.1 s (same 60 products; fewer iterations but full CG solves); on Fashion-MNIST
//! 10 classes to tol 1e-4 397 products (12.8 s) vs 271 (8.6 s); binary sets identical
//! iterates. Not worth a second Newton.

use super::preconditioner::{Preconditioner, PreconditionerChoice, DIAGONAL_ALPHA};
use super::{norm, Observer, SolverReport, StopRule, Tracker};
use crate::error::{Error, Result};
use crate::objective::Objective;
use crate::vector::{dot, update_by, update_with};

#[derive(Debug, Clone, Copy)]
pub struct TrustRegionNewton {
    pub stop: StopRule,
    /// Inner CG stops when ‖r‖ ≤ cg_tol·‖∇J‖ (0.1 in the paper).
    pub cg_tol: f64,
    pub preconditioner: PreconditionerChoice,
}

/// A sampled-Hessian preconditioner is kept across Newton steps (its GEMM costs several
/// passes over the data) until a CG solve needs more than this many products.
const REBUILD_AFTER_CG_STEPS: usize = 4;

// Acceptance and radius constants (JMLR 2008, §2.1).
const ETA0: f64 = 1e-4;
const ETA1: f64 = 0.25;
const ETA2: f64 = 0.75;
const SIGMA1: f64 = 0.25;
const SIGMA2: f64 = 0.5;
const SIGMA3: f64 = 4.0;

/// J and ∇J at the starting point, and ‖∇J(0)‖, from the solver that ran before.
pub(crate) struct KnownPoint {
    pub value: f64,
    pub grad: Vec<f64>,
    pub reference: f64,
}

impl TrustRegionNewton {
    pub fn minimize(
        &self,
        obj: &mut dyn Objective,
        w: &mut [f64],
        observer: Option<Observer>,
    ) -> Result<SolverReport> {
        self.minimize_from(obj, w, None, observer)
    }

    /// [`minimize`](Self::minimize), given what another solver knows at w: the
    /// objective's last `value_grad` was at w and gave `known`.
    pub(crate) fn minimize_from(
        &self,
        obj: &mut dyn Objective,
        w: &mut [f64],
        known: Option<KnownPoint>,
        observer: Option<Observer>,
    ) -> Result<SolverReport> {
        if !obj.is_smooth() {
            return Err(Error::Unsupported(
                "the trust-region Newton solver needs a twice-differentiable objective (use sgd or gd for the hinge loss)".into(),
            ));
        }
        let n = obj.dim();
        let at_zero = w.iter().all(|&v| v == 0.0);
        let (mut tr, mut f, mut g);
        if let Some(known) = known {
            tr = Tracker::starting_at(self.stop.tol, observer);
            tr.set_reference(known.reference);
            (f, g) = (known.value, known.grad);
        } else {
            g = vec![0.0; n];
            (tr, f) = Tracker::evaluating_start(obj, w, &mut g, self.stop.tol, observer);
        }
        let mut builds = 0u64;
        let mut m = self.preconditioner(obj, None, &mut builds);
        // From w = 0 the first radius is ‖∇J‖ (JMLR 2008). From a warm start ‖∇J‖ is small
        // and would cramp the first steps, so the first Newton step is left unconstrained
        // (the first iteration then sets Δ = ‖s‖).
        let mut delta = if at_zero {
            m.inv_norm(&g)
        } else {
            f64::INFINITY
        };
        let mut products = 0;
        let done = |tr: Tracker, converged, reason: String, products| SolverReport {
            hess_vec_products: products,
            ..tr.finish("newton", converged, reason)
        };
        let (mut s, mut r) = (vec![0.0; n], vec![0.0; n]);
        let mut work = CgWork::new(n);
        let mut iter = 0;
        let mut first = true;
        loop {
            let gn = norm(&g);
            tr.record(iter, f, gn)?;
            if tr.converged(gn) {
                return Ok(done(
                    tr,
                    true,
                    format!("gradient norm below tol after {iter} iterations"),
                    products,
                ));
            }
            if iter >= self.stop.max_iter {
                return Ok(done(
                    tr,
                    false,
                    format!("reached max iterations ({})", self.stop.max_iter),
                    products,
                ));
            }
            let cg_steps = self.steihaug_cg(obj, &g, &m, delta, (&mut s, &mut r), &mut work);
            products += cg_steps;
            let gs = dot(&g, &s);
            // q(s) = gᵀs + ½ sᵀHs and Hs = −g − r, so the predicted reduction is −½(gᵀs − sᵀr).
            let prered = -0.5 * (gs - dot(&s, &r));
            // The residual is spent: its vector holds the trial point (one model-sized
            // vector fewer at the peak; the next CG solve starts r afresh).
            let w_new = &mut r;
            update_by(w_new, w, &s, |_, wk, sk| wk + sk);
            // The gradient at the trial point comes with its value in the same pass: most
            // steps are accepted and need it next. It overwrites g (gᵀs and ‖g‖ are kept):
            // a rejected step evaluates w again anyway, to move the objective's curvature
            // back, and that brings g back.
            let f_new = obj.value_grad(w_new, &mut g);
            let actred = f - f_new;
            let snorm = m.norm(&s);
            if first {
                delta = delta.min(snorm);
                first = false;
            }
            let denom = f_new - f - gs;
            let alpha = if denom <= 0.0 {
                SIGMA3
            } else {
                SIGMA1.max(-0.5 * (gs / denom))
            };
            delta = if actred < ETA0 * prered {
                (alpha.max(SIGMA1) * snorm).min(SIGMA2 * delta)
            } else if actred < ETA1 * prered {
                (SIGMA1 * delta).max((alpha * snorm).min(SIGMA2 * delta))
            } else if actred < ETA2 * prered {
                (SIGMA1 * delta).max((alpha * snorm).min(SIGMA3 * delta))
            } else {
                delta.max((alpha * snorm).min(SIGMA3 * delta))
            };
            // Near the optimum the change in J drowns in rounding (|ΔJ| ~ 1e-16·|J|) while
            // the gradient is still measurable; there, judge the step by ‖∇J‖ instead.
            let flat = prered <= 1e-12 * f.abs();
            let accept = if flat {
                norm(&g) < gn
            } else {
                actred > ETA0 * prered
            };
            if accept {
                iter += 1;
                w.copy_from_slice(w_new);
                f = f_new;
                if !matches!(m, Preconditioner::SampledHessian(_))
                    || cg_steps > REBUILD_AFTER_CG_STEPS
                {
                    m = self.preconditioner(obj, Some(m), &mut builds);
                }
            } else if flat {
                return Ok(done(
                    tr,
                    false,
                    format!("no further progress possible at iteration {iter} (step changes J and ‖∇J‖ below rounding)"),
                    products,
                ));
            } else {
                // Back to the curvature and gradient at w for the next CG solve (same w:
                // the same f and the same bits of g).
                obj.value_grad(w, &mut g);
            }
            if delta < 1e-300 {
                return Ok(done(
                    tr,
                    false,
                    format!("trust region vanished at iteration {iter}"),
                    products,
                ));
            }
        }
    }

    /// The preconditioner at the objective's last `value_grad` point. `Auto` tries the
    /// sampled Hessian first and, once it has failed (too large, not positive definite),
    /// stays with the diagonal instead of trying again (`previous` tells).
    fn preconditioner(
        &self,
        obj: &dyn Objective,
        previous: Option<Preconditioner>,
        builds: &mut u64,
    ) -> Preconditioner {
        let tried_and_failed = matches!(previous, Some(Preconditioner::Diagonal(_))) && *builds > 0;
        let sampled = match self.preconditioner {
            PreconditionerChoice::Diagonal | PreconditionerChoice::Jacobi => false,
            PreconditionerChoice::SampledHessian => true,
            PreconditionerChoice::Auto => !tried_and_failed,
        };
        if sampled {
            *builds += 1;
            if let Some(m) = Preconditioner::sampled_hessian(obj, *builds) {
                return m;
            }
        }
        let alpha = match self.preconditioner {
            PreconditionerChoice::Diagonal => DIAGONAL_ALPHA,
            PreconditionerChoice::Jacobi => 1.0,
            PreconditionerChoice::Auto | PreconditionerChoice::SampledHessian => {
                obj.diagonal_weight()
            }
        };
        Preconditioner::diagonal(obj, alpha, previous)
    }

    /// Approximately solves ∇²J s = −g inside ‖s‖_M ≤ Δ by preconditioned conjugate
    /// gradients, stopping at the boundary (Steihaug). Leaves the residual r = −g − ∇²J s;
    /// returns the number of Hessian-vector products.
    ///
    /// ‖s‖²_M, sᵀMd and dᵀMd follow from the CG scalars by recurrences (Conn, Gould &
    /// Toint, *Trust-Region Methods*, 2000, §7.5.1), and each step touches each vector
    /// once or twice: with millions of parameters (a softmax over text) the vector
    /// algebra otherwise cost as much as the Hessian-vector product itself.
    fn steihaug_cg(
        &self,
        obj: &dyn Objective,
        g: &[f64],
        m: &Preconditioner,
        delta: f64,
        (s, r): (&mut [f64], &mut [f64]),
        work: &mut CgWork,
    ) -> usize {
        let n = g.len();
        let CgWork { scratch, d, hd } = work;
        s.iter_mut().for_each(|v| *v = 0.0);
        r.iter_mut().zip(g).for_each(|(rk, gk)| *rk = -gk);
        let mut rz = m.cg_residual_dot(r, scratch);
        m.cg_direction(r, scratch, d, None);
        let cg_stop = self.cg_tol * rz.sqrt();
        // ‖s‖²_M, sᵀMd, dᵀMd.
        let (mut sms, mut smd, mut dmd) = (0.0, 0.0, rz);
        let mut it = 0;
        while rz.sqrt() > cg_stop && it < 10 * n.max(10) {
            it += 1;
            obj.hess_vec(d, hd);
            let dhd = dot(d, hd);
            if dhd <= 0.0 && !delta.is_finite() {
                break; // no curvature along d and no boundary to step to
            }
            let alpha = rz / dhd;
            let sms_next = sms + 2.0 * alpha * smd + alpha * alpha * dmd;
            if sms_next.sqrt() > delta || dhd <= 0.0 {
                // Move to the boundary along d: τ ≥ 0 with ‖s + τd‖_M = Δ.
                let rad = (smd * smd + dmd * (delta * delta - sms)).max(0.0).sqrt();
                let tau = if smd >= 0.0 {
                    (delta * delta - sms) / (smd + rad)
                } else {
                    (rad - smd) / dmd
                };
                update_with(s, d, |sk, dk| sk + tau * dk);
                update_with(r, hd, |rk, hk| rk - tau * hk);
                break;
            }
            let rz_new = m.cg_step(alpha, (s, d), (r, hd), scratch);
            let beta = rz_new / rz;
            m.cg_direction(r, scratch, d, Some(beta));
            sms = sms_next;
            smd = beta * (smd + alpha * dmd);
            dmd = rz_new + beta * beta * dmd;
            rz = rz_new;
        }
        it
    }
}

/// Conjugate-gradient work vectors, allocated once per solve: vectors of millions of
/// entries are fresh pages from the kernel on every allocation. `scratch` holds M⁻¹r
/// only for a preconditioner that is not diagonal ([`Preconditioner::cg_residual_dot`]).
struct CgWork {
    scratch: Vec<f64>,
    d: Vec<f64>,
    hd: Vec<f64>,
}

impl CgWork {
    fn new(n: usize) -> CgWork {
        CgWork {
            scratch: Vec::new(),
            d: vec![0.0; n],
            hd: vec![0.0; n],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::testing::ill_conditioned;

    #[test]
    fn converges_on_a_quadratic_in_few_steps() {
        let mut q = ill_conditioned();
        let mut w = vec![0.0; 4];
        let solver = TrustRegionNewton {
            stop: StopRule {
                tol: 1e-10,
                max_iter: 100,
            },
            cg_tol: 0.1,
            preconditioner: PreconditionerChoice::Auto,
        };
        let r = solver.minimize(&mut q, &mut w, None).unwrap();
        assert!(r.converged && r.iterations < 20, "{r:?}");
        for k in 0..4 {
            assert!((w[k] - q.c[k]).abs() < 1e-8);
        }
    }
}
