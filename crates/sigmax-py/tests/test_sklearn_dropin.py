"""scikit-learn 1.9's semantics in sigmax's estimators: the model a changed import gives is
the one scikit-learn's parameters describe (or a clear error): l1_ratio picks the penalty,
C=np.inf means none, 'liblinear' and LinearSVC penalize the intercept as LIBLINEAR does,
float32 in keeps float32 out, positional parameters are scikit-learn's."""
import inspect
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn import linear_model, svm
from sklearn.datasets import load_breast_cancer, load_svmlight_file
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import sigmax

HEART = Path(__file__).resolve().parents[2] / "sigmax" / "data" / "heart_scale"


def heart():
    X, y = load_svmlight_file(str(HEART), n_features=13)
    return X.toarray(), y


def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def objective_parts(X, y, clf, C, l1_ratio):
    """scikit-learn's objective C·Σ log-loss + r‖w‖₁ + (1−r)/2‖w‖² and its smooth part's
    gradient."""
    w, b = clf.coef_[0].astype(np.float64), float(clf.intercept_[0])
    s = np.where(y == clf.classes_[1], 1.0, -1.0)
    z = s * (X @ w + b)
    p = 1 / (1 + np.exp(z))  # σ(−z)
    grad_w = C * (X.T @ (-s * p)) + (1 - l1_ratio) * w
    grad_b = C * np.sum(-s * p)
    return grad_w, grad_b


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_l1_ratio_alone_gives_the_l1_or_elastic_net_optimum(l1_ratio):
    # scikit-learn >= 1.8: l1_ratio picks the penalty; sigmax used to fit plain l2 here.
    X, y = cancer()
    C = 0.1
    clf = sigmax.LogisticRegression(C=C, l1_ratio=l1_ratio, tol=1e-10, max_iter=100000).fit(X, y)
    ref = linear_model.LogisticRegression(C=C, l1_ratio=l1_ratio, solver="saga", tol=1e-10,
                                          max_iter=100000).fit(X, y)
    grad_w, grad_b = objective_parts(X, y, clf, C, l1_ratio)
    w = clf.coef_[0]
    r = l1_ratio
    # Subgradient (KKT) conditions of the L1 part: ∇ + r·sign(w) = 0 where w ≠ 0,
    # |∇| ≤ r where w = 0; the intercept's gradient is 0.
    nonzero = w != 0
    assert nonzero.sum() < len(w), "the l1 part must zero some weights"
    np.testing.assert_allclose(grad_w[nonzero] + r * np.sign(w[nonzero]), 0, atol=1e-5)
    assert np.all(np.abs(grad_w[~nonzero]) <= r + 1e-6)
    assert abs(grad_b) < 1e-5
    # The same zero pattern as scikit-learn's (8 of 30 nonzero for l1 at C = 0.1).
    assert np.array_equal(w == 0, np.abs(ref.coef_[0]) < 1e-8)


def test_c_inf_is_an_unpenalized_fit():
    # Non-separable data: the unpenalized optimum exists, and equals the limit of small λ.
    X, y = heart()
    free = sigmax.LogisticRegression(C=np.inf, tol=1e-12, max_iter=1000).fit(X, y)
    tiny = sigmax.LogisticRegression(C=1e12, tol=1e-12, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(free.coef_, tiny.coef_, rtol=1e-6, atol=1e-8)
    ref = linear_model.LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12,
                                          max_iter=1000).fit(X, y)
    np.testing.assert_allclose(free.coef_, ref.coef_, rtol=1e-4)
    # penalty=None is the same model (with scikit-learn's deprecation and C warnings).
    with pytest.warns(FutureWarning, match="'penalty' was deprecated"):
        none = sigmax.LogisticRegression(penalty=None, tol=1e-12, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(none.coef_, free.coef_)


def test_separable_rows_without_a_penalty_are_a_clear_error():
    X = np.array([[1.0], [2.0], [-1.0], [-3.0]])
    y = np.array([1, 1, 0, 0])
    with pytest.raises(ValueError, match="no minimum"):
        sigmax.LogisticRegression(C=np.inf).fit(X, y)


def test_float32_in_float32_out_and_positional_parameters():
    X, y = heart()
    for est in (sigmax.LogisticRegression(), sigmax.LinearSVC()):
        assert est.fit(X.astype(np.float32), y).coef_.dtype == np.float32
        assert est.fit(X, y).coef_.dtype == np.float64
    # scikit-learn's positional parameters, and nothing else positional.
    assert sigmax.LinearSVC("l1", "squared_hinge").get_params()["penalty"] == "l1"
    for ours, theirs in [(sigmax.LogisticRegression, linear_model.LogisticRegression),
                         (sigmax.LinearSVC, svm.LinearSVC),
                         (sigmax.LogisticRegressionCV, linear_model.LogisticRegressionCV)]:
        positional = lambda c: [p.name for p in inspect.signature(c).parameters.values()
                                if p.kind == p.POSITIONAL_OR_KEYWORD]
        assert positional(ours) == positional(theirs)
        assert set(inspect.signature(theirs).parameters) <= set(inspect.signature(ours).parameters)


@pytest.mark.parametrize("loss, penalty, dual", [("squared_hinge", "l2", False),
                                                 ("squared_hinge", "l2", True),
                                                 ("squared_hinge", "l1", False),
                                                 ("hinge", "l2", True)])
def test_linear_svc_is_liblinears_model(loss, penalty, dual):
    X, y = heart()
    C = 0.2
    ours = sigmax.LinearSVC(penalty=penalty, loss=loss, dual=dual, C=C, tol=1e-10,
                            max_iter=100000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = svm.LinearSVC(penalty=penalty, loss=loss, dual=dual, C=C, tol=1e-12,
                            max_iter=1000000, random_state=0).fit(X, y)
    s = np.where(y > 0, 1, -1)

    def primal(clf):
        w, b = clf.coef_[0], clf.intercept_[0]
        reg = np.abs(np.append(w, b)).sum() if penalty == "l1" else 0.5 * (w @ w + b * b)
        margin = np.maximum(0, 1 - s * (X @ w + b))
        return reg + C * np.sum(margin ** (1 if loss == "hinge" else 2))

    assert primal(ours) <= primal(ref) * (1 + 1e-9) and primal(ref) - primal(ours) <= 1e-3 * primal(ref)
    with pytest.raises(ValueError, match="penalty='l1' and loss='hinge' is not supported"):
        sigmax.LinearSVC(penalty="l1", loss="hinge").fit(X, y)
    with pytest.raises(ValueError, match="crammer_singer"):
        sigmax.LinearSVC(multi_class="crammer_singer").fit(X, y)


def test_liblinear_solver_penalizes_the_intercept_as_liblinear():
    X, y = heart()
    ours = sigmax.LogisticRegression(solver="liblinear", C=0.05, intercept_scaling=3,
                                     tol=1e-12, max_iter=1000).fit(X, y)
    ref = linear_model.LogisticRegression(solver="liblinear", C=0.05, intercept_scaling=3,
                                          tol=1e-12, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-4)
    # The free intercept of the other solvers is another model.
    free = sigmax.LogisticRegression(C=0.05, tol=1e-12).fit(X, y)
    assert abs(free.intercept_[0] - ours.intercept_[0]) > 1e-3


def test_the_fast_input_path_keeps_scikit_learns_checks():
    # Plain NumPy input skips scikit-learn's helpers (their ~1 ms is most of a small
    # fit); what they check must still hold.
    pd = pytest.importorskip("pandas")
    X, y = heart()
    clf = sigmax.LogisticRegression()
    clf.fit(pd.DataFrame(X, columns=[f"f{j}" for j in range(13)]), y)
    assert list(clf.feature_names_in_)[:2] == ["f0", "f1"]
    clf.fit(X, y)  # plain arrays: the names of the last fit are gone, as scikit-learn's
    assert not hasattr(clf, "feature_names_in_") and clf.n_features_in_ == 13
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        clf.fit(X, y + 0.5 * np.arange(len(y)) / len(y))
    # Parameters are validated once per set of values: a changed value is checked again.
    clf.C = -1
    with pytest.raises(ValueError, match="'C' parameter of LogisticRegression"):
        clf.fit(X, y)
    clf.C = 1.0
    clf.fit(X, y)
    # A sample_weight of another length is refused with scikit-learn's words.
    with pytest.raises(ValueError, match="sample_weight.shape"):
        clf.fit(X, y, sample_weight=np.ones(5))
