// The GPT-2 model on one GPU: fp32 master weights with a bf16 working copy,
// bf16 activations kept per layer for the backward pass, fp32 gradients and
// AdamW state. Host code; the kernels are behind kernels.hpp and blas.hpp.
#pragma once

#include "blas.hpp"
#include "distributed.hpp"
#include "gpt2_config.hpp"
#include "muon.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace speedrunner::cuda {

// How attention runs: fused flash-style kernels (head sizes 16 to 128), or
// batched GEMMs around a softmax kernel that store the (B,NH,T,T) probabilities.
enum class Attention { flash, gemm };

class GPT2 {
 public:
  // B sequences of T tokens per forward pass (T <= config.max_seq). Weights
  // start from init_params(config, seed). Flash attention falls back to the
  // GEMM path for head sizes it does not support.
  GPT2(const GPT2Config& config, int B, int T, std::uint64_t seed, cudaStream_t stream,
       Attention attention = Attention::flash);
  ~GPT2();
  GPT2(const GPT2&) = delete;
  GPT2& operator=(const GPT2&) = delete;

  // Replaces the master weights (layout.total floats from the host) and their bf16 copy.
  void set_params(const float* host);

  // Forward pass on host tokens (B*T each). With targets, the logits become
  // dlogits for the mean loss times dloss_scale, and the per-token losses,
  // times dloss_scale, are added to the loss accumulator. Without targets the
  // logits stay (see logits()).
  void forward(const int* tokens, const int* targets, float dloss_scale);
  // Adds this batch's gradients into grads() (zero_grad() first for a fresh step).
  void backward();
  void zero_grad();
  void reset_loss();
  [[nodiscard]] float loss();  // the accumulator's value (waits for the stream)

  // Muon for the blocks' matrices, AdamW for the embedding/head, on grads() as
  // they are (after the gradient all-reduce, the same on every rank). lr is AdamW's
  // (Muon's follows the same schedule); t counts from 1. Muon's matrices are shared
  // out among dist's ranks: the record's i-th block matrix (q, k, v, attention
  // output, MLP in, MLP out of each layer in turn) is orthogonalised by rank
  // i mod world, and a sum over ranks of the bf16 updates gives every rank all of them.
  void update(const OptimizerConfig& opt, float lr, int t, const Distributed& dist = {});

  [[nodiscard]] const GPT2Config& config() const { return config_; }
  [[nodiscard]] const ParamLayout& layout() const { return layout_; }
  [[nodiscard]] int batch() const { return B_; }
  [[nodiscard]] int seq_len() const { return T_; }
  [[nodiscard]] Attention attention() const { return attention_; }
  [[nodiscard]] float* grads() { return grads_; }
  [[nodiscard]] float* loss_accumulator() { return loss_sum_; }
  [[nodiscard]] cudaStream_t stream() const { return stream_; }
  [[nodiscard]] std::size_t device_bytes() const { return bytes_; }

  // Copies for tests and checkpoints (wait for the stream).
  [[nodiscard]] std::vector<float> params_host() const;
  [[nodiscard]] std::vector<float> grads_host() const;
  [[nodiscard]] std::vector<float> logits_host() const;  // (B,T,Vp) after a forward without targets

 private:
  template <class T>
  T* alloc(std::size_t count);

  GPT2Config config_;
  ParamLayout layout_;
  int B_, T_;
  cudaStream_t stream_;
  Attention attention_;
  Blas blas_;
  std::vector<void*> allocations_;
  std::size_t bytes_ = 0;

  float *params_ = nullptr, *grads_ = nullptr, *m_ = nullptr, *v_ = nullptr;
  bf16* params_bf16_ = nullptr;
  int *tokens_ = nullptr, *targets_ = nullptr;
  // activations: per layer (L, ...) unless noted
  bf16* encoded_;                                  // (B,T,C)
  bf16 *norm1_, *qkv_, *atty_, *res2_;            // (L,B,T,C) (L,B,T,3C) (L,B,T,C) x2
  bf16* att_ = nullptr;                            // gemm: (L,B,NH,T,T) probabilities
  float* lse_ = nullptr;                           // flash: (L,B,NH,T) row log-sum-exp
  bf16 *norm2_, *fch_, *fch_act_, *res3_;          // (L,B,T,C) (L,B,T,4C) x2 (L,B,T,C)
  float* qk_rstd_ = nullptr;                       // (L,B,T,2,NH) QK-norm 1/rms
  float *norm1_rstd_, *norm2_rstd_;                // (L,B,T) RMSNorm's 1/rms per row
  bf16* normf_;                                    // (B,T,C)
  float* normf_rstd_;                              // (B,T)
  bf16* logits_;                                   // (B,T,Vp), dlogits after a forward with targets
  float *losses_, *loss_sum_;                      // (B,T), scalar
  // work space
  bf16* attn_scratch_ = nullptr;                   // gemm: 7*B*T*C
  bf16* datt_ = nullptr;                           // gemm: (B,NH,T,T)
  float* row_dot_ = nullptr;                       // flash: (B,NH,T)
  bf16 *dres_, *dsmall_, *dbig_, *dqkv_;           // (B,T,C) x2, (B,T,4C), (B,T,3C)
  float* rope_ = nullptr;                          // (maxT, HS/2, 2) rotary cos/sin
  Scratch scratch_;                                // fixed-order reductions
  std::unique_ptr<Muon> muon_;
  // Muon's exchange buffer: each Muon parameter's bf16 updates at muon_offset_[p]
  bf16* muon_update_ = nullptr;
  std::array<std::size_t, num_params> muon_offset_{};
  std::size_t muon_total_ = 0;
  // the matrices of each Muon parameter this rank orthogonalises (device lists), for owner_world_ ranks
  std::array<int*, num_params> owned_{};
  std::array<int, num_params> owned_count_{};
  int owner_rank_ = -1, owner_world_ = 0;
  void share_out_matrices(int rank, int world);
};

}  // namespace speedrunner::cuda
