#!/usr/bin/env python3
"""The TCP collective (what sigmax.dask and sigmax.spark fit through) beside MPI, per
iteration: wall time split into compute and communication, bytes sent per process.

One command, one data set, the same objective (logistic, λ = 1e-4, no intercept, Newton
to a relative gradient of 1e-6), on loopback at P = 1 and 2 processes:
- TCP: P Python processes, each holding 1/P of the rows (contiguous), bind a
  ``sigmax._sigmax.TcpListener``, swap addresses through pipes (the engine's rendezvous)
  and fit through ``fit_linear(..., link)``: the path of a Dask or Spark worker without
  the engine's start-up;
- MPI: ``mpirun -np P sigmax train DATA --distributed`` (each process reads 1/P of the
  file's bytes).
Communication is the time inside the fit's reductions (waiting for the slower process
included); compute is the fit's time less that. Medians of --repeats runs; both must end
at the same objective (printed).

usage: bench/distributed_tcp.py [--data bench/data/textbin.train.svm] [--repeats 3]
       [--out bench/results-distributed-tcp.md]
Needs the sigmax Python package installed, and OpenMPI with sigmax built with `--features
mpi` (built here into target/mpi) for the MPI rows.
"""
import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPI_TARGET = os.path.join(ROOT, "target", "mpi")
SIGMAX = os.path.join(MPI_TARGET, "release", "sigmax")
LAMBDA = 1e-4
SETTINGS = {"model": "logistic", "lambda": LAMBDA, "fit_intercept": False, "tol": 1e-6,
            "solver": "newton"}


def tcp_worker(rank, size, share, conn):
    """One process: bind, say the address, get everyone's, fit its share."""
    from sigmax import _sigmax

    listener = _sigmax.TcpListener("127.0.0.1")
    conn.send(listener.address)
    addresses = conn.recv()
    link = listener.connect(rank, addresses, "bench", 600.0)
    x, y = share
    fit = _sigmax.fit_linear(x, y, 2, None, SETTINGS, None, False, link)
    conn.send({k: fit[k] for k in ("n_iter", "objective", "fit_seconds", "communication")})


def tcp_run(X, ids, size):
    bounds = [X.shape[0] * r // size for r in range(size + 1)]
    pipes, procs = [], []
    for r in range(size):
        part = X[bounds[r]:bounds[r + 1]]
        share = ((part.data, part.indices, part.indptr, X.shape[1]), ids[bounds[r]:bounds[r + 1]])
        # spawn, not fork: the parent's rayon threads (its parse) would not exist in a
        # forked child, whose first parallel pass would wait for them forever.
        ctx = mp.get_context("spawn")
        here, there = ctx.Pipe()
        p = ctx.Process(target=tcp_worker, args=(r, size, share, there))
        p.start()
        pipes.append(here)
        procs.append(p)
    addresses = [c.recv() for c in pipes]
    for c in pipes:
        c.send(addresses)
    results = [c.recv() for c in pipes]
    for p in procs:
        p.join()
    slowest = max(results, key=lambda f: f["fit_seconds"])
    comm = slowest["communication"]
    return dict(it=slowest["n_iter"], total=slowest["fit_seconds"], comm=comm["seconds"],
                bytes=comm["bytes"], objective=slowest["objective"])


def mpi_run(data, size, model):
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(size), SIGMAX,
           "train", data, "--distributed", "--lambda", str(LAMBDA), "--no-bias", "--solver",
           "newton", "--tol", "1e-6", "--json", "-o", model]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}:\n{p.stderr}")
    j = json.loads(p.stdout.strip().splitlines()[-1])
    d = j["distributed"]
    return dict(it=j["iterations"], total=j["fit_seconds"], comm=d["communication_seconds"],
                bytes=d["bytes_communicated"], objective=j["objective"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "bench", "data", "textbin.train.svm"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-mpi", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results-distributed-tcp.md"))
    a = ap.parse_args()
    import numpy as np
    import sigmax

    X, y = sigmax.load_svmlight(a.data, dtype=np.float32)
    ids = np.searchsorted(np.unique(y), y).astype(np.int64)
    backends = [("tcp", lambda p, _: tcp_run(X, ids, p))]
    if not a.no_mpi:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "sigmax-cli", "--features",
                        "mpi", "--target-dir", MPI_TARGET], cwd=ROOT, check=True)
        backends.append(("mpi", lambda p, model: mpi_run(a.data, p, model)))
    lines = [f"{os.path.basename(a.data)}: {X.shape[0]} rows × {X.shape[1]} features, "
             f"{X.nnz} nonzeros; logistic, λ = {LAMBDA}, no intercept, Newton to 1e-6; "
             f"medians of {a.repeats}.", "",
             "| backend | P | iterations | s / iteration | compute s / it. | comm. s / it. | "
             "KB sent / it. | objective |", "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, run in backends:
            for p in (1, 2):
                runs = [run(p, os.path.join(tmp, f"{name}{p}.json")) for _ in range(a.repeats)]
                med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
                it, total, comm = runs[0]["it"], med("total"), med("comm")
                lines.append(f"| {name} | {p} | {it} | {total / it:.4f} | {(total - comm) / it:.4f} | "
                             f"{comm / it:.5f} | {runs[0]['bytes'] / it / 1e3:.1f} | "
                             f"{runs[0]['objective']:.15g} |")
                print(lines[-1], flush=True)
    with open(a.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"written to {a.out}")


if __name__ == "__main__":
    sys.exit(main())
