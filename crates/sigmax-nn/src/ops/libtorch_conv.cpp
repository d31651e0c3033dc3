// The gradients of a 2-D convolution by libtorch's own backward, at::convolution_backward
// (what PyTorch's autograd calls for conv2d: oneDNN on CPU, cuDNN on CUDA). tch binds the
// forward but not this backward, and burn's generic weight gradient (a convolution by the
// output gradient) is ~20x slower on the CNN's first layer. The handles are tch's tensors:
// a tch `C_tensor` is a pointer to an at::Tensor (torch-sys's torch_api.h).
#include <ATen/core/Tensor.h>
#include <ATen/ops/convolution_backward.h>

#include <array>
#include <cstring>
#include <exception>
#include <string>

namespace {
// The last error's message, per thread, for the Rust side to read.
thread_local std::string last_error;
}  // namespace

extern "C" {

// Gradients of conv2d(input, weight, bias; stride, padding, dilation, groups) for
// grad_output: writes new tensors to grad_input / grad_weight / grad_bias where `want_*`
// is non-zero (the others are left null). Returns 0, or 1 with the message in
// sigmax_conv2d_last_error().
int sigmax_conv2d_backward(const at::Tensor* grad_output, const at::Tensor* input,
                           const at::Tensor* weight, int64_t bias_size, const int64_t* stride,
                           const int64_t* padding, const int64_t* dilation, int64_t groups,
                           int want_input, int want_weight, int want_bias,
                           at::Tensor** grad_input, at::Tensor** grad_weight,
                           at::Tensor** grad_bias) {
  *grad_input = nullptr;
  *grad_weight = nullptr;
  *grad_bias = nullptr;
  try {
    std::array<bool, 3> mask{want_input != 0, want_weight != 0, want_bias != 0};
    std::array<int64_t, 1> bias_sizes{bias_size};
    std::array<int64_t, 2> no_output_padding{0, 0};
    auto grads = at::convolution_backward(
        *grad_output, *input, *weight, at::IntArrayRef(bias_sizes),
        at::IntArrayRef(stride, 2), at::IntArrayRef(padding, 2), at::IntArrayRef(dilation, 2),
        /*transposed=*/false, at::IntArrayRef(no_output_padding), groups, mask);
    if (mask[0]) *grad_input = new at::Tensor(std::move(std::get<0>(grads)));
    if (mask[1]) *grad_weight = new at::Tensor(std::move(std::get<1>(grads)));
    if (mask[2]) *grad_bias = new at::Tensor(std::move(std::get<2>(grads)));
    return 0;
  } catch (const std::exception& e) {
    last_error = e.what();
    return 1;
  }
}

const char* sigmax_conv2d_last_error() { return last_error.c_str(); }

}  // extern "C"
