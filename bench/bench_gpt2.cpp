// bench-gpt2: training-step throughput of the CUDA GPT-2 (record-1 shape by
// default) at several per-GPU batch sizes: median ms per step, tokens/s, MFU
// against 989.4 TFLOP/s dense bf16 (6N + 6LCT FLOPs per token), device memory.
//   bench-gpt2 [--batches 32,64] [--seq 1024] [--steps 20] [--warmup 5] [--model d12|tiny]
//              [--attention flash|gemm|both]
#include "gpt2.hpp"

#include "common.cuh"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace cu = speedrunner::cuda;

int main(int argc, char** argv) {
  std::vector<int> batches{32, 64};
  int T = 1024, steps = 20, warmup = 5;
  cu::GPT2Config config = cu::record1_config;
  std::vector<cu::Attention> kinds{cu::Attention::flash};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i], value = argv[i + 1];
    if (arg == "--batches") {
      batches.clear();
      std::stringstream ss(value);
      for (std::string b; std::getline(ss, b, ',');) batches.push_back(std::atoi(b.c_str()));
    } else if (arg == "--seq") T = std::atoi(value.c_str());
    else if (arg == "--steps") steps = std::atoi(value.c_str());
    else if (arg == "--warmup") warmup = std::atoi(value.c_str());
    else if (arg == "--model") config = value == "tiny" ? cu::tiny_config : cu::record1_config;
    else if (arg == "--attention") {
      if (value == "both") kinds = {cu::Attention::flash, cu::Attention::gemm};
      else kinds = {value == "gemm" ? cu::Attention::gemm : cu::Attention::flash};
    }
    else {
      std::fprintf(stderr, "bench-gpt2: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("bench-gpt2: no CUDA device\n");
    return 77;
  }
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  const double peak_flops = 989.4e12, flops_token = cu::flops_per_token(config, T);
  std::printf("card: %s; model %zu parameters; %.1f MFLOP per token\n", prop.name, cu::ParamLayout(config).count,
              flops_token / 1e6);
  std::printf("%-9s %-6s %10s %10s %12s %7s %10s\n", "impl", "batch", "ms/step", "min ms", "tokens/s", "MFU", "mem GiB");
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  cu::OptimizerConfig opt;
  for (const cu::Attention kind : kinds)
  for (int B : batches) {
    const char* impl = kind == cu::Attention::flash ? "cuda" : "cuda-gemm";
    std::size_t free_before = 0, total = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_before, &total));
    std::vector<double> ms;
    std::size_t used = 0;
    {
      cu::GPT2 model(config, B, T, 1337, stream, kind);
      // a few distinct random batches, rotated, so no step sees cached data
      std::mt19937 rng(B);
      std::uniform_int_distribution<int> tok(0, config.vocab - 1);
      std::vector<std::vector<int>> data(4, std::vector<int>(std::size_t(B) * T + 1));
      for (auto& d : data)
        for (int& x : d) x = tok(rng);
      cudaEvent_t start, stop;
      CUDA_CHECK(cudaEventCreate(&start));
      CUDA_CHECK(cudaEventCreate(&stop));
      for (int s = 0; s < warmup + steps; ++s) {
        const auto& d = data[s % data.size()];
        CUDA_CHECK(cudaEventRecord(start, stream));
        model.zero_grad();
        model.reset_loss();
        model.forward(d.data(), d.data() + 1, 1.0f / (float(B) * T));
        model.backward();
        model.update(opt, opt.lr, s + 1);
        CUDA_CHECK(cudaEventRecord(stop, stream));
        const float loss = model.loss();
        if (!std::isfinite(loss)) {
          std::fprintf(stderr, "bench-gpt2: loss %f at step %d\n", loss, s);
          return 1;
        }
        float elapsed = 0;
        CUDA_CHECK(cudaEventElapsedTime(&elapsed, start, stop));
        if (s >= warmup) ms.push_back(elapsed);
      }
      std::size_t free_after = 0;
      CUDA_CHECK(cudaMemGetInfo(&free_after, &total));
      used = free_before - free_after;
      CUDA_CHECK(cudaEventDestroy(start));
      CUDA_CHECK(cudaEventDestroy(stop));
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2], tokens = double(B) * T;
    const double tok_s = tokens / (median / 1e3), mfu = flops_token * tok_s / peak_flops;
    std::printf("%-9s %-6d %10.2f %10.2f %12.0f %6.1f%% %10.2f\n", impl, B, median, ms.front(), tok_s, 100 * mfu,
                double(used) / (1 << 30));
    std::printf("BENCH impl=%s batch=%d ms=%.3f tokens_per_s=%.0f mfu=%.4f mem_gib=%.2f\n", impl, B, median, tok_s, mfu,
                double(used) / (1 << 30));
    std::fflush(stdout);
  }
  return 0;
}
