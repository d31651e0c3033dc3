//! A feature model: a feature extractor and the class weights of its margin head, with the
//! specification that rebuilds it (stored in checkpoints).

use crate::heads::{margin_logits, plain_logits, ClassWeights};
use crate::images::ImageSet;
use crate::nets::{FeatureNet, NetSpec};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use sigmax::margin::MarginHead;

/// Everything needed to rebuild a model's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub net: NetSpec,
    pub head: MarginHead,
    /// Feature dimension.
    pub dim: usize,
    pub height: usize,
    pub width: usize,
    /// The labels of the classes the head knows, in head order (head output j is `classes[j]`).
    pub classes: Vec<u32>,
}

/// Bounds on a model's shape, checked before anything is allocated for it (a checkpoint's
/// header is input like any other).
const MAX_DIM: usize = 1 << 16;
const MAX_SIDE: usize = 1 << 12;
const MAX_CLASSES: usize = 1 << 20;

impl ModelSpec {
    pub fn validate(&self) -> crate::error::Result<()> {
        let bad = |m: String| Err(crate::error::NnError::Config(m));
        if self.dim == 0 || self.dim > MAX_DIM {
            return bad(format!(
                "feature dimension {} must be 1–{MAX_DIM}",
                self.dim
            ));
        }
        if self.height == 0 || self.width == 0 || self.height > MAX_SIDE || self.width > MAX_SIDE {
            return bad(format!(
                "image size {}×{} must be 1–{MAX_SIDE} on each side",
                self.height, self.width
            ));
        }
        if self.classes.len() > MAX_CLASSES {
            return bad(format!(
                "{} classes: at most {MAX_CLASSES}",
                self.classes.len()
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(c) = self.classes.iter().find(|c| !seen.insert(**c)) {
            return bad(format!("class {c} appears twice in the head's classes"));
        }
        self.head.validate()?;
        sigmax::limits::check_elements("the model's parameters", self.parameters(), 4)?;
        Ok(())
    }

    /// Parameters of the network and the head's class weights.
    pub fn parameters(&self) -> u64 {
        let (net, _) = self.net.sizes(self.height, self.width, self.dim);
        net.saturating_add(self.classes.len() as u64 * self.dim as u64)
    }

    /// Floats one image's forward pass keeps for the backward pass (each layer's output,
    /// and the head's logits).
    pub fn activations_per_image(&self) -> u64 {
        let (_, acts) = self.net.sizes(self.height, self.width, self.dim);
        acts.saturating_add(2 * self.classes.len() as u64)
    }
}

#[derive(Module, Debug)]
pub struct FeatureModel {
    pub net: FeatureNet,
    pub head: ClassWeights,
}

impl FeatureModel {
    /// A freshly initialized model (seed the device first for reproducible weights).
    pub fn new(spec: &ModelSpec, device: &Device) -> FeatureModel {
        FeatureModel {
            net: FeatureNet::new(&spec.net, spec.height, spec.width, spec.dim, device),
            head: ClassWeights::new(spec.classes.len(), spec.dim, device),
        }
    }

    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        self.net.forward(images)
    }

    /// Training logits (margin on the target class).
    pub fn margin_logits(
        &self,
        spec: &ModelSpec,
        features: Tensor<2>,
        y: Tensor<1, Int>,
        lambda: f64,
    ) -> Tensor<2> {
        margin_logits(spec.head, features, self.head.weight.val(), y, lambda)
    }

    /// Test logits (no margin).
    pub fn plain_logits(&self, spec: &ModelSpec, features: Tensor<2>) -> Tensor<2> {
        plain_logits(spec.head, features, self.head.weight.val())
    }

    /// Class weights as a row-major K × dim vector.
    pub fn class_weights(&self) -> Vec<f32> {
        to_vec(self.head.weight.val())
    }
}

/// Pixels of images `rows` as an (n × 1 × h × w) tensor, scaled from [0, 1] to [−1, 1].
pub fn image_batch(set: &ImageSet, rows: &[usize], device: &Device) -> Tensor<4> {
    let mut buf = Vec::with_capacity(rows.len() * set.image_size());
    for &i in rows {
        buf.extend(set.image(i).iter().map(|p| 2.0 * p - 1.0));
    }
    Tensor::from_data(
        TensorData::new(buf, [rows.len(), 1, set.height, set.width]),
        device,
    )
}

/// Head indices (0..K) as an Int tensor.
pub fn label_batch(targets: &[u32], rows: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = rows.iter().map(|&i| targets[i] as i64).collect();
    Tensor::from_data(TensorData::new(v, [rows.len()]), device)
}

pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor data")
}
