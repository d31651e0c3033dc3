//! burn's autograd through the tensor-op heads equals the core's explicit gradients
//! (`sigmax::margin::MarginLoss`, itself checked against finite differences and PyTorch).

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use sigmax::margin::{MarginHead, MarginLoss};
use sigmax_nn::heads::{cross_entropy, margin_logits};

fn tensor(v: &[f64], shape: [usize; 2], device: &Device) -> Tensor<2> {
    let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(v, shape), device).require_grad()
}

fn values(t: Tensor<2>) -> Vec<f64> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-3);
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
        / scale
}

#[test]
fn autograd_equals_explicit_gradients_for_every_head() {
    // flex in the default build, libtorch's CPU with `--features tch`.
    let device = sigmax_nn::device(sigmax_nn::Backend::default_for_build(), "cpu").unwrap();
    let (n, d, k) = (12, 6, 5);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let heads = [
        MarginHead::Softmax,
        MarginHead::LSoftmax { m: 2 },
        MarginHead::LSoftmax { m: 3 },
        MarginHead::LSoftmax { m: 4 },
        MarginHead::ModifiedSoftmax,
        MarginHead::ASoftmax { m: 2 },
        MarginHead::ASoftmax { m: 4 },
        MarginHead::cosface(30.0, 0.35),
        MarginHead::arcface(30.0, 0.5),
        MarginHead::CombinedMargin {
            s: 16.0,
            m1: 1.35,
            m2: 0.2,
            m3: 0.1,
        },
    ];
    let mut checked = 0;
    for trial in 0..3 {
        let x: Vec<f64> = (0..n * d).map(|_| rng.random_range(-1.5..1.5)).collect();
        let w: Vec<f64> = (0..k * d).map(|_| rng.random_range(-1.0..1.0)).collect();
        let y: Vec<u32> = (0..n).map(|i| ((i + trial) % k) as u32).collect();
        for head in heads {
            for lambda in [0.0, 2.5] {
                if lambda > 0.0 && !head.anneals() {
                    continue;
                }
                let mut explicit = MarginLoss::<f64>::new(head).unwrap();
                let want = explicit.compute(&x, &w, &y, d, lambda, true).unwrap();
                let (xt, wt) = (tensor(&x, [n, d], &device), tensor(&w, [k, d], &device));
                let yt: Tensor<1, Int> = Tensor::from_data(
                    TensorData::new(y.iter().map(|&v| v as i64).collect::<Vec<_>>(), [n]),
                    &device,
                );
                let loss = cross_entropy(
                    margin_logits(head, xt.clone(), wt.clone(), yt.clone(), lambda),
                    yt,
                );
                let got = loss.clone().into_scalar::<f32>() as f64;
                let grads = loss.backward();
                let gx = values(xt.grad(&grads).unwrap());
                let gw = values(wt.grad(&grads).unwrap());
                let what = format!("{head:?} λ={lambda} trial {trial}");
                assert!(
                    (got - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{what}: loss {got} vs {want}"
                );
                assert!(
                    max_rel_diff(&gx, explicit.grad_features()) < 2e-3,
                    "{what}: ∂L/∂x {gx:?} vs {:?}",
                    explicit.grad_features()
                );
                assert!(
                    max_rel_diff(&gw, explicit.grad_weights()) < 2e-3,
                    "{what}: ∂L/∂W {gw:?} vs {:?}",
                    explicit.grad_weights()
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 3 * 15); // 10 heads, 5 of them also with λ = 2.5
}
