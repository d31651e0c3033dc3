//! The networks' convolution and ReLU. On burn's LibTorch backend (the `tch` feature) they
//! run as libtorch's own operations forward and backward (`libtorch`): burn-tch 0.22.1 has
//! no `conv2d_weight_backward` or `relu_backward` of its own, so burn's generic ones ran
//! there: a convolution by the output gradient and a compare-and-fill (a CNN softmax step
//! of batch 128 on 2 cores: 59 ms with them, 44 ms with libtorch's, PyTorch 40 ms;
//! `bench/nn_speed.sh --tch`, rows `libtorch-burn-ops` and `libtorch`). Every other backend,
//! and every convolution libtorch cannot take as it is (asymmetric padding, no bias), uses
//! burn's operations unchanged.

#[cfg(feature = "tch")]
mod libtorch;

use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use std::sync::atomic::{AtomicBool, Ordering};

static BURN_OPS_ONLY: AtomicBool = AtomicBool::new(false);

/// With `true`, every backend uses burn's own convolution and ReLU from now on (libtorch's
/// native ones are off), process-wide: for measuring what the native ones buy
/// (`examples/nn_speed`); the numbers are the same either way up to rounding.
pub fn use_burn_ops_only(yes: bool) {
    BURN_OPS_ONLY.store(yes, Ordering::Relaxed);
}

#[cfg_attr(not(feature = "tch"), allow(dead_code))]
fn native_allowed() -> bool {
    !BURN_OPS_ONLY.load(Ordering::Relaxed)
}

/// `conv.forward(x)`, by libtorch's convolution and its native backward where `x` lives on
/// the LibTorch backend.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "tch")]
    if native_allowed() {
        if let Some(y) = libtorch::conv2d(conv, &x) {
            return y;
        }
    }
    conv.forward(x)
}

/// max(x, 0), by libtorch's ReLU and threshold backward where `x` lives on the LibTorch
/// backend.
pub fn relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "tch")]
    if native_allowed() {
        if let Some(y) = libtorch::relu(&x) {
            return y;
        }
    }
    burn::tensor::activation::relu(x)
}

#[cfg(test)]
mod tests {
    //! On the build's default backend (libtorch with `tch`, where the native ops run; flex
    //! otherwise, where both sides are burn's and the test checks the dispatch only), the
    //! ops give burn's own values and gradients.
    use super::*;
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::PaddingConfig2d;
    use burn::tensor::{Device, Distribution, TensorData};

    fn device() -> Device {
        crate::device(crate::Backend::default_for_build(), "cpu").unwrap()
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// The output and the gradients (x, weight, bias) of sum(conv(x) ⊙ r).
    fn conv_and_grads(
        conv: &Conv2d,
        x: &Tensor<4>,
        r: &Tensor<4>,
        forward: impl Fn(&Conv2d, Tensor<4>) -> Tensor<4>,
    ) -> [Vec<f32>; 4] {
        let x = x.clone().detach().require_grad();
        let y = forward(conv, x.clone());
        let grads = (y.clone() * r.clone()).sum().backward();
        let bias = conv.bias.as_ref().unwrap().val();
        [
            values(y),
            values(x.grad(&grads).unwrap()),
            values(conv.weight.val().grad(&grads).unwrap()),
            values(bias.grad(&grads).unwrap()),
        ]
    }

    #[test]
    fn the_gradients_equal_burns_own_conv2d() {
        let device = device();
        device.seed(7);
        // The CNN's layers, and one with every geometry parameter away from its default
        // (a mix-up of rows and columns, or a dropped stride, dilation or group, fails).
        let layers = [
            (Conv2dConfig::new([1, 8], [3, 3]), [4, 1, 12, 12]),
            (Conv2dConfig::new([8, 6], [3, 3]), [3, 8, 10, 10]),
            (
                Conv2dConfig::new([4, 6], [3, 2])
                    .with_stride([2, 1])
                    .with_dilation([1, 2])
                    .with_groups(2),
                [2, 4, 11, 9],
            ),
        ];
        for (i, (config, shape)) in layers.into_iter().enumerate() {
            let padding = if i == 2 {
                PaddingConfig2d::Explicit(2, 1, 2, 1)
            } else {
                PaddingConfig2d::Explicit(1, 1, 1, 1)
            };
            let conv = config.with_padding(padding).init(&device);
            let x = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);
            let probe = conv.forward(x.clone());
            let r = Tensor::<4>::random(probe.dims(), Distribution::Uniform(-1.0, 1.0), &device);
            let ours = conv_and_grads(&conv, &x, &r, conv2d);
            let burns = conv_and_grads(&conv, &x, &r, |c, x| c.forward(x));
            for (what, (a, b)) in ["output", "d/dx", "d/dweight", "d/dbias"]
                .iter()
                .zip(ours.iter().zip(&burns))
            {
                let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
                let diff = max_abs_diff(a, b) / scale;
                assert!(diff < 1e-5, "layer {i}: {what} differs by {diff:e}");
            }
        }
    }

    #[test]
    fn relu_gradient_equals_burns_own_and_keeps_its_input() {
        let device = device();
        let v = [-2.0f32, -0.5, 0.0, 0.25, 1.5, -1.0, 3.0, 0.0];
        let x = Tensor::<2>::from_data(TensorData::new(v.to_vec(), [2, 4]), &device).require_grad();
        let r = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [2, 4]),
            &device,
        );
        let y = relu(x.clone());
        let grads = (y.clone() * r).sum().backward();
        assert_eq!(values(y), [0.0, 0.0, 0.0, 0.25, 1.5, 0.0, 3.0, 0.0]);
        // The gradient passes where x > 0 (PyTorch's convention at 0: none).
        assert_eq!(
            values(x.grad(&grads).unwrap()),
            [0.0, 0.0, 0.0, 4.0, 5.0, 0.0, 7.0, 0.0]
        );
        // The input is still intact (no in-place ReLU on a tensor that is used again).
        assert_eq!(values(x), v);
    }
}
