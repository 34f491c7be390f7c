// The CPU reference GPT-2: straightforward loops, sums in double, no tricks,
// so that it is easy to trust and to compare the CUDA kernels against.
#include "cpu_reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace speedrunner::cuda::cpu {

template <class Real>
void encoder_forward(Real* out, const int* tokens, const Real* wte, const Real* wpe, int B, int T,
                     int C) {
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      const Real* e = wte + std::size_t(tokens[b * T + t]) * C;
      const Real* p = wpe + std::size_t(t) * C;
      Real* o = out + (std::size_t(b) * T + t) * C;
      for (int c = 0; c < C; ++c) o[c] = e[c] + p[c];
    }
}

template <class Real>
void encoder_backward(Real* dwte, Real* dwpe, const Real* dout, const int* tokens, int B, int T,
                      int C) {
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      const Real* d = dout + (std::size_t(b) * T + t) * C;
      Real* de = dwte + std::size_t(tokens[b * T + t]) * C;
      Real* dp = dwpe + std::size_t(t) * C;
      for (int c = 0; c < C; ++c) {
        de[c] += d[c];
        dp[c] += d[c];
      }
    }
}

template <class Real>
void layernorm_forward(Real* out, Real* mean, Real* rstd, const Real* inp, const Real* weight,
                       const Real* bias, int N, int C) {
  for (int n = 0; n < N; ++n) {
    const Real* x = inp + std::size_t(n) * C;
    double m = 0;
    for (int c = 0; c < C; ++c) m += x[c];
    m /= C;
    double var = 0;
    for (int c = 0; c < C; ++c) var += (x[c] - m) * (x[c] - m);
    var /= C;
    const double s = 1.0 / std::sqrt(var + 1e-5);
    Real* o = out + std::size_t(n) * C;
    for (int c = 0; c < C; ++c) o[c] = Real((x[c] - m) * s * weight[c] + bias[c]);
    mean[n] = Real(m);
    rstd[n] = Real(s);
  }
}

template <class Real>
void layernorm_backward(Real* dinp, Real* dweight, Real* dbias, const Real* dout, const Real* inp,
                        const Real* weight, const Real* mean, const Real* rstd, int N, int C) {
  for (int n = 0; n < N; ++n) {
    const Real* x = inp + std::size_t(n) * C;
    const Real* d = dout + std::size_t(n) * C;
    double dnorm_mean = 0, dnorm_norm_mean = 0;
    for (int c = 0; c < C; ++c) {
      const double xhat = (x[c] - mean[n]) * double(rstd[n]);
      const double dnorm = double(weight[c]) * d[c];
      dnorm_mean += dnorm;
      dnorm_norm_mean += dnorm * xhat;
    }
    dnorm_mean /= C;
    dnorm_norm_mean /= C;
    Real* dx = dinp + std::size_t(n) * C;
    for (int c = 0; c < C; ++c) {
      const double xhat = (x[c] - mean[n]) * double(rstd[n]);
      const double dnorm = double(weight[c]) * d[c];
      dbias[c] += d[c];
      dweight[c] += Real(xhat * d[c]);
      dx[c] += Real((dnorm - dnorm_mean - xhat * dnorm_norm_mean) * rstd[n]);
    }
  }
}

template <class Real>
void matmul_forward(Real* out, const Real* inp, const Real* weight, const Real* bias,
                    const Real* residual, int N, int IC, int OC) {
  for (int n = 0; n < N; ++n) {
    const Real* x = inp + std::size_t(n) * IC;
    for (int o = 0; o < OC; ++o) {
      const Real* w = weight + std::size_t(o) * IC;
      double acc = bias != nullptr ? double(bias[o]) : 0.0;
      for (int i = 0; i < IC; ++i) acc += double(x[i]) * w[i];
      if (residual != nullptr) acc += residual[std::size_t(n) * OC + o];
      out[std::size_t(n) * OC + o] = Real(acc);
    }
  }
}

template <class Real>
void matmul_backward(Real* dinp, Real* dweight, Real* dbias, const Real* dout, const Real* inp,
                     const Real* weight, int N, int IC, int OC) {
  for (int n = 0; n < N; ++n) {
    const Real* d = dout + std::size_t(n) * OC;
    Real* dx = dinp + std::size_t(n) * IC;
    for (int i = 0; i < IC; ++i) {
      double acc = 0;
      for (int o = 0; o < OC; ++o) acc += double(d[o]) * weight[std::size_t(o) * IC + i];
      dx[i] += Real(acc);
    }
  }
  for (int o = 0; o < OC; ++o) {
    double db = 0;
    for (int i = 0; i < IC; ++i) {
      double acc = 0;
      for (int n = 0; n < N; ++n)
        acc += double(dout[std::size_t(n) * OC + o]) * inp[std::size_t(n) * IC + i];
      dweight[std::size_t(o) * IC + i] += Real(acc);
    }
    for (int n = 0; n < N; ++n) db += dout[std::size_t(n) * OC + o];
    if (dbias != nullptr) dbias[o] += Real(db);
  }
}

template <class Real>
void attention_forward(Real* out, Real* att, const Real* qkv, int B, int T, int C, int NH) {
  const int HS = C / NH;
  const double scale = 1.0 / std::sqrt(double(HS));
  std::vector<double> row(T);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h)
      for (int t = 0; t < T; ++t) {
        const Real* q = qkv + (std::size_t(b) * T + t) * 3 * C + h * HS;
        double maxv = -std::numeric_limits<double>::infinity();
        for (int u = 0; u <= t; ++u) {
          const Real* k = qkv + (std::size_t(b) * T + u) * 3 * C + C + h * HS;
          double dot = 0;
          for (int i = 0; i < HS; ++i) dot += double(q[i]) * k[i];
          row[u] = dot * scale;
          maxv = std::max(maxv, row[u]);
        }
        double sum = 0;
        for (int u = 0; u <= t; ++u) sum += (row[u] = std::exp(row[u] - maxv));
        Real* a = att + ((std::size_t(b) * NH + h) * T + t) * T;
        for (int u = 0; u < T; ++u) a[u] = u <= t ? Real(row[u] / sum) : Real(0);
        Real* o = out + (std::size_t(b) * T + t) * C + h * HS;
        for (int i = 0; i < HS; ++i) {
          double acc = 0;
          for (int u = 0; u <= t; ++u)
            acc += double(a[u]) * qkv[(std::size_t(b) * T + u) * 3 * C + 2 * C + h * HS + i];
          o[i] = Real(acc);
        }
      }
}

template <class Real>
void attention_backward(Real* dqkv, const Real* dout, const Real* qkv, const Real* att, int B,
                        int T, int C, int NH) {
  const int HS = C / NH;
  const double scale = 1.0 / std::sqrt(double(HS));
  std::vector<double> datt(T), dpre(T);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h)
      for (int t = 0; t < T; ++t) {
        const Real* a = att + ((std::size_t(b) * NH + h) * T + t) * T;
        const Real* d = dout + (std::size_t(b) * T + t) * C + h * HS;
        const std::size_t qrow = (std::size_t(b) * T + t) * 3 * C + h * HS;
        double dot = 0;
        for (int u = 0; u <= t; ++u) {
          const std::size_t vrow = (std::size_t(b) * T + u) * 3 * C + 2 * C + h * HS;
          double acc = 0;
          for (int i = 0; i < HS; ++i) {
            acc += double(d[i]) * qkv[vrow + i];
            dqkv[vrow + i] += Real(double(a[u]) * d[i]);  // dv
          }
          datt[u] = acc;
          dot += acc * a[u];
        }
        for (int u = 0; u <= t; ++u) dpre[u] = double(a[u]) * (datt[u] - dot) * scale;
        for (int u = 0; u <= t; ++u) {
          const std::size_t krow = (std::size_t(b) * T + u) * 3 * C + C + h * HS;
          for (int i = 0; i < HS; ++i) {
            dqkv[qrow + i] += Real(dpre[u] * qkv[krow + i]);  // dq
            dqkv[krow + i] += Real(dpre[u] * qkv[qrow + i]);  // dk
          }
        }
      }
}

namespace {
constexpr double gelu_scale = 0.7978845608028654;  // sqrt(2/pi)
}

template <class Real>
void gelu_forward(Real* out, const Real* inp, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const double x = inp[i];
    out[i] = Real(0.5 * x * (1.0 + std::tanh(gelu_scale * (x + 0.044715 * x * x * x))));
  }
}

template <class Real>
void gelu_backward(Real* dinp, const Real* inp, const Real* dout, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const double x = inp[i];
    const double th = std::tanh(gelu_scale * (x + 0.044715 * x * x * x));
    const double grad =
        0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * gelu_scale * (1.0 + 3.0 * 0.044715 * x * x);
    dinp[i] += Real(grad * dout[i]);
  }
}

template <class Real>
void softmax_cross_entropy(Real* losses, Real* dlogits, const Real* logits, const int* targets,
                           int N, int V, int Vp, Real dloss) {
  for (int n = 0; n < N; ++n) {
    const Real* l = logits + std::size_t(n) * Vp;
    double maxv = -std::numeric_limits<double>::infinity();
    for (int i = 0; i < V; ++i) maxv = std::max(maxv, double(l[i]));
    double sum = 0;
    for (int i = 0; i < V; ++i) sum += std::exp(l[i] - maxv);
    losses[n] = Real(std::log(sum) + maxv - l[targets[n]]);
    Real* d = dlogits + std::size_t(n) * Vp;
    for (int i = 0; i < Vp; ++i)
      d[i] = i < V ? Real((std::exp(l[i] - maxv) / sum - (i == targets[n] ? 1.0 : 0.0)) * dloss)
                   : Real(0);
  }
}

template <class Real>
void adamw_update(Real* params, const Real* grads, Real* m, Real* v, std::size_t n, float lr,
                  float beta1, float beta2, float eps, float weight_decay, int t, Real grad_scale) {
  const double c1 = 1.0 - std::pow(double(beta1), t), c2 = 1.0 - std::pow(double(beta2), t);
  for (std::size_t i = 0; i < n; ++i) {
    const double g = double(grads[i]) * grad_scale;
    m[i] = Real(beta1 * double(m[i]) + (1.0 - beta1) * g);
    v[i] = Real(beta2 * double(v[i]) + (1.0 - beta2) * g * g);
    const double mhat = m[i] / c1, vhat = v[i] / c2;
    params[i] =
        Real(params[i] - lr * (mhat / (std::sqrt(vhat) + eps) + weight_decay * double(params[i])));
  }
}

// ---- the model ----
template <class Real>
GPT2<Real>::GPT2(const GPT2Config& config, int B, int T)
    : config_(config), layout_(config), B_(B), T_(T) {
  const std::size_t L = config.layers, C = config.channels, NH = config.heads,
                    Vp = config.padded_vocab;
  const std::size_t N = std::size_t(B) * T;
  std::vector<float> init(layout_.total);
  init_params(config, 1337, init.data());
  params_.assign(init.begin(), init.end());
  grads_.assign(layout_.total, Real(0));
  m_.assign(layout_.total, Real(0));
  v_.assign(layout_.total, Real(0));
  encoded_.resize(N * C);
  ln1_.resize(L * N * C), ln1_mean_.resize(L * N), ln1_rstd_.resize(L * N);
  qkv_.resize(L * N * 3 * C), att_.resize(L * B * NH * T * T), atty_.resize(L * N * C),
      res2_.resize(L * N * C);
  ln2_.resize(L * N * C), ln2_mean_.resize(L * N), ln2_rstd_.resize(L * N);
  fch_.resize(L * N * 4 * C), fch_gelu_.resize(L * N * 4 * C), res3_.resize(L * N * C);
  lnf_.resize(N * C), lnf_mean_.resize(N), lnf_rstd_.resize(N);
  logits_.resize(N * Vp), dlogits_.resize(N * Vp), losses_.resize(N);
}

template <class Real>
Real GPT2<Real>::forward(const int* tokens, const int* targets) {
  const int B = B_, T = T_, C = config_.channels, NH = config_.heads, V = config_.vocab,
            Vp = config_.padded_vocab;
  const int N = B * T;
  const std::size_t NC = std::size_t(N) * C;
  tokens_.assign(tokens, tokens + N);
  targets_.assign(targets, targets + N);
  encoder_forward(encoded_.data(), tokens, param(wte), param(wpe), B, T, C);
  for (int l = 0; l < config_.layers; ++l) {
    const Real* residual = l == 0 ? encoded_.data() : res3_.data() + (l - 1) * NC;
    Real* ln1 = ln1_.data() + l * NC;
    Real* qkv = qkv_.data() + l * 3 * NC;
    Real* att = att_.data() + std::size_t(l) * B * NH * T * T;
    Real* atty = atty_.data() + l * NC;
    Real* res2 = res2_.data() + l * NC;
    Real* ln2 = ln2_.data() + l * NC;
    Real* fch = fch_.data() + l * 4 * NC;
    Real* fch_gelu = fch_gelu_.data() + l * 4 * NC;
    Real* res3 = res3_.data() + l * NC;
    const std::size_t c1 = C, c3 = 3 * C, cc = std::size_t(C) * C;
    layernorm_forward(ln1, ln1_mean_.data() + l * N, ln1_rstd_.data() + l * N, residual,
                      param(ln1w, l, c1), param(ln1b, l, c1), N, C);
    matmul_forward(qkv, ln1, param(qkvw, l, 3 * cc), param(qkvb, l, c3), (const Real*)nullptr, N, C,
                   3 * C);
    attention_forward(atty, att, qkv, B, T, C, NH);
    matmul_forward(res2, atty, param(attprojw, l, cc), param(attprojb, l, c1), residual, N, C, C);
    layernorm_forward(ln2, ln2_mean_.data() + l * N, ln2_rstd_.data() + l * N, res2,
                      param(ln2w, l, c1), param(ln2b, l, c1), N, C);
    matmul_forward(fch, ln2, param(fcw, l, 4 * cc), param(fcb, l, 4 * c1), (const Real*)nullptr, N,
                   C, 4 * C);
    gelu_forward(fch_gelu, fch, 4 * NC);
    matmul_forward(res3, fch_gelu, param(fcprojw, l, 4 * cc), param(fcprojb, l, c1), res2, N, 4 * C,
                   C);
  }
  layernorm_forward(lnf_.data(), lnf_mean_.data(), lnf_rstd_.data(),
                    res3_.data() + (config_.layers - 1) * NC, param(lnfw), param(lnfb), N, C);
  matmul_forward(logits_.data(), lnf_.data(), param(wte), (const Real*)nullptr,
                 (const Real*)nullptr, N, C, Vp);
  softmax_cross_entropy(losses_.data(), dlogits_.data(), logits_.data(), targets, N, V, Vp,
                        Real(1.0 / N));
  double sum = 0;
  for (Real x : losses_) sum += x;
  return Real(sum / N);
}

template <class Real>
void GPT2<Real>::backward() {
  const int B = B_, T = T_, C = config_.channels, NH = config_.heads, Vp = config_.padded_vocab;
  const int N = B * T;
  const std::size_t NC = std::size_t(N) * C;
  std::fill(grads_.begin(), grads_.end(), Real(0));
  std::vector<Real> dres(NC, Real(0)), dlnf(NC, Real(0)), dsmall(NC), dbig(4 * NC), dqkv(3 * NC);
  matmul_backward(dlnf.data(), grad(wte), (Real*)nullptr, dlogits_.data(), lnf_.data(), param(wte),
                  N, C, Vp);
  layernorm_backward(dres.data(), grad(lnfw), grad(lnfb), dlnf.data(),
                     res3_.data() + (config_.layers - 1) * NC, param(lnfw), lnf_mean_.data(),
                     lnf_rstd_.data(), N, C);
  for (int l = config_.layers - 1; l >= 0; --l) {
    const Real* residual = l == 0 ? encoded_.data() : res3_.data() + (l - 1) * NC;
    const std::size_t c1 = C, c3 = 3 * C, cc = std::size_t(C) * C;
    // MLP: res3 = res2 + fcproj(gelu(fc(ln2(res2))))
    std::fill(dbig.begin(), dbig.end(), Real(0));
    matmul_backward(dbig.data(), grad(fcprojw, l, 4 * cc), grad(fcprojb, l, c1), dres.data(),
                    fch_gelu_.data() + l * 4 * NC, param(fcprojw, l, 4 * cc), N, 4 * C, C);
    std::vector<Real> dfch(4 * NC, Real(0));
    gelu_backward(dfch.data(), fch_.data() + l * 4 * NC, dbig.data(), 4 * NC);
    std::fill(dsmall.begin(), dsmall.end(), Real(0));
    matmul_backward(dsmall.data(), grad(fcw, l, 4 * cc), grad(fcb, l, 4 * c1), dfch.data(),
                    ln2_.data() + l * NC, param(fcw, l, 4 * cc), N, C, 4 * C);
    layernorm_backward(dres.data(), grad(ln2w, l, c1), grad(ln2b, l, c1), dsmall.data(),
                       res2_.data() + l * NC, param(ln2w, l, c1), ln2_mean_.data() + l * N,
                       ln2_rstd_.data() + l * N, N, C);
    // attention: res2 = residual + attproj(attn(qkv(ln1(residual))))
    std::fill(dsmall.begin(), dsmall.end(), Real(0));
    matmul_backward(dsmall.data(), grad(attprojw, l, cc), grad(attprojb, l, c1), dres.data(),
                    atty_.data() + l * NC, param(attprojw, l, cc), N, C, C);
    std::fill(dqkv.begin(), dqkv.end(), Real(0));
    attention_backward(dqkv.data(), dsmall.data(), qkv_.data() + l * 3 * NC,
                       att_.data() + std::size_t(l) * B * NH * T * T, B, T, C, NH);
    std::fill(dsmall.begin(), dsmall.end(), Real(0));
    matmul_backward(dsmall.data(), grad(qkvw, l, 3 * cc), grad(qkvb, l, c3), dqkv.data(),
                    ln1_.data() + l * NC, param(qkvw, l, 3 * cc), N, C, 3 * C);
    layernorm_backward(dres.data(), grad(ln1w, l, c1), grad(ln1b, l, c1), dsmall.data(), residual,
                       param(ln1w, l, c1), ln1_mean_.data() + l * N, ln1_rstd_.data() + l * N, N,
                       C);
  }
  encoder_backward(grad(wte), grad(wpe), dres.data(), tokens_.data(), B, T, C);
}

template <class Real>
Real GPT2<Real>::update(const OptimizerConfig& opt, float lr, int t) {
  double sq = 0;
  for (Real g : grads_) sq += double(g) * g;
  const double norm = std::sqrt(sq);
  const double scale = opt.grad_clip > 0 && norm > opt.grad_clip ? opt.grad_clip / norm : 1.0;
  for (int p = 0; p < num_params; ++p) {
    const std::size_t o = layout_.offset[p];
    adamw_update(params_.data() + o, grads_.data() + o, m_.data() + o, v_.data() + o,
                 layout_.size[p], lr, opt.beta1, opt.beta2, opt.eps,
                 param_is_matrix(p) ? opt.weight_decay : 0.0f, t, Real(scale));
  }
  return Real(norm);
}

#define SPEEDRUNNER_CPU_REFERENCE(Real)                                                            \
  template void encoder_forward<Real>(Real*, const int*, const Real*, const Real*, int, int, int); \
  template void encoder_backward<Real>(Real*, Real*, const Real*, const int*, int, int, int);      \
  template void layernorm_forward<Real>(Real*, Real*, Real*, const Real*, const Real*,             \
                                        const Real*, int, int);                                    \
  template void layernorm_backward<Real>(Real*, Real*, Real*, const Real*, const Real*,            \
                                         const Real*, const Real*, const Real*, int, int);         \
  template void matmul_forward<Real>(Real*, const Real*, const Real*, const Real*, const Real*,    \
                                     int, int, int);                                               \
  template void matmul_backward<Real>(Real*, Real*, Real*, const Real*, const Real*, const Real*,  \
                                      int, int, int);                                              \
  template void attention_forward<Real>(Real*, Real*, const Real*, int, int, int, int);            \
  template void attention_backward<Real>(Real*, const Real*, const Real*, const Real*, int, int,   \
                                         int, int);                                                \
  template void gelu_forward<Real>(Real*, const Real*, std::size_t);                               \
  template void gelu_backward<Real>(Real*, const Real*, const Real*, std::size_t);                 \
  template void softmax_cross_entropy<Real>(Real*, Real*, const Real*, const int*, int, int, int,  \
                                            Real);                                                 \
  template void adamw_update<Real>(Real*, const Real*, Real*, Real*, std::size_t, float, float,    \
                                   float, float, float, int, Real);                                \
  template class GPT2<Real>;

SPEEDRUNNER_CPU_REFERENCE(float)
SPEEDRUNNER_CPU_REFERENCE(double)

}  // namespace speedrunner::cuda::cpu
