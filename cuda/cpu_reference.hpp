// The CPU twin of the CUDA GPT-2: the same layers and optimiser in plain C++,
// in float or double, so tests can check each kernel and the whole model.
// Instantiated for float and double in cpu_reference.cpp.
#pragma once

#include "gpt2_config.hpp"

#include <cstddef>
#include <vector>

namespace speedrunner::cuda::cpu {

// ---- layers (shapes in trailing comments; N = B*T rows) ----
template <class Real>
void encoder_forward(Real* out, const int* tokens, const Real* wte, const Real* wpe, int B, int T,
                     int C);  // out (B,T,C)
template <class Real>
void encoder_backward(Real* dwte, Real* dwpe, const Real* dout, const int* tokens, int B, int T,
                      int C);  // accumulates

template <class Real>
void layernorm_forward(Real* out, Real* mean, Real* rstd, const Real* inp, const Real* weight,
                       const Real* bias, int N, int C);  // (N,C), mean/rstd (N)
template <class Real>
void layernorm_backward(Real* dinp, Real* dweight, Real* dbias, const Real* dout, const Real* inp,
                        const Real* weight, const Real* mean, const Real* rstd, int N,
                        int C);  // accumulates

// out (N,OC) = inp (N,IC) . weight (OC,IC)^T + bias (OC) [+ residual (N,OC)]
template <class Real>
void matmul_forward(Real* out, const Real* inp, const Real* weight, const Real* bias,
                    const Real* residual, int N, int IC, int OC);
// dinp (N,IC), dweight (OC,IC), dbias (OC): all accumulate; dbias may be null.
template <class Real>
void matmul_backward(Real* dinp, Real* dweight, Real* dbias, const Real* dout, const Real* inp,
                     const Real* weight, int N, int IC, int OC);

// Causal self-attention on qkv (B,T,3C) laid out [q|k|v], heads contiguous inside each.
template <class Real>
void attention_forward(Real* out, Real* att, const Real* qkv, int B, int T, int C,
                       int NH);  // out (B,T,C), att (B,NH,T,T)
template <class Real>
void attention_backward(Real* dqkv, const Real* dout, const Real* qkv, const Real* att, int B,
                        int T, int C,
                        int NH);  // dqkv (B,T,3C), accumulates

template <class Real>
void gelu_forward(Real* out, const Real* inp, std::size_t n);  // tanh approximation
template <class Real>
void gelu_backward(Real* dinp, const Real* inp, const Real* dout, std::size_t n);  // accumulates

// Softmax over the first V of Vp logits per row, cross-entropy against targets;
// dlogits = (probs - onehot) * dloss (padded columns 0). losses (N).
template <class Real>
void softmax_cross_entropy(Real* losses, Real* dlogits, const Real* logits, const int* targets,
                           int N, int V, int Vp, Real dloss);

// AdamW with bias correction; grads are multiplied by grad_scale first (clipping).
template <class Real>
void adamw_update(Real* params, const Real* grads, Real* m, Real* v, std::size_t n, float lr,
                  float beta1, float beta2, float eps, float weight_decay, int t, Real grad_scale);

// ---- the whole model ----
template <class Real>
class GPT2 {
 public:
  GPT2(const GPT2Config& config, int B, int T);

  // Mean cross-entropy over the batch; logits() holds (B,T,Vp) afterwards.
  Real forward(const int* tokens, const int* targets);
  // Gradients of the mean loss into grads() (overwritten, not accumulated).
  void backward();
  // Global-norm clipping then AdamW; t counts steps from 1. Returns the gradient norm.
  Real update(const OptimizerConfig& opt, float lr, int t);

  [[nodiscard]] const GPT2Config& config() const { return config_; }
  [[nodiscard]] const ParamLayout& layout() const { return layout_; }
  std::vector<Real>& params() { return params_; }
  [[nodiscard]] const std::vector<Real>& grads() const { return grads_; }
  [[nodiscard]] const std::vector<Real>& logits() const { return logits_; }

 private:
  GPT2Config config_;
  ParamLayout layout_;
  int B_, T_;
  std::vector<Real> params_, grads_, m_, v_;
  std::vector<int> tokens_, targets_;
  // activations, per layer where it says so
  std::vector<Real> encoded_;                    // (B,T,C)
  std::vector<Real> ln1_, ln1_mean_, ln1_rstd_;  // (L,B,T,C), (L,B,T)
  std::vector<Real> qkv_, att_, atty_, res2_;    // (L,B,T,3C), (L,B,NH,T,T), (L,B,T,C) x2
  std::vector<Real> ln2_, ln2_mean_, ln2_rstd_;  // (L,B,T,C), (L,B,T)
  std::vector<Real> fch_, fch_gelu_, res3_;      // (L,B,T,4C) x2, (L,B,T,C)
  std::vector<Real> lnf_, lnf_mean_, lnf_rstd_;  // (B,T,C), (B,T)
  std::vector<Real> logits_, dlogits_, losses_;  // (B,T,Vp) x2, (B,T)
  Real* param(int p, int layer = 0, std::size_t per_layer = 0) {
    return params_.data() + layout_.offset[p] + std::size_t(layer) * per_layer;
  }
  Real* grad(int p, int layer = 0, std::size_t per_layer = 0) {
    return grads_.data() + layout_.offset[p] + std::size_t(layer) * per_layer;
  }
};

}  // namespace speedrunner::cuda::cpu
