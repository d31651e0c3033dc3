//! Decision boundary of a model on 2-feature data: the probability of the positive class
//! as a heat map with the 0.5 contour (binary), or the argmax regions (softmax), under the
//! points colored by class.

use crate::colorbar::{draw_colorbar, split_for_colorbar};
use crate::{color, font, legend, range_of, smooth_line, Figure, PlotError, PlotResult};
use plotters::coord::Shift;
use plotters::prelude::*;
use sigmax::data::{Dataset, DenseMatrix, Features};
use sigmax::model::{LinearModel, ModelKind};

pub struct BoundaryFigure<'a> {
    model: &'a LinearModel,
    data: &'a Dataset,
    /// Class id of each data row in the model's classes.
    truth: Vec<usize>,
}

impl<'a> BoundaryFigure<'a> {
    /// Checks that model and data both have exactly two features and that the data's
    /// labels are known to the model.
    pub fn new(model: &'a LinearModel, data: &'a Dataset) -> Result<Self, PlotError> {
        if data.n_features() != 2 || model.n_features != 2 {
            return Err(PlotError::BadInput(format!(
                "a decision boundary needs 2-feature data and model; the data has {} features, the model {}",
                data.n_features(),
                model.n_features
            )));
        }
        let truth = model
            .class_ids(data)
            .map_err(|e| PlotError::BadInput(e.to_string()))?
            .into_iter()
            .map(|c| c as usize)
            .collect();
        Ok(BoundaryFigure { model, data, truth })
    }
}

const GRID: usize = 160;

/// Linear blend of two colors.
fn blend(a: RGBColor, b: RGBColor, t: f64) -> RGBColor {
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

impl Figure for BoundaryFigure<'_> {
    fn size(&self) -> (u32, u32) {
        // Binary models get a colour bar on the right.
        if self.model.kind == ModelKind::Softmax {
            (800, 700)
        } else {
            (920, 700)
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let n = self.data.n_rows();
        let coord = |i: usize, j: usize| {
            let mut v = 0.0;
            self.data.x.row(i).for_each(|k, x| {
                if k == j {
                    v = x
                }
            });
            v
        };
        let pad = |(lo, hi): (f64, f64)| (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo));
        let (x0, x1) = pad(range_of((0..n).map(|i| coord(i, 0))));
        let (y0, y1) = pad(range_of((0..n).map(|i| coord(i, 1))));
        let m = self.model;
        let title = format!(
            "{} decision {}",
            m.kind.name(),
            if m.kind == ModelKind::Softmax {
                "regions"
            } else {
                "boundary"
            }
        );
        let (root, bar) = if m.kind == ModelKind::Softmax {
            (root.clone(), None)
        } else {
            let (main, bar) = split_for_colorbar(root);
            (main, Some(bar))
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, font(24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("feature 1")
            .y_desc("feature 2")
            .label_style(font(14))
            .axis_desc_style(font(16))
            .draw()?;

        // Cell centres, scored in one batch.
        let (dx, dy) = ((x1 - x0) / GRID as f64, (y1 - y0) / GRID as f64);
        let mut grid = Vec::with_capacity(GRID * GRID * 2);
        for a in 0..GRID {
            for b in 0..GRID {
                grid.push((x0 + (a as f64 + 0.5) * dx) as f32);
                grid.push((y0 + (b as f64 + 0.5) * dy) as f32);
            }
        }
        let gx = Features::Dense(
            DenseMatrix::new(GRID * GRID, 2, grid).expect("GRID² points of 2 coordinates"),
        );
        let light = |c: RGBColor, t: f64| blend(WHITE, c, t);
        // Binary models: a diverging scale through white at P = 0.5 (score 0); its bar.
        let probability_fill = |p: f64| {
            if p >= 0.5 {
                light(color(1), 0.6 * (p - 0.5) * 2.0)
            } else {
                light(color(0), 0.6 * (0.5 - p) * 2.0)
            }
        };
        let score_fill = |z: f64| light(color((z > 0.0) as usize), (z.abs() / 2.0).min(1.0) * 0.6);
        let fills: Vec<RGBColor> = match m.kind {
            ModelKind::Softmax => m
                .predict(&gx)
                .iter()
                .map(|&c| light(color(c as usize), 0.35))
                .collect(),
            ModelKind::Logistic => {
                let label = format!("P(class {})", m.classes[1]);
                if let Some(bar) = &bar {
                    draw_colorbar(bar, (0.0, 1.0), probability_fill, &label)?;
                }
                m.predict_proba(&gx)
                    .map_err(|e| PlotError::BadInput(e.to_string()))?
                    .chunks(2)
                    .map(|p| probability_fill(p[1]))
                    .collect()
            }
            _ => {
                if let Some(bar) = &bar {
                    draw_colorbar(bar, (-2.0, 2.0), score_fill, "score w·x + b (clipped)")?;
                }
                m.decision_function(&gx)
                    .iter()
                    .map(|&z| score_fill(z))
                    .collect()
            }
        };
        chart.draw_series((0..GRID * GRID).map(|k| {
            let (a, b) = (k / GRID, k % GRID);
            let (cx, cy) = (x0 + a as f64 * dx, y0 + b as f64 * dy);
            Rectangle::new([(cx, cy), (cx + dx, cy + dy)], fills[k].filled())
        }))?;
        if m.kind != ModelKind::Softmax {
            // The 0.5 contour (score 0) of a linear model is the line w·x + b = 0.
            let (w, b) = (&m.weights[0], m.bias[0]);
            let line: Vec<(f64, f64)> = if w[1].abs() > 1e-12 {
                (0..=200)
                    .map(|t| x0 + (x1 - x0) * t as f64 / 200.0)
                    .map(|x| (x, -(w[0] * x + b) / w[1]))
                    .filter(|p| p.1 >= y0 && p.1 <= y1)
                    .collect()
            } else {
                let x = -b / w[0];
                vec![(x, y0), (x, y1)]
            };
            let label = if m.kind == ModelKind::Logistic {
                "P = 0.5"
            } else {
                "score 0"
            };
            smooth_line(&mut chart, &line, BLACK.to_rgba(), 2.0)?
                .label(label)
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(2))
                });
        }
        for (c, name) in m.classes.iter().enumerate() {
            let col = color(c);
            let pts: Vec<(f64, f64)> = (0..n)
                .filter(|&i| self.truth[i] == c)
                .map(|i| (coord(i, 0), coord(i, 1)))
                .collect();
            chart
                .draw_series(pts.into_iter().map(move |p| {
                    EmptyElement::at(p)
                        + Circle::new((0, 0), 5, col.filled())
                        + Circle::new((0, 0), 5, BLACK.stroke_width(1))
                }))?
                .label(format!("class {name}"))
                .legend(move |(x, y)| Circle::new((x + 12, y), 5, col.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}
