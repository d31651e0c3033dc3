//! `sigmax-nn train` arguments and the training configuration they describe.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use sigmax::margin::{Annealing, HeadKind, HeadParams};
use sigmax_nn::images::ImageSet;
use sigmax_nn::model::ModelSpec;
use sigmax_nn::nets::NetSpec;
use sigmax_nn::train::{LrSchedule, OptimizerKind, TrainConfig};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum NetArg {
    Mlp,
    Cnn,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum OptimizerArg {
    Sgd,
    Adam,
}

#[derive(Args)]
pub struct TrainArgs {
    /// Training images: mnist5k-train (embedded, default), mnist5k, fashion-train, or a path
    /// to an IDX images file or a CSV file (pixels, then the label).
    #[arg(long, default_value = "mnist5k-train")]
    pub data: String,
    /// Test images to evaluate after training (default: mnist5k-test after mnist5k-train,
    /// fashion-test after fashion-train; `none` to skip).
    #[arg(long)]
    pub test: Option<String>,
    /// Train on these classes only, e.g. 0-6 or 1,3,5 (default: all in the data).
    #[arg(long)]
    pub classes: Option<String>,
    /// Use only the first N training images.
    #[arg(long)]
    pub limit: Option<usize>,
    /// mlp (784-256-256-D, fast) or cnn (LeNet-like, better features, ~30× slower per image).
    #[arg(long, value_enum, default_value = "mlp")]
    pub net: NetArg,
    /// Feature dimension (2 for pictures).
    #[arg(long, default_value_t = 2)]
    pub dim: usize,
    /// The margin head: softmax, lsoftmax, modified (‖w‖ = 1), asoftmax (SphereFace),
    /// cosface, arcface, combined.
    #[arg(long, value_parser = |s: &str| s.parse::<HeadKind>(), default_value = "softmax")]
    pub head: HeadKind,
    /// Integer margin m 1–16 of L-Softmax / A-Softmax; the margin of CosFace (a cosine
    /// offset) / ArcFace (radians). Defaults: 4, 4, 0.35, 0.5.
    #[arg(long, allow_negative_numbers = true)]
    pub margin: Option<f64>,
    /// Scale s of CosFace / ArcFace / combined [default: 64, the papers'; for 2-D
    /// features s ≈ 10–30 trains better].
    #[arg(long, allow_negative_numbers = true)]
    pub scale: Option<f64>,
    /// Margins (m1, m2, m3) of the combined head s(cos(m1θ + m2) − m3) [default: 1 0.3 0.2, insightface's combined].
    #[arg(long, num_args = 3, value_names = ["M1", "M2", "M3"], allow_negative_numbers = true)]
    pub margins: Option<Vec<f64>>,
    /// λ annealing of L-Softmax / A-Softmax: sphereface (λ = max(5, 1000/(1+0.12·step)),
    /// default), lsoftmax-mnist (1000·(1+2.5e-5·step)^-35), none (λ = 0), or
    /// BASE,GAMMA,POWER,MIN for max(MIN, BASE·(1+GAMMA·step)^-POWER).
    #[arg(long)]
    pub anneal: Option<String>,
    /// Optimizer: adam, or sgd with --momentum.
    #[arg(long, value_enum, default_value = "adam")]
    pub optimizer: OptimizerArg,
    /// Learning rate (default 1e-3 for Adam, 0.05 for SGD).
    #[arg(long = "learning-rate", visible_alias = "lr")]
    pub lr: Option<f64>,
    /// SGD momentum (default 0.9; only with --optimizer sgd).
    #[arg(long)]
    pub momentum: Option<f64>,
    /// L2 weight decay on the network and head weights.
    #[arg(long, default_value_t = 5e-4)]
    pub weight_decay: f64,
    /// Learning-rate schedule: constant, cosine, or step:E1,E2[:FACTOR] (×FACTOR, default
    /// 0.1, from epochs E1, E2, counted from 0).
    #[arg(long, default_value = "cosine")]
    pub schedule: String,
    /// Images per mini-batch.
    #[arg(long = "batch-size", visible_alias = "batch", default_value_t = 128)]
    pub batch: usize,
    /// Passes over the training images.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Seed of the weight initialization and the shuffles (same seed, same model).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub compute: super::compute::ComputeArgs,
    /// The checkpoint, written atomically after every epoch; it is also the trained model.
    #[arg(short, long, default_value = "features.sxnn")]
    pub output: PathBuf,
    /// Continue the run saved in --output (its settings win over the ones given here).
    #[arg(long)]
    pub resume: bool,
    /// Per-step log (epoch, step, loss, accuracy, λ, learning rate).
    #[arg(long)]
    pub log_csv: Option<PathBuf>,
    /// Print the configuration, per-epoch history and test results as JSON (no progress bar).
    #[arg(long)]
    pub json: bool,
}

/// Flags of `train` that are not training settings: a resumed run may be given them.
const NOT_SETTINGS: [&str; 7] = [
    "output", "resume", "log_csv", "json", "test", "backend", "device",
];

/// The training settings given on the command line (as `--flag`), from `train`'s matches:
/// a resumed run takes its settings from the checkpoint, so these would be ignored.
pub fn settings_given(cli: &clap::Command, train: &clap::ArgMatches) -> Vec<String> {
    let Some(cmd) = cli.find_subcommand("train") else {
        return vec![];
    };
    cmd.get_arguments()
        .filter(|a| !NOT_SETTINGS.contains(&a.get_id().as_str()))
        .filter(|a| {
            train.value_source(a.get_id().as_str()) == Some(clap::parser::ValueSource::CommandLine)
        })
        .map(|a| format!("--{}", a.get_long().unwrap_or(a.get_id().as_str())))
        .collect()
}

impl TrainArgs {
    /// Refuses outputs that are the training images or each other.
    pub fn refuse_overwriting(&self) -> Result<()> {
        use sigmax::atomic::Role;
        let mut outputs = vec![Role::new("the checkpoint (-o)", &self.output)];
        if let Some(log) = &self.log_csv {
            outputs.push(Role::new("the log (--log-csv)", log));
        }
        let inputs = [Role::new(
            "the training images",
            std::path::Path::new(&self.data),
        )];
        Ok(sigmax::atomic::refuse_overwriting(&outputs, &inputs)?)
    }

    /// The test set: the one given, or the named training set's own test half.
    pub fn test_set(&self, data: &str) -> Option<String> {
        match (self.test.as_deref(), data) {
            (Some("none"), _) => None,
            (Some(t), _) => Some(t.to_string()),
            (None, "mnist5k-train") => Some("mnist5k-test".into()),
            (None, "fashion-train") => Some("fashion-test".into()),
            (None, _) => None,
        }
    }

    pub fn config(&self, data: &ImageSet) -> Result<TrainConfig> {
        let classes = match &self.classes {
            Some(s) => parse_classes(s)?,
            None => data.classes(),
        };
        let present = data.classes();
        if let Some(c) = classes.iter().find(|c| !present.contains(c)) {
            bail!(
                "{}: no images of class {c} (classes present: {present:?})",
                data.source
            );
        }
        let head = self
            .head
            .build(&HeadParams {
                margin: self.margin,
                scale: self.scale,
                margins: self.margins.as_ref().map(|m| [m[0], m[1], m[2]]),
            })
            .with_context(|| format!("--head {}", self.head))?;
        // Settings that do not apply are refused rather than ignored.
        if let (Some(a), false) = (&self.anneal, head.anneals()) {
            bail!(
                "--anneal {a}: λ annealing applies to lsoftmax and asoftmax only, not to --head {}",
                self.head
            );
        }
        let (optimizer, default_lr) = match (self.optimizer, self.momentum) {
            (OptimizerArg::Sgd, m) => (
                OptimizerKind::Sgd {
                    momentum: m.unwrap_or(0.9),
                },
                0.05,
            ),
            (OptimizerArg::Adam, Some(m)) => {
                bail!("--momentum {m}: applies to --optimizer sgd, not adam")
            }
            (OptimizerArg::Adam, None) => (OptimizerKind::Adam, 1e-3),
        };
        let net = match self.net {
            NetArg::Mlp => NetSpec::mlp_default(),
            NetArg::Cnn => NetSpec::cnn_default(),
        };
        Ok(TrainConfig {
            model: ModelSpec {
                net,
                head,
                dim: self.dim,
                height: data.height,
                width: data.width,
                classes,
            },
            optimizer,
            lr: self.lr.unwrap_or(default_lr),
            weight_decay: self.weight_decay,
            schedule: parse_schedule(&self.schedule)?,
            batch_size: self.batch,
            epochs: self.epochs,
            seed: self.seed,
            annealing: parse_annealing(self.anneal.as_deref().unwrap_or("sphereface"))?,
            data: self.data.clone(),
            limit: self.limit,
        })
    }
}

/// "0-6" or "1,3,5" or a mix ("0-2,7").
pub fn parse_classes(s: &str) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |t: &str| {
            t.trim()
                .parse::<u32>()
                .with_context(|| format!("--classes {s:?}: {t:?} is not a class number"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    bail!("--classes {s:?}: empty range {part}");
                }
                out.extend(a..=b);
            }
            None => out.push(num(part)?),
        }
    }
    out.sort_unstable();
    out.dedup();
    if out.len() < 2 {
        bail!("--classes {s:?}: training needs at least two classes");
    }
    Ok(out)
}

fn parse_schedule(s: &str) -> Result<LrSchedule> {
    Ok(match s {
        "constant" => LrSchedule::Constant,
        "cosine" => LrSchedule::Cosine,
        _ => {
            let Some(rest) = s.strip_prefix("step:") else {
                bail!("--schedule {s:?}: use constant, cosine or step:E1,E2[:FACTOR]")
            };
            let (epochs, factor) = rest.split_once(':').map_or((rest, "0.1"), |(e, f)| (e, f));
            let milestones = epochs
                .split(',')
                .map(|e| e.trim().parse::<usize>())
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("--schedule {s:?}: bad epoch list"))?;
            let factor: f64 = factor
                .parse()
                .with_context(|| format!("--schedule {s:?}: bad factor"))?;
            LrSchedule::Step { milestones, factor }
        }
    })
}

fn parse_annealing(s: &str) -> Result<Annealing> {
    Ok(match Annealing::named(s) {
        Some(named) => named,
        None => {
            let v = s
                .split(',')
                .map(|t| t.trim().parse::<f64>())
                .collect::<Result<Vec<_>, _>>()
                .ok()
                .filter(|v| v.len() == 4 && v.iter().all(|x| x.is_finite() && *x >= 0.0));
            let Some(v) = v else {
                bail!("--anneal {s:?}: use sphereface, lsoftmax-mnist, none, or four numbers ≥ 0 BASE,GAMMA,POWER,MIN")
            };
            Annealing {
                base: v[0],
                gamma: v[1],
                power: v[2],
                lambda_min: v[3],
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_lists_and_schedules_parse() {
        assert_eq!(parse_classes("0-2,7").unwrap(), vec![0, 1, 2, 7]);
        assert!(
            parse_classes("3").is_err()
                && parse_classes("a-b").is_err()
                && parse_classes("5-2").is_err()
        );
        assert_eq!(
            parse_schedule("step:3,6").unwrap(),
            LrSchedule::Step {
                milestones: vec![3, 6],
                factor: 0.1
            }
        );
        assert_eq!(
            parse_schedule("step:2:0.5").unwrap(),
            LrSchedule::Step {
                milestones: vec![2],
                factor: 0.5
            }
        );
        assert!(parse_schedule("linear").is_err());
        assert_eq!(
            parse_annealing("10,0.1,1,2").unwrap(),
            Annealing {
                base: 10.0,
                gamma: 0.1,
                power: 1.0,
                lambda_min: 2.0
            }
        );
        assert!(parse_annealing("1,2").is_err() && parse_annealing("1,2,3,-1").is_err());
    }
}
