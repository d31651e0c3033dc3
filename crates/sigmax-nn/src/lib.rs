//! Discriminative feature learning with sigmax's margin heads (softmax, L-Softmax, modified
//! softmax, A-Softmax, CosFace, ArcFace) on a burn network: the heads as tensor
//! operations (`heads`), feature extractors (`nets`, whose convolutions and ReLUs run as
//! libtorch's own on the LibTorch backend: `ops`), image data (`images`), training with
//! checkpoints (`train`, `checkpoint`), and evaluation by closed-set accuracy and open-set
//! verification (`evaluate`, `verification`).
//!
//! The networks run on burn's pure-Rust `flex` CPU backend by default; the `tch` feature
//! adds burn's LibTorch backend (libtorch 2.9.0, CPU and CUDA), the `cuda` feature burn's
//! CubeCL CUDA backend ([`Backend`], [`device`]). The same code runs on each; checkpoints
//! are backend-independent bytes, so a model trained on one evaluates on another.

pub mod allocator;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod evaluate;
pub mod heads;
pub mod images;
pub mod model;
pub mod nets;
pub mod ops;
pub mod train;
pub mod verification;

pub use error::{NnError, Result};

use burn::tensor::Device;

sigmax::named_choice! {
    /// The tensor backend the networks run on.
    pub enum Backend ("backend") {
        /// burn's pure-Rust CPU backend (the default build).
        Flex = "flex",
        /// burn's LibTorch backend (`--features tch`): libtorch 2.9.0's CPU and CUDA kernels.
        LibTorch = "libtorch" | "tch",
        /// burn's CubeCL CUDA backend (`--features cuda`).
        Cuda = "cuda",
    }
}

impl Backend {
    /// The backend used when none is named: LibTorch when built with `tch`, else flex.
    pub fn default_for_build() -> Backend {
        if cfg!(feature = "tch") {
            Backend::LibTorch
        } else {
            Backend::Flex
        }
    }

    /// Whether this build has the backend.
    pub fn is_built(self) -> bool {
        match self {
            Backend::Flex => true,
            Backend::LibTorch => cfg!(feature = "tch"),
            Backend::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The cargo feature that adds the backend.
    fn feature(self) -> &'static str {
        match self {
            Backend::Flex => "(default)",
            Backend::LibTorch => "tch",
            Backend::Cuda => "cuda",
        }
    }
}

/// The backend and device a tensor device stands for, as burn names them (`Flex`,
/// `LibTorch(Cpu)`, `LibTorch(Cuda(0))`), for reports and checkpoints.
pub fn device_name(device: &Device) -> String {
    format!("{:?}", device.clone().without_autodiff().as_dispatch())
}

/// `cpu` or `cuda` / `cuda:N` as (is_cuda, index).
fn parse_device(name: &str) -> Result<(bool, usize)> {
    let bad = || NnError::Config(format!("unknown device {name:?}: use cpu, cuda or cuda:N"));
    match name {
        "cpu" => Ok((false, 0)),
        "cuda" => Ok((true, 0)),
        _ => {
            let index = name.strip_prefix("cuda:").ok_or_else(bad)?;
            Ok((true, index.parse().map_err(|_| bad())?))
        }
    }
}

/// The compute device, with autodiff: `device` is `cpu`, `cuda` or `cuda:N` on `backend`
/// (flex: cpu only; libtorch: cpu and cuda; cuda: cuda only).
#[allow(deprecated)] // burn 0.22 marks its LibTorch backend deprecated; it is the one on libtorch
pub fn device(backend: Backend, device: &str) -> Result<Device> {
    let (cuda, index) = parse_device(device)?;
    if !backend.is_built() {
        return Err(NnError::Config(format!(
            "backend {backend} is not in this build (cargo build --features {})",
            backend.feature()
        )));
    }
    let unsupported = || {
        Err(NnError::Config(format!(
            "backend {backend} has no {device} device"
        )))
    };
    let _ = index;
    match (backend, cuda) {
        (Backend::Flex, false) => Ok(Device::flex().autodiff()),
        #[cfg(feature = "tch")]
        (Backend::LibTorch, false) => Ok(Device::libtorch().autodiff()),
        #[cfg(feature = "tch")]
        (Backend::LibTorch, true) => {
            // libtorch aborts the process on a device it does not have.
            let count = tch::Cuda::device_count().max(0) as usize;
            if index >= count {
                return Err(NnError::Config(format!(
                    "no CUDA device {device}: libtorch sees {count} (cuda:0 … cuda:N-1 with N = {count})"
                )));
            }
            Ok(Device::libtorch_cuda(index).autodiff())
        }
        #[cfg(feature = "cuda")]
        (Backend::Cuda, true) => Ok(Device::cuda(index).autodiff()),
        _ => unsupported(),
    }
}
