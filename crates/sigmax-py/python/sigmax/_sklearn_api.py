"""scikit-learn 1.9's parameter semantics, and how each setting maps to sigmax's solvers.

The estimators take scikit-learn's parameters with scikit-learn's meaning, its warnings and
its errors (the messages are scikit-learn's, so code and tests that match them keep
working); what they fit is then sigmax's. This module holds the rules that decide the
objective (the penalty from ``penalty`` / ``l1_ratio`` / ``C``, the LIBLINEAR objective of
``solver='liblinear'`` and of ``LinearSVC``) and the solver that minimizes it:

==================  ==========================================================
scikit-learn name   sigmax solver (the same objective)
==================  ==========================================================
lbfgs               lbfgs (L-BFGS)
newton-cg           newton (trust-region Newton-CG)
newton-cholesky     newton
sag                 saga (SAGA, a relative of SAG with the same fixed point)
saga                saga (l2, none, elasticnet without L1); owlqn (l1,
                    elasticnet): OWL-QN
liblinear           newton (l2, dual=False: LIBLINEAR -s 0 is trust-region
                    Newton), dual-cd (l2, dual=True: -s 7), owlqn (l1: -s 6);
                    the intercept penalized as LIBLINEAR's (``intercept_scaling``)
==================  ==========================================================

sigmax's own names (``auto``, ``newton``, ``lbfgs``, ``owlqn``, ``dual-cd``, ``gd``,
``sgd``, ``saga``, ``saga-newton``) are accepted too; ``auto`` picks as the CLI does.
"""
import numbers
import warnings

import numpy as np
from sklearn.utils._param_validation import Hidden, Interval, StrOptions

from . import _sigmax

SKLEARN_SOLVERS = ("lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga")
SIGMAX_SOLVERS = tuple(_sigmax.SOLVERS)

LOGISTIC_CONSTRAINTS = {
    "penalty": [StrOptions({"l1", "l2", "elasticnet"}), None, Hidden(StrOptions({"deprecated"}))],
    "C": [Interval(numbers.Real, 0, None, closed="right")],
    "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both"), None],
    "dual": ["boolean"],
    "tol": [Interval(numbers.Real, 0, None, closed="neither"), None],
    "fit_intercept": ["boolean"],
    "intercept_scaling": [Interval(numbers.Real, 0, None, closed="neither")],
    "class_weight": [dict, StrOptions({"balanced"}), None],
    "random_state": ["random_state"],
    "solver": [StrOptions(set(SKLEARN_SOLVERS) | set(SIGMAX_SOLVERS) | {"tron"})],
    "max_iter": [Interval(numbers.Integral, 0, None, closed="left"), None],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "n_jobs": [None, Interval(numbers.Integral, -1, None, closed="left")],
}


def resolve_logistic_penalty(est):
    """(penalty, C) of a ``LogisticRegression`` as scikit-learn 1.9 reads them: with
    ``penalty`` left deprecated, ``l1_ratio`` picks it (0: l2, 1: l1, between: elasticnet)
    and ``C=np.inf`` means none; an explicit ``penalty`` warns that it is deprecated. The
    warnings and errors are scikit-learn's. ``penalty`` None comes back as ("l2", inf)."""
    l1_ratio, C = est.l1_ratio, est.C
    if est.penalty == "deprecated":
        if l1_ratio == 0 or l1_ratio is None:
            penalty = "l2"
            if l1_ratio is None:
                warnings.warn(
                    "'l1_ratio=None' was deprecated in version 1.8 and will trigger an "
                    "error in 1.10. Use 0<=l1_ratio<=1 instead.",
                    FutureWarning,
                )
        elif l1_ratio == 1:
            penalty = "l1"
        else:
            penalty = "elasticnet"
        if C == np.inf:
            penalty = None
    else:
        penalty = est.penalty
        warnings.warn(
            "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To "
            "avoid this warning, leave 'penalty' set to its default value and use "
            "'l1_ratio' or 'C' instead. Use l1_ratio=0 instead of penalty='l2', "
            "l1_ratio=1 instead of penalty='l1', l1_ratio set to a float between 0 and 1 "
            "instead of penalty='elasticnet', and C=np.inf instead of penalty=None.",
            FutureWarning,
        )
    check_solver(est.solver, penalty, est.dual)
    if penalty != "elasticnet" and l1_ratio is not None and 0 < l1_ratio < 1:
        warnings.warn(
            f"l1_ratio parameter is only used when penalty is 'elasticnet'. Got (penalty={penalty})"
        )
    if (est.penalty == "l2" and l1_ratio != 0) or (est.penalty == "l1" and l1_ratio != 1):
        warnings.warn(
            f"Inconsistent values: penalty={est.penalty} with l1_ratio={l1_ratio}. penalty "
            "is deprecated. Please use l1_ratio only."
        )
    if penalty == "elasticnet" and l1_ratio is None:
        raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
    if est.penalty is None:
        if C != 1.0:
            warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters")
        return "l2", np.inf
    if penalty is None:
        return "l2", np.inf
    return penalty, C


def check_solver(solver, penalty, dual):
    """scikit-learn's rules for which solver takes which penalty (its messages); sigmax's
    own solver names follow sigmax's rules, checked when the fit starts."""
    if solver not in SKLEARN_SOLVERS:
        if dual and solver != "dual-cd":
            raise ValueError(f"Solver {solver} supports only dual=False, got dual={dual}")
        return
    if solver not in ["liblinear", "saga"] and penalty not in ("l2", None):
        raise ValueError(
            f"Solver {solver} supports only 'l2' or None penalties, got {penalty} penalty."
        )
    if solver != "liblinear" and dual:
        raise ValueError(f"Solver {solver} supports only dual=False, got dual={dual}")
    if penalty == "elasticnet" and solver != "saga":
        raise ValueError(f"Only 'saga' solver supports elasticnet penalty, got solver={solver}.")
    if solver == "liblinear" and penalty is None:
        raise ValueError(
            "C=np.inf as well as penalty=None is not supported for the liblinear solver"
        )


def sigmax_solver(solver, penalty, dual, l1_ratio=None):
    """The sigmax solver that minimizes the objective scikit-learn's ``solver`` would (see
    the module's table). An elastic net without its L1 part (``l1_ratio`` 0) is smooth."""
    if solver in ("newton-cg", "newton-cholesky", "tron"):
        return "newton"
    if solver == "sag":
        return "saga"
    if solver == "saga":
        smooth = penalty == "l2" or (penalty == "elasticnet" and l1_ratio == 0)
        return "saga" if smooth else "owlqn"
    if solver == "liblinear":
        if penalty == "l1":
            return "owlqn"
        return "dual-cd" if dual else "newton"
    return solver


def seed_of(random_state):
    """A 64-bit seed for sigmax's shuffles from scikit-learn's ``random_state``: an int
    as it is, a ``RandomState`` by one draw from it (as scikit-learn seeds LIBLINEAR), None
    a fixed 0 (sigmax's runs repeat)."""
    if random_state is None:
        return 0
    if isinstance(random_state, numbers.Integral):
        return int(random_state) % (1 << 64)
    return int(random_state.randint(np.iinfo(np.int32).max))


def liblinear_solver_type(multi_class, penalty, loss, dual):
    """Refuses what LIBLINEAR (so scikit-learn's ``LinearSVC``) does not solve, with
    scikit-learn's message; returns the loss, penalty and dual it solves."""
    supported = {
        "hinge": {"l2": {True}},
        "squared_hinge": {"l1": {False}, "l2": {False, True}},
    }
    if multi_class != "ovr":
        raise ValueError(f"`multi_class` must be one of `ovr`, `crammer_singer`, got {multi_class!r}")
    penalties = supported.get(loss)
    if penalties is None:
        why = f"loss='{loss}' is not supported"
    elif penalty not in penalties:
        why = f"The combination of penalty='{penalty}' and loss='{loss}' is not supported"
    elif dual not in penalties[penalty]:
        why = (f"The combination of penalty='{penalty}' and loss='{loss}' are not supported "
               f"when dual={dual}")
    else:
        return
    raise ValueError(
        f"Unsupported set of arguments: {why}, Parameters: penalty={penalty!r}, "
        f"loss={loss!r}, dual={dual!r}"
    )


def resolve_svc_dual(dual, loss, penalty, multi_class, n_samples, n_features):
    """``LinearSVC``'s ``dual='auto'``: the dual when there are fewer samples than features
    and the combination has one, else the primal when it has one (scikit-learn's rule)."""
    if dual != "auto":
        return dual
    prefer = n_samples < n_features
    for candidate in (prefer, not prefer):
        try:
            liblinear_solver_type(multi_class, penalty, loss, candidate)
            return candidate
        except ValueError:
            continue
    return prefer
