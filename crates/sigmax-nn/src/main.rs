//! `sigmax-nn`: train feature extractors with margin softmax heads, evaluate them
//! (closed-set accuracy, open-set verification), export embeddings and draw them.

mod cli;

use clap::{CommandFactory, FromArgMatches};

fn main() {
    // Ctrl-C or a kill while a checkpoint is written leaves no hidden temporary behind.
    sigmax::atomic::remove_unfinished_on_signals();
    // Training reuses its freed buffers instead of faulting in fresh pages each step.
    sigmax_nn::allocator::reuse_freed_memory();
    // Every error exits with 1, usage errors included (help and --version exit 0).
    let exit = |e: clap::Error| -> ! {
        let code = if e.use_stderr() { 1 } else { 0 };
        let _ = e.print();
        std::process::exit(code)
    };
    // The matches too: which flags were given, not left at their defaults.
    let matches = cli::Cli::command()
        .try_get_matches()
        .unwrap_or_else(|e| exit(e));
    let args = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| exit(e));
    if let Err(e) = cli::run(args, &matches) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
