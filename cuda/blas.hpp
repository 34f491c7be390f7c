// The GEMM-based layers: linear layers through cuBLASLt (bias and residual
// fused into the epilogue), and causal attention as batched GEMMs around our
// softmax kernels. Host code (the host C++ compiler builds it).
#pragma once

#include "kernels.hpp"

#include <cublasLt.h>
#include <cublas_v2.h>
#include <array>
#include <map>
#include <utility>

namespace speedrunner::cuda {

// Handles, a workspace, and the cuBLASLt algorithm picked for each GEMM shape.
class Blas {
 public:
  Blas();
  ~Blas();
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;

  // Column-major D (m,n; ldd) = op(A) op(B) + beta * D [+ bias (m), broadcast
  // over columns] [+ residual (m,n; ldd), when not null]. A and B are bf16; D
  // is bf16 or (d_fp32) fp32, and so is the residual. An activation other than
  // none needs a bf16 D, no residual and aux (m,n; ldd, bf16): gelu writes the
  // pre-activation to aux and GELU of it (tanh form) to D; dgelu multiplies the
  // product by GELU's derivative at aux (no bias). With bias_grad (fp32, n, no
  // bias), the epilogue also writes there the sums of op(B) over k; when
  // cuBLASLt has no algorithm for that, gemm does nothing and returns false.
  enum class Activation { none, gelu, dgelu };
  bool gemm(bool trans_a, bool trans_b, int m, int n, int k, const bf16* A, int lda, const bf16* B,
            int ldb, void* D, int ldd, bool d_fp32, float beta, const bf16* bias,
            const void* residual, cudaStream_t stream, Activation activation = Activation::none,
            bf16* aux = nullptr, float* bias_grad = nullptr);

  // fp32 work space of at least n elements, owned by this object (grown on first need).
  float* scratch(std::size_t n);

  // Of the GEMM shapes asked for a bias gradient so far: how many cuBLASLt serves with its
  // epilogue, and how many fell back (matmul_backward then sums the columns itself).
  struct BiasGradPaths {
    int epilogue = 0, fallback = 0;
  };
  [[nodiscard]] BiasGradPaths bias_grad_paths() const;

  // Strided batched bf16 GEMM (attention), column-major, alpha scaling.
  void gemm_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const bf16* A,
                    int lda, long long stride_a, const bf16* B, int ldb, long long stride_b,
                    bf16* D, int ldd, long long stride_d, int batch, cudaStream_t stream);

 private:
  cublasLtHandle_t lt_ = nullptr;
  cublasHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 32u << 20;
  std::map<std::array<int, 13>, std::pair<bool, cublasLtMatmulAlgo_t>> algos_;  // found?, algo
  float* scratch_ = nullptr;
  std::size_t scratch_size_ = 0;
};

// Linear layer, row-major: out (N,OC) = inp (N,IC) . weight (OC,IC)^T + bias (OC) [+ residual
// (N,OC)]. With gelu_pre (N,OC), no residual: gelu_pre gets that sum and out GELU of it.
void matmul_forward(Blas& blas, bf16* out, const bf16* inp, const bf16* weight, const bf16* bias,
                    const bf16* residual, int N, int IC, int OC, cudaStream_t stream,
                    bf16* gelu_pre = nullptr);
// dinp (N,IC) = dout . weight (overwritten); dweight (OC,IC) += dout^T . inp and
// dbias (OC) += column sums of dout, both fp32; dbias may be null. With gelu_pre
// (N,IC), inp was GELU of it and dinp is the gradient at gelu_pre instead.
void matmul_backward(Blas& blas, bf16* dinp, float* dweight, float* dbias, const bf16* dout,
                     const bf16* inp, const bf16* weight, int N, int IC, int OC,
                     cudaStream_t stream, const bf16* gelu_pre = nullptr);

// Causal self-attention. qkv (B,T,3C) -> out (B,T,C); att (B,NH,T,T) keeps the
// probabilities for the backward pass. scratch holds 4*B*T*C bf16.
void attention_forward(Blas& blas, bf16* out, bf16* att, const bf16* qkv, bf16* scratch, int B,
                       int T, int C, int NH, cudaStream_t stream);
// dqkv (B,T,3C) overwritten; datt (B,NH,T,T) and scratch (7*B*T*C) are work space.
void attention_backward(Blas& blas, bf16* dqkv, bf16* datt, bf16* scratch, const bf16* dout,
                        const bf16* qkv, const bf16* att, int B, int T, int C, int NH,
                        cudaStream_t stream);

}  // namespace speedrunner::cuda
