// Fused softmax + cross-entropy over the vocabulary, one block per row, the
// logits overwritten by dlogits in place. Up to 51,200 columns the row stays in
// registers between reading and writing (the (N, Vp) logits are read once and
// written once); wider rows are read twice, the first time for an online (max, sum).
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

__global__ void softmax_cross_entropy_kernel(float* losses, bf16* logits, const int* targets, int V,
                                             int Vp, float dloss) {
  __shared__ float shared_m[32], shared_s[32];
  const int row = blockIdx.x, lane = threadIdx.x % 32, warp = threadIdx.x / 32,
            warps = blockDim.x / 32;
  bf16* x = logits + std::size_t(row) * Vp;
  float m = -INFINITY, s = 0.0f;
  for (int c = threadIdx.x * 8; c < V; c += blockDim.x * 8) {
    float v[8];
    load8(v, x + c);
    // one rescale per 8 logits, not per logit: exponentials are this kernel's cost
    float chunk_max = -INFINITY;
#pragma unroll
    for (int i = 0; i < 8; ++i)
      if (c + i < V) chunk_max = fmaxf(chunk_max, v[i]);
    if (chunk_max > m) {
      s *= __expf(m - chunk_max);
      m = chunk_max;
    }
#pragma unroll
    for (int i = 0; i < 8; ++i)
      if (c + i < V) s += __expf(v[i] - m);
  }
  // combine (m, s) pairs: warps, then the block
  const float wm = warp_max(m);
  float ws = warp_sum(m == -INFINITY ? 0.0f : s * __expf(m - wm));
  if (lane == 0) shared_m[warp] = wm, shared_s[warp] = ws;
  const int target = targets[row];
  const float target_logit = __bfloat162float(x[target]);  // read before anyone overwrites it
  __syncthreads();
  float bm = -INFINITY;
  for (int w = 0; w < warps; ++w) bm = fmaxf(bm, shared_m[w]);
  float bs = 0.0f;
  for (int w = 0; w < warps; ++w)
    bs += shared_m[w] == -INFINITY ? 0.0f : shared_s[w] * __expf(shared_m[w] - bm);
  const float lse = bm + __logf(bs);
  if (threadIdx.x == 0) losses[row] = lse - target_logit;
  __syncthreads();  // every thread has read x[target] before the writes below
  for (int c = threadIdx.x * 8; c < Vp; c += blockDim.x * 8) {
    float v[8];
    load8(v, x + c);
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const int col = c + i;
      v[i] = col < V ? (__expf(v[i] - lse) - (col == target ? 1.0f : 0.0f)) * dloss : 0.0f;
    }
    store8(x + c, v);
  }
}

// The row in registers: thread i holds 16-byte vectors i, i + 256, ... (VPT of them).
constexpr int resident_threads = 256;
template <int VPT>
__global__ void __launch_bounds__(resident_threads, 2)  // two rows in flight per multiprocessor
    softmax_cross_entropy_resident_kernel(float* losses, bf16* logits, const int* targets, int V,
                                          int Vp, float dloss) {
  const int row = blockIdx.x;
  bf16* x = logits + std::size_t(row) * Vp;
  const int target = targets[row];
  // read before the block's first barrier; every write comes after the last one
  const float target_logit = threadIdx.x == 0 ? __bfloat162float(x[target]) : 0.0f;
  int4 raw[VPT];
#pragma unroll
  for (int j = 0; j < VPT; ++j) {
    const int c = (j * resident_threads + threadIdx.x) * 8;
    if (c < Vp) raw[j] = *reinterpret_cast<const int4*>(x + c);
  }
  const auto value = [&](int j, int i) {
    return __bfloat162float(reinterpret_cast<const bf16*>(&raw[j])[i]);
  };
  float m = -INFINITY;
#pragma unroll
  for (int j = 0; j < VPT; ++j) {
    const int c = (j * resident_threads + threadIdx.x) * 8;
#pragma unroll
    for (int i = 0; i < 8; ++i)
      if (c + i < V) m = fmaxf(m, value(j, i));
  }
  m = block_max(m);
  float s = 0.0f;
#pragma unroll
  for (int j = 0; j < VPT; ++j) {
    const int c = (j * resident_threads + threadIdx.x) * 8;
#pragma unroll
    for (int i = 0; i < 8; ++i)
      if (c + i < V) s += __expf(value(j, i) - m);
  }
  const float lse = m + __logf(block_sum(s));
  if (threadIdx.x == 0) losses[row] = lse - target_logit;
#pragma unroll
  for (int j = 0; j < VPT; ++j) {
    const int c = (j * resident_threads + threadIdx.x) * 8;
    if (c >= Vp) continue;
    float v[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const int col = c + i;
      v[i] = col < V ? (__expf(value(j, i) - lse) - (col == target ? 1.0f : 0.0f)) * dloss : 0.0f;
    }
    store8(x + c, v);
  }
}

void softmax_cross_entropy(float* losses, bf16* logits, const int* targets, int N, int V, int Vp,
                           float dloss, cudaStream_t stream) {
  const int vectors = ceil_div(Vp / 8, resident_threads);  // per thread
  const auto resident = [&](auto kernel) {
    kernel<<<N, resident_threads, 0, stream>>>(losses, logits, targets, V, Vp, dloss);
  };
  if (vectors <= 1)
    resident(softmax_cross_entropy_resident_kernel<1>);
  else if (vectors <= 4)
    resident(softmax_cross_entropy_resident_kernel<4>);
  else if (vectors <= 8)
    resident(softmax_cross_entropy_resident_kernel<8>);
  else if (vectors <= 16)
    resident(softmax_cross_entropy_resident_kernel<16>);
  else if (vectors <= 25)  // GPT-2's 50,304 padded columns
    resident(softmax_cross_entropy_resident_kernel<25>);
  else
    softmax_cross_entropy_kernel<<<N, 512, 0, stream>>>(losses, logits, targets, V, Vp, dloss);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
