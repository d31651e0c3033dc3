//! `sigmax loss`: evaluate a margin head on given features, weights and labels, so users
//! can check sigmax's numbers against their own framework.

use crate::choice::choice;
use crate::out::outln;
use anyhow::{bail, Context, Result};
use clap::Args;
use sigmax::data::read_matrix_csv;
use sigmax::margin::{HeadKind, HeadParams, MarginHead, MarginLoss, Scalar};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct LossArgs {
    /// The head: softmax, lsoftmax (L-Softmax), modified (‖w‖ = 1), asoftmax (SphereFace),
    /// cosface, arcface, combined (s·(cos(m1θ + m2) − m3)).
    #[arg(long, value_parser = choice::<HeadKind>())]
    pub head: HeadKind,
    /// Margin: integer m 1–16 for lsoftmax/asoftmax (default 4); a cosine offset for
    /// cosface (0.35); radians for arcface (0.5).
    #[arg(long, allow_negative_numbers = true)]
    pub margin: Option<f64>,
    /// Scale s of cosface/arcface/combined [default: 64].
    #[arg(long, allow_negative_numbers = true)]
    pub scale: Option<f64>,
    /// Combined head margins m1, m2, m3 (default 1, 0.3, 0.2: insightface's combined).
    #[arg(long, num_args = 3, value_names = ["M1", "M2", "M3"])]
    pub margins: Option<Vec<f64>>,
    /// Annealing λ of lsoftmax/asoftmax (0 = the pure margin loss).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub lambda: f64,
    /// Features, one row per sample (CSV, no header).
    #[arg(long)]
    pub features: PathBuf,
    /// Class weights, one row per class (CSV, no header).
    #[arg(long)]
    pub weights: PathBuf,
    /// Labels, 0-based class indices, one per line.
    #[arg(long)]
    pub labels: PathBuf,
    /// Also print ∂L/∂X and ∂L/∂W.
    #[arg(long)]
    pub grad: bool,
    /// Compute in f32 instead of f64.
    #[arg(long)]
    pub f32: bool,
    /// One JSON object: loss, logits, and with --grad grad_features, grad_weights.
    #[arg(long)]
    pub json: bool,
}

impl LossArgs {
    fn head(&self) -> Result<MarginHead> {
        let params = HeadParams {
            margin: self.margin,
            scale: self.scale,
            margins: self.margins.as_ref().map(|m| [m[0], m[1], m[2]]),
        };
        let head = self
            .head
            .build(&params)
            .with_context(|| format!("--head {}", self.head))?;
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            bail!("--lambda {}: expected a finite number ≥ 0", self.lambda);
        }
        if self.lambda != 0.0 && !head.anneals() {
            bail!(
                "--lambda {}: λ annealing applies to lsoftmax and asoftmax only, not to --head {}",
                self.lambda,
                self.head
            );
        }
        Ok(head)
    }
}

fn read_labels(path: &Path) -> Result<Vec<u32>> {
    let (v, _, _) = read_matrix_csv(path)?;
    v.iter()
        .enumerate()
        .map(|(i, &l)| {
            if l >= 0.0 && l.fract() == 0.0 {
                Ok(l as u32)
            } else {
                bail!(
                    "{}: label {l} (entry {}) is not a 0-based class index",
                    path.display(),
                    i + 1
                )
            }
        })
        .collect()
}

pub fn run(args: LossArgs) -> Result<()> {
    let head = args.head()?;
    let (x, n, d) = read_matrix_csv(&args.features)?;
    let (w, k, dw) = read_matrix_csv(&args.weights)?;
    let y = read_labels(&args.labels)?;
    if d != dw {
        bail!(
            "{} has {d} columns but {} has {dw}: features and weights need the same dimension",
            args.features.display(),
            args.weights.display()
        );
    }
    if y.len() != n {
        bail!(
            "{} has {} labels for {n} feature rows in {}",
            args.labels.display(),
            y.len(),
            args.features.display()
        );
    }
    if let Some(&bad) = y.iter().find(|&&c| c as usize >= k) {
        bail!(
            "{}: label {bad} but {} has only {k} classes (labels are 0-based)",
            args.labels.display(),
            args.weights.display()
        );
    }
    let out = if args.f32 {
        let cast = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        evaluate::<f32>(head, &cast(&x), &cast(&w), &y, d, &args)?
    } else {
        evaluate::<f64>(head, &x, &w, &y, d, &args)?
    };
    let rows =
        |v: &[f64], cols: usize| -> Vec<Vec<f64>> { v.chunks(cols).map(<[f64]>::to_vec).collect() };
    if args.json {
        let mut j = serde_json::json!({ "head": head.to_string(), "lambda": args.lambda, "loss": out.0, "logits": rows(&out.1, k) });
        if args.grad {
            j["grad_features"] = serde_json::json!(rows(&out.2, d));
            j["grad_weights"] = serde_json::json!(rows(&out.3, d));
        }
        outln!("{j}")?;
        return Ok(());
    }
    outln!(
        "loss {:.12}  ({head}, λ = {}, n = {n}, d = {d}, K = {k})",
        out.0,
        args.lambda
    )?;
    if args.grad {
        for (name, v) in [("∂L/∂features", &out.2), ("∂L/∂weights", &out.3)] {
            outln!("{name}:")?;
            for r in v.chunks(d) {
                outln!(
                    "{}",
                    r.iter()
                        .map(|a| format!("{a:.10e}"))
                        .collect::<Vec<_>>()
                        .join(",")
                )?;
            }
        }
    }
    Ok(())
}

/// (loss, logits, ∂L/∂X, ∂L/∂W) as f64.
fn evaluate<T: Scalar>(
    head: MarginHead,
    x: &[T],
    w: &[T],
    y: &[u32],
    d: usize,
    args: &LossArgs,
) -> Result<(f64, Vec<f64>, Vec<f64>, Vec<f64>)> {
    let mut ml = MarginLoss::<T>::new(head)?;
    let loss = ml.compute(x, w, y, d, args.lambda, args.grad)?;
    let f = |v: &[T]| v.iter().map(|a| a.to_f64()).collect::<Vec<f64>>();
    Ok((
        loss,
        f(ml.logits()),
        f(ml.grad_features()),
        f(ml.grad_weights()),
    ))
}
