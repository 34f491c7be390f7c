// Whole-buffer reductions (gradient norm, loss sums), the fp32 -> bf16 copy and an fp32 add.
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

template <bool square>
__global__ void sum_kernel(float* out, const float* x, std::size_t n, float scale) {
  float acc = 0.0f;
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x)
    acc += square ? x[i] * x[i] : x[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) atomicAdd(out, acc * scale);
}

__global__ void float_to_bf16_kernel(bf16* out, const float* in, std::size_t n) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x)
    out[i] = __float2bfloat16(in[i]);
}

void sum_squares(float* out, const float* x, std::size_t n, bool accumulate, cudaStream_t stream) {
  if (!accumulate) CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float), stream));
  sum_kernel<true><<<std::min(ceil_div(n, 256), 4 * sm_count()), 256, 0, stream>>>(out, x, n, 1.0f);
  CUDA_CHECK_LAUNCH();
}

void sum_scaled(float* out, const float* x, std::size_t n, float scale, bool accumulate,
                cudaStream_t stream) {
  if (!accumulate) CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float), stream));
  sum_kernel<false>
      <<<std::min(ceil_div(n, 256), 4 * sm_count()), 256, 0, stream>>>(out, x, n, scale);
  CUDA_CHECK_LAUNCH();
}

__global__ void accumulate_kernel(float* out, const float* x, std::size_t n) {
  const std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] += x[i];
}

void accumulate(float* out, const float* x, std::size_t n, cudaStream_t stream) {
  accumulate_kernel<<<ceil_div(n, 256), 256, 0, stream>>>(out, x, n);
  CUDA_CHECK_LAUNCH();
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
