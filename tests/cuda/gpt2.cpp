// The whole CUDA GPT-2 (cuda/gpt2.hpp) against the CPU reference in double on
// the same bf16-exact weights: logits, loss, every gradient tensor, and the
// losses of 10 AdamW steps.
#include "catch.hpp"

#include "cpu_reference.hpp"
#include "gpt2.hpp"
#include "gpu_support.hpp"

#include <cstdio>

namespace cpu = speedrunner::cuda::cpu;
using namespace speedrunner::cuda;
using namespace speedrunner::cuda::testing;

namespace {

void check_against_cpu(Attention attention) {
  const GPT2Config config = tiny_config;
  const int B = 4, T = 32, N = B * T;
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  {  // the model goes before its stream
    GPT2 gpu(config, B, T, 1337, stream, attention);
    REQUIRE(gpu.attention() == attention);
    cpu::GPT2<double> ref(config, B, T);
    const ParamLayout& layout = gpu.layout();
    // bf16-exact weights, so the GPU's bf16 copy equals the master copy
    std::vector<float> params(layout.total);
    init_params(config, 1337, params.data());
    for (float& p : params) p = round_bf16(p);
    gpu.set_params(params.data());
    ref.params().assign(params.begin(), params.end());

    const auto tokens = random_ints(N, config.vocab, 1), targets = random_ints(N, config.vocab, 2);
    gpu.forward(tokens.data(), nullptr, 0.0f);
    const std::vector<float> logits = gpu.logits_host();
    const double ref_loss = ref.forward(tokens.data(), targets.data());
    std::vector<double> ref_logits = ref.logits();
    // padded columns are computed (tied rows are 0) and not compared for meaning, only for being
    // finite
    const double e_logits = rel_error(logits, ref_logits);
    std::printf("  %-40s rel err %.2e\n", "logits", e_logits);
    CHECK(e_logits < 1e-2);

    gpu.zero_grad();
    gpu.reset_loss();
    gpu.forward(tokens.data(), targets.data(), 1.0f / N);
    gpu.backward();
    const double loss = gpu.loss();
    std::printf("  %-40s gpu %.6f cpu %.6f\n", "loss", loss, ref_loss);
    CHECK(std::abs(loss - ref_loss) < 1e-2);
    ref.backward();
    const std::vector<float> grads = gpu.grads_host();
    for (int p = 0; p < num_params; ++p) {
      const std::size_t o = layout.offset[p], n = layout.size[p];
      const std::vector<float> g(grads.begin() + o, grads.begin() + o + n);
      const std::vector<double> r(ref.grads().begin() + o, ref.grads().begin() + o + n);
      const double e = rel_error(g, r);
      std::printf("  grad %-35s rel err %.2e\n", param_names[p], e);
      INFO("gradient of " << param_names[p]);
      CHECK(e < 3e-2);  // bf16 activations through the whole backward pass
    }

    OptimizerConfig opt;
    opt.lr = 1e-3f;
    opt.warmup_steps = 0;
    gpu.update(opt, opt.lr, 1);
    ref.update(opt, opt.lr, 1);
    double worst = 0;
    for (int step = 2; step <= 10; ++step) {
      gpu.zero_grad();
      gpu.reset_loss();
      gpu.forward(tokens.data(), targets.data(), 1.0f / N);
      gpu.backward();
      gpu.update(opt, opt.lr, step);
      const double lg = gpu.loss(), lc = ref.forward(tokens.data(), targets.data());
      ref.backward();
      ref.update(opt, opt.lr, step);
      std::printf("  step %2d loss gpu %.5f cpu %.5f\n", step, lg, lc);
      worst = std::max(worst, std::abs(lg - lc));
    }
    CHECK(worst < 2e-2);
  }
  CUDA_CHECK(cudaStreamDestroy(stream));
}

}  // namespace

TEST_CASE(
    "The GPU GPT-2 with flash attention matches the CPU reference in logits, loss, gradients and "
    "10 steps",
    "[cuda][gpu]") {
  check_against_cpu(Attention::flash);
}

TEST_CASE(
    "The GPU GPT-2 with GEMM attention matches the CPU reference in logits, loss, gradients and 10 "
    "steps",
    "[cuda][gpu]") {
  check_against_cpu(Attention::gemm);
}
