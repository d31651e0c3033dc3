//! sigmax's figures, drawn with plotters into PNG or SVG (the file extension decides).
//!
//! Text in PNGs is rendered with an embedded DejaVu Sans (Bitstream Vera license, see
//! `assets/DejaVuSans-LICENSE.txt`), so no system fonts are needed; SVGs name the font
//! ("DejaVu Sans, sans-serif") and leave the glyphs to the viewer. Each figure is a value
//! implementing [`Figure`]; [`render`] draws it into a file atomically (temp file + rename).

mod boundary;
mod colorbar;
mod curves;
mod embedding;
mod evaluation;
mod grid;
mod losses;
mod psi;
mod smooth;

pub use boundary::BoundaryFigure;
pub use curves::{read_log_csv, CurvesFigure, Run};
pub use embedding::{AngleHistogramFigure, EmbeddingFigure};
pub use evaluation::{CalibrationFigure, ConfusionFigure, RocFigure};
pub use grid::FigureGrid;
pub use losses::LossesFigure;
pub use psi::PsiFigure;
pub(crate) use smooth::smooth_line;

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{0}")]
    BadInput(String),
}

impl From<sigmax::Error> for PlotError {
    fn from(e: sigmax::Error) -> Self {
        PlotError::Draw(e.to_string())
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError::Draw(e.to_string())
    }
}

pub type PlotResult = Result<(), PlotError>;

/// A picture that can be drawn on any plotters backend.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32) {
        (900, 600)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static;
}

static FONT: Once = Once::new();

/// The font family of every text: PNGs are drawn with the embedded DejaVu Sans registered
/// under this name; SVGs keep their text as text and name it as a CSS font list, so a
/// viewer uses DejaVu Sans if it has it and its own sans-serif otherwise (the glyphs are
/// not embedded: an SVG's look depends on the viewer's fonts; the PNG's does not).
const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";

/// Registers the embedded font under [`FONT_FAMILY`] (once per process).
fn ensure_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        if plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, bytes).is_err() {
            panic!("the embedded DejaVu Sans font is invalid");
        }
    });
}

/// Draws `fig` into `path` (`.png` or `.svg`), through a temporary file in the same
/// directory that is renamed into place only when the drawing succeeded.
pub fn render(fig: &impl Figure, path: &Path) -> PlotResult {
    ensure_font();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if ext != "png" && ext != "svg" {
        return Err(PlotError::BadInput(format!(
            "{}: the output file must end in .png or .svg (that chooses the format)",
            path.display()
        )));
    }
    let size = fig.size();
    sigmax::atomic::write_atomically_via(path, &format!(".{ext}"), |tmp| {
        if ext == "png" {
            let root = BitMapBackend::new(tmp, size).into_drawing_area();
            smooth::with_raster(true, || fig.draw(&root))?;
            root.present()?;
        } else {
            let root = SVGBackend::new(tmp, size).into_drawing_area();
            fig.draw(&root)?;
            root.present()?;
        }
        Ok(())
    })
}

/// Distinct colors for series and classes (Tableau 10).
pub fn color(i: usize) -> RGBColor {
    const C: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = C[i % C.len()];
    RGBColor(r, g, b)
}

/// A captioned chart on f64 × f64 axes with described axes: the frame most figures share.
pub(crate) fn xy_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    (x_desc, y_desc): (&str, &str),
) -> Result<
    ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    PlotError,
>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(font(14))
        .axis_desc_style(font(16))
        .draw()?;
    Ok(chart)
}

/// Text style helper.
pub(crate) fn font(size: u32) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().into()
}

/// The legend box every figure uses.
pub(crate) fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    pos: SeriesLabelPosition,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(font(15))
        .draw()?;
    Ok(())
}

/// Min and max of finite values, widened when they coincide.
pub(crate) fn range_of(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    (lo, hi)
}
