// speedrun-gpu-info: lists the GPUs this process sees, with the facts the
// trainer depends on. Exits 77 (a skip to Meson) when there is none.
#include "common.cuh"

#include <cstdio>

int main() {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    std::printf("no CUDA device: %s\n",
                err == cudaSuccess ? "none found" : cudaGetErrorString(err));
    return 77;
  }
  int driver = 0, runtime = 0;
  CUDA_CHECK(cudaDriverGetVersion(&driver));
  CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  std::printf("driver %d.%d, runtime %d.%d, %d device(s)\n", driver / 1000, driver % 1000 / 10,
              runtime / 1000, runtime % 1000 / 10, count);
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p{};
    CUDA_CHECK(cudaGetDeviceProperties(&p, d));
    std::printf("  [%d] %s, sm_%d%d, %d SMs, %.1f GiB, L2 %.0f MiB\n", d, p.name, p.major, p.minor,
                p.multiProcessorCount, double(p.totalGlobalMem) / (1 << 30),
                double(p.l2CacheSize) / (1 << 20));
  }
  return 0;
}
