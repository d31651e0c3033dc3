//! Margin softmax losses for learning angularly discriminative features.
//!
//! For a batch of features X (n × d, row x_i), class weights W (K × d, row w_j) and labels
//! y, every head produces logits z (n × K), the loss L = (1/n) Σ_i [log Σ_j e^{z_ij} − z_{i,y_i}]
//! and its gradients ∂L/∂X and ∂L/∂W by explicit formulas. With f_ij = w_j·x_i =
//! ‖w_j‖‖x_i‖cos θ_ij:
//!
//! | head | z_ij (j ≠ y_i) | z_{i,y_i} |
//! |---|---|---|
//! | softmax | f_ij | f_iy |
//! | L-Softmax (Liu et al. ICML 2016) | f_ij | (λ f_iy + ‖w_y‖‖x‖ψ_m(θ_y)) / (1+λ) |
//! | modified softmax (Liu et al. CVPR 2017) | ‖x‖cos θ_j | ‖x‖cos θ_y |
//! | A-Softmax / SphereFace (CVPR 2017) | ‖x‖cos θ_j | (λ‖x‖cos θ_y + ‖x‖ψ_m(θ_y)) / (1+λ) |
//! | combined margin (insightface) | s·cos θ_j | s·(cos(m1·θ_y + m2) − m3) |
//!
//! ψ_m(θ) = (−1)^k cos(mθ) − 2k on [kπ/m, (k+1)π/m] (see [`Psi`]). CosFace / AM-Softmax
//! (Wang et al. 2018) is the combined margin (1, 0, m); ArcFace (Deng et al. CVPR 2019) is
//! (1, m, 0). Where m1·θ + m2 > π, cos(m1θ + m2) would start to increase again, so the
//! target logit falls back to s·(cos θ − m2·sin m2 − m3), the monotone form used by
//! insightface and pytorch-metric-learning (it is discontinuous at θ = π − m2, as theirs).
//! Margins are in radians.
//!
//! λ anneals the margin (L-Softmax and A-Softmax only): λ = max(λ_min, base·(1+γ·iter)^(−power))
//! ([`Annealing`]); λ = 0 is the pure margin loss, λ → ∞ plain (modified) softmax.
//!
//! The weight gradients of the normalized heads are the true gradients with respect to
//! the unnormalized W, through w_j/‖w_j‖. (The original SphereFace Caffe layer used the
//! plain inner-product gradient Gᵀ·X for W instead; sigmax does not.)

mod head;
mod named;
mod psi;

pub use head::{MarginLoss, Scalar};
pub use named::{HeadKind, HeadParams, DEFAULT_SCALE, MAX_INTEGER_MARGIN};
pub use psi::{chebyshev_t, Psi};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which margin head.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
// Serialized with the names of [`HeadKind`] (older checkpoints' PascalCase is still read).
pub enum MarginHead {
    /// z = W x (no bias).
    #[serde(rename = "softmax", alias = "Softmax")]
    Softmax,
    /// Large-margin softmax with integer margin m.
    #[serde(rename = "lsoftmax", alias = "LSoftmax")]
    LSoftmax { m: u32 },
    /// ‖w_j‖ = 1: z_j = ‖x‖ cos θ_j.
    #[serde(rename = "modified", alias = "ModifiedSoftmax")]
    ModifiedSoftmax,
    /// Angular softmax (SphereFace) with integer margin m.
    #[serde(rename = "asoftmax", alias = "ASoftmax")]
    ASoftmax { m: u32 },
    /// s·(cos(m1θ_y + m2) − m3) on normalized features and weights.
    #[serde(rename = "combined", alias = "CombinedMargin")]
    CombinedMargin { s: f64, m1: f64, m2: f64, m3: f64 },
}

impl MarginHead {
    /// CosFace / AM-Softmax: s(cos θ_y − m). Paper defaults s = 64, m = 0.35.
    pub fn cosface(s: f64, m: f64) -> MarginHead {
        MarginHead::CombinedMargin {
            s,
            m1: 1.0,
            m2: 0.0,
            m3: m,
        }
    }

    /// ArcFace: s·cos(θ_y + m). Paper defaults s = 64, m = 0.5 (radians).
    pub fn arcface(s: f64, m: f64) -> MarginHead {
        MarginHead::CombinedMargin {
            s,
            m1: 1.0,
            m2: m,
            m3: 0.0,
        }
    }

    /// Checks the parameters: integer margins ≥ 1, finite positive scale, m1 > 0.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: String, expected| {
            Err(Error::InvalidParameter {
                name,
                value,
                expected,
            })
        };
        match *self {
            MarginHead::LSoftmax { m } | MarginHead::ASoftmax { m }
                if m == 0 || m > MAX_INTEGER_MARGIN =>
            {
                bad("margin", m.to_string(), "must be an integer 1–16")
            }
            MarginHead::CombinedMargin { s, .. } if !(s > 0.0 && s.is_finite()) => {
                bad("scale", s.to_string(), "must be a finite number > 0")
            }
            MarginHead::CombinedMargin { m1, m2, m3, .. }
                if !(m1 > 0.0 && m2.is_finite() && m3.is_finite()) =>
            {
                bad(
                    "margin",
                    format!("({m1}, {m2}, {m3})"),
                    "m1 must be > 0 and all margins finite",
                )
            }
            _ => Ok(()),
        }
    }

    /// Whether λ annealing applies.
    pub fn anneals(&self) -> bool {
        matches!(
            self,
            MarginHead::LSoftmax { .. } | MarginHead::ASoftmax { .. }
        )
    }
}

/// λ = max(λ_min, base·(1 + γ·iter)^(−power)), the schedule of the original L-Softmax and
/// SphereFace layers (`iter` counts training steps from 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Annealing {
    pub base: f64,
    pub gamma: f64,
    pub power: f64,
    pub lambda_min: f64,
}

impl Annealing {
    /// The L-Softmax MNIST example: base 1000, γ 2.5e-5, power 35, λ_min 0 (with m = 4).
    pub const LSOFTMAX_MNIST: Annealing = Annealing {
        base: 1000.0,
        gamma: 2.5e-5,
        power: 35.0,
        lambda_min: 0.0,
    };
    /// SphereFace on CASIA-WebFace: base 1000, γ 0.12, power 1, λ_min 5 (with m = 4).
    pub const SPHEREFACE: Annealing = Annealing {
        base: 1000.0,
        gamma: 0.12,
        power: 1.0,
        lambda_min: 5.0,
    };
    /// No annealing: λ = 0 throughout.
    pub const NONE: Annealing = Annealing {
        base: 0.0,
        gamma: 0.0,
        power: 1.0,
        lambda_min: 0.0,
    };

    /// The published schedules by name: the one list `sigmax-nn --anneal` and the Python
    /// package read.
    pub const NAMED: [(&'static str, Annealing); 3] = [
        ("sphereface", Annealing::SPHEREFACE),
        ("lsoftmax-mnist", Annealing::LSOFTMAX_MNIST),
        ("none", Annealing::NONE),
    ];

    /// The schedule called `name` in [`Annealing::NAMED`].
    pub fn named(name: &str) -> Option<Annealing> {
        Annealing::NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, a)| a)
    }

    pub fn lambda(&self, iter: u64) -> f64 {
        (self.base * (1.0 + self.gamma * iter as f64).powf(-self.power)).max(self.lambda_min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annealing_reproduces_the_published_schedules() {
        // Values computed from the formula (shared/MARGIN-NOTES.md, table of λ by iteration).
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-3 * b.abs();
        assert!(close(Annealing::LSOFTMAX_MNIST.lambda(1000), 421.4));
        assert!(close(Annealing::LSOFTMAX_MNIST.lambda(10000), 0.406));
        assert!(close(Annealing::SPHEREFACE.lambda(100), 76.92));
        assert_eq!(Annealing::SPHEREFACE.lambda(2000), 5.0);
        assert_eq!(Annealing::NONE.lambda(5), 0.0);
        assert_eq!(Annealing::named("sphereface"), Some(Annealing::SPHEREFACE));
        assert_eq!(Annealing::named("SphereFace"), None);
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(MarginHead::LSoftmax { m: 0 }.validate().is_err());
        assert!(MarginHead::cosface(0.0, 0.35).validate().is_err());
        assert!(MarginHead::arcface(64.0, 0.5).validate().is_ok());
    }
}

#[cfg(test)]
mod head_tests;
