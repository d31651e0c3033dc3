//! Feature extractors: an MLP and a small LeNet-like CNN, ending in a linear layer of the
//! user's feature dimension (2 for pictures, 32–512 for recognition).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::ops;

/// Which network, with its sizes; stored in checkpoints so a model can be rebuilt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetSpec {
    /// Fully connected: pixels → hidden layers (ReLU) → features.
    #[serde(alias = "Mlp")]
    Mlp { hidden: Vec<usize> },
    /// conv3×3(c1)–ReLU–maxpool2 → conv3×3(c2)–ReLU–maxpool2 → fc(hidden)–ReLU → features.
    #[serde(alias = "Cnn")]
    Cnn { channels: [usize; 2], hidden: usize },
}

impl NetSpec {
    pub fn mlp_default() -> NetSpec {
        NetSpec::Mlp {
            hidden: vec![256, 256],
        }
    }
    pub fn cnn_default() -> NetSpec {
        NetSpec::Cnn {
            channels: [32, 64],
            hidden: 256,
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            NetSpec::Mlp { .. } => "mlp",
            NetSpec::Cnn { .. } => "cnn",
        }
    }

    /// (parameters, activations per image) of this network on `height` × `width` images
    /// with `dim` features, counted layer by layer as [`FeatureNet::new`] builds it (the
    /// activations: every layer's output, which the backward pass keeps). Saturating: a
    /// count past u64 is refused as too large anyway.
    pub fn sizes(&self, height: usize, width: usize, dim: usize) -> (u64, u64) {
        let linear = |i: u64, o: u64| i.saturating_mul(o).saturating_add(o);
        let (h, w, dim) = (height as u64, width as u64, dim as u64);
        let pixels = h.saturating_mul(w);
        match self {
            NetSpec::Mlp { hidden } => {
                let (mut params, mut acts, mut inputs) = (0u64, pixels, pixels);
                for &units in hidden {
                    params = params.saturating_add(linear(inputs, units as u64));
                    // The layer's output and its ReLU.
                    acts = acts.saturating_add(2 * units as u64);
                    inputs = units as u64;
                }
                (params.saturating_add(linear(inputs, dim)), acts + dim)
            }
            NetSpec::Cnn {
                channels: [c1, c2],
                hidden,
            } => {
                let (c1, c2, hidden) = (*c1 as u64, *c2 as u64, *hidden as u64);
                let flat = c2.saturating_mul((h / 4).saturating_mul(w / 4));
                let params = linear(9, c1)
                    .saturating_add(linear(9u64.saturating_mul(c1), c2))
                    .saturating_add(linear(flat, hidden))
                    .saturating_add(linear(hidden, dim));
                // conv, ReLU and pool outputs of both blocks, then the dense layers.
                let quarter = (h / 2).saturating_mul(w / 2);
                let acts = pixels
                    .saturating_add(c1.saturating_mul(pixels).saturating_mul(2))
                    .saturating_add(c1.saturating_mul(quarter))
                    .saturating_add(c2.saturating_mul(quarter).saturating_mul(2))
                    .saturating_add(flat)
                    .saturating_add(2 * hidden + dim);
                (params, acts)
            }
        }
    }
}

#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    out: Linear,
    /// Kept in the module (and so in checkpoints) as it always was; `forward` calls
    /// `ops::relu`, which is libtorch's own ReLU on that backend.
    act: Relu,
}

#[derive(Module, Debug)]
pub struct Cnn {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    fc: Linear,
    out: Linear,
    /// As in `Mlp`: kept for the checkpoints' layout, applied through `ops::relu`.
    act: Relu,
}

/// A feature extractor: images (n × 1 × h × w) → features (n × dim).
#[derive(Module, Debug)]
pub enum FeatureNet {
    Mlp(Mlp),
    Cnn(Cnn),
}

impl FeatureNet {
    pub fn new(
        spec: &NetSpec,
        height: usize,
        width: usize,
        dim: usize,
        device: &Device,
    ) -> FeatureNet {
        match spec {
            NetSpec::Mlp { hidden } => {
                let mut inputs = height * width;
                let mut layers = Vec::new();
                for &h in hidden {
                    layers.push(LinearConfig::new(inputs, h).init(device));
                    inputs = h;
                }
                FeatureNet::Mlp(Mlp {
                    layers,
                    out: LinearConfig::new(inputs, dim).init(device),
                    act: Relu::new(),
                })
            }
            NetSpec::Cnn {
                channels: [c1, c2],
                hidden,
            } => {
                let conv = |i, o| {
                    Conv2dConfig::new([i, o], [3, 3])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(device)
                };
                let flat = c2 * (height / 4) * (width / 4);
                FeatureNet::Cnn(Cnn {
                    conv1: conv(1, *c1),
                    conv2: conv(*c1, *c2),
                    pool: MaxPool2dConfig::new([2, 2]).init(),
                    fc: LinearConfig::new(flat, *hidden).init(device),
                    out: LinearConfig::new(*hidden, dim).init(device),
                    act: Relu::new(),
                })
            }
        }
    }

    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            FeatureNet::Mlp(net) => {
                let mut h: Tensor<2> = images.flatten(1, 3);
                for layer in &net.layers {
                    h = ops::relu(layer.forward(h));
                }
                net.out.forward(h)
            }
            FeatureNet::Cnn(net) => {
                let h = net.pool.forward(ops::relu(ops::conv2d(&net.conv1, images)));
                let h = net.pool.forward(ops::relu(ops::conv2d(&net.conv2, h)));
                let h: Tensor<2> = h.flatten(1, 3);
                net.out.forward(ops::relu(net.fc.forward(h)))
            }
        }
    }
}
