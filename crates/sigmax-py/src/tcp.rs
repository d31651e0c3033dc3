//! The TCP collective for Python's engines (Dask, Spark): the engine does the
//! rendezvous, these classes the rest. A worker binds a [`TcpListener`] (its own port,
//! kept: no port race), publishes its `address` through the engine, and, with every
//! worker's address in rank order and the job's token, `connect`s into a [`TcpLink`],
//! which [`crate::fit::fit_linear`] fits through.

use crate::value_error;
use pyo3::prelude::*;
use sigmax::collective::agreement::agree;
use sigmax::collective::{Collective, Listening, TcpCollective};
use std::sync::Mutex;
use std::time::Duration;

/// A bound listener, before the rendezvous.
#[pyclass(module = "sigmax._sigmax")]
pub struct TcpListener {
    listening: Mutex<Option<Listening>>,
    address: String,
}

#[pymethods]
impl TcpListener {
    /// Binds `host` (the address the other workers reach this one at) at a port the
    /// system picks.
    #[new]
    fn new(host: &str) -> PyResult<Self> {
        let listening = TcpCollective::bind(host).map_err(value_error)?;
        Ok(TcpListener {
            address: listening.address(),
            listening: Mutex::new(Some(listening)),
        })
    }

    /// "host:port", to publish through the engine.
    #[getter]
    fn address(&self) -> String {
        self.address.clone()
    }

    /// Connects to every other worker: `addresses` in rank order (this one's at `rank`),
    /// `token` the job's, `timeout` (seconds) the longest any step may wait, during the
    /// connection and the fit. Without the GIL.
    #[pyo3(signature = (rank, addresses, token, timeout))]
    fn connect(
        &self,
        py: Python<'_>,
        rank: usize,
        addresses: Vec<String>,
        token: &str,
        timeout: f64,
    ) -> PyResult<TcpLink> {
        let listening = self
            .listening
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| value_error("this listener has connected already"))?;
        if !(timeout > 0.0 && timeout.is_finite()) {
            return Err(value_error(format!(
                "timeout={timeout}: expected seconds > 0"
            )));
        }
        let timeout = Duration::from_secs_f64(timeout);
        let collective = py
            .detach(|| listening.connect(rank, &addresses, token, timeout))
            .map_err(value_error)?;
        Ok(TcpLink { collective })
    }
}

/// One worker's connections to all the others.
#[pyclass(module = "sigmax._sigmax")]
pub struct TcpLink {
    collective: TcpCollective,
}

impl TcpLink {
    pub(crate) fn collective(&self) -> PyResult<&TcpCollective> {
        Ok(&self.collective)
    }
}

#[pymethods]
impl TcpLink {
    #[getter]
    fn rank(&self) -> usize {
        self.collective.rank()
    }

    #[getter]
    fn size(&self) -> usize {
        self.collective.size()
    }

    /// Every worker says whether its share is sound (`error`: None, or what is wrong
    /// with it); the first failing worker's error (in rank order) is raised on all.
    #[pyo3(signature = (error=None))]
    fn agree(&self, py: Python<'_>, error: Option<String>) -> PyResult<()> {
        let mine = match error {
            None => Ok(()),
            Some(e) => Err(sigmax::Error::Unsupported(e)),
        };
        py.detach(|| agree(&self.collective, mine))
            .map_err(value_error)
    }

    /// Every worker's string, in rank order.
    fn all_gather(&self, py: Python<'_>, mine: &str) -> PyResult<Vec<String>> {
        let all = py
            .detach(|| self.collective.all_gather(mine.as_bytes()))
            .map_err(value_error)?;
        Ok(all
            .into_iter()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect())
    }
}
