//! Thin anti-aliased lines for PNG output.
//!
//! plotters' bitmap backend draws lines on whole pixels without anti-aliasing (a 1-px line
//! is a staircase, a wider one a filled polygon with hard edges). Here a polyline is
//! rasterized at sub-pixel precision instead: each pixel gets the coverage of a line of the
//! given width whose edges are smoothed over one pixel (coverage = w/2 + ½ − distance to the
//! segment, clamped to [0, 1]), the maximum over the polyline's segments so joints are not
//! drawn twice, and is blended with that alpha. SVG output keeps plotters' vector paths,
//! which the viewer anti-aliases.

use crate::PlotError;
use plotters::chart::SeriesAnno;
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;
use std::cell::Cell;
use std::collections::HashMap;

thread_local! {
    /// Whether the figure being rendered goes to a raster (PNG) file; set by `render`.
    static RASTER: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the raster flag set to `raster` (restored afterwards).
pub(crate) fn with_raster<T>(raster: bool, f: impl FnOnce() -> T) -> T {
    let before = RASTER.with(|r| r.replace(raster));
    let out = f();
    RASTER.with(|r| r.set(before));
    out
}

/// Sub-pixel steps per pixel when mapping data coordinates.
const SUBPIXEL: i32 = 64;

/// Draws the polyline `points` (data coordinates; non-finite points break it) as a line
/// `width` pixels wide, anti-aliased on PNG, and returns its series so a legend entry can
/// be attached.
pub(crate) fn smooth_line<'a, 'b, DB, X, Y>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    points: &[(X::ValueType, Y::ValueType)],
    color: RGBAColor,
    width: f64,
) -> Result<&'b mut SeriesAnno<'a, DB>, PlotError>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged,
    Y: Ranged,
    X::ValueType: Clone + Into<f64> + 'static,
    Y::ValueType: Clone + Into<f64> + 'static,
{
    if !RASTER.with(Cell::get) {
        let style = ShapeStyle {
            color,
            filled: false,
            stroke_width: width.round().max(1.0) as u32,
        };
        for run in finite_runs(points) {
            chart.draw_series(std::iter::once(PathElement::new(run, style)))?;
        }
        return Ok(
            chart.draw_series(std::iter::empty::<PathElement<(X::ValueType, Y::ValueType)>>())?
        );
    }
    let pixels = sub_pixel_path(chart, points);
    let area = chart.plotting_area().strip_coord_spec();
    let (base_x, base_y) = area.get_base_pixel();
    let (xr, yr) = area.get_pixel_range();
    let coverage = rasterize(&pixels, width);
    for ((i, j), c) in coverage {
        // Clipped to the plotting area, as plotters clips its own series.
        if xr.contains(&i) && yr.contains(&j) {
            let alpha = color.3 * c as f64;
            let px = RGBAColor(color.0, color.1, color.2, alpha);
            area.draw_pixel((i - base_x, j - base_y), &px)?;
        }
    }
    Ok(chart.draw_series(std::iter::empty::<PathElement<(X::ValueType, Y::ValueType)>>())?)
}

/// The maximal runs of points with finite coordinates.
fn finite_runs<A: Clone + Into<f64>, B: Clone + Into<f64>>(points: &[(A, B)]) -> Vec<Vec<(A, B)>> {
    let finite = |p: &(A, B)| p.0.clone().into().is_finite() && p.1.clone().into().is_finite();
    points
        .split(|p| !finite(p))
        .filter(|run| !run.is_empty())
        .map(|run| run.to_vec())
        .collect()
}

/// Backend pixel coordinates (fractional) of each point, `None` for non-finite ones.
fn sub_pixel_path<DB, X, Y>(
    chart: &ChartContext<'_, DB, Cartesian2d<X, Y>>,
    points: &[(X::ValueType, Y::ValueType)],
) -> Vec<Option<(f64, f64)>>
where
    DB: DrawingBackend,
    X: Ranged,
    Y: Ranged,
    X::ValueType: Clone + Into<f64>,
    Y::ValueType: Clone + Into<f64>,
{
    let spec = chart.as_coord_spec();
    let (x_spec, y_spec) = (spec.x_spec(), spec.y_spec());
    // The pixel limits each axis maps its range onto, in the axis's own orientation:
    // where the range's two ends land.
    let (x_range, y_range) = (x_spec.range(), y_spec.range());
    let corner = |x: &X::ValueType, y: &Y::ValueType| spec.translate(&(x.clone(), y.clone()));
    let (lo, hi) = (
        corner(&x_range.start, &y_range.start),
        corner(&x_range.end, &y_range.end),
    );
    let scaled = |a: i32, b: i32| (a * SUBPIXEL, b * SUBPIXEL);
    points
        .iter()
        .map(|(x, y)| {
            let finite = x.clone().into().is_finite() && y.clone().into().is_finite();
            finite.then(|| {
                let px = x_spec.map(x, scaled(lo.0, hi.0));
                let py = y_spec.map(y, scaled(lo.1, hi.1));
                (px as f64 / SUBPIXEL as f64, py as f64 / SUBPIXEL as f64)
            })
        })
        .collect()
}

/// Coverage in (0, 1] of each pixel touched by the polyline (pixel (i, j) centred at
/// (i, j)), a line `width` wide with one-pixel soft edges.
fn rasterize(path: &[Option<(f64, f64)>], width: f64) -> HashMap<(i32, i32), f32> {
    let half = 0.5 * width.max(0.5);
    let reach = half + 0.5;
    let mut coverage: HashMap<(i32, i32), f32> = HashMap::new();
    for pair in path.windows(2) {
        let (Some(a), Some(b)) = (pair[0], pair[1]) else {
            continue;
        };
        // Segments far outside any image (an axis clipped at 1e9 px) are skipped.
        if a.0.abs().max(a.1.abs()).max(b.0.abs()).max(b.1.abs()) > 1e6 {
            continue;
        }
        let (x0, x1) = (
            (a.0.min(b.0) - reach).floor(),
            (a.0.max(b.0) + reach).ceil(),
        );
        let (y0, y1) = (
            (a.1.min(b.1) - reach).floor(),
            (a.1.max(b.1) + reach).ceil(),
        );
        for i in x0 as i32..=x1 as i32 {
            for j in y0 as i32..=y1 as i32 {
                let d = distance_to_segment((i as f64, j as f64), a, b);
                let c = (reach - d).clamp(0.0, 1.0) as f32;
                if c > 0.0 {
                    let e = coverage.entry((i, j)).or_insert(0.0);
                    *e = e.max(c);
                }
            }
        }
    }
    coverage
}

fn distance_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sloped_line_is_thin_and_soft_edged() {
        // y = 0.3 x over 100 px: each column crosses the line in at most 3 pixels, and
        // partial coverage (anti-aliasing) appears in every column.
        let path = vec![Some((0.0, 0.0)), Some((100.0, 30.0))];
        let cov = rasterize(&path, 1.5);
        for i in 5..95 {
            let col: Vec<f32> = (-5..40).filter_map(|j| cov.get(&(i, j)).copied()).collect();
            let solid = col.iter().filter(|&&c| c >= 0.99).count();
            assert!(col.len() <= 4 && solid <= 2, "column {i}: {col:?}");
            assert!(col.iter().any(|&c| c < 0.99), "column {i} has no soft edge");
            let total: f32 = col.iter().sum();
            assert!((1.2..=2.4).contains(&total), "column {i} ink {total}");
        }
    }

    #[test]
    fn joints_are_not_drawn_twice_and_gaps_break_the_line() {
        let path = vec![Some((0.0, 0.0)), Some((10.0, 0.0)), Some((20.0, 0.0))];
        let cov = rasterize(&path, 1.0);
        assert_eq!(cov.get(&(10, 0)), Some(&1.0));
        let broken = vec![Some((0.0, 0.0)), None, Some((20.0, 0.0))];
        assert!(!rasterize(&broken, 1.0).contains_key(&(10, 0)));
    }
}
