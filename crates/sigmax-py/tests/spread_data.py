"""What the Dask and Spark tests share: their data and sigmax's objective, to compare a
spread fit with a local one."""
import numpy as np


def data(n, d, k, seed):
    """n rows of d Gaussian features, labels of k classes from a noisy linear model."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = rng.normal(size=(d, k))
    y = np.argmax(X @ W + rng.gumbel(size=(n, k)), axis=1)
    return X, y


def objective(coef, intercept, X, y, w, C, classes):
    """sigmax's J = (1/S) Σ s_i ℓ_i + 1/(2 C S) ‖W‖² (logistic or softmax) at the given
    coefficients."""
    w = np.ones(len(y)) if w is None else w
    S = w.sum()
    scores = X @ np.asarray(coef).T + intercept
    ids = np.searchsorted(classes, y)
    if scores.shape[1] == 1:
        t = np.where(ids == 1, 1.0, -1.0)
        loss = np.logaddexp(0, -t * scores[:, 0])
    else:
        top = scores.max(axis=1, keepdims=True)
        loss = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1)) - scores[np.arange(len(y)), ids]
    return (w @ loss) / S + (np.asarray(coef) ** 2).sum() / (2 * C * S)
