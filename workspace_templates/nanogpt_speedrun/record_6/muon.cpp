// Muon's Newton-Schulz iterations through batched cuBLAS GEMMs (see muon.hpp).
#include "muon.hpp"

#include "common.cuh"

#include <algorithm>
#include <cmath>

#include <utility>

namespace speedrunner::cuda {

namespace {
// Quintic Newton-Schulz coefficients chosen (by Muon's author) to push every
// singular value of the normalised update towards 1 in five steps.
constexpr float ns_a = 3.4445f, ns_b = -4.7750f, ns_c = 2.0315f;

void gemm(cublasHandle_t h, bool ta, bool tb, int m, int n, int k, float alpha, const ns_t* A, int lda,
          long long sa, const ns_t* B, int ldb, long long sb, float beta, ns_t* C, int ldc, long long sc, int batch) {
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k,
                                          &alpha, A, ns_data_type, lda, sa, B, ns_data_type, ldb, sb, &beta, C,
                                          ns_data_type, ldc, sc, batch, ns_compute_type, CUBLAS_GEMM_DEFAULT));
}
}  // namespace

Muon::Muon(int batch, std::size_t max_elements, int max_side) {
  CUBLAS_CHECK(cublasCreate(&handle_));
  const std::size_t big = std::size_t(batch) * max_elements, small = std::size_t(batch) * max_side * max_side;
  CUDA_CHECK(cudaMalloc(&x_, big * sizeof(ns_t)));
  CUDA_CHECK(cudaMalloc(&y_, big * sizeof(ns_t)));
  CUDA_CHECK(cudaMalloc(&gram_, small * sizeof(ns_t)));
  CUDA_CHECK(cudaMalloc(&poly_, small * sizeof(ns_t)));
  CUDA_CHECK(cudaMalloc(&norms_sq_, muon_norms_floats(batch) * sizeof(float)));
}

Muon::~Muon() {
  for (void* p : {static_cast<void*>(x_), static_cast<void*>(y_), static_cast<void*>(gram_),
                  static_cast<void*>(poly_), static_cast<void*>(norms_sq_)})
    cudaFree(p);
  cublasDestroy(handle_);
}

// Row-major X (r, c) is the column-major Xc = X^T (c, r), ld c. With s the
// smaller side, the Gram matrix A (s, s) is X X^T (wide) or X^T X (tall), and
// X <- aX + (bA + cA^2) X (wide) or aX + X (bA + cA^2) (tall); A is symmetric.
void Muon::newton_schulz(int batch, int rows, int cols, int ns_steps, cudaStream_t stream) {
  CUBLAS_CHECK(cublasSetStream(handle_, stream));
  const bool wide = rows <= cols;
  const int s = wide ? rows : cols;
  const long long big = (long long)rows * cols, small = (long long)s * s;
  for (int it = 0; it < ns_steps; ++it) {
    if (wide)
      gemm(handle_, true, false, s, s, cols, 1.0f, x_, cols, big, x_, cols, big, 0.0f, gram_, s, small, batch);
    else
      gemm(handle_, false, true, s, s, rows, 1.0f, x_, cols, big, x_, cols, big, 0.0f, gram_, s, small, batch);
    // poly = b A + c A A
    CUDA_CHECK(cudaMemcpyAsync(poly_, gram_, batch * small * sizeof(ns_t), cudaMemcpyDeviceToDevice, stream));
    gemm(handle_, false, false, s, s, s, ns_c, gram_, s, small, gram_, s, small, ns_b, poly_, s, small, batch);
    // y = a x + (poly x | x poly)
    CUDA_CHECK(cudaMemcpyAsync(y_, x_, batch * big * sizeof(ns_t), cudaMemcpyDeviceToDevice, stream));
    if (wide)
      gemm(handle_, false, false, cols, rows, rows, 1.0f, x_, cols, big, poly_, s, small, ns_a, y_, cols, big, batch);
    else
      gemm(handle_, false, false, cols, rows, cols, 1.0f, poly_, s, small, x_, cols, big, ns_a, y_, cols, big, batch);
    std::swap(x_, y_);
  }
}

void Muon::orthogonalise(float* grads, float* momentum, const int* owned, int count, int rows, int cols, float mu,
                         int ns_steps, bf16* update, cudaStream_t stream) {
  if (count == 0) return;
  const std::size_t per = std::size_t(rows) * cols;
  muon_momentum(momentum, grads, owned, count, per, mu, stream);
  muon_normalize(x_, grads, owned, norms_sq_, count, per, stream);
  newton_schulz(count, rows, cols, ns_steps, stream);
  // An orthogonal (rows, cols) update has entries of RMS about 1/sqrt(max side):
  // scaling by sqrt(max side) brings them to RMS 1.
  const float shape_scale = std::sqrt(float(std::max(rows, cols)));
  muon_scatter(update, x_, owned, count, per, shape_scale, stream);
}

}  // namespace speedrunner::cuda
