//! The batch computation of every margin head: logits, mean cross-entropy, and the
//! gradients with respect to features and weights, by explicit formulas.
//!
//! Each logit is a function z(f, ‖x‖, ‖w‖) of f = w·x and the two norms, so
//!   ∂z/∂x = a·w + b·x/‖x‖,   ∂z/∂w = a·x + e·w/‖w‖   with a = ∂z/∂f, b = ∂z/∂‖x‖, e = ∂z/∂‖w‖.
//! With G = ∂L/∂z = (softmax(z) − onehot(y))/n this gives
//!   ∂L/∂X = (G∘A)·W + diag(Σ_j G∘B / ‖x‖)·X,   ∂L/∂W = (G∘A)ᵀ·X + diag(Σ_i G∘E / ‖w‖)·W,
//! i.e. one matrix product forward (X·Wᵀ) and two backward, plus O(nK) elementwise work.

use super::{MarginHead, Psi};
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::fmt::Debug;

/// f32 or f64: the element type of features, weights, logits and gradients. Products
/// run in this type; the per-entry margin math and the loss accumulate in f64.
pub trait Scalar: Copy + Send + Sync + Default + Debug + PartialEq + 'static {
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    /// e^v computed in this type's precision (f32's exp is about twice as fast, and its
    /// error is below what f32 logits carry anyway).
    fn exp_of(v: f64) -> f64;
    /// C ← α·A·B + β·C for row-major A (m×k), B (k×n), C (m×n), each given with its
    /// row and column strides.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: &[Self],
        a_strides: (isize, isize),
        b: &[Self],
        b_strides: (isize, isize),
        beta: Self,
        c: &mut [Self],
    );
}

macro_rules! impl_scalar {
    ($t:ty, $gemm:path) => {
        impl Scalar for $t {
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn exp_of(v: f64) -> f64 {
                (v as $t).exp() as f64
            }
            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: &[Self],
                (ra, ca): (isize, isize),
                b: &[Self],
                (rb, cb): (isize, isize),
                beta: Self,
                c: &mut [Self],
            ) {
                let last = |rows: usize, cols: usize, r: isize, cl: isize| {
                    if rows == 0 || cols == 0 {
                        0
                    } else {
                        (rows as isize - 1) * r + (cols as isize - 1) * cl + 1
                    }
                };
                assert!(a.len() as isize >= last(m, k, ra, ca), "gemm: A too short");
                assert!(b.len() as isize >= last(k, n, rb, cb), "gemm: B too short");
                assert!(c.len() >= m * n, "gemm: C too short");
                // SAFETY: the asserts above keep every strided access inside the slices.
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        alpha,
                        a.as_ptr(),
                        ra,
                        ca,
                        b.as_ptr(),
                        rb,
                        cb,
                        beta,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                }
            }
        }
    };
}
impl_scalar!(f32, matrixmultiply::sgemm);
impl_scalar!(f64, matrixmultiply::dgemm);

/// 1/v, or 0 for v = 0 (a zero vector has no direction; its norm terms drop out).
#[inline]
fn inv(v: f64) -> f64 {
    if v > 1e-300 {
        1.0 / v
    } else {
        0.0
    }
}

/// The margin function of the combined head, h(c) = cos(m1·θ + m2) − m3 with c = cos θ,
/// and dh/dc. sin θ is floored at 1e-12 in the slope so |c| = 1 stays finite.
#[inline]
fn combined_margin(c: f64, m1: f64, m2: f64, m3: f64) -> (f64, f64) {
    let c = c.clamp(-1.0, 1.0);
    let sin_t = (1.0 - c * c).max(0.0).sqrt();
    let theta = c.acos();
    let phi = m1 * theta + m2;
    if phi > std::f64::consts::PI {
        // Past π the target logit would increase with θ again: the monotone fallback.
        return (c - m2 * m2.sin() - m3, 1.0);
    }
    if m1 == 1.0 {
        // cos(θ + m2) = c·cos m2 − sin θ·sin m2.
        let (sm, cm) = m2.sin_cos();
        let slope = if sm == 0.0 {
            cm
        } else {
            cm + c * sm / sin_t.max(1e-12)
        };
        return (c * cm - sin_t * sm - m3, slope);
    }
    let slope = if sin_t < 1e-8 && m2 == 0.0 && c > 0.0 {
        m1 * m1 // the limit of m1·sin(m1θ)/sin θ as θ → 0
    } else {
        m1 * phi.sin() / sin_t.max(1e-12)
    };
    (phi.cos() - m3, slope)
}

/// Per logit: (z, a = ∂z/∂f, b = ∂z/∂‖x‖, e = ∂z/∂‖w‖).
type Partials = (f64, f64, f64, f64);

/// Reusable workspace and results of one head. Buffers are kept between calls, so a
/// training loop allocates only on the first batch (or when shapes grow).
pub struct MarginLoss<T: Scalar> {
    head: MarginHead,
    psi: Option<Psi>,
    n: usize,
    d: usize,
    k: usize,
    logits: Vec<T>,
    /// G∘A, then G∘E, n × K.
    coef_a: Vec<T>,
    coef_e: Vec<f64>,
    /// Σ_j G_ij b_ij per row.
    coef_b: Vec<f64>,
    x_norm: Vec<f64>,
    w_norm: Vec<f64>,
    grad_x: Vec<T>,
    grad_w: Vec<T>,
}

impl<T: Scalar> MarginLoss<T> {
    pub fn new(head: MarginHead) -> Result<Self> {
        head.validate()?;
        let psi = match head {
            MarginHead::LSoftmax { m } | MarginHead::ASoftmax { m } => Some(Psi::new(m)?),
            _ => None,
        };
        Ok(MarginLoss {
            head,
            psi,
            n: 0,
            d: 0,
            k: 0,
            logits: vec![],
            coef_a: vec![],
            coef_e: vec![],
            coef_b: vec![],
            x_norm: vec![],
            w_norm: vec![],
            grad_x: vec![],
            grad_w: vec![],
        })
    }

    pub fn head(&self) -> MarginHead {
        self.head
    }

    /// Logits of the last call, row-major n × K (with the margin on the target class).
    pub fn logits(&self) -> &[T] {
        &self.logits
    }
    /// ∂L/∂X of the last call with `want_grad`, n × d.
    pub fn grad_features(&self) -> &[T] {
        &self.grad_x
    }
    /// ∂L/∂W of the last call with `want_grad`, K × d.
    pub fn grad_weights(&self) -> &[T] {
        &self.grad_w
    }

    /// Mean loss over the batch for features `x` (n × d), weights `w` (K × d) and labels
    /// `y` (< K); λ anneals L-Softmax / A-Softmax (ignored by the other heads).
    pub fn compute(
        &mut self,
        x: &[T],
        w: &[T],
        y: &[u32],
        d: usize,
        lambda: f64,
        want_grad: bool,
    ) -> Result<f64> {
        self.check_shapes(x, w, y, d, lambda)?;
        let (n, k) = (y.len(), w.len() / d);
        self.resize(n, d, k, want_grad);
        row_norms(x, d, &mut self.x_norm);
        row_norms(w, d, &mut self.w_norm);
        if let Some(v) = self
            .x_norm
            .iter()
            .chain(&self.w_norm)
            .find(|v| !v.is_finite())
        {
            return Err(Error::NotFinite {
                what: "feature or weight",
                value: *v,
                context: "in the margin head input".into(),
            });
        }
        // F = X·Wᵀ into the logits buffer.
        T::gemm(
            n,
            d,
            k,
            T::from_f64(1.0),
            x,
            (d as isize, 1),
            w,
            (1, d as isize),
            T::from_f64(0.0),
            &mut self.logits,
        );

        let inv_n = 1.0 / n as f64;
        let (head, psi, x_norm, w_norm) =
            (self.head, self.psi.as_ref(), &self.x_norm, &self.w_norm);
        let rows = self
            .logits
            .par_chunks_mut(k)
            .zip(self.coef_a.par_chunks_mut(k))
            .zip(self.coef_b.par_iter_mut())
            .enumerate();
        let coef_e_rows: Vec<&mut [f64]> = self.coef_e.chunks_mut(k.max(1)).collect();
        let losses: Vec<f64> = rows
            .zip(coef_e_rows)
            .map_init(
                || (vec![0.0f64; k], vec![0.0f64; k], vec![0.0f64; k]),
                |(z, a, e), ((i, ((lrow, arow), brow)), erow)| {
                    let yi = y[i] as usize;
                    let nx = x_norm[i];
                    // b_ij waits in erow until G is known.
                    for j in 0..k {
                        let (zj, aj, bj, ej) =
                            partials(head, psi, lrow[j].to_f64(), nx, w_norm[j], j == yi, lambda);
                        (z[j], a[j], e[j], erow[j]) = (zj, aj, ej, bj);
                    }
                    // Softmax of z (one exp per entry), cross-entropy, and G = (p − onehot)/n.
                    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let target = z[yi];
                    let mut sum = 0.0;
                    for (zj, lj) in z.iter_mut().zip(lrow.iter_mut()) {
                        *lj = T::from_f64(*zj);
                        *zj = T::exp_of(*zj - max);
                        sum += *zj;
                    }
                    let lse = max + sum.ln();
                    let inv_sum = 1.0 / sum;
                    let mut b_total = 0.0;
                    for j in 0..k {
                        let g = (z[j] * inv_sum - if j == yi { 1.0 } else { 0.0 }) * inv_n;
                        arow[j] = T::from_f64(g * a[j]);
                        b_total += g * erow[j];
                        erow[j] = g * e[j];
                    }
                    *brow = b_total;
                    lse - target
                },
            )
            .collect();
        let loss = losses.iter().sum::<f64>() * inv_n;
        if !loss.is_finite() {
            return Err(Error::NotFinite {
                what: "margin loss",
                value: loss,
                context: "(check the scale and the inputs)".into(),
            });
        }
        if want_grad {
            self.backward(x, w);
        }
        // The loss is summed in f64, but the logits and gradients are stored in T: a
        // scale or input past T's range (f32's 3.4e38) makes them infinite there.
        let stored = [
            ("a logit", &self.logits),
            ("a feature gradient", &self.grad_x),
            ("a weight gradient", &self.grad_w),
        ];
        for (what, values) in stored.into_iter().take(if want_grad { 3 } else { 1 }) {
            if let Some(v) = values.iter().find(|v| !v.to_f64().is_finite()) {
                return Err(Error::NotFinite {
                    what,
                    value: v.to_f64(),
                    context: format!(
                        "in {} precision: the scale or the inputs are too large for it",
                        std::any::type_name::<T>()
                    ),
                });
            }
        }
        Ok(loss)
    }

    fn backward(&mut self, x: &[T], w: &[T]) {
        let (n, d, k) = (self.n, self.d, self.k);
        // ∂L/∂X = (G∘A)·W + (Σ_j G∘B)/‖x‖ · x.
        self.grad_x
            .par_chunks_mut(d)
            .enumerate()
            .for_each(|(i, g)| {
                let s = self.coef_b[i] * inv(self.x_norm[i]);
                for (gv, xv) in g.iter_mut().zip(&x[i * d..(i + 1) * d]) {
                    *gv = T::from_f64(s * xv.to_f64());
                }
            });
        T::gemm(
            n,
            k,
            d,
            T::from_f64(1.0),
            &self.coef_a,
            (k as isize, 1),
            w,
            (d as isize, 1),
            T::from_f64(1.0),
            &mut self.grad_x,
        );
        // ∂L/∂W = (G∘A)ᵀ·X + (Σ_i G∘E)/‖w‖ · w.
        let mut col = vec![0.0f64; k];
        for row in self.coef_e.chunks(k) {
            col.iter_mut().zip(row).for_each(|(c, v)| *c += v);
        }
        self.grad_w
            .par_chunks_mut(d)
            .enumerate()
            .for_each(|(j, g)| {
                let s = col[j] * inv(self.w_norm[j]);
                for (gv, wv) in g.iter_mut().zip(&w[j * d..(j + 1) * d]) {
                    *gv = T::from_f64(s * wv.to_f64());
                }
            });
        T::gemm(
            k,
            n,
            d,
            T::from_f64(1.0),
            &self.coef_a,
            (1, k as isize),
            x,
            (d as isize, 1),
            T::from_f64(1.0),
            &mut self.grad_w,
        );
    }

    fn check_shapes(&self, x: &[T], w: &[T], y: &[u32], d: usize, lambda: f64) -> Result<()> {
        if d == 0 {
            return Err(Error::Shape {
                what: "feature dimension (at least)",
                expected: 1,
                got: 0,
            });
        }
        if x.len() != y.len() * d {
            return Err(Error::Shape {
                what: "features (n × d values for n labels)",
                expected: y.len() * d,
                got: x.len(),
            });
        }
        if w.len() % d != 0 || w.is_empty() {
            return Err(Error::Shape {
                what: "weights (K × d values)",
                expected: d * (w.len() / d).max(1),
                got: w.len(),
            });
        }
        let k = w.len() / d;
        if let Some((i, &c)) = y.iter().enumerate().find(|(_, &c)| c as usize >= k) {
            return Err(Error::InvalidParameter {
                name: "label",
                value: format!("{c} (sample {i})"),
                expected: "labels must be 0-based class indices below the number of weight rows",
            });
        }
        if !(lambda >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "lambda",
                value: lambda.to_string(),
                expected: "must be ≥ 0",
            });
        }
        Ok(())
    }

    fn resize(&mut self, n: usize, d: usize, k: usize, want_grad: bool) {
        (self.n, self.d, self.k) = (n, d, k);
        self.logits.resize(n * k, T::default());
        self.coef_a.resize(n * k, T::default());
        self.coef_e.resize(n * k, 0.0);
        self.coef_b.resize(n, 0.0);
        if want_grad {
            self.grad_x.resize(n * d, T::default());
            self.grad_w.resize(k * d, T::default());
        } else {
            self.grad_x.clear();
            self.grad_w.clear();
        }
    }
}

fn row_norms<T: Scalar>(m: &[T], d: usize, out: &mut Vec<f64>) {
    out.clear();
    out.extend(m.chunks(d).map(|r| {
        r.iter()
            .map(|v| v.to_f64() * v.to_f64())
            .sum::<f64>()
            .sqrt()
    }));
}

/// z and its partial derivatives for one entry with f = w·x, norms nx = ‖x‖, nw = ‖w‖.
#[inline]
fn partials(
    head: MarginHead,
    psi: Option<&Psi>,
    f: f64,
    nx: f64,
    nw: f64,
    target: bool,
    lambda: f64,
) -> Partials {
    let cos = || (f * inv(nx * nw)).clamp(-1.0, 1.0);
    match head {
        MarginHead::Softmax => (f, 1.0, 0.0, 0.0),
        MarginHead::LSoftmax { .. } if !target => (f, 1.0, 0.0, 0.0),
        MarginHead::ModifiedSoftmax | MarginHead::ASoftmax { .. } if !target => {
            let z = f * inv(nw);
            (z, inv(nw), 0.0, -z * inv(nw))
        }
        MarginHead::ModifiedSoftmax => {
            let z = f * inv(nw);
            (z, inv(nw), 0.0, -z * inv(nw))
        }
        MarginHead::LSoftmax { .. } => {
            let c = cos();
            let (p, dp) = psi.expect("L-Softmax has ψ").value_and_slope(c);
            let l1 = 1.0 / (1.0 + lambda);
            let r = (p - c * dp) * l1;
            (
                (lambda * f + nx * nw * p) * l1,
                (lambda + dp) * l1,
                nw * r,
                nx * r,
            )
        }
        MarginHead::ASoftmax { .. } => {
            let c = cos();
            let (p, dp) = psi.expect("A-Softmax has ψ").value_and_slope(c);
            let l1 = 1.0 / (1.0 + lambda);
            let (q, dq) = ((lambda * c + p) * l1, (lambda + dp) * l1);
            (nx * q, dq * inv(nw), q - c * dq, -nx * c * dq * inv(nw))
        }
        MarginHead::CombinedMargin { s, m1, m2, m3 } => {
            let c = cos();
            let (h, dh) = if target {
                combined_margin(c, m1, m2, m3)
            } else {
                (c, 1.0)
            };
            (
                s * h,
                s * dh * inv(nx * nw),
                -s * dh * c * inv(nx),
                -s * dh * c * inv(nw),
            )
        }
    }
}
