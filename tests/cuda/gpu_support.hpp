// Helpers of the GPU tests: device buffers poisoned before each run (NaN
// bytes, so an unwritten element fails the check), bf16 round trips, random
// inputs and the relative error ||gpu - ref|| / ||ref||.
#pragma once

#include "common.cuh"
#include "kernels.hpp"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace speedrunner::cuda::testing {

inline float round_bf16(float x) {
  return __bfloat162float(__float2bfloat16(x));
}

inline std::vector<float> random_vector(std::size_t n, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = round_bf16(dist(rng));  // exactly representable on both sides
  return v;
}

inline std::vector<int> random_ints(std::size_t n, int bound, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(0, bound - 1);
  std::vector<int> v(n);
  for (int& x : v) x = dist(rng);
  return v;
}

template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t n) : n_(n) {
    CUDA_CHECK(cudaMalloc(&ptr_, n * sizeof(T)));
    poison();
  }
  explicit DeviceBuffer(const std::vector<float>& host) : DeviceBuffer(host.size()) {
    upload(host);
  }
  explicit DeviceBuffer(const std::vector<int>& host) : DeviceBuffer(host.size()) {
    CUDA_CHECK(cudaMemcpy(ptr_, host.data(), host.size() * sizeof(int), cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void poison() { CUDA_CHECK(cudaMemset(ptr_, 0xFF, n_ * sizeof(T))); }  // NaN in bf16 and fp32
  void upload(const std::vector<float>& host) {
    std::vector<T> raw(host.size());
    for (std::size_t i = 0; i < host.size(); ++i) raw[i] = T(host[i]);
    CUDA_CHECK(cudaMemcpy(ptr_, raw.data(), raw.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  [[nodiscard]] std::vector<float> download() const {
    CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> raw(n_);
    CUDA_CHECK(cudaMemcpy(raw.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    std::vector<float> out(n_);
    for (std::size_t i = 0; i < n_; ++i) out[i] = float(raw[i]);
    return out;
  }
  T* get() { return ptr_; }
  operator T*() { return ptr_; }

 private:
  T* ptr_ = nullptr;
  std::size_t n_;
};

// Relative error; infinity when any element is not finite (an unwritten, poisoned one).
template <class A, class B>
double rel_error(const std::vector<A>& gpu, const std::vector<B>& ref) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(double(gpu[i]))) return INFINITY;
    diff += (double(gpu[i]) - double(ref[i])) * (double(gpu[i]) - double(ref[i]));
    norm += double(ref[i]) * double(ref[i]);
  }
  return std::sqrt(diff / std::max(norm, 1e-300));
}

inline std::vector<double> to_double(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

}  // namespace speedrunner::cuda::testing
