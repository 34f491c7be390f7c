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
#include <tuple>
#include <type_traits>
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
// From record 6 on, a rank normalises the matrices it owns (an index list into a parameter's
// matrices); before, all of them. Both are checked against the CPU through this one call (F is
// the launcher's type, so only the branch that matches it is compiled).
template <class F>
constexpr bool takes_owned = std::is_invocable_v<F, cu::ns_t*, const float*, const int*, float*, int, std::size_t,
                                                 cudaStream_t>;
template <class F>
void muon_normalize_owned(F normalize, cu::ns_t* x, const float* src, const int* owned, float* norms, int count,
                          std::size_t per) {
  if constexpr (takes_owned<F>)
    normalize(x, src, owned, norms, count, per, cudaStream_t{});
  else
    normalize(x, src, norms, count, per, cudaStream_t{});
}

void check_muon_norms() {
  const int matrices = 12;
  const std::size_t per = 768 * 3072;
  const std::vector<float> src = random_floats(per * matrices);
  // with an owned list, a scattered subset in an order of its own (the gather is what is checked)
  constexpr bool owned_api = takes_owned<decltype(&cu::muon_normalize)>;
  const std::vector<int> owned = owned_api ? std::vector<int>{11, 2, 7, 4, 0} : std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  const int count = int(owned.size());
  DeviceBuffer<float> src_d(src.size()), norms(cu::muon_norms_floats(count));
  DeviceBuffer<cu::ns_t> x(src.size());
  DeviceBuffer<int> owned_d(owned.size());
  src_d.put(src);
  owned_d.put(owned);
  auto run = [&] {
    muon_normalize_owned(&cu::muon_normalize, x.ptr, src_d.ptr, owned_d.ptr, norms.ptr, count, per);
    CUDA_CHECK(cudaDeviceSynchronize());
    auto all = norms.get();
    return std::vector<float>(all.begin(), all.begin() + count);
  };
  const auto got = run(), again = run();
  std::vector<double> ref(count, 0.0);
  for (int m = 0; m < count; ++m)
    for (std::size_t i = 0; i < per; ++i) ref[m] += double(src[owned[m] * per + i]) * src[owned[m] * per + i];
  verdict(owned_api ? "muon_normalize norms (owned matrices 11, 2, 7, 4, 0)" : "muon_normalize norms", got, ref, ref,
          again);
}
#endif

#if __has_include("mix.cuh")
// Record 9's mixes: elementwise results against the CPU within bf16 rounding, the scalars'
// gradients (sums over every element) against double sums, each the same bits twice.
void check_mix() {
  const int N = 4096, C = 768;
  const std::size_t n = std::size_t(N) * C;
  std::vector<float> x = random_floats(n), x0 = random_floats(n), d = random_floats(n);
  const auto x_h = to_bf16(x), x0_h = to_bf16(x0), d_h = to_bf16(d);
  const std::vector<float> dx0_init = random_floats(n, 0.5f), dab_init = {0.25f, -0.5f}, ab = {0.8f, 0.3f};
  DeviceBuffer<cu::bf16> xd(n), x0d(n), dd(n), out(n);
  DeviceBuffer<float> dx0(n), dab(2), abd(2);
  xd.put(x_h), x0d.put(x0_h), abd.put(ab);
  TestScratch scratch(N, C, 128);
  {
    auto run = [&] {
      cu::block_input_forward(out.ptr, xd.ptr, x0d.ptr, abd.ptr, n, nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
      return out.get();
    };
    const auto got = run(), again = run();
    std::vector<double> ref(n);
    for (std::size_t i = 0; i < n; ++i) ref[i] = double(ab[0]) * x[i] + double(ab[1]) * x0[i];
    bf16_verdict("block_input_forward", got, again, ref, 1e-2);
  }
  for (const bool first : {false, true}) {  // first: block 0, whose x is x0
    const cu::bf16* xin = first ? x0d.ptr : xd.ptr;
    const std::vector<float>& xv = first ? x0 : x;
    auto run = [&] {
      dd.put(d_h), dx0.put(dx0_init), dab.put(dab_init);
      cu::block_input_backward(dd.ptr, dx0.ptr, dab.ptr, xin, x0d.ptr, abd.ptr, n, scratch.s, nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
      return std::tuple(dd.get(), dx0.get(), dab.get());
    };
    const auto [got_d, got_dx0, got_dab] = run();
    const auto [again_d, again_dx0, again_dab] = run();
    std::vector<double> ref_d(n), ref_dx0(n), abs_dx0(n), ref_dab(dab_init.begin(), dab_init.end()), abs_dab(2, 0.5);
    for (std::size_t i = 0; i < n; ++i) {
      ref_dab[0] += double(d[i]) * xv[i], abs_dab[0] += std::fabs(double(d[i]) * xv[i]);
      ref_dab[1] += double(d[i]) * x0[i], abs_dab[1] += std::fabs(double(d[i]) * x0[i]);
      if (first) {
        ref_d[i] = (double(ab[0]) + ab[1]) * d[i] + dx0_init[i];
        ref_dx0[i] = dx0_init[i], abs_dx0[i] = std::fabs(dx0_init[i]);
      } else {
        ref_d[i] = double(ab[0]) * d[i];
        ref_dx0[i] = dx0_init[i] + double(ab[1]) * d[i];
        abs_dx0[i] = std::fabs(dx0_init[i]) + std::fabs(double(ab[1]) * d[i]);
      }
    }
    const std::string what = first ? "block_input_backward (block 0)" : "block_input_backward";
    bf16_verdict(what + " d(x)", got_d, again_d, ref_d, 1e-2);
    verdict((what + " dx0").c_str(), got_dx0, ref_dx0, abs_dx0, again_dx0);
    verdict((what + " d(a, b)").c_str(), got_dab, ref_dab, abs_dab, again_dab);
  }
  // the value residual on qkv's value part; q and k must come through untouched
  std::vector<float> qkv = random_floats(3 * n), v1 = random_floats(n), dqkv = random_floats(3 * n),
                     dv1_init = random_floats(n, 0.5f);
  const auto qkv_h = to_bf16(qkv), v1_h = to_bf16(v1), dqkv_h = to_bf16(dqkv);
  const std::vector<float> lambda = {0.3f}, dl_init = {0.125f};
  DeviceBuffer<cu::bf16> qkvd(3 * n), v_raw(n), v1d(n);
  DeviceBuffer<float> lam(1), dv1(n), dl(1);
  lam.put(lambda), v1d.put(v1_h);
  for (const bool first : {false, true}) {
    auto run = [&] {
      qkvd.put(qkv_h);
      cu::value_mix_forward(qkvd.ptr, v_raw.ptr, first ? nullptr : v1d.ptr, lam.ptr, N, C, nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
      return std::pair(qkvd.get(), v_raw.get());
    };
    const auto [got, got_raw] = run();
    const auto [again, again_raw] = run();
    std::vector<double> ref(3 * n), ref_raw(n);
    for (int r = 0; r < N; ++r)
      for (int c = 0; c < 3 * C; ++c) {
        const std::size_t i = std::size_t(r) * 3 * C + c, j = std::size_t(r) * C + (c - 2 * C);
        ref[i] = qkv[i];
        if (c < 2 * C) continue;
        ref_raw[j] = qkv[i];
        if (!first) ref[i] = (1.0 - lambda[0]) * qkv[i] + double(lambda[0]) * v1[j];
      }
    const std::string what = first ? "value_mix_forward (block 0)" : "value_mix_forward";
    bf16_verdict(what + " qkv", got, again, ref, 1e-2);
    bf16_verdict(what + " v_raw", got_raw, again_raw, ref_raw, 1e-6);
  }
  // backward against the forward's v_raw of the layer-l case (the projection's values)
  {
    std::vector<float> raw(n);
    for (int r = 0; r < N; ++r)
      for (int c = 0; c < C; ++c) raw[std::size_t(r) * C + c] = qkv[std::size_t(r) * 3 * C + 2 * C + c];
    const auto raw_h = to_bf16(raw);
    v_raw.put(raw_h);
  }
  for (const bool first : {false, true}) {
    auto run = [&] {
      qkvd.put(dqkv_h), dv1.put(dv1_init), dl.put(dl_init);
      cu::value_mix_backward(qkvd.ptr, dv1.ptr, dl.ptr, v_raw.ptr, first ? nullptr : v1d.ptr, lam.ptr, N, C,
                             scratch.s, nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
      return std::tuple(qkvd.get(), dv1.get(), dl.get());
    };
    const auto [got, got_dv1, got_dl] = run();
    const auto [again, again_dv1, again_dl] = run();
    std::vector<double> ref(3 * n), ref_dv1(n), abs_dv1(n), ref_dl = {dl_init[0]}, abs_dl = {0.125};
    for (int r = 0; r < N; ++r)
      for (int c = 0; c < 3 * C; ++c) {
        const std::size_t i = std::size_t(r) * 3 * C + c, j = std::size_t(r) * C + (c - 2 * C);
        ref[i] = dqkv[i];
        if (c < 2 * C) continue;
        const double dv = dqkv[i], raw = qkv[i];
        if (first) {
          ref[i] = dv + dv1_init[j];
          ref_dv1[j] = dv1_init[j], abs_dv1[j] = std::fabs(dv1_init[j]);
        } else {
          ref[i] = (1.0 - lambda[0]) * dv;
          ref_dv1[j] = dv1_init[j] + lambda[0] * dv, abs_dv1[j] = std::fabs(dv1_init[j]) + std::fabs(lambda[0] * dv);
          ref_dl[0] += dv * (v1[j] - raw), abs_dl[0] += std::fabs(dv * (v1[j] - raw));
        }
      }
    const std::string what = first ? "value_mix_backward (block 0)" : "value_mix_backward";
    bf16_verdict(what + " dqkv", got, again, ref, 1e-2);
    verdict((what + " dv1").c_str(), got_dv1, ref_dv1, abs_dv1, again_dv1);
    verdict((what + " dlambda").c_str(), got_dl, ref_dl, abs_dl, again_dl);
  }
}

// The softcapped cross-entropy (record 9 on): losses and the raw logits' gradient against a
// double-precision CPU softmax of cap * tanh(z / cap), logits wide enough for the cap to bite.
void check_softcap_cross_entropy() {
  const int N = 64, V = 1000, Vp = 1024;
  const float cap = 30.0f, dloss = 1.0f / N;
  std::vector<float> z = random_floats(std::size_t(N) * Vp, 25.0f);
  const auto z_h = to_bf16(z);
  std::vector<int> targets(N);
  std::uniform_int_distribution<int> any(0, V - 1);
  for (auto& t : targets) t = any(rng);
  DeviceBuffer<cu::bf16> logits(z_h.size());
  DeviceBuffer<float> losses(N);
  DeviceBuffer<int> tg(N);
  tg.put(targets);
  auto run = [&] {
    logits.put(z_h);
    cu::softmax_cross_entropy(losses.ptr, logits.ptr, tg.ptr, N, V, Vp, cap, dloss, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return std::pair(losses.get(), logits.get());
  };
  const auto [got_loss, got_d] = run();
  const auto [again_loss, again_d] = run();
  std::vector<double> ref_loss(N), abs_loss(N), ref_d(z.size(), 0.0);
  for (int r = 0; r < N; ++r) {
    std::vector<double> s(V);
    double m = -1e300, sum = 0;
    for (int c = 0; c < V; ++c) s[c] = cap * std::tanh(double(z[std::size_t(r) * Vp + c]) / cap), m = std::max(m, s[c]);
    for (int c = 0; c < V; ++c) sum += std::exp(s[c] - m);
    const double lse = m + std::log(sum);
    ref_loss[r] = lse - s[targets[r]], abs_loss[r] = std::fabs(lse) + std::fabs(s[targets[r]]);
    for (int c = 0; c < V; ++c) {
      const double t = s[c] / cap;
      ref_d[std::size_t(r) * Vp + c] = (std::exp(s[c] - lse) - (c == targets[r])) * dloss * (1 - t * t);
    }
  }
  // losses: fp32 exponentials and sums over 1000 logits of magnitude up to 30
  for (auto& a : abs_loss) a *= 10;
  verdict("softmax_cross_entropy (softcap 30) losses", got_loss, ref_loss, abs_loss, again_loss);
  bf16_verdict("softmax_cross_entropy (softcap 30) dlogits", got_d, again_d, ref_d, 1e-2);
}
#endif

#if __has_include("unet.cuh")
// Record 11's U-net: a decoder block's input and its backward pass (the skip's gradient written,
// the three scalars' gradients as fixed-order sums), and the skip gradient's add.
void check_unet() {
  const int N = 4096, C = 768;
  const std::size_t n = std::size_t(N) * C;
  std::vector<float> x = random_floats(n), s = random_floats(n), x0 = random_floats(n), d = random_floats(n);
  const auto x_h = to_bf16(x), s_h = to_bf16(s), x0_h = to_bf16(x0), d_h = to_bf16(d);
  const std::vector<float> dx0_init = random_floats(n, 0.5f), dab_init = {0.25f, -0.5f}, dw_init = {0.75f},
                           ab = {0.8f, 0.3f}, w = {1.2f};
  DeviceBuffer<cu::bf16> xd(n), sd(n), x0d(n), dd(n), ds(n), out(n);
  DeviceBuffer<float> dx0(n), dab(2), dw(1), abd(2), wd(1);
  xd.put(x_h), sd.put(s_h), x0d.put(x0_h), abd.put(ab), wd.put(w);
  TestScratch scratch(N, C, 128);
  {
    auto run = [&] {
      cu::decoder_input_forward(out.ptr, xd.ptr, sd.ptr, x0d.ptr, abd.ptr, wd.ptr, n, nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
      return out.get();
    };
    const auto got = run(), again = run();
    std::vector<double> ref(n);
    for (std::size_t i = 0; i < n; ++i) ref[i] = double(ab[0]) * (x[i] + double(w[0]) * s[i]) + double(ab[1]) * x0[i];
    bf16_verdict("decoder_input_forward", got, again, ref, 1e-2);
  }
  auto run = [&] {
    dd.put(d_h), dx0.put(dx0_init), dab.put(dab_init), dw.put(dw_init);
    cu::decoder_input_backward(dd.ptr, ds.ptr, dx0.ptr, dab.ptr, dw.ptr, xd.ptr, sd.ptr, x0d.ptr, abd.ptr, wd.ptr, n,
                               scratch.s, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return std::tuple(dd.get(), ds.get(), dx0.get(), dab.get(), dw.get());
  };
  const auto [got_d, got_ds, got_dx0, got_dab, got_dw] = run();
  const auto [again_d, again_ds, again_dx0, again_dab, again_dw] = run();
  std::vector<double> ref_d(n), ref_ds(n), ref_dx0(n), abs_dx0(n), ref_dab(dab_init.begin(), dab_init.end()),
      abs_dab(2, 0.5), ref_dw = {dw_init[0]}, abs_dw = {0.75};
  for (std::size_t i = 0; i < n; ++i) {
    const double e = double(ab[0]) * d[i], u = x[i] + double(w[0]) * s[i];
    ref_d[i] = e, ref_ds[i] = w[0] * e;
    ref_dx0[i] = dx0_init[i] + double(ab[1]) * d[i];
    abs_dx0[i] = std::fabs(dx0_init[i]) + std::fabs(double(ab[1]) * d[i]);
    ref_dab[0] += d[i] * u, abs_dab[0] += std::fabs(d[i] * u);
    ref_dab[1] += double(d[i]) * x0[i], abs_dab[1] += std::fabs(double(d[i]) * x0[i]);
    ref_dw[0] += e * s[i], abs_dw[0] += std::fabs(e * s[i]);
  }
  bf16_verdict("decoder_input_backward d(x)", got_d, again_d, ref_d, 1e-2);
  bf16_verdict("decoder_input_backward d(skip)", got_ds, again_ds, ref_ds, 1e-2);
  verdict("decoder_input_backward dx0", got_dx0, ref_dx0, abs_dx0, again_dx0);
  verdict("decoder_input_backward d(a, b)", got_dab, ref_dab, abs_dab, again_dab);
  verdict("decoder_input_backward d(w)", got_dw, ref_dw, abs_dw, again_dw);
  {
    auto add = [&] {
      dd.put(d_h);
      cu::add_into(dd.ptr, sd.ptr, n, nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
      return dd.get();
    };
    const auto got = add(), again = add();
    std::vector<double> ref(n);
    for (std::size_t i = 0; i < n; ++i) ref[i] = double(d[i]) + s[i];
    bf16_verdict("add_into", got, again, ref, 1e-2);
  }
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
#if __has_include("mix.cuh")
  check_mix();
  check_softcap_cross_entropy();
#endif
#if __has_include("unet.cuh")
  check_unet();
#endif
  time_mini_step();
  return failures == 0 ? 0 : 1;
}
