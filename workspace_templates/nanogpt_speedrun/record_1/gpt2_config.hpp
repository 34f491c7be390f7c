// GPT-2 shape and parameter layout shared by the CUDA model and its CPU
// reference: one flat buffer of 16 tensors, each offset aligned for cuBLASLt.
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
  int max_seq = 1024;        // rows of the learned position table
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

// Record 1: llm.c's GPT-2 124M.
inline constexpr GPT2Config record1_config{};
// A model small enough for CPU tests in CI and for kernel-by-kernel checks.
inline constexpr GPT2Config tiny_config{.vocab = 100, .padded_vocab = 128, .max_seq = 32,
                                        .layers = 2, .heads = 4, .channels = 64};

// The parameter tensors, in buffer order. Linear weights are (out, in), as in PyTorch.
enum Param : int {
  wte,       // (Vp, C) token embedding, tied to the head
  wpe,       // (maxT, C)
  ln1w,      // (L, C)
  ln1b,      // (L, C)
  qkvw,      // (L, 3C, C)
  qkvb,      // (L, 3C)
  attprojw,  // (L, C, C)
  attprojb,  // (L, C)
  ln2w,      // (L, C)
  ln2b,      // (L, C)
  fcw,       // (L, 4C, C)
  fcb,       // (L, 4C)
  fcprojw,   // (L, C, 4C)
  fcprojb,   // (L, C)
  lnfw,      // (C)
  lnfb,      // (C)
  num_params
};

inline constexpr std::array<const char*, num_params> param_names{
    "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"};

// Weight decay applies to matrices (embeddings and linear weights), not to gains and biases.
inline constexpr bool param_is_matrix(int p) {
  return p == wte || p == wpe || p == qkvw || p == attprojw || p == fcw || p == fcprojw;
}

struct ParamLayout {
  std::array<std::size_t, num_params> size{};    // elements
  std::array<std::size_t, num_params> offset{};  // elements from the buffer start
  std::size_t total = 0;                         // buffer elements, alignment gaps included
  std::size_t count = 0;                         // real parameters

  // Each tensor starts on a 128-element boundary (256 bytes in bf16), which
  // cuBLASLt's fastest kernels assume.
  static constexpr std::size_t alignment = 128;

  explicit ParamLayout(const GPT2Config& c) {
    const std::size_t V = c.padded_vocab, T = c.max_seq, L = c.layers, C = c.channels;
    size = {V * C, T * C, L * C, L * C, L * 3 * C * C, L * 3 * C, L * C * C, L * C,
            L * C, L * C, L * 4 * C * C, L * 4 * C, L * 4 * C * C, L * C, C, C};
    for (int p = 0; p < num_params; ++p) {
      offset[p] = total;
      total += (size[p] + alignment - 1) / alignment * alignment;
      count += size[p];
    }
  }
};

// GPT-2's initialisation, deterministic for a seed: weights N(0, 0.02), the two
// residual projections N(0, 0.02/sqrt(2L)), biases 0, LayerNorm gains 1, and the
// padded vocabulary rows 0 (no token selects them and the loss ignores them).
// `out` has layout.total elements.
inline void init_params(const GPT2Config& c, std::uint64_t seed, float* out) {
  const ParamLayout layout(c);
  for (std::size_t i = 0; i < layout.total; ++i) out[i] = 0.0f;
  // splitmix64 + Box-Muller: identical on every compiler, so every rank and the
  // CPU reference start from the same weights.
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  auto next_u64 = [&state] {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  auto uniform = [&] { return (double(next_u64() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };
  auto fill_normal = [&](float* p, std::size_t n, double stddev) {
    for (std::size_t i = 0; i < n; i += 2) {
      const double r = std::sqrt(-2.0 * std::log(uniform())), a = 6.283185307179586 * uniform();
      p[i] = float(stddev * r * std::cos(a));
      if (i + 1 < n) p[i + 1] = float(stddev * r * std::sin(a));
    }
  };
  const double proj_std = 0.02 / std::sqrt(2.0 * c.layers);
  fill_normal(out + layout.offset[wte], std::size_t(c.vocab) * c.channels, 0.02);
  fill_normal(out + layout.offset[wpe], layout.size[wpe], 0.02);
  fill_normal(out + layout.offset[qkvw], layout.size[qkvw], 0.02);
  fill_normal(out + layout.offset[attprojw], layout.size[attprojw], proj_std);
  fill_normal(out + layout.offset[fcw], layout.size[fcw], 0.02);
  fill_normal(out + layout.offset[fcprojw], layout.size[fcprojw], proj_std);
  for (int p : {ln1w, ln2w, lnfw})
    for (std::size_t i = 0; i < layout.size[p]; ++i) out[layout.offset[p] + i] = 1.0f;
}

// Optimiser settings of record 1 (AdamW, clipping, warmup then cosine decay).
struct OptimizerConfig {
  float lr = 6e-4f;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;
  float grad_clip = 1.0f;  // global norm; <= 0 turns clipping off
  int warmup_steps = 700;
  float final_lr_fraction = 0.0f;

  // Learning rate of step `step` (0-based) of `total` steps.
  [[nodiscard]] float lr_at(int step, int total) const {
    if (step < warmup_steps) return lr * float(step + 1) / float(warmup_steps);
    if (total <= warmup_steps) return lr;
    const double progress = double(step - warmup_steps) / double(total - warmup_steps);
    const double cosine = 0.5 * (1.0 + std::cos(3.141592653589793 * std::min(progress, 1.0)));
    return float(lr * (final_lr_fraction + (1.0 - final_lr_fraction) * cosine));
  }
};

// FLOPs of one training token (llm.c's estimate: 6N for the weights, 6LCT for attention).
inline double flops_per_token(const GPT2Config& c, int T) {
  const ParamLayout layout(c);
  return 6.0 * double(layout.count) + 6.0 * c.layers * c.channels * double(T);
}

}  // namespace speedrunner::cuda
