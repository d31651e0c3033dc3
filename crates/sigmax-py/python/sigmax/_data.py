"""Data readers: a LIBSVM / svmlight file into a SciPy CSR matrix with sigmax's parser."""
import bz2
import numbers
import os

import numpy as np
import scipy.sparse as sp

from . import _sigmax


def load_svmlight(f, n_features=None, dtype=np.float64, zero_based=False):
    """Reads a LIBSVM / svmlight file (plain or gzip) into ``(X, y)``.

    A drop-in for ``sklearn.datasets.load_svmlight_file`` on well-formed files, with
    sigmax's parallel parser: ``X`` is a ``scipy.sparse.csr_matrix`` of ``dtype``
    (sorted indices), ``y`` the labels as float64 when every label is a number, else as
    strings. ``zero_based=False`` (the LIBSVM convention) reads indices from 1. Errors
    name the file and the line (``ValueError``).

    ``f`` is what scikit-learn's reader takes: a path (``str``, ``bytes`` or path-like;
    gzip is recognized by its content, ``.bz2`` by the name), an open binary file, or a
    file descriptor (an ``int``); a file or descriptor is read from where it stands and
    left open.
    """
    if isinstance(f, numbers.Integral) and not isinstance(f, bool):
        with os.fdopen(os.dup(f), "rb") as fh:
            return load_svmlight(fh, n_features, dtype, zero_based)
    if hasattr(f, "read"):
        data = f.read()
        if isinstance(data, str):
            raise TypeError("load_svmlight reads files opened in binary mode ('rb'), not text mode")
        name = getattr(f, "name", "<file object>")
        name = os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else "<file object>"
        parts = _sigmax.load_svmlight_bytes(bytes(data), name, bool(zero_based), n_features)
    else:
        path = os.fsdecode(os.fspath(f))
        if path.endswith(".bz2"):
            with bz2.open(path, "rb") as fh:
                parts = _sigmax.load_svmlight_bytes(fh.read(), path, bool(zero_based), n_features)
        else:
            parts = _sigmax.load_svmlight(path, bool(zero_based), n_features)
    data, indices, indptr, n_cols, classes, ids = parts
    X = sp.csr_matrix(
        (data.astype(dtype, copy=False), indices, indptr), shape=(len(ids), n_cols)
    )
    # Arrays over Rust's memory are writeable but could not be made writeable again once
    # read-only (NumPy cannot see that their owner allows it), which fits need (they
    # freeze their inputs); those few are copied once here.
    X.data, X.indices, X.indptr = (a if can_be_made_writeable_again(a) else a.copy()
                                   for a in (X.data, X.indices, X.indptr))
    try:
        names = np.array([float(c) for c in classes])
    except ValueError:
        names = np.array(classes, dtype=object)
    return X, names[ids]


def can_be_made_writeable_again(a):
    """Whether NumPy would let a writeable array ``a`` be made writeable again after being
    made read-only (not when its memory belongs to an object NumPy cannot ask)."""
    try:
        a.flags.writeable = True
        return True
    except ValueError:
        return False
