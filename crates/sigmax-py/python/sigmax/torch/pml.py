"""pytorch-metric-learning's margin losses, on sigmax: the same classes, arguments (in its
units: ArcFace's margin in degrees), defaults, ``forward`` signature, state-dict keys and
results, so that changing the import is the whole port.

    from sigmax.torch.pml import ArcFaceLoss        # was: from pytorch_metric_learning.losses
    loss_func = ArcFaceLoss(num_classes=10, embedding_size=128)   # margin=28.6 degrees
    loss = loss_func(embeddings, labels)

As pytorch-metric-learning's: ``W`` is (embedding_size, num_classes), initialized by
``weight_init_func`` (default ``torch.nn.init.normal_``) and moved to the embeddings'
dtype and device in ``forward``; no annealing (L-Softmax and SphereFace are the pure
margin losses); ``forward(embeddings, labels, indices_tuple=None, ref_emb=None,
ref_labels=None)`` weighs each row by how often a miner's ``indices_tuple`` names it
(over the most named), refuses ``ref_emb``/``ref_labels`` and missing labels with
ValueError, and reduces the per-row losses with ``reducer`` (default: the mean), adding
``weight_regularizer(W.t()) · weight_reg_weight`` and
``embedding_regularizer(embeddings) · embedding_reg_weight`` when given (any callable,
pytorch-metric-learning's reducers and regularizers included). ``get_logits`` is its
``get_logits``. Without a miner, reducer or regularizer, CPU float32/float64 batches run in
sigmax's kernel (``sigmax.torch``); everything else runs as torch operations. Not
recorded: pytorch-metric-learning's statistics (``collect_stats``, ``avg_angle``).
"""
import math

import numpy as np
import torch
from torch import Tensor, nn

from . import _margin_loss, _psi

__all__ = [
    "ArcFaceLoss",
    "CosFaceLoss",
    "LargeMarginSoftmaxLoss",
    "SphereFaceLoss",
    "SubCenterArcFaceLoss",
]


class LargeMarginSoftmaxLoss(nn.Module):
    """L-Softmax (Liu et al., ICML 2016) as pytorch-metric-learning's: integer ``margin``
    (default 4), ``scale`` (1) multiplying every logit ‖w_j‖‖x‖cos θ_j, the target's
    cos θ_y replaced by ψ_m(θ_y)."""

    head = "lsoftmax"

    def __init__(self, num_classes, embedding_size, margin=4, scale=1, *, reducer=None,
                 distance=None, weight_init_func=None, weight_regularizer=None,
                 weight_reg_weight=1, embedding_regularizer=None, embedding_reg_weight=1,
                 collect_stats=None):
        super().__init__()
        if distance is not None and type(distance).__name__ != "CosineSimilarity":
            raise ValueError(
                f"{type(self).__name__} requires the distance to be CosineSimilarity, got "
                f"{type(distance).__name__}"
            )
        self.num_classes = int(num_classes)
        self.embedding_size = int(embedding_size)
        self.margin = margin
        self.scale = scale
        self.init_margin()
        self.reducer = reducer
        self.weight_regularizer = weight_regularizer
        self.weight_reg_weight = weight_reg_weight
        self.embedding_regularizer = embedding_regularizer
        self.embedding_reg_weight = embedding_reg_weight
        self.collect_stats = collect_stats
        self.W = nn.Parameter(torch.Tensor(self.embedding_size, self._columns()))
        (weight_init_func or torch.nn.init.normal_)(self.W)

    def init_margin(self):
        m = int(self.margin)
        if not 1 <= m <= 16:
            raise ValueError(f"margin must be an integer 1–16, got {self.margin}")
        self.margin = m

    def _columns(self):
        return self.num_classes

    def _kernel_margin(self):
        return float(self.margin)

    def _kernel_scale(self):
        return None

    def _embeddings(self, embeddings):
        """What the head's logits are linear in: ‖x‖ for L-Softmax and SphereFace, so
        ``scale`` scales the embeddings."""
        return embeddings * self.scale if self.scale != 1 else embeddings

    def _cast(self, embeddings):
        """W in the embeddings' dtype and on their device (pytorch-metric-learning moves
        the parameter itself)."""
        if self.W.dtype != embeddings.dtype or self.W.device != embeddings.device:
            self.W.data = self.W.data.to(device=embeddings.device, dtype=embeddings.dtype)

    def forward(self, embeddings, labels=None, indices_tuple=None, ref_emb=None, ref_labels=None):
        if labels is not None and embeddings.shape[0] != labels.shape[0]:
            raise ValueError("Number of embeddings must equal number of labels")
        if labels is not None and labels.ndim != 1:
            raise ValueError("labels must be a 1D tensor of shape (batch_size,)")
        if labels is None:
            raise ValueError("labels are required for this loss function")
        if ref_emb is not None or ref_labels is not None:
            raise ValueError("ref_emb is not supported for this loss function")
        labels = labels.to(embeddings.device)
        self._cast(embeddings)
        plain = (indices_tuple is None or all(len(t) == 0 for t in indices_tuple)) \
            and self.reducer is None and self.weight_regularizer is None \
            and self.embedding_regularizer is None
        x = self._embeddings(embeddings)
        w = self.W.t()
        kernel = x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) \
            and type(self)._cosine is LargeMarginSoftmaxLoss._cosine
        if plain and kernel:
            loss, _, _ = _margin_loss(x.contiguous(), w.contiguous(), labels, self.head,
                                      self._kernel_margin(), self._kernel_scale(), 0.0)
            return loss
        losses = nn.functional.cross_entropy(self._logits(embeddings, labels), labels,
                                             reduction="none")
        losses = losses * _miner_weights(indices_tuple, labels, losses.dtype)
        loss_dict = {"loss": {"losses": losses,
                              "indices": torch.arange(len(losses), device=losses.device),
                              "reduction_type": "element"}}
        if self.weight_regularizer is not None:
            loss_dict["weight_reg_loss"] = _already_reduced(
                self.weight_regularizer(self.W.t()) * self.weight_reg_weight)
        if self.embedding_regularizer is not None:
            loss_dict["embedding_reg_loss"] = _already_reduced(
                self.embedding_regularizer(embeddings) * self.embedding_reg_weight)
        if self.reducer is not None:
            return self.reducer(loss_dict, embeddings, labels)
        return sum(
            d["losses"] if d["reduction_type"] == "already_reduced" else torch.mean(d["losses"])
            for d in loss_dict.values()
        )

    def _cosine(self, embeddings):
        """cos θ_j, as pytorch-metric-learning's CosineSimilarity computes it (both sides
        normalized, then multiplied: the same rounding as its own losses)."""
        return nn.functional.normalize(embeddings, dim=1) @ nn.functional.normalize(self.W, dim=0)

    def _target(self, cos_y):
        """The target class's logit before scaling: ψ_m(θ_y)."""
        return _psi(cos_y, self.margin)

    def _scaled(self, logits, embeddings):
        """L-Softmax's scaling: ‖w_j‖‖x‖·scale."""
        return logits * self.W.norm(dim=0) * embeddings.norm(dim=1, keepdim=True) * self.scale

    def _logits(self, embeddings, labels):
        """The training logits (margin on the targets) as torch operations, as
        pytorch-metric-learning computes them."""
        cos = self._cosine(embeddings)
        rows = torch.arange(cos.shape[0], device=cos.device)
        logits = cos.index_put((rows, labels), self._target(cos[rows, labels]))
        return self._scaled(logits, embeddings)

    def get_logits(self, embeddings):
        """Logits without margin, (batch, num_classes)."""
        self._cast(embeddings)
        return self._scaled(self._cosine(embeddings), embeddings)

    def extra_repr(self):
        return (f"num_classes={self.num_classes}, embedding_size={self.embedding_size}, "
                f"margin={self.margin}, scale={self.scale}")


class SphereFaceLoss(LargeMarginSoftmaxLoss):
    """A-Softmax / SphereFace (Liu et al., CVPR 2017) as pytorch-metric-learning's: the
    class weights normalized, every logit ‖x‖cos θ_j · ``scale``, ψ_m on the target; no
    annealing."""

    head = "asoftmax"

    def _scaled(self, logits, embeddings):
        return logits * embeddings.norm(dim=1, keepdim=True) * self.scale


class CosFaceLoss(LargeMarginSoftmaxLoss):
    """CosFace (Wang et al., CVPR 2018) as pytorch-metric-learning's: ``scale``·(cos θ_y −
    ``margin``), margin 0.35, scale 64."""

    head = "cosface"

    def __init__(self, *args, margin=0.35, scale=64, **kwargs):
        super().__init__(*args, margin=margin, scale=scale, **kwargs)

    def init_margin(self):
        pass

    def _kernel_scale(self):
        return float(self.scale)

    def _embeddings(self, embeddings):
        return embeddings

    def _target(self, cos_y):
        return cos_y - self.margin

    def _scaled(self, logits, embeddings):
        return logits * self.scale


class ArcFaceLoss(CosFaceLoss):
    """ArcFace (Deng et al., CVPR 2019) as pytorch-metric-learning's: ``scale``·cos(θ_y +
    m), ``margin`` m in DEGREES (28.6, i.e. 0.5 rad), scale 64; past θ_y = 180° − m the
    monotone continuation cos θ_y − m·sin m."""

    head = "arcface"

    def __init__(self, num_classes, embedding_size, margin=28.6, scale=64, **kwargs):
        super().__init__(num_classes, embedding_size, margin=margin, scale=scale, **kwargs)

    def init_margin(self):
        self.margin = np.radians(self.margin)

    def _target(self, cos_y):
        m = float(self.margin)
        theta = torch.acos(cos_y.clamp(-1.0, 1.0))
        # Past θ = 180° − m the monotone continuation, as pytorch-metric-learning's.
        return torch.where(theta <= math.pi - m, torch.cos(theta + m), torch.cos(theta) - m * math.sin(m))


class SubCenterArcFaceLoss(ArcFaceLoss):
    """Sub-center ArcFace (Deng et al., ECCV 2020) as pytorch-metric-learning's:
    ``sub_centers`` columns of W per class, a class's cosine the largest of its
    sub-centers'; then ArcFace. Runs as torch operations."""

    def __init__(self, *args, margin=28.6, scale=64, sub_centers=3, **kwargs):
        self.sub_centers = int(sub_centers)
        num_classes, embedding_size = kwargs.pop("num_classes"), kwargs.pop("embedding_size")
        super().__init__(num_classes, embedding_size, margin=margin, scale=scale, **kwargs)

    def _columns(self):
        return self.num_classes * self.sub_centers

    def _cosine(self, embeddings):
        cos = super()._cosine(embeddings)
        return cos.view(-1, self.num_classes, self.sub_centers).max(dim=2).values

    def get_outliers(self, embeddings, labels, threshold=75, return_dominant_centers=True):
        """Rows farther than ``threshold`` degrees from their class's dominant sub-center
        (the one most of the class's rows are nearest), and those centers (embedding_size
        × num_classes), as pytorch-metric-learning's."""
        if embeddings.shape[0] != labels.shape[0]:
            raise ValueError("Number of embeddings must equal number of labels")
        self._cast(embeddings)
        cos_threshold = math.cos(math.radians(threshold))
        outliers = []
        dominant = torch.zeros(self.W.shape[0], self.num_classes, dtype=embeddings.dtype,
                               device=embeddings.device)
        with torch.no_grad():
            w = nn.functional.normalize(self.W, dim=0)
            x = nn.functional.normalize(embeddings, dim=1)
            for label in range(self.num_classes):
                rows = (labels == label).nonzero().flatten()
                if len(rows) == 0:
                    continue
                cols = slice(label * self.sub_centers, (label + 1) * self.sub_centers)
                cos = x[rows] @ w[:, cols]
                best = torch.argmax(torch.bincount(torch.argmax(cos, dim=1)))
                dominant[:, label] = self.W[:, cols][:, best]
                outliers.append(rows[cos[:, best] < cos_threshold])
        outliers = torch.cat(outliers) if outliers else torch.empty(0, dtype=torch.long)
        return (outliers, dominant) if return_dominant_centers else outliers


def _miner_weights(indices_tuple, labels, dtype):
    """Each row's weight: how often ``indices_tuple`` (a miner's pairs or triplets) names
    it, over the most often named; every row 1 without one."""
    weights = torch.zeros(labels.shape[0], dtype=dtype, device=labels.device)
    if indices_tuple is None or all(len(t) == 0 for t in indices_tuple):
        return weights + 1
    named, counts = torch.unique(torch.cat(indices_tuple, dim=0), return_counts=True)
    weights[named] = counts.to(dtype) / torch.max(counts)
    return weights


def _already_reduced(loss):
    return {"losses": loss, "indices": None, "reduction_type": "already_reduced"}
