// The part of the linear layers cuBLASLt does not do for us: the bias gradient
// (column sums of dout). The GEMMs themselves are in blas.cpp.
#pragma once

#include "common.cuh"
#include "device.cuh"
#include "reduce.cuh"

namespace speedrunner::cuda {

// Block (32, 8): each x-thread owns 8 adjacent columns of a 256-column slab;
// the 8 y-rows and gridDim.y blocks stride over rows; partials meet in shared
// memory, then each block writes its column sums to its row of block_partials
// (gridDim.y, OC), which add_column_sums adds up in a fixed order (no atomics).
__global__ void bias_backward_kernel(float* block_partials, const bf16* dout, int N, int OC) {
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
  if (blockIdx.x * 256 + col < OC) block_partials[std::size_t(blockIdx.y) * OC + blockIdx.x * 256 + col] = sum;
}

int bias_backward_row_blocks(int N, int OC) {
  return std::max(1, std::min(ceil_div(N, 64), 4 * sm_count() / ceil_div(OC, 256)));
}

std::size_t bias_backward_partials(int N, int OC) { return std::size_t(bias_backward_row_blocks(N, OC)) * OC; }

void bias_backward(float* dbias, const bf16* dout, int N, int OC, const Scratch& scratch, cudaStream_t stream) {
  const int slabs = ceil_div(OC, 256), row_blocks = bias_backward_row_blocks(N, OC);
  float* partials = partials_of(scratch, bias_backward_partials(N, OC));
  bias_backward_kernel<<<dim3(slabs, row_blocks), dim3(32, 8), 0, stream>>>(partials, dout, N, OC);
  CUDA_CHECK_LAUNCH();
  add_column_sums(dbias, nullptr, OC, partials, row_blocks, OC, stream);
}

}  // namespace speedrunner::cuda
