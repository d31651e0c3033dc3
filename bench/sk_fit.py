#!/usr/bin/env python3
"""scikit-learn side of the benchmark: load LIBSVM text, fit LogisticRegression on
J = mean loss + λ/2‖w‖² (C = 1/(nλ); an unpenalized intercept with --intercept, none
otherwise), print one JSON line.

usage: sk_fit.py TRAIN TEST LAMBDA SOLVER TOL [--intercept]
"""
import json, sys, time
import numpy as np
from sklearn.datasets import load_svmlight_file
from sklearn.linear_model import LogisticRegression


def objective(X, y, W, b, lam, classes):
    S = X @ W.T + b
    if W.shape[0] == 1:  # binary: y in {-1,+1} relative to classes[1]
        z = S[:, 0] * np.where(y == classes[1], 1.0, -1.0)
        return float(np.mean(np.logaddexp(0.0, -z)) + 0.5 * lam * (W * W).sum())
    m = S.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(S - m).sum(axis=1))
    idx = np.searchsorted(classes, y)
    return float(np.mean(lse - S[np.arange(len(y)), idx]) + 0.5 * lam * (W * W).sum())


def int32_indices(X):
    """The same CSR matrix with 32-bit indices (saga refuses 64-bit ones)."""
    X.indices, X.indptr = X.indices.astype(np.int32), X.indptr.astype(np.int32)
    return X


def main():
    train, test, lam, solver, tol = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], float(sys.argv[5])
    t0 = time.perf_counter()
    X, y = load_svmlight_file(train)
    X = int32_indices(X)
    t1 = time.perf_counter()
    n = X.shape[0]
    intercept = "--intercept" in sys.argv[6:]
    clf = LogisticRegression(C=1.0 / (n * lam), fit_intercept=intercept, tol=tol, max_iter=100000, solver=solver)
    clf.fit(X, y)
    t2 = time.perf_counter()
    Xt, yt = load_svmlight_file(test, n_features=X.shape[1])
    print(json.dumps(dict(load_s=t1 - t0, train_s=t2 - t1, objective=objective(X, y, clf.coef_, clf.intercept_, lam, clf.classes_),
                          test_accuracy=float((clf.predict(Xt) == yt).mean()), iterations=int(np.max(clf.n_iter_)))))


if __name__ == "__main__":
    main()
