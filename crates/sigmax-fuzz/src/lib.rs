//! Fuzz targets: each feeds bytes to one of sigmax's readers or decoders and checks what
//! comes back. A target must never panic, abort, hang or allocate without bound; what
//! it accepts must hold up (finite values, labels within the classes, distinct class
//! names, finite predictions). The engine (`main.rs`) mutates inputs and watches for
//! violations; `tests/corpus.rs` replays the saved corpus in CI.

use sigmax::data::{self, CsvOptions, Dataset, Features};
use sigmax::input::Contents;
use sigmax::model::LinearModel;
use std::path::Path;

/// What is fuzzed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Libsvm,
    Csv,
    Idx,
    Model,
    Liblinear,
    Cache,
    Checkpoint,
}

impl Target {
    pub const ALL: [Target; 7] = [
        Target::Libsvm,
        Target::Csv,
        Target::Idx,
        Target::Model,
        Target::Liblinear,
        Target::Cache,
        Target::Checkpoint,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Libsvm => "libsvm",
            Target::Csv => "csv",
            Target::Idx => "idx",
            Target::Model => "model",
            Target::Liblinear => "liblinear",
            Target::Cache => "cache",
            Target::Checkpoint => "checkpoint",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether inputs are text (the mutator then also splices in tokens).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Target::Libsvm | Target::Csv | Target::Model | Target::Liblinear
        )
    }

    /// Runs one input; returns a short description of the outcome (error messages with
    /// their numbers and quoted parts masked, so that "a new kind of outcome" can steer
    /// the search). Panics when an accepted input breaks an invariant.
    pub fn run(self, input: &[u8]) -> String {
        let name = Path::new("fuzz.input");
        // Text goes through the readers' policy as a file's would (byte-order mark,
        // UTF-16, NUL bytes, line length, the memory budget).
        let text = |contents| {
            let budget = sigmax::limits::ReadBudget::new();
            sigmax::input::read_all_from_reader(&mut &input[..], name, contents, &budget)
        };
        match self {
            Target::Libsvm => {
                // The streaming reader, as a file or standard input is read.
                let opts = data::LoadOptions {
                    zero_based: input.first() == Some(&b'0'),
                    max_features: 1 << 20,
                    ..data::LoadOptions::default()
                };
                let reader = Box::new(std::io::Cursor::new(input.to_vec()));
                dataset_outcome(data::read_libsvm_reader(reader, name, &opts))
            }
            Target::Csv => dataset_outcome(
                text(Contents::Lines)
                    .and_then(|t| data::read_csv_bytes(name, &t, &CsvOptions::default())),
            ),
            Target::Idx => {
                // Byte 0 is k: the next 4·k bytes are the labels file, the rest the images;
                // each is read as a stream, header first.
                let k = input.first().map_or(0, |&b| b as usize * 4);
                let rest = input.get(1..).unwrap_or_default();
                let (mut labels, mut images) = rest.split_at(k.min(rest.len()));
                dataset_outcome(data::read_idx_readers(
                    &mut images,
                    &mut labels,
                    name,
                    Path::new("fuzz.labels"),
                ))
            }
            Target::Model => model_outcome(
                text(Contents::Text).and_then(|t| sigmax::model::parse_model(&t, name)),
            ),
            Target::Liblinear => match text(Contents::Lines) {
                Ok(t) => match std::str::from_utf8(&t) {
                    Ok(t) => model_outcome(sigmax::model::parse_liblinear_model(t, name)),
                    Err(_) => "not utf-8".into(),
                },
                Err(e) => mask(&e.to_string()),
            },
            Target::Cache => match data::decode_cache(input) {
                Ok(d) => {
                    check_dataset(&d);
                    "ok".into()
                }
                Err(e) => mask(&e),
            },
            Target::Checkpoint => checkpoint_outcome(input),
        }
    }

    /// Repairs what a mutation broke that guards the interesting code (the checksums of
    /// caches and checkpoints), so that mutations reach the decoding behind them.
    pub fn fix_up(self, input: &mut [u8]) {
        match self {
            Target::Cache if input.len() >= 12 => {
                let n = input.len();
                let sum = crc32fast::hash(&input[8..n - 4]);
                input[n - 4..].copy_from_slice(&sum.to_le_bytes());
            }
            Target::Checkpoint if input.len() >= 16 => {
                let n = input.len();
                let sum = crc32fast::hash(&input[..n - 4]);
                input[n - 4..].copy_from_slice(&sum.to_le_bytes());
            }
            _ => {}
        }
    }

    /// Valid inputs to start from.
    pub fn seeds(self) -> Vec<Vec<u8>> {
        match self {
            Target::Libsvm => vec![
                sigmax::datasets::HEART_SCALE
                    .lines()
                    .take(12)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into_bytes(),
                b"+1 1:0.5 3:1e-3 # c\n-1 2:2 qid:3\n\n0 7:1\n".to_vec(),
                b"a 1:1\nb 2:1\nc 1:1 2:1\n".to_vec(),
                b"\xef\xbb\xbf+1 1:1\n-1 2:1\n".to_vec(),
            ],
            Target::Csv => vec![
                b"a,b,label\n1,2,x\n3,4.5,y\n-1,0,x\n".to_vec(),
                b"y;a;b\n1;0.5;2\n0;1;1\n".to_vec(),
                b"1\t2\t0\n3\t4\t1\n".to_vec(),
                b"\xef\xbb\xbfa,label\n1,x\n2,y\n".to_vec(),
                b"5,0.1,0.2\n3,0.3,0.1\n5,\"0.5\",1\n".to_vec(),
            ],
            Target::Idx => {
                // Four labels (12 bytes, k = 3), four 2×2 images.
                let mut input = vec![3u8, 0, 0, 8, 1, 0, 0, 0, 4, 0, 1, 2, 1];
                input.extend([0u8, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 2]);
                input.extend((0..16u8).map(|v| v * 15));
                vec![input]
            }
            Target::Model => vec![
                model_json(small_model(false)),
                model_json(small_model(true)),
            ],
            Target::Liblinear => {
                vec![sigmax::model::liblinear_model_text(&small_model(false))
                    .unwrap()
                    .into_bytes()]
            }
            Target::Cache => cache_seeds(),
            Target::Checkpoint => checkpoint_seeds(),
        }
    }
}

/// Digits and quoted parts masked: "x.svm:3: bad value in \"1:a\"" → "x.svm:#: bad value in _".
pub fn mask(message: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                if quoted {
                    out.push('_');
                }
            }
            '\\' if quoted => {
                chars.next();
            }
            _ if quoted => {}
            '0'..='9' if out.ends_with('#') => {}
            '0'..='9' => out.push('#'),
            c if c.is_ascii_alphabetic() || " :;,.()=<>≥_-/".contains(c) => out.push(c),
            _ => {}
        }
    }
    out.chars().take(120).collect()
}

fn dataset_outcome(r: sigmax::Result<Dataset>) -> String {
    match r {
        Ok(d) => {
            check_dataset(&d);
            // The sizes' orders of magnitude too, so larger accepted inputs are kept.
            let log2 = |v: usize| usize::BITS - v.leading_zeros();
            format!(
                "ok {} classes {} rows ~2^{} cols ~2^{}",
                if d.x.is_sparse() { "sparse" } else { "dense" },
                d.classes.len().min(4),
                log2(d.n_rows()),
                log2(d.n_features())
            )
        }
        Err(e) => mask(&e.to_string()),
    }
}

/// What every accepted data set must satisfy.
pub fn check_dataset(d: &Dataset) {
    assert_eq!(d.y.len(), d.n_rows());
    assert!(
        d.y.iter().all(|&c| (c as usize) < d.classes.len()),
        "label beyond the classes"
    );
    let mut names = d.classes.clone();
    names.sort();
    names.dedup();
    assert_eq!(
        names.len(),
        d.classes.len(),
        "duplicate class names {:?}",
        d.classes
    );
    let finite = match &d.x {
        Features::Dense(m) => m.data().iter().all(|v| v.is_finite()),
        Features::Sparse(m) => m.parts().2.iter().all(|v| v.is_finite()),
    };
    assert!(finite, "a value that is not finite was accepted");
    for c in &d.classes {
        assert!(!c.bytes().any(|b| b == 0), "a NUL label was accepted");
    }
}

fn model_outcome(r: sigmax::Result<LinearModel>) -> String {
    match r {
        Ok(m) => {
            // An accepted model predicts finite probabilities on any finite input.
            let d = m.n_features;
            if d <= 1 << 16 {
                let x = Features::Dense(
                    sigmax::data::DenseMatrix::new(
                        2,
                        d,
                        (0..2 * d).map(|i| (i % 7) as f32 - 3.0).collect(),
                    )
                    .unwrap(),
                );
                let _ = m.predict(&x);
                if let Ok(p) = m.predict_proba(&x) {
                    assert!(p.iter().all(|v| v.is_finite()), "non-finite probabilities");
                }
            }
            format!("ok {:?}", m.kind)
        }
        Err(e) => mask(&e.to_string()),
    }
}

fn small_model(softmax: bool) -> LinearModel {
    let d = if softmax {
        sigmax::datasets::blobs(5, &[(0.0, 0.0), (3.0, 0.0), (0.0, 3.0)], 0.5, 1)
    } else {
        sigmax::datasets::heart_scale()
    };
    sigmax::train::train(&d, &Default::default(), None)
        .unwrap()
        .model
}

fn model_json(m: LinearModel) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.json");
    sigmax::model::save_model(&m, &p).unwrap();
    std::fs::read(p).unwrap()
}

fn cache_seeds() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for (name, text, dense) in [
        ("a.svm", "+1 1:0.5 3:2\n-1 2:1\n+1 1:1 2:-1\n", true),
        ("b.svm", "+1 1:0.5 3:2\n-1 2:1\n+1 1:1 2:-1\n", false),
        ("c.csv", "x,w,y\n1,0.5,a\n2,3,b\n0,0,a\n", true),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let mut opts = data::LoadOptions::default();
        if !dense {
            opts.dense_above = f64::INFINITY;
        }
        if name.ends_with(".csv") {
            opts.csv.weight = Some("w".parse().unwrap());
        }
        data::load_cached(&p, &opts).unwrap();
        out.push(std::fs::read(data::cache_path(&p)).unwrap());
    }
    out
}

fn checkpoint_spec() -> sigmax_nn::config::TrainConfig {
    use sigmax::margin::{Annealing, MarginHead};
    sigmax_nn::config::TrainConfig {
        model: sigmax_nn::model::ModelSpec {
            net: sigmax_nn::nets::NetSpec::Mlp { hidden: vec![4] },
            head: MarginHead::Softmax,
            dim: 2,
            height: 3,
            width: 3,
            classes: vec![0, 1, 2],
        },
        optimizer: sigmax_nn::config::OptimizerKind::Adam,
        lr: 1e-3,
        weight_decay: 0.0,
        schedule: sigmax_nn::config::LrSchedule::Constant,
        batch_size: 4,
        epochs: 2,
        seed: 1,
        annealing: Annealing {
            base: 10.0,
            gamma: 0.5,
            power: 1.0,
            lambda_min: 1.0,
        },
        data: "fuzz".into(),
        limit: None,
    }
}

fn checkpoint_seeds() -> Vec<Vec<u8>> {
    use sigmax_nn::checkpoint::{Checkpoint, CheckpointHeader};
    let device = burn::tensor::Device::flex();
    let config = checkpoint_spec();
    let model = sigmax_nn::model::FeatureModel::new(&config.model, &device);
    let header = CheckpointHeader {
        config,
        epochs_done: 1,
        step: 3,
        history: vec![],
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.sxnn");
    Checkpoint::new(header, &model, None)
        .unwrap()
        .save(&p)
        .unwrap();
    vec![std::fs::read(p).unwrap()]
}

fn checkpoint_outcome(input: &[u8]) -> String {
    use sigmax_nn::checkpoint::Checkpoint;
    match Checkpoint::decode(input, "fuzz.sxnn") {
        Ok(ck) => match ck.model(&burn::tensor::Device::flex()) {
            Ok(_) => "ok".into(),
            Err(e) => mask(&e.to_string()),
        },
        Err(e) => mask(&e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_is_accepted() {
        for t in Target::ALL {
            for s in t.seeds() {
                let o = t.run(&s);
                assert!(o.starts_with("ok"), "{}: {o}", t.name());
            }
        }
    }

    #[test]
    fn masks_numbers_and_quoted_parts() {
        assert_eq!(
            mask("x.svm:3: bad value in \"1:\\\"a\""),
            "x.svm:#: bad value in _"
        );
    }
}
