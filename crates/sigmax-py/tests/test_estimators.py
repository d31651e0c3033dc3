"""The Python package: scikit-learn's own estimator checks, agreement with scikit-learn on
the same objective, every input form users have, and interruption."""
import os
import pickle
import signal
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model, svm
from sklearn.datasets import load_iris, load_svmlight_file, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.estimator_checks import parametrize_with_checks

import sigmax

HEART = Path(__file__).resolve().parents[2] / "sigmax" / "data" / "heart_scale"


def expected_failures(estimator):
    """The checks that are expected to fail, with why. LogisticRegression passes all of
    them, the sample-weight equivalence (weight k = k copies, to rtol 1e-7) included,
    which scikit-learn 1.9 marks as an expected failure for its own LogisticRegression,
    LinearSVC and SGDClassifier."""
    name = type(estimator).__name__
    equivalence = ["check_sample_weight_equivalence_on_dense_data",
                   "check_sample_weight_equivalence_on_sparse_data"]
    if name == "LinearSVC" and (estimator.loss == "hinge" or estimator.dual is not False):
        # These checks' 15 × 30 rows go to dual CD (dual='auto': fewer rows than
        # features), whose default stop is the library's and the CLI's: a certified
        # relative duality gap of 1e-6 (the hinge 1e-4). The two fits then agree to that
        # gap only; at tol=1e-10 they agree to 1e-7 (measured), and LinearSVC(dual=False)
        # (Newton to 1e-10) passes.
        return {c: "equal to 1e-7 only at tol=1e-10" for c in equivalence}
    if name == "LogisticRegressionCV":
        # Repeated rows land in other folds than their weighted original, so the chosen
        # C can differ; scikit-learn's own LogisticRegressionCV fails it too.
        return {c: "CV folds differ between weighted and repeated rows" for c in equivalence}
    return {}


@parametrize_with_checks(
    [
        sigmax.LogisticRegression(),
        sigmax.LogisticRegression(penalty="elasticnet", l1_ratio=0.5),
        sigmax.LinearSVC(),
        sigmax.LinearSVC(dual=False),
        sigmax.LinearSVC(loss="hinge"),
        sigmax.LogisticRegressionCV(Cs=3, cv=3),
    ],
    expected_failed_checks=expected_failures,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def heart():
    X, y = load_svmlight_file(str(HEART), n_features=13)
    return X.toarray(), y


def objective(X, y, coef, intercept, C, sample_weight=None):
    """scikit-learn's C·Σ s_i ℓ_i + ½‖w‖² for binary logistic regression."""
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    m = np.where(y == y.max(), 1.0, -1.0) * (X @ coef.ravel() + intercept[0])
    return C * np.sum(s * np.logaddexp(0.0, -m)) + 0.5 * coef.ravel() @ coef.ravel()


@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_logistic_matches_scikit_learn(C, weighted):
    X, y = heart()
    sw = np.random.default_rng(0).integers(1, 4, len(y)).astype(float) if weighted else None
    ours = sigmax.LogisticRegression(C=C).fit(X, y, sample_weight=sw)
    ref = linear_model.LogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(X, y, sample_weight=sw)
    assert ours.coef_.shape == ref.coef_.shape == (1, 13)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-4, atol=1e-5)
    j_ours = objective(X, y, ours.coef_, ours.intercept_, C, sw)
    j_ref = objective(X, y, ref.coef_, ref.intercept_, C, sw)
    assert j_ours <= j_ref * (1 + 1e-9)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(ours.classes_, ref.classes_)


def multinomial_objective(X, y, coef, intercept, C, sample_weight):
    """scikit-learn's C·Σ s_i ℓ_i + ½‖W‖² for the multinomial loss."""
    S = X @ coef.T + intercept
    m = S.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(S - m).sum(axis=1))
    return C * np.sum(sample_weight * (lse - S[np.arange(len(y)), y])) + 0.5 * (coef * coef).sum()


def test_multinomial_and_class_weights_match_scikit_learn():
    X, y = load_iris(return_X_y=True)
    for cw in [None, "balanced", {0: 2.0, 1: 0.5, 2: 1.0}]:
        ref = linear_model.LogisticRegression(C=0.5, class_weight=cw, tol=1e-10, max_iter=10000).fit(X, y)
        s = compute_sample_weight(cw, y) if cw is not None else np.ones(len(y))
        j_ref = multinomial_objective(X, y, ref.coef_, ref.intercept_, 0.5, s)
        # The default tol (1e-6 on ‖∇J‖, unscaled iris) reaches scikit-learn's objective;
        # the coefficients to 1e-5 need a tighter solve (features are float32 inside sigmax,
        # which alone moves them by ~2e-6).
        default = sigmax.LogisticRegression(C=0.5, class_weight=cw).fit(X, y)
        assert multinomial_objective(X, y, default.coef_, default.intercept_, 0.5, s) <= j_ref * (1 + 1e-9)
        np.testing.assert_allclose(default.predict_proba(X), ref.predict_proba(X), atol=1e-5)
        ours = sigmax.LogisticRegression(C=0.5, class_weight=cw, tol=1e-8).fit(X, y)
        np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(np.exp(ours.predict_log_proba(X)), ours.predict_proba(X), rtol=1e-12)


def test_l1_matches_scikit_learn_saga():
    X, y = heart()
    ours = sigmax.LogisticRegression(C=0.5, penalty="l1", tol=1e-10).fit(X, y)
    ref = linear_model.LogisticRegression(C=0.5, l1_ratio=1.0, solver="saga", tol=1e-12,
                                          max_iter=100000, random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=2e-4)
    assert np.array_equal(ours.coef_ == 0, np.abs(ref.coef_) < 1e-6)


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
def test_svm_with_intercept_minimizes_liblinears_objective(loss):
    # scikit-learn's LinearSVC is LIBLINEAR's: the intercept is the weight of a bias
    # feature of value intercept_scaling, penalized with the others.
    X, y = heart()
    C, s = 0.5, 2.0
    sign = np.where(y > 0, 1, -1)
    power = 1 if loss == "hinge" else 2

    def primal(w, b):
        wb = b / s
        margin = 1 - sign * (X @ w + b)
        return 0.5 * (w @ w + wb * wb) + C * np.sum(np.maximum(0, margin) ** power)

    ours = sigmax.LinearSVC(C=C, loss=loss, intercept_scaling=s, tol=1e-10, max_iter=100000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = svm.LinearSVC(C=C, loss=loss, intercept_scaling=s, dual=True, tol=1e-12,
                            max_iter=1000000, random_state=0).fit(X, y)
    j_ours = primal(ours.coef_[0], ours.intercept_[0])
    j_ref = primal(ref.coef_[0], ref.intercept_[0])
    # Never above LIBLINEAR's (whose dual CD stops short of the hinge's optimum by up to
    # 5e-4 here), and within it.
    assert j_ours <= j_ref * (1 + 1e-9) and j_ref - j_ours <= 1e-3 * j_ref, (j_ours, j_ref)


def test_squared_hinge_without_intercept_matches_liblinear():
    # LIBLINEAR's dual CD (random coordinate order; at tol=1e-12 it may stop at max_iter
    # short of it) is compared on the objective both minimize,
    # ½‖w‖² + C Σ max(0, 1 − y w·x)², with a fixed random_state.
    X, y = heart()
    C = 0.5
    ours = sigmax.LinearSVC(C=C, fit_intercept=False, tol=1e-10, max_iter=100000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = svm.LinearSVC(C=C, fit_intercept=False, dual=True, tol=1e-10, max_iter=1000000,
                            random_state=0).fit(X, y)
    sign = np.where(y == ours.classes_[1], 1.0, -1.0)

    def primal(w):
        return 0.5 * w @ w + C * np.sum(np.maximum(0.0, 1.0 - sign * (X @ w)) ** 2)

    j_ours, j_ref = primal(ours.coef_[0]), primal(ref.coef_[0])
    assert abs(j_ours - j_ref) <= 1e-6 * j_ref and j_ours <= j_ref * (1 + 1e-9), (j_ours, j_ref)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-2, atol=1e-3)


def test_multiclass_svm_is_one_vs_rest():
    X, y = load_iris(return_X_y=True)
    m = sigmax.LinearSVC().fit(X, y)
    assert m.coef_.shape == (3, 4) and m.decision_function(X).shape == (150, 3)
    assert m.score(X, y) > 0.9


def test_every_input_form_gives_the_same_model():
    X, y = heart()
    ref = sigmax.LogisticRegression().fit(X, y)
    forms = {
        "float32": X.astype(np.float32),
        "fortran": np.asfortranarray(X),
        "csr int32": sp.csr_matrix(X),
        "csr int64": sp.csr_matrix((sp.csr_matrix(X).data, sp.csr_matrix(X).indices.astype(np.int64),
                                    sp.csr_matrix(X).indptr.astype(np.int64)), shape=X.shape),
        "csr float32": sp.csr_matrix(X).astype(np.float32),
        "csc": sp.csc_matrix(X),
        "coo": sp.coo_matrix(X),
        "csr_array": sp.csr_array(X),
        "list": X.tolist(),
    }
    for name, Xf in forms.items():
        m = sigmax.LogisticRegression().fit(Xf, y)
        np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-6, atol=1e-7, err_msg=name)
        np.testing.assert_array_equal(m.predict(Xf), ref.predict(X), err_msg=name)
    ints = np.arange(40).reshape(20, 2) % 7
    yi = (ints[:, 0] > 3).astype(int)
    assert sigmax.LogisticRegression().fit(ints, yi).score(ints, yi) > 0.8


def _csr_storage_seen_by_fit(monkeypatch, X, y):
    """What the fit's compiled call reads for X: [(in place?, address)] of data, indices, indptr."""
    from sigmax import _sigmax
    seen = []
    fit_linear = _sigmax.fit_linear

    def spy(x, *args):
        seen.append(_sigmax.csr_storage(x))
        return fit_linear(x, *args)

    monkeypatch.setattr(_sigmax, "fit_linear", spy)
    model = sigmax.LogisticRegression().fit(X, y)
    monkeypatch.undo()
    assert len(seen) == 1
    return seen[0], model


def test_csr_float32_int32_is_read_in_place(monkeypatch):
    X, y = heart()
    Xs = sp.csr_matrix(X).astype(np.float32)
    assert Xs.data.dtype == np.float32 and Xs.indices.dtype == np.int32 and Xs.indptr.dtype == np.int32
    (data, indices, indptr), model = _csr_storage_seen_by_fit(monkeypatch, Xs, y)
    # All three arrays are read where SciPy keeps them: nothing is copied.
    assert data == (True, Xs.data.ctypes.data)
    assert indices == (True, Xs.indices.ctypes.data)
    assert indptr == (True, Xs.indptr.ctypes.data)
    ref = sigmax.LogisticRegression().fit(X.astype(np.float32), y)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-6, atol=1e-7)
    # SciPy keeps both index arrays of one type; with int64 ones (large matrices) the row
    # pointers are read in place and the indices narrowed. float64 data is converted.
    X64 = Xs.copy()
    X64.indices, X64.indptr = X64.indices.astype(np.int64), X64.indptr.astype(np.int64)
    (data, indices, indptr), model = _csr_storage_seen_by_fit(monkeypatch, X64, y)
    assert data == (True, X64.data.ctypes.data) and indptr == (True, X64.indptr.ctypes.data)
    assert indices[0] is False
    Xd = Xs.astype(np.float64)
    (data, indices, indptr), model_d = _csr_storage_seen_by_fit(monkeypatch, Xd, y)
    assert (data[0], indices[0], indptr[0]) == (False, True, True)
    # The same model (coef_ keeps X's dtype, as scikit-learn's does).
    np.testing.assert_array_equal(model.coef_, model_d.coef_.astype(np.float32))


def test_float32_c_ordered_dense_is_read_in_place(monkeypatch):
    from sigmax import _sigmax
    X, y = heart()
    seen = []
    fit_linear = _sigmax.fit_linear

    def spy(x, *args):
        seen.append((_sigmax.dense_storage(x), x.flags.writeable))
        return fit_linear(x, *args)

    monkeypatch.setattr(_sigmax, "fit_linear", spy)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    m32 = sigmax.LogisticRegression().fit(X32, y)
    # Read where NumPy keeps it, and read-only while the fit reads it.
    assert seen[-1] == ((True, X32.ctypes.data), False)
    assert X32.flags.writeable
    # float64 and Fortran order are copied (converted), and give the same model.
    for other in (X, np.asfortranarray(X32)):
        mo = sigmax.LogisticRegression().fit(other, y)
        assert seen[-1][0][0] is False
        np.testing.assert_array_equal(mo.coef_.astype(np.float32), m32.coef_)
    # A float32 view with a stride (every other row) is copied, not read wrongly.
    m_view = sigmax.LogisticRegression().fit(X32[::2], y[::2])
    assert seen[-1][0][0] is False
    np.testing.assert_array_equal(
        m_view.coef_, sigmax.LogisticRegression().fit(X32[::2].copy(), y[::2]).coef_)


@pytest.mark.parametrize("sparse", [False, True])
def test_loops_of_fits_convert_x_once_and_read_it_in_place(monkeypatch, sparse):
    # One-vs-rest and cross-validation convert X to float32 once; every fit reads that in
    # place, and gets the bits a fit converting float64 X itself gets.
    from sigmax import _sigmax
    X, y = load_iris(return_X_y=True)
    X = sp.csr_matrix(X) if sparse else np.asfortranarray(X)
    seen = []
    fit_linear = _sigmax.fit_linear

    def spy(x, *args):
        seen.append(_sigmax.csr_storage(x)[0][0] if sparse else _sigmax.dense_storage(x)[0])
        return fit_linear(x, *args)

    monkeypatch.setattr(_sigmax, "fit_linear", spy)
    ovr = sigmax.LinearSVC().fit(X, y)
    assert seen == [True, True, True]
    monkeypatch.undo()
    for c in range(3):  # each class against the rest, from float64 X: the same model
        one = sigmax.LinearSVC().fit(X, (y == c).astype(int))
        np.testing.assert_array_equal(ovr.coef_[c], one.coef_[0])
        np.testing.assert_array_equal(ovr.intercept_[c], one.intercept_[0])
    monkeypatch.setattr(_sigmax, "fit_linear", spy)
    seen.clear()
    sigmax.LogisticRegressionCV(Cs=3, cv=3).fit(X, y)
    assert len(seen) == 3 * 3 + 1 and all(seen[:-1])  # the refit on all of X converts it


def test_csr_arrays_read_in_place_are_read_only_during_a_fit():
    rng = np.random.default_rng(0)
    X = sp.random(10000, 200, density=0.05, format="csr", dtype=np.float32, random_state=0)
    y = (X @ rng.standard_normal(200) > 0).astype(int)
    done, errors = threading.Event(), []

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sigmax.LogisticRegression(solver="gd", tol=1e-30, max_iter=300).fit(X, y)
        done.set()

    t = threading.Thread(target=fit)
    t.start()
    while not done.is_set():  # the fit runs without the GIL: this thread keeps running
        if not X.data.flags.writeable:
            with pytest.raises(ValueError, match="read-only"):
                X.data[0] = 1.0
            errors.append("refused")
            break
        time.sleep(0.001)
    t.join()
    assert errors == ["refused"], "the fit ended before its arrays were seen frozen"
    assert X.data.flags.writeable and X.indices.flags.writeable and X.indptr.flags.writeable
    X.data[0] = 1.0  # writable again after the fit


def test_concurrent_fits_on_one_csr_keep_it_read_only_until_the_last_ends():
    # Two fits on one CSR from two threads: the first to start ends first, while the
    # second still reads the arrays; they must stay read-only until the second ends.
    # The freezes of the two fits, interleaved as the threads would run them:
    from sigmax._linear import _as_input, _frozen
    rng = np.random.default_rng(1)
    X = sp.random(2000, 50, density=0.1, format="csr", dtype=np.float32, random_state=1)
    y = (X @ rng.standard_normal(50) > 0).astype(int)
    parts = _as_input(X)
    arrays = (X.data, X.indices, X.indptr)
    first, second = _frozen(parts), _frozen(parts)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not any(a.flags.writeable for a in arrays), "writable while a fit still reads them"
    with pytest.raises(ValueError, match="read-only"):
        X.data[0] = 1.0
    # A real fit in a thread meanwhile shares the freeze and ends without lifting it.
    t = threading.Thread(target=lambda: sigmax.LogisticRegression().fit(X, y))
    t.start()
    t.join()
    assert not any(a.flags.writeable for a in arrays)
    second.__exit__(None, None, None)
    assert all(a.flags.writeable for a in arrays)
    # An array its owner made read-only stays read-only after a fit.
    X.indptr.flags.writeable = False
    sigmax.LogisticRegression().fit(X, y)
    assert not X.indptr.flags.writeable and X.data.flags.writeable


def test_negative_csr_entries_are_refused_by_name():
    from sigmax import _sigmax
    data = np.ones(2, dtype=np.float32)
    for indices, indptr, what in [
        (np.array([0, -1], dtype=np.int32), np.array([0, 1, 2], dtype=np.int64), "indices"),
        (np.array([0, 1], dtype=np.int32), np.array([0, -1, 2], dtype=np.int64), "indptr"),
        (np.array([0, -1], dtype=np.int64), np.array([0, 1, 2], dtype=np.int32), "indices"),
        (np.array([0, 1], dtype=np.int32), np.array([0, -1, 2], dtype=np.int32), "indptr"),
    ]:
        with pytest.raises(ValueError, match=f"CSR {what} holds a negative entry -1"):
            _sigmax.csr_storage((data, indices, indptr, 3))


def test_read_only_memory_maps_and_pandas(tmp_path):
    X, y = heart()
    path = tmp_path / "X.npy"
    np.save(path, X)
    mm = np.load(path, mmap_mode="r")
    assert not mm.flags.writeable
    ref = sigmax.LogisticRegression().fit(X, y)
    np.testing.assert_allclose(sigmax.LogisticRegression().fit(mm, y).coef_, ref.coef_)
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(13)])
    m = sigmax.LogisticRegression().fit(df, y)
    assert list(m.feature_names_in_) == list(df.columns)
    np.testing.assert_allclose(m.coef_, ref.coef_)


def test_integer_weights_equal_repeated_rows():
    X, y = heart()
    w = np.random.default_rng(1).integers(0, 4, len(y))
    rep = np.repeat(np.arange(len(y)), w)
    for est in [sigmax.LogisticRegression(tol=1e-10), sigmax.LinearSVC(tol=1e-10, max_iter=100000)]:
        a = est.fit(X, y, sample_weight=w.astype(float)).coef_.copy()
        b = est.fit(X[rep], y[rep]).coef_
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


def test_load_svmlight_matches_scikit_learn():
    X, y = sigmax.load_svmlight(HEART)
    Xr, yr = load_svmlight_file(str(HEART))
    assert sp.isspmatrix_csr(X) and X.dtype == np.float64 and X.has_sorted_indices
    np.testing.assert_allclose(X.toarray(), Xr.toarray(), rtol=1e-7)  # float32 parse
    np.testing.assert_array_equal(y, yr)
    X32, _ = sigmax.load_svmlight(HEART, dtype=np.float32, n_features=20)
    assert X32.dtype == np.float32 and X32.shape == (270, 20)
    with pytest.raises(ValueError, match="n_features=5"):
        sigmax.load_svmlight(HEART, n_features=5)


def test_load_svmlight_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.svm"
    bad.write_text("1 1:0.5\n-1 2:abc\n")
    with pytest.raises(ValueError, match=r"bad.svm:2"):
        sigmax.load_svmlight(bad)


def test_pickle_and_convergence_warning():
    X, y = heart()
    m = sigmax.LogisticRegression().fit(X, y)
    again = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(again.predict_proba(X), m.predict_proba(X))
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        sigmax.LogisticRegression(solver="gd", max_iter=2).fit(X, y)


def test_warm_start_continues_from_the_previous_fit():
    X, y = heart()
    m = sigmax.LogisticRegression(warm_start=True).fit(X, y)
    first = m.n_iter_[0]
    m.fit(X, y)
    assert m.n_iter_[0] < first


def test_logistic_regression_cv_picks_a_c_from_the_grid():
    X, y = heart()
    grid = dict(Cs=[0.01, 0.1, 1, 10], cv=3, l1_ratios=(0,), scoring="accuracy")
    m = sigmax.LogisticRegressionCV(**grid, use_legacy_attributes=False).fit(X, y)
    assert m.C_ in m.Cs_ and m.scores_.shape == (3, 1, 4)
    assert m.coefs_paths_.shape == (3, 1, 4, 1, 14)
    assert m.score(X, y) > 0.8
    # scikit-learn's legacy attributes: per-class dicts.
    legacy = sigmax.LogisticRegressionCV(**grid, use_legacy_attributes=True).fit(X, y)
    assert list(legacy.scores_) == [1.0] and legacy.scores_[1.0].shape == (3, 4, 1)
    assert legacy.C_.shape == (1,) and legacy.C_[0] == m.C_


def test_bad_parameters_are_clear_errors():
    X, y = heart()
    for est, match in [
        (sigmax.LogisticRegression(C=-1), "'C' parameter"),
        (sigmax.LogisticRegression(penalty="l3"), "'penalty' parameter"),
        (sigmax.LogisticRegression(penalty="elasticnet", l1_ratio=None), "l1_ratio must be specified"),
        (sigmax.LogisticRegression(solver="sgdx"), "'solver' parameter"),
        (sigmax.LogisticRegression(solver="lbfgs", l1_ratio=1), "Solver lbfgs supports only 'l2'"),
        (sigmax.LinearSVC(loss="log"), "'loss' parameter"),
    ]:
        with pytest.raises(ValueError, match=match):
            est.fit(X, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("form", ["dense C", "dense Fortran", "csr"])
def test_nan_and_infinity_in_x_are_refused_with_scikit_learns_words(dtype, form):
    # fit leaves this check to the compiled module's conversion of X (no second pass).
    X, y = heart()
    for value, match in [(np.nan, "Input X contains NaN."),
                         (np.inf, "Input X contains infinity or a value too large for dtype"),
                         (-np.inf, "Input X contains infinity")]:
        Xb = X.astype(dtype)
        Xb[137, 5] = value
        Xb = {"dense C": np.ascontiguousarray, "dense Fortran": np.asfortranarray,
              "csr": sp.csr_matrix}[form](Xb)
        for est in [sigmax.LogisticRegression(), sigmax.LinearSVC()]:
            with pytest.raises(ValueError, match=match):
                est.fit(Xb, y)
    if dtype == np.float64:  # finite, but no float32 holds it
        Xb = X.copy()
        Xb[3, 2] = 1e39
        with pytest.raises(ValueError, match="1e39, beyond float32's range"):
            sigmax.LogisticRegression().fit(Xb if form != "csr" else sp.csr_matrix(Xb), y)


@pytest.mark.parametrize("n_jobs", [None, 1, 2])
def test_ctrl_c_interrupts_a_long_fit(n_jobs):
    # With n_jobs the fit runs in its own pool, off Python's main thread (the only one that
    # runs signal handlers): the waiting caller must notice Ctrl-C and stop it. The fit is
    # bounded (~40 s here) so one that ignores Ctrl-C fails the time check, not hangs.
    X, y = make_classification(n_samples=20000, n_features=50, random_state=0)
    main = threading.main_thread().ident

    def interrupt():
        time.sleep(0.3)
        signal.pthread_kill(main, signal.SIGINT)

    # Python's own Ctrl-C handler, whatever the launch left: a shell's background job
    # starts with SIGINT ignored (then Python keeps SIG_IGN), and pyspark's SparkContext
    # installs a handler of its own that outlives it.
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=interrupt).start()
        start = time.time()
        with pytest.raises(KeyboardInterrupt):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sigmax.LogisticRegression(
                    solver="gd", tol=1e-30, max_iter=20000, n_jobs=n_jobs
                ).fit(X, y)
        assert time.time() - start < 5.0
    finally:
        signal.signal(signal.SIGINT, handler)


def test_saga_reaches_newtons_coefficients_on_wide_sparse_data():
    # Fewer rows than features, sparse, 4 classes (from 10,000 such rows 'auto' takes
    # SAGA's first epochs, then Newton): every way reaches the same optimum.
    rng = np.random.default_rng(3)
    X = sp.random(300, 2000, density=0.01, format="csr", random_state=rng, dtype=np.float64)
    y = rng.integers(0, 4, 300)
    X = X + sp.csr_matrix((np.ones(300), (np.arange(300), 7 * y)), shape=X.shape)
    fits = {s: sigmax.LogisticRegression(C=10.0, solver=s, tol=t).fit(X, y)
            for s, t in [("newton", 1e-10), ("saga-newton", 1e-10), ("saga", 1e-8)]}
    for s in ("saga-newton", "saga"):
        np.testing.assert_allclose(fits[s].coef_, fits["newton"].coef_, rtol=0, atol=1e-5)
        # J does not change when every intercept moves by the same amount (they are not
        # penalized), so the intercepts are compared up to that shift.
        centered = [f.intercept_ - f.intercept_.mean() for f in (fits[s], fits["newton"])]
        np.testing.assert_allclose(*centered, atol=1e-5)
        np.testing.assert_allclose(fits[s].predict_proba(X), fits["newton"].predict_proba(X),
                                   atol=1e-6)


def test_a_fit_on_load_svmlights_matrix_leaves_it_writeable():
    # Its arrays come from Rust; a fit freezes its CSR inputs and must be able to thaw them.
    X, y = sigmax.load_svmlight(HEART)
    X32 = X.astype(np.float32)  # read in place by the fit (float32 data, int32 indices)
    for M in (X, X32):
        sigmax.LogisticRegression().fit(M, y)
        for a in (M.data, M.indices, M.indptr):
            assert a.flags.writeable
    X32.data[0] = 0.5
