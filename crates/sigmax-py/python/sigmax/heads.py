"""Margin softmax heads as plain NumPy functions (no torch needed).

    from sigmax.heads import margin_loss, head_logits
    r = margin_loss(features, weights, labels, head="arcface", margin=0.5, scale=64)
    r.loss, r.logits, r.grad_features, r.grad_weights

``weights`` has one row per class, shape (num_classes, embedding_size), like
scikit-learn's ``coef_`` (the torch losses in ``sigmax.torch`` own ``W`` the other way
round, as pytorch-metric-learning does). Margins are in **radians** for ArcFace, a
cosine offset for CosFace and an integer for L-Softmax / A-Softmax. The loss is the mean
cross-entropy over the batch; the gradients are sigmax's explicit formulas, computed in
Rust with the GIL released.

Heads (``head=``): ``softmax``, ``lsoftmax`` (L-Softmax, Liu et al. 2016), ``modified``
(softmax with unit-norm class weights), ``asoftmax`` / ``sphereface`` (A-Softmax, Liu et
al. 2017), ``cosface`` (Wang et al. 2018), ``arcface`` (Deng et al. 2019), ``combined``
(insightface's s(cos(m1 θ + m2) − m3), ``margins=(m1, m2, m3)``).
"""
from collections import namedtuple

import numpy as np

from . import _sigmax

__all__ = ["MarginLossResult", "annealing_lambda", "head_logits", "margin_loss"]

MarginLossResult = namedtuple(
    "MarginLossResult", ["loss", "logits", "grad_features", "grad_weights"]
)
MarginLossResult.__doc__ = """Mean loss (float), logits with the margin on each row's
target class (n × K), ∂loss/∂features (n × d) and ∂loss/∂weights (K × d); the gradients
are None when ``compute_grad=False``."""


def _float_pair(features, weights):
    x = np.asarray(features)
    w = np.asarray(weights)
    for name, a in (("features", x), ("weights", w)):
        if a.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array, got shape {a.shape}")
        if np.iscomplexobj(a):
            raise TypeError(f"{name} must be real numbers, got {a.dtype}")
        if a.dtype.kind not in "fiub":
            raise TypeError(f"{name} must be numbers, got {a.dtype}")
    dtype = np.float32 if x.dtype == np.float32 and w.dtype == np.float32 else np.float64
    return (
        np.ascontiguousarray(x, dtype=dtype),
        np.ascontiguousarray(w, dtype=dtype),
    )


def _labels(labels, n):
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"labels must be a 1-D array of {n} class indices, got shape {y.shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError("labels must be integer class indices 0..num_classes-1")
    return np.ascontiguousarray(y, dtype=np.int64)


def margin_loss(
    features,
    weights,
    labels,
    head="arcface",
    *,
    margin=None,
    scale=None,
    margins=None,
    lambda_=0.0,
    compute_grad=True,
):
    """The mean loss of a margin head, its logits and both gradients.

    features: (n, d) float array; weights: (num_classes, d), one row per class; labels:
    n class indices. float32 inputs are computed in float32 (the margin math and the
    loss accumulate in float64), anything else in float64. ``margin``/``scale`` default
    to the head's paper values (ArcFace 0.5 rad and 64, CosFace 0.35 and 64, L-Softmax
    and A-Softmax 4); ``lambda_`` is the annealing weight of L-Softmax / A-Softmax
    (0 = the pure margin loss; see ``annealing_lambda``).
    """
    x, w = _float_pair(features, weights)
    y = _labels(labels, x.shape[0])
    loss, logits, gx, gw = _sigmax.margin_loss(
        x,
        w,
        y,
        head,
        None if margin is None else float(margin),
        None if scale is None else float(scale),
        None if margins is None else tuple(float(m) for m in margins),
        float(lambda_),
        bool(compute_grad),
    )
    return MarginLossResult(loss, logits, gx, gw)


def head_logits(features, weights, head="arcface", *, scale=None):
    """The logits a head gives at prediction time, with no margin: W·x for softmax and
    L-Softmax, ‖x‖ cos θ for the modified softmax and A-Softmax, s·cos θ for CosFace,
    ArcFace and the combined head (s = ``scale``, default 64). Shape (n, num_classes)."""
    x, w = _float_pair(features, weights)
    kind = _sigmax.head_kind(head)
    if kind in ("softmax", "lsoftmax"):
        return x @ w.T
    cos = _normalized(x) @ _normalized(w).T
    if kind in ("modified", "asoftmax"):
        return cos * np.linalg.norm(x, axis=1, keepdims=True)
    return cos * (_sigmax.DEFAULT_SCALE if scale is None else float(scale))


def _normalized(a):
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.where(norms > 0, norms, 1)


def annealing_lambda(iteration, schedule="sphereface"):
    """λ = max(λ_min, base·(1 + γ·iteration)^(−power)) of a named schedule
    (``sphereface``: base 1000, γ 0.12, power 1, λ_min 5; ``lsoftmax-mnist``: base 1000,
    γ 2.5e-5, power 35, λ_min 0; ``none``: 0), or of a (base, gamma, power, lambda_min)
    tuple. ``iteration`` counts training steps from 1."""
    if not isinstance(schedule, str):
        schedule = tuple(float(v) for v in schedule)
    return _sigmax.annealing_lambda(schedule, int(iteration))
