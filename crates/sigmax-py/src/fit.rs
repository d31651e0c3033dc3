//! The fit: one settings object from Python (a dict in sigmax's own names) checked once
//! into the library's [`Settings`], and one call into [`sigmax::fit::fit`], on this
//! process's rows alone or, with a [`crate::tcp::TcpLink`], on rows spread over the
//! workers of a Dask or Spark job.

use crate::tcp::TcpLink;
use crate::{features, value_error};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sigmax::collective::agreement::agree_on_data;
use sigmax::collective::{Alone, Collective, Counted};
use sigmax::data::Dataset;
use sigmax::fit::{fit, Settings};
use sigmax::model::ModelKind;
use sigmax::train::{ClassWeight, ModelChoice, Penalty, SolverChoice, TrainOptions};
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

/// The keys of a settings dict (a key not here is an error: a misspelt setting would
/// otherwise be ignored).
const KEYS: [&str; 12] = [
    "model",
    "C",
    "lambda",
    "penalty",
    "l1_ratio",
    "fit_intercept",
    "solver",
    "tol",
    "max_iter",
    "warm_start",
    "seed",
    "class_weight",
];

/// The library's settings from a Python dict: `model`, `C` (`inf`: unpenalized, λ = 0)
/// or `lambda` (the strength itself, as Spark's regParam),
/// `penalty`, `l1_ratio`, `fit_intercept`, `solver`, `tol`, `max_iter`, `warm_start`,
/// `seed`, and `class_weight` (None, "balanced", or {class id: weight}); absent keys
/// take the library's defaults. Checked once, here.
fn settings_from(d: &Bound<'_, PyDict>) -> PyResult<Settings> {
    for key in d.keys() {
        let key: String = key.extract()?;
        if !KEYS.contains(&key.as_str()) {
            return Err(value_error(format!(
                "unknown setting {key:?}; the settings are {KEYS:?}"
            )));
        }
    }
    // A setting's value, None when absent or None.
    let item = |key: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        Ok(d.get_item(key)?.filter(|v| !v.is_none()))
    };
    let mut opts = TrainOptions::default();
    if let Some(m) = item("model")?.map(|v| v.extract::<String>()).transpose()? {
        opts.model = ModelChoice::Kind(m.parse::<ModelKind>().map_err(value_error)?);
    }
    if let Some(c) = item("C")?.map(|v| v.extract::<f64>()).transpose()? {
        // C = inf: no penalty (λ = 0), scikit-learn's spelling of an unpenalized fit.
        if c == f64::INFINITY {
            opts.lambda = Some(0.0);
        } else {
            opts.c = Some(c);
        }
    }
    if let Some(l) = item("lambda")?.map(|v| v.extract::<f64>()).transpose()? {
        opts.lambda = Some(l);
    }
    if let Some(p) = item("penalty")?
        .map(|v| v.extract::<String>())
        .transpose()?
    {
        opts.penalty = p.parse::<Penalty>().map_err(value_error)?;
    }
    opts.l1_ratio = item("l1_ratio")?.map(|v| v.extract::<f64>()).transpose()?;
    if let Some(i) = item("fit_intercept")?
        .map(|v| v.extract::<bool>())
        .transpose()?
    {
        opts.intercept = i;
    }
    if let Some(s) = item("solver")?.map(|v| v.extract::<String>()).transpose()? {
        opts.solver = s.parse::<SolverChoice>().map_err(value_error)?;
    }
    opts.tol = item("tol")?.map(|v| v.extract::<f64>()).transpose()?;
    opts.max_iter = item("max_iter")?
        .map(|v| v.extract::<usize>())
        .transpose()?;
    opts.warm_start = item("warm_start")?
        .map(|v| {
            let w = v.extract::<PyReadonlyArray1<'_, f64>>()?;
            Ok::<_, PyErr>(w.as_array().to_vec())
        })
        .transpose()?;
    if let Some(seed) = item("seed")?.map(|v| v.extract::<u64>()).transpose()? {
        opts.seed = seed;
    }
    opts.class_weight = match d.get_item("class_weight")? {
        None => ClassWeight::None,
        Some(v) if v.is_none() => ClassWeight::None,
        Some(v) => class_weight_from(&v)?,
    };
    opts.check().map_err(value_error)
}

/// "balanced", or {class id: weight}.
fn class_weight_from(v: &Bound<'_, PyAny>) -> PyResult<ClassWeight> {
    if let Ok(s) = v.extract::<String>() {
        return s.parse::<ClassWeight>().map_err(value_error);
    }
    let given: HashMap<u32, f64> = v.extract().map_err(|_| {
        value_error("class_weight must be None, \"balanced\" or a dict {class id: weight}")
    })?;
    let mut pairs: Vec<(String, f64)> =
        given.into_iter().map(|(k, w)| (k.to_string(), w)).collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    // The library's checks of the values (finite, ≥ 0) through its own parser.
    let spelled: Vec<String> = pairs.iter().map(|(k, w)| format!("{k}:{w:?}")).collect();
    if spelled.is_empty() {
        return Ok(ClassWeight::None);
    }
    spelled
        .join(",")
        .parse::<ClassWeight>()
        .map_err(value_error)
}

/// The class weights times the sample weights of rows of class ids `y` (0..n_classes):
/// the library's rule (balanced: S / (K · S_c) on weighted totals, as scikit-learn
/// ≥ 1.6), for the estimators that need the weights per row (one-vs-rest fits).
#[pyfunction]
#[pyo3(signature = (y, n_classes, sample_weight, class_weight))]
pub fn class_weighted<'py>(
    py: Python<'py>,
    y: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
    sample_weight: Option<PyReadonlyArray1<'py, f64>>,
    class_weight: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let ids = class_ids(&y, n_classes)?;
    let cw = if class_weight.is_none() {
        ClassWeight::None
    } else {
        class_weight_from(class_weight)?
    };
    let sw = sample_weight.as_ref().map(|w| w.as_array().to_vec());
    let w = cw
        .row_weights(
            &ids,
            sw.as_deref(),
            &class_names(n_classes),
            &sigmax::objective::LocalReducer,
        )
        .map_err(value_error)?;
    Ok(PyArray1::from_vec(py, w))
}

fn class_ids(y: &PyReadonlyArray1<'_, i64>, n_classes: usize) -> PyResult<Vec<u32>> {
    y.as_array()
        .iter()
        .map(|&v| {
            u32::try_from(v)
                .ok()
                .filter(|&k| (k as usize) < n_classes)
                .ok_or_else(|| value_error(format!("class id {v} outside 0..{n_classes}")))
        })
        .collect()
}

/// Classes named by their ids: "0", "1", … (numbers, so every process sorts them alike).
fn class_names(n_classes: usize) -> Vec<String> {
    (0..n_classes).map(|k| k.to_string()).collect()
}

/// What a fit calls between iterations: progress lines on stderr when `verbose`, and a
/// stop when `cancel` is set or (`check_signals`, on Python's main thread) Ctrl-C came.
fn observer<'a>(
    verbose: bool,
    check_signals: bool,
    cancel: &'a AtomicBool,
    interrupt: &'a Mutex<Option<PyErr>>,
) -> impl FnMut(&sigmax::solver::IterRecord) -> ControlFlow<()> + Send + 'a {
    move |r| {
        if cancel.load(Ordering::Relaxed) {
            return ControlFlow::Break(());
        }
        if !verbose && !check_signals {
            return ControlFlow::Continue(());
        }
        Python::attach(|py| {
            if verbose {
                let line = format!(
                    "iteration {:>5}: objective {:.12}, ‖∇J‖ {:.3e}\n",
                    r.iteration, r.objective, r.grad_norm
                );
                let _ = py
                    .import("sys")
                    .and_then(|s| s.getattr("stderr"))
                    .and_then(|e| e.call_method1("write", (line,)));
            }
            if check_signals {
                if let Err(e) = py.check_signals() {
                    *interrupt.lock().unwrap() = Some(e);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        })
    }
}

/// The thread pool of `threads` threads, made once and kept: starting one per fit cost
/// ~0.5 ms, most of a small fit (a grid search runs thousands).
fn pool_of(threads: usize) -> PyResult<Arc<rayon::ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS.get_or_init(Default::default).lock().unwrap();
    if let Some(p) = pools.get(&threads) {
        return Ok(p.clone());
    }
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(value_error)?,
    );
    pools.insert(threads, pool.clone());
    Ok(pool)
}

/// Trains one linear model. `y` holds class ids 0..n_classes; `sample_weight` the sample
/// weights; `settings` a dict (see [`settings_from`]). With `link`, this process's rows
/// are its share of a fit spread over the link's processes: every process calls this
/// with its own rows and the same settings, and gets the same model. Returns a dict:
/// `coef` (rows × d), `intercept` (rows), `n_iter`, `converged`, `stop_reason`,
/// `objective`, `solver`, `fit_seconds` (the training, without converting inputs and
/// outputs) and, with `link`, `communication` (the fit's reductions: `calls`, `bytes`,
/// `seconds`).
#[pyfunction]
#[pyo3(signature = (x, y, n_classes, sample_weight, settings, n_jobs=None, verbose=false, link=None))]
#[allow(clippy::too_many_arguments)]
pub fn fit_linear<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
    sample_weight: Option<PyReadonlyArray1<'py, f64>>,
    settings: &Bound<'py, PyDict>,
    n_jobs: Option<i64>,
    verbose: bool,
    link: Option<PyRef<'py, TcpLink>>,
) -> PyResult<Bound<'py, PyDict>> {
    let pool = match n_jobs {
        None | Some(-1) => None,
        // More threads than cores gain nothing, and n_jobs=10**6 could not be started:
        // at most one a core.
        Some(n) if n >= 1 => {
            let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
            Some(pool_of((n as usize).min(cores))?)
        }
        Some(n) => return Err(value_error(format!("n_jobs={n}: expected None, -1 or ≥ 1"))),
    };
    let pool = pool.as_deref();
    let settings = settings_from(settings);
    // Spread over processes, every process must learn of any one's bad input (else the
    // others would wait for it): the share's error goes to all through the agreement.
    let share = (|| {
        let settings = settings?;
        let x = features(x, pool)?;
        let ids = class_ids(&y, n_classes)?;
        let mut data =
            Dataset::from_class_ids(x, ids, class_names(n_classes)).map_err(value_error)?;
        if let Some(w) = &sample_weight {
            data = data
                .with_weights(w.as_array().to_vec())
                .map_err(value_error)?;
        }
        Ok::<_, PyErr>((data, settings))
    })();
    let Some(link) = link else {
        let (mut data, settings) = share?;
        return fit_here(py, &mut data, &settings, pool, verbose);
    };
    let collective = link.collective()?;
    let counted = Counted::new(collective);
    let (share, settings) = match share {
        Ok((data, settings)) => (Ok(data), Some(settings)),
        Err(e) => (Err(sigmax::Error::Unsupported(e.to_string())), None),
    };
    let started = std::time::Instant::now();
    let fitted = py.detach(|| {
        let (mut data, _) = agree_on_data(&counted, share)?;
        let before = counted.traffic();
        let settings = settings.expect("a share without an error has its settings");
        let fitted = fit(&mut data, &settings, &counted, None)?;
        Ok::<_, sigmax::Error>((fitted, counted.traffic() - before))
    });
    let fit_seconds = started.elapsed().as_secs_f64();
    let (fitted, traffic) = fitted.map_err(value_error)?;
    let out = result_dict(py, fitted, fit_seconds)?;
    let comm = PyDict::new(py);
    comm.set_item("calls", traffic.calls)?;
    comm.set_item("bytes", traffic.bytes)?;
    comm.set_item("seconds", traffic.seconds)?;
    comm.set_item("processes", counted.size())?;
    out.set_item("communication", comm)?;
    Ok(out)
}

/// The fit on this process's rows alone, without the GIL. Python runs signal handlers on
/// its main thread only, so Ctrl-C is looked for by the calling thread: between
/// iterations when it fits itself, every 50 ms while it waits when the fit runs in its
/// own pool (`n_jobs`).
fn fit_here<'py>(
    py: Python<'py>,
    data: &mut Dataset,
    settings: &Settings,
    pool: Option<&rayon::ThreadPool>,
    verbose: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let cancel = AtomicBool::new(false);
    let interrupt: Mutex<Option<PyErr>> = Mutex::new(None);
    let started = std::time::Instant::now();
    let fitted = py.detach(|| match pool {
        None => {
            let mut observe = observer(verbose, true, &cancel, &interrupt);
            // In place: the rows converted for this fit are its own (no renumbered copy);
            // arrays read in place from the caller are renumbered on a copy.
            fit(data, settings, &Alone, Some(&mut observe))
        }
        Some(p) => p.in_place_scope(|scope| {
            let (done, finished) = mpsc::channel();
            let (cancel, interrupt) = (&cancel, &interrupt);
            scope.spawn(move |_| {
                let mut observe = observer(verbose, false, cancel, interrupt);
                let _ = done.send(fit(data, settings, &Alone, Some(&mut observe)));
            });
            loop {
                match finished.recv_timeout(Duration::from_millis(50)) {
                    Ok(result) => return result,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if let Err(e) = Python::attach(|py| py.check_signals()) {
                            *interrupt.lock().unwrap() = Some(e);
                            cancel.store(true, Ordering::Relaxed);
                        }
                    }
                    // The job panicked: the scope passes the panic on when it ends.
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(sigmax::Error::Interrupted { iteration: 0 })
                    }
                }
            }
        }),
    });
    let fit_seconds = started.elapsed().as_secs_f64();
    if let Some(e) = interrupt.into_inner().unwrap() {
        return Err(e);
    }
    let fitted = fitted.map_err(|e| match e {
        sigmax::Error::Interrupted { .. } => PyKeyboardInterrupt::new_err(e.to_string()),
        e => value_error(e),
    })?;
    result_dict(py, fitted, fit_seconds)
}

fn result_dict(
    py: Python<'_>,
    fitted: sigmax::train::Trained,
    fit_seconds: f64,
) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    let coef = PyArray2::from_vec2(py, &fitted.model.weights).map_err(value_error)?;
    out.set_item("coef", coef)?;
    out.set_item("intercept", PyArray1::from_vec(py, fitted.model.bias))?;
    out.set_item("n_iter", fitted.report.iterations)?;
    out.set_item("converged", fitted.report.converged)?;
    out.set_item("stop_reason", fitted.report.stop_reason)?;
    out.set_item("objective", fitted.report.objective)?;
    out.set_item("solver", fitted.report.solver)?;
    out.set_item("fit_seconds", fit_seconds)?;
    Ok(out)
}
