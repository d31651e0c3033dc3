//! Each process of a distributed fit reads only its share of the rows from files:
//! `DATA.0`, `DATA.1`, … when those exist (one file per process, any format, with
//! `W.0`, `W.1`, … for weights), else the lines of the LIBSVM file `DATA` that start in
//! its 1/P of the bytes (through a cache of that share when asked; the weight file `W`
//! then gives each process the rows of its share). The first error of any process, with
//! its line counted in the whole file, stops all of them; then the shares are laid out
//! for the fit ([`agree_on_data`]).

use super::agreement::{agree, agree_on_columns, agree_on_data, gather_counts, GlobalShape};
use super::Collective;
use crate::data::{
    load, load_cached, load_share_cached, read_libsvm_share, read_weights, read_weights_range,
    CacheUse, Dataset, Format, LoadOptions,
};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Where the processes' rows are.
#[derive(Debug, Clone)]
pub struct Shares {
    /// `DATA`: the whole file, or the stem of the per-process files `DATA.k`.
    pub data: PathBuf,
    /// How to read them (the format resolved for `DATA`'s name).
    pub load: LoadOptions,
    /// Sample weights: `W` (rows of the whole) or the stem of `W.k`.
    pub weights: Option<PathBuf>,
    /// Read and write each share's binary cache.
    pub cache: bool,
}

/// This process's rows laid out for the fit, the global shape, and what its cache did
/// (`None` without a cache).
pub struct Share {
    pub data: Dataset,
    pub shape: GlobalShape,
    pub cache: Option<CacheUse>,
}

impl Shares {
    /// Process `rank`'s file when the data are one file per process.
    pub fn file_of(&self, rank: usize) -> PathBuf {
        numbered(&self.data, rank)
    }

    /// One file per process (`DATA.0` exists, `DATA` does not).
    pub fn per_process(&self) -> bool {
        self.file_of(0).exists() && !self.data.exists()
    }

    /// Reads this process's share and lays it out with every other process's.
    pub fn read(&self, c: &dyn Collective) -> Result<Share> {
        let (rank, size) = (c.rank(), c.size());
        let per_process = self.per_process();
        let mut cache = None;
        let read = if per_process {
            self.read_own_file(rank, &mut cache).map(|d| (d, 0))
        } else {
            self.read_byte_share(rank, size, &mut cache)
        };
        let lines = gather_counts(c, read.as_ref().map_or(0, |r| r.1) as u64)?;
        // Lines are counted from the share's start; the shares before it hold `before`
        // lines (all of them were read: this is the first failure).
        let before = lines[..rank].iter().sum::<u64>() as usize;
        let data = agree(
            c,
            read.map(|r| r.0).map_err(|e| match e {
                Error::Parse {
                    path,
                    line,
                    message,
                } => Error::Parse {
                    path,
                    line: line + before,
                    message,
                },
                e => e,
            }),
        )?;
        let data = match (&self.weights, per_process) {
            (Some(file), false) => {
                let rows = gather_counts(c, data.n_rows() as u64)?;
                let before = rows[..rank].iter().sum::<u64>() as usize;
                let total = rows.iter().sum::<u64>() as usize;
                let keep = before..before + data.n_rows();
                let weighted = read_weights_range(file, total, keep)
                    .and_then(|w| data.with_weights(w))
                    .map_err(|e| in_file(file, e));
                agree(c, weighted)?
            }
            _ => data,
        };
        let data = if per_process && self.load.format == Some(Format::Csv) {
            let name = |r: usize| self.file_of(r).display().to_string();
            agree_on_columns(c, data, &name)?
        } else {
            data
        };
        let (data, shape) = agree_on_data(c, Ok(data))?;
        Ok(Share { data, shape, cache })
    }

    fn read_own_file(&self, rank: usize, cache: &mut Option<CacheUse>) -> Result<Dataset> {
        let file = self.file_of(rank);
        let data = if self.cache {
            let (d, used) = load_cached(&file, &self.load)?;
            *cache = Some(used);
            d
        } else {
            load(&file, &self.load)?
        };
        match &self.weights {
            Some(w) => {
                let w = numbered(w, rank);
                read_weights(&w, data.n_rows())
                    .and_then(|v| data.with_weights(v))
                    .map_err(|e| in_file(&w, e))
            }
            None => Ok(data),
        }
    }

    fn read_byte_share(
        &self,
        rank: usize,
        size: usize,
        cache: &mut Option<CacheUse>,
    ) -> Result<(Dataset, usize)> {
        if self.load.format != Some(Format::Libsvm) {
            let d = self.data.display();
            return Err(Error::Unsupported(format!(
                "{d}: only LIBSVM files are split by bytes; give one file per process ({d}.0, {d}.1, …)"
            )));
        }
        if self.cache {
            let (d, lines, used) = load_share_cached(&self.data, &self.load, rank, size)?;
            *cache = Some(used);
            Ok((d, lines))
        } else {
            read_libsvm_share(&self.data, &self.load, rank, size)
        }
    }
}

fn numbered(path: &Path, rank: usize) -> PathBuf {
    PathBuf::from(format!("{}.{rank}", path.display()))
}

/// An error about a weight file that does not name it already.
fn in_file(file: &Path, e: Error) -> Error {
    match e {
        e @ (Error::Parse { .. } | Error::Io { .. }) => e,
        e => Error::Unsupported(format!("{}: {e}", file.display())),
    }
}
