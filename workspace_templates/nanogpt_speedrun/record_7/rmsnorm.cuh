// Weightless RMSNorm over channels, computed in fp32: y = x / sqrt(mean(x^2) + eps), eps
// F.rms_norm's default for the record's fp32 residual stream (fp32's machine epsilon).
// No gain and no bias, so the backward pass has no parameter gradient to reduce:
// each row's gradient depends on that row alone (no cross-block sums).
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

constexpr float rmsnorm_eps = 1.1920929e-07f;  // 2^-23

// One warp per row; each lane handles 8 channels per 256. rstd (N) is kept for the backward pass.
__global__ void rmsnorm_forward_kernel(bf16* out, float* rstd, const bf16* inp, int N, int C) {
  const int row = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (row >= N) return;
  const bf16* x = inp + std::size_t(row) * C;
  float squares = 0.0f;
  for (int c = lane * 8; c < C; c += 256) {
    float v[8];
    load8(v, x + c);
#pragma unroll
    for (int i = 0; i < 8; ++i) squares += v[i] * v[i];
  }
  const float s = rsqrtf(warp_sum(squares) / C + rmsnorm_eps);
  bf16* o = out + std::size_t(row) * C;
  for (int c = lane * 8; c < C; c += 256) {
    float v[8];
    load8(v, x + c);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] *= s;
    store8(o + c, v);
  }
  if (lane == 0) rstd[row] = s;
}

// dx += s * (dy - y * mean(dy * y)), y = x * s: the residual stream's gradient accumulates.
__global__ void rmsnorm_backward_kernel(bf16* dinp, const bf16* dout, const bf16* inp, const float* rstd, int N,
                                        int C) {
  const int row = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (row >= N) return;
  const bf16* x = inp + std::size_t(row) * C;
  const bf16* d = dout + std::size_t(row) * C;
  const float s = rstd[row];
  float dot = 0.0f;
  for (int c = lane * 8; c < C; c += 256) {
    float xv[8], dv[8];
    load8(xv, x + c);
    load8(dv, d + c);
#pragma unroll
    for (int i = 0; i < 8; ++i) dot += dv[i] * xv[i] * s;
  }
  const float mean_dot = warp_sum(dot) / C;
  bf16* dx = dinp + std::size_t(row) * C;
  for (int c = lane * 8; c < C; c += 256) {
    float xv[8], dv[8], acc[8];
    load8(xv, x + c);
    load8(dv, d + c);
    load8(acc, dx + c);
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i] += s * (dv[i] - xv[i] * s * mean_dot);
    store8(dx + c, acc);
  }
}

void rmsnorm_forward(bf16* out, float* rstd, const bf16* inp, int N, int C, cudaStream_t stream) {
  const int block = 256;
  rmsnorm_forward_kernel<<<ceil_div(std::size_t(N) * 32, block), block, 0, stream>>>(out, rstd, inp, N, C);
  CUDA_CHECK_LAUNCH();
}

void rmsnorm_backward(bf16* dinp, const bf16* dout, const bf16* inp, const float* rstd, int N, int C,
                      cudaStream_t stream) {
  const int block = 256;
  rmsnorm_backward_kernel<<<ceil_div(std::size_t(N) * 32, block), block, 0, stream>>>(dinp, dout, inp, rstd, N, C);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
