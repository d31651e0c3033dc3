//! The margin heads of [`sigmax::margin`] written with burn tensor operations, so that
//! autograd differentiates them inside a network. The formulas are the same as the core's
//! explicit-gradient [`sigmax::margin::MarginLoss`] (see its module documentation); a test
//! checks that the two give the same loss and gradients.
//!
//! The cos(mθ) of L-Softmax / A-Softmax is the Chebyshev polynomial T_m(cos θ), and the
//! piece index k of ψ is counted from cos θ on a detached copy (it is piecewise constant),
//! so no acos is needed (Liu et al., ICML 2016, eq. 7–8).

use burn::module::{Module, Param};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Distribution, Int, Tensor};
use sigmax::margin::MarginHead;

/// Class weights W (K × d, row w_j), no bias: the margin heads compare features with w_j by angle.
#[derive(Module, Debug)]
pub struct ClassWeights {
    pub weight: Param<Tensor<2>>,
}

impl ClassWeights {
    /// Xavier-uniform initialization (fan_in d, fan_out K).
    pub fn new(num_classes: usize, dim: usize, device: &Device) -> Self {
        let a = (6.0 / (num_classes + dim) as f64).sqrt();
        let w = Tensor::<2>::random([num_classes, dim], Distribution::Uniform(-a, a), device);
        ClassWeights {
            weight: Param::from_tensor(w),
        }
    }
}

/// Row norms of an (n × d) tensor as an (n × 1) column, floored so a zero row has no direction.
fn row_norms(t: Tensor<2>) -> Tensor<2> {
    t.powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12)
}

/// Rows scaled to unit length.
fn normalize_rows(t: Tensor<2>) -> Tensor<2> {
    let n = row_norms(t.clone());
    t / n
}

/// The logits at test time: no margin. Softmax and L-Softmax: x·w_j; modified softmax and
/// A-Softmax: ‖x‖cos θ_j; combined margins: s·cos θ_j. Prediction is their argmax.
pub fn plain_logits(head: MarginHead, x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    match head {
        MarginHead::Softmax | MarginHead::LSoftmax { .. } => x.matmul(w.transpose()),
        MarginHead::ModifiedSoftmax | MarginHead::ASoftmax { .. } => {
            x.matmul(normalize_rows(w).transpose())
        }
        MarginHead::CombinedMargin { s, .. } => normalize_rows(x)
            .matmul(normalize_rows(w).transpose())
            .mul_scalar(s),
    }
}

/// The training logits z (n × K) with the margin on each row's target class; `lambda` is the
/// annealing weight of L-Softmax / A-Softmax (ignored by the other heads).
pub fn margin_logits(
    head: MarginHead,
    x: Tensor<2>,
    w: Tensor<2>,
    y: Tensor<1, Int>,
    lambda: f64,
) -> Tensor<2> {
    let k = w.dims()[0];
    let onehot = y.one_hot::<2>(k).float();
    // z = f + onehot ∘ (target − f_y): only the target column changes.
    let with_target =
        |f: Tensor<2>, target: Tensor<2>, f_y: Tensor<2>| f + onehot.clone() * (target - f_y);
    match head {
        MarginHead::Softmax | MarginHead::ModifiedSoftmax => plain_logits(head, x, w),
        MarginHead::LSoftmax { m } | MarginHead::ASoftmax { m } => {
            let normalized = matches!(head, MarginHead::ASoftmax { .. });
            let x_norm = row_norms(x.clone());
            let (f, w_norm_y) = if normalized {
                (x.matmul(normalize_rows(w).transpose()), None)
            } else {
                let w_norm = row_norms(w.clone()).transpose(); // 1 × K
                let w_norm_y = (onehot.clone() * w_norm).sum_dim(1);
                (x.matmul(w.transpose()), Some(w_norm_y))
            };
            let f_y = (f.clone() * onehot.clone()).sum_dim(1);
            // ‖w_y‖‖x‖ (‖x‖ alone when the weights are unit vectors).
            let scale = match w_norm_y {
                Some(wn) => x_norm * wn,
                None => x_norm,
            };
            let cos = (f_y.clone() / scale.clone()).clamp(-1.0, 1.0);
            let target =
                (f_y.clone().mul_scalar(lambda) + scale * psi(cos, m)).div_scalar(1.0 + lambda);
            with_target(f, target, f_y)
        }
        MarginHead::CombinedMargin { s, m1, m2, m3 } => {
            let cos = normalize_rows(x).matmul(normalize_rows(w).transpose());
            let cos_y = (cos.clone() * onehot.clone()).sum_dim(1);
            let target = combined_margin(cos_y.clone(), m1, m2, m3);
            with_target(cos, target, cos_y).mul_scalar(s)
        }
    }
}

/// ψ_m(θ) = (−1)^k T_m(cos θ) − 2k on θ ∈ [kπ/m, (k+1)π/m].
pub fn psi(cos: Tensor<2>, m: u32) -> Tensor<2> {
    let mut t_prev = cos.ones_like();
    let mut t = cos.clone();
    for _ in 1..m {
        let next = cos.clone() * t.clone() * 2.0 - t_prev;
        t_prev = t;
        t = next;
    }
    // k = #{j ∈ 1..m−1 : θ ≥ jπ/m} = #{j : cos θ ≤ cos(jπ/m)}, constant between the knots.
    let c = cos.detach();
    let mut k = c.zeros_like();
    for j in 1..m {
        let knot = (j as f64 * std::f64::consts::PI / m as f64).cos();
        k = k + c.clone().lower_equal_elem(knot).float();
    }
    let parity = k.clone() - k.clone().div_scalar(2.0).floor().mul_scalar(2.0);
    let sign = parity.mul_scalar(-2.0).add_scalar(1.0);
    sign * t - k.mul_scalar(2.0)
}

/// h(c) = cos(m1·θ + m2) − m3 with the monotone fallback c − m2·sin m2 − m3 past
/// m1·θ + m2 > π (insightface; the same rule as the core).
fn combined_margin(cos: Tensor<2>, m1: f64, m2: f64, m3: f64) -> Tensor<2> {
    let h = if m1 == 1.0 {
        // cos(θ + m2) = c·cos m2 − sin θ·sin m2; sin θ floored at 1e-12 as in the core.
        let sin = cos
            .clone()
            .powi_scalar(2)
            .neg()
            .add_scalar(1.0)
            .clamp_min(1e-24)
            .sqrt();
        cos.clone().mul_scalar(m2.cos()) - sin.mul_scalar(m2.sin())
    } else {
        let theta = cos.clone().clamp(-1.0 + 1e-7, 1.0 - 1e-7).acos();
        theta.mul_scalar(m1).add_scalar(m2).cos()
    };
    let limit = (std::f64::consts::PI - m2) / m1;
    let h = if limit < std::f64::consts::PI {
        let past = cos.clone().detach().lower_elem(limit.max(0.0).cos());
        let fallback = cos.clone().sub_scalar(m2 * m2.sin());
        h.mask_where(past, fallback)
    } else {
        h
    };
    h.sub_scalar(m3)
}

/// Mean cross-entropy of logits z against labels y, as a 1-element tensor.
pub fn cross_entropy(z: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1> {
    let k = z.dims()[1];
    let onehot = y.one_hot::<2>(k).float();
    (log_softmax(z, 1) * onehot).sum_dim(1).mean().neg()
}
