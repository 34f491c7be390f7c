// cuBLASLt linear layers and batched-GEMM attention (see blas.hpp).
#include "blas.hpp"

#include "common.cuh"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace speedrunner::cuda {

Blas::Blas() {
  CUBLAS_CHECK(cublasLtCreate(&lt_));
  CUBLAS_CHECK(cublasCreate(&handle_));
  CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
  CUBLAS_CHECK(cublasSetWorkspace(handle_, workspace_, workspace_bytes_));
}

Blas::~Blas() {
  cudaFree(workspace_);
  cublasDestroy(handle_);
  cublasLtDestroy(lt_);
}

namespace {

// RAII for the cuBLASLt descriptors of one call.
struct LtCall {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtCall() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

}  // namespace

void Blas::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const bf16* A, int lda, const bf16* B,
                int ldb, void* D, int ldd, bool d_fp32, float beta, const void* residual, cudaStream_t stream) {
  LtCall call;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&call.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  const cudaDataType_t d_type = d_fp32 ? CUDA_R_32F : CUDA_R_16BF;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&call.a, CUDA_R_16BF, trans_a ? k : m, trans_a ? m : k, lda));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&call.b, CUDA_R_16BF, trans_b ? n : k, trans_b ? k : n, ldb));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&call.d, d_type, m, n, ldd));
  // The residual rides in as C (beta 1); otherwise C is D itself.
  const void* C = residual != nullptr ? residual : D;
  const float beta_used = residual != nullptr ? 1.0f : beta;

  const std::array<int, 10> key{trans_a, trans_b, m, n, k, lda, ldb, ldd, d_fp32, beta_used != 0.0f};
  auto found = algos_.find(key);
  if (found == algos_.end()) {
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&call.pref));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(call.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                      &workspace_bytes_, sizeof(workspace_bytes_)));
    cublasLtMatmulHeuristicResult_t result{};
    int count = 0;
    CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(lt_, call.op, call.a, call.b, call.d, call.d, call.pref, 1, &result,
                                                &count));
    if (count == 0) {
      std::fprintf(stderr, "[cuBLASLt error] no algorithm for GEMM m=%d n=%d k=%d (lda %d ldb %d ldd %d)\n", m, n, k,
                   lda, ldb, ldd);
      std::exit(EXIT_FAILURE);
    }
    found = algos_.emplace(key, result.algo).first;
  }
  CUBLAS_CHECK(cublasLtMatmul(lt_, call.op, &alpha, A, call.a, B, call.b, &beta_used, C, call.d, D, call.d,
                              &found->second, workspace_, workspace_bytes_, stream));
}

void Blas::gemm_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const bf16* A, int lda,
                        long long stride_a, const bf16* B, int ldb, long long stride_b, bf16* D, int ldd,
                        long long stride_d, int batch, cudaStream_t stream) {
  const float beta = 0.0f;
  CUBLAS_CHECK(cublasSetStream(handle_, stream));
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(handle_, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, A, CUDA_R_16BF, lda,
                                          stride_a, B, CUDA_R_16BF, ldb, stride_b, &beta, D, CUDA_R_16BF, ldd,
                                          stride_d, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// Row-major X (rows, cols) is column-major X^T: out^T (OC,N) = W (OC,IC) . inp^T (IC,N).
void matmul_forward(Blas& blas, bf16* out, const bf16* inp, const bf16* weight, const bf16* residual, int N,
                    int IC, int OC, cudaStream_t stream, float scale) {
  blas.gemm(true, false, OC, N, IC, scale, weight, IC, inp, IC, out, OC, false, 0.0f, residual, stream);
}

void matmul_backward(Blas& blas, bf16* dinp, float* dweight, const bf16* dout, const bf16* inp, const bf16* weight,
                     int N, int IC, int OC, cudaStream_t stream, float scale) {
  // dinp^T (IC,N) = scale W^T (IC,OC) . dout^T (OC,N)
  blas.gemm(false, false, IC, N, OC, scale, weight, IC, dout, OC, dinp, IC, false, 0.0f, nullptr, stream);
  // dW^T (IC,OC) += scale inp^T (IC,N) . dout (N,OC)
  blas.gemm(false, true, IC, OC, N, scale, inp, IC, dout, OC, dweight, IC, true, 1.0f, nullptr, stream);
}

// Per head, row-major: scores (T,T) = scale q k^T, y (T,HS) = att v. In
// column-major terms: scores^T = k . q^T, y^T = v^T . att^T.
void attention_forward(Blas& blas, bf16* out, bf16* att, const bf16* qkv, bf16* scratch, int B, int T, int C,
                       int NH, cudaStream_t stream) {
  const int HS = C / NH, heads = B * NH;
  const std::size_t BTC = std::size_t(B) * T * C;
  bf16 *q = scratch, *k = scratch + BTC, *v = scratch + 2 * BTC, *y = scratch + 3 * BTC;
  const long long head = (long long)T * HS, square = (long long)T * T;
  attention_split_heads(q, k, v, qkv, B, T, NH, HS, stream);
  blas.gemm_batched(true, false, T, T, HS, 1.0f / std::sqrt(float(HS)), k, HS, head, q, HS, head, att, T, square,
                    heads, stream);
  causal_softmax_forward(att, heads * T, T, stream);
  blas.gemm_batched(false, false, HS, T, T, 1.0f, v, HS, head, att, T, square, y, HS, head, heads, stream);
  attention_merge_heads(out, y, B, T, NH, HS, stream);
}

void attention_backward(Blas& blas, bf16* dqkv, bf16* datt, bf16* scratch, const bf16* dout, const bf16* qkv,
                        const bf16* att, int B, int T, int C, int NH, cudaStream_t stream) {
  const int HS = C / NH, heads = B * NH;
  const std::size_t BTC = std::size_t(B) * T * C;
  bf16 *q = scratch, *k = scratch + BTC, *v = scratch + 2 * BTC, *dy = scratch + 3 * BTC;
  bf16 *dq = scratch + 4 * BTC, *dk = scratch + 5 * BTC, *dv = scratch + 6 * BTC;
  const long long head = (long long)T * HS, square = (long long)T * T;
  attention_split_heads(q, k, v, qkv, B, T, NH, HS, stream);
  attention_merge_heads_backward(dy, dout, B, T, NH, HS, stream);
  // datt (T,T) = dy v^T  ->  datt^T = v . dy^T
  blas.gemm_batched(true, false, T, T, HS, 1.0f, v, HS, head, dy, HS, head, datt, T, square, heads, stream);
  // dv (T,HS) = att^T dy  ->  dv^T = dy^T . att
  blas.gemm_batched(false, true, HS, T, T, 1.0f, dy, HS, head, att, T, square, dv, HS, head, heads, stream);
  causal_softmax_backward(datt, att, heads * T, T, 1.0f / std::sqrt(float(HS)), stream);
  // dq (T,HS) = dscores k  ->  dq^T = k^T . dscores^T
  blas.gemm_batched(false, false, HS, T, T, 1.0f, k, HS, head, datt, T, square, dq, HS, head, heads, stream);
  // dk (T,HS) = dscores^T q  ->  dk^T = q^T . dscores
  blas.gemm_batched(false, true, HS, T, T, 1.0f, q, HS, head, datt, T, square, dk, HS, head, heads, stream);
  attention_split_heads_backward(dqkv, dq, dk, dv, B, T, NH, HS, stream);
}

}  // namespace speedrunner::cuda
