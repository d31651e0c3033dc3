//! The solvers by name: one table with each solver's name, what it needs of the
//! objective, and its defaults. Adding a solver is one file (a type implementing
//! [`Solver`]) plus one line here and one variant of [`SolverChoice`].

use super::{
    DualCoordinateDescent, GradientDescent, Lbfgs, LearningRateSchedule, Observer, OwlQn,
    PreconditionerChoice, Saga, SagaThenNewton, Sgd, SolverReport, StopRule, TrustRegionNewton,
};
use crate::error::{Error, Result};
use crate::objective::Objective;

/// A method that minimizes an objective from a starting point.
pub trait Solver {
    /// The solver's name, as in [`SolverChoice`] and reports.
    fn name(&self) -> &'static str;
    /// Minimizes `obj` starting from `w` (overwritten with the result).
    fn minimize(
        &self,
        obj: &mut dyn Objective,
        w: &mut [f64],
        observer: Option<Observer>,
    ) -> Result<SolverReport>;
}

crate::named_choice! {
    /// Which solver; `Auto` lets [`crate::train`] pick one for the model (see
    /// [`crate::train::TrainOptions::resolve_solver`]).
    pub enum SolverChoice ("solver") {
        Auto = "auto",
        /// Trust-region Newton-CG (LIBLINEAR `-s 0`, `-s 2`).
        Newton = "newton" | "tron",
        /// L-BFGS with Armijo backtracking.
        Lbfgs = "lbfgs" | "l-bfgs",
        /// Full-batch gradient descent.
        Gd = "gd",
        /// Mini-batch SGD.
        Sgd = "sgd",
        /// Dual coordinate descent: linear SVMs (LIBLINEAR `-s 1`, `-s 3`; with an
        /// unregularized intercept too) and logistic regression (`-s 7`; its intercept
        /// unregularized, by the same search over b).
        DualCd = "dual-cd" | "dualcd",
        /// OWL-QN, for L1 and elastic-net penalties.
        OwlQn = "owlqn" | "owl-qn",
        /// SAGA: incremental gradient with lazy sparse updates (scikit-learn's `saga`).
        Saga = "saga",
        /// SAGA's first epochs, then Newton: the default for sparse softmax.
        SagaNewton = "saga-newton",
    }
}

crate::named_choice! {
    /// SGD's learning-rate schedule, by name.
    pub enum Schedule ("schedule") {
        Constant = "constant",
        /// η0 / (1 + η0 λ t).
        InverseTime = "inverse" | "inverse-time",
    }
}

/// What every solver may be configured with; each reads the parts it uses.
#[derive(Debug, Clone)]
pub struct SolverSettings {
    /// The stopping tolerance (`None`: the solver's default from [`REGISTRY`]); each
    /// solver's [`SolverEntry::default_tol`] says what it measures.
    pub tol: Option<f64>,
    /// `None`: the solver's default from [`REGISTRY`]. SGD counts epochs.
    pub max_iter: Option<usize>,
    /// GD: fixed step (`None`: backtracking line search). SGD: η0 (`None`: the default).
    pub learning_rate: Option<f64>,
    pub schedule: Schedule,
    pub batch_size: usize,
    pub seed: u64,
    /// SGD: return the average of the second half's iterates.
    pub averaging: bool,
    pub preconditioner: PreconditionerChoice,
    /// λ₂ (SGD's inverse-time schedule uses it).
    pub lambda: f64,
}

impl Default for SolverSettings {
    fn default() -> Self {
        SolverSettings {
            tol: None,
            max_iter: None,
            learning_rate: None,
            schedule: Schedule::InverseTime,
            batch_size: 1,
            seed: 0,
            averaging: true,
            preconditioner: PreconditionerChoice::Auto,
            lambda: 0.0,
        }
    }
}

/// One solver's row of the table.
pub struct SolverEntry {
    pub choice: SolverChoice,
    /// Iteration limit when none is given (epochs for SGD and dual CD).
    pub default_max_iter: usize,
    /// Tolerance when none is given: 1e-6 of the relative gradient norm ‖∇J‖/‖∇J(0)‖
    /// for the primal solvers; for dual CD LIBLINEAR's default 0.1, on the dual's
    /// violation (the projected gradient's spread for the SVMs, the largest dual gradient
    /// relative to its first epoch's for logistic regression), which without an intercept
    /// is only the first stage of a stop on [`DEFAULT_DUALITY_GAP`].
    pub default_tol: f64,
    /// What one of its iterations is, in words ("iteration", or "epoch" for solvers that
    /// count passes over the rows).
    pub iteration: &'static str,
    /// The learning rate when none is given, for solvers that take one.
    pub default_learning_rate: Option<f64>,
    /// Needs a differentiable objective.
    pub needs_smooth: bool,
    /// Minimizes objectives with an L1 part.
    pub handles_l1: bool,
    /// Parameter-sized vectors it keeps besides the parameters (for the memory check
    /// before a fit: L-BFGS's 10 pairs, Newton's CG vectors, ...).
    pub working_vectors: u64,
    /// Numbers it keeps per row and output (SAGA's stored gradients: n × K; dual
    /// coordinate descent's dual variables).
    pub row_numbers: u64,
    build: fn(&SolverSettings, &SolverEntry) -> Box<dyn Solver>,
}

impl SolverEntry {
    fn stop(&self, s: &SolverSettings) -> StopRule {
        StopRule {
            tol: s.tol.unwrap_or(self.default_tol),
            max_iter: s.max_iter.unwrap_or(self.default_max_iter),
        }
    }

    /// This solver configured by `settings`.
    pub fn build(&self, settings: &SolverSettings) -> Box<dyn Solver> {
        (self.build)(settings, self)
    }

    /// Why this solver cannot minimize `obj`, if it cannot.
    pub fn check(&self, obj: &dyn Objective) -> Result<()> {
        let name = self.choice.name();
        if self.needs_smooth && !obj.is_smooth() {
            return Err(Error::Unsupported(format!(
                "solver {name} needs a differentiable objective; the hinge loss is not (use solver sgd, gd or dual-cd, or the squared hinge)"
            )));
        }
        if !self.handles_l1 && obj.l1_penalty().strength > 0.0 {
            return Err(Error::Unsupported(format!(
                "solver {name} does not handle an L1 penalty (use solver owlqn)"
            )));
        }
        Ok(())
    }
}

/// Dual CD without an intercept, when no tolerance is given, stops at this relative
/// duality gap (P − D)/P, a certificate that J is within it of J*: the accuracy the
/// primal solvers' default 1e-6 gives. LIBLINEAR's own default (0.1 on the dual's
/// violation) left gaps of 3.9e-5 (logistic), 1.4e-3 (hinge) and 7.2e-6 (squared hinge)
/// on the binary text set (λ = 1e-5); to 1e-6 the hinge took 115 epochs there, 0.8 s.
pub const DEFAULT_DUALITY_GAP: f64 = 1e-6;

/// The hinge's certified stop, wider: its dual is not strongly convex, and dual CD closes
/// the gap sublinearly. On the 5.08M-row code set (C = 1) a gap of 1e-6 took 576 epochs
/// (204 s); on the binary text set 1e-4 needed LIBLINEAR's test at 0.01, 53 epochs.
pub const HINGE_DUALITY_GAP: f64 = 1e-4;

/// `saga-newton` hands over to Newton at ‖∇J‖ ≤ this·‖∇J(0)‖. Measured on the 26-class
/// text set (λ = 1e-5; medians of 3, seconds to the gap reached): handing over at 1e-2
/// (7 SAGA epochs, gap 4e-5), Newton to tol 1e-3 reaches a gap of 2.2e-6 in 3.2 s and to
/// tol 1e-4 1.3e-8 in 4.25 s; at 3e-3 (9 epochs) tol 1e-3 reaches 1.8e-7 in 3.5 s; at 1e-3
/// SAGA alone reaches 2.1e-7 in 3.7 s (11 epochs). To the default tol 1e-6, 3e-3 costs
/// two more epochs than 1e-2 (7.5 s against 7.0 s; Newton alone 9.5 s).
pub const SAGA_HANDOVER: f64 = 3e-3;
/// ... or after this many epochs, wherever SAGA is.
pub const SAGA_EPOCHS_BEFORE_NEWTON: usize = 50;

/// Every solver with its defaults: the one place they are written.
pub static REGISTRY: &[SolverEntry] = &[
    SolverEntry {
        choice: SolverChoice::Newton,
        default_max_iter: 1000,
        default_tol: 1e-6,
        iteration: "iteration",
        default_learning_rate: None,
        needs_smooth: true,
        handles_l1: false,
        working_vectors: 8,
        row_numbers: 0,
        build: |s, e| Box::new(newton(e.stop(s), s)),
    },
    SolverEntry {
        choice: SolverChoice::Lbfgs,
        default_max_iter: 5000,
        default_tol: 1e-6,
        iteration: "iteration",
        default_learning_rate: None,
        needs_smooth: true,
        handles_l1: false,
        working_vectors: 24,
        row_numbers: 0,
        build: |s, e| {
            Box::new(Lbfgs {
                stop: e.stop(s),
                memory: 10,
            })
        },
    },
    SolverEntry {
        choice: SolverChoice::Gd,
        default_max_iter: 10_000,
        default_tol: 1e-6,
        iteration: "iteration",
        default_learning_rate: Some(1.0),
        needs_smooth: false,
        handles_l1: false,
        working_vectors: 3,
        row_numbers: 0,
        build: |s, e| {
            Box::new(GradientDescent {
                stop: e.stop(s),
                learning_rate: s.learning_rate.or(e.default_learning_rate).unwrap_or(1.0),
                line_search: s.learning_rate.is_none(),
            })
        },
    },
    SolverEntry {
        choice: SolverChoice::Sgd,
        default_max_iter: 50,
        default_tol: 1e-6,
        iteration: "epoch",
        default_learning_rate: Some(0.1),
        needs_smooth: false,
        handles_l1: false,
        // The weights, the gradient, the average and (sparse steps) its corrections.
        working_vectors: 4,
        row_numbers: 0,
        build: |s, e| {
            Box::new(Sgd {
                stop: e.stop(s),
                learning_rate: s.learning_rate.or(e.default_learning_rate).unwrap_or(0.1),
                schedule: match s.schedule {
                    Schedule::Constant => LearningRateSchedule::Constant,
                    Schedule::InverseTime => LearningRateSchedule::InverseTime { lambda: s.lambda },
                },
                batch_size: s.batch_size,
                seed: s.seed,
                averaging: s.averaging,
            })
        },
    },
    SolverEntry {
        choice: SolverChoice::DualCd,
        default_max_iter: 10_000,
        default_tol: 0.1,
        iteration: "epoch",
        default_learning_rate: None,
        needs_smooth: false,
        handles_l1: false,
        working_vectors: 2,
        row_numbers: 1,
        build: |s, e| {
            let mut stop = e.stop(s);
            stop.tol = stop.tol.max(1e-12);
            Box::new(DualCoordinateDescent {
                stop,
                seed: s.seed,
                certified_stop: s.tol.is_none(),
            })
        },
    },
    SolverEntry {
        choice: SolverChoice::Saga,
        default_max_iter: 1000,
        default_tol: 1e-6,
        iteration: "epoch",
        default_learning_rate: None,
        needs_smooth: true,
        handles_l1: false,
        // Weights and ḡ feature-major, the gradient (and K numbers per row).
        working_vectors: 3,
        row_numbers: 1,
        build: |s, e| {
            Box::new(Saga {
                stop: e.stop(s),
                seed: s.seed,
            })
        },
    },
    SolverEntry {
        choice: SolverChoice::SagaNewton,
        default_max_iter: 1000,
        default_tol: 1e-6,
        iteration: "iteration",
        default_learning_rate: None,
        needs_smooth: true,
        handles_l1: false,
        working_vectors: 8,
        row_numbers: 1,
        build: |s, e| {
            Box::new(SagaThenNewton {
                saga: Saga {
                    stop: StopRule {
                        tol: s.tol.unwrap_or(e.default_tol),
                        max_iter: SAGA_EPOCHS_BEFORE_NEWTON,
                    },
                    seed: s.seed,
                },
                newton: newton(e.stop(s), s),
                handover: SAGA_HANDOVER,
            })
        },
    },
    SolverEntry {
        choice: SolverChoice::OwlQn,
        default_max_iter: 5000,
        default_tol: 1e-6,
        iteration: "iteration",
        default_learning_rate: None,
        needs_smooth: true,
        handles_l1: true,
        working_vectors: 26,
        row_numbers: 0,
        build: |s, e| {
            Box::new(OwlQn {
                stop: e.stop(s),
                memory: 10,
            })
        },
    },
];

fn newton(stop: StopRule, s: &SolverSettings) -> TrustRegionNewton {
    TrustRegionNewton {
        stop,
        // Lin, Weng & Keerthi 2008's CG tolerance; 0.02–0.5 measured no better here.
        cg_tol: 0.1,
        preconditioner: s.preconditioner,
    }
}

/// The table's row for `choice` (`Auto` has none: resolve it first).
pub fn entry(choice: SolverChoice) -> Result<&'static SolverEntry> {
    REGISTRY
        .iter()
        .find(|e| e.choice == choice)
        .ok_or_else(|| Error::Unsupported(format!("no solver named {choice}; resolve auto first")))
}

/// Builds `choice` with `settings` after checking that it can minimize `obj`, and runs it.
pub fn minimize(
    choice: SolverChoice,
    settings: &SolverSettings,
    obj: &mut dyn Objective,
    w: &mut [f64],
    observer: Option<Observer>,
) -> Result<SolverReport> {
    let e = entry(choice)?;
    e.check(obj)?;
    e.build(settings).minimize(obj, w, observer)
}

macro_rules! impl_solver {
    ($($ty:ty => $name:literal),+ $(,)?) => {
        $(impl Solver for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn minimize(
                &self,
                obj: &mut dyn Objective,
                w: &mut [f64],
                observer: Option<Observer>,
            ) -> Result<SolverReport> {
                <$ty>::minimize(self, obj, w, observer)
            }
        })+
    };
}

impl_solver! {
    TrustRegionNewton => "newton",
    Lbfgs => "lbfgs",
    GradientDescent => "gd",
    Sgd => "sgd",
    DualCoordinateDescent => "dual-cd",
    OwlQn => "owlqn",
    Saga => "saga",
    SagaThenNewton => "saga-newton",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_solver_has_one_row() {
        for &c in SolverChoice::ALL {
            let rows = REGISTRY.iter().filter(|e| e.choice == c).count();
            assert_eq!(rows, usize::from(c != SolverChoice::Auto), "{c}");
            if c != SolverChoice::Auto {
                assert_eq!(
                    entry(c).unwrap().build(&SolverSettings::default()).name(),
                    c.name()
                );
            }
        }
    }
}
