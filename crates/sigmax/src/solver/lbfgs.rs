//! Limited-memory BFGS: the two-loop recursion for the search direction (Nocedal &
//! Wright, Numerical Optimization, Alg. 7.4) with a backtracking Armijo line search
//! starting at the unit step; a pair (s, y) is kept only when sᵀy > 0.

use super::{norm, Observer, SolverReport, StopRule, Tracker};
use crate::error::Result;
use crate::objective::Objective;
use crate::vector::dot;
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy)]
pub struct Lbfgs {
    pub stop: StopRule,
    /// Number of (s, y) pairs kept.
    pub memory: usize,
}

impl Lbfgs {
    pub fn minimize(
        &self,
        obj: &mut dyn Objective,
        w: &mut [f64],
        observer: Option<Observer>,
    ) -> Result<SolverReport> {
        let n = obj.dim();
        let mut tr = Tracker::new(obj, self.stop.tol, observer);
        let mut g = vec![0.0; n];
        let mut f = obj.value_grad(w, &mut g);
        let mut pairs = CurvaturePairs::new(self.memory);
        let (mut w_new, mut g_new, mut dir) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for it in 0..self.stop.max_iter {
            let gn = norm(&g);
            tr.record(it, f, gn)?;
            if tr.converged(gn) {
                return Ok(tr.finish(
                    "lbfgs",
                    true,
                    format!("gradient norm below tol after {it} iterations"),
                ));
            }
            pairs.direction(&g, &mut dir);
            let mut slope = dot(&g, &dir);
            if slope >= 0.0 {
                // Not a descent direction (numerical trouble): restart from steepest descent.
                pairs.clear();
                dir.iter_mut().zip(&g).for_each(|(d, gk)| *d = -gk);
                slope = -gn * gn;
            }
            let mut step = if pairs.is_empty() {
                1.0 / gn.max(1.0)
            } else {
                1.0
            };
            let f_new = loop {
                for k in 0..n {
                    w_new[k] = w[k] + step * dir[k];
                }
                let ft = obj.value(&w_new);
                if ft <= f + 1e-4 * step * slope {
                    break Some(obj.value_grad(&w_new, &mut g_new));
                }
                // Near the optimum J changes below its rounding error; judge the step by
                // the gradient norm there instead (as the trust-region solver does).
                if (ft - f).abs() <= 1e-13 * f.abs() {
                    let fg = obj.value_grad(&w_new, &mut g_new);
                    if norm(&g_new) < gn {
                        break Some(fg);
                    }
                }
                step *= 0.5;
                if step < 1e-20 {
                    break None;
                }
            };
            let Some(f_new) = f_new else {
                return tr.no_descent("lbfgs", it, f, gn);
            };
            pairs.push(&w_new, w, &g_new, &g);
            w.copy_from_slice(&w_new);
            g.copy_from_slice(&g_new);
            f = f_new;
        }
        let gn = norm(&g);
        tr.record(self.stop.max_iter, f, gn)?;
        let done = tr.converged(gn);
        Ok(tr.finish(
            "lbfgs",
            done,
            format!("reached max iterations ({})", self.stop.max_iter),
        ))
    }
}

/// The last `memory` pairs (s, y) = (w_new − w, ∇f(w_new) − ∇f(w)) with sᵀy > 0: the
/// L-BFGS approximation of the inverse Hessian (shared with OWL-QN).
pub(super) struct CurvaturePairs {
    pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)>,
    memory: usize,
    /// Vectors of a dropped or refused pair, for the next one.
    spare: Option<(Vec<f64>, Vec<f64>)>,
}

impl CurvaturePairs {
    pub fn new(memory: usize) -> Self {
        CurvaturePairs {
            pairs: VecDeque::new(),
            memory,
            spare: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn clear(&mut self) {
        self.pairs.clear();
    }

    /// Keeps the step's pair when sᵀy is safely positive (else the approximation would
    /// lose positive definiteness), dropping the oldest beyond `memory`. The dropped
    /// pair's vectors are reused (with millions of parameters each new vector is fresh
    /// pages from the kernel).
    pub fn push(&mut self, w_new: &[f64], w: &[f64], g_new: &[f64], g: &[f64]) {
        let (mut s, mut y) = self
            .spare
            .take()
            .unwrap_or_else(|| (vec![0.0; w.len()], vec![0.0; w.len()]));
        s.iter_mut()
            .zip(w_new.iter().zip(w))
            .for_each(|(sk, (a, b))| *sk = a - b);
        y.iter_mut()
            .zip(g_new.iter().zip(g))
            .for_each(|(yk, (a, b))| *yk = a - b);
        let sy = dot(&s, &y);
        if sy > 1e-12 * norm(&s) * norm(&y) {
            if self.pairs.len() == self.memory {
                self.spare = self.pairs.pop_front().map(|(s, y, _)| (s, y));
            }
            self.pairs.push_back((s, y, 1.0 / sy));
        } else {
            self.spare = Some((s, y));
        }
    }

    /// dir = −H·g with H the L-BFGS inverse-Hessian approximation, scaled by sᵀy/yᵀy
    /// (the two-loop recursion).
    pub fn direction(&self, g: &[f64], dir: &mut [f64]) {
        dir.iter_mut().zip(g).for_each(|(d, gk)| *d = -gk);
        let mut alpha = vec![0.0; self.pairs.len()];
        for (i, (s, y, rho)) in self.pairs.iter().enumerate().rev() {
            alpha[i] = rho * dot(s, dir);
            dir.iter_mut()
                .zip(y)
                .for_each(|(d, yk)| *d -= alpha[i] * yk);
        }
        if let Some((s, y, _)) = self.pairs.back() {
            let gamma = dot(s, y) / dot(y, y);
            dir.iter_mut().for_each(|d| *d *= gamma);
        }
        for (i, (s, y, rho)) in self.pairs.iter().enumerate() {
            let beta = rho * dot(y, dir);
            dir.iter_mut()
                .zip(s)
                .for_each(|(d, sk)| *d += (alpha[i] - beta) * sk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::testing::ill_conditioned;

    #[test]
    fn converges_on_a_quadratic() {
        let mut q = ill_conditioned();
        let mut w = vec![0.0; 4];
        let r = Lbfgs {
            stop: StopRule {
                tol: 1e-10,
                max_iter: 200,
            },
            memory: 5,
        }
        .minimize(&mut q, &mut w, None)
        .unwrap();
        assert!(r.converged && r.iterations < 50, "{r:?}");
        for k in 0..4 {
            assert!((w[k] - q.c[k]).abs() < 1e-8);
        }
    }
}
