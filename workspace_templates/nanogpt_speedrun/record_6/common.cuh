// Check macros for the CUDA runtime and cuBLAS (NCCL's is in distributed.cpp): each failure reports the
// call's file and line and exits; the sticky CUDA error is cleared first so a
// later check does not report a stale failure.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

namespace speedrunner::cuda {

[[noreturn]] inline void die(const char* lib, const char* what, const char* file, int line) {
  std::fprintf(stderr, "[%s error] %s at %s:%d\n", lib, what, file, line);
  std::exit(EXIT_FAILURE);
}

inline void check_cuda(cudaError_t err, const char* file, int line) {
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky error
    die("CUDA", cudaGetErrorString(err), file, line);
  }
}

inline void check_cublas(cublasStatus_t status, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    (void)cudaGetLastError();
    die("cuBLAS", cublasGetStatusString(status), file, line);
  }
}

}  // namespace speedrunner::cuda

#define CUDA_CHECK(call) ::speedrunner::cuda::check_cuda((call), __FILE__, __LINE__)
// After a kernel launch: launch-configuration errors surface here.
#define CUBLAS_CHECK(call) ::speedrunner::cuda::check_cublas((call), __FILE__, __LINE__)
#define CUDA_CHECK_LAUNCH() ::speedrunner::cuda::check_cuda(cudaGetLastError(), __FILE__, __LINE__)
