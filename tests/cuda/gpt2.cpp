// The whole CUDA GPT-2 (cuda/gpt2.hpp) against the CPU reference in double on
// the same bf16-exact weights: logits, loss, every gradient tensor, and the
// losses of 10 AdamW steps; and ZeRO-1 shards, two ranks played on one GPU,
// against the unsharded update.
#include "catch.hpp"

#include "cpu_reference.hpp"
#include "gpt2.hpp"
#include "gpu_support.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

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

TEST_CASE(
    "Two ZeRO-1 shards on one GPU update the weights as the unsharded model does, with the same "
    "global gradient norm and less memory",
    "[cuda][gpu][zero]") {
  const GPT2Config config = tiny_config;
  const int B = 4, T = 32, N = B * T;
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  {
    // the unsharded model sees both ranks' batches as two micro-batches of one step
    GPT2 whole(config, B, T, 1337, stream);
    GPT2 rank0(config, B, T, 1337, stream, Attention::flash, {2, 0});
    GPT2 rank1(config, B, T, 1337, stream, Attention::flash, {2, 1});
    GPT2* ranks[2] = {&rank0, &rank1};
    const ParamLayout& layout = whole.layout();
    const std::size_t total = layout.total, padded = rank0.shard().padded_total;
    REQUIRE(rank0.shard().end == rank1.shard().begin);
    REQUIRE(rank1.shard().end == padded);
    // master weights and both moments shrink to a shard; gradients and bf16 weights grow by the
    // padding
    const std::size_t own = rank0.shard().size();
    CHECK(whole.device_bytes() + 6 * (padded - total) == rank0.device_bytes() + 12 * (total - own));
    CHECK_THROWS_AS(rank0.params_host(), std::logic_error);

    OptimizerConfig opt;
    opt.lr = 1e-3f;
    opt.warmup_steps = 0;
    // strong enough that decay on the wrong elements (or none) is far outside the tolerance
    opt.weight_decay = 2.0f;
    double worst_master = 0, worst_bf16 = 0, worst_norm = 0, first_norm = 0;
    for (int step = 1; step <= 5; ++step) {
      std::vector<int> tokens[2], targets[2];
      for (int r = 0; r < 2; ++r) {
        tokens[r] = random_ints(N, config.vocab, 10 * step + r);
        targets[r] = random_ints(N, config.vocab, 10 * step + r + 5);
      }
      whole.zero_grad();
      whole.reset_loss();
      for (int r = 0; r < 2; ++r) {
        whole.forward(tokens[r].data(), targets[r].data(), 0.5f / N);
        whole.backward();
        ranks[r]->zero_grad();
        ranks[r]->reset_loss();
        ranks[r]->forward(tokens[r].data(), targets[r].data(), 1.0f / N);
        ranks[r]->backward();
      }
      whole.update(opt, opt.lr, step);
      // reduce-scatter by hand: each rank's shard becomes the mean of both ranks' gradients
      const std::vector<float> g0 = rank0.grads_host(), g1 = rank1.grads_host();
      for (GPT2* rank : ranks) {
        const ShardPlan& shard = rank->shard();
        std::vector<float> mean;
        for (std::size_t i = shard.begin; i < std::min(shard.end, total); ++i)
          mean.push_back((g0[i] + g1[i]) * 0.5f);
        CUDA_CHECK(cudaMemcpy(rank->grads() + shard.begin, mean.data(), mean.size() * sizeof(float),
                              cudaMemcpyHostToDevice));
        rank->sum_grad_squares();
      }
      // all-reduce of the squared norms by hand
      const double n0 = rank0.grad_norm(), n1 = rank1.grad_norm(), norm_whole = whole.grad_norm();
      const float global_sq = float(n0 * n0 + n1 * n1);
      const double norm_err = std::abs(std::sqrt(global_sq) - norm_whole) / norm_whole;
      if (step == 1) first_norm = norm_err;
      worst_norm = std::max(worst_norm, norm_err);
      for (GPT2* rank : ranks) {
        CUDA_CHECK(
            cudaMemcpy(rank->grad_norm_sq(), &global_sq, sizeof(float), cudaMemcpyHostToDevice));
        rank->adamw(opt, opt.lr, step);
      }
      // all-gather by hand: each rank's updated bf16 shard into the other's copy
      CUDA_CHECK(cudaStreamSynchronize(stream));
      CUDA_CHECK(cudaMemcpy(rank1.params_bf16() + rank0.shard().begin,
                            rank0.params_bf16() + rank0.shard().begin,
                            rank0.shard().size() * sizeof(bf16), cudaMemcpyDeviceToDevice));
      CUDA_CHECK(cudaMemcpy(rank0.params_bf16() + rank1.shard().begin,
                            rank1.params_bf16() + rank1.shard().begin,
                            rank1.shard().size() * sizeof(bf16), cudaMemcpyDeviceToDevice));

      const std::vector<float> master = whole.params_host();
      for (GPT2* rank : ranks) {
        const ShardPlan& shard = rank->shard();
        std::vector<float> expected(shard.size(), 0.0f);  // the padded tail stays 0
        for (std::size_t i = shard.begin; i < std::min(shard.end, total); ++i)
          expected[i - shard.begin] = master[i];
        worst_master = std::max(worst_master, rel_error(rank->master_shard_host(), expected));
      }
      const std::vector<float> bf16_whole = whole.params_bf16_host(),
                               bf16_0 = rank0.params_bf16_host(), bf16_1 = rank1.params_bf16_host();
      CHECK(bf16_0 == bf16_1);  // both ranks run the next forward pass on the same weights
      worst_bf16 = std::max(worst_bf16, rel_error(bf16_0, bf16_whole));
      std::printf("  zero-1 step %d grad norm shards %.5f (%.5f + %.5f in squares) whole %.5f\n",
                  step, std::sqrt(global_sq), n0, n1, norm_whole);
    }
    std::printf(
        "  zero-1 vs unsharded over 5 steps: master rel err %.2e, bf16 rel err %.2e, grad "
        "norm rel err %.2e (step 1: %.2e)\n",
        worst_master, worst_bf16, worst_norm, first_norm);
    // Step 1 starts from equal weights: the norms differ only in summation order. Later steps
    // start from weights that differ at bf16 rounding (worst_bf16) and from backward passes whose
    // dQ sums come from float atomics in varying order, so they agree to ~1e-3 (2.2e-4 measured
    // on an H100).
    CHECK(first_norm < 1e-4);
    CHECK(worst_norm < 1e-3);
    CHECK(worst_master < 2e-3);
    CHECK(worst_bf16 < 2e-3);
  }
  CUDA_CHECK(cudaStreamDestroy(stream));
}
