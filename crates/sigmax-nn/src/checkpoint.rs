//! Checkpoints: the training configuration and progress (JSON), the model's parameters and
//! the optimizer's state (burn's burnpack bytes) in one file, written atomically
//! (temp file + rename), so an interrupted run never leaves a half-written checkpoint.
//!
//! Layout: `SIGMAXNN` magic, u32 version, then three length-prefixed (u64 LE) sections:
//! header JSON, model bytes, optimizer bytes (empty in an exported model), and (version 2)
//! a CRC-32 of everything before it. Loading trusts nothing: the checksum, the end of the
//! file (no trailing bytes), the stored settings (as for a new run, so a resume cannot
//! divide by a zero batch size) and every parameter's finiteness are checked, and each
//! refusal names the file.

use crate::config::{EpochLog, TrainConfig};
use crate::error::{NnError, Result};
use crate::model::{FeatureModel, ModelSpec};
use burn::module::{Module, ModuleVisitor, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor};
use serde::{Deserialize, Serialize};
use std::path::Path;

const MAGIC: &[u8; 8] = b"SIGMAXNN";
const VERSION: u32 = 2;
/// Version 1 had no checksum; it is still read.
const OLDEST_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointHeader {
    pub config: TrainConfig,
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimizer steps taken (the annealing counter).
    pub step: u64,
    pub history: Vec<EpochLog>,
}

impl CheckpointHeader {
    pub fn spec(&self) -> &ModelSpec {
        &self.config.model
    }
}

pub struct Checkpoint {
    pub header: CheckpointHeader,
    pub model: Vec<u8>,
    pub optimizer: Vec<u8>,
    /// Where it was read from (for errors); empty for one made in memory.
    source: String,
}

impl Checkpoint {
    pub fn new(
        header: CheckpointHeader,
        model: &FeatureModel,
        optimizer: Option<Bytes>,
    ) -> Result<Checkpoint> {
        let record = model
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| NnError::Io(format!("serializing the model: {e:?}")))?;
        Ok(Checkpoint {
            header,
            model: record.to_vec(),
            optimizer: optimizer.map(|b| b.to_vec()).unwrap_or_default(),
            source: String::new(),
        })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let header =
            serde_json::to_vec_pretty(&self.header).map_err(|e| NnError::Io(e.to_string()))?;
        let mut out =
            Vec::with_capacity(32 + header.len() + self.model.len() + self.optimizer.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        for section in [&header[..], &self.model, &self.optimizer] {
            out.extend_from_slice(&(section.len() as u64).to_le_bytes());
            out.extend_from_slice(section);
        }
        let sum = crc32fast::hash(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        sigmax::atomic::write_atomically(path, &out)?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Checkpoint> {
        let bytes = match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => Err("not a regular file".to_string()),
            // Read within the memory a reader may hold (a huge or endless file stops there).
            _ => sigmax::input::read_all(
                path,
                sigmax::input::Contents::Binary,
                &sigmax::limits::ReadBudget::new(),
            )
            .map_err(|e| match e {
                sigmax::Error::Io { error, .. } => error.to_string(),
                sigmax::Error::BadFile { message, .. } => message,
                e => e.to_string(),
            }),
        }
        .map_err(|m| checkpoint_error(path, m))?;
        Checkpoint::decode(&bytes, &path.display().to_string())
    }

    /// Parses and checks checkpoint bytes; `source` names them in errors.
    pub fn decode(bytes: &[u8], source: &str) -> Result<Checkpoint> {
        let bad = |message: String| NnError::Checkpoint {
            path: source.to_string(),
            message,
        };
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(bad(
                "not a sigmax-nn model or checkpoint (wrong magic bytes)".into(),
            ));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if !(OLDEST_VERSION..=VERSION).contains(&version) {
            return Err(bad(format!(
                "checkpoint version {version}, this sigmax-nn reads versions {OLDEST_VERSION}–{VERSION}"
            )));
        }
        let body = if version >= 2 {
            if bytes.len() < 16 {
                return Err(bad("truncated".into()));
            }
            let (body, sum) = bytes.split_at(bytes.len() - 4);
            if crc32fast::hash(body) != u32::from_le_bytes(sum.try_into().unwrap()) {
                return Err(bad(
                    "checksum mismatch: the file is damaged (truncated, or changed after it was written)"
                        .into(),
                ));
            }
            body
        } else {
            bytes
        };
        let mut at = 12usize;
        let mut sections = Vec::new();
        for _ in 0..3 {
            let len = body
                .get(at..at + 8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
                .ok_or_else(|| bad("truncated".into()))?;
            let end = usize::try_from(len)
                .ok()
                .and_then(|l| (at + 8).checked_add(l))
                .filter(|&e| e <= body.len())
                .ok_or_else(|| bad("truncated (a section runs past the end of the file)".into()))?;
            sections.push(body[at + 8..end].to_vec());
            at = end;
        }
        if at != body.len() {
            return Err(bad(format!(
                "{} unexpected bytes after the last section",
                body.len() - at
            )));
        }
        let optimizer = sections.pop().unwrap();
        let model = sections.pop().unwrap();
        let header: CheckpointHeader =
            serde_json::from_slice(&sections[0]).map_err(|e| bad(format!("header: {e}")))?;
        header
            .config
            .validate()
            .map_err(|e| bad(format!("stored settings: {e}")))?;
        if header.epochs_done > header.config.epochs {
            return Err(bad(format!(
                "stored progress: {} epochs done of {}",
                header.epochs_done, header.config.epochs
            )));
        }
        Ok(Checkpoint {
            header,
            model,
            optimizer,
            source: source.to_string(),
        })
    }

    /// The model with the stored parameters, on `device`; refused if any parameter is
    /// NaN or infinite.
    pub fn model(&self, device: &Device) -> Result<FeatureModel> {
        let bad = |message: String| NnError::Checkpoint {
            path: self.source.clone(),
            message,
        };
        // burn's record loader panics on some malformed records (a tensor of the wrong
        // dtype); a checkpoint is input, so that becomes an error naming the file.
        let load = || -> std::result::Result<FeatureModel, String> {
            let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(self.model.clone()))
                .map_err(|e| format!("reading the model: {e:?}"))?;
            FeatureModel::new(self.header.spec(), device)
                .try_load_record(record)
                .map_err(|e| format!("the parameters do not fit the stored model: {e:?}"))
        };
        let model = quietly_caught(load)
            .unwrap_or_else(|panic| Err(format!("malformed model parameters ({panic})")))
            .map_err(bad)?;
        let mut check = FiniteCheck { bad: 0 };
        model.visit(&mut check);
        if check.bad > 0 {
            return Err(bad(format!(
                "{} model parameters are NaN or infinite",
                check.bad
            )));
        }
        Ok(model)
    }
}

/// Runs `f`, turning a panic into its message, without the panic hook's report on stderr.
fn quietly_caught<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r.map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

fn checkpoint_error(path: &Path, message: String) -> NnError {
    NnError::Checkpoint {
        path: path.display().to_string(),
        message,
    }
}

/// Counts parameters that are not finite.
struct FiniteCheck {
    bad: usize,
}

impl ModuleVisitor for FiniteCheck {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let values = crate::model::to_vec(param.val());
        self.bad += values.iter().filter(|v| !v.is_finite()).count();
    }
}
