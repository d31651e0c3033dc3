//! The `sigmax` command: a thin layer over the library that parses arguments, reads
//! files, calls `sigmax::train` / the model, and prints.

mod choice;
mod data_args;
mod distributed;
mod export_cmd;
mod flags;
mod loss_cmd;
mod out;
mod plot_cmd;
mod predict_cmd;
mod progress;
mod quickstart;
mod train_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Fast, correct logistic / softmax regression, linear SVMs and margin softmax losses.
///
/// Start with `sigmax quickstart`; `sigmax train DATA` fits a model (LIBSVM, CSV or IDX),
/// `sigmax predict MODEL DATA` applies it. Every command has --help.
#[derive(Parser)]
#[command(name = "sigmax", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train logistic regression on the embedded heart-disease data, evaluate it on a
    /// held-out split and explain one patient's prediction.
    Quickstart(quickstart::QuickstartArgs),
    /// Train a model on a data file (LIBSVM, CSV or IDX).
    Train(train_cmd::TrainArgs),
    /// Predict labels (and probabilities) for a data file with a trained model.
    Predict(predict_cmd::PredictArgs),
    /// Evaluate a trained model on labelled data: accuracy, log loss, ROC AUC, confusion matrix.
    Eval(predict_cmd::EvalArgs),
    /// The objective J = mean loss + λ/2‖w‖² of a model (sigmax or LIBLINEAR) on data, as JSON.
    Objective(predict_cmd::ObjectiveArgs),
    /// Write a binary model in LIBLINEAR's format (for liblinear-predict).
    Export(export_cmd::ExportArgs),
    /// Evaluate a margin softmax head (softmax, L-Softmax, A-Softmax, CosFace, ArcFace) and
    /// its gradients on given features, weights and labels.
    Loss(loss_cmd::LossArgs),
    /// Draw a figure as PNG or SVG: losses, psi, curve, boundary, embedding, roc,
    /// calibration, confusion.
    Plot(plot_cmd::PlotArgs),
}

fn main() -> ExitCode {
    // `sigmax predict … | head` should end quietly when the reader goes away, as other
    // command-line tools do, not panic on the broken pipe (Rust ignores SIGPIPE).
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Ctrl-C or a kill during a write leaves no hidden temporary behind.
    sigmax::atomic::remove_unfinished_on_signals();
    // The main thread is one of rayon's workers (RAYON_NUM_THREADS or one per core in
    // all): the passes and vector sums it starts run without handing them to other
    // threads and waiting, and a 2-core machine runs 2 threads, not 3.
    let _ = rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global();
    // Every error exits with 1, usage errors included (help and --version exit 0).
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        let code = if e.use_stderr() { 1 } else { 0 };
        let _ = e.print();
        std::process::exit(code)
    });
    let result = match cli.command {
        Command::Quickstart(a) => quickstart::run(a),
        Command::Train(a) if a.distributed => distributed::run(a),
        Command::Train(a) => train_cmd::run(a),
        Command::Predict(a) => predict_cmd::run_predict(a),
        Command::Eval(a) => predict_cmd::run_eval(a),
        Command::Loss(a) => loss_cmd::run(a),
        Command::Objective(a) => predict_cmd::run_objective(a),
        Command::Export(a) => export_cmd::run(a),
        Command::Plot(a) => plot_cmd::run(a),
    };
    match result.and_then(|()| out::flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
