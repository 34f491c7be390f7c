// The one CUDA translation unit of the trainer: every layer's kernels and
// launchers (declared for host code in kernels.hpp). One TU keeps nvcc's
// share of the build small.
#include "kernels.hpp"

#include <algorithm>
#include <cmath>

#include "adamw.cuh"
#include "attention.cuh"
#include "classifier.cuh"
#include "encoder.cuh"
#include "flash_attention.cuh"
#include "muon.cuh"
#include "qk_norm.cuh"
#include "reduce.cuh"
#include "relu2.cuh"
#include "rmsnorm.cuh"
#include "rope.cuh"

namespace speedrunner::cuda {

// The most partials any launcher needs for N rows of width C: sums take
// 4 * sm_count(), the embedding's backward pass its chunks.
std::size_t scratch_partial_floats(int N, int C) {
  return std::max({std::size_t(4 * sm_count()) * 256, encoder_backward_partials(N, C)});
}

}  // namespace speedrunner::cuda
