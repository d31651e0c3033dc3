"""sigmax on Spark: ``LogisticRegression``, a ``pyspark.ml`` Estimator that trains in one
barrier stage where the DataFrame's partitions are, and returns a Model with
``transform``.

    from sigmax.spark import LogisticRegression
    model = LogisticRegression(featuresCol="features", labelCol="label", C=1.0).fit(df)
    model.transform(df).select("prediction", "probability")
    model.to_sklearn()        # the same model as a fitted sigmax.LogisticRegression

How (XGBoost's and LightGBM's pattern): ``mapInArrow(..., barrier=True)`` starts one task
per partition, all at once; each binds its own TCP port, the addresses are exchanged with
``BarrierTaskContext.allGather``, and the tasks connect to each other and run one fit
through sigmax's TCP collective, partition i being rank i. The model is the one
``sigmax.LogisticRegression`` finds on the same rows in one process (the objective to
1e-12). A bad row stops every task with its partition and row; a lost task fails the
stage (Spark does not retry a barrier stage's task alone).

The objective is sigmax's: J = (1/S) Σ s_i ℓ_i + λ/2 ‖w‖² (+ an L1 part with
``elasticNetParam``), S the sum of the weights, λ = ``regParam`` when set, else 1/(C·S)
as scikit-learn's C. Unlike Spark MLlib's LogisticRegression, features are not
standardized (scale them first if they differ in scale).

Requires ``pyspark`` ≥ 3.5 and ``pyarrow`` (``pip install sigmax[spark]``) and Java 17;
the executors' Python must have sigmax installed (``PYSPARK_PYTHON``).
"""
import pickle

import numpy as np
import scipy.sparse as sp
from pyspark import keyword_only
from pyspark.ml import Estimator, Model
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import (
    HasElasticNetParam,
    HasFeaturesCol,
    HasFitIntercept,
    HasLabelCol,
    HasMaxIter,
    HasPredictionCol,
    HasProbabilityCol,
    HasRawPredictionCol,
    HasRegParam,
    HasTol,
    HasWeightCol,
)

from . import _distributed as spread
from ._logistic import LogisticRegression as _LocalLogisticRegression

__all__ = ["LogisticRegression", "LogisticRegressionModel"]


class _SigmaxParams(HasFeaturesCol, HasLabelCol, HasWeightCol, HasPredictionCol,
                    HasProbabilityCol, HasRawPredictionCol, HasMaxIter, HasTol,
                    HasFitIntercept, HasRegParam, HasElasticNetParam):
    C = Param(Params._dummy(), "C", "inverse penalty strength (λ = 1/(C·Σ weights)), "
              "used when regParam is not set", typeConverter=TypeConverters.toFloat)
    solver = Param(Params._dummy(), "solver", "sigmax's solver: auto, newton, lbfgs, gd "
                   "or owlqn", typeConverter=TypeConverters.toString)
    timeout = Param(Params._dummy(), "timeout", "seconds any step of the fit may wait for "
                    "another task", typeConverter=TypeConverters.toFloat)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(C=1.0, solver="auto", timeout=spread.DEFAULT_TIMEOUT,
                         fitIntercept=True, elasticNetParam=0.0, tol=1e-6, maxIter=1000,
                         labelCol="label", featuresCol="features",
                         predictionCol="prediction", probabilityCol="probability",
                         rawPredictionCol="rawPrediction")


class LogisticRegression(Estimator, _SigmaxParams):
    """Binary or multinomial (softmax) logistic regression trained by sigmax in a
    barrier stage (see the module's docs). Labels may be any numbers (the classes are
    their distinct values); ``weightCol`` gives sample weights."""

    @keyword_only
    def __init__(self, *, featuresCol="features", labelCol="label", weightCol=None,
                 predictionCol="prediction", probabilityCol="probability",
                 rawPredictionCol="rawPrediction", C=1.0, regParam=None,
                 elasticNetParam=0.0, maxIter=1000, tol=1e-6, fitIntercept=True,
                 solver="auto", timeout=spread.DEFAULT_TIMEOUT):
        super().__init__()
        kwargs = {k: v for k, v in self._input_kwargs.items() if v is not None}
        self._set(**kwargs)

    @keyword_only
    def setParams(self, **kwargs):
        """Sets any of the constructor's parameters."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    def setFeaturesCol(self, value):
        return self._set(featuresCol=value)

    def setLabelCol(self, value):
        return self._set(labelCol=value)

    def setWeightCol(self, value):
        return self._set(weightCol=value)

    def setC(self, value):
        return self._set(C=value)

    def setRegParam(self, value):
        return self._set(regParam=value)

    def setElasticNetParam(self, value):
        return self._set(elasticNetParam=value)

    def setMaxIter(self, value):
        return self._set(maxIter=value)

    def setTol(self, value):
        return self._set(tol=value)

    def setFitIntercept(self, value):
        return self._set(fitIntercept=value)

    def _local_estimator(self):
        """The sigmax estimator whose settings the spread fit takes."""
        C = self.getOrDefault("C")
        if self.isSet("regParam"):
            lam = self.getRegParam()
            if not lam >= 0:
                raise ValueError(f"regParam={lam}: expected a number >= 0")
            C = np.inf if lam == 0 else None
        est = _LocalLogisticRegression(
            C=C if C is not None else 1.0, l1_ratio=self.getElasticNetParam(),
            tol=self.getTol(), max_iter=self.getMaxIter(),
            fit_intercept=self.getFitIntercept(), solver=self.getOrDefault("solver"))
        return est

    def _fit(self, dataset):
        from pyspark.sql import functions as F

        features, label = self.getFeaturesCol(), self.getLabelCol()
        weighted = self.isSet("weightCol") and self.getWeightCol()
        cols = [F.col(features).alias("features"), F.col(label).cast("double").alias("label")]
        if weighted:
            cols.append(F.col(self.getWeightCol()).cast("double").alias("weight"))
        df = dataset.select(*cols)
        classes = np.array(sorted(r[0] for r in df.select("label").distinct().collect()
                                  if r[0] is not None))
        if len(classes) < 2:
            raise ValueError(f"the labels hold {len(classes)} class(es); at least 2 are needed")
        settings, _ = spread.spread_settings(self._local_estimator(), len(classes))
        if self.isSet("regParam") and self.getRegParam() > 0:
            settings["C"], settings["lambda"] = None, float(self.getRegParam())
        conf = df.sparkSession.sparkContext.getConf()
        if conf.get("spark.dynamicAllocation.enabled", "false").lower() == "true":
            raise ValueError(
                "sigmax.spark trains in a barrier stage, which Spark does not run with "
                "dynamic allocation: set spark.dynamicAllocation.enabled=false for this "
                "application (and give it the executors it needs).")
        slots = df.sparkSession.sparkContext.defaultParallelism
        if df.rdd.getNumPartitions() > slots:
            # A barrier stage needs a slot per task.
            df = df.repartition(slots)
        token, timeout = spread.job_token(), float(self.getOrDefault("timeout"))
        kill = getattr(self, "_kill_after", None)  # (rank, seconds): the fault tests' hook
        train = _barrier_task(token, timeout, classes, settings, bool(weighted), kill)
        try:
            rows = df.mapInArrow(train, "result binary", barrier=True).collect()
        except Exception as e:  # (py4j's error: raised when the job is submitted, no task ran)
            if "BarrierJobUnsupportedRDDChainException" not in str(e):
                raise
            # The plan's stage holds a union, coalesce or the like, which a barrier stage
            # cannot: a shuffle first gives it plain partitions.
            df = df.repartition(df.rdd.getNumPartitions())
            rows = df.mapInArrow(train, "result binary", barrier=True).collect()
        fit = pickle.loads(rows[0].result)
        model = LogisticRegressionModel(np.asarray(fit["coef"]), np.asarray(fit["intercept"]),
                                        classes, fit)
        return self._copyValues(model)


def _barrier_task(token, timeout, classes, settings, weighted, kill):
    """The function each barrier task runs on its partition's Arrow batches."""

    def train(batches):
        import pyarrow as pa
        from pyspark import BarrierTaskContext

        from ._sigmax import TcpListener

        ctx = BarrierTaskContext.get()
        rank = ctx.partitionId()
        listener = TcpListener(spread.host_of(ctx.getTaskInfos()[rank].address))
        addresses = ctx.allGather(listener.address)
        parts = []
        for b in batches:
            X = _features_of(b.column("features"))
            y = b.column("label").to_numpy(zero_copy_only=False)
            w = b.column("weight").to_numpy(zero_copy_only=False) if weighted else None
            parts.append((X, y, w, len(parts)))
        offsets = np.cumsum([0] + [p[0].shape[0] for p in parts])
        width = max((p[0].shape[1] for p in parts), default=0)
        share = spread.stack_share(
            [(X, y, w, _where(rank, offsets[i])) for i, (X, y, w, _) in enumerate(parts)],
            classes, width)
        fit = spread.fit_share(listener, rank, addresses, token, timeout, share, len(classes),
                               settings, kill[1] if kill and kill[0] == rank else None)
        if rank == 0:
            yield pa.RecordBatch.from_pydict({"result": [pickle.dumps(fit)]})

    return train


def _where(rank, offset):
    """Names a row in messages: "partition P, row R" counts R from the partition's start
    (the batch's rows are offset)."""
    return f"partition {rank} (rows from {offset})" if offset else f"partition {rank}"


def _features_of(column):
    """An Arrow column of Spark ML vectors (struct of type, size, indices, values) or of
    arrays of numbers as a CSR matrix or a dense array."""
    import pyarrow as pa

    if pa.types.is_struct(column.type):
        kinds = column.field("type").to_numpy(zero_copy_only=False)
        values = column.field("values")
        n = len(column)
        if n and (kinds == 1).all():
            flat = values.flatten().to_numpy(zero_copy_only=False)
            return flat.reshape(n, -1) if n else np.zeros((0, 0))
        sizes = column.field("size").to_numpy(zero_copy_only=False)
        indices = column.field("indices")
        rows, cols, vals = [], [], []
        width = 0
        for i in range(n):
            v = np.asarray(values[i].values.to_numpy(zero_copy_only=False), dtype=np.float64)
            if kinds[i] == 1:
                j = np.arange(len(v))
                width = max(width, len(v))
            else:
                j = np.asarray(indices[i].values.to_numpy(zero_copy_only=False))
                width = max(width, int(sizes[i]))
            rows.append(np.full(len(v), i))
            cols.append(j)
            vals.append(v)
        if not n:
            return sp.csr_matrix((0, 0))
        return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(n, width))
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        n = len(column)
        flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
        return flat.reshape(n, -1) if n else np.zeros((0, 0))
    raise TypeError(f"the features column must hold ML vectors or arrays, not {column.type}")


class LogisticRegressionModel(Model, _SigmaxParams):
    """The fitted model: ``coefficientMatrix`` (1 × d for two classes, K × d),
    ``interceptVector``, ``classes``; ``transform`` adds the prediction (the class's
    label), the probability and the raw scores (as Spark ML's vectors)."""

    def __init__(self, coefficientMatrix=None, interceptVector=None, classes=None, fit=None):
        super().__init__()
        self.coefficientMatrix = coefficientMatrix
        self.interceptVector = interceptVector
        self.classes = classes
        self.summary = {k: v for k, v in (fit or {}).items() if k not in ("coef", "intercept")}

    @property
    def numClasses(self):
        return len(self.classes)

    @property
    def numFeatures(self):
        return self.coefficientMatrix.shape[1]

    def to_sklearn(self):
        """The model as a fitted ``sigmax.LogisticRegression`` (NumPy in, NumPy out)."""
        est = _LocalLogisticRegression(fit_intercept=self.getFitIntercept())
        fit = {"coef": self.coefficientMatrix, "intercept": self.interceptVector,
               "n_iter": self.summary.get("n_iter", 0), "converged": True}
        spread.set_fitted(est, fit, self.classes, self.numFeatures)
        return est

    def _transform(self, dataset):
        from pyspark.ml.linalg import Vectors, VectorUDT
        from pyspark.sql import functions as F
        from pyspark.sql.types import DoubleType

        coef, intercept, classes = self.coefficientMatrix, self.interceptVector, self.classes

        def scores(v):
            x = v.toArray()
            s = coef[:, :len(x)] @ x[:coef.shape[1]] + intercept
            return np.concatenate([-s, s]) / 2 if len(s) == 1 else s

        def probability(v):
            s = scores(v)
            e = np.exp(s - s.max())
            return Vectors.dense(e / e.sum())

        raw = F.udf(lambda v: Vectors.dense(scores(v)), VectorUDT())
        prob = F.udf(probability, VectorUDT())
        pred = F.udf(lambda v: float(classes[int(np.argmax(scores(v)))]), DoubleType())
        col = F.col(self.getFeaturesCol())
        return (dataset.withColumn(self.getRawPredictionCol(), raw(col))
                .withColumn(self.getProbabilityCol(), prob(col))
                .withColumn(self.getPredictionCol(), pred(col)))
