//! What a training run is configured with and what it logs per epoch: plain data that
//! both the training loop and the checkpoint format use (so neither imports the other
//! for it).

use crate::error::{NnError, Result};
use crate::model::ModelSpec;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use serde::{Deserialize, Serialize};
use sigmax::margin::Annealing;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
// One serde casing for persisted enums (kebab-case); the PascalCase of older checkpoints
// is still read.
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// SGD with (heavy-ball) momentum.
    #[serde(alias = "Sgd")]
    Sgd { momentum: f64 },
    #[serde(alias = "Adam")]
    Adam,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    #[serde(alias = "Constant")]
    Constant,
    /// Multiply by `factor` at each listed epoch (0-based epoch at which it takes effect).
    #[serde(alias = "Step")]
    Step { milestones: Vec<usize>, factor: f64 },
    /// Cosine decay from lr to 0 over the epochs (per step).
    #[serde(alias = "Cosine")]
    Cosine,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub model: ModelSpec,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub weight_decay: f64,
    pub schedule: LrSchedule,
    pub batch_size: usize,
    pub epochs: usize,
    pub seed: u64,
    /// λ schedule of L-Softmax / A-Softmax (ignored by the other heads).
    pub annealing: Annealing,
    /// The training images as named to [`crate::images::ImageSet::load`] and how many were used (`None`:
    /// all), so that a resumed run reads the same data. Informational for the library.
    #[serde(default)]
    pub data: String,
    #[serde(default)]
    pub limit: Option<usize>,
}

impl TrainConfig {
    pub fn validate(&self) -> Result<()> {
        self.model.head.validate()?;
        let bad = |m: String| Err(NnError::Config(m));
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad(format!(
                "learning rate {} must be a finite number > 0",
                self.lr
            ));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad(format!("weight decay {} must be ≥ 0", self.weight_decay));
        }
        if self.batch_size == 0 || self.epochs == 0 || self.model.dim == 0 {
            return bad("batch size, epochs and feature dimension must be ≥ 1".into());
        }
        if self.model.classes.len() < 2 {
            return bad(format!(
                "training needs at least two classes, got {:?}",
                self.model.classes
            ));
        }
        self.model.validate()?;
        if let OptimizerKind::Sgd { momentum } = self.optimizer {
            if !(0.0..1.0).contains(&momentum) {
                return bad(format!("momentum {momentum} must be in [0, 1)"));
            }
        }
        if let LrSchedule::Step { factor, .. } = &self.schedule {
            if !(*factor > 0.0 && factor.is_finite()) {
                return bad(format!("step factor {factor} must be a finite number > 0"));
            }
        }
        self.check_training_memory()?;
        let a = &self.annealing;
        if ![a.base, a.gamma, a.power, a.lambda_min]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0)
        {
            return bad(format!(
                "annealing {a:?}: every parameter must be finite and ≥ 0"
            ));
        }
        Ok(())
    }

    /// Refuses a run whose training state would not fit in memory: per parameter its
    /// value, its gradient and the optimizer's moments (Adam two, SGD with momentum one),
    /// and per image of a batch every layer's output twice (the forward pass's, kept for
    /// the backward pass, and its gradient), all f32. (The parameters alone once were the
    /// check: two 2048 × 2048 images passed it and headed for 16 GB.)
    pub fn check_training_memory(&self) -> Result<()> {
        let states = match self.optimizer {
            OptimizerKind::Adam => 4,
            OptimizerKind::Sgd { momentum } if momentum > 0.0 => 3,
            OptimizerKind::Sgd { .. } => 2,
        };
        let params = self.model.parameters();
        let acts = self.model.activations_per_image();
        let floats = params.saturating_mul(states).saturating_add(
            acts.saturating_mul(2)
                .saturating_mul(self.batch_size as u64),
        );
        sigmax::limits::check_elements(
            &format!(
                "training ({params} parameters × {states} for the values, gradients and optimizer, and {acts} activations × 2 per image × {} images a batch)",
                self.batch_size
            ),
            floats,
            4,
        )?;
        Ok(())
    }

    /// The learning rate at optimizer step `step` (0-based) of epoch `epoch`.
    pub fn lr_at(&self, epoch: usize, step: u64, steps_per_epoch: u64) -> f64 {
        match &self.schedule {
            LrSchedule::Constant => self.lr,
            LrSchedule::Step { milestones, factor } => {
                self.lr * factor.powi(milestones.iter().filter(|&&m| epoch >= m).count() as i32)
            }
            LrSchedule::Cosine => {
                let total = (steps_per_epoch * self.epochs as u64).max(1) as f64;
                0.5 * self.lr * (1.0 + (std::f64::consts::PI * step as f64 / total).cos())
            }
        }
    }

    /// λ at optimizer step `step` (counted from 1, as in the original layers).
    pub fn lambda_at(&self, step: u64) -> f64 {
        if self.model.head.anneals() {
            self.annealing.lambda(step)
        } else {
            0.0
        }
    }

    pub(crate) fn optimizer(&self) -> ModuleOptimizer {
        let decay =
            (self.weight_decay > 0.0).then(|| WeightDecayConfig::new(self.weight_decay as f32));
        match self.optimizer {
            OptimizerKind::Sgd { momentum } => SgdConfig::new()
                .with_weight_decay(decay)
                .with_momentum((momentum > 0.0).then(|| {
                    MomentumConfig::new()
                        .with_momentum(momentum)
                        .with_dampening(0.0)
                }))
                .init(),
            OptimizerKind::Adam => AdamConfig::new().with_weight_decay(decay).init(),
        }
    }
}

/// One epoch's summary (also the λ log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub loss: f64,
    /// Training accuracy (argmax of the logits without margin, as at test time).
    pub accuracy: f64,
    /// λ at the epoch's last step.
    pub lambda: f64,
    pub lr: f64,
    pub images_per_second: f64,
    pub seconds: f64,
    /// Where the epoch ran, e.g. `LibTorch(Cpu)` or `Flex` (empty in checkpoints written
    /// before it was recorded).
    #[serde(default)]
    pub device: String,
}
