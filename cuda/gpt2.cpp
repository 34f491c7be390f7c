// GPT-2 forward, backward and update on one GPU (see gpt2.hpp).
#include "gpt2.hpp"

#include "common.cuh"

#include <algorithm>
#include <stdexcept>

namespace speedrunner::cuda {

template <class T>
T* GPT2::alloc(std::size_t count) {
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, count * sizeof(T)));
  allocations_.push_back(p);
  bytes_ += count * sizeof(T);
  return static_cast<T*>(p);
}

GPT2::GPT2(const GPT2Config& config, int B, int T, std::uint64_t seed, cudaStream_t stream,
           Attention attention, OptimizerShard shard)
    : config_(config),
      layout_(config),
      shard_(plan_shard(layout_, shard.world, shard.rank)),
      B_(B),
      T_(T),
      stream_(stream),
      attention_(attention == Attention::flash && flash_attention_supported(config.head_size())
                     ? Attention::flash
                     : Attention::gemm) {
  const std::size_t L = config.layers, C = config.channels, NH = config.heads,
                    Vp = config.padded_vocab;
  const std::size_t N = std::size_t(B) * T, NC = N * C;
  // ZeRO-1's saving: 12 of the 18 bytes per parameter here are optimizer state
  // (master weights, m, v), of which each rank keeps 1/world.
  const std::size_t whole = shard_.padded_total, own = shard_.size();
  params_ = alloc<float>(own);
  grads_ = alloc<float>(whole);
  m_ = alloc<float>(own);
  v_ = alloc<float>(own);
  params_bf16_ = alloc<bf16>(whole);
  // gaps and the padded tail are never written after this, and must be 0
  CUDA_CHECK(cudaMemsetAsync(params_, 0, own * sizeof(float), stream_));
  CUDA_CHECK(cudaMemsetAsync(params_bf16_, 0, whole * sizeof(bf16), stream_));
  CUDA_CHECK(cudaMemsetAsync(m_, 0, own * sizeof(float), stream_));
  CUDA_CHECK(cudaMemsetAsync(v_, 0, own * sizeof(float), stream_));
  tokens_ = alloc<int>(N);
  targets_ = alloc<int>(N);
  encoded_ = alloc<bf16>(NC);
  ln1_ = alloc<bf16>(L * NC);
  qkv_ = alloc<bf16>(L * 3 * NC);
  atty_ = alloc<bf16>(L * NC);
  res2_ = alloc<bf16>(L * NC);
  ln2_ = alloc<bf16>(L * NC);
  fch_ = alloc<bf16>(L * 4 * NC);
  fch_gelu_ = alloc<bf16>(L * 4 * NC);
  res3_ = alloc<bf16>(L * NC);
  ln1_mean_ = alloc<float>(L * N);
  ln1_rstd_ = alloc<float>(L * N);
  ln2_mean_ = alloc<float>(L * N);
  ln2_rstd_ = alloc<float>(L * N);
  lnf_ = alloc<bf16>(NC);
  lnf_mean_ = alloc<float>(N);
  lnf_rstd_ = alloc<float>(N);
  logits_ = alloc<bf16>(N * Vp);
  losses_ = alloc<float>(N);
  loss_sum_ = alloc<float>(1);
  grad_norm_sq_ = alloc<float>(1);
  if (attention_ == Attention::flash) {
    lse_ = alloc<float>(L * B * NH * T);
    flash_work_ = alloc<float>(flash_attention_backward_work(B, T, NH, C / NH));
  } else {
    att_ = alloc<bf16>(L * B * NH * T * T);
    attn_scratch_ = alloc<bf16>(7 * NC);
    datt_ = alloc<bf16>(std::size_t(B) * NH * T * T);
  }
  dres_ = alloc<bf16>(NC);
  dsmall_ = alloc<bf16>(NC);
  dbig_ = alloc<bf16>(4 * NC);
  dqkv_ = alloc<bf16>(3 * NC);
  std::vector<float> init(layout_.total);
  init_params(config, seed, init.data());
  set_params(init.data());
  zero_grad();
  reset_loss();
}

GPT2::~GPT2() {
  cudaStreamSynchronize(stream_);
  for (void* p : allocations_) cudaFree(p);
}

void GPT2::set_params(const float* host) {
  const std::size_t total = layout_.total;
  if (!shard_.sharded()) {
    CUDA_CHECK(
        cudaMemcpyAsync(params_, host, total * sizeof(float), cudaMemcpyHostToDevice, stream_));
    float_to_bf16(params_bf16_, params_, total, stream_);
  } else {
    // The bf16 copy comes from the same device conversion as unsharded, so
    // every rank's forward pass sees the same bits; the whole fp32 buffer is
    // only staged for it.
    float* staging = nullptr;
    CUDA_CHECK(cudaMalloc(&staging, total * sizeof(float)));
    CUDA_CHECK(
        cudaMemcpyAsync(staging, host, total * sizeof(float), cudaMemcpyHostToDevice, stream_));
    float_to_bf16(params_bf16_, staging, total, stream_);
    if (shard_.begin < total)
      CUDA_CHECK(cudaMemcpyAsync(params_, staging + shard_.begin,
                                 (std::min(shard_.end, total) - shard_.begin) * sizeof(float),
                                 cudaMemcpyDeviceToDevice, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    CUDA_CHECK(cudaFree(staging));
  }
  CUDA_CHECK(cudaStreamSynchronize(stream_));  // `host` may go away
}

void GPT2::zero_grad() {
  CUDA_CHECK(cudaMemsetAsync(grads_, 0, shard_.padded_total * sizeof(float), stream_));
}
void GPT2::reset_loss() {
  CUDA_CHECK(cudaMemsetAsync(loss_sum_, 0, sizeof(float), stream_));
}

float GPT2::loss() {
  float value = 0;
  CUDA_CHECK(cudaMemcpyAsync(&value, loss_sum_, sizeof(float), cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  return value;
}

float GPT2::grad_norm() {
  float value = 0;
  CUDA_CHECK(
      cudaMemcpyAsync(&value, grad_norm_sq_, sizeof(float), cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  return std::sqrt(value);
}

void GPT2::forward(const int* tokens, const int* targets, float dloss_scale) {
  const int B = B_, T = T_, C = config_.channels, NH = config_.heads, N = B * T;
  const std::size_t NC = std::size_t(N) * C, c1 = C, cc = std::size_t(C) * C;
  const ParamLayout& at = layout_;
  const bf16* p = params_bf16_;
  // The stream may still read the previous batch; pageable copies are staged, so the host buffer is
  // free after.
  CUDA_CHECK(cudaMemcpyAsync(tokens_, tokens, N * sizeof(int), cudaMemcpyHostToDevice, stream_));
  if (targets != nullptr)
    CUDA_CHECK(
        cudaMemcpyAsync(targets_, targets, N * sizeof(int), cudaMemcpyHostToDevice, stream_));
  encoder_forward(encoded_, tokens_, p + at.offset[wte], p + at.offset[wpe], B, T, C, stream_);
  for (int l = 0; l < config_.layers; ++l) {
    const bf16* residual = l == 0 ? encoded_ : res3_ + (l - 1) * NC;
    bf16* ln1 = ln1_ + l * NC;
    bf16* qkv = qkv_ + l * 3 * NC;
    bf16* atty = atty_ + l * NC;
    bf16* res2 = res2_ + l * NC;
    bf16* ln2 = ln2_ + l * NC;
    bf16* fch = fch_ + l * 4 * NC;
    bf16* fch_gelu = fch_gelu_ + l * 4 * NC;
    bf16* res3 = res3_ + l * NC;
    layernorm_forward(ln1, ln1_mean_ + l * N, ln1_rstd_ + l * N, residual,
                      p + at.offset[ln1w] + l * c1, p + at.offset[ln1b] + l * c1, N, C, stream_);
    matmul_forward(blas_, qkv, ln1, p + at.offset[qkvw] + l * 3 * cc,
                   p + at.offset[qkvb] + l * 3 * c1, nullptr, N, C, 3 * C, stream_);
    if (attention_ == Attention::flash)
      flash_attention_forward(atty, lse_ + std::size_t(l) * B * NH * T, qkv, B, T, NH, C / NH,
                              stream_);
    else
      attention_forward(blas_, atty, att_ + std::size_t(l) * B * NH * T * T, qkv, attn_scratch_, B,
                        T, C, NH, stream_);
    matmul_forward(blas_, res2, atty, p + at.offset[attprojw] + l * cc,
                   p + at.offset[attprojb] + l * c1, residual, N, C, C, stream_);
    layernorm_forward(ln2, ln2_mean_ + l * N, ln2_rstd_ + l * N, res2, p + at.offset[ln2w] + l * c1,
                      p + at.offset[ln2b] + l * c1, N, C, stream_);
    matmul_forward(blas_, fch_gelu, ln2, p + at.offset[fcw] + l * 4 * cc,
                   p + at.offset[fcb] + l * 4 * c1, nullptr, N, C, 4 * C, stream_, fch);
    matmul_forward(blas_, res3, fch_gelu, p + at.offset[fcprojw] + l * 4 * cc,
                   p + at.offset[fcprojb] + l * c1, res2, N, 4 * C, C, stream_);
  }
  layernorm_forward(lnf_, lnf_mean_, lnf_rstd_, res3_ + (config_.layers - 1) * NC,
                    p + at.offset[lnfw], p + at.offset[lnfb], N, C, stream_);
  matmul_forward(blas_, logits_, lnf_, p + at.offset[wte], nullptr, nullptr, N, C,
                 config_.padded_vocab, stream_);
  if (targets != nullptr) {
    softmax_cross_entropy(losses_, logits_, targets_, N, config_.vocab, config_.padded_vocab,
                          dloss_scale, stream_);
    sum_scaled(loss_sum_, losses_, N, dloss_scale, true, stream_);
  }
}

void GPT2::backward() {
  const int B = B_, T = T_, C = config_.channels, NH = config_.heads, N = B * T;
  const std::size_t NC = std::size_t(N) * C, c1 = C, cc = std::size_t(C) * C;
  const ParamLayout& at = layout_;
  const bf16* p = params_bf16_;
  float* g = grads_;
  matmul_backward(blas_, dsmall_, g + at.offset[wte], nullptr, logits_, lnf_, p + at.offset[wte], N,
                  C, config_.padded_vocab, stream_);
  CUDA_CHECK(cudaMemsetAsync(dres_, 0, NC * sizeof(bf16), stream_));
  layernorm_backward(dres_, g + at.offset[lnfw], g + at.offset[lnfb], dsmall_,
                     res3_ + (config_.layers - 1) * NC, p + at.offset[lnfw], lnf_mean_, lnf_rstd_,
                     N, C, stream_);
  for (int l = config_.layers - 1; l >= 0; --l) {
    const bf16* residual = l == 0 ? encoded_ : res3_ + (l - 1) * NC;
    // MLP
    matmul_backward(blas_, dbig_, g + at.offset[fcprojw] + l * 4 * cc,
                    g + at.offset[fcprojb] + l * c1, dres_, fch_gelu_ + l * 4 * NC,
                    p + at.offset[fcprojw] + l * 4 * cc, N, 4 * C, C, stream_,
                    fch_ + l * 4 * NC);  // dbig_ is the gradient before the GELU
    matmul_backward(blas_, dsmall_, g + at.offset[fcw] + l * 4 * cc,
                    g + at.offset[fcb] + l * 4 * c1, dbig_, ln2_ + l * NC,
                    p + at.offset[fcw] + l * 4 * cc, N, C, 4 * C, stream_);
    layernorm_backward(dres_, g + at.offset[ln2w] + l * c1, g + at.offset[ln2b] + l * c1, dsmall_,
                       res2_ + l * NC, p + at.offset[ln2w] + l * c1, ln2_mean_ + l * N,
                       ln2_rstd_ + l * N, N, C, stream_);
    // attention
    matmul_backward(blas_, dsmall_, g + at.offset[attprojw] + l * cc,
                    g + at.offset[attprojb] + l * c1, dres_, atty_ + l * NC,
                    p + at.offset[attprojw] + l * cc, N, C, C, stream_);
    if (attention_ == Attention::flash)
      flash_attention_backward(dqkv_, flash_work_, dsmall_, atty_ + l * NC, qkv_ + l * 3 * NC,
                               lse_ + std::size_t(l) * B * NH * T, B, T, NH, C / NH, stream_);
    else
      attention_backward(blas_, dqkv_, datt_, attn_scratch_, dsmall_, qkv_ + l * 3 * NC,
                         att_ + std::size_t(l) * B * NH * T * T, B, T, C, NH, stream_);
    matmul_backward(blas_, dsmall_, g + at.offset[qkvw] + l * 3 * cc,
                    g + at.offset[qkvb] + l * 3 * c1, dqkv_, ln1_ + l * NC,
                    p + at.offset[qkvw] + l * 3 * cc, N, C, 3 * C, stream_);
    layernorm_backward(dres_, g + at.offset[ln1w] + l * c1, g + at.offset[ln1b] + l * c1, dsmall_,
                       residual, p + at.offset[ln1w] + l * c1, ln1_mean_ + l * N, ln1_rstd_ + l * N,
                       N, C, stream_);
  }
  encoder_backward(g + at.offset[wte], g + at.offset[wpe], dres_, tokens_, B, T, C, stream_);
}

void GPT2::update(const OptimizerConfig& opt, float lr, int t) {
  if (shard_.sharded())
    throw std::logic_error(
        "GPT2::update on a ZeRO-1 shard: call sum_grad_squares(), all-reduce grad_norm_sq(), "
        "then adamw()");
  sum_grad_squares();
  adamw(opt, lr, t);
}

void GPT2::sum_grad_squares() {
  sum_squares(grad_norm_sq_, grads_ + shard_.begin, shard_.size(), false, stream_);
}

void GPT2::adamw(const OptimizerConfig& opt, float lr, int t) {
  // One launch per tensor piece, so weight decay follows the tensor; unsharded
  // these are the 16 whole tensors.
  for (const ShardSegment& s : shard_.segments) {
    const std::size_t local = s.begin - shard_.begin;
    adamw_update(params_ + local, params_bf16_ + s.begin, grads_ + s.begin, m_ + local, v_ + local,
                 s.size(), lr, opt.beta1, opt.beta2, opt.eps, s.decay ? opt.weight_decay : 0.0f, t,
                 grad_norm_sq_, opt.grad_clip, stream_);
  }
}

namespace {
template <class T>
std::vector<float> to_host(const T* device, std::size_t n, cudaStream_t stream) {
  std::vector<T> raw(n);
  CUDA_CHECK(cudaMemcpyAsync(raw.data(), device, n * sizeof(T), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = float(raw[i]);
  return out;
}
}  // namespace

std::vector<float> GPT2::params_host() const {
  if (shard_.sharded())
    throw std::logic_error("GPT2::params_host on a ZeRO-1 shard: use master_shard_host()");
  return to_host(params_, layout_.total, stream_);
}
std::vector<float> GPT2::master_shard_host() const {
  return to_host(params_, shard_.size(), stream_);
}
std::vector<float> GPT2::params_bf16_host() const {
  return to_host(params_bf16_, layout_.total, stream_);
}
std::vector<float> GPT2::grads_host() const {
  return to_host(grads_, layout_.total, stream_);
}
std::vector<float> GPT2::logits_host() const {
  return to_host(logits_, std::size_t(B_) * T_ * config_.padded_vocab, stream_);
}

}  // namespace speedrunner::cuda
