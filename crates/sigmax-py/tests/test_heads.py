"""The margin heads as NumPy functions (no torch): gradients against finite differences,
the identities of the formulas, float32 against float64, and bad input."""
import numpy as np
import pytest

from sigmax.heads import annealing_lambda, head_logits, margin_loss

# (head, margin, scale, λ): every head, with margins and scales small enough that finite
# differences resolve them.
HEADS = [
    ("softmax", None, None, 0.0),
    ("lsoftmax", 3, None, 0.0),
    ("lsoftmax", 4, None, 2.5),
    ("modified", None, None, 0.0),
    ("asoftmax", 4, None, 0.0),
    ("sphereface", 2, None, 1.0),
    ("cosface", 0.35, 4.0, 0.0),
    ("arcface", 0.5, 4.0, 0.0),
]


def batch(seed=0, n=12, d=5, k=4, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(dtype)
    w = rng.normal(size=(k, d)).astype(dtype)
    y = rng.integers(0, k, size=n)
    return x, w, y


def loss_of(x, w, y, head, margin, scale, lam):
    return margin_loss(x, w, y, head, margin=margin, scale=scale, lambda_=lam,
                       compute_grad=False).loss


@pytest.mark.parametrize("head,margin,scale,lam", HEADS)
def test_gradients_match_central_differences(head, margin, scale, lam):
    x, w, y = batch()
    r = margin_loss(x, w, y, head, margin=margin, scale=scale, lambda_=lam)
    h = 1e-6
    for a, grad in ((x, r.grad_features), (w, r.grad_weights)):
        numeric = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            keep = a[idx]
            a[idx] = keep + h
            up = loss_of(x, w, y, head, margin, scale, lam)
            a[idx] = keep - h
            down = loss_of(x, w, y, head, margin, scale, lam)
            a[idx] = keep
            numeric[idx] = (up - down) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("head,margin,scale,lam", HEADS)
def test_the_margin_moves_only_the_target_logit(head, margin, scale, lam):
    x, w, y = batch(1)
    r = margin_loss(x, w, y, head, margin=margin, scale=scale, lambda_=lam)
    plain = head_logits(x, w, head, scale=scale)
    off_target = np.ones_like(plain, dtype=bool)
    off_target[np.arange(len(y)), y] = False
    np.testing.assert_allclose(r.logits[off_target], plain[off_target], rtol=1e-12, atol=1e-12)
    # The loss is the mean cross-entropy of those logits.
    z = r.logits - r.logits.max(axis=1, keepdims=True)
    ce = np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]
    assert r.loss == pytest.approx(ce.mean(), rel=1e-12)
    if head not in ("softmax", "modified"):
        # A margin makes the target logit smaller than without it, so the loss larger.
        target = np.arange(len(y)), y
        assert np.all(r.logits[target] <= plain[target] + 1e-12)


def test_the_identities_of_the_heads():
    x, w, y = batch(2)
    softmax = margin_loss(x, w, y, "softmax").loss
    # λ → ∞ turns L-Softmax into softmax and A-Softmax into the modified softmax.
    assert margin_loss(x, w, y, "lsoftmax", lambda_=1e12).loss == pytest.approx(softmax, rel=1e-9)
    assert margin_loss(x, w, y, "asoftmax", lambda_=1e12).loss == pytest.approx(
        margin_loss(x, w, y, "modified").loss, rel=1e-9)
    # Margin 1 of L-Softmax is softmax (ψ_1(θ) = cos θ), margin 0 of CosFace / ArcFace is
    # the scaled cosine softmax, and the combined head (1, m, 0) is ArcFace.
    assert margin_loss(x, w, y, "lsoftmax", margin=1).loss == pytest.approx(softmax, rel=1e-12)
    cos = margin_loss(x, w, y, "cosface", margin=0.0, scale=3.0).loss
    assert margin_loss(x, w, y, "arcface", margin=0.0, scale=3.0).loss == pytest.approx(cos, rel=1e-12)
    assert margin_loss(x, w, y, "combined", margins=(1.0, 0.3, 0.0), scale=3.0).loss == \
        pytest.approx(margin_loss(x, w, y, "arcface", margin=0.3, scale=3.0).loss, rel=1e-12)
    # The normalized heads do not see the norms of the class weights.
    assert margin_loss(x, 7.0 * w, y, "arcface").loss == pytest.approx(
        margin_loss(x, w, y, "arcface").loss, rel=1e-12)


def test_float32_is_computed_in_float32_and_close_to_float64():
    x, w, y = batch(3)
    r64 = margin_loss(x, w, y, "arcface", scale=8.0)
    r32 = margin_loss(x.astype(np.float32), w.astype(np.float32), y, "arcface", scale=8.0)
    assert r32.logits.dtype == np.float32 and r32.grad_features.dtype == np.float32
    assert r32.loss == pytest.approx(r64.loss, rel=1e-5)
    np.testing.assert_allclose(r32.grad_weights, r64.grad_weights, rtol=1e-3, atol=1e-5)
    # Mixed dtypes are computed in float64; Fortran-ordered input gives the same result.
    mixed = margin_loss(x.astype(np.float32), w, y, "arcface", scale=8.0)
    assert mixed.logits.dtype == np.float64
    fortran = margin_loss(np.asfortranarray(x), np.asfortranarray(w), y, "arcface", scale=8.0)
    assert fortran.loss == r64.loss
    np.testing.assert_array_equal(fortran.grad_features, r64.grad_features)


def test_annealing_schedules():
    assert annealing_lambda(100, "sphereface") == pytest.approx(1000 / 13, rel=1e-12)
    assert annealing_lambda(5000, "sphereface") == 5.0
    assert annealing_lambda(7, "none") == 0.0
    assert annealing_lambda(3, (10.0, 1.0, 1.0, 0.5)) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="unknown annealing schedule"):
        annealing_lambda(1, "slow")
    with pytest.raises(ValueError, match="finite and ≥ 0"):
        annealing_lambda(1, (1.0, -1.0, 1.0, 0.0))


@pytest.mark.parametrize(
    "call,error,message",
    [
        (lambda x, w, y: margin_loss(x[0], w, y[:1]), ValueError, "2-D"),
        (lambda x, w, y: margin_loss(x + 1j, w, y), TypeError, "real numbers"),
        (lambda x, w, y: margin_loss(x, w[:, :3], y), ValueError, "columns"),
        (lambda x, w, y: margin_loss(x, w, y[:3]), ValueError, "labels"),
        (lambda x, w, y: margin_loss(x, w, y + 10), ValueError, "label"),
        (lambda x, w, y: margin_loss(x, w, -y - 1), ValueError, "label"),
        (lambda x, w, y: margin_loss(x, w, y.astype(float) + 0.5), ValueError, "integer"),
        (lambda x, w, y: margin_loss(np.where(x > 1, np.nan, x), w, y), ValueError, "finite"),
        (lambda x, w, y: margin_loss(x, w, y, "arcface", margin=28.6), ValueError, "radians"),
        (lambda x, w, y: margin_loss(x, w, y, "lsoftmax", margin=2.5), ValueError, "integer"),
        (lambda x, w, y: margin_loss(x, w, y, "softmax", scale=2.0), ValueError, "no scale"),
        (lambda x, w, y: margin_loss(x, w, y, "lsoftmax", lambda_=-1.0), ValueError, "lambda"),
        (lambda x, w, y: margin_loss(x, w, y, "circleloss"), ValueError, "margin head"),
    ],
)
def test_bad_input_is_a_clear_error(call, error, message):
    x, w, y = batch(4)
    with pytest.raises(error, match=message):
        call(x, w, y)
