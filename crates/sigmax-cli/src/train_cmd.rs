//! `sigmax train`.

use crate::choice::choice;
use crate::data_args::{plural, with_weight_file, DataArgs};
use crate::flags::{with_flag, LABEL_COLUMN_HINT};
use crate::out::outln;
use crate::progress::SolverProgress;
use anyhow::{Context, Result};
use clap::Args;
use sigmax::collective::Alone;
use sigmax::data::Dataset;
use sigmax::fit::{fit, Settings};
use sigmax::metrics::weighted_accuracy;
use sigmax::model::{load_any_model as load_model, save_model, ModelKind};
use sigmax::solver::PreconditionerChoice;
use sigmax::train::{ClassWeight, ModelChoice, Penalty, Schedule, SolverChoice, TrainOptions};
use std::path::PathBuf;

#[derive(Args)]
pub struct TrainArgs {
    /// Training data (LIBSVM, CSV or IDX; gzip is detected).
    pub data: PathBuf,
    /// Model: auto = logistic for 2 classes, softmax for more; svm = hinge loss,
    /// squared-hinge-svm = L2-loss SVM (LIBLINEAR -s 1/-s 2).
    #[arg(long, value_parser = choice::<ModelChoice>(), default_value = "auto")]
    pub model: ModelChoice,
    /// Penalty strength λ in J = weighted mean loss + λ/2‖w‖² (default: C = 1, i.e.
    /// λ = 1/Σ weights = 1/n without weights).
    #[arg(long, conflicts_with = "c", allow_negative_numbers = true)]
    pub lambda: Option<f64>,
    /// LIBLINEAR's and scikit-learn's C; λ = 1/(C·Σ weights).
    #[arg(short = 'c', long = "C", allow_negative_numbers = true)]
    pub c: Option<f64>,
    /// Penalty: l2 (λ/2‖w‖²), l1 (λ‖w‖₁) or elasticnet (λ[r‖w‖₁ + (1−r)/2‖w‖²]), as
    /// scikit-learn's `penalty`; the intercept is never penalized.
    #[arg(long, value_parser = choice::<Penalty>(), default_value = "l2")]
    pub penalty: Penalty,
    /// The L1 share r of the elasticnet penalty, in [0, 1] (default 0.5).
    #[arg(long, allow_negative_numbers = true)]
    pub l1_ratio: Option<f64>,
    /// A file of sample weights, one number ≥ 0 per data row.
    #[arg(long, value_name = "FILE", conflicts_with = "weight_col")]
    pub weights: Option<PathBuf>,
    /// Class weights multiplying the sample weights: balanced (n / (K·n_class), as
    /// scikit-learn's) or LABEL:W,LABEL:W,...
    #[arg(long, value_name = "balanced|LABEL:W,...")]
    pub class_weight: Option<String>,
    /// Start training from this model's weights (same features and classes) instead of 0.
    #[arg(long, value_name = "MODEL")]
    pub init: Option<PathBuf>,
    /// Fit an unregularized intercept (the default).
    #[arg(long, overrides_with = "no_bias")]
    pub bias: bool,
    /// No intercept (as LIBLINEAR without -B).
    #[arg(long, overrides_with = "bias")]
    pub no_bias: bool,
    /// Solver: auto = dual-cd (dual coordinate descent) for the hinge svm, and for
    /// logistic and the squared-hinge svm on sparse data without intercept (--no-bias) with
    /// rows ≤ 3 × features and C ≥ 0.5; saga-newton (SAGA's first epochs, then Newton) for softmax on
    /// sparse data with fewer rows than features and at least 10,000 rows; owlqn with an
    /// L1 part; else newton (trust-region Newton-CG). The summary says which and why.
    /// saga: SAGA alone.
    #[arg(long, value_parser = choice::<SolverChoice>(), default_value = "auto")]
    pub solver: SolverChoice,
    /// Newton's CG preconditioner: sampled-hessian = the Hessian estimated on 5,000 rows
    /// (binary models up to ~2,900 parameters), jacobi = diag(∇²J), diagonal =
    /// LIBLINEAR's mix 0.99·I + 0.01·diag(∇²J); auto = sampled-hessian where it fits,
    /// else jacobi for binary models and sparse softmax, none for dense softmax.
    #[arg(long, value_parser = choice::<PreconditionerChoice>(), default_value = "auto")]
    pub preconditioner: PreconditionerChoice,
    /// Stopping tolerance: ‖∇J(w)‖ ≤ tol·‖∇J(0)‖ (default 1e-6); for dual-cd the dual's
    /// violation as LIBLINEAR's -e (default 0.1): the spread of the projected gradient for
    /// the SVMs, the largest dual gradient relative to the first epoch's for logistic.
    /// Without --tol, dual-cd without intercept stops at a relative duality gap of 1e-6
    /// (J certified within 1e-6 of its minimum; the hinge 1e-4).
    #[arg(long, allow_negative_numbers = true)]
    pub tol: Option<f64>,
    /// Most iterations (default per solver: newton 1000, lbfgs and owlqn 5000, gd 10000,
    /// dual-cd 10000 epochs; sgd: --epochs, else this).
    #[arg(long)]
    pub max_iter: Option<usize>,
    /// GD: fixed step (default: backtracking line search). SGD: initial step η0 (default 0.1).
    #[arg(long, visible_alias = "lr", allow_negative_numbers = true)]
    pub learning_rate: Option<f64>,
    /// SGD learning-rate schedule: constant, or inverse = η0/(1 + η0·λ·t).
    #[arg(long, value_parser = choice::<Schedule>(), default_value = "inverse")]
    pub schedule: Schedule,
    /// SGD: passes over the data (default 50).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// SGD: rows per mini-batch.
    #[arg(long, visible_alias = "batch", default_value_t = 1)]
    pub batch_size: usize,
    /// SGD: return the last iterate instead of the average over the second half of the epochs.
    #[arg(long)]
    pub no_averaging: bool,
    /// Seed for SGD's and dual CD's shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the model (default: DATA's file name + .model.json, in the current directory).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// K-fold cross-validation (stratified) over the λ grid (--lambdas, --path, or just
    /// the λ given); the model is then trained on all the data with the best λ.
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    /// λ grid for --cv, comma-separated.
    #[arg(long, value_delimiter = ',', requires = "cv")]
    pub lambdas: Option<Vec<f64>>,
    /// λ grid for --cv: N values log-spaced from 1 down to 1e-6, walked with warm starts.
    #[arg(long, value_name = "N", requires = "cv", conflicts_with = "lambdas")]
    pub path: Option<usize>,
    /// Write the solver's history (iteration, seconds, objective, gradient norm) to this
    /// CSV file, for `sigmax plot curve`.
    #[arg(long)]
    pub log_csv: Option<PathBuf>,
    /// Print one JSON object with the results on stdout instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Train on rows spread over the processes of `mpirun -np P sigmax train DATA
    /// --distributed` (each reads its share: DATA.0, DATA.1, … or 1/P of a LIBSVM file);
    /// needs a build with the `mpi` feature.
    #[arg(long)]
    pub distributed: bool,
    #[command(flatten)]
    pub data_args: DataArgs,
}

impl TrainArgs {
    /// Where the model goes: `-o`, else DATA's file name + `.model.json`.
    pub(crate) fn output_path(&self) -> PathBuf {
        self.output.clone().unwrap_or_else(|| {
            let name = self
                .data
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or("data".into());
            PathBuf::from(format!("{name}.model.json"))
        })
    }

    /// The λ grid of `--cv`: `--lambdas`, `--path N`, or the one λ of the options.
    pub(crate) fn lambda_grid(&self, default_lambda: f64) -> Result<Vec<f64>> {
        let grid = match (&self.lambdas, self.path) {
            (Some(l), _) => l.clone(),
            (None, Some(0)) => anyhow::bail!("invalid --path 0: the path needs at least one λ"),
            (None, Some(n)) => sigmax::cv::lambda_grid(1.0, 1e-6, n),
            (None, None) => vec![default_lambda],
        };
        if let Some(bad) = grid.iter().find(|l| !(**l >= 0.0 && l.is_finite())) {
            anyhow::bail!("invalid λ {bad} in the grid: λ must be a finite number ≥ 0");
        }
        Ok(grid)
    }

    /// Refuses outputs that are inputs or each other (`-o DATA`, `--log-csv` = `-o`);
    /// `--init` may be the output (training on from a model and replacing it).
    pub(crate) fn refuse_overwriting(&self) -> Result<()> {
        use sigmax::atomic::Role;
        let out = self.output_path();
        let mut outputs = vec![Role::new("the model (-o)", &out)];
        if let Some(log) = &self.log_csv {
            outputs.push(Role::new("the log (--log-csv)", log));
        }
        let mut inputs = vec![Role::new("the training data", &self.data)];
        if let Some(w) = &self.weights {
            inputs.push(Role::new("the weights file (--weights)", w));
        }
        if let Some(l) = &self.data_args.idx_labels {
            inputs.push(Role::new("the labels file (--idx-labels)", l));
        }
        Ok(sigmax::atomic::refuse_overwriting(&outputs, &inputs)?)
    }

    /// `--init`: the starting model's parameters, checked against the data's layout.
    pub(crate) fn warm_start(
        &self,
        data: &sigmax::data::Dataset,
        intercept: bool,
    ) -> Result<Option<Vec<f64>>> {
        let Some(init) = &self.init else {
            return Ok(None);
        };
        let m = load_model(init)?;
        anyhow::ensure!(
            m.classes == data.classes && m.n_features == data.n_features() && m.intercept == intercept,
            "{}: the starting model has {} features, classes {:?} and {} intercept; the data has {} features, classes {:?} (and --{}bias)",
            init.display(),
            m.n_features,
            m.classes,
            if m.intercept { "an" } else { "no" },
            data.n_features(),
            data.classes,
            if intercept { "" } else { "no-" }
        );
        Ok(Some(m.flat_params()))
    }

    /// The fit's settings from the flags and the `--init` model: checked once by the
    /// library, whose errors name the parameter (see [`crate::flags::flag_of`]).
    pub fn settings(&self, data: &sigmax::data::Dataset) -> Result<Settings> {
        let mut opts = self.options()?;
        if let Some(w) = self.warm_start(data, opts.intercept)? {
            opts.warm_start = Some(w);
        }
        opts.check().map_err(with_flag)
    }

    /// The library's options from the flags.
    fn options(&self) -> Result<TrainOptions> {
        let class_weight = match &self.class_weight {
            Some(s) => s.parse::<ClassWeight>().context("--class-weight")?,
            None => ClassWeight::None,
        };
        Ok(TrainOptions {
            model: self.model,
            lambda: self.lambda,
            c: self.c,
            penalty: self.penalty,
            l1_ratio: self.l1_ratio,
            class_weight,
            intercept: !self.no_bias,
            solver: self.solver,
            tol: self.tol,
            max_iter: self.max_iter,
            learning_rate: self.learning_rate,
            schedule: self.schedule,
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            averaging: !self.no_averaging,
            preconditioner: self.preconditioner,
            ..TrainOptions::default()
        })
    }
}

/// The settings with the λ cross-validation chose (C dropped: λ states the strength).
pub(crate) fn with_lambda(settings: Settings, lambda: f64) -> Result<Settings> {
    let opts = TrainOptions {
        lambda: Some(lambda),
        c: None,
        ..settings.into_options()
    };
    opts.check().map_err(with_flag)
}

/// What the `--json` report of a fit says, serial or distributed.
pub(crate) struct FitSummary<'a> {
    pub fit: &'a sigmax::train::Trained,
    /// Over every process.
    pub n_rows: u64,
    pub n_features: usize,
    pub classes: &'a [String],
    pub train_accuracy: f64,
    pub total_weight: f64,
    pub fit_seconds: f64,
    pub load_seconds: f64,
    pub model_path: &'a std::path::Path,
    pub cv: Option<&'a sigmax::cv::CvReport>,
    /// The processes and their communication (`null` for one process).
    pub distributed: Option<serde_json::Value>,
}

/// The `--json` report: the same keys for a serial and a distributed fit.
pub(crate) fn json_report(s: &FitSummary) -> serde_json::Value {
    let (r, m) = (&s.fit.report, &s.fit.model);
    serde_json::json!({
        "objective": r.objective,
        "grad_norm": r.grad_norm,
        "grad_norm_at_zero": r.grad_norm_at_zero,
        "iterations": r.iterations,
        "converged": r.converged,
        "stop_reason": r.stop_reason,
        "train_accuracy": s.train_accuracy,
        "seconds": r.seconds,
        "fit_seconds": s.fit_seconds,
        "load_seconds": s.load_seconds,
        "hess_vec_products": r.hess_vec_products,
        "model": m.kind.name(),
        "solver": r.solver,
        "lambda": m.lambda,
        "l1": m.l1,
        "total_weight": s.total_weight,
        "intercept": m.intercept,
        "n_rows": s.n_rows,
        "n_features": s.n_features,
        "classes": s.classes,
        "model_path": s.model_path,
        "cv": s.cv,
        "distributed": s.distributed,
    })
}

/// More than two classes with under two rows each on average: most likely an id or a
/// feature column read as the label (integers, so not refused as continuous). Training
/// goes on (the user may mean it), but a K-class softmax over such data runs for long.
fn warn_if_labels_look_like_ids(data: &Dataset, path: &std::path::Path) {
    let (k, n) = (data.classes.len(), data.n_rows());
    // Labels training refuses get their own error instead.
    if k > 2 && 2 * k > n && sigmax::data::require_class_labels(data).is_ok() {
        eprintln!(
            "warning: {}: {k} classes in {n} rows (under two rows a class): is the label column right? ({LABEL_COLUMN_HINT})",
            path.display()
        );
    }
}

pub fn run(args: TrainArgs) -> Result<()> {
    args.refuse_overwriting()?;
    let started = std::time::Instant::now();
    let mut data = with_weight_file(args.data_args.load(&args.data)?, args.weights.as_deref())?;
    let load_seconds = started.elapsed().as_secs_f64();
    warn_if_labels_look_like_ids(&data, &args.data);
    let mut settings = args.settings(&data)?;
    let total_weight =
        sigmax::train::effective_total_weight(&data, &settings.options().class_weight)
            .context("--class-weight")?;
    let cv = match args.cv {
        Some(k) => {
            let grid = args.lambda_grid(settings.options().resolve_lambda(total_weight))?;
            let report = sigmax::cv::cross_validate(&data, &settings, &grid, k, args.seed, &Alone)
                .map_err(with_flag)?;
            if !args.json {
                outln!(
                    "{k}-fold cross-validation ({}, warm-started from the largest):",
                    plural(grid.len(), "λ value")
                )?;
                outln!(
                    "  {:>12} {:>12} {:>10} {:>10} {:>11}",
                    "λ",
                    "C",
                    "accuracy",
                    "log loss",
                    "iterations"
                )?;
                for (i, r) in report.rows.iter().enumerate() {
                    let mark = if i == report.best { "  ← best" } else { "" };
                    // C as LIBLINEAR / scikit-learn would state it for all the data.
                    let c = 1.0 / (r.lambda * total_weight);
                    outln!(
                        "  {:>12.4e} {:>12.4e} {:>10.4} {:>10.5} {:>11}{mark}",
                        r.lambda,
                        c,
                        r.accuracy,
                        r.log_loss,
                        r.iterations
                    )?;
                }
            }
            settings = with_lambda(settings, report.rows[report.best].lambda)?;
            Some(report)
        }
        None => None,
    };
    let opts = settings.options();
    let kind = opts
        .resolve_model(data.classes.len())
        .unwrap_or(ModelKind::Logistic);
    let progress = SolverProgress::new(
        opts.resolve_solver(kind, &data.x, total_weight, true)
            .name(),
        args.json,
    );
    let mut observe = |r: &sigmax::solver::IterRecord| {
        progress.update(r);
        std::ops::ControlFlow::Continue(())
    };
    // In place: the rows are ours, so renumbering their columns needs no copy.
    let fit_started = std::time::Instant::now();
    let fit = fit(&mut data, &settings, &Alone, Some(&mut observe));
    // The whole fit: the solver's own time (`seconds`) plus renumbering the columns,
    // building the column copy and restoring the rows.
    let fit_seconds = fit_started.elapsed().as_secs_f64();
    progress.finish();
    let fit = fit
        .map_err(with_flag)
        .with_context(|| format!("training on {}", args.data.display()))?;
    let out = args.output_path();
    save_model(&fit.model, &out)?;
    if let Some(log) = &args.log_csv {
        let mut text = String::from("iteration,seconds,objective,grad_norm\n");
        for h in &fit.report.history {
            text.push_str(&format!(
                "{},{},{},{}\n",
                h.iteration, h.seconds, h.objective, h.grad_norm
            ));
        }
        sigmax::atomic::write_atomically(log, text.as_bytes())?;
    }
    let train_acc = weighted_accuracy(
        &data.y,
        &fit.model.predict(&data.x),
        data.weights.as_deref(),
    );
    let r = &fit.report;
    let solver = sigmax::solver::registry::entry(r.solver.parse()?)?;
    if args.json {
        let j = json_report(&FitSummary {
            fit: &fit,
            n_rows: data.n_rows() as u64,
            n_features: data.n_features(),
            classes: &data.classes,
            train_accuracy: train_acc,
            total_weight,
            fit_seconds,
            load_seconds,
            model_path: &out,
            cv: cv.as_ref(),
            distributed: None,
        });
        outln!("{j}")?;
    } else {
        let m = &fit.model;
        outln!(
            "trained {} on {}: {} rows, {} features, {} classes",
            m.kind.name(),
            args.data.display(),
            data.n_rows(),
            data.n_features(),
            data.classes.len()
        )?;
        let alpha = m.lambda + m.l1;
        let penalty = match opts.penalty {
            Penalty::L2 => String::new(),
            p => format!(" ({p}: λ₁ = {:.4e}, λ₂ = {:.4e})", m.l1, m.lambda),
        };
        let why = match opts.solver {
            SolverChoice::Auto => format!(
                " (auto: {})",
                opts.auto_solver(m.kind, &data.x, total_weight, true).1
            ),
            _ => String::new(),
        };
        outln!(
            "  λ = {:.4e} (C = {:.4e}){penalty}, intercept: {}, solver: {}{why}",
            alpha,
            1.0 / (alpha * total_weight),
            if m.intercept { "yes" } else { "no" },
            r.solver
        )?;
        outln!(
            "  {} after {}: objective {:.12}, ‖∇J‖ = {:.3e} ({:.1e} of ‖∇J(0)‖)",
            if r.converged {
                "converged"
            } else {
                "NOT converged"
            },
            if r.stages.is_empty() {
                plural(r.iterations, solver.iteration)
            } else {
                let stages: Vec<String> =
                    r.stages.iter().map(|&(unit, n)| plural(n, unit)).collect();
                stages.join(" and ")
            },
            r.objective,
            r.grad_norm,
            r.grad_norm / r.grad_norm_at_zero
        )?;
        if solver.choice == SolverChoice::DualCd {
            outln!("  stopped: {}", r.stop_reason)?;
        }
        if m.l1 > 0.0 {
            let nonzero: usize = m.weights.iter().flatten().filter(|v| **v != 0.0).count();
            let all: usize = m.weights.iter().map(Vec::len).sum();
            outln!("  {nonzero} of {all} weights are nonzero")?;
        }
        let products = match r.hess_vec_products {
            0 => String::new(),
            k => format!(", {k} Hessian-vector products"),
        };
        outln!(
            "  training accuracy {:.2}%; data read in {load_seconds:.3} s, trained in {:.3} s{products}",
            100.0 * train_acc,
            r.seconds
        )?;
        outln!("  model written to {}", out.display())?;
    }
    if !r.converged {
        let advice = match solver.choice {
            // A subgradient method on the hinge has no stopping test at all.
            SolverChoice::Sgd if !fit.model.kind.binary_loss().is_some_and(|l| l.is_smooth()) => {
                "SGD on a non-smooth loss runs all its epochs; for a converged SVM use the default solver (dual-cd)"
            }
            SolverChoice::Sgd => "raise --epochs or use the default solver",
            _ => "raise --max-iter or loosen --tol",
        };
        eprintln!("warning: {}; {advice}", r.stop_reason);
    }
    Ok(())
}
