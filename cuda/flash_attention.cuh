// Fused causal attention (flash-style): scores and probabilities live only in
// registers, never in device memory. Tiles of 64 queries x 64 keys, one warp
// per 16 rows, bf16 tensor-core MMAs (mma.sync m16n8k16, operands through
// ldmatrix) with fp32 accumulators and an online softmax; tiles stream into
// shared memory by cp.async, two deep. The forward pass keeps the row
// log-sum-exp; the backward pass recomputes the probabilities in one kernel per
// key tile, which keeps dK and dV in registers and adds each tile pair's share of
// dQ into an fp32 accumulator by atomics (so dQ's summation order, and its last
// bits, vary from run to run).
// q, k, v are read straight from the qkv projection (B,T,3C) and the results
// written in (B,T,C) / (B,T,3C) layout, so no head split/merge passes either.
#pragma once

#include "common.cuh"
#include "device.cuh"
#include "wgmma.cuh"

#include <cstdint>

namespace speedrunner::cuda {
namespace flash {

constexpr int tile = 64;      // queries or keys per block
constexpr int threads = 128;  // 4 warps x 16 rows
constexpr int pad = 8;        // bf16 per shared row against bank conflicts
// Blocks a multiprocessor should hold at once: the kernels are latency-bound, so
// __launch_bounds__ caps their registers to fit this many (forward 130 -> 128; backward
// 246 -> 168, with K and V read from shared memory instead of held in registers). On an H200
// at batch 32 this took the forward from 0.397 to 0.356 ms a layer and the backward from 1.205
// to 1.029 ms (bench/NOTES.md variant 10).
constexpr int forward_blocks = 4;
constexpr int backward_blocks = 3;

__device__ inline std::uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<std::uint32_t*>(&v);
}

__device__ inline std::uint32_t load32(const bf16* p) {
  return *reinterpret_cast<const std::uint32_t*>(p);
}

// Four 8x8 bf16 matrices from shared memory; lane l gives the address of row
// l%8 of matrix l/8. Plain: lane (g,t) receives M[g][2t..2t+1]; .trans: the
// transpose, {M[2t][g], M[2t+1][g]} - the B operand of a row-major (k, n) tile.
__device__ inline void ldsm_x4(std::uint32_t (&r)[4], const bf16* p) {
  const auto a = static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}
__device__ inline void ldsm_x4_trans(std::uint32_t (&r)[4], const bf16* p) {
  const auto a = static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}

// 16 bytes global -> shared without passing through registers; bytes = 0 writes zeros.
__device__ inline void cp_async16(bf16* dst, const bf16* src, int bytes) {
  const auto d = static_cast<std::uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(bytes));
}
__device__ inline void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int pending>
__device__ inline void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(pending));
}

// d (16x8 fp32) += a (16x16 bf16, row-major) * b (16x8 bf16, column-major)
__device__ inline void mma(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0,
                           std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The A operand of 16 rows, columns kc*16.., of a row-major matrix in shared memory (ld elements
// per row, m at the first row) by one ldmatrix: lanes 0-15 give rows 0-15 of columns 0-7,
// lanes 16-31 the same rows of columns 8-15.
__device__ inline void ldsm_a(std::uint32_t (&a)[4], const bf16* m, int ld, int kc, int lane) {
  ldsm_x4(a, m + (lane % 16) * ld + kc * 16 + (lane / 16) * 8);
}

// A operand from two 16x8 accumulator tiles (columns 16kc..16kc+15), rounded to bf16.
__device__ inline void acc_to_a(std::uint32_t (&a)[4], const float (&lo)[4], const float (&hi)[4]) {
  a[0] = pack_bf16(lo[0], lo[1]);
  a[1] = pack_bf16(lo[2], lo[3]);
  a[2] = pack_bf16(hi[0], hi[1]);
  a[3] = pack_bf16(hi[2], hi[3]);
}

// acc[nt] (16 x 8*NT) += A (16 x 16*KC, fragments a) * B, where B[k][n] = Y[n][k]
// and Y is row-major in shared memory (ld elements per row).
template <int KC, int NT>
__device__ inline void mma_rows(float (&acc)[NT][4], const std::uint32_t (&a)[KC][4], const bf16* Y,
                                int ld, int lane) {
  const int mi = lane / 8, ri = lane % 8;
#pragma unroll
  for (int kc = 0; kc < KC; ++kc)
#pragma unroll
    for (int j = 0; j < NT / 2; ++j) {
      std::uint32_t b[4];  // b0, b1 of n-tiles 2j and 2j+1
      ldsm_x4(b, Y + (j * 16 + (mi / 2) * 8 + ri) * ld + kc * 16 + (mi % 2) * 8);
      mma(acc[2 * j], a[kc], b[0], b[1]);
      mma(acc[2 * j + 1], a[kc], b[2], b[3]);
    }
}

// mma_rows with the A rows in shared memory (row-major, lda elements per row), read one
// 16-column slice at a time: 4 registers for A instead of 4 * KC held across the loop.
template <int KC, int NT>
__device__ inline void mma_rows_shared(float (&acc)[NT][4], const bf16* A, int lda, const bf16* Y,
                                       int ld, int lane) {
  const int mi = lane / 8, ri = lane % 8;
#pragma unroll
  for (int kc = 0; kc < KC; ++kc) {
    std::uint32_t a[4];
    ldsm_a(a, A, lda, kc, lane);
#pragma unroll
    for (int j = 0; j < NT / 2; ++j) {
      std::uint32_t b[4];
      ldsm_x4(b, Y + (j * 16 + (mi / 2) * 8 + ri) * ld + kc * 16 + (mi % 2) * 8);
      mma(acc[2 * j], a, b[0], b[1]);
      mma(acc[2 * j + 1], a, b[2], b[3]);
    }
  }
}

// acc (16 x 8*NT) += P (16 x 64, accumulator tiles p) * X, with X (64 x 8*NT)
// row-major in shared memory (ld elements per row).
template <int NT>
__device__ inline void mma_acc(float (&acc)[NT][4], const float (&p)[8][4], const bf16* X, int ld,
                               int lane) {
  const int mi = lane / 8, ri = lane % 8;
#pragma unroll
  for (int kc = 0; kc < 4; ++kc) {
    std::uint32_t a[4];
    acc_to_a(a, p[2 * kc], p[2 * kc + 1]);
#pragma unroll
    for (int j = 0; j < NT / 2; ++j) {
      std::uint32_t b[4];
      ldsm_x4_trans(b, X + (kc * 16 + (mi % 2) * 8 + ri) * ld + j * 16 + (mi / 2) * 8);
      mma(acc[2 * j], a, b[0], b[1]);
      mma(acc[2 * j + 1], a, b[2], b[3]);
    }
  }
}

// acc (16 x 8*NT) += A * X where A (16 rows x 64) is stored transposed in shared memory
// (At[k][row], ldt elements per row, this warp's rows starting at column row0) and X (64 x 8*NT)
// row-major (ld elements per row).
template <int NT>
__device__ inline void mma_acc_at(float (&acc)[NT][4], const bf16* At, int ldt, int row0,
                                  const bf16* X, int ld, int lane) {
  const int mi = lane / 8, ri = lane % 8;
#pragma unroll
  for (int kc = 0; kc < 4; ++kc) {
    std::uint32_t a[4];
    ldsm_x4_trans(a, At + (kc * 16 + (mi / 2) * 8 + ri) * ldt + row0 + (mi % 2) * 8);
#pragma unroll
    for (int j = 0; j < NT / 2; ++j) {
      std::uint32_t b[4];
      ldsm_x4_trans(b, X + (kc * 16 + (mi % 2) * 8 + ri) * ld + j * 16 + (mi / 2) * 8);
      mma(acc[2 * j], a, b[0], b[1]);
      mma(acc[2 * j + 1], a, b[2], b[3]);
    }
  }
}

// Starts copying a 64 x HS tile of rows first_row.. (stride `stride`
// elements) into shared memory; rows past T become zeros.
template <int HS>
__device__ inline void load_tile_async(bf16 (*dst)[HS + pad], const bf16* src, std::size_t stride,
                                       int first_row, int T) {
  for (int idx = threadIdx.x; idx < tile * HS / 8; idx += threads) {
    const int r = idx / (HS / 8), c = idx % (HS / 8) * 8;
    const bool inside = first_row + r < T;
    cp_async16(&dst[r][c], src + std::size_t(inside ? first_row + r : 0) * stride + c,
               inside ? 16 : 0);
  }
}

// A fragments of 16 rows straight from global memory (rows past T read as 0).
template <int HS>
__device__ inline void load_rows_a(std::uint32_t (&a)[HS / 16][4], const bf16* src,
                                   std::size_t stride, int row0, int T, int g, int t) {
#pragma unroll
  for (int kc = 0; kc < HS / 16; ++kc) {
    const int r0 = row0 + g, r1 = row0 + g + 8, c = kc * 16 + 2 * t;
    a[kc][0] = r0 < T ? load32(src + std::size_t(r0) * stride + c) : 0u;
    a[kc][1] = r1 < T ? load32(src + std::size_t(r1) * stride + c) : 0u;
    a[kc][2] = r0 < T ? load32(src + std::size_t(r0) * stride + c + 8) : 0u;
    a[kc][3] = r1 < T ? load32(src + std::size_t(r1) * stride + c + 8) : 0u;
  }
}

// One key tile of the online softmax for a warp's rows q0 and q1: masks the scores s on the
// diagonal tile, scales them, turns them into probabilities against the running maxima m, and
// rescales the running sums l and the output accumulators o.
template <int NT>
__device__ inline void online_softmax_tile(float (&s)[8][4], float (&o)[NT][4], float& m0, float& m1,
                                           float& l0, float& l1, bool diagonal, int kt, int q0,
                                           int q1, int t, float scale) {
  float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
  for (int nt = 0; nt < 8; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int key = kt * tile + nt * 8 + 2 * t + (e & 1);
      const float v = !diagonal || key <= (e < 2 ? q0 : q1) ? s[nt][e] * scale : -INFINITY;
      s[nt][e] = v;
      if (e < 2)
        mx0 = fmaxf(mx0, v);
      else
        mx1 = fmaxf(mx1, v);
    }
#pragma unroll
  for (int o_ = 1; o_ < 4; o_ <<= 1) {
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, o_));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, o_));
  }
  const float n0 = fmaxf(m0, mx0), n1 = fmaxf(m1, mx1);
  // Exponentials without branches: exp(-inf - n) is 0, and a row with no visible key yet
  // (n = -inf) subtracts 0 instead, so it keeps zeros rather than NaNs.
  const float z0 = n0 == -INFINITY ? 0.0f : n0, z1 = n1 == -INFINITY ? 0.0f : n1;
  const float c0 = __expf(m0 - z0), c1 = __expf(m1 - z1);
  float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
  for (int nt = 0; nt < 8; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const float p = __expf(s[nt][e] - (e < 2 ? z0 : z1));
      s[nt][e] = p;
      if (e < 2)
        sum0 += p;
      else
        sum1 += p;
    }
  l0 = l0 * c0 + sum0;
  l1 = l1 * c1 + sum1;
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    o[nt][0] *= c0, o[nt][1] *= c0;
    o[nt][2] *= c1, o[nt][3] *= c1;
  }
  m0 = n0, m1 = n1;
}

// The end of a forward block: each row's softmax sum over its quad of lanes, then the
// normalised output rows q0 and q1 (in (B,T,C) layout from out_base) and their log-sum-exp.
template <int NT>
__device__ inline void store_forward_rows(bf16* out_base, float* lse_rows, const float (&o)[NT][4],
                                          float m0, float m1, float l0, float l1, int q0, int q1,
                                          int t, int T, int C) {
#pragma unroll
  for (int o_ = 1; o_ < 4; o_ <<= 1) {
    l0 += __shfl_xor_sync(0xffffffffu, l0, o_);
    l1 += __shfl_xor_sync(0xffffffffu, l1, o_);
  }
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    if (q0 < T)
      *reinterpret_cast<std::uint32_t*>(out_base + std::size_t(q0) * C + nt * 8 + 2 * t) =
          pack_bf16(o[nt][0] / l0, o[nt][1] / l0);
    if (q1 < T)
      *reinterpret_cast<std::uint32_t*>(out_base + std::size_t(q1) * C + nt * 8 + 2 * t) =
          pack_bf16(o[nt][2] / l1, o[nt][3] / l1);
  }
  if (t == 0) {
    if (q0 < T) lse_rows[q0] = m0 + __logf(l0);
    if (q1 < T) lse_rows[q1] = m1 + __logf(l1);
  }
}

// grid (query tiles, B*NH); the longest (last) query tiles start first. Key
// tiles are double-buffered: the next one loads while this one computes.
template <int HS>
__global__ void __launch_bounds__(threads, forward_blocks)
    forward_kernel(bf16* out, float* lse, const bf16* qkv, int T, int NH, float scale) {
  __shared__ alignas(16) bf16 Ks[2][tile][HS + pad];
  __shared__ alignas(16) bf16 Vs[2][tile][HS + pad];
  const int qt = gridDim.x - 1 - blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int C = NH * HS, warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4,
            t = lane % 4;
  const std::size_t stride = 3 * std::size_t(C);
  const bf16* q_base = qkv + std::size_t(b) * T * stride + h * HS;
  const int row0 = qt * tile + warp * 16, q0 = row0 + g, q1 = q0 + 8;
  load_tile_async<HS>(Ks[0], q_base + C, stride, 0, T);
  load_tile_async<HS>(Vs[0], q_base + 2 * C, stride, 0, T);
  cp_async_commit();
  std::uint32_t qa[HS / 16][4];
  load_rows_a<HS>(qa, q_base, stride, row0, T, g, t);
  float o[HS / 8][4] = {};
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;
  for (int kt = 0; kt <= qt; ++kt) {
    const int buf = kt & 1;
    if (kt < qt) {
      load_tile_async<HS>(Ks[buf ^ 1], q_base + C, stride, (kt + 1) * tile, T);
      load_tile_async<HS>(Vs[buf ^ 1], q_base + 2 * C, stride, (kt + 1) * tile, T);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    float s[8][4] = {};
    mma_rows<HS / 16, 8>(s, qa, &Ks[buf][0][0], HS + pad, lane);
    online_softmax_tile(s, o, m0, m1, l0, l1, kt == qt, kt, q0, q1, t, scale);
    mma_acc<HS / 8>(o, s, &Vs[buf][0][0], HS + pad, lane);
    __syncthreads();  // the next iteration refills this buffer
  }
  store_forward_rows(out + std::size_t(b) * T * C + h * HS, lse + std::size_t(bh) * T, o, m0, m1,
                     l0, l1, q0, q1, t, T, C);
}

// Adds a warp's dQ rows q0 and q1 (8 * NT channels) into the fp32 accumulator with float4
// atomics: lanes t and t^1 swap halves so the even lane holds 4 channels of row q0 and the odd
// lane 4 of row q1 (half the atomics of float2, 2.6% faster on an H200).
template <int NT>
__device__ inline void add_dq(float* dq_base, const float (&dq)[NT][4], int q0, int q1, int t, int T,
                              int C) {
  const bool even = (t & 1) == 0;
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int c = nt * 8 + 2 * t;
    const float r0 = __shfl_xor_sync(0xffffffffu, even ? dq[nt][2] : dq[nt][0], 1),
                r1 = __shfl_xor_sync(0xffffffffu, even ? dq[nt][3] : dq[nt][1], 1);
    if (even && q0 < T)
      atomicAdd(reinterpret_cast<float4*>(dq_base + std::size_t(q0) * C + c),
                make_float4(dq[nt][0], dq[nt][1], r0, r1));
    if (!even && q1 < T)
      atomicAdd(reinterpret_cast<float4*>(dq_base + std::size_t(q1) * C + c - 2),
                make_float4(r0, r1, dq[nt][2], dq[nt][3]));
  }
}

// Writes a warp's dK (times scale) and dV rows k0 and k1 into the K and V thirds of dqkv.
template <int NT>
__device__ inline void store_dk_dv(bf16* dk_base, const float (&dk)[NT][4], const float (&dv)[NT][4],
                                   int k0, int k1, int t, int T, int C, std::size_t stride,
                                   float scale) {
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int c = nt * 8 + 2 * t;
    if (k0 < T) {
      *reinterpret_cast<std::uint32_t*>(dk_base + std::size_t(k0) * stride + c) =
          pack_bf16(dk[nt][0] * scale, dk[nt][1] * scale);
      *reinterpret_cast<std::uint32_t*>(dk_base + C + std::size_t(k0) * stride + c) =
          pack_bf16(dv[nt][0], dv[nt][1]);
    }
    if (k1 < T) {
      *reinterpret_cast<std::uint32_t*>(dk_base + std::size_t(k1) * stride + c) =
          pack_bf16(dk[nt][2] * scale, dk[nt][3] * scale);
      *reinterpret_cast<std::uint32_t*>(dk_base + C + std::size_t(k1) * stride + c) =
          pack_bf16(dv[nt][2], dv[nt][3]);
    }
  }
}

// D[b,h,t] = sum over the head's channels of dout * out: one thread per (b, t, h).
template <int HS>
__global__ void row_dot_kernel(float* D, const bf16* dout, const bf16* out, int B, int T, int NH) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= B * T * NH) return;
  const int h = idx % NH, bt = idx / NH, b = bt / T, tq = bt % T;
  const std::size_t at = std::size_t(bt) * NH * HS + h * HS;
  float acc = 0.0f;
#pragma unroll
  for (int c = 0; c < HS; c += 8) {
    float x[8], y[8];
    load8(x, dout + at + c);
    load8(y, out + at + c);
#pragma unroll
    for (int i = 0; i < 8; ++i) acc += x[i] * y[i];
  }
  D[(std::size_t(b) * NH + h) * T + tq] = acc;
}

// Shared memory of the fused backward kernel: Q and dO tiles double-buffered, the block's K
// tile, dS^T of the current tile pair, and the query rows' lse and D.
template <int HS>
struct FusedShared {
  alignas(16) bf16 Qs[2][tile][HS + pad];
  alignas(16) bf16 dOs[2][tile][HS + pad];
  alignas(16) bf16 Ks[tile][HS + pad];
  alignas(16) bf16 Vs[tile][HS + pad];
  alignas(16) bf16 dSt[tile][tile + pad];
  float lse_s[2][tile], D_s[2][tile];
};

// dK and dV of one key tile, looping over the query tiles that see it (double-buffered), and
// each tile pair's share of dQ (dS K) added into an fp32 accumulator (B,T,C) by vector atomics:
// 5 tile products per tile pair instead of the 7 of a separate dQ kernel, which would recompute
// S and dP (1.18 against 1.24 ms a layer on an H200; the atomics cost ~0.16 ms of it).
template <int HS>
__global__ void __launch_bounds__(threads, backward_blocks)
    backward_fused_kernel(bf16* dqkv, float* dq_accum, const bf16* qkv, const bf16* dout,
                          const float* lse, const float* D, int T, int NH, float scale) {
  extern __shared__ unsigned char shared_raw[];
  FusedShared<HS>& sh = *reinterpret_cast<FusedShared<HS>*>(shared_raw);
  const int kt = blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int C = NH * HS, warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4,
            t = lane % 4;
  const std::size_t stride = 3 * std::size_t(C);
  const bf16* q_base = qkv + std::size_t(b) * T * stride + h * HS;
  const bf16* do_base = dout + std::size_t(b) * T * C + h * HS;
  float* dq_base = dq_accum + std::size_t(b) * T * C + h * HS;
  const int row0 = kt * tile + warp * 16, k0 = row0 + g, k1 = k0 + 8;
  const int tiles = (T + tile - 1) / tile;
  auto load = [&](int qt, int buf) {
    load_tile_async<HS>(sh.Qs[buf], q_base, stride, qt * tile, T);
    load_tile_async<HS>(sh.dOs[buf], do_base, C, qt * tile, T);
    cp_async_commit();
    for (int i = threadIdx.x; i < tile; i += threads) {
      const int q = qt * tile + i;
      sh.lse_s[buf][i] = q < T ? lse[std::size_t(bh) * T + q] : 0.0f;
      sh.D_s[buf][i] = q < T ? D[std::size_t(bh) * T + q] : 0.0f;
    }
  };
  load_tile_async<HS>(sh.Ks, q_base + C, stride, kt * tile, T);
  load_tile_async<HS>(sh.Vs, q_base + 2 * C, stride, kt * tile, T);
  load(kt, 0);  // one commit group with the K tile
  float dk[HS / 8][4] = {}, dv[HS / 8][4] = {};
  for (int qt = kt; qt < tiles; ++qt) {
    const int buf = (qt - kt) & 1;
    if (qt + 1 < tiles) {
      load(qt + 1, buf ^ 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    float p[8][4] = {};  // S^T (16 keys x 64 queries), then P^T
    mma_rows_shared<HS / 16, 8>(p, &sh.Ks[warp * 16][0], HS + pad, &sh.Qs[buf][0][0], HS + pad, lane);
    // The exponential is taken for every element and masked afterwards: a select instead of a
    // conditional exp took the kernel from 1.006 to 0.833 ms a layer (H200, batch 32).
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int ql = nt * 8 + 2 * t + (e & 1), q = qt * tile + ql;
        const float v = __expf(p[nt][e] * scale - sh.lse_s[buf][ql]);
        p[nt][e] = (q >= (e < 2 ? k0 : k1) && q < T) ? v : 0.0f;
      }
    mma_acc<HS / 8>(dv, p, &sh.dOs[buf][0][0], HS + pad, lane);
    float ds[8][4] = {};  // dP^T, then dS^T
    mma_rows_shared<HS / 16, 8>(ds, &sh.Vs[warp * 16][0], HS + pad, &sh.dOs[buf][0][0], HS + pad, lane);
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        ds[nt][e] = p[nt][e] * (ds[nt][e] - sh.D_s[buf][nt * 8 + 2 * t + (e & 1)]);
    mma_acc<HS / 8>(dk, ds, &sh.Qs[buf][0][0], HS + pad, lane);
    // dS^T rows of this warp's keys, rounded to bf16 as the dK product rounded them
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
      *reinterpret_cast<std::uint32_t*>(&sh.dSt[warp * 16 + g][nt * 8 + 2 * t]) =
          pack_bf16(ds[nt][0], ds[nt][1]);
      *reinterpret_cast<std::uint32_t*>(&sh.dSt[warp * 16 + g + 8][nt * 8 + 2 * t]) =
          pack_bf16(ds[nt][2], ds[nt][3]);
    }
    __syncthreads();
    // this warp's 16 query rows of dS (all 64 keys) times the K tile
    float dq[HS / 8][4] = {};
    mma_acc_at<HS / 8>(dq, &sh.dSt[0][0], tile + pad, warp * 16, &sh.Ks[0][0], HS + pad, lane);
    const int q0 = qt * tile + warp * 16 + g, q1 = q0 + 8;
    add_dq(dq_base, dq, q0, q1, t, T, C);
    __syncthreads();  // the next iteration refills Qs/dOs[buf] and dSt
  }
  store_dk_dv(dqkv + std::size_t(b) * T * stride + C + h * HS, dk, dv, k0, k1, t, T, C, stride,
              scale);
}

// dQ (the Q third of dqkv) = scale * the fp32 accumulator, 8 channels a thread.
__global__ void dq_store_kernel(bf16* dqkv, const float* dq_accum, int C, std::size_t vectors,
                                float scale) {
  const std::size_t idx = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= vectors) return;
  const std::size_t bt = idx * 8 / C;
  const int c = int(idx * 8 % C);
  const float4 lo = reinterpret_cast<const float4*>(dq_accum)[2 * idx],
               hi = reinterpret_cast<const float4*>(dq_accum)[2 * idx + 1];
  const float v[8] = {lo.x * scale, lo.y * scale, lo.z * scale, lo.w * scale,
                      hi.x * scale, hi.y * scale, hi.z * scale, hi.w * scale};
  store8(dqkv + bt * 3 * C + c, v);
}

// ---- Head size 64 on sm_90a: the same algorithms with wgmma (wgmma.cuh) ----
// One warpgroup (the block's 4 warps) multiplies whole 64 x 64 tiles; operands
// that are not in registers come from core-matrix tiles in shared memory.

// Starts copying a 64 x 64 tile (rows first_row.., `stride` elements apart) into
// core-matrix layout; rows past T become zeros. Eight consecutive threads fill one
// 128-byte core matrix (one pass of the shared-memory banks), four of them two
// 64-byte runs of a global row.
__device__ inline void load_tile_core_async(bf16* dst, const bf16* src, std::size_t stride,
                                            int first_row, int T) {
  for (int idx = threadIdx.x; idx < tile * 8; idx += threads) {
    const int r = (idx / 32 % 8) * 8 + idx % 8, c = (idx / 256) * 4 + idx / 8 % 4;
    const bool inside = first_row + r < T;
    cp_async16(dst + wg::core_index<64>(r, c * 8),
               src + std::size_t(inside ? first_row + r : 0) * stride + c * 8, inside ? 16 : 0);
  }
}

__global__ void __launch_bounds__(threads)
    forward_wgmma_kernel(bf16* out, float* lse, const bf16* qkv, int T, int NH, float scale) {
  constexpr int HS = 64;
  __shared__ alignas(128) bf16 Ks[2][tile * HS];
  __shared__ alignas(128) bf16 Vs[2][tile * HS];
  const int qt = gridDim.x - 1 - blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int C = NH * HS, warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4,
            t = lane % 4;
  const std::size_t stride = 3 * std::size_t(C);
  const bf16* q_base = qkv + std::size_t(b) * T * stride + h * HS;
  const int row0 = qt * tile + warp * 16, q0 = row0 + g, q1 = q0 + 8;
  load_tile_core_async(Ks[0], q_base + C, stride, 0, T);
  load_tile_core_async(Vs[0], q_base + 2 * C, stride, 0, T);
  cp_async_commit();
  std::uint32_t qa[HS / 16][4];
  load_rows_a<HS>(qa, q_base, stride, row0, T, g, t);
  float o[8][4] = {};
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;
  for (int kt = 0; kt <= qt; ++kt) {
    const int buf = kt & 1;
    if (kt < qt) {
      load_tile_core_async(Ks[buf ^ 1], q_base + C, stride, (kt + 1) * tile, T);
      load_tile_core_async(Vs[buf ^ 1], q_base + 2 * C, stride, (kt + 1) * tile, T);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    wg::fence_shared_for_async();
    __syncthreads();
    float s[8][4] = {};
    wg::fence_operands(s);
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < HS / 16; ++kk) wg::mma_rs<0>(s, qa[kk], wg::k_major(Ks[buf], kk), kk > 0);
    wg::commit();
    wg::wait<0>();
    wg::fence_operands(s);
    online_softmax_tile(s, o, m0, m1, l0, l1, kt == qt, kt, q0, q1, t, scale);
    std::uint32_t pa[4][4];
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) acc_to_a(pa[kk], s[2 * kk], s[2 * kk + 1]);
    wg::fence_operands(o);
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) wg::mma_rs<1>(o, pa[kk], wg::mn_major(Vs[buf], kk), true);
    wg::commit();
    wg::wait<0>();
    wg::fence_operands(o);
    __syncthreads();  // the next iteration refills this buffer
  }
  store_forward_rows(out + std::size_t(b) * T * C + h * HS, lse + std::size_t(bh) * T, o, m0, m1,
                     l0, l1, q0, q1, t, T, C);
}

struct WgBackwardShared {
  alignas(128) bf16 Qs[2][tile * 64];
  alignas(128) bf16 dOs[2][tile * 64];
  alignas(128) bf16 Ks[tile * 64];
  alignas(128) bf16 Vs[tile * 64];
  alignas(128) bf16 dSt[tile * tile];  // dS^T: rows keys, columns queries
  float lse_s[2][tile], D_s[2][tile];
};

// backward_fused_kernel's algorithm with wgmma: S^T = K Q^T and dP^T = V dO^T (K-major Q and
// dO tiles), dV += P^T dO and dK += dS^T Q (the same tiles MN-major), dQ += dS K (dS^T and
// K from shared memory, both MN-major).
__global__ void __launch_bounds__(threads, backward_blocks)
    backward_wgmma_kernel(bf16* dqkv, float* dq_accum, const bf16* qkv, const bf16* dout,
                          const float* lse, const float* D, int T, int NH, float scale) {
  constexpr int HS = 64;
  extern __shared__ unsigned char shared_raw[];
  WgBackwardShared& sh = *reinterpret_cast<WgBackwardShared*>(shared_raw);
  const int kt = blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int C = NH * HS, warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4,
            t = lane % 4;
  const std::size_t stride = 3 * std::size_t(C);
  const bf16* q_base = qkv + std::size_t(b) * T * stride + h * HS;
  const bf16* do_base = dout + std::size_t(b) * T * C + h * HS;
  float* dq_base = dq_accum + std::size_t(b) * T * C + h * HS;
  const int row0 = kt * tile + warp * 16, k0 = row0 + g, k1 = k0 + 8;
  const int tiles = (T + tile - 1) / tile;
  auto load = [&](int qt, int buf) {
    load_tile_core_async(sh.Qs[buf], q_base, stride, qt * tile, T);
    load_tile_core_async(sh.dOs[buf], do_base, C, qt * tile, T);
    cp_async_commit();
    for (int i = threadIdx.x; i < tile; i += threads) {
      const int q = qt * tile + i;
      sh.lse_s[buf][i] = q < T ? lse[std::size_t(bh) * T + q] : 0.0f;
      sh.D_s[buf][i] = q < T ? D[std::size_t(bh) * T + q] : 0.0f;
    }
  };
  load_tile_core_async(sh.Ks, q_base + C, stride, kt * tile, T);
  load_tile_core_async(sh.Vs, q_base + 2 * C, stride, kt * tile, T);
  load(kt, 0);  // one commit group with the K tile
  float dk[8][4] = {}, dv[8][4] = {};
  for (int qt = kt; qt < tiles; ++qt) {
    const int buf = (qt - kt) & 1;
    if (qt + 1 < tiles) {
      load(qt + 1, buf ^ 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    wg::fence_shared_for_async();
    __syncthreads();
    float p[8][4] = {}, ds[8][4] = {};  // S^T then P^T; dP^T then dS^T (16 keys x 64 queries a warp)
    wg::fence_operands(p);
    wg::fence_operands(ds);
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < HS / 16; ++kk)
      wg::mma_ss<0, 0>(p, wg::k_major(sh.Ks, kk), wg::k_major(sh.Qs[buf], kk), kk > 0);
#pragma unroll
    for (int kk = 0; kk < HS / 16; ++kk)
      wg::mma_ss<0, 0>(ds, wg::k_major(sh.Vs, kk), wg::k_major(sh.dOs[buf], kk), kk > 0);
    wg::commit();
    wg::wait<0>();
    wg::fence_operands(p);
    wg::fence_operands(ds);
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int ql = nt * 8 + 2 * t + (e & 1), q = qt * tile + ql;
        const float v = __expf(p[nt][e] * scale - sh.lse_s[buf][ql]);  // see backward_fused_kernel
        p[nt][e] = (q >= (e < 2 ? k0 : k1) && q < T) ? v : 0.0f;
        ds[nt][e] = p[nt][e] * (ds[nt][e] - sh.D_s[buf][ql]);
      }
    std::uint32_t pa[4][4], sa[4][4];
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      acc_to_a(pa[kk], p[2 * kk], p[2 * kk + 1]);
      acc_to_a(sa[kk], ds[2 * kk], ds[2 * kk + 1]);
    }
    wg::fence_operands(dv);
    wg::fence_operands(dk);
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) wg::mma_rs<1>(dv, pa[kk], wg::mn_major(sh.dOs[buf], kk), true);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) wg::mma_rs<1>(dk, sa[kk], wg::mn_major(sh.Qs[buf], kk), true);
    wg::commit();
    // dS^T rows of this warp's keys, rounded to bf16 as the dK product rounded them
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
      const int c = nt * 8 + 2 * t;
      *reinterpret_cast<std::uint32_t*>(&sh.dSt[wg::core_index<64>(warp * 16 + g, c)]) =
          pack_bf16(ds[nt][0], ds[nt][1]);
      *reinterpret_cast<std::uint32_t*>(&sh.dSt[wg::core_index<64>(warp * 16 + g + 8, c)]) =
          pack_bf16(ds[nt][2], ds[nt][3]);
    }
    wg::fence_shared_for_async();
    __syncthreads();
    float dq[8][4] = {};
    wg::fence_operands(dq);
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
      wg::mma_ss<1, 1>(dq, wg::mn_major(sh.dSt, kk), wg::mn_major(sh.Ks, kk), kk > 0);
    wg::commit();
    wg::wait<0>();
    wg::fence_operands(dq);
    wg::fence_operands(dk);
    wg::fence_operands(dv);
    const int q0 = qt * tile + warp * 16 + g, q1 = q0 + 8;
    add_dq(dq_base, dq, q0, q1, t, T, C);
    __syncthreads();  // the next iteration refills Qs/dOs[buf] and dSt
  }
  store_dk_dv(dqkv + std::size_t(b) * T * stride + C + h * HS, dk, dv, k0, k1, t, T, C, stride,
              scale);
}

// Whether head size 64 runs the wgmma kernels: only when built for sm_90a (SPEEDRUN_WGMMA) and
// switched on (flash_attention_use_wgmma(true)). Off by default: as written they are correct
// but slower than the mma.sync kernels (H100, batch 32, per layer: forward 0.457 against
// 0.294 ms, backward 0.979 against 0.872 ms), bench/NOTES.md variants 9 and 10.
#if defined(SPEEDRUN_WGMMA)
constexpr bool wgmma_built = true;
#else
constexpr bool wgmma_built = false;
#endif
inline bool wgmma_enabled = false;

template <int HS>
void forward(bf16* out, float* lse, const bf16* qkv, int B, int T, int NH, cudaStream_t stream) {
  const dim3 grid((T + tile - 1) / tile, B * NH);
  if (HS == 64 && wgmma_enabled) {
    forward_wgmma_kernel<<<grid, threads, 0, stream>>>(out, lse, qkv, T, NH,
                                                       1.0f / sqrtf(float(HS)));
    CUDA_CHECK_LAUNCH();
    return;
  }
  forward_kernel<HS><<<grid, threads, 0, stream>>>(out, lse, qkv, T, NH, 1.0f / sqrtf(float(HS)));
  CUDA_CHECK_LAUNCH();
}

// Lets `kernel` launch with `bytes` of dynamic shared memory, over the 48 KiB a launch gets
// without asking; called once per kernel (the attribute stays set on the device).
template <class Kernel>
bool allow_shared_bytes(Kernel kernel, int bytes) {
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  return true;
}

template <int HS>
void backward(bf16* dqkv, float* work, const bf16* dout, const bf16* out, const bf16* qkv,
              const float* lse, int B, int T, int NH, cudaStream_t stream) {
  const float scale = 1.0f / sqrtf(float(HS));
  const int C = NH * HS;
  float* D = work;
  float* dq_accum = work + std::size_t(B) * NH * T;
  row_dot_kernel<HS><<<ceil_div(B * T * NH, 256), 256, 0, stream>>>(D, dout, out, B, T, NH);
  CUDA_CHECK_LAUNCH();
  CUDA_CHECK(cudaMemsetAsync(dq_accum, 0, std::size_t(B) * T * C * sizeof(float), stream));
  const dim3 grid((T + tile - 1) / tile, B * NH);
  if (HS == 64 && wgmma_enabled) {
    constexpr int bytes = sizeof(WgBackwardShared);
    static const bool configured = allow_shared_bytes(backward_wgmma_kernel, bytes);
    (void)configured;
    backward_wgmma_kernel<<<grid, threads, bytes, stream>>>(dqkv, dq_accum, qkv, dout, lse, D, T,
                                                            NH, scale);
  } else {
    constexpr int bytes = sizeof(FusedShared<HS>);
    static const bool configured = allow_shared_bytes(backward_fused_kernel<HS>, bytes);
    (void)configured;
    backward_fused_kernel<HS><<<grid, threads, bytes, stream>>>(dqkv, dq_accum, qkv, dout, lse, D,
                                                                T, NH, scale);
  }
  CUDA_CHECK_LAUNCH();
  const std::size_t vectors = std::size_t(B) * T * C / 8;
  dq_store_kernel<<<ceil_div(vectors, 256), 256, 0, stream>>>(dqkv, dq_accum, C, vectors, scale);
  CUDA_CHECK_LAUNCH();
}

}  // namespace flash

bool flash_attention_use_wgmma(bool on) {
  flash::wgmma_enabled = on && flash::wgmma_built;
  return flash::wgmma_enabled;
}

bool flash_attention_supported(int head_size) {
  return head_size == 16 || head_size == 32 || head_size == 64;
}

void flash_attention_forward(bf16* out, float* lse, const bf16* qkv, int B, int T, int NH, int HS,
                             cudaStream_t stream) {
  switch (HS) {
    case 16:
      return flash::forward<16>(out, lse, qkv, B, T, NH, stream);
    case 32:
      return flash::forward<32>(out, lse, qkv, B, T, NH, stream);
    case 64:
      return flash::forward<64>(out, lse, qkv, B, T, NH, stream);
    default:
      die("CUDA", "flash attention supports head sizes 16, 32 and 64 only", __FILE__, __LINE__);
  }
}

std::size_t flash_attention_backward_work(int B, int T, int NH, int HS) {
  return std::size_t(B) * NH * T + std::size_t(B) * T * NH * HS;
}

void flash_attention_backward(bf16* dqkv, float* work, const bf16* dout, const bf16* out,
                              const bf16* qkv, const float* lse, int B, int T, int NH, int HS,
                              cudaStream_t stream) {
  switch (HS) {
    case 16:
      return flash::backward<16>(dqkv, work, dout, out, qkv, lse, B, T, NH, stream);
    case 32:
      return flash::backward<32>(dqkv, work, dout, out, qkv, lse, B, T, NH, stream);
    case 64:
      return flash::backward<64>(dqkv, work, dout, out, qkv, lse, B, T, NH, stream);
    default:
      die("CUDA", "flash attention supports head sizes 16, 32 and 64 only", __FILE__, __LINE__);
  }
}

}  // namespace speedrunner::cuda
