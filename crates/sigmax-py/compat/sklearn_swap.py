"""A pytest plugin that runs scikit-learn's own test files against sigmax's estimators.

``SIGMAX_SWAP=LogisticRegression`` (or ``LogisticRegressionCV``, ``LinearSVC``) replaces
that class in ``sklearn.linear_model`` / ``sklearn.svm`` before the test modules import it,
so the tests shipped inside the installed scikit-learn wheel exercise sigmax's class
instead. With ``SIGMAX_SWAP_ONLY_USERS=1`` only the tests whose source names the class are
collected. Each test's report says whether it reached sigmax's compiled code
(``calls_sigmax``), which ``run_sklearn_suites.py`` counts.
"""
import inspect
import os

import pytest

_calls = {"n": 0}


def _swapped():
    return os.environ.get("SIGMAX_SWAP", "")


def pytest_configure(config):
    name = _swapped()
    if not name:
        return
    import sklearn.linear_model
    import sklearn.svm

    import sigmax
    from sigmax import _sigmax

    module = sklearn.svm if name == "LinearSVC" else sklearn.linear_model
    setattr(module, name, getattr(sigmax, name))
    # Count the fits that reach the compiled module.
    original = _sigmax.fit_linear

    def counted(*args, **kwargs):
        _calls["n"] += 1
        return original(*args, **kwargs)

    _sigmax.fit_linear = counted


def pytest_collection_modifyitems(config, items):
    name = _swapped()
    if not name or not os.environ.get("SIGMAX_SWAP_ONLY_USERS"):
        return
    keep, drop = [], []
    for item in items:
        try:
            source = inspect.getsource(item.function)
        except (OSError, TypeError):
            source = ""
        # LinearSVC's tests, not LinearSVR's (which share some test functions).
        uses = name in source and "svr" not in item.name.lower()
        (keep if uses else drop).append(item)
    items[:] = keep
    config.hook.pytest_deselected(items=drop)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    before = _calls["n"]
    yield
    item.user_properties.append(("calls_sigmax", _calls["n"] > before))
