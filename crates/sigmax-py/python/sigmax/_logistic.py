"""``LogisticRegression`` (and ``SoftmaxRegression``): scikit-learn 1.9's estimator, fit
by sigmax's solvers.

It minimizes sigmax's weighted L2-ERM objective

    J(w, b) = (1/S) Σ s_i ℓ(y_i, w·x_i + b) + α·[r‖w‖₁ + (1 − r)/2 ‖w‖²],  α = 1/(C·S),

with S = Σ s_i (the effective weights: sample_weight × class weight): scikit-learn's
C·Σ s_i ℓ_i + r‖w‖₁ + (1 − r)/2‖w‖² divided by C·S, so for the same C the optimum is the
same (the intercept b is not penalized, except with ``solver='liblinear'``, whose
objective penalizes it as LIBLINEAR does). Dividing by Σ s_i, not by n, is what makes an
integer weight k equal to k copies of the row.
"""
import warnings

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.exceptions import ConvergenceWarning

from ._linear import _effective_weights, _in_dtype, _SigmaxLinearClassifier, with_bias_column
from ._sklearn_api import (
    LOGISTIC_CONSTRAINTS,
    resolve_logistic_penalty,
    seed_of,
    sigmax_solver,
)


class LogisticRegression(_SigmaxLinearClassifier):
    """Binary or multinomial (softmax) logistic regression on sigmax's solvers, with
    scikit-learn 1.9's parameters, warnings and errors.

    Parameters
    ----------
    penalty : deprecated, as in scikit-learn ≥ 1.8: ``l1_ratio`` picks the penalty (0: l2,
        1: l1, between: elastic net) and ``C=np.inf`` means none.
    C : float in (0, inf], inverse penalty strength: α = 1/(C·Σ weights).
    l1_ratio : float in [0, 1], default 0.
    dual : only with ``solver='liblinear'`` (the dual of the l2 problem: dual coordinate
        descent).
    tol : float or None. sigmax's relative gradient-norm test ‖∇J‖ ≤ tol·‖∇J(0)‖ (for
        dual-cd LIBLINEAR's test on the dual); None (default): the solver's default, 1e-6
        (the objective agrees with scikit-learn's optimum to about 9 digits), and for
        dual-cd without intercept a certified relative duality gap of 1e-6.
    fit_intercept : bool. The intercept is not penalized (except with 'liblinear').
    intercept_scaling : float > 0, LIBLINEAR's bias feature: used with
        ``solver='liblinear'``, whose objective penalizes the intercept; the other solvers
        leave the intercept free, where it has no meaning (as in scikit-learn).
    class_weight : None, 'balanced' or a dict.
    random_state : seeds the shuffles of SAGA ('sag', 'saga'), SGD and dual coordinate
        descent; None: seed 0 (runs repeat).
    solver : 'auto' (default: trust-region Newton; dual coordinate descent for binary fits
        of sparse X without intercept with rows ≤ 3 × features and C ≥ 0.5; OWL-QN with an l1 part;
        SAGA then Newton for multinomial fits of sparse X with fewer rows than features and
        at least 10,000 rows), scikit-learn's names ('lbfgs', 'newton-cg', 'newton-cholesky', 'sag',
        'saga', 'liblinear': see ``sigmax._sklearn_api`` for what each runs, with
        scikit-learn's rules of which takes which penalty) or sigmax's ('newton', 'lbfgs',
        'owlqn', 'saga', 'saga-newton', 'dual-cd', 'gd', 'sgd').
    max_iter : int ≥ 0 or None (the solver's default). 0 returns the starting point.
    verbose, warm_start : as scikit-learn's.
    n_jobs : threads, at most one a core; None or -1: all cores (scikit-learn ≥ 1.8
        ignores it; here it has an effect, so it does not warn).

    Attributes
    ----------
    classes_, coef_ (1 × d for two classes, K × d), intercept_, n_iter_ (shape (1,)),
    n_features_in_, feature_names_in_: as scikit-learn's, ``coef_`` and ``intercept_`` in
    X's dtype (float32 or float64).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sigmax import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegression(C=1.0).fit(X, y)
    >>> clf.coef_.shape
    (3, 4)
    >>> round(clf.score(X, y), 2)
    0.97
    """

    _parameter_constraints = LOGISTIC_CONSTRAINTS

    def __init__(self, penalty="deprecated", *, C=1.0, l1_ratio=0.0, dual=False, tol=None,
                 fit_intercept=True, intercept_scaling=1, class_weight=None,
                 random_state=None, solver="auto", max_iter=None, verbose=0,
                 warm_start=False, n_jobs=None):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs

    def fit(self, X, y, sample_weight=None):
        """Fits to X (dense or sparse) and y, with optional per-row weights."""
        self._check_params()
        penalty, C = resolve_logistic_penalty(self)
        X, y_ids, sample_weight = self._validate_fit_input(
            X, y, sample_weight,
            accept_large_sparse=self.solver not in ("liblinear", "sag", "saga"),
        )
        return self._fit_ids(X, y_ids, sample_weight, penalty, C)

    def _fit_ids(self, X, y_ids, sample_weight, penalty, C):
        """The fit on checked input: ``y_ids`` index ``classes_``, which may hold classes
        without rows (a cross-validation fold's: the model still has their outputs)."""
        liblinear = self.solver == "liblinear"
        k = len(self.classes_)
        if liblinear:
            _check_liblinear_input(X, k)
        weights = _effective_weights(self, y_ids, k, sample_weight)
        rows = 1 if k == 2 else k
        dtype = X.dtype
        if self.max_iter == 0:
            # The starting point, as scikit-learn's solvers report it before any step.
            self.coef_ = np.zeros((rows, X.shape[1]), dtype=dtype)
            self.intercept_ = np.zeros(rows, dtype=dtype)
            self.n_iter_ = np.array([0], dtype=np.int32)
            warnings.warn("max_iter=0: no iteration was run.", ConvergenceWarning)
            return self
        warm = None
        if self.warm_start and getattr(self, "coef_", None) is not None \
                and np.shape(self.coef_) == (rows, X.shape[1]):
            coef = np.asarray(self.coef_.toarray() if hasattr(self.coef_, "toarray") else self.coef_)
            warm = np.concatenate([coef.ravel(), self.intercept_ if self.fit_intercept else []])
            warm = warm.astype(np.float64)
        model = "logistic" if k == 2 else "softmax"
        l1_ratio = float(self.l1_ratio) if penalty == "elasticnet" else None
        solver = sigmax_solver(self.solver, penalty, self.dual, l1_ratio)
        # 'liblinear' penalizes the intercept: LIBLINEAR's bias feature.
        bias = float(self.intercept_scaling) if liblinear and self.fit_intercept else None
        fit = self._fit_one(
            X if bias is None else with_bias_column(X, bias), y_ids, k, weights, model,
            penalty, l1_ratio, solver, warm, C=C, bias=bias, seed=seed_of(self.random_state),
        )
        # X's dtype, as scikit-learn keeps it; its 'liblinear' returns float64.
        dtype = np.float64 if liblinear else dtype
        self.coef_ = _in_dtype(fit["coef"], dtype)
        self.intercept_ = _in_dtype(fit["intercept"], dtype)
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


def _check_liblinear_input(X, n_classes):
    """What scikit-learn's 'liblinear' refuses, with its messages."""
    if n_classes > 2:
        raise ValueError(
            "The 'liblinear' solver does not support multiclass classification (n_classes >= 3). "
            "Either use another solver or wrap the estimator in a OneVsRestClassifier to keep "
            "applying a one-versus-rest scheme."
        )
    if X.shape[0] and X.max() > 1e30:
        raise ValueError(
            "Using the 'liblinear' solver while X contains a maximum value > 1e30 results in "
            "a frozen fit. Please choose another solver or rescale the input X."
        )


class SoftmaxRegression(LogisticRegression):
    """``LogisticRegression`` under the name of its multiclass model: cross-entropy over
    a softmax of K linear scores (the binary case is the logistic model)."""
