//! `sigmax._sigmax`: the compiled half of the Python package. It converts NumPy / SciPy
//! inputs into sigmax's data types, trains with the GIL released (Ctrl-C still stops a
//! long fit, between iterations), and hands coefficients back as NumPy arrays. The
//! estimator classes live in pure Python (`python/sigmax`), the pattern that passes
//! scikit-learn's estimator checks (cloning, pickling and parameters stay plain Python).
//!
//! What is copied: features are stored as f32 by sigmax, so a dense array is read in place
//! when it is float32 in C order (aligned), and otherwise (float64, Fortran order) copied
//! once into a row-major f32 matrix, on the fit's threads. A CSR matrix is read in place
//! where its types fit sigmax's (float32 data, int32 indices, int64 row pointers) and
//! converted where they do not (`csr_from_parts` says which array when).
//!
//! Modules: `fit` (one settings dict → the library's checked settings → one fit, alone
//! or spread), `tcp` (the TCP collective's listener and link for Dask and Spark workers),
//! `heads` (the margin losses).

use numpy::ndarray::ArrayView2;
use numpy::{
    PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rayon::prelude::*;
use sigmax::data::{CsrMatrix, DenseMatrix, Features, Format, LoadOptions, RowPointers, Storage};
use sigmax::train::SolverChoice;
use std::path::PathBuf;
use std::sync::Arc;

mod fit;
mod heads;
mod tcp;

pub(crate) fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Rows per task of the dense conversion: ~1 MB of f32 output for 784 columns.
const CONVERT_ROWS: usize = 256;

/// A 2-D array of any layout as a row-major f32 matrix, converted on the fit's threads
/// (`pool`, else rayon's global pool): Fashion-MNIST's 12000 × 784 float64 took 20 ms on
/// one thread, 13% of a binary fit; the output's pages are first written (faulted in)
/// by the threads that fill them.
fn dense_from<T: Copy + Into<f64> + Sync>(
    a: ArrayView2<'_, T>,
    dtype: &str,
    pool: Option<&rayon::ThreadPool>,
) -> PyResult<Features> {
    let (rows, cols) = a.dim();
    let mut data = vec![0f32; rows * cols];
    let convert = || {
        data.par_chunks_mut((CONVERT_ROWS * cols).max(1))
            .enumerate()
            .filter_map(|(t, chunk)| {
                for (r, out) in chunk.chunks_mut(cols).enumerate() {
                    let row = a.row(t * CONVERT_ROWS + r);
                    match row.as_slice() {
                        Some(s) => out
                            .iter_mut()
                            .zip(s)
                            .for_each(|(o, &v)| *o = v.into() as f32),
                        None => out
                            .iter_mut()
                            .zip(row)
                            .for_each(|(o, &v)| *o = v.into() as f32),
                    }
                }
                let bad = chunk.iter().position(|v| !v.is_finite());
                bad.map(|i| t * CONVERT_ROWS * cols + i)
            })
            .min()
    };
    let first_bad = in_pool(pool, convert);
    if let Some(i) = first_bad {
        return Err(not_finite(a[(i / cols, i % cols)].into(), dtype));
    }
    Ok(Features::Dense(
        DenseMatrix::new(rows, cols, data).map_err(value_error)?,
    ))
}

/// A C-ordered, aligned float32 array read in place (no copy: sigmax's own row-major f32
/// layout), its values checked on the fit's threads; None for any other layout.
fn dense_in_place(
    a: &Bound<'_, PyArray2<f32>>,
    pool: Option<&rayon::ThreadPool>,
) -> PyResult<Option<DenseMatrix>> {
    let [rows, cols] = [a.shape()[0], a.shape()[1]];
    let Some(storage) = borrow_in_place::<f32, f32, _>(a) else {
        return Ok(None);
    };
    let bad = in_pool(pool, || first_non_finite(&storage));
    if let Some(i) = bad {
        return Err(not_finite(storage[i].into(), "float32"));
    }
    DenseMatrix::from_storage(rows, cols, storage)
        .map(Some)
        .map_err(value_error)
}

/// Runs `f` on `pool`'s threads (None: rayon's global pool).
fn in_pool<R: Send>(pool: Option<&rayon::ThreadPool>, f: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// The first entry of `values` that is not finite, looked for in parallel chunks (rayon's
/// `position_first` over the whole slice took ~50 ms on Fashion-MNIST's 9.4M entries,
/// this 2 ms).
fn first_non_finite(values: &[f32]) -> Option<usize> {
    const CHUNK: usize = 1 << 16;
    values
        .par_chunks(CHUNK)
        .enumerate()
        .filter_map(|(c, part)| {
            part.iter()
                .position(|v| !v.is_finite())
                .map(|i| c * CHUNK + i)
        })
        .min()
}

/// The error for a value of X (as given, of NumPy type `dtype`) that is not a finite f32:
/// scikit-learn's words for NaN and infinity (fit checks X here, in the conversion, not
/// again in Python), sigmax's for a finite value beyond f32's range.
fn not_finite(value: f64, dtype: &str) -> PyErr {
    if value.is_nan() {
        value_error("Input X contains NaN.")
    } else if value.is_infinite() {
        value_error(format!(
            "Input X contains infinity or a value too large for dtype('{dtype}')."
        ))
    } else {
        value_error(format!(
            "Input X holds {value:e}, beyond float32's range (|x| < 3.4e38); sigmax stores features as float32"
        ))
    }
}

/// An integer index array (int32 or int64) as `usize`s, refusing negative entries.
fn index_array(a: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<usize>> {
    let from = |v: i64| {
        usize::try_from(v)
            .map_err(|_| value_error(format!("CSR {what} holds a negative entry {v}")))
    };
    if let Ok(a) = a.extract::<PyReadonlyArray1<'_, i32>>() {
        a.as_array().iter().map(|&v| from(v as i64)).collect()
    } else {
        let a: PyReadonlyArray1<'_, i64> = a
            .extract()
            .map_err(|_| value_error(format!("CSR {what} must be an int32 or int64 array")))?;
        a.as_array().iter().map(|&v| from(v)).collect()
    }
}

/// An array of `T` (C order) read in place as `len` elements of `U` (same size and alignment):
/// None unless it is C-contiguous and aligned. The matrix then holds a reference to the
/// array, which keeps it alive after Python drops it; the estimators make it read-only
/// while a fit runs without the GIL (`_frozen` in `_linear.py`).
fn borrow_in_place<T: numpy::Element + 'static, U, D: numpy::ndarray::Dimension + 'static>(
    a: &Bound<'_, numpy::PyArray<T, D>>,
) -> Option<Storage<U>> {
    assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<U>());
    assert_eq!(std::mem::align_of::<T>(), std::mem::align_of::<U>());
    if !a.is_c_contiguous() {
        return None;
    }
    let len = a.len();
    // An empty array's data pointer may be anything; an owned empty Vec costs nothing.
    if len == 0 {
        return Some(Vec::new().into());
    }
    let ptr = a.data() as *const U;
    if !ptr.is_aligned() {
        return None;
    }
    let owner: Arc<dyn Send + Sync> = Arc::new(a.clone().unbind());
    // SAFETY: `len` initialized elements at an aligned `ptr`, kept alive by the array
    // reference in `owner`; T and U have one size and alignment, and every bit pattern is
    // a valid U (f32, u32, usize), the matrix checks the values before use.
    Some(unsafe { Storage::borrowed(ptr, len, owner) })
}

/// An index array read in place, unless an entry is negative as the signed type it was
/// (`signed` reads it so), which is refused by name.
fn refuse_negative<U: Copy>(
    s: Storage<U>,
    what: &str,
    signed: impl Fn(U) -> i64,
) -> PyResult<Storage<U>> {
    match s.iter().map(|&v| signed(v)).find(|&v| v < 0) {
        Some(v) => Err(value_error(format!(
            "CSR {what} holds a negative entry {v}"
        ))),
        None => Ok(s),
    }
}

/// The CSR matrix of SciPy's arrays (data, indices, indptr), with sorted indices and no
/// duplicates. Read in place where the types fit: float32 `data`, int32 `indices` (as u32,
/// for fewer than 2^31 columns) and int32 or int64 `indptr` (as u32, or as usize on 64-bit
/// machines); a negative entry, which reads as one ≥ 2^31 (2^63), is refused by name.
/// Otherwise converted: float64 data to f32, int64 indices to u32.
fn csr_from_parts(
    data: &Bound<'_, PyAny>,
    indices: &Bound<'_, PyAny>,
    indptr: &Bound<'_, PyAny>,
    n_cols: usize,
    pool: Option<&rayon::ThreadPool>,
) -> PyResult<CsrMatrix> {
    let values: Storage<f32> = match data.cast::<PyArray1<f32>>() {
        Ok(a) => {
            let values = match borrow_in_place(a) {
                Some(s) => s,
                None => a.readonly().as_array().to_vec().into(),
            };
            if let Some(i) = in_pool(pool, || first_non_finite(&values)) {
                return Err(not_finite(values[i].into(), "float32"));
            }
            values
        }
        Err(_) => {
            let a: PyReadonlyArray1<'_, f64> = data
                .extract()
                .map_err(|_| value_error("CSR data must be a float32 or float64 array"))?;
            let a = a.as_array();
            let values: Vec<f32> = a.iter().map(|&v| v as f32).collect();
            if let Some(i) = in_pool(pool, || first_non_finite(&values)) {
                return Err(not_finite(a[i], "float64"));
            }
            values.into()
        }
    };
    let in_place_indices = match indices.cast::<PyArray1<i32>>() {
        Ok(a) if n_cols <= i32::MAX as usize => borrow_in_place::<i32, u32, _>(a),
        _ => None,
    };
    let idx: Storage<u32> = match in_place_indices {
        Some(s) => refuse_negative(s, "indices", |j| j as i32 as i64)?,
        None => index_array(indices, "indices")?
            .into_iter()
            .map(|j| {
                u32::try_from(j).map_err(|_| value_error(format!("CSR index {j} exceeds 2^32")))
            })
            .collect::<PyResult<Vec<_>>>()?
            .into(),
    };
    let narrow_indptr = match indptr.cast::<PyArray1<i32>>() {
        Ok(a) => borrow_in_place::<i32, u32, _>(a),
        Err(_) => None,
    };
    #[cfg(target_pointer_width = "64")]
    let wide_indptr = match indptr.cast::<PyArray1<i64>>() {
        Ok(a) => borrow_in_place::<i64, usize, _>(a),
        Err(_) => None,
    };
    #[cfg(not(target_pointer_width = "64"))]
    let wide_indptr: Option<Storage<usize>> = None;
    let ptr: RowPointers = match (narrow_indptr, wide_indptr) {
        (Some(s), _) => refuse_negative(s, "indptr", |p| p as i32 as i64)?.into(),
        (None, Some(s)) => refuse_negative(s, "indptr", |p| p as i64)?.into(),
        (None, None) => index_array(indptr, "indptr")?.into(),
    };
    CsrMatrix::try_from_storage(n_cols, ptr, idx, values).map_err(value_error)
}

/// Features from a 2-D NumPy array, or from a tuple (data, indices, indptr, n_cols) of a
/// CSR matrix with sorted indices and no duplicates. Values are converted and checked on
/// `pool`'s threads (None: rayon's global pool).
pub(crate) fn features(
    x: &Bound<'_, PyAny>,
    pool: Option<&rayon::ThreadPool>,
) -> PyResult<Features> {
    if x.is_instance_of::<PyTuple>() {
        let (data, indices, indptr, n_cols): (
            Bound<'_, PyAny>,
            Bound<'_, PyAny>,
            Bound<'_, PyAny>,
            usize,
        ) = x.extract()?;
        return Ok(Features::Sparse(csr_from_parts(
            &data, &indices, &indptr, n_cols, pool,
        )?));
    }
    if let Ok(a) = x.extract::<PyReadonlyArray2<'_, f64>>() {
        return dense_from(a.as_array(), "float64", pool);
    }
    if let Ok(a) = x.cast::<PyArray2<f32>>() {
        if let Some(m) = dense_in_place(a, pool)? {
            return Ok(Features::Dense(m));
        }
    }
    match x.extract::<PyReadonlyArray2<'_, f32>>() {
        Ok(a) => dense_from(a.as_array(), "float32", pool),
        Err(_) => Err(value_error(
            "X must be a 2-D float32 or float64 array or CSR parts",
        )),
    }
}

/// Reads a LIBSVM / svmlight file with sigmax's parser. Returns (data f32, indices,
/// indptr, n_cols, class names, class id per row); the indices and indptr are int32
/// when they fit, else int64.
#[pyfunction]
#[pyo3(signature = (path, zero_based, n_features))]
fn load_svmlight<'py>(
    py: Python<'py>,
    path: PathBuf,
    zero_based: bool,
    n_features: Option<usize>,
) -> PyResult<Bound<'py, PyTuple>> {
    let opts = LoadOptions {
        format: Some(Format::Libsvm),
        zero_based,
        dense_above: f64::INFINITY,
        // n_features given: the caller expects a feature space wider than the data.
        wide_indices: n_features.is_some(),
        ..LoadOptions::default()
    };
    let d = py
        .detach(|| sigmax::data::load(&path, &opts))
        .map_err(value_error)?;
    svmlight_parts(py, d, &path, n_features)
}

/// [`load_svmlight`] of bytes already read (a file object's), `name` naming them in errors.
#[pyfunction]
#[pyo3(signature = (data, name, zero_based, n_features))]
fn load_svmlight_bytes<'py>(
    py: Python<'py>,
    data: &[u8],
    name: PathBuf,
    zero_based: bool,
    n_features: Option<usize>,
) -> PyResult<Bound<'py, PyTuple>> {
    let max = LoadOptions::default()
        .max_features
        .max(n_features.unwrap_or(0));
    let d = py
        .detach(|| sigmax::data::parse_libsvm(data, &name, zero_based, max))
        .map_err(value_error)?;
    svmlight_parts(py, d, &name, n_features)
}

/// The arrays `load_svmlight` returns, for data read from `path`.
fn svmlight_parts<'py>(
    py: Python<'py>,
    d: sigmax::data::Dataset,
    path: &std::path::Path,
    n_features: Option<usize>,
) -> PyResult<Bound<'py, PyTuple>> {
    let Features::Sparse(m) = &d.x else {
        return Err(value_error("the LIBSVM reader returned dense data"));
    };
    let (indptr, indices, values) = m.parts();
    let cols = match n_features {
        Some(n) if n < d.n_features() => {
            return Err(value_error(format!(
                "{}: n_features={n}, but the file uses feature indices up to {}",
                path.display(),
                d.n_features()
            )))
        }
        Some(n) => n,
        None => d.n_features(),
    };
    let wide = cols > i32::MAX as usize || values.len() > i32::MAX as usize;
    let data = PyArray1::from_slice(py, values);
    let (idx, ptr): (Bound<'py, PyAny>, Bound<'py, PyAny>) = if wide {
        (
            PyArray1::from_iter(py, indices.iter().map(|&j| j as i64)).into_any(),
            PyArray1::from_iter(py, indptr.iter().map(|p| p as i64)).into_any(),
        )
    } else {
        (
            PyArray1::from_iter(py, indices.iter().map(|&j| j as i32)).into_any(),
            PyArray1::from_iter(py, indptr.iter().map(|p| p as i32)).into_any(),
        )
    };
    let ids = PyArray1::from_slice(py, &d.y);
    (data, idx, ptr, cols, d.classes.clone(), ids).into_pyobject(py)
}

/// For tests of what is copied: whether the dense matrix `fit_linear` builds from a 2-D
/// array reads it in place, and the address of the entries it reads.
#[pyfunction]
fn dense_storage(x: &Bound<'_, PyAny>) -> PyResult<(bool, usize)> {
    let Features::Dense(m) = features(x, None)? else {
        return Err(value_error("dense_storage takes a 2-D array"));
    };
    Ok((m.is_borrowed(), m.data().as_ptr() as usize))
}

/// For tests of what is copied: the matrix that `fit_linear` builds from CSR parts, as
/// ((in place?, address) of data, of indices, of indptr), the addresses sigmax reads.
#[pyfunction]
fn csr_storage(x: &Bound<'_, PyAny>) -> PyResult<[(bool, usize); 3]> {
    let Features::Sparse(m) = features(x, None)? else {
        return Err(value_error("csr_storage takes CSR parts"));
    };
    let (indptr, indices, values) = m.parts();
    let (p, i, v) = m.borrowed_parts();
    Ok([
        (v, values.as_ptr() as usize),
        (i, indices.as_ptr() as usize),
        (p, indptr.address()),
    ])
}

#[pymodule]
fn _sigmax(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fit::fit_linear, m)?)?;
    m.add_function(wrap_pyfunction!(fit::class_weighted, m)?)?;
    m.add_class::<tcp::TcpListener>()?;
    m.add_class::<tcp::TcpLink>()?;
    m.add_function(wrap_pyfunction!(csr_storage, m)?)?;
    m.add_function(wrap_pyfunction!(dense_storage, m)?)?;
    m.add_function(wrap_pyfunction!(load_svmlight, m)?)?;
    m.add_function(wrap_pyfunction!(load_svmlight_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(heads::margin_loss, m)?)?;
    m.add_function(wrap_pyfunction!(heads::head_kind, m)?)?;
    m.add_function(wrap_pyfunction!(heads::annealing_lambda, m)?)?;
    m.add("DEFAULT_SCALE", heads::DEFAULT_SCALE)?;
    // The solver names are the core's (one vocabulary); the Python layer adds only
    // scikit-learn's spellings of them.
    m.add("SOLVERS", SolverChoice::names())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
