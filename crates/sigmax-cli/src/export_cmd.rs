//! `sigmax export`: a sigmax model in another tool's format.

use anyhow::{Context, Result};
use clap::Args;
use sigmax::atomic::write_atomically;
use sigmax::model::{liblinear_model_text, load_any_model};
use std::path::PathBuf;

#[derive(Args)]
pub struct ExportArgs {
    /// The model (sigmax JSON).
    pub model: PathBuf,
    /// Where to write it.
    pub output: PathBuf,
    /// LIBLINEAR's model format, for liblinear-predict (binary models; the intercept as a
    /// bias feature of value 1, as `-B 1`). The only format for now, so the default.
    #[arg(long, default_value_t = true)]
    pub liblinear: bool,
}

pub fn run(args: ExportArgs) -> Result<()> {
    use sigmax::atomic::{refuse_overwriting, Role};
    refuse_overwriting(
        &[Role::new("the exported model", &args.output)],
        &[Role::new("the model it is exported from", &args.model)],
    )?;
    let model = load_any_model(&args.model)?;
    let text = liblinear_model_text(&model).with_context(|| args.model.display().to_string())?;
    write_atomically(&args.output, text.as_bytes())?;
    eprintln!(
        "wrote {} (LIBLINEAR format, {} model)",
        args.output.display(),
        model.kind
    );
    Ok(())
}
