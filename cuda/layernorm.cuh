// LayerNorm over channels (eps 1e-5): forward saves mean and 1/std per row;
// backward adds into the residual stream's gradient and accumulates the gain
// and bias gradients per block before one atomic add per channel per block.
#pragma once

#include "common.cuh"
#include "device.cuh"

#include <type_traits>

namespace speedrunner::cuda {

// One warp per row; each lane handles 8 channels per 256.
__global__ void layernorm_forward_kernel(bf16* out, float* mean, float* rstd, const bf16* inp,
                                         const bf16* weight, const bf16* bias, int N, int C) {
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

// One warp per row, warps striding over rows. A lane owns channels lane*8 + 256*k (k < K, so
// C <= 256*K): it keeps the row's x-hat and dout for them in registers between the two passes,
// and its share of the gain and bias gradients in registers over all its rows. Every load of a
// row is issued before any is used (the loops over k unroll), so a row costs two memory round
// trips. The block then sums its warps through shared memory and adds once into global memory.
template <int K>
__global__ void __launch_bounds__(128) layernorm_backward_kernel(
    bf16* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp,
    const bf16* weight, const float* mean, const float* rstd, int N, int C) {
  constexpr int warps = 4;
  __shared__ float partial[warps][K * 256];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  float dw[K][8] = {}, db[K][8] = {};
  for (int row = blockIdx.x * warps + warp; row < N; row += gridDim.x * warps) {
    const bf16* x = inp + std::size_t(row) * C;
    const bf16* d = dout + std::size_t(row) * C;
    const float m = mean[row], s = rstd[row];
    float xhat[K][8], dv[K][8];
    float dnorm_sum = 0.0f, dnorm_xhat_sum = 0.0f;
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const int c = k * 256 + lane * 8;
      if (c >= C) continue;
      float wv[8];
      load8(xhat[k], x + c);
      load8(dv[k], d + c);
      load8(wv, weight + c);
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        xhat[k][i] = (xhat[k][i] - m) * s;
        const float dnorm = wv[i] * dv[k][i];
        dnorm_sum += dnorm;
        dnorm_xhat_sum += dnorm * xhat[k][i];
        db[k][i] += dv[k][i];
        dw[k][i] += xhat[k][i] * dv[k][i];
      }
    }
    const float dnorm_mean = warp_sum(dnorm_sum) / C,
                dnorm_xhat_mean = warp_sum(dnorm_xhat_sum) / C;
    bf16* dx = dinp + std::size_t(row) * C;
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const int c = k * 256 + lane * 8;
      if (c >= C) continue;
      float wv[8], out[8];
      load8(wv, weight + c);
      load8(out, dx + c);
#pragma unroll
      for (int i = 0; i < 8; ++i)
        out[i] += (wv[i] * dv[k][i] - dnorm_mean - xhat[k][i] * dnorm_xhat_mean) * s;
      store8(dx + c, out);
    }
  }
  // Gain gradient, then bias gradient, through the same shared buffer.
  for (int pass = 0; pass < 2; ++pass) {
#pragma unroll
    for (int k = 0; k < K; ++k)
#pragma unroll
      for (int i = 0; i < 8; ++i) partial[warp][k * 256 + lane * 8 + i] = pass == 0 ? dw[k][i] : db[k][i];
    __syncthreads();
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
      float sum = 0.0f;
#pragma unroll
      for (int w = 0; w < warps; ++w) sum += partial[w][c];
      atomicAdd((pass == 0 ? dweight : dbias) + c, sum);
    }
    __syncthreads();
  }
}

void layernorm_forward(bf16* out, float* mean, float* rstd, const bf16* inp, const bf16* weight,
                       const bf16* bias, int N, int C, cudaStream_t stream) {
  const int block = 256;
  layernorm_forward_kernel<<<ceil_div(std::size_t(N) * 32, block), block, 0, stream>>>(
      out, mean, rstd, inp, weight, bias, N, C);
  CUDA_CHECK_LAUNCH();
}

void layernorm_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp,
                        const bf16* weight, const float* mean, const float* rstd, int N, int C,
                        cudaStream_t stream) {
  constexpr int warps = 4;
  // One wave of as many blocks as fit at once: every warp loops over rows, so more blocks would
  // only add a tail wave and atomics.
  const auto launch = [&]<int K>(std::integral_constant<int, K>) {
    static const int per_sm = [] {  // asked once per kernel, not on every call
      int n = 0;
      CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, layernorm_backward_kernel<K>,
                                                               warps * 32, 0));
      return std::max(1, n);
    }();
    const int grid = std::min(ceil_div(N, warps), per_sm * sm_count());
    layernorm_backward_kernel<K><<<grid, warps * 32, 0, stream>>>(dinp, dweight, dbias, dout, inp,
                                                                  weight, mean, rstd, N, C);
  };
  switch (ceil_div(C, 256)) {
    case 1: launch(std::integral_constant<int, 1>{}); break;
    case 2: launch(std::integral_constant<int, 2>{}); break;
    case 3: launch(std::integral_constant<int, 3>{}); break;
    case 4: launch(std::integral_constant<int, 4>{}); break;
    case 5: launch(std::integral_constant<int, 5>{}); break;
    case 6: launch(std::integral_constant<int, 6>{}); break;
    default:
      std::fprintf(stderr,
                   "layernorm_backward: %d channels is more than the 1536 it is built for; fix: "
                   "add a case to the switch in cuda/layernorm.cuh\n",
                   C);
      std::exit(EXIT_FAILURE);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
