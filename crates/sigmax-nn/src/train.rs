//! Training a feature model with a margin head: mini-batch SGD with momentum or Adam,
//! weight decay, a learning-rate schedule, λ annealing, per-epoch checkpoints and resume.
//!
//! Reproducibility: the weights are initialized from the device seed and each epoch's
//! shuffle from (seed, epoch), so the same seed and thread count give the same model, and a
//! run resumed from a checkpoint continues exactly as the uninterrupted run would.

use crate::checkpoint::{Checkpoint, CheckpointHeader};
pub use crate::config::{EpochLog, LrSchedule, OptimizerKind, TrainConfig};
use crate::error::{NnError, Result};
use crate::images::ImageSet;
use crate::model::{image_batch, label_batch, FeatureModel, ModelSpec};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Bytes, Device};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::path::PathBuf;
use std::time::Instant;

/// How one call to [`train`] runs (not part of the model).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Written atomically after every epoch.
    pub checkpoint: Option<PathBuf>,
    /// Continue from this checkpoint (its configuration wins).
    pub resume: Option<PathBuf>,
    /// Stop after this many epochs in total (for tests of resume; `None`: all).
    pub stop_after: Option<usize>,
    /// Per-step log: epoch, step, loss, accuracy, λ, lr.
    pub log_csv: Option<PathBuf>,
}

/// What the progress callback of [`train`] sees after every step (running means over the epoch).
#[derive(Debug, Clone)]
pub struct StepReport {
    pub epoch: usize,
    pub epochs: usize,
    pub batch: usize,
    pub batches: usize,
    pub loss: f64,
    pub accuracy: f64,
    pub lambda: f64,
    pub images_per_second: f64,
}

#[derive(Debug)]
pub struct Trained {
    pub model: FeatureModel,
    pub header: CheckpointHeader,
}

/// Head index of each image (`None` if its class is not in the head).
pub fn targets(spec: &ModelSpec, data: &ImageSet) -> Vec<Option<u32>> {
    data.labels
        .iter()
        .map(|l| spec.classes.iter().position(|c| c == l).map(|j| j as u32))
        .collect()
}

/// An epoch whose mean loss is this many times the loss at the first step has diverged.
/// (Annealed L-Softmax / A-Softmax raise the loss as λ falls, by less than 3× in the
/// schedules of `MARGIN-NOTES.md`; a diverging run climbs by orders of magnitude.)
const DIVERGED_LOSS_FACTOR: f64 = 10.0;

/// Trains `config` on `data` (images of classes outside `config.model.classes` are skipped).
pub fn train(
    config: &TrainConfig,
    data: &ImageSet,
    device: &Device,
    run: &RunOptions,
    progress: &mut dyn FnMut(&StepReport),
) -> Result<Trained> {
    let (config, mut model, mut optim, mut epochs_done, mut step, mut history) = match &run.resume {
        Some(path) => {
            let ck = Checkpoint::load(path)?;
            let model = ck.model(device)?;
            let optim = config_optimizer_from(&ck.header.config, &ck.optimizer, path)?;
            let h = ck.header;
            (h.config, model, optim, h.epochs_done, h.step, h.history)
        }
        None => {
            config.validate()?;
            device.seed(config.seed);
            (
                config.clone(),
                FeatureModel::new(&config.model, device),
                config.optimizer(),
                0,
                0,
                Vec::new(),
            )
        }
    };
    data.check_shape(config.model.height, config.model.width)?;
    // The images of the head's classes (`rows`) and their head indices (`target[k]` for `rows[k]`).
    let (rows, target): (Vec<usize>, Vec<u32>) = targets(&config.model, data)
        .into_iter()
        .enumerate()
        .filter_map(|(i, t)| t.map(|t| (i, t)))
        .unzip();
    if rows.is_empty() {
        return Err(NnError::Data(format!(
            "{}: no images of the classes {:?}",
            data.source, config.model.classes
        )));
    }
    let mut log = match &run.log_csv {
        Some(p) => Some(StepLog::open(p, run.resume.is_some())?),
        None => None,
    };
    let batch = config.batch_size.min(rows.len());
    let batches = rows.len().div_ceil(batch);
    let last_epoch = run.stop_after.unwrap_or(config.epochs).min(config.epochs);
    // The loss at this run's first step: an epoch whose mean loss ends far above it has
    // diverged (a too-large learning rate climbs without ever giving NaN).
    let mut first_loss: Option<f64> = None;
    while epochs_done < last_epoch {
        let epoch = epochs_done;
        let started = Instant::now();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
            config.seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        let (mut lambda, mut lr) = (0.0, config.lr);
        for (b, chunk) in order.chunks(batch).enumerate() {
            let idx: Vec<usize> = chunk.iter().map(|&k| rows[k]).collect();
            step += 1;
            lambda = config.lambda_at(step);
            lr = config.lr_at(epoch, step - 1, batches as u64);
            let images = image_batch(data, &idx, device);
            let labels = label_batch(&target, chunk, device);
            let features = model.features(images);
            // Accuracy by the test-time rule (argmax of the logits without margin).
            let plain = model.plain_logits(&config.model, features.clone().detach());
            let logits = model.margin_logits(&config.model, features, labels.clone(), lambda);
            let loss = crate::heads::cross_entropy(logits, labels.clone());
            let loss_value: f64 = loss.clone().into_scalar::<f32>() as f64;
            if !loss_value.is_finite() {
                return Err(NnError::Diverged {
                    epoch: epoch + 1,
                    step,
                    loss: loss_value,
                    lambda,
                    lr,
                });
            }
            first_loss.get_or_insert(loss_value);
            let hits: i64 = plain
                .argmax(1)
                .flatten::<1>(0, 1)
                .equal(labels)
                .int()
                .sum()
                .into_scalar::<i64>();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            loss_sum += loss_value * idx.len() as f64;
            correct += hits as usize;
            seen += idx.len();
            let ips = seen as f64 / started.elapsed().as_secs_f64().max(1e-9);
            if let Some(l) = log.as_mut() {
                l.write(
                    epoch + 1,
                    step,
                    loss_value,
                    hits as f64 / idx.len() as f64,
                    lambda,
                    lr,
                )?;
            }
            progress(&StepReport {
                epoch: epoch + 1,
                epochs: config.epochs,
                batch: b + 1,
                batches,
                loss: loss_sum / seen as f64,
                accuracy: correct as f64 / seen as f64,
                lambda,
                images_per_second: ips,
            });
        }
        let seconds = started.elapsed().as_secs_f64();
        let mean_loss = loss_sum / seen as f64;
        if first_loss.is_some_and(|l0| mean_loss > DIVERGED_LOSS_FACTOR * l0.max(1e-3)) {
            return Err(NnError::Diverged {
                epoch: epoch + 1,
                step,
                loss: mean_loss,
                lambda,
                lr,
            });
        }
        history.push(EpochLog {
            epoch: epoch + 1,
            loss: loss_sum / seen as f64,
            accuracy: correct as f64 / seen as f64,
            lambda,
            lr,
            images_per_second: seen as f64 / seconds.max(1e-9),
            seconds,
            device: crate::device_name(device),
        });
        epochs_done += 1;
        if let Some(path) = &run.checkpoint {
            let header = CheckpointHeader {
                config: config.clone(),
                epochs_done,
                step,
                history: history.clone(),
            };
            let opt = optim
                .into_bytes()
                .map_err(|e| NnError::Io(format!("serializing the optimizer: {e:?}")))?;
            Checkpoint::new(header, &model, Some(opt))?.save(path)?;
        }
    }
    Ok(Trained {
        model,
        header: CheckpointHeader {
            config,
            epochs_done,
            step,
            history,
        },
    })
}

fn config_optimizer_from(
    config: &TrainConfig,
    bytes: &[u8],
    path: &std::path::Path,
) -> Result<ModuleOptimizer> {
    let optim = config.optimizer();
    if bytes.is_empty() {
        return Err(NnError::Checkpoint {
            path: path.display().to_string(),
            message: "holds no optimizer state (an exported model?); cannot resume".into(),
        });
    }
    optim
        .from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| NnError::Checkpoint {
            path: path.display().to_string(),
            message: format!("optimizer state: {e:?}"),
        })
}

struct StepLog {
    out: std::io::BufWriter<std::fs::File>,
}

impl StepLog {
    fn open(path: &std::path::Path, append: bool) -> Result<StepLog> {
        use std::io::Write;
        let exists = path.exists();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(path)
            .map_err(|e| NnError::Io(format!("{}: {e}", path.display())))?;
        let mut out = std::io::BufWriter::new(file);
        if !(append && exists) {
            writeln!(out, "epoch,step,loss,accuracy,lambda,lr")
                .map_err(|e| NnError::Io(e.to_string()))?;
        }
        Ok(StepLog { out })
    }

    fn write(
        &mut self,
        epoch: usize,
        step: u64,
        loss: f64,
        acc: f64,
        lambda: f64,
        lr: f64,
    ) -> Result<()> {
        use std::io::Write;
        writeln!(
            self.out,
            "{epoch},{step},{loss:.6},{acc:.4},{lambda:.6},{lr:.6e}"
        )
        .map_err(|e| NnError::Io(e.to_string()))
    }
}
