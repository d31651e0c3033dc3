//! Convolution and ReLU on burn's LibTorch backend as libtorch computes them, gradients
//! included: a burn backend extension (`#[backend_extension]`, burn's documented way to add
//! an operation to a backend) implemented for `LibTorch` (the forward, through tch) and for
//! `Autodiff<LibTorch>` (a backward step that calls `at::convolution_backward`, compiled
//! from `libtorch_conv.cpp`, and `threshold_backward`: what PyTorch's autograd runs).
#![allow(deprecated)] // burn 0.22 marks its LibTorch backend deprecated; it is the one on libtorch

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::libtorch::TchTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Dispatch, DispatchDevice, LibTorch};
use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::tensor::Tensor;
use std::ffi::{c_char, c_int, CStr};

/// Where the generated dispatch sends the two operations: LibTorch, with and without autodiff.
#[backend_extension(LibTorch, Autodiff)]
pub trait NativeOps: burn::backend::Backend {
    /// conv2d with a bias, symmetric padding `[rows, columns]`, stride, dilation, groups.
    fn native_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: ConvGeometry,
    ) -> FloatTensor<Self>;
    fn native_relu(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// A convolution's shape parameters, as libtorch takes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConvGeometry {
    stride: [i64; 2],
    padding: [i64; 2],
    dilation: [i64; 2],
    groups: i64,
}

/// Whether `device` is on the LibTorch backend (with or without autodiff).
fn on_libtorch(device: &burn::tensor::Device) -> bool {
    matches!(
        device.clone().without_autodiff().as_dispatch(),
        DispatchDevice::LibTorch(_)
    )
}

/// The geometry of `conv` where libtorch takes its padding as it is (symmetric).
fn geometry(conv: &Conv2d) -> Option<ConvGeometry> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            [top as i64, left as i64]
        }
        _ => return None,
    };
    Some(ConvGeometry {
        stride: conv.stride.map(|s| s as i64),
        padding,
        dilation: conv.dilation.map(|d| d as i64),
        groups: conv.groups as i64,
    })
}

/// `conv.forward(x)` by libtorch, or None where `x` is not on LibTorch or libtorch cannot
/// take the convolution as it is (asymmetric padding, no bias).
pub(super) fn conv2d(conv: &Conv2d, x: &Tensor<4>) -> Option<Tensor<4>> {
    if !on_libtorch(&x.device()) {
        return None;
    }
    let geometry = geometry(conv)?;
    let bias = conv.bias.as_ref()?.val();
    Some(Tensor::from_dispatch(
        <Dispatch as NativeOps>::native_conv2d(
            x.clone().into_dispatch(),
            conv.weight.val().into_dispatch(),
            bias.into_dispatch(),
            geometry,
        ),
    ))
}

/// max(x, 0) by libtorch, or None where `x` is not on LibTorch.
pub(super) fn relu<const D: usize>(x: &Tensor<D>) -> Option<Tensor<D>> {
    if !on_libtorch(&x.device()) {
        return None;
    }
    Some(Tensor::from_dispatch(<Dispatch as NativeOps>::native_relu(
        x.clone().into_dispatch(),
    )))
}

impl NativeOps for LibTorch {
    fn native_conv2d(
        x: TchTensor,
        weight: TchTensor,
        bias: TchTensor,
        g: ConvGeometry,
    ) -> TchTensor {
        TchTensor::new(tch::Tensor::conv2d(
            &x.tensor,
            &weight.tensor,
            Some(&bias.tensor),
            g.stride,
            g.padding,
            g.dilation,
            g.groups,
        ))
    }

    fn native_relu(x: TchTensor) -> TchTensor {
        // In place where nothing else holds the storage (as burn-tch's own relu does).
        x.unary_ops(|mut t| t.relu_(), |t| t.relu())
    }
}

extern "C" {
    fn sigmax_conv2d_backward(
        grad_output: *const torch_sys::C_tensor,
        input: *const torch_sys::C_tensor,
        weight: *const torch_sys::C_tensor,
        bias_size: i64,
        stride: *const i64,
        padding: *const i64,
        dilation: *const i64,
        groups: i64,
        want_input: c_int,
        want_weight: c_int,
        want_bias: c_int,
        grad_input: *mut *mut torch_sys::C_tensor,
        grad_weight: *mut *mut torch_sys::C_tensor,
        grad_bias: *mut *mut torch_sys::C_tensor,
    ) -> c_int;
    fn sigmax_conv2d_last_error() -> *const c_char;
}

/// The wanted gradients of conv2d (input, weight, bias) for `grad`, by
/// `at::convolution_backward`.
fn conv2d_backward(
    grad: &tch::Tensor,
    x: &tch::Tensor,
    weight: &tch::Tensor,
    g: ConvGeometry,
    want: [bool; 3],
) -> [Option<tch::Tensor>; 3] {
    let bias_size = weight.size()[0];
    let mut out = [std::ptr::null_mut(); 3];
    let [gx, gw, gb] = &mut out;
    // SAFETY: the tensors outlive the call; the C++ side only reads them, and hands back
    // new at::Tensor objects (or null) that tch::Tensor::from_ptr takes ownership of.
    let status = unsafe {
        sigmax_conv2d_backward(
            grad.as_ptr(),
            x.as_ptr(),
            weight.as_ptr(),
            bias_size,
            g.stride.as_ptr(),
            g.padding.as_ptr(),
            g.dilation.as_ptr(),
            g.groups,
            want[0] as c_int,
            want[1] as c_int,
            want[2] as c_int,
            gx,
            gw,
            gb,
        )
    };
    if status != 0 {
        // SAFETY: a NUL-terminated string owned by the C++ side's thread-local.
        let message = unsafe { CStr::from_ptr(sigmax_conv2d_last_error()) };
        // burn's backward steps cannot return errors; libtorch only fails here on shapes
        // the forward already accepted, so this is a bug, not bad input.
        panic!(
            "libtorch convolution_backward: {}",
            message.to_string_lossy()
        );
    }
    // SAFETY: each non-null pointer is a fresh heap at::Tensor, owned from here on.
    out.map(|p| (!p.is_null()).then(|| unsafe { tch::Tensor::from_ptr(p) }))
}

#[derive(Debug)]
struct Conv2dStep;

impl Backward<LibTorch, 3> for Conv2dStep {
    type State = (NodeId, NodeId, ConvGeometry);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let (x_state, weight_state, geometry) = ops.state;
        let grad = grads.consume::<LibTorch>(&ops.node);
        let x: TchTensor = checkpointer.retrieve_node_output(x_state);
        let weight: TchTensor = checkpointer.retrieve_node_output(weight_state);
        let want = ops.parents.each_ref().map(Option::is_some);
        let results = conv2d_backward(&grad.tensor, &x.tensor, &weight.tensor, geometry, want);
        for (parent, result) in ops.parents.into_iter().zip(results) {
            if let (Some(node), Some(g)) = (parent, result) {
                grads.register::<LibTorch>(node.id, TchTensor::new(g));
            }
        }
    }
}

#[derive(Debug)]
struct ReluStep;

impl Backward<LibTorch, 1> for ReluStep {
    type State = NodeId;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<LibTorch>(&ops.node);
        let x: TchTensor = checkpointer.retrieve_node_output(ops.state);
        let [Some(node)] = ops.parents else {
            return;
        };
        // PyTorch's ReLU backward: the gradient where the input is > 0, else 0.
        let g = x.tensor.threshold_backward(&grad.tensor, 0.0);
        grads.register::<LibTorch>(node.id, TchTensor::new(g));
    }
}

impl<C: CheckpointStrategy> NativeOps for Autodiff<LibTorch, C> {
    fn native_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: ConvGeometry,
    ) -> FloatTensor<Self> {
        match Conv2dStep
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                prep.finish(
                    (x_state, weight_state, geometry),
                    LibTorch::native_conv2d(
                        x.into_primitive(),
                        weight.into_primitive(),
                        bias.into_primitive(),
                        geometry,
                    ),
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(LibTorch::native_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                geometry,
            )),
        }
    }

    fn native_relu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match ReluStep.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = prep.checkpoint(&x);
                prep.finish(state, LibTorch::native_relu(x.into_primitive()))
            }
            OpsKind::UnTracked(prep) => prep.finish(LibTorch::native_relu(x.into_primitive())),
        }
    }
}
