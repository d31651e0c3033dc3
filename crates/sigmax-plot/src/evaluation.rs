//! Evaluation pictures: ROC curves with their AUC, the reliability (calibration)
//! diagram, and the confusion matrix as a heat map with counts.

use crate::colorbar::{draw_colorbar, split_for_colorbar};
use crate::{color, font, legend, smooth_line, xy_chart, Figure, PlotResult};
use plotters::coord::Shift;
use plotters::prelude::*;
use sigmax::metrics::{roc_auc, roc_curve, ConfusionMatrix};

/// One or more ROC curves (e.g. several heads), each from scores and truth.
pub struct RocFigure {
    pub curves: Vec<(String, Vec<bool>, Vec<f64>)>,
    /// The caption: what was scored on what (e.g. "ROC: heart.json on heart_scale").
    pub title: String,
    /// A logarithmic false-positive-rate axis, as verification results are read (TAR at
    /// FAR = 1e-3 … 1e-2); from 1/(number of negatives) of the data, or 1e-4, to 1.
    pub log_far: bool,
}

impl RocFigure {
    /// Linear axes, with the title "ROC curve".
    pub fn new(curves: Vec<(String, Vec<bool>, Vec<f64>)>) -> Self {
        RocFigure {
            curves,
            title: "ROC curve".into(),
            log_far: false,
        }
    }

    /// The smallest false-positive rate the data can show (one negative of all).
    fn far_floor(&self) -> f64 {
        let negatives = self
            .curves
            .iter()
            .map(|(_, truth, _)| truth.iter().filter(|t| !**t).count())
            .max()
            .unwrap_or(0);
        let floor = 1.0 / negatives.max(1) as f64;
        10f64.powf(floor.log10().floor()).clamp(1e-6, 1e-1)
    }
}

impl Figure for RocFigure {
    fn size(&self) -> (u32, u32) {
        (700, 650)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let labels = ("false positive rate (FAR)", "true positive rate (TAR)");
        let label = |name: &str, truth: &[bool], scores: &[f64]| {
            let auc = roc_auc(truth, scores).unwrap_or(f64::NAN);
            format!("{name} (AUC {auc:.3})")
        };
        if !self.log_far {
            let mut chart = xy_chart(root, &self.title, 0.0..1.0, 0.0..1.0, labels)?;
            smooth_line(&mut chart, &[(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.3), 1.0)?;
            for (i, (name, truth, scores)) in self.curves.iter().enumerate() {
                let c = color(i);
                smooth_line(&mut chart, &roc_curve(truth, scores), c.to_rgba(), 2.0)?
                    .label(label(name, truth, scores))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2))
                    });
            }
            return legend(&mut chart, SeriesLabelPosition::LowerRight);
        }
        let floor = self.far_floor();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d((floor..1.0).log_scale(), 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc(format!("{} (log scale)", labels.0))
            .y_desc(labels.1)
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .label_style(font(14))
            .axis_desc_style(font(16))
            .draw()?;
        // The chance diagonal TAR = FAR, a curve on a log axis.
        let chance: Vec<(f64, f64)> = (0..=100)
            .map(|i| floor.powf(1.0 - i as f64 / 100.0))
            .map(|f| (f, f))
            .collect();
        smooth_line(&mut chart, &chance, BLACK.mix(0.3), 1.0)?;
        for (i, (name, truth, scores)) in self.curves.iter().enumerate() {
            let c = color(i);
            // Points left of the axis (FAR below what it shows, 0 included) sit on it.
            let pts: Vec<(f64, f64)> = roc_curve(truth, scores)
                .into_iter()
                .map(|(far, tar)| (far.max(floor), tar))
                .collect();
            smooth_line(&mut chart, &pts, c.to_rgba(), 2.0)?
                .label(label(name, truth, scores))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

/// Reliability diagram: in bins of predicted probability, the observed frequency.
pub struct CalibrationFigure {
    pub name: String,
    /// Predicted probability of the positive class (or of the predicted class) and
    /// whether it happened.
    pub probs: Vec<f64>,
    pub outcomes: Vec<bool>,
    pub bins: usize,
}

impl CalibrationFigure {
    /// (mean predicted, observed frequency, count) per non-empty bin, in order. Only the
    /// bins that hold a row are kept, so any number of bins costs memory by the rows.
    pub fn bins(&self) -> Vec<(f64, f64, usize)> {
        let bins = self.bins.max(1);
        let mut acc = std::collections::BTreeMap::<usize, (f64, f64, usize)>::new();
        for (&p, &o) in self.probs.iter().zip(&self.outcomes) {
            let b = ((p * bins as f64) as usize).min(bins - 1);
            let a = acc.entry(b).or_default();
            a.0 += p;
            a.1 += o as u8 as f64;
            a.2 += 1;
        }
        acc.into_values()
            .map(|(p, o, n)| (p / n as f64, o / n as f64, n))
            .collect()
    }
}

impl Figure for CalibrationFigure {
    fn size(&self) -> (u32, u32) {
        (700, 650)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let mut chart = xy_chart(
            root,
            "Reliability diagram",
            0.0..1.0,
            0.0..1.0,
            ("mean predicted probability", "observed frequency"),
        )?;
        smooth_line(&mut chart, &[(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.4), 1.0)?
            .label("perfectly calibrated")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.mix(0.4)));
        let bins = self.bins();
        let c = color(0);
        let max_n = bins.iter().map(|b| b.2).max().unwrap_or(1) as f64;
        let points: Vec<(f64, f64)> = bins.iter().map(|b| (b.0, b.1)).collect();
        smooth_line(&mut chart, &points, c.to_rgba(), 2.0)?
            .label(format!(
                "{} ({} bins; dot area ∝ count)",
                self.name, self.bins
            ))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2)));
        chart.draw_series(bins.iter().map(|b| {
            Circle::new(
                (b.0, b.1),
                (3.0 + 9.0 * (b.2 as f64 / max_n).sqrt()) as i32,
                c.filled(),
            )
        }))?;
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

/// Confusion matrix heat map; each cell shows its count.
pub struct ConfusionFigure {
    pub matrix: ConfusionMatrix,
}

impl Figure for ConfusionFigure {
    fn size(&self) -> (u32, u32) {
        let k = self.matrix.classes.len() as u32;
        let side = (k * 60 + 200).clamp(500, 1100);
        (side + 120, side) // and the colour bar
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let cm = &self.matrix;
        let k = cm.classes.len();
        let classes = cm.classes.clone();
        let classes_y = cm.classes.clone();
        let (root, bar) = &split_for_colorbar(root);
        let mut chart = ChartBuilder::on(root)
            .caption("Confusion matrix", font(24))
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d((0..k - 1).into_segmented(), (0..k - 1).into_segmented())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("predicted class")
            .y_desc("true class")
            .x_labels(k)
            .y_labels(k)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => classes.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => classes_y.get(k - 1 - *i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .label_style(font(14))
            .axis_desc_style(font(16))
            .draw()?;
        let max = cm
            .counts
            .iter()
            .flatten()
            .copied()
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let base = color(0);
        let shade = |v: f64| {
            RGBColor(
                (255.0 - (255.0 - base.0 as f64) * v) as u8,
                (255.0 - (255.0 - base.1 as f64) * v) as u8,
                (255.0 - (255.0 - base.2 as f64) * v) as u8,
            )
        };
        draw_colorbar(bar, (0.0, max), |c| shade(c / max), "count")?;
        for t in 0..k {
            for p in 0..k {
                let v = cm.counts[t][p] as f64 / max;
                let fill = shade(v);
                let row = k - 1 - t; // true class 0 at the top
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(p), SegmentValue::Exact(row)),
                        (SegmentValue::Exact(p + 1), SegmentValue::Exact(row + 1)),
                    ],
                    fill.filled(),
                )))?;
                let text_color = if v > 0.5 { WHITE } else { BLACK };
                chart.draw_series(std::iter::once(Text::new(
                    cm.counts[t][p].to_string(),
                    (SegmentValue::CenterOf(p), SegmentValue::CenterOf(row)),
                    font(16)
                        .color(&text_color)
                        .pos(plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Center,
                            plotters::style::text_anchor::VPos::Center,
                        )),
                )))?;
            }
        }
        Ok(())
    }
}
