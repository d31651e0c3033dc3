//! Training on rows spread over several processes, whatever carries their messages: the
//! [`Collective`] seam (MPI in the command line, threads of one process in
//! [`InProcess`], a network backend behind the same trait), and what the processes must
//! agree on before they fit ([`agreement`]): the first error of any of them, the classes
//! and the number of features, the rows at the edges of their shares (so that each holds
//! whole blocks of rows and P processes find the model of one, bit for bit), a CSV
//! header. [`Reducing`] lets a fit's passes sum through a collective; [`Counted`]
//! counts what they send. The fit itself is [`crate::fit::fit`].
//!
//! Every operation returns a `Result`: a lost peer is an error on the process that sees
//! it, never a panic. The passes of a fit cannot return one, so [`Reducing`] keeps the
//! first failure, leaves the sums alone from then on, and [`crate::fit::fit`] stops the
//! fit at its next iteration with that error.

pub mod agreement;
mod counted;
mod in_process;
mod shares;
mod tcp;
mod wire;

pub use counted::{Counted, Traffic, SMALL_REDUCTION};
pub use in_process::InProcess;
pub use shares::{Share, Shares};
pub use tcp::{Listening, TcpCollective};

use crate::error::{Error, Result};
use crate::sum::Reducer;
use std::sync::Mutex;

/// The messages that P processes (ranks 0..P) of one fit exchange. Every process calls
/// the same operations in the same order; each returns once all of them have called it
/// (`send` may return earlier). `broadcast` and `barrier` are built on `all_gather`.
pub trait Collective: Sync {
    /// This process's rank, 0..size.
    fn rank(&self) -> usize;
    /// How many processes take part.
    fn size(&self) -> usize;
    /// True for [`Alone`] only: the fit is not spread, and may use any solver (a
    /// collective of one process fits as P processes would, bit for bit).
    fn is_alone(&self) -> bool {
        false
    }
    /// Replaces `v` with the element-wise sum of every process's `v`. The library sums
    /// through here only numbers whose sum is exact in any order (counts, and the bins
    /// of [`crate::sum::Binned`] sums), so every process gets the same bits.
    fn sum(&self, v: &mut [f64]) -> Result<()>;
    /// Replaces `v` with the element-wise maximum of every process's `v`.
    fn max(&self, v: &mut [u64]) -> Result<()>;
    /// Every process's bytes, in rank order.
    fn all_gather(&self, mine: &[u8]) -> Result<Vec<Vec<u8>>>;
    /// Sends `bytes` to process `to`, to be taken by its `receive(self.rank())`.
    fn send(&self, to: usize, bytes: &[u8]) -> Result<()>;
    /// The next bytes process `from` sent to this one.
    fn receive(&self, from: usize) -> Result<Vec<u8>>;
    /// Process `root`'s bytes on every process (the others' `bytes` are ignored).
    fn broadcast(&self, root: usize, bytes: &[u8]) -> Result<Vec<u8>> {
        let mine = if self.rank() == root { bytes } else { &[] };
        let mut all = self.all_gather(mine)?;
        if root >= all.len() {
            return Err(Error::Peer {
                rank: self.rank(),
                size: self.size(),
                message: format!("no process {root} to broadcast from"),
            });
        }
        Ok(all.swap_remove(root))
    }
    /// Returns once every process has called it.
    fn barrier(&self) -> Result<()> {
        self.all_gather(&[]).map(drop)
    }
}

/// One process holding every row: nothing is exchanged.
#[derive(Debug, Clone, Copy, Default)]
pub struct Alone;

impl Collective for Alone {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn is_alone(&self) -> bool {
        true
    }
    fn sum(&self, _v: &mut [f64]) -> Result<()> {
        Ok(())
    }
    fn max(&self, _v: &mut [u64]) -> Result<()> {
        Ok(())
    }
    fn all_gather(&self, mine: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(vec![mine.to_vec()])
    }
    fn send(&self, to: usize, _bytes: &[u8]) -> Result<()> {
        Err(peer_error(self, format!("no process {to} to send to")))
    }
    fn receive(&self, from: usize) -> Result<Vec<u8>> {
        Err(peer_error(
            self,
            format!("no process {from} to receive from"),
        ))
    }
}

/// An error of the collective itself (a lost or refusing peer), said by this process.
pub fn peer_error(c: &dyn Collective, message: String) -> Error {
    Error::Peer {
        rank: c.rank(),
        size: c.size(),
        message,
    }
}

/// A fit's [`Reducer`] over a collective: the first failure is kept (see
/// [`Reducing::failure`]) and every later sum is left as it is.
pub struct Reducing<'c> {
    collective: &'c dyn Collective,
    failure: Mutex<Option<Error>>,
}

impl<'c> Reducing<'c> {
    pub fn new(collective: &'c dyn Collective) -> Self {
        Reducing {
            collective,
            failure: Mutex::new(None),
        }
    }

    /// The first failure, if any (taken: a second call gives `None`).
    pub fn failure(&self) -> Option<Error> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    pub(crate) fn failed(&self) -> bool {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn keep(&self, result: Result<()>) {
        if let Err(e) = result {
            let mut slot = self.failure.lock().unwrap_or_else(|e| e.into_inner());
            slot.get_or_insert(e);
        }
    }
}

impl Reducer for Reducing<'_> {
    fn sum(&self, partial: &mut [f64]) {
        if !self.failed() {
            self.keep(self.collective.sum(partial));
        }
    }

    fn max_index(&self, partial: &mut [i32]) {
        if self.failed() {
            return;
        }
        // i32 → u64 keeping the order (i32::MIN, an empty sum's index, is the least).
        let shift = i64::from(i32::MIN);
        let mut v: Vec<u64> = partial
            .iter()
            .map(|&i| (i64::from(i) - shift) as u64)
            .collect();
        let result = self.collective.max(&mut v);
        if result.is_ok() {
            for (p, m) in partial.iter_mut().zip(v) {
                *p = (m as i64 + shift) as i32;
            }
        }
        self.keep(result);
    }

    fn is_local(&self) -> bool {
        self.collective.size() == 1
    }
}
