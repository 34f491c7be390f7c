// Fused softmax + cross-entropy over the vocabulary: one block per row reads
// the logits once for an online (max, sum), then overwrites them with dlogits,
// so the (N, Vp) logits are never stored twice.
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

__global__ void softmax_cross_entropy_kernel(float* losses, bf16* logits, const int* targets, int V, int Vp,
                                             float dloss) {
  __shared__ float shared_m[32], shared_s[32];
  const int row = blockIdx.x, lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
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
  for (int w = 0; w < warps; ++w) bs += shared_m[w] == -INFINITY ? 0.0f : shared_s[w] * __expf(shared_m[w] - bm);
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

void softmax_cross_entropy(float* losses, bf16* logits, const int* targets, int N, int V, int Vp, float dloss,
                           cudaStream_t stream) {
  softmax_cross_entropy_kernel<<<N, 512, 0, stream>>>(losses, logits, targets, V, Vp, dloss);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
