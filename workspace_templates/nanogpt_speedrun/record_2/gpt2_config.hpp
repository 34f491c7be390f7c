// GPT-2 shape and parameter layout shared by the CUDA model and its CPU
// reference: one flat buffer of 5 tensors, each offset aligned for cuBLASLt.
// Plain C++20 (nvcc and the host compiler both include it).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

namespace speedrunner::cuda {

struct GPT2Config {
  int vocab = 50257;         // real tokens; logits past it are ignored
  int padded_vocab = 50304;  // rows of the tied embedding/head (a multiple of 128 keeps GEMMs fast)
  int max_seq = 1024;        // longest sequence (rows of the rotary angle table)
  int layers = 12;
  int heads = 12;
  int channels = 768;

  [[nodiscard]] int head_size() const { return channels / heads; }
  // An empty string when the shape is usable, else what is wrong and how to fix it.
  [[nodiscard]] std::string problem() const {
    if (vocab <= 0 || layers <= 0 || heads <= 0 || channels <= 0 || max_seq <= 0)
      return "every model dimension must be positive";
    if (padded_vocab < vocab) return "padded vocabulary must be >= vocabulary";
    if (channels % heads != 0) return "width must be a multiple of the head count";
    if (channels % 64 != 0 || padded_vocab % 64 != 0)
      return "width and padded vocabulary must be multiples of 64 (aligned GEMMs)";
    return {};
  }
};

// Record 1: GPT-2 124M as the speedrun's first record trains it (weightless RMSNorm, no biases).
inline constexpr GPT2Config record1_config{};
// A model small enough for CPU tests in CI and for kernel-by-kernel checks.
inline constexpr GPT2Config tiny_config{.vocab = 100, .padded_vocab = 128, .max_seq = 32,
                                        .layers = 2, .heads = 4, .channels = 64};

// The parameter tensors, in buffer order. Linear weights are (out, in), as in PyTorch.
// No linear layer has a bias and the norms have no gain: every parameter is a matrix.
enum Param : int {
  wte,       // (Vp, C) token embedding, tied to the head; positions come from rotary q/k
  qkvw,      // (L, 3C, C)
  attprojw,  // (L, C, C)
  fcw,       // (L, 4C, C)
  fcprojw,   // (L, C, 4C)
  num_params
};

inline constexpr std::array<const char*, num_params> param_names{"wte", "qkvw", "attprojw", "fcw", "fcprojw"};

struct ParamLayout {
  std::array<std::size_t, num_params> size{};    // elements
  std::array<std::size_t, num_params> offset{};  // elements from the buffer start
  std::size_t total = 0;                         // buffer elements, alignment gaps included
  std::size_t count = 0;                         // real parameters

  // Each tensor starts on a 128-element boundary (256 bytes in bf16), which
  // cuBLASLt's fastest kernels assume.
  static constexpr std::size_t alignment = 128;

  explicit ParamLayout(const GPT2Config& c) {
    const std::size_t V = c.padded_vocab, L = c.layers, C = c.channels;
    size = {V * C, L * 3 * C * C, L * C * C, L * 4 * C * C, L * 4 * C * C};
    for (int p = 0; p < num_params; ++p) {
      offset[p] = total;
      total += (size[p] + alignment - 1) / alignment * alignment;
      count += size[p];
    }
  }
};

// The attention branch's output is scaled by 1/sqrt(2 * layers) before the residual add.
inline float attention_branch_scale(const GPT2Config& c) { return float(1.0 / std::sqrt(2.0 * c.layers)); }

// The record's initialisation, deterministic for a seed: every weight, the tied
// embedding/head included (it is the head's nn.Linear weight), PyTorch's default
// for nn.Linear, uniform in +-1/sqrt(fan_in); the padded vocabulary rows 0 (no
// token selects them and the loss ignores them). `out` has layout.total elements.
inline void init_params(const GPT2Config& c, std::uint64_t seed, float* out) {
  const ParamLayout layout(c);
  for (std::size_t i = 0; i < layout.total; ++i) out[i] = 0.0f;
  // splitmix64: identical on every compiler, so every rank and the
  // CPU reference start from the same weights.
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  auto next_u64 = [&state] {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  auto uniform = [&] { return (double(next_u64() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };
  auto fill_linear = [&](float* p, std::size_t n, int fan_in) {
    const double bound = 1.0 / std::sqrt(double(fan_in));
    for (std::size_t i = 0; i < n; ++i) p[i] = float((2.0 * uniform() - 1.0) * bound);
  };
  fill_linear(out + layout.offset[wte], std::size_t(c.vocab) * c.channels, c.channels);
  fill_linear(out + layout.offset[qkvw], layout.size[qkvw], c.channels);
  fill_linear(out + layout.offset[attprojw], layout.size[attprojw], c.channels);
  fill_linear(out + layout.offset[fcw], layout.size[fcw], c.channels);
  fill_linear(out + layout.offset[fcprojw], layout.size[fcprojw], 4 * c.channels);
}

// The record's parameters one by one (PyTorch's model.parameters()): the tied
// embedding, then each layer's four matrices. Tensor i of `tensor_count` is
// (param, layer) as tensor_of(i) says; its slice of the buffer follows.
inline constexpr int stacked_params = num_params - 1;  // qkvw, attprojw, fcw, fcprojw: one (L, ...) block each
inline int tensor_count(const GPT2Config& c) { return 1 + stacked_params * c.layers; }
struct TensorSlice {
  std::size_t offset, size;  // in elements, into the parameter buffer
};
inline TensorSlice tensor_slice(const ParamLayout& at, const GPT2Config& c, int i) {
  if (i == 0) return {at.offset[wte], at.size[wte]};
  const int p = 1 + (i - 1) / c.layers, l = (i - 1) % c.layers;
  const std::size_t per_layer = at.size[p] / std::size_t(c.layers);
  return {at.offset[p] + std::size_t(l) * per_layer, per_layer};
}

// Optimiser settings of record 2: AdamW on every parameter, the gradient of each
// of the record's parameters (each layer's matrix apart) divided by its own norm (+1e-6) instead of clipping, and the trapezoid
// schedule: linear warmup, constant, then a linear warmdown to 0.
struct OptimizerConfig {
  float lr = 1.8e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;
  int warmup_steps = 256;
  int warmdown_steps = 2000;

  // Learning rate of step `step` (0-based) of `total` steps.
  [[nodiscard]] float lr_at(int step, int total) const {
    if (step < warmup_steps) return lr * float(step + 1) / float(warmup_steps);
    if (step < total - warmdown_steps) return lr;
    return lr * float(total - step) / float(warmdown_steps);
  }
};

// FLOPs of one training token (llm.c's estimate: 6N for the weights, 6LCT for attention).
inline double flops_per_token(const GPT2Config& c, int T) {
  const ParamLayout layout(c);
  return 6.0 * double(layout.count) + 6.0 * c.layers * c.channels * double(T);
}

}  // namespace speedrunner::cuda
