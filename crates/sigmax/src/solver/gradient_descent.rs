//! Full-batch gradient descent: w ← w − η∇J(w), with a fixed learning rate η or a
//! backtracking (Armijo) line search (Nocedal & Wright, Numerical Optimization, Alg. 3.1).

use super::{check_growth, norm, Observer, SolverReport, StopRule, Tracker};
use crate::error::Result;
use crate::objective::Objective;

#[derive(Debug, Clone, Copy)]
pub struct GradientDescent {
    pub stop: StopRule,
    /// Fixed step, or the first trial step of the line search.
    pub learning_rate: f64,
    /// Backtracking line search instead of a fixed step.
    pub line_search: bool,
}

impl GradientDescent {
    pub fn minimize(
        &self,
        obj: &mut dyn Objective,
        w: &mut [f64],
        observer: Option<Observer>,
    ) -> Result<SolverReport> {
        let mut tr = Tracker::new(obj, self.stop.tol, observer);
        let mut g = vec![0.0; obj.dim()];
        let mut trial = vec![0.0; obj.dim()];
        let mut f = obj.value_grad(w, &mut g);
        let f_start = f;
        let mut eta = self.learning_rate;
        for it in 0..self.stop.max_iter {
            let gn = norm(&g);
            tr.record(it, f, gn)?;
            if tr.converged(gn) {
                return Ok(tr.finish(
                    "gd",
                    true,
                    format!("gradient norm below tol after {it} iterations"),
                ));
            }
            if self.line_search {
                // Armijo: J(w − ηg) ≤ J(w) − c η ‖g‖², halving η; grow it again afterwards.
                const C: f64 = 1e-4;
                loop {
                    for k in 0..w.len() {
                        trial[k] = w[k] - eta * g[k];
                    }
                    let ft = obj.value(&trial);
                    if ft <= f - C * eta * gn * gn || eta < 1e-20 {
                        break;
                    }
                    eta *= 0.5;
                }
                w.copy_from_slice(&trial);
                f = obj.value_grad(w, &mut g);
                eta *= 2.0;
            } else {
                for k in 0..w.len() {
                    w[k] -= eta * g[k];
                }
                f = obj.value_grad(w, &mut g);
                check_growth(it + 1, f, f_start)?;
            }
        }
        let gn = norm(&g);
        tr.record(self.stop.max_iter, f, gn)?;
        let done = tr.converged(gn);
        Ok(tr.finish(
            "gd",
            done,
            format!("reached max iterations ({})", self.stop.max_iter),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::solver::testing::ill_conditioned;

    #[test]
    fn fixed_step_and_line_search_converge() {
        for line_search in [false, true] {
            let mut q = ill_conditioned();
            let mut w = vec![0.0; 4];
            let gd = GradientDescent {
                stop: StopRule {
                    tol: 1e-10,
                    max_iter: 100_000,
                },
                learning_rate: 0.015,
                line_search,
            };
            let r = gd.minimize(&mut q, &mut w, None).unwrap();
            assert!(r.converged, "{r:?}");
            for k in 0..4 {
                assert!((w[k] - q.c[k]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn too_large_step_reports_divergence() {
        let mut q = ill_conditioned();
        let mut w = vec![0.0; 4];
        let gd = GradientDescent {
            stop: StopRule {
                tol: 1e-8,
                max_iter: 1000,
            },
            learning_rate: 0.5,
            line_search: false,
        };
        match gd.minimize(&mut q, &mut w, None) {
            Err(Error::Diverged { advice, .. }) => {
                assert!(advice.contains("smaller learning rate"))
            }
            other => panic!("expected divergence, got {other:?}"),
        }
    }
}
