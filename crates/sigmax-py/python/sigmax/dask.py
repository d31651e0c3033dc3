"""sigmax on a Dask cluster: ``LogisticRegression`` and ``LinearSVC`` fit to dask arrays
or dataframes where their partitions live.

    from distributed import Client
    import dask.array as da
    from sigmax.dask import LogisticRegression

    client = Client(...)                      # any Dask cluster
    X = da.from_zarr(...); y = da.from_zarr(...)
    clf = LogisticRegression(C=1.0).fit(X, y)   # one task per worker holding rows
    clf.predict(X_numpy)                        # an ordinary fitted sigmax estimator
    clf.predict(X)                              # or lazily, block by block

How (the pattern of XGBoost's and LightGBM's Dask interfaces): the partitions are
persisted; each worker holding some gets one task that binds its own TCP port and says
its address; the client hands every task the addresses in rank order and a job token;
the tasks connect to each other and run one fit, summing through sigmax's TCP collective
(no scheduler round trip per iteration). The model is the one ``sigmax.LogisticRegression``
finds on the same rows in one process. The fit raises if any worker is lost or any
partition holds a bad value (naming the partition and row).

Requires ``dask[array]`` and ``distributed`` (``pip install sigmax[dask]``).
"""
import numpy as np

from . import _distributed as spread
from ._logistic import LogisticRegression as _LocalLogisticRegression
from ._svm import LinearSVC as _LocalLinearSVC

__all__ = ["LogisticRegression", "LinearSVC"]

# Listeners bound by the first task of a job, taken by its second (one worker process).
_LISTENERS = {}


class _DaskFit:
    """The Dask fit shared by the estimators. ``client``: the Dask client (default: the
    current one); ``timeout``: seconds any step may wait for another worker."""

    def fit(self, X, y, sample_weight=None):
        """Fits to dask X and y (arrays, dataframes or series), with optional weights;
        in-memory X (NumPy, SciPy, pandas) is fit here, as sigmax's own estimator does."""
        if not _is_dask(X):
            return super().fit(X, y, sample_weight)
        return self._fit_dask(X, y, sample_weight)

    def predict(self, X):
        return self._predict_blocks("predict", X)

    def decision_function(self, X):
        return self._predict_blocks("decision_function", X)

    def _fit_dask(self, X, y, sample_weight):
        import dask.array as da
        from distributed import as_completed, get_client, wait

        client = self.client
        if client is None:
            try:
                client = get_client()
            except ValueError:
                raise ValueError(
                    "sigmax.dask fits on a Dask cluster: start a client first "
                    "(distributed.Client(...)) or pass client=") from None
        X, y, sample_weight = _as_dask_arrays(X, y, sample_weight)
        classes = np.asarray(da.unique(y).compute())
        if len(classes) < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only {len(classes)} class(es): {classes.tolist()}")
        n_features = int(X.shape[1])
        settings, bias = spread.spread_settings(self, len(classes))
        x_parts = client.compute(list(X.to_delayed().ravel()))
        y_parts = client.compute(list(y.to_delayed().ravel()))
        w_parts = (client.compute(list(sample_weight.to_delayed().ravel()))
                   if sample_weight is not None else [None] * len(x_parts))
        wait(x_parts + y_parts + [w for w in w_parts if w is not None])
        holders = client.who_has(x_parts)
        # Each partition trains where its rows are; workers ranked by their first partition.
        by_worker = {}
        for i, f in enumerate(x_parts):
            by_worker.setdefault(sorted(holders[f.key])[0], []).append(i)
        workers = sorted(by_worker, key=lambda w: by_worker[w][0])
        token = spread.job_token()
        timeout = float(getattr(self, "timeout", spread.DEFAULT_TIMEOUT))
        kill = getattr(self, "_kill_after", None)  # (rank, seconds): the fault tests' hook
        listeners = [client.submit(_listen, token, workers=[w], allow_other_workers=False,
                                   pure=False) for w in workers]
        addresses = client.gather(listeners)
        fits = []
        for rank, w in enumerate(workers):
            parts = [(x_parts[i], y_parts[i], w_parts[i], i) for i in by_worker[w]]
            fits.append(client.submit(
                _fit_on_worker, token, rank, addresses, timeout, classes, n_features,
                bias, settings, kill[1] if kill and kill[0] == rank else None, parts,
                workers=[w], allow_other_workers=False, pure=False, retries=0))
        # The first failure ends the fit (the other workers' fail with it, or their tasks
        # are cancelled); a lost worker's own task is never waited for.
        for done in as_completed(fits):
            if done.status == "error":
                try:
                    done.result()  # raises the worker's exception, with its traceback
                finally:
                    client.cancel(fits)
        fit = fits[0].result()
        client.cancel(fits)
        spread.set_fitted(self, fit, classes, n_features, bias)
        return self

    def _predict_blocks(self, method, X):
        """``method`` of the fitted model on a dask array, block by block (lazy)."""
        import dask.array as da

        if not isinstance(X, da.Array):
            return getattr(super(), method)(X)
        X = X.rechunk({1: -1})
        if method == "predict":
            return X.map_blocks(lambda b: super(_DaskFit, self).predict(b), drop_axis=1,
                                dtype=self.classes_.dtype)
        k = len(self.classes_)
        width = k if (method == "predict_proba" or k > 2) else None
        fn = getattr(super(_DaskFit, self), method)
        if width is None:
            return X.map_blocks(fn, drop_axis=1, dtype=np.float64)
        return X.map_blocks(fn, chunks=(X.chunks[0], (width,)), dtype=np.float64)


def _is_dask(a):
    """A dask collection (array, dataframe, series)."""
    return hasattr(a, "__dask_graph__")


def _as_dask_arrays(X, y, sample_weight):
    """Dask arrays with rows in matching blocks (X one block wide) from dask arrays,
    dataframes or series."""
    import dask.array as da

    def array(a):
        if hasattr(a, "to_dask_array"):
            return a.to_dask_array(lengths=True)
        if isinstance(a, da.Array):
            return a
        raise TypeError(f"expected a dask array, dataframe or series, got {type(a).__name__}")

    X, y = array(X), array(y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D; got {X.ndim} dimensions")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    X = X.rechunk({1: -1})
    y = y.rechunk((X.chunks[0],))
    if sample_weight is not None:
        sample_weight = array(sample_weight).rechunk((X.chunks[0],))
    return X, y, sample_weight


def _listen(token):
    """First task on a worker: bind this job's port and say its address."""
    from distributed import get_worker

    from ._sigmax import TcpListener

    listener = TcpListener(spread.host_of(get_worker().address))
    _LISTENERS[token] = listener
    return listener.address


def _fit_on_worker(token, rank, addresses, timeout, classes, n_features, bias, settings,
                   kill_after, parts):
    """Second task on a worker: its partitions as one share, then the spread fit."""
    listener = _LISTENERS.pop(token, None)
    if listener is None:
        raise RuntimeError(f"worker of rank {rank} lost its listener (was it restarted?)")
    share = spread.stack_share(
        [(x, y, w, f"partition {i}") for x, y, w, i in parts], classes, n_features, bias)
    fit = spread.fit_share(listener, rank, addresses, token, timeout, share, len(classes),
                           settings, kill_after)
    return fit if rank == 0 else {"rank": rank}


class LogisticRegression(_DaskFit, _LocalLogisticRegression):
    """``sigmax.LogisticRegression`` fit on a Dask cluster (see the module's docs). The
    parameters are sigmax's, plus ``client`` and ``timeout``; the solvers that run spread
    are 'auto', 'newton' ('newton-cg', 'newton-cholesky'), 'lbfgs', 'gd' and 'owlqn'."""

    def __init__(self, penalty="deprecated", *, C=1.0, l1_ratio=0.0, dual=False, tol=None,
                 fit_intercept=True, intercept_scaling=1, class_weight=None,
                 random_state=None, solver="auto", max_iter=None, verbose=0,
                 warm_start=False, n_jobs=None, client=None, timeout=spread.DEFAULT_TIMEOUT):
        super().__init__(penalty, C=C, l1_ratio=l1_ratio, dual=dual, tol=tol,
                         fit_intercept=fit_intercept, intercept_scaling=intercept_scaling,
                         class_weight=class_weight, random_state=random_state,
                         solver=solver, max_iter=max_iter, verbose=verbose,
                         warm_start=warm_start, n_jobs=n_jobs)
        self.client = client
        self.timeout = timeout

    _parameter_constraints = {**_LocalLogisticRegression._parameter_constraints,
                              "client": "no_validation", "timeout": "no_validation"}

    def predict_proba(self, X):
        return self._predict_blocks("predict_proba", X)


class LinearSVC(_DaskFit, _LocalLinearSVC):
    """``sigmax.LinearSVC`` (binary, squared hinge, the intercept penalized as LIBLINEAR's)
    fit on a Dask cluster (see the module's docs); parameters as sigmax's, plus
    ``client`` and ``timeout``."""

    def __init__(self, penalty="l2", loss="squared_hinge", *, dual="auto", tol=None, C=1.0,
                 multi_class="ovr", fit_intercept=True, intercept_scaling=1,
                 class_weight=None, verbose=0, random_state=None, max_iter=None,
                 solver="auto", n_jobs=None, client=None, timeout=spread.DEFAULT_TIMEOUT):
        super().__init__(penalty, loss, dual=dual, tol=tol, C=C, multi_class=multi_class,
                         fit_intercept=fit_intercept, intercept_scaling=intercept_scaling,
                         class_weight=class_weight, verbose=verbose,
                         random_state=random_state, max_iter=max_iter, solver=solver,
                         n_jobs=n_jobs)
        self.client = client
        self.timeout = timeout

    _parameter_constraints = {**_LocalLinearSVC._parameter_constraints,
                              "client": "no_validation", "timeout": "no_validation"}

