//! Objectives: a regularized empirical risk as one thing with value, gradient and
//! Hessian-vector product. Solvers only see this interface (as LIBLINEAR's `function`
//! class separates losses from its trust-region solver).
//!
//! Conventions, for every objective here (written once, in [`Erm`]):
//! - the loss is a *weighted mean* over rows, (1/S) Σ s_i ℓ_i with S = Σ s_i (the plain
//!   mean without weights), plus λ/2‖w‖² (so λ = 1/(C·S) in LIBLINEAR's terms);
//! - the intercept, when present, is stored after the weights and is never regularized;
//! - every pass sums its rows locally, then through a [`Reducer`], and only then divides
//!   by S and adds the penalty, so rows may live in several processes.

mod binary;
mod erm;
mod sampled_hessian;
mod softmax;

pub use binary::BinaryObjective;
pub use erm::{check_sample_weights, Erm, ErmObjective, L1Penalty, LocalReducer, Reducer};
pub use sampled_hessian::HessianSample;
pub use softmax::SoftmaxObjective;

/// A function of the parameter vector that solvers minimize.
pub trait Objective {
    /// Number of parameters.
    fn dim(&self) -> usize;
    /// J(w). Leaves the curvature remembered by the last `value_grad` untouched (line
    /// searches and trust-region trials rely on it).
    fn value(&mut self, w: &[f64]) -> f64;
    /// J(w), and ∇J(w) (a subgradient where J has a kink) into `grad`. Also remembers
    /// the curvature at `w` for [`Objective::hess_vec`].
    fn value_grad(&mut self, w: &[f64], grad: &mut [f64]) -> f64;
    /// ∇²J(w)·v at the `w` of the last `value_grad` call; `false` if J is not twice
    /// differentiable (then `out` is untouched).
    fn hess_vec(&self, v: &[f64], out: &mut [f64]) -> bool;
    /// The diagonal of ∇²J at the `w` of the last `value_grad` call, for preconditioning;
    /// `false` if not available (the default).
    fn hess_diag(&self, _out: &mut [f64]) -> bool {
        false
    }
    /// The weight α in the diagonal preconditioner M = (1 − α)I + α·diag(∇²J) that suits
    /// this kind of objective, as measured on the benchmark sets (0: identity, 1: Jacobi).
    /// LIBLINEAR's 0.01 is the default; the solver's `Auto` uses this value.
    fn diagonal_weight(&self) -> f64 {
        0.01
    }
    /// ∇²J at the `w` of the last `value_grad` call, estimated on a sample of rows, as a
    /// row-major `dim × dim` matrix, for preconditioning; `None` if not available (the
    /// default) or larger than the request allows.
    fn sampled_hessian(&self, _req: &HessianSample) -> Option<Vec<f64>> {
        None
    }
    /// The L1 part λ₁‖w[..p]‖₁ of J, which `value` and `value_grad` leave out (they are
    /// the smooth part): solvers made for it add it, the others refuse a non-zero one.
    fn l1_penalty(&self) -> L1Penalty {
        L1Penalty::default()
    }
    /// Whether J is smooth (second-order solvers and gradient-norm stopping apply).
    fn is_smooth(&self) -> bool;
    /// Mini-batch access, for stochastic solvers; `None` (the default) if J is not a
    /// finite sum over rows.
    fn as_finite_sum(&mut self) -> Option<&mut dyn FiniteSum> {
        None
    }
    /// The rows, labels and weights of a binary linear model, for solvers that work on
    /// the data directly (dual coordinate descent); `None` (the default) otherwise.
    fn binary_view(&self) -> Option<BinaryView<'_>> {
        None
    }
    /// The rows and per-row loss of a linear model, for solvers that step row by row
    /// (SAGA, SGD's sparse steps); `None` (the default) otherwise.
    fn rows_view(&self) -> Option<RowsView<'_>> {
        None
    }
}

/// What a row-by-row solver sees of a linear model: row i has `outputs` scores
/// s = W x_i (+ b), W stored as [`Objective::dim`]'s layout (output j's weights are
/// `w[j·d..(j+1)·d]`, then the intercepts), and a loss ℓ_i(s) whose derivative in s
/// [`RowLoss::score_gradient`] gives.
pub struct RowsView<'v> {
    pub x: &'v crate::data::Features,
    /// Scores per row: K for softmax, 1 for a binary model.
    pub outputs: usize,
    pub intercept: bool,
    /// Weights, S, λ and the reduction.
    pub erm: &'v Erm<'v>,
    /// A bound on the eigenvalues of ∂²ℓ_i/∂s² for every row (the smoothness constant per
    /// unit of ‖x_i‖²): ½ for softmax, ¼ for the logistic loss, 2 for the squared hinge;
    /// `None` for the hinge (no second derivative) and the exponential loss (unbounded).
    pub curvature_bound: Option<f64>,
    pub loss: &'v dyn RowLoss,
}

/// The loss of one row as a function of its scores.
pub trait RowLoss {
    /// Overwrites row i's scores with ∂ℓ_i/∂s (unweighted; a subgradient where ℓ_i has a
    /// kink).
    fn score_gradient(&self, i: usize, scores: &mut [f64]);
}

/// What a data-level solver sees of a binary linear objective.
pub struct BinaryView<'v> {
    pub x: &'v crate::data::Features,
    /// true = positive class.
    pub positive: &'v [bool],
    pub loss: crate::loss::BinaryLoss,
    pub intercept: bool,
    /// Weights, S, λ and the reduction.
    pub erm: &'v Erm<'v>,
    pub l1: L1Penalty,
}

/// An objective that is a mean over rows plus a regularizer, so that mini-batches can
/// estimate its gradient.
pub trait FiniteSum: Objective {
    fn n_samples(&self) -> usize;
    /// The mini-batch estimate of J (the batch's weighted loss scaled to estimate the
    /// weighted mean) + λ/2‖w‖², and its (sub)gradient into `grad`.
    fn batch_value_grad(&self, w: &[f64], batch: &[usize], grad: &mut [f64]) -> f64;
}

/// A pass's reused buffers, even if an earlier pass panicked while holding them (they
/// are overwritten before use, so nothing stale is read).
pub(crate) fn lock<T>(scratch: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    scratch
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
pub(crate) mod testing {
    //! Finite-difference checks shared by the objectives' tests.
    pub(crate) use super::softmax::tests::sparse_toy;
    use super::Objective;

    /// J (from `value_grad` and from `value`), ∇J, Hv and the Hessian diagonal at w:
    /// everything a pass computes, to compare two ways of computing it.
    pub fn pass_results(obj: &mut dyn Objective, w: &[f64], v: &[f64]) -> Vec<Vec<f64>> {
        let m = obj.dim();
        let (mut g, mut hv, mut diag) = (vec![0.0; m], vec![0.0; m], vec![0.0; m]);
        let f = obj.value_grad(w, &mut g);
        assert!(obj.hess_vec(v, &mut hv) && obj.hess_diag(&mut diag));
        vec![vec![f, obj.value(w)], g, hv, diag]
    }

    /// The objective built both ways (`make(over_columns)`) gives the same numbers to
    /// rounding (the two ways sum a block's rows in different orders; every process
    /// takes the same way), and the way over columns passes the finite-difference checks.
    pub fn assert_columns_match_rows<'a>(make: impl Fn(bool) -> Box<dyn Objective + 'a>) {
        let mut results = Vec::new();
        for over_columns in [false, true] {
            let mut obj = make(over_columns);
            let m = obj.dim();
            let w: Vec<f64> = (0..m).map(|t| ((t * 5 % 11) as f64 - 5.0) / 9.0).collect();
            let v: Vec<f64> = (0..m).map(|t| ((t * 3 % 7) as f64 - 3.0) / 4.0).collect();
            results.push(pass_results(obj.as_mut(), &w, &v));
            if over_columns {
                check_gradient(obj.as_mut(), &w, 1e-6);
                check_hess_vec(obj.as_mut(), &w, &v, 1e-6);
            }
        }
        assert_close(&results[0], &results[1], 1e-13);
    }

    /// Every entry of `a` within rel·max(|a|, 1) of `b`'s.
    pub fn assert_close(a: &[Vec<f64>], b: &[Vec<f64>], rel: f64) {
        for (p, q) in a.iter().zip(b) {
            assert_eq!(p.len(), q.len());
            for (s, t) in p.iter().zip(q) {
                assert!((s - t).abs() <= rel * s.abs().max(1.0), "{s} vs {t}");
            }
        }
    }

    /// Central differences of J against the analytic gradient, entry by entry.
    pub fn check_gradient(obj: &mut dyn Objective, w: &[f64], rel_tol: f64) {
        let mut g = vec![0.0; obj.dim()];
        obj.value_grad(w, &mut g);
        let h = 1e-5;
        let scale = g.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
        for k in 0..w.len() {
            let (mut wp, mut wm) = (w.to_vec(), w.to_vec());
            wp[k] += h;
            wm[k] -= h;
            let fd = (obj.value(&wp) - obj.value(&wm)) / (2.0 * h);
            assert!(
                (fd - g[k]).abs() <= rel_tol * scale,
                "grad[{k}]: analytic {} vs finite difference {fd}",
                g[k]
            );
        }
    }

    /// Differences of the gradient along v against the Hessian-vector product.
    pub fn check_hess_vec(obj: &mut dyn Objective, w: &[f64], v: &[f64], rel_tol: f64) {
        let n = obj.dim();
        let h = 1e-5;
        let (mut gp, mut gm, mut hv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let wp: Vec<f64> = w.iter().zip(v).map(|(a, b)| a + h * b).collect();
        let wm: Vec<f64> = w.iter().zip(v).map(|(a, b)| a - h * b).collect();
        obj.value_grad(&wp, &mut gp);
        obj.value_grad(&wm, &mut gm);
        obj.value_grad(w, &mut vec![0.0; n]);
        assert!(obj.hess_vec(v, &mut hv), "objective has no Hessian");
        let scale = hv.iter().fold(1e-3f64, |m, x| m.max(x.abs()));
        for k in 0..n {
            let fd = (gp[k] - gm[k]) / (2.0 * h);
            assert!(
                (fd - hv[k]).abs() <= rel_tol * scale,
                "Hv[{k}]: analytic {} vs finite difference {fd}",
                hv[k]
            );
        }
    }
}
