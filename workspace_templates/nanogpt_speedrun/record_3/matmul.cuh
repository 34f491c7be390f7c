// The part of the linear layers cuBLASLt does not do for us: the bias gradient
// (column sums of dout). The GEMMs themselves are in blas.cpp.
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

// Block (32, 8): each x-thread owns 8 adjacent columns of a 256-column slab;
// the 8 y-rows and gridDim.y blocks stride over rows; partials meet in shared
// memory, then one atomic add per column per block.
__global__ void bias_backward_kernel(float* dbias, const bf16* dout, int N, int OC) {
  __shared__ float partial[8][256];
  const int c = blockIdx.x * 256 + threadIdx.x * 8;
  float acc[8] = {};
  if (c < OC)
    for (int n = blockIdx.y * 8 + threadIdx.y; n < N; n += gridDim.y * 8) {
      float d[8];
      load8(d, dout + std::size_t(n) * OC + c);
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[i] += d[i];
    }
#pragma unroll
  for (int i = 0; i < 8; ++i) partial[threadIdx.y][threadIdx.x * 8 + i] = acc[i];
  __syncthreads();
  const int col = threadIdx.y * 32 + threadIdx.x;  // 256 threads, one column each
  float sum = 0.0f;
#pragma unroll
  for (int r = 0; r < 8; ++r) sum += partial[r][col];
  if (blockIdx.x * 256 + col < OC) atomicAdd(dbias + blockIdx.x * 256 + col, sum);
}

void bias_backward(float* dbias, const bf16* dout, int N, int OC, cudaStream_t stream) {
  const int slabs = ceil_div(OC, 256);
  const int row_blocks = std::max(1, std::min(ceil_div(N, 64), 4 * sm_count() / slabs));
  bias_backward_kernel<<<dim3(slabs, row_blocks), dim3(32, 8), 0, stream>>>(dbias, dout, N, OC);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
