"""sigmax: logistic / softmax regression and linear SVMs on sigmax's Rust solvers, as
scikit-learn estimators.

    from sigmax import LogisticRegression, LinearSVC, LogisticRegressionCV, load_svmlight
"""
from ._sigmax import __version__
from ._data import load_svmlight
from ._logistic import LogisticRegression, SoftmaxRegression
from ._logistic_cv import LogisticRegressionCV
from ._svm import LinearSVC

__all__ = [
    "LinearSVC",
    "LogisticRegression",
    "LogisticRegressionCV",
    "SoftmaxRegression",
    "load_svmlight",
    "__version__",
]
