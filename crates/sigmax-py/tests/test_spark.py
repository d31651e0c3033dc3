"""sigmax.spark on Spark local[2], two partitions in one barrier stage: the model of one
process (the same objective to 1e-12), binary and softmax, weighted and not, sparse and
dense vectors, with an empty partition; a bad row stops every task with its partition and
row; a lost task makes the fit raise within a bounded time."""
import os
import signal
import sys
import time

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")

import sigmax  # noqa: E402
import spread_data  # noqa: E402

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # The executors' Python is this one (with sigmax installed).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    # SparkContext installs a Ctrl-C handler of its own and leaves it after stop().
    handler = signal.getsignal(signal.SIGINT)
    session = (SparkSession.builder.master("local[2]").appName("sigmax-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    signal.signal(signal.SIGINT, handler)


def data(n=800, d=6, k=2, seed=0):
    return spread_data.data(n, d, k, seed)


def frame(spark, X, y, w=None, split=400, sparse=False):
    """A DataFrame of (features, label[, weight], row) in two partitions: rows before
    `split` in partition 0, the rest in partition 1 (`split` 0: partition 0 is empty)."""
    from pyspark.ml.linalg import Vectors

    def vec(row):
        if sparse:
            nz = np.flatnonzero(row)
            return Vectors.sparse(len(row), nz.tolist(), row[nz].tolist())
        return Vectors.dense(row.tolist())

    first, second = placing_keys(spark)
    rows = [(vec(X[i]), float(y[i]), i, first if i < split else second)
            + (() if w is None else (float(w[i]),)) for i in range(len(y))]
    cols = ["features", "label", "row", "key"] + ([] if w is None else ["weight"])
    df = spark.createDataFrame(rows, cols).repartition(2, "key").drop("key")
    return df.sortWithinPartitions("row")


def placing_keys(spark):
    """Two values of a column that hash-partitioning into 2 puts in partitions 0 and 1."""
    from pyspark.sql import functions as F

    got = (spark.createDataFrame([(k,) for k in range(16)], ["key"]).repartition(2, "key")
           .select("key", F.spark_partition_id().alias("p")).collect())
    where = {r.key: r.p for r in got}
    return (next(k for k in range(16) if where[k] == 0), next(k for k in range(16) if where[k] == 1))


objective = spread_data.objective


@pytest.mark.parametrize("k,weighted,sparse", [(2, False, False), (3, True, True)])
def test_the_model_of_one_process(spark, k, weighted, sparse):
    from sigmax.spark import LogisticRegression

    X, y = data(k=k, seed=k)
    X[np.abs(X) < 0.3] = 0.0
    w = np.random.default_rng(2).uniform(0.5, 2.0, size=len(y)) if weighted else None
    local = sigmax.LogisticRegression(C=0.5, tol=1e-10).fit(X, y, sample_weight=w)
    df = frame(spark, X, y, w, sparse=sparse)
    est = LogisticRegression(C=0.5, tol=1e-10, timeout=60)
    if weighted:
        est.setWeightCol("weight")
    model = est.fit(df)
    classes = np.arange(k, dtype=float)
    j_local = objective(local.coef_, local.intercept_, X, y, w, 0.5, classes)
    j_spread = objective(model.coefficientMatrix, model.interceptVector, X, y, w, 0.5, classes)
    assert abs(j_spread - j_local) <= 1e-12 * j_local, (j_spread, j_local)
    np.testing.assert_allclose(model.coefficientMatrix, local.coef_, atol=1e-6)
    assert model.summary["communication"]["processes"] == 2
    out = model.transform(df).select("label", "prediction", "probability").collect()
    predicted = np.array([r.prediction for r in out])
    labels = np.array([r.label for r in out])
    assert (predicted == labels).mean() > 0.6
    assert all(abs(sum(r.probability) - 1) < 1e-9 for r in out)
    np.testing.assert_array_equal(model.to_sklearn().predict(X), local.predict(X))


def test_an_empty_partition_takes_part(spark):
    from sigmax.spark import LogisticRegression

    X, y = data(seed=4)
    local = sigmax.LogisticRegression(tol=1e-10).fit(X, y)
    df = frame(spark, X, y, split=0)
    assert df.rdd.getNumPartitions() == 2
    assert df.rdd.glom().map(len).collect() == [0, 800]
    model = LogisticRegression(tol=1e-10, timeout=60).fit(df)
    j_local = objective(local.coef_, local.intercept_, X, y, None, 1.0, np.array([0.0, 1.0]))
    j_spread = objective(model.coefficientMatrix, model.interceptVector, X, y, None, 1.0,
                         np.array([0.0, 1.0]))
    assert abs(j_spread - j_local) <= 1e-12 * j_local


def test_plans_a_barrier_stage_cannot_run_as_they_are(spark):
    """A union of DataFrames (refused in a barrier stage as it is) and more partitions
    than the cluster's slots: shuffled into plain partitions first, the same model."""
    from sigmax.spark import LogisticRegression

    X, y = data(seed=8)
    local = sigmax.LogisticRegression(tol=1e-10).fit(X, y)
    classes = np.array([0.0, 1.0])
    j_local = objective(local.coef_, local.intercept_, X, y, None, 1.0, classes)
    whole = frame(spark, X, y)
    halves = whole.where("row < 400").coalesce(1).union(whole.where("row >= 400").coalesce(1))
    thirds = whole.repartition(3)
    with pytest.raises(Exception, match="BarrierJobUnsupportedRDDChainException"):
        halves.mapInArrow(lambda batches: batches, halves.schema, barrier=True).collect()
    for df in (halves, thirds):
        model = LogisticRegression(tol=1e-10, timeout=60).fit(df)
        j = objective(model.coefficientMatrix, model.interceptVector, X, y, None, 1.0, classes)
        assert abs(j - j_local) <= 1e-12 * j_local


def test_a_bad_row_stops_every_task_naming_partition_and_row(spark):
    from sigmax.spark import LogisticRegression

    X, y = data(seed=5)
    X[400 + 9, 2] = np.inf
    with pytest.raises(Exception, match=r"partition 1, row 9: the features hold NaN or infinity"):
        LogisticRegression(timeout=60).fit(frame(spark, X, y))


def test_a_lost_task_makes_the_fit_raise_in_bounded_time(spark):
    from sigmax.spark import LogisticRegression

    X, y = data(n=40000, d=40, seed=6)
    df = frame(spark, X, y, split=20000)
    est = LogisticRegression(solver="gd", tol=1e-300, maxIter=10**9, timeout=120)
    est._kill_after = (1, 2.0)
    t0 = time.monotonic()
    with pytest.raises(Exception):
        est.fit(df)
    assert time.monotonic() - t0 < 120
