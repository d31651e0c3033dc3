"""What sigmax's scikit-learn estimators share: reading X in place, sample and class
weights, the call into sigmax's solvers, and the fitted state.

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
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin, SparseCoefMixin
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from . import _sigmax
from ._data import can_be_made_writeable_again

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


def _class_weight_by_id(est):
    """The estimator's ``class_weight`` in sigmax's terms: None, "balanced", or
    {class id: weight} (labels checked against ``classes_`` with scikit-learn's words)."""
    cw = est.class_weight
    if cw is None or (isinstance(cw, str) and cw == "balanced"):
        return cw
    if isinstance(cw, dict):
        by_id = {}
        for label, value in cw.items():
            match = np.flatnonzero(est.classes_ == label)
            if match.size == 0:
                raise ValueError(f"The class_weight label {label!r} is not one of the classes {est.classes_.tolist()}.")
            if not (isinstance(value, numbers.Real) and np.isfinite(value) and value >= 0):
                raise ValueError(f"class_weight[{label!r}] = {value!r}: class weights must be finite numbers >= 0.")
            by_id[int(match[0])] = float(value)
        return by_id
    raise ValueError(f"class_weight must be None, 'balanced' or a dict; got {cw!r}.")


def _effective_weights(est, y_ids, n_classes, sample_weight):
    """sample_weight × class weight per row (None when every row weighs 1), by sigmax's
    rule (balanced: S / (K · S_c) on weighted counts, as scikit-learn >= 1.6 does)."""
    cw = _class_weight_by_id(est)
    if cw is None:
        return sample_weight
    w = _sigmax.class_weighted(y_ids, n_classes, sample_weight, cw)
    if not np.any(w > 0):
        raise ValueError(f"class_weight={est.class_weight!r} gives every sample the weight 0: there is nothing to fit.")
    return w


class _SigmaxLinearClassifier(LinearClassifierMixin, SparseCoefMixin, ClassifierMixin, BaseEstimator):
    """What the linear classifiers share: input checks, the call into sigmax, the fitted
    coefficients (``decision_function``, ``predict``, ``sparsify`` and ``densify`` are
    scikit-learn's own linear-classifier mixins: the same scores from the same coef_)."""

    def _tol(self):
        """The stopping tolerance given (``None``: the solver's default, as sigmax's
        library and CLI: 1e-6 of the relative gradient for the primal solvers; for
        dual-cd LIBLINEAR's 0.1 on the dual's violation, then, without an unpenalized
        intercept, a certified relative duality gap of 1e-6)."""
        return None if self.tol is None else float(self.tol)

    def _check_params(self):
        """scikit-learn's parameter validation (its messages), run once per set of values:
        a grid search's thousands of small fits would otherwise pay ~0.3 ms each for it."""
        names = self._parameter_constraints
        params = {name: getattr(self, name) for name in names}
        key = repr(sorted(params.items()))
        if getattr(self, "_sigmax_checked_params", None) != key:
            validate_parameter_constraints(names, params, caller_name=type(self).__name__)
            self._sigmax_checked_params = key

    def _validate_fit_input(self, X, y, sample_weight, accept_large_sparse=True):
        # X's NaN and infinity are found by the compiled module while it converts X (in
        # parallel, with scikit-learn's messages), not by a separate pass here.
        if _plain_arrays(X, y, sample_weight):
            # NumPy arrays of the usual kinds: the checks scikit-learn's helpers would make
            # (their ~1 ms is most of a small fit), done directly.
            self.n_features_in_ = X.shape[1]
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            if y.dtype.kind == "f" and np.any(y != np.floor(y)):
                check_classification_targets(y)  # raises scikit-learn's "continuous" error
        else:
            X, y = validate_data(self, X, y, accept_sparse=["csr", "csc", "coo"],
                                 dtype=[np.float64, np.float32], order=None,
                                 ensure_all_finite=False, accept_large_sparse=accept_large_sparse)
            check_classification_targets(y)
        self.classes_, y_ids = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {self.classes_[0]!r}"
            )
        if sample_weight is not None:
            if not (isinstance(sample_weight, np.ndarray) and sample_weight.dtype == np.float64
                    and sample_weight.shape == (X.shape[0],) and sample_weight.flags.c_contiguous):
                sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            if np.any(sample_weight < 0):
                raise ValueError("Negative values in data passed to sample_weight")
            if not np.any(sample_weight > 0):
                raise ValueError("Sample weights must contain at least one non-zero number "
                                 "(every weight is zero).")
        return X, y_ids.astype(np.int64), sample_weight

    def _fit_one(self, X, y_ids, n_classes, weights, model, penalty, l1_ratio, solver, warm,
                 C=None, bias=None, seed=0):
        """One sigmax fit. ``bias``: X's last column is LIBLINEAR's bias feature of that
        value (``with_bias_column``), whose weight is penalized like the others
        (``intercept_ = weight × bias``); else the intercept is free (unpenalized)."""
        C = self.C if C is None else C
        if bias is not None and warm is not None:
            # (Binary only: LIBLINEAR's objective is refused for multinomial fits.) The
            # intercept's parameter is the bias feature's weight.
            warm = warm.copy()
            warm[-1] /= bias
        settings = self._settings(model, C, penalty, l1_ratio, solver, warm, seed,
                                  intercept=bool(self.fit_intercept) and bias is None)
        parts = _as_input(X)
        with _frozen(parts):
            fit = _sigmax.fit_linear(
                parts, y_ids, n_classes, weights, settings,
                None if getattr(self, "n_jobs", None) is None else min(int(self.n_jobs), sys.maxsize),
                bool(self.verbose),
            )
        if bias is not None:
            coef = np.asarray(fit["coef"])
            fit["intercept"] = coef[:, -1] * bias
            fit["coef"] = coef[:, :-1]
        return fit

    def _settings(self, model, C, penalty, l1_ratio, solver, warm, seed, intercept,
                  class_weight=None):
        """One fit's settings in sigmax's own names (checked once, by the library)."""
        return {
            "model": model, "C": float(C), "penalty": penalty, "l1_ratio": l1_ratio,
            "fit_intercept": intercept, "solver": solver, "tol": self._tol(),
            "max_iter": None if self.max_iter is None else min(int(self.max_iter), sys.maxsize),
            "warm_start": warm, "seed": seed, "class_weight": class_weight,
        }

    def _warn_if_not_converged(self, fits, solver_name=None):
        """A ConvergenceWarning for each fit that stopped short, worded as scikit-learn's
        solver of that name words it (code that matches the message keeps working),
        followed by sigmax's reason."""
        name = self.solver if solver_name is None else solver_name
        for f in fits:
            if f["converged"]:
                continue
            n = f["n_iter"]
            lead = {
                "lbfgs": f"lbfgs failed to converge after {n} iteration(s)",
                "newton-cg": "newton-cg failed to converge. Increase the number of iterations.",
                "newton-cholesky": f"Newton solver did not converge after {n} iterations",
                "sag": "The max_iter was reached which means the coef_ did not converge",
                "saga": "The max_iter was reached which means the coef_ did not converge",
                "liblinear": "Liblinear failed to converge, increase the number of iterations.",
            }.get(name, "sigmax did not converge")
            warnings.warn(
                f"{lead} (sigmax's {f['solver']} solver: {f['stop_reason']}). Increase the "
                "number of iterations (max_iter), loosen tol, or scale the features (e.g. "
                "StandardScaler).",
                ConvergenceWarning,
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _plain_arrays(X, y, sample_weight):
    """Whether X, y (and the weights) are NumPy arrays that scikit-learn's input checks
    would accept unchanged: X 2-D float32/float64 with rows and columns, y 1-D of integers,
    booleans or finite floats (strings and objects take the full checks), one label a row."""
    return (
        type(X) is np.ndarray and X.ndim == 2 and X.dtype in (np.float32, np.float64)
        and X.shape[0] > 0 and X.shape[1] > 0
        and type(y) is np.ndarray and y.ndim == 1 and y.shape[0] == X.shape[0]
        and (y.dtype.kind in "iub" or (y.dtype.kind == "f" and np.isfinite(y).all()))
        and (sample_weight is None or type(sample_weight) is np.ndarray)
    )


def with_bias_column(X, value):
    """X with a last column of ``value`` (LIBLINEAR's bias feature)."""
    if sp.issparse(X):
        column = sp.csr_matrix(np.full((X.shape[0], 1), value, dtype=X.dtype))
        return sp.hstack([X.tocsr(), column], format="csr")
    return np.hstack([X, np.full((X.shape[0], 1), value, dtype=X.dtype)])


def _in_dtype(a, dtype):
    """A fitted array in X's dtype (scikit-learn keeps float32 for float32 X)."""
    return np.asarray(a, dtype=dtype if dtype in (np.float32, np.float64) else np.float64)
