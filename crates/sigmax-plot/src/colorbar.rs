//! A vertical colour bar: the scale of a heat map, so its colours can be read as values.

use crate::{font, PlotResult};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Width in pixels that [`split_for_colorbar`] sets aside.
const BAR_AREA: u32 = 120;

/// Splits `root` into the picture's area and a strip on its right for the colour bar.
pub(crate) fn split_for_colorbar<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let (w, _) = root.dim_in_pixel();
    root.split_horizontally(w.saturating_sub(BAR_AREA))
}

/// Draws a bar from `lo` (bottom) to `hi` (top) coloured by `color_of(value)`, with
/// value ticks and `label` along it.
pub(crate) fn draw_colorbar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (lo, hi): (f64, f64),
    color_of: impl Fn(f64) -> RGBColor,
    label: &str,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .margin_top(60)
        .margin_bottom(60)
        .margin_right(8)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..1.0, lo..hi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(label)
        .y_labels(6)
        .label_style(font(13))
        .axis_desc_style(font(15))
        .draw()?;
    const STEPS: usize = 200;
    let step = (hi - lo) / STEPS as f64;
    chart.draw_series((0..STEPS).map(|k| {
        let v = lo + (k as f64 + 0.5) * step;
        let y = lo + k as f64 * step;
        Rectangle::new([(0.0, y), (1.0, y + step)], color_of(v).filled())
    }))?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(0.0, lo), (1.0, hi)],
        BLACK.mix(0.5).stroke_width(1),
    )))?;
    Ok(())
}
