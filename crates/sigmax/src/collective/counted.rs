//! What a fit communicates, whatever the backend: [`Counted`] wraps a [`Collective`] and
//! counts its sums and maxima (the fit's per-iteration traffic), their bytes and the time
//! spent in them (waiting for the slowest process included, as a user would see it).

use super::Collective;
use crate::error::Result;
use std::sync::Mutex;
use std::time::Instant;

/// Up to this many numbers a reduction counts as small (latency-bound: function values,
/// S); longer ones carry gradients and Hessian-vector products (bandwidth-bound). Kept
/// apart, they measure the latency α and the cost per byte β of an α–β model.
pub const SMALL_REDUCTION: usize = 16;

/// The reductions of a fit.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Traffic {
    /// Sums and maxima.
    pub calls: u64,
    /// Bytes this process contributed to them.
    pub bytes: u64,
    /// Seconds inside them.
    pub seconds: f64,
    /// Those of at most [`SMALL_REDUCTION`] numbers.
    pub small_calls: u64,
    pub small_seconds: f64,
}

impl std::ops::Sub for Traffic {
    type Output = Traffic;
    /// The reductions between two readings.
    fn sub(self, before: Traffic) -> Traffic {
        Traffic {
            calls: self.calls - before.calls,
            bytes: self.bytes - before.bytes,
            seconds: self.seconds - before.seconds,
            small_calls: self.small_calls - before.small_calls,
            small_seconds: self.small_seconds - before.small_seconds,
        }
    }
}

/// A collective that counts its reductions (see [`Traffic`]); the other operations
/// (agreement before the fit) pass through uncounted.
pub struct Counted<'c> {
    inner: &'c dyn Collective,
    traffic: Mutex<Traffic>,
}

impl<'c> Counted<'c> {
    pub fn new(inner: &'c dyn Collective) -> Self {
        Counted {
            inner,
            traffic: Mutex::new(Traffic::default()),
        }
    }

    /// The reductions so far.
    pub fn traffic(&self) -> Traffic {
        *self.traffic.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, started: Instant, len: usize) {
        let seconds = started.elapsed().as_secs_f64();
        let mut t = self.traffic.lock().unwrap_or_else(|e| e.into_inner());
        t.calls += 1;
        t.bytes += 8 * len as u64;
        t.seconds += seconds;
        if len <= SMALL_REDUCTION {
            t.small_calls += 1;
            t.small_seconds += seconds;
        }
    }
}

impl Collective for Counted<'_> {
    fn rank(&self) -> usize {
        self.inner.rank()
    }
    fn size(&self) -> usize {
        self.inner.size()
    }
    fn is_alone(&self) -> bool {
        self.inner.is_alone()
    }
    fn sum(&self, v: &mut [f64]) -> Result<()> {
        let started = Instant::now();
        let result = self.inner.sum(v);
        self.count(started, v.len());
        result
    }
    fn max(&self, v: &mut [u64]) -> Result<()> {
        let started = Instant::now();
        let result = self.inner.max(v);
        self.count(started, v.len());
        result
    }
    fn all_gather(&self, mine: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.inner.all_gather(mine)
    }
    fn send(&self, to: usize, bytes: &[u8]) -> Result<()> {
        self.inner.send(to, bytes)
    }
    fn receive(&self, from: usize) -> Result<Vec<u8>> {
        self.inner.receive(from)
    }
    fn broadcast(&self, root: usize, bytes: &[u8]) -> Result<Vec<u8>> {
        self.inner.broadcast(root, bytes)
    }
    fn barrier(&self) -> Result<()> {
        self.inner.barrier()
    }
}
