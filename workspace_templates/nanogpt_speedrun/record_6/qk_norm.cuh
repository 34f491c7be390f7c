// QK-norm: each head's q and k rows are RMS-normalised (no gain) before the rotary
// embedding (record 5 normalised after it), which bounds the attention logits. One warp
// per head row.
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

// The record's F.rms_norm on bf16 q and k takes its default eps, bf16's machine epsilon.
constexpr float qk_norm_eps = 0.0078125f;  // 2^-7

// Row r of the 2*NH head rows of token bt: part r / NH (0 q, 1 k), head r % NH.
__device__ inline bf16* qk_row(bf16* qkv, std::size_t row, int NH, int HS) {
  const std::size_t bt = row / (2 * NH);
  const int r = int(row % (2 * NH)), C = NH * HS;
  return qkv + bt * 3 * C + std::size_t(r / NH) * C + std::size_t(r % NH) * HS;
}

__global__ void qk_norm_forward_kernel(bf16* qkv, float* rstd, std::size_t rows, int NH, int HS) {
  const std::size_t row = (std::size_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  bf16* x = qk_row(qkv, row, NH, HS);
  float ss = 0.0f;
  for (int i = lane; i < HS; i += 32) {
    const float v = __bfloat162float(x[i]);
    ss += v * v;
  }
  const float s = rsqrtf(warp_sum(ss) / HS + qk_norm_eps);
  for (int i = lane; i < HS; i += 32) x[i] = __float2bfloat16(__bfloat162float(x[i]) * s);
  if (lane == 0) rstd[row] = s;
}

// y = x * s with s = rsqrt(mean(x^2)): dx = s * (dy - y * mean(dy * y)). Both
// dy and y may be rotated by the same rotary angles (that commutes with this
// step), so it runs on the stored rotated rows before rope_backward.
__global__ void qk_norm_backward_kernel(bf16* dqkv, const bf16* qkv, const float* rstd, std::size_t rows, int NH,
                                        int HS) {
  const std::size_t row = (std::size_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  bf16* dy = qk_row(dqkv, row, NH, HS);
  const bf16* y = qk_row(const_cast<bf16*>(qkv), row, NH, HS);
  float dot = 0.0f;
  for (int i = lane; i < HS; i += 32) dot += __bfloat162float(dy[i]) * __bfloat162float(y[i]);
  const float mean = warp_sum(dot) / HS, s = rstd[row];
  for (int i = lane; i < HS; i += 32)
    dy[i] = __float2bfloat16(s * (__bfloat162float(dy[i]) - __bfloat162float(y[i]) * mean));
}

void qk_norm_forward(bf16* qkv, float* rstd, int B, int T, int NH, int HS, cudaStream_t stream) {
  const std::size_t rows = std::size_t(B) * T * 2 * NH;
  qk_norm_forward_kernel<<<ceil_div(rows * 32, 256), 256, 0, stream>>>(qkv, rstd, rows, NH, HS);
  CUDA_CHECK_LAUNCH();
}

void qk_norm_backward(bf16* dqkv, const bf16* qkv, const float* rstd, int B, int T, int NH, int HS,
                      cudaStream_t stream) {
  const std::size_t rows = std::size_t(B) * T * 2 * NH;
  qk_norm_backward_kernel<<<ceil_div(rows * 32, 256), 256, 0, stream>>>(dqkv, qkv, rstd, rows, NH, HS);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
