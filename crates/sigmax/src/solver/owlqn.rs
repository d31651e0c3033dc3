//! Orthant-wise limited-memory quasi-Newton (OWL-QN; Andrew & Gao, "Scalable training of
//! L1-regularized log-linear models", ICML 2007) for J(w) = f(w) + λ₁‖w_P‖₁ with f smooth
//! (the objective's value and gradient) and P the penalized parameters (the weights, not
//! the intercepts).
//!
//! Each iteration takes the pseudo-gradient ◇J (the steepest-descent direction of the
//! non-smooth J, §3.1), turns it by the L-BFGS approximation built from the smooth part's
//! (s, y) pairs, drops the direction's entries that disagree in sign with −◇J, and
//! searches along it with every step projected onto the orthant of the current point
//! (coordinates that would change sign become exactly 0). So weights reach exact zeros,
//! and the sparsity pattern is the optimum's. It stops when ‖◇J(w)‖ ≤ tol·‖◇J(0)‖; at
//! that point the subgradient optimality conditions hold to that tolerance.

use super::lbfgs::CurvaturePairs;
use super::{norm, Observer, SolverReport, StopRule, Tracker};
use crate::error::{Error, Result};
use crate::objective::{L1Penalty, Objective};
use crate::vector::dot;

#[derive(Debug, Clone, Copy)]
pub struct OwlQn {
    pub stop: StopRule,
    /// Number of (s, y) pairs kept.
    pub memory: usize,
}

/// The pseudo-gradient of f + λ₁‖w_P‖₁ (Andrew & Gao 2007, eq. 4): on a penalized
/// coordinate at 0, the one-sided derivative that descends, or 0 when neither does.
pub fn pseudo_gradient(w: &[f64], g: &[f64], l1: &L1Penalty, out: &mut [f64]) {
    let lam = l1.strength;
    for k in 0..w.len() {
        out[k] = if k >= l1.penalized || lam == 0.0 {
            g[k]
        } else if w[k] > 0.0 {
            g[k] + lam
        } else if w[k] < 0.0 {
            g[k] - lam
        } else if g[k] + lam < 0.0 {
            g[k] + lam
        } else if g[k] - lam > 0.0 {
            g[k] - lam
        } else {
            0.0
        };
    }
}

impl OwlQn {
    pub fn minimize(
        &self,
        obj: &mut dyn Objective,
        w: &mut [f64],
        observer: Option<Observer>,
    ) -> Result<SolverReport> {
        if !obj.is_smooth() {
            return Err(Error::Unsupported(
                "OWL-QN needs a differentiable loss beside the L1 penalty".into(),
            ));
        }
        let n = obj.dim();
        let l1 = obj.l1_penalty();
        let full = |f: f64, w: &[f64]| f + l1.value(w);
        let mut tr = Tracker::starting_at(self.stop.tol, observer);
        let (mut g, mut pg) = (vec![0.0; n], vec![0.0; n]);
        let zero = vec![0.0; n];
        // ‖◇J(0)‖ is the reference of the stopping rule; from w = 0 (no warm start) that
        // pass is also the first iterate's.
        let f_zero = obj.value_grad(&zero, &mut g);
        pseudo_gradient(&zero, &g, &l1, &mut pg);
        tr.set_reference(norm(&pg).max(f64::MIN_POSITIVE));
        let mut f = if w.iter().all(|&v| v == 0.0) {
            f_zero
        } else {
            obj.value_grad(w, &mut g)
        };
        let mut pairs = CurvaturePairs::new(self.memory);
        let (mut w_new, mut g_new, mut dir) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut orthant = vec![0.0; n];
        for it in 0..self.stop.max_iter {
            pseudo_gradient(w, &g, &l1, &mut pg);
            let pgn = norm(&pg);
            let fj = full(f, w);
            tr.record(it, fj, pgn)?;
            if tr.converged(pgn) {
                return Ok(tr.finish(
                    "owlqn",
                    true,
                    format!("pseudo-gradient norm below tol after {it} iterations"),
                ));
            }
            // The quasi-Newton direction for −◇J, kept in the descent half-space of each
            // coordinate (§3.2: d_i = 0 where sign(d_i) ≠ sign(−◇J_i)).
            pairs.direction(&pg, &mut dir);
            for k in 0..n {
                if dir[k] * pg[k] >= 0.0 {
                    dir[k] = 0.0;
                }
                orthant[k] = if w[k] != 0.0 {
                    w[k].signum()
                } else {
                    -pg[k].signum()
                };
            }
            if dot(&dir, &pg) >= 0.0 {
                pairs.clear();
                dir.iter_mut().zip(&pg).for_each(|(d, p)| *d = -p);
            }
            let mut step = if pairs.is_empty() {
                1.0 / pgn.max(1.0)
            } else {
                1.0
            };
            let accepted = loop {
                for k in 0..n {
                    let v = w[k] + step * dir[k];
                    // Projection onto the orthant: penalized coordinates may not cross 0.
                    w_new[k] = if k < l1.penalized && v * orthant[k] <= 0.0 {
                        0.0
                    } else {
                        v
                    };
                }
                let ft = obj.value(&w_new);
                let moved: f64 = (0..n).map(|k| pg[k] * (w_new[k] - w[k])).sum();
                let jt = full(ft, &w_new);
                if jt <= fj + 1e-4 * moved {
                    break Some(obj.value_grad(&w_new, &mut g_new));
                }
                // At the optimum J changes below its rounding: judge by ‖◇J‖ there.
                if (jt - fj).abs() <= 1e-13 * fj.abs() {
                    let fg = obj.value_grad(&w_new, &mut g_new);
                    let mut pg_new = vec![0.0; n];
                    pseudo_gradient(&w_new, &g_new, &l1, &mut pg_new);
                    if norm(&pg_new) < pgn {
                        break Some(fg);
                    }
                }
                step *= 0.5;
                if step < 1e-20 {
                    break None;
                }
            };
            let Some(f_new) = accepted else {
                return tr.no_descent("owlqn", it, fj, pgn);
            };
            // The pairs describe the smooth part's curvature (§3.2).
            pairs.push(&w_new, w, &g_new, &g);
            w.copy_from_slice(&w_new);
            g.copy_from_slice(&g_new);
            f = f_new;
        }
        pseudo_gradient(w, &g, &l1, &mut pg);
        let pgn = norm(&pg);
        tr.record(self.stop.max_iter, full(f, w), pgn)?;
        let done = tr.converged(pgn);
        Ok(tr.finish(
            "owlqn",
            done,
            format!("reached max iterations ({})", self.stop.max_iter),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::testing::Quadratic;

    /// ½ Σ a_k (w_k − c_k)² + λ|w|: the optimum is soft-thresholding, w_k =
    /// sign(c_k)·max(0, |c_k| − λ/a_k), in closed form.
    struct Lasso(Quadratic, f64, usize);
    impl Objective for Lasso {
        fn dim(&self) -> usize {
            self.0.dim()
        }
        fn value(&mut self, w: &[f64]) -> f64 {
            self.0.value(w)
        }
        fn value_grad(&mut self, w: &[f64], g: &mut [f64]) -> f64 {
            self.0.value_grad(w, g)
        }
        fn hess_vec(&self, v: &[f64], out: &mut [f64]) -> bool {
            self.0.hess_vec(v, out)
        }
        fn l1_penalty(&self) -> L1Penalty {
            L1Penalty {
                strength: self.1,
                penalized: self.2,
            }
        }
        fn is_smooth(&self) -> bool {
            true
        }
    }

    #[test]
    fn reaches_the_soft_thresholded_optimum_with_exact_zeros() {
        let q = Quadratic {
            a: vec![1.0, 10.0, 100.0, 0.5, 2.0],
            c: vec![1.0, -0.05, 0.5, 3.0, 0.1],
        };
        let lam = 0.6;
        // The last coordinate is unpenalized (an intercept).
        let expected: Vec<f64> = (0..5)
            .map(|k| {
                if k == 4 {
                    q.c[k]
                } else {
                    q.c[k].signum() * (q.c[k].abs() - lam / q.a[k]).max(0.0)
                }
            })
            .collect();
        let mut obj = Lasso(q, lam, 4);
        let mut w = vec![0.0; 5];
        let r = OwlQn {
            stop: StopRule {
                tol: 1e-12,
                max_iter: 500,
            },
            memory: 10,
        }
        .minimize(&mut obj, &mut w, None)
        .unwrap();
        assert!(r.converged, "{r:?}");
        for k in 0..5 {
            assert!(
                (w[k] - expected[k]).abs() < 1e-9,
                "w[{k}] = {} vs {}",
                w[k],
                expected[k]
            );
            if expected[k] == 0.0 {
                assert_eq!(w[k], 0.0, "exact zero at {k}");
            }
        }
    }
}
