//! `sigmax plot FIGURE ... -o FILE`: the pictures, as PNG or SVG (from FILE's extension).
//! Every figure has a default input (embedded or generated data) so it can be drawn
//! without any file.

use crate::data_args::{DataArgs, Labels};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use sigmax::data::{read_matrix_csv, Dataset};
use sigmax::datasets::{blobs, heart_scale};
use sigmax::metrics::confusion_matrix;
use sigmax::model::{load_any_model as load_model, LinearModel, ModelKind};
use sigmax::train::{train, ModelChoice, TrainOptions};
use sigmax_plot::{
    read_log_csv, render, AngleHistogramFigure, BoundaryFigure, CalibrationFigure, ConfusionFigure,
    CurvesFigure, EmbeddingFigure, LossesFigure, PsiFigure, RocFigure,
};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct PlotArgs {
    #[command(subcommand)]
    figure: FigureCmd,
    /// Output file: .png or .svg.
    #[arg(short = 'o', long, global = true)]
    output: Option<PathBuf>,
}

#[derive(Args, Clone)]
pub struct ModelData {
    /// Model file (default: logistic regression trained on 80% of the embedded heart data).
    model: Option<PathBuf>,
    /// Labelled data (default: the held-out 20% of the embedded heart data).
    data: Option<PathBuf>,
    #[command(flatten)]
    data_args: DataArgs,
}

impl ModelData {
    /// "MODEL on DATA" by file name, or the embedded demo's description.
    fn title(&self) -> String {
        let name = |p: &PathBuf| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        };
        match (&self.model, &self.data) {
            (Some(m), Some(d)) => format!("{} on {}", name(m), name(d)),
            _ => "logistic regression on held-out heart_scale rows".into(),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Demo {
    Binary,
    Softmax,
}

#[derive(Subcommand)]
enum FigureCmd {
    /// 0-1, hinge, logistic (log₂ and ln) and exponential loss against the margin.
    Losses,
    /// cos θ and ψ(θ) of L-/A-Softmax for m = 1…4, CosFace and ArcFace target logits.
    Psi {
        /// CosFace's margin m (a cosine offset) in its curve cos θ − m.
        #[arg(long, default_value_t = 0.35)]
        cosface_margin: f64,
        /// ArcFace's margin m (radians) in its curve cos(θ + m).
        #[arg(long, default_value_t = 0.5)]
        arcface_margin: f64,
    },
    /// Training curves from `sigmax train --log-csv` files, overlaid.
    Curve {
        /// One or more logs.
        #[arg(required = true)]
        logs: Vec<PathBuf>,
        /// The optimal objective, if known (default: the best value in the logs).
        #[arg(long)]
        best: Option<f64>,
    },
    /// Probability heat map and 0.5 contour (binary) or argmax regions (softmax) on 2-feature data.
    Boundary {
        /// Model file; without MODEL and DATA a model is trained on generated 2-D data.
        model: Option<PathBuf>,
        /// Labelled data with two features, drawn over the model's regions.
        data: Option<PathBuf>,
        /// The generated data set used without MODEL/DATA.
        #[arg(long, value_enum, default_value = "softmax")]
        demo: Demo,
        #[command(flatten)]
        data_args: DataArgs,
    },
    /// Feature embeddings: 2-D scatter and unit circle, or (d > 2) angle histograms.
    Embedding {
        /// CSV: features then the label in the last column (default: generated 2-D features).
        features: Option<PathBuf>,
        /// Class weights, K rows (CSV, no header); default: class means.
        #[arg(long)]
        weights: Option<PathBuf>,
    },
    /// ROC curve with AUC (binary models).
    Roc {
        #[command(flatten)]
        md: ModelData,
        /// A logarithmic false-positive-rate axis (to read TAR at FAR = 1e-3 … 1e-2).
        #[arg(long)]
        log_far: bool,
    },
    /// Reliability (calibration) diagram.
    Calibration {
        #[command(flatten)]
        md: ModelData,
        /// Number of equal-width probability bins, 1–10000 (more would be narrower than
        /// the picture's pixels).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        bins: u64,
    },
    /// Confusion matrix heat map with counts.
    Confusion(ModelData),
}

impl FigureCmd {
    /// The files the figure is drawn from.
    fn inputs(&self) -> Vec<&Path> {
        fn md(m: &ModelData) -> Vec<&Path> {
            m.model
                .iter()
                .chain(&m.data)
                .map(PathBuf::as_path)
                .collect()
        }
        match self {
            FigureCmd::Losses | FigureCmd::Psi { .. } => vec![],
            FigureCmd::Curve { logs, .. } => logs.iter().map(PathBuf::as_path).collect(),
            FigureCmd::Boundary { model, data, .. } => {
                model.iter().chain(data).map(PathBuf::as_path).collect()
            }
            FigureCmd::Embedding { features, weights } => features
                .iter()
                .chain(weights)
                .map(PathBuf::as_path)
                .collect(),
            FigureCmd::Roc { md: m, .. } | FigureCmd::Calibration { md: m, .. } => md(m),
            FigureCmd::Confusion(m) => md(m),
        }
    }
}

pub fn run(args: PlotArgs) -> Result<()> {
    let out = args
        .output
        .clone()
        .context("give the output file with -o FILE.png or -o FILE.svg")?;
    {
        use sigmax::atomic::{refuse_overwriting, Role};
        let inputs: Vec<Role> = args
            .figure
            .inputs()
            .into_iter()
            .map(|path| Role {
                what: "an input of the figure",
                path,
            })
            .collect();
        refuse_overwriting(&[Role::new("the figure (-o)", &out)], &inputs)?;
    }
    match args.figure {
        FigureCmd::Losses => render(&LossesFigure, &out)?,
        FigureCmd::Psi {
            cosface_margin,
            arcface_margin,
        } => render(
            &PsiFigure {
                cosface_margin,
                arcface_margin,
            },
            &out,
        )?,
        FigureCmd::Curve { logs, best } => {
            let runs = logs
                .iter()
                .map(|p| read_log_csv(p))
                .collect::<Result<Vec<_>, _>>()?;
            render(&CurvesFigure { runs, best }, &out)?
        }
        FigureCmd::Boundary {
            model,
            data,
            demo,
            data_args,
        } => {
            let (m, d) = match (model, data) {
                (Some(m), Some(d)) => (load_model(&m)?, data_args.load(&d)?),
                (None, None) => demo_boundary(demo)?,
                _ => bail!("give both MODEL and DATA, or neither (for the generated demo)"),
            };
            render(&BoundaryFigure::new(&m, &d)?, &out)?
        }
        FigureCmd::Embedding { features, weights } => {
            plot_embedding(features.as_deref(), weights.as_deref(), &out)?
        }
        FigureCmd::Roc { md, log_far } => {
            let (m, d, truth) = model_and_data(&md)?;
            if m.kind == ModelKind::Softmax {
                bail!(
                    "a ROC curve needs a binary model; {} is softmax over {} classes",
                    md.model.unwrap_or_default().display(),
                    m.n_classes()
                );
            }
            let positive = truth.iter().map(|&t| t == 1).collect();
            render(
                &RocFigure {
                    curves: vec![(m.kind.name().to_string(), positive, m.scores(&d.x)?)],
                    title: format!("ROC: {}", md.title()),
                    log_far,
                },
                &out,
            )?
        }
        FigureCmd::Calibration { md, bins } => {
            let (m, d, truth) = model_and_data(&md)?;
            let p = m.predict_proba(&d.x)?;
            let k = m.n_classes();
            // Binary: P(positive); multiclass: confidence of the predicted class.
            let (probs, outcomes): (Vec<f64>, Vec<bool>) = if k == 2 {
                p.chunks(2)
                    .zip(&truth)
                    .map(|(r, &t)| (r[1], t == 1))
                    .unzip()
            } else {
                p.chunks(k)
                    .zip(&truth)
                    .map(|(r, &t)| {
                        let c = sigmax::model::argmax(r) as usize;
                        (r[c], c as u32 == t)
                    })
                    .unzip()
            };
            render(
                &CalibrationFigure {
                    name: m.kind.name().into(),
                    probs,
                    outcomes,
                    bins: bins as usize,
                },
                &out,
            )?
        }
        FigureCmd::Confusion(md) => {
            let (m, d, truth) = model_and_data(&md)?;
            render(
                &ConfusionFigure {
                    matrix: confusion_matrix(&truth, &m.try_predict(&d.x)?, &m.classes),
                },
                &out,
            )?
        }
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// The model, the data, and the data's labels as the model's class ids.
fn model_and_data(md: &ModelData) -> Result<(LinearModel, Dataset, Vec<u32>)> {
    let (m, d) = match (&md.model, &md.data) {
        (Some(m), Some(d)) => {
            let m = load_model(m)?;
            let data = md.data_args.load_for_model(d, &m, Labels::Required)?;
            (m, data)
        }
        (None, None) => {
            let (tr, te) = heart_scale().split(0.2, 1);
            (train(&tr, &TrainOptions::default(), None)?.model, te)
        }
        _ => bail!("give both MODEL and DATA, or neither (for the embedded heart-disease demo)"),
    };
    let truth = m.class_ids(&d)?;
    Ok((m, d, truth))
}

fn demo_boundary(demo: Demo) -> Result<(LinearModel, Dataset)> {
    let (d, kind) = match demo {
        Demo::Binary => (
            blobs(80, &[(-1.0, -0.5), (1.0, 0.7)], 0.8, 3),
            ModelKind::Logistic,
        ),
        Demo::Softmax => (
            blobs(70, &[(-1.5, -1.0), (1.5, -0.8), (0.0, 1.6)], 0.75, 3),
            ModelKind::Softmax,
        ),
    };
    let opts = TrainOptions {
        model: ModelChoice::Kind(kind),
        lambda: Some(1e-3),
        ..TrainOptions::default()
    };
    Ok((train(&d, &opts, None)?.model, d))
}

fn plot_embedding(features: Option<&Path>, weights: Option<&Path>, out: &Path) -> Result<()> {
    let (x, d, labels, classes, title) = match features {
        Some(p) => {
            let opts = sigmax::data::LoadOptions {
                format: Some(sigmax::data::Format::Csv),
                ..Default::default()
            };
            let ds = sigmax::data::load(p, &opts)?;
            let d = ds.n_features();
            let mut x = Vec::with_capacity(ds.n_rows() * d);
            for i in 0..ds.n_rows() {
                let mut row = vec![0.0; d];
                ds.x.row(i).for_each(|j, v| row[j] = v);
                x.extend(row);
            }
            (
                x,
                d,
                ds.y.clone(),
                ds.classes.clone(),
                format!("Embedding of {}", p.display()),
            )
        }
        None => {
            // Generated: 8 classes at evenly spaced angles, radius and angle noise.
            let k = 8;
            let ds = blobs(120, &vec![(0.0, 0.0); k], 1.0, 5);
            let mut x = Vec::new();
            for (i, &c) in ds.y.iter().enumerate() {
                let mut g = [0.0; 2];
                ds.x.row(i).for_each(|j, v| g[j] = v);
                let angle = c as f64 * std::f64::consts::TAU / k as f64 + 0.12 * g[0];
                let radius = 3.0 + 1.5 * g[1].abs();
                x.extend([radius * angle.cos(), radius * angle.sin()]);
            }
            (
                x,
                2,
                ds.y.clone(),
                ds.classes.clone(),
                "Generated 2-D features (8 classes)".to_string(),
            )
        }
    };
    let w = match weights {
        Some(p) => {
            let (w, k, dw) = read_matrix_csv(p)?;
            if dw != d || k != classes.len() {
                bail!(
                    "{}: {k} × {dw} weights, but the features need {} × {d}",
                    p.display(),
                    classes.len()
                );
            }
            Some(w)
        }
        None => None,
    };
    // Without weights, the class means stand in for the class directions.
    let w = w.unwrap_or_else(|| {
        let k = classes.len();
        let mut means = vec![0.0; k * d];
        let mut counts = vec![0.0f64; k];
        for (row, &c) in x.chunks(d).zip(&labels) {
            counts[c as usize] += 1.0;
            means[c as usize * d..(c as usize + 1) * d]
                .iter_mut()
                .zip(row)
                .for_each(|(m, v)| *m += v);
        }
        means
            .chunks_mut(d)
            .zip(&counts)
            .for_each(|(m, &n)| m.iter_mut().for_each(|v| *v /= n.max(1.0)));
        means
    });
    if d == 2 {
        let directions = EmbeddingFigure::directions(&w);
        render(
            &EmbeddingFigure::new(x, d, labels, classes, directions, title)?,
            out,
        )?;
    } else {
        render(&AngleHistogramFigure::new(&x, &w, d, &labels, title)?, out)?;
    }
    Ok(())
}
