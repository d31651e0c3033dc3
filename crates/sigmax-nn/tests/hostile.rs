//! Hostile checkpoints: damaged, forged or poisoned `.sxnn` files are refused with an
//! error naming the file, before anything is allocated from their settings; a diverging
//! run stops with exit 1 and leaves no checkpoint.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Tensor};
use sigmax::margin::{Annealing, MarginHead};
use sigmax_nn::checkpoint::{Checkpoint, CheckpointHeader};
use sigmax_nn::model::{FeatureModel, ModelSpec};
use sigmax_nn::nets::NetSpec;
use sigmax_nn::train::{LrSchedule, OptimizerKind, TrainConfig};
use std::path::Path;
use std::process::Command;

fn config() -> TrainConfig {
    TrainConfig {
        model: ModelSpec {
            net: NetSpec::Mlp { hidden: vec![8] },
            head: MarginHead::Softmax,
            dim: 2,
            height: 4,
            width: 4,
            classes: vec![0, 1, 2],
        },
        optimizer: OptimizerKind::Adam,
        lr: 1e-3,
        weight_decay: 0.0,
        schedule: LrSchedule::Constant,
        batch_size: 4,
        epochs: 2,
        seed: 1,
        annealing: Annealing {
            base: 10.0,
            gamma: 0.5,
            power: 1.0,
            lambda_min: 1.0,
        },
        data: "x".into(),
        limit: None,
    }
}

fn checkpoint_bytes(model: &FeatureModel) -> Vec<u8> {
    let header = CheckpointHeader {
        config: config(),
        epochs_done: 1,
        step: 2,
        history: vec![],
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.sxnn");
    Checkpoint::new(header, model, None)
        .unwrap()
        .save(&p)
        .unwrap();
    std::fs::read(p).unwrap()
}

/// The bytes with the header JSON changed by `edit` and the checksum repaired: a forgery
/// that only the checks behind the checksum can catch.
fn forged(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[20..20 + len]).unwrap();
    edit(&mut header);
    let json = serde_json::to_vec(&header).unwrap();
    let mut out = bytes[..12].to_vec();
    out.extend((json.len() as u64).to_le_bytes());
    out.extend(&json);
    out.extend(&bytes[20 + len..bytes.len() - 4]);
    let sum = crc32fast::hash(&out);
    out.extend(sum.to_le_bytes());
    out
}

fn refused(bytes: &[u8], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.sxnn");
    std::fs::write(&p, bytes).unwrap();
    let e = match Checkpoint::load(&p).and_then(|c| c.model(&Device::flex()).map(|_| ())) {
        Ok(()) => panic!("accepted; expected {needle:?}"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("bad.sxnn") && e.contains(needle), "{e}");
}

struct Poison;
impl ModuleMapper for Poison {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| t.mul_scalar(f32::NAN))
    }
}

#[test]
fn damaged_forged_and_poisoned_checkpoints_are_refused_naming_the_file() {
    let model = FeatureModel::new(&config().model, &Device::flex());
    let good = checkpoint_bytes(&model);
    // A sound one loads.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("good.sxnn");
    std::fs::write(&p, &good).unwrap();
    Checkpoint::load(&p)
        .unwrap()
        .model(&Device::flex())
        .unwrap();

    let mut junk = good.clone();
    junk.extend(b"junk");
    refused(&junk, "checksum");
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x40;
    refused(&flipped, "checksum");
    refused(&good[..good.len() - 100], "checksum");
    refused(b"SIGMAXNN", "wrong magic");
    refused(b"SIGMAXNN\x07\0\0\0rest", "version 7");
    // Junk after the sections, with a valid checksum over it.
    let mut tail = good[..good.len() - 4].to_vec();
    tail.extend(b"junk");
    let sum = crc32fast::hash(&tail);
    tail.extend(sum.to_le_bytes());
    refused(&tail, "unexpected bytes");
    // Forged settings: checked as a new run's are, before any allocation.
    refused(
        &forged(&good, |h| h["config"]["batch_size"] = 0.into()),
        "batch size",
    );
    refused(
        &forged(&good, |h| {
            h["config"]["model"]["head"] = serde_json::json!({"lsoftmax": {"m": 3000000000u64}})
        }),
        "1–16",
    );
    refused(
        &forged(&good, |h| {
            h["config"]["model"]["dim"] = 1_000_000_000.into()
        }),
        "feature dimension",
    );
    refused(
        &forged(&good, |h| {
            h["config"]["model"]["classes"] = serde_json::json!([1, 1, 2])
        }),
        "twice",
    );
    refused(
        &forged(&good, |h| h["config"]["lr"] = serde_json::json!(-1.0)),
        "learning rate",
    );
    refused(
        &forged(&good, |h| h["epochs_done"] = 99.into()),
        "epochs done",
    );
    // A different model shape than the stored parameters.
    refused(
        &forged(&good, |h| h["config"]["model"]["dim"] = 3.into()),
        "do not fit",
    );
    // NaN parameters, with everything else in order.
    refused(&checkpoint_bytes(&model.clone().map(&mut Poison)), "NaN");
}

fn sigmax_nn(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sigmax-nn"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn the_binary_refuses_bad_checkpoints_and_stops_a_diverging_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bad.sxnn"), b"SIGMAXNN\x02\0\0\0short").unwrap();
    for args in [
        &["eval", "bad.sxnn"][..],
        &["train", "--resume", "-o", "bad.sxnn", "--epochs", "1"][..],
    ] {
        let o = sigmax_nn(d, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("bad.sxnn") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    let o = sigmax_nn(
        d,
        &[
            "train", "--lr", "100", "--epochs", "2", "--limit", "500", "-o", "run.sxnn", "--test",
            "none",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("diverged") && err.contains("lower the learning rate"),
        "{err}"
    );
    assert!(
        !d.join("run.sxnn").exists(),
        "no checkpoint of a diverged run"
    );
    // A usage error exits 1 as well.
    let o = sigmax_nn(d, &["train", "--epochs", "zero"]);
    assert_eq!(o.status.code(), Some(1));
}

/// IDX bytes: `0 0 8 ndim`, the dimensions, then the data.
fn idx(dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v.extend(payload);
    v
}

/// Round 2 of the hostile inputs: an output that is the model read, setting flags given
/// to a resumed run, training whose memory is more than its parameters, and a CSV file
/// whose name says IDX.
#[test]
fn outputs_resumes_memory_and_file_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = sigmax_nn(
        d,
        &[
            "train", "--epochs", "1", "--limit", "200", "--test", "none", "-o", "f.sxnn",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let model = std::fs::read(d.join("f.sxnn")).unwrap();
    // `embed f.sxnn -o f.sxnn` would replace the model with a CSV.
    for args in [
        &["embed", "f.sxnn", "-o", "f.sxnn"][..],
        &["embed", "f.sxnn", "-o", "e.csv", "--weights", "e.csv"][..],
        &["plot", "f.sxnn", "-o", "f.sxnn"][..],
        &[
            "train",
            "--epochs",
            "1",
            "-o",
            "g.sxnn",
            "--log-csv",
            "g.sxnn",
        ][..],
    ] {
        let o = sigmax_nn(d, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("would destroy the input")
                || err.contains("one would overwrite the other"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(std::fs::read(d.join("f.sxnn")).unwrap(), model);
    // A failed write to standard output is an error, not a panic.
    let o = Command::new(env!("CARGO_BIN_EXE_sigmax-nn"))
        .args(["eval", "f.sxnn"])
        .current_dir(d)
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("writing to standard output") && !err.contains("panicked"),
        "{err}"
    );
    // A checkpoint's error names the file once (it was named twice).
    let poisoned = FeatureModel::new(&config().model, &Device::flex()).map(&mut Poison);
    std::fs::write(d.join("nan.sxnn"), checkpoint_bytes(&poisoned)).unwrap();
    let o = sigmax_nn(d, &["eval", "nan.sxnn"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("nan.sxnn").count(), 1, "{err}");
    // A resumed run keeps its settings: flags that would change them are refused, not
    // silently ignored.
    let o = sigmax_nn(
        d,
        &[
            "train", "--resume", "-o", "f.sxnn", "--epochs", "2", "--lr", "0.1",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--epochs")
            && err.contains("--learning-rate")
            && err.contains("would be ignored"),
        "{err}"
    );
    // Two 2048 × 2048 images: the parameters (a 4M × 256 first layer, 4 GB) fit in 8 GB,
    // but with their gradients and Adam's two moments, and the activations, they do not.
    let pixels = vec![7u8; 2 * 2048 * 2048];
    std::fs::write(
        d.join("big-images-idx3-ubyte"),
        idx(&[2, 2048, 2048], &pixels),
    )
    .unwrap();
    std::fs::write(d.join("big-labels-idx1-ubyte"), idx(&[2], &[0, 1])).unwrap();
    let o = Command::new("timeout")
        .args(["120", env!("CARGO_BIN_EXE_sigmax-nn")])
        .args([
            "train",
            "--data",
            "big-images-idx3-ubyte",
            "--epochs",
            "1",
            "--test",
            "none",
        ])
        .env("SIGMAX_MAX_MEMORY", "8G")
        .current_dir(d)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("training (") && err.contains("would need"),
        "{err}"
    );
    // A CSV file whose name contains "idx3" is read as CSV (the content decides).
    let mut csv = String::new();
    for i in 0..20 {
        let px: Vec<String> = (0..784).map(|j| ((i * 7 + j) % 256).to_string()).collect();
        csv.push_str(&format!("{},{}\n", px.join(","), i % 2));
    }
    std::fs::write(d.join("my-idx3.csv"), csv).unwrap();
    let o = sigmax_nn(
        d,
        &[
            "train",
            "--data",
            "my-idx3.csv",
            "--epochs",
            "1",
            "--test",
            "none",
            "-o",
            "c.sxnn",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// libtorch aborts on a CUDA device it does not have; sigmax-nn says so instead.
#[cfg(feature = "tch")]
#[test]
fn a_cuda_device_that_is_not_there_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = sigmax_nn(
        dir.path(),
        &[
            "train",
            "--backend",
            "libtorch",
            "--device",
            "cuda:99",
            "--epochs",
            "1",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("no CUDA device cuda:99"), "{err}");
}
