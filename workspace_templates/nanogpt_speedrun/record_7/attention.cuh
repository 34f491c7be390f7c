// Causal self-attention's own kernels: moving q, k, v between the (B,T,3,NH,HS)
// layout of the qkv projection and per-head (B,NH,T,HS) blocks for the batched
// GEMMs, and the causal softmax over (B,NH,T,T) scores. blas.cpp chains them
// with the GEMMs (attention_forward / attention_backward).
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

// One thread per 8 head channels of one (b, h, t). `to_heads` picks the direction.
template <bool to_heads>
__global__ void split_heads_kernel(bf16* q, bf16* k, bf16* v, bf16* qkv, int B, int T, int NH, int HS) {
  const std::size_t idx = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int per_row = HS / 8;
  if (idx >= std::size_t(B) * NH * T * per_row) return;
  const int i = int(idx % per_row) * 8;
  const int t = int(idx / per_row % T), h = int(idx / per_row / T % NH), b = int(idx / per_row / T / NH);
  const std::size_t C = std::size_t(NH) * HS;
  bf16* packed = qkv + (std::size_t(b) * T + t) * 3 * C + std::size_t(h) * HS + i;
  const std::size_t head = ((std::size_t(b) * NH + h) * T + t) * HS + i;
  auto* p = reinterpret_cast<int4*>(packed);
  if (to_heads) {
    *reinterpret_cast<int4*>(q + head) = p[0];
    *reinterpret_cast<int4*>(k + head) = *reinterpret_cast<int4*>(packed + C);
    *reinterpret_cast<int4*>(v + head) = *reinterpret_cast<int4*>(packed + 2 * C);
  } else {
    p[0] = *reinterpret_cast<const int4*>(q + head);
    *reinterpret_cast<int4*>(packed + C) = *reinterpret_cast<const int4*>(k + head);
    *reinterpret_cast<int4*>(packed + 2 * C) = *reinterpret_cast<const int4*>(v + head);
  }
}

template <bool to_rows>
__global__ void merge_heads_kernel(bf16* rows, bf16* heads, int B, int T, int NH, int HS) {
  const std::size_t idx = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int per_row = HS / 8;
  if (idx >= std::size_t(B) * NH * T * per_row) return;
  const int i = int(idx % per_row) * 8;
  const int t = int(idx / per_row % T), h = int(idx / per_row / T % NH), b = int(idx / per_row / T / NH);
  bf16* r = rows + (std::size_t(b) * T + t) * NH * HS + std::size_t(h) * HS + i;
  bf16* hd = heads + ((std::size_t(b) * NH + h) * T + t) * HS + i;
  if (to_rows)
    *reinterpret_cast<int4*>(r) = *reinterpret_cast<const int4*>(hd);
  else
    *reinterpret_cast<int4*>(hd) = *reinterpret_cast<const int4*>(r);
}

// One warp per row; an online (max, sum) pass, then the write pass.
__global__ void causal_softmax_forward_kernel(bf16* att, int rows, int T) {
  const int row = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int t = row % T;
  bf16* a = att + std::size_t(row) * T;
  float m = -INFINITY, s = 0.0f;
  for (int u = lane; u <= t; u += 32) {
    const float x = __bfloat162float(a[u]);
    const float nm = fmaxf(m, x);
    s = s * __expf(m - nm) + __expf(x - nm);
    m = nm;
  }
  const float row_max = warp_max(m);
  s = m == -INFINITY ? 0.0f : s * __expf(m - row_max);
  const float inv = 1.0f / warp_sum(s);
  for (int u = lane; u < T; u += 32)
    a[u] = __float2bfloat16(u <= t ? __expf(__bfloat162float(a[u]) - row_max) * inv : 0.0f);
}

__global__ void causal_softmax_backward_kernel(bf16* datt, const bf16* att, int rows, int T, float scale) {
  const int row = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int t = row % T;
  bf16* d = datt + std::size_t(row) * T;
  const bf16* a = att + std::size_t(row) * T;
  float dot = 0.0f;
  for (int u = lane; u <= t; u += 32) dot += __bfloat162float(a[u]) * __bfloat162float(d[u]);
  dot = warp_sum(dot);
  for (int u = lane; u < T; u += 32)
    d[u] = __float2bfloat16(
        u <= t ? scale * __bfloat162float(a[u]) * (__bfloat162float(d[u]) - dot) : 0.0f);
}

void attention_split_heads(bf16* q, bf16* k, bf16* v, const bf16* qkv, int B, int T, int NH, int HS,
                           cudaStream_t stream) {
  const std::size_t threads = std::size_t(B) * NH * T * HS / 8;
  split_heads_kernel<true><<<ceil_div(threads, 256), 256, 0, stream>>>(q, k, v, const_cast<bf16*>(qkv), B, T, NH,
                                                                       HS);
  CUDA_CHECK_LAUNCH();
}

void attention_split_heads_backward(bf16* dqkv, const bf16* dq, const bf16* dk, const bf16* dv, int B, int T,
                                    int NH, int HS, cudaStream_t stream) {
  const std::size_t threads = std::size_t(B) * NH * T * HS / 8;
  split_heads_kernel<false><<<ceil_div(threads, 256), 256, 0, stream>>>(
      const_cast<bf16*>(dq), const_cast<bf16*>(dk), const_cast<bf16*>(dv), dqkv, B, T, NH, HS);
  CUDA_CHECK_LAUNCH();
}

void attention_merge_heads(bf16* out, const bf16* y, int B, int T, int NH, int HS, cudaStream_t stream) {
  const std::size_t threads = std::size_t(B) * NH * T * HS / 8;
  merge_heads_kernel<true><<<ceil_div(threads, 256), 256, 0, stream>>>(out, const_cast<bf16*>(y), B, T, NH, HS);
  CUDA_CHECK_LAUNCH();
}

void attention_merge_heads_backward(bf16* dy, const bf16* dout, int B, int T, int NH, int HS, cudaStream_t stream) {
  const std::size_t threads = std::size_t(B) * NH * T * HS / 8;
  merge_heads_kernel<false><<<ceil_div(threads, 256), 256, 0, stream>>>(const_cast<bf16*>(dout), dy, B, T, NH, HS);
  CUDA_CHECK_LAUNCH();
}

void causal_softmax_forward(bf16* att, int rows, int T, cudaStream_t stream) {
  causal_softmax_forward_kernel<<<ceil_div(std::size_t(rows) * 32, 256), 256, 0, stream>>>(att, rows, T);
  CUDA_CHECK_LAUNCH();
}

void causal_softmax_backward(bf16* datt, const bf16* att, int rows, int T, float scale, cudaStream_t stream) {
  causal_softmax_backward_kernel<<<ceil_div(std::size_t(rows) * 32, 256), 256, 0, stream>>>(datt, att, rows, T,
                                                                                            scale);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
