// bench-gpt2: training-step throughput of the CUDA GPT-2 (record-1 shape by
// default) at several per-GPU batch sizes: median ms per step, tokens/s, MFU
// against 989.4 TFLOP/s dense bf16 (6N + 6LCT FLOPs per token), device memory.
//   bench-gpt2 [--batches 32,64] [--seq 1024] [--steps 20] [--warmup 5] [--model d12|tiny]
//              [--attention flash|gemm|both] [--breakdown B [--only TEXT]]
// --breakdown B times each layer operation alone at batch B (median of 20,
// after warm-up) and prints its share of one training step; --only TEXT keeps
// the operations whose names contain TEXT (say, "flash").
#include "gpt2.hpp"
#include "kernels.hpp"

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

namespace {

// Median milliseconds of `op` over 20 runs after 3 warm-ups.
template <class Op>
double time_op(cudaStream_t stream, Op&& op) {
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<double> ms;
  for (int i = 0; i < 23; ++i) {
    CUDA_CHECK(cudaEventRecord(start, stream));
    op();
    CUDA_CHECK(cudaEventRecord(stop, stream));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float e = 0;
    CUDA_CHECK(cudaEventElapsedTime(&e, start, stop));
    if (i >= 3) ms.push_back(e);
  }
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// n normal(0, 0.5) values on the device: the first million drawn on the host, the rest copies
// of them made on the device (drawing all of the logits, 1.6e9 values at batch 32, on the host
// took most of a minute; timing needs realistic values, not independent ones).
template <class T>
T* device_random(std::size_t n, std::uint32_t seed) {
  const std::size_t drawn = std::min<std::size_t>(n, std::size_t(1) << 20);
  std::vector<T> host(drawn);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  for (T& x : host) x = T(dist(rng));
  T* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  CUDA_CHECK(cudaMemcpy(p, host.data(), drawn * sizeof(T), cudaMemcpyHostToDevice));
  for (std::size_t filled = drawn; filled < n;) {  // doubling device-to-device copies
    const std::size_t count = std::min(filled, n - filled);
    CUDA_CHECK(cudaMemcpy(p + filled, p, count * sizeof(T), cudaMemcpyDeviceToDevice));
    filled += count;
  }
  return p;
}

// Each operation of one training step alone, at the record-1 shape.
void breakdown(const cu::GPT2Config& c, int B, int T, const std::string& only, cudaStream_t stream) {
  using cu::bf16;
  const int C = c.channels, NH = c.heads, HS = C / NH, N = B * T, L = c.layers, Vp = c.padded_vocab;
  const std::size_t NC = std::size_t(N) * C;
  cu::Blas blas;
  bf16* x = device_random<bf16>(4 * NC, 1);
  bf16* y = device_random<bf16>(4 * NC, 2);
  bf16* z = device_random<bf16>(4 * NC, 3);
  bf16* w = device_random<bf16>(std::size_t(Vp) * C, 4);
  bf16* wb = device_random<bf16>(4 * C, 5);
  bf16* logits = device_random<bf16>(std::size_t(N) * Vp, 6);
  float* dw = device_random<float>(std::size_t(Vp) * C, 7);
  float* db = device_random<float>(4 * C, 8);
  float* stats = device_random<float>(4 * std::size_t(N) * NH, 9);
  int* tokens = nullptr;
  {
    std::vector<int> host(N);
    std::mt19937 rng(11);
    for (int& tk : host)
      tk = int(rng() % c.vocab);  // spread like real text: atomics rarely collide
    CUDA_CHECK(cudaMalloc(&tokens, N * sizeof(int)));
    CUDA_CHECK(cudaMemcpy(tokens, host.data(), N * sizeof(int), cudaMemcpyHostToDevice));
  }
  struct Row {
    std::string name;
    double ms;
    int per_step;
  };
  std::vector<Row> rows;
  auto add = [&](std::string name, int per_step, auto&& op) {
    if (name.find(only) != std::string::npos)
      rows.push_back({std::move(name), time_op(stream, op), per_step});
  };
  struct Lin {
    const char* name;
    int IC, OC;
    bool residual, gelu_out, gelu_in;  // fc's epilogue applies GELU; fcproj's backward its derivative
  };
  for (const Lin l : {Lin{"qkv", C, 3 * C, false, false, false},
                      Lin{"attproj", C, C, true, false, false},
                      Lin{"fc (+ GELU)", C, 4 * C, false, true, false},
                      Lin{"fcproj (+ GELU bwd)", 4 * C, C, true, false, true}}) {
    add(std::string("matmul fwd ") + l.name, L, [&] {
      cu::matmul_forward(blas, y, x, w, wb, l.residual ? z : nullptr, N, l.IC, l.OC, stream,
                         l.gelu_out ? z : nullptr);
    });
    add(std::string("matmul bwd ") + l.name, L, [&] {
      cu::matmul_backward(blas, y, dw, db, z, x, w, N, l.IC, l.OC, stream, l.gelu_in ? x : nullptr);
    });
    add(std::string("  of which bias grad ") + l.name, 0,
        [&] { cu::bias_backward(db, z, N, l.OC, stream); });
  }
  add("matmul fwd lm head", 1,
      [&] { cu::matmul_forward(blas, logits, x, w, nullptr, nullptr, N, C, Vp, stream); });
  add("matmul bwd lm head", 1,
      [&] { cu::matmul_backward(blas, y, dw, nullptr, logits, x, w, N, C, Vp, stream); });
  add("softmax cross-entropy", 1,
      [&] { cu::softmax_cross_entropy(stats, logits, tokens, N, c.vocab, Vp, 1.0f / N, stream); });
  add("flash attention fwd", L,
      [&] { cu::flash_attention_forward(y, stats, x, B, T, NH, HS, stream); });
  float* flash_work = nullptr;
  CUDA_CHECK(cudaMalloc(&flash_work, cu::flash_attention_backward_work(B, T, NH, HS) * sizeof(float)));
  add("flash attention bwd", L, [&] {
    cu::flash_attention_backward(z, flash_work, y, y, x, stats, B, T, NH, HS, stream);
  });
  if (cu::flash_attention_use_wgmma(true)) {  // the sm_90a kernels beside the default ones
    add("  flash attention fwd, wgmma", 0,
        [&] { cu::flash_attention_forward(y, stats, x, B, T, NH, HS, stream); });
    add("  flash attention bwd, wgmma", 0, [&] {
      cu::flash_attention_backward(z, flash_work, y, y, x, stats, B, T, NH, HS, stream);
    });
  }
  cu::flash_attention_use_wgmma(false);
  add("layernorm fwd", 2 * L + 1,
      [&] { cu::layernorm_forward(y, stats, stats + N, x, wb, wb, N, C, stream); });
  add("layernorm bwd", 2 * L + 1,
      [&] { cu::layernorm_backward(z, db, db + C, y, x, wb, stats, stats + N, N, C, stream); });
  add("encoder fwd", 1, [&] { cu::encoder_forward(y, tokens, w, w, B, T, C, stream); });
  add("encoder bwd", 1, [&] { cu::encoder_backward(dw, dw, y, tokens, B, T, C, stream); });
  const std::size_t P = cu::ParamLayout(c).total;
  float *p32 = nullptr, *g32 = nullptr, *m32 = nullptr, *v32 = nullptr;
  bf16* p16 = nullptr;
  for (float** q : {&p32, &g32, &m32, &v32}) {
    CUDA_CHECK(cudaMalloc(q, P * sizeof(float)));
    CUDA_CHECK(cudaMemset(*q, 0, P * sizeof(float)));
  }
  CUDA_CHECK(cudaMalloc(&p16, P * sizeof(bf16)));
  add("grad norm", 1, [&] { cu::sum_squares(stats, g32, P, false, stream); });
  add("adamw (all parameters)", 1, [&] {
    cu::adamw_update(p32, p16, g32, m32, v32, P, 1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 1, stats, 1.0f,
                     stream);
  });
  const auto paths = blas.bias_grad_paths();
  std::printf("bias gradients: cuBLASLt epilogue for %d GEMM shape(s), column-sum kernel for %d\n",
              paths.epilogue, paths.fallback);
  double total = 0;
  for (const Row& r : rows) total += r.ms * r.per_step;
  std::printf("\nbreakdown at batch %d (each op alone; x per step = count in one step)\n", B);
  std::printf("%-34s %9s %6s %9s %6s\n", "operation", "ms", "x", "ms/step", "share");
  for (const Row& r : rows)
    std::printf("%-34s %9.3f %6d %9.2f %5.1f%%\n", r.name.c_str(), r.ms, r.per_step,
                r.ms * r.per_step, 100 * r.ms * r.per_step / total);
  std::printf("%-34s %9s %6s %9.2f\n", "sum", "", "", total);
  for (void* q :
       {(void*)x, (void*)y, (void*)z, (void*)w, (void*)wb, (void*)logits, (void*)dw, (void*)db,
        (void*)stats, (void*)tokens, (void*)p32, (void*)g32, (void*)m32, (void*)v32, (void*)p16,
        (void*)flash_work})
    CUDA_CHECK(cudaFree(q));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> batches{32, 64};
  int T = 1024, steps = 20, warmup = 5;
  cu::GPT2Config config = cu::record1_config;
  std::vector<cu::Attention> kinds{cu::Attention::flash};
  int breakdown_batch = 0;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i], value = argv[i + 1];
    if (arg == "--batches") {
      batches.clear();
      std::stringstream ss(value);
      for (std::string b; std::getline(ss, b, ',');) batches.push_back(std::atoi(b.c_str()));
    } else if (arg == "--seq")
      T = std::atoi(value.c_str());
    else if (arg == "--steps")
      steps = std::atoi(value.c_str());
    else if (arg == "--warmup")
      warmup = std::atoi(value.c_str());
    else if (arg == "--model")
      config = value == "tiny" ? cu::tiny_config : cu::record1_config;
    else if (arg == "--breakdown")
      breakdown_batch = std::atoi(value.c_str());
    else if (arg == "--only")
      only = value;
    else if (arg == "--attention") {
      if (value == "both")
        kinds = {cu::Attention::flash, cu::Attention::gemm};
      else
        kinds = {value == "gemm" ? cu::Attention::gemm : cu::Attention::flash};
    } else {
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
  std::printf("card: %s; model %zu parameters; %.1f MFLOP per token\n", prop.name,
              cu::ParamLayout(config).count, flops_token / 1e6);
  std::printf("%-9s %-6s %10s %10s %12s %7s %10s\n", "impl", "batch", "ms/step", "min ms",
              "tokens/s", "MFU", "mem GiB");
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  if (breakdown_batch > 0) {
    breakdown(config, breakdown_batch, T, only, stream);
    return 0;
  }
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
      std::printf("%-9s %-6d %10.2f %10.2f %12.0f %6.1f%% %10.2f\n", impl, B, median, ms.front(),
                  tok_s, 100 * mfu, double(used) / (1 << 30));
      std::printf("BENCH impl=%s batch=%d ms=%.3f tokens_per_s=%.0f mfu=%.4f mem_gib=%.2f\n", impl,
                  B, median, tok_s, mfu, double(used) / (1 << 30));
      std::fflush(stdout);
    }
  return 0;
}
