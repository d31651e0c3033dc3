//! The margin heads (softmax, L-Softmax, modified softmax, A-Softmax, CosFace, ArcFace,
//! combined) for Python: one call gives the mean loss, the logits with the margin applied
//! and both gradients, computed by sigmax's explicit formulas (`sigmax::margin`). The
//! NumPy functions of `sigmax.heads` and the CPU kernel of `sigmax.torch`'s losses are
//! this call.

use crate::value_error;
use numpy::{
    Element, PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
pub use sigmax::margin::DEFAULT_SCALE;
use sigmax::margin::{Annealing, HeadKind, HeadParams, MarginLoss, Scalar};

/// A row-major (C-contiguous) 2-D array's values. Fortran order is refused here rather
/// than read as if it were C order (the Python side makes arrays contiguous first).
fn c_slice<'a, T: Element>(a: &'a PyReadonlyArray2<'_, T>, what: &str) -> PyResult<&'a [T]> {
    if !a.is_c_contiguous() {
        return Err(value_error(format!("{what} must be a C-contiguous array")));
    }
    a.as_slice().map_err(value_error)
}

/// `values` as a new NumPy array of shape (rows, cols).
fn matrix<'py, T: Element + Copy>(
    py: Python<'py>,
    values: &[T],
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_slice(py, values)
        .reshape([rows, cols])?
        .into_any())
}

type HeadOutput<'py> = (
    f64,
    Bound<'py, PyAny>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
);

#[allow(clippy::too_many_arguments)]
fn compute<'py, T: Scalar + Element>(
    py: Python<'py>,
    features: &Bound<'py, PyAny>,
    weights: &Bound<'py, PyAny>,
    labels: &[u32],
    mut loss: MarginLoss<T>,
    lambda: f64,
    want_grad: bool,
) -> PyResult<HeadOutput<'py>> {
    let x: PyReadonlyArray2<'py, T> = features.extract()?;
    let w: PyReadonlyArray2<'py, T> = weights
        .extract()
        .map_err(|_| value_error("weights must have the features' dtype"))?;
    let (n, d) = (x.shape()[0], x.shape()[1]);
    let k = w.shape()[0];
    if w.shape()[1] != d {
        return Err(value_error(format!(
            "weights have {} columns, the features {d} (weights are num_classes × embedding_size)",
            w.shape()[1]
        )));
    }
    if labels.len() != n {
        return Err(value_error(format!(
            "{} labels for {n} feature rows",
            labels.len()
        )));
    }
    let (xs, ws) = (c_slice(&x, "features")?, c_slice(&w, "weights")?);
    let value = py
        .detach(|| loss.compute(xs, ws, labels, d, lambda, want_grad))
        .map_err(value_error)?;
    let logits = matrix(py, loss.logits(), n, k)?;
    let (gx, gw) = if want_grad {
        (
            Some(matrix(py, loss.grad_features(), n, d)?),
            Some(matrix(py, loss.grad_weights(), k, d)?),
        )
    } else {
        (None, None)
    };
    Ok((value, logits, gx, gw))
}

/// Mean loss, logits (n × K, margin on the target class) and, with `want_grad`, ∂L/∂X
/// (n × d) and ∂L/∂W (K × d) of a margin head for features `features` (n × d), class
/// weights `weights` (K × d, one row per class, same dtype: float32 or float64) and
/// 0-based `labels`. `head` is a head name of `sigmax::margin::HeadKind`; `margin`,
/// `scale` and `margins` (m1, m2, m3) take the head's defaults when None; `lambda_` is
/// L-Softmax's / A-Softmax's annealing weight (0 = the pure margin loss).
#[pyfunction]
#[pyo3(signature = (features, weights, labels, head, margin=None, scale=None, margins=None, lambda_=0.0, want_grad=true))]
#[allow(clippy::too_many_arguments)]
pub fn margin_loss<'py>(
    py: Python<'py>,
    features: &Bound<'py, PyAny>,
    weights: &Bound<'py, PyAny>,
    labels: PyReadonlyArray1<'py, i64>,
    head: &str,
    margin: Option<f64>,
    scale: Option<f64>,
    margins: Option<(f64, f64, f64)>,
    lambda_: f64,
    want_grad: bool,
) -> PyResult<HeadOutput<'py>> {
    let params = HeadParams {
        margin,
        scale,
        margins: margins.map(|(a, b, c)| [a, b, c]),
    };
    let head = head
        .parse::<HeadKind>()
        .map_err(value_error)?
        .build(&params)
        .map_err(value_error)?;
    let labels: Vec<u32> = labels
        .as_array()
        .iter()
        .map(|&v| {
            u32::try_from(v).map_err(|_| value_error(format!("label {v} is not a class index ≥ 0")))
        })
        .collect::<PyResult<_>>()?;
    if features.extract::<PyReadonlyArray2<'py, f64>>().is_ok() {
        let loss = MarginLoss::<f64>::new(head).map_err(value_error)?;
        compute(py, features, weights, &labels, loss, lambda_, want_grad)
    } else if features.extract::<PyReadonlyArray2<'py, f32>>().is_ok() {
        let loss = MarginLoss::<f32>::new(head).map_err(value_error)?;
        compute(py, features, weights, &labels, loss, lambda_, want_grad)
    } else {
        Err(value_error(
            "features must be a 2-D float32 or float64 array",
        ))
    }
}

/// The canonical name of a head given by any of its names (`sphereface` → `asoftmax`).
#[pyfunction]
pub fn head_kind(name: &str) -> PyResult<&'static str> {
    Ok(name.parse::<HeadKind>().map_err(value_error)?.name())
}

/// λ of L-Softmax / A-Softmax at training step `iteration` (from 1) under `schedule`: a
/// name of `sigmax::margin::Annealing::NAMED` or a (base, gamma, power, lambda_min) tuple.
#[pyfunction]
pub fn annealing_lambda(schedule: &Bound<'_, PyAny>, iteration: u64) -> PyResult<f64> {
    let a = if let Ok(name) = schedule.extract::<String>() {
        Annealing::named(&name).ok_or_else(|| {
            let names: Vec<&str> = Annealing::NAMED.iter().map(|(n, _)| *n).collect();
            value_error(format!(
                "unknown annealing schedule {name:?}: use one of {} or a (base, gamma, power, lambda_min) tuple",
                names.join(", ")
            ))
        })?
    } else {
        let (base, gamma, power, lambda_min): (f64, f64, f64, f64) = schedule.extract()?;
        if ![base, gamma, power, lambda_min]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0)
        {
            return Err(value_error(
                "an annealing schedule's four numbers must be finite and ≥ 0",
            ));
        }
        Annealing {
            base,
            gamma,
            power,
            lambda_min,
        }
    };
    Ok(a.lambda(iteration))
}
