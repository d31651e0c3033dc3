//! Feature matrices: dense row-major and compressed sparse rows (CSR).
//!
//! Values are stored as `f32` (half the memory of `f64`, and the data path is
//! bandwidth-bound); every product accumulates in `f64`. Feature indices are 0-based
//! `u32`, so a CSR entry costs 8 bytes (LIBLINEAR's `feature_node` costs 16).

use super::columns::Columns;
use super::dense_kernels::{dense_axpy, dense_axpy_group, dense_dot, dense_dot_group};
use super::storage::{RowPointers, Storage};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::OnceLock;

/// Dense row-major matrix: its own array, or one lent by a caller and read in place (a
/// float32 NumPy array under a Python fit).
#[derive(Debug, Clone, PartialEq)]
pub struct DenseMatrix {
    rows: usize,
    cols: usize,
    data: Storage<f32>,
}

impl DenseMatrix {
    /// `data` is row-major with `rows * cols` entries.
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> crate::Result<Self> {
        Self::from_storage(rows, cols, data.into())
    }

    /// [`DenseMatrix::new`] over an array that may be borrowed ([`Storage::borrowed`]).
    pub fn from_storage(rows: usize, cols: usize, data: Storage<f32>) -> crate::Result<Self> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(crate::Error::Shape {
                what: "dense matrix entries (rows × cols)",
                expected: rows.saturating_mul(cols),
                got: data.len(),
            });
        }
        Ok(DenseMatrix { rows, cols, data })
    }

    /// For the readers, whose lengths hold by construction.
    pub(crate) fn from_parts(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        debug_assert_eq!(data.len(), rows * cols);
        DenseMatrix {
            rows,
            cols,
            data: data.into(),
        }
    }

    /// Whether the entries are read in place from a caller's memory.
    pub fn is_borrowed(&self) -> bool {
        self.data.is_borrowed()
    }

    /// A copy that owns its entries (of a borrowed matrix too).
    pub(crate) fn owned_copy(&self) -> DenseMatrix {
        DenseMatrix::from_parts(self.rows, self.cols, self.data.to_vec())
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
    pub fn data(&self) -> &[f32] {
        &self.data
    }
    /// The entries, writable: only an owned matrix's (a loan is read-only).
    pub(crate) fn data_mut(&mut self) -> Option<&mut [f32]> {
        self.data.owned_mut()
    }
}

/// Compressed sparse rows: row `i` holds `indices[indptr[i]..indptr[i+1]]` (strictly
/// increasing) and the matching `values`.
#[derive(Debug, Clone)]
pub struct CsrMatrix {
    cols: usize,
    // Owned, or borrowed from a caller's arrays (a SciPy matrix read in place: `Storage`).
    indptr: RowPointers,
    indices: Storage<u32>,
    values: Storage<f32>,
    /// The column-major copy, built on first use by [`CsrMatrix::columns`].
    columns: OnceLock<Option<Columns>>,
}

/// Two matrices are equal when their entries are (whether either built its column copy
/// does not matter).
impl PartialEq for CsrMatrix {
    fn eq(&self, other: &Self) -> bool {
        (self.cols, &self.indptr, &self.indices, &self.values)
            == (other.cols, &other.indptr, &other.indices, &other.values)
    }
}

impl CsrMatrix {
    /// Checks the CSR invariants (monotone `indptr`, increasing indices below `cols`);
    /// panics when they fail (for arrays built by sigmax itself).
    pub fn new(cols: usize, indptr: Vec<usize>, indices: Vec<u32>, values: Vec<f32>) -> Self {
        Self::try_new(cols, indptr, indices, values).unwrap_or_else(|e| panic!("CsrMatrix: {e}"))
    }

    /// As [`CsrMatrix::new`], with the broken invariant as an error (for arrays read from a file).
    pub fn try_new(
        cols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: Vec<f32>,
    ) -> Result<Self, &'static str> {
        Self::try_from_storage(cols, indptr.into(), indices.into(), values.into())
    }

    /// As [`CsrMatrix::try_new`], over arrays that may be borrowed ([`Storage::borrowed`]):
    /// the invariants are checked in place, nothing is copied.
    pub fn try_from_storage(
        cols: usize,
        indptr: RowPointers,
        indices: Storage<u32>,
        values: Storage<f32>,
    ) -> Result<Self, &'static str> {
        if indptr.is_empty() || indptr.get(0) != 0 {
            return Err("indptr must start at 0");
        }
        if indptr.get(indptr.len() - 1) != indices.len() {
            return Err("indptr end != nnz");
        }
        if indices.len() != values.len() {
            return Err("indices/values length");
        }
        for i in 0..indptr.len() - 1 {
            let (start, end) = (indptr.get(i), indptr.get(i + 1));
            if start > end || end > indices.len() {
                return Err("indptr not monotone");
            }
            let idx = &indices[start..end];
            if !idx.windows(2).all(|p| p[0] < p[1]) {
                return Err("row indices not increasing");
            }
            if idx.last().is_some_and(|&j| (j as usize) >= cols) {
                return Err("index >= cols");
            }
        }
        Ok(CsrMatrix {
            cols,
            indptr,
            indices,
            values,
            columns: OnceLock::new(),
        })
    }

    pub fn n_cols(&self) -> usize {
        self.cols
    }

    /// The column-major copy of this matrix, built once (O(nnz) time, 8 bytes per
    /// nonzero) and kept while the matrix lives; `None` when it does not fit in memory
    /// or has more rows or nonzeros than 32 bits number (the passes then go over rows).
    pub fn columns(&self) -> Option<&Columns> {
        self.columns
            .get_or_init(|| {
                crate::limits::check_elements("the column copy", self.nnz() as u64, 8).ok()?;
                Columns::of(self)
            })
            .as_ref()
    }

    /// Whether the matrix reads its caller's arrays in place: (row pointers, indices, values).
    pub fn borrowed_parts(&self) -> (bool, bool, bool) {
        (
            self.indptr.is_borrowed(),
            self.indices.is_borrowed(),
            self.values.is_borrowed(),
        )
    }

    /// The row pointers with the indices and values writable (owned arrays only), for
    /// changes that keep every row's entries; the column copy is dropped.
    pub(crate) fn parts_mut(&mut self) -> Option<(&RowPointers, &mut [u32], &mut [f32])> {
        self.columns = OnceLock::new();
        let indices = self.indices.owned_mut()?;
        let values = self.values.owned_mut()?;
        Some((&self.indptr, indices, values))
    }

    /// The raw arrays: row pointers, column indices, values.
    pub fn parts(&self) -> (&RowPointers, &[u32], &[f32]) {
        (&self.indptr, &self.indices, &self.values)
    }
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let r = self.indptr.span(i);
        (&self.indices[r.clone()], &self.values[r])
    }
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
}

/// One row of a feature matrix.
#[derive(Debug, Clone, Copy)]
pub enum Row<'a> {
    Dense(&'a [f32]),
    Sparse(&'a [u32], &'a [f32]),
}

impl Row<'_> {
    /// x·w over the first `min(len(w), cols)` features; features beyond `w` count as 0.
    ///
    /// Always inlined: left to the inliner, some builds called it once per row from the
    /// passes, which cost the Hessian-vector product on text_bin 25% (2.2 → 2.9 ms,
    /// 2026-12-06), moved by unrelated changes elsewhere in the crate.
    #[inline(always)]
    pub fn dot(&self, w: &[f64]) -> f64 {
        match *self {
            Row::Dense(x) => {
                let n = x.len().min(w.len());
                dense_dot(&x[..n], &w[..n])
            }
            Row::Sparse(idx, val) => {
                // Indices increase, so the last one bounds them all: when it is inside
                // `w` (always, in training) the loop can skip per-entry bounds checks.
                if idx.last().is_some_and(|&j| (j as usize) < w.len()) {
                    let (mut s0, mut s1) = (0.0, 0.0);
                    let pairs = idx.len() / 2;
                    for k in 0..pairs {
                        // SAFETY: every index ≤ the last < w.len(); k < idx.len() = val.len().
                        unsafe {
                            s0 += *val.get_unchecked(2 * k) as f64
                                * w.get_unchecked(*idx.get_unchecked(2 * k) as usize);
                            s1 += *val.get_unchecked(2 * k + 1) as f64
                                * w.get_unchecked(*idx.get_unchecked(2 * k + 1) as usize);
                        }
                    }
                    if idx.len() % 2 == 1 {
                        let k = idx.len() - 1;
                        s0 += val[k] as f64 * w[idx[k] as usize];
                    }
                    return s0 + s1;
                }
                let mut s = 0.0;
                for (&j, &v) in idx.iter().zip(val) {
                    if let Some(wj) = w.get(j as usize) {
                        s += v as f64 * wj;
                    }
                }
                s
            }
        }
    }
    /// out += alpha * x (features beyond `out` are dropped).
    #[inline]
    pub fn axpy(&self, alpha: f64, out: &mut [f64]) {
        match *self {
            Row::Dense(x) => dense_axpy(alpha, x, out),
            Row::Sparse(idx, val) => {
                if idx.last().is_some_and(|&j| (j as usize) < out.len()) {
                    for (&j, &v) in idx.iter().zip(val) {
                        // SAFETY: every index ≤ the last < out.len().
                        unsafe { *out.get_unchecked_mut(j as usize) += alpha * v as f64 };
                    }
                    return;
                }
                for (&j, &v) in idx.iter().zip(val) {
                    if let Some(o) = out.get_mut(j as usize) {
                        *o += alpha * v as f64;
                    }
                }
            }
        }
    }
    /// Calls `f(j, x_j)` for each stored entry.
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(usize, f64)) {
        match *self {
            Row::Dense(x) => x.iter().enumerate().for_each(|(j, &v)| f(j, v as f64)),
            Row::Sparse(idx, val) => idx
                .iter()
                .zip(val)
                .for_each(|(&j, &v)| f(j as usize, v as f64)),
        }
    }
    pub fn sq_norm(&self) -> f64 {
        let mut s = 0.0;
        self.for_each(|_, v| s += v * v);
        s
    }
}

/// A feature matrix, dense or sparse; every objective works on either.
#[derive(Debug, Clone, PartialEq)]
pub enum Features {
    Dense(DenseMatrix),
    Sparse(CsrMatrix),
}

impl Features {
    /// The same rows with `cols` ≥ `n_cols()` columns (the new ones zero).
    pub fn widened(self, cols: usize) -> Features {
        assert!(cols >= self.n_cols(), "widened to fewer columns");
        match self {
            Features::Sparse(mut m) => {
                m.cols = cols;
                m.columns = OnceLock::new();
                Features::Sparse(m)
            }
            Features::Dense(m) if m.cols == cols => Features::Dense(m),
            Features::Dense(m) => {
                let mut data = vec![0f32; m.rows * cols];
                for i in 0..m.rows {
                    data[i * cols..i * cols + m.cols].copy_from_slice(m.row(i));
                }
                Features::Dense(DenseMatrix::from_parts(m.rows, cols, data))
            }
        }
    }

    pub fn n_rows(&self) -> usize {
        match self {
            Features::Dense(m) => m.rows,
            Features::Sparse(m) => m.indptr.len() - 1,
        }
    }
    pub fn n_cols(&self) -> usize {
        match self {
            Features::Dense(m) => m.cols,
            Features::Sparse(m) => m.cols,
        }
    }
    /// Number of stored values.
    pub fn nnz(&self) -> usize {
        match self {
            Features::Dense(m) => m.data.len(),
            Features::Sparse(m) => m.nnz(),
        }
    }
    pub fn is_sparse(&self) -> bool {
        matches!(self, Features::Sparse(_))
    }
    /// Hints the CPU to load row `i`: its entries (the first 16 of a sparse row, whose
    /// pointers should be in cache: [`Features::prefetch_pointers`] some rows before).
    #[inline(always)]
    pub fn prefetch_row(&self, i: usize) {
        match self {
            Features::Dense(m) => super::storage::prefetch(&m.data, i * m.cols),
            Features::Sparse(m) => {
                let start = m.indptr.span(i).start;
                super::storage::prefetch(&m.indices, start);
                super::storage::prefetch(&m.values, start);
                super::storage::prefetch(&m.indices, start + 16);
                super::storage::prefetch(&m.values, start + 16);
            }
        }
    }

    /// Hints the CPU to load `w` at sparse row `i`'s columns (nothing for dense rows,
    /// whose reads of `w` are sequential, or a row past the last): its entries should
    /// be in cache ([`Features::prefetch_row`] some rows before).
    #[inline(always)]
    pub fn prefetch_gather(&self, i: usize, w: &[f64]) {
        if let Features::Sparse(m) = self {
            if i + 1 >= m.indptr.len() {
                return;
            }
            for &j in m.row(i).0 {
                super::storage::prefetch(w, j as usize);
            }
        }
    }

    /// Hints the CPU to load the pointers of sparse row `i` (nothing for dense rows).
    #[inline(always)]
    pub fn prefetch_pointers(&self, i: usize) {
        if let Features::Sparse(m) = self {
            m.indptr.prefetch(i);
        }
    }

    #[inline]
    pub fn row(&self, i: usize) -> Row<'_> {
        match self {
            Features::Dense(m) => Row::Dense(m.row(i)),
            Features::Sparse(m) => {
                let (idx, val) = m.row(i);
                Row::Sparse(idx, val)
            }
        }
    }

    /// A new matrix holding the given rows, in that order (for splits and folds).
    pub fn select_rows(&self, rows: &[usize]) -> Features {
        match self {
            Features::Dense(m) => {
                let mut data = Vec::with_capacity(rows.len() * m.cols);
                for &i in rows {
                    data.extend_from_slice(m.row(i));
                }
                Features::Dense(DenseMatrix::from_parts(rows.len(), m.cols, data))
            }
            Features::Sparse(m) => {
                let mut indptr = Vec::with_capacity(rows.len() + 1);
                indptr.push(0);
                let (mut indices, mut values) = (Vec::new(), Vec::new());
                for &i in rows {
                    let (idx, val) = m.row(i);
                    indices.extend_from_slice(idx);
                    values.extend_from_slice(val);
                    indptr.push(indices.len());
                }
                Features::Sparse(CsrMatrix {
                    cols: m.cols,
                    indptr: indptr.into(),
                    indices: indices.into(),
                    values: values.into(),
                    columns: OnceLock::new(),
                })
            }
        }
    }

    /// The rows of `parts`, one part after the other, with `cols` columns (≥ every
    /// part's): dense if every part is, else CSR.
    pub fn concat_rows(parts: Vec<Features>, cols: usize) -> Features {
        if parts.iter().all(|p| !p.is_sparse()) {
            let rows = parts.iter().map(Features::n_rows).sum();
            let mut data = Vec::with_capacity(rows * cols);
            for p in &parts {
                let Features::Dense(m) = p else {
                    unreachable!()
                };
                for i in 0..m.rows {
                    data.extend_from_slice(m.row(i));
                    data.resize(data.len() + cols - m.cols, 0.0);
                }
            }
            return Features::Dense(DenseMatrix::from_parts(rows, cols, data));
        }
        let (mut indptr, mut indices, mut values) = (vec![0], Vec::new(), Vec::new());
        for p in parts {
            let m = match p {
                Features::Sparse(m) => m,
                dense => dense.to_sparse(),
            };
            let (ptr, idx, val) = m.parts();
            let base = *indptr.last().unwrap();
            indptr.extend(ptr.iter().skip(1).map(|e| base + e));
            indices.extend_from_slice(idx);
            values.extend_from_slice(val);
        }
        Features::Sparse(CsrMatrix::new(cols, indptr, indices, values))
    }

    /// The same rows as CSR (dropping zeros), for the dense = sparse tests.
    pub fn to_sparse(&self) -> CsrMatrix {
        let mut indptr = vec![0];
        let (mut indices, mut values) = (Vec::new(), Vec::new());
        for i in 0..self.n_rows() {
            self.row(i).for_each(|j, v| {
                if v != 0.0 {
                    indices.push(j as u32);
                    values.push(v as f32);
                }
            });
            indptr.push(indices.len());
        }
        CsrMatrix::new(self.n_cols(), indptr, indices, values)
    }

    /// The same rows as a dense matrix.
    pub fn to_dense(&self) -> DenseMatrix {
        let (n, d) = (self.n_rows(), self.n_cols());
        let mut data = vec![0f32; n * d];
        for i in 0..n {
            self.row(i).for_each(|j, v| data[i * d + j] = v as f32);
        }
        DenseMatrix::from_parts(n, d, data)
    }

    /// out\[i\] = x_i·w for every row, in parallel.
    /// For each row i in `rows`: z_i = x_i·w, c_i = f(i, z_i), then acc += c_i·x_i (`w` and
    /// `acc` have one entry per column). Dense rows go four at a time through the group
    /// kernels (the weights loaded once per group, four sums in flight), bit-identical to
    /// one row at a time; sparse rows go one at a time.
    pub fn dot_then_axpy(
        &self,
        rows: Range<usize>,
        w: &[f64],
        acc: &mut [f64],
        mut f: impl FnMut(usize, f64) -> f64,
    ) {
        const GROUP: usize = 4;
        let mut i = rows.start;
        if let Features::Dense(m) = self {
            while i + GROUP <= rows.end {
                let xs: [&[f32]; GROUP] = std::array::from_fn(|r| m.row(i + r));
                let z = dense_dot_group(xs, w);
                let c: [f64; GROUP] = std::array::from_fn(|r| f(i + r, z[r]));
                dense_axpy_group(c, xs, acc);
                i += GROUP;
            }
        }
        for i in i..rows.end {
            let row = self.row(i);
            let c = f(i, row.dot(w));
            if c != 0.0 {
                row.axpy(c, acc);
            }
        }
    }

    pub fn matvec(&self, w: &[f64], out: &mut [f64]) {
        out.par_iter_mut()
            .with_min_len(1024)
            .enumerate()
            .for_each(|(i, o)| *o = self.row(i).dot(w));
    }

    /// out = Σ_i v\[i\]·x_i (that is Xᵀv), summed in `blocks`
    /// ([`crate::sum`]).
    pub fn tmatvec(&self, v: &[f64], blocks: crate::sum::RowBlocks, out: &mut [f64]) {
        let acc = crate::sum::par_row_reduce(self.n_rows(), blocks, out.len(), |rows, acc| {
            for i in rows {
                if v[i] != 0.0 {
                    self.row(i).axpy(v[i], acc);
                }
            }
        });
        out.copy_from_slice(&acc.local_values());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sum::ColumnOut;

    fn small() -> Features {
        Features::Dense(DenseMatrix::new(3, 2, vec![1.0, 0.0, 0.0, 2.0, 3.0, -1.0]).unwrap())
    }

    #[test]
    fn dense_and_sparse_products_agree() {
        let d = small();
        let s = Features::Sparse(d.to_sparse());
        assert_eq!(s.nnz(), 4);
        let w = [0.5, -2.0];
        let (mut a, mut b) = (vec![0.0; 3], vec![0.0; 3]);
        d.matvec(&w, &mut a);
        s.matvec(&w, &mut b);
        assert_eq!(a, vec![0.5, -4.0, 3.5]);
        assert_eq!(a, b);
        let v = [1.0, 1.0, 2.0];
        let (mut g, mut h) = (vec![0.0; 2], vec![0.0; 2]);
        let blocks = crate::sum::RowBlocks {
            block: 2,
            n_rows: 3,
        };
        d.tmatvec(&v, blocks, &mut g);
        s.tmatvec(&v, blocks, &mut h);
        assert_eq!(g, vec![7.0, 0.0]);
        assert_eq!(g, h);
        assert_eq!(Features::Dense(s.to_dense()), d);
    }

    #[test]
    fn dot_then_axpy_groups_equal_row_by_row() {
        // 7 rows of 11: one group of four, then three rows one at a time.
        let data: Vec<f32> = (0..77)
            .map(|k| ((k * 13 % 19) as f32 - 9.0) / 4.0)
            .collect();
        let x = Features::Dense(DenseMatrix::new(7, 11, data).unwrap());
        let w: Vec<f64> = (0..11).map(|j| (j as f64 - 5.0) / 3.0).collect();
        let coef = |i: usize, z: f64| (z * 0.1).tanh() + i as f64;
        let mut grouped = vec![0.5; 11];
        let mut seen = Vec::new();
        x.dot_then_axpy(0..7, &w, &mut grouped, |i, z| {
            seen.push(i);
            coef(i, z)
        });
        assert_eq!(seen, (0..7).collect::<Vec<_>>(), "rows in order");
        let mut single = vec![0.5; 11];
        for i in 0..7 {
            let row = x.row(i);
            row.axpy(coef(i, row.dot(&w)), &mut single);
        }
        assert!(grouped
            .iter()
            .zip(&single)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn select_rows_keeps_order() {
        let d = small();
        let s = Features::Sparse(d.to_sparse());
        let sel = s.select_rows(&[2, 0]);
        assert_eq!(sel.n_rows(), 2);
        assert_eq!(sel.row(0).dot(&[1.0, 1.0]), 2.0);
        assert_eq!(d.select_rows(&[2, 0]).to_sparse(), sel.to_sparse());
    }

    #[test]
    fn row_pointers_of_32_bits_give_the_same_matrix() {
        let wide = small().to_sparse();
        let (ptr, idx, val) = wide.parts();
        let narrow_ptr: Vec<u32> = ptr.iter().map(|p| p as u32).collect();
        let narrow = CsrMatrix::try_from_storage(
            wide.n_cols(),
            Storage::from(narrow_ptr).into(),
            idx.to_vec().into(),
            val.to_vec().into(),
        )
        .unwrap();
        assert_eq!(narrow, wide);
        for i in 0..3 {
            assert_eq!(narrow.row(i), wide.row(i));
        }
        let (a, b) = (narrow.columns().unwrap(), wide.columns().unwrap());
        let (mut over_a, mut over_b) = (vec![0.0; 2], vec![0.0; 2]);
        let blocks = crate::sum::RowBlocks {
            block: 4,
            n_rows: 3,
        };
        a.tmatvec_by(
            &[1.0, -2.0, 0.5],
            blocks,
            ColumnOut::Values(&mut over_a),
            f64::from,
        );
        b.tmatvec_by(
            &[1.0, -2.0, 0.5],
            blocks,
            ColumnOut::Values(&mut over_b),
            f64::from,
        );
        assert_eq!(over_a, over_b);
        // The invariants are checked on 32-bit pointers too.
        let bad = CsrMatrix::try_from_storage(
            2,
            Storage::from(vec![0u32, 2, 1, 4]).into(),
            vec![0u32, 1, 0, 1].into(),
            vec![1.0f32; 4].into(),
        );
        assert_eq!(bad.unwrap_err(), "indptr not monotone");
    }
}
