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
#include "layernorm.cuh"
#include "matmul.cuh"
#include "reduce.cuh"
