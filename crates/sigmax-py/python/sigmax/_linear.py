"""scikit-learn estimators over sigmax's solvers.

Each fit minimizes sigmax's weighted L2-ERM objective

    J(w, b) = (1/S) Σ s_i ℓ(y_i, w·x_i + b) + α·[r‖w‖₁ + (1 − r)/2 ‖w‖²],  α = 1/(C·S),

with S = Σ s_i (the effective weights: sample_weight × class weight). That is exactly
scikit-learn's C·Σ s_i ℓ_i + ½‖w‖² divided by C·S, so for the same C the optimum is the
same (the intercept b is never penalized). Dividing by Σ s_i, not by n, is what makes an
integer weight k equal to k copies of the row.

Only the fitted state is stored, as NumPy arrays, so the estimators clone, pickle and
joblib-dump like scikit-learn's own.
"""
import contextlib
import numbers
import sys
import threading
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _sigmax
from ._data import can_be_made_writeable_again

# scikit-learn's solver names that mean one of sigmax's.
_SOLVER_ALIASES = {"newton-cg": "newton", "newton-cholesky": "newton", "tron": "newton"}
_SOLVERS = tuple(_sigmax.SOLVERS)


def _check_param(name, value, ok, expected):
    if not ok:
        raise ValueError(f"The '{name}' parameter must be {expected}; got {value!r}.")


def _check_common(est):
    C = est.C
    _check_param("C", C, isinstance(C, numbers.Real) and not isinstance(C, bool)
                 and np.isfinite(C) and C > 0, "a float > 0")
    _check_param("tol", est.tol, est.tol is None or (isinstance(est.tol, numbers.Real) and est.tol > 0),
                 "a float > 0 (or None: the estimator's default)")
    mi = est.max_iter
    _check_param("max_iter", mi, mi is None or (isinstance(mi, numbers.Integral) and mi >= 1),
                 "None or an int >= 1")
    nj = est.n_jobs
    _check_param("n_jobs", nj, nj is None or (isinstance(nj, numbers.Integral) and (nj == -1 or nj >= 1)),
                 "None, -1 or an int >= 1")
    solver = _SOLVER_ALIASES.get(est.solver, est.solver)
    _check_param("solver", est.solver, solver in _SOLVERS,
                 "one of " + ", ".join(_SOLVERS) + " (or newton-cg)")
    return solver


def _as_input(X):
    """What the compiled module reads: a 2-D array, or CSR parts."""
    if sp.issparse(X):
        X = X.tocsr()
        if not X.has_canonical_format:  # sigmax needs sorted, duplicate-free indices
            X = X.copy()
            X.sum_duplicates()
        return (X.data, X.indices, X.indptr, X.shape[1])
    return X


def _is_sigmax_rows(X):
    """Whether X is a dense array in sigmax's own layout (float32, C order), which the
    compiled module reads in place."""
    return isinstance(X, np.ndarray) and X.dtype == np.float32 and X.flags.c_contiguous


def _rows_for_many_fits(X):
    """X as the compiled module reads in place: dense as float32 in C order, CSR with
    float32 data. For loops of fits on one X (one-vs-rest, cross-validation folds), which
    would otherwise convert it once per fit; the same float32 values either way (NumPy's
    and Rust's conversions both round to nearest)."""
    if sp.issparse(X):
        X = X.tocsr()
        return X if X.dtype == np.float32 else X.astype(np.float32)
    if _is_sigmax_rows(X):
        return X
    with np.errstate(over="ignore"):  # beyond float32's range: inf, refused by the fit
        return np.ascontiguousarray(X, dtype=np.float32)


def _read_in_place(parts):
    """The arrays of ``_as_input``'s result that the fit may read in place: CSR's three,
    or a float32 C-ordered 2-D array (sigmax's own layout)."""
    if isinstance(parts, tuple):
        return parts[:3]
    if _is_sigmax_rows(parts):
        return (parts,)
    return ()


# Arrays frozen by fits still running: id → [array, number of fits]. Concurrent fits on one
# CSR share the freeze; the last one to finish makes the arrays writable again.
_FROZEN = {}
_FROZEN_LOCK = threading.Lock()


@contextlib.contextmanager
def _frozen(parts):
    """Arrays that the fit may read in place (CSR's, float32 C-ordered dense) are read-only
    while it runs (the GIL is released, so another Python thread could otherwise write to
    them mid-fit); their flags
    are restored when the last fit reading them ends, also when a fit fails. Arrays the
    caller made read-only stay so; arrays NumPy could not make writeable again (memory
    owned by an object it cannot ask, such as another extension's buffer) are not frozen."""
    held = []
    with _FROZEN_LOCK:
        for a in _read_in_place(parts):
            entry = _FROZEN.get(id(a))
            if entry is not None and entry[0] is a:
                entry[1] += 1
            elif a.flags.writeable and can_be_made_writeable_again(a):
                a.flags.writeable = False
                _FROZEN[id(a)] = [a, 1]
            else:
                continue
            held.append(a)
    try:
        yield
    finally:
        with _FROZEN_LOCK:
            for a in held:
                entry = _FROZEN[id(a)]
                entry[1] -= 1
                if entry[1] == 0:
                    del _FROZEN[id(a)]
                    a.flags.writeable = True


def _effective_weights(est, y_ids, n_classes, sample_weight):
    """sample_weight × class weight per row (None when every row weighs 1)."""
    cw = est.class_weight
    if cw is None:
        return sample_weight
    w = np.ones(len(y_ids)) if sample_weight is None else sample_weight
    if isinstance(cw, str) and cw == "balanced":
        # S / (K · S_c) on weighted counts, as scikit-learn >= 1.6 does.
        counts = np.bincount(y_ids, weights=w, minlength=n_classes)
        per_class = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1e-300)), 0.0)
    elif isinstance(cw, dict):
        per_class = np.ones(n_classes)
        for label, value in cw.items():
            match = np.flatnonzero(est.classes_ == label)
            if match.size == 0:
                raise ValueError(f"The class_weight label {label!r} is not one of the classes {est.classes_.tolist()}.")
            if not (isinstance(value, numbers.Real) and np.isfinite(value) and value >= 0):
                raise ValueError(f"class_weight[{label!r}] = {value!r}: class weights must be finite numbers >= 0.")
            per_class[match[0]] = value
    else:
        raise ValueError(f"class_weight must be None, 'balanced' or a dict; got {cw!r}.")
    w = w * per_class[y_ids]
    if not np.any(w > 0):
        raise ValueError(f"class_weight={cw!r} gives every sample the weight 0: there is nothing to fit.")
    return w


class _SigmaxLinearClassifier(ClassifierMixin, BaseEstimator):
    """What the linear classifiers share: input checks, the call into sigmax, scores."""

    def _tol(self):
        """The stopping tolerance in effect (``tol=None``: the estimator's default)."""
        return 1e-6 if self.tol is None else self.tol

    def _validate_fit_input(self, X, y, sample_weight):
        # X's NaN and infinity are found by the compiled module while it converts X (in
        # parallel, with scikit-learn's messages), not by a separate pass here.
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc", "coo"],
                             dtype=[np.float64, np.float32], order=None,
                             ensure_all_finite=False)
        check_classification_targets(y)
        self.classes_, y_ids = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "sigmax needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {self.classes_[0]!r}"
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            if np.any(sample_weight < 0):
                raise ValueError("Negative values in data passed to sample_weight")
            if not np.any(sample_weight > 0):
                raise ValueError("Sample weights must contain at least one non-zero number "
                                 "(every weight is zero).")
        return X, y_ids.astype(np.int64), sample_weight

    def _fit_one(self, X, y_ids, n_classes, weights, model, penalty, l1_ratio, solver, warm):
        parts = _as_input(X)
        with _frozen(parts):
            return _sigmax.fit_linear(
                parts, y_ids, n_classes, weights, model, float(self.C), penalty,
                l1_ratio, bool(self.fit_intercept), solver, float(self._tol()),
                # Past 2^63 iterations is forever: a larger int would not convert.
                None if self.max_iter is None else min(int(self.max_iter), sys.maxsize), warm,
                None if self.n_jobs is None else min(int(self.n_jobs), sys.maxsize),
                bool(self.verbose),
            )

    def _warn_if_not_converged(self, fits):
        for f in fits:
            if not f["converged"]:
                warnings.warn(
                    f"sigmax's {f['solver']} solver stopped before converging: "
                    f"{f['stop_reason']}. Increase max_iter, loosen tol, or scale the "
                    "features (e.g. StandardScaler).",
                    ConvergenceWarning,
                )

    def decision_function(self, X):
        """Scores w·x + b: 1-D for two classes (positive means ``classes_[1]``), else
        one column per class."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False,
                          dtype=[np.float64, np.float32])
        scores = safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class LogisticRegression(_SigmaxLinearClassifier):
    """Binary or multinomial (softmax) logistic regression on sigmax's solvers.

    Parameters follow scikit-learn's ``LogisticRegression``: ``C`` (inverse penalty
    strength, α = 1/(C·Σ weights)), ``penalty`` ('l2', 'l1' or 'elasticnet', with
    ``l1_ratio``), ``fit_intercept`` (never penalized), ``tol`` (sigmax's relative
    gradient-norm test ‖∇J‖ ≤ tol·‖∇J(0)‖, default 1e-6: the objective agrees with
    scikit-learn's to about 9 digits, the coefficients to about 5 on unscaled data), ``max_iter`` (None: the solver's default),
    ``solver`` ('auto' = trust-region Newton; SAGA's first epochs then Newton
    ('saga-newton') for multinomial fits on sparse X with fewer rows than features and at
    least 10,000 rows; OWL-QN with an L1 part; or 'newton', 'lbfgs', 'saga', 'saga-newton',
    'owlqn', 'dual-cd', 'gd', 'sgd'), ``class_weight`` (None, 'balanced' or a dict), ``warm_start``,
    ``n_jobs`` (threads, at most one a core; None or -1: all cores) and ``verbose`` (one line per iteration on
    stderr). Features are held as float32 inside sigmax (the arithmetic is float64).
    """

    def __init__(self, C=1.0, penalty="l2", l1_ratio=None, fit_intercept=True, tol=1e-6,
                 max_iter=None, solver="auto", class_weight=None, warm_start=False,
                 n_jobs=None, verbose=0):
        self.C = C
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.solver = solver
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _penalty(self):
        _check_param("penalty", self.penalty, self.penalty in ("l2", "l1", "elasticnet"),
                     "'l2', 'l1' or 'elasticnet'")
        r = self.l1_ratio
        if self.penalty == "elasticnet":
            _check_param("l1_ratio", r, r is not None and 0 <= r <= 1,
                         "a float in [0, 1] with penalty='elasticnet'")
            return float(r)
        return None

    def fit(self, X, y, sample_weight=None):
        """Fits to X (dense or sparse) and y, with optional per-row weights."""
        solver = _check_common(self)
        l1_ratio = self._penalty()
        X, y_ids, sample_weight = self._validate_fit_input(X, y, sample_weight)
        k = len(self.classes_)
        weights = _effective_weights(self, y_ids, k, sample_weight)
        rows = 1 if k == 2 else k
        warm = None
        if self.warm_start and getattr(self, "coef_", None) is not None \
                and self.coef_.shape == (rows, X.shape[1]):
            warm = np.concatenate([self.coef_.ravel(), self.intercept_ if self.fit_intercept else []])
        model = "logistic" if k == 2 else "softmax"
        fit = self._fit_one(X, y_ids, k, weights, model, self.penalty, l1_ratio, solver, warm)
        self.coef_ = np.asarray(fit["coef"], dtype=np.float64)
        self.intercept_ = np.asarray(fit["intercept"], dtype=np.float64)
        self.n_iter_ = np.array([fit["n_iter"]], dtype=np.int32)
        self._warn_if_not_converged([fit])
        return self

    def predict_proba(self, X):
        """Class probabilities, columns in ``classes_`` order."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1.0 - p, p])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """log of ``predict_proba``, computed stably (no log of 0 for confident rows)."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return log_softmax(scores, axis=1)


class SoftmaxRegression(LogisticRegression):
    """``LogisticRegression`` under the name of its multiclass model: cross-entropy over
    a softmax of K linear scores (the binary case is the logistic model)."""


class LinearSVC(_SigmaxLinearClassifier):
    """Linear support vector classifier: squared hinge (default, as scikit-learn's
    ``LinearSVC``) or hinge loss, one-vs-rest for more than two classes.

    Unlike scikit-learn's (LIBLINEAR's) the intercept is not penalized: sigmax's dual
    coordinate descent searches it exactly, as libsvm's ``SVC(kernel='linear')`` does.
    ``tol`` is the relative gradient-norm test of Newton for the squared hinge (default
    1e-10: Newton converges fast, and so a weight of k and k copies of a row give the same
    model to 1e-7, which scikit-learn's sample-weight equivalence checks ask) or the
    relative projected-gradient test of dual coordinate descent for the hinge (default
    1e-4; the dual converges slowly near the end).
    """

    def _tol(self):
        if self.tol is not None:
            return self.tol
        return 1e-10 if self.loss == "squared_hinge" else 1e-4

    def __init__(self, C=1.0, loss="squared_hinge", fit_intercept=True, tol=None,
                 max_iter=None, solver="auto", class_weight=None, n_jobs=None, verbose=0):
        self.C = C
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.solver = solver
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        solver = _check_common(self)
        _check_param("loss", self.loss, self.loss in ("squared_hinge", "hinge"),
                     "'squared_hinge' or 'hinge'")
        # auto: Newton for the (smooth) squared hinge, dual CD for the hinge.
        model = "squared-hinge-svm" if self.loss == "squared_hinge" else "svm"
        X, y_ids, sample_weight = self._validate_fit_input(X, y, sample_weight)
        k = len(self.classes_)
        weights = _effective_weights(self, y_ids, k, sample_weight)
        # Two classes: one model; more: one per class against the rest.
        targets = [y_ids] if k == 2 else [(y_ids == c).astype(np.int64) for c in range(k)]
        rows = X if k == 2 else _rows_for_many_fits(X)
        fits = [self._fit_one(rows, t, 2, weights, model, "l2", None, solver, None) for t in targets]
        self.coef_ = np.vstack([np.asarray(f["coef"], dtype=np.float64) for f in fits])
        self.intercept_ = np.concatenate([np.asarray(f["intercept"], dtype=np.float64) for f in fits])
        self.n_iter_ = int(max(f["n_iter"] for f in fits))
        self._warn_if_not_converged(fits)
        return self


class LogisticRegressionCV(LogisticRegression):
    """``LogisticRegression`` with C chosen by stratified K-fold cross-validation over a
    grid, each fold's fits warm-started along the path from the smallest C (the most
    regularized, cheapest) up, then refit on all the data at the best C.

    ``Cs``: an int (that many values log-spaced in [1e-4, 1e4], as scikit-learn) or a list;
    ``cv``: the number of folds or a splitter; ``scoring``: None (accuracy) or a scorer
    name / callable as in ``sklearn.metrics.get_scorer``. Fitted: ``C_``, ``Cs_``,
    ``scores_`` (folds × Cs) and the refit model's attributes.
    """

    def __init__(self, Cs=10, cv=5, scoring=None, penalty="l2", l1_ratio=None,
                 fit_intercept=True, tol=1e-6, max_iter=None, solver="auto",
                 class_weight=None, n_jobs=None, verbose=0, random_state=None):
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.solver = solver
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.Cs = Cs
        self.cv = cv
        self.scoring = scoring
        self.random_state = random_state

    def _path_estimator(self, C):
        return LogisticRegression(C=C, penalty=self.penalty, l1_ratio=self.l1_ratio,
                                  fit_intercept=self.fit_intercept, tol=self.tol,
                                  max_iter=self.max_iter, solver=self.solver,
                                  class_weight=self.class_weight, warm_start=True,
                                  n_jobs=self.n_jobs, verbose=self.verbose)

    def fit(self, X, y, sample_weight=None):
        from sklearn.metrics import check_scoring

        Cs = np.logspace(-4, 4, self.Cs) if isinstance(self.Cs, numbers.Integral) \
            else np.sort(np.asarray(self.Cs, dtype=float))
        if Cs.size == 0 or np.any(Cs <= 0):
            raise ValueError(f"Cs must hold values > 0; got {self.Cs!r}")
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32])
        check_classification_targets(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        splitter = StratifiedKFold(self.cv, shuffle=self.random_state is not None,
                                   random_state=self.random_state) \
            if isinstance(self.cv, numbers.Integral) else self.cv
        scores = []
        rows = _rows_for_many_fits(X)  # fits read the folds in place; scores use X
        for train, test in splitter.split(X, y):
            est, row = None, []
            sw = None if sample_weight is None else sample_weight[train]
            X_train, y_train = rows[train], y[train]
            for C in Cs:
                nxt = self._path_estimator(C)
                if est is not None:  # warm start from the previous C on this fold
                    nxt.coef_, nxt.intercept_ = est.coef_, est.intercept_
                est = nxt
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    est.fit(X_train, y_train, sample_weight=sw)
                scorer = check_scoring(est, scoring=self.scoring)
                row.append(scorer(est, X[test], y[test]))
            scores.append(row)
        self.Cs_ = Cs
        self.scores_ = np.asarray(scores)
        best = int(np.argmax(self.scores_.mean(axis=0)))
        final = self._path_estimator(Cs[best]).fit(X, y, sample_weight=sample_weight)
        for attr in ("classes_", "coef_", "intercept_", "n_iter_"):
            setattr(self, attr, getattr(final, attr))
        self.C_ = np.full(1 if len(self.classes_) == 2 else len(self.classes_), Cs[best])
        return self
