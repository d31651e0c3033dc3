//! LIBSVM / svmlight text: `label idx:val idx:val ... # comment`, one row per line.
//!
//! Indices are 1-based by default (0-based on request) and must strictly increase within
//! a row. `qid:` tokens are skipped. The text is cut into chunks at line ends and the
//! chunks are parsed in parallel; nothing is allocated per token.

use super::{read_file_bytes, CsrMatrix, Dataset, Features, LabelInterner};
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::path::Path;

const CHUNK_BYTES: usize = 1 << 22;

/// Reads a LIBSVM file (gzip or plain).
pub fn read_libsvm(path: &Path, zero_based: bool, max_features: usize) -> Result<Dataset> {
    let bytes = read_file_bytes(path)?;
    parse_libsvm(&bytes, path, zero_based, max_features)
}

/// One chunk's rows; `first_line` is the 1-based number of its first line.
struct Chunk<'a> {
    labels: Vec<&'a str>,
    row_nnz: Vec<u32>,
    indices: Vec<u32>,
    values: Vec<f32>,
    max_col: usize,
}

/// Parses LIBSVM text already in memory; `path` only names the source in errors.
pub fn parse_libsvm(bytes: &[u8], path: &Path, zero_based: bool, max_features: usize) -> Result<Dataset> {
    // Chunk boundaries just after a '\n', and the line number each chunk starts at.
    let mut bounds = vec![0usize];
    while *bounds.last().unwrap() < bytes.len() {
        let start = *bounds.last().unwrap();
        let mut end = (start + CHUNK_BYTES).min(bytes.len());
        while end < bytes.len() && bytes[end - 1] != b'\n' {
            end += 1;
        }
        bounds.push(end);
    }
    let ranges: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let line_counts: Vec<usize> = ranges
        .par_iter()
        .map(|&(a, b)| bytes[a..b].iter().filter(|&&c| c == b'\n').count())
        .collect();
    let mut first_lines = Vec::with_capacity(ranges.len());
    let mut line = 1;
    for c in &line_counts {
        first_lines.push(line);
        line += c;
    }
    let chunks: Vec<Chunk> = ranges
        .par_iter()
        .zip(first_lines.par_iter())
        .map(|(&(a, b), &first)| parse_chunk(&bytes[a..b], first, path, zero_based, max_features))
        .collect::<Result<_>>()?;

    let n: usize = chunks.iter().map(|c| c.labels.len()).sum();
    if n == 0 {
        return Err(Error::bad_file(path, "no data rows (only comments or blank lines)"));
    }
    let nnz: usize = chunks.iter().map(|c| c.indices.len()).sum();
    let cols = chunks.iter().map(|c| c.max_col).max().unwrap_or(0);
    let mut indptr = Vec::with_capacity(n + 1);
    indptr.push(0usize);
    let mut indices = Vec::with_capacity(nnz);
    let mut values = Vec::with_capacity(nnz);
    let mut labels = LabelInterner::default();
    for c in chunks {
        for (l, &k) in c.labels.iter().zip(&c.row_nnz) {
            labels.push(l);
            indptr.push(indptr.last().unwrap() + k as usize);
        }
        indices.extend_from_slice(&c.indices);
        values.extend_from_slice(&c.values);
    }
    let (classes, y) = labels.finish();
    Ok(Dataset {
        x: Features::Sparse(CsrMatrix::new(cols, indptr, indices, values)),
        y,
        classes,
    })
}

fn parse_chunk<'a>(
    text: &'a [u8],
    first_line: usize,
    path: &Path,
    zero_based: bool,
    max_features: usize,
) -> Result<Chunk<'a>> {
    let mut c = Chunk { labels: vec![], row_nnz: vec![], indices: vec![], values: vec![], max_col: 0 };
    let offset = if zero_based { 0u64 } else { 1u64 };
    for (k, raw_line) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = first_line + k;
        let err = |msg: String| Error::parse(path, line_no, msg);
        let content = match raw_line.iter().position(|&b| b == b'#') {
            Some(p) => &raw_line[..p],
            None => raw_line,
        };
        let mut tokens = content.split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty());
        let Some(label) = tokens.next() else { continue };
        let label = std::str::from_utf8(label).map_err(|_| err("label is not valid UTF-8".into()))?;
        if label.contains(':') {
            return Err(err(format!("row starts with {label:?}; expected a label before the features")));
        }
        let start = c.indices.len();
        let mut prev: Option<u64> = None;
        for tok in tokens {
            if tok.starts_with(b"qid:") {
                continue;
            }
            let show = || String::from_utf8_lossy(tok).into_owned();
            let colon = tok
                .iter()
                .position(|&b| b == b':')
                .ok_or_else(|| err(format!("token {:?} is not index:value", show())))?;
            let (ib, vb) = (&tok[..colon], &tok[colon + 1..]);
            if ib.is_empty() {
                return Err(err(format!("token {:?} has no feature index", show())));
            }
            if vb.is_empty() {
                return Err(err(format!("token {:?} has no value", show())));
            }
            let idx = parse_index(ib).ok_or_else(|| err(format!("bad feature index in {:?}", show())))?;
            if idx < offset {
                return Err(err(format!(
                    "feature index {idx} in {:?}: indices are 1-based (use 0-based mode for index 0)",
                    show()
                )));
            }
            if let Some(p) = prev {
                if idx <= p {
                    let what = if idx == p { "duplicate" } else { "decreasing" };
                    return Err(err(format!("{what} feature index {idx} after {p}: indices must increase")));
                }
            }
            prev = Some(idx);
            let col = idx - offset;
            if col >= max_features as u64 {
                return Err(err(format!(
                    "feature index {idx} exceeds the limit of {max_features} features (raise max-features if it is real)"
                )));
            }
            let v: f32 = std::str::from_utf8(vb)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| err(format!("bad value in {:?}", show())))?;
            if !v.is_finite() {
                return Err(err(format!("value in {:?} is not finite", show())));
            }
            c.max_col = c.max_col.max(col as usize + 1);
            c.indices.push(col as u32);
            c.values.push(v);
        }
        c.labels.push(label);
        c.row_nnz.push((c.indices.len() - start) as u32);
    }
    Ok(c)
}

/// Decimal digits only; `None` on anything else or overflow.
fn parse_index(b: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for &d in b {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Dataset> {
        parse_libsvm(text.as_bytes(), Path::new("t.svm"), false, 1000)
    }

    fn err_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_rows_comments_and_labels() {
        let d = parse("# header\n+1 1:0.5 3:-2 # note\n-1\n\n2 qid:3 2:1e-1\n").unwrap();
        assert_eq!(d.n_rows(), 3);
        assert_eq!(d.n_features(), 3);
        assert_eq!(d.classes, vec!["-1", "1", "2"]);
        assert_eq!(d.y, vec![1, 0, 2]);
        assert_eq!(d.x.row(0).dot(&[1.0, 1.0, 1.0]), -1.5);
        assert_eq!(d.x.row(1).dot(&[1.0, 1.0, 1.0]), 0.0);
        assert!((d.x.row(2).dot(&[0.0, 1.0, 0.0]) - 0.1).abs() < 1e-7);
    }

    #[test]
    fn zero_based_mode() {
        let d = parse_libsvm(b"1 0:2 4:1\n", Path::new("z"), true, 100).unwrap();
        assert_eq!(d.n_features(), 5);
    }

    #[test]
    fn malformed_tokens_name_line_and_problem() {
        assert!(err_of("1 1:1\n1 3:abc\n").starts_with("t.svm:2: bad value"));
        assert!(err_of("1 :5\n").contains("no feature index"));
        assert!(err_of("1 3:\n").contains("no value"));
        assert!(err_of("1 0:1\n").contains("1-based"));
        assert!(err_of("1 3:1 2:1\n").contains("decreasing feature index 2"));
        assert!(err_of("1 3:1 3:1\n").contains("duplicate feature index 3"));
        assert!(err_of("1 2:nan\n").contains("not finite"));
        assert!(err_of("1 2:inf\n").contains("not finite"));
        assert!(err_of("1 x:1\n").contains("bad feature index"));
        assert!(err_of("1 5\n").contains("not index:value"));
        assert!(err_of("1 99999999999:1\n").contains("exceeds the limit"));
        assert!(err_of("1:1 2:2\n").contains("expected a label"));
        assert!(err_of("# only\n\n").contains("no data rows"));
    }

    #[test]
    fn chunked_parse_keeps_line_numbers() {
        // Enough rows for several chunks; the bad token is on the last line.
        let mut text = String::new();
        let rows = 2 * CHUNK_BYTES / 20 + 7;
        for i in 0..rows {
            text.push_str(&format!("{} 1:{} 7:0.25\n", i % 3, i));
        }
        let d = parse(&text).unwrap();
        assert_eq!(d.n_rows(), rows);
        assert_eq!(d.x.row(rows - 1).dot(&[1.0; 7]), (rows - 1) as f64 + 0.25);
        text.push_str("1 1:1 1:2\n");
        assert!(err_of(&text).starts_with(&format!("t.svm:{}:", rows + 1)));
    }
}
