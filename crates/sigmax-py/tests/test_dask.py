"""sigmax.dask on a LocalCluster of 2 worker processes (one thread each), a chunk on each
worker: the model of one process (the same objective to 1e-12), binary and softmax,
weighted and not, with an empty partition; and the faults: a bad row stops every worker
with its partition and row, a lost worker makes the fit raise within a bounded time, a
wrong job token is refused."""
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

import sigmax  # noqa: E402
import spread_data  # noqa: E402
from sigmax import _sigmax  # noqa: E402
from sigmax.dask import LinearSVC as DaskLinearSVC  # noqa: E402
from sigmax.dask import LogisticRegression as DaskLogisticRegression  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def data(n=1200, d=8, k=2, seed=0):
    return spread_data.data(n, d, k, seed)


def objective(est, X, y, w, C):
    return spread_data.objective(est.coef_, est.intercept_, X, y, w, C, est.classes_)


def on_workers(client, a, rows):
    """`a` as a dask array in chunks of `rows` rows, the first on one worker and the rest
    on the other (so that each worker holds rows)."""
    import dask

    workers = sorted(client.scheduler_info()["workers"])
    blocks, start = [], 0
    for i, r in enumerate(rows):
        part = a[start:start + r]
        start += r
        future = client.scatter(part, workers=[workers[min(i, 1)]])
        blocks.append(da.from_delayed(dask.delayed(future), shape=part.shape, dtype=part.dtype))
    return da.concatenate(blocks)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_model_of_one_process(client, k, weighted):
    X, y = data(k=k, seed=k)
    w = np.random.default_rng(1).uniform(0.2, 3.0, size=len(y)) if weighted else None
    C = 0.5
    local = sigmax.LogisticRegression(C=C, tol=1e-10).fit(X, y, sample_weight=w)
    rows = (500, 700)
    Xd, yd = on_workers(client, X, rows), on_workers(client, y, rows)
    wd = None if w is None else on_workers(client, w, rows)
    spread = DaskLogisticRegression(C=C, tol=1e-10, timeout=60).fit(Xd, yd, sample_weight=wd)
    assert spread.coef_.shape == local.coef_.shape
    np.testing.assert_array_equal(spread.classes_, local.classes_)
    j_local = objective(local, X, y, w, C)
    j_spread = objective(spread, X, y, w, C)
    assert abs(j_spread - j_local) <= 1e-12 * j_local, (j_spread, j_local)
    np.testing.assert_allclose(spread.coef_, local.coef_, atol=1e-6)
    assert spread.communication_["processes"] == 2
    # The fitted estimator is an ordinary sigmax one: NumPy in, NumPy out; dask lazily.
    np.testing.assert_array_equal(spread.predict(X), local.predict(X))
    np.testing.assert_array_equal(spread.predict(da.from_array(X, chunks=400)).compute(),
                                  local.predict(X))
    assert isinstance(spread, sigmax.LogisticRegression)


def test_an_empty_partition_takes_part_with_no_rows(client):
    X, y = data(k=3, seed=3)
    local = sigmax.LogisticRegression(tol=1e-10).fit(X, y)
    Xd = da.from_array(X, chunks=((600, 0, 600), (X.shape[1],)))
    yd = da.from_array(y, chunks=((600, 0, 600),))
    assert 0 in Xd.chunks[0]
    spread = DaskLogisticRegression(tol=1e-10, timeout=60).fit(Xd, yd)
    j_local, j_spread = objective(local, X, y, None, 1.0), objective(spread, X, y, None, 1.0)
    assert abs(j_spread - j_local) <= 1e-12 * j_local, (j_spread, j_local)


def test_balanced_class_weights_come_from_every_workers_rows(client):
    X, y = data(k=3, seed=5)
    # Classes spread unevenly: worker order puts most of class 0 in the first chunk.
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    local = sigmax.LogisticRegression(class_weight="balanced", tol=1e-10).fit(X, y)
    spread = DaskLogisticRegression(class_weight="balanced", tol=1e-10, timeout=60).fit(
        da.from_array(X, chunks=(600, X.shape[1])), da.from_array(y, chunks=600))
    np.testing.assert_allclose(spread.coef_, local.coef_, atol=1e-6)


def test_linear_svc_and_dataframes(client):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y = data(seed=7)
    local = sigmax.LinearSVC(tol=1e-10, dual=False).fit(X, y)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    Xf = dd.from_pandas(frame, npartitions=2)
    yf = dd.from_pandas(pd.Series(y), npartitions=2)
    spread = DaskLinearSVC(tol=1e-10, timeout=60).fit(Xf, yf)
    np.testing.assert_allclose(spread.coef_, local.coef_, atol=1e-6)
    np.testing.assert_allclose(spread.intercept_, local.intercept_, atol=1e-6)


def test_a_bad_row_stops_every_worker_naming_partition_and_row(client):
    X, y = data()
    X[900 + 17, 3] = np.nan
    Xd = da.from_array(X, chunks=(600, X.shape[1]))
    yd = da.from_array(y, chunks=600)
    with pytest.raises(ValueError, match=r"partition 1, row 317: the features hold NaN"):
        DaskLogisticRegression(timeout=60).fit(Xd, yd)


def test_what_cannot_run_spread_is_refused(client):
    X, y = data()
    Xd, yd = da.from_array(X, chunks=600), da.from_array(y, chunks=600)
    with pytest.raises(ValueError, match="walks the rows itself"):
        DaskLogisticRegression(solver="saga").fit(Xd, yd)
    with pytest.raises(ValueError, match="squared_hinge"):
        DaskLinearSVC(loss="hinge").fit(Xd, yd)


def test_a_lost_worker_makes_the_fit_raise_in_bounded_time(client):
    X, y = data(n=40000, d=50)
    Xd = da.from_array(X, chunks=(20000, 50))
    yd = da.from_array(y, chunks=20000)
    # Gradient descent with a fixed step to an unreachable tolerance: runs until stopped.
    est = DaskLogisticRegression(solver="gd", tol=1e-300, max_iter=10**9, timeout=120)
    est._kill_after = (1, 1.0)  # the worker of rank 1 dies one second into the fit
    t0 = time.monotonic()
    with pytest.raises(Exception, match=r"process 1|lost|closed|reset|KilledWorker"):
        est.fit(Xd, yd)
    assert time.monotonic() - t0 < 60
    client.wait_for_workers(2, timeout=60)


def test_a_wrong_job_token_is_refused():
    listeners = [_sigmax.TcpListener("127.0.0.1") for _ in range(2)]
    addresses = [l.address for l in listeners]
    errors = []

    def rank0():
        try:
            listeners[0].connect(0, addresses, "the-job", 2.0)
        except ValueError as e:
            errors.append(str(e))

    t = threading.Thread(target=rank0)
    t.start()
    with pytest.raises(ValueError, match="refused|another job|did not connect"):
        listeners[1].connect(1, addresses, "another-job", 2.0)
    t.join()
    assert errors and "did not connect" in errors[0]


def test_in_memory_input_is_fit_here(client):
    X, y = data(seed=9)
    here = DaskLogisticRegression(tol=1e-10).fit(X, y)
    local = sigmax.LogisticRegression(tol=1e-10).fit(X, y)
    np.testing.assert_array_equal(here.coef_, local.coef_)
