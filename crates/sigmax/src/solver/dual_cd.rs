//! Dual coordinate descent for linear SVMs without intercept, hinge and squared hinge
//! (Hsieh, Chang, Lin, Keerthi & Sundararajan, "A dual coordinate descent method for
//! large-scale linear SVM", ICML 2008, Algorithm 1; LIBLINEAR's `-s 3` and `-s 1`); the
//! logistic loss goes to its own dual method in `dual_cd_logistic.rs` (LIBLINEAR `-s 7`).
//!
//! J(w) = (1/S) Σ s_i ξ(y_i w·x_i) + λ/2‖w‖² is λ·P(w) with
//! P(w) = ½‖w‖² + C Σ s_i ξ(y_i w·x_i), C = 1/(λS), whose dual is
//! min ½αᵀ(Q + D)α − Σα_i over 0 ≤ α_i ≤ U_i, Q_ij = y_i y_j x_i·x_j, w = Σ α_i y_i x_i,
//! with U_i = C s_i, D = 0 for the hinge and U_i = ∞, D_ii = 1/(2 C s_i) for the squared
//! hinge (the paper's §2, with each row's C scaled by its weight). Each step solves one
//! α_i exactly (a clipped Newton step) and updates w in O(nnz(x_i)). It stops when the
//! spread of the projected gradient, max PG − min PG over an epoch, is below tol times
//! its first-epoch value; the report's gradient norm is that spread and its objective
//! the primal J.

use super::{Observer, SolverReport, StopRule, Tracker};
use crate::data::par_row_reduce;
use crate::error::{Error, Result};
use crate::loss::BinaryLoss;
use crate::objective::{BinaryView, Objective};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy)]
pub struct DualCoordinateDescent {
    /// `max_iter` counts epochs.
    pub stop: StopRule,
    pub seed: u64,
}

impl DualCoordinateDescent {
    pub fn minimize(
        &self,
        obj: &mut dyn Objective,
        w: &mut [f64],
        observer: Option<Observer>,
    ) -> Result<SolverReport> {
        let view = obj.binary_view().ok_or_else(|| {
            Error::Unsupported(
                "dual coordinate descent trains binary linear models without an intercept".into(),
            )
        })?;
        // Per SVM loss: the dual's upper bound and diagonal term, per unit of C·s_i; the
        // logistic loss has its own dual method.
        let svm_terms = match view.loss {
            BinaryLoss::Hinge => Some((1.0, 0.0)),
            BinaryLoss::SquaredHinge => Some((f64::INFINITY, 1.0)),
            BinaryLoss::Logistic | BinaryLoss::CrossEntropy => None,
            other => {
                return Err(Error::Unsupported(format!(
                    "dual coordinate descent is for the logistic, hinge and squared hinge losses, not {other}"
                )))
            }
        };
        if view.intercept {
            return Err(Error::Unsupported(
                "dual coordinate descent has no unregularized intercept; train without one or use another solver".into(),
            ));
        }
        if view.l1.strength > 0.0 {
            return Err(Error::Unsupported(
                "dual coordinate descent solves L2-regularized problems only".into(),
            ));
        }
        let lambda = view.erm.lambda();
        if !(lambda > 0.0) {
            return Err(Error::InvalidParameter {
                name: "lambda",
                value: lambda.to_string(),
                expected: "must be > 0 for the dual solver",
            });
        }
        let Some((upper_scale, diag_scale)) = svm_terms else {
            let primal = |w: &[f64]| primal(&view, w);
            return super::dual_cd_logistic::minimize(
                &view, self.stop, self.seed, w, primal, observer,
            );
        };
        let x = view.x;
        let n = view.positive.len();
        let c = 1.0 / (lambda * view.erm.total_weight());
        // Per row: U_i and D_ii; rows of weight 0 stay at α_i = 0.
        let bounds: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let ci = c * view.erm.weight(i);
                let diag = if diag_scale > 0.0 && ci > 0.0 {
                    0.5 / ci
                } else {
                    0.0
                };
                ((upper_scale * ci).min(f64::MAX), diag)
            })
            .collect();
        let qd: Vec<f64> = (0..n).map(|i| x.row(i).sq_norm() + bounds[i].1).collect();
        let mut alpha = vec![0.0; n];
        w.iter_mut().for_each(|v| *v = 0.0);
        let mut tr = Tracker::starting_at(self.stop.tol, observer);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut order: Vec<usize> = (0..n).filter(|&i| view.erm.weight(i) > 0.0).collect();
        let mut first_spread = None;
        for epoch in 1..=self.stop.max_iter {
            order.shuffle(&mut rng);
            let (mut pg_max, mut pg_min) = (f64::NEG_INFINITY, f64::INFINITY);
            for &i in &order {
                if qd[i] == 0.0 {
                    continue; // an all-zero row cannot change w
                }
                let (upper, diag) = bounds[i];
                let y = if view.positive[i] { 1.0 } else { -1.0 };
                let row = x.row(i);
                let g = y * row.dot(w) - 1.0 + diag * alpha[i];
                let pg = if alpha[i] == 0.0 {
                    g.min(0.0)
                } else if alpha[i] >= upper {
                    g.max(0.0)
                } else {
                    g
                };
                pg_max = pg_max.max(pg);
                pg_min = pg_min.min(pg);
                if pg.abs() > 1e-12 {
                    let new = (alpha[i] - g / qd[i]).clamp(0.0, upper);
                    row.axpy((new - alpha[i]) * y, w);
                    alpha[i] = new;
                }
            }
            let spread = (pg_max - pg_min).max(0.0);
            let reference = *first_spread.get_or_insert(spread.max(f64::MIN_POSITIVE));
            tr.set_reference(reference);
            tr.record(epoch, primal(&view, w), spread)?;
            if tr.converged(spread) {
                return Ok(tr.finish(
                    "dual-cd",
                    true,
                    format!("projected-gradient spread below tol after {epoch} epochs"),
                ));
            }
        }
        Ok(tr.finish(
            "dual-cd",
            false,
            format!(
                "ran all {} epochs without reaching the tolerance",
                self.stop.max_iter
            ),
        ))
    }
}

/// The primal J at w (no intercept).
fn primal(view: &BinaryView, w: &[f64]) -> f64 {
    let mut acc = par_row_reduce(view.positive.len(), 1, |rows, acc| {
        for i in rows {
            let z = view.x.row(i).dot(w);
            acc[0] += view.erm.weight(i) * view.loss.value(z, view.positive[i]);
        }
    });
    view.erm.reduce(&mut acc);
    view.erm.value(acc[0], w)
}
