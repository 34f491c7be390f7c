// AdamW on fp32 master weights, refreshing their bf16 copy.
#pragma once

#include "common.cuh"
#include "device.cuh"

namespace speedrunner::cuda {

__global__ void adamw_kernel(float* params, bf16* params_bf16, const float* grads, float* m, float* v,
                             std::size_t n, float lr, float beta1, float beta2, float correction1,
                             float correction2, float eps, float weight_decay) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x) {
    const float g = grads[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float p = params[i] - lr * ((mi / correction1) / (sqrtf(vi / correction2) + eps) + weight_decay * params[i]);
    params[i] = p;
    params_bf16[i] = __float2bfloat16(p);
  }
}

void adamw_update(float* params, bf16* params_bf16, const float* grads, float* m, float* v, std::size_t n,
                  float lr, float beta1, float beta2, float eps, float weight_decay, int t,
                  cudaStream_t stream) {
  const float c1 = 1.0f - float(std::pow(double(beta1), t)), c2 = 1.0f - float(std::pow(double(beta2), t));
  const int grid = std::min(ceil_div(n, 256), 8 * sm_count());
  adamw_kernel<<<grid, 256, 0, stream>>>(params, params_bf16, grads, m, v, n, lr, beta1, beta2, c1, c2, eps,
                                         weight_decay);
  CUDA_CHECK_LAUNCH();
}

}  // namespace speedrunner::cuda
