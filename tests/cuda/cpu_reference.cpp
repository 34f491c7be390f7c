// Tests of cuda/cpu_reference.hpp, the CPU GPT-2 the GPU kernels are checked
// against: its gradients against finite differences, causality, the optimiser
// and the schedule. Runs in CI (no GPU needed).
#include "catch.hpp"

#include "cpu_reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace cpu = speedrunner::cuda::cpu;
using speedrunner::cuda::GPT2Config;
using speedrunner::cuda::OptimizerConfig;
using speedrunner::cuda::ParamLayout;

namespace {

constexpr GPT2Config small{
    .vocab = 50, .padded_vocab = 64, .max_seq = 16, .layers = 2, .heads = 2, .channels = 64};

// Relative closeness (Catch2 2 and 3 spell Approx differently).
bool near(double actual, double expected, double rel) {
  return std::abs(actual - expected) <= rel * std::max(std::abs(expected), 1e-300);
}

std::vector<int> random_tokens(int n, int vocab, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pick(0, vocab - 1);
  std::vector<int> t(n);
  for (int& x : t) x = pick(rng);
  return t;
}

}  // namespace

TEST_CASE("The CPU GPT-2's gradients match central finite differences in every tensor",
          "[cuda][cpu]") {
  const int B = 2, T = 8;
  cpu::GPT2<double> model(small, B, T);
  // Perturb LayerNorm gains and biases away from 1/0 so their gradients are generic.
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 0.1);
  for (double& p : model.params()) p += 0.01 * noise(rng);
  const auto tokens = random_tokens(B * T, small.vocab, 1),
             targets = random_tokens(B * T, small.vocab, 2);
  model.forward(tokens.data(), targets.data());
  model.backward();
  const std::vector<double> grads = model.grads();
  const ParamLayout& layout = model.layout();
  for (int p = 0; p < speedrunner::cuda::num_params; ++p) {
    std::uniform_int_distribution<std::size_t> pick(0, layout.size[p] - 1);
    for (int trial = 0; trial < 3; ++trial) {
      std::size_t i = layout.offset[p] + pick(rng);
      if (p == speedrunner::cuda::wte && trial == 0)  // one row that the batch surely uses
        i = layout.offset[p] + std::size_t(tokens[0]) * small.channels + 3;
      const double h = 1e-5, saved = model.params()[i];
      model.params()[i] = saved + h;
      const double up = model.forward(tokens.data(), targets.data());
      model.params()[i] = saved - h;
      const double down = model.forward(tokens.data(), targets.data());
      model.params()[i] = saved;
      const double fd = (up - down) / (2 * h);
      INFO(speedrunner::cuda::param_names[p] << "[" << i - layout.offset[p] << "]: analytic "
                                             << grads[i] << ", finite difference " << fd);
      CHECK(std::abs(fd - grads[i]) <= 1e-8 + 1e-5 * std::abs(grads[i]));
    }
  }
}

TEST_CASE("The CPU GPT-2 starts near the uniform loss ln(vocab)", "[cuda][cpu]") {
  const int B = 2, T = 16;
  cpu::GPT2<float> model(small, B, T);
  const auto tokens = random_tokens(B * T, small.vocab, 3),
             targets = random_tokens(B * T, small.vocab, 4);
  const float loss = model.forward(tokens.data(), targets.data());
  CHECK(std::abs(loss - std::log(float(small.vocab))) < 0.1f);
}

TEST_CASE("The CPU GPT-2 is causal: a later token never changes earlier logits", "[cuda][cpu]") {
  const int B = 1, T = 12;
  cpu::GPT2<double> model(small, B, T);
  auto tokens = random_tokens(T, small.vocab, 5);
  const auto targets = random_tokens(T, small.vocab, 6);
  model.forward(tokens.data(), targets.data());
  const std::vector<double> before = model.logits();
  tokens[7] = (tokens[7] + 1) % small.vocab;
  model.forward(tokens.data(), targets.data());
  const std::vector<double>& after = model.logits();
  const std::size_t Vp = small.padded_vocab;
  for (std::size_t i = 0; i < 7 * Vp; ++i) REQUIRE(after[i] == before[i]);
  bool changed = false;
  for (std::size_t i = 7 * Vp; i < 8 * Vp; ++i) changed = changed || after[i] != before[i];
  CHECK(changed);
}

TEST_CASE("Padded vocabulary rows get no gradient and no probability", "[cuda][cpu]") {
  const int B = 2, T = 8;
  cpu::GPT2<float> model(small, B, T);
  const auto tokens = random_tokens(B * T, small.vocab, 8),
             targets = random_tokens(B * T, small.vocab, 9);
  model.forward(tokens.data(), targets.data());
  model.backward();
  const std::size_t C = small.channels;
  for (std::size_t i = std::size_t(small.vocab) * C; i < std::size_t(small.padded_vocab) * C; ++i)
    REQUIRE(model.grads()[model.layout().offset[speedrunner::cuda::wte] + i] == 0.0f);
}

TEST_CASE("Float and double CPU references agree on loss and gradients", "[cuda][cpu]") {
  const int B = 2, T = 8;
  cpu::GPT2<float> f(small, B, T);
  cpu::GPT2<double> d(small, B, T);
  const auto tokens = random_tokens(B * T, small.vocab, 10),
             targets = random_tokens(B * T, small.vocab, 11);
  const double lf = f.forward(tokens.data(), targets.data()),
               ld = d.forward(tokens.data(), targets.data());
  CHECK(std::abs(lf - ld) < 1e-5);
  f.backward();
  d.backward();
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < d.grads().size(); ++i) {
    diff += (f.grads()[i] - d.grads()[i]) * (f.grads()[i] - d.grads()[i]);
    norm += d.grads()[i] * d.grads()[i];
  }
  CHECK(std::sqrt(diff / norm) < 1e-5);
}

TEST_CASE("Ten AdamW steps on one batch lower the CPU model's loss steadily", "[cuda][cpu]") {
  const int B = 2, T = 16;
  cpu::GPT2<float> model(small, B, T);
  // A learnable pattern: each target is the next token of a fixed cycle.
  std::vector<int> tokens(B * T), targets(B * T);
  for (int i = 0; i < B * T; ++i)
    tokens[i] = (i * 7) % small.vocab, targets[i] = ((i + 1) * 7) % small.vocab;
  OptimizerConfig opt;
  opt.lr = 1e-3f;
  std::vector<float> losses;
  for (int step = 1; step <= 10; ++step) {
    losses.push_back(model.forward(tokens.data(), targets.data()));
    model.backward();
    model.update(opt, opt.lr, step);
  }
  for (std::size_t i = 1; i < losses.size(); ++i) CHECK(losses[i] < losses[i - 1]);
  CHECK(losses.back() < losses.front() - 0.5f);
}

TEST_CASE("AdamW's first step moves each weight by lr against its gradient's sign", "[cuda][cpu]") {
  std::vector<double> p{0.5, -0.25, 1.0}, g{0.3, -2.0, 1e-3}, m(3, 0.0), v(3, 0.0);
  cpu::adamw_update(p.data(), g.data(), m.data(), v.data(), 3, 0.01f, 0.9f, 0.95f, 1e-8f, 0.1f, 1,
                    1.0);
  // bias-corrected first step: mhat/sqrt(vhat) = sign(g); decoupled decay lr*wd*p
  CHECK(near(p[0], 0.5 - 0.01 * (1 + 0.1 * 0.5), 1e-6));
  CHECK(near(p[1], -0.25 - 0.01 * (-1 + 0.1 * -0.25), 1e-6));
  CHECK(near(p[2], 1.0 - 0.01 * (1 + 0.1 * 1.0), 1e-5));
  CHECK(near(m[1], -0.2, 1e-5));
  CHECK(near(v[1], 0.05 * 4.0, 1e-5));
}

TEST_CASE("GELU is the tanh approximation and its derivative", "[cuda][cpu]") {
  const std::vector<double> x{-3.0, -1.0, 0.0, 0.5, 1.0, 2.0};
  std::vector<double> y(x.size());
  cpu::gelu_forward(y.data(), x.data(), x.size());
  CHECK(near(y[1], -0.158808, 1e-5));
  CHECK(y[2] == 0.0);
  CHECK(near(y[4], 0.841192, 1e-5));
  std::vector<double> ones(x.size(), 1.0), dx(x.size(), 0.0);
  cpu::gelu_backward(dx.data(), x.data(), ones.data(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    double hi = x[i] + 1e-6, lo = x[i] - 1e-6, yh, yl;
    cpu::gelu_forward(&yh, &hi, 1);
    cpu::gelu_forward(&yl, &lo, 1);
    CHECK(near(dx[i], (yh - yl) / 2e-6, 1e-6));
  }
}

TEST_CASE("The schedule warms up linearly then decays along a cosine to the floor", "[cuda][cpu]") {
  OptimizerConfig opt;
  opt.lr = 6e-4f;
  opt.warmup_steps = 10;
  CHECK(near(opt.lr_at(0, 100), 6e-5, 1e-5));
  CHECK(near(opt.lr_at(9, 100), 6e-4, 1e-5));
  CHECK(near(opt.lr_at(55, 100), 3e-4, 1e-4));
  CHECK(std::abs(double(opt.lr_at(100, 100)) - (0.0)) <= 1e-12);
  opt.final_lr_fraction = 0.1f;
  CHECK(near(opt.lr_at(100, 100), 6e-5, 1e-5));
}

TEST_CASE("Initialisation is deterministic, GPT-2 scaled, and record 1 has 124,475,904 parameters",
          "[cuda][cpu]") {
  const ParamLayout layout(speedrunner::cuda::record1_config);
  CHECK(layout.count == 124475904u);
  CHECK(near(speedrunner::cuda::flops_per_token(speedrunner::cuda::record1_config, 1024), 803.5e6,
             1e-3));
  const ParamLayout tiny(small);
  std::vector<float> a(tiny.total), b(tiny.total);
  speedrunner::cuda::init_params(small, 42, a.data());
  speedrunner::cuda::init_params(small, 42, b.data());
  CHECK(a == b);
  double sq = 0;
  const std::size_t n = tiny.size[speedrunner::cuda::fcw];
  for (std::size_t i = 0; i < n; ++i)
    sq += double(a[tiny.offset[speedrunner::cuda::fcw] + i]) *
          a[tiny.offset[speedrunner::cuda::fcw] + i];
  CHECK(near(std::sqrt(sq / n), 0.02, 0.05));
  CHECK(a[tiny.offset[speedrunner::cuda::ln1w]] == 1.0f);
  CHECK(a[tiny.offset[speedrunner::cuda::qkvb]] == 0.0f);
}
