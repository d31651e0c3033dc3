//! LIBSVM / svmlight text: `label idx:val idx:val ... # comment`, one row per line.
//!
//! Indices are 1-based by default (0-based on request) and must strictly increase within
//! a row. `qid:` tokens are skipped. The file is streamed in blocks of 2 MiB (memory
//! holds the parsed matrix plus about one block, never the whole text), and the next
//! block is read while the current one is parsed. Each block is cut into chunks at line
//! ends that are parsed in parallel, each in a single pass over its bytes by a
//! hand-written tokenizer (fast_float2 for the values); nothing is allocated per token or
//! per row, and labels are interned per chunk. Line numbers, needed only for error
//! messages, are counted as the tokenizer goes.
//!
//! Data that is dense enough (see [`LoadOptions::dense_above`]) is stored densely: while
//! the rows read so far look dense, the parsed chunks are kept as they are and copied
//! into the dense matrix at the end, each freed as soon as it is copied, so the text's
//! CSR form never exists in one piece next to the dense one.

use super::{
    check_label, excerpt, CsrMatrix, Dataset, DenseMatrix, Features, LabelEncoder, LoadOptions,
};
use crate::error::{Error, Result};
use crate::limits::{capacity_bytes, ReadBudget, MAX_FEATURES, MAX_LINE_BYTES};
use rayon::prelude::*;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

const CHUNK_BYTES: usize = 1 << 20;
/// Two buffers of this size are filled and parsed in turn. 8 MiB blocks cost 4,000 page
/// faults more than 2 MiB ones on the 35 MB text_bin file (14.2k → 10.7k in a training
/// run, load 64 → 59 ms) and read larger files no faster (medians, 2026-12-06).
const BLOCK_BYTES: usize = 1 << 21;

/// Reads a LIBSVM file (gzip or plain), streaming; stored densely when at least
/// `opts.dense_above` of the entries are nonzero.
pub fn read_libsvm(path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    check_max_features(opts.max_features)?;
    let input = crate::input::open(path)?;
    read_libsvm_from(input.reader, path, opts, false).map(|(d, _)| d)
}

/// [`read_libsvm`] of any reader (standard input, a buffer), streaming the same way;
/// `name` names it in errors.
pub fn read_libsvm_reader(
    reader: Box<dyn Read + Send>,
    name: &Path,
    opts: &LoadOptions,
) -> Result<Dataset> {
    check_max_features(opts.max_features)?;
    read_libsvm_from(reader, name, opts, false).map(|(d, _)| d)
}

/// One of `parts` shares of a LIBSVM file, split by bytes at line boundaries (share k
/// holds the lines that start in bytes [k·len/parts, (k+1)·len/parts)): for distributed
/// training, where each process reads only its share. Returns the rows and where the
/// share starts: its first line's number (1-based) is not known without reading what
/// comes before, so errors name lines counted from the share's start, and the share's
/// line count is returned for the caller to turn them into file lines. A share without
/// rows is an empty data set. Gzip files cannot be split (use one file per process).
pub fn read_libsvm_share(
    path: &Path,
    opts: &LoadOptions,
    part: usize,
    parts: usize,
) -> Result<(Dataset, usize)> {
    use std::io::{BufRead, Seek, SeekFrom};
    check_max_features(opts.max_features)?;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut head = [0u8; 2];
    if file.read(&mut head).map_err(|e| Error::io(path, e))? == 2 && head == [0x1f, 0x8b] {
        return Err(Error::bad_file(
            path,
            "a gzip file cannot be split into shares; give one file per process (DATA.0, DATA.1, …)",
        ));
    }
    // The first line start at or after byte `at`.
    let mut line_start = |at: u64| -> Result<u64> {
        if at == 0 || at >= len {
            return Ok(at.min(len));
        }
        file.seek(SeekFrom::Start(at - 1))
            .map_err(|e| Error::io(path, e))?;
        let mut r = std::io::BufReader::new(&mut file);
        let mut skipped = Vec::new();
        let n = r
            .read_until(b'\n', &mut skipped)
            .map_err(|e| Error::io(path, e))?;
        Ok(at - 1 + n as u64)
    };
    let parts = parts.max(1) as u64;
    let start = line_start(len * part as u64 / parts)?;
    let end = line_start(len * (part as u64 + 1) / parts)?;
    // (An empty range is a share without rows.)
    file.seek(SeekFrom::Start(start))
        .map_err(|e| Error::io(path, e))?;
    let source = Box::new(std::io::BufReader::with_capacity(1 << 16, file).take(end - start));
    read_libsvm_from(source, path, opts, true)
}

/// Parses LIBSVM text from `source`; returns the rows and the number of lines read. A
/// `share` of a file may hold no rows (an empty data set), a whole file may not.
fn read_libsvm_from(
    mut source: Box<dyn Read + Send>,
    path: &Path,
    opts: &LoadOptions,
    share: bool,
) -> Result<(Dataset, usize)> {
    let mut builder = Builder::new(path, opts.zero_based, opts.max_features, opts.dense_above);
    builder.wide_indices = opts.wide_indices;
    builder.budget = ReadBudget::new();
    builder.empty_ok = share;
    // Two buffers, allocated once and swapped: one is parsed while the other is filled.
    let mut block: Vec<u8> = Vec::new();
    let mut next: Vec<u8> = Vec::new();
    let mut eof = read_block(&mut source, &mut block).map_err(|e| Error::io(path, e))?;
    // A byte-order mark is not a label (a share other than the first starts mid-file).
    let skip = crate::input::text_start(path, &block)?;
    block.drain(..skip);
    if block.is_empty() && !share {
        return Err(Error::bad_file(path, "the file is empty"));
    }
    loop {
        // Parse up to the last complete line; the rest starts the next block, which is
        // read while this one is parsed.
        let cut = if eof {
            block.len()
        } else {
            block.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1)
        };
        // A line without an end so far (or at all): refused past the line length limit.
        let unterminated = cut == 0 || (eof && !block.contains(&b'\n'));
        if unterminated && block.len() > MAX_LINE_BYTES {
            return Err(super::line_too_long(path, builder.next_line));
        }
        if cut == 0 && !eof {
            // Read on into the same buffer (not carried into a fresh one block after block).
            eof = read_block(&mut source, &mut block).map_err(|e| Error::io(path, e))?;
            continue;
        }
        next.clear();
        let (parsed, read) = rayon::join(
            || builder.add_block(&block[..cut]),
            || -> std::io::Result<bool> {
                if eof {
                    return Ok(true);
                }
                next.extend_from_slice(&block[cut..]);
                read_block(&mut source, &mut next)
            },
        );
        parsed?;
        if eof {
            break;
        }
        eof = read.map_err(|e| Error::io(path, e))?;
        std::mem::swap(&mut block, &mut next);
    }
    let lines = builder.next_line - 1;
    builder.finish().map(|d| (d, lines))
}

/// Column indices are u32: more features than that cannot be stored.
fn check_max_features(max_features: usize) -> Result<()> {
    if max_features > MAX_FEATURES {
        return Err(Error::InvalidParameter {
            name: "max_features",
            value: max_features.to_string(),
            expected: "at most 2^32 = 4294967296 (feature indices are stored as 32-bit numbers)",
        });
    }
    Ok(())
}

/// Appends up to one block of bytes; `true` at the end of the input. (read_to_end grows
/// the buffer only as far as the data goes: a small file never costs a whole block.)
fn read_block(source: &mut Box<dyn Read + Send>, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let got = source.by_ref().take(BLOCK_BYTES as u64).read_to_end(buf)?;
    Ok(got < BLOCK_BYTES)
}

/// Parses LIBSVM text already in memory into CSR storage; `path` only names the source
/// in errors.
pub fn parse_libsvm(
    bytes: &[u8],
    path: &Path,
    zero_based: bool,
    max_features: usize,
) -> Result<Dataset> {
    check_max_features(max_features)?;
    let bytes = &bytes[crate::input::text_start(path, bytes)?..];
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::bad_file(path, "the file is empty"));
    }
    let mut builder = Builder::new(path, zero_based, max_features, f64::INFINITY);
    builder.wide_indices = true;
    builder.add_block(bytes)?;
    builder.finish()
}

/// One chunk's rows: nonzeros per row, their columns and values, and each row's label as
/// an index into `labels` (the chunk's distinct label spellings).
struct Chunk<'a> {
    label_ids: Vec<u32>,
    labels: Vec<&'a str>,
    rows: Piece,
    max_col: usize,
    /// The line (within the chunk, 0-based) of the row with the largest index.
    max_col_line: usize,
    /// Lines in the chunk (for the line numbers of later chunks).
    lines: usize,
}

/// Parsed rows not yet merged into one CSR matrix.
#[derive(Default)]
struct Piece {
    row_nnz: Vec<u32>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

/// Accumulates parsed blocks: as separate pieces while the data looks dense, else
/// merged into one CSR matrix.
struct Builder<'p> {
    path: &'p Path,
    zero_based: bool,
    max_features: usize,
    dense_above: f64,
    next_line: usize,
    /// The line of the row with the largest feature index so far.
    widest_line: usize,
    /// See [`LoadOptions::wide_indices`].
    wide_indices: bool,
    /// No rows is an empty data set, not an error (a share of a file).
    empty_ok: bool,
    labels: LabelEncoder,
    y: Vec<u32>,
    cols: usize,
    nnz: usize,
    pieces: Vec<Piece>,
    /// Emptied pieces whose memory the next chunks reuse (fresh allocations in worker
    /// threads would each leave freed memory behind in the allocator's arenas).
    spare: Vec<Piece>,
    /// Merged CSR rows (once the data stopped looking dense); `indptr` starts with 0.
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
    /// What the rows read so far may hold ([`crate::input`]'s policy).
    budget: ReadBudget,
}

impl Piece {
    fn bytes(&self) -> u64 {
        capacity_bytes(&self.row_nnz) + capacity_bytes(&self.indices) + capacity_bytes(&self.values)
    }
}

impl<'p> Builder<'p> {
    fn new(path: &'p Path, zero_based: bool, max_features: usize, dense_above: f64) -> Self {
        Builder {
            path,
            zero_based,
            max_features,
            dense_above,
            next_line: 1,
            widest_line: 1,
            wide_indices: false,
            empty_ok: false,
            labels: LabelEncoder::default(),
            y: Vec::new(),
            cols: 0,
            nnz: 0,
            pieces: Vec::new(),
            spare: Vec::new(),
            indptr: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
            budget: ReadBudget::with_limit(u64::MAX),
        }
    }

    /// Bytes held for the rows so far (the text blocks aside: two of [`BLOCK_BYTES`]).
    fn held(&self) -> u64 {
        let pieces: u64 = self
            .pieces
            .iter()
            .chain(&self.spare)
            .map(Piece::bytes)
            .sum();
        pieces
            + capacity_bytes(&self.y)
            + capacity_bytes(&self.indptr)
            + capacity_bytes(&self.indices)
            + capacity_bytes(&self.values)
            + 2 * BLOCK_BYTES as u64
    }

    /// The error for rows that do not fit the budget, naming how far the read got.
    fn too_large(&self, why: String) -> Error {
        Error::bad_file(
            self.path,
            format!(
                "the rows read so far need {why}; stopped at line {} ({} rows read)",
                self.next_line,
                self.y.len()
            ),
        )
    }

    /// Checks that `more` bytes can be held besides what is, before they are allocated.
    fn check_room(&self, more: u64) -> Result<()> {
        self.budget
            .check(self.held().saturating_add(more))
            .map_err(|m| self.too_large(m))
    }

    fn looks_dense(&self) -> bool {
        let cells = self.y.len() as f64 * self.cols as f64;
        cells > 0.0 && self.nnz as f64 >= self.dense_above * cells
    }

    /// Parses whole lines (the block ends at a line end or at the end of the file).
    fn add_block(&mut self, bytes: &[u8]) -> Result<()> {
        // A chunk's rows take at most about its bytes (a value of 8 bytes, "1:1 " of 4,
        // is stored in 8) plus the reservation `parse_chunk` makes.
        self.check_room(2 * bytes.len() as u64)?;
        let mut ranges = Vec::new();
        let mut start = 0;
        while start < bytes.len() {
            let mut end = (start + CHUNK_BYTES).min(bytes.len());
            end += bytes[end..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(bytes.len() - end, |p| p + 1);
            ranges.push((start, end));
            start = end;
        }
        let (zero_based, max_features) = (self.zero_based, self.max_features);
        let buffers: Vec<Piece> = ranges
            .iter()
            .map(|_| self.spare.pop().unwrap_or_default())
            .collect();
        let results: Vec<_> = ranges
            .par_iter()
            .zip(buffers)
            .map(|(&(a, b), buf)| parse_chunk(&bytes[a..b], buf, zero_based, max_features))
            .collect();
        let mut chunks = Vec::with_capacity(results.len());
        for (k, r) in results.into_iter().enumerate() {
            match r {
                Ok(c) => chunks.push(c),
                Err((line, msg)) => {
                    // Line numbers of earlier chunks are only needed now.
                    let before: usize = ranges[..k]
                        .iter()
                        .map(|&(a, b)| bytes[a..b].iter().filter(|&&c| c == b'\n').count())
                        .sum();
                    return Err(Error::parse(self.path, self.next_line + before + line, msg));
                }
            }
        }
        for c in chunks {
            if c.max_col > self.cols {
                self.widest_line = self.next_line + c.max_col_line;
            }
            self.next_line += c.lines;
            let ids: Vec<u32> = c.labels.iter().map(|l| self.labels.intern(l)).collect();
            let held = self.held() - capacity_bytes(&self.y);
            self.budget
                .reserve(&mut self.y, c.label_ids.len(), held)
                .map_err(|m| self.too_large(m))?;
            self.y.extend(c.label_ids.iter().map(|&k| ids[k as usize]));
            self.cols = self.cols.max(c.max_col);
            self.nnz += c.rows.indices.len();
            let mut rows = c.rows;
            if rows.row_nnz.is_empty() {
                // Blank lines or comments only: nothing to keep, the memory is reused.
                self.spare.push(rows);
                continue;
            }
            // Pieces kept whole (while the data looks dense) give back what their
            // reservation did not use.
            if rows.indices.len() < rows.indices.capacity() / 2 {
                rows.indices.shrink_to_fit();
                rows.values.shrink_to_fit();
            }
            self.pieces.push(rows);
        }
        if !self.pieces.is_empty() && !self.looks_dense() {
            self.merge_pieces()?;
        }
        Ok(())
    }

    /// Appends the pending pieces to the CSR arrays, freeing each after its copy; the
    /// arrays grow within the budget.
    fn merge_pieces(&mut self) -> Result<()> {
        for mut piece in std::mem::take(&mut self.pieces) {
            // Each array grows with everything else held counted, the piece included.
            let (rows, nnz, piece_bytes) =
                (piece.row_nnz.len(), piece.indices.len(), piece.bytes());
            let h = self.held() + piece_bytes - capacity_bytes(&self.indptr);
            let r = self.budget.reserve(&mut self.indptr, rows, h);
            r.map_err(|m| self.too_large(m))?;
            let h = self.held() + piece_bytes - capacity_bytes(&self.indices);
            let r = self.budget.reserve(&mut self.indices, nnz, h);
            r.map_err(|m| self.too_large(m))?;
            let h = self.held() + piece_bytes - capacity_bytes(&self.values);
            let r = self.budget.reserve(&mut self.values, nnz, h);
            r.map_err(|m| self.too_large(m))?;
            let mut end = *self.indptr.last().unwrap();
            self.indptr.extend(piece.row_nnz.iter().map(|&k| {
                end += k as usize;
                end
            }));
            self.indices.extend_from_slice(&piece.indices);
            self.values.extend_from_slice(&piece.values);
            // One block's worth is all the next block can reuse; pieces kept while the data
            // looked dense and merged now are freed instead of hoarded.
            if self.spare.len() <= BLOCK_BYTES / CHUNK_BYTES {
                piece.row_nnz.clear();
                piece.indices.clear();
                piece.values.clear();
                self.spare.push(piece);
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Dataset> {
        if self.y.is_empty() && !self.empty_ok {
            return Err(Error::bad_file(
                self.path,
                "no data rows (only comments or blank lines)",
            ));
        }
        const WIDE: usize = 1 << 20;
        if !self.wide_indices && self.cols > WIDE && self.cols / 16 > self.nnz {
            return Err(Error::parse(
                self.path,
                self.widest_line,
                format!(
                    "feature index {} makes {} features for {} stored values in the whole file (a stray index?); if it is real, set max-features above it",
                    self.cols - 1 + usize::from(!self.zero_based),
                    self.cols,
                    self.nnz
                ),
            ));
        }
        // Dense storage only where it fits beside what is held; else the rows stay sparse.
        self.spare = Vec::new();
        let dense_bytes = (self.y.len() as u64)
            .saturating_mul(self.cols as u64)
            .saturating_mul(4);
        let dense = self.looks_dense() && self.check_room(dense_bytes).is_ok();
        let x = if dense && self.indptr.len() == 1 {
            Features::Dense(pieces_to_dense(
                std::mem::take(&mut self.pieces),
                self.y.len(),
                self.cols,
            ))
        } else {
            self.merge_pieces()?;
            let csr = CsrMatrix::new(self.cols, self.indptr, self.indices, self.values);
            if dense {
                Features::Dense(Features::Sparse(csr).to_dense())
            } else {
                Features::Sparse(csr)
            }
        };
        let (classes, remap) = self.labels.finish_classes();
        Ok(Dataset {
            x,
            y: self.y.into_iter().map(|k| remap[k as usize]).collect(),
            classes,
            weights: None,
            feature_names: None,
        })
    }
}

/// Scatters the pieces' rows into a zeroed dense matrix, in parallel, dropping each piece
/// once copied (so memory holds the dense matrix plus the pieces not yet copied).
fn pieces_to_dense(pieces: Vec<Piece>, rows: usize, cols: usize) -> DenseMatrix {
    let mut data = vec![0f32; rows * cols];
    let mut parts: Vec<(&mut [f32], Piece)> = Vec::with_capacity(pieces.len());
    let mut rest: &mut [f32] = &mut data;
    for piece in pieces {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(piece.row_nnz.len() * cols);
        parts.push((head, piece));
        rest = tail;
    }
    parts.into_par_iter().for_each(|(out, piece)| {
        let mut k = 0;
        for (row, &nnz) in out.chunks_mut(cols.max(1)).zip(&piece.row_nnz) {
            let nnz = nnz as usize;
            for (&j, &v) in piece.indices[k..k + nnz]
                .iter()
                .zip(&piece.values[k..k + nnz])
            {
                row[j as usize] = v;
            }
            k += nnz;
        }
    });
    DenseMatrix::from_parts(rows, cols, data)
}

#[inline]
fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\r' || b == 0x0b || b == 0x0c
}

/// A label spelling → chunk-local id, by linear search while there are few (the usual
/// case: a handful of classes), by hash beyond that.
#[derive(Default)]
struct LocalLabels<'a> {
    names: Vec<&'a str>,
    index: HashMap<&'a [u8], u32>,
}

impl<'a> LocalLabels<'a> {
    const LINEAR: usize = 32;

    fn id(&mut self, raw: &'a [u8]) -> std::result::Result<u32, String> {
        if self.names.len() <= Self::LINEAR {
            if let Some(k) = self.names.iter().position(|n| n.as_bytes() == raw) {
                return Ok(k as u32);
            }
        } else if let Some(&k) = self.index.get(raw) {
            return Ok(k);
        }
        let name = std::str::from_utf8(raw).map_err(|_| "label is not valid UTF-8".to_string())?;
        check_label(name)?;
        check_not_multilabel(name)?;
        let k = self.names.len() as u32;
        self.names.push(name);
        if self.names.len() > Self::LINEAR {
            if self.index.is_empty() {
                self.index.extend(
                    self.names
                        .iter()
                        .enumerate()
                        .map(|(i, n)| (n.as_bytes(), i as u32)),
                );
            } else {
                self.index.insert(raw, k);
            }
        }
        Ok(k)
    }
}

/// Refuses LIBSVM's multi-label spelling (`1,3 1:0.5 ...`: the row has labels 1 and 3),
/// which would otherwise read as one class named "1,3".
fn check_not_multilabel(name: &str) -> std::result::Result<(), String> {
    let list = name.contains(',') && name.split(',').all(|p| p.trim().parse::<f64>().is_ok());
    if list {
        return Err(format!(
            "label {} is a list of labels (LIBSVM's multi-label format); sigmax fits one label per row: keep one, or train one binary model per label",
            excerpt(name)
        ));
    }
    Ok(())
}

/// Parses one chunk of whole lines in a single pass. An error is (line within the chunk,
/// 0-based; message).
fn parse_chunk(
    text: &[u8],
    mut rows: Piece,
    zero_based: bool,
    max_features: usize,
) -> std::result::Result<Chunk<'_>, (usize, String)> {
    // A feature token takes at least 4 bytes ("1:1 "); most take 8 or more.
    rows.indices.reserve(text.len() / 8);
    rows.values.reserve(text.len() / 8);
    let mut c = Chunk {
        label_ids: vec![],
        labels: vec![],
        rows,
        max_col: 0,
        max_col_line: 0,
        lines: 0,
    };
    let mut labels = LocalLabels::default();
    let offset = if zero_based { 0u64 } else { 1u64 };
    let n = text.len();
    let b = text;
    // Token ends: whitespace, the end of the line, a comment.
    let ends = |x: u8| is_space(x) || x == b'\n' || x == b'#';
    let skip_line = |p: usize| b[p..].iter().position(|&x| x == b'\n').map_or(n, |e| p + e);
    let mut p = 0;
    let mut line = 0;
    while p < n {
        let err = move |msg: String| (line, msg);
        while p < n && is_space(b[p]) {
            p += 1;
        }
        if p < n && b[p] == b'#' {
            p = skip_line(p);
        }
        if p == n || b[p] == b'\n' {
            p += 1;
            line += 1;
            continue;
        }
        let label_start = p;
        while p < n && !ends(b[p]) {
            p += 1;
        }
        let raw_label = &b[label_start..p];
        if raw_label.contains(&b':') {
            let shown = String::from_utf8_lossy(raw_label);
            return Err(err(format!(
                "row starts with {}; expected a label before the features",
                excerpt(&shown)
            )));
        }
        let label = labels.id(raw_label).map_err(err)?;
        let start = c.rows.indices.len();
        let mut prev: Option<u64> = None;
        loop {
            while p < n && is_space(b[p]) {
                p += 1;
            }
            if p == n || b[p] == b'\n' {
                break;
            }
            if b[p] == b'#' {
                p = skip_line(p);
                break;
            }
            let tok_start = p;
            // The whole token, for error messages only.
            let show = || {
                let end = b[tok_start..]
                    .iter()
                    .position(|&x| is_space(x) || x == b'\n')
                    .map_or(n, |e| tok_start + e);
                excerpt(&String::from_utf8_lossy(
                    &b[tok_start..end.min(tok_start + 200)],
                ))
            };
            if b[p..].starts_with(b"qid:") {
                while p < n && !ends(b[p]) {
                    p += 1;
                }
                continue;
            }
            let mut idx: u64 = 0;
            let mut overflow = false;
            while p < n && b[p].is_ascii_digit() {
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
            if p == n || b[p] != b':' {
                let t = show();
                return Err(err(if t.contains(':') {
                    format!("bad feature index in {t}")
                } else {
                    format!("token {t} is not index:value")
                }));
            }
            if p == tok_start {
                return Err(err(format!("token {} has no feature index", show())));
            }
            if overflow {
                return Err(err(format!("bad feature index in {}", show())));
            }
            p += 1; // ':'
            if p == n || ends(b[p]) {
                return Err(err(format!("token {} has no value", show())));
            }
            let (v, used) = fast_float2::parse_partial::<f32, _>(&b[p..])
                .map_err(|_| err(format!("bad value in {}", show())))?;
            p += used;
            if p < n && !ends(b[p]) {
                return Err(err(format!("bad value in {}", show())));
            }
            if !v.is_finite() {
                return Err(err(format!("value in {} is not finite", show())));
            }
            if idx < offset {
                return Err(err(format!(
                    "feature index {idx} in {}: indices are 1-based (use 0-based mode for index 0)",
                    show()
                )));
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
            c.rows.indices.push(col as u32);
            c.rows.values.push(v);
        }
        if let Some(&last) = c.rows.indices[start..].last() {
            if last as usize + 1 > c.max_col {
                c.max_col = last as usize + 1;
                c.max_col_line = line;
            }
        }
        c.label_ids.push(label);
        c.rows.row_nnz.push((c.rows.indices.len() - start) as u32);
        // p is at the line's '\n' (or the end of the text).
        p += 1;
        line += 1;
    }
    c.lines = line;
    c.labels = labels.names;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Dataset> {
        parse_libsvm(text.as_bytes(), Path::new("t.svm"), false, 1000)
    }

    /// Through the streaming reader, with the dense conversion.
    fn read(text: &str, dense_above: f64) -> Dataset {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.svm");
        std::fs::write(&path, text).unwrap();
        read_libsvm(
            &path,
            &LoadOptions {
                dense_above,
                ..LoadOptions::default()
            },
        )
        .unwrap()
    }

    fn err_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn shares_partition_the_rows_and_count_the_lines() {
        let text = "+1 1:1\n\n-1 2:1 # c\n+1 1:2 3:1\n-1 3:4\n+1 2:2";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.svm");
        std::fs::write(&path, text).unwrap();
        let whole = read_libsvm(&path, &LoadOptions::default()).unwrap();
        for parts in [1, 2, 3, 7, 40] {
            let (mut rows, mut lines) = (0, 0);
            for part in 0..parts {
                let (d, n) =
                    read_libsvm_share(&path, &LoadOptions::default(), part, parts).unwrap();
                rows += d.n_rows();
                lines += n;
            }
            assert_eq!((rows, lines), (whole.n_rows(), 6), "{parts} parts");
        }
    }

    #[test]
    fn one_stray_index_is_refused_unless_wide_indices_are_allowed() {
        let text = "+1 1:1\n-1 2:1\n+1 5000000:1\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.svm");
        std::fs::write(&path, text).unwrap();
        let e = read_libsvm(&path, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("w.svm:3:") && e.contains("feature index 5000000") && e.contains("stray"),
            "{e}"
        );
        let wide = LoadOptions {
            wide_indices: true,
            ..LoadOptions::default()
        };
        assert_eq!(read_libsvm(&path, &wide).unwrap().n_features(), 5_000_000);
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

    #[test]
    fn comments_may_touch_tokens() {
        let d = parse("1 1:0.5#c\n2#c\n-1 2:1 #c 3:5\n").unwrap();
        assert_eq!(d.n_rows(), 3);
        assert_eq!(d.n_features(), 2);
        assert_eq!(d.x.row(0).dot(&[1.0, 1.0]), 0.5);
        assert_eq!(d.x.row(1).dot(&[1.0, 1.0]), 0.0);
        assert_eq!(d.x.row(2).dot(&[1.0, 1.0]), 1.0);
    }

    #[test]
    fn many_distinct_labels_keep_their_rows() {
        // More distinct labels than the linear-search table holds, over several chunks.
        let rows = 2 * CHUNK_BYTES / 12;
        let text: String = (0..rows)
            .map(|i| format!("c{} 1:1\n", (i * 7) % 50))
            .collect();
        let d = parse(&text).unwrap();
        assert_eq!(d.classes.len(), 50);
        for i in [0, 1, 49, rows / 2, rows - 1] {
            assert_eq!(d.label(i), format!("c{}", (i * 7) % 50));
        }
    }

    #[test]
    fn dense_enough_files_are_stored_densely_with_the_same_values() {
        let text = "1 1:0.5 2:1 3:-1\n-1 2:2\n1 1:1 3:4\n";
        let csr = parse(text).unwrap();
        let dense = read(text, 0.25);
        assert!(matches!(dense.x, Features::Dense(_)));
        assert_eq!(dense.x.to_sparse(), csr.x.to_sparse());
        assert_eq!(
            (dense.y.clone(), dense.classes.clone()),
            (csr.y.clone(), csr.classes.clone())
        );
        let sparse = read(text, 0.9);
        assert!(matches!(sparse.x, Features::Sparse(_)));
        assert_eq!(sparse.x, csr.x);
        let empty = tempfile::NamedTempFile::new().unwrap();
        let e = read_libsvm(empty.path(), &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("the file is empty"), "{e}");
    }

    #[test]
    fn blocks_that_stop_looking_dense_are_merged_and_still_right() {
        // Block 1 is dense (kept as pieces), block 2 is wide and sparse (merged), then
        // block 3 is dense again; the result equals parsing everything at once.
        let blocks = ["1 1:1 2:2\n-1 1:3 2:4\n", "1 900:1\n", "-1 1:5 2:6\n"];
        for dense_above in [0.25, 1e-4] {
            let mut b = Builder::new(Path::new("t"), false, 1000, dense_above);
            for blk in blocks {
                b.add_block(blk.as_bytes()).unwrap();
            }
            let got = b.finish().unwrap();
            let want = parse(&blocks.concat()).unwrap();
            assert_eq!(
                got.x.to_sparse(),
                want.x.to_sparse(),
                "dense_above {dense_above}"
            );
            assert_eq!(got.y, want.y);
            assert_eq!(matches!(got.x, Features::Dense(_)), dense_above < 0.01);
        }
    }
}
