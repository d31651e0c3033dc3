"""Data readers: a LIBSVM / svmlight file into a SciPy CSR matrix with sigmax's parser."""
import numpy as np
import scipy.sparse as sp

from . import _sigmax


def load_svmlight(path, n_features=None, dtype=np.float64, zero_based=False):
    """Reads a LIBSVM / svmlight file (plain or gzip) into ``(X, y)``.

    A drop-in for ``sklearn.datasets.load_svmlight_file`` on well-formed files, with
    sigmax's parallel parser: ``X`` is a ``scipy.sparse.csr_matrix`` of ``dtype``
    (sorted indices), ``y`` the labels as float64 when every label is a number, else as
    strings. ``zero_based=False`` (the LIBSVM convention) reads indices from 1. Errors
    name the file and the line (``ValueError``).
    """
    data, indices, indptr, n_cols, classes, ids = _sigmax.load_svmlight(
        str(path), bool(zero_based), n_features
    )
    X = sp.csr_matrix(
        (data.astype(dtype, copy=False), indices, indptr), shape=(len(ids), n_cols)
    )
    try:
        names = np.array([float(c) for c in classes])
    except ValueError:
        names = np.array(classes, dtype=object)
    return X, names[ids]
