// cuBLASLt linear layers and batched-GEMM attention (see blas.hpp).
#include "blas.hpp"

#include "common.cuh"

#include <cmath>
#include <cstdint>
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
  cudaFree(scratch_);
  cudaFree(workspace_);
  cublasDestroy(handle_);
  cublasLtDestroy(lt_);
}

float* Blas::scratch(std::size_t n) {
  if (n > scratch_size_) {
    CUDA_CHECK(cudaDeviceSynchronize());  // the old buffer may still be in use
    CUDA_CHECK(cudaFree(scratch_));
    CUDA_CHECK(cudaMalloc(&scratch_, n * sizeof(float)));
    scratch_size_ = n;
  }
  return scratch_;
}

Blas::BiasGradPaths Blas::bias_grad_paths() const {
  BiasGradPaths paths;
  for (const auto& [key, entry] : algos_)
    if (key[12] != 0) ++(entry.first ? paths.epilogue : paths.fallback);
  return paths;
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

bool Blas::gemm(bool trans_a, bool trans_b, int m, int n, int k, const bf16* A, int lda,
                const bf16* B, int ldb, void* D, int ldd, bool d_fp32, float beta, const bf16* bias,
                const void* residual, cudaStream_t stream, Activation activation, bf16* aux,
                float* bias_grad) {
  if (activation != Activation::none &&
      (d_fp32 || residual != nullptr || aux == nullptr ||
       (activation == Activation::dgelu && bias != nullptr))) {
    std::fprintf(stderr, "Blas::gemm: a GELU epilogue needs a bf16 D, aux, no residual%s\n",
                 activation == Activation::dgelu ? " and no bias" : "");
    std::exit(EXIT_FAILURE);
  }
  if (bias_grad != nullptr && (bias != nullptr || activation != Activation::none)) {
    std::fprintf(stderr, "Blas::gemm: a bias gradient epilogue takes no bias or activation\n");
    std::exit(EXIT_FAILURE);
  }
  LtCall call;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&call.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                          op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  cublasLtEpilogue_t epilogue = bias != nullptr ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
  if (activation == Activation::gelu)
    epilogue = bias != nullptr ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX;
  else if (activation == Activation::dgelu)
    epilogue = CUBLASLT_EPILOGUE_DGELU;
  else if (bias_grad != nullptr)
    epilogue = CUBLASLT_EPILOGUE_BGRADB;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                              sizeof(epilogue)));
  if (bias != nullptr) {
    const cudaDataType_t bias_type = CUDA_R_16BF;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                                &bias_type, sizeof(bias_type)));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                sizeof(bias)));
  }
  if (bias_grad != nullptr) {
    const cudaDataType_t bias_type = CUDA_R_32F;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                                &bias_type, sizeof(bias_type)));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                &bias_grad, sizeof(bias_grad)));
  }
  if (activation != Activation::none) {
    const cudaDataType_t aux_type = CUDA_R_16BF;
    const std::int64_t aux_ld = ldd;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER,
                                                &aux, sizeof(aux)));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD,
                                                &aux_ld, sizeof(aux_ld)));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        call.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, &aux_type, sizeof(aux_type)));
  }
  const cudaDataType_t d_type = d_fp32 ? CUDA_R_32F : CUDA_R_16BF;
  CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&call.a, CUDA_R_16BF, trans_a ? k : m, trans_a ? m : k, lda));
  CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&call.b, CUDA_R_16BF, trans_b ? n : k, trans_b ? k : n, ldb));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&call.d, d_type, m, n, ldd));
  // The residual rides in as C (beta 1); otherwise C is D itself.
  const void* C = residual != nullptr ? residual : D;
  const float alpha = 1.0f, beta_used = residual != nullptr ? 1.0f : beta;

  const std::array<int, 13> key{trans_a, trans_b, m, n, k, lda, ldb, ldd, d_fp32, bias != nullptr,
                                beta_used != 0.0f, int(activation), bias_grad != nullptr};
  auto found = algos_.find(key);
  if (found == algos_.end()) {
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&call.pref));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(call.pref,
                                                      CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                      &workspace_bytes_, sizeof(workspace_bytes_)));
    cublasLtMatmulHeuristicResult_t result{};
    int count = 0;
    const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
        lt_, call.op, call.a, call.b, call.d, call.d, call.pref, 1, &result, &count);
    if (bias_grad != nullptr && (status != CUBLAS_STATUS_SUCCESS || count == 0)) {
      algos_.emplace(key, std::pair{false, cublasLtMatmulAlgo_t{}});  // the caller falls back
      return false;
    }
    CUBLAS_CHECK(status);
    if (count == 0) {
      std::fprintf(stderr,
                   "[cuBLASLt error] no algorithm for GEMM m=%d n=%d k=%d (lda %d ldb %d ldd %d)\n",
                   m, n, k, lda, ldb, ldd);
      std::exit(EXIT_FAILURE);
    }
    found = algos_.emplace(key, std::pair{true, result.algo}).first;
  }
  if (!found->second.first) return false;
  CUBLAS_CHECK(cublasLtMatmul(lt_, call.op, &alpha, A, call.a, B, call.b, &beta_used, C, call.d, D,
                              call.d, &found->second.second, workspace_, workspace_bytes_, stream));
  return true;
}

void Blas::gemm_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const bf16* A,
                        int lda, long long stride_a, const bf16* B, int ldb, long long stride_b,
                        bf16* D, int ldd, long long stride_d, int batch, cudaStream_t stream) {
  const float beta = 0.0f;
  CUBLAS_CHECK(cublasSetStream(handle_, stream));
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      handle_, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k,
      &alpha, A, CUDA_R_16BF, lda, stride_a, B, CUDA_R_16BF, ldb, stride_b, &beta, D, CUDA_R_16BF,
      ldd, stride_d, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// Row-major X (rows, cols) is column-major X^T: out^T (OC,N) = W (OC,IC) . inp^T (IC,N).
void matmul_forward(Blas& blas, bf16* out, const bf16* inp, const bf16* weight, const bf16* bias,
                    const bf16* residual, int N, int IC, int OC, cudaStream_t stream,
                    bf16* gelu_pre) {
  blas.gemm(true, false, OC, N, IC, weight, IC, inp, IC, out, OC, false, 0.0f, bias, residual,
            stream, gelu_pre != nullptr ? Blas::Activation::gelu : Blas::Activation::none,
            gelu_pre);
}

void matmul_backward(Blas& blas, bf16* dinp, float* dweight, float* dbias, const bf16* dout,
                     const bf16* inp, const bf16* weight, int N, int IC, int OC,
                     cudaStream_t stream, const bf16* gelu_pre) {
  // dinp^T (IC,N) = W^T (IC,OC) . dout^T (OC,N) [* GELU'(gelu_pre)]; cuBLASLt only reads aux here.
  blas.gemm(false, false, IC, N, OC, weight, IC, dout, OC, dinp, IC, false, 0.0f, nullptr, nullptr,
            stream, gelu_pre != nullptr ? Blas::Activation::dgelu : Blas::Activation::none,
            const_cast<bf16*>(gelu_pre));
  // dW^T (IC,OC) += inp^T (IC,N) . dout (N,OC); the epilogue sums dout's columns on the way
  // (into scratch: it overwrites, and dbias accumulates), where cuBLASLt can.
  float* sums = dbias != nullptr ? blas.scratch(OC) : nullptr;
  if (dbias != nullptr && blas.gemm(false, true, IC, OC, N, inp, IC, dout, OC, dweight, IC, true,
                                    1.0f, nullptr, nullptr, stream, Blas::Activation::none,
                                    nullptr, sums)) {
    accumulate(dbias, sums, OC, stream);
    return;
  }
  blas.gemm(false, true, IC, OC, N, inp, IC, dout, OC, dweight, IC, true, 1.0f, nullptr, nullptr,
            stream);
  if (dbias != nullptr) bias_backward(dbias, dout, N, OC, stream);
}

// Per head, row-major: scores (T,T) = scale q k^T, y (T,HS) = att v. In
// column-major terms: scores^T = k . q^T, y^T = v^T . att^T.
void attention_forward(Blas& blas, bf16* out, bf16* att, const bf16* qkv, bf16* scratch, int B,
                       int T, int C, int NH, cudaStream_t stream) {
  const int HS = C / NH, heads = B * NH;
  const std::size_t BTC = std::size_t(B) * T * C;
  bf16 *q = scratch, *k = scratch + BTC, *v = scratch + 2 * BTC, *y = scratch + 3 * BTC;
  const long long head = (long long)T * HS, square = (long long)T * T;
  attention_split_heads(q, k, v, qkv, B, T, NH, HS, stream);
  blas.gemm_batched(true, false, T, T, HS, 1.0f / std::sqrt(float(HS)), k, HS, head, q, HS, head,
                    att, T, square, heads, stream);
  causal_softmax_forward(att, heads * T, T, stream);
  blas.gemm_batched(false, false, HS, T, T, 1.0f, v, HS, head, att, T, square, y, HS, head, heads,
                    stream);
  attention_merge_heads(out, y, B, T, NH, HS, stream);
}

void attention_backward(Blas& blas, bf16* dqkv, bf16* datt, bf16* scratch, const bf16* dout,
                        const bf16* qkv, const bf16* att, int B, int T, int C, int NH,
                        cudaStream_t stream) {
  const int HS = C / NH, heads = B * NH;
  const std::size_t BTC = std::size_t(B) * T * C;
  bf16 *q = scratch, *k = scratch + BTC, *v = scratch + 2 * BTC, *dy = scratch + 3 * BTC;
  bf16 *dq = scratch + 4 * BTC, *dk = scratch + 5 * BTC, *dv = scratch + 6 * BTC;
  const long long head = (long long)T * HS, square = (long long)T * T;
  attention_split_heads(q, k, v, qkv, B, T, NH, HS, stream);
  attention_merge_heads_backward(dy, dout, B, T, NH, HS, stream);
  // datt (T,T) = dy v^T  ->  datt^T = v . dy^T
  blas.gemm_batched(true, false, T, T, HS, 1.0f, v, HS, head, dy, HS, head, datt, T, square, heads,
                    stream);
  // dv (T,HS) = att^T dy  ->  dv^T = dy^T . att
  blas.gemm_batched(false, true, HS, T, T, 1.0f, dy, HS, head, att, T, square, dv, HS, head, heads,
                    stream);
  causal_softmax_backward(datt, att, heads * T, T, 1.0f / std::sqrt(float(HS)), stream);
  // dq (T,HS) = dscores k  ->  dq^T = k^T . dscores^T
  blas.gemm_batched(false, false, HS, T, T, 1.0f, k, HS, head, datt, T, square, dq, HS, head, heads,
                    stream);
  // dk (T,HS) = dscores^T q  ->  dk^T = q^T . dscores
  blas.gemm_batched(false, true, HS, T, T, 1.0f, q, HS, head, datt, T, square, dk, HS, head, heads,
                    stream);
  attention_split_heads_backward(dqkv, dq, dk, dv, B, T, NH, HS, stream);
}

}  // namespace speedrunner::cuda
