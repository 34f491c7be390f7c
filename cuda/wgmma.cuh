// Hopper warpgroup MMAs (wgmma, sm_90a): one 64 x 64 x 16 bf16 product per
// instruction for the four warps of a warpgroup, B (and optionally A) read
// straight from shared memory through a matrix descriptor, fp32 accumulators in
// the layout of mma.sync's m16n8 tiles (warp w: rows 16w..16w+15).
// Shared tiles use the unswizzled "core matrix" layout: 8 rows x 16 bytes
// stored as one contiguous 128-byte block, blocks ordered column-block fastest.
// The same bytes serve as a K-major operand (rows = M or N, columns = K) or an
// MN-major one (rows = K, columns = M or N), with the descriptor's two strides
// swapped, so one copy of a tile feeds products in both orientations.
#pragma once

#include "common.cuh"

#include <cstdint>

namespace speedrunner::cuda::wg {

// Element offset of (row r, column c) in a core-matrix tile with `Cols` columns.
template <int Cols>
__device__ inline int core_index(int r, int c) {
  return ((r >> 3) * (Cols / 8) + (c >> 3)) * 64 + (r & 7) * 8 + (c & 7);
}

// Descriptor of an operand starting at `p`: lbo = bytes between core matrices along K,
// sbo = bytes between core matrices along M/N; no swizzle, base offset 0.
__device__ inline std::uint64_t descriptor(const bf16* p, std::uint32_t lbo, std::uint32_t sbo) {
  const auto a = static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
  return std::uint64_t((a & 0x3FFFF) >> 4) | (std::uint64_t((lbo >> 4) & 0x3FFF) << 16) |
         (std::uint64_t((sbo >> 4) & 0x3FFF) << 32);
}

// A 64-column tile (64 x 64 bf16, 8 KiB) seen as an operand whose rows are M/N and columns K
// (K-major), k-step kk (columns 16kk..16kk+15).
__device__ inline std::uint64_t k_major(const bf16* tile, int kk) {
  return descriptor(tile + kk * 128, 128, 1024);
}
// The same tile seen with rows K and columns M/N (MN-major), k-step kk (rows 16kk..).
__device__ inline std::uint64_t mn_major(const bf16* tile, int kk) {
  return descriptor(tile + kk * 1024, 1024, 128);
}

__device__ inline void fence() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ inline void commit() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
template <int Pending>
__device__ inline void wait() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(Pending) : "memory");
#endif
}
// Shared memory written by ordinary stores (or cp.async) becomes visible to wgmma's
// async proxy: each writer fences, then the block synchronises.
__device__ inline void fence_shared_for_async() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}
// Keeps the compiler from moving reads or writes of accumulators across wgmma
// issue and wait points (the asm statements of those carry no register operands).
__device__ inline void fence_operands(float (&d)[8][4]) {
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+f"(d[i][e])::"memory");
}

#define SPEEDRUN_WG_D32                                                                      \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, " \
  "%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define SPEEDRUN_WG_D32_OUT(d)                                                                \
  "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]),  \
      "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]),             \
      "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]),             \
      "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]),             \
      "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]),             \
      "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])

// d (64 x 64, fp32) (+)= A (64 x 16, this warp's fragment in registers, as mma.sync's
// m16n8k16 A) * B (16 x 64 from `b`); TransB 0: B's tile is K-major, 1: MN-major.
template <int TransB>
__device__ inline void mma_rs(float (&d)[8][4], const std::uint32_t (&a)[4], std::uint64_t b,
                              bool accumulate) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " SPEEDRUN_WG_D32
      ", {%32, %33, %34, %35}, %36, p, 1, 1, %38;\n}\n"
      : SPEEDRUN_WG_D32_OUT(d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(int(accumulate)), "n"(TransB));
#else
  (void)d, (void)a, (void)b, (void)accumulate;
  __trap();
#endif
}

// d (64 x 64) (+)= A (64 x 16 from `a`) * B (16 x 64 from `b`), both from shared memory.
template <int TransA, int TransB>
__device__ inline void mma_ss(float (&d)[8][4], std::uint64_t a, std::uint64_t b, bool accumulate) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " SPEEDRUN_WG_D32
      ", %32, %33, p, 1, 1, %35, %36;\n}\n"
      : SPEEDRUN_WG_D32_OUT(d)
      : "l"(a), "l"(b), "r"(int(accumulate)), "n"(TransA), "n"(TransB));
#else
  (void)d, (void)a, (void)b, (void)accumulate;
  __trap();
#endif
}

#undef SPEEDRUN_WG_D32
#undef SPEEDRUN_WG_D32_OUT

}  // namespace speedrunner::cuda::wg
