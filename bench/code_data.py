#!/usr/bin/env python3
"""A large real text set (≥ 5 million rows, 2²² hashed columns) from Debian packages.

Corpus: the source text that eighteen Debian bookworm packages install (fetched with
`apt-get download`, unpacked with `dpkg-deb -x`, nothing installed): C and C++ headers
and sources (Boost 1.74, libstdc++ 12, the kernel's user headers, Qt 5, Eigen 3, VTK 9, LLVM 15,
and the C inside Go and Erlang) against Python (the 3.11 standard library and its tests,
SymPy, Django, pandas), Perl 5.36's modules, Go 1.19, Ruby 3.1, Rust's standard library and
Erlang/OTP's sources. Each row is one line of one file, stripped, with at
least three tokens; a line that recurs anywhere (license headers, `#include <…>`) is kept
once, with the label of its first occurrence in path order. The label: +1 if the file is
C or C++ (by its extension, or a header under include/c++/), −1 for the other languages.

Features: the line's tokens (identifiers, numbers, runs of up to three punctuation
characters) and their bigrams, case kept, hashed (scikit-learn's HashingVectorizer,
MurmurHash3) into 2²² columns, binary, rows l2-normalized. Seeded 95/5 split
(RandomState(0)).

Writes into DIR (LIBSVM, 1-based indices), with the unpacked packages cached in DIR/debs:
  code.train.svm, code.test.svm, code.packages (the package versions used)
usage: code_data.py DIR        (~10 minutes, ~2 GB on disk)
"""
import os
import re
import subprocess
import sys
import time

import numpy as np
from sklearn.datasets import dump_svmlight_file
from sklearn.feature_extraction.text import HashingVectorizer

PACKAGES = [
    "libboost1.74-dev", "libstdc++-12-dev", "linux-libc-dev",
    "libpython3.11-minimal", "libpython3.11-stdlib", "libpython3.11-testsuite",
    "python3-sympy", "python3-django", "perl-modules-5.36", "golang-1.19-src", "libruby3.1",
    "python3-pandas", "rust-src", "erlang-src", "qtbase5-dev", "libeigen3-dev", "libvtk9-dev",
    "llvm-15-dev",
]
C_FAMILY = {"h", "hh", "hpp", "hxx", "ipp", "tcc", "txx", "c", "cc", "cpp", "cxx"}
OTHER = {"py", "pl", "pm", "pod", "go", "rb", "rs", "erl", "hrl"}
TOKEN = r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[^\sA-Za-z0-9_]{1,3}"
MIN_TOKENS = 3


def unpack(cache):
    """DIR/debs/<package>/…, fetched once; returns the versions used."""
    debs = os.path.join(cache, "debs")
    os.makedirs(debs, exist_ok=True)
    missing = [p for p in PACKAGES if not os.path.isdir(os.path.join(debs, p))]
    if missing:
        subprocess.run(["apt-get", "download", "-q", *missing], cwd=debs, check=True)
        for p in missing:
            deb = next(f for f in sorted(os.listdir(debs)) if f.startswith(p + "_") and f.endswith(".deb"))
            subprocess.run(["dpkg-deb", "-x", deb, p + ".tmp"], cwd=debs, check=True)
            os.replace(os.path.join(debs, p + ".tmp"), os.path.join(debs, p))
    return sorted(f[:-4] for f in os.listdir(debs) if f.endswith(".deb"))


def label_of(path):
    ext = path.rsplit(".", 1)[-1] if "." in os.path.basename(path) else ""
    if ext in C_FAMILY or ("/include/c++/" in path and not ext):
        return 1
    if ext in OTHER:
        return -1
    return 0


def lines(debs):
    """(line, label) for every kept line, in path order, each distinct line once."""
    token = re.compile(TOKEN)
    seen = set()
    for package in PACKAGES:
        root = os.path.join(debs, package)
        paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
        for path in paths:
            label = label_of(path)
            if label == 0 or os.path.islink(path):
                continue
            with open(path, "rb") as f:
                raw = f.read()
            if b"\0" in raw:
                continue
            for line in raw.decode("utf-8", "replace").splitlines():
                line = line.strip()
                if line in seen or len(token.findall(line)) < MIN_TOKENS:
                    continue
                seen.add(line)
                yield line, label


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-2])
    out = sys.argv[1]
    t = time.perf_counter()
    versions = unpack(out)
    text, y = zip(*lines(os.path.join(out, "debs")))
    y = np.asarray(y, dtype=np.float64)
    print(f"{len(text)} lines ({np.mean(y > 0):.1%} C/C++) in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    hasher = HashingVectorizer(token_pattern=TOKEN, lowercase=False, ngram_range=(1, 2), n_features=2**22,
                               alternate_sign=False, binary=True, norm="l2", dtype=np.float64)
    x = hasher.transform(text)
    del text
    print(f"hashed: {x.shape[0]} × {x.shape[1]}, {x.nnz} nonzeros in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    order = np.random.RandomState(0).permutation(x.shape[0])
    cut = int(0.95 * len(order))
    for name, rows in (("train", order[:cut]), ("test", order[cut:])):
        path = os.path.join(out, f"code.{name}.svm")
        dump_svmlight_file(x[rows], y[rows], path + ".tmp", zero_based=False)
        os.replace(path + ".tmp", path)
    with open(os.path.join(out, "code.packages"), "w") as f:
        f.write("\n".join(versions) + "\n")
    print(f"wrote {out}/code.{{train,test}}.svm in {time.perf_counter() - t:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
