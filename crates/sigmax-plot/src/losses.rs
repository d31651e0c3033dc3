//! The classic comparison of binary losses against the margin y·wᵀx: which ones bound
//! the 0-1 loss from above (Bishop, PRML Fig. 7.5; Hastie et al., ESL Fig. 10.4).

use crate::{color, legend, smooth_line, xy_chart, Figure, PlotResult};
use plotters::coord::Shift;
use plotters::prelude::*;
use sigmax::loss::{zero_one_loss, BinaryLoss};

pub struct LossesFigure;

impl Figure for LossesFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let mut chart = xy_chart(
            root,
            "Losses as functions of the margin",
            -2.0..2.0,
            -0.1..4.0,
            ("margin y·wᵀx", "loss"),
        )?;
        let xs: Vec<f64> = (0..=800).map(|i| -2.0 + i as f64 * 0.005).collect();
        let ln2 = std::f64::consts::LN_2;
        let curves: [(&str, Box<dyn Fn(f64) -> f64>); 5] = [
            ("0-1", Box::new(zero_one_loss)),
            (
                "hinge max(0, 1−m)",
                Box::new(|m| BinaryLoss::Hinge.value(m, true)),
            ),
            (
                "logistic log₂(1+e^−m)",
                Box::new(move |m| BinaryLoss::Logistic.value(m, true) / ln2),
            ),
            (
                "logistic ln(1+e^−m)",
                Box::new(|m| BinaryLoss::Logistic.value(m, true)),
            ),
            (
                "exponential e^−m",
                Box::new(|m| BinaryLoss::Exponential.value(m, true)),
            ),
        ];
        for (i, (name, f)) in curves.iter().enumerate() {
            let c = color(i);
            let width = if i == 3 { 1.5 } else { 2.0 };
            let pts: Vec<(f64, f64)> = xs
                .iter()
                .map(|&m| (m, f(m)))
                .filter(|p| p.1 <= 4.0)
                .collect();
            let series = if i == 0 {
                // Draw the step as two pieces (a gap between them) so no vertical segment
                // pretends to be a value.
                let mut pieces: Vec<(f64, f64)> =
                    pts.iter().copied().filter(|p| p.0 <= 0.0).collect();
                pieces.push((f64::NAN, f64::NAN));
                pieces.extend(pts.iter().copied().filter(|p| p.0 > 0.0));
                smooth_line(&mut chart, &pieces, c.to_rgba(), width)?
            } else {
                smooth_line(&mut chart, &pts, c.to_rgba(), width)?
            };
            series.label(*name).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2))
            });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}
