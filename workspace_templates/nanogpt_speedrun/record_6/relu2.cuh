// ReLU squared, max(x, 0)^2: the MLP's activation from record 5 on (cheaper
// than GELU's tanh and trains faster here). Forward and backward, 8 elements a thread.
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

__global__ void relu2_forward_kernel(bf16* out, const bf16* inp, std::size_t vectors) {
  const std::size_t idx = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= vectors) return;
  float x[8];
  load8(x, inp + idx * 8);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const float r = fmaxf(x[i], 0.0f);
    x[i] = r * r;
  }
  store8(out + idx * 8, x);
}

__global__ void relu2_backward_kernel(bf16* dinp, const bf16* inp, const bf16* dout, std::size_t vectors) {
  const std::size_t idx = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= vectors) return;
  float x[8], d[8];
  load8(x, inp + idx * 8);
  load8(d, dout + idx * 8);
#pragma unroll
  for (int i = 0; i < 8; ++i) d[i] *= 2.0f * fmaxf(x[i], 0.0f);
  store8(dinp + idx * 8, d);
}

void relu2_forward(bf16* out, const bf16* inp, std::size_t n, cudaStream_t stream) {
  relu2_forward_kernel<<<ceil_div(n / 8, 256), 256, 0, stream>>>(out, inp, n / 8);
  CUDA_CHECK_LAUNCH();
}

void relu2_backward(bf16* dinp, const bf16* inp, const bf16* dout, std::size_t n, cudaStream_t stream) {
  relu2_backward_kernel<<<ceil_div(n / 8, 256), 256, 0, stream>>>(dinp, inp, dout, n / 8);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
