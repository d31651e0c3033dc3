#!/usr/bin/env python3
"""Reference solutions for sigmax's agreement tests, from LIBLINEAR and scikit-learn.

Every tool is asked for the optimum of the same objective,
    J(w, b) = (1/n) Σ loss_i + λ/2 ‖w‖²     (b unregularized),
with C = 1/(nλ) for both LIBLINEAR and scikit-learn. The weights go to fixtures.json;
the Rust test evaluates sigmax's objective at these weights and at its own optimum.

Usage: python3 make_fixtures.py [--check]   (needs liblinear-tools and scikit-learn)
  --check: recompute and compare with the pinned fixtures.json instead of writing it.
"""
import json, os, subprocess, sys, tempfile
import numpy as np
from sklearn.datasets import load_svmlight_file, load_iris
from sklearn.linear_model import LogisticRegression

HERE = os.path.dirname(os.path.abspath(__file__))
HEART = os.path.join(HERE, "..", "..", "data", "heart_scale")
IRIS = os.path.join(HERE, "iris.csv")


def softplus(z):
    return np.logaddexp(0.0, z)


def binary_objective(X, y, w, b, lam):
    return float(np.mean(softplus(-y * (X @ w + b))) + 0.5 * lam * w @ w)


def softmax_objective(X, y, W, b, lam):
    S = X @ W.T + b
    m = S.max(axis=1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(S - m).sum(axis=1)))
    return float(np.mean(lse - S[np.arange(len(y)), y]) + 0.5 * lam * (W * W).sum())


def liblinear(path, lam, n):
    """liblinear-train -s 0 (primal trust-region Newton), no bias, tight tolerance."""
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "m")
        c = 1.0 / (n * lam)
        subprocess.run(["liblinear-train", "-s", "0", "-c", repr(c), "-e", "1e-10", "-q", path, model], check=True)
        lines = open(model).read().split("\n")
        labels = next(l for l in lines if l.startswith("label")).split()[1:]
        w = np.array([float(v) for v in lines[lines.index("w") + 1:] if v.strip()])
        # LIBLINEAR's positive class is the first label it saw; ours is the larger one.
        return w if float(labels[0]) > float(labels[1]) else -w


def sklearn_binary(X, y, lam, intercept):
    n = X.shape[0]
    clf = LogisticRegression(C=1.0 / (n * lam), fit_intercept=intercept, tol=1e-12, max_iter=100000, solver="lbfgs")
    clf.fit(X, y)
    return clf.coef_[0], (clf.intercept_[0] if intercept else 0.0)


def main():
    check = "--check" in sys.argv
    out = []
    X, y = load_svmlight_file(HEART, n_features=13)
    X = X.toarray()
    n = X.shape[0]
    for lam in [1e-2, 1e-4]:
        w = liblinear(HEART, lam, n)
        out.append(dict(data="heart_scale", model="logistic", tool="liblinear-train -s 0", lam=lam, intercept=False,
                        weights=[w.tolist()], bias=[0.0], objective=binary_objective(X, y, w, 0.0, lam)))
        for intercept in [False, True]:
            w, b = sklearn_binary(X, y, lam, intercept)
            out.append(dict(data="heart_scale", model="logistic", tool="scikit-learn lbfgs", lam=lam,
                            intercept=intercept, weights=[w.tolist()], bias=[float(b)],
                            objective=binary_objective(X, y, w, b, lam)))
    # Multinomial: iris (3 classes), scikit-learn's multinomial LogisticRegression.
    iris = np.loadtxt(IRIS, delimiter=",")
    Xi, yi = iris[:, :-1], iris[:, -1].astype(int)
    for lam in [1e-2, 1e-4]:
        for intercept in [False, True]:
            clf = LogisticRegression(C=1.0 / (len(yi) * lam), fit_intercept=intercept, tol=1e-12,
                                     max_iter=100000, solver="lbfgs")
            clf.fit(Xi, yi)
            b = clf.intercept_ if intercept else np.zeros(3)
            out.append(dict(data="iris", model="softmax", tool="scikit-learn lbfgs multinomial", lam=lam,
                            intercept=intercept, weights=clf.coef_.tolist(), bias=b.tolist(),
                            objective=softmax_objective(Xi, yi, clf.coef_, b, lam)))
    path = os.path.join(HERE, "fixtures.json")
    if check:
        pinned = json.load(open(path))
        worst = max(abs(a["objective"] - p["objective"]) / p["objective"] for a, p in zip(out, pinned))
        print(f"largest relative objective difference to the pinned fixtures: {worst:.2e}")
        sys.exit(0 if worst < 1e-8 else 1)
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {len(out)} fixtures to {path}")


if __name__ == "__main__":
    main()
