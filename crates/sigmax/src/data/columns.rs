//! The column-major (CSC) copy of a sparse matrix, for the Xᵀ-products of the gradient,
//! the Hessian-vector product and the Hessian diagonal.
//!
//! Summing c_i x_i over rows needs, per row chunk, an accumulator as long as the model:
//! with a 4-million-parameter softmax over a text corpus that was 33 MB per chunk,
//! allocated (fresh pages: the system time), zeroed and summed on every pass, more work
//! than the pass itself. Over columns, output j = Σ_{i in column j} c_i x_ij is written
//! exactly once, with no buffer, and summed in row order: the same bits for any number
//! of threads.

use super::{storage::prefetch, CsrMatrix, Features};
use crate::sum::{BlockEdges, BlockedSum, ColumnOut, RowBlocks};
use rayon::prelude::*;

/// Entries ahead whose coefficient a pass over columns asks for (a hint), when c has at
/// least [`GATHER_MIN_LEN`] rows: on millions of rows c's entries are cache misses the
/// hardware cannot foresee.
const GATHER_AHEAD: usize = 16;

/// Vectors gathered at random (a model's weights, a row's coefficients) from this
/// length on (4 MB of doubles, past a core's L2 and a good share of L3) are worth
/// prefetch hints; shorter ones stay in cache.
pub const GATHER_MIN_LEN: usize = 1 << 19;

/// A task's work (nonzeros, plus one per column for its start): at least this much, to
/// amortize handing it to a thread…
const MIN_TASK_WORK: usize = 1 << 13;
/// …and at most a 256th of a pass (tasks cut by work, not by a count of columns: with
/// columns renumbered by frequency, 512 columns a task put half of a text set's nonzeros
/// in the first task, and one thread did it while the other idled).
const TASKS_PER_PASS: usize = 256;

/// The transpose's output arrays, written by several parts at once.
struct Scatter {
    rows: *mut u32,
    values: *mut f32,
    len: usize,
}

// SAFETY: the parts write disjoint slots (see `write`), and the arrays outlive them.
unsafe impl Sync for Scatter {}

impl Scatter {
    /// Writes one entry. Each slot is written by exactly one part: part p owns, in
    /// column j, the positions from its `next[j]` start for as many entries as it counted
    /// there, and those ranges tile the arrays without overlap.
    fn write(&self, slot: usize, row: u32, value: f32) {
        assert!(slot < self.len);
        // SAFETY: in bounds (checked), and no other part writes this slot.
        unsafe {
            *self.rows.add(slot) = row;
            *self.values.add(slot) = value;
        }
    }
}

/// Column `j` holds rows `rows[indptr[j]..indptr[j+1]]` (increasing) and their values.
/// Column pointers are 32-bit (half the memory of a model-sized vector of offsets): a
/// matrix with 2³² nonzeros or more gets no copy.
#[derive(Debug, Clone)]
pub struct Columns {
    n_rows: usize,
    indptr: Vec<u32>,
    rows: Vec<u32>,
    values: Vec<f32>,
    /// Task t sums columns `tasks[t]..tasks[t + 1]` ([`task_bounds`]).
    tasks: Vec<usize>,
}

impl Columns {
    /// The transpose of `m` by a counting sort: O(nnz), rows stay in increasing order.
    /// `None` when a row number or a nonzero's position does not fit in 32 bits.
    ///
    /// The rows are cut into parts, one per thread, each scattering its entries into
    /// slots of its own (column j's entries from part p follow those of parts < p), so
    /// the copy is the same whatever the number of parts. The scatter's random writes
    /// and the copy's first-touch page faults are what it costs: text_bin (1.36M
    /// nonzeros) 15 ms on one thread, 8 ms on two (medians of 6, 2026-12-06).
    pub fn of(m: &CsrMatrix) -> Option<Columns> {
        let (row_ptr, cols, vals) = m.parts();
        let (n, d, nnz) = (row_ptr.len() - 1, m.n_cols(), cols.len());
        if n > u32::MAX as usize || nnz > u32::MAX as usize {
            return None;
        }
        // A part holds d counters: no more parts than the nonzeros pay for.
        let parts = rayon::current_num_threads()
            .min(1 + nnz / d.max(1))
            .clamp(1, n.max(1));
        let (mut rows, mut values) = (vec![0u32; nnz], vec![0f32; nnz]);
        let bounds: Vec<usize> = (0..=parts).map(|p| p * n / parts).collect();
        // next[p][j]: where part p writes its next entry of column j.
        let mut next: Vec<Vec<u32>> = bounds
            .par_windows(2)
            .map(|r| {
                let mut count = vec![0u32; d];
                for &j in &cols[row_ptr.get(r[0])..row_ptr.get(r[1])] {
                    count[j as usize] += 1;
                }
                count
            })
            .collect();
        let mut indptr = vec![0u32; d + 1];
        let mut at = 0u32;
        for j in 0..d {
            indptr[j] = at;
            for part in next.iter_mut() {
                let c = part[j];
                part[j] = at;
                at += c;
            }
        }
        indptr[d] = at;
        let tasks = task_bounds(&indptr, MIN_TASK_WORK);
        let out = Scatter {
            rows: rows.as_mut_ptr(),
            values: values.as_mut_ptr(),
            len: nnz,
        };
        next.par_iter_mut()
            .zip(bounds.par_windows(2))
            .for_each(|(next, r)| {
                for i in r[0]..r[1] {
                    for k in row_ptr.span(i) {
                        let slot = &mut next[cols[k] as usize];
                        out.write(*slot as usize, i as u32, vals[k]);
                        *slot += 1;
                    }
                }
            });
        Some(Columns {
            n_rows: n,
            indptr,
            rows,
            values,
            tasks,
        })
    }

    /// `out` (one entry a column) cut into the tasks' parts, each with its first column.
    fn split_by_task<'o, T>(&self, mut out: &'o mut [T]) -> Vec<(usize, &'o mut [T])> {
        let mut parts = Vec::with_capacity(self.tasks.len());
        for t in self.tasks.windows(2) {
            let (part, rest) = out.split_at_mut(t[1] - t[0]);
            parts.push((t[0], part));
            out = rest;
        }
        parts
    }

    /// Positions of column `j`'s entries.
    fn span(&self, j: usize) -> std::ops::Range<usize> {
        self.indptr[j] as usize..self.indptr[j + 1] as usize
    }

    pub fn n_cols(&self) -> usize {
        self.indptr.len() - 1
    }

    pub fn nnz(&self) -> usize {
        self.rows.len()
    }

    /// Bytes held (to report, and to decide whether to keep one).
    pub fn bytes(&self) -> usize {
        self.indptr.len() * 4 + self.rows.len() * 8
    }

    /// out\[j\] = Σ_i c\[i\]·f(x_ij) for every column j (Xᵀc with f the identity;
    /// f(x) = x² gives the Hessian diagonal's sums), summed in blocks of `block_rows`
    /// rows as a pass over rows sums them ([`crate::sum`]): the same bits.
    pub fn tmatvec_by(
        &self,
        c: &[f64],
        blocks: RowBlocks,
        out: ColumnOut,
        f: impl Fn(f32) -> f64 + Sync,
    ) {
        assert_eq!(out.len(), self.n_cols());
        match out {
            ColumnOut::Values(v) => self.tmatvec_into(c, blocks, v, |s| s.value(), f),
            ColumnOut::Exact(v) => self.tmatvec_into(c, blocks, v, |s| s.exact(), f),
        }
    }

    fn tmatvec_into<T: Send>(
        &self,
        c: &[f64],
        blocks: RowBlocks,
        out: &mut [T],
        total: impl Fn(&BlockedSum) -> T + Sync,
        f: impl Fn(f32) -> f64 + Sync,
    ) {
        let one_block = self.n_rows <= blocks.block;
        let hints = c.len() >= GATHER_MIN_LEN;
        self.split_by_task(out)
            .into_par_iter()
            .for_each(|(first, task)| {
                let end = self.indptr[first + task.len()] as usize;
                for (o, j) in task.iter_mut().zip(first..) {
                    let r = self.span(j);
                    if hints {
                        // c at the rows of the entries GATHER_AHEAD on (a hint).
                        let stop = (r.end + GATHER_AHEAD).min(end);
                        let ahead = (r.start + GATHER_AHEAD).min(stop)..stop;
                        self.rows[ahead]
                            .iter()
                            .for_each(|&i| prefetch(c, i as usize));
                    }
                    let entries = self.rows[r.clone()].iter().zip(&self.values[r]);
                    if one_block {
                        let mut s = 0.0;
                        for (&i, &v) in entries {
                            s += c[i as usize] * f(v);
                        }
                        *o = total(&BlockedSum::of_one_block(s));
                        continue;
                    }
                    let (mut s, mut edges) = (BlockedSum::default(), BlockEdges::new(blocks));
                    for (&i, &v) in entries {
                        if edges.crosses(i as usize) {
                            s.end_block();
                        }
                        s.block += c[i as usize] * f(v);
                    }
                    s.end_block();
                    *o = total(&s);
                }
            });
    }

    /// For K coefficients per row (`c` row-major, n × K): out\[j·d + l\] = Σ_i c\[i·K + j\]·f(x_il),
    /// the class-major K × d layout of the softmax weights, summed in blocks as
    /// [`Columns::tmatvec_by`].
    pub fn tmatmul_by(
        &self,
        c: &[f64],
        k: usize,
        blocks: RowBlocks,
        out: ColumnOut,
        f: impl Fn(f32) -> f64 + Sync,
    ) {
        assert_eq!(out.len(), k * self.n_cols());
        match out {
            ColumnOut::Values(v) => self.tmatmul_into(c, k, blocks, v, |s| s.value(), f),
            ColumnOut::Exact(v) => self.tmatmul_into(c, k, blocks, v, |s| s.exact(), f),
        }
    }

    fn tmatmul_into<T: Send>(
        &self,
        c: &[f64],
        k: usize,
        blocks: RowBlocks,
        out: &mut [T],
        total: impl Fn(&BlockedSum) -> T + Sync,
        f: impl Fn(f32) -> f64 + Sync,
    ) {
        let d = self.n_cols();
        let one_block = self.n_rows <= blocks.block;
        // Each task owns the same columns of all K class rows of `out`.
        let mut tasks: Vec<(usize, Vec<&mut [T]>)> = self.tasks[..self.tasks.len() - 1]
            .iter()
            .map(|&first| (first, Vec::with_capacity(k)))
            .collect();
        for class_row in out.chunks_mut(d.max(1)) {
            for (b, (_, piece)) in self.split_by_task(class_row).into_iter().enumerate() {
                tasks[b].1.push(piece);
            }
        }
        tasks.into_par_iter().for_each_init(
            || (vec![0.0; k], vec![BlockedSum::default(); k]),
            |(acc, sums), (first, mut pieces)| {
                let width = pieces.first().map_or(0, |p| p.len());
                for (l, col) in (first..first + width).enumerate() {
                    acc.iter_mut().for_each(|a| *a = 0.0);
                    let r = self.span(col);
                    let entries = self.rows[r.clone()].iter().zip(&self.values[r]);
                    if one_block {
                        for (&i, &v) in entries {
                            let (ci, fv) = (&c[i as usize * k..(i as usize + 1) * k], f(v));
                            acc.iter_mut().zip(ci).for_each(|(a, &cj)| *a += cj * fv);
                        }
                        for (piece, &a) in pieces.iter_mut().zip(acc.iter()) {
                            piece[l] = total(&BlockedSum::of_one_block(a));
                        }
                        continue;
                    }
                    sums.iter_mut().for_each(|s| *s = BlockedSum::default());
                    let mut edges = BlockEdges::new(blocks);
                    for (&i, &v) in entries {
                        if edges.crosses(i as usize) {
                            for (s, a) in sums.iter_mut().zip(acc.iter_mut()) {
                                s.block = *a;
                                s.end_block();
                                *a = 0.0;
                            }
                        }
                        let (ci, fv) = (&c[i as usize * k..(i as usize + 1) * k], f(v));
                        acc.iter_mut().zip(ci).for_each(|(a, &cj)| *a += cj * fv);
                    }
                    for ((piece, s), &a) in pieces.iter_mut().zip(sums.iter_mut()).zip(acc.iter()) {
                        s.block = a;
                        s.end_block();
                        piece[l] = total(s);
                    }
                }
            },
        );
    }
}

/// Column boundaries of the tasks of a pass over columns: consecutive columns, each
/// task's work (nonzeros + columns) about a [`TASKS_PER_PASS`]th of the whole, at least
/// [`MIN_TASK_WORK`] (a column denser than that is a task of its own). Always at least
/// one task, so that a matrix without columns still has its (empty) pass.
fn task_bounds(indptr: &[u32], min_work: usize) -> Vec<usize> {
    let d = indptr.len() - 1;
    let total = indptr[d] as usize + d;
    let target = (total / TASKS_PER_PASS).max(min_work);
    let mut bounds = vec![0];
    let mut work = 0;
    for j in 0..d {
        work += (indptr[j + 1] - indptr[j]) as usize + 1;
        if work >= target && j + 1 < d {
            bounds.push(j + 1);
            work = 0;
        }
    }
    bounds.push(d);
    bounds
}

/// Whether an objective's passes over `x` go over its column copy: decided when the
/// objective is built ([`columns_pay`]), the copy built by the first pass that uses it
/// (a fit whose solver never makes a pass, such as dual coordinate descent, builds none).
/// `None` from [`ColumnPasses::get`]: over rows (dense data, the choice off, or a copy
/// that did not fit in memory).
#[derive(Debug, Clone, Copy)]
pub struct ColumnPasses<'a> {
    x: &'a Features,
    on: bool,
    /// (K, parameters) when the choice follows [`columns_pay`].
    by_cost: Option<(usize, usize)>,
}

impl<'a> ColumnPasses<'a> {
    /// Over columns or not, as told.
    pub fn new(x: &'a Features, on: bool) -> Self {
        ColumnPasses {
            x,
            on,
            by_cost: None,
        }
    }

    /// As [`columns_pay`] says for `x`, K classes and `params` parameters.
    pub fn by_cost(x: &'a Features, k: usize, params: usize) -> Self {
        ColumnPasses {
            x,
            on: columns_pay(x.nnz(), k, params),
            by_cost: Some((k, params)),
        }
    }

    /// For rows spread over processes: the choice by the nonzeros of all of them, so
    /// that every process takes the same way (the two ways sum in different orders).
    pub fn decide_by_total(&mut self, total_nnz: usize) {
        if let Some((k, params)) = self.by_cost {
            self.on = columns_pay(total_nnz, k, params);
        }
    }

    pub fn get(&self) -> Option<&'a Columns> {
        match self.x {
            Features::Sparse(m) if self.on => m.columns(),
            _ => None,
        }
    }
}

/// Whether the passes over sparse data should go through [`Columns`] instead of
/// row-chunk accumulators: when the model (K × d parameters, `params`) is not small next
/// to the work of a pass (nnz × K). Row chunks cost about 8 × params of extra memory
/// traffic per pass (up to 4–16 buffers zeroed and summed), the column copy one more
/// pass's worth of reads once, and 8 bytes per nonzero.
/// Measured (`examples/pass_bandwidth`): see the README's speed section.
pub fn columns_pay(nnz: usize, k: usize, params: usize) -> bool {
    params.saturating_mul(32) >= nnz.saturating_mul(k.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks small enough for these few rows to cross them.
    const SMALL: RowBlocks = RowBlocks {
        block: 2,
        n_rows: 5,
    };

    fn matrix() -> CsrMatrix {
        // 5 × 7 with an empty row and an empty column (column 4).
        CsrMatrix::new(
            7,
            vec![0, 3, 3, 5, 8, 10],
            vec![0, 2, 6, 1, 3, 0, 5, 6, 2, 3],
            vec![1.0, -2.0, 0.5, 3.0, 1.5, -1.0, 2.0, 4.0, 0.25, -0.5],
        )
    }

    #[test]
    fn products_over_columns_equal_sums_over_rows() {
        let m = matrix();
        let cols = Columns::of(&m).unwrap();
        assert_eq!((cols.n_cols(), cols.nnz()), (7, 10));
        let x = Features::Sparse(m);
        let c = [0.5, -1.0, 2.0, 0.75, -3.0];
        let (mut over_rows, mut over_cols) = (vec![0.0; 7], vec![0.0; 7]);
        // Blocks of 2 rows, summed exactly across, alike both ways.
        x.tmatvec(&c, SMALL, &mut over_rows);
        cols.tmatvec_by(&c, SMALL, ColumnOut::Values(&mut over_cols), |v| v as f64);
        assert_eq!(over_rows, over_cols);
        let mut exact = vec![crate::sum::Binned::ZERO; 7];
        cols.tmatvec_by(&c, SMALL, ColumnOut::Exact(&mut exact), |v| v as f64);
        let from_exact: Vec<f64> = exact.iter().map(|b| b.value()).collect();
        assert_eq!(from_exact, over_cols);
        // K = 3 coefficients per row, class-major output.
        let k = 3;
        let ck: Vec<f64> = (0..5 * k).map(|t| (t as f64 - 6.0) / 4.0).collect();
        let mut out = vec![f64::NAN; k * 7];
        cols.tmatmul_by(&ck, k, SMALL, ColumnOut::Values(&mut out), |v| {
            (v * v) as f64
        });
        for j in 0..k {
            let cj: Vec<f64> = (0..5).map(|i| ck[i * k + j]).collect();
            let mut want = [0.0; 7];
            for (i, &ci) in cj.iter().enumerate() {
                x.row(i).for_each(|l, v| want[l] += ci * v * v);
            }
            assert_eq!(&out[j * 7..(j + 1) * 7], &want[..]);
        }
    }

    #[test]
    fn the_column_copy_is_chosen_for_models_large_next_to_a_pass() {
        // The WordNet text sets (bench/text_data.py): 65,692 × 160,873, 1.36M nonzeros.
        assert!(columns_pay(1_356_068, 26, 26 * 160_873), "26-class softmax");
        assert!(columns_pay(1_356_068, 1, 160_873), "binary");
        // The synthetic sparse set (500k × 177k, 45M nonzeros): rows stay cheaper, and
        // the copy would double the matrix's memory.
        assert!(!columns_pay(45_000_000, 1, 177_000));
    }

    #[test]
    fn wide_matrices_split_into_many_tasks_alike() {
        // More columns than one task takes, so blocks of all K rows are split and joined.
        let (n, d, k) = (40, 1553, 4);
        let mut indptr = vec![0];
        let (mut idx, mut val) = (Vec::new(), Vec::new());
        for i in 0..n {
            for t in 0..9 {
                idx.push(((i * 131 + t * 197) % d) as u32);
            }
            let row = &mut idx[indptr[i]..];
            row.sort_unstable();
            let mut kept: Vec<u32> = row.to_vec();
            kept.dedup();
            idx.truncate(indptr[i]);
            idx.extend_from_slice(&kept);
            val.extend(kept.iter().map(|&j| (j % 7) as f32 - 3.0));
            indptr.push(idx.len());
        }
        let m = CsrMatrix::new(d, indptr, idx, val);
        let mut cols = Columns::of(&m).unwrap();
        // Tasks of ~16 columns' work instead of thousands of nonzeros.
        cols.tasks = task_bounds(&cols.indptr, 16);
        assert!(cols.tasks.len() > 50, "{} tasks", cols.tasks.len() - 1);
        let c: Vec<f64> = (0..n * k)
            .map(|t| ((t * 37 % 11) as f64 - 5.0) / 3.0)
            .collect();
        let mut out = vec![0.0; k * d];
        cols.tmatmul_by(&c, k, SMALL, ColumnOut::Values(&mut out), |v| v as f64);
        let x = Features::Sparse(m);
        for j in 0..k {
            let cj: Vec<f64> = (0..n).map(|i| c[i * k + j]).collect();
            let mut want = vec![0.0; d];
            x.tmatvec(&cj, SMALL, &mut want);
            // Blocks of 16 rows summed exactly: the bits of the pass over rows.
            assert_eq!(&out[j * d..(j + 1) * d], &want[..]);
        }
        let mut one = vec![0.0; d];
        cols.tmatvec_by(&c[..n], SMALL, ColumnOut::Values(&mut one), |v| v as f64);
        let mut want = vec![0.0; d];
        x.tmatvec(&c[..n], SMALL, &mut want);
        assert_eq!(one, want);
    }

    #[test]
    fn passes_long_enough_for_gather_hints_give_the_same_sums() {
        // Rows and columns past GATHER_MIN_LEN, so both passes ask for their gathers
        // ahead (to the last entry of the last task, and past the last row).
        let (n, d) = (GATHER_MIN_LEN + 3, GATHER_MIN_LEN + 5);
        let mut indptr = vec![0];
        let (mut idx, mut val) = (Vec::new(), Vec::new());
        for i in 0..n {
            let mut row = [(i * 7919) % d, (i * 104_729 + 3) % d];
            row.sort_unstable();
            for (t, j) in row.into_iter().enumerate() {
                if t == 0 || j != row[0] {
                    idx.push(j as u32);
                    val.push(((i + t) % 5) as f32 - 2.0);
                }
            }
            indptr.push(idx.len());
        }
        let m = CsrMatrix::new(d, indptr, idx, val);
        let cols = Columns::of(&m).unwrap();
        let x = Features::Sparse(m);
        let blocks = RowBlocks::new(n);
        let c: Vec<f64> = (0..n).map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0).collect();
        let (mut over_rows, mut over_cols) = (vec![0.0; d], vec![0.0; d]);
        x.tmatvec(&c, blocks, &mut over_rows);
        cols.tmatvec_by(&c, blocks, ColumnOut::Values(&mut over_cols), |v| v as f64);
        assert_eq!(over_rows, over_cols);
        // A hint for a row past the last is no access at all.
        let w = vec![0.0; d];
        x.prefetch_gather(n, &w);
        x.prefetch_gather(n + 10, &w);
    }

    #[test]
    fn tasks_are_cut_by_work_and_cover_every_column() {
        // One dense column (as a renumbered text set's first), then many light ones.
        let mut counts = vec![100_000u32];
        counts.extend(std::iter::repeat_n(3, 200_000));
        let mut indptr = vec![0u32];
        for c in &counts {
            indptr.push(indptr.last().unwrap() + c);
        }
        let t = task_bounds(&indptr, MIN_TASK_WORK);
        assert_eq!((t[0], *t.last().unwrap()), (0, counts.len()));
        assert!(t.windows(2).all(|w| w[0] < w[1]));
        // The dense column alone; every other task within twice the target.
        assert_eq!(t[1], 1);
        let total = indptr[counts.len()] as usize + counts.len();
        let target = (total / TASKS_PER_PASS).max(MIN_TASK_WORK);
        for w in t.windows(2).skip(1) {
            let work = (indptr[w[1]] - indptr[w[0]]) as usize + (w[1] - w[0]);
            assert!(work <= 2 * target, "{work} > 2 × {target}");
        }
        // No columns: one empty task.
        assert_eq!(task_bounds(&[0], MIN_TASK_WORK), vec![0, 0]);
    }

    #[test]
    fn the_copy_is_the_transpose_whatever_the_number_of_threads() {
        // Rows dense enough (nonzeros ≥ columns per part) to be cut into several parts.
        let (n, d) = (50, 23);
        let mut indptr = vec![0];
        let (mut idx, mut val) = (Vec::new(), Vec::new());
        for i in 0..n {
            for j in (0..d).filter(|&j| (i * 7 + j * 3) % 5 < 2 || j == i % d) {
                idx.push(j as u32);
                val.push((i * d + j) as f32);
            }
            indptr.push(idx.len());
        }
        let m = CsrMatrix::new(d, indptr, idx, val);
        // Column j, row by row, straight from the rows.
        let mut want: Vec<(u32, f32)> = Vec::new();
        let mut want_ptr = vec![0u32];
        for j in 0..d as u32 {
            for i in 0..n {
                let (cols_i, vals_i) = m.row(i);
                if let Some(k) = cols_i.iter().position(|&l| l == j) {
                    want.push((i as u32, vals_i[k]));
                }
            }
            want_ptr.push(want.len() as u32);
        }
        for threads in [1, 2, 3, 8] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let cols = pool.install(|| Columns::of(&m)).unwrap();
            assert_eq!(cols.indptr, want_ptr, "{threads} threads");
            let got: Vec<(u32, f32)> = cols
                .rows
                .iter()
                .copied()
                .zip(cols.values.iter().copied())
                .collect();
            assert_eq!(got, want, "{threads} threads");
        }
    }
}
