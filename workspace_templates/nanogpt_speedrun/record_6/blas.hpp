// The GEMM-based layers: linear layers through cuBLASLt (an output scale and
// the residual add fused in), and causal attention as batched GEMMs around our
// softmax kernels. Host code (the host C++ compiler builds it).
#pragma once

#include "kernels.hpp"

#include <array>
#include <cublasLt.h>
#include <cublas_v2.h>
#include <map>

namespace speedrunner::cuda {

// Handles, a workspace, and the cuBLASLt algorithm picked for each GEMM shape.
class Blas {
 public:
  Blas();
  ~Blas();
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;

  // Column-major D (m,n; ldd) = alpha op(A) op(B) + beta * D [+ residual (m,n;
  // ldd), when not null]. A and B are bf16; D is bf16 or (d_fp32) fp32, and so
  // is the residual.
  void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const bf16* A, int lda, const bf16* B,
            int ldb, void* D, int ldd, bool d_fp32, float beta, const void* residual, cudaStream_t stream);

  // Strided batched bf16 GEMM (attention), column-major, alpha scaling.
  void gemm_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const bf16* A, int lda,
                    long long stride_a, const bf16* B, int ldb, long long stride_b, bf16* D, int ldd,
                    long long stride_d, int batch, cudaStream_t stream);

 private:
  cublasLtHandle_t lt_ = nullptr;
  cublasHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 32u << 20;
  std::map<std::array<int, 10>, cublasLtMatmulAlgo_t> algos_;
};

// Linear layer without bias, row-major: out (N,OC) = scale * inp (N,IC) . weight (OC,IC)^T [+ residual (N,OC)].
void matmul_forward(Blas& blas, bf16* out, const bf16* inp, const bf16* weight, const bf16* residual, int N,
                    int IC, int OC, cudaStream_t stream, float scale = 1.0f);
// Its backward pass for dout (N,OC): dinp (N,IC) = scale * dout . weight
// (overwritten); dweight (OC,IC) += scale * dout^T . inp in fp32.
void matmul_backward(Blas& blas, bf16* dinp, float* dweight, const bf16* dout, const bf16* inp, const bf16* weight,
                     int N, int IC, int OC, cudaStream_t stream, float scale = 1.0f);

// Causal self-attention. qkv (B,T,3C) -> out (B,T,C); att (B,NH,T,T) keeps the
// probabilities for the backward pass. scratch holds 4*B*T*C bf16.
void attention_forward(Blas& blas, bf16* out, bf16* att, const bf16* qkv, bf16* scratch, int B, int T, int C,
                       int NH, cudaStream_t stream);
// dqkv (B,T,3C) overwritten; datt (B,NH,T,T) and scratch (7*B*T*C) are work space.
void attention_backward(Blas& blas, bf16* dqkv, bf16* datt, bf16* scratch, const bf16* dout, const bf16* qkv,
                        const bf16* att, int B, int T, int C, int NH, cudaStream_t stream);

}  // namespace speedrunner::cuda
