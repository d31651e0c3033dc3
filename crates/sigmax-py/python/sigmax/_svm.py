"""``LinearSVC``: scikit-learn 1.9's estimator (LIBLINEAR's objective), fit by sigmax's
solvers."""
import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._linear import (
    _effective_weights,
    _in_dtype,
    _rows_for_many_fits,
    _SigmaxLinearClassifier,
    with_bias_column,
)
from ._sklearn_api import SIGMAX_SOLVERS, liblinear_solver_type, resolve_svc_dual, seed_of


class LinearSVC(_SigmaxLinearClassifier):
    """Linear support vector classifier with scikit-learn 1.9's parameters: LIBLINEAR's
    objective C·Σ s_i ℓ_i + penalty, the intercept penalized as LIBLINEAR's (a bias
    feature of value ``intercept_scaling``), one-vs-rest over more than two classes.

    Parameters
    ----------
    penalty : 'l2' (default) or 'l1' (with the squared hinge and ``dual=False``:
        LIBLINEAR -s 5, fit by OWL-QN).
    loss : 'squared_hinge' (default; trust-region Newton, or dual coordinate descent with
        ``dual=True``) or 'hinge' (dual coordinate descent, LIBLINEAR -s 3).
    dual : 'auto' (default), True or False, with scikit-learn's rules of which
        combinations exist.
    tol : float or None. For dual coordinate descent (``dual=True``, and the hinge
        always), LIBLINEAR's test on the dual's violation, the projected gradient's
        spread; None: the default of sigmax's library and CLI, LIBLINEAR's 0.1 and then a
        certified relative duality gap (P − D)/P ≤ 1e-6. For the primal solvers the
        relative gradient-norm test (None: 1e-10, so that a weight of k and k copies of a
        row give the same model).
    C, fit_intercept, intercept_scaling, class_weight, verbose : as scikit-learn's.
    multi_class : 'ovr'. 'crammer_singer' (LIBLINEAR -s 4) is not built in sigmax and is
        refused with a clear error.
    random_state : seeds dual coordinate descent's shuffles (None: seed 0).
    max_iter : int ≥ 0 or None (the solver's default).
    solver : sigmax's solver for the chosen objective ('auto').
    n_jobs : threads, at most one a core; None: all cores.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sigmax import LinearSVC
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = LinearSVC(C=0.5).fit(X, y)
    >>> clf.coef_.shape, clf.intercept_.shape
    ((1, 20), (1,))
    """

    _parameter_constraints = {
        "penalty": [StrOptions({"l1", "l2"})],
        "loss": [StrOptions({"hinge", "squared_hinge"})],
        "dual": ["boolean", StrOptions({"auto"})],
        "tol": [Interval(numbers.Real, 0.0, None, closed="neither"), None],
        "C": [Interval(numbers.Real, 0.0, None, closed="neither")],
        "multi_class": [StrOptions({"ovr", "crammer_singer"})],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(numbers.Real, 0, None, closed="neither")],
        "class_weight": [None, dict, StrOptions({"balanced"})],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "solver": [StrOptions(set(SIGMAX_SOLVERS))],
        "n_jobs": [None, Interval(numbers.Integral, -1, None, closed="left")],
    }

    def _tol(self):
        if self.tol is not None:
            return float(self.tol)
        # Dual CD's default is the library's and the CLI's (see the class docstring); the
        # primal solvers go to 1e-10, so that a weight of k and k copies of a row give the
        # same model.
        return None if self._resolved_solver == "dual-cd" else 1e-10

    def __init__(self, penalty="l2", loss="squared_hinge", *, dual="auto", tol=None, C=1.0,
                 multi_class="ovr", fit_intercept=True, intercept_scaling=1,
                 class_weight=None, verbose=0, random_state=None, max_iter=None,
                 solver="auto", n_jobs=None):
        self.penalty = penalty
        self.loss = loss
        self.dual = dual
        self.tol = tol
        self.C = C
        self.multi_class = multi_class
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.verbose = verbose
        self.random_state = random_state
        self.max_iter = max_iter
        self.solver = solver
        self.n_jobs = n_jobs

    def fit(self, X, y, sample_weight=None):
        """Fits to X (dense or sparse) and y, with optional per-row weights."""
        self._check_params()
        X, y_ids, sample_weight = self._validate_fit_input(X, y, sample_weight,
                                                           accept_large_sparse=False)
        if self.multi_class == "crammer_singer":
            raise ValueError(
                "multi_class='crammer_singer' (Crammer and Singer's joint multiclass SVM, "
                "LIBLINEAR -s 4) is not built in sigmax; use multi_class='ovr' (one model "
                "per class against the rest)."
            )
        dual = resolve_svc_dual(self.dual, self.loss, self.penalty, self.multi_class, *X.shape)
        liblinear_solver_type(self.multi_class, self.penalty, self.loss, dual)
        model = "squared-hinge-svm" if self.loss == "squared_hinge" else "svm"
        solver = self.solver
        if solver == "auto":
            solver = "owlqn" if self.penalty == "l1" else ("dual-cd" if dual else "newton")
        self._resolved_solver = solver
        k = len(self.classes_)
        weights = _effective_weights(self, y_ids, k, sample_weight)
        dtype = X.dtype
        rows = 1 if k == 2 else k
        if self.max_iter == 0:
            self.coef_ = np.zeros((rows, X.shape[1]), dtype=dtype)
            self.intercept_ = np.zeros(rows, dtype=dtype) if self.fit_intercept else 0.0
            self.n_iter_ = 0
            return self
        # Two classes: one model; more: one per class against the rest.
        targets = [y_ids] if k == 2 else [(y_ids == c).astype(np.int64) for c in range(k)]
        # The intercept as LIBLINEAR's: a penalized bias feature, appended once.
        bias = float(self.intercept_scaling) if self.fit_intercept else None
        data = X if bias is None else with_bias_column(X, bias)
        data = data if k == 2 else _rows_for_many_fits(data)
        seed = seed_of(self.random_state)
        fits = [
            self._fit_one(data, t, 2, weights, model, self.penalty, None, solver, None,
                          bias=bias, seed=seed)
            for t in targets
        ]
        self.coef_ = _in_dtype(np.vstack([np.asarray(f["coef"]) for f in fits]), dtype)
        if self.fit_intercept:
            self.intercept_ = _in_dtype(np.concatenate([np.asarray(f["intercept"]) for f in fits]), dtype)
        else:
            self.intercept_ = 0.0  # as scikit-learn's LinearSVC reports it
        self.n_iter_ = int(max(f["n_iter"] for f in fits))
        self._warn_if_not_converged(fits, solver_name="liblinear")
        return self
