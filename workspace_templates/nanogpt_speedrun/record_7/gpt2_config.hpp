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
  int vocab = 50304;         // the record pads the vocabulary: every row takes part in the softmax
  int padded_vocab = 50304;  // rows of the tied embedding/head (a multiple of 128 keeps GEMMs fast)
  int max_seq = 1024;        // longest sequence (rows of the rotary angle table)
  int layers = 12;
  int heads = 6;  // of 128 channels
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

// The record's initialisation, deterministic for a seed: the tied embedding/head
// and the q/k/v and MLP-in weights PyTorch's default for nn.Linear, uniform in
// +-1/sqrt(fan_in); the attention and MLP output projections zero, so each block
// starts as the identity; rows past `vocab` (none by default) 0. `out` has layout.total elements.
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
  fill_linear(out + layout.offset[fcw], layout.size[fcw], c.channels);
}

// Muon trains the blocks' matrices; AdamW the tied embedding/head.
inline constexpr bool param_uses_muon(int p) { return p == qkvw || p == attprojw || p == fcw || p == fcprojw; }

// (rows, cols) of each matrix Muon orthogonalises in a parameter (Linear weights
// are (out, in)), and how many there are: q, k and v of each layer are three (C, C)
// matrices, not one (3C, C).
inline constexpr std::array<int, 2> muon_matrix_shape(int p, int C) {
  return p == fcw ? std::array{4 * C, C} : p == fcprojw ? std::array{C, 4 * C} : std::array{C, C};
}
inline constexpr int muon_matrix_count(int p, int L) { return p == qkvw ? 3 * L : L; }

// Optimiser settings of record 6 (record 5's): Muon (Nesterov momentum, Newton-Schulz in
// bf16, each update scaled by sqrt(max(rows, cols)) in bf16) for the blocks' matrices at
// a tenth of AdamW's rate, AdamW without weight decay for the embedding/head, no
// gradient clipping; one schedule (no warmup, constant, linear warmdown to 0) scales both.
struct OptimizerConfig {
  float lr = 3.6e-3f;  // AdamW's peak
  float muon_lr = 3.6e-4f;
  float muon_momentum = 0.95f;
  int ns_steps = 5;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  int warmup_steps = 0;
  int warmdown_steps = 1450;

  // Schedule factor of step `step` (0-based) of `total` steps, times AdamW's peak.
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
