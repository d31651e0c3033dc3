//! Commands that use a trained model: eval, embed, plot, roc.

use super::{load_model_and_data, say};
use anyhow::{bail, Result};
use clap::Args;
use sigmax::atomic::Role;
use sigmax_nn::evaluate::{closed_set, embed, open_set, Embedding};
use sigmax_nn::images::ImageSet;
use sigmax_nn::model::{FeatureModel, ModelSpec};
use sigmax_plot::{AngleHistogramFigure, EmbeddingFigure, FigureGrid, RocFigure};
use std::io::Write;
use std::path::PathBuf;

/// What every command that uses a model needs: the images and the device.
#[derive(Args)]
pub struct ModelInput {
    /// Images to use the model on: mnist5k-test (default), fashion-test, or a file.
    #[arg(long, default_value = "mnist5k-test")]
    pub data: String,
    #[command(flatten)]
    pub compute: super::compute::ComputeArgs,
    /// Use only the images of these classes: e.g. 0-6 or 1,3,5, or `head` for the
    /// classes the model's head was trained on (default: every image of the data).
    #[arg(long)]
    pub classes: Option<String>,
}

/// A loaded model, the images and their embedding.
struct Used {
    model: FeatureModel,
    spec: ModelSpec,
    data: ImageSet,
    emb: Embedding,
}

impl ModelInput {
    /// Refuses outputs that are one of the models or the images read (`embed f.sxnn -o
    /// f.sxnn` would replace the model with a CSV) or each other.
    fn refuse_overwriting(&self, outputs: &[Role], models: &[PathBuf]) -> Result<()> {
        let mut inputs: Vec<Role> = models
            .iter()
            .map(|m| Role::new("a model read", m))
            .collect();
        inputs.push(Role::new(
            "the images read",
            std::path::Path::new(&self.data),
        ));
        Ok(sigmax::atomic::refuse_overwriting(outputs, &inputs)?)
    }

    fn embed(&self, path: &std::path::Path) -> Result<Used> {
        let (device, _) = self.compute.device()?;
        let (model, spec, data) = load_model_and_data(path, &self.data, &device)?;
        let data = match self.classes.as_deref() {
            None => data,
            Some("head") => data.with_classes(&spec.classes),
            Some(list) => data.with_classes(&super::spec::parse_classes(list)?),
        };
        if data.is_empty() {
            bail!(
                "{}: no images of the classes {}",
                data.source,
                self.classes.as_deref().unwrap_or_default()
            );
        }
        let emb = embed(&model, &spec, &data, &device);
        Ok(Used {
            model,
            spec,
            data,
            emb,
        })
    }
}

#[derive(Args)]
pub struct EvalArgs {
    /// A model (checkpoint) from `sigmax-nn train`.
    pub model: PathBuf,
    #[command(flatten)]
    pub input: ModelInput,
    /// Verification pairs per fold (10 folds; half same-class).
    #[arg(long, default_value_t = 600)]
    pub pairs_per_fold: usize,
    /// Seed of the pair draw.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run_eval(a: EvalArgs) -> Result<()> {
    let Used {
        spec, data, emb, ..
    } = a.input.embed(&a.model)?;
    let closed = closed_set(&emb, &spec, &data);
    let open = open_set(&emb, &spec, &data, a.pairs_per_fold, a.seed);
    if a.json {
        say(format_args!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "model": a.model, "data": data.source, "closed_set": closed, "open_set": open })
            )?
        ))?;
        return Ok(());
    }
    say(format_args!(
        "model {} ({}, dim {}), data {}",
        a.model.display(),
        head_name(&spec.head),
        spec.dim,
        data.source
    ))?;
    if closed.images > 0 {
        say(format_args!(
            "closed set: accuracy {:.2}% on {} images of the head's classes {:?}",
            100.0 * closed.accuracy,
            closed.images,
            spec.classes
        ))?;
    }
    match open {
        Some(v) => say(format_args!(
            "open set ({} images of unseen classes, {} pairs in 10 folds): verification accuracy {:.2}% ± {:.2}, AUC {:.4}, EER {:.2}%, TAR@FAR=1e-2 {:.2}%",
            closed.unknown_class_images,
            v.pairs,
            100.0 * v.accuracy_mean,
            100.0 * v.accuracy_std,
            v.auc,
            100.0 * v.eer,
            100.0 * v.tar_at_far_1e2
        )),
        None if closed.unknown_class_images > 0 => say(format_args!("open set: the unseen images hold fewer than two classes; no verification")),
        None => say(format_args!("open set: every image is of a class the head knows (train with --classes to hold some out)")),
    }
}

#[derive(Args)]
pub struct EmbedArgs {
    /// A model (checkpoint) from `sigmax-nn train`.
    pub model: PathBuf,
    #[command(flatten)]
    pub input: ModelInput,
    /// Features CSV: f1..fD, label (written atomically).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the class weights (K rows of D) here.
    #[arg(long)]
    pub weights: Option<PathBuf>,
}

pub fn run_embed(a: EmbedArgs) -> Result<()> {
    let mut outputs = vec![Role::new("the features (-o)", &a.output)];
    if let Some(w) = &a.weights {
        outputs.push(Role::new("the class weights (--weights)", w));
    }
    a.input
        .refuse_overwriting(&outputs, std::slice::from_ref(&a.model))?;
    let Used {
        model, data, emb, ..
    } = a.input.embed(&a.model)?;
    let d = emb.dim;
    let mut out = Vec::new();
    writeln!(
        out,
        "{},label",
        (1..=d)
            .map(|j| format!("f{j}"))
            .collect::<Vec<_>>()
            .join(",")
    )?;
    for (row, label) in emb.features.chunks(d).zip(&data.labels) {
        writeln!(
            out,
            "{},{label}",
            row.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )?;
    }
    sigmax::atomic::write_atomically(&a.output, &out)?;
    if let Some(p) = &a.weights {
        let mut w = Vec::new();
        for row in model.class_weights().chunks(d) {
            writeln!(
                w,
                "{}",
                row.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )?;
        }
        sigmax::atomic::write_atomically(p, &w)?;
    }
    eprintln!(
        "{} features of dimension {d} written to {}",
        data.len(),
        a.output.display()
    );
    Ok(())
}

#[derive(Args)]
pub struct PlotArgs {
    /// One model, or several (drawn side by side in a grid: e.g. every head).
    #[arg(required = true)]
    pub models: Vec<PathBuf>,
    #[command(flatten)]
    pub input: ModelInput,
    /// PNG or SVG.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Title (one model; default: the head and data).
    #[arg(long)]
    pub title: Option<String>,
    /// Grid columns when several models are drawn.
    #[arg(long, default_value_t = 2)]
    pub columns: usize,
}

pub fn run_plot(a: PlotArgs) -> Result<()> {
    let out = Role::new("the figure (-o)", &a.output);
    a.input.refuse_overwriting(&[out], &a.models)?;
    let mut embeddings = Vec::new();
    let mut histograms = Vec::new();
    for path in &a.models {
        let Used {
            model,
            spec,
            data,
            emb,
        } = a.input.embed(path)?;
        // Several models: each panel names its file, as two runs may share head and data.
        let file = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let title = match (&a.title, a.models.len()) {
            (Some(t), 1) => t.clone(),
            (_, 1) => format!("{} on {}", head_name(&spec.head), data.source),
            _ => format!("{file}: {} on {}", head_name(&spec.head), data.source),
        };
        let d = spec.dim;
        let features: Vec<f64> = emb.features.iter().map(|&v| v as f64).collect();
        let weights: Vec<f64> = model.class_weights().iter().map(|&v| v as f64).collect();
        let head_index = |label: u32| spec.classes.iter().position(|&c| c == label);
        if d == 2 {
            // Colors by the data's classes; images of classes the head never saw are
            // drawn too, without a weight direction.
            let classes = data.classes();
            let labels: Vec<u32> = data
                .labels
                .iter()
                .map(|l| classes.iter().position(|c| c == l).unwrap() as u32)
                .collect();
            let directions = classes
                .iter()
                .map(|&c| head_index(c).map(|k| [weights[2 * k], weights[2 * k + 1]]))
                .collect();
            let names = classes.iter().map(|c| c.to_string()).collect();
            embeddings.push(EmbeddingFigure::new(
                features, 2, labels, names, directions, title,
            )?);
        } else {
            // Each image's angle to its own class's weight: only the head's classes have one.
            let (mut own, mut labels) = (Vec::new(), Vec::new());
            for (row, &l) in features.chunks(d).zip(&data.labels) {
                if let Some(k) = head_index(l) {
                    own.extend_from_slice(row);
                    labels.push(k as u32);
                }
            }
            if labels.is_empty() {
                bail!(
                    "{}: {} has no images of the head's classes {:?}",
                    path.display(),
                    data.source,
                    spec.classes
                );
            }
            if labels.len() < data.len() {
                eprintln!(
                    "note: {}: angle histograms use the {} images of the head's classes {:?}; {} images of other classes are left out",
                    path.display(),
                    labels.len(),
                    spec.classes,
                    data.len() - labels.len()
                );
            }
            histograms.push(AngleHistogramFigure::new(
                &own, &weights, d, &labels, title,
            )?);
        }
    }
    if !embeddings.is_empty() && !histograms.is_empty() {
        bail!("cannot mix models of feature dimension 2 (scatter) and higher (angle histograms) in one picture");
    }
    match (embeddings.len(), histograms.len()) {
        (1, 0) => sigmax_plot::render(&embeddings.pop().unwrap(), &a.output)?,
        (0, 1) => sigmax_plot::render(&histograms.pop().unwrap(), &a.output)?,
        (_, 0) => sigmax_plot::render(
            &FigureGrid {
                figures: embeddings,
                columns: a.columns,
                cell: (1000, 500),
            },
            &a.output,
        )?,
        _ => sigmax_plot::render(
            &FigureGrid {
                figures: histograms,
                columns: a.columns,
                cell: (700, 450),
            },
            &a.output,
        )?,
    }
    eprintln!("wrote {}", a.output.display());
    Ok(())
}

#[derive(Args)]
pub struct RocArgs {
    /// Models to compare (each a checkpoint from `sigmax-nn train`).
    #[arg(required = true)]
    pub models: Vec<PathBuf>,
    /// The classes each model's head does not know are its open set.
    #[command(flatten)]
    pub input: ModelInput,
    /// The figure: .png or .svg.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Verification pairs per fold (half same-class, half different), 10 folds.
    #[arg(long, default_value_t = 600)]
    pub pairs_per_fold: usize,
    /// Seed of the pair sampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A linear false-positive-rate axis (default: logarithmic, to read TAR at FAR =
    /// 1e-3 … 1e-2 as verification results are read).
    #[arg(long)]
    pub linear_far: bool,
}

pub fn run_roc(a: RocArgs) -> Result<()> {
    let out = Role::new("the figure (-o)", &a.output);
    a.input.refuse_overwriting(&[out], &a.models)?;
    let mut curves = Vec::new();
    for path in &a.models {
        let Used {
            spec, data, emb, ..
        } = a.input.embed(path)?;
        let Some(v) = open_set(&emb, &spec, &data, a.pairs_per_fold, a.seed) else {
            bail!(
                "{}: {} has no images of two or more classes outside the head's {:?}; an open-set ROC needs classes the head never saw (train with --classes to hold some out)",
                path.display(),
                data.source,
                spec.classes
            );
        };
        say(format_args!(
            "{}: {} AUC {:.4} EER {:.2}% accuracy {:.2}%",
            path.display(),
            head_name(&spec.head),
            v.auc,
            100.0 * v.eer,
            100.0 * v.accuracy_mean
        ))?;
        curves.push((head_name(&spec.head), v.truth, v.scores));
    }
    let title = format!("Open-set verification ROC on {}", a.input.data);
    sigmax_plot::render(
        &RocFigure {
            curves,
            title,
            log_far: !a.linear_far,
        },
        &a.output,
    )?;
    eprintln!("wrote {}", a.output.display());
    Ok(())
}

/// The head's one display form (`sigmax::margin`'s).
pub fn head_name(h: &sigmax::margin::MarginHead) -> String {
    h.to_string()
}
