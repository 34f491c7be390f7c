// Device helpers shared by the layer kernels: 16-byte bf16 vectors and warp
// and block reductions. Included only by kernels.cu.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace speedrunner::cuda {

using bf16 = __nv_bfloat16;

// Eight bf16 in one 16-byte load or store; callers keep pointers 16-byte aligned
// (every row length in the model is a multiple of 8).
__device__ inline void load8(float (&f)[8], const bf16* p) {
  const int4 raw = *reinterpret_cast<const int4*>(p);
  const bf16* b = reinterpret_cast<const bf16*>(&raw);
#pragma unroll
  for (int i = 0; i < 8; ++i) f[i] = __bfloat162float(b[i]);
}

__device__ inline void store8(bf16* p, const float (&f)[8]) {
  int4 raw;
  bf16* b = reinterpret_cast<bf16*>(&raw);
#pragma unroll
  for (int i = 0; i < 8; ++i) b[i] = __float2bfloat16(f[i]);
  *reinterpret_cast<int4*>(p) = raw;
}

__device__ inline float warp_sum(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

__device__ inline float warp_max(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}

// Sum over the block; every thread gets the result. blockDim.x a multiple of 32, <= 1024.
__device__ inline float block_sum(float x) {
  __shared__ float partial[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  x = warp_sum(x);
  __syncthreads();  // partial may still be read by a previous call
  if (lane == 0) partial[warp] = x;
  __syncthreads();
  x = lane < warps ? partial[lane] : 0.0f;
  return warp_sum(x);
}

__device__ inline float block_max(float x) {
  __shared__ float partial[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  x = warp_max(x);
  __syncthreads();
  if (lane == 0) partial[warp] = x;
  __syncthreads();
  x = lane < warps ? partial[lane] : -INFINITY;
  return warp_max(x);
}

inline int ceil_div(long long a, long long b) { return int((a + b - 1) / b); }

}  // namespace speedrunner::cuda
