// Token embedding: forward and backward (positions enter through rotary q/k,
// rope.cuh). The backward pass is deterministic: dwte rows shared by repeated
// tokens are summed without atomics, each by one owner, in position order
// (tokens sorted by CUB's stable radix sort, then fixed chunks of the sorted positions).
#pragma once

#include <cub/device/device_radix_sort.cuh>

#include "common.cuh"
#include "device.cuh"
#include "reduce.cuh"

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

// Sorted positions per block of the dwte backward pass: short enough that a
// frequent token's long run spreads over many blocks, which the spill pass joins.
constexpr int wte_chunk = 32;

// One block per chunk of sorted positions, threads over channels. A chunk holds
// consecutive pieces of token runs; a whole run adds its sum (in position order)
// straight into its dwte row, its only writer. The first and last piece may
// belong to runs that cross the chunk's edges: their sums go to spill
// (chunks, 2, C), slot 0 for a piece starting at the chunk's start, else slot 1.
__global__ void encoder_backward_wte_kernel(float* dwte, float* spill, const bf16* dout, const int* tokens,
                                            const int* rows, int N, int C) {
  __shared__ int tok[wte_chunk + 2];  // tok[i + 1]: token at sorted position first + i; ends: neighbours or -1
  __shared__ int row[wte_chunk];
  const int first = blockIdx.x * wte_chunk, count = min(wte_chunk, N - first);
  for (int i = threadIdx.x; i < count; i += blockDim.x) {
    tok[i + 1] = tokens[first + i];
    row[i] = rows[first + i];
  }
  if (threadIdx.x == 0) {
    tok[0] = first > 0 ? tokens[first - 1] : -1;
    tok[count + 1] = first + count < N ? tokens[first + count] : -1;
  }
  __syncthreads();
  for (int c = threadIdx.x * 8; c < C; c += blockDim.x * 8) {
    float acc[8] = {};
    int start = 0;  // of the current piece
    for (int base = 0; base < count; base += 4) {
      float d[4][8];  // four rows loaded ahead of the dependent adds
#pragma unroll
      for (int u = 0; u < 4; ++u)
        if (base + u < count) load8(d[u], dout + std::size_t(row[base + u]) * C + c);
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        const int i = base + u;
        if (i >= count) break;
#pragma unroll
        for (int k = 0; k < 8; ++k) acc[k] += d[u][k];
        const int t = tok[i + 1];
        if (i + 1 < count && tok[i + 2] == t) continue;  // the piece goes on
        const bool head = tok[start] != t, tail = tok[i + 2] != t;
        float* out = head && tail ? dwte + std::size_t(t) * C + c
                                  : spill + (std::size_t(blockIdx.x) * 2 + (start == 0 ? 0 : 1)) * C + c;
#pragma unroll
        for (int k = 0; k < 8; ++k) {
          out[k] = head && tail ? out[k] + acc[k] : acc[k];
          acc[k] = 0.0f;
        }
        start = i + 1;
      }
    }
  }
}

// One block per chunk: a run that starts in this chunk and goes on past its end
// is owned here; its spilled piece sums are added in chunk order into dwte.
__global__ void encoder_backward_wte_spill_kernel(float* dwte, const float* spill, const int* tokens, int N, int C) {
  const int chunks = int(gridDim.x), k = blockIdx.x, first = k * wte_chunk;
  const int last = min(first + wte_chunk, N) - 1, t = tokens[last];
  if (last + 1 >= N || tokens[last + 1] != t) return;  // no run crosses this chunk's end
  int start = last;
  while (start > first && tokens[start - 1] == t) --start;
  if (start == first && first > 0 && tokens[first - 1] == t) return;  // an earlier chunk owns the run
  int end = k + 1;  // last chunk holding part of the run
  while (end + 1 < chunks && tokens[(end + 1) * wte_chunk] == t) ++end;
  for (int c = threadIdx.x * 8; c < C; c += blockDim.x * 8) {
    float acc[8];
    const float* own = spill + (std::size_t(k) * 2 + (start == first ? 0 : 1)) * C + c;
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i] = own[i];
    for (int j = k + 1; j <= end; ++j) {
      const float* piece = spill + std::size_t(j) * 2 * C + c;
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[i] += piece[i];
    }
    float* out = dwte + std::size_t(t) * C + c;
#pragma unroll
    for (int i = 0; i < 8; ++i) out[i] += acc[i];
  }
}

__global__ void iota_kernel(int* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = i;
}

std::size_t encoder_backward_partials(int N, int C) { return std::size_t(ceil_div(N, wte_chunk)) * 2 * C; }

std::size_t scratch_sort_bytes(int N, int token_bits) {
  std::size_t bytes = 0;
  CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const int*>(nullptr), static_cast<int*>(nullptr),
                                             static_cast<const int*>(nullptr), static_cast<int*>(nullptr), N, 0,
                                             token_bits));
  return bytes;
}

void scratch_fill_rows(int* rows, int N, cudaStream_t stream) {
  iota_kernel<<<ceil_div(N, 256), 256, 0, stream>>>(rows, N);
  CUDA_CHECK_LAUNCH();
}

void encoder_forward(bf16* out, const int* tokens, const bf16* wte, int B, int T, int C, cudaStream_t stream) {
  const std::size_t vectors = std::size_t(B) * T * C / 8;
  encoder_forward_kernel<<<ceil_div(vectors, 256), 256, 0, stream>>>(out, tokens, wte, C, vectors);
  CUDA_CHECK_LAUNCH();
}

void encoder_backward(float* dwte, const bf16* dout, const int* tokens, int B, int T, int C, const Scratch& scratch,
                      cudaStream_t stream) {
  const int N = B * T, chunks = ceil_div(N, wte_chunk), threads = std::min(256, ceil_div(C / 8, 32) * 32);
  std::size_t bytes = scratch.sort_temp_bytes;
  CUDA_CHECK(cub::DeviceRadixSort::SortPairs(scratch.sort_temp, bytes, tokens, scratch.sorted_tokens, scratch.rows,
                                             scratch.sorted_rows, N, 0, scratch.token_bits, stream));
  float* spill = partials_of(scratch, encoder_backward_partials(N, C));
  encoder_backward_wte_kernel<<<chunks, threads, 0, stream>>>(dwte, spill, dout, scratch.sorted_tokens,
                                                              scratch.sorted_rows, N, C);
  CUDA_CHECK_LAUNCH();
  encoder_backward_wte_spill_kernel<<<chunks, threads, 0, stream>>>(dwte, spill, scratch.sorted_tokens, N, C);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
