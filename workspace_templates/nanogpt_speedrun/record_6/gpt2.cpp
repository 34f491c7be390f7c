// GPT-2 forward, backward and update on one GPU (see gpt2.hpp).
#include "gpt2.hpp"

#include "common.cuh"

namespace speedrunner::cuda {

template <class T>
T* GPT2::alloc(std::size_t count) {
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, count * sizeof(T)));
  allocations_.push_back(p);
  bytes_ += count * sizeof(T);
  return static_cast<T*>(p);
}

GPT2::GPT2(const GPT2Config& config, int B, int T, std::uint64_t seed, cudaStream_t stream, Attention attention)
    : config_(config), layout_(config), B_(B), T_(T), stream_(stream),
      attention_(attention == Attention::flash && flash_attention_supported(config.head_size()) ? Attention::flash
                                                                                                : Attention::gemm) {
  const std::size_t L = config.layers, C = config.channels, NH = config.heads, Vp = config.padded_vocab;
  const std::size_t N = std::size_t(B) * T, NC = N * C;
  // Work space for the largest batch: L (4C, C) matrices, or 3L (C, C) ones (q, k, v).
  muon_ = std::make_unique<Muon>(3 * config.layers, 4 * C * C / 3, int(C));
  params_ = alloc<float>(layout_.total);
  grads_ = alloc<float>(layout_.total);
  m_ = alloc<float>(layout_.total);
  v_ = alloc<float>(layout_.total);
  params_bf16_ = alloc<bf16>(layout_.total);
  for (int p = 0; p < num_params; ++p)
    if (param_uses_muon(p)) {
      muon_offset_[p] = muon_total_;
      muon_total_ += (layout_.size[p] + ParamLayout::alignment - 1) / ParamLayout::alignment * ParamLayout::alignment;
    }
  muon_update_ = alloc<bf16>(muon_total_);
  for (int p = 0; p < num_params; ++p)
    if (param_uses_muon(p)) owned_[p] = alloc<int>(muon_matrix_count(p, config.layers));
  CUDA_CHECK(cudaMemsetAsync(m_, 0, layout_.total * sizeof(float), stream_));
  CUDA_CHECK(cudaMemsetAsync(v_, 0, layout_.total * sizeof(float), stream_));
  tokens_ = alloc<int>(N);
  targets_ = alloc<int>(N);
  encoded_ = alloc<bf16>(NC);
  norm1_ = alloc<bf16>(L * NC);
  qkv_ = alloc<bf16>(L * 3 * NC);
  atty_ = alloc<bf16>(L * NC);
  res2_ = alloc<bf16>(L * NC);
  norm2_ = alloc<bf16>(L * NC);
  fch_ = alloc<bf16>(L * 4 * NC);
  fch_act_ = alloc<bf16>(L * 4 * NC);
  qk_rstd_ = alloc<float>(L * N * 2 * NH);
  res3_ = alloc<bf16>(L * NC);
  norm1_rstd_ = alloc<float>(L * N);
  norm2_rstd_ = alloc<float>(L * N);
  normf_ = alloc<bf16>(NC);
  normf_rstd_ = alloc<float>(N);
  logits_ = alloc<bf16>(N * Vp);
  losses_ = alloc<float>(N);
  loss_sum_ = alloc<float>(1);
  if (attention_ == Attention::flash) {
    lse_ = alloc<float>(L * B * NH * T);
    row_dot_ = alloc<float>(std::size_t(B) * NH * T);
  } else {
    att_ = alloc<bf16>(L * B * NH * T * T);
    attn_scratch_ = alloc<bf16>(7 * NC);
    datt_ = alloc<bf16>(std::size_t(B) * NH * T * T);
  }
  dres_ = alloc<bf16>(NC);
  dsmall_ = alloc<bf16>(NC);
  dbig_ = alloc<bf16>(4 * NC);
  dqkv_ = alloc<bf16>(3 * NC);
  scratch_.partial_floats = scratch_partial_floats(int(N), int(C));
  scratch_.partials = alloc<float>(scratch_.partial_floats);
  scratch_.rows = alloc<int>(N);
  scratch_.sorted_tokens = alloc<int>(N);
  scratch_.sorted_rows = alloc<int>(N);
  while ((std::size_t(1) << scratch_.token_bits) < Vp) ++scratch_.token_bits;
  scratch_.sort_temp_bytes = scratch_sort_bytes(int(N), scratch_.token_bits);
  scratch_.sort_temp = alloc<char>(scratch_.sort_temp_bytes);
  scratch_fill_rows(scratch_.rows, int(N), stream_);
  std::vector<float> rope_host(std::size_t(config.max_seq) * config.head_size());
  rope_table(rope_host.data(), config.max_seq, config.head_size());
  rope_ = alloc<float>(rope_host.size());
  CUDA_CHECK(cudaMemcpy(rope_, rope_host.data(), rope_host.size() * sizeof(float), cudaMemcpyHostToDevice));
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
  CUDA_CHECK(cudaMemcpyAsync(params_, host, layout_.total * sizeof(float), cudaMemcpyHostToDevice, stream_));
  float_to_bf16(params_bf16_, params_, layout_.total, stream_);
  CUDA_CHECK(cudaStreamSynchronize(stream_));  // `host` may go away
}

void GPT2::zero_grad() { CUDA_CHECK(cudaMemsetAsync(grads_, 0, layout_.total * sizeof(float), stream_)); }
void GPT2::reset_loss() { CUDA_CHECK(cudaMemsetAsync(loss_sum_, 0, sizeof(float), stream_)); }

float GPT2::loss() {
  float value = 0;
  CUDA_CHECK(cudaMemcpyAsync(&value, loss_sum_, sizeof(float), cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  return value;
}

void GPT2::forward(const int* tokens, const int* targets, float dloss_scale) {
  const int B = B_, T = T_, C = config_.channels, NH = config_.heads, N = B * T;
  const std::size_t NC = std::size_t(N) * C, cc = std::size_t(C) * C;
  const ParamLayout& at = layout_;
  const bf16* p = params_bf16_;
  // The stream may still read the previous batch; pageable copies are staged, so the host buffer is free after.
  CUDA_CHECK(cudaMemcpyAsync(tokens_, tokens, N * sizeof(int), cudaMemcpyHostToDevice, stream_));
  if (targets != nullptr)
    CUDA_CHECK(cudaMemcpyAsync(targets_, targets, N * sizeof(int), cudaMemcpyHostToDevice, stream_));
  encoder_forward(encoded_, tokens_, p + at.offset[wte], B, T, C, stream_);
  for (int l = 0; l < config_.layers; ++l) {
    const bf16* residual = l == 0 ? encoded_ : res3_ + (l - 1) * NC;
    bf16* norm1 = norm1_ + l * NC;
    bf16* qkv = qkv_ + l * 3 * NC;
    bf16* atty = atty_ + l * NC;
    bf16* res2 = res2_ + l * NC;
    bf16* norm2 = norm2_ + l * NC;
    bf16* fch = fch_ + l * 4 * NC;
    bf16* fch_act = fch_act_ + l * 4 * NC;
    bf16* res3 = res3_ + l * NC;
    rmsnorm_forward(norm1, norm1_rstd_ + l * N, residual, N, C, stream_);
    matmul_forward(blas_, qkv, norm1, p + at.offset[qkvw] + l * 3 * cc, nullptr, N, C, 3 * C, stream_);
    qk_norm_forward(qkv, qk_rstd_ + std::size_t(l) * N * 2 * NH, B, T, NH, C / NH, stream_);
    rope_forward(qkv, rope_, B, T, NH, C / NH, stream_);
    if (attention_ == Attention::flash)
      flash_attention_forward(atty, lse_ + std::size_t(l) * B * NH * T, qkv, B, T, NH, C / NH, stream_);
    else
      attention_forward(blas_, atty, att_ + std::size_t(l) * B * NH * T * T, qkv, attn_scratch_, B, T, C, NH,
                        stream_);
    matmul_forward(blas_, res2, atty, p + at.offset[attprojw] + l * cc, residual, N, C, C, stream_);
    rmsnorm_forward(norm2, norm2_rstd_ + l * N, res2, N, C, stream_);
    matmul_forward(blas_, fch, norm2, p + at.offset[fcw] + l * 4 * cc, nullptr, N, C, 4 * C, stream_);
    relu2_forward(fch_act, fch, 4 * NC, stream_);
    matmul_forward(blas_, res3, fch_act, p + at.offset[fcprojw] + l * 4 * cc, res2, N, 4 * C, C, stream_);
  }
  rmsnorm_forward(normf_, normf_rstd_, res3_ + (config_.layers - 1) * NC, N, C, stream_);
  matmul_forward(blas_, logits_, normf_, p + at.offset[wte], nullptr, N, C, config_.padded_vocab, stream_);
  if (targets != nullptr) {
    softmax_cross_entropy(losses_, logits_, targets_, N, config_.vocab, config_.padded_vocab, dloss_scale, stream_);
    sum_scaled(loss_sum_, losses_, N, dloss_scale, true, scratch_, stream_);
  }
}

void GPT2::backward() {
  const int B = B_, T = T_, C = config_.channels, NH = config_.heads, N = B * T;
  const std::size_t NC = std::size_t(N) * C, cc = std::size_t(C) * C;
  const ParamLayout& at = layout_;
  const bf16* p = params_bf16_;
  float* g = grads_;
  matmul_backward(blas_, dsmall_, g + at.offset[wte], logits_, normf_, p + at.offset[wte], N, C,
                  config_.padded_vocab, stream_);
  CUDA_CHECK(cudaMemsetAsync(dres_, 0, NC * sizeof(bf16), stream_));
  rmsnorm_backward(dres_, dsmall_, res3_ + (config_.layers - 1) * NC, normf_rstd_, N, C, stream_);
  for (int l = config_.layers - 1; l >= 0; --l) {
    const bf16* residual = l == 0 ? encoded_ : res3_ + (l - 1) * NC;
    // MLP
    matmul_backward(blas_, dbig_, g + at.offset[fcprojw] + l * 4 * cc, dres_, fch_act_ + l * 4 * NC,
                    p + at.offset[fcprojw] + l * 4 * cc, N, 4 * C, C, stream_);
    relu2_backward(dbig_, fch_ + l * 4 * NC, dbig_, 4 * NC, stream_);
    matmul_backward(blas_, dsmall_, g + at.offset[fcw] + l * 4 * cc, dbig_, norm2_ + l * NC,
                    p + at.offset[fcw] + l * 4 * cc, N, C, 4 * C, stream_);
    rmsnorm_backward(dres_, dsmall_, res2_ + l * NC, norm2_rstd_ + l * N, N, C, stream_);
    // attention
    matmul_backward(blas_, dsmall_, g + at.offset[attprojw] + l * cc, dres_, atty_ + l * NC,
                    p + at.offset[attprojw] + l * cc, N, C, C, stream_);
    if (attention_ == Attention::flash)
      flash_attention_backward(dqkv_, row_dot_, dsmall_, atty_ + l * NC, qkv_ + l * 3 * NC,
                               lse_ + std::size_t(l) * B * NH * T, B, T, NH, C / NH, stream_);
    else
      attention_backward(blas_, dqkv_, datt_, attn_scratch_, dsmall_, qkv_ + l * 3 * NC,
                         att_ + std::size_t(l) * B * NH * T * T, B, T, C, NH, stream_);
    // The forward normalised q and k, then rotated them; qkv_ holds them rotated. A rotation
    // keeps norms and dot products, so the norm's backward on the rotated rows, then the
    // rotation's backward, is the same maths as the other order (and needs no unrotated copy).
    qk_norm_backward(dqkv_, qkv_ + l * 3 * NC, qk_rstd_ + std::size_t(l) * N * 2 * NH, B, T, NH, C / NH, stream_);
    rope_backward(dqkv_, rope_, B, T, NH, C / NH, stream_);
    matmul_backward(blas_, dsmall_, g + at.offset[qkvw] + l * 3 * cc, dqkv_, norm1_ + l * NC,
                    p + at.offset[qkvw] + l * 3 * cc, N, C, 3 * C, stream_);
    rmsnorm_backward(dres_, dsmall_, residual, norm1_rstd_ + l * N, N, C, stream_);
  }
  encoder_backward(g + at.offset[wte], dres_, tokens_, B, T, C, scratch_, stream_);
}

// The record's index of matrix k of Muon parameter p: layer l's q, k, v, attention output,
// MLP in and MLP out are 6l .. 6l+5 (the order of the blocks' parameters).
void GPT2::share_out_matrices(int rank, int world) {
  for (int p = 0; p < num_params; ++p) {
    if (!param_uses_muon(p)) continue;
    std::vector<int> mine;
    for (int k = 0; k < muon_matrix_count(p, config_.layers); ++k) {
      const int index = p == qkvw ? 6 * (k / 3) + k % 3 : 6 * k + (p == attprojw ? 3 : p == fcw ? 4 : 5);
      if (index % world == rank) mine.push_back(k);
    }
    owned_count_[p] = int(mine.size());
    if (!mine.empty())
      CUDA_CHECK(cudaMemcpy(owned_[p], mine.data(), mine.size() * sizeof(int), cudaMemcpyHostToDevice));
  }
  owner_rank_ = rank, owner_world_ = world;
}

void GPT2::update(const OptimizerConfig& opt, float lr, int t, const Distributed& dist) {
  if (dist.rank != owner_rank_ || dist.world != owner_world_) share_out_matrices(dist.rank, dist.world);
  const float muon_lr = lr * (opt.muon_lr / opt.lr);
  // This rank's matrices into the exchange buffer (zero elsewhere), summed over the ranks in bf16.
  CUDA_CHECK(cudaMemsetAsync(muon_update_, 0, muon_total_ * sizeof(bf16), stream_));
  for (int p = 0; p < num_params; ++p) {
    if (!param_uses_muon(p)) continue;
    // m_ holds Muon's momentum for these tensors (AdamW never sees them).
    const std::size_t o = layout_.offset[p];
    const auto [rows, cols] = muon_matrix_shape(p, config_.channels);
    muon_->orthogonalise(grads_ + o, m_ + o, owned_[p], owned_count_[p], rows, cols, opt.muon_momentum, opt.ns_steps,
                         muon_update_ + muon_offset_[p], stream_);
  }
  all_reduce_sum(dist, muon_update_, muon_total_, stream_);
  for (int p = 0; p < num_params; ++p) {
    const std::size_t o = layout_.offset[p];
    if (param_uses_muon(p))
      muon_apply(params_ + o, params_bf16_ + o, muon_update_ + muon_offset_[p], layout_.size[p], muon_lr, stream_);
    else
      adamw_update(params_ + o, params_bf16_ + o, grads_ + o, m_ + o, v_ + o, layout_.size[p], lr, opt.beta1,
                   opt.beta2, opt.eps, opt.weight_decay, t, stream_);
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

std::vector<float> GPT2::params_host() const { return to_host(params_, layout_.total, stream_); }
std::vector<float> GPT2::grads_host() const { return to_host(grads_, layout_.total, stream_); }
std::vector<float> GPT2::logits_host() const {
  return to_host(logits_, std::size_t(B_) * T_ * config_.padded_vocab, stream_);
}

}  // namespace speedrunner::cuda
