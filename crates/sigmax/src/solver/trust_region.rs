//! Trust-region Newton method with conjugate-gradient inner solves (TRON), the primal
//! solver of LIBLINEAR's `-s 0`: Lin, Weng & Keerthi, "Trust region Newton method for
//! large-scale logistic regression", JMLR 9 (2008), Alg. 2 and 3; radius update of
//! Lin & Moré, "Newton's method for large bound-constrained optimization problems",
//! SIAM J. Optim. 9 (1999). Needs only Hessian-vector products, never the Hessian.

use super::{norm, Observer, SolverReport, StopRule, Tracker};
use crate::error::{Error, Result};
use crate::objective::{dot, Objective};

#[derive(Debug, Clone, Copy)]
pub struct TrustRegionNewton {
    pub stop: StopRule,
    /// Inner CG stops when ‖r‖ ≤ cg_tol·‖∇J‖ (0.1 in the paper).
    pub cg_tol: f64,
}

// Acceptance and radius constants (JMLR 2008, §2.1).
const ETA0: f64 = 1e-4;
const ETA1: f64 = 0.25;
const ETA2: f64 = 0.75;
const SIGMA1: f64 = 0.25;
const SIGMA2: f64 = 0.5;
const SIGMA3: f64 = 4.0;

impl TrustRegionNewton {
    pub fn minimize(&self, obj: &mut dyn Objective, w: &mut [f64], observer: Option<Observer>) -> Result<SolverReport> {
        if !obj.is_smooth() {
            return Err(Error::Unsupported(
                "the trust-region Newton solver needs a twice-differentiable objective (use sgd or gd for the hinge loss)".into(),
            ));
        }
        let n = obj.dim();
        let mut tr = Tracker::new(obj, self.stop.tol, observer);
        let mut g = vec![0.0; n];
        let mut f = obj.value_grad(w, &mut g);
        let mut delta = norm(&g);
        let (mut s, mut r, mut w_new, mut g_new) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut f_new_cached: Option<f64> = None;
        let mut iter = 0;
        let mut first = true;
        loop {
            let gn = norm(&g);
            tr.record(iter, f, gn)?;
            if tr.converged(gn) {
                return Ok(tr.finish("newton", true, format!("gradient norm below tol after {iter} iterations")));
            }
            if iter >= self.stop.max_iter {
                return Ok(tr.finish("newton", false, format!("reached max iterations ({})", self.stop.max_iter)));
            }
            self.steihaug_cg(obj, &g, delta, &mut s, &mut r);
            for k in 0..n {
                w_new[k] = w[k] + s[k];
            }
            let gs = dot(&g, &s);
            // q(s) = gᵀs + ½ sᵀHs and Hs = −g − r, so the predicted reduction is −½(gᵀs − sᵀr).
            let prered = -0.5 * (gs - dot(&s, &r));
            let f_new = obj.value(&w_new);
            let actred = f - f_new;
            let snorm = norm(&s);
            if first {
                delta = delta.min(snorm);
                first = false;
            }
            let denom = f_new - f - gs;
            let alpha = if denom <= 0.0 { SIGMA3 } else { SIGMA1.max(-0.5 * (gs / denom)) };
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
                let f_trial = obj.value_grad(&w_new, &mut g_new);
                let better = norm(&g_new) < norm(&g);
                if better {
                    f_new_cached = Some(f_trial);
                }
                better
            } else {
                actred > ETA0 * prered
            };
            if accept {
                iter += 1;
                w.copy_from_slice(&w_new);
                f = match f_new_cached.take() {
                    Some(v) => {
                        g.copy_from_slice(&g_new);
                        v
                    }
                    None => obj.value_grad(w, &mut g),
                };
            } else if flat {
                return Ok(tr.finish(
                    "newton",
                    false,
                    format!("no further progress possible at iteration {iter} (step changes J and ‖∇J‖ below rounding)"),
                ));
            } else {
                // Rejected step: the Hessian-vector products need the curvature at w again.
                obj.value_grad(w, &mut g);
            }
            if delta < 1e-300 {
                return Ok(tr.finish("newton", false, format!("trust region vanished at iteration {iter}")));
            }
        }
    }

    /// Approximately solves ∇²J s = −g inside ‖s‖ ≤ Δ by conjugate gradients, stopping at
    /// the boundary (Steihaug). Leaves the residual r = −g − ∇²J s.
    fn steihaug_cg(&self, obj: &dyn Objective, g: &[f64], delta: f64, s: &mut [f64], r: &mut [f64]) {
        let n = g.len();
        s.iter_mut().for_each(|v| *v = 0.0);
        r.iter_mut().zip(g).for_each(|(rk, gk)| *rk = -gk);
        let mut d = r.to_vec();
        let mut hd = vec![0.0; n];
        let mut rtr = dot(r, r);
        let cg_stop = self.cg_tol * norm(g);
        let mut it = 0;
        while rtr.sqrt() > cg_stop && it < 10 * n.max(10) {
            it += 1;
            obj.hess_vec(&d, &mut hd);
            let dhd = dot(&d, &hd);
            let alpha = rtr / dhd;
            for k in 0..n {
                s[k] += alpha * d[k];
            }
            if norm(s) > delta || dhd <= 0.0 {
                // Back up and move to the boundary along d: find τ ≥ 0 with ‖s + τd‖ = Δ.
                for k in 0..n {
                    s[k] -= alpha * d[k];
                }
                let (std, sts, dtd) = (dot(s, &d), dot(s, s), dot(&d, &d));
                let rad = (std * std + dtd * (delta * delta - sts)).max(0.0).sqrt();
                let tau = if std >= 0.0 { (delta * delta - sts) / (std + rad) } else { (rad - std) / dtd };
                for k in 0..n {
                    s[k] += tau * d[k];
                    r[k] -= tau * hd[k];
                }
                break;
            }
            for k in 0..n {
                r[k] -= alpha * hd[k];
            }
            let rnew = dot(r, r);
            let beta = rnew / rtr;
            for k in 0..n {
                d[k] = r[k] + beta * d[k];
            }
            rtr = rnew;
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
        let solver = TrustRegionNewton { stop: StopRule { tol: 1e-10, max_iter: 100 }, cg_tol: 0.1 };
        let r = solver.minimize(&mut q, &mut w, None).unwrap();
        assert!(r.converged && r.iterations < 20, "{r:?}");
        for k in 0..4 {
            assert!((w[k] - q.c[k]).abs() < 1e-8);
        }
    }
}
