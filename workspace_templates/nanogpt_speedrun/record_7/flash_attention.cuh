// Fused causal attention (flash-style): scores and probabilities live only in
// registers, never in device memory. Tiles of 64 queries x 64 keys, one warp
// per 16 rows, bf16 tensor-core MMAs (mma.sync m16n8k16, operands through
// ldmatrix) with fp32 accumulators and an online softmax; tiles stream into
// shared memory by cp.async, two deep. The forward pass keeps the row
// log-sum-exp; the backward pass recomputes the probabilities, in one kernel
// per key tile (dK, dV) and one per query tile (dQ), so no atomics are needed.
// q, k, v are read straight from the qkv projection (B,T,3C) and the results
// written in (B,T,C) / (B,T,3C) layout, so no head split/merge passes either.
// Head sizes 16 to 128; the tiles live in dynamic shared memory, since at head
// size 128 two double-buffered tiles (68 KiB) pass the 48 KiB of static memory.
#pragma once

#include "common.cuh"
#include "device.cuh"

#include <cstdint>

namespace speedrunner::cuda {
namespace flash {

constexpr int tile = 64;  // queries or keys per block
constexpr int threads = 128;  // 4 warps x 16 rows
constexpr int pad = 8;    // bf16 per shared row against bank conflicts

// Shared memory of the forward and dQ kernels: K and V tiles, double-buffered.
template <int HS>
struct KVTiles {
  alignas(16) bf16 K[2][tile][HS + pad];
  alignas(16) bf16 V[2][tile][HS + pad];
};
// Shared memory of the dK/dV kernel: Q and dO tiles with their rows' lse and D, double-buffered.
template <int HS>
struct QTiles {
  alignas(16) bf16 Q[2][tile][HS + pad];
  alignas(16) bf16 dO[2][tile][HS + pad];
  float lse[2][tile], D[2][tile];
};
extern __shared__ __align__(16) unsigned char flash_shared[];

__device__ inline std::uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<std::uint32_t*>(&v);
}

__device__ inline std::uint32_t load32(const bf16* p) { return *reinterpret_cast<const std::uint32_t*>(p); }

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
__device__ inline void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int pending>
__device__ inline void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(pending));
}

// d (16x8 fp32) += a (16x16 bf16, row-major) * b (16x8 bf16, column-major)
__device__ inline void mma(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The A operand of rows r..r+15, columns kc*16.. of a row-major matrix (ld elements per row).
__device__ inline void load_a(std::uint32_t (&a)[4], const bf16* m, int ld, int kc, int g, int t) {
  a[0] = load32(m + g * ld + kc * 16 + 2 * t);
  a[1] = load32(m + (g + 8) * ld + kc * 16 + 2 * t);
  a[2] = load32(m + g * ld + kc * 16 + 8 + 2 * t);
  a[3] = load32(m + (g + 8) * ld + kc * 16 + 8 + 2 * t);
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
__device__ inline void mma_rows(float (&acc)[NT][4], const std::uint32_t (&a)[KC][4], const bf16* Y, int ld,
                                int lane) {
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

// acc (16 x 8*NT) += P (16 x 64, accumulator tiles p) * X, with X (64 x 8*NT)
// row-major in shared memory (ld elements per row).
template <int NT>
__device__ inline void mma_acc(float (&acc)[NT][4], const float (&p)[8][4], const bf16* X, int ld, int lane) {
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

// Starts copying a 64 x HS tile of rows first_row.. (stride `stride`
// elements) into shared memory; rows past T become zeros.
template <int HS>
__device__ inline void load_tile_async(bf16 (*dst)[HS + pad], const bf16* src, std::size_t stride, int first_row,
                                       int T) {
  for (int idx = threadIdx.x; idx < tile * HS / 8; idx += threads) {
    const int r = idx / (HS / 8), c = idx % (HS / 8) * 8;
    const bool inside = first_row + r < T;
    cp_async16(&dst[r][c], src + std::size_t(inside ? first_row + r : 0) * stride + c, inside ? 16 : 0);
  }
}

// A fragments of 16 rows straight from global memory (rows past T read as 0).
template <int HS>
__device__ inline void load_rows_a(std::uint32_t (&a)[HS / 16][4], const bf16* src, std::size_t stride, int row0,
                                   int T, int g, int t) {
#pragma unroll
  for (int kc = 0; kc < HS / 16; ++kc) {
    const int r0 = row0 + g, r1 = row0 + g + 8, c = kc * 16 + 2 * t;
    a[kc][0] = r0 < T ? load32(src + std::size_t(r0) * stride + c) : 0u;
    a[kc][1] = r1 < T ? load32(src + std::size_t(r1) * stride + c) : 0u;
    a[kc][2] = r0 < T ? load32(src + std::size_t(r0) * stride + c + 8) : 0u;
    a[kc][3] = r1 < T ? load32(src + std::size_t(r1) * stride + c + 8) : 0u;
  }
}

// grid (query tiles, B*NH); the longest (last) query tiles start first. Key
// tiles are double-buffered: the next one loads while this one computes.
template <int HS>
__global__ void __launch_bounds__(threads) forward_kernel(bf16* out, float* lse, const bf16* qkv, int T, int NH,
                                                          float scale) {
  auto& tiles_ = *reinterpret_cast<KVTiles<HS>*>(flash_shared);
  auto& Ks = tiles_.K;
  auto& Vs = tiles_.V;
  const int qt = gridDim.x - 1 - blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int C = NH * HS, warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
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
    const bool diagonal = kt == qt;
    float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = kt * tile + nt * 8 + 2 * t + (e & 1);
        const float v = !diagonal || key <= (e < 2 ? q0 : q1) ? s[nt][e] * scale : -INFINITY;
        s[nt][e] = v;
        if (e < 2) mx0 = fmaxf(mx0, v);
        else mx1 = fmaxf(mx1, v);
      }
#pragma unroll
    for (int o_ = 1; o_ < 4; o_ <<= 1) {
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, o_));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, o_));
    }
    const float n0 = fmaxf(m0, mx0), n1 = fmaxf(m1, mx1);
    // a row with no visible key yet (n = -inf) keeps zeros
    const float c0 = n0 == -INFINITY ? 1.0f : __expf(m0 - n0), c1 = n1 == -INFINITY ? 1.0f : __expf(m1 - n1);
    float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float p = s[nt][e] == -INFINITY ? 0.0f : __expf(s[nt][e] - (e < 2 ? n0 : n1));
        s[nt][e] = p;
        if (e < 2) sum0 += p;
        else sum1 += p;
      }
    l0 = l0 * c0 + sum0;
    l1 = l1 * c1 + sum1;
#pragma unroll
    for (int nt = 0; nt < HS / 8; ++nt) {
      o[nt][0] *= c0, o[nt][1] *= c0;
      o[nt][2] *= c1, o[nt][3] *= c1;
    }
    m0 = n0, m1 = n1;
    mma_acc<HS / 8>(o, s, &Vs[buf][0][0], HS + pad, lane);
    __syncthreads();  // the next iteration refills this buffer
  }
#pragma unroll
  for (int o_ = 1; o_ < 4; o_ <<= 1) {
    l0 += __shfl_xor_sync(0xffffffffu, l0, o_);
    l1 += __shfl_xor_sync(0xffffffffu, l1, o_);
  }
  bf16* out_base = out + std::size_t(b) * T * C + h * HS;
#pragma unroll
  for (int nt = 0; nt < HS / 8; ++nt) {
    if (q0 < T)
      *reinterpret_cast<std::uint32_t*>(out_base + std::size_t(q0) * C + nt * 8 + 2 * t) =
          pack_bf16(o[nt][0] / l0, o[nt][1] / l0);
    if (q1 < T)
      *reinterpret_cast<std::uint32_t*>(out_base + std::size_t(q1) * C + nt * 8 + 2 * t) =
          pack_bf16(o[nt][2] / l1, o[nt][3] / l1);
  }
  if (t == 0) {
    if (q0 < T) lse[std::size_t(bh) * T + q0] = m0 + __logf(l0);
    if (q1 < T) lse[std::size_t(bh) * T + q1] = m1 + __logf(l1);
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

// dK and dV of one key tile, looping over the query tiles that see it
// (double-buffered like the forward pass).
template <int HS>
__global__ void __launch_bounds__(threads) backward_kv_kernel(bf16* dqkv, const bf16* qkv, const bf16* dout,
                                                              const float* lse, const float* D, int T, int NH,
                                                              float scale) {
  auto& tiles_ = *reinterpret_cast<QTiles<HS>*>(flash_shared);
  auto& Qs = tiles_.Q;
  auto& dOs = tiles_.dO;
  auto& lse_s = tiles_.lse;
  auto& D_s = tiles_.D;
  const int kt = blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int C = NH * HS, warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const std::size_t stride = 3 * std::size_t(C);
  const bf16* q_base = qkv + std::size_t(b) * T * stride + h * HS;
  const bf16* do_base = dout + std::size_t(b) * T * C + h * HS;
  const int row0 = kt * tile + warp * 16, k0 = row0 + g, k1 = k0 + 8;
  const int tiles = (T + tile - 1) / tile;
  auto load = [&](int qt, int buf) {
    load_tile_async<HS>(Qs[buf], q_base, stride, qt * tile, T);
    load_tile_async<HS>(dOs[buf], do_base, C, qt * tile, T);
    cp_async_commit();
    for (int i = threadIdx.x; i < tile; i += threads) {
      const int q = qt * tile + i;
      lse_s[buf][i] = q < T ? lse[std::size_t(bh) * T + q] : 0.0f;
      D_s[buf][i] = q < T ? D[std::size_t(bh) * T + q] : 0.0f;
    }
  };
  load(kt, 0);
  std::uint32_t ka[HS / 16][4], va[HS / 16][4];
  load_rows_a<HS>(ka, q_base + C, stride, row0, T, g, t);
  load_rows_a<HS>(va, q_base + 2 * C, stride, row0, T, g, t);
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
    mma_rows<HS / 16, 8>(p, ka, &Qs[buf][0][0], HS + pad, lane);
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int ql = nt * 8 + 2 * t + (e & 1), q = qt * tile + ql;
        p[nt][e] = (q >= (e < 2 ? k0 : k1) && q < T) ? __expf(p[nt][e] * scale - lse_s[buf][ql]) : 0.0f;
      }
    mma_acc<HS / 8>(dv, p, &dOs[buf][0][0], HS + pad, lane);
    float ds[8][4] = {};  // dP^T, then dS^T
    mma_rows<HS / 16, 8>(ds, va, &dOs[buf][0][0], HS + pad, lane);
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) ds[nt][e] = p[nt][e] * (ds[nt][e] - D_s[buf][nt * 8 + 2 * t + (e & 1)]);
    mma_acc<HS / 8>(dk, ds, &Qs[buf][0][0], HS + pad, lane);
    __syncthreads();
  }
  bf16* dk_base = dqkv + std::size_t(b) * T * stride + C + h * HS;
#pragma unroll
  for (int nt = 0; nt < HS / 8; ++nt) {
    const int c = nt * 8 + 2 * t;
    if (k0 < T) {
      *reinterpret_cast<std::uint32_t*>(dk_base + std::size_t(k0) * stride + c) =
          pack_bf16(dk[nt][0] * scale, dk[nt][1] * scale);
      *reinterpret_cast<std::uint32_t*>(dk_base + C + std::size_t(k0) * stride + c) = pack_bf16(dv[nt][0], dv[nt][1]);
    }
    if (k1 < T) {
      *reinterpret_cast<std::uint32_t*>(dk_base + std::size_t(k1) * stride + c) =
          pack_bf16(dk[nt][2] * scale, dk[nt][3] * scale);
      *reinterpret_cast<std::uint32_t*>(dk_base + C + std::size_t(k1) * stride + c) = pack_bf16(dv[nt][2], dv[nt][3]);
    }
  }
}

// dQ of one query tile, looping over the key tiles it sees (double-buffered).
template <int HS>
__global__ void __launch_bounds__(threads) backward_q_kernel(bf16* dqkv, const bf16* qkv, const bf16* dout,
                                                             const float* lse, const float* D, int T, int NH,
                                                             float scale) {
  auto& tiles_ = *reinterpret_cast<KVTiles<HS>*>(flash_shared);
  auto& Ks = tiles_.K;
  auto& Vs = tiles_.V;
  const int qt = gridDim.x - 1 - blockIdx.x, bh = blockIdx.y, b = bh / NH, h = bh % NH;
  const int C = NH * HS, warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const std::size_t stride = 3 * std::size_t(C);
  const bf16* q_base = qkv + std::size_t(b) * T * stride + h * HS;
  const int row0 = qt * tile + warp * 16, q0 = row0 + g, q1 = q0 + 8;
  load_tile_async<HS>(Ks[0], q_base + C, stride, 0, T);
  load_tile_async<HS>(Vs[0], q_base + 2 * C, stride, 0, T);
  cp_async_commit();
  std::uint32_t qa[HS / 16][4], da[HS / 16][4];
  load_rows_a<HS>(qa, q_base, stride, row0, T, g, t);
  load_rows_a<HS>(da, dout + std::size_t(b) * T * C + h * HS, C, row0, T, g, t);
  const float lse0 = q0 < T ? lse[std::size_t(bh) * T + q0] : 0.0f, lse1 = q1 < T ? lse[std::size_t(bh) * T + q1] : 0.0f;
  const float D0 = q0 < T ? D[std::size_t(bh) * T + q0] : 0.0f, D1 = q1 < T ? D[std::size_t(bh) * T + q1] : 0.0f;
  float dq[HS / 8][4] = {};
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
    float p[8][4] = {}, ds[8][4] = {};
    mma_rows<HS / 16, 8>(p, qa, &Ks[buf][0][0], HS + pad, lane);
    mma_rows<HS / 16, 8>(ds, da, &Vs[buf][0][0], HS + pad, lane);
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = kt * tile + nt * 8 + 2 * t + (e & 1);
        const bool lo = e < 2;
        const float prob = key <= (lo ? q0 : q1) ? __expf(p[nt][e] * scale - (lo ? lse0 : lse1)) : 0.0f;
        ds[nt][e] = prob * (ds[nt][e] - (lo ? D0 : D1));
      }
    mma_acc<HS / 8>(dq, ds, &Ks[buf][0][0], HS + pad, lane);
    __syncthreads();
  }
  bf16* dq_base = dqkv + std::size_t(b) * T * stride + h * HS;
#pragma unroll
  for (int nt = 0; nt < HS / 8; ++nt) {
    const int c = nt * 8 + 2 * t;
    if (q0 < T)
      *reinterpret_cast<std::uint32_t*>(dq_base + std::size_t(q0) * stride + c) =
          pack_bf16(dq[nt][0] * scale, dq[nt][1] * scale);
    if (q1 < T)
      *reinterpret_cast<std::uint32_t*>(dq_base + std::size_t(q1) * stride + c) =
          pack_bf16(dq[nt][2] * scale, dq[nt][3] * scale);
  }
}

// Lets `Kernel` take `bytes` of dynamic shared memory (needed past 48 KiB); once per kernel and
// process (a process drives one GPU). The kernel is a template argument, not a function argument:
// kernels of one signature would otherwise share a single instantiation and its `done` flag.
template <auto Kernel>
void allow_shared(std::size_t bytes) {
  static const bool done = [&] {
    CUDA_CHECK(cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
    return true;
  }();
  (void)done;
}

template <int HS>
void forward(bf16* out, float* lse, const bf16* qkv, int B, int T, int NH, cudaStream_t stream) {
  const dim3 grid((T + tile - 1) / tile, B * NH);
  allow_shared<forward_kernel<HS>>(sizeof(KVTiles<HS>));
  forward_kernel<HS><<<grid, threads, sizeof(KVTiles<HS>), stream>>>(out, lse, qkv, T, NH, 1.0f / sqrtf(float(HS)));
  CUDA_CHECK_LAUNCH();
}

template <int HS>
void backward(bf16* dqkv, float* D, const bf16* dout, const bf16* out, const bf16* qkv, const float* lse, int B,
              int T, int NH, cudaStream_t stream) {
  const float scale = 1.0f / sqrtf(float(HS));
  row_dot_kernel<HS><<<ceil_div(B * T * NH, 256), 256, 0, stream>>>(D, dout, out, B, T, NH);
  CUDA_CHECK_LAUNCH();
  const dim3 grid((T + tile - 1) / tile, B * NH);
  allow_shared<backward_kv_kernel<HS>>(sizeof(QTiles<HS>));
  backward_kv_kernel<HS><<<grid, threads, sizeof(QTiles<HS>), stream>>>(dqkv, qkv, dout, lse, D, T, NH, scale);
  CUDA_CHECK_LAUNCH();
  allow_shared<backward_q_kernel<HS>>(sizeof(KVTiles<HS>));
  backward_q_kernel<HS><<<grid, threads, sizeof(KVTiles<HS>), stream>>>(dqkv, qkv, dout, lse, D, T, NH, scale);
  CUDA_CHECK_LAUNCH();
}

}  // namespace flash

bool flash_attention_supported(int head_size) {
  return head_size == 16 || head_size == 32 || head_size == 64 || head_size == 128;
}

void flash_attention_forward(bf16* out, float* lse, const bf16* qkv, int B, int T, int NH, int HS,
                             cudaStream_t stream) {
  switch (HS) {
    case 16: return flash::forward<16>(out, lse, qkv, B, T, NH, stream);
    case 32: return flash::forward<32>(out, lse, qkv, B, T, NH, stream);
    case 64: return flash::forward<64>(out, lse, qkv, B, T, NH, stream);
    case 128: return flash::forward<128>(out, lse, qkv, B, T, NH, stream);
    default: die("CUDA", "flash attention supports head sizes 16, 32, 64 and 128 only", __FILE__, __LINE__);
  }
}

void flash_attention_backward(bf16* dqkv, float* D, const bf16* dout, const bf16* out, const bf16* qkv,
                              const float* lse, int B, int T, int NH, int HS, cudaStream_t stream) {
  switch (HS) {
    case 16: return flash::backward<16>(dqkv, D, dout, out, qkv, lse, B, T, NH, stream);
    case 32: return flash::backward<32>(dqkv, D, dout, out, qkv, lse, B, T, NH, stream);
    case 64: return flash::backward<64>(dqkv, D, dout, out, qkv, lse, B, T, NH, stream);
    case 128: return flash::backward<128>(dqkv, D, dout, out, qkv, lse, B, T, NH, stream);
    default: die("CUDA", "flash attention supports head sizes 16, 32, 64 and 128 only", __FILE__, __LINE__);
  }
}

}  // namespace speedrunner::cuda
