//! Training on rows spread over several processes, whatever carries their messages: the
//! [`Collective`] seam (MPI in the command line, threads of one process in
//! [`InProcess`], a network backend behind the same trait), and what the processes must
//! agree on before they fit ([`agreement`]): the first error of any of them, the classes
//! and the number of features, the rows at the edges of their shares (so that each holds
//! whole blocks of rows and P processes find the model of one, bit for bit), a CSV
//! header. [`Reducing`] lets a fit's passes sum through a collective
//! ([`crate::train::train_over`]).
//!
//! Every operation returns a `Result`: a lost peer is an error on the process that sees
//! it, never a panic. The passes of a fit cannot return one, so [`Reducing`] keeps the
//! first failure, leaves the sums alone from then on, and [`train_collective`] stops the
//! fit at its next iteration with that error.

pub mod agreement;
mod in_process;
mod tcp;
mod wire;

pub use in_process::InProcess;
pub use tcp::{Listening, TcpCollective};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::solver::{IterRecord, Observer};
use crate::solver::{PreconditionerChoice, SolverChoice};
use crate::sum::Reducer;
use crate::train::{train_over_in_place, TrainOptions, Trained};
use std::ops::ControlFlow;
use std::sync::Mutex;

/// The messages that P processes (ranks 0..P) of one fit exchange. Every process calls
/// the same operations in the same order; each returns once all of them have called it
/// (`send` may return earlier). `broadcast` and `barrier` are built on `all_gather`.
pub trait Collective: Sync {
    /// This process's rank, 0..size.
    fn rank(&self) -> usize;
    /// How many processes take part.
    fn size(&self) -> usize;
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

    fn failed(&self) -> bool {
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

/// The options of a fit spread over processes: only the solvers that see the data
/// through the objective's passes (Newton, L-BFGS, GD, OWL-QN; SGD, SAGA and dual CD walk
/// the rows themselves), `auto` resolved among them, and Newton's sampled-Hessian
/// preconditioner (drawn from each process's own rows, so different on each) replaced by
/// the diagonal one, a pass like any other. The same whatever the number of processes,
/// so that P processes find the model of one.
pub fn distributed_options(
    data: &Dataset,
    opts: &TrainOptions,
    reducer: &dyn Reducer,
) -> Result<TrainOptions> {
    let mut opts = opts.clone();
    opts.validate()?;
    let kind = opts.resolve_model(data.classes.len())?;
    let n_rows = crate::sum::global_rows(reducer, data.n_rows());
    let solver = opts.resolve_solver(kind, &data.x, n_rows as f64, false);
    if !matches!(
        solver,
        SolverChoice::Newton | SolverChoice::Lbfgs | SolverChoice::Gd | SolverChoice::OwlQn
    ) {
        return Err(Error::Unsupported(format!(
            "solver {} walks the rows itself and cannot run distributed; use newton, lbfgs, gd or owlqn (the hinge SVM needs dual-cd: use the squared-hinge SVM)",
            solver.name()
        )));
    }
    opts.solver = solver;
    if matches!(
        opts.preconditioner,
        PreconditionerChoice::Auto | PreconditionerChoice::SampledHessian
    ) {
        opts.preconditioner = PreconditionerChoice::Diagonal;
    }
    Ok(opts)
}

/// [`train_over_in_place`] through `collective`, on this process's rows already laid out
/// by [`agreement::agree_on_data`], with [`distributed_options`]: every process calls it
/// with the same options and gets the same model. A failure of the collective stops the
/// fit at its next iteration and is the result; so is a disagreement on the objective
/// (the processes would hold different models).
pub fn train_collective(
    data: &mut Dataset,
    opts: &TrainOptions,
    mut observer: Option<Observer>,
    collective: &dyn Collective,
) -> Result<Trained> {
    let reducing = Reducing::new(collective);
    let opts = &distributed_options(data, opts, &reducing)?;
    let mut watch = |record: &IterRecord| {
        if reducing.failed() {
            return ControlFlow::Break(());
        }
        match observer.as_mut() {
            Some(o) => o(record),
            None => ControlFlow::Continue(()),
        }
    };
    let fit = train_over_in_place(data, opts, Some(&mut watch), &reducing);
    if let Some(e) = reducing.failure() {
        return Err(e);
    }
    let fit = fit?;
    let bits = fit.report.objective.to_bits();
    let mut span = [bits, u64::MAX - bits];
    collective.max(&mut span)?;
    if span[0] != bits || u64::MAX - span[1] != bits {
        return Err(peer_error(
            collective,
            format!(
                "the processes disagree on the objective (this one's: {} after {} iterations of {}: {}); every one must hold the same model",
                fit.report.objective, fit.report.iterations, fit.report.solver, fit.report.stop_reason
            ),
        ));
    }
    Ok(fit)
}
