//! Short training runs (a few hundred images of the embedded MNIST-5k sample, an MLP, a
//! few epochs): every head learns, runs are reproducible, resume continues exactly, and
//! divergence is reported.

use burn::tensor::Device;
use sigmax::margin::{Annealing, MarginHead};
use sigmax_nn::checkpoint::Checkpoint;
use sigmax_nn::evaluate::{closed_set, embed};
use sigmax_nn::images::ImageSet;
use sigmax_nn::model::ModelSpec;
use sigmax_nn::nets::NetSpec;
use sigmax_nn::train::{train, LrSchedule, OptimizerKind, RunOptions, TrainConfig, Trained};
use sigmax_nn::NnError;

/// The bit-for-bit test needs the CPU to itself: burn's rayon reductions split work
/// adaptively (by work stealing), so a training run beside it in another test thread can
/// change the summation order. It takes this lock for writing, the other training tests
/// for reading.
static EXCLUSIVE_CPU: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// The device the tests train on: flex in the default build, libtorch's CPU with
/// `--features tch` (the same tests then check that backend).
fn device() -> Device {
    sigmax_nn::device(sigmax_nn::Backend::default_for_build(), "cpu").unwrap()
}

fn small_data() -> (ImageSet, ImageSet) {
    // The embedded set interleaves the classes: 400 images hold 40 of each digit.
    (
        ImageSet::load("mnist5k-train").unwrap().first(400),
        ImageSet::load("mnist5k-test").unwrap().first(500),
    )
}

fn config(head: MarginHead, epochs: usize) -> TrainConfig {
    TrainConfig {
        model: ModelSpec {
            net: NetSpec::Mlp { hidden: vec![64] },
            head,
            dim: 16,
            height: 28,
            width: 28,
            classes: (0..10).collect(),
        },
        optimizer: OptimizerKind::Adam,
        lr: 3e-3,
        weight_decay: 5e-4,
        schedule: LrSchedule::Constant,
        batch_size: 50,
        epochs,
        seed: 7,
        annealing: Annealing {
            base: 10.0,
            gamma: 0.5,
            power: 1.0,
            lambda_min: 1.0,
        },
        data: "mnist5k-train".into(),
        limit: None,
    }
}

fn run(config: &TrainConfig, data: &ImageSet, opts: &RunOptions) -> Result<Trained, NnError> {
    train(config, data, &device(), opts, &mut |_| {})
}

/// Everything the trained weights determine: the features and test logits of fixed
/// images, and the class weights (bit for bit).
fn fingerprint(t: &Trained) -> Vec<u32> {
    let probe = ImageSet::load("mnist5k-test").unwrap().first(50);
    let e = embed(&t.model, &t.header.config.model, &probe, &device());
    e.features
        .iter()
        .chain(&e.logits)
        .chain(&t.model.class_weights())
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn every_head_learns() {
    let _shared = EXCLUSIVE_CPU.read().unwrap_or_else(|e| e.into_inner());
    let (data, test) = small_data();
    let device = device();
    for head in [
        MarginHead::Softmax,
        MarginHead::LSoftmax { m: 2 },
        MarginHead::ModifiedSoftmax,
        MarginHead::ASoftmax { m: 4 },
        MarginHead::cosface(16.0, 0.2),
        MarginHead::arcface(16.0, 0.3),
    ] {
        // A-Softmax with m = 4 is the hardest head to train (the papers anneal λ over
        // thousands of steps): 8 epochs leave it near the 50% line on some inits
        // (0.55 on flex, 0.48 on libtorch, measured), so it gets 16.
        let epochs = if head == (MarginHead::ASoftmax { m: 4 }) {
            16
        } else {
            8
        };
        let cfg = config(head, epochs);
        let t = run(&cfg, &data, &RunOptions::default()).unwrap();
        let h = &t.header.history;
        assert_eq!(h.len(), epochs);
        let last = &h[epochs - 1];
        assert!(
            last.loss < 0.8 * h[0].loss,
            "{head:?}: loss {} → {}",
            h[0].loss,
            last.loss
        );
        let acc = closed_set(
            &embed(&t.model, &cfg.model, &test, &device),
            &cfg.model,
            &test,
        )
        .accuracy;
        // Chance is 10%.
        assert!(
            acc > 0.5 && last.accuracy > 0.5,
            "{head:?}: test accuracy {acc}, train {}",
            last.accuracy
        );
        if head.anneals() {
            assert!(
                h[0].lambda > last.lambda && last.lambda >= 1.0,
                "{head:?}: λ log {:?}",
                h.iter().map(|e| e.lambda).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn same_seed_same_model_and_resume_matches_an_uninterrupted_run() {
    let _alone = EXCLUSIVE_CPU.write().unwrap_or_else(|e| e.into_inner());
    let (data, _) = small_data();
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        optimizer: OptimizerKind::Sgd { momentum: 0.9 },
        lr: 0.05,
        ..config(MarginHead::ASoftmax { m: 2 }, 3)
    };
    let full = run(&cfg, &data, &RunOptions::default()).unwrap();
    let again = run(&cfg, &data, &RunOptions::default()).unwrap();
    assert!(
        fingerprint(&full) == fingerprint(&again),
        "same seed, same threads: same weights"
    );
    let other = run(
        &TrainConfig {
            seed: 8,
            ..cfg.clone()
        },
        &data,
        &RunOptions::default(),
    )
    .unwrap();
    assert!(fingerprint(&full) != fingerprint(&other));

    let ck = dir.path().join("run.sxnn");
    let first = RunOptions {
        checkpoint: Some(ck.clone()),
        stop_after: Some(1),
        ..Default::default()
    };
    run(&cfg, &data, &first).unwrap();
    assert_eq!(Checkpoint::load(&ck).unwrap().header.epochs_done, 1);
    let rest = RunOptions {
        checkpoint: Some(ck.clone()),
        resume: Some(ck.clone()),
        ..Default::default()
    };
    let resumed = run(&cfg, &data, &rest).unwrap();
    assert_eq!(resumed.header.step, full.header.step);
    assert!(
        fingerprint(&resumed) == fingerprint(&full),
        "resumed run = uninterrupted run"
    );
    assert_eq!(
        resumed
            .header
            .history
            .iter()
            .map(|e| e.loss)
            .collect::<Vec<_>>(),
        full.header
            .history
            .iter()
            .map(|e| e.loss)
            .collect::<Vec<_>>()
    );
    // The checkpoint on disk is the final model; no temp files are left beside it.
    let on_disk = Checkpoint::load(&ck).unwrap();
    let reloaded = Trained {
        model: on_disk.model(&device()).unwrap(),
        header: on_disk.header,
    };
    assert!(fingerprint(&reloaded) == fingerprint(&full));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn divergence_is_reported_with_advice() {
    let _shared = EXCLUSIVE_CPU.read().unwrap_or_else(|e| e.into_inner());
    let (data, _) = small_data();
    let cfg = TrainConfig {
        optimizer: OptimizerKind::Sgd { momentum: 0.9 },
        lr: 1e9,
        weight_decay: 0.0,
        ..config(MarginHead::Softmax, 3)
    };
    match run(&cfg, &data, &RunOptions::default()) {
        Err(e @ NnError::Diverged { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("lower the learning rate") && msg.contains("λ_min"),
                "{msg}"
            );
        }
        Err(e) => panic!("expected divergence, got {e}"),
        Ok(t) => panic!(
            "expected divergence, trained to loss {:?}",
            t.header.history.last()
        ),
    }
}

#[test]
fn bad_settings_are_refused() {
    let (data, _) = small_data();
    let bad_lr = TrainConfig {
        lr: -1.0,
        ..config(MarginHead::Softmax, 1)
    };
    assert!(run(&bad_lr, &data, &RunOptions::default())
        .unwrap_err()
        .to_string()
        .contains("learning rate -1"));
    let wrong_size = ImageSet {
        height: 14,
        width: 56,
        ..data.clone()
    };
    let e = run(
        &config(MarginHead::Softmax, 1),
        &wrong_size,
        &RunOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("images are 14×56, the model expects 28×28"),
        "{e}"
    );
}

/// A checkpoint is bytes of parameters, not of a backend: a model trained on flex
/// evaluates to the same accuracy on libtorch (±0.1 point), and one trained on libtorch
/// loads and evaluates on flex.
#[cfg(feature = "tch")]
#[test]
fn checkpoints_move_between_flex_and_libtorch() {
    use sigmax_nn::Backend;
    let _shared = EXCLUSIVE_CPU.read().unwrap_or_else(|e| e.into_inner());
    let (data, test) = small_data();
    let dir = tempfile::tempdir().unwrap();
    let on = |b| sigmax_nn::device(b, "cpu").unwrap();
    let cfg = config(MarginHead::cosface(16.0, 0.2), 8);
    for (trained_on, other) in [
        (Backend::Flex, Backend::LibTorch),
        (Backend::LibTorch, Backend::Flex),
    ] {
        let ck = dir.path().join(format!("{trained_on}.sxnn"));
        let opts = RunOptions {
            checkpoint: Some(ck.clone()),
            ..Default::default()
        };
        train(&cfg, &data, &on(trained_on), &opts, &mut |_| {}).unwrap();
        let loaded = Checkpoint::load(&ck).unwrap();
        assert!(loaded.header.history[0]
            .device
            .starts_with(if trained_on == Backend::Flex {
                "Flex"
            } else {
                "LibTorch"
            }));
        let accuracy = |b| {
            let model = loaded.model(&on(b)).unwrap();
            closed_set(&embed(&model, &cfg.model, &test, &on(b)), &cfg.model, &test).accuracy
        };
        let (here, there) = (accuracy(trained_on), accuracy(other));
        assert!(here > 0.5, "{trained_on}: accuracy {here}");
        assert!(
            (here - there).abs() <= 0.001,
            "trained on {trained_on}: {here} there, {there} on {other}"
        );
    }
}
