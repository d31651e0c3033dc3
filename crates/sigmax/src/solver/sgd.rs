//! Mini-batch stochastic gradient descent: each epoch visits the rows in a fresh random
//! order (seeded, so runs repeat exactly) and steps w ← w − η_t ĝ_B(w) per batch B.
//! After each epoch the full objective and gradient are evaluated for the report and
//! the stopping rule. Optional suffix averaging returns the mean of the iterates of the
//! second half of the epochs, which removes most of SGD's noise floor and is rate-optimal
//! for strongly convex objectives (Rakhlin, Shamir & Sridharan, ICML 2012).

use super::{check_growth, norm, Observer, SolverReport, StopRule, Tracker};
use crate::error::{Error, Result};
use crate::objective::{FiniteSum, Objective};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

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
        let mut tr = Tracker::new(&mut *obj, self.stop.tol, observer);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut order: Vec<usize> = (0..n).collect();
        let (mut g, mut avg) = (vec![0.0; dim], vec![0.0; dim]);
        let mut f = obj.value_grad(w, &mut g);
        let f_start = f;
        tr.record(0, f, norm(&g))?;
        let mut t = 0u64;
        let average_from = self.stop.max_iter / 2 + 1;
        let mut steps = 0.0;
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
                let fb = obj.batch_value_grad(w, batch, &mut g);
                check_growth(epoch, fb, f_start.max(1.0) * 10.0)?;
                w.iter_mut().zip(&g).for_each(|(wk, gk)| *wk -= eta * gk);
                t += 1;
                if averaging {
                    steps += 1.0;
                    avg.iter_mut()
                        .zip(w.iter())
                        .for_each(|(a, wk)| *a += (wk - *a) / steps);
                }
            }
            let point: &[f64] = if averaging { &avg } else { w };
            f = obj.value_grad(point, &mut g);
            check_growth(epoch, f, f_start)?;
            let gn = norm(&g);
            tr.record(epoch, f, gn)?;
            if smooth && tr.converged(gn) {
                if averaging {
                    w.copy_from_slice(&avg);
                }
                return Ok(tr.finish(
                    "sgd",
                    true,
                    format!("gradient norm below tol after {epoch} epochs"),
                ));
            }
        }
        if self.averaging {
            w.copy_from_slice(&avg);
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
