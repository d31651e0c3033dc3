"""sigmax.torch: the margin losses as PyTorch modules. The Rust kernel's explicit
backward against autograd's numerical check and against the same formulas in torch
operations, torch.library's op checks, pytorch-metric-learning's losses (when installed)
on the same parameters, and a small embedding net that learns with each loss."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sigmax.torch import (  # noqa: E402
    ArcFaceLoss,
    CosFaceLoss,
    LargeMarginSoftmaxLoss,
    SphereFaceLoss,
    _margin_loss,
    margin_logits,
)

# (head, margin, scale, λ) as the kernel takes them.
HEADS = [
    ("softmax", None, None, 0.0),
    ("lsoftmax", 3, None, 0.0),
    ("lsoftmax", 4, None, 2.0),
    ("modified", None, None, 0.0),
    ("asoftmax", 4, None, 0.0),
    ("asoftmax", 2, None, 5.0),
    ("cosface", 0.35, 8.0, 0.0),
    ("arcface", 0.5, 8.0, 0.0),
]


def batch(seed=0, n=10, d=6, k=4, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype, requires_grad=True)
    w = torch.randn(k, d, generator=g, dtype=dtype, requires_grad=True)
    y = torch.randint(0, k, (n,), generator=g)
    return x, w, y


@pytest.mark.parametrize("head,margin,scale,lam", HEADS)
def test_gradcheck_and_opcheck(head, margin, scale, lam):
    x, w, y = batch()
    margin = None if margin is None else float(margin)

    def loss(x, w):
        return _margin_loss(x, w, y, head, margin, scale, lam)[0]

    assert torch.autograd.gradcheck(loss, (x, w))
    result = torch.library.opcheck(
        torch.ops.sigmax.margin_loss.default, (x, w, y, head, margin, scale, lam)
    )
    assert set(result.values()) == {"SUCCESS"}, result


@pytest.mark.parametrize("head,margin,scale,lam", HEADS)
def test_the_kernel_equals_the_torch_operations(head, margin, scale, lam):
    x, w, y = batch(1)
    margin = None if margin is None else float(margin)
    kernel = _margin_loss(x, w, y, head, margin, scale, lam)[0]
    gx, gw = torch.autograd.grad(kernel, (x, w))
    ops = torch.nn.functional.cross_entropy(margin_logits(x, w, y, head, margin, scale, lam), y)
    ox, ow = torch.autograd.grad(ops, (x, w))
    assert kernel.item() == pytest.approx(ops.item(), rel=1e-12)
    torch.testing.assert_close(gx, ox, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gw, ow, rtol=1e-10, atol=1e-12)


def modules(k, d):
    return [
        ArcFaceLoss(k, d, scale=16.0),
        CosFaceLoss(k, d, scale=16.0),
        SphereFaceLoss(k, d, annealing="none"),
        SphereFaceLoss(k, d, margin=3, scale=2.0, annealing=(10.0, 0.5, 1.0, 0.1)),
        LargeMarginSoftmaxLoss(k, d),
        LargeMarginSoftmaxLoss(k, d, margin=2, scale=0.5, annealing="lsoftmax-mnist"),
    ]


@pytest.mark.parametrize("index", range(6))
def test_cpu_kernel_and_torch_path_agree_in_the_modules(index):
    """The module on CPU runs the kernel; the torch-operations path (used on other
    devices) is forced here by calling it on the same tensors."""
    x, _, y = batch(2, k=5)
    loss_func = modules(5, 6)[index].double()
    loss = loss_func(x, y)
    gx, gW = torch.autograd.grad(loss, (x, loss_func.W))
    # λ of the step just taken (the annealed losses count one step per training call).
    lam = getattr(loss_func, "lambda_", 0.0)
    logits = margin_logits(
        loss_func._prepare(x), loss_func.W.t(), y, loss_func.head,
        loss_func._kernel_margin(), loss_func._kernel_scale(), lam,
    )
    ops = torch.nn.functional.cross_entropy(logits, y)
    ox, oW = torch.autograd.grad(ops, (x, loss_func.W))
    assert loss.item() == pytest.approx(ops.item(), rel=1e-12)
    torch.testing.assert_close(gx, ox, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gW, oW, rtol=1e-10, atol=1e-12)


def test_agreement_with_pytorch_metric_learning():
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    k, d = 7, 6
    x, _, y = batch(3, n=40, d=d, k=k)
    pairs = [
        # pytorch-metric-learning's ArcFace margin is in degrees.
        (ArcFaceLoss(k, d, margin=0.4, scale=16.0), pml.ArcFaceLoss(k, d, margin=math.degrees(0.4), scale=16.0)),
        (CosFaceLoss(k, d, margin=0.3, scale=16.0), pml.CosFaceLoss(k, d, margin=0.3, scale=16.0)),
        (SphereFaceLoss(k, d, margin=4, scale=2.0, annealing="none"), pml.SphereFaceLoss(k, d, margin=4, scale=2.0)),
        (LargeMarginSoftmaxLoss(k, d, margin=3), pml.LargeMarginSoftmaxLoss(k, d, margin=3)),
    ]
    for ours, theirs in pairs:
        ours, theirs = ours.double(), theirs.double()
        with torch.no_grad():
            theirs.W.copy_(ours.W)
        a = ours(x, y)
        ga = torch.autograd.grad(a, (x, ours.W))
        b = theirs(x, y)
        gb = torch.autograd.grad(b, (x, theirs.W))
        assert a.item() == pytest.approx(b.item(), rel=1e-10), type(ours).__name__
        for u, v in zip(ga, gb):
            torch.testing.assert_close(u, v, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(ours.get_logits(x), theirs.get_logits(x), rtol=1e-12, atol=1e-12)


def test_float32_runs_in_float32():
    x, _, y = batch(4, dtype=torch.float32)
    loss_func = ArcFaceLoss(4, 6, scale=16.0)
    loss = loss_func(x, y)
    loss.backward()
    assert loss.dtype == torch.float32 and x.grad.dtype == torch.float32
    reference = loss_func.double()(x.double(), y)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)


@pytest.mark.parametrize("index", range(6))
def test_an_embedding_net_learns_with_each_loss(index):
    """Four Gaussian blobs in 10-D, a 2-layer net to 8-D embeddings, 60 Adam steps:
    the loss falls and the embeddings classify by their logits."""
    g = torch.Generator().manual_seed(index)
    k, n = 4, 256
    centres = 3.0 * torch.randn(k, 10, generator=g)
    y = torch.randint(0, k, (n,), generator=g)
    x = centres[y] + torch.randn(n, 10, generator=g)
    torch.manual_seed(index)
    net = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8))
    loss_func = modules(k, 8)[index]
    opt = torch.optim.Adam([*net.parameters(), *loss_func.parameters()], lr=0.01)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = loss_func(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses
    with torch.no_grad():
        accuracy = (loss_func.get_logits(net(x)).argmax(1) == y).float().mean().item()
    assert accuracy > 0.9


def test_annealing_counts_training_steps_and_is_saved():
    loss_func = SphereFaceLoss(3, 4)
    x, _, y = batch(5, d=4, k=3)
    assert loss_func.lambda_ == pytest.approx(1000 / 1.12)
    for _ in range(3):
        loss_func(x, y)
    assert int(loss_func.step) == 3
    assert loss_func.lambda_ == pytest.approx(1000 / 1.36)
    loss_func.eval()
    loss_func(x, y)
    assert int(loss_func.step) == 3
    state = loss_func.state_dict()
    restored = SphereFaceLoss(3, 4)
    restored.load_state_dict(state)
    assert int(restored.step) == 3 and torch.equal(restored.W, loss_func.W)
    assert LargeMarginSoftmaxLoss(3, 4).lambda_ == 0.0


def test_bad_parameters_and_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="radians"):
        ArcFaceLoss(10, 4, margin=28.6)
    with pytest.raises(ValueError, match="integer"):
        SphereFaceLoss(10, 4, margin=1.5)
    with pytest.raises(ValueError, match="annealing"):
        SphereFaceLoss(10, 4, annealing="fast")
    loss_func = CosFaceLoss(3, 4)
    with pytest.raises(ValueError, match=r"\(batch, 4\)"):
        loss_func(torch.randn(5, 3), torch.zeros(5, dtype=torch.int64))
    with pytest.raises(ValueError, match="label"):
        loss_func(torch.randn(5, 4), torch.full((5,), 3))
    with pytest.raises(ValueError, match="finite"):
        loss_func(torch.full((2, 4), float("nan")), torch.zeros(2, dtype=torch.int64))
