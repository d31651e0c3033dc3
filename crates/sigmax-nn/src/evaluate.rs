//! Using a trained model: features (embeddings), closed-set accuracy and open-set
//! verification on classes the head never saw.

use crate::images::ImageSet;
use crate::model::{image_batch, to_vec, FeatureModel, ModelSpec};
use crate::train::targets;
use crate::verification::{make_pairs, verify, VerificationReport};
use burn::module::Module;
use burn::tensor::Device;
use serde::Serialize;

/// Features (n × dim) and test logits (n × K) of every image, computed without autodiff.
pub struct Embedding {
    pub features: Vec<f32>,
    pub logits: Vec<f32>,
    pub dim: usize,
    pub num_classes: usize,
}

pub fn embed(
    model: &FeatureModel,
    spec: &ModelSpec,
    data: &ImageSet,
    device: &Device,
) -> Embedding {
    let plain = device.clone().without_autodiff();
    let model = model.valid().to_device(&plain);
    let (mut features, mut logits) = (Vec::new(), Vec::new());
    let rows: Vec<usize> = (0..data.len()).collect();
    for chunk in rows.chunks(500) {
        let f = model.features(image_batch(data, chunk, &plain));
        logits.extend(to_vec(model.plain_logits(spec, f.clone())));
        features.extend(to_vec(f));
    }
    Embedding {
        features,
        logits,
        dim: spec.dim,
        num_classes: spec.classes.len(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ClosedSetReport {
    pub images: usize,
    pub accuracy: f64,
    /// Images whose class the head does not know (left out of the accuracy).
    pub unknown_class_images: usize,
}

/// Accuracy of argmax of the test logits over the images of the head's classes.
pub fn closed_set(emb: &Embedding, spec: &ModelSpec, data: &ImageSet) -> ClosedSetReport {
    let k = emb.num_classes;
    let t = targets(spec, data);
    let (mut right, mut known) = (0usize, 0usize);
    for (i, target) in t.iter().enumerate() {
        let Some(target) = target else { continue };
        known += 1;
        let row = &emb.logits[i * k..(i + 1) * k];
        let pred = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(j, _)| j as u32)
            .unwrap_or(0);
        right += (pred == *target) as usize;
    }
    ClosedSetReport {
        images: known,
        accuracy: right as f64 / known.max(1) as f64,
        unknown_class_images: data.len() - known,
    }
}

/// Verification on the images whose class the head does NOT know (open set): 10 folds of
/// `per_fold` pairs.
pub fn open_set(
    emb: &Embedding,
    spec: &ModelSpec,
    data: &ImageSet,
    per_fold: usize,
    seed: u64,
) -> Option<VerificationReport> {
    let unseen: Vec<usize> = targets(spec, data)
        .iter()
        .enumerate()
        .filter(|(_, t)| t.is_none())
        .map(|(i, _)| i)
        .collect();
    let mut classes: Vec<u32> = unseen.iter().map(|&i| data.labels[i]).collect();
    classes.sort_unstable();
    classes.dedup();
    if classes.len() < 2 {
        return None;
    }
    let d = emb.dim;
    let features: Vec<f32> = unseen
        .iter()
        .flat_map(|&i| emb.features[i * d..(i + 1) * d].iter().copied())
        .collect();
    let labels: Vec<u32> = unseen.iter().map(|&i| data.labels[i]).collect();
    Some(verify(
        &features,
        d,
        &make_pairs(&labels, 10, per_fold, seed),
    ))
}
