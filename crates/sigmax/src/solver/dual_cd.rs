//! Dual coordinate descent for linear SVMs, hinge and squared hinge
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
//!
//! With an unregularized intercept b the dual gains Σ y_i α_i = 0, which one-variable
//! steps cannot keep (LIBLINEAR regularizes b instead, as an extra feature). Here b is the
//! minimizer of the convex 1-D function P*(b) = min_w P(w, b), whose slope −Σ y_i α_i(b)
//! each warm-started dual solve yields (see `SvmDual::solve_with_intercept`), so the
//! intercept stays unregularized as in libsvm's SVC.

use super::dual_replicas::{DualCells, Replicas};
use super::intercept_search::{solve_with_intercept, DualAtBias};
use super::registry::{DEFAULT_DUALITY_GAP, HINGE_DUALITY_GAP};
use super::{Observer, SolverReport, StopRule, Tracker};
use crate::data::{prefetch, Features};
use crate::error::{Error, Result};
use crate::loss::BinaryLoss;
use crate::objective::{BinaryView, Objective};
use crate::sum::par_row_reduce;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy)]
pub struct DualCoordinateDescent {
    /// `max_iter` counts epochs.
    pub stop: StopRule,
    /// Without an intercept: stop once the relative duality gap (P − D)/P is at most
    /// [`DEFAULT_DUALITY_GAP`] ([`HINGE_DUALITY_GAP`] for the hinge), with `stop.tol` the
    /// dual test's first tolerance (tightened tenfold until the gap is certified); else on
    /// `stop.tol` alone. Set when no tolerance was given.
    pub certified_stop: bool,
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
            Error::Unsupported("dual coordinate descent trains binary linear models".into())
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
        let lambda = view.erm.lambda();
        if !(lambda > 0.0) {
            return Err(Error::InvalidParameter {
                name: "lambda",
                value: lambda.to_string(),
                expected: "must be > 0 for the dual solver",
            });
        }
        let gap = match view.loss {
            BinaryLoss::Hinge => HINGE_DUALITY_GAP,
            _ => DEFAULT_DUALITY_GAP,
        };
        let duality_gap = self.certified_stop.then_some(gap);
        let Some((upper_scale, diag_scale)) = svm_terms else {
            let primal = |w: &[f64]| primal(&view, w);
            return super::dual_cd_logistic::minimize(
                &view,
                self.stop,
                duality_gap,
                self.seed,
                w,
                primal,
                observer,
            );
        };
        let c = 1.0 / (lambda * view.erm.total_weight());
        let mut dual = SvmDual::new(&view, c, upper_scale, diag_scale, self.seed);
        let mut tr = Tracker::starting_at(self.stop.tol, observer);
        w.iter_mut().for_each(|v| *v = 0.0);
        let report = if let (false, Some(target)) = (view.intercept, duality_gap) {
            return solve_to_gap(&mut dual, w, self.stop, target, &|w| primal(&view, w), tr);
        } else if !view.intercept {
            let (epochs, converged) = dual.solve_at_bias(0.0, w, self.stop.max_iter, &mut tr)?;
            let reason = if converged {
                format!("projected-gradient spread below tol after {epochs} epochs")
            } else {
                format!("ran all {epochs} epochs without reaching the tolerance")
            };
            tr.finish("dual-cd", converged, reason)
        } else {
            solve_with_intercept(&mut dual, w, self.stop, &mut tr)?
        };
        Ok(with_primal(report, primal(&view, w)))
    }
}

/// The dual of the SVM at a fixed intercept b, whose α carries over from one b to the
/// next (the box 0 ≤ α_i ≤ U_i does not depend on b; only the linear term does).
struct SvmDual<'v> {
    view: &'v BinaryView<'v>,
    /// Per row: U_i and D_ii; rows of weight 0 stay at α_i = 0.
    bounds: Vec<(f64, f64)>,
    /// Q_ii = ‖x_i‖².
    sq_norms: Vec<f64>,
    alpha: Vec<f64>,
    order: Vec<usize>,
    rng: ChaCha8Rng,
    epochs: usize,
    /// Per-thread replicas of w for parallel epochs; `None`: serial.
    replicas: Option<Replicas>,
}

/// Rows a random-order coordinate loop asks the CPU for ahead of their turn: enough to
/// hide a memory access behind the work on the rows between.
const PREFETCH_AHEAD: usize = 6;

/// Asks the CPU, at step `k` of a random visiting `order`, for the row `PREFETCH_AHEAD`
/// steps on (its entries, and its per-row numbers through `state`), for the pointers of
/// the row twice as far, and for w at the columns of the row half as far (whose entries
/// came in by then): each row's first touch is otherwise a cache miss (55% of a
/// logistic epoch on the binary text set), and so is w's at its rare columns once w
/// outgrows the cache. A hint only: no effect on any result.
#[inline(always)]
pub(super) fn prefetch_ahead(
    x: &Features,
    order: &[usize],
    k: usize,
    w: &[f64],
    state: impl FnOnce(usize),
) {
    if let Some(&far) = order.get(k + 2 * PREFETCH_AHEAD) {
        x.prefetch_pointers(far);
    }
    if let Some(&near) = order.get(k + PREFETCH_AHEAD) {
        x.prefetch_row(near);
        state(near);
    }
    if let Some(&next) = order.get(k + PREFETCH_AHEAD / 2) {
        x.prefetch_gather(next, w);
    }
}

impl<'v> SvmDual<'v> {
    fn new(view: &'v BinaryView<'v>, c: f64, upper_scale: f64, diag_scale: f64, seed: u64) -> Self {
        let n = view.positive.len();
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
        let sq_norms = (0..n).map(|i| view.x.row(i).sq_norm()).collect();
        SvmDual {
            view,
            bounds,
            sq_norms,
            // The hinge's dual is not strongly convex: parallel epochs took twice the
            // epochs there (1160 against 576 on the code set, 362 against 115 on the
            // binary text set), no faster.
            replicas: (diag_scale > 0.0)
                .then(|| Replicas::for_data(view.x, view.x.n_cols() + usize::from(view.intercept)))
                .flatten(),
            alpha: vec![0.0; n],
            order: (0..n).filter(|&i| view.erm.weight(i) > 0.0).collect(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            epochs: 0,
        }
    }

    /// −λ·f(α) with f the dual objective at intercept b: J at the dual's point, a lower
    /// bound of J* (equal at the optimum), from ‖w‖², Σα and Σ D α² (no pass over the rows).
    fn dual_objective(&self, b: f64, w: &[f64]) -> f64 {
        let d = if self.view.intercept {
            w.len() - 1
        } else {
            w.len()
        };
        let ww: f64 = w[..d].iter().map(|v| v * v).sum();
        let (mut linear, mut diag) = (0.0, 0.0);
        // In row order (rows outside the coordinates have α = 0): c and α read in the
        // epoch's random order miss the cache on millions of rows.
        for i in 0..self.alpha.len() {
            let a = self.alpha[i];
            let y = if self.view.positive[i] { 1.0 } else { -1.0 };
            linear += a * (1.0 - y * b);
            diag += self.bounds[i].1 * a * a;
        }
        let f = 0.5 * ww + 0.5 * diag - linear;
        -self.view.erm.lambda() * f
    }
}

/// What an epoch's coordinate steps need of the SVM dual: its numbers, read only, the
/// dual variables as cells a parallel epoch's parts share, the intercept, and the
/// shrinking thresholds (the last epoch's projected-gradient extremes).
struct SvmRule<'a> {
    view: &'a BinaryView<'a>,
    bounds: &'a [(f64, f64)],
    sq_norms: &'a [f64],
    alpha: DualCells<'a>,
    b: f64,
    shrink_above: f64,
    shrink_below: f64,
}

impl SvmRule<'_> {
    /// One pass of coordinate steps over `rows`, in that order, against `w`; each row's
    /// curvature Q_ii times `scale` (1 in a serial epoch, K in a part of a parallel one:
    /// see [`super::dual_replicas`]) plus D_ii. A row at a bound whose gradient points out
    /// of the box beyond the thresholds is shrunk: moved behind the rows kept. Returns the
    /// projected gradient's extremes over the rows kept and how many were kept (they are
    /// `rows[..kept]`).
    fn sweep(&self, rows: &mut [usize], w: &mut [f64], scale: f64) -> ((f64, f64), usize) {
        let (view, alpha) = (self.view, &self.alpha);
        let mut active = rows.len();
        let (mut pg_max, mut pg_min) = (f64::NEG_INFINITY, f64::INFINITY);
        let mut s = 0;
        while s < active {
            let i = rows[s];
            prefetch_ahead(view.x, rows, s, w, |near| {
                alpha.prefetch(near);
                prefetch(self.bounds, near);
                prefetch(self.sq_norms, near);
                prefetch(view.positive, near);
            });
            let (upper, diag) = self.bounds[i];
            let qd = scale * self.sq_norms[i] + diag;
            if qd == 0.0 {
                s += 1;
                continue; // an all-zero row cannot change w
            }
            let a = alpha.get(i);
            let y = if view.positive[i] { 1.0 } else { -1.0 };
            let row = view.x.row(i);
            let g = y * (row.dot(w) + self.b) - 1.0 + diag * a;
            let out_of_box =
                (a == 0.0 && g > self.shrink_above) || (a >= upper && g < self.shrink_below);
            if out_of_box {
                // Shrunk: swapped behind the active ones, checked again at the end.
                active -= 1;
                rows.swap(s, active);
                continue;
            }
            let pg = if a == 0.0 {
                g.min(0.0)
            } else if a >= upper {
                g.max(0.0)
            } else {
                g
            };
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 {
                let new = (a - g / qd).clamp(0.0, upper);
                row.axpy(scale * (new - a) * y, w);
                alpha.set(i, new);
            }
            s += 1;
        }
        ((pg_max, pg_min), active)
    }
}

/// After a parallel epoch over `rows`, whose consecutive parts each kept its first
/// `kept` rows: those kept rows first, in part order, then the shrunk ones. Returns how
/// many were kept.
fn gather_kept<R>(rows: &mut [usize], parts: &[(R, usize)]) -> usize {
    let n = rows.len();
    let k = parts.len();
    let (mut kept, mut shrunk) = (Vec::with_capacity(n), Vec::new());
    for (p, (_, part_kept)) in parts.iter().enumerate() {
        let part = &rows[p * n / k..(p + 1) * n / k];
        kept.extend_from_slice(&part[..*part_kept]);
        shrunk.extend_from_slice(&part[*part_kept..]);
    }
    let active = kept.len();
    kept.append(&mut shrunk);
    rows.copy_from_slice(&kept);
    active
}

impl DualAtBias for SvmDual<'_> {
    /// Coordinate descent on min ½αᵀ(Q + D)α − Σ (1 − y_i b) α_i — the dual of the
    /// primal whose margins are y_i (w·x_i + b) — for at most `max_epochs` epochs, from
    /// the current α (w must equal Σ α_i y_i x_i), with shrinking (Hsieh et al. 2008, §3,
    /// Algorithm 3; LIBLINEAR's): a coordinate at a bound whose gradient points out of the
    /// box beyond the last epoch's projected-gradient extremes is set aside; once the
    /// active ones meet the tolerance, every coordinate is checked again, and the solve
    /// ends only when all of them do. The tolerance is LIBLINEAR's: the spread of the
    /// projected gradient, max PG − min PG over an epoch, at most `tol` (an absolute
    /// measure of the dual's violation, whose scale is LIBLINEAR's: C = 1/(λS)). Each
    /// epoch records the dual objective in J's units (a lower bound of J*, cheap: no pass
    /// over the rows); the caller records the primal J at the end. Returns the epochs run
    /// and whether the tolerance was met.
    fn solve_at_bias(
        &mut self,
        b: f64,
        w: &mut [f64],
        max_epochs: usize,
        tr: &mut Tracker,
    ) -> Result<(usize, bool)> {
        let all = self.order.len();
        let mut active = all;
        let (mut pg_max_old, mut pg_min_old) = (f64::INFINITY, f64::NEG_INFINITY);
        tr.set_reference(1.0);
        for run in 1..=max_epochs {
            self.order[..active].shuffle(&mut self.rng);
            let rule = SvmRule {
                view: self.view,
                bounds: &self.bounds,
                sq_norms: &self.sq_norms,
                alpha: DualCells::new(&mut self.alpha),
                b,
                shrink_above: pg_max_old,
                shrink_below: pg_min_old,
            };
            let (pg_max, pg_min) = match &mut self.replicas {
                None => {
                    let (pg, kept) = rule.sweep(&mut self.order[..active], w, 1.0);
                    active = kept;
                    pg
                }
                Some(replicas) => {
                    let sweep =
                        |rows: &mut [usize], v: &mut [f64], scale: f64| rule.sweep(rows, v, scale);
                    let parts = replicas.epoch(&mut self.order[..active], w, sweep);
                    active = gather_kept(&mut self.order[..active], &parts);
                    parts.iter().fold(
                        (f64::NEG_INFINITY, f64::INFINITY),
                        |(hi, lo), &((p_hi, p_lo), _)| (hi.max(p_hi), lo.min(p_lo)),
                    )
                }
            };
            self.epochs += 1;
            let spread = if active == 0 {
                0.0
            } else {
                (pg_max - pg_min).max(0.0)
            };
            tr.record(self.epochs, self.dual_objective(b, w), spread)?;
            if spread <= tr.tol {
                if active == all {
                    return Ok((run, true));
                }
                // The shrunk coordinates may have moved out of their bounds' optimality:
                // all of them, once more.
                active = all;
                (pg_max_old, pg_min_old) = (f64::INFINITY, f64::NEG_INFINITY);
                continue;
            }
            pg_max_old = if pg_max <= 0.0 { f64::INFINITY } else { pg_max };
            pg_min_old = if pg_min >= 0.0 {
                f64::NEG_INFINITY
            } else {
                pg_min
            };
        }
        Ok((max_epochs, false))
    }

    /// −Σ y_i α_i: the derivative in b of P*(b) = min_w P(w, b) (by strong duality and
    /// Danskin's theorem; a subgradient where P* has a kink). P* is convex, so this is
    /// non-decreasing in b.
    fn bias_slope(&self) -> f64 {
        -(0..self.alpha.len())
            .map(|i| {
                if self.view.positive[i] {
                    self.alpha[i]
                } else {
                    -self.alpha[i]
                }
            })
            .sum::<f64>()
    }

    /// Σ α_i, the scale against which the slope is judged.
    fn dual_mass(&self) -> f64 {
        self.alpha.iter().sum()
    }

    fn epochs(&self) -> usize {
        self.epochs
    }

    fn dual_value(&self, w: &[f64]) -> f64 {
        self.dual_objective(0.0, w)
    }
}

/// Without an intercept: epochs until the relative duality gap (P(w) − D)/P(w) is at
/// most `target`, D the dual's J (a lower bound of J*), so J is certified within
/// `target` of J*. P costs a pass over the rows, so it is computed only when the dual's
/// own test passes at the current tolerance, which starts at `stop.tol` (LIBLINEAR's
/// 0.1 by default) and shrinks tenfold each time the gap is still too wide.
pub(super) fn solve_to_gap<D: DualAtBias>(
    dual: &mut D,
    w: &mut [f64],
    stop: StopRule,
    target: f64,
    primal: &dyn Fn(&[f64]) -> f64,
    mut tr: Tracker,
) -> Result<SolverReport> {
    loop {
        let budget = stop.max_iter.saturating_sub(dual.epochs());
        let (_, inner) = dual.solve_at_bias(0.0, w, budget, &mut tr)?;
        let j = primal(w);
        let gap = (j - dual.dual_value(w)) / j.abs().max(f64::MIN_POSITIVE);
        let epochs = dual.epochs();
        let (converged, reason) = if gap <= target {
            (
                true,
                format!("relative duality gap {gap:.1e} after {epochs} epochs"),
            )
        } else if !inner || epochs >= stop.max_iter || tr.tol <= 1e-14 {
            (
                false,
                format!("ran {epochs} epochs; relative duality gap {gap:.1e}, not {target:.0e}"),
            )
        } else {
            tr.tol *= 0.1;
            continue;
        };
        return Ok(with_primal(tr.finish("dual-cd", converged, reason), j));
    }
}

/// The report with the primal J at the result as its objective (the epochs recorded the
/// dual's; one pass over the rows, once).
pub(super) fn with_primal(mut report: SolverReport, j: f64) -> SolverReport {
    report.objective = j;
    if let Some(last) = report.history.last_mut() {
        last.objective = j;
    }
    report
}

/// The primal J at w (with the intercept w[d] when the view has one).
fn primal(view: &BinaryView, w: &[f64]) -> f64 {
    let b = if view.intercept { w[w.len() - 1] } else { 0.0 };
    let acc = par_row_reduce(
        view.positive.len(),
        view.erm.row_blocks(),
        1,
        |rows, acc| {
            for i in rows {
                let z = view.x.row(i).dot(w) + b;
                acc[0] += view.erm.weight(i) * view.loss.value(z, view.positive[i]);
            }
        },
    );
    view.erm.value(view.erm.reduce(acc)[0], w)
}
