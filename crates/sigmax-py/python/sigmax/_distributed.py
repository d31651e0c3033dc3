"""What the Dask and Spark front ends share: the estimator's side (the settings of a
spread fit, the fitted attributes) and the worker's side (its partitions stacked into one
share and checked, the connection, the fit).

The pattern is XGBoost's and LightGBM's: the engine starts one long-lived task per worker
beside its data and does the rendezvous; sigmax's TCP collective (``_sigmax.TcpListener``)
carries the fit's sums. Each worker binds its own port (no fixed ports, no race between
releasing a port and binding it again), publishes the address through the engine, and
connects to every other worker with the job's token. Every iteration then costs a few
reductions of a parameter-sized vector and of a few numbers, summed exactly (integer
bins), so the model is the one a single process would find on the same rows: bit for bit
when each worker holds consecutive rows, to about 1e-15 otherwise. A lost worker closes
its connections and every other worker's fit fails at its next exchange; a hung one is
given up after ``timeout`` seconds.
"""
import os
import secrets
import threading
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from . import _sigmax
from ._linear import _as_input, _class_weight_by_id, with_bias_column
from ._sklearn_api import resolve_logistic_penalty, seed_of, sigmax_solver

#: Seconds any step of a spread fit may wait for another worker (connecting, or one
#: exchange of an iteration) before the fit fails.
DEFAULT_TIMEOUT = 600.0

#: The solvers that can run spread (they see the rows only through the objective's sums).
SPREAD_SOLVERS = ("auto", "newton", "lbfgs", "newton-cg", "newton-cholesky", "gd", "owlqn")


def job_token():
    """A fresh random token: a connection that does not present it is refused."""
    return secrets.token_hex(16)


def host_of(address):
    """The host part of an engine's worker address ("tcp://10.0.0.5:4321",
    "10.0.0.5:4321"); 127.0.0.1 for an address without one (in-process workers)."""
    rest = address.split("://", 1)[-1]
    host = rest.rsplit(":", 1)[0] if ":" in rest else rest
    host = host.strip("[]")
    return host if host and not host.startswith("inproc") else "127.0.0.1"


# ---------------------------------------------------------------- the estimator's side

def spread_settings(est, n_classes):
    """The settings of a spread fit of ``est`` (a sigmax ``LogisticRegression`` or
    ``LinearSVC``) on ``n_classes`` classes, and the value of the bias column each worker
    appends (``LinearSVC``'s penalized intercept, as LIBLINEAR's; None for none),
    refusing with a clear error what cannot run spread."""
    est._check_params()
    solver_name = getattr(est, "solver", "auto")
    if solver_name not in SPREAD_SOLVERS:
        raise ValueError(
            f"solver={solver_name!r} walks the rows itself and cannot run on several "
            f"workers; use one of {SPREAD_SOLVERS}.")
    if getattr(est, "warm_start", False):
        raise ValueError("warm_start is not supported by the distributed estimators.")
    if hasattr(est, "l1_ratio"):  # LogisticRegression
        penalty, C = resolve_logistic_penalty(est)
        l1_ratio = float(est.l1_ratio) if penalty == "elasticnet" else None
        solver = sigmax_solver(solver_name, penalty, False, l1_ratio)
        model = "logistic" if n_classes == 2 else "softmax"
    else:  # LinearSVC: the squared hinge (the hinge's dual solver walks the rows)
        if est.loss != "squared_hinge":
            raise ValueError("loss='hinge' needs dual coordinate descent, which cannot run on "
                             "several workers; use loss='squared_hinge'.")
        if n_classes != 2:
            raise ValueError("the distributed LinearSVC is binary; for more classes use "
                             "the distributed LogisticRegression (softmax).")
        penalty, C, l1_ratio = est.penalty, est.C, None
        solver = "owlqn" if penalty == "l1" else "newton"
        est._resolved_solver = solver
        model = "squared-hinge-svm"
        bias = float(est.intercept_scaling) if est.fit_intercept else None
        settings = est._settings(
            model, C, penalty, None, solver, None, seed_of(est.random_state),
            intercept=False, class_weight=_class_weight_by_id(est))
        return settings, bias
    settings = est._settings(
        model, C, penalty, l1_ratio, solver, None, seed_of(getattr(est, "random_state", None)),
        intercept=bool(est.fit_intercept), class_weight=_class_weight_by_id(est))
    return settings, None


def set_fitted(est, fit, classes, n_features, bias=None):
    """The fitted attributes of a scikit-learn linear classifier from one spread fit
    (``bias``: X's last column was that bias feature, whose weight × bias is the
    intercept)."""
    est.classes_ = np.asarray(classes)
    est.n_features_in_ = n_features
    coef = np.asarray(fit["coef"], dtype=np.float64)
    intercept = np.asarray(fit["intercept"], dtype=np.float64)
    if bias is not None:
        coef, intercept = coef[:, :-1], coef[:, -1] * bias
    elif not getattr(est, "fit_intercept", True) and hasattr(est, "loss"):
        intercept = 0.0  # as scikit-learn's LinearSVC reports it
    est.coef_ = coef
    est.intercept_ = intercept
    est.n_iter_ = np.array([fit["n_iter"]], dtype=np.int32)
    est.communication_ = dict(fit.get("communication", {}))
    if not fit["converged"]:
        warnings.warn(
            f"sigmax did not converge (sigmax's {fit['solver']} solver: {fit['stop_reason']}). "
            "Increase max_iter, loosen tol, or scale the features.", ConvergenceWarning)
    return est


# ---------------------------------------------------------------- the worker's side

def stack_share(parts, classes, n_features, bias=None):
    """This worker's partitions as one share: (X, class ids, weights or None, error or
    None). ``parts``: (X, y, w or None, where) per partition, ``where`` naming the
    partition in messages; X gets ``n_features`` columns (a sparse partition may be
    narrower), and a last column of ``bias`` when given. A bad value is not raised here
    but returned as the error, to be agreed on by every worker (each must learn that the
    fit will not happen)."""
    xs, ys, ws = [], [], []
    error = None
    for X, y, w, where in parts:
        problem = _check_part(X, y, w, classes)
        if problem is not None and error is None:
            error = f"{where}, {problem}"
        xs.append(X)
        ys.append(np.asarray(y))
        ws.append(None if w is None else np.asarray(w, dtype=np.float64))
    if error is not None:
        return None, None, None, error
    for i, x in enumerate(xs):
        if x.shape[1] > n_features:
            return None, None, None, f"{parts[i][3]}: {x.shape[1]} features, more than the {n_features} of the data"
    if any(sp.issparse(x) for x in xs):
        X = sp.vstack([_csr_of_width(x, n_features) for x in xs], format="csr") if xs \
            else sp.csr_matrix((0, n_features))
    else:
        X = np.concatenate(xs) if xs else np.zeros((0, n_features))
    if bias is not None:
        X = with_bias_column(X, bias)
    y = np.concatenate(ys) if ys else np.zeros(0)
    ids = np.searchsorted(classes, y).astype(np.int64)
    w = None
    if any(v is not None for v in ws):
        w = np.concatenate([np.ones(len(yy)) if v is None else v for v, yy in zip(ws, ys)])
    return X, ids, w, None


def _csr_of_width(x, n_features):
    """`x` as CSR with `n_features` columns (a sparse partition may be narrower)."""
    x = sp.csr_matrix(x)
    if x.shape[1] < n_features:
        x = sp.csr_matrix((x.data, x.indices, x.indptr), shape=(x.shape[0], n_features))
    return x


def _check_part(X, y, w, classes):
    """What is wrong with one partition ("row r: ..."), or None."""
    n = X.shape[0]
    if len(y) != n:
        return f"{n} rows of features but {len(y)} labels"
    values = X.data if sp.issparse(X) else np.asarray(X)
    if values.size and not np.isfinite(values).all():
        if sp.issparse(X):
            bad = np.flatnonzero(~np.isfinite(X.data))[0]
            row = int(np.searchsorted(X.indptr, bad, side="right") - 1)
        else:
            row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        return f"row {row}: the features hold NaN or infinity"
    y = np.asarray(y)
    ids = np.searchsorted(classes, y)
    known = (ids < len(classes)) & (classes[np.minimum(ids, len(classes) - 1)] == y)
    if not known.all():
        row = int(np.flatnonzero(~known)[0])
        return f"row {row}: label {y[row]!r} is not one of the classes {list(classes)}"
    if w is not None:
        w = np.asarray(w, dtype=np.float64)
        good = np.isfinite(w) & (w >= 0)
        if len(w) != n or not good.all():
            row = int(np.flatnonzero(~good)[0]) if len(w) == n else 0
            return f"row {row}: sample weights must be finite numbers >= 0"
    return None


def fit_share(listener, rank, addresses, token, timeout, share, n_classes, settings,
              kill_after=None):
    """One worker's part of a spread fit: connect, agree that every share is sound,
    fit. Returns the fit (the same on every worker). ``kill_after``: seconds after which
    this worker's process dies (the fault tests' lost worker)."""
    X, ids, w, error = share
    link = listener.connect(rank, addresses, token, timeout)
    link.agree(error)
    if kill_after is not None:
        threading.Timer(kill_after, os._exit, (1,)).start()
    if not sp.issparse(X) and X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    return _sigmax.fit_linear(_as_input(X), ids, n_classes, w, settings, None, False, link)
