//! Training: validated options → objective → solver → model. This is the layer the CLI
//! and other front ends call; it owns the defaults so users need not choose a solver.

use crate::data::{require_two_classes, Dataset};
use crate::error::{Error, Result};
use crate::loss::BinaryLoss;
use crate::model::{LinearModel, ModelKind};
use crate::objective::{BinaryObjective, FiniteSum, SoftmaxObjective};
use crate::solver::{
    DualCoordinateDescent, GradientDescent, Lbfgs, LearningRateSchedule, Observer,
    PreconditionerChoice, Sgd, SolverReport, StopRule, TrustRegionNewton,
};

/// Which model to fit; `Auto` picks logistic for two classes and softmax for more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelChoice {
    Auto,
    Kind(ModelKind),
}

/// Which solver; `Auto` is trust-region Newton for smooth objectives; for the SVM, dual
/// coordinate descent without an intercept and SGD with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolverChoice {
    Auto,
    Newton,
    Lbfgs,
    Gd,
    Sgd,
    /// Dual coordinate descent (linear SVM without intercept).
    DualCd,
}

/// How binary labels enter the logistic loss: ±1 margins or the {0,1} cross-entropy.
/// Both are the same model and give the same weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelForm {
    PlusMinusOne,
    ZeroOne,
}

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub model: ModelChoice,
    /// λ of λ/2‖w‖²; `None`: λ = 1/n (LIBLINEAR's and scikit-learn's default C = 1).
    pub lambda: Option<f64>,
    pub intercept: bool,
    pub solver: SolverChoice,
    /// Relative gradient-norm tolerance.
    pub tol: f64,
    /// `None`: a default per solver. SGD counts `epochs` instead.
    pub max_iter: Option<usize>,
    /// GD: fixed step (`None`: backtracking line search). SGD: η0 (`None`: 0.1).
    pub learning_rate: Option<f64>,
    pub schedule: Schedule,
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    /// SGD: return the average of the iterates of the second half of the epochs.
    pub averaging: bool,
    pub label_form: LabelForm,
    /// Start the solver from these parameters (the flat layout of the objective:
    /// weights row by row, then the intercepts) instead of zero.
    pub warm_start: Option<Vec<f64>>,
    /// Newton's CG preconditioner (`Auto`: sampled Hessian for small models, else diagonal).
    pub preconditioner: PreconditionerChoice,
}

/// SGD learning-rate schedule, as chosen by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Constant,
    /// η0 / (1 + η0 λ t).
    InverseTime,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            model: ModelChoice::Auto,
            lambda: None,
            intercept: true,
            solver: SolverChoice::Auto,
            tol: 1e-6,
            max_iter: None,
            learning_rate: None,
            schedule: Schedule::InverseTime,
            epochs: 50,
            batch_size: 1,
            seed: 0,
            averaging: true,
            label_form: LabelForm::PlusMinusOne,
            warm_start: None,
            preconditioner: PreconditionerChoice::Auto,
        }
    }
}

impl TrainOptions {
    /// The model kind for this data.
    pub fn resolve_model(&self, n_classes: usize) -> Result<ModelKind> {
        match self.model {
            ModelChoice::Auto if n_classes == 2 => Ok(ModelKind::Logistic),
            ModelChoice::Auto => Ok(ModelKind::Softmax),
            ModelChoice::Kind(k @ (ModelKind::Logistic | ModelKind::Svm)) if n_classes != 2 => {
                Err(Error::Unsupported(format!(
                    "--model {} is binary but the data has {n_classes} classes; use softmax",
                    k.name()
                )))
            }
            ModelChoice::Kind(k) => Ok(k),
        }
    }

    pub fn resolve_solver(&self, kind: ModelKind) -> SolverChoice {
        match (self.solver, kind) {
            (SolverChoice::Auto, ModelKind::Svm) if !self.intercept => SolverChoice::DualCd,
            (SolverChoice::Auto, ModelKind::Svm) => SolverChoice::Sgd,
            (SolverChoice::Auto, _) => SolverChoice::Newton,
            (s, _) => s,
        }
    }

    pub fn resolve_lambda(&self, n: usize) -> f64 {
        self.lambda.unwrap_or(1.0 / n as f64)
    }

    fn validate(&self) -> Result<()> {
        let bad = |name, value: String, expected| {
            Err(Error::InvalidParameter {
                name,
                value,
                expected,
            })
        };
        if let Some(l) = self.lambda {
            if !(l >= 0.0 && l.is_finite()) {
                return bad("lambda", l.to_string(), "must be a finite number ≥ 0");
            }
        }
        if let Some(eta) = self.learning_rate {
            if !(eta > 0.0 && eta.is_finite()) {
                return bad("learning-rate", eta.to_string(), "must be > 0");
            }
        }
        if !(self.tol > 0.0) {
            return bad("tol", self.tol.to_string(), "must be > 0");
        }
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch-size", "0".into(), "must be at least 1");
        }
        if self.max_iter == Some(0) {
            return bad("max-iter", "0".into(), "must be at least 1");
        }
        Ok(())
    }
}

/// A trained model and how the solver got there.
pub struct Trained {
    pub model: LinearModel,
    pub report: SolverReport,
}

/// Fits a model to `data`. `observer` sees every iteration (for progress display).
pub fn train(data: &Dataset, opts: &TrainOptions, observer: Option<Observer>) -> Result<Trained> {
    opts.validate()?;
    require_two_classes(data)?;
    let kind = opts.resolve_model(data.classes.len())?;
    let lambda = opts.resolve_lambda(data.n_rows());
    let (d, k) = (data.n_features(), data.classes.len());
    let solver = opts.resolve_solver(kind);
    let (w, report) = match kind {
        ModelKind::Logistic | ModelKind::Svm => {
            let loss = match (kind, opts.label_form) {
                (ModelKind::Svm, _) => BinaryLoss::Hinge,
                (_, LabelForm::PlusMinusOne) => BinaryLoss::Logistic,
                (_, LabelForm::ZeroOne) => BinaryLoss::CrossEntropy,
            };
            let positive: Vec<bool> = data.y.iter().map(|&c| c == 1).collect();
            let mut obj =
                BinaryObjective::new(&data.x, positive.clone(), loss, lambda, opts.intercept);
            if solver == SolverChoice::DualCd {
                if kind != ModelKind::Svm || opts.intercept {
                    return Err(Error::Unsupported(
                        "the dual-cd solver trains the linear SVM without an intercept (use --model svm --no-bias)".into(),
                    ));
                }
                let mut w = vec![0.0; data.n_features()];
                let stop = StopRule {
                    tol: opts.tol.max(1e-12),
                    max_iter: opts.max_iter.unwrap_or(10_000),
                };
                let report = DualCoordinateDescent {
                    stop,
                    seed: opts.seed,
                }
                .minimize_svm(&data.x, &positive, lambda, &mut obj, &mut w, observer)?;
                (w, report)
            } else {
                run_solver(&mut obj, solver, opts, lambda, observer)?
            }
        }
        ModelKind::Softmax => {
            let mut obj = SoftmaxObjective::new(&data.x, &data.y, k, lambda, opts.intercept);
            run_solver(&mut obj, solver, opts, lambda, observer)?
        }
    };
    let rows = if kind == ModelKind::Softmax { k } else { 1 };
    let weights = (0..rows).map(|j| w[j * d..(j + 1) * d].to_vec()).collect();
    let bias = if opts.intercept {
        w[rows * d..].to_vec()
    } else {
        vec![0.0; rows]
    };
    let model = LinearModel {
        kind,
        classes: data.classes.clone(),
        n_features: d,
        lambda,
        intercept: opts.intercept,
        weights,
        bias,
    };
    Ok(Trained { model, report })
}

fn run_solver(
    obj: &mut dyn FiniteSum,
    solver: SolverChoice,
    opts: &TrainOptions,
    lambda: f64,
    observer: Option<Observer>,
) -> Result<(Vec<f64>, SolverReport)> {
    let mut w = match &opts.warm_start {
        Some(w0) if w0.len() == obj.dim() => w0.clone(),
        Some(w0) => {
            return Err(Error::Shape {
                what: "warm-start parameters",
                expected: obj.dim(),
                got: w0.len(),
            })
        }
        None => vec![0.0; obj.dim()],
    };
    let stop = |default_iter| StopRule {
        tol: opts.tol,
        max_iter: opts.max_iter.unwrap_or(default_iter),
    };
    let smooth_only = |name: &str| {
        Err(Error::Unsupported(format!(
            "solver {name} needs a smooth objective; the SVM's hinge loss is not (use --solver sgd or gd)"
        )))
    };
    let report = match solver {
        SolverChoice::Newton | SolverChoice::Auto => {
            if !obj.is_smooth() {
                return smooth_only("newton");
            }
            TrustRegionNewton {
                stop: stop(1000),
                cg_tol: 0.1,
                preconditioner: opts.preconditioner,
            }
            .minimize(obj, &mut w, observer)?
        }
        SolverChoice::Lbfgs => {
            if !obj.is_smooth() {
                return smooth_only("lbfgs");
            }
            Lbfgs {
                stop: stop(5000),
                memory: 10,
            }
            .minimize(obj, &mut w, observer)?
        }
        SolverChoice::Gd => GradientDescent {
            stop: stop(10_000),
            learning_rate: opts.learning_rate.unwrap_or(1.0),
            line_search: opts.learning_rate.is_none(),
        }
        .minimize(obj, &mut w, observer)?,
        SolverChoice::DualCd => {
            return Err(Error::Unsupported(
                "the dual-cd solver trains the linear SVM only (use --model svm --no-bias)".into(),
            ))
        }
        SolverChoice::Sgd => Sgd {
            stop: StopRule {
                tol: opts.tol,
                max_iter: opts.epochs,
            },
            learning_rate: opts.learning_rate.unwrap_or(0.1),
            schedule: match opts.schedule {
                Schedule::Constant => LearningRateSchedule::Constant,
                Schedule::InverseTime => LearningRateSchedule::InverseTime { lambda },
            },
            batch_size: opts.batch_size,
            seed: opts.seed,
            averaging: opts.averaging,
        }
        .minimize(obj, &mut w, observer)?,
    };
    Ok((w, report))
}

impl LinearModel {
    /// The model's parameters in the objective's flat layout (for warm starts).
    pub fn flat_params(&self) -> Vec<f64> {
        pad_rows(self, self.n_features)
    }
}

/// The training objective J of `model` on `data` with strength `lambda`: mean loss (the
/// model kind's) + λ/2‖w‖², intercept unregularized. Data labels are matched to the
/// model's classes by name; an unknown label is an error. As in prediction, features the
/// model lacks weigh 0 and model features beyond the data's columns are ignored.
pub fn objective_at(model: &LinearModel, data: &Dataset, lambda: f64) -> Result<f64> {
    use crate::objective::Objective;
    let ids = model.class_ids(data)?;
    let x = &data.x;
    // Parameters laid out for the data's columns: features the model lacks weigh 0.
    let params = pad_rows(model, x.n_cols());
    Ok(match model.kind {
        ModelKind::Softmax => {
            let mut obj =
                SoftmaxObjective::new(x, &ids, model.n_classes(), lambda, model.intercept);
            obj.value(&params)
        }
        kind => {
            let loss = if kind == ModelKind::Svm {
                BinaryLoss::Hinge
            } else {
                BinaryLoss::Logistic
            };
            let mut obj = BinaryObjective::new(
                x,
                ids.iter().map(|&c| c == 1).collect(),
                loss,
                lambda,
                model.intercept,
            );
            obj.value(&params)
        }
    })
}

/// Re-lays the flat parameters for `cols` features per class (the objective's layout).
fn pad_rows(model: &LinearModel, cols: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(model.weights.len() * (cols + 1));
    for w in &model.weights {
        out.extend((0..cols).map(|j| w.get(j).copied().unwrap_or(0.0)));
    }
    if model.intercept {
        out.extend_from_slice(&model.bias);
    }
    out
}
