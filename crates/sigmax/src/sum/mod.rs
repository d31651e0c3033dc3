//! Sums over rows whose bits depend on the data only: not on the number of threads, not
//! on the number of processes, not on where the rows were split between them.
//!
//! Rows are summed in fixed blocks of [`block_rows`]`(n)` consecutive rows counted from
//! the data set's first row: within a block in row order, in doubles (the fast part, as
//! any pass would); the blocks' sums are then added exactly ([`Binned`]), so their order
//! and grouping do not matter. One process runs its blocks on any number of threads;
//! several processes each hold whole blocks (`sigmax train --distributed` moves the
//! rows at the edges of the shares so they do) and sum theirs exactly across processes
//! ([`Reducer`]). The result is the same bits as one process with one thread.
//!
//! The cost: one exact addition per block and per summed number (a few nanoseconds),
//! which [`block_rows`] keeps to at most [`MAX_BLOCKS`] per pass.

mod binned;

pub use binned::Binned;

use rayon::prelude::*;
use std::ops::Range;

/// Blocks are at least this many rows (a pass over fewer rows is one block, on one
/// thread: too little work to split).
pub const MIN_BLOCK_ROWS: usize = 4096;
/// At most this many blocks per pass: enough to keep 64 threads or processes busy, few
/// enough that the exact additions (one per block per number) stay small next to the
/// pass.
pub const MAX_BLOCKS: usize = 64;

/// Rows per block for a data set of `n_rows` rows in all (over every process).
pub fn block_rows(n_rows: usize) -> usize {
    n_rows.div_ceil(MAX_BLOCKS).max(MIN_BLOCK_ROWS)
}

/// Sums partial results across the participants of one fit (processes, each holding
/// some of the rows). Every pass over the data sends its sums through here before
/// normalization; [`LocalReducer`] (one process holds all rows) leaves them as they are.
pub trait Reducer: Sync {
    /// Replaces `partial` with the element-wise sum of every participant's `partial`
    /// (counts and other sums whose terms are integers, and the bins of [`Binned`]
    /// sums: exact in any order).
    fn sum(&self, partial: &mut [f64]);
    /// Replaces `partial` with the element-wise maximum over the participants.
    fn max_index(&self, partial: &mut [i32]);
    /// Whether this participant holds every row (then nothing is exchanged).
    fn is_local(&self) -> bool {
        false
    }
}

/// All rows are here: the sum is the partial sum.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalReducer;

impl Reducer for LocalReducer {
    fn sum(&self, _partial: &mut [f64]) {}
    fn max_index(&self, _partial: &mut [i32]) {}
    fn is_local(&self) -> bool {
        true
    }
}

/// Sums over the rows of a pass, before they are reduced across participants.
#[derive(Debug, Clone, PartialEq)]
pub enum Sums {
    /// One block: the block's sums as they are.
    Plain(Vec<f64>),
    /// Several blocks (or sums bound for other processes), exact.
    Exact(Vec<Binned>),
}

/// Where a pass over columns writes its sums: values (one process) or exact sums (to be
/// reduced across processes).
pub enum ColumnOut<'a> {
    Values(&'a mut [f64]),
    Exact(&'a mut [Binned]),
}

impl Sums {
    /// `len` zeros, exact when `exact` (the pass's sums go to other processes).
    pub fn zeros(len: usize, exact: bool) -> Sums {
        if exact {
            Sums::Exact(vec![Binned::ZERO; len])
        } else {
            Sums::Plain(vec![0.0; len])
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Sums::Plain(v) => v.len(),
            Sums::Exact(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sums over this participant's rows alone (mini-batches, local estimates, or
    /// every row with [`LocalReducer`]).
    pub fn local_values(self) -> Vec<f64> {
        match self {
            // + 0.0 turns -0.0 into 0.0, as an exact sum has it.
            Sums::Plain(mut v) => {
                v.iter_mut().for_each(|x| *x += 0.0);
                v
            }
            Sums::Exact(v) => v.iter().map(Binned::value).collect(),
        }
    }

    /// The first value over this participant's rows (a pass with one sum).
    pub fn local_value(self) -> f64 {
        self.local_values().first().copied().unwrap_or(0.0)
    }

    pub fn into_exact(self) -> Vec<Binned> {
        match self {
            Sums::Plain(v) => v.into_iter().map(Binned::of).collect(),
            Sums::Exact(v) => v,
        }
    }

    /// Splits off the sums from `at` on.
    pub fn split_off(&mut self, at: usize) -> Sums {
        match self {
            Sums::Plain(v) => Sums::Plain(v.split_off(at)),
            Sums::Exact(v) => Sums::Exact(v.split_off(at)),
        }
    }

    /// Places `other` at `at..at + other.len()`.
    pub fn put(&mut self, at: usize, other: Sums) {
        match self {
            Sums::Plain(v) => {
                let o = other.local_values();
                v[at..at + o.len()].copy_from_slice(&o);
            }
            Sums::Exact(v) => {
                let o = other.into_exact();
                v[at..at + o.len()].copy_from_slice(&o);
            }
        }
    }

    /// `range` for a pass over columns to write into.
    pub fn columns_mut(&mut self, range: Range<usize>) -> ColumnOut<'_> {
        match self {
            Sums::Plain(v) => ColumnOut::Values(&mut v[range]),
            Sums::Exact(v) => ColumnOut::Exact(&mut v[range]),
        }
    }
}

/// The sums over every participant's rows.
pub fn reduce(reducer: &dyn Reducer, sums: Sums) -> Vec<f64> {
    if reducer.is_local() {
        return sums.local_values();
    }
    let mut exact = sums.into_exact();
    reduce_exact(reducer, &mut exact);
    exact.iter().map(Binned::value).collect()
}

/// Exact sums across participants: raise every sum to the largest grid any participant
/// needs, then add the bins (integers: exact in any order).
pub fn reduce_exact(reducer: &dyn Reducer, sums: &mut [Binned]) {
    if reducer.is_local() {
        return;
    }
    let mut index: Vec<i32> = sums.iter().map(Binned::index).collect();
    reducer.max_index(&mut index);
    let mut bins = Vec::with_capacity(3 * sums.len());
    for (s, &i) in sums.iter_mut().zip(&index) {
        s.raise(i);
        bins.extend_from_slice(&s.bins());
    }
    reducer.sum(&mut bins);
    for (s, b) in sums.iter_mut().zip(bins.chunks_exact(3)) {
        s.set_bins([b[0], b[1], b[2]]);
    }
}

/// Σ over rows `0..n` of `f(i)` for rows spread over participants: blocks of
/// `block_rows`, exact across blocks and participants.
pub fn row_sum(
    reducer: &dyn Reducer,
    n: usize,
    block_rows: usize,
    f: impl Fn(usize) -> f64 + Sync,
) -> f64 {
    let sums = par_row_reduce(n, block_rows, 1, |rows, acc| {
        acc[0] = rows.map(&f).fold(0.0, |s, x| s + x);
    });
    reduce(reducer, sums)[0]
}

/// Σ s_i over every participant's rows (the number of rows without weights).
pub fn total_weight(reducer: &dyn Reducer, n_local: usize, weights: Option<&[f64]>) -> f64 {
    let (n, blocks) = global_rows(reducer, n_local);
    match weights {
        Some(s) => row_sum(reducer, n_local, blocks, |i| s[i]),
        None => n as f64,
    }
}

/// The number of rows over every participant and the block size of a pass over them.
pub fn global_rows(reducer: &dyn Reducer, n_local: usize) -> (usize, usize) {
    let mut n = [n_local as f64];
    reducer.sum(&mut n);
    let n = n[0] as usize;
    (n, block_rows(n))
}

/// Lets `f` sum each block of `block_rows` rows of `0..n` into a zeroed buffer of length
/// `dim`, on as many threads as there are, and adds the blocks exactly (see the module
/// documentation).
pub fn par_row_reduce<F>(n: usize, block_rows: usize, dim: usize, f: F) -> Sums
where
    F: Fn(Range<usize>, &mut [f64]) + Sync,
{
    let mut unit = vec![(); n];
    par_row_reduce_mut(&mut unit, block_rows, dim, |start, rows, acc| {
        f(start..start + rows.len(), acc)
    })
}

/// [`par_row_reduce`] that also hands each block its part of a per-row output slice
/// (`per_row.len()` is the number of rows), for passes that both reduce and store.
pub fn par_row_reduce_mut<T, F>(per_row: &mut [T], block_rows: usize, dim: usize, f: F) -> Sums
where
    T: Send,
    F: Fn(usize, &mut [T], &mut [f64]) + Sync,
{
    let size = block_rows.max(1);
    if per_row.len() <= size {
        let mut acc = vec![0.0; dim];
        f(0, per_row, &mut acc);
        return Sums::Plain(acc);
    }
    let exact = per_row
        .par_chunks_mut(size)
        .enumerate()
        .fold(
            || (vec![Binned::ZERO; dim], vec![0.0; dim]),
            |(mut sums, mut buf), (b, rows)| {
                buf.iter_mut().for_each(|x| *x = 0.0);
                f(b * size, rows, &mut buf);
                sums.iter_mut().zip(&buf).for_each(|(s, &x)| s.add(x));
                (sums, buf)
            },
        )
        .map(|(sums, _)| sums)
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| x.merge(y));
            a
        });
    Sums::Exact(exact.unwrap_or_else(|| vec![Binned::ZERO; dim]))
}

/// One number summed over rows that arrive in increasing order (a column of a sparse
/// matrix), block by block as [`par_row_reduce`] sums them: a pass over columns gives
/// the bits of the pass over rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockedSum {
    /// The current block's sum.
    pub block: f64,
    /// The first block's sum, while it is the only one (a single block needs no exact
    /// addition: its exact sum is itself).
    first: f64,
    blocks: u32,
    exact: Binned,
}

impl BlockedSum {
    /// Closes the current block.
    #[inline]
    pub fn end_block(&mut self) {
        if self.block == 0.0 {
            return;
        }
        match self.blocks {
            0 => self.first = self.block,
            1 => {
                self.exact.add(self.first);
                self.exact.add(self.block);
            }
            _ => self.exact.add(self.block),
        }
        self.blocks += 1;
        self.block = 0.0;
    }

    /// The total (after the last [`BlockedSum::end_block`]).
    pub fn value(&self) -> f64 {
        match self.blocks {
            0 => 0.0,
            1 => self.first + 0.0,
            _ => self.exact.value(),
        }
    }

    pub fn exact(&self) -> Binned {
        match self.blocks {
            0 => Binned::ZERO,
            1 => Binned::of(self.first),
            _ => self.exact,
        }
    }
}

/// Tells a pass over increasing row numbers where blocks end.
#[derive(Debug, Clone, Copy)]
pub struct BlockEdges {
    size: usize,
    end: usize,
}

impl BlockEdges {
    pub fn new(block_rows: usize) -> Self {
        BlockEdges {
            size: block_rows.max(1),
            end: 0,
        }
    }

    /// Whether `row` starts a new block (true for the first row seen).
    #[inline]
    pub fn crosses(&mut self, row: usize) -> bool {
        if row < self.end {
            return false;
        }
        self.end = (row / self.size + 1) * self.size;
        true
    }
}

impl ColumnOut<'_> {
    pub fn len(&self) -> usize {
        match self {
            ColumnOut::Values(v) => v.len(),
            ColumnOut::Exact(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((i * 7919 % 1000) as f64 - 500.0) * 1.1f64.powi((i % 97) as i32 - 48))
            .collect()
    }

    #[test]
    fn blocks_grow_past_the_minimum_to_bound_their_number() {
        assert_eq!(block_rows(10), MIN_BLOCK_ROWS);
        assert_eq!(block_rows(MIN_BLOCK_ROWS * MAX_BLOCKS), MIN_BLOCK_ROWS);
        assert_eq!(block_rows(1_000_000), 15_625);
        assert!(1_000_001usize.div_ceil(block_rows(1_000_001)) <= MAX_BLOCKS);
    }

    #[test]
    fn any_thread_count_gives_the_same_bits() {
        let v = values(50_000);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                par_row_reduce(v.len(), 1000, 2, |rows, acc| {
                    for i in rows {
                        acc[0] += v[i];
                        acc[1] += v[i] * v[i];
                    }
                })
            })
        };
        let one = run(1).local_values();
        for t in [2, 3, 5] {
            assert_eq!(run(t).local_values(), one, "{t} threads");
        }
    }

    /// Participants simulated in one process: each holds whole blocks; the exact sums of
    /// their blocks, merged, are what one participant holding every row finds.
    #[test]
    fn any_split_at_block_edges_gives_the_bits_of_one_participant() {
        let (v, size) = (values(10_000), 512);
        let sum_of = |rows: Range<usize>| {
            let part = &v[rows];
            par_row_reduce(part.len(), size, 1, |r, acc| {
                r.for_each(|i| acc[0] += part[i]);
            })
        };
        let whole = sum_of(0..v.len()).local_value();
        for edges in [vec![0, 512, 10_000], vec![0, 1024, 1536, 9728, 10_000]] {
            let mut merged = Binned::ZERO;
            for w in edges.windows(2) {
                merged.merge(&sum_of(w[0]..w[1]).into_exact()[0]);
            }
            assert_eq!(merged.value().to_bits(), whole.to_bits(), "{edges:?}");
        }
        // Not at an edge: the block that was cut sums differently (in general).
        let plain: f64 = v.iter().sum();
        assert_ne!(
            plain.to_bits(),
            whole.to_bits(),
            "the data exercise rounding"
        );
    }

    #[test]
    fn a_column_summed_block_by_block_equals_the_rows_pass() {
        let (v, size) = (values(3000), 700);
        let rows: Vec<usize> = (0..3000).filter(|i| i % 3 != 1).collect();
        let by_rows = par_row_reduce(3000, size, 1, |r, acc| {
            r.filter(|i| i % 3 != 1).for_each(|i| acc[0] += v[i]);
        })
        .local_value();
        let (mut s, mut edges) = (BlockedSum::default(), BlockEdges::new(size));
        for &i in &rows {
            if edges.crosses(i) {
                s.end_block();
            }
            s.block += v[i];
        }
        s.end_block();
        assert_eq!(s.value().to_bits(), by_rows.to_bits());
        assert_eq!(s.exact().value().to_bits(), by_rows.to_bits());
    }
}
