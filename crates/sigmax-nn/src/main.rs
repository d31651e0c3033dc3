//! `sigmax-nn`: train feature extractors with margin softmax heads, evaluate them
//! (closed-set accuracy, open-set verification), export embeddings and draw them.

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    if let Err(e) = cli::run(args) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
