//! `sigmax predict` and `sigmax eval`.

use crate::data_args::{with_weight_file, DataArgs, Labels};
use crate::flags::with_flag;
use crate::out::{out, outln};
use anyhow::{Context, Result};
use clap::Args;
use sigmax::atomic::write_atomically;
use sigmax::data::Dataset;
use sigmax::metrics::{accuracy, confusion_matrix, log_loss, roc_auc};
use sigmax::model::{load_any_model as load_model, read_liblinear_model, LinearModel, ModelKind};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct PredictArgs {
    /// Model file written by `sigmax train`.
    pub model: PathBuf,
    /// Data to predict (its labels, if any, are ignored).
    pub data: PathBuf,
    /// Also print the class probabilities (after a header line naming the classes, in
    /// the model's class order: sorted, numerically for numbers; LIBLINEAR lists them in
    /// the order of first appearance).
    #[arg(long, conflicts_with = "scores")]
    pub proba: bool,
    /// Also print the decision values (scikit-learn's decision_function): for a binary
    /// model one score w·x + b, positive for the second class (the log-odds for logistic
    /// regression); for softmax one score per class.
    #[arg(long)]
    pub scores: bool,
    /// Write to this file (atomically) instead of stdout.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub data_args: DataArgs,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Model file written by `sigmax train`.
    pub model: PathBuf,
    /// Labelled data.
    pub data: PathBuf,
    /// Print one JSON object instead of a report.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data_args: DataArgs,
}

#[derive(Args)]
pub struct ObjectiveArgs {
    /// Model file (sigmax JSON, or LIBLINEAR's with --liblinear).
    pub model: PathBuf,
    /// Labelled data.
    pub data: PathBuf,
    /// λ₂ of J = weighted mean loss + λ₂/2‖w‖² + λ₁‖w‖₁ (intercept unpenalized); default:
    /// the λ₂ the sigmax model was trained with (a LIBLINEAR model needs it given).
    #[arg(long, allow_negative_numbers = true)]
    pub lambda: Option<f64>,
    /// λ₁ of the L1 part (default: the model's, 0 for LIBLINEAR's; its -s 5/-s 6 with C:
    /// λ₁ = 1/(n·C), λ₂ = 0).
    #[arg(long, allow_negative_numbers = true)]
    pub l1: Option<f64>,
    /// A file of sample weights, one per data row.
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// The model was written by liblinear-train (binary models).
    #[arg(long)]
    pub liblinear: bool,
    #[command(flatten)]
    pub data_args: DataArgs,
}

/// `sigmax objective`: J of a given model on given data, as JSON (for comparing tools).
pub fn run_objective(args: ObjectiveArgs) -> Result<()> {
    let model = if args.liblinear {
        read_liblinear_model(&args.model)?
    } else {
        load_model(&args.model)?
    };
    let data = args
        .data_args
        .load_for_model(&args.data, &model, Labels::Required)?;
    let data = with_weight_file(data, args.weights.as_deref())?;
    let lambda = match (args.lambda, args.liblinear) {
        (Some(l), _) => l,
        (None, false) => model.lambda,
        (None, true) => anyhow::bail!(
            "{}: a LIBLINEAR model does not store its C; give --lambda 1/(n·C)",
            args.model.display()
        ),
    };
    let l1 = args.l1.unwrap_or(model.l1);
    let strengths = sigmax::train::Strengths { l2: lambda, l1 };
    // The library checks the strengths (a negative λ is an error naming it).
    let j = sigmax::train::objective_at(&model, &data, strengths).map_err(with_flag)?;
    let truth = model.class_ids(&data)?; // objective_at above already refused unknown labels
    let acc = accuracy(&truth, &model.try_predict(&data.x)?);
    outln!(
        "{}",
        serde_json::json!({ "objective": j, "accuracy": acc, "n_rows": data.n_rows(), "lambda": lambda, "l1": l1, "model": model.kind })
    )?;
    Ok(())
}

/// Loads model and data and checks that their features fit together.
fn load_both(model: &Path, data: &Path, args: &DataArgs) -> Result<(LinearModel, Dataset)> {
    let m = load_model(model)?;
    let d = args.load_for_model(data, &m, Labels::Optional)?;
    Ok((m, d))
}

pub fn run_predict(args: PredictArgs) -> Result<()> {
    if let Some(out) = &args.output {
        use sigmax::atomic::{refuse_overwriting, Role};
        let inputs = [
            Role::new("the model", &args.model),
            Role::new("the data", &args.data),
        ];
        refuse_overwriting(&[Role::new("the predictions (-o)", out)], &inputs)?;
    }
    let (model, data) = load_both(&args.model, &args.data, &args.data_args)?;
    let pred = model.try_predict(&data.x)?;
    let mut out = String::new();
    let columns: Option<(String, Vec<f64>, usize)> = if args.proba {
        let p = model.predict_proba(&data.x).with_context(|| {
            format!(
                "{}: use --scores for its decision values",
                args.model.display()
            )
        })?;
        Some((
            format!("labels {}", model.classes.join(" ")),
            p,
            model.n_classes(),
        ))
    } else if args.scores {
        let s = model.scores(&data.x)?;
        let width = s.len() / data.n_rows().max(1);
        let header = if width == 1 {
            format!("labels score({})", model.classes[1])
        } else {
            format!("labels {}", model.classes.join(" "))
        };
        Some((header, s, width))
    } else {
        None
    };
    match &columns {
        Some((header, values, width)) => {
            writeln!(out, "{header}")?;
            for (c, row) in pred.iter().zip(values.chunks(*width)) {
                write!(out, "{}", model.classes[*c as usize])?;
                for v in row {
                    write!(out, " {v:.6}")?;
                }
                out.push('\n');
            }
        }
        None => {
            for c in &pred {
                writeln!(out, "{}", model.classes[*c as usize])?;
            }
        }
    }
    match &args.output {
        Some(path) => write_atomically(path, out.as_bytes())?,
        None => out!("{out}")?,
    }
    // As liblinear-predict does: when the data's labels are the model's classes, say how
    // many were right (on stderr, so the predictions stay a clean stream).
    if let Ok(truth) = model.class_ids(&data) {
        let right = truth.iter().zip(&pred).filter(|(a, b)| a == b).count();
        eprintln!(
            "Accuracy = {:.4}% ({right}/{})",
            100.0 * right as f64 / truth.len().max(1) as f64,
            truth.len()
        );
    }
    Ok(())
}

pub fn run_eval(args: EvalArgs) -> Result<()> {
    let (model, data) = load_both(&args.model, &args.data, &args.data_args)?;
    // The data's labels as the model's class ids, by name.
    let truth = model
        .class_ids(&data)
        .with_context(|| args.data.display().to_string())?;
    let pred = model.try_predict(&data.x)?;
    let acc = accuracy(&truth, &pred);
    let ll = model
        .predict_proba(&data.x)
        .ok()
        .map(|p| log_loss(&truth, &p, model.n_classes()));
    let auc = if model.kind != ModelKind::Softmax {
        let positive: Vec<bool> = truth.iter().map(|&t| t == 1).collect();
        roc_auc(&positive, &model.scores(&data.x)?)
    } else {
        None
    };
    let cm = confusion_matrix(&truth, &pred, &model.classes);
    if args.json {
        let j = serde_json::json!({
            "n_rows": data.n_rows(),
            "accuracy": acc,
            "log_loss": ll,
            "roc_auc": auc,
            "confusion_matrix": cm,
        });
        outln!("{j}")?;
        return Ok(());
    }
    outln!("{} rows of {}", data.n_rows(), args.data.display())?;
    outln!("  accuracy  {:.4}", acc)?;
    if let Some(ll) = ll {
        outln!("  log loss  {:.6}", ll)?;
    }
    if let Some(auc) = auc {
        outln!("  ROC AUC   {:.4}", auc)?;
    }
    outln!("confusion matrix (rows: true class, columns: predicted)")?;
    let w = model
        .classes
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(1)
        .max(6);
    out!("  {:>w$}", "")?;
    for c in &model.classes {
        out!(" {c:>w$}")?;
    }
    outln!()?;
    for (c, row) in model.classes.iter().zip(&cm.counts) {
        out!("  {c:>w$}")?;
        for v in row {
            out!(" {v:>w$}")?;
        }
        outln!()?;
    }
    Ok(())
}
