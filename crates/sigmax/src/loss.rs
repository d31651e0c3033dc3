//! Pointwise losses, each computed stably from the linear score.
//!
//! For a binary label y ∈ {−1, +1} and score z = w·x + b, the margin is m = y·z:
//!
//! | loss        | ℓ(m)              | bounds the 0-1 loss? |
//! |-------------|-------------------|----------------------|
//! | 0-1         | 1[m ≤ 0]          | (it is the 0-1 loss) |
//! | hinge       | max(0, 1 − m)     | yes                  |
//! | logistic    | log(1 + e^{−m})   | yes in log base 2    |
//! | exponential | e^{−m}            | yes                  |
//! | squared hinge | max(0, 1 − m)²  | yes                  |
//!
//! The {0,1} cross-entropy −[t log g(z) + (1−t) log(1−g(z))] equals softplus(z) − t·z,
//! which is the logistic loss of the same z with y = 2t − 1 (Bishop, PRML §4.3.2).

/// log(1 + e^z) without overflow: for z > 0 it is z + log(1 + e^{−z}).
#[inline]
pub fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// The logistic function g(z) = 1/(1 + e^{−z}), evaluated without overflow.
#[inline]
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// log Σ_j e^{s_j}, shifted by this row's own maximum so no term overflows.
#[inline]
pub fn log_sum_exp(scores: &[f64]) -> f64 {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + scores.iter().map(|&s| (s - max).exp()).sum::<f64>().ln()
}

/// softmax(scores) written into `out` as e^{s−max}/Σe^{s−max} (more accurate than
/// e^{s−lse} when the scores are large); returns log Σ e^{s}.
#[inline]
pub fn softmax_into(scores: &[f64], out: &mut [f64]) -> f64 {
    out.copy_from_slice(scores);
    softmax_in_place(out)
}

/// [`softmax_into`] over the scores themselves.
#[inline]
pub fn softmax_in_place(scores: &mut [f64]) -> f64 {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    scores.iter_mut().for_each(|s| *s /= sum);
    max + sum.ln()
}

/// The exponential loss is clamped at e^700 (f64 overflows at e^709.8): beyond that the
/// value stays finite and the gradient keeps pointing the right way.
const EXP_CLAMP: f64 = 700.0;

crate::named_choice! {
    /// A loss of the binary score z and the class t ∈ {0, 1} (t = 1 is the positive class).
    pub enum BinaryLoss ("binary loss") {
        /// log(1 + e^{−yz}), y = 2t − 1.
        Logistic = "logistic" | "log",
        /// −[t log g(z) + (1−t) log(1 − g(z))] = softplus(z) − t·z: the same model as
        /// `Logistic`, written in the {0,1} form.
        CrossEntropy = "cross-entropy",
        /// max(0, 1 − yz): the linear SVM. Not differentiable at yz = 1 (subgradient 0 there).
        Hinge = "hinge",
        /// e^{−yz} (AdaBoost's loss).
        Exponential = "exponential",
        /// max(0, 1 − yz)²: the L2-loss linear SVM (LIBLINEAR `-s 1`/`-s 2`). Once
        /// differentiable; its generalized second derivative 2·1\[yz < 1\] serves Newton
        /// (Mangasarian 2002; Lin, Weng & Keerthi 2008, §5).
        SquaredHinge = "squared-hinge" | "squared_hinge",
    }
}

impl BinaryLoss {
    /// Whether the loss only tends to 0 as the margin grows (never reaches it): such a
    /// loss has no minimum over separated rows without a penalty.
    pub fn approaches_zero(self) -> bool {
        matches!(
            self,
            BinaryLoss::Logistic | BinaryLoss::CrossEntropy | BinaryLoss::Exponential
        )
    }

    /// ℓ(z, t).
    #[inline]
    pub fn value(self, z: f64, t: bool) -> f64 {
        let y = if t { 1.0 } else { -1.0 };
        match self {
            BinaryLoss::Logistic => softplus(-y * z),
            BinaryLoss::CrossEntropy => softplus(z) - if t { z } else { 0.0 },
            BinaryLoss::Hinge => (1.0 - y * z).max(0.0),
            BinaryLoss::Exponential => (-y * z).min(EXP_CLAMP).exp(),
            BinaryLoss::SquaredHinge => (1.0 - y * z).max(0.0).powi(2),
        }
    }

    /// ∂ℓ/∂z (a subgradient for the hinge).
    #[inline]
    pub fn d1(self, z: f64, t: bool) -> f64 {
        let y = if t { 1.0 } else { -1.0 };
        match self {
            BinaryLoss::Logistic => -y * sigmoid(-y * z),
            BinaryLoss::CrossEntropy => sigmoid(z) - if t { 1.0 } else { 0.0 },
            BinaryLoss::Hinge => {
                if y * z < 1.0 {
                    -y
                } else {
                    0.0
                }
            }
            BinaryLoss::Exponential => -y * (-y * z).min(EXP_CLAMP).exp(),
            BinaryLoss::SquaredHinge => -2.0 * y * (1.0 - y * z).max(0.0),
        }
    }

    /// ∂²ℓ/∂z², `None` where the loss is not twice differentiable.
    #[inline]
    pub fn d2(self, z: f64, t: bool) -> Option<f64> {
        let y = if t { 1.0 } else { -1.0 };
        match self {
            BinaryLoss::Logistic | BinaryLoss::CrossEntropy => Some(sigmoid(z) * sigmoid(-z)),
            BinaryLoss::Hinge => None,
            BinaryLoss::Exponential => Some((-y * z).min(EXP_CLAMP).exp()),
            BinaryLoss::SquaredHinge => Some(if y * z < 1.0 { 2.0 } else { 0.0 }),
        }
    }

    pub fn is_smooth(self) -> bool {
        !matches!(self, BinaryLoss::Hinge)
    }

    /// (ℓ, ∂ℓ/∂z, ∂²ℓ/∂z² or 0) at once: for the logistic forms one exponential and one
    /// log1p serve all three (the hot loop of every gradient pass).
    #[inline]
    pub fn all(self, z: f64, t: bool) -> (f64, f64, f64) {
        match self {
            BinaryLoss::Logistic | BinaryLoss::CrossEntropy => {
                let y = if t { 1.0 } else { -1.0 };
                let m = y * z;
                let e = (-m.abs()).exp(); // in (0, 1]: never overflows
                let inv = 1.0 / (1.0 + e);
                // σ(m) and σ(−m) from e = exp(−|m|).
                let (sig_m, sig_neg_m) = if m >= 0.0 {
                    (inv, e * inv)
                } else {
                    (e * inv, inv)
                };
                let value = (-m).max(0.0) + e.ln_1p();
                (value, -y * sig_neg_m, sig_m * sig_neg_m)
            }
            _ => (
                self.value(z, t),
                self.d1(z, t),
                self.d2(z, t).unwrap_or(0.0),
            ),
        }
    }
}

/// The 0-1 loss of a margin m = y·z: 1 when the sign is wrong (or zero).
#[inline]
pub fn zero_one_loss(margin: f64) -> f64 {
    if margin <= 0.0 {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOSSES: [BinaryLoss; 5] = [
        BinaryLoss::Logistic,
        BinaryLoss::CrossEntropy,
        BinaryLoss::Hinge,
        BinaryLoss::Exponential,
        BinaryLoss::SquaredHinge,
    ];

    #[test]
    fn stable_at_huge_scores() {
        for &z in &[-1000.0, -40.0, 0.0, 40.0, 1000.0] {
            assert!(softplus(z).is_finite() && sigmoid(z).is_finite());
            for l in LOSSES {
                for t in [false, true] {
                    assert!(l.value(z, t).is_finite(), "{l:?} {z} {t}");
                    assert!(l.d1(z, t).is_finite());
                    assert!(l.d2(z, t).is_none_or(f64::is_finite));
                }
            }
        }
        assert_eq!(softplus(1000.0), 1000.0);
        assert_eq!(softplus(-1000.0), 0.0);
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert!(
            (log_sum_exp(&[-1000.0, -1001.0]) - (-1000.0 + (1.0 + (-1f64).exp()).ln())).abs()
                < 1e-12
        );
    }

    #[test]
    fn fused_evaluation_matches_the_separate_ones() {
        for i in -60..=60 {
            let z = i as f64 * 0.77 + if i > 55 { 900.0 } else { 0.0 };
            for t in [false, true] {
                for l in LOSSES {
                    let (v, d1, d2) = l.all(z, t);
                    assert!(
                        (v - l.value(z, t)).abs() <= 1e-13 * (1.0 + v.abs()),
                        "{l:?} value at {z}"
                    );
                    assert!((d1 - l.d1(z, t)).abs() <= 1e-15, "{l:?} d1 at {z}");
                    assert!(
                        (d2 - l.d2(z, t).unwrap_or(0.0)).abs() <= 1e-15,
                        "{l:?} d2 at {z}"
                    );
                }
            }
        }
    }

    #[test]
    fn logistic_equals_cross_entropy() {
        for i in -50..=50 {
            let z = i as f64 * 0.37;
            for t in [false, true] {
                let (a, b) = (BinaryLoss::Logistic, BinaryLoss::CrossEntropy);
                assert!((a.value(z, t) - b.value(z, t)).abs() < 1e-12 * (1.0 + a.value(z, t)));
                assert!((a.d1(z, t) - b.d1(z, t)).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let h = 1e-6;
        for l in LOSSES {
            for &z in &[-3.1, -0.4, 0.3, 2.2] {
                for t in [false, true] {
                    let fd = (l.value(z + h, t) - l.value(z - h, t)) / (2.0 * h);
                    assert!((fd - l.d1(z, t)).abs() < 1e-6, "{l:?} d1 at {z}");
                    if let Some(d2) = l.d2(z, t) {
                        let fd2 = (l.d1(z + h, t) - l.d1(z - h, t)) / (2.0 * h);
                        assert!((fd2 - d2).abs() < 1e-6, "{l:?} d2 at {z}");
                    }
                }
            }
        }
    }

    #[test]
    fn surrogates_bound_zero_one() {
        for i in -40..=40 {
            let m = i as f64 * 0.05;
            let zo = zero_one_loss(m);
            assert!(BinaryLoss::Hinge.value(m, true) >= zo);
            assert!(BinaryLoss::Exponential.value(m, true) >= zo);
            assert!(BinaryLoss::SquaredHinge.value(m, true) >= zo);
            assert!(BinaryLoss::Logistic.value(m, true) / 2f64.ln() >= zo - 1e-12);
        }
    }

    #[test]
    fn softmax_sums_to_one() {
        let mut p = [0.0; 4];
        softmax_into(&[1000.0, -1000.0, 3.0, 999.0], &mut p);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-14, "{p:?}");
        assert!(p.iter().all(|v| v.is_finite()));
    }
}
