// Entry point of the GPU test executables: exits 77 (Meson's "skipped") when no
// CUDA device is visible, otherwise runs Catch2 through the shared runner
// (tests/main.cpp, compiled with its main renamed).
#include <cuda_runtime.h>
#include <cstdio>

int speedrunner_catch_main(int argc, char* argv[]);

int main(int argc, char* argv[]) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: GPU tests skipped\n");
    return 77;
  }
  return speedrunner_catch_main(argc, argv);
}
