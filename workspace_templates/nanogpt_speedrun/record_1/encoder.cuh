// Token + learned position embedding: forward and backward.
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

// One thread per 8 channels of one (b, t).
__global__ void encoder_forward_kernel(bf16* out, const int* tokens, const bf16* wte, const bf16* wpe, int T,
                                       int C, std::size_t vectors) {
  const std::size_t idx = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= vectors) return;
  const std::size_t bt = idx * 8 / C;
  const int c = int(idx * 8 % C), t = int(bt % T);
  float e[8], p[8];
  load8(e, wte + std::size_t(tokens[bt]) * C + c);
  load8(p, wpe + std::size_t(t) * C + c);
#pragma unroll
  for (int i = 0; i < 8; ++i) e[i] += p[i];
  store8(out + bt * C + c, e);
}

// dwte rows are shared by repeated tokens: atomics.
__global__ void encoder_backward_wte_kernel(float* dwte, const bf16* dout, const int* tokens, int C,
                                            std::size_t vectors) {
  const std::size_t idx = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= vectors) return;
  const std::size_t bt = idx * 8 / C;
  const int c = int(idx * 8 % C);
  float d[8];
  load8(d, dout + bt * C + c);
  float* row = dwte + std::size_t(tokens[bt]) * C + c;
#pragma unroll
  for (int i = 0; i < 8; ++i) atomicAdd(row + i, d[i]);
}

// dwpe[t, c] sums over the batch: one thread per (t, c), no atomics.
__global__ void encoder_backward_wpe_kernel(float* dwpe, const bf16* dout, int B, int T, int C) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= T * C) return;
  float acc = 0.0f;
  for (int b = 0; b < B; ++b) acc += __bfloat162float(dout[std::size_t(b) * T * C + idx]);
  dwpe[idx] += acc;
}

void encoder_forward(bf16* out, const int* tokens, const bf16* wte, const bf16* wpe, int B, int T, int C,
                     cudaStream_t stream) {
  const std::size_t vectors = std::size_t(B) * T * C / 8;
  encoder_forward_kernel<<<ceil_div(vectors, 256), 256, 0, stream>>>(out, tokens, wte, wpe, T, C, vectors);
  CUDA_CHECK_LAUNCH();
}

void encoder_backward(float* dwte, float* dwpe, const bf16* dout, const int* tokens, int B, int T, int C,
                      cudaStream_t stream) {
  const std::size_t vectors = std::size_t(B) * T * C / 8;
  encoder_backward_wte_kernel<<<ceil_div(vectors, 256), 256, 0, stream>>>(dwte, dout, tokens, C, vectors);
  CUDA_CHECK_LAUNCH();
  encoder_backward_wpe_kernel<<<ceil_div(T * C, 256), 256, 0, stream>>>(dwpe, dout, B, T, C);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
