// Rotary position embedding (RoFormer): each head's q and k are split into
// halves (x1, x2) and rotated pairwise by the angle t * base^(-2i/HS), so
// q.k depends on the distance between positions; no learned position table.
#pragma once

#include "common.cuh"
#include "device.cuh"

#include <cmath>

namespace speedrunner::cuda {

constexpr double rope_base = 10000.0;

// One thread per rotated pair (i, i + HS/2) of one (b, t, q|k, head).
// Forward: (x1, x2) -> (x1 cos + x2 sin, -x1 sin + x2 cos); backward applies the transpose.
template <bool backward>
__global__ void rope_kernel(bf16* qkv, const float2* cos_sin, int T, int NH, int HS, std::size_t pairs) {
  const std::size_t idx = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= pairs) return;
  const int half = HS / 2, i = int(idx % half);
  const std::size_t head_row = idx / half;  // ((b*T + t)*2 + part)*NH + h
  const int h = int(head_row % NH), part = int(head_row / NH % 2);
  const std::size_t bt = head_row / NH / 2;
  const int t = int(bt % T), C = NH * HS;
  bf16* x = qkv + bt * 3 * C + std::size_t(part) * C + std::size_t(h) * HS;
  const float2 cs = cos_sin[std::size_t(t) * half + i];
  const float s = backward ? -cs.y : cs.y;
  const float x1 = __bfloat162float(x[i]), x2 = __bfloat162float(x[i + half]);
  x[i] = __float2bfloat16(x1 * cs.x + x2 * s);
  x[i + half] = __float2bfloat16(x2 * cs.x - x1 * s);
}

void rope_table(float* host_cos_sin, int max_seq, int HS) {
  const int half = HS / 2;
  for (int t = 0; t < max_seq; ++t)
    for (int i = 0; i < half; ++i) {
      const double angle = t * std::pow(rope_base, -2.0 * i / HS);
      host_cos_sin[(std::size_t(t) * half + i) * 2] = float(std::cos(angle));
      host_cos_sin[(std::size_t(t) * half + i) * 2 + 1] = float(std::sin(angle));
    }
}

void rope_forward(bf16* qkv, const float* cos_sin, int B, int T, int NH, int HS, cudaStream_t stream) {
  const std::size_t pairs = std::size_t(B) * T * 2 * NH * (HS / 2);
  rope_kernel<false><<<ceil_div(pairs, 256), 256, 0, stream>>>(qkv, reinterpret_cast<const float2*>(cos_sin), T,
                                                               NH, HS, pairs);
  CUDA_CHECK_LAUNCH();
}

void rope_backward(bf16* dqkv, const float* cos_sin, int B, int T, int NH, int HS, cudaStream_t stream) {
  const std::size_t pairs = std::size_t(B) * T * 2 * NH * (HS / 2);
  rope_kernel<true><<<ceil_div(pairs, 256), 256, 0, stream>>>(dqkv, reinterpret_cast<const float2*>(cos_sin), T,
                                                              NH, HS, pairs);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
