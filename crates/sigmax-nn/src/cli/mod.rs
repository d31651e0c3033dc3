//! Command-line arguments and the commands.

mod compute;
mod spec;
mod use_model;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sigmax_nn::evaluate::{closed_set, embed, open_set};
use sigmax_nn::images::ImageSet;
use sigmax_nn::train::{train, RunOptions, StepReport};

pub use spec::TrainArgs;

#[derive(Parser)]
#[command(
    name = "sigmax-nn",
    version,
    about = "Discriminative feature learning with margin softmax heads (burn, CPU)"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a feature extractor (MLP or CNN) with a margin head; writes a checkpoint every epoch.
    Train(Box<TrainArgs>),
    /// Closed-set accuracy on the head's classes and open-set verification on the others.
    Eval(use_model::EvalArgs),
    /// Write the features of every image as CSV (dim columns, then the label).
    Embed(use_model::EmbedArgs),
    /// Draw the features: 2-D scatter and unit circle (dim 2) or angle histograms.
    Plot(use_model::PlotArgs),
    /// Open-set ROC curves of several models in one picture.
    Roc(use_model::RocArgs),
}

/// One line on standard output; a failed write (`> /dev/full`) is an error, not the panic
/// of `println!`.
pub(crate) fn say(line: std::fmt::Arguments) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_fmt(line)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .context("writing to standard output")
}

pub fn run(cli: Cli, matches: &clap::ArgMatches) -> Result<()> {
    match cli.command {
        Command::Train(a) => {
            let given = matches
                .subcommand_matches("train")
                .map(|m| spec::settings_given(&Cli::command(), m))
                .unwrap_or_default();
            run_train(*a, &given)
        }
        Command::Eval(a) => use_model::run_eval(a),
        Command::Embed(a) => use_model::run_embed(a),
        Command::Plot(a) => use_model::run_plot(a),
        Command::Roc(a) => use_model::run_roc(a),
    }
}

/// `given`: the flags of training settings given on the command line.
fn run_train(args: TrainArgs, given: &[String]) -> Result<()> {
    let (device, backend) = args.compute.device()?;
    args.refuse_overwriting()?;
    // A resumed run continues with the settings and the data it started with.
    let resumed = if args.resume {
        if !args.output.exists() {
            anyhow::bail!("{}: no checkpoint to resume from", args.output.display());
        }
        let saved = sigmax_nn::checkpoint::Checkpoint::load(&args.output)?
            .header
            .config;
        if !given.is_empty() {
            anyhow::bail!(
                "--resume continues the run saved in {} with the settings it started with; {} would be ignored: drop {}, or start a new run without --resume",
                args.output.display(),
                given.join(", "),
                if given.len() == 1 { "it" } else { "them" }
            );
        }
        Some(saved)
    } else {
        None
    };
    let (data_name, limit) = match &resumed {
        Some(c) => (c.data.clone(), c.limit),
        None => (args.data.clone(), args.limit),
    };
    let mut data = ImageSet::load(&data_name)?;
    if let Some(n) = limit {
        data = data.first(n);
    }
    let config = match resumed {
        Some(c) => c,
        None => args.config(&data)?,
    };
    // Bad settings are reported before the "training …" banner, not after it.
    config.validate()?;
    let resume = args.resume.then(|| args.output.clone());
    let run = RunOptions {
        checkpoint: Some(args.output.clone()),
        resume,
        stop_after: None,
        log_csv: args.log_csv.clone(),
    };
    if !args.json {
        eprintln!(
            "training {} + {} (dim {}) on {} images of classes {:?} from {}, {} epoch{}, batch {}",
            config.model.net.name(),
            config.model.head,
            config.model.dim,
            data.labels
                .iter()
                .filter(|l| config.model.classes.contains(l))
                .count(),
            config.model.classes,
            data.source,
            config.epochs,
            if config.epochs == 1 { "" } else { "s" },
            config.batch_size
        );
    }
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:25}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    let quiet = args.json;
    // λ is shown only for the heads that anneal it.
    let anneals = config.model.head.anneals();
    let lam = |l: f64, digits: usize| {
        if anneals {
            format!(" λ {l:.digits$}")
        } else {
            String::new()
        }
    };
    let mut on_step = |r: &StepReport| {
        if r.batch == 1 {
            bar.reset();
            bar.set_length(r.batches as u64);
            bar.set_prefix(format!("{}/{}", r.epoch, r.epochs));
        }
        bar.set_position(r.batch as u64);
        bar.set_message(format!(
            "loss {:.4} acc {:.1}%{} {:.0} img/s",
            r.loss,
            100.0 * r.accuracy,
            lam(r.lambda, 3),
            r.images_per_second
        ));
        if r.batch == r.batches && !quiet {
            bar.suspend(|| {
                eprintln!(
                    "epoch {}/{}: loss {:.4}, train accuracy {:.2}%,{} {:.0} images/s",
                    r.epoch,
                    r.epochs,
                    r.loss,
                    100.0 * r.accuracy,
                    if anneals {
                        lam(r.lambda, 4) + ","
                    } else {
                        String::new()
                    },
                    r.images_per_second
                )
            });
        }
    };
    let trained = train(&config, &data, &device, &run, &mut on_step)?;
    bar.finish_and_clear();
    let spec = &trained.header.config.model;
    let mut report = serde_json::json!({
        "model": args.output,
        "backend": backend.to_string(),
        "device": sigmax_nn::device_name(&device),
        "config": trained.header.config,
        "history": trained.header.history,
    });
    if let Some(test) = args.test_set(&data_name) {
        let test = ImageSet::load(&test)?;
        test.check_shape(spec.height, spec.width)?;
        let emb = embed(&trained.model, spec, &test, &device);
        let closed = closed_set(&emb, spec, &test);
        report["test"] = serde_json::json!({ "data": test.source, "closed_set": closed, "open_set": open_set(&emb, spec, &test, 600, 1) });
        if !args.json {
            eprintln!(
                "test ({}): closed-set accuracy {:.2}% on {} images",
                test.source,
                100.0 * closed.accuracy,
                closed.images
            );
        }
    }
    if args.json {
        say(format_args!("{}", serde_json::to_string_pretty(&report)?))?;
    } else {
        eprintln!("model written to {}", args.output.display());
    }
    Ok(())
}

/// Loads a checkpoint and the data to use it on, checking the image size.
fn load_model_and_data(
    model: &std::path::Path,
    data: &str,
    device: &burn::tensor::Device,
) -> Result<(
    sigmax_nn::model::FeatureModel,
    sigmax_nn::model::ModelSpec,
    ImageSet,
)> {
    let ck = sigmax_nn::checkpoint::Checkpoint::load(model)?;
    // (Its errors name the file already.)
    let net = ck.model(device)?;
    let data = ImageSet::load(data)?;
    data.check_shape(ck.header.spec().height, ck.header.spec().width)?;
    Ok((net, ck.header.config.model, data))
}
