// Muon: momentum, then the update orthogonalised by Newton-Schulz iterations
// (X <- aX + b(XX^T)X + c(XX^T)^2 X, quintic, five steps) for the hidden 2-D
// weight matrices, shared out among the ranks (record 6): each rank orthogonalises
// its matrices, batched with cuBLAS, into a bf16 exchange buffer that an all-reduce
// completes on every rank. Host code.
#pragma once

#include "kernels.hpp"

#include <cublas_v2.h>
#include <cstddef>

namespace speedrunner::cuda {

// bf16 iterations (fp32 accumulation): the iteration tolerates the rounding and
// runs at twice the TF32 rate with half the memory traffic.
inline constexpr cudaDataType_t ns_data_type = CUDA_R_16BF;
inline constexpr cublasComputeType_t ns_compute_type = CUBLAS_COMPUTE_32F;

class Muon {
 public:
  // Work space for `batch` matrices of up to max_elements entries each, whose
  // smaller side is at most max_side.
  Muon(int batch, std::size_t max_elements, int max_side);
  ~Muon();
  Muon(const Muon&) = delete;
  Muon& operator=(const Muon&) = delete;

  // This rank's part of one parameter's step: for the `count` matrices listed in
  // `owned` (device memory, indices into the parameter's row-major (rows, cols)
  // matrices stored back to back): Nesterov momentum (in `momentum`; grads become the
  // look-ahead direction), orthogonalise, and write sqrt(max(rows, cols)) * the update,
  // rounded to bf16, at each matrix's place in `update`. At most `batch` matrices.
  void orthogonalise(float* grads, float* momentum, const int* owned, int count, int rows, int cols, float mu,
                     int ns_steps, bf16* update, cudaStream_t stream);

 private:
  void newton_schulz(int batch, int rows, int cols, int ns_steps, cudaStream_t stream);

  cublasHandle_t handle_ = nullptr;
  ns_t *x_ = nullptr, *y_ = nullptr, *gram_ = nullptr, *poly_ = nullptr;
  float* norms_sq_ = nullptr;
};

}  // namespace speedrunner::cuda
