//! Full-batch gradient descent: w ← w − η∇J(w), with a fixed learning rate η or a
//! backtracking (Armijo) line search (Nocedal & Wright, Numerical Optimization, Alg. 3.1).

use super::{check_growth, norm, Observer, SolverReport, StopRule, Tracker};
use crate::error::{Error, Result};
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
        let mut rises = 0usize;
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
                    if ft <= f - C * eta * gn * gn {
                        break;
                    }
                    eta *= 0.5;
                    if eta < 1e-20 * self.learning_rate {
                        // No step along −∇J lowers J (rounding swamps the decrease): the
                        // problem is too badly scaled for this solver; w stays as it was.
                        return Err(Error::Diverged {
                            iteration: it,
                            objective: f,
                            advice: "the line search found no step that lowers the objective (features of very different scales?); scale the features or use newton or lbfgs",
                        });
                    }
                }
                w.copy_from_slice(&trial);
                f = obj.value_grad(w, &mut g);
                eta *= 2.0;
            } else {
                for k in 0..w.len() {
                    w[k] -= eta * g[k];
                }
                let before = f;
                f = obj.value_grad(w, &mut g);
                check_growth(it + 1, f, f_start)?;
                rises += usize::from(f > before);
            }
        }
        let gn = norm(&g);
        tr.record(self.stop.max_iter, f, gn)?;
        let done = tr.converged(gn);
        // A fixed step no larger than 2/L lowers J on every step; one that made J end above
        // its start, or rise on many steps, oscillates: the step is too large.
        if !done && (f > f_start || rises * 10 > self.stop.max_iter) {
            return Err(Error::Diverged {
                iteration: self.stop.max_iter,
                objective: f,
                advice: if f > f_start {
                    "the objective ended above its starting value; try a smaller learning rate or the line search"
                } else {
                    "the objective rose on more than a tenth of the steps (oscillation); try a smaller learning rate or the line search"
                },
            });
        }
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

    /// A step between 2/L and the growth limit oscillates without blowing up: still a
    /// divergence (J = ½·100·w² with η = 0.0201 > 2/100 grows by 1.0201² per step).
    #[test]
    fn a_step_that_ends_above_the_start_is_a_divergence() {
        let mut q = super::super::testing::Quadratic {
            a: vec![100.0],
            c: vec![1.0],
        };
        let mut w = vec![0.0];
        let gd = GradientDescent {
            stop: StopRule {
                tol: 1e-8,
                max_iter: 100,
            },
            learning_rate: 0.0201,
            line_search: false,
        };
        match gd.minimize(&mut q, &mut w, None) {
            Err(Error::Diverged { advice, .. }) => assert!(advice.contains("smaller"), "{advice}"),
            other => panic!("expected divergence, got {other:?}"),
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
