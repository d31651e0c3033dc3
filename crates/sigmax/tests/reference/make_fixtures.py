#!/usr/bin/env python3
"""Reference solutions for sigmax's agreement tests, from LIBLINEAR and scikit-learn.

Every tool is asked for the optimum of the same objective,
    J(w, b) = (1/n) Σ loss_i + λ/2 ‖w‖²     (b unregularized),
with C = 1/(nλ) for both LIBLINEAR and scikit-learn. The weights go to fixtures.json;
the Rust test evaluates sigmax's objective at these weights and at its own optimum.

A second set (fixtures_weighted.json) covers what the weighted L2-ERM core added, each on
the tool's own objective written in sigmax's form:
- scikit-learn LogisticRegression with sample_weight and class_weight:
  C·Σ s_i c_{y_i} ℓ_i + ½‖w‖², i.e. λ = 1/(C·Σ s_i c_{y_i});
- liblinear-train -s 1 / -s 2 (squared hinge, no bias): C·Σ max(0, 1 − y w·x)² + ½‖w‖²;
- liblinear-train -s 6 (L1 logistic, no bias): C·Σ ℓ_i + ‖w‖₁, i.e. λ₁ = 1/(nC), λ₂ = 0;
- scikit-learn saga, penalty l1 / elasticnet (intercept unpenalized):
  C·Σ ℓ_i + r‖w‖₁ + (1 − r)/2‖w‖², i.e. λ₁ = r/(nC), λ₂ = (1 − r)/(nC);
- scikit-learn SVC, linear kernel (libsvm; hinge, unregularized intercept, sample weights):
  C·Σ s_i max(0, 1 − y_i(w·x_i + b)) + ½‖w‖², i.e. λ = 1/(C·Σ s_i);
on heart_scale and on sparse_l1.svm (a small sparse set this script writes, seeded).

Usage: python3 make_fixtures.py [--check]   (needs liblinear-tools and scikit-learn)
  --check: recompute and compare with the pinned fixtures.json instead of writing it.
"""
import json, os, subprocess, sys, tempfile
import numpy as np
from sklearn.datasets import load_svmlight_file, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

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


SPARSE = os.path.join(HERE, "sparse_l1.svm")


def write_sparse_set():
    """400 rows, 300 features, ~12 nonzeros per row with Zipf-like feature frequencies;
    labels from a sparse true weight vector plus noise. Written in LIBSVM format."""
    rng = np.random.default_rng(7)
    n, d = 400, 300
    freq = 1.0 / np.arange(1, d + 1) ** 0.8
    freq /= freq.sum()
    w_true = np.zeros(d)
    w_true[rng.choice(d, 25, replace=False)] = rng.normal(0, 2, 25)
    lines = []
    for _ in range(n):
        cols = np.unique(rng.choice(d, 12, p=freq))
        vals = np.round(rng.uniform(0.1, 1.0, len(cols)), 3)
        z = (w_true[cols] * vals).sum() + rng.normal(0, 0.5)
        label = "+1" if z > 0 else "-1"
        lines.append(label + " " + " ".join(f"{c + 1}:{v:g}" for c, v in zip(cols, vals)))
    text = "\n".join(lines) + "\n"
    if not os.path.exists(SPARSE) or open(SPARSE).read() != text:
        open(SPARSE, "w").write(text)


def liblinear_weights(path, solver, c):
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "m")
        subprocess.run(["liblinear-train", "-s", str(solver), "-c", repr(c), "-e", "1e-12", "-q", path, model],
                       check=True, stdout=subprocess.DEVNULL)
        lines = open(model).read().split("\n")
        labels = next(l for l in lines if l.startswith("label")).split()[1:]
        w = np.array([float(v) for v in lines[lines.index("w") + 1:] if v.strip()])
        return w if float(labels[0]) > float(labels[1]) else -w


def loss_values(kind, m):
    if kind == "hinge":
        return np.maximum(0.0, 1.0 - m)
    if kind == "squared-hinge":
        return np.maximum(0.0, 1.0 - m) ** 2
    return softplus(-m)


def weighted_fixtures():
    out = []
    X, y = load_svmlight_file(HEART, n_features=13)
    X = X.toarray()
    n = len(y)
    rng = np.random.default_rng(3)
    sw = rng.integers(0, 4, n).astype(float)  # integer weights, zeros included
    sw[0] = 0.0
    cw = {-1.0: 2.0, 1.0: 0.5}
    eff = sw * np.array([cw[v] for v in y])
    for intercept in [False, True]:
        c = 0.7
        clf = LogisticRegression(C=c, fit_intercept=intercept, tol=1e-12, max_iter=100000, solver="lbfgs",
                                 class_weight=cw)
        clf.fit(X, y, sample_weight=sw)
        w, b = clf.coef_[0], (clf.intercept_[0] if intercept else 0.0)
        lam = 1.0 / (c * eff.sum())
        m = y * (X @ w + b)
        obj = float((eff * softplus(-m)).sum() / eff.sum() + 0.5 * lam * w @ w)
        out.append(dict(data="heart_scale", model="logistic", tool="scikit-learn lbfgs sample+class weights",
                        c=c, l1=0.0, l2=lam, intercept=intercept, sample_weight=sw.tolist(),
                        class_weight=[["-1", 2.0], ["1", 0.5]], weights=[w.tolist()], bias=[float(b)],
                        objective=obj))
    iris = np.loadtxt(IRIS, delimiter=",")
    Xi, yi = iris[:, :-1], iris[:, -1].astype(int)
    swi = np.random.default_rng(5).uniform(0.2, 3.0, len(yi))
    counts = np.bincount(yi, weights=swi)  # scikit-learn >= 1.6: balanced on weighted counts
    bal = counts.sum() / (3 * counts)
    effi = swi * bal[yi]
    c = 2.0
    clf = LogisticRegression(C=c, tol=1e-12, max_iter=100000, solver="lbfgs", class_weight="balanced")
    clf.fit(Xi, yi, sample_weight=swi)
    lam = 1.0 / (c * effi.sum())
    S = Xi @ clf.coef_.T + clf.intercept_
    mx = S.max(axis=1, keepdims=True)
    lse = mx[:, 0] + np.log(np.exp(S - mx).sum(axis=1))
    obj = float((effi * (lse - S[np.arange(len(yi)), yi])).sum() / effi.sum() + 0.5 * lam * (clf.coef_ ** 2).sum())
    out.append(dict(data="iris", model="softmax", tool="scikit-learn lbfgs multinomial sample weights + balanced",
                    c=c, l1=0.0, l2=lam, intercept=True, sample_weight=swi.tolist(), class_weight="balanced",
                    weights=clf.coef_.tolist(), bias=clf.intercept_.tolist(), objective=obj))
    # Squared hinge (LIBLINEAR -s 1 dual, -s 2 primal) and L1 logistic (-s 6), no bias.
    write_sparse_set()
    Xs, ys = load_svmlight_file(SPARSE, n_features=300)
    Xs = Xs.toarray()
    for data, path, XX, yy in [("heart_scale", HEART, X, y), ("sparse_l1", SPARSE, Xs, ys)]:
        nn = len(yy)
        for solver, model, kind, c in [(1, "squared-hinge-svm", "squared-hinge", 0.5),
                                       (2, "squared-hinge-svm", "squared-hinge", 0.5),
                                       (6, "logistic", "logistic", 0.5)]:
            w = liblinear_weights(path, solver, c)
            loss = loss_values(kind, yy * (XX @ w)).mean()
            if solver == 6:
                l1, l2 = 1.0 / (nn * c), 0.0
                obj = float(loss + l1 * np.abs(w).sum())
            else:
                l1, l2 = 0.0, 1.0 / (nn * c)
                obj = float(loss + 0.5 * l2 * w @ w)
            out.append(dict(data=data, model=model, tool=f"liblinear-train -s {solver}", c=c, l1=l1, l2=l2,
                            intercept=False, sample_weight=None, class_weight=None, weights=[w.tolist()],
                            bias=[0.0], objective=obj))
        # scikit-learn saga: L1 and elastic net with an unpenalized intercept.
        for penalty, r in [("l1", 1.0), ("elasticnet", 0.5)]:
            c = 0.5
            clf = LogisticRegression(C=c, penalty=penalty, l1_ratio=r if penalty == "elasticnet" else None,
                                     solver="saga", tol=1e-12, max_iter=1000000, random_state=0)
            clf.fit(XX, yy)
            w, b = clf.coef_[0], clf.intercept_[0]
            lam = 1.0 / (nn * c)
            l1, l2 = r * lam, (1.0 - r) * lam
            obj = float(softplus(-yy * (XX @ w + b)).mean() + l1 * np.abs(w).sum() + 0.5 * l2 * w @ w)
            out.append(dict(data=data, model="logistic", tool=f"scikit-learn saga {penalty}", c=c, l1=l1, l2=l2,
                            intercept=True, sample_weight=None, class_weight=None, weights=[w.tolist()],
                            bias=[float(b)], objective=obj))
    # Hinge SVM with an unregularized intercept: libsvm's SVC with a linear kernel solves
    # C·Σ s_i max(0, 1 − y_i(w·x_i + b)) + ½‖w‖² exactly (its dual keeps Σ y_i α_i = 0).
    for data, XX, yy, weights in [("heart_scale", X, y, None), ("heart_scale", X, y, sw),
                                  ("sparse_l1", Xs, ys, None)]:
        c = 0.5
        clf = SVC(kernel="linear", C=c, tol=1e-12, shrinking=False)
        clf.fit(XX, yy, sample_weight=weights)
        w, b = clf.coef_[0], clf.intercept_[0]
        if clf.classes_[1] != 1.0:
            w, b = -w, -b
        s = np.ones(len(yy)) if weights is None else weights
        lam = 1.0 / (c * s.sum())
        obj = float((s * loss_values("hinge", yy * (XX @ w + b))).sum() / s.sum() + 0.5 * lam * w @ w)
        out.append(dict(data=data, model="svm", tool="scikit-learn SVC linear kernel", c=c, l1=0.0, l2=lam,
                        intercept=True, sample_weight=None if weights is None else weights.tolist(),
                        class_weight=None, weights=[w.tolist()], bias=[float(b)], objective=obj))
    return out


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
    sets = [("fixtures.json", out), ("fixtures_weighted.json", weighted_fixtures())]
    if check:
        worst = 0.0
        for name, fresh in sets:
            pinned = json.load(open(os.path.join(HERE, name)))
            assert len(pinned) == len(fresh), name
            worst = max([worst] + [abs(a["objective"] - p["objective"]) / p["objective"]
                                   for a, p in zip(fresh, pinned)])
        print(f"largest relative objective difference to the pinned fixtures: {worst:.2e}")
        sys.exit(0 if worst < 1e-6 else 1)
    for name, fresh in sets:
        path = os.path.join(HERE, name)
        with open(path, "w") as f:
            json.dump(fresh, f, indent=1)
        print(f"wrote {len(fresh)} fixtures to {path}")


if __name__ == "__main__":
    main()
