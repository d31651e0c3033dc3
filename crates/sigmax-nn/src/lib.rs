//! Discriminative feature learning with sigmax's margin heads (softmax, L-Softmax, modified
//! softmax, A-Softmax, CosFace, ArcFace) on a burn network: the heads as tensor
//! operations (`heads`), feature extractors (`nets`), image data (`images`), training with
//! checkpoints (`train`, `checkpoint`), and evaluation by closed-set accuracy and open-set
//! verification (`evaluate`, `verification`).
//!
//! The networks run on burn's pure-Rust `flex` CPU backend; the `cuda` feature adds
//! burn's CUDA backend.

pub mod checkpoint;
pub mod config;
pub mod error;
pub mod evaluate;
pub mod heads;
pub mod images;
pub mod model;
pub mod nets;
pub mod train;
pub mod verification;

pub use error::{NnError, Result};

use burn::tensor::Device;

/// The compute device: `cpu` (burn's flex backend) or, with the `cuda` feature, `cuda`
/// (GPU 0), with autodiff.
pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::flex().autodiff()),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0).autodiff()),
        other => Err(NnError::Config(format!(
            "unknown device {other:?}: use cpu{}",
            if cfg!(feature = "cuda") {
                " or cuda"
            } else {
                " (build with --features cuda for cuda)"
            }
        ))),
    }
}
