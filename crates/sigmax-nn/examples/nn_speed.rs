//! Training speed of sigmax-nn on this machine: images/s of a full training step (forward,
//! backward, Adam update) for the MLP and the CNN, and the share of a step the margin head
//! takes. `bench/nn_speed.sh` runs it beside the same networks in PyTorch.
//!
//! Usage: nn_speed [STEPS] [BACKEND] (default 30 steps on the build's default backend:
//! flex, or libtorch when built with `--features tch`; `libtorch-burn-ops` is libtorch with
//! burn's own convolution and ReLU instead of libtorch's native ones, `ops::use_burn_ops_only`;
//! batch 128, 28×28 images, features 64, 10 classes). Prints CSV rows
//! `backend,net,head,seconds_per_step,images_per_second`. Like the sigmax-nn binary, it keeps
//! freed buffers for reuse (`allocator::reuse_freed_memory`); the bench gives PyTorch the
//! same malloc settings.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int, Tensor};
use sigmax::margin::MarginHead;
use sigmax_nn::heads::{cross_entropy, margin_logits, ClassWeights};
use sigmax_nn::model::{FeatureModel, ModelSpec};
use sigmax_nn::nets::NetSpec;
use sigmax_nn::Backend;
use std::time::Instant;

const BATCH: usize = 128;
const DIM: usize = 64;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median seconds per step of `step` after warm-up (at least 3 steps and 1 s: thread pools,
/// allocator and caches settle), over at least `steps` steps and 2 s (a 2-ms MLP step needs
/// hundreds for a stable median on this VM). bench/nn_speed.py times PyTorch the same way.
fn time_steps(steps: usize, mut step: impl FnMut()) -> f64 {
    let warm = Instant::now();
    let mut done = 0;
    while done < 3 || warm.elapsed().as_secs_f64() < 1.0 {
        step();
        done += 1;
    }
    let start = Instant::now();
    let mut times = Vec::new();
    while times.len() < steps || start.elapsed().as_secs_f64() < 2.0 {
        let t = Instant::now();
        step();
        times.push(t.elapsed().as_secs_f64());
    }
    median(times)
}

const HEADS: [(&str, MarginHead); 3] = [
    ("Softmax", MarginHead::Softmax),
    ("A-Softmax m=4", MarginHead::ASoftmax { m: 4 }),
    (
        "ArcFace s=30 m=0.5",
        MarginHead::CombinedMargin {
            s: 30.0,
            m1: 1.0,
            m2: 0.5,
            m3: 0.0,
        },
    ),
];

fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    sigmax_nn::allocator::reuse_freed_memory();
    let arg = std::env::args().nth(2);
    let burn_ops = arg.as_deref() == Some("libtorch-burn-ops");
    let backend = match arg.as_deref() {
        Some("libtorch-burn-ops") => Backend::LibTorch,
        Some(name) => name.parse().unwrap_or_else(|e| panic!("{e}")),
        None => Backend::default_for_build(),
    };
    sigmax_nn::ops::use_burn_ops_only(burn_ops);
    let label = if burn_ops {
        "libtorch-burn-ops".to_string()
    } else {
        backend.to_string()
    };
    let device: Device = sigmax_nn::device(backend, "cpu").unwrap_or_else(|e| panic!("{e}"));
    device.seed(1);
    let images = Tensor::<4>::random(
        [BATCH, 1, 28, 28],
        Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let labels: Tensor<1, Int> =
        Tensor::<1>::random([BATCH], Distribution::Uniform(0.0, 9.99), &device)
            .floor()
            .int();
    println!("backend,net,head,seconds_per_step,images_per_second");
    for net in [
        NetSpec::Mlp {
            hidden: vec![256, 256],
        },
        NetSpec::cnn_default(),
    ] {
        // The first model trained in a process ran 20–40% slower than identical later ones
        // (allocator and thread-pool state): one is trained and dropped per network.
        let heads = std::iter::once(("warm-up", HEADS[0].1)).chain(HEADS);
        for (name, head) in heads {
            let spec = ModelSpec {
                net: net.clone(),
                head,
                dim: DIM,
                height: 28,
                width: 28,
                classes: (0..10).collect(),
            };
            let mut model = FeatureModel::new(&spec, &device);
            let mut optim = AdamConfig::new().init();
            let t = time_steps(steps, || {
                let f = model.features(images.clone());
                let loss = cross_entropy(
                    model.margin_logits(&spec, f, labels.clone(), 5.0),
                    labels.clone(),
                );
                let g = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-3, model.clone(), g);
            });
            if name == "warm-up" {
                continue;
            }
            println!(
                "{label},{},{name},{:.5},{:.0}",
                net.name(),
                t,
                BATCH as f64 / t
            );
        }
    }
    // The head alone (features a leaf tensor): forward + backward + update of W.
    for (name, head) in HEADS {
        let x = Tensor::<2>::random([BATCH, DIM], Distribution::Default, &device).require_grad();
        let mut w = ClassWeights::new(10, DIM, &device);
        let mut optim = AdamConfig::new().init();
        let t = time_steps(steps, || {
            let loss = cross_entropy(
                margin_logits(head, x.clone(), w.weight.val(), labels.clone(), 5.0),
                labels.clone(),
            );
            let g = GradientsParams::from_grads(loss.backward(), &w);
            w = optim.step(1e-3, w.clone().train(), g);
        });
        println!("{label},head-only,{name},{:.5},{:.0}", t, BATCH as f64 / t);
    }
}
