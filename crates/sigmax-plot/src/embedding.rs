//! Feature embeddings, as in the L-Softmax and SphereFace papers' figures: 2-D features
//! colored by class, and the same features normalized onto the unit circle; for higher
//! dimensions, histograms of the angle between each feature and its own class weight
//! versus the other classes' weights.

use crate::{color, font, legend, range_of, smooth_line, xy_chart, Figure, PlotError, PlotResult};
use plotters::coord::Shift;
use plotters::prelude::*;

/// 2-D features (row-major n × 2) with class ids and names; optional class weights (K × 2)
/// drawn as directions.
pub struct EmbeddingFigure {
    pub features: Vec<f64>,
    pub labels: Vec<u32>,
    pub classes: Vec<String>,
    /// Each class's weight direction, where it has one (a head trained on a subset of the
    /// classes has none for the others); empty: no directions drawn.
    pub weights: Vec<Option<[f64; 2]>>,
    pub title: String,
}

impl EmbeddingFigure {
    /// `weights`: one direction per class (as many as `classes`), or none at all.
    pub fn new(
        features: Vec<f64>,
        d: usize,
        labels: Vec<u32>,
        classes: Vec<String>,
        weights: Vec<Option<[f64; 2]>>,
        title: String,
    ) -> Result<Self, PlotError> {
        if d != 2 {
            return Err(PlotError::BadInput(format!("a 2-D embedding picture needs 2 features per row, got {d} (use the angle histogram)")));
        }
        if !weights.is_empty() && weights.len() != classes.len() {
            return Err(PlotError::BadInput(format!(
                "weights: expected one direction per class ({}), got {}",
                classes.len(),
                weights.len()
            )));
        }
        Ok(EmbeddingFigure {
            features,
            labels,
            classes,
            weights,
            title,
        })
    }

    /// The points of the right panel: each feature scaled to unit length (on the circle;
    /// no jitter), a zero feature at the origin.
    pub fn normalized(&self) -> Vec<(f64, f64)> {
        self.features
            .chunks(2)
            .map(|p| {
                let n = (p[0] * p[0] + p[1] * p[1]).sqrt();
                if n > 0.0 {
                    (p[0] / n, p[1] / n)
                } else {
                    (0.0, 0.0)
                }
            })
            .collect()
    }

    /// Row-major K × 2 weights (one row per class) as directions.
    pub fn directions(weights: &[f64]) -> Vec<Option<[f64; 2]>> {
        weights.chunks(2).map(|w| Some([w[0], w[1]])).collect()
    }
}

impl Figure for EmbeddingFigure {
    fn size(&self) -> (u32, u32) {
        (1300, 650)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let titled = root.titled(&self.title, font(24))?;
        let panels = titled.split_evenly((1, 2));
        let pts: Vec<(f64, f64)> = self.features.chunks(2).map(|p| (p[0], p[1])).collect();
        let on_circle = self.normalized();
        let r = range_of(pts.iter().flat_map(|p| [p.0.abs(), p.1.abs()])).1 * 1.05;
        for (panel, normalized) in panels.iter().zip([false, true]) {
            let lim = if normalized { 1.25 } else { r };
            let caption = match (normalized, self.weights.is_empty()) {
                (false, _) => "features",
                (true, true) => "normalized x/‖x‖: every point on the unit circle",
                (true, false) => {
                    "normalized x/‖x‖ on the unit circle; lines: class weight directions"
                }
            };
            let (x_desc, y_desc) = if normalized {
                ("x₁/‖x‖", "x₂/‖x‖")
            } else {
                ("feature 1 (x₁)", "feature 2 (x₂)")
            };
            let mut chart = ChartBuilder::on(panel)
                .caption(caption, font(17))
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(55)
                .build_cartesian_2d(-lim..lim, -lim..lim)?;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(y_desc)
                .label_style(font(13))
                .axis_desc_style(font(15))
                .draw()?;
            if normalized {
                let circle: Vec<(f64, f64)> = (0..=720)
                    .map(|t| (t as f64 * 0.5).to_radians())
                    .map(|t| (t.cos(), t.sin()))
                    .collect();
                smooth_line(&mut chart, &circle, BLACK.mix(0.3), 1.0)?;
            }
            for (c, name) in self.classes.iter().enumerate() {
                let col = color(c);
                // On the circle, points of one class pile up: lighter dots show density.
                let (radius, alpha) = if normalized { (2, 0.25) } else { (2, 0.6) };
                let mine = if normalized { &on_circle } else { &pts }
                    .iter()
                    .zip(&self.labels)
                    .filter(|(_, &l)| l as usize == c)
                    .map(|(p, _)| *p);
                let s = chart
                    .draw_series(mine.map(|p| Circle::new(p, radius, col.mix(alpha).filled())))?;
                if !normalized {
                    s.label(name.clone())
                        .legend(move |(x, y)| Circle::new((x + 10, y), 5, col.filled()));
                }
                if let Some(Some([wx, wy])) = self.weights.get(c) {
                    let n = (wx * wx + wy * wy).sqrt().max(1e-300);
                    let len = if normalized { 1.2 } else { lim * 0.95 };
                    let line = [(0.0, 0.0), (wx / n * len, wy / n * len)];
                    smooth_line(&mut chart, &line, col.to_rgba(), 2.0)?;
                }
            }
            if !normalized {
                legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            }
        }
        Ok(())
    }
}

/// Angles (degrees) between each feature and its own class weight, and the other weights.
pub struct AngleHistogramFigure {
    pub own: Vec<f64>,
    pub others: Vec<f64>,
    pub title: String,
}

impl AngleHistogramFigure {
    /// `features` n × d, `weights` K × d (class weights or class means).
    pub fn new(
        features: &[f64],
        weights: &[f64],
        d: usize,
        labels: &[u32],
        title: String,
    ) -> Result<Self, PlotError> {
        if d == 0 || features.len() % d != 0 || weights.len() % d != 0 {
            return Err(PlotError::BadInput(format!(
                "features and weights must both have {d} columns"
            )));
        }
        let k = weights.len() / d;
        let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-300);
        let (mut own, mut others) = (Vec::new(), Vec::new());
        for (x, &y) in features.chunks(d).zip(labels) {
            if y as usize >= k {
                return Err(PlotError::BadInput(format!(
                    "label {y} but only {k} class weights"
                )));
            }
            for (j, w) in weights.chunks(d).enumerate() {
                let c = x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / (norm(x) * norm(w));
                let deg = c.clamp(-1.0, 1.0).acos().to_degrees();
                if j == y as usize {
                    own.push(deg)
                } else {
                    others.push(deg)
                }
            }
        }
        Ok(AngleHistogramFigure { own, others, title })
    }
}

impl Figure for AngleHistogramFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        const BINS: usize = 90;
        let hist = |v: &[f64]| {
            let mut h = vec![0.0; BINS];
            v.iter()
                .for_each(|&a| h[((a / 180.0 * BINS as f64) as usize).min(BINS - 1)] += 1.0);
            let total = v.len().max(1) as f64;
            h.iter_mut().for_each(|x| *x /= total);
            h
        };
        let (ho, hn) = (hist(&self.own), hist(&self.others));
        let top = ho.iter().chain(&hn).copied().fold(0.0f64, f64::max) * 1.1;
        let axes = ("angle to a class weight (degrees)", "fraction");
        let mut chart = xy_chart(root, &self.title, 0.0..180.0, 0.0..top.max(1e-3), axes)?;
        for (i, (name, h)) in [("own class", ho), ("other classes", hn)]
            .into_iter()
            .enumerate()
        {
            let c = color(i);
            let w = 180.0 / BINS as f64;
            chart
                .draw_series(h.iter().enumerate().map(|(b, &v)| {
                    Rectangle::new(
                        [(b as f64 * w, 0.0), ((b + 1) as f64 * w, v)],
                        c.mix(0.55).filled(),
                    )
                }))?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 20, y + 5)], c.mix(0.55).filled())
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}
