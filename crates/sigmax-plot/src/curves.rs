//! Training curves: the relative gap of the objective to the best value against
//! iterations and against seconds, several runs overlaid (log scale).

use crate::{color, font, legend, range_of, smooth_line, Figure, PlotError, PlotResult};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One run's history: (iteration, seconds, objective) per line.
pub struct Run {
    pub name: String,
    pub points: Vec<(f64, f64, f64)>,
}

/// Reads a log written by `sigmax train --log-csv`: a header line
/// `iteration,seconds,objective,grad_norm`, then one line per iteration.
pub fn read_log_csv(path: &Path) -> Result<Run, PlotError> {
    use sigmax::input::{read_text, Contents};
    let budget = sigmax::limits::ReadBudget::new();
    let text = read_text(path, Contents::Lines, &budget).map_err(|e| match e {
        sigmax::Error::Io { path, error } => PlotError::Io {
            path: path.display().to_string(),
            error,
        },
        e => PlotError::BadInput(e.to_string()),
    })?;
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim().starts_with("iteration,seconds,objective") => {}
        _ => {
            return Err(PlotError::BadInput(format!(
                "{}:1: expected the header iteration,seconds,objective,grad_norm (a file from `sigmax train --log-csv`)",
                path.display()
            )))
        }
    }
    let mut points = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<f64> = line
            .split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                PlotError::BadInput(format!(
                    "{}:{}: expected numbers, found {line:?}",
                    path.display(),
                    i + 1
                ))
            })?;
        if f.len() < 3 {
            return Err(PlotError::BadInput(format!(
                "{}:{}: expected 4 columns",
                path.display(),
                i + 1
            )));
        }
        points.push((f[0], f[1], f[2]));
    }
    if points.is_empty() {
        return Err(PlotError::BadInput(format!(
            "{}: no iterations in the log",
            path.display()
        )));
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Run { name, points })
}

pub struct CurvesFigure {
    pub runs: Vec<Run>,
    /// The optimal objective if known; else the best value over all runs.
    pub best: Option<f64>,
}

impl CurvesFigure {
    fn best(&self) -> f64 {
        self.best.unwrap_or_else(|| {
            self.runs
                .iter()
                .flat_map(|r| r.points.iter().map(|p| p.2))
                .fold(f64::INFINITY, f64::min)
        })
    }
}

const GAP_FLOOR: f64 = 1e-16;

impl Figure for CurvesFigure {
    fn size(&self) -> (u32, u32) {
        (1200, 520)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let best = self.best();
        let gap = |f: f64| ((f - best) / best.abs().max(1e-300)).max(GAP_FLOOR);
        let (lo, hi) = range_of(
            self.runs
                .iter()
                .flat_map(|r| r.points.iter().map(|p| gap(p.2).log10())),
        );
        let y_range = 10f64.powf(lo.floor())..10f64.powf(hi.ceil().max(lo.floor() + 1.0));
        let titled = root.titled(
            &format!("Training curves (best objective {best:.10})"),
            font(24),
        )?;
        let panels = titled.split_evenly((1, 2));
        // Log-scaled x as well: Newton's ten steps and GD's thousands fit one picture.
        let x_of =
            |p: &(f64, f64, f64), by_time: bool| if by_time { p.1.max(1e-5) } else { p.0 + 1.0 };
        for (panel, by_time) in panels.iter().zip([false, true]) {
            let (x_lo, x_hi) = range_of(
                self.runs
                    .iter()
                    .flat_map(|r| r.points.iter().map(|p| x_of(p, by_time).log10())),
            );
            let x_range = 10f64.powf(x_lo.floor())..10f64.powf(x_hi.ceil().max(x_lo.floor() + 1.0));
            let mut chart = ChartBuilder::on(panel)
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(70)
                .build_cartesian_2d(x_range.log_scale(), y_range.clone().log_scale())?;
            chart
                .configure_mesh()
                .x_desc(if by_time { "seconds" } else { "iterations + 1" })
                .y_desc("relative gap (J − J*)/|J*|")
                .x_label_formatter(&|v| {
                    if by_time {
                        format!("{v:.0e}")
                    } else {
                        format!("{v:.0}")
                    }
                })
                .y_label_formatter(&|v| format!("{v:.0e}"))
                .label_style(font(14))
                .axis_desc_style(font(16))
                .draw()?;
            for (i, run) in self.runs.iter().enumerate() {
                let c = color(i);
                let pts: Vec<(f64, f64)> = run
                    .points
                    .iter()
                    .map(|p| (x_of(p, by_time), gap(p.2)))
                    .collect();
                let few = pts.len() <= 60;
                smooth_line(&mut chart, &pts, c.to_rgba(), 1.5)?
                    .label(run.name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2))
                    });
                if few {
                    chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled())))?;
                }
            }
            legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    }
}
