//! LIBSVM / svmlight text: `label idx:val idx:val ... # comment`, one row per line.
//!
//! Indices are 1-based by default (0-based on request) and must strictly increase within
//! a row. `qid:` tokens are skipped. The file is streamed in blocks of 64 MiB (so memory
//! holds the parsed matrix plus one block, never the whole text); each block is cut into
//! chunks at line ends that are parsed in parallel by a hand-written tokenizer with
//! fast_float2 for the values. Nothing is allocated per token.

use super::{CsrMatrix, Dataset, Features, LabelInterner};
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::io::Read;
use std::path::Path;

const CHUNK_BYTES: usize = 1 << 22;
const BLOCK_BYTES: usize = 1 << 26;

/// Reads a LIBSVM file (gzip or plain), streaming.
pub fn read_libsvm(path: &Path, zero_based: bool, max_features: usize) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let gz = {
        use std::io::BufRead;
        let head = reader.fill_buf().map_err(|e| Error::io(path, e))?;
        head.starts_with(&[0x1f, 0x8b])
    };
    let mut source: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut builder = Builder::new(path, zero_based, max_features);
    let mut buf: Vec<u8> = Vec::new();
    let mut total = 0usize;
    loop {
        // read_to_end grows the buffer only as far as the data goes (a small file never
        // costs a 64 MiB allocation).
        let start = buf.len();
        let got = source
            .by_ref()
            .take(BLOCK_BYTES as u64)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(path, e))?;
        let eof = got < BLOCK_BYTES;
        total += buf.len() - start;
        // Parse up to the last complete line; keep the rest for the next block.
        let cut = if eof {
            buf.len()
        } else {
            buf.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1)
        };
        builder.add_block(&buf[..cut])?;
        buf.drain(..cut);
        if eof {
            break;
        }
    }
    if total == 0 {
        return Err(Error::bad_file(path, "the file is empty"));
    }
    builder.finish()
}

/// Parses LIBSVM text already in memory; `path` only names the source in errors.
pub fn parse_libsvm(
    bytes: &[u8],
    path: &Path,
    zero_based: bool,
    max_features: usize,
) -> Result<Dataset> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::bad_file(path, "the file is empty"));
    }
    let mut builder = Builder::new(path, zero_based, max_features);
    builder.add_block(bytes)?;
    builder.finish()
}

/// Accumulates parsed blocks into one CSR matrix.
struct Builder<'p> {
    path: &'p Path,
    zero_based: bool,
    max_features: usize,
    next_line: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
    cols: usize,
    labels: LabelInterner,
}

/// One chunk's rows.
struct Chunk<'a> {
    labels: Vec<&'a str>,
    row_nnz: Vec<u32>,
    indices: Vec<u32>,
    values: Vec<f32>,
    max_col: usize,
}

impl<'p> Builder<'p> {
    fn new(path: &'p Path, zero_based: bool, max_features: usize) -> Self {
        Builder {
            path,
            zero_based,
            max_features,
            next_line: 1,
            indptr: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
            cols: 0,
            labels: LabelInterner::default(),
        }
    }

    /// Parses whole lines (the block ends at a line end or at the end of the file).
    fn add_block(&mut self, bytes: &[u8]) -> Result<()> {
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
        for c in &line_counts {
            first_lines.push(self.next_line);
            self.next_line += c;
        }
        let (path, zero_based, max_features) = (self.path, self.zero_based, self.max_features);
        let chunks: Vec<Chunk> = ranges
            .par_iter()
            .zip(first_lines.par_iter())
            .map(|(&(a, b), &first)| {
                parse_chunk(&bytes[a..b], first, path, zero_based, max_features)
            })
            .collect::<Result<_>>()?;
        for c in chunks {
            for (l, &k) in c.labels.iter().zip(&c.row_nnz) {
                self.labels.push(l);
                self.indptr.push(self.indptr.last().unwrap() + k as usize);
            }
            self.indices.extend_from_slice(&c.indices);
            self.values.extend_from_slice(&c.values);
            self.cols = self.cols.max(c.max_col);
        }
        Ok(())
    }

    fn finish(self) -> Result<Dataset> {
        if self.labels.len() == 0 {
            return Err(Error::bad_file(
                self.path,
                "no data rows (only comments or blank lines)",
            ));
        }
        let (classes, y) = self.labels.finish();
        Ok(Dataset {
            x: Features::Sparse(CsrMatrix::new(
                self.cols,
                self.indptr,
                self.indices,
                self.values,
            )),
            y,
            classes,
        })
    }
}

#[inline]
fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\r' || b == 0x0b || b == 0x0c
}

fn parse_chunk<'a>(
    text: &'a [u8],
    first_line: usize,
    path: &Path,
    zero_based: bool,
    max_features: usize,
) -> Result<Chunk<'a>> {
    let mut c = Chunk {
        labels: vec![],
        row_nnz: vec![],
        indices: vec![],
        values: vec![],
        max_col: 0,
    };
    let offset = if zero_based { 0u64 } else { 1u64 };
    for (k, raw_line) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = first_line + k;
        let b = match raw_line.iter().position(|&x| x == b'#') {
            Some(p) => &raw_line[..p],
            None => raw_line,
        };
        let err = |msg: String| Error::parse(path, line_no, msg);
        let mut p = 0;
        while p < b.len() && is_space(b[p]) {
            p += 1;
        }
        if p == b.len() {
            continue;
        }
        let label_start = p;
        while p < b.len() && !is_space(b[p]) {
            p += 1;
        }
        let label = std::str::from_utf8(&b[label_start..p])
            .map_err(|_| err("label is not valid UTF-8".into()))?;
        if label.contains(':') {
            return Err(err(format!(
                "row starts with {label:?}; expected a label before the features"
            )));
        }
        let start = c.indices.len();
        let mut prev: Option<u64> = None;
        loop {
            while p < b.len() && is_space(b[p]) {
                p += 1;
            }
            if p == b.len() {
                break;
            }
            let tok_start = p;
            // The whole token, for error messages only.
            let show = || {
                let end = b[tok_start..]
                    .iter()
                    .position(|&x| is_space(x))
                    .map_or(b.len(), |e| tok_start + e);
                String::from_utf8_lossy(&b[tok_start..end]).into_owned()
            };
            if b[p..].starts_with(b"qid:") {
                while p < b.len() && !is_space(b[p]) {
                    p += 1;
                }
                continue;
            }
            let mut idx: u64 = 0;
            let mut overflow = false;
            while p < b.len() && b[p].is_ascii_digit() {
                idx = match idx
                    .checked_mul(10)
                    .and_then(|v| v.checked_add((b[p] - b'0') as u64))
                {
                    Some(v) => v,
                    None => {
                        overflow = true;
                        0
                    }
                };
                p += 1;
            }
            if p == b.len() || b[p] != b':' {
                let t = show();
                return Err(err(if t.contains(':') {
                    format!("bad feature index in {t:?}")
                } else {
                    format!("token {t:?} is not index:value")
                }));
            }
            if p == tok_start {
                return Err(err(format!("token {:?} has no feature index", show())));
            }
            if overflow {
                return Err(err(format!("bad feature index in {:?}", show())));
            }
            p += 1; // ':'
            if p == b.len() || is_space(b[p]) {
                return Err(err(format!("token {:?} has no value", show())));
            }
            let (v, used) = fast_float2::parse_partial::<f32, _>(&b[p..])
                .map_err(|_| err(format!("bad value in {:?}", show())))?;
            p += used;
            if p < b.len() && !is_space(b[p]) {
                return Err(err(format!("bad value in {:?}", show())));
            }
            if !v.is_finite() {
                return Err(err(format!("value in {:?} is not finite", show())));
            }
            if idx < offset {
                return Err(err(format!("feature index {idx} in {:?}: indices are 1-based (use 0-based mode for index 0)", show())));
            }
            if let Some(q) = prev {
                if idx <= q {
                    let what = if idx == q { "duplicate" } else { "decreasing" };
                    return Err(err(format!(
                        "{what} feature index {idx} after {q}: indices must increase"
                    )));
                }
            }
            prev = Some(idx);
            let col = idx - offset;
            if col >= max_features as u64 {
                return Err(err(format!(
                    "feature index {idx} exceeds the limit of {max_features} features (raise max-features if it is real)"
                )));
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
