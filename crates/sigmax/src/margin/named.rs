//! The margin heads by name, with their parameters' defaults and bounds: the one place
//! that turns "arcface, margin 0.5" into a [`MarginHead`], for `sigmax loss`, `sigmax-nn`
//! and the Python package alike.

use super::MarginHead;
use crate::error::{Error, Result};

crate::named_choice! {
    /// A margin head's name.
    pub enum HeadKind ("margin head") {
        /// Plain softmax on W x.
        Softmax = "softmax",
        /// L-Softmax (Liu et al. 2016), integer margin m.
        LSoftmax = "lsoftmax" | "l-softmax" | "large-margin-softmax",
        /// Softmax with ‖w_j‖ = 1.
        Modified = "modified" | "modified-softmax",
        /// A-Softmax / SphereFace (Liu et al. 2017), integer margin m.
        ASoftmax = "asoftmax" | "a-softmax" | "sphereface",
        /// CosFace / AM-Softmax: s(cos θ_y − m), m a cosine offset.
        CosFace = "cosface" | "am-softmax",
        /// ArcFace: s·cos(θ_y + m), m in radians.
        ArcFace = "arcface",
        /// insightface's s(cos(m1 θ_y + m2) − m3).
        Combined = "combined",
    }
}

/// The scale s of the normalized heads when none is given: CosFace's and ArcFace's
/// papers and pytorch-metric-learning use 64 (for 2-D features a smaller s, ~10, trains
/// better; see `../shared/MARGIN-NOTES.md`).
pub const DEFAULT_SCALE: f64 = 64.0;
/// The largest integer margin of L-Softmax / A-Softmax (the papers use 2–4; the cost of
/// the Chebyshev polynomial grows with m).
pub const MAX_INTEGER_MARGIN: u32 = 16;

/// A head's parameters as a user gives them; `None` takes the head's default.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HeadParams {
    /// m of L-Softmax / A-Softmax (an integer), CosFace (a cosine offset), ArcFace (radians).
    pub margin: Option<f64>,
    /// s of CosFace / ArcFace / combined.
    pub scale: Option<f64>,
    /// (m1, m2, m3) of the combined head.
    pub margins: Option<[f64; 3]>,
}

impl HeadKind {
    /// The default margin (None for heads without one).
    pub fn default_margin(self) -> Option<f64> {
        match self {
            HeadKind::LSoftmax | HeadKind::ASoftmax => Some(4.0),
            HeadKind::CosFace => Some(0.35),
            HeadKind::ArcFace => Some(0.5),
            _ => None,
        }
    }

    /// Whether the head takes a scale s.
    pub fn has_scale(self) -> bool {
        matches!(
            self,
            HeadKind::CosFace | HeadKind::ArcFace | HeadKind::Combined
        )
    }

    /// The head with these parameters. A parameter the head does not take, an integer
    /// margin that is not an integer in 1..=16, an ArcFace margin outside [0, π/2] or a
    /// CosFace one outside [0, 1], or a scale that is not a finite number > 0, is an error.
    pub fn build(self, p: &HeadParams) -> Result<MarginHead> {
        let bad = |name, value: String, expected| Error::InvalidParameter {
            name,
            value,
            expected,
        };
        if let (Some(v), None) = (p.margin, self.default_margin()) {
            return Err(bad(
                "margin",
                format!("{v:?}"),
                "this head has no margin parameter",
            ));
        }
        if let (Some(v), false) = (p.scale, self.has_scale()) {
            return Err(bad(
                "scale",
                format!("{v:?}"),
                "this head has no scale (only cosface, arcface and combined do)",
            ));
        }
        if let (Some(v), false) = (p.margins, self == HeadKind::Combined) {
            return Err(bad(
                "margins",
                format!("{v:?}"),
                "only the combined head takes (m1, m2, m3)",
            ));
        }
        let s = p.scale.unwrap_or(DEFAULT_SCALE);
        let m = p.margin.or(self.default_margin()).unwrap_or(0.0);
        let int_margin = || -> Result<u32> {
            if m.fract() == 0.0 && (1.0..=MAX_INTEGER_MARGIN as f64).contains(&m) {
                Ok(m as u32)
            } else {
                Err(bad(
                    "margin",
                    m.to_string(),
                    "L-Softmax and A-Softmax take an integer margin 1–16",
                ))
            }
        };
        let head = match self {
            HeadKind::Softmax => MarginHead::Softmax,
            HeadKind::Modified => MarginHead::ModifiedSoftmax,
            HeadKind::LSoftmax => MarginHead::LSoftmax { m: int_margin()? },
            HeadKind::ASoftmax => MarginHead::ASoftmax { m: int_margin()? },
            HeadKind::CosFace => {
                if !(0.0..=1.0).contains(&m) {
                    return Err(bad(
                        "margin",
                        m.to_string(),
                        "CosFace's margin is a cosine offset in [0, 1] (0.35 in the paper)",
                    ));
                }
                MarginHead::cosface(s, m)
            }
            HeadKind::ArcFace => {
                if !(0.0..=std::f64::consts::FRAC_PI_2).contains(&m) {
                    return Err(bad("margin", m.to_string(), "ArcFace's margin is an angle in radians in [0, π/2] (0.5 in the paper; 28.6° = 0.499 rad)"));
                }
                MarginHead::arcface(s, m)
            }
            HeadKind::Combined => {
                // insightface's `combined` preset (its sample_config.py).
                let [m1, m2, m3] = p.margins.unwrap_or([1.0, 0.3, 0.2]);
                MarginHead::CombinedMargin { s, m1, m2, m3 }
            }
        };
        head.validate()?;
        Ok(head)
    }
}

impl MarginHead {
    /// The name this head goes by (the combined margin with CosFace's or ArcFace's
    /// pattern is that head).
    pub fn kind(&self) -> HeadKind {
        match *self {
            MarginHead::Softmax => HeadKind::Softmax,
            MarginHead::LSoftmax { .. } => HeadKind::LSoftmax,
            MarginHead::ModifiedSoftmax => HeadKind::Modified,
            MarginHead::ASoftmax { .. } => HeadKind::ASoftmax,
            MarginHead::CombinedMargin { m1, m2, m3, .. }
                if m1 == 1.0 && m2 == 0.0 && m3 != 0.0 =>
            {
                HeadKind::CosFace
            }
            MarginHead::CombinedMargin { m1, m2, m3, .. }
                if m1 == 1.0 && m3 == 0.0 && m2 != 0.0 =>
            {
                HeadKind::ArcFace
            }
            MarginHead::CombinedMargin { .. } => HeadKind::Combined,
        }
    }
}

/// One display form for users: the head's name and its parameters.
impl std::fmt::Display for MarginHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = self.kind();
        match *self {
            MarginHead::Softmax | MarginHead::ModifiedSoftmax => write!(f, "{kind}"),
            MarginHead::LSoftmax { m } | MarginHead::ASoftmax { m } => write!(f, "{kind} m={m}"),
            MarginHead::CombinedMargin { s, m3, .. } if kind == HeadKind::CosFace => {
                write!(f, "{kind} s={s} m={m3}")
            }
            MarginHead::CombinedMargin { s, m2, .. } if kind == HeadKind::ArcFace => {
                write!(f, "{kind} s={s} m={m2}")
            }
            MarginHead::CombinedMargin { s, m1, m2, m3 } => {
                write!(f, "{kind} s={s} m1={m1} m2={m2} m3={m3}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_head_builds_with_its_defaults_and_names_itself() {
        for &k in HeadKind::ALL {
            let h = k.build(&HeadParams::default()).unwrap();
            assert_eq!(h.kind(), k, "{h}");
            assert!(h.to_string().starts_with(k.name()));
        }
        let arc = HeadKind::ArcFace.build(&HeadParams::default()).unwrap();
        assert_eq!(arc, MarginHead::arcface(64.0, 0.5));
        assert_eq!(arc.to_string(), "arcface s=64 m=0.5");
        let l = HeadKind::LSoftmax.build(&HeadParams {
            margin: Some(3.0),
            ..Default::default()
        });
        assert_eq!(l.unwrap().to_string(), "lsoftmax m=3");
    }

    #[test]
    fn parameters_out_of_range_or_not_applicable_are_refused() {
        let e = |k: HeadKind, p: HeadParams| k.build(&p).unwrap_err().to_string();
        let m = |v| HeadParams {
            margin: Some(v),
            ..Default::default()
        };
        assert!(e(HeadKind::ArcFace, m(4.0)).contains("radians"));
        assert!(e(HeadKind::CosFace, m(1.5)).contains("cosine offset"));
        assert!(e(HeadKind::LSoftmax, m(2.5)).contains("integer margin 1–16"));
        assert!(e(HeadKind::ASoftmax, m(3e9)).contains("integer margin 1–16"));
        assert!(e(HeadKind::Softmax, m(2.0)).contains("no margin"));
        let s = HeadParams {
            scale: Some(30.0),
            ..Default::default()
        };
        assert!(e(HeadKind::LSoftmax, s).contains("no scale"));
        let s = HeadParams {
            scale: Some(-1.0),
            ..Default::default()
        };
        assert!(e(HeadKind::CosFace, s).contains("scale"));
    }

    #[test]
    fn heads_serialize_by_name_and_read_the_old_spelling() {
        let h = MarginHead::LSoftmax { m: 3 };
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"lsoftmax":{"m":3}}"#
        );
        let old: MarginHead = serde_json::from_str(r#"{"LSoftmax":{"m":3}}"#).unwrap();
        assert_eq!(old, h);
        let old: MarginHead =
            serde_json::from_str(r#"{"CombinedMargin":{"s":30.0,"m1":1.0,"m2":0.5,"m3":0.0}}"#)
                .unwrap();
        assert_eq!(old, MarginHead::arcface(30.0, 0.5));
        assert_eq!(
            serde_json::to_string(&MarginHead::Softmax).unwrap(),
            r#""softmax""#
        );
    }
}
