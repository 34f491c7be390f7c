// The GPT-2 model on one GPU: fp32 master weights with a bf16 working copy,
// bf16 activations kept per layer for the backward pass, fp32 gradients and
// AdamW state, the master weights and AdamW state optionally sharded over
// data-parallel ranks (ZeRO-1). Host code; the kernels are behind kernels.hpp
// and blas.hpp.
#pragma once

#include "blas.hpp"
#include "gpt2_config.hpp"
#include "zero_shard.hpp"

#include <cstdint>
#include <vector>

namespace speedrunner::cuda {

// How attention runs: fused flash-style kernels (head sizes 16/32/64), or
// batched GEMMs around a softmax kernel that store the (B,NH,T,T) probabilities.
enum class Attention { flash, gemm };

// Which optimizer shard this process owns: ZeRO-1 over `world` data-parallel
// ranks, or (world 1) the whole model.
struct OptimizerShard {
  int world = 1, rank = 0;
};

class GPT2 {
 public:
  // B sequences of T tokens per forward pass (T <= config.max_seq). Weights
  // start from init_params(config, seed). Flash attention falls back to the
  // GEMM path for head sizes it does not support.
  // With a shard of world W > 1 the fp32 master weights and the AdamW moments
  // hold only this rank's shard (shard().size() elements each); gradients and
  // the bf16 weights stay whole (shard().padded_total elements) because every
  // rank runs the whole forward and backward pass.
  GPT2(const GPT2Config& config, int B, int T, std::uint64_t seed, cudaStream_t stream,
       Attention attention = Attention::flash, OptimizerShard shard = {});
  ~GPT2();
  GPT2(const GPT2&) = delete;
  GPT2& operator=(const GPT2&) = delete;

  // Replaces the master weights (layout.total floats from the host; a sharded
  // model keeps its shard of them) and the whole bf16 copy.
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

  // Clip to the global norm (of grads() as they are, e.g. after an all-reduce),
  // then AdamW; t counts from 1. Only for an unsharded model: it is
  // sum_grad_squares() then adamw().
  void update(const OptimizerConfig& opt, float lr, int t);
  // The two halves of update() for ZeRO-1, where the caller sums the squares
  // over ranks in between (all-reduce of grad_norm_sq()) so that every shard
  // clips by the global norm. sum_grad_squares() sets *grad_norm_sq() to the
  // squared norm of this rank's shard of grads() (gaps and padding are 0);
  // adamw() clips by sqrt(*grad_norm_sq()) and updates the shard's master
  // weights and their bf16 copy, tensor piece by tensor piece (decay on matrices).
  void sum_grad_squares();
  void adamw(const OptimizerConfig& opt, float lr, int t);
  [[nodiscard]] float grad_norm();  // of the last update (waits for the stream)

  [[nodiscard]] const GPT2Config& config() const { return config_; }
  [[nodiscard]] const ParamLayout& layout() const { return layout_; }
  [[nodiscard]] int batch() const { return B_; }
  [[nodiscard]] int seq_len() const { return T_; }
  [[nodiscard]] Attention attention() const { return attention_; }
  [[nodiscard]] const ShardPlan& shard() const { return shard_; }
  // shard().padded_total elements each; rank r's shard is [shard().begin, shard().end).
  [[nodiscard]] float* grads() { return grads_; }
  [[nodiscard]] bf16* params_bf16() { return params_bf16_; }
  [[nodiscard]] float* grad_norm_sq() { return grad_norm_sq_; }  // device scalar
  [[nodiscard]] float* loss_accumulator() { return loss_sum_; }
  [[nodiscard]] cudaStream_t stream() const { return stream_; }
  [[nodiscard]] std::size_t device_bytes() const { return bytes_; }

  // Copies for tests and checkpoints (wait for the stream). params_host() is
  // the whole fp32 master copy (layout.total), so only an unsharded model has
  // it; master_shard_host() is this rank's shard of it (shard().size()).
  [[nodiscard]] std::vector<float> params_host() const;
  [[nodiscard]] std::vector<float> master_shard_host() const;
  [[nodiscard]] std::vector<float> params_bf16_host() const;  // whole bf16 copy (layout.total)
  [[nodiscard]] std::vector<float> grads_host() const;
  [[nodiscard]] std::vector<float> logits_host() const;  // (B,T,Vp) after a forward without targets

 private:
  template <class T>
  T* alloc(std::size_t count);

  GPT2Config config_;
  ParamLayout layout_;
  ShardPlan shard_;
  int B_, T_;
  cudaStream_t stream_;
  Attention attention_;
  Blas blas_;
  std::vector<void*> allocations_;
  std::size_t bytes_ = 0;

  // params_, m_, v_: this rank's shard (element i at i - shard_.begin); grads_, params_bf16_:
  // whole.
  float *params_ = nullptr, *grads_ = nullptr, *m_ = nullptr, *v_ = nullptr;
  bf16* params_bf16_ = nullptr;
  int *tokens_ = nullptr, *targets_ = nullptr;
  // activations: per layer (L, ...) unless noted
  bf16* encoded_;                                        // (B,T,C)
  bf16 *ln1_, *qkv_, *atty_, *res2_;                     // (L,B,T,C) (L,B,T,3C) (L,B,T,C) x2
  bf16* att_ = nullptr;                                  // gemm: (L,B,NH,T,T) probabilities
  float* lse_ = nullptr;                                 // flash: (L,B,NH,T) row log-sum-exp
  bf16 *ln2_, *fch_, *fch_gelu_, *res3_;                 // (L,B,T,C) (L,B,T,4C) x2 (L,B,T,C)
  float *ln1_mean_, *ln1_rstd_, *ln2_mean_, *ln2_rstd_;  // (L,B,T)
  bf16* lnf_;                                            // (B,T,C)
  float *lnf_mean_, *lnf_rstd_;                          // (B,T)
  bf16* logits_;                               // (B,T,Vp), dlogits after a forward with targets
  float *losses_, *loss_sum_, *grad_norm_sq_;  // (B,T), scalars
  // work space
  bf16* attn_scratch_ = nullptr;          // gemm: 7*B*T*C
  bf16* datt_ = nullptr;                  // gemm: (B,NH,T,T)
  float* flash_work_ = nullptr;              // flash backward work space
  bf16 *dres_, *dsmall_, *dbig_, *dqkv_;  // (B,T,C) x2, (B,T,4C), (B,T,3C)
};

}  // namespace speedrunner::cuda
