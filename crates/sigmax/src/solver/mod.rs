//! Solvers, generic over [`Objective`]: they see only
//! value, gradient and Hessian-vector products.
//!
//! Every solver stops when ‖∇J(w)‖ ≤ tol·‖∇J(0)‖ (relative to the gradient at w = 0, as
//! LIBLINEAR does, so a tolerance means the same on every dataset and warm starts are
//! judged fairly) or after `max_iter` iterations, and returns a [`SolverReport`] saying
//! which happened. Nothing falls back silently.

//!
//! Every solver implements [`Solver`]; [`registry`] names them and holds their defaults.

mod dual_cd;
mod dual_cd_logistic;
mod dual_replicas;
mod gradient_descent;
mod intercept_search;
mod lbfgs;
mod owlqn;
mod preconditioner;
pub mod registry;
mod saga;
mod sgd;
mod trust_region;

pub use dual_cd::DualCoordinateDescent;
pub use gradient_descent::GradientDescent;
pub use lbfgs::Lbfgs;
pub use owlqn::{pseudo_gradient, OwlQn};
pub use preconditioner::PreconditionerChoice;
pub use registry::{Schedule, Solver, SolverChoice, SolverSettings};
pub use saga::{Saga, SagaThenNewton};
pub use sgd::{LearningRateSchedule, Sgd};
pub use trust_region::TrustRegionNewton;

use crate::error::{Error, Result};
use crate::objective::Objective;
pub(crate) use crate::vector::norm;
use serde::Serialize;
use std::time::Instant;

/// When to stop.
#[derive(Debug, Clone, Copy)]
pub struct StopRule {
    /// Relative gradient-norm tolerance: stop when ‖∇J(w)‖ ≤ tol·‖∇J(0)‖.
    pub tol: f64,
    /// Most iterations (epochs for SGD).
    pub max_iter: usize,
}

/// One line of a solver's history.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IterRecord {
    pub iteration: usize,
    pub objective: f64,
    pub grad_norm: f64,
    pub seconds: f64,
}

/// What a solver did, returned as data.
#[derive(Debug, Clone, Serialize)]
pub struct SolverReport {
    pub solver: &'static str,
    pub converged: bool,
    pub iterations: usize,
    pub objective: f64,
    pub grad_norm: f64,
    /// ‖∇J(0)‖, the reference of the relative stopping rule.
    pub grad_norm_at_zero: f64,
    pub seconds: f64,
    /// Hessian-vector products (Newton's CG steps; 0 for first-order solvers): with the
    /// gradients, the passes over the data.
    pub hess_vec_products: usize,
    /// Why it stopped, in words.
    pub stop_reason: String,
    /// For a solver run in stages (`saga-newton`): each stage's unit of work and count,
    /// e.g. ("SAGA epoch", 9), ("Newton iteration", 1), which `iterations` adds up (the
    /// SAGA stage alone when it reached the tolerance); empty for other solvers.
    pub stages: Vec<(&'static str, usize)>,
    pub history: Vec<IterRecord>,
}

/// Receives each iteration as it happens (progress bars, logs, a caller's interrupt
/// check); `ControlFlow::Break` stops the fit with [`Error::Interrupted`].
pub type Observer<'a> = &'a mut dyn FnMut(&IterRecord) -> std::ops::ControlFlow<()>;

/// Where a failed line search stops being an error: the gradient below this fraction of
/// ‖∇J(0)‖ (the fit is then near its optimum, where J changes below its rounding).
pub(crate) const NO_DESCENT_NEAR: f64 = 1e-3;

/// Bookkeeping shared by all solvers: timing, history, the stopping test.
pub(crate) struct Tracker<'o> {
    start: Instant,
    history: Vec<IterRecord>,
    observer: Option<Observer<'o>>,
    pub g0: f64,
    pub tol: f64,
}

impl<'o> Tracker<'o> {
    /// Measures ‖∇J(0)‖ (one gradient evaluation) for the relative stopping rule.
    pub fn new(obj: &mut dyn Objective, tol: f64, observer: Option<Observer<'o>>) -> Tracker<'o> {
        let mut tr = Tracker::starting_at(tol, observer);
        let mut g = vec![0.0; obj.dim()];
        obj.value_grad(&vec![0.0; obj.dim()], &mut g);
        tr.set_reference(norm(&g));
        tr
    }

    /// J(w), with ∇J(w) into `grad` (the objective's last evaluation is at w), and a
    /// tracker whose reference is ‖∇J(0)‖: that same gradient when w = 0, else one more
    /// evaluation, at 0, first.
    pub fn evaluating_start(
        obj: &mut dyn Objective,
        w: &[f64],
        grad: &mut [f64],
        tol: f64,
        observer: Option<Observer<'o>>,
    ) -> (Tracker<'o>, f64) {
        let at_zero = w.iter().all(|&v| v == 0.0);
        let mut tr = if at_zero {
            Tracker::starting_at(tol, observer)
        } else {
            Tracker::new(obj, tol, observer)
        };
        let f = obj.value_grad(w, grad);
        if at_zero {
            tr.set_reference(norm(grad));
        }
        (tr, f)
    }

    /// A tracker whose reference ‖∇J(0)‖ the solver sets itself (with `set_reference`)
    /// when it evaluates ∇J(0) anyway.
    pub fn starting_at(tol: f64, observer: Option<Observer<'o>>) -> Tracker<'o> {
        Tracker {
            start: Instant::now(),
            history: Vec::new(),
            observer,
            g0: f64::NAN,
            tol,
        }
    }

    /// Records an iterate; `Err` if the objective is not finite.
    pub fn record(&mut self, iteration: usize, objective: f64, grad_norm: f64) -> Result<()> {
        let r = IterRecord {
            iteration,
            objective,
            grad_norm,
            seconds: self.start.elapsed().as_secs_f64(),
        };
        self.history.push(r);
        if let Some(o) = self.observer.as_mut() {
            if o(&r).is_break() {
                return Err(Error::Interrupted { iteration });
            }
        }
        if !objective.is_finite() || !grad_norm.is_finite() {
            return Err(Error::Diverged {
                iteration,
                objective,
                advice: "the objective or gradient is NaN/Inf; try a smaller learning rate or larger lambda",
            });
        }
        Ok(())
    }

    /// Replaces ‖∇J(0)‖ as the reference of the relative stopping rule (for solvers
    /// whose progress measure is not the gradient norm).
    pub fn set_reference(&mut self, reference: f64) {
        self.g0 = reference;
    }

    pub fn converged(&self, grad_norm: f64) -> bool {
        grad_norm <= self.tol * self.g0
    }

    /// A line search that found no decrease at iteration `it`: near the optimum (the
    /// gradient below [`NO_DESCENT_NEAR`] of ‖∇J(0)‖) that is rounding, and the fit ends
    /// unconverged with the reason; farther away it is an error, not a model.
    pub fn no_descent(
        self,
        solver: &'static str,
        it: usize,
        f: f64,
        grad_norm: f64,
    ) -> Result<SolverReport> {
        let relative = grad_norm / self.g0;
        if relative > NO_DESCENT_NEAR {
            return Err(Error::NoDescent {
                solver,
                iteration: it,
                objective: f,
                grad_norm,
                relative,
            });
        }
        Ok(self.finish(
            solver,
            false,
            format!("line search failed at iteration {it} (no decrease possible)"),
        ))
    }

    pub fn finish(self, solver: &'static str, converged: bool, reason: String) -> SolverReport {
        let last = self.history.last().copied().unwrap_or(IterRecord {
            iteration: 0,
            objective: f64::NAN,
            grad_norm: f64::NAN,
            seconds: 0.0,
        });
        SolverReport {
            solver,
            converged,
            iterations: last.iteration,
            objective: last.objective,
            grad_norm: last.grad_norm,
            grad_norm_at_zero: self.g0,
            seconds: self.start.elapsed().as_secs_f64(),
            hess_vec_products: 0,
            stop_reason: reason,
            stages: Vec::new(),
            history: self.history,
        }
    }
}

/// Objective grew far beyond its starting value: a step size that is too large.
pub(crate) fn check_growth(iteration: usize, f: f64, f_start: f64) -> Result<()> {
    if !f.is_finite() || f > 1e3 * (f_start.abs() + 1.0) {
        return Err(Error::Diverged {
            iteration,
            objective: f,
            advice: "the objective grows without bound; try a smaller learning rate",
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::objective::Objective;

    /// J(w) = ½ Σ a_k (w_k − c_k)²: a convex quadratic with a known minimum.
    pub struct Quadratic {
        pub a: Vec<f64>,
        pub c: Vec<f64>,
    }

    impl Objective for Quadratic {
        fn dim(&self) -> usize {
            self.a.len()
        }
        fn value(&mut self, w: &[f64]) -> f64 {
            (0..w.len())
                .map(|k| 0.5 * self.a[k] * (w[k] - self.c[k]).powi(2))
                .sum()
        }
        fn value_grad(&mut self, w: &[f64], g: &mut [f64]) -> f64 {
            for k in 0..w.len() {
                g[k] = self.a[k] * (w[k] - self.c[k]);
            }
            self.value(w)
        }
        fn hess_vec(&self, v: &[f64], out: &mut [f64]) -> bool {
            for k in 0..v.len() {
                out[k] = self.a[k] * v[k];
            }
            true
        }
        fn is_smooth(&self) -> bool {
            true
        }
    }

    pub fn ill_conditioned() -> Quadratic {
        Quadratic {
            a: vec![1.0, 10.0, 100.0, 0.5],
            c: vec![1.0, -2.0, 0.5, 3.0],
        }
    }
}
