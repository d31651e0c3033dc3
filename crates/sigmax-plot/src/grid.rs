//! Several figures of one kind side by side (e.g. the embeddings of every head), each
//! drawn in its own cell.

use crate::{Figure, PlotResult};
use plotters::coord::Shift;
use plotters::prelude::*;

pub struct FigureGrid<F: Figure> {
    pub figures: Vec<F>,
    pub columns: usize,
    /// Size of one cell in pixels.
    pub cell: (u32, u32),
}

impl<F: Figure> FigureGrid<F> {
    /// (rows, columns) of cells: at most `columns` per row, no empty columns.
    fn shape(&self) -> (usize, usize) {
        let cols = self.columns.clamp(1, self.figures.len().max(1));
        (self.figures.len().div_ceil(cols).max(1), cols)
    }
}

impl<F: Figure> Figure for FigureGrid<F> {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.shape();
        (self.cell.0 * cols as u32, self.cell.1 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> PlotResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        for (fig, area) in self.figures.iter().zip(root.split_evenly(self.shape())) {
            fig.draw(&area)?;
        }
        Ok(())
    }
}
