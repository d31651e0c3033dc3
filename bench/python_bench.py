#!/usr/bin/env python3
"""sigmax's Python estimators against scikit-learn's, side by side in one run.

Same objective on both sides (C·Σℓ + ½‖w‖², intercept unpenalized), each tool at a
tolerance that reaches the optimum to ~1e-6 relative; medians of --repeats fits; the
relative objective gap to the better of the two is printed so the speed is compared at
equal accuracy. Also the LIBSVM reader against sklearn.datasets.load_svmlight_file, and
the binding's overhead: a fit's time in Python minus the time sigmax's training took
inside it (the `fit_seconds` the compiled module reports), split into converting X to
sigmax's float32 rows and the rest.

Usage (with the package installed, see README "Python"):
    python bench/python_bench.py [--repeats 3] [--fashion ../shared/data/fashion-mnist] [--multiclass] [--sweep] [--text]

--sweep adds, per bench set, each tool's fastest setting within a relative gap of 1e-6 of
the best objective any run reached (a tolerance sweep of sigmax and of scikit-learn's
lbfgs, newton-cg and, up to 2,000 features, newton-cholesky): the issue's "scikit-learn's
fastest solver to the same gap", where the first table holds lbfgs at tol 1e-8.

--text adds the real text sets of bench/run (bench/data/textbin.train.svm and
text26.train.svm, built by `bench/run --datasets text_bin,text26`; λ = 1e-5, so
C = 1/(λn)): a tolerance sweep per tool, and the time of the fastest setting within a
relative gap of 1e-6 of the best objective either reached (scikit-learn's newton-cg is its
fastest solver to 1e-6 on both in bench/results-text.md).
"""
import argparse
import gzip
import os
import statistics
import tempfile
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn import linear_model
from sklearn.datasets import dump_svmlight_file, load_svmlight_file, make_classification

import sigmax


def median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


class TrainingClock:
    """Collects the training time (`fit_seconds`) and the time of each call into the
    compiled module's fit, around the estimator's own `fit`."""

    def __enter__(self):
        from sigmax import _sigmax
        self.module, self.original = _sigmax, _sigmax.fit_linear
        self.calls = []

        def timed(*args):
            t = time.perf_counter()
            out = self.original(*args)
            self.calls.append((time.perf_counter() - t, out["fit_seconds"]))
            return out

        _sigmax.fit_linear = timed
        return self

    def __exit__(self, *exc):
        self.module.fit_linear = self.original


def overhead_row(name, X, y, C, repeats):
    """| data | fit | training | converting X (Rust side) | Python side | overhead share |"""
    walls = []
    with TrainingClock() as clock:
        for _ in range(repeats):
            t = time.perf_counter()
            sigmax.LogisticRegression(C=C, tol=1e-6).fit(X, y)
            walls.append(time.perf_counter() - t)
    wall = statistics.median(walls)
    call = statistics.median(c for c, _ in clock.calls)
    train = statistics.median(f for _, f in clock.calls)
    rust, python = call - train, wall - call
    print(f"| {name} | {wall * 1e3:.1f} ms | {train * 1e3:.1f} ms | {rust * 1e3:.1f} ms | "
          f"{python * 1e3:.1f} ms | {100 * (wall - train) / wall:.1f}% |")


def objective(est, X, y, C):
    """C·Σ log-loss + ½‖W‖² (scikit-learn's form), from predict_log_proba."""
    logp = est.predict_log_proba(X)
    idx = np.searchsorted(est.classes_, y)
    return -C * logp[np.arange(len(y)), idx].sum() + 0.5 * (est.coef_ ** 2).sum()


def idx_images(path):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        raw = f.read()
    n, r, c = (int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(3))
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, r * c) / 255.0


def idx_labels(path):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        raw = f.read()
    return np.frombuffer(raw, dtype=np.uint8, offset=8).astype(int)


def datasets(fashion_dir, multiclass=False):
    rng = np.random.default_rng(0)
    X, y = make_classification(n_samples=20000, n_features=300, n_informative=60, random_state=0)
    yield "dense 20000×300 binary (generated)", X, y
    Xs = sp.random(50000, 20000, density=0.005, format="csr", random_state=1, dtype=np.float64)
    w = rng.standard_normal(20000)
    ys = (Xs @ w + 0.3 * rng.standard_normal(50000) > 0).astype(int)
    yield "sparse 50000×20000, 100 nnz/row, binary (generated)", Xs, ys
    # The same matrix as float32 CSR (int32 indices), which sigmax reads in place.
    yield "sparse, as float32 CSR (read in place)", Xs.astype(np.float32), ys
    if fashion_dir and os.path.isdir(fashion_dir):
        files = os.listdir(fashion_dir)
        img = next(f for f in files if "train-images" in f)
        lab = next(f for f in files if "train-labels" in f)
        Xf, yf = idx_images(os.path.join(fashion_dir, img)), idx_labels(os.path.join(fashion_dir, lab))
        keep = (yf == 0) | (yf == 6)  # T-shirt vs shirt: the hard pair
        yield "Fashion-MNIST T-shirt vs shirt (12000×784, real)", Xf[keep], yf[keep]
        if multiclass:  # scikit-learn's lbfgs needs minutes per fit here
            yield "Fashion-MNIST 10 classes (60000×784, real)", Xf, yf


def fastest_to_gap(name, X, y, C, intercept, sigmax_tols, sklearn_runs, repeats, gap=1e-6):
    """Each tool's fastest setting within a relative gap `gap` of the best objective any
    run reached (the issues' definition of "the same gap"): a tolerance sweep of sigmax and
    of each scikit-learn solver in `sklearn_runs` [(solver, [tols])]. Prints every run and
    one row: | data | sigmax | scikit-learn's fastest | ratio |. Settings slower than 5 s
    run once."""
    runs = []  # (tool, setting, seconds, J)

    def timed(fit):
        t, m = median_time(fit, 1)
        return (t, m) if t > 5 or repeats == 1 else median_time(fit, repeats - 1)

    for tol in sigmax_tols:
        t, m = timed(lambda: sigmax.LogisticRegression(C=C, tol=tol, fit_intercept=intercept).fit(X, y))
        runs.append(("sigmax", f"tol {tol:g}", t, objective(m, X, y, C)))
    for solver, tols in sklearn_runs:
        for tol in tols:
            fit = lambda: linear_model.LogisticRegression(
                C=C, tol=tol, solver=solver, fit_intercept=intercept, max_iter=20000).fit(X, y)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t, m = timed(fit)
            runs.append((f"scikit-learn {solver}", f"tol {tol:g}", t, objective(m, X, y, C)))
    best = min(r[3] for r in runs)
    fastest = {}
    for tool, setting, t, j in runs:
        print(f"  {name} {tool} {setting}: {t:.3f} s, gap {(j - best) / best:.1e}")
        if (j - best) / best <= gap and t < fastest.get(tool, (np.inf,))[0]:
            fastest[tool] = (t, setting)
    t_ours, s_ours = fastest["sigmax"]
    refs = [(t, tool, st) for tool, (t, st) in fastest.items() if tool != "sigmax"]
    if not refs:
        print(f"| {name}, to gap {gap:g} | {t_ours:.3f} s ({s_ours}) | no scikit-learn run reached it | | |")
        return
    t_ref, tool, s_ref = min(refs)
    print(f"| {name}, to gap {gap:g} | {t_ours:.3f} s ({s_ours}) "
          f"| {t_ref:.3f} s ({tool.split()[-1]} {s_ref}) | {t_ours / t_ref:.3f} | |")


def text_rows(repeats):
    """Real text: time to a relative gap of 1e-6, each tool's fastest setting."""
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    sets = [("text_bin", "textbin.train.svm", False), ("text26", "text26.train.svm", True)]
    for name, file, intercept in sets:
        path = os.path.join(data, file)
        if not os.path.exists(path):
            print(f"| {name} | (missing {path}: run bench/run --datasets {name} first) | | | |")
            continue
        X, y = sigmax.load_svmlight(path)
        C = 1.0 / (1e-5 * X.shape[0])
        # newton-cg is scikit-learn's fastest solver to 1e-6 on both (bench/results-text.md).
        fastest_to_gap(f"{name} (real text, {X.shape[0]}×{X.shape[1]})", X, y, C, intercept,
                       (1e-2, 1e-3, 1e-4), [("newton-cg", (1e-4, 1e-6))], repeats)


def sweep_rows(fashion, multiclass, C, repeats):
    """The bench sets, each tool's fastest setting to gap 1e-6: scikit-learn's lbfgs,
    newton-cg and (up to 2,000 features: it factors a d × d Hessian) newton-cholesky."""
    for name, X, y in datasets(fashion, multiclass):
        if "float32" in name:
            continue
        runs = [("lbfgs", (1e-4, 1e-6, 1e-8)), ("newton-cg", (1e-4, 1e-6))]
        if X.shape[1] <= 2000:
            runs.append(("newton-cholesky", (1e-4, 1e-6, 1e-8)))
        fastest_to_gap(name, X, y, C, True, (1e-3, 1e-4, 1e-5, 1e-6), runs, repeats)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--fashion", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "fashion-mnist"))
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--multiclass", action="store_true", help="add Fashion-MNIST's 10 classes (slow)")
    ap.add_argument("--text", action="store_true", help="add the real text sets (slow: newton-cg needs ~70 s on text26)")
    ap.add_argument("--sweep", action="store_true",
                    help="add each tool's fastest setting to gap 1e-6 on the bench sets (lbfgs, newton-cg, newton-cholesky)")
    args = ap.parse_args()
    C = args.C
    print(f"| data | sigmax | scikit-learn lbfgs | ratio | objective gap sigmax / sklearn |")
    print("|---|---|---|---|---|")
    for name, X, y in datasets(args.fashion, args.multiclass):
        ours = lambda: sigmax.LogisticRegression(C=C, tol=1e-6).fit(X, y)
        ref = lambda: linear_model.LogisticRegression(C=C, tol=1e-8, max_iter=20000).fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_ours, m_ours = median_time(ours, args.repeats)
            t_ref, m_ref = median_time(ref, args.repeats)
        j_ours, j_ref = objective(m_ours, X, y, C), objective(m_ref, X, y, C)
        best = min(j_ours, j_ref)
        print(f"| {name} | {t_ours:.3f} s | {t_ref:.3f} s | {t_ours / t_ref:.3f} | "
              f"{(j_ours - best) / best:.1e} / {(j_ref - best) / best:.1e} |")
    # The binding's overhead on each set (medians of at least 5 fits).
    print("\n| data | sigmax fit | training inside it | X → float32 rows, outputs (Rust) | Python checks | overhead / fit |")
    print("|---|---|---|---|---|---|")
    for name, X, y in datasets(args.fashion, args.multiclass):
        overhead_row(name, X, y, C, max(args.repeats, 5))
        if name.startswith("Fashion") and X.dtype == np.float64:
            overhead_row(name + ", as float32", X.astype(np.float32), y, C, max(args.repeats, 5))
    if args.sweep:
        print("\n| data | sigmax, fastest to the gap | scikit-learn's fastest solver | ratio | |")
        print("|---|---|---|---|---|")
        sweep_rows(args.fashion, args.multiclass, C, args.repeats)
    if args.text:
        text_rows(args.repeats)
    # The reader: one generated sparse file, both parsers.
    with tempfile.TemporaryDirectory() as d:
        X, y = next(ds for ds in datasets(None) if ds[0].startswith("sparse"))[1:]
        path = os.path.join(d, "sparse.svm")
        dump_svmlight_file(X, y, path, zero_based=False)
        size = os.path.getsize(path) / 1e6
        t_ours, (Xo, _) = median_time(lambda: sigmax.load_svmlight(path), args.repeats)
        t_ref, (Xr, _) = median_time(lambda: load_svmlight_file(path, zero_based=False), args.repeats)
        assert Xo.shape[0] == Xr.shape[0] and Xo.nnz == Xr.nnz
        print(f"| load_svmlight, {size:.0f} MB file | {t_ours:.3f} s | {t_ref:.3f} s (load_svmlight_file) | {t_ours / t_ref:.3f} | |")


if __name__ == "__main__":
    main()
