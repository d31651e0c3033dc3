//! Mini-batch stochastic gradient descent: each epoch visits the rows in a fresh random
//! order (seeded, so runs repeat exactly) and steps w ← w − η_t ĝ_B(w) per batch B.
//! After each epoch the full objective and gradient are evaluated for the report and
//! the stopping rule. Optional suffix averaging returns the mean of the iterates of the
//! second half of the epochs, which removes most of SGD's noise floor and is rate-optimal
//! for strongly convex objectives (Rakhlin, Shamir & Sridharan, ICML 2012).
//!
//! On sparse rows a step costs O(nnz of the batch), not O(dimension): see [`sparse`].

mod sparse;

use super::{check_growth, norm, Observer, SolverReport, StopRule, Tracker};
use crate::error::{Error, Result};
use crate::objective::{FiniteSum, Objective};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sparse::SparseSteps;

/// Learning rate η_t at step t (t counts mini-batches from 0).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum LearningRateSchedule {
    /// η_t = η0.
    Constant,
    /// η_t = η0 / (1 + η0·λ·t): the 1/t decay that suits λ-strongly convex objectives
    /// (Bottou, "Stochastic gradient descent tricks", 2012, §5.2).
    InverseTime { lambda: f64 },
}

#[derive(Debug, Clone, Copy)]
pub struct Sgd {
    /// `max_iter` counts epochs.
    pub stop: StopRule,
    pub learning_rate: f64,
    pub schedule: LearningRateSchedule,
    pub batch_size: usize,
    pub seed: u64,
    /// Return the average of the iterates of the second half of the epochs.
    pub averaging: bool,
}

impl Sgd {
    pub fn minimize(
        &self,
        obj: &mut dyn Objective,
        w: &mut [f64],
        observer: Option<Observer>,
    ) -> Result<SolverReport> {
        let obj: &mut dyn FiniteSum = obj.as_finite_sum().ok_or_else(|| {
            Error::Unsupported("SGD needs an objective that is a sum over rows".into())
        })?;
        let dim = obj.dim();
        let n = obj.n_samples();
        let smooth = obj.is_smooth();
        // Sparse rows step lazily (O(nnz) a step); dense ones touch every weight anyway.
        let mut steps = match obj.rows_view() {
            Some(view) if view.x.is_sparse() => Steps::Sparse(SparseSteps::new(&view)),
            _ => Steps::Dense(DenseSteps::default()),
        };
        let mut tr = Tracker::new(&mut *obj, self.stop.tol, observer);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut order: Vec<usize> = (0..n).collect();
        let mut g = vec![0.0; dim];
        let mut f = obj.value_grad(w, &mut g);
        let f_start = f;
        tr.record(0, f, norm(&g))?;
        let mut t = 0u64;
        let average_from = self.stop.max_iter / 2 + 1;
        for epoch in 1..=self.stop.max_iter {
            order.shuffle(&mut rng);
            let averaging = self.averaging && epoch >= average_from;
            for batch in order.chunks(self.batch_size.max(1)) {
                let eta = match self.schedule {
                    LearningRateSchedule::Constant => self.learning_rate,
                    LearningRateSchedule::InverseTime { lambda } => {
                        self.learning_rate / (1.0 + self.learning_rate * lambda * t as f64)
                    }
                };
                let step = Step {
                    batch,
                    eta,
                    averaging,
                    epoch,
                    f_start,
                };
                match &mut steps {
                    // The batch gradient borrows g: it is overwritten at the epoch's end.
                    Steps::Dense(s) => s.step(&*obj, w, &mut g, &step)?,
                    Steps::Sparse(s) => {
                        let view = obj.rows_view().expect("the view was there at the start");
                        s.step(&view, w, &step)?
                    }
                }
                t += 1;
            }
            let average = steps.settle(w);
            let point: &[f64] = average.unwrap_or(w);
            f = obj.value_grad(point, &mut g);
            check_growth(epoch, f, f_start)?;
            let gn = norm(&g);
            tr.record(epoch, f, gn)?;
            if smooth && tr.converged(gn) {
                if let Some(avg) = average {
                    w.copy_from_slice(avg);
                }
                return Ok(tr.finish(
                    "sgd",
                    true,
                    format!("gradient norm below tol after {epoch} epochs"),
                ));
            }
        }
        if let Some(avg) = steps.settle(w) {
            w.copy_from_slice(avg);
        }
        let reason = if smooth {
            format!(
                "ran all {} epochs without reaching the gradient tolerance",
                self.stop.max_iter
            )
        } else {
            format!(
                "ran all {} epochs (a subgradient method has no gradient-norm test)",
                self.stop.max_iter
            )
        };
        Ok(tr.finish("sgd", false, reason))
    }
}

/// One mini-batch step: w ← w − η ĝ_B(w).
struct Step<'b> {
    batch: &'b [usize],
    eta: f64,
    /// Whether the new iterate joins the average.
    averaging: bool,
    epoch: usize,
    f_start: f64,
}

/// How the steps are taken: on the whole weight vector, or lazily on sparse rows.
enum Steps {
    Dense(DenseSteps),
    Sparse(SparseSteps),
}

impl Steps {
    /// Brings `w` up to date with every step so far; the average of the averaged
    /// iterates, once averaging has begun.
    fn settle(&mut self, w: &mut [f64]) -> Option<&[f64]> {
        match self {
            Steps::Dense(s) => s.average(),
            Steps::Sparse(s) => s.settle(w),
        }
    }
}

/// The mini-batch gradient through the objective (a dense vector) and a dense update.
#[derive(Default)]
struct DenseSteps {
    avg: Vec<f64>,
    averaged: f64,
}

impl DenseSteps {
    fn step(&mut self, obj: &dyn FiniteSum, w: &mut [f64], g: &mut [f64], s: &Step) -> Result<()> {
        let fb = obj.batch_value_grad(w, s.batch, g);
        check_growth(s.epoch, fb, s.f_start.max(1.0) * 10.0)?;
        w.iter_mut().zip(&*g).for_each(|(wk, gk)| *wk -= s.eta * gk);
        if s.averaging {
            if self.avg.is_empty() {
                self.avg = vec![0.0; w.len()];
            }
            self.averaged += 1.0;
            let n = self.averaged;
            self.avg
                .iter_mut()
                .zip(w.iter())
                .for_each(|(a, wk)| *a += (wk - *a) / n);
        }
        Ok(())
    }

    fn average(&self) -> Option<&[f64]> {
        (self.averaged > 0.0).then_some(&self.avg[..])
    }
}
