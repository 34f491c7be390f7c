// template-phases: where one record template's training step goes on one GPU. Built against a
// template's own sources (bench/template_phases.sh), it trains the template's model on random
// tokens at the mini track's shape and times each phase of every step on the model's stream:
// forward (tokens in, loss), backward, the optimizer update, and the loss read-back the trainer
// does each step; then the whole step as the trainer's train_time sees it (host clock around
// all four). Prints the median and the 10th-90th percentile of each over the timed steps.
//   template-phases [--batch 32] [--seq 1024] [--steps 40] [--warmup 10]
#include "gpt2.hpp"

#include "common.cuh"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace cu = speedrunner::cuda;

namespace {

// The schedule's value at step 0 of `total`: records 1-7 give AdamW's rate (lr_at), record 8 on a
// factor for every group's peak (factor_at). Either way a real step's update.
template <class Opt>
float schedule_at(const Opt& opt, int step, int total) {
  if constexpr (requires { opt.lr_at(step, total); })
    return opt.lr_at(step, total);
  else
    return opt.factor_at(step, total);
}

double percentile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  return xs[std::min(xs.size() - 1, std::size_t(q * double(xs.size() - 1) + 0.5))];
}

int usage(const char* why) {
  std::fprintf(stderr, "template-phases: %s\nusage: template-phases [--batch B] [--seq T] [--steps N] [--warmup N]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int batch = 32, seq = 1024, steps = 40, warmup = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage(("option " + arg + " needs a value").c_str());
    const int value = std::atoi(argv[++i]);
    if (value <= 0) return usage(("option " + arg + " needs a positive whole number").c_str());
    if (arg == "--batch") batch = value;
    else if (arg == "--seq") seq = value;
    else if (arg == "--steps") steps = value;
    else if (arg == "--warmup") warmup = value;
    else return usage(("unknown option " + arg).c_str());
  }
  const cu::GPT2Config config = cu::record1_config;
  if (seq > config.max_seq) return usage("--seq is longer than the model's max_seq");
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  cu::GPT2 model(config, batch, seq, 1337, stream);
  const cu::OptimizerConfig opt;
  const std::size_t n = std::size_t(batch) * seq;
  std::mt19937 rng(20240520);
  std::uniform_int_distribution<int> token(0, config.vocab - 1);

  enum { forward, backward, update, readback, phases };
  const char* names[phases] = {"forward (tokens in, loss)", "backward", "optimizer update", "loss read-back"};
  std::vector<double> ms[phases], step_ms;
  cudaEvent_t marks[phases + 1];
  for (auto& e : marks) CUDA_CHECK(cudaEventCreate(&e));
  std::vector<int> inputs(n), targets(n);
  for (int step = 0; step < warmup + steps; ++step) {
    for (std::size_t i = 0; i < n; ++i) inputs[i] = token(rng), targets[i] = token(rng);
    const auto start = std::chrono::steady_clock::now();
    CUDA_CHECK(cudaEventRecord(marks[0], stream));
    model.zero_grad();
    model.reset_loss();
    model.forward(inputs.data(), targets.data(), 1.0f / float(n));
    CUDA_CHECK(cudaEventRecord(marks[1], stream));
    model.backward();
    CUDA_CHECK(cudaEventRecord(marks[2], stream));
    model.update(opt, schedule_at(opt, step, warmup + steps), step + 1);
    CUDA_CHECK(cudaEventRecord(marks[3], stream));
    const float loss = model.loss();  // waits for the step, as the trainer does
    CUDA_CHECK(cudaEventRecord(marks[4], stream));
    CUDA_CHECK(cudaEventSynchronize(marks[4]));
    const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!std::isfinite(loss)) {
      std::fprintf(stderr, "template-phases: the loss became %f at step %d\n", loss, step + 1);
      return 1;
    }
    if (step < warmup) continue;
    for (int p = 0; p < phases; ++p) {
      float e = 0;
      CUDA_CHECK(cudaEventElapsedTime(&e, marks[p], marks[p + 1]));
      ms[p].push_back(e);
    }
    step_ms.push_back(wall);
  }
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("%s; %d x %d tokens a step; %d steps timed after %d; %zu parameters\n", prop.name, batch, seq, steps,
              warmup, model.layout().count);
  std::printf("%-28s %10s %17s %7s\n", "phase", "ms median", "p10-p90", "share");
  const double whole = percentile(step_ms, 0.5);
  for (int p = 0; p < phases; ++p)
    std::printf("%-28s %10.2f %8.2f-%-8.2f %6.1f%%\n", names[p], percentile(ms[p], 0.5), percentile(ms[p], 0.1),
                percentile(ms[p], 0.9), 100.0 * percentile(ms[p], 0.5) / whole);
  std::printf("%-28s %10.2f %8.2f-%-8.2f\n", "step (host clock)", whole, percentile(step_ms, 0.1),
              percentile(step_ms, 0.9));
  return 0;
}
