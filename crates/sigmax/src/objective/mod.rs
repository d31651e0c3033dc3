//! Objectives: a regularized empirical risk as one thing with value, gradient and
//! Hessian-vector product. Solvers only see this interface (as LIBLINEAR's `function`
//! class separates losses from its trust-region solver).
//!
//! Conventions, for every objective here:
//! - the loss is a *mean* over rows, plus λ/2‖w‖² (so C = 1/(nλ) in LIBLINEAR's terms);
//! - the intercept, when present, is stored after the weights and is never regularized.

mod binary;
mod sampled_hessian;
mod softmax;

pub use binary::BinaryObjective;
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
    /// Whether J is smooth (second-order solvers and gradient-norm stopping apply).
    fn is_smooth(&self) -> bool;
}

/// An objective that is a mean over rows plus a regularizer, so that mini-batches can
/// estimate its gradient.
pub trait FiniteSum: Objective {
    fn n_samples(&self) -> usize;
    /// Mean loss over `batch` + λ/2‖w‖², and its (sub)gradient into `grad`.
    fn batch_value_grad(&self, w: &[f64], batch: &[usize], grad: &mut [f64]) -> f64;
}

pub(crate) fn sq_norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum()
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
pub(crate) mod testing {
    //! Finite-difference checks shared by the objectives' tests.
    use super::Objective;

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
