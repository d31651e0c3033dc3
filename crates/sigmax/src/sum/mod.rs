//! Sums over rows whose bits depend on the data only: not on the number of threads, not
//! on the number of processes, not on where the rows were split between them.
//!
//! Rows are summed in fixed blocks of [`block_rows`]`(n)` consecutive rows counted from
//! the data set's first row. Within a block a pass sums in doubles, in an order fixed by
//! the pass and the data set's size alone (a pass over rows: chunks in row order, a
//! block's chunks one after the other, the chunks on as many threads as there are; a pass
//! over columns: each column's entries of the block in row order). The blocks' sums are
//! then added exactly ([`Binned`]), so their order and grouping do not matter. Several
//! processes each hold whole blocks (`sigmax train --distributed` moves the rows at the
//! edges of the shares so they do) and add theirs exactly across processes
//! ([`Reducer`]). The result is the same bits as one process with one thread. Every
//! process takes the same way (over rows or over columns: decided from the global
//! counts).
//!
//! The cost: one exact addition per block and per summed number (a few nanoseconds, on
//! every thread); blocks are at least [`MIN_BLOCK_ROWS`] (262,144) rows and at most
//! [`MAX_BLOCKS`], so a data set of fewer rows is one block and pays nothing. Measured
//! (fit seconds against the plain sums before, medians of interleaved runs): text_bin
//! 0.98×, Fashion binary 1.02×, the 500k-row sparse set (two blocks) 0.89×, text26 1.05×.
//! Tried and dropped: blocks of 4,096 rows (real text 2× slower: one exact addition per
//! column and block) and a fresh parameter-sized buffer per pass over columns (text26 40%
//! slower: 33 MB faulted in and zeroed per pass; the passes over columns write where the
//! result goes).

mod binned;

pub use binned::Binned;

use rayon::prelude::*;
use std::ops::Range;

/// Blocks are a multiple of this many rows (the unit of distribution, and of exact
/// addition). Smaller blocks spread smaller data sets over more processes but cost an
/// exact addition per block for every summed number: on the 500k-row sparse bench set
/// (177k weights, passes over rows) blocks of 65,536 rows made the fit 18% slower, of
/// 262,144 rows (two blocks) 5%.
pub const MIN_BLOCK_ROWS: usize = 1 << 18;
/// At most this many blocks per pass (for data sets over 64 × 262,144 rows): enough to
/// spread the rows over 64 processes.
pub const MAX_BLOCKS: usize = 64;
/// Chunks of a pass over rows (one thread's work) are at least this many rows, at most
/// this many per block.
const MIN_CHUNK_ROWS: usize = 4096;
const MAX_CHUNKS: usize = 16;
/// A block's chunk buffers live together until summed: with a long accumulator (a
/// sparse model with 10⁵–10⁶ weights) keep them within ~8 MB, but never below 4 chunks
/// (two threads and more stay busy).
const BUFFER_BYTES: usize = 8 << 20;

/// Rows per block for a data set of `n_rows` rows in all (over every process).
pub fn block_rows(n_rows: usize) -> usize {
    n_rows.div_ceil(MAX_BLOCKS).div_ceil(MIN_BLOCK_ROWS).max(1) * MIN_BLOCK_ROWS
}

/// How the rows of a pass are cut: a function of the number of rows in all (over every
/// process), so every process and every thread count cuts alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowBlocks {
    /// Rows per block.
    pub block: usize,
    /// Rows in all.
    pub n_rows: usize,
}

impl RowBlocks {
    pub fn new(n_rows: usize) -> RowBlocks {
        RowBlocks {
            block: block_rows(n_rows),
            n_rows,
        }
    }

    /// Rows per chunk of a pass over rows summing `dim` numbers (chunks start at each
    /// block's start; a block's last chunk may be shorter), from the rows in all and
    /// `dim` only: about n / 4,096 chunks in all, at most 16, fewer for long sums (their
    /// buffers within ~8 MB), at least one per block.
    pub fn chunk(&self, dim: usize) -> usize {
        let by_memory = (BUFFER_BYTES / (dim.max(1) * 8)).max(4);
        let in_all = (self.n_rows / MIN_CHUNK_ROWS).clamp(1, MAX_CHUNKS.min(by_memory));
        let per_block = (in_all / self.n_rows.div_ceil(self.block).max(1)).max(1);
        self.n_rows.min(self.block).div_ceil(per_block).max(1)
    }
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
    blocks: RowBlocks,
    f: impl Fn(usize) -> f64 + Sync,
) -> f64 {
    let sums = par_row_reduce(n, blocks, 1, |rows, acc| {
        acc[0] = rows.map(&f).fold(0.0, |s, x| s + x);
    });
    reduce(reducer, sums)[0]
}

/// Σ s_i over every participant's rows (the number of rows without weights).
pub fn total_weight(reducer: &dyn Reducer, n_local: usize, weights: Option<&[f64]>) -> f64 {
    let blocks = RowBlocks::new(global_rows(reducer, n_local));
    total_weight_in(reducer, n_local, blocks, weights)
}

/// [`total_weight`] when the rows in all, and so `blocks`, are known already.
pub fn total_weight_in(
    reducer: &dyn Reducer,
    n_local: usize,
    blocks: RowBlocks,
    weights: Option<&[f64]>,
) -> f64 {
    match weights {
        Some(s) => row_sum(reducer, n_local, blocks, |i| s[i]),
        None => blocks.n_rows as f64,
    }
}

/// The number of rows over every participant.
pub fn global_rows(reducer: &dyn Reducer, n_local: usize) -> usize {
    let mut n = [n_local as f64];
    reducer.sum(&mut n);
    n[0] as usize
}

/// Lets `f` sum each chunk of rows of `0..n` into a zeroed buffer of length `dim`, on as
/// many threads as there are, adds a block's chunks in order and the blocks exactly (see
/// the module documentation).
pub fn par_row_reduce<F>(n: usize, blocks: RowBlocks, dim: usize, f: F) -> Sums
where
    F: Fn(Range<usize>, &mut [f64]) + Sync,
{
    let mut unit = vec![(); n];
    par_row_reduce_mut(&mut unit, blocks, dim, |start, rows, acc| {
        f(start..start + rows.len(), acc)
    })
}

/// [`par_row_reduce`] that also hands each chunk its part of a per-row output slice
/// (`per_row.len()` is the number of rows), for passes that both reduce and store.
pub fn par_row_reduce_mut<T, F>(per_row: &mut [T], blocks: RowBlocks, dim: usize, f: F) -> Sums
where
    T: Send,
    F: Fn(usize, &mut [T], &mut [f64]) + Sync,
{
    let (block, chunk) = (blocks.block, blocks.chunk(dim));
    // Blocks computed together: up to MAX_CHUNKS chunks' buffers at a time.
    let wave = (MAX_CHUNKS / block.div_ceil(chunk)).max(1) * block;
    let one_block = per_row.len() <= block;
    let mut exact = (!one_block).then(|| vec![Binned::ZERO; dim]);
    let mut plain = Vec::new();
    for (w, rows) in per_row.chunks_mut(wave).enumerate() {
        // (first row, rows) of every chunk of the wave's blocks, and chunks per block.
        let mut pieces = Vec::new();
        let mut per_block = Vec::new();
        for (b, block_rows) in rows.chunks_mut(block).enumerate() {
            per_block.push(block_rows.len().div_ceil(chunk));
            for (c, chunk_rows) in block_rows.chunks_mut(chunk).enumerate() {
                pieces.push((w * wave + b * block + c * chunk, chunk_rows));
            }
        }
        let run = |(start, rows): (usize, &mut [T])| {
            let mut acc = vec![0.0; dim];
            f(start, rows, &mut acc);
            acc
        };
        // One chunk (a small data set) runs here: handing it to the pool and waiting for
        // it costs a thread's wake-up, more than the chunk itself.
        let parts: Vec<Vec<f64>> = if pieces.len() == 1 {
            pieces.into_iter().map(run).collect()
        } else {
            pieces.into_par_iter().map(run).collect()
        };
        let mut parts = parts.into_iter();
        for count in per_block {
            let Some(mut total) = parts.next() else { break };
            for p in parts.by_ref().take(count - 1) {
                total.iter_mut().zip(&p).for_each(|(t, x)| *t += x);
            }
            match &mut exact {
                // On every thread: a few nanoseconds per number, as many numbers as the
                // model has.
                Some(e) => e
                    .par_chunks_mut(1 << 12)
                    .zip(total.par_chunks(1 << 12))
                    .for_each(|(e, t)| e.iter_mut().zip(t).for_each(|(s, &x)| s.add(x))),
                None => plain = total,
            }
        }
    }
    match exact {
        Some(e) => Sums::Exact(e),
        None if plain.is_empty() => Sums::Plain(vec![0.0; dim]),
        None => Sums::Plain(plain),
    }
}

/// One number summed over rows that arrive in increasing order (a column of a sparse
/// matrix): in row order within a block, the blocks exactly.
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
    /// The sum of a single block.
    #[inline]
    pub fn of_one_block(sum: f64) -> BlockedSum {
        BlockedSum {
            first: sum,
            blocks: 1,
            ..BlockedSum::default()
        }
    }

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
    pub fn new(blocks: RowBlocks) -> Self {
        BlockEdges {
            size: blocks.block,
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
        assert_eq!(
            block_rows(MIN_BLOCK_ROWS * MAX_BLOCKS + 1),
            2 * MIN_BLOCK_ROWS
        );
        assert!(100_000_001usize.div_ceil(block_rows(100_000_001)) <= MAX_BLOCKS);
        // Chunks: n / 4,096 of them, at most 16, fewer for long sums, ≥ 1 per block.
        assert_eq!(RowBlocks::new(270).chunk(14), 270);
        assert_eq!(RowBlocks::new(60_000).chunk(785), 4286);
        assert_eq!(RowBlocks::new(500_000).chunk(785), 32_768);
        assert_eq!(RowBlocks::new(500_000).chunk(177_000), 131_072);
        assert_eq!(
            RowBlocks::new(100_000_000).chunk(10),
            block_rows(100_000_000)
        );
    }

    #[test]
    fn any_thread_count_gives_the_same_bits() {
        let v = values(1_200_000);
        let blocks = RowBlocks::new(v.len());
        assert!(v.len() > 4 * blocks.block, "several blocks");
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                par_row_reduce(v.len(), blocks, 2, |rows, acc| {
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
        let v = values(1_200_000);
        let blocks = RowBlocks::new(v.len());
        let b = blocks.block;
        let sum_of = |rows: Range<usize>| {
            let part = &v[rows];
            par_row_reduce(part.len(), blocks, 1, |r, acc| {
                r.for_each(|i| acc[0] += part[i]);
            })
        };
        let whole = sum_of(0..v.len()).local_value();
        for edges in [vec![0, b, v.len()], vec![0, b, 2 * b, 4 * b, v.len()]] {
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
    fn a_column_summed_block_by_block_adds_its_blocks_exactly() {
        let v = values(800_000);
        let blocks = RowBlocks::new(v.len());
        // A column with entries in blocks 0 and 2, none in block 1.
        let present = |i: &usize| i % 3 != 1 && !(270_000..530_000).contains(i);
        let (mut s, mut edges) = (BlockedSum::default(), BlockEdges::new(blocks));
        let mut per_block = [0.0; 4];
        for i in (0..v.len()).filter(present) {
            if edges.crosses(i) {
                s.end_block();
            }
            s.block += v[i];
            per_block[i / blocks.block] += v[i];
        }
        s.end_block();
        let mut exact = Binned::ZERO;
        per_block.iter().for_each(|&x| exact.add(x));
        assert_eq!(s.value().to_bits(), exact.value().to_bits());
        assert_eq!(s.exact(), exact);
    }
}
