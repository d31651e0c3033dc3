//! Target-logit curves of the margin heads against θ: cos θ, ψ_m(θ) of L-Softmax /
//! A-Softmax for m = 1…4 (Liu et al. 2016, Fig. 3), CosFace cos θ − m and ArcFace
//! cos(θ + m) with its monotone fallback.

use crate::{color, legend, smooth_line, xy_chart, Figure, PlotResult};
use plotters::coord::Shift;
use plotters::prelude::*;
use sigmax::margin::Psi;
use std::f64::consts::PI;

pub struct PsiFigure {
    pub cosface_margin: f64,
    pub arcface_margin: f64,
}

impl Default for PsiFigure {
    fn default() -> Self {
        PsiFigure {
            cosface_margin: 0.35,
            arcface_margin: 0.5,
        }
    }
}

impl Figure for PsiFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let caption = "Target logit (per unit norm) against the angle θ to the class weight";
        let mut chart = xy_chart(root, caption, 0.0..PI, -8.0..1.2, ("θ (radians)", "ψ(θ)"))?;
        let thetas: Vec<f64> = (0..=600).map(|i| i as f64 * PI / 600.0).collect();
        let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        series.push((
            "cos θ (softmax; ψ with m = 1)".into(),
            thetas.iter().map(|&t| (t, t.cos())).collect(),
        ));
        for m in 2..=4u32 {
            let psi = Psi::new(m).expect("m in 2..=4 is a valid margin");
            series.push((
                format!("ψ, m = {m} (L-/A-Softmax)"),
                thetas
                    .iter()
                    .map(|&t| (t, psi.value_and_slope(t.cos()).0))
                    .collect(),
            ));
        }
        let cm = self.cosface_margin;
        series.push((
            format!("CosFace cos θ − {cm}"),
            thetas.iter().map(|&t| (t, t.cos() - cm)).collect(),
        ));
        // ArcFace's cos(θ + m) turns upward past θ = π − m, which would reward a larger
        // angle; implementations switch to cos θ − m·sin m there (InsightFace's default,
        // pytorch-metric-learning since PR #539), a jump at π − m (−1 to −cos m − m sin m,
        // insightface issue #228), drawn as a break rather than a vertical segment.
        let am = self.arcface_margin;
        let mut arcface: Vec<(f64, f64)> = Vec::new();
        for &t in &thetas {
            if t + am > PI && arcface.last().is_some_and(|p| p.0 + am <= PI) {
                arcface.push((f64::NAN, f64::NAN));
            }
            let v = if t + am <= PI {
                (t + am).cos()
            } else {
                t.cos() - am * am.sin()
            };
            arcface.push((t, v));
        }
        series.push((
            format!("ArcFace cos(θ + {am}); past θ = π − {am}: cos θ − {am}·sin {am}"),
            arcface,
        ));
        for (i, (name, pts)) in series.into_iter().enumerate() {
            let c = color(i);
            smooth_line(&mut chart, &pts, c.to_rgba(), 2.0)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::LowerLeft)
    }
}
