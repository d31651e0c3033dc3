//! The model file: JSON, versioned, written atomically.
//!
//! ```json
//! { "format": "sigmax-model", "version": 1,
//!   "model": { "kind": "logistic", "classes": ["-1", "1"], "n_features": 13,
//!              "lambda": 0.0001, "intercept": true,
//!              "weights": [[...13 numbers...]], "bias": [0.12] } }
//! ```
//! `weights` has one row for a binary model (positive class `classes[1]`) and K rows for
//! softmax; `bias` one entry per row (zeros when `intercept` is false). Optional: `l1`
//! (λ₁, when nonzero) and `feature_names` (from a CSV header; data is then matched to the
//! model by column name). Readers refuse files from a newer version.

use super::LinearModel;
use crate::atomic::write_atomically_with;
use crate::error::{Error, Result};
use crate::input::Contents;
use crate::limits::ReadBudget;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const MODEL_FORMAT: &str = "sigmax-model";
pub const MODEL_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Envelope<M> {
    format: String,
    version: u32,
    model: M,
}

/// Models with more weights than this are written as compact JSON (one line): pretty
/// printing puts each weight on its own indented line, ~30 bytes a weight instead of ~20
/// (a 4.2M-parameter text softmax: 128 MB, whose writing was a third of the fit's system
/// time). Smaller models stay readable.
pub const PRETTY_MAX_WEIGHTS: usize = 100_000;

/// Writes the model to a temporary file beside `path`, then renames it into place, so
/// a crash never leaves a half-written model. Pretty-printed JSON up to
/// 100,000 weights (`PRETTY_MAX_WEIGHTS`), compact beyond. The JSON is streamed through
/// a buffer, never assembled whole: a 4.2M-parameter model's 90 MB text in memory cost
/// 22,000 page faults, a fifth of that fit's.
pub fn save_model(model: &LinearModel, path: &Path) -> Result<()> {
    let env = Envelope {
        format: MODEL_FORMAT.to_string(),
        version: MODEL_VERSION,
        model,
    };
    let n_weights: usize = model.weights.iter().map(Vec::len).sum();
    write_atomically_with(path, |w| {
        if n_weights <= PRETTY_MAX_WEIGHTS {
            serde_json::to_writer_pretty(w, &env)
        } else {
            serde_json::to_writer(w, &env)
        }
        .map_err(std::io::Error::from)
    })
}

/// Reads and validates a model file, held within a [`ReadBudget`] (a file that is not
/// text, such as `/dev/zero`, stops at its first bytes).
pub fn load_model(path: &Path) -> Result<LinearModel> {
    let bytes = crate::input::read_all(path, Contents::Text, &ReadBudget::new()).map_err(|e| {
        match e {
            // A model's problems are reported as the model file's.
            Error::BadFile { message, .. } => Error::Model {
                path: path.to_path_buf(),
                message,
            },
            e => e,
        }
    })?;
    parse_model(&bytes, path)
}

/// The envelope without the model: what a file that is not a model of this version is
/// judged by (read only when the whole file does not decode as one).
#[derive(Deserialize)]
struct Head {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
}

/// Parses and validates a model file's bytes; `path` names them in errors.
pub fn parse_model(bytes: &[u8], path: &Path) -> Result<LinearModel> {
    let bad = |message: String| Error::Model {
        path: path.to_path_buf(),
        message,
    };
    // One pass for a sound file; a JSON tree is never built (a 4.2M-weight model's would
    // take several times its text).
    let full = serde_json::from_slice::<Envelope<LinearModel>>(bytes);
    if let Ok(env) = &full {
        if env.format == MODEL_FORMAT && (1..=MODEL_VERSION).contains(&env.version) {
            let env = full.expect("checked");
            env.model.validate().map_err(|e| bad(e.to_string()))?;
            return Ok(env.model);
        }
    }
    // Why not: a foreign or newer file is named as such before its contents are judged.
    let not_ours = || {
        bad(format!(
            "not a sigmax model (no \"format\": \"{MODEL_FORMAT}\")"
        ))
    };
    let head: Head = match serde_json::from_slice(bytes) {
        Ok(h) => h,
        Err(e) if e.is_data() => return Err(not_ours()),
        Err(e) if e.is_eof() => return Err(bad(format!("truncated file ({e})"))),
        Err(e) => return Err(bad(format!("not valid JSON ({e})"))),
    };
    if head.format.as_ref().and_then(|f| f.as_str()) != Some(MODEL_FORMAT) {
        return Err(not_ours());
    }
    let version = head.version.as_ref().and_then(|v| v.as_u64()).unwrap_or(0);
    if version > MODEL_VERSION as u64 {
        return Err(bad(format!(
            "format version {version} was written by a newer sigmax; this one reads up to version {MODEL_VERSION}"
        )));
    }
    if version == 0 {
        return Err(bad("missing or invalid \"version\"".into()));
    }
    let why = full
        .err()
        .map_or_else(|| "invalid envelope".to_string(), |e| e.to_string());
    Err(bad(format!("invalid contents: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelKind;

    fn model() -> LinearModel {
        LinearModel::from_coefficients(
            ModelKind::Softmax,
            vec!["a".into(), "b".into(), "c".into()],
            vec![vec![1.0, 2.0], vec![0.5, -1.0], vec![0.0, 1e-300]],
            Some(vec![0.1, 0.2, -0.3]),
            1e-4,
        )
        .unwrap()
    }

    #[test]
    fn large_models_are_written_compactly_and_read_back_exactly() {
        // Arbitrary doubles (not the round numbers of `model()`) come back bit for bit
        // only with serde_json's `float_roundtrip` parser; its default could be 1 ulp off.
        let dir = tempfile::tempdir().unwrap();
        let d = PRETTY_MAX_WEIGHTS / 2 + 1;
        let weights: Vec<Vec<f64>> = (0..2)
            .map(|j| (0..d).map(|l| (l as f64 + 0.1 * j as f64).sin()).collect())
            .collect();
        let large = LinearModel::from_coefficients(
            ModelKind::Softmax,
            vec!["x".into(), "y".into()],
            weights,
            None,
            1e-4,
        )
        .unwrap();
        let (small_path, large_path) = (dir.path().join("s.json"), dir.path().join("l.json"));
        save_model(&model(), &small_path).unwrap();
        save_model(&large, &large_path).unwrap();
        let lines = |p: &Path| std::fs::read_to_string(p).unwrap().lines().count();
        assert!(lines(&small_path) > 10, "small models stay pretty");
        assert_eq!(lines(&large_path), 1, "large models are one line");
        assert_eq!(load_model(&large_path).unwrap(), large);
    }

    #[test]
    fn round_trip_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        save_model(&model(), &p).unwrap();
        assert_eq!(load_model(&p).unwrap(), model());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }

    #[test]
    fn wrong_truncated_and_future_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        save_model(&model(), &p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, &text[..text.len() / 2]).unwrap();
        assert!(load_model(&p)
            .unwrap_err()
            .to_string()
            .contains("truncated"));
        std::fs::write(&p, text.replace("\"version\": 1", "\"version\": 7")).unwrap();
        assert!(load_model(&p)
            .unwrap_err()
            .to_string()
            .contains("version 7 was written by a newer sigmax"));
        std::fs::write(&p, "{\"hello\": 1}").unwrap();
        assert!(load_model(&p)
            .unwrap_err()
            .to_string()
            .contains("not a sigmax model"));
        std::fs::write(&p, text.replace("\"n_features\": 2", "\"n_features\": 3")).unwrap();
        assert!(load_model(&p)
            .unwrap_err()
            .to_string()
            .contains("weights per row"));
    }
}
