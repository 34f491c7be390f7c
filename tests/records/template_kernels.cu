// GPU check of a record template's cross-block reductions, built against one template
// (nvcc -I TEMPLATE_DIR, by scripts/records/check-determinism): each launcher that used to add
// with float atomics is compared with a double-precision CPU sum and run twice on the same input,
// where the two results must be equal bit for bit; the fused attention kernels likewise against
// a CPU attention. Prints one line per launcher; exit 1 on a failure.
// Lines starting "timing:" say what the fixed-order sums cost (no pass/fail).
#include "kernels.cu"  // the template's single CUDA translation unit

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace cu = speedrunner::cuda;

namespace {

int failures = 0;
std::mt19937 rng(20260527);

template <class T>
struct DeviceBuffer {
  T* ptr = nullptr;
  std::size_t n = 0;
  explicit DeviceBuffer(std::size_t count) : n(count) {
    CUDA_CHECK(cudaMalloc(&ptr, std::max<std::size_t>(n, 1) * sizeof(T)));
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void put(const std::vector<T>& host) {
    CUDA_CHECK(cudaMemcpy(ptr, host.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> get() const {
    std::vector<T> host(n);
    CUDA_CHECK(cudaMemcpy(host.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
};

// The model's scratch for N rows of width C, set up as GPT2 does.
struct TestScratch {
  DeviceBuffer<float> partials;
  DeviceBuffer<int> rows, sorted_tokens, sorted_rows;
  DeviceBuffer<char> sort_temp;
  cu::Scratch s;
  static int bits(int vocab) {
    int b = 0;
    while ((1 << b) < vocab) ++b;
    return b;
  }
  TestScratch(int N, int C, int vocab)
      : partials(cu::scratch_partial_floats(N, C)), rows(N), sorted_tokens(N), sorted_rows(N),
        sort_temp(cu::scratch_sort_bytes(N, bits(vocab))) {
    s.partials = partials.ptr;
    s.partial_floats = partials.n;
    s.rows = rows.ptr;
    s.sorted_tokens = sorted_tokens.ptr;
    s.sorted_rows = sorted_rows.ptr;
    s.sort_temp = sort_temp.ptr;
    s.sort_temp_bytes = sort_temp.n;
    s.token_bits = bits(vocab);
    cu::scratch_fill_rows(rows.ptr, N, nullptr);
  }
};

std::vector<float> random_floats(std::size_t n, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// bf16 copies, and the floats they round to (what the kernels read).
std::vector<cu::bf16> to_bf16(std::vector<float>& v) {
  std::vector<cu::bf16> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    out[i] = __float2bfloat16(v[i]);
    v[i] = __bfloat162float(out[i]);
  }
  return out;
}

// got against ref (double sums) within fp32 rounding of sums of abs_sum; then the repeat's bits.
void verdict(const char* what, const std::vector<float>& got, const std::vector<double>& ref,
             const std::vector<double>& abs_sum, const std::vector<float>& again) {
  std::size_t bad = 0, worst = 0;
  double worst_err = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double err = std::fabs(double(got[i]) - ref[i]), tol = 1e-5 * abs_sum[i] + 1e-6;
    if (!(err <= tol)) ++bad;
    if (!(err <= worst_err)) worst_err = err, worst = i;
  }
  const bool same =
      again.size() == got.size() && std::memcmp(again.data(), got.data(), got.size() * sizeof(float)) == 0;
  if (bad == 0 && same) {
    std::printf("%s: matches the CPU sums (largest error %.3g) and repeats bit for bit\n", what, worst_err);
    return;
  }
  ++failures;
  if (bad) std::printf("%s: FAILED: %zu of %zu values off; worst [%zu] %.9g vs %.9g\n", what, bad, ref.size(), worst,
                       double(got[worst]), ref[worst]);
  if (!same) std::printf("%s: FAILED: a second run on the same input gave different bits\n", what);
}

// Tokens with long runs (a third are one token, so its sorted run crosses many chunks), short
// repeats and singletons.
void check_encoder_backward() {
  const int B = 8, T = 1024, C = 768, V = 50304, N = B * T;
  std::vector<int> tokens(N);
  std::uniform_int_distribution<int> small(0, 300), any(0, V - 1), pick(0, 9);
  for (auto& t : tokens) t = pick(rng) < 3 ? 13 : pick(rng) < 8 ? small(rng) : any(rng);
  tokens[0] = V - 1;
  std::vector<float> dout_f = random_floats(std::size_t(N) * C);
  const std::vector<cu::bf16> dout_h = to_bf16(dout_f);
  const std::vector<float> dwte0 = random_floats(std::size_t(V) * C);
  TestScratch scratch(N, C, V);
  DeviceBuffer<int> tok(N);
  DeviceBuffer<cu::bf16> dout(std::size_t(N) * C);
  DeviceBuffer<float> dwte(std::size_t(V) * C);
  tok.put(tokens);
  dout.put(dout_h);
#if !__has_include("rope.cuh")  // learned positions (record 1): dwpe too
  const std::vector<float> dwpe0 = random_floats(std::size_t(T) * C);
  DeviceBuffer<float> dwpe(std::size_t(T) * C);
  auto run = [&] {
    dwte.put(dwte0);
    dwpe.put(dwpe0);
    cu::encoder_backward(dwte.ptr, dwpe.ptr, dout.ptr, tok.ptr, B, T, C, scratch.s, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return std::pair(dwte.get(), dwpe.get());
  };
  const auto [got, got_wpe] = run();
  const auto [again, again_wpe] = run();
  std::vector<double> ref_wpe(dwpe0.begin(), dwpe0.end()), abs_wpe(ref_wpe.size());
  for (std::size_t i = 0; i < ref_wpe.size(); ++i) abs_wpe[i] = std::fabs(ref_wpe[i]);
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      const double d = dout_f[std::size_t(n) * C + c];
      ref_wpe[std::size_t(n % T) * C + c] += d;
      abs_wpe[std::size_t(n % T) * C + c] += std::fabs(d);
    }
  verdict("encoder_backward dwpe", got_wpe, ref_wpe, abs_wpe, again_wpe);
#else
  auto run = [&] {
    dwte.put(dwte0);
    cu::encoder_backward(dwte.ptr, dout.ptr, tok.ptr, B, T, C, scratch.s, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return dwte.get();
  };
  const auto got = run();
  const auto again = run();
#endif
  std::vector<double> ref(dwte0.begin(), dwte0.end()), abs_sum(ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) abs_sum[i] = std::fabs(ref[i]);
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      const double d = dout_f[std::size_t(n) * C + c];
      ref[std::size_t(tokens[n]) * C + c] += d;
      abs_sum[std::size_t(tokens[n]) * C + c] += std::fabs(d);
    }
  verdict("encoder_backward dwte", got, ref, abs_sum, again);
}

// Relative L2 error of bf16 results against a double reference.
double relative_error(const std::vector<cu::bf16>& got, const std::vector<double>& ref) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double g = __bfloat162float(got[i]);
    if (!std::isfinite(g)) return double(INFINITY);
    diff += (g - ref[i]) * (g - ref[i]);
    norm += ref[i] * ref[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-300));
}

// One elementwise or row-wise bf16 result: within `bound` of the CPU and the same bits twice.
void bf16_verdict(const std::string& what, const std::vector<cu::bf16>& got, const std::vector<cu::bf16>& again,
                  const std::vector<double>& ref, double bound) {
  const double e = relative_error(got, ref);
  const bool same = std::memcmp(got.data(), again.data(), got.size() * sizeof(cu::bf16)) == 0;
  if (e < bound && same) {
    std::printf("%s: matches the CPU reference (relative error %.2g) and repeats bit for bit\n", what.c_str(), e);
    return;
  }
  ++failures;
  if (!(e < bound)) std::printf("%s: FAILED: relative error %.3g (bound %.1g)\n", what.c_str(), e, bound);
  if (!same) std::printf("%s: FAILED: a second run on the same input gave different bits\n", what.c_str());
}

#if __has_include("rmsnorm.cuh")
// Weightless RMSNorm, forward and backward (the backward adds onto the residual gradient).
void check_rmsnorm() {
  const int N = 4096, C = 768;
  // the gradient leans on x (so the mean(dy * y) term matters); the accumulator is small beside it
  std::vector<float> x = random_floats(std::size_t(N) * C, 3.0f), d = random_floats(std::size_t(N) * C),
                     acc = random_floats(std::size_t(N) * C, 0.05f);
  for (std::size_t i = 0; i < d.size(); ++i) d[i] += 0.5f * x[i];
  const auto x_h = to_bf16(x), d_h = to_bf16(d), acc_h = to_bf16(acc);
  DeviceBuffer<cu::bf16> inp(x.size()), dout(d.size()), out(x.size()), dinp(x.size());
  DeviceBuffer<float> rstd(N);
  inp.put(x_h);
  dout.put(d_h);
  auto run = [&] {
    dinp.put(acc_h);
    cu::rmsnorm_forward(out.ptr, rstd.ptr, inp.ptr, N, C, nullptr);
    cu::rmsnorm_backward(dinp.ptr, dout.ptr, inp.ptr, rstd.ptr, N, C, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return std::pair(out.get(), dinp.get());
  };
  const auto [got_y, got_dx] = run();
  const auto [again_y, again_dx] = run();
  std::vector<double> ref_y(x.size()), ref_dx(x.size());
  for (int n = 0; n < N; ++n) {
    const std::size_t row = std::size_t(n) * C;
    double ss = 0, dot = 0;
    for (int c = 0; c < C; ++c) ss += double(x[row + c]) * x[row + c];
    const double s = 1.0 / std::sqrt(ss / C + 1e-6);
    for (int c = 0; c < C; ++c) dot += double(d[row + c]) * x[row + c] * s;
    for (int c = 0; c < C; ++c) {
      ref_y[row + c] = x[row + c] * s;
      ref_dx[row + c] = acc[row + c] + s * (d[row + c] - x[row + c] * s * dot / C);
    }
  }
  bf16_verdict("rmsnorm_forward", got_y, again_y, ref_y, 1e-2);
  bf16_verdict("rmsnorm_backward (accumulating)", got_dx, again_dx, ref_dx, 1e-2);
}
#endif

#if __has_include("gelu.cuh")
// Exact (erf) GELU and its derivative.
void check_gelu() {
  const std::size_t n = 1 << 20;
  std::vector<float> x = random_floats(n, 3.0f), d = random_floats(n);
  const auto x_h = to_bf16(x), d_h = to_bf16(d);
  DeviceBuffer<cu::bf16> inp(n), dout(n), out(n), dinp(n);
  inp.put(x_h);
  dout.put(d_h);
  auto run = [&] {
    cu::gelu_forward(out.ptr, inp.ptr, n, nullptr);
    cu::gelu_backward(dinp.ptr, inp.ptr, dout.ptr, n, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return std::pair(out.get(), dinp.get());
  };
  const auto [got_y, got_d] = run();
  const auto [again_y, again_d] = run();
  std::vector<double> ref_y(n), ref_d(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = x[i], cdf = 0.5 * (1.0 + std::erf(v / std::sqrt(2.0)));
    ref_y[i] = v * cdf;
    ref_d[i] = d[i] * (cdf + v * std::exp(-0.5 * v * v) / std::sqrt(2.0 * 3.141592653589793));
  }
  bf16_verdict("gelu_forward (erf)", got_y, again_y, ref_y, 1e-2);
  bf16_verdict("gelu_backward (erf)", got_d, again_d, ref_d, 1e-2);
}
#endif

void check_sums() {
  const std::size_t n = 3'000'001;
  const std::vector<float> x = random_floats(n);
  TestScratch scratch(8192, 768, 2);
  DeviceBuffer<float> xd(n), out(1);
  xd.put(x);
  double sq = 0, s = 0, abs_s = 0;
  for (float v : x) sq += double(v) * v, s += v, abs_s += std::fabs(v);
  auto run = [&](bool square) {
    out.put({1.5f});  // accumulate onto it
    if (square) cu::sum_squares(out.ptr, xd.ptr, n, true, scratch.s, nullptr);
    else cu::sum_scaled(out.ptr, xd.ptr, n, 0.25f, true, scratch.s, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return out.get();
  };
  verdict("sum_squares (accumulating)", run(true), {1.5 + sq}, {1.5 + sq}, run(true));
  verdict("sum_scaled (accumulating)", run(false), {1.5 + 0.25 * s}, {1.5 + 0.25 * abs_s}, run(false));
}

// The fused attention kernels against a double-precision CPU reference, for every head size the
// template's kernels take (flash_attention_supported), with a ragged last tile (T = 200): the
// output and dQ, dK, dV within bf16 rounding (relative error below 1e-2 and 2e-2, the bounds of
// tests/cuda's flash test), and a second forward and backward pass on the same input bit-identical.
void check_flash_attention() {
  const int B = 2, T = 200, NH = 2;
  for (const int HS : {16, 32, 64, 128}) {
    if (!cu::flash_attention_supported(HS)) continue;
    const int C = NH * HS;
    const std::size_t NC = std::size_t(B) * T * C;
    std::vector<float> qkv_f = random_floats(3 * NC), dout_f = random_floats(NC);
    const auto qkv_h = to_bf16(qkv_f), dout_h = to_bf16(dout_f);
    DeviceBuffer<cu::bf16> qkv(3 * NC), dout(NC), out(NC), dqkv(3 * NC);
    DeviceBuffer<float> lse(std::size_t(B) * NH * T), D(std::size_t(B) * NH * T);
    qkv.put(qkv_h);
    dout.put(dout_h);
    auto run = [&] {
      cu::flash_attention_forward(out.ptr, lse.ptr, qkv.ptr, B, T, NH, HS, nullptr);
      cu::flash_attention_backward(dqkv.ptr, D.ptr, dout.ptr, out.ptr, qkv.ptr, lse.ptr, B, T, NH, HS, nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
      return std::pair(out.get(), dqkv.get());
    };
    const auto [got_out, got_d] = run();
    const auto [again_out, again_d] = run();
    // reference: softmax(scale q k^T) v per head, causal, and its gradients
    std::vector<double> ref_out(NC, 0.0), ref_d(3 * NC, 0.0), p(T), dp(T);
    const double scale = 1.0 / std::sqrt(double(HS));
    auto at = [&](int b, int t, int part, int h) { return (std::size_t(b) * T + t) * 3 * C + part * C + h * HS; };
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < NH; ++h)
        for (int i = 0; i < T; ++i) {
          double mx = -1e300, sum = 0, Di = 0;
          for (int j = 0; j <= i; ++j) {
            double s = 0;
            for (int c = 0; c < HS; ++c) s += double(qkv_f[at(b, i, 0, h) + c]) * qkv_f[at(b, j, 1, h) + c];
            p[j] = s * scale;
            mx = std::max(mx, p[j]);
          }
          for (int j = 0; j <= i; ++j) sum += p[j] = std::exp(p[j] - mx);
          const std::size_t o = (std::size_t(b) * T + i) * C + h * HS;
          for (int j = 0; j <= i; ++j) {
            p[j] /= sum;
            double d = 0;
            for (int c = 0; c < HS; ++c) {
              ref_out[o + c] += p[j] * qkv_f[at(b, j, 2, h) + c];
              ref_d[at(b, j, 2, h) + c] += p[j] * dout_f[o + c];  // dV
              d += double(dout_f[o + c]) * qkv_f[at(b, j, 2, h) + c];
            }
            dp[j] = d;
            Di += p[j] * d;
          }
          for (int j = 0; j <= i; ++j) {
            const double ds = p[j] * (dp[j] - Di) * scale;
            for (int c = 0; c < HS; ++c) {
              ref_d[at(b, i, 0, h) + c] += ds * qkv_f[at(b, j, 1, h) + c];  // dQ
              ref_d[at(b, j, 1, h) + c] += ds * qkv_f[at(b, i, 0, h) + c];  // dK
            }
          }
        }
    const double e_out = relative_error(got_out, ref_out), e_d = relative_error(got_d, ref_d);
    const bool same = std::memcmp(got_out.data(), again_out.data(), NC * sizeof(cu::bf16)) == 0 &&
                      std::memcmp(got_d.data(), again_d.data(), 3 * NC * sizeof(cu::bf16)) == 0;
    const std::string what = "flash attention HS=" + std::to_string(HS) + " T=" + std::to_string(T);
    if (e_out < 1e-2 && e_d < 2e-2 && same) {
      std::printf("%s: output and dqkv match the CPU reference (relative error %.2g, %.2g) and repeat bit for bit\n",
                  what.c_str(), e_out, e_d);
      continue;
    }
    ++failures;
    if (!(e_out < 1e-2 && e_d < 2e-2))
      std::printf("%s: FAILED: relative error of the output %.3g (bound 1e-2), of dqkv %.3g (bound 2e-2)\n",
                  what.c_str(), e_out, e_d);
    if (!same) std::printf("%s: FAILED: a second run on the same input gave different bits\n", what.c_str());
  }
}

// Mean time of `launch` over 50 calls after 5 warm-up calls, in microseconds.
template <class F>
double time_us(F&& launch) {
  for (int i = 0; i < 5; ++i) launch();
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  CUDA_CHECK(cudaEventRecord(start));
  for (int i = 0; i < 50; ++i) launch();
  CUDA_CHECK(cudaEventRecord(stop));
  CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  return 1000.0 * ms / 50;
}

// The token-embedding gradient as it was before (float atomics), for its time only.
__global__ void atomic_wte_kernel(float* dwte, const cu::bf16* dout, const int* tokens, int C, std::size_t vectors) {
  const std::size_t idx = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= vectors) return;
  const std::size_t bt = idx * 8 / C;
  const int c = int(idx * 8 % C);
  float d[8];
  cu::load8(d, dout + bt * C + c);
  float* row = dwte + std::size_t(tokens[bt]) * C + c;
  for (int i = 0; i < 8; ++i) atomicAdd(row + i, d[i]);
}

// On the mini track's shapes (d12: B*T = 32768 rows, C = 768, GPT-2 tokens): the token-embedding
// gradient against its atomic version, and the added column-sum launches of one training step
// (the loss and gradient-norm sums; the records' norms have no gain and their linears no bias).
void time_mini_step() {
  const int B = 32, T = 1024, C = 768, V = 50304, N = B * T;
  std::vector<int> tokens(N);
  std::uniform_int_distribution<int> small(0, 300), any(0, 50256), pick(0, 99);
  for (auto& t : tokens) t = pick(rng) < 4 ? 13 : pick(rng) < 50 ? small(rng) : any(rng);  // ~4% one token
  TestScratch scratch(N, C, V);
  DeviceBuffer<int> tok(N);
  DeviceBuffer<cu::bf16> dout(std::size_t(N) * C);
  DeviceBuffer<float> dwte(std::size_t(V) * C), out(1);
  tok.put(tokens);
  CUDA_CHECK(cudaMemset(dout.ptr, 0, dout.n * sizeof(cu::bf16)));
  CUDA_CHECK(cudaMemset(dwte.ptr, 0, dwte.n * sizeof(float)));
  const std::size_t vectors = std::size_t(N) * C / 8;
#if !__has_include("rope.cuh")
  DeviceBuffer<float> dwpe(std::size_t(T) * C);
  const double fixed =
      time_us([&] { cu::encoder_backward(dwte.ptr, dwpe.ptr, dout.ptr, tok.ptr, B, T, C, scratch.s, nullptr); });
  const double atomic = time_us([&] {
    atomic_wte_kernel<<<cu::ceil_div(vectors, 256), 256>>>(dwte.ptr, dout.ptr, tok.ptr, C, vectors);
    cu::encoder_backward_wpe_kernel<<<cu::ceil_div(T * C, 256), 256>>>(dwpe.ptr, dout.ptr, B, T, C);
  });
#else
  const double fixed = time_us([&] { cu::encoder_backward(dwte.ptr, dout.ptr, tok.ptr, B, T, C, scratch.s, nullptr); });
  const double atomic = time_us(
      [&] { atomic_wte_kernel<<<cu::ceil_div(vectors, 256), 256>>>(dwte.ptr, dout.ptr, tok.ptr, C, vectors); });
#endif
  std::printf("timing: encoder_backward %.1f us per call (with float atomics %.1f us)\n", fixed, atomic);
  const float* p = scratch.s.partials;
  const double scalar = time_us([&] { cu::add_column_sums(out.ptr, nullptr, 1, p, 4 * cu::sm_count(), 1, nullptr); });
  std::printf("timing: the fixed-order scalar sums (loss, gradient norm) add 2 x %.1f us per mini step\n", scalar);
}

#if __has_include("muon.cuh")
void check_muon_norms() {
  const int matrices = 12;
  const std::size_t per = 768 * 3072;
  const std::vector<float> src = random_floats(per * matrices);
  DeviceBuffer<float> src_d(src.size()), norms(cu::muon_norms_floats(matrices));
  DeviceBuffer<cu::ns_t> x(src.size());
  src_d.put(src);
  auto run = [&] {
    cu::muon_normalize(x.ptr, src_d.ptr, norms.ptr, matrices, per, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    auto all = norms.get();
    return std::vector<float>(all.begin(), all.begin() + matrices);
  };
  const auto got = run(), again = run();
  std::vector<double> ref(matrices, 0.0);
  for (int m = 0; m < matrices; ++m)
    for (std::size_t i = 0; i < per; ++i) ref[m] += double(src[m * per + i]) * src[m * per + i];
  verdict("muon_normalize norms", got, ref, ref, again);
}
#endif

}  // namespace

int main() {
  int device = 0;
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  std::printf("template kernels on %s (%d SMs)\n", prop.name, prop.multiProcessorCount);
  check_encoder_backward();
#if __has_include("rmsnorm.cuh")
  check_rmsnorm();
#endif
#if __has_include("gelu.cuh")
  check_gelu();
#endif
  check_sums();
  check_flash_attention();
#if __has_include("muon.cuh")
  check_muon_norms();
#endif
  time_mini_step();
  return failures == 0 ? 0 : 1;
}
