// Launchers of the trainer's own CUDA kernels (defined in the <layer>.cuh
// files, compiled once in kernels.cu). Host code and tests include this.
// Shapes are in trailing comments; N = B*T rows. Every row length is a
// multiple of 8 and every pointer 16-byte aligned (cudaMalloc'ed buffers
// and ParamLayout offsets are). Each launcher checks its launch.
#pragma once

#include <cstddef>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace speedrunner::cuda {

using bf16 = __nv_bfloat16;

// Work space of the launchers that reduce across thread blocks. They add
// per-block partial sums in a fixed order instead of with float atomics, so
// training repeats bit for bit on the same GPU. Its owner allocates it once
// for N rows of width C (scratch_* sizes) and fills rows with scratch_fill_rows.
struct Scratch {
  float* partials = nullptr;  // scratch_partial_floats(N, C)
  std::size_t partial_floats = 0;
  // encoder_backward sorts the batch's tokens with their row indices
  int* rows = nullptr;           // (N) 0, 1, ..., N-1
  int* sorted_tokens = nullptr;  // (N)
  int* sorted_rows = nullptr;    // (N)
  void* sort_temp = nullptr;     // scratch_sort_bytes(N, token_bits) bytes
  std::size_t sort_temp_bytes = 0;
  int token_bits = 0;  // token ids are below 2^token_bits
};
std::size_t scratch_partial_floats(int N, int C);
std::size_t scratch_sort_bytes(int N, int token_bits);
void scratch_fill_rows(int* rows, int N, cudaStream_t stream);

// Element type of Muon's Newton-Schulz iterations (muon.hpp names the matching cuBLAS types).
using ns_t = bf16;

// encoder.cuh: token embedding
void encoder_forward(bf16* out, const int* tokens, const bf16* wte, int B, int T, int C,
                     cudaStream_t stream);  // out (B,T,C)
void encoder_backward(float* dwte, const bf16* dout, const int* tokens, int B, int T, int C,
                      const Scratch& scratch, cudaStream_t stream);  // accumulates into dwte (Vp,C)

// rope.cuh: rotary position embedding of q and k, in place in qkv (B,T,3C).
// cos_sin (maxT, HS/2, 2) holds cos and sin of t * base^(-2i/HS) (rope_table).
// The backward pass rotates dq and dk of dqkv back by the same angles.
void rope_table(float* host_cos_sin, int max_seq, int HS);
void rope_forward(bf16* qkv, const float* cos_sin, int B, int T, int NH, int HS, cudaStream_t stream);
void rope_backward(bf16* dqkv, const float* cos_sin, int B, int T, int NH, int HS, cudaStream_t stream);

// rmsnorm.cuh: weightless RMSNorm in fp32 (eps 2^-23); rstd (N) kept for the backward pass.
void rmsnorm_forward(bf16* out, float* rstd, const bf16* inp, int N, int C, cudaStream_t stream);  // out (N,C)
// dinp (N,C) accumulates (+=): it is the residual stream's gradient.
void rmsnorm_backward(bf16* dinp, const bf16* dout, const bf16* inp, const float* rstd, int N, int C,
                      cudaStream_t stream);

// relu2.cuh: max(x, 0)^2; n a multiple of 8. dinp may alias dout.
void relu2_forward(bf16* out, const bf16* inp, std::size_t n, cudaStream_t stream);
void relu2_backward(bf16* dinp, const bf16* inp, const bf16* dout, std::size_t n, cudaStream_t stream);

// qk_norm.cuh: RMS-normalise each head's q and k rows in place in qkv (B,T,3C),
// after the rotary embedding, keeping 1/rms in rstd (B,T,2,NH). The backward
// pass runs on the stored rows before rope_backward: dqkv's q and k parts become
// the gradients of the rotated, not yet normalised rows.
void qk_norm_forward(bf16* qkv, float* rstd, int B, int T, int NH, int HS, cudaStream_t stream);
void qk_norm_backward(bf16* dqkv, const bf16* qkv, const float* rstd, int B, int T, int NH, int HS,
                      cudaStream_t stream);

// attention.cuh: layout moves between (B,T,3,NH,HS) and per-head (B,NH,T,HS), and the causal softmax.
void attention_split_heads(bf16* q, bf16* k, bf16* v, const bf16* qkv, int B, int T, int NH, int HS,
                           cudaStream_t stream);
void attention_split_heads_backward(bf16* dqkv, const bf16* dq, const bf16* dk, const bf16* dv, int B, int T,
                                    int NH, int HS, cudaStream_t stream);
void attention_merge_heads(bf16* out, const bf16* y, int B, int T, int NH, int HS,
                           cudaStream_t stream);  // (B,NH,T,HS) -> (B,T,C)
void attention_merge_heads_backward(bf16* dy, const bf16* dout, int B, int T, int NH, int HS,
                                    cudaStream_t stream);  // (B,T,C) -> (B,NH,T,HS)
// In place on (rows,T) scores: row r is query t = r % T; keys past t get probability 0.
void causal_softmax_forward(bf16* att, int rows, int T, cudaStream_t stream);
// In place: datt (rows,T) becomes d(scores) * scale, using the probabilities att.
void causal_softmax_backward(bf16* datt, const bf16* att, int rows, int T, float scale, cudaStream_t stream);

// flash_attention.cuh: fused causal attention, head sizes 16 to 128.
// qkv (B,T,3C) -> out (B,T,C), lse (B,NH,T) row log-sum-exp for the backward pass.
bool flash_attention_supported(int head_size);
void flash_attention_forward(bf16* out, float* lse, const bf16* qkv, int B, int T, int NH, int HS,
                             cudaStream_t stream);
// dqkv (B,T,3C) overwritten; D (B,NH,T) is work space.
void flash_attention_backward(bf16* dqkv, float* D, const bf16* dout, const bf16* out, const bf16* qkv,
                              const float* lse, int B, int T, int NH, int HS, cudaStream_t stream);

// classifier.cuh: softmax over the first V of Vp logits and cross-entropy; the
// logits (N,Vp) are replaced by dlogits = (probs - onehot) * dloss (0 past V).
void softmax_cross_entropy(float* losses, bf16* logits, const int* targets, int N, int V, int Vp, float dloss,
                           cudaStream_t stream);

// adamw.cuh: AdamW on fp32 master weights, refreshing their bf16 copy. t counts steps from 1.
void adamw_update(float* params, bf16* params_bf16, const float* grads, float* m, float* v, std::size_t n,
                  float lr, float beta1, float beta2, float eps, float weight_decay, int t, cudaStream_t stream);

// reduce.cuh: *out (+)= sum of x (or of x^2); set or accumulate as `accumulate` says.
void sum_squares(float* out, const float* x, std::size_t n, bool accumulate, const Scratch& scratch,
                 cudaStream_t stream);
void sum_scaled(float* out, const float* x, std::size_t n, float scale, bool accumulate, const Scratch& scratch,
                cudaStream_t stream);
void float_to_bf16(bf16* out, const float* in, std::size_t n, cudaStream_t stream);

// muon.cuh, over the `matrices` matrices of a parameter whose indices are in `owned`
// (device memory; per_matrix elements each): m = mu*m + g, then g becomes the Nesterov
// direction g + mu*m; x = src / ||src||_F per owned matrix, back to back (norms_sq:
// muon_norms_floats(matrices) floats of work space); update at each owned matrix's place =
// bf16(x * scale); params -= lr * update, refreshing the bf16 copy.
void muon_momentum(float* m, float* g, const int* owned, int matrices, std::size_t per_matrix, float mu,
                   cudaStream_t stream);
void muon_normalize(ns_t* x, const float* src, const int* owned, float* norms_sq, int matrices,
                    std::size_t per_matrix, cudaStream_t stream);
std::size_t muon_norms_floats(int matrices);
void muon_scatter(bf16* update, const ns_t* x, const int* owned, int matrices, std::size_t per_matrix, float scale,
                  cudaStream_t stream);
void muon_apply(float* params, bf16* params_bf16, const bf16* update, std::size_t n, float lr, cudaStream_t stream);

// Number of multiprocessors of the current device (cached), for grid sizing.
int sm_count();

}  // namespace speedrunner::cuda
