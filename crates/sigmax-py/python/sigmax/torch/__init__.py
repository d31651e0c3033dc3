"""Margin softmax losses for PyTorch (sigmax's own: margins in radians, L-Softmax and
A-Softmax annealing). ``sigmax.torch.pml`` has pytorch-metric-learning's interface.

    from sigmax.torch import ArcFaceLoss
    loss_func = ArcFaceLoss(num_classes=10, embedding_size=128)   # margin 0.5 RADIANS
    loss = loss_func(embeddings, labels)
    optimizer = torch.optim.SGD([*net.parameters(), *loss_func.parameters()], lr=0.1)

Each loss is an ``nn.Module`` owning the class weights ``W`` of shape
(embedding_size, num_classes), as pytorch-metric-learning's do; ``forward(embeddings,
labels)`` is the mean cross-entropy over the batch and ``get_logits(embeddings)`` the
logits without margin (for prediction). **Margins are in radians** (ArcFace's default
0.5 rad ≈ 28.6°): pytorch-metric-learning's ``ArcFaceLoss(margin=28.6)`` is in degrees,
and sigmax refuses an ArcFace margin above π/2 rather than read 28.6 as radians.

On CPU tensors (float32 or float64) the forward and the backward run in sigmax's Rust
kernel (``torch.ops.sigmax.margin_loss``, explicit gradients, memory shared with NumPy,
the GIL released); on other devices the same formulas run as torch operations
(``margin_logits``). ``W`` is a parameter of the loss: give it to the optimizer, and it
is saved in the loss's ``state_dict`` (with the annealing step of L-Softmax/A-Softmax).
"""
import math

import numpy as np
from typing import Optional

import torch
from torch import Tensor, nn

from .. import _sigmax

__all__ = [
    "ArcFaceLoss",
    "CosFaceLoss",
    "LargeMarginSoftmaxLoss",
    "SphereFaceLoss",
    "margin_logits",
]


@torch.library.custom_op("sigmax::margin_loss", mutates_args=(), device_types="cpu")
def _margin_loss(
    embeddings: Tensor,
    weight: Tensor,
    labels: Tensor,
    head: str,
    margin: Optional[float],
    scale: Optional[float],
    lambda_: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """Mean loss, ∂loss/∂embeddings and ∂loss/∂weight of a head; ``weight`` is
    (num_classes, embedding_size), one row per class. Runs sigmax's kernel on the tensors'
    memory (no copy for contiguous inputs)."""
    x = embeddings.detach().contiguous().numpy()
    w = weight.detach().contiguous().numpy()
    y = labels.detach().to(torch.int64).contiguous().numpy()
    loss, _logits, gx, gw = _sigmax.margin_loss(x, w, y, head, margin, scale, None, lambda_, True)
    # Contiguous, as the fake kernel below says (the kernel may hand back ∂W in the
    # transposed layout of its input).
    return (
        torch.tensor(loss, dtype=embeddings.dtype),
        torch.from_numpy(np.ascontiguousarray(gx)),
        torch.from_numpy(np.ascontiguousarray(gw)),
    )


@_margin_loss.register_fake
def _(embeddings, weight, labels, head, margin, scale, lambda_):
    # The real kernel's gradients are new contiguous tensors: so are these (``empty_like``
    # would copy the strides of a transposed ``W.t()``, and torch.compile would refuse the
    # mismatch).
    return (
        embeddings.new_empty(()),
        embeddings.new_empty(embeddings.shape),
        weight.new_empty(weight.shape),
    )


def _setup_context(ctx, inputs, output):
    _, grad_x, grad_w = output
    ctx.save_for_backward(grad_x, grad_w)
    # The gradient outputs get no gradient: without this autograd would fill zero
    # tensors for them (a parallel torch op whose spinning threads then slow the next
    # kernel call on 2 cores by 2x).
    ctx.set_materialize_grads(False)


def _backward(ctx, grad_loss, _grad_gx, _grad_gw):
    if grad_loss is None:  # only the gradient outputs were used
        return None, None, None, None, None, None, None
    grad_x, grad_w = ctx.saved_tensors
    if type(grad_loss) is torch.Tensor and grad_loss.device.type == "cpu":
        # Eager: scale in NumPy. A torch multiply would be a parallel op whose OpenMP
        # threads keep spinning into the next kernel call (measured 2x slower on 2 cores).
        g = float(grad_loss)
        if g == 1.0:  # loss.backward(): the kernel's gradients as they are
            return grad_x, grad_w, None, None, None, None, None
        return (
            torch.from_numpy(grad_x.numpy() * g),
            torch.from_numpy(grad_w.numpy() * g),
            None, None, None, None, None,
        )
    # Traced (torch.compile, opcheck): the same in torch operations.
    return grad_loss * grad_x, grad_loss * grad_w, None, None, None, None, None


torch.library.register_autograd(
    "sigmax::margin_loss", _backward, setup_context=_setup_context
)


def _psi(cos: Tensor, m: int) -> Tensor:
    """ψ_m(θ) = (−1)^k cos(mθ) − 2k on [kπ/m, (k+1)π/m] (Liu et al. 2016, eq. 6), with
    cos(mθ) = T_m(cos θ), the Chebyshev polynomial, so no gradient passes through acos."""
    c = cos.clamp(-1.0, 1.0)
    with torch.no_grad():
        k = torch.floor(torch.acos(c) * m / math.pi).clamp(0, m - 1)
    t_prev, t = torch.ones_like(c), c
    for _ in range(m - 1):
        t_prev, t = t, 2 * c * t - t_prev
    sign = 1.0 - 2.0 * torch.remainder(k, 2)
    return sign * t - 2.0 * k


def margin_logits(
    embeddings: Tensor,
    weight: Tensor,
    labels: Optional[Tensor],
    head: str,
    margin: Optional[float] = None,
    scale: Optional[float] = None,
    lambda_: float = 0.0,
) -> Tensor:
    """The logits of a head as torch operations (any device, autograd through torch):
    ``weight`` is (num_classes, embedding_size); with ``labels`` the margin is applied to
    each row's target class, without them none is (prediction). The formulas are those of
    ``sigmax::margin`` (see ``sigmax.heads``)."""
    kind = _sigmax.head_kind(head)
    tiny = torch.finfo(embeddings.dtype).tiny
    f = embeddings @ weight.t()
    x_norm = embeddings.norm(dim=1, keepdim=True)
    w_norm = weight.norm(dim=1)
    cos = f / (x_norm * w_norm).clamp_min(tiny)
    s = _sigmax.DEFAULT_SCALE if scale is None else scale
    plain = {
        "softmax": f,
        "lsoftmax": f,
        "modified": cos * x_norm,
        "asoftmax": cos * x_norm,
        "cosface": s * cos,
        "arcface": s * cos,
    }.get(kind)
    if plain is None:
        raise ValueError(f"the torch losses do not cover the {kind!r} head")
    if labels is None or kind in ("softmax", "modified"):
        return plain
    rows = torch.arange(embeddings.shape[0], device=embeddings.device)
    cos_y = cos[rows, labels]
    if kind in ("lsoftmax", "asoftmax"):
        m = 4 if margin is None else int(margin)
        magnitude = x_norm[:, 0] * (w_norm[labels] if kind == "lsoftmax" else 1.0)
        target = (lambda_ * plain[rows, labels] + magnitude * _psi(cos_y, m)) / (1.0 + lambda_)
    elif kind == "cosface":
        target = s * (cos_y - (0.35 if margin is None else margin))
    else:
        m = 0.5 if margin is None else margin
        c = cos_y.clamp(-1.0, 1.0)
        sin_y = (1.0 - c * c).clamp_min(0.0).sqrt()
        # cos(θ + m) while θ + m ≤ π; past it the monotone continuation cos θ − m·sin m
        # (insightface, pytorch-metric-learning).
        target = s * torch.where(
            c >= math.cos(math.pi - m),
            c * math.cos(m) - sin_y * math.sin(m),
            c - m * math.sin(m),
        )
    return plain.index_put((rows, labels), target)


class _MarginLoss(nn.Module):
    """A head with its class weights W (embedding_size × num_classes)."""

    head = "softmax"

    def __init__(self, num_classes, embedding_size, margin, scale):
        super().__init__()
        self.num_classes = int(num_classes)
        self.embedding_size = int(embedding_size)
        self.margin = margin
        self.scale = scale
        self.W = nn.Parameter(torch.empty(self.embedding_size, self.num_classes))
        nn.init.normal_(self.W)
        # Checked now, by the kernel's own rules, instead of at the first batch.
        probe = torch.zeros(1, self.embedding_size, dtype=torch.float64)
        probe[0, 0] = 1.0
        _sigmax.margin_loss(
            probe.numpy(),
            torch.ones(self.num_classes, self.embedding_size, dtype=torch.float64).numpy(),
            torch.zeros(1, dtype=torch.int64).numpy(),
            self.head,
            self._kernel_margin(),
            self._kernel_scale(),
            None,
            0.0,
            False,
        )

    def _kernel_margin(self):
        return None if self.margin is None else float(self.margin)

    def _kernel_scale(self):
        return None if self.scale is None else float(self.scale)

    def _lambda(self):
        return 0.0

    def _prepare(self, embeddings):
        return embeddings

    def _check(self, embeddings, labels):
        if embeddings.ndim != 2 or embeddings.shape[1] != self.embedding_size:
            raise ValueError(
                f"embeddings must be (batch, {self.embedding_size}), got {tuple(embeddings.shape)}"
            )
        if labels.ndim != 1 or labels.shape[0] != embeddings.shape[0]:
            raise ValueError(
                f"labels must be ({embeddings.shape[0]},), got {tuple(labels.shape)}"
            )

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """The mean loss over the batch."""
        self._check(embeddings, labels)
        lam = self._lambda()
        x = self._prepare(embeddings)
        w = self.W.t().to(x.dtype)
        on_cpu = x.device.type == "cpu" and w.device.type == "cpu"
        if on_cpu and x.dtype in (torch.float32, torch.float64):
            # Contiguous inputs (the kernel copies others anyway): a compiled graph then
            # hands the op the layout it was traced with.
            loss, _, _ = _margin_loss(
                x.contiguous(), w.contiguous(), labels, self.head, self._kernel_margin(),
                self._kernel_scale(), lam,
            )
            return loss
        logits = margin_logits(
            x, w, labels, self.head, self._kernel_margin(), self._kernel_scale(), lam
        )
        return nn.functional.cross_entropy(logits, labels)

    def get_logits(self, embeddings: Tensor) -> Tensor:
        """The logits without margin, (batch, num_classes)."""
        x = self._prepare(embeddings)
        return margin_logits(
            x, self.W.t().to(x.dtype), None, self.head, None, self._kernel_scale()
        )

    def extra_repr(self):
        return (
            f"num_classes={self.num_classes}, embedding_size={self.embedding_size}, "
            f"margin={self.margin}, scale={self.scale}"
        )


class ArcFaceLoss(_MarginLoss):
    """ArcFace (Deng et al., CVPR 2019): s·cos(θ_y + m). ``margin`` in RADIANS (0.5 ≈
    28.6°, the paper's value; pytorch-metric-learning takes degrees), ``scale`` s = 64."""

    head = "arcface"

    def __init__(self, num_classes, embedding_size, margin=0.5, scale=64.0):
        super().__init__(num_classes, embedding_size, margin, scale)


class CosFaceLoss(_MarginLoss):
    """CosFace / AM-Softmax (Wang et al., CVPR 2018): s·(cos θ_y − m), ``margin`` a
    cosine offset (0.35), ``scale`` s = 64."""

    head = "cosface"

    def __init__(self, num_classes, embedding_size, margin=0.35, scale=64.0):
        super().__init__(num_classes, embedding_size, margin, scale)


class _AnnealedLoss(_MarginLoss):
    """L-Softmax / A-Softmax: an integer margin m, the logits times ``scale`` (by scaling
    the embeddings: these heads' logits are proportional to ‖x‖), and λ annealed over
    training steps: z_y = (λ·f_y + ψ-term)/(1 + λ), λ = max(λ_min, base·(1+γ·step)^(−power)).
    ``annealing``: a schedule name (``sphereface``, ``lsoftmax-mnist``, ``none``) or a
    (base, gamma, power, lambda_min) tuple. Each ``forward`` in training mode counts one
    step (``self.step``, saved in the ``state_dict``); ``lambda_`` is the current λ."""

    def __init__(self, num_classes, embedding_size, margin, scale, annealing):
        if not (float(margin).is_integer() and 1 <= margin <= 16):
            raise ValueError(f"margin must be an integer 1–16 for {self.head}, got {margin}")
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a finite number > 0, got {scale}")
        super().__init__(num_classes, embedding_size, int(margin), float(scale))
        self.annealing = annealing
        _sigmax.annealing_lambda(self._schedule(), 1)  # a bad schedule fails here
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))

    def _schedule(self):
        a = self.annealing
        return a if isinstance(a, str) else tuple(float(v) for v in a)

    def _kernel_scale(self):
        return None

    @property
    def lambda_(self):
        return _sigmax.annealing_lambda(self._schedule(), max(int(self.step), 1))

    def _lambda(self):
        if self.training:
            self.step += 1
        return self.lambda_

    def _prepare(self, embeddings):
        return embeddings if self.scale == 1.0 else embeddings * self.scale

    def extra_repr(self):
        return super().extra_repr() + f", annealing={self.annealing!r}"


class LargeMarginSoftmaxLoss(_AnnealedLoss):
    """L-Softmax (Liu et al., ICML 2016): z_y = ‖w_y‖‖x‖ψ_m(θ_y), ``margin`` m = 4,
    ``scale`` 1. No annealing by default (pytorch-metric-learning's behaviour); the
    paper's MNIST schedule is ``annealing="lsoftmax-mnist"``."""

    head = "lsoftmax"

    def __init__(self, num_classes, embedding_size, margin=4, scale=1.0, annealing="none"):
        super().__init__(num_classes, embedding_size, margin, scale, annealing)


class SphereFaceLoss(_AnnealedLoss):
    """A-Softmax / SphereFace (Liu et al., CVPR 2017): unit-norm W, z_y = ‖x‖ψ_m(θ_y),
    ``margin`` m = 4, ``scale`` 1, annealed by SphereFace's schedule (λ from 1000 down to
    5; ``annealing="none"`` is pytorch-metric-learning's pure margin loss)."""

    head = "asoftmax"

    def __init__(
        self, num_classes, embedding_size, margin=4, scale=1.0, annealing="sphereface"
    ):
        super().__init__(num_classes, embedding_size, margin, scale, annealing)
