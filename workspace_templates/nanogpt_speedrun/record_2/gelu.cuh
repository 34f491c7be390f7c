// GELU, exact (erf) form as the record's F.gelu: forward and backward, 8 elements a thread.
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

constexpr float gelu_inv_sqrt2 = 0.7071067811865476f;   // 1/sqrt(2)
constexpr float gelu_inv_sqrt2pi = 0.3989422804014327f;  // 1/sqrt(2*pi)

__global__ void gelu_forward_kernel(bf16* out, const bf16* inp, std::size_t vectors) {
  const std::size_t idx = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= vectors) return;
  float x[8];
  load8(x, inp + idx * 8);
#pragma unroll
  for (int i = 0; i < 8; ++i) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * gelu_inv_sqrt2));
  store8(out + idx * 8, x);
}

// d/dx x*Phi(x) = Phi(x) + x*phi(x)
__global__ void gelu_backward_kernel(bf16* dinp, const bf16* inp, const bf16* dout, std::size_t vectors) {
  const std::size_t idx = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= vectors) return;
  float x[8], d[8];
  load8(x, inp + idx * 8);
  load8(d, dout + idx * 8);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const float cdf = 0.5f * (1.0f + erff(x[i] * gelu_inv_sqrt2));
    const float pdf = gelu_inv_sqrt2pi * __expf(-0.5f * x[i] * x[i]);
    d[i] *= cdf + x[i] * pdf;
  }
  store8(dinp + idx * 8, d);
}

void gelu_forward(bf16* out, const bf16* inp, std::size_t n, cudaStream_t stream) {
  gelu_forward_kernel<<<ceil_div(n / 8, 256), 256, 0, stream>>>(out, inp, n / 8);
  CUDA_CHECK_LAUNCH();
}

void gelu_backward(bf16* dinp, const bf16* inp, const bf16* dout, std::size_t n, cudaStream_t stream) {
  gelu_backward_kernel<<<ceil_div(n / 8, 256), 256, 0, stream>>>(dinp, inp, dout, n / 8);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
