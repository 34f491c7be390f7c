// template-gradients: checks a record template's backward pass against finite differences of
// its own forward pass on the GPU. Built against one template's objects (scripts/records/
// template-program), it takes a small model of the template's architecture (4 layers, so a
// U-net has an encoder and a decoder half), moves every parameter off its initial value (the
// zero-initialised projections and head too, so every path carries gradient), and for each
// parameter tensor compares the analytic directional derivative g . u with a finite difference
// of the loss along a direction u that mixes the tensor's own gradient with noise, at 5% of the
// tensor's norm (20% for the few-valued scalar tensors, whose effect on the loss is small). The
// difference is Richardson's extrapolation of two central differences, along u and along u / 2:
// (4 D(u/2) - D(u)) / 3 with D(v) = (L(p + v) - L(p - v)) / 2 scaled to u, which cancels the
// step's second-order error (a tied head at its initial scale curves the loss enough for a 5%
// step's plain central difference to miss by up to 19%, measured on an H100). The model computes
// in bf16, so agreement is to a few percent, not to rounding: a missing or misrouted gradient
// term is off by far more. A tensor passes when the two agree within --tolerance of g . u, or
// within 1e-5 of the loss (the bf16 forward pass's noise, which 4096 tokens keep that small).
// Prints one line per tensor; exit 1 when one is off by more than its tolerance.
//   template-gradients [--layers 4] [--batch 128] [--seq 32] [--tolerance 0.1]
#include "gpt2.hpp"

#include "common.cuh"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace cu = speedrunner::cuda;

namespace {

int usage(const char* why) {
  std::fprintf(stderr,
               "template-gradients: %s\nusage: template-gradients [--layers N] [--batch B] [--seq T] [--tolerance X]\n",
               why);
  return 2;
}

double dot(const float* a, const float* b, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += double(a[i]) * b[i];
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int layers = 4, batch = 128, seq = 32;
  double tolerance = 0.1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage(("option " + arg + " needs a value").c_str());
    const double value = std::atof(argv[++i]);
    if (!(value > 0)) return usage(("option " + arg + " needs a positive number").c_str());
    if (arg == "--layers") layers = int(value);
    else if (arg == "--batch") batch = int(value);
    else if (arg == "--seq") seq = int(value);
    else if (arg == "--tolerance") tolerance = value;
    else return usage(("unknown option " + arg).c_str());
  }
  cu::GPT2Config config = cu::tiny_config;
  config.layers = layers;
  if (const std::string problem = config.problem(); !problem.empty())
    return usage(("--layers " + std::to_string(layers) + ": " + problem).c_str());
  if (seq > config.max_seq || seq % 8 != 0) return usage("--seq must be a multiple of 8 up to the tiny model's max_seq");
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  cu::GPT2 model(config, batch, seq, 1337, stream);
  const cu::ParamLayout& layout = model.layout();
  const std::size_t n = std::size_t(batch) * seq;
  std::mt19937 rng(20260527);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> token(0, config.vocab - 1);
  std::vector<int> inputs(n), targets(n);
  for (std::size_t i = 0; i < n; ++i) inputs[i] = token(rng), targets[i] = token(rng);

  // Every parameter off its initial value: noise at a tenth of the tensor's rms (0.02 where
  // the tensor starts at zero); scalars (tensors of at most 64 values) by N(0, 0.1).
  std::vector<float> params = model.params_host();
  for (int p = 0; p < cu::num_params; ++p) {
    float* x = params.data() + layout.offset[p];
    const std::size_t size = layout.size[p];
    const double rms = std::sqrt(dot(x, x, size) / double(size));
    const float scale = size <= 64 ? 0.1f : rms > 0 ? float(0.1 * rms) : 0.02f;
    for (std::size_t i = 0; i < size; ++i) x[i] += scale * normal(rng);
  }
  auto loss_at = [&](const std::vector<float>& at) {
    model.set_params(at.data());
    model.reset_loss();
    model.forward(inputs.data(), targets.data(), 1.0f / float(n));
    return double(model.loss());
  };
  model.set_params(params.data());
  model.zero_grad();
  model.reset_loss();
  model.forward(inputs.data(), targets.data(), 1.0f / float(n));
  model.backward();
  const double loss = model.loss();
  const std::vector<float> grads = model.grads_host();
  std::printf("template-gradients: %d layers, width %d, %d heads, %zu x %d tokens; loss %.5f\n", layers,
              config.channels, config.heads, std::size_t(batch), seq, loss);
  std::printf("%-12s %8s %13s %13s %9s\n", "tensor", "values", "g . u", "difference", "rel. off");
  int failures = 0;
  for (int p = 0; p < cu::num_params; ++p) {
    const std::size_t off = layout.offset[p], size = layout.size[p];
    const float* g = grads.data() + off;
    const double g_norm = std::sqrt(dot(g, g, size));
    if (!(g_norm > 0)) {
      std::printf("%-12s %8zu  FAILED: no gradient at all (every path of the test model is live)\n", cu::param_names[p],
                  size);
      ++failures;
      continue;
    }
    // u: the gradient's direction plus as much noise, at 5% of the tensor's norm
    std::vector<float> u(size);
    for (auto& x : u) x = normal(rng);
    const double noise_norm = std::sqrt(dot(u.data(), u.data(), size));
    const float* x = params.data() + off;
    const double step = (size <= 64 ? 0.2 : 0.05) * std::sqrt(dot(x, x, size));
    for (std::size_t i = 0; i < size; ++i) u[i] = float(step * (g[i] / g_norm + u[i] / noise_norm) / std::sqrt(2.0));
    // D(t u) / t: the central difference along t u, scaled back to u
    auto central = [&](double t) {
      std::vector<float> plus = params, minus = params;
      for (std::size_t i = 0; i < size; ++i) plus[off + i] += float(t * u[i]), minus[off + i] -= float(t * u[i]);
      return (loss_at(plus) - loss_at(minus)) / (2.0 * t);
    };
    const double analytic = dot(g, u.data(), size), numeric = (4.0 * central(0.5) - central(1.0)) / 3.0;
    const double off_by = std::fabs(numeric - analytic) / std::max(std::fabs(analytic), 1e-12);
    const bool ok = std::isfinite(numeric) && (off_by <= tolerance || std::fabs(numeric - analytic) <= 1e-5);
    std::printf("%-12s %8zu %13.6e %13.6e %8.1f%%%s\n", cu::param_names[p], size, analytic, numeric, 100 * off_by,
                ok ? "" : "  FAILED");
    failures += ok ? 0 : 1;
  }
  std::printf("template-gradients: %s\n", failures == 0 ? "every tensor's gradient matches its finite difference"
                                                         : "gradients OFF (see FAILED lines)");
  return failures == 0 ? 0 : 1;
}
