// Muon's elementwise kernels over the matrices this rank orthogonalises (an index
// list into a parameter's matrices): momentum, per-matrix Frobenius normalisation
// before the Newton-Schulz iterations (muon.cpp), the scaled bf16 updates written
// into the exchange buffer, and the weight step from that buffer.
#pragma once

#include "common.cuh"
#include "device.cuh"
#include "reduce.cuh"

namespace speedrunner::cuda {

// Element i of the owned matrices (back to back, per_matrix each) is element
// owned[i / per_matrix] * per_matrix + i % per_matrix of the parameter.
__device__ inline std::size_t owned_element(const int* owned, std::size_t i, std::size_t per_matrix) {
  return std::size_t(owned[i / per_matrix]) * per_matrix + i % per_matrix;
}

// Nesterov-style: the update looks ahead along the momentum, g + mu * m.
__global__ void muon_momentum_kernel(float* m, float* g, const int* owned, std::size_t per_matrix, std::size_t n,
                                     float mu) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x) {
    const std::size_t e = owned_element(owned, i, per_matrix);
    const float mi = mu * m[e] + g[e];
    m[e] = mi;
    g[e] += mu * mi;
  }
}

// grid (chunks, matrices): each block's sum of squares of its part of an owned
// matrix goes to block_partials (chunks, matrices); add_column_sums adds them in order.
__global__ void muon_norms_kernel(float* block_partials, const float* src, const int* owned, std::size_t per_matrix) {
  const float* x = src + std::size_t(owned[blockIdx.y]) * per_matrix;
  float acc = 0.0f;
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < per_matrix;
       i += std::size_t(gridDim.x) * blockDim.x)
    acc += x[i] * x[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) block_partials[std::size_t(blockIdx.x) * gridDim.y + blockIdx.y] = acc;
}

__global__ void muon_scale_kernel(ns_t* x, const float* src, const int* owned, const float* norms_sq,
                                  std::size_t per_matrix, std::size_t n) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x)
    x[i] = ns_t(src[owned_element(owned, i, per_matrix)] / (sqrtf(norms_sq[i / per_matrix]) + 1e-7f));
}

// The record scales each orthogonalised matrix in bf16 (so the product is rounded to
// bf16) into the exchange buffer, at the matrix's place.
__global__ void muon_scatter_kernel(bf16* update, const ns_t* x, const int* owned, std::size_t per_matrix,
                                    std::size_t n, float scale) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x)
    update[owned_element(owned, i, per_matrix)] = __float2bfloat16(float(x[i]) * scale);
}

__global__ void muon_apply_kernel(float* params, bf16* params_bf16, const bf16* update, std::size_t n, float lr) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x) {
    const float p = params[i] - lr * __bfloat162float(update[i]);
    params[i] = p;
    params_bf16[i] = __float2bfloat16(p);
  }
}

namespace {
int grid_for(std::size_t n) { return int(std::min<std::size_t>(ceil_div(n, 256), 8 * sm_count())); }
}  // namespace

void muon_momentum(float* m, float* g, const int* owned, int matrices, std::size_t per_matrix, float mu,
                   cudaStream_t stream) {
  const std::size_t n = per_matrix * matrices;
  muon_momentum_kernel<<<grid_for(n), 256, 0, stream>>>(m, g, owned, per_matrix, n, mu);
  CUDA_CHECK_LAUNCH();
}

// The norms, then at most max(matrices, 4 * sm_count()) block partials.
std::size_t muon_norms_floats(int matrices) { return matrices + std::max(matrices, 4 * sm_count()); }

void muon_normalize(ns_t* x, const float* src, const int* owned, float* norms_sq, int matrices,
                    std::size_t per_matrix, cudaStream_t stream) {
  CUDA_CHECK(cudaMemsetAsync(norms_sq, 0, matrices * sizeof(float), stream));
  const int chunks = std::max(1, std::min(ceil_div(per_matrix, 256 * 8), 4 * sm_count() / matrices));
  float* partials = norms_sq + matrices;
  muon_norms_kernel<<<dim3(chunks, matrices), 256, 0, stream>>>(partials, src, owned, per_matrix);
  CUDA_CHECK_LAUNCH();
  add_column_sums(norms_sq, nullptr, matrices, partials, chunks, matrices, stream);
  const std::size_t n = per_matrix * matrices;
  muon_scale_kernel<<<grid_for(n), 256, 0, stream>>>(x, src, owned, norms_sq, per_matrix, n);
  CUDA_CHECK_LAUNCH();
}

void muon_scatter(bf16* update, const ns_t* x, const int* owned, int matrices, std::size_t per_matrix, float scale,
                  cudaStream_t stream) {
  const std::size_t n = per_matrix * matrices;
  muon_scatter_kernel<<<grid_for(n), 256, 0, stream>>>(update, x, owned, per_matrix, n, scale);
  CUDA_CHECK_LAUNCH();
}

void muon_apply(float* params, bf16* params_bf16, const bf16* update, std::size_t n, float lr, cudaStream_t stream) {
  muon_apply_kernel<<<grid_for(n), 256, 0, stream>>>(params, params_bf16, update, n, lr);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
