#!/usr/bin/env python3
"""sigmax against the strongest peers, in one process, on the same objective and cores.

Peers: multi-core LIBLINEAR (PyPI `liblinear-multicore`: `-s 0 -m T`, and `-s 7`, its
dual, one thread), Snap ML (`snapml`, dual, `n_jobs=T`), cyanure (`n_threads=T`) and
scikit-learn's solvers. Every tool gets the data already in memory (scipy CSR, float64)
and fits

    J(w) = (1/n) Σ ℓ(y_i w·x_i) + λ/2 ‖w‖²   (no intercept; C = 1/(λn))

with ℓ the logistic loss, the hinge (LIBLINEAR -s 3) or the squared hinge (-s 1); for
the multinomial set the softmax cross-entropy with an unpenalized intercept. The mappings
of C and λ onto each tool are those of ../shared/SCALE-NOTES.md; J is recomputed here in
float64 from each tool's coefficients, so a wrong mapping shows as a gap, not a speed.

For each tool a sweep of its own stopping tolerance; each setting is timed `--repeats`
times (median). J* is the best objective any run reached; a tool's time is that of its
fastest setting within a relative gap `--gap` of J* (1e-6 for logistic and softmax,
1e-4 for the SVMs, whose non-smooth duals stop far looser by default). Ratios are sigmax's
default (`auto`, no tolerance given) against the best peer.

Usage (with sigmax and the peers installed: pip install snapml cyanure liblinear-multicore):
    python bench/peers.py [--sets textbin,text26] [--svm] [--repeats 3] [--threads 2] [--quick] [--out F]
Sets: LIBSVM files under bench/data (bench/text_data.py bench/data builds textbin and
text26 from WordNet; bench/code_data.py bench/data the 5.08M-row `code` set, timed once
per setting), or any path given as NAME=PATH.
"""
import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data")
SETS = {
    "textbin": (os.path.join(DATA, "textbin.train.svm"), "binary", 1e-5),
    "text26": (os.path.join(DATA, "text26.train.svm"), "multinomial", 1e-5),
    # bench/code_data.py bench/data: 5.08M lines of code, 2^22 hashed columns; C = 1.
    "code": (os.path.join(DATA, "code.train.svm"), "binary", None),
}
# Sets whose fits take a minute: each tool at the settings that reached the gap in a first
# sweep, timed once, with no untimed warm-up fit (their fixed costs are noise here).
LARGE = {"code"}


# ---------------------------------------------------------------- objectives (float64)
def logistic_j(x, y, w, lam):
    z = y * (x @ w)
    return np.mean(np.logaddexp(0.0, -z)) + 0.5 * lam * w @ w


def hinge_j(x, y, w, lam, squared):
    m = np.maximum(0.0, 1.0 - y * (x @ w))
    return np.mean(m * m if squared else m) + 0.5 * lam * w @ w


def softmax_j(x, y, coef, intercept, lam):
    s = x @ coef.T + intercept
    s -= s.max(axis=1, keepdims=True)
    lse = np.log(np.exp(s).sum(axis=1))
    return np.mean(lse - s[np.arange(len(y)), y]) + 0.5 * lam * np.sum(coef * coef)


# ---------------------------------------------------------------- tools
_PROBLEMS = {}


def liblinear_problem(x, y):
    """LIBLINEAR's copy of X in its own format, built once per data set (by the untimed
    warm-up fit, or before a large set's single timed fits)."""
    from liblinear import liblinearutil as ll
    key = (id(x), id(y))
    if key not in _PROBLEMS:
        _PROBLEMS[key] = ll.problem(y, x)
    return _PROBLEMS[key]


def liblinear_fit(x, y, c, solver, eps, threads):
    """LIBLINEAR's training alone, on its problem built outside the timed call, as the
    data of the others is in memory."""
    from liblinear import liblinearutil as ll
    prob = liblinear_problem(x, y)
    opts = f"-s {solver} -c {c!r} -e {eps:g} -q" + (f" -m {threads}" if threads > 1 and solver in (0, 1, 2, 3) else "")
    model = ll.train(prob, ll.parameter(opts))
    w, _ = model.get_decfun()
    w = np.asarray(w, dtype=np.float64)
    # LIBLINEAR's w is for its first label; make it the weight of y = +1.
    return w if model.get_labels()[0] == 1 else -w


def binary_tools(kind, c, lam, n, threads, quick, large=False):
    """(tool, setting, fit(x, y) -> w) for a binary problem."""
    import sigmax
    tools = []
    if kind == "logistic" and large:
        return large_logistic_tools(c, lam, threads)
    if kind == "logistic":
        tools.append(("sigmax default", "auto", lambda x, y: sigmax.LogisticRegression(C=c, fit_intercept=False).fit(x, y).coef_[0]))
        for tol in ([0.1, 1e-2, 1e-3] if quick else [0.1, 1e-2, 1e-3, 1e-4]):
            tools.append(("sigmax dual-cd", f"tol {tol:g}", lambda x, y, t=tol: sigmax.LogisticRegression(C=c, fit_intercept=False, solver="dual-cd", tol=t).fit(x, y).coef_[0]))
        for tol in [1e-4, 1e-6]:
            tools.append(("sigmax newton", f"tol {tol:g}", lambda x, y, t=tol: sigmax.LogisticRegression(C=c, fit_intercept=False, solver="newton", tol=t).fit(x, y).coef_[0]))
        for eps in [1e-2, 1e-3, 1e-4]:
            tools.append((f"liblinear -s 0 -m {threads}", f"-e {eps:g}", lambda x, y, e=eps: liblinear_fit(x, y, c, 0, e, threads)))
        for eps in [1.0, 1e-1, 1e-2]:
            tools.append(("liblinear -s 7", f"-e {eps:g}", lambda x, y, e=eps: liblinear_fit(x, y, c, 7, e, 1)))
        try:
            import snapml
            for tol in [1e-2, 1e-3, 1e-4]:
                tools.append((f"snapml dual {threads} jobs", f"tol {tol:g}", lambda x, y, t=tol: snapml.LogisticRegression(
                    regularizer=1.0 / c, penalty="l2", dual=True, fit_intercept=False, tol=t, max_iter=10_000,
                    n_jobs=threads).fit(x, y).coef_.ravel()))
        except ImportError:
            print("(snapml not installed)", file=sys.stderr)
        try:
            from cyanure.estimators import LogisticRegression as CyLR
            for tol in [1e-3, 1e-4, 1e-5]:
                tools.append((f"cyanure {threads} threads", f"tol {tol:g}", lambda x, y, t=tol: CyLR(
                    penalty="l2", lambda_1=lam, fit_intercept=False, tol=t, max_iter=1000, n_threads=threads,
                    verbose=False).fit(x, y).coef_.ravel()))
        except ImportError:
            print("(cyanure not installed)", file=sys.stderr)
        if not quick:
            from sklearn.linear_model import LogisticRegression as SkLR
            for tol in [1e-4, 1e-6]:
                tools.append(("scikit-learn newton-cg", f"tol {tol:g}", lambda x, y, t=tol: SkLR(
                    C=c, fit_intercept=False, solver="newton-cg", tol=t, max_iter=1000).fit(x, y).coef_[0]))
    else:
        squared = kind == "squared-hinge"
        loss = "squared_hinge" if squared else "hinge"
        tools.append(("sigmax default", "auto", lambda x, y: sigmax.LinearSVC(C=c, loss=loss, fit_intercept=False).fit(x, y).coef_[0]))
        for tol in [1.0, 0.1, 1e-2, 1e-3]:
            tools.append(("sigmax dual-cd", f"tol {tol:g}", lambda x, y, t=tol: sigmax.LinearSVC(C=c, loss=loss, fit_intercept=False, tol=t).fit(x, y).coef_[0]))
        s = 1 if squared else 3
        for eps in [1.0, 0.1, 1e-2, 1e-3]:
            tools.append((f"liblinear -s {s}", f"-e {eps:g}", lambda x, y, e=eps: liblinear_fit(x, y, c, s, e, 1)))
        if squared:
            for eps in [1e-2, 1e-3]:
                tools.append((f"liblinear -s 2 -m {threads}", f"-e {eps:g}", lambda x, y, e=eps: liblinear_fit(x, y, c, 2, e, threads)))
        if not quick:
            from sklearn.svm import LinearSVC as SkSVC
            tools.append(("scikit-learn LinearSVC", "default", lambda x, y: SkSVC(
                C=c, loss=loss, fit_intercept=False).fit(x, y).coef_[0]))
        try:
            import snapml
            for tol in [1e-2, 1e-3, 1e-4]:
                tools.append((f"snapml {loss} {threads} jobs", f"tol {tol:g}", lambda x, y, t=tol: snapml.SupportVectorMachine(
                    regularizer=1.0 / c, fit_intercept=False, loss=loss, tol=t, max_iter=10_000,
                    n_jobs=threads).fit(x, y).coef_.ravel()))
        except (ImportError, TypeError):
            print("(snapml SupportVectorMachine unavailable)", file=sys.stderr)
    return tools


def large_logistic_tools(c, lam, threads):
    """The settings of each tool worth a minute's fit on the large set (a first sweep
    there: the loosest that reached a gap of 1e-6, and the next tighter one)."""
    import sigmax
    import snapml
    from cyanure.estimators import LogisticRegression as CyLR
    return [
        ("sigmax default", "auto", lambda x, y: sigmax.LogisticRegression(C=c, fit_intercept=False).fit(x, y).coef_[0]),
        ("liblinear -s 7", "-e 0.1", lambda x, y: liblinear_fit(x, y, c, 7, 0.1, 1)),
        (f"liblinear -s 0 -m {threads}", "-e 1e-4", lambda x, y: liblinear_fit(x, y, c, 0, 1e-4, threads)),
        *[(f"snapml dual {threads} jobs", f"tol {tol:g}", lambda x, y, t=tol: snapml.LogisticRegression(
            regularizer=1.0 / c, penalty="l2", dual=True, fit_intercept=False, tol=t, max_iter=10_000,
            n_jobs=threads).fit(x, y).coef_.ravel()) for tol in (1e-4, 1e-5)],
        (f"cyanure {threads} threads", "tol 1e-5", lambda x, y: CyLR(
            penalty="l2", lambda_1=lam, fit_intercept=False, tol=1e-5, max_iter=1000, n_threads=threads,
            verbose=False).fit(x, y).coef_.ravel()),
    ]


def softmax_tools(c, lam, threads, quick, slow):
    import sigmax
    tools = [("sigmax default", "auto", lambda x, y: fitted(sigmax.LogisticRegression(C=c).fit(x, y)))]
    try:
        from cyanure.estimators import LogisticRegression as CyLR
        for tol in [1e-2, 1e-3] if quick else [1e-2, 1e-3, 1e-4]:
            tools.append((f"cyanure {threads} threads", f"tol {tol:g}", lambda x, y, t=tol: fitted(CyLR(
                penalty="l2", lambda_1=lam, fit_intercept=True, tol=t, max_iter=500, n_threads=threads,
                multi_class="multinomial", verbose=False).fit(x, y))))
    except ImportError:
        print("(cyanure not installed)", file=sys.stderr)
    if slow:  # 169 s on the 26-class text set
        from sklearn.linear_model import LogisticRegression as SkLR
        tools.append(("scikit-learn lbfgs", "tol 1e-6", lambda x, y: fitted(SkLR(C=c, solver="lbfgs", tol=1e-6, max_iter=10_000).fit(x, y))))
    return tools


def fitted(est):
    coef = np.asarray(est.coef_, dtype=np.float64)
    if est.__class__.__module__.startswith("cyanure") and coef.ndim == 2 and coef.shape[1] == len(est.classes_) != coef.shape[0]:
        coef = coef.T  # cyanure's multinomial coef_ is features × classes
    return coef, np.asarray(est.intercept_, dtype=np.float64)


# ---------------------------------------------------------------- the runs
def run_problem(title, tools, objective, x, y, repeats, gap, warm_up=True):
    rows, warm = [], set()
    for tool, setting, fit in tools:
        times, j = [], None
        if warm_up and tool not in warm:  # the first call of a tool: thread pools, imports, caches
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit(x, y)
            warm.add(tool)
        for _ in range(repeats):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.perf_counter()
                out = fit(x, y)
                times.append(time.perf_counter() - t)
            j = objective(out)
        rows.append((tool, setting, statistics.median(times), j))
        print(f"  {tool:28s} {setting:10s} {rows[-1][2]:8.3f} s  J = {j:.12f}", file=sys.stderr, flush=True)
    best = min(r[3] for r in rows)
    report = [f"\n### {title}\n", f"J* = {best:.12f} (best of all runs); time to a relative gap of {gap:g}, median of {repeats}\n",
              "| tool | fastest setting within the gap | seconds | gap | × sigmax default |", "|---|---|---|---|---|"]
    default = next(r for r in rows if r[0] == "sigmax default")
    default_gap = (default[3] - best) / abs(best)
    per_tool = {}
    for tool, setting, secs, j in rows:
        g = (j - best) / abs(best)
        if g <= gap and (tool not in per_tool or secs < per_tool[tool][1]):
            per_tool[tool] = (setting, secs, g)
    peers = {t: v for t, v in per_tool.items() if not t.startswith("sigmax")}
    for tool, (setting, secs, g) in sorted(per_tool.items(), key=lambda kv: kv[1][1]):
        report.append(f"| {tool} | {setting} | {secs:.3f} | {g:.1e} | {secs / default[2]:.2f} |")
    missed = sorted({r[0] for r in rows} - set(per_tool))
    if missed:
        closest = {t: min((r for r in rows if r[0] == t), key=lambda r: r[3]) for t in missed}
        report.append("\nNo setting within the gap: " + "; ".join(
            f"{t} (closest: {r[1]}, {r[2]:.1f} s, gap {(r[3] - best) / abs(best):.1e})" for t, r in closest.items()) + ".")
    if default_gap > gap:
        report.append(f"\n**sigmax's default missed the gap** ({default_gap:.1e}).")
    if peers:
        tool, (setting, secs, _) = min(peers.items(), key=lambda kv: kv[1][1])
        report.append(f"\nsigmax default {default[2]:.3f} s (gap {default_gap:.1e}) against the best peer, "
                      f"{tool} {setting}, {secs:.3f} s: **{default[2] / secs:.2f}×**.")
    own = {t: v for t, v in per_tool.items() if t.startswith("sigmax")}
    if own:
        tool, (setting, secs, _) = min(own.items(), key=lambda kv: kv[1][1])
        report.append(f"sigmax default against sigmax's fastest setting within the gap ({tool} {setting}): "
                      f"{default[2] / secs:.2f}×.")
        if peers:
            best_peer = min(v[1] for v in peers.values())
            report.append(f"sigmax's fastest against the best peer, both within the gap: **{secs / best_peer:.2f}×**.")
    return "\n".join(report)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="textbin", help="comma-separated; text26 (softmax) takes cyanure minutes a fit")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--quick", action="store_true", help="fewer settings, no scikit-learn")
    ap.add_argument("--slow", action="store_true", help="also scikit-learn's softmax (minutes)")
    ap.add_argument("--svm", action="store_true", help="also the hinge and squared-hinge SVMs on the binary sets")
    ap.add_argument("--out", help="also write the tables (markdown) here")
    args = ap.parse_args()
    import sigmax
    report = [f"# sigmax against its peers (bench/peers.py; {args.threads} threads, "
              f"{os.cpu_count()} cores; sigmax {getattr(sigmax, '__version__', '?')})"]
    for spec in args.sets.split(","):
        name, _, path = spec.partition("=")
        path, kind, lam = SETS[name] if not path else (path, "binary", 1e-5)
        large = name in LARGE
        t = time.perf_counter()
        x, y = load_svmlight_file(path, dtype=np.float64)
        x = sp.csr_matrix(x)
        # 32-bit indices, as LIBLINEAR-based estimators (and sigmax's LinearSVC) demand.
        x.indices, x.indptr = x.indices.astype(np.int32), x.indptr.astype(np.int32)
        print(f"{name}: {x.shape[0]} × {x.shape[1]}, {x.nnz} nonzeros (read in {time.perf_counter() - t:.1f} s)", file=sys.stderr)
        n = x.shape[0]
        lam = 1.0 / n if lam is None else lam  # None: C = 1
        c = 1.0 / (lam * n)
        repeats = 1 if large else args.repeats
        if kind == "binary":
            yb = np.where(y > 0, 1.0, -1.0)
            problems = [("logistic", lambda w: logistic_j(x, yb, w, lam))]
            if args.svm:
                problems += [("hinge", lambda w: hinge_j(x, yb, w, lam, False)),
                             ("squared-hinge", lambda w: hinge_j(x, yb, w, lam, True))]
            for loss, obj in problems:
                gap = 1e-6 if loss == "logistic" else 1e-4
                title = f"{name}, {loss}, {n} × {x.shape[1]}, {x.nnz} nonzeros, λ = {lam:.3g} (C = {c:g}), no intercept"
                print(title, file=sys.stderr)
                tools = binary_tools(loss, c, lam, n, args.threads, args.quick, large)
                if large:
                    liblinear_problem(x, yb)
                report.append(run_problem(title, tools, obj, x, yb, repeats, gap, warm_up=not large))
        else:
            classes, yi = np.unique(y, return_inverse=True)
            title = f"{name}, softmax, {len(classes)} classes, {n} × {x.shape[1]}, λ = {lam:g}, intercept"
            print(title, file=sys.stderr)
            obj = lambda out: softmax_j(x, yi, out[0], out[1], lam)
            # Fits of seconds to minutes: no untimed warm-up fit (it would double cyanure's minutes).
            report.append(run_problem(title, softmax_tools(c, lam, args.threads, args.quick, args.slow), obj, x, y,
                                      args.repeats, 1e-6, warm_up=False))
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
