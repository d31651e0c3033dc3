"""Hostile input through the Python package (second round): every case ends in a clear
Python exception or the right result, never in a crash of the interpreter."""
import bz2
import gzip
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file

import sigmax

HEART = Path(__file__).resolve().parents[2] / "sigmax" / "data" / "heart_scale"


def heart():
    X, y = load_svmlight_file(str(HEART), n_features=13)
    return X.toarray(), y


def _same(a, b):
    (Xa, ya), (Xb, yb) = a, b
    assert (Xa != Xb).nnz == 0 and Xa.shape == Xb.shape
    np.testing.assert_array_equal(ya, yb)


def test_load_svmlight_takes_what_scikit_learns_reader_takes(tmp_path):
    reference = sigmax.load_svmlight(HEART)
    # bytes and path-like paths
    _same(sigmax.load_svmlight(os.fsencode(str(HEART))), reference)
    _same(sigmax.load_svmlight(HEART), reference)
    # an open binary file, read from where it stands and left open
    with open(HEART, "rb") as f:
        _same(sigmax.load_svmlight(f), reference)
        assert not f.closed
    # a file descriptor, left open
    fd = os.open(HEART, os.O_RDONLY)
    try:
        _same(sigmax.load_svmlight(fd), reference)
        os.fstat(fd)
    finally:
        os.close(fd)
    # gzip by content, bz2 by name
    gz, bz = tmp_path / "h.gz", tmp_path / "h.bz2"
    gz.write_bytes(gzip.compress(HEART.read_bytes()))
    bz.write_bytes(bz2.compress(HEART.read_bytes()))
    _same(sigmax.load_svmlight(gz), reference)
    _same(sigmax.load_svmlight(str(bz)), reference)
    with pytest.raises(TypeError, match="binary mode"):
        with open(HEART) as f:
            sigmax.load_svmlight(f)
    # errors name the file's name and line
    bad = tmp_path / "bad.svm"
    bad.write_bytes(b"1 1:1\n1 2:x\n")
    with open(bad, "rb") as f, pytest.raises(ValueError, match="bad.svm:2:"):
        sigmax.load_svmlight(f)


def test_a_byte_order_mark_is_not_a_class(tmp_path):
    p = tmp_path / "bom.svm"
    p.write_bytes(b"\xef\xbb\xbf" + HEART.read_bytes())
    X, y = sigmax.load_svmlight(p)
    assert sorted(set(y)) == [-1.0, 1.0] and X.shape == (270, 13)


def test_class_weights_are_checked_as_class_weights():
    X, y = heart()
    with pytest.raises(ValueError, match=r"class_weight\[1.0\] = -1"):
        sigmax.LogisticRegression(class_weight={1.0: -1}).fit(X, y)
    with pytest.raises(ValueError, match="every sample the weight 0"):
        sigmax.LogisticRegression(class_weight={1.0: 0, -1.0: 0}).fit(X, y)


def test_extreme_n_jobs_and_max_iter_fit():
    X, y = heart()
    ref = sigmax.LogisticRegression().fit(X, y)
    many = sigmax.LogisticRegression(n_jobs=10**6).fit(X, y)
    np.testing.assert_allclose(many.coef_, ref.coef_, rtol=1e-8)
    long = sigmax.LogisticRegression(max_iter=2**70).fit(X, y)
    np.testing.assert_allclose(long.coef_, ref.coef_, rtol=1e-8)


def test_a_matrix_of_2_to_the_32_columns_is_an_error_not_a_crash():
    # Run in a child: the failure this guards against killed the interpreter.
    code = textwrap.dedent(
        """
        import numpy as np, scipy.sparse as sp, sigmax
        X = sp.csr_matrix((np.ones(4), np.array([0, 1, 4294967295, 2]), np.array([0, 1, 2, 3, 4])),
                          shape=(4, 2**32))
        try:
            sigmax.LogisticRegression().fit(X, [0, 1, 0, 1])
        except (ValueError, MemoryError) as e:
            print("refused:", e)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "refused:" in out.stdout and "memory" in out.stdout, out.stdout
