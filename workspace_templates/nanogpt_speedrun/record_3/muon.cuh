// Muon's elementwise kernels: momentum, per-matrix Frobenius normalisation
// before the Newton-Schulz iterations (muon.cpp), and the final weight step.
#pragma once

#include "common.cuh"
#include "device.cuh"
#include "reduce.cuh"

namespace speedrunner::cuda {

// Nesterov-style: the update looks ahead along the momentum, g + mu * m.
__global__ void muon_momentum_kernel(float* m, float* g, std::size_t n, float mu) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x) {
    const float mi = mu * m[i] + g[i];
    m[i] = mi;
    g[i] += mu * mi;
  }
}

// grid (chunks, matrices): each block's sum of squares of its part of a matrix
// goes to block_partials (chunks, matrices); add_column_sums adds them in order.
__global__ void muon_norms_kernel(float* block_partials, const float* src, std::size_t per_matrix) {
  const float* x = src + std::size_t(blockIdx.y) * per_matrix;
  float acc = 0.0f;
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < per_matrix;
       i += std::size_t(gridDim.x) * blockDim.x)
    acc += x[i] * x[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) block_partials[std::size_t(blockIdx.x) * gridDim.y + blockIdx.y] = acc;
}

__global__ void muon_scale_kernel(ns_t* x, const float* src, const float* norms_sq, std::size_t per_matrix,
                                  std::size_t n) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x)
    x[i] = ns_t(src[i] / (sqrtf(norms_sq[i / per_matrix]) + 1e-7f));
}

__global__ void muon_apply_kernel(float* params, bf16* params_bf16, const ns_t* x, std::size_t n, float step) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x) {
    const float p = params[i] - step * float(x[i]);
    params[i] = p;
    params_bf16[i] = __float2bfloat16(p);
  }
}

void muon_momentum(float* m, float* g, std::size_t n, float mu, cudaStream_t stream) {
  muon_momentum_kernel<<<std::min(ceil_div(n, 256), 8 * sm_count()), 256, 0, stream>>>(m, g, n, mu);
  CUDA_CHECK_LAUNCH();
}

// The norms, then at most max(matrices, 4 * sm_count()) block partials.
std::size_t muon_norms_floats(int matrices) { return matrices + std::max(matrices, 4 * sm_count()); }

void muon_normalize(ns_t* x, const float* src, float* norms_sq, int matrices, std::size_t per_matrix,
                    cudaStream_t stream) {
  CUDA_CHECK(cudaMemsetAsync(norms_sq, 0, matrices * sizeof(float), stream));
  const int chunks = std::max(1, std::min(ceil_div(per_matrix, 256 * 8), 4 * sm_count() / matrices));
  float* partials = norms_sq + matrices;
  muon_norms_kernel<<<dim3(chunks, matrices), 256, 0, stream>>>(partials, src, per_matrix);
  CUDA_CHECK_LAUNCH();
  add_column_sums(norms_sq, nullptr, matrices, partials, chunks, matrices, stream);
  const std::size_t n = per_matrix * matrices;
  muon_scale_kernel<<<std::min(ceil_div(n, 256), 8 * sm_count()), 256, 0, stream>>>(x, src, norms_sq, per_matrix, n);
  CUDA_CHECK_LAUNCH();
}

void muon_apply(float* params, bf16* params_bf16, const ns_t* x, std::size_t n, float step, cudaStream_t stream) {
  muon_apply_kernel<<<std::min(ceil_div(n, 256), 8 * sm_count()), 256, 0, stream>>>(params, params_bf16, x, n, step);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
