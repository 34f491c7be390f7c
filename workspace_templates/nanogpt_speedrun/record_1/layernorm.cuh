// LayerNorm over channels (eps 1e-5): forward saves mean and 1/std per row;
// backward adds into the residual stream's gradient and sums the gain and bias
// gradients per block, then over blocks in a fixed order (no atomics).
#pragma once

#include "common.cuh"
#include "device.cuh"
#include "reduce.cuh"

namespace speedrunner::cuda {

// One warp per row; each lane handles 8 channels per 256.
__global__ void layernorm_forward_kernel(bf16* out, float* mean, float* rstd, const bf16* inp, const bf16* weight,
                                         const bf16* bias, int N, int C) {
  const int row = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (row >= N) return;
  const bf16* x = inp + std::size_t(row) * C;
  float sum = 0.0f;
  for (int c = lane * 8; c < C; c += 256) {
    float v[8];
    load8(v, x + c);
#pragma unroll
    for (int i = 0; i < 8; ++i) sum += v[i];
  }
  const float m = warp_sum(sum) / C;
  float var = 0.0f;
  for (int c = lane * 8; c < C; c += 256) {
    float v[8];
    load8(v, x + c);
#pragma unroll
    for (int i = 0; i < 8; ++i) var += (v[i] - m) * (v[i] - m);
  }
  const float s = rsqrtf(warp_sum(var) / C + 1e-5f);
  bf16* o = out + std::size_t(row) * C;
  for (int c = lane * 8; c < C; c += 256) {
    float v[8], w[8], b[8];
    load8(v, x + c);
    load8(w, weight + c);
    load8(b, bias + c);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = (v[i] - m) * s * w[i] + b[i];
    store8(o + c, v);
  }
  if (lane == 0) {
    mean[row] = m;
    rstd[row] = s;
  }
}

// Warps stride over rows. Each warp keeps its own dweight/dbias partials in
// shared memory (every lane owns fixed channels, so no atomics there); the
// block then sums its warps into its row of block_partials (gridDim.x, 2, C).
__global__ void layernorm_backward_kernel(bf16* dinp, float* block_partials, const bf16* dout,
                                          const bf16* inp, const bf16* weight, const float* mean,
                                          const float* rstd, int N, int C) {
  extern __shared__ float partial[];  // (warps, 2, C)
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int i = threadIdx.x; i < warps * 2 * C; i += blockDim.x) partial[i] = 0.0f;
  __syncthreads();
  float* my_dw = partial + std::size_t(warp) * 2 * C;
  float* my_db = my_dw + C;
  for (int row = blockIdx.x * warps + warp; row < N; row += gridDim.x * warps) {
    const bf16* x = inp + std::size_t(row) * C;
    const bf16* d = dout + std::size_t(row) * C;
    const float m = mean[row], s = rstd[row];
    float dnorm_sum = 0.0f, dnorm_xhat_sum = 0.0f;
    for (int c = lane * 8; c < C; c += 256) {
      float xv[8], dv[8], wv[8];
      load8(xv, x + c);
      load8(dv, d + c);
      load8(wv, weight + c);
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const float dnorm = wv[i] * dv[i];
        dnorm_sum += dnorm;
        dnorm_xhat_sum += dnorm * (xv[i] - m) * s;
      }
    }
    const float dnorm_mean = warp_sum(dnorm_sum) / C, dnorm_xhat_mean = warp_sum(dnorm_xhat_sum) / C;
    bf16* dx = dinp + std::size_t(row) * C;
    for (int c = lane * 8; c < C; c += 256) {
      float xv[8], dv[8], wv[8], out[8];
      load8(xv, x + c);
      load8(dv, d + c);
      load8(wv, weight + c);
      load8(out, dx + c);
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const float xhat = (xv[i] - m) * s;
        my_db[c + i] += dv[i];
        my_dw[c + i] += xhat * dv[i];
        out[i] += (wv[i] * dv[i] - dnorm_mean - xhat * dnorm_xhat_mean) * s;
      }
      store8(dx + c, out);
    }
  }
  __syncthreads();
  float* mine = block_partials + std::size_t(blockIdx.x) * 2 * C;
  for (int i = threadIdx.x; i < 2 * C; i += blockDim.x) {
    float sum = 0.0f;
    for (int w = 0; w < warps; ++w) sum += partial[std::size_t(w) * 2 * C + i];
    mine[i] = sum;
  }
}

void layernorm_forward(bf16* out, float* mean, float* rstd, const bf16* inp, const bf16* weight, const bf16* bias,
                       int N, int C, cudaStream_t stream) {
  const int block = 256;
  layernorm_forward_kernel<<<ceil_div(std::size_t(N) * 32, block), block, 0, stream>>>(out, mean, rstd, inp, weight,
                                                                                       bias, N, C);
  CUDA_CHECK_LAUNCH();
}

constexpr int layernorm_backward_warps = 4;

// enough warps in flight to cover memory latency (each keeps its own partials)
int layernorm_backward_grid(int N) { return std::min(ceil_div(N, layernorm_backward_warps), 8 * sm_count()); }

std::size_t layernorm_backward_partials(int N, int C) { return std::size_t(layernorm_backward_grid(N)) * 2 * C; }

void layernorm_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp,
                        const bf16* weight, const float* mean, const float* rstd, int N, int C,
                        const Scratch& scratch, cudaStream_t stream) {
  const int warps = layernorm_backward_warps, block = warps * 32;
  const std::size_t shared = std::size_t(warps) * 2 * C * sizeof(float);
  if (shared > 48 * 1024)  // above 48 KB a kernel must opt in
    CUDA_CHECK(cudaFuncSetAttribute(layernorm_backward_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    int(shared)));
  const int grid = layernorm_backward_grid(N);
  float* partials = partials_of(scratch, layernorm_backward_partials(N, C));
  layernorm_backward_kernel<<<grid, block, shared, stream>>>(dinp, partials, dout, inp, weight, mean, rstd, N, C);
  CUDA_CHECK_LAUNCH();
  add_column_sums(dweight, dbias, C, partials, grid, 2 * C, stream);
}

}  // namespace speedrunner::cuda
