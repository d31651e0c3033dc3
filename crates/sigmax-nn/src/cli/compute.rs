//! Where the networks run: `--backend` and `--device`, shared by every command.

use anyhow::Result;
use clap::Args;
use sigmax_nn::Backend;

#[derive(Args, Clone)]
pub struct ComputeArgs {
    /// Tensor backend: flex (pure Rust, CPU), libtorch (built with `--features tch`) or
    /// cuda (`--features cuda`); default libtorch when built with tch, else flex.
    #[arg(long)]
    pub backend: Option<String>,
    /// cpu, cuda or cuda:N (cuda needs the libtorch or cuda backend).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl ComputeArgs {
    pub fn backend(&self) -> Result<Backend> {
        Ok(match &self.backend {
            Some(name) => name.parse()?,
            None => Backend::default_for_build(),
        })
    }

    /// The device with autodiff, and the backend's name for reports.
    pub fn device(&self) -> Result<(burn::tensor::Device, Backend)> {
        let backend = self.backend()?;
        Ok((sigmax_nn::device(backend, &self.device)?, backend))
    }
}
