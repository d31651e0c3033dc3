//! `sigmax train`.

use crate::data_args::DataArgs;
use crate::progress::SolverProgress;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use sigmax::metrics::accuracy;
use sigmax::model::{save_model, ModelKind};
use sigmax::solver::PreconditionerChoice;
use sigmax::train::{train, ModelChoice, Schedule, SolverChoice, TrainOptions};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum ModelArg {
    Auto,
    Logistic,
    Softmax,
    Svm,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SolverArg {
    Auto,
    Newton,
    Lbfgs,
    Gd,
    Sgd,
    DualCd,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PreconditionerArg {
    Auto,
    Diagonal,
    Jacobi,
    SampledHessian,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ScheduleArg {
    Constant,
    Inverse,
}

#[derive(Args)]
pub struct TrainArgs {
    /// Training data (LIBSVM, CSV or IDX; gzip is detected).
    pub data: PathBuf,
    /// Model: auto = logistic for 2 classes, softmax for more.
    #[arg(long, value_enum, default_value = "auto")]
    pub model: ModelArg,
    /// L2 strength λ in J = mean loss + λ/2‖w‖² (default: 1/n, i.e. C = 1).
    #[arg(long, conflicts_with = "c")]
    pub lambda: Option<f64>,
    /// LIBLINEAR's C; λ = 1/(n·C).
    #[arg(short = 'c', long = "C")]
    pub c: Option<f64>,
    /// Fit an unregularized intercept (the default).
    #[arg(long, overrides_with = "no_bias")]
    pub bias: bool,
    /// No intercept (as LIBLINEAR without -B).
    #[arg(long, overrides_with = "bias")]
    pub no_bias: bool,
    /// Solver: auto = newton (trust-region Newton-CG) for logistic/softmax; for svm,
    /// dual-cd (dual coordinate descent) with --no-bias, else sgd.
    #[arg(long, value_enum, default_value = "auto")]
    pub solver: SolverArg,
    /// Newton's CG preconditioner: sampled-hessian = the Hessian's diagonal blocks
    /// estimated on 5,000 rows (few CG steps; for models up to a few thousand parameters
    /// per block), diagonal = LIBLINEAR's; auto = sampled-hessian where it fits.
    #[arg(long, value_enum, default_value = "auto")]
    pub preconditioner: PreconditionerArg,
    /// Stop when ‖∇J(w)‖ ≤ tol·‖∇J(0)‖.
    #[arg(long, default_value_t = 1e-6)]
    pub tol: f64,
    /// Most iterations (default per solver: newton 1000, lbfgs 5000, gd 10000; sgd uses --epochs).
    #[arg(long)]
    pub max_iter: Option<usize>,
    /// GD: fixed step (default: backtracking line search). SGD: initial step η0 (default 0.1).
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// SGD learning-rate schedule: constant, or inverse = η0/(1 + η0·λ·t).
    #[arg(long, value_enum, default_value = "inverse")]
    pub schedule: ScheduleArg,
    /// SGD: passes over the data.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// SGD: rows per mini-batch.
    #[arg(long, default_value_t = 1)]
    pub batch_size: usize,
    /// SGD: return the last iterate instead of the average over the second half of the epochs.
    #[arg(long)]
    pub no_averaging: bool,
    /// Seed for SGD's shuffling.
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
    #[command(flatten)]
    pub data_args: DataArgs,
}

impl TrainArgs {
    pub fn options(&self, n_rows: usize) -> Result<TrainOptions> {
        let lambda = match (self.lambda, self.c) {
            (Some(l), _) => Some(l),
            (None, Some(c)) if c > 0.0 && c.is_finite() => Some(1.0 / (n_rows as f64 * c)),
            (None, Some(c)) => bail!("invalid -c {c}: C must be > 0 (λ = 1/(n·C))"),
            (None, None) => None,
        };
        Ok(TrainOptions {
            model: match self.model {
                ModelArg::Auto => ModelChoice::Auto,
                ModelArg::Logistic => ModelChoice::Kind(ModelKind::Logistic),
                ModelArg::Softmax => ModelChoice::Kind(ModelKind::Softmax),
                ModelArg::Svm => ModelChoice::Kind(ModelKind::Svm),
            },
            lambda,
            intercept: !self.no_bias,
            solver: match self.solver {
                SolverArg::Auto => SolverChoice::Auto,
                SolverArg::Newton => SolverChoice::Newton,
                SolverArg::Lbfgs => SolverChoice::Lbfgs,
                SolverArg::Gd => SolverChoice::Gd,
                SolverArg::Sgd => SolverChoice::Sgd,
                SolverArg::DualCd => SolverChoice::DualCd,
            },
            tol: self.tol,
            max_iter: self.max_iter,
            learning_rate: self.learning_rate,
            schedule: match self.schedule {
                ScheduleArg::Constant => Schedule::Constant,
                ScheduleArg::Inverse => Schedule::InverseTime,
            },
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            averaging: !self.no_averaging,
            preconditioner: match self.preconditioner {
                PreconditionerArg::Auto => PreconditionerChoice::Auto,
                PreconditionerArg::Diagonal => PreconditionerChoice::Diagonal,
                PreconditionerArg::Jacobi => PreconditionerChoice::Jacobi,
                PreconditionerArg::SampledHessian => PreconditionerChoice::SampledHessian,
            },
            ..TrainOptions::default()
        })
    }
}

pub fn run(args: TrainArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let data = args.data_args.load(&args.data)?;
    let load_seconds = started.elapsed().as_secs_f64();
    let mut opts = args.options(data.n_rows())?;
    let cv = match args.cv {
        Some(k) => {
            let grid = match (&args.lambdas, args.path) {
                (Some(l), _) => l.clone(),
                (None, Some(n)) => sigmax::cv::lambda_grid(1.0, 1e-6, n),
                (None, None) => vec![opts.resolve_lambda(data.n_rows())],
            };
            if let Some(bad) = grid.iter().find(|l| !(**l >= 0.0 && l.is_finite())) {
                bail!("invalid λ {bad} in the grid: λ must be a finite number ≥ 0");
            }
            let report = sigmax::cv::cross_validate(&data, &opts, &grid, k, args.seed)?;
            if !args.json {
                println!(
                    "{k}-fold cross-validation ({} λ values, warm-started from the largest):",
                    grid.len()
                );
                println!(
                    "  {:>12} {:>10} {:>10} {:>11}",
                    "λ", "accuracy", "log loss", "iterations"
                );
                for (i, r) in report.rows.iter().enumerate() {
                    let mark = if i == report.best { "  ← best" } else { "" };
                    println!(
                        "  {:>12.4e} {:>10.4} {:>10.5} {:>11}{mark}",
                        r.lambda, r.accuracy, r.log_loss, r.iterations
                    );
                }
            }
            opts.lambda = Some(report.rows[report.best].lambda);
            Some(report)
        }
        None => None,
    };
    let kind = opts
        .resolve_model(data.classes.len())
        .unwrap_or(ModelKind::Logistic);
    let progress = SolverProgress::new(
        &format!("{:?}", opts.resolve_solver(kind)).to_lowercase(),
        args.json,
    );
    let mut observe = |r: &sigmax::solver::IterRecord| progress.update(r);
    let fit = train(&data, &opts, Some(&mut observe));
    progress.finish();
    let fit = fit.with_context(|| format!("training on {}", args.data.display()))?;
    let out = args.output.clone().unwrap_or_else(|| {
        let name = args
            .data
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or("data".into());
        PathBuf::from(format!("{name}.model.json"))
    });
    save_model(&fit.model, &out)?;
    if let Some(log) = &args.log_csv {
        let mut text = String::from("iteration,seconds,objective,grad_norm\n");
        for h in &fit.report.history {
            text.push_str(&format!(
                "{},{},{},{}\n",
                h.iteration, h.seconds, h.objective, h.grad_norm
            ));
        }
        sigmax::model::write_atomically(log, text.as_bytes())?;
    }
    let train_acc = accuracy(&data.y, &fit.model.predict(&data.x));
    let r = &fit.report;
    if args.json {
        let j = serde_json::json!({
            "objective": r.objective,
            "grad_norm": r.grad_norm,
            "grad_norm_at_zero": r.grad_norm_at_zero,
            "iterations": r.iterations,
            "converged": r.converged,
            "stop_reason": r.stop_reason,
            "train_accuracy": train_acc,
            "seconds": r.seconds,
            "load_seconds": load_seconds,
            "hess_vec_products": r.hess_vec_products,
            "model": fit.model.kind.name(),
            "solver": r.solver,
            "lambda": fit.model.lambda,
            "intercept": fit.model.intercept,
            "n_rows": data.n_rows(),
            "n_features": data.n_features(),
            "classes": data.classes,
            "model_path": out,
            "cv": cv,
        });
        println!("{j}");
    } else {
        let m = &fit.model;
        println!(
            "trained {} on {}: {} rows, {} features, {} classes",
            m.kind.name(),
            args.data.display(),
            data.n_rows(),
            data.n_features(),
            data.classes.len()
        );
        println!(
            "  λ = {:.4e} (C = {:.4e}), intercept: {}, solver: {}",
            m.lambda,
            1.0 / (m.lambda * data.n_rows() as f64),
            if m.intercept { "yes" } else { "no" },
            r.solver
        );
        println!(
            "  {} after {} iterations: objective {:.12}, ‖∇J‖ = {:.3e} ({:.1e} of ‖∇J(0)‖)",
            if r.converged {
                "converged"
            } else {
                "NOT converged"
            },
            r.iterations,
            r.objective,
            r.grad_norm,
            r.grad_norm / r.grad_norm_at_zero
        );
        let products = match r.hess_vec_products {
            0 => String::new(),
            k => format!(", {k} Hessian-vector products"),
        };
        println!(
            "  training accuracy {:.2}%; data read in {load_seconds:.3} s, trained in {:.3} s{products}",
            100.0 * train_acc,
            r.seconds
        );
        println!("  model written to {}", out.display());
    }
    if !r.converged {
        eprintln!(
            "warning: {}; raise --max-iter/--epochs or loosen --tol",
            r.stop_reason
        );
    }
    Ok(())
}
