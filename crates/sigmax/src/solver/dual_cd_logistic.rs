//! Dual coordinate descent for L2-regularized logistic regression without intercept
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

use super::{Observer, SolverReport, StopRule, Tracker};
use crate::data::Features;
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

/// Minimizes the logistic objective of `view` (no intercept, L2 only) from w = 0.
pub(super) fn minimize(
    view: &BinaryView,
    stop: StopRule,
    seed: u64,
    w: &mut [f64],
    primal: impl Fn(&[f64]) -> f64,
    observer: Option<Observer>,
) -> Result<SolverReport> {
    let x: &Features = view.x;
    let n = view.positive.len();
    let c_scale = 1.0 / (view.erm.lambda() * view.erm.total_weight());
    let c: Vec<f64> = (0..n).map(|i| c_scale * view.erm.weight(i)).collect();
    let a: Vec<f64> = (0..n).map(|i| x.row(i).sq_norm()).collect();
    let y = |i: usize| if view.positive[i] { 1.0 } else { -1.0 };
    // Start strictly inside (0, C_i), near 0 (w ≈ 0): α_i = min(10⁻³ C_i, 10⁻⁸).
    let mut alpha: Vec<f64> = c.iter().map(|&ci| (1e-3 * ci).min(1e-8)).collect();
    w.iter_mut().for_each(|v| *v = 0.0);
    for i in 0..n {
        if c[i] > 0.0 {
            x.row(i).axpy(alpha[i] * y(i), w);
        }
    }
    let mut tr = Tracker::starting_at(stop.tol, observer);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).filter(|&i| c[i] > 0.0 && a[i] > 0.0).collect();
    let mut first = None;
    for epoch in 1..=stop.max_iter {
        order.shuffle(&mut rng);
        let mut g_max = 0f64;
        for &i in &order {
            let (ci, ai, yi) = (c[i], a[i], y(i));
            let row = x.row(i);
            let b = yi * row.dot(w);
            let (ai_old, bi_old) = (alpha[i], ci - alpha[i]);
            // The dual gradient at the current α_i (its optimality measure).
            g_max = g_max.max((b + (ai_old / bi_old).ln()).abs());
            let new = if 0.5 * ai * (ci - 2.0 * ai_old) + b >= 0.0 {
                solve_near_bound(ai, b, ci, ai_old)
            } else {
                ci - solve_near_bound(ai, -b, ci, bi_old)
            };
            let new = new.clamp(f64::MIN_POSITIVE, ci * (1.0 - f64::EPSILON));
            if new != ai_old {
                row.axpy((new - ai_old) * yi, w);
                alpha[i] = new;
            }
        }
        let reference = *first.get_or_insert(g_max.max(f64::MIN_POSITIVE));
        tr.set_reference(reference);
        let lower = dual_bound(view.erm.lambda(), w, &alpha, &c, &order);
        tr.record(epoch, lower, g_max)?;
        if tr.converged(g_max) {
            let done = tr.finish(
                "dual-cd",
                true,
                format!("largest dual gradient below tol after {epoch} epochs"),
            );
            return Ok(super::dual_cd::with_primal(done, primal(w)));
        }
    }
    let done = tr.finish(
        "dual-cd",
        false,
        format!(
            "ran all {} epochs without reaching the tolerance",
            stop.max_iter
        ),
    );
    Ok(super::dual_cd::with_primal(done, primal(w)))
}

/// J at the dual point, λ·(Σ C_i log C_i − D(α)) with D(α) = ½‖w‖² + Σ [α_i log α_i +
/// (C_i − α_i) log(C_i − α_i)]: a lower bound of J*, equal at the optimum (Yu, Huang & Lin
/// 2011, §3), from ‖w‖² and the α (no pass over the rows). Rows outside `order` (weight 0
/// or all-zero rows) keep α_i at its start and count as C_i log C_i − their terms.
fn dual_bound(lambda: f64, w: &[f64], alpha: &[f64], c: &[f64], order: &[usize]) -> f64 {
    let xlogx = |v: f64| if v > 0.0 { v * v.ln() } else { 0.0 };
    let ww: f64 = w.iter().map(|v| v * v).sum();
    let entropy: f64 = order
        .iter()
        .map(|&i| xlogx(c[i]) - xlogx(alpha[i]) - xlogx(c[i] - alpha[i]))
        .sum();
    lambda * (entropy - 0.5 * ww)
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
