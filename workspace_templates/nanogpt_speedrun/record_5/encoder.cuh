// Token embedding: forward and backward (positions enter through rotary q/k, rope.cuh).
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

// One thread per 8 channels of one (b, t).
__global__ void encoder_forward_kernel(bf16* out, const int* tokens, const bf16* wte, int C, std::size_t vectors) {
  const std::size_t idx = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= vectors) return;
  const std::size_t bt = idx * 8 / C;
  const int c = int(idx * 8 % C);
  float e[8];
  load8(e, wte + std::size_t(tokens[bt]) * C + c);
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

void encoder_forward(bf16* out, const int* tokens, const bf16* wte, int B, int T, int C, cudaStream_t stream) {
  const std::size_t vectors = std::size_t(B) * T * C / 8;
  encoder_forward_kernel<<<ceil_div(vectors, 256), 256, 0, stream>>>(out, tokens, wte, C, vectors);
  CUDA_CHECK_LAUNCH();
}

void encoder_backward(float* dwte, const bf16* dout, const int* tokens, int B, int T, int C, cudaStream_t stream) {
  const std::size_t vectors = std::size_t(B) * T * C / 8;
  encoder_backward_wte_kernel<<<ceil_div(vectors, 256), 256, 0, stream>>>(dwte, dout, tokens, C, vectors);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
