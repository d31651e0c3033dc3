//! What the processes of a distributed fit agree on before they fit, through a
//! [`Collective`]: any process's error becomes every process's, the classes and the
//! number of features become global, the CSV header is one, and the rows at the edges
//! of the shares move so that every process holds whole blocks of rows (the blocks that
//! [`crate::sum`] sums exactly: P processes then find the model of one, bit for bit).

use super::{peer_error, Collective};
use crate::data::{decode_cache, encode_dataset, Dataset};
use crate::error::{Error, Result};

/// `Ok` on every process, or the first failing process's error (in rank order) on all of
/// them, as [`Error::Peer`] naming that process.
pub fn agree<T>(c: &dyn Collective, result: Result<T>) -> Result<T> {
    let message = match &result {
        Ok(_) => Vec::new(),
        // (A peer error already names its process: its message alone.)
        Err(Error::Peer { message, .. }) => message.clone().into_bytes(),
        Err(e) => e.to_string().into_bytes(),
    };
    let failures = c.all_gather(&message)?;
    match failures.iter().position(|m| !m.is_empty()) {
        Some(first) if first == c.rank() => result,
        Some(first) => Err(Error::Peer {
            rank: first,
            size: c.size(),
            message: String::from_utf8_lossy(&failures[first]).into_owned(),
        }),
        None => result,
    }
}

/// Every process's count, in rank order.
pub fn gather_counts(c: &dyn Collective, mine: u64) -> Result<Vec<u64>> {
    c.all_gather(&mine.to_le_bytes())?
        .iter()
        .map(|b| {
            b.as_slice()
                .try_into()
                .map(u64::from_le_bytes)
                .map_err(|_| peer_error(c, "a count of the wrong size".into()))
        })
        .collect()
}

/// The global shape of the data spread over the processes.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalShape {
    /// Every process's classes, as one sorted list.
    pub classes: Vec<String>,
    /// The widest process's number of features.
    pub n_features: usize,
    /// Rows on each process before [`align_to_blocks`], in rank order.
    pub rows: Vec<u64>,
}

impl GlobalShape {
    pub fn n_rows(&self) -> u64 {
        self.rows.iter().sum()
    }
}

/// This process's share of the rows (or the error reading it) laid out for the fit: the
/// first error of any process stops all of them; then the classes and the features are
/// made global ([`Dataset::with_global_shape`]) and the rows aligned to blocks
/// ([`align_to_blocks`]). Every process calls it with its own share.
pub fn agree_on_data(c: &dyn Collective, share: Result<Dataset>) -> Result<(Dataset, GlobalShape)> {
    let data = agree(c, share)?;
    let rows = gather_counts(c, data.n_rows() as u64)?;
    let all_names: Vec<String> = c
        .all_gather(data.classes.join("\0").as_bytes())?
        .iter()
        .flat_map(|b| {
            String::from_utf8_lossy(b)
                .split('\0')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let classes = Dataset::union_of_classes(&all_names);
    let mut width = [data.n_features() as u64];
    c.max(&mut width)?;
    let n_features = width[0] as usize;
    let data = agree(c, data.with_global_shape(&classes, n_features))?;
    let data = align_to_blocks(c, data, &rows)?;
    let shape = GlobalShape {
        classes,
        n_features,
        rows,
    };
    Ok((data, shape))
}

/// Moves the rows at the edges of the shares to the process before, so that every
/// process holds whole blocks of [`crate::sum::block_rows`]`(n)` rows (in rank order):
/// its sums are then the blocks' sums one process would add. Rows only move to lower
/// ranks, less than one block per process; a process may end up with none (fewer blocks
/// than processes). `rows`: every process's rows, in rank order.
pub fn align_to_blocks(c: &dyn Collective, data: Dataset, rows: &[u64]) -> Result<Dataset> {
    let (rank, size) = (c.rank(), c.size());
    let mut starts = vec![0usize];
    for &r in rows {
        starts.push(starts.last().unwrap() + r as usize);
    }
    let n = starts[size];
    let block = crate::sum::block_rows(n);
    // Process q holds rows targets[q]..targets[q + 1] afterwards.
    let targets: Vec<usize> = (0..=size)
        .map(|q| match q {
            0 => 0,
            q if q == size => n,
            q => starts[q].next_multiple_of(block).min(n),
        })
        .collect();
    let overlap = |a: usize, b: usize, q: usize| a.max(targets[q])..b.min(targets[q + 1]);
    let (mine, end) = (starts[rank], starts[rank + 1]);
    let local = |r: std::ops::Range<usize>| (r.start - mine..r.end - mine).collect::<Vec<_>>();
    for q in 0..rank {
        let give = overlap(mine, end, q);
        if !give.is_empty() {
            c.send(q, &encode_dataset(&data.select(&local(give))))?;
        }
    }
    // Most processes keep all their rows: then no copy (the data can be most of memory).
    let keep = overlap(mine, end, rank);
    let kept = if keep == (mine..end) {
        data
    } else {
        data.select(&local(keep))
    };
    let mut parts = vec![kept];
    for r in rank + 1..size {
        if !overlap(starts[r], starts[r + 1], rank).is_empty() {
            let bytes = c.receive(r)?;
            let part = decode_cache(&bytes)
                .map_err(|e| peer_error(c, format!("rows from process {r}: {e}")))?;
            parts.push(part);
        }
    }
    Dataset::concat(parts)
}

/// CSV shares joined by column, not by position: with headers, every share must name the
/// same columns (each process puts its columns in process 0's order); without, every
/// share must have as many columns. `share(r)` names process r's file in the messages.
pub fn agree_on_columns(
    c: &dyn Collective,
    data: Dataset,
    share: &dyn Fn(usize) -> String,
) -> Result<Dataset> {
    let mine = format!(
        "{}\0{}",
        data.n_features(),
        data.feature_names.as_deref().unwrap_or_default().join("\0")
    );
    let all: Vec<(usize, Option<Vec<String>>)> = c
        .all_gather(mine.as_bytes())?
        .iter()
        .map(|b| {
            let text = String::from_utf8_lossy(b);
            let mut parts = text.split('\0');
            let width = parts.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            let names: Vec<String> = parts.map(str::to_string).collect();
            (width, (names.len() == width && width > 0).then_some(names))
        })
        .collect();
    let (width0, names0) = &all[0];
    for (r, (width, names)) in all.iter().enumerate().skip(1) {
        let problem = match (names0, names) {
            (Some(_), None) | (None, Some(_)) => {
                let (with, without) = if names0.is_some() { (0, r) } else { (r, 0) };
                Some(format!(
                    "{} has a header and {} has none: give every process's file a header, or none",
                    share(with),
                    share(without)
                ))
            }
            (None, None) if width != width0 => Some(format!(
                "{} has {width} feature columns, {} has {width0}: every process's file needs the same columns",
                share(r),
                share(0)
            )),
            _ => None,
        };
        if let Some(message) = problem {
            return Err(peer_error(c, message));
        }
    }
    let result = match names0 {
        Some(names) => data
            .with_features_named(names)
            .map_err(|e| peer_error(c, format!("{} against {}: {e}", share(c.rank()), share(0)))),
        None => Ok(data),
    };
    agree(c, result)
}
