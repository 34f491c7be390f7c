// Whole-buffer reductions (gradient norm, loss sums), the fixed-order column
// sums every cross-block reduction ends with, and the fp32 -> bf16 copy.
// No float atomics: blocks write partial sums that one kernel adds in a fixed
// order, so results repeat bit for bit on the same GPU.
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

// The scratch's partials, checked to hold `floats` (a shortfall is a sizing bug).
inline float* partials_of(const Scratch& scratch, std::size_t floats) {
  if (floats > scratch.partial_floats) die("scratch", "partials buffer too small (see scratch_partial_floats)", __FILE__, __LINE__);
  return scratch.partials;
}

// out[col] += sum over rows of partials (rows, cols), always in the same order:
// block (32, 32), x a column; each y sums every 32nd row, then y == 0 adds the 32
// in order. Columns >= split go to out_hi[col - split] (two outputs, one launch).
__global__ void add_column_sums_kernel(float* out_lo, float* out_hi, int split, const float* partials, int rows,
                                       int cols) {
  __shared__ float part[32][33];
  const int col = blockIdx.x * 32 + threadIdx.x;
  float acc = 0.0f;
  if (col < cols)
    for (int r = threadIdx.y; r < rows; r += 32) acc += partials[std::size_t(r) * cols + col];
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y != 0 || col >= cols) return;
  float sum = 0.0f;
  for (int y = 0; y < 32; ++y) sum += part[y][threadIdx.x];
  if (col < split) out_lo[col] += sum;
  else out_hi[col - split] += sum;
}

void add_column_sums(float* out_lo, float* out_hi, int split, const float* partials, int rows, int cols,
                     cudaStream_t stream) {
  add_column_sums_kernel<<<ceil_div(cols, 32), dim3(32, 32), 0, stream>>>(out_lo, out_hi, split, partials, rows, cols);
  CUDA_CHECK_LAUNCH();
}

// One partial per block; add_column_sums finishes.
template <bool square>
__global__ void sum_kernel(float* partials, const float* x, std::size_t n, float scale) {
  float acc = 0.0f;
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x)
    acc += square ? x[i] * x[i] : x[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc * scale;
}

__global__ void float_to_bf16_kernel(bf16* out, const float* in, std::size_t n) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x)
    out[i] = __float2bfloat16(in[i]);
}

void sum_squares(float* out, const float* x, std::size_t n, bool accumulate, const Scratch& scratch,
                 cudaStream_t stream) {
  if (!accumulate) CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float), stream));
  const int grid = std::min(ceil_div(n, 256), 4 * sm_count());
  float* partials = partials_of(scratch, grid);
  sum_kernel<true><<<grid, 256, 0, stream>>>(partials, x, n, 1.0f);
  CUDA_CHECK_LAUNCH();
  add_column_sums(out, nullptr, 1, partials, grid, 1, stream);
}

void sum_scaled(float* out, const float* x, std::size_t n, float scale, bool accumulate, const Scratch& scratch,
                cudaStream_t stream) {
  if (!accumulate) CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float), stream));
  const int grid = std::min(ceil_div(n, 256), 4 * sm_count());
  float* partials = partials_of(scratch, grid);
  sum_kernel<false><<<grid, 256, 0, stream>>>(partials, x, n, scale);
  CUDA_CHECK_LAUNCH();
  add_column_sums(out, nullptr, 1, partials, grid, 1, stream);
}

void float_to_bf16(bf16* out, const float* in, std::size_t n, cudaStream_t stream) {
  float_to_bf16_kernel<<<std::min(ceil_div(n, 256), 8 * sm_count()), 256, 0, stream>>>(out, in, n);
  CUDA_CHECK_LAUNCH();
}

int sm_count() {
  static int count = [] {
    int device = 0, sms = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    return sms;
  }();
  return count;
}

}  // namespace speedrunner::cuda
