//! Dual coordinate descent for L2-regularized logistic regression
//! (Yu, Huang & Lin, "Dual coordinate descent methods for logistic regression and maximum
//! entropy models", Machine Learning 85, 2011, §3; the method of LIBLINEAR's `-s 7`).
//!
//! With C_i = s_i/(λS), the primal ½‖w‖² + Σ C_i log(1 + e^{−y_i w·x_i}) (λ·S·… of
//! sigmax's J) has the dual
//!   min_α ½αᵀQα + Σ_i [α_i log α_i + (C_i − α_i) log(C_i − α_i)],  0 < α_i < C_i,
//! Q_ij = y_i y_j x_i·x_j, w = Σ α_i y_i x_i. One coordinate's subproblem in u = α_i + d is
//!   g(u) = a(u − α_i) + b + log(u/(C_i − u)) = 0,  a = ‖x_i‖², b = y_i w·x_i,
//! increasing in u. Its root lies below C_i/2 when g(C_i/2) ≥ 0; otherwise it is solved in
//! v = C_i − u, where the same equation holds with α_i → C_i − α_i and b → −b. So the
//! variable solved for is always the one near its bound, measured from that bound, and
//! keeps full precision there (the paper's §3.2 device). On (0, C/2] g is concave, so
//! Newton from any start there moves to the left of the root and then rises to it
//! monotonically; a step leaving the domain is replaced by a step towards 0 (z ← z/10).

use super::dual_cd::{prefetch_ahead, solve_to_gap};
use super::dual_replicas::{DualCells, Replicas};
use super::intercept_search::{solve_with_intercept, DualAtBias};
use super::{Observer, SolverReport, StopRule, Tracker};
use crate::data::{prefetch, Features};
use crate::error::Result;
use crate::objective::BinaryView;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The solution z ∈ (0, c/2] of a(z − z_old) + b + log(z/(c − z)) = 0 (g(c/2) ≥ 0).
fn solve_near_bound(a: f64, b: f64, c: f64, z_old: f64) -> f64 {
    let g = |z: f64| a * (z - z_old) + b + (z / (c - z)).ln();
    let mut z = z_old.clamp(f64::MIN_POSITIVE, 0.5 * c);
    for _ in 0..100 {
        let gz = g(z);
        if gz.abs() <= 1e-14 * (1.0 + b.abs()) {
            break;
        }
        let next = z - gz / (a + c / (z * (c - z)));
        let next = if next <= 0.0 {
            0.1 * z
        } else {
            next.min(0.5 * c)
        };
        if next == z {
            break;
        }
        z = next;
    }
    z
}

/// Minimizes the logistic objective of `view` (L2 only) from w = 0; with an intercept,
/// the intercept search of [`super::intercept_search`] around the dual at fixed b.
/// Without one and with `duality_gap`, stops on that relative duality gap (see
/// [`solve_to_gap`]).
pub(super) fn minimize(
    view: &BinaryView,
    stop: StopRule,
    duality_gap: Option<f64>,
    seed: u64,
    w: &mut [f64],
    primal: impl Fn(&[f64]) -> f64,
    observer: Option<Observer>,
) -> Result<SolverReport> {
    let mut dual = LogisticDual::new(view, seed, w);
    let mut tr = Tracker::starting_at(stop.tol, observer);
    if view.intercept {
        let report = solve_with_intercept(&mut dual, w, stop, &mut tr)?;
        return Ok(super::dual_cd::with_primal(report, primal(w)));
    }
    if let Some(target) = duality_gap {
        return solve_to_gap(&mut dual, w, stop, target, &primal, tr);
    }
    let (epochs, converged) = dual.solve_at_bias(0.0, w, stop.max_iter, &mut tr)?;
    let reason = if converged {
        format!("largest dual gradient below tol after {epochs} epochs")
    } else {
        format!("ran all {epochs} epochs without reaching the tolerance")
    };
    Ok(super::dual_cd::with_primal(
        tr.finish("dual-cd", converged, reason),
        primal(w),
    ))
}

/// The logistic dual's state: C_i, ‖x_i‖², α (kept inside (0, C_i)), the visiting
/// order and the first epoch's largest dual gradient (the stopping rule's reference).
struct LogisticDual<'v> {
    view: &'v BinaryView<'v>,
    c: Vec<f64>,
    a: Vec<f64>,
    alpha: Vec<f64>,
    order: Vec<usize>,
    rng: ChaCha8Rng,
    reference: Option<f64>,
    epochs: usize,
    /// J at the last epoch's dual point (a lower bound of J* without an intercept).
    bound: f64,
    /// Per-thread replicas of w for parallel epochs; `None`: serial.
    replicas: Option<Replicas>,
}

impl<'v> LogisticDual<'v> {
    /// Starts strictly inside (0, C_i), near 0 (w ≈ 0): α_i = min(10⁻³ C_i, 10⁻⁸); w is
    /// set to Σ α_i y_i x_i (its intercept entry, if any, to 0).
    fn new(view: &'v BinaryView<'v>, seed: u64, w: &mut [f64]) -> Self {
        let x: &Features = view.x;
        let n = view.positive.len();
        let c_scale = 1.0 / (view.erm.lambda() * view.erm.total_weight());
        let c: Vec<f64> = (0..n).map(|i| c_scale * view.erm.weight(i)).collect();
        let a: Vec<f64> = (0..n).map(|i| x.row(i).sq_norm()).collect();
        let alpha: Vec<f64> = c.iter().map(|&ci| (1e-3 * ci).min(1e-8)).collect();
        w.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..n {
            if c[i] > 0.0 {
                x.row(i).axpy(alpha[i] * sign(view, i), w);
            }
        }
        // Rows of weight 0 stay out; an all-zero row's α only matters with an intercept.
        let order = (0..n)
            .filter(|&i| takes_part(c[i], a[i], view.intercept))
            .collect();
        LogisticDual {
            view,
            c,
            a,
            alpha,
            order,
            rng: ChaCha8Rng::seed_from_u64(seed),
            reference: None,
            epochs: 0,
            bound: f64::NEG_INFINITY,
            replicas: Replicas::for_data(x, w.len()),
        }
    }
}

impl LogisticDual<'_> {
    /// Whether row i is one of the coordinates (see [`takes_part`]).
    fn takes_part(&self, i: usize) -> bool {
        takes_part(self.c[i], self.a[i], self.view.intercept)
    }
}

/// Whether a row of bound `c` and squared norm `a` is a coordinate of the dual: rows of
/// weight 0 are out (α = 0), and so are rows without features when there is no
/// intercept (their loss is log 2 whatever w, their α at its optimum C/2).
fn takes_part(c: f64, a: f64, intercept: bool) -> bool {
    c > 0.0 && (a > 0.0 || intercept)
}

fn sign(view: &BinaryView, i: usize) -> f64 {
    if view.positive[i] {
        1.0
    } else {
        -1.0
    }
}

/// One pass of coordinate steps over `rows`, in that order, against `w`; each row's
/// one-variable subproblem with its curvature ‖x_i‖² times `scale` (1 in a serial epoch,
/// K in a part of a parallel one: see [`super::dual_replicas`]). Row i's subproblem has
/// b_i = y_i·(w·x_i + b). Returns the largest dual gradient |b_i + log(α_i/(C_i − α_i))|
/// met before the steps.
#[allow(clippy::too_many_arguments)]
fn sweep(
    view: &BinaryView,
    c: &[f64],
    a: &[f64],
    alpha: &DualCells,
    rows: &[usize],
    b: f64,
    w: &mut [f64],
    scale: f64,
) -> f64 {
    let mut g_max = 0f64;
    for k in 0..rows.len() {
        let i = rows[k];
        prefetch_ahead(view.x, rows, k, w, |near| {
            alpha.prefetch(near);
            prefetch(c, near);
            prefetch(a, near);
            prefetch(view.positive, near);
        });
        let (ci, ai, yi) = (c[i], scale * a[i], sign(view, i));
        let row = view.x.row(i);
        let bi = yi * (row.dot(w) + b);
        let (ai_old, bi_old) = (alpha.get(i), ci - alpha.get(i));
        // The dual gradient at the current α_i (its optimality measure).
        g_max = g_max.max((bi + (ai_old / bi_old).ln()).abs());
        let new = if 0.5 * ai * (ci - 2.0 * ai_old) + bi >= 0.0 {
            solve_near_bound(ai, bi, ci, ai_old)
        } else {
            ci - solve_near_bound(ai, -bi, ci, bi_old)
        };
        let new = new.clamp(f64::MIN_POSITIVE, ci * (1.0 - f64::EPSILON));
        if new != ai_old {
            row.axpy(scale * (new - ai_old) * yi, w);
            alpha.set(i, new);
        }
    }
    g_max
}

impl DualAtBias for LogisticDual<'_> {
    /// Epochs of coordinate steps at intercept b (see [`sweep`]), serial or on per-thread
    /// replicas. Stops when the largest dual gradient of an epoch is at most tol times the
    /// first epoch's (LIBLINEAR `-s 7`'s relative test).
    fn solve_at_bias(
        &mut self,
        b: f64,
        w: &mut [f64],
        max_epochs: usize,
        tr: &mut Tracker,
    ) -> Result<(usize, bool)> {
        for run in 1..=max_epochs {
            self.order.shuffle(&mut self.rng);
            let (view, c, a) = (self.view, &self.c, &self.a);
            let g_max = match &mut self.replicas {
                None => sweep(
                    view,
                    c,
                    a,
                    &DualCells::new(&mut self.alpha),
                    &self.order,
                    b,
                    w,
                    1.0,
                ),
                Some(replicas) => {
                    let alpha = DualCells::new(&mut self.alpha);
                    let sweep = |rows: &mut [usize], v: &mut [f64], scale: f64| {
                        sweep(view, c, a, &alpha, rows, b, v, scale)
                    };
                    replicas
                        .epoch(&mut self.order, w, sweep)
                        .into_iter()
                        .fold(0.0, f64::max)
                }
            };
            self.epochs += 1;
            let reference = *self.reference.get_or_insert(g_max.max(f64::MIN_POSITIVE));
            tr.set_reference(reference);
            self.bound = dual_bound(self, b, w);
            tr.record(self.epochs, self.bound, g_max)?;
            if tr.converged(g_max) {
                return Ok((run, true));
            }
        }
        Ok((max_epochs, false))
    }

    fn bias_slope(&self) -> f64 {
        -(0..self.c.len())
            .filter(|&i| self.takes_part(i))
            .map(|i| sign(self.view, i) * self.alpha[i])
            .sum::<f64>()
    }

    fn dual_mass(&self) -> f64 {
        (0..self.c.len())
            .filter(|&i| self.takes_part(i))
            .map(|i| self.alpha[i])
            .sum()
    }

    fn epochs(&self) -> usize {
        self.epochs
    }

    /// The bound of the last epoch (at b = 0 without an intercept, the only case asked).
    fn dual_value(&self, _w: &[f64]) -> f64 {
        self.bound
    }
}

/// J at the dual point for intercept b, λ·(Σ C_i log C_i − D(α) − b Σ y_i α_i) with D(α) =
/// ½‖w‖² + Σ [α_i log α_i + (C_i − α_i) log(C_i − α_i)]: without an intercept a lower
/// bound of J*, equal at the optimum (Yu, Huang & Lin 2011, §3), from ‖w‖² and the α (no
/// pass over the rows).
fn dual_bound(dual: &LogisticDual, b: f64, w: &[f64]) -> f64 {
    let xlogx = |v: f64| if v > 0.0 { v * v.ln() } else { 0.0 };
    let d = if dual.view.intercept {
        w.len() - 1
    } else {
        w.len()
    };
    let ww: f64 = w[..d].iter().map(|v| v * v).sum();
    let (c, alpha) = (&dual.c, &dual.alpha);
    // In row order, not the epoch's random order: 5 million rows' c and α read at random
    // were 8% of a fit's time. A row that holds no feature (outside the coordinate loop
    // without an intercept) sits at its optimum α = C/2, where its term is C log 2.
    let entropy: f64 = (0..c.len())
        .map(|i| {
            if dual.takes_part(i) {
                xlogx(c[i]) - xlogx(alpha[i]) - xlogx(c[i] - alpha[i])
            } else {
                c[i] * std::f64::consts::LN_2
            }
        })
        .sum();
    dual.view.erm.lambda() * (entropy - 0.5 * ww + b * dual.bias_slope())
}

#[cfg(test)]
mod tests {
    use super::solve_near_bound;

    #[test]
    fn the_one_variable_subproblem_is_solved_to_rounding() {
        for &(a, b, c, z0) in &[
            (1.0, 0.3, 2.0, 0.5),
            (10.0, 3.0, 1e-3, 1e-9),
            (0.5, 20.0, 5.0, 2.4),
            (3.0, 0.0, 1.0, 1e-8),
            (1e-4, 1.0, 100.0, 50.0),
        ] {
            let z = solve_near_bound(a, b, c, z0);
            assert!(z > 0.0 && z <= 0.5 * c, "z = {z}");
            let g = a * (z - z0) + b + (z / (c - z)).ln();
            assert!(
                g.abs() < 1e-10 * (1.0 + b.abs()),
                "g({z}) = {g} for {a} {b} {c} {z0}"
            );
        }
    }
}
