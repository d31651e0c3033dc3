"""sigmax.torch.pml against pytorch-metric-learning's own losses (when it is installed):
the same loss and gradients from the same W, PML's units and defaults, state dicts that
load both ways, miners' indices_tuple, reducers and regularizers, dtype casting; and
torch.compile of every loss (native and PML) equal to eager."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import sigmax.torch as native  # noqa: E402
from sigmax.torch import pml  # noqa: E402

NAMES = ["ArcFaceLoss", "CosFaceLoss", "LargeMarginSoftmaxLoss", "SphereFaceLoss"]


def batch(dtype=torch.float64, n=40, d=8, k=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(n, d, generator=g, dtype=dtype) * 3).requires_grad_()
    y = torch.randint(0, k, (n,), generator=g)
    return x, y


def make(module, name, **kw):
    cls = getattr(module, name)
    if name == "SubCenterArcFaceLoss":
        return cls(num_classes=5, embedding_size=8, **kw)
    return cls(5, 8, **kw)


def loss_and_grads(loss_fn, x, y, **kw):
    x = x.detach().clone().requires_grad_()
    loss_fn.zero_grad()
    out = loss_fn(x, y, **kw)
    out.backward()
    return out.detach(), x.grad, loss_fn.W.grad.clone()


@pytest.fixture(scope="module")
def peer():
    return pytest.importorskip("pytorch_metric_learning")


@pytest.mark.parametrize("name", NAMES + ["SubCenterArcFaceLoss"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_same_loss_and_gradients_as_pytorch_metric_learning(peer, name, dtype):
    from pytorch_metric_learning import losses

    theirs = make(losses, name).to(dtype)
    ours = make(pml, name).to(dtype)
    # PML's state dict loads into ours (the same keys), and back.
    ours.load_state_dict(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    x, y = batch(dtype)
    rtol = 1e-10 if dtype == torch.float64 else 2e-4
    for a, b in zip(loss_and_grads(ours, x, y), loss_and_grads(theirs, x, y)):
        torch.testing.assert_close(a, b, rtol=rtol, atol=rtol)
    torch.testing.assert_close(ours.get_logits(x.detach()), theirs.get_logits(x.detach()),
                               rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", NAMES)
def test_miners_reducers_and_regularizers_are_pytorch_metric_learnings(peer, name):
    from pytorch_metric_learning import losses, miners, reducers, regularizers

    x, y = batch(torch.float64, seed=3)
    pairs = miners.MultiSimilarityMiner()(x.detach(), y)
    settings = [
        ({}, {"indices_tuple": pairs}),
        ({"reducer": reducers.ThresholdReducer(low=0.5)}, {}),
        ({"weight_regularizer": regularizers.RegularFaceRegularizer(), "weight_reg_weight": 0.3}, {}),
        ({"embedding_regularizer": regularizers.LpRegularizer(), "embedding_reg_weight": 0.1}, {}),
    ]
    for init, call in settings:
        theirs = make(losses, name, **init).double()
        ours = make(pml, name, **init).double()
        ours.load_state_dict(theirs.state_dict())
        for a, b in zip(loss_and_grads(ours, x, y, **call), loss_and_grads(theirs, x, y, **call)):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_pml_units_defaults_and_errors():
    x, y = batch()
    # ArcFace's margin in degrees: PML's default 28.6° is sigmax's 0.5 rad, less rounding.
    a = pml.ArcFaceLoss(5, 8).double()
    assert a.margin == pytest.approx(math.radians(28.6)) and a.scale == 64
    b = native.ArcFaceLoss(5, 8, margin=math.radians(28.6)).double()
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(a(x, y), b(x, y))
    # No annealing: SphereFace is the pure margin loss, and its state dict is just W.
    assert list(pml.SphereFaceLoss(5, 8).state_dict()) == ["W"]
    # W follows the embeddings' dtype, as PML moves it.
    s = pml.CosFaceLoss(5, 8)
    assert s.W.dtype == torch.float32
    s(x, y)
    assert s.W.dtype == torch.float64
    # weight_init_func
    z = pml.CosFaceLoss(5, 8, weight_init_func=torch.nn.init.zeros_)
    assert torch.count_nonzero(z.W) == 0
    for call, match in [
        (lambda f: f(x), "labels are required"),
        (lambda f: f(x, y, ref_emb=x), "ref_emb is not supported"),
        (lambda f: f(x, y[:-1]), "Number of embeddings must equal"),
    ]:
        with pytest.raises(ValueError, match=match):
            call(pml.ArcFaceLoss(5, 8))


def test_a_meta_tensor_takes_the_torch_path():
    # Where no GPU is lent: tensors off the CPU run the same formulas as torch operations.
    for name in NAMES:
        f = make(pml, name).to("meta")
        x = torch.empty(6, 8, device="meta")
        y = torch.zeros(6, dtype=torch.long, device="meta")
        out = f(x, y)
        assert out.device.type == "meta" and out.shape == ()


COMPILED = [(m, n, "aot_eager") for m in (native, pml) for n in NAMES]
# Inductor (the default backend, ~13 s a compile) on one loss of each namespace: it is
# where a fake kernel whose strides differ from the real op's failed.
COMPILED += [(native, "ArcFaceLoss", "inductor"), (pml, "LargeMarginSoftmaxLoss", "inductor")]


@pytest.mark.parametrize("module, name, backend", COMPILED)
def test_torch_compile_equals_eager(module, name, backend):
    torch._dynamo.reset()
    eager = make(module, name).double()
    compiled_fn = make(module, name).double()
    compiled_fn.load_state_dict(eager.state_dict())
    eager.eval(), compiled_fn.eval()  # (no annealing step counted)
    compiled = torch.compile(compiled_fn, backend=backend)
    x, y = batch()
    for a, b in zip(loss_and_grads(eager, x, y), _compiled_loss_and_grads(compiled, compiled_fn, x, y)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def _compiled_loss_and_grads(compiled, module, x, y):
    x = x.detach().clone().requires_grad_()
    module.zero_grad()
    out = compiled(x, y)
    out.backward()
    return out.detach(), x.grad, module.W.grad.clone()


def test_the_op_passes_opcheck_with_a_transposed_weight():
    x, y = batch()
    w = torch.randn(8, 5, dtype=torch.float64, requires_grad=True).t()  # not contiguous
    assert not w.is_contiguous()
    for head, margin, scale in [("arcface", 0.5, 30.0), ("cosface", 0.35, 30.0), ("lsoftmax", 4.0, None)]:
        torch.library.opcheck(torch.ops.sigmax.margin_loss.default,
                              (x.detach().requires_grad_(), w, y, head, margin, scale, 0.0))
