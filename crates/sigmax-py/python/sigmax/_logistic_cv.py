"""``LogisticRegressionCV``: scikit-learn 1.9's estimator (its parameters, warnings and
fitted attributes, legacy or not), each fold's path of C values fit by sigmax."""
import inspect
import numbers
import warnings

import numpy as np
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, get_scorer_names, make_scorer
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._linear import _rows_for_many_fits
from ._logistic import LogisticRegression
from ._sklearn_api import LOGISTIC_CONSTRAINTS, check_solver, resolve_logistic_penalty


def _constraints():
    c = {k: v for k, v in LOGISTIC_CONSTRAINTS.items() if k not in ("C", "warm_start", "l1_ratio")}
    c.update({
        "Cs": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"],
        "l1_ratios": ["array-like", None, Hidden(StrOptions({"warn"}))],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None, Hidden(StrOptions({"warn"}))],
        "refit": ["boolean"],
        "penalty": [StrOptions({"l1", "l2", "elasticnet"}), Hidden(StrOptions({"deprecated"}))],
        "use_legacy_attributes": ["boolean", Hidden(StrOptions({"warn"}))],
    })
    return c


class LogisticRegressionCV(LogisticRegression):
    """``LogisticRegression`` with C (and, for the elastic net, l1_ratio) chosen by
    cross-validation, with scikit-learn 1.9's parameters and attributes: for each fold and
    l1_ratio the grid of C values is fit in its order, each fit warm-started from the
    previous one, scored on the held-out rows; then (``refit=True``) one fit on all the
    data at the best (C, l1_ratio), started from the folds' mean coefficients there, or
    (``refit=False``) the mean of the folds' best coefficients.

    ``Cs`` (an int: that many values log-spaced in [1e-4, 1e4]), ``l1_ratios``, ``cv``
    (anything ``sklearn.model_selection.check_cv`` takes, lists of (train, test) included),
    ``scoring`` (None: accuracy), ``refit``, ``use_legacy_attributes`` and the solver
    settings are scikit-learn's; ``solver``, ``tol``, ``max_iter`` and ``n_jobs`` as in
    ``sigmax.LogisticRegression``. A ``sample_weight`` given to ``fit`` weighs both the fits
    and the scores. Fitted: ``Cs_``, ``l1_ratios_``, ``coefs_paths_``, ``scores_``,
    ``n_iter_``, ``C_``, ``l1_ratio_``, ``coef_``, ``intercept_``, ``classes_``.
    """

    _parameter_constraints = _constraints()

    def __init__(self, *, Cs=10, l1_ratios="warn", fit_intercept=True, cv=None, dual=False,
                 penalty="deprecated", scoring="warn", solver="auto", tol=None, max_iter=None,
                 class_weight=None, n_jobs=None, verbose=0, refit=True, intercept_scaling=1.0,
                 random_state=None, use_legacy_attributes="warn"):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.dual = dual
        self.penalty = penalty
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.refit = refit
        self.intercept_scaling = intercept_scaling
        self.random_state = random_state
        self.use_legacy_attributes = use_legacy_attributes

    def _settings(self):
        """(l1_ratios, penalty, scoring, legacy) as scikit-learn 1.9 reads them, with its
        warnings and errors."""
        if isinstance(self.l1_ratios, str) and self.l1_ratios == "warn":
            l1_ratios = None
            warnings.warn(
                "The default value for l1_ratios will change from None to (0.0,) in version "
                "1.10. From version 1.10 onwards, only array-like with values in [0, 1] will "
                "be allowed, None will be forbidden. To avoid this warning, explicitly set a "
                "value, e.g. l1_ratios=(0,).",
                FutureWarning,
            )
        else:
            l1_ratios = self.l1_ratios
        if self.penalty == "deprecated":
            if self.l1_ratios is None:
                warnings.warn(
                    "'l1_ratios=None' was deprecated in version 1.8 and will trigger an error "
                    "in 1.10. Use an array-like with valuesin [0, 1] instead.",
                    FutureWarning,
                )
            if l1_ratios is None or np.all(np.asarray(l1_ratios) == 0):
                penalty = "l2"
            elif np.all(np.asarray(l1_ratios) == 1):
                penalty = "l1"
            else:
                penalty = "elasticnet"
        else:
            penalty = self.penalty
            warnings.warn(
                "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To "
                "avoid this warning, leave 'penalty' set to its default value and use "
                "'l1_ratios' and 'Cs' instead. Use l1_ratios=(0,) instead of penalty='l2', "
                "l1_ratios=(1,) instead of penalty='l1', l1_ratios set to floats between 0 "
                "and 1 instead of penalty='elasticnet', and Cs=(np.inf,) instead of "
                "penalty=None.",
                FutureWarning,
            )
        if self.scoring == "warn":
            warnings.warn(
                "The default value of the parameter 'scoring' will change from None, i.e. "
                "accuracy, to 'neg_log_loss' in version 1.11. To silence this warning, "
                "explicitly set the scoring parameter: scoring='neg_log_loss' for the new, "
                "scoring='accuracy' or scoring=None for the old default.",
                FutureWarning,
            )
            scoring = None
        else:
            scoring = self.scoring
        if self.use_legacy_attributes == "warn":
            warnings.warn(
                f"The fitted attributes of {self.__class__.__name__} will be simplified in "
                "scikit-learn 1.10 to remove redundancy. Set`use_legacy_attributes=False` to "
                "enable the new behavior now, or set it to `True` to silence this warning "
                "during the transition period while keeping the deprecated behavior for the "
                "time being. The default value of use_legacy_attributes will change from "
                "True to False in scikit-learn 1.10. See the docstring of "
                f"{self.__class__.__name__} for more details.",
                FutureWarning,
            )
            legacy = True
        else:
            legacy = self.use_legacy_attributes
        check_solver(self.solver, penalty, self.dual)
        if penalty == "elasticnet":
            bad = l1_ratios is None or len(l1_ratios) == 0 or any(
                not isinstance(r, numbers.Number) or r < 0 or r > 1 for r in l1_ratios)
            if bad:
                raise ValueError(
                    "l1_ratios must be an array-like of numbers between 0 and 1; got "
                    f"(l1_ratios={l1_ratios!r})"
                )
        elif l1_ratios is not None and self.penalty != "deprecated":
            warnings.warn(
                f"l1_ratios parameter is only used when penalty is 'elasticnet'. Got (penalty={penalty})"
            )
        return l1_ratios, penalty, scoring, legacy

    def _get_scorer(self):
        """The scorer of ``scoring`` (None: accuracy)."""
        if isinstance(self.scoring, str) and self.scoring == "warn":
            return get_scorer("accuracy")
        return get_scorer(self.scoring or "accuracy")

    def _one_fit(self, C, l1_ratio, penalty):
        """The ``LogisticRegression`` of one point of the grid."""
        ratio = {"l2": 0.0, "l1": 1.0}.get(penalty, l1_ratio)
        return LogisticRegression(
            C=C, l1_ratio=0.0 if ratio is None else ratio, dual=self.dual, tol=self.tol,
            fit_intercept=self.fit_intercept, intercept_scaling=self.intercept_scaling,
            class_weight=self._fold_class_weight, random_state=self.random_state,
            solver=self.solver, max_iter=self.max_iter, warm_start=True, n_jobs=self.n_jobs,
            verbose=max(0, self.verbose - 1),
        )

    def _fit_fold(self, est, X, y_ids, sample_weight):
        """A fit on a fold's rows with every class of the data (as scikit-learn's path,
        so a fold without some class still scores all of them)."""
        est.classes_ = self.classes_
        est.n_features_in_ = X.shape[1]
        penalty, C = resolve_logistic_penalty(est)
        est._fit_ids(X, y_ids, sample_weight, penalty, C)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, **params):
        """Cross-validates the grid, then fits the chosen model (see the class)."""
        if params:
            raise ValueError(
                f"Passing extra keyword arguments to {self.__class__.__name__}.fit is only "
                "supported if enable_metadata_routing=True, and sigmax does not route "
                f"metadata: got {sorted(params)}."
            )
        l1_ratios, penalty, scoring, legacy = self._settings()
        l1_grid = [None] if l1_ratios is None else list(l1_ratios)
        liblinear_like = self.solver in ("liblinear", "sag", "saga")
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64, order="C",
                             accept_large_sparse=not liblinear_like)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {self.classes_[0]}."
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        folds = list(check_cv(self.cv, y, classifier=True).split(X, y))
        # Class weights from all the rows (as scikit-learn), the same in every fold.
        cw = self.class_weight
        if isinstance(cw, dict) and not set(cw) <= set(self.classes_):
            raise ValueError(
                "The given class_weight dict must have the class labels as keys; "
                f"classes={self.classes_} but key={cw.keys()}"
            )
        if isinstance(cw, str) and cw == "balanced":
            cw = dict(zip(self.classes_, compute_class_weight(
                "balanced", classes=self.classes_, y=y, sample_weight=sample_weight)))
        self._fold_class_weight = cw
        Cs = np.logspace(-4, 4, self.Cs) if isinstance(self.Cs, numbers.Integral) \
            else np.asarray(self.Cs, dtype=float)
        scorer = _scorer_for_all_classes(scoring, self.classes_)
        rows = _rows_for_many_fits(X)  # every fit reads the folds' rows in place
        y_ids = np.searchsorted(self.classes_, y).astype(np.int64)
        binary = n_classes == 2
        n_out = 1 if binary else n_classes
        n_dof = X.shape[1] + int(self.fit_intercept)
        paths = np.zeros((len(folds), len(l1_grid), len(Cs), n_out, n_dof))
        scores = np.zeros((len(folds), len(l1_grid), len(Cs)))
        n_iter = np.zeros((len(folds), len(l1_grid), len(Cs)), dtype=np.int32)
        for f, (train, test) in enumerate(folds):
            sw_train = None if sample_weight is None else sample_weight[train]
            score_kw = {} if sample_weight is None else {"sample_weight": sample_weight[test]}
            for r, l1_ratio in enumerate(l1_grid):
                previous = None
                for c, C in enumerate(Cs):
                    est = self._one_fit(C, l1_ratio, penalty)
                    if previous is not None:  # warm start along the path
                        est.coef_, est.intercept_ = previous.coef_, previous.intercept_
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        self._fit_fold(est, rows[train], y_ids[train], sw_train)
                    previous = est
                    paths[f, r, c] = _dof(est, self.fit_intercept)
                    n_iter[f, r, c] = est.n_iter_[0]
                    scores[f, r, c] = scorer(est, X[test], y[test], **score_kw)
        self.Cs_ = Cs
        self.l1_ratios_ = np.asarray(l1_grid)
        mean = scores.sum(axis=0)  # (n_l1, n_cs)
        if self.refit:
            r, c = np.unravel_index(np.argmax(mean.T), mean.T.shape)[::-1]
            best_C, best_l1 = Cs[c], l1_grid[r]
            start = paths[:, r, c].mean(axis=0)  # the folds' mean, as the start
            final = self._one_fit(best_C, best_l1, penalty)
            final.coef_ = start[:, : X.shape[1]]
            final.intercept_ = start[:, -1] if self.fit_intercept else np.zeros(n_out)
            final.fit(X, y, sample_weight=sample_weight)
            coef, intercept = final.coef_, final.intercept_
            C_, l1_ratio_ = best_C, best_l1
        else:
            # Each fold's best point; the mean of their coefficients, C and l1_ratio.
            flat = scores.transpose(0, 2, 1).reshape(len(folds), -1)
            best = [np.unravel_index(i, (len(Cs), len(l1_grid))) for i in np.argmax(flat, axis=1)]
            w = np.mean([paths[f, r, c] for f, (c, r) in enumerate(best)], axis=0)
            coef = w[:, : X.shape[1]]
            intercept = w[:, -1] if self.fit_intercept else np.zeros(n_out)
            C_ = float(np.mean([Cs[c] for c, _ in best]))
            l1_ratio_ = float(np.mean([l1_grid[r] for _, r in best])) \
                if penalty == "elasticnet" else 0.0
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(intercept, dtype=np.float64).reshape(n_out)
        self._set_cv_attributes(paths, scores, n_iter, C_, l1_ratio_, l1_ratios, legacy, penalty)
        del self._fold_class_weight
        return self

    def _set_cv_attributes(self, paths, scores, n_iter, C_, l1_ratio_, l1_ratios, legacy, penalty):
        """scikit-learn 1.9's attributes from (folds, l1_ratios, Cs, ...) arrays."""
        n_out = paths.shape[3]
        keys = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        if not legacy:
            self.C_ = float(C_)
            if l1_ratios is None:
                self.l1_ratio_ = 1.0 if self.penalty == "l1" else 0.0
            else:
                self.l1_ratio_ = float(l1_ratio_)
            self.coefs_paths_ = paths  # (folds, l1_ratios, Cs, classes, dof)
            self.scores_ = scores
            self.n_iter_ = n_iter
            return
        # Legacy: per-class dicts of (folds, Cs, l1_ratios, dof), the l1 axis dropped when
        # l1_ratios is None; C_ and l1_ratio_ repeated per class.
        per_class = np.moveaxis(paths, (3, 1), (0, 3))  # (classes, folds, Cs, l1, dof)
        legacy_scores = np.swapaxes(scores, 1, 2)  # (folds, Cs, l1)
        legacy_iter = np.swapaxes(n_iter, 1, 2)[None, ...]
        if l1_ratios is None:
            per_class = per_class[:, :, :, 0, :]
            legacy_scores = legacy_scores[:, :, 0]
            legacy_iter = legacy_iter[:, :, :, 0]
        self.coefs_paths_ = dict(zip(keys, per_class))
        self.scores_ = {k: legacy_scores.copy() for k in keys}
        self.n_iter_ = legacy_iter
        self.C_ = np.full(n_out, C_, dtype=float)
        ratio = 0.0 if l1_ratio_ is None else l1_ratio_
        self.l1_ratio_ = np.full(n_out, ratio, dtype=float) if l1_ratio_ is not None \
            else np.array([None] * n_out, dtype=object)

    def score(self, X, y, *, sample_weight=None, **score_params):
        """The ``scoring`` option's score of this model on X, y."""
        if score_params:
            raise ValueError(
                "Passing extra keyword arguments to score is only supported if "
                "enable_metadata_routing=True, and sigmax does not route metadata: got "
                f"{sorted(score_params)}."
            )
        kw = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self._get_scorer()(self, X, y, **kw)


def _scorer_for_all_classes(scoring, classes):
    """The scorer of ``scoring`` (None: accuracy), told every class where its metric takes
    ``labels`` (and, for two classes, which is positive): a fold's held-out rows may lack
    some class, and scikit-learn's metrics would then refuse or misread them."""
    scorer = get_scorer(scoring or "accuracy")
    func = getattr(scorer, "_score_func", None)
    if func is None or "labels" not in inspect.signature(func).parameters:
        return scorer
    extra = {"labels": classes}
    if len(classes) <= 2 and "pos_label" in inspect.signature(func).parameters:
        extra["pos_label"] = classes[-1]
    return make_scorer(func, greater_is_better=scorer._sign == 1,
                       response_method=scorer._response_method,
                       **extra, **getattr(scorer, "_kwargs", {}))


def _dof(est, fit_intercept):
    """A fit's coefficients with the intercept as a last column: (outputs, dof)."""
    coef = np.asarray(est.coef_, dtype=np.float64)
    if not fit_intercept:
        return coef
    return np.hstack([coef, np.asarray(est.intercept_, dtype=np.float64).reshape(-1, 1)])
