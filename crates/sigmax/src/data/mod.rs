//! Data in: LIBSVM/svmlight text, CSV and IDX files, into a [`Dataset`] of features and
//! class ids. Any label values are accepted; they are mapped to classes `0..K` in sorted
//! order (numerically when every label is a number) and mapped back on output.

mod cache;
mod column_order;
mod columns;
mod csv_format;
mod dense_kernels;
mod idx;
mod libsvm;
mod matrix;
mod storage;

pub use cache::{
    cache_path, decode_cache, encode_dataset, load_cached, load_share_cached, share_cache_path,
    CacheUse,
};
pub use column_order::ColumnOrder;
pub use columns::{columns_pay, ColumnPasses, Columns, GATHER_MIN_LEN};
pub use csv_format::{
    detect_delimiter, first_row, read_csv, read_csv_bytes, read_matrix_csv, CsvOptions,
    LabelColumn, UNLABELLED,
};
pub(crate) use dense_kernels::{dense_axpy_group, dense_dot_group};
pub use idx::{parse_idx, read_idx, read_idx_readers};
pub use libsvm::{parse_libsvm, read_libsvm, read_libsvm_reader, read_libsvm_share};
pub use matrix::{CsrMatrix, DenseMatrix, Features, Row};
pub(crate) use storage::prefetch;
pub use storage::{RowPointers, Storage};

pub(crate) use crate::input::{line_too_long, Contents};

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Features with one class id per row, plus the names of the classes and, optionally,
/// one sample weight per row.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub x: Features,
    /// Class id of each row, an index into `classes`.
    pub y: Vec<u32>,
    /// Class names, sorted (numerically if all are numbers).
    pub classes: Vec<String>,
    /// Sample weight of each row (`None`: every row weighs 1). Set with
    /// [`Dataset::with_weights`], which checks them.
    pub weights: Option<Vec<f64>>,
    /// The features' names, one per column, where the file had them (a CSV header);
    /// trained models keep them, so data with the columns in another order is matched
    /// by name ([`Dataset::with_features_named`]).
    pub feature_names: Option<Vec<String>>,
}

impl Dataset {
    /// The same rows laid out on `classes` (which must contain every class here) and
    /// `n_features` ≥ this set's columns: for a share of rows that must agree with the
    /// other shares on class ids and parameter layout (distributed training).
    pub fn with_global_shape(self, classes: &[String], n_features: usize) -> Result<Dataset> {
        let remap: Vec<u32> = self
            .classes
            .iter()
            .map(|c| {
                classes
                    .iter()
                    .position(|g| g == c)
                    .map(|k| k as u32)
                    .ok_or_else(|| Error::UnknownLabel {
                        label: c.clone(),
                        row: 0,
                        classes: classes.to_vec(),
                    })
            })
            .collect::<Result<_>>()?;
        if n_features < self.n_features() {
            return Err(Error::Shape {
                what: "features of the global layout (at least this share's)",
                expected: self.n_features(),
                got: n_features,
            });
        }
        Ok(Dataset {
            x: self.x.widened(n_features),
            y: self.y.iter().map(|&k| remap[k as usize]).collect(),
            classes: classes.to_vec(),
            weights: self.weights,
            feature_names: self.feature_names,
        })
    }

    /// The classes of several shares as one sorted list (sorted as [`LabelEncoder`] sorts).
    pub fn union_of_classes<S: AsRef<str>>(names: &[S]) -> Vec<String> {
        let mut enc = LabelEncoder::default();
        for n in names {
            enc.intern(n.as_ref());
        }
        enc.finish_classes().0
    }

    /// Features and one raw label per row (any spelling: numbers are canonicalized, so
    /// "+1" and "1" are one class), classes sorted as [`LabelEncoder`] does.
    pub fn new<S: AsRef<str>>(x: Features, labels: &[S]) -> Result<Dataset> {
        if labels.len() != x.n_rows() {
            return Err(Error::Shape {
                what: "labels (one per row)",
                expected: x.n_rows(),
                got: labels.len(),
            });
        }
        let mut enc = LabelEncoder::default();
        labels.iter().for_each(|l| enc.push(l.as_ref()));
        let (classes, y) = enc.finish();
        Ok(Dataset {
            x,
            y,
            classes,
            weights: None,
            feature_names: None,
        })
    }

    /// Features with class ids already in `0..classes.len()`.
    pub fn from_class_ids(x: Features, y: Vec<u32>, classes: Vec<String>) -> Result<Dataset> {
        if y.len() != x.n_rows() {
            return Err(Error::Shape {
                what: "class ids (one per row)",
                expected: x.n_rows(),
                got: y.len(),
            });
        }
        if let Some(&c) = y.iter().find(|&&c| c as usize >= classes.len()) {
            return Err(Error::InvalidParameter {
                name: "class id",
                value: c.to_string(),
                expected: "every class id below the number of class names",
            });
        }
        Ok(Dataset {
            x,
            y,
            classes,
            weights: None,
            feature_names: None,
        })
    }

    /// Attaches sample weights (finite, ≥ 0, one per row, not all zero).
    pub fn with_weights(mut self, weights: Vec<f64>) -> Result<Dataset> {
        crate::objective::check_sample_weights(&weights, self.n_rows())?;
        if !weights.iter().any(|&s| s > 0.0) {
            return Err(Error::InvalidParameter {
                name: "sample_weight",
                value: "all zero".into(),
                expected: "at least one weight > 0",
            });
        }
        self.weights = Some(weights);
        Ok(self)
    }

    /// Weight of row i (1 without weights).
    pub fn weight(&self, i: usize) -> f64 {
        self.weights.as_ref().map_or(1.0, |w| w[i])
    }

    /// Σ of the sample weights (the row count without weights).
    pub fn total_weight(&self) -> f64 {
        weight_sum(self.weights.as_deref(), self.n_rows())
    }

    pub fn n_rows(&self) -> usize {
        self.x.n_rows()
    }
    pub fn n_features(&self) -> usize {
        self.x.n_cols()
    }
    /// The data with its columns in the order of `names` (a model's features), matched by
    /// name when the data has names; data without names is taken as it is (by position).
    /// Names the model has and the data lacks, or the other way round, are an error
    /// naming them.
    pub fn with_features_named(self, names: &[String]) -> Result<Dataset> {
        let Some(have) = self.feature_names.as_deref() else {
            return Ok(self);
        };
        if have == names {
            return Ok(self);
        }
        let position: std::collections::HashMap<&str, usize> = have
            .iter()
            .enumerate()
            .map(|(j, n)| (n.as_str(), j))
            .collect();
        let wanted: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !position.contains_key(n.as_str()))
            .cloned()
            .collect();
        let unexpected: Vec<String> = have
            .iter()
            .filter(|n| !wanted.contains(n.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() || !unexpected.is_empty() || have.len() != names.len() {
            return Err(Error::FeatureNames {
                missing,
                unexpected,
            });
        }
        let order: Vec<usize> = names.iter().map(|n| position[n.as_str()]).collect();
        let Features::Dense(m) = &self.x else {
            return Err(Error::Unsupported(
                "reordering the columns of sparse data by name".into(),
            ));
        };
        let (rows, cols) = (self.x.n_rows(), self.x.n_cols());
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            let row = m.row(i);
            data.extend(order.iter().map(|&j| row[j]));
        }
        Ok(Dataset {
            x: Features::Dense(DenseMatrix::from_parts(rows, cols, data)),
            feature_names: Some(names.to_vec()),
            ..self
        })
    }

    /// The rows of `parts`, in order: parts of one data set laid out alike (the same
    /// classes, as [`Dataset::with_global_shape`] makes them). Rows of parts without
    /// weights weigh 1 when another part has weights. A single part comes back as it is
    /// (no copy).
    pub fn concat(parts: Vec<Dataset>) -> Result<Dataset> {
        let Some(first) = parts.first() else {
            return Err(Error::InvalidParameter {
                name: "parts",
                value: "none".into(),
                expected: "at least one part",
            });
        };
        if parts.len() == 1 {
            return Ok(parts.into_iter().next().expect("one part"));
        }
        let (classes, names) = (first.classes.clone(), first.feature_names.clone());
        if let Some(p) = parts.iter().find(|p| p.classes != classes) {
            return Err(Error::InvalidParameter {
                name: "parts",
                value: format!("classes {:?} and {:?}", classes, p.classes),
                expected: "parts with the same classes",
            });
        }
        let cols = parts.iter().map(Dataset::n_features).max().unwrap_or(0);
        let weighted = parts.iter().any(|p| p.weights.is_some());
        let (mut y, mut weights, mut xs) = (Vec::new(), Vec::new(), Vec::new());
        for p in parts {
            if weighted {
                match &p.weights {
                    Some(w) => weights.extend_from_slice(w),
                    None => weights.resize(weights.len() + p.n_rows(), 1.0),
                }
            }
            y.extend_from_slice(&p.y);
            xs.push(p.x);
        }
        Ok(Dataset {
            x: Features::concat_rows(xs, cols),
            y,
            classes,
            weights: weighted.then_some(weights),
            feature_names: names,
        })
    }

    /// Rows selected by index, same classes.
    pub fn select(&self, rows: &[usize]) -> Dataset {
        Dataset {
            x: self.x.select_rows(rows),
            y: rows.iter().map(|&i| self.y[i]).collect(),
            classes: self.classes.clone(),
            weights: self
                .weights
                .as_ref()
                .map(|w| rows.iter().map(|&i| w[i]).collect()),
            feature_names: self.feature_names.clone(),
        }
    }
    /// Labels of the rows as strings.
    pub fn label(&self, i: usize) -> &str {
        &self.classes[self.y[i] as usize]
    }
    /// A stratified random split: about `test_fraction` of each class goes to the second
    /// set. Deterministic for a given seed.
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Dataset, Dataset) {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for c in 0..self.classes.len() as u32 {
            let mut rows: Vec<usize> = (0..self.n_rows()).filter(|&i| self.y[i] == c).collect();
            rows.shuffle(&mut rng);
            let n_test = (rows.len() as f64 * test_fraction).round() as usize;
            test.extend_from_slice(&rows[..n_test]);
            train.extend_from_slice(&rows[n_test..]);
        }
        train.sort_unstable();
        test.sort_unstable();
        (self.select(&train), self.select(&test))
    }
    /// Count of rows per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.classes.len()];
        self.y.iter().for_each(|&k| c[k as usize] += 1);
        c
    }
}

/// Σ of `weights`, or `n_rows` when every row weighs 1 (`None`).
pub fn weight_sum(weights: Option<&[f64]>, n_rows: usize) -> f64 {
    weights.map_or(n_rows as f64, |w| w.iter().sum())
}

/// Reads one sample weight per line (blank lines and `#` comments skipped) for a data set
/// of `n_rows` rows: finite numbers ≥ 0, exactly one per row.
pub fn read_weights(path: &Path, n_rows: usize) -> Result<Vec<f64>> {
    read_weights_range(path, n_rows, 0..n_rows)
}

/// The weights of rows `keep` of a weight file for `n_rows` rows, every line checked (the
/// rows of one share of a data file split across processes: each reads the whole weight
/// file but keeps only its own rows).
pub fn read_weights_range(
    path: &Path,
    n_rows: usize,
    keep: std::ops::Range<usize>,
) -> Result<Vec<f64>> {
    let bytes = read_file_bytes(path, Contents::Lines)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| Error::bad_file(path, format!("not UTF-8 text ({e})")))?;
    let mut w = Vec::with_capacity(keep.len());
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        let t = line.split('#').next().unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        let v: f64 = t
            .parse()
            .map_err(|_| Error::parse(path, i + 1, format!("{} is not a number", excerpt(t))))?;
        if !(v >= 0.0 && v.is_finite()) {
            return Err(Error::parse(
                path,
                i + 1,
                format!("weight {t} is not a finite number ≥ 0"),
            ));
        }
        if keep.contains(&count) {
            w.push(v);
        }
        count += 1;
    }
    if count != n_rows {
        return Err(Error::bad_file(
            path,
            format!("{count} weights for {n_rows} data rows (one per row needed)"),
        ));
    }
    Ok(w)
}

/// Turns raw labels into class ids: collects them in first-seen order, canonicalizes
/// numbers ("+1", "1.0" and "1" are one class named "1"), then sorts the classes
/// (numerically when every label is a number, else as strings).
#[derive(Default, Debug, Clone)]
pub struct LabelEncoder {
    /// Raw spelling → class id (looked up without allocating).
    raw: HashMap<String, u32>,
    /// Canonical name → class id.
    ids: HashMap<String, u32>,
    names: Vec<String>,
    y: Vec<u32>,
}

impl LabelEncoder {
    /// Numbers are canonicalised ("+1", "1.0" and "1" are one class named "1").
    pub fn push(&mut self, raw: &str) {
        let id = self.intern(raw);
        self.y.push(id);
    }
    /// The class id of a raw label (in first-seen order; [`Self::finish_classes`] sorts).
    pub fn intern(&mut self, raw: &str) -> u32 {
        if let Some(&id) = self.raw.get(raw) {
            return id;
        }
        let name = canonical_label(raw);
        let next = self.names.len() as u32;
        let id = *self.ids.entry(name.clone()).or_insert(next);
        if id == next {
            self.names.push(name);
        }
        self.raw.insert(raw.to_string(), id);
        id
    }
    /// About the bytes held: the class id per row, and per distinct spelling two table
    /// entries and the name.
    pub fn bytes(&self) -> u64 {
        let names: u64 = self.names.iter().map(|n| n.len() as u64).sum();
        crate::limits::capacity_bytes(&self.y) + self.raw.len() as u64 * 112 + 2 * names
    }
    /// Room for `rows` more rows within `budget`, `held` bytes being held besides.
    pub fn reserve(
        &mut self,
        rows: usize,
        budget: &crate::limits::ReadBudget,
        held: u64,
    ) -> std::result::Result<(), String> {
        let besides = held + self.bytes() - crate::limits::capacity_bytes(&self.y);
        budget.reserve(&mut self.y, rows, besides)
    }
    /// Rows pushed so far.
    pub fn len(&self) -> usize {
        self.y.len()
    }
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    /// (sorted class names, class id per row)
    pub fn finish(mut self) -> (Vec<String>, Vec<u32>) {
        let y = std::mem::take(&mut self.y);
        let (classes, remap) = self.finish_classes();
        (classes, y.into_iter().map(|k| remap[k as usize]).collect())
    }
    /// (sorted class names, sorted id of each first-seen id)
    pub fn finish_classes(self) -> (Vec<String>, Vec<u32>) {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        let numeric: Option<Vec<f64>> = self.names.iter().map(|s| s.parse::<f64>().ok()).collect();
        match &numeric {
            Some(v) => order.sort_by(|&a, &b| v[a as usize].total_cmp(&v[b as usize])),
            None => order.sort_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize])),
        }
        let mut remap = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            remap[old as usize] = new as u32;
        }
        let classes = order
            .iter()
            .map(|&o| self.names[o as usize].clone())
            .collect();
        (classes, remap)
    }
}

/// "+1", "1", "1.0" → "1", "-0" → "0"; other strings unchanged (trimmed).
pub fn canonical_label(raw: &str) -> String {
    let t = raw.trim();
    match t.parse::<f64>() {
        // (The pattern compares with ==, so -0.0 matches too.)
        Ok(0.0) => "0".to_string(),
        Ok(v) if v.is_finite() => format!("{v}"),
        _ => t.to_string(),
    }
}

/// A piece of input quoted in an error message: escaped like `{:?}`, and cut to its first
/// 40 characters (a 64 MiB "label" of NUL bytes must not become a 64 MiB message).
pub fn excerpt(s: &str) -> String {
    const SHOWN: usize = 40;
    match s.char_indices().nth(SHOWN) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &s[..cut], s.len()),
    }
}

/// Refuses label spellings that are not class names: control characters (a run of NUL
/// bytes is what a crash leaves at the end of a file) and numbers that are not finite
/// (`1e400`, `inf`, `nan`: `1e400` and `inf` would be two classes of one value).
pub fn check_label(raw: &str) -> std::result::Result<(), String> {
    if raw.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err(format!(
            "label {} contains control characters (NUL bytes are what a crash leaves at the end of a file)",
            excerpt(raw)
        ));
    }
    match raw.trim().parse::<f64>() {
        Ok(v) if !v.is_finite() => Err(format!(
            "label {} is a number that is not finite; class labels must be finite numbers or names",
            excerpt(raw.trim())
        )),
        _ => Ok(()),
    }
}

crate::named_choice! {
    /// The file formats sigmax reads.
    pub enum Format ("format") {
        Libsvm = "libsvm" | "svmlight",
        Csv = "csv",
        Idx = "idx",
    }
}

impl Format {
    /// Guessed from the file name: `.csv`/`.tsv`/`.tab` → CSV; `.idx` or the MNIST
    /// convention `…idx3-ubyte` (`idx1`…`idx4`) → IDX; else LIBSVM (`.gz` looked through).
    /// `x_idx1.svm` is LIBSVM: `idx` elsewhere in a name says nothing.
    pub fn from_path(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if [".csv", ".tsv", ".tab"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            Format::Csv
        } else if name.ends_with(".idx")
            || name.strip_suffix("-ubyte").is_some_and(|n| {
                ["idx1", "idx2", "idx3", "idx4"]
                    .iter()
                    .any(|s| n.ends_with(s))
            })
        {
            Format::Idx
        } else {
            Format::Libsvm
        }
    }
}

/// How to read a data file.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `None`: guess from the file name.
    pub format: Option<Format>,
    /// LIBSVM indices start at 0 instead of 1.
    pub zero_based: bool,
    /// Refuse files whose largest feature index would exceed this many features
    /// (protects against allocating huge weight vectors from one bad index).
    pub max_features: usize,
    pub csv: CsvOptions,
    /// IDX labels file; `None`: derived from the images file name.
    pub idx_labels: Option<PathBuf>,
    /// Store LIBSVM data densely when at least this fraction of entries is nonzero
    /// (dense rows take less memory there and their products vectorize). 1.0 keeps CSR.
    pub dense_above: f64,
    /// Accept a feature index far beyond the data's size. By default a LIBSVM file whose
    /// largest index makes more than 2²⁰ features and more than 16 per stored value is
    /// refused, naming that index's line: one stray index (a corrupt line) would
    /// otherwise make every weight vector of the fit that long. Set it for hashed feature
    /// spaces that are mostly empty (the CLI sets it when `--max-features` is given).
    pub wide_indices: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            format: None,
            zero_based: false,
            max_features: 1 << 27,
            csv: CsvOptions::default(),
            idx_labels: None,
            dense_above: 0.25,
            wide_indices: false,
        }
    }
}

/// Reads a data file in any supported format (gzip-compressed or not).
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    match opts.format.unwrap_or_else(|| Format::from_path(path)) {
        Format::Libsvm => read_libsvm(path, opts),
        Format::Csv => read_csv(path, &opts.csv),
        Format::Idx => read_idx(path, opts.idx_labels.as_deref()),
    }
}

/// Whole file into memory under a fresh [`ReadBudget`](crate::limits::ReadBudget) (see
/// [`crate::input::read_all`]).
pub(crate) fn read_file_bytes(path: &Path, contents: Contents) -> Result<Vec<u8>> {
    crate::input::read_all(path, contents, &crate::limits::ReadBudget::new())
}

/// Refuses labels a classifier cannot learn from: a single class, or more than two
/// classes that are all numbers and not all integers (a regression target or a feature
/// read as the label, as scikit-learn's `type_of_target` calls "continuous"; left alone it
/// becomes a softmax with a class per row that trains for hours).
pub fn require_class_labels(d: &Dataset) -> Result<()> {
    if d.classes.len() < 2 {
        return Err(Error::SingleClass {
            label: d.classes.first().cloned().unwrap_or_default(),
        });
    }
    if d.classes.len() > 2 {
        let numbers: Option<Vec<f64>> = d.classes.iter().map(|c| c.parse().ok()).collect();
        let fractional = numbers.and_then(|v| v.into_iter().position(|x| x.fract() != 0.0));
        if let Some(i) = fractional {
            return Err(Error::ContinuousLabels {
                classes: d.classes.len(),
                rows: d.n_rows(),
                example: d.classes[i].clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_concatenate_in_order_and_travel_as_cache_bytes() {
        let x =
            Features::Dense(DenseMatrix::new(4, 2, vec![1., 0., 0., 2., 3., 0., 0., 4.]).unwrap());
        let whole = Dataset::new(x, &["a", "b", "a", "b"])
            .unwrap()
            .with_weights(vec![1.0, 2.0, 3.0, 4.0])
            .unwrap();
        // Through the bytes another process would receive.
        let sent = |d: &Dataset| decode_cache(&encode_dataset(d)).unwrap();
        let (head, tail) = (whole.select(&[0, 1]), sent(&whole.select(&[2, 3])));
        let joined = Dataset::concat(vec![head.clone(), tail.clone()]).unwrap();
        assert_eq!(
            (joined.y.clone(), joined.weights.clone()),
            (whole.y.clone(), whole.weights.clone())
        );
        assert_eq!(joined.x.to_sparse(), whole.x.to_sparse());
        // A sparse part makes the whole sparse; a part without weights weighs 1.
        let mut unweighted = head;
        unweighted.weights = None;
        let sparse_tail = Dataset {
            x: Features::Sparse(tail.x.to_sparse()),
            ..tail
        };
        let mixed = Dataset::concat(vec![unweighted, sparse_tail]).unwrap();
        assert!(mixed.x.is_sparse());
        assert_eq!(mixed.weights, Some(vec![1.0, 1.0, 3.0, 4.0]));
        assert_eq!(mixed.x.to_sparse(), whole.x.to_sparse());
        // Other classes: refused.
        let other = Dataset::new(whole.x.clone(), &["a", "c", "a", "c"]).unwrap();
        assert!(Dataset::concat(vec![whole, other]).is_err());
    }

    #[test]
    fn columns_are_reordered_by_name_and_mismatches_named() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let x = Features::Dense(DenseMatrix::new(2, 3, vec![1., 2., 3., 4., 5., 6.]).unwrap());
        let d = Dataset {
            feature_names: Some(names(&["c", "a", "b"])),
            ..Dataset::new(x, &["p", "q"]).unwrap()
        };
        let r = d
            .clone()
            .with_features_named(&names(&["a", "b", "c"]))
            .unwrap();
        assert_eq!(r.x.row(0).dot(&[1.0, 10.0, 100.0]), 2.0 + 30.0 + 100.0);
        assert_eq!(r.x.row(1).dot(&[1.0, 10.0, 100.0]), 5.0 + 60.0 + 400.0);
        assert_eq!(r.feature_names, Some(names(&["a", "b", "c"])));
        let e = d
            .clone()
            .with_features_named(&names(&["a", "b", "z"]))
            .unwrap_err();
        assert!(
            matches!(&e, Error::FeatureNames { missing, unexpected }
            if missing == &names(&["z"]) && unexpected == &names(&["c"])),
            "{e}"
        );
        assert!(d.with_features_named(&names(&["a", "b"])).is_err());
        // Data without names is taken by position.
        let plain = Dataset::new(
            Features::Dense(DenseMatrix::new(1, 2, vec![1., 2.]).unwrap()),
            &["p"],
        )
        .unwrap();
        let same = plain.with_features_named(&names(&["b", "a"])).unwrap();
        assert_eq!(same.x.row(0).dot(&[1.0, 10.0]), 21.0);
    }

    #[test]
    fn labels_sorted_numerically_and_canonical() {
        let mut li = LabelEncoder::default();
        for l in ["+1", "-1", "10", "2", "1.0"] {
            li.push(l);
        }
        let (classes, y) = li.finish();
        assert_eq!(classes, vec!["-1", "1", "2", "10"]);
        assert_eq!(y, vec![1, 0, 3, 2, 1]);
    }

    #[test]
    fn string_labels_sorted_lexically() {
        let mut li = LabelEncoder::default();
        for l in ["dog", "cat", "dog"] {
            li.push(l);
        }
        assert_eq!(
            li.finish(),
            (vec!["cat".into(), "dog".into()], vec![1, 0, 1])
        );
    }

    #[test]
    fn split_is_stratified_and_deterministic() {
        let d = crate::datasets::heart_scale();
        let (a, b) = d.split(0.2, 7);
        assert_eq!((a.n_rows(), b.n_rows()), (216, 54));
        assert_eq!(b.class_counts(), vec![30, 24]);
        let (_, b2) = d.split(0.2, 7);
        assert_eq!(b.y, b2.y);
        assert_eq!(b.x, b2.x);
    }

    #[test]
    fn format_from_name() {
        assert_eq!(Format::from_path(Path::new("a/b.csv.gz")), Format::Csv);
        assert_eq!(
            Format::from_path(Path::new("train-images-idx3-ubyte.gz")),
            Format::Idx
        );
        assert_eq!(
            Format::from_path(Path::new("t10k-labels.idx1-ubyte")),
            Format::Idx
        );
        assert_eq!(Format::from_path(Path::new("heart_scale")), Format::Libsvm);
        assert_eq!(Format::from_path(Path::new("x_idx1.svm")), Format::Libsvm);
        assert_eq!(Format::from_path(Path::new("idx3_rows")), Format::Libsvm);
    }

    #[test]
    fn excerpts_are_short() {
        assert_eq!(excerpt("a\"b"), "\"a\\\"b\"");
        let long = "\0".repeat(1000);
        let e = excerpt(&long);
        assert!(e.len() < 300 && e.ends_with("(1000 bytes)"), "{e}");
    }

    #[test]
    fn labels_that_are_one_value_are_one_class_and_bad_labels_are_refused() {
        let mut enc = LabelEncoder::default();
        for raw in ["0", "-0", "+0", "0.0", "1", "1.0"] {
            enc.push(raw);
        }
        assert_eq!(enc.finish().0, ["0", "1"]);
        for bad in ["\0\0\0", "1e400", "inf", "-inf", "NaN", "a\x07b"] {
            assert!(check_label(bad).is_err(), "{bad:?}");
        }
        for good in ["1", "-1", "cat", "class a", "1e300"] {
            assert!(check_label(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn numeric_labels_with_fractions_are_refused_as_continuous_beyond_two_classes() {
        let data = |labels: &[&str]| {
            let n = labels.len();
            Dataset::new(
                Features::Dense(DenseMatrix::new(n, 1, vec![1.0; n]).unwrap()),
                labels,
            )
            .unwrap()
        };
        let e = require_class_labels(&data(&["0.25", "1.5", "2", "0.25"])).unwrap_err();
        assert!(
            matches!(e, Error::ContinuousLabels { classes: 3, rows: 4, ref example } if example == "0.25"),
            "{e}"
        );
        // Integers (however written), names, and any two classes are labels.
        for ok in [&["1", "2.0", "3"][..], &["a", "0.5", "b"], &["0.5", "1.5"]] {
            assert!(require_class_labels(&data(ok)).is_ok(), "{ok:?}");
        }
        assert!(matches!(
            require_class_labels(&data(&["1", "1.0"])),
            Err(Error::SingleClass { .. })
        ));
    }
}
