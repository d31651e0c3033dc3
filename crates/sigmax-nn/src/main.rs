//! `sigmax-nn`: train feature extractors with margin softmax heads, evaluate them
//! (closed-set accuracy, open-set verification), export embeddings and draw them.

mod cli;

use clap::Parser;

fn main() {
    // Ctrl-C or a kill while a checkpoint is written leaves no hidden temporary behind.
    sigmax::atomic::remove_unfinished_on_signals();
    let args = cli::Cli::parse();
    if let Err(e) = cli::run(args) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
