//! Checkpoints: the training configuration and progress (JSON), the model's parameters and
//! the optimizer's state (burn's burnpack bytes) in one file, written atomically
//! (temp file + rename), so an interrupted run never leaves a half-written checkpoint.
//!
//! Layout: `SIGMAXNN` magic, u32 version, then three length-prefixed (u64 LE) sections:
//! header JSON, model bytes, optimizer bytes (empty in an exported model).

use crate::config::{EpochLog, TrainConfig};
use crate::error::{NnError, Result};
use crate::model::{FeatureModel, ModelSpec};
use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};
use std::path::Path;

const MAGIC: &[u8; 8] = b"SIGMAXNN";
const VERSION: u32 = 1;

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
        sigmax::atomic::write_atomically(path, &out)?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Checkpoint> {
        let bad = |message: String| NnError::Checkpoint {
            path: path.display().to_string(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(bad(
                "not a sigmax-nn model or checkpoint (wrong magic bytes)".into(),
            ));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if version != VERSION {
            return Err(bad(format!(
                "checkpoint version {version}, this sigmax-nn reads version {VERSION}"
            )));
        }
        let mut at = 12;
        let mut sections = Vec::new();
        for _ in 0..3 {
            let len = bytes
                .get(at..at + 8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap()) as usize)
                .ok_or_else(|| bad("truncated".into()))?;
            let body = bytes
                .get(at + 8..at + 8 + len)
                .ok_or_else(|| bad("truncated".into()))?;
            sections.push(body.to_vec());
            at += 8 + len;
        }
        let optimizer = sections.pop().unwrap();
        let model = sections.pop().unwrap();
        let header: CheckpointHeader =
            serde_json::from_slice(&sections[0]).map_err(|e| bad(format!("header: {e}")))?;
        Ok(Checkpoint {
            header,
            model,
            optimizer,
        })
    }

    /// The model with the stored parameters, on `device`.
    pub fn model(&self, device: &Device) -> Result<FeatureModel> {
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(self.model.clone()))
            .map_err(|e| NnError::Io(format!("reading the model: {e:?}")))?;
        FeatureModel::new(self.header.spec(), device)
            .try_load_record(record)
            .map_err(|e| NnError::Io(format!("loading the model: {e:?}")))
    }
}
