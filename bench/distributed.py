#!/usr/bin/env python3
"""Distributed training on MPI, measured on loopback and projected to a cluster.

Runs `mpirun -np P sigmax train DATA --distributed` at P = 1, 2, 4 on the synthetic sparse
set (500k × 200k, 90 nonzeros per row) and the dense set (1M × 100) of bench/run, and
prints per Newton iteration: wall time split into compute and communication, bytes sent
per process, and the largest weight difference from P = 1 (the model match).

This machine has 2 cores on one memory bus, so P = 2 and 4 share the same cores (P = 4 is
oversubscribed): the table shows what communication costs, not scaling. The projection
below it is a model, not a measurement: an α–β model of the allreduce (α from the small
allreduces of the run, β from the parameter-sized ones, ring allreduce 2(N−1)/N·bytes·β +
2·log2(N)·α) and the measured compute per iteration of this machine (P = 2, a process per core), for N nodes of
its size on a set 100× the sparse one (same features, 100× the rows, so 100× the
compute per iteration and the same vectors to reduce), with the measured iteration count.

usage: bench/distributed.py [--repeats 3] [--sets sparse,dense] [--out bench/results-distributed.md]
Needs OpenMPI (apt-get install openmpi-bin libopenmpi-dev libclang-dev).
"""
import argparse, json, math, os, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data")
# Its own target directory: a plain `cargo build --release` (no mpi feature) must not
# replace the binary under a running benchmark.
MPI_TARGET = os.path.join(ROOT, "target", "mpi")
SIGMAX = os.path.join(MPI_TARGET, "release", "sigmax")
LAMBDA = 1e-4
# Each parameter-sized reduction sends an exact sum per number (sigmax::sum): a grid index
# (4 bytes, one max-allreduce) and three integer bins (24 bytes, one sum-allreduce).
BYTES_PER_NUMBER = 28
ALLREDUCES_PER_SUM = 2


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def build():
    sh(["cargo", "build", "--release", "-q", "-p", "sigmax-cli", "--features", "mpi", "--target-dir", MPI_TARGET], cwd=ROOT)
    sh(["cargo", "build", "--release", "-q", "-p", "sigmax", "--example", "bench_data"], cwd=ROOT)
    if not os.path.exists(os.path.join(DATA, "dense.test.svm")):
        os.makedirs(DATA, exist_ok=True)
        sh([os.path.join(ROOT, "target", "release", "examples", "bench_data"), DATA])


def run(data, np, model):
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(np), SIGMAX, "train", data,
           "--distributed", "--lambda", str(LAMBDA), "--no-bias", "--tol", "1e-6", "--json", "-o", model]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}:\n{p.stderr}")
    j = json.loads(p.stdout.strip().splitlines()[-1])
    return {**j, **j["distributed"]}  # the fit's report, and the processes' communication


def weights(model):
    m = json.load(open(model))["model"]
    return [v for row in m["weights"] for v in row] + m["bias"]


def projection(name, fits, alpha, beta):
    """The α–β model's table. A node is this machine: its compute per iteration is that of
    P = 2 (one process per core, both cores busy), ×100 for 100× the rows."""
    one, node = fits[(name, 1)], fits[(name, 2)]
    it = one["it"]
    compute_it = (node["total"] - node["comm"]) / node["it"] * 100
    vec_per_it, small_per_it = one["passes"] / it, one["small"] / it
    out = ["", f"α–β projection (a model, not a measurement) for the {name} set ×100 rows on N nodes like this one (2 cores each):",
           f"α = {alpha * 1e6:.1f} µs, β = {beta * 1e9:.3f} ns/byte (loopback, measured at P = 2); compute per iteration on one node ×100 rows = {compute_it:.2f} s;"
           f" {it} iterations, {vec_per_it:.1f} parameter-sized exact sums per iteration, each {BYTES_PER_NUMBER * one['d'] / 1e6:.1f} MB in {ALLREDUCES_PER_SUM} allreduces.", "",
           "| nodes N | compute s / it. | comm. s / it. | projected time to gap 1e-6 (s) | speed-up vs 1 node |", "|---|---|---|---|---|"]
    t1 = None
    for n in (1, 4, 8, 16, 32, 64):
        ring = 0.0 if n == 1 else 2 * (n - 1) / n * BYTES_PER_NUMBER * one["d"] * beta + ALLREDUCES_PER_SUM * 2 * math.log2(n) * alpha
        small = 0.0 if n == 1 else 2 * math.log2(n) * alpha
        comm_it = vec_per_it * ring + small_per_it * small
        total = it * (compute_it / n + comm_it)
        t1 = t1 or total
        out.append(f"| {n} | {compute_it / n:.3f} | {comm_it:.4f} | {total:.1f} | {t1 / total:.1f}× |")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sets", default="sparse,dense")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results-distributed.md"))
    a = ap.parse_args()
    build()
    lines = ["| set | P | iterations | passes | s / iteration | compute s / it. | comm. s / it. | KB sent / it. | max weight diff vs P = 1 |",
             "|---|---|---|---|---|---|---|---|---|"]
    fits = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.sets.split(","):
            data = os.path.join(DATA, f"{name}.train.svm")
            ref = None
            for np in (1, 2, 4):
                model = os.path.join(tmp, f"{name}{np}.json")
                runs = [run(data, np, model) for _ in range(a.repeats)]
                med = lambda k: statistics.median(r[k] for r in runs)
                it = runs[0]["iterations"]
                passes = (runs[0]["allreduce_calls"] - runs[0]["small_allreduces"]) // ALLREDUCES_PER_SUM
                total, comm = med("seconds"), med("communication_seconds")
                w = weights(model)
                if ref is None:
                    ref = w
                scale = max(abs(v) for v in ref)
                diff = max(abs(x - y) for x, y in zip(ref, w)) / scale
                lines.append(f"| {name} | {np} | {it} | {passes} | {total / it:.3f} | {(total - comm) / it:.3f} | {comm / it:.4f} | "
                             f"{runs[0]['bytes_communicated'] / it / 1e3:.1f} | {diff:.1e} |")
                fits[(name, np)] = dict(it=it, passes=passes, total=total, comm=comm, d=runs[0]["n_features"],
                                        small=runs[0]["small_allreduces"], small_s=med("small_allreduce_seconds"),
                                        bytes=runs[0]["bytes_communicated"])
                print(lines[-1], flush=True)
    # α from the small allreduces at P = 2 (the real network hop of loopback), β from the
    # vector ones: (comm − small) / (vector bytes · 2(P−1)/P).
    name = a.sets.split(",")[0]
    f = fits[(name, 2)]
    alpha = f["small_s"] / max(f["small"], 1) / 2  # 2·log2(2)·α per small allreduce
    vec_s = f["comm"] - f["small_s"]
    vec_bytes = f["passes"] * BYTES_PER_NUMBER * f["d"]
    vec_calls = f["passes"] * ALLREDUCES_PER_SUM
    beta = max(vec_s - vec_calls * 2 * alpha, 0.0) / max(vec_bytes * 2 * (2 - 1) / 2, 1)
    out = projection(name, fits, alpha, beta)
    text = "\n".join(lines + out) + "\n"
    print("\n".join(out))
    with open(a.out, "w") as fh:
        fh.write(text)
    print(f"written to {a.out}")


if __name__ == "__main__":
    sys.exit(main())
