// Quire's fused kernels for BERT-family encoders on CUDA, f16 storage with f32 arithmetic.
//
// The encoder runs on "packed" batches: the tokens of every sequence one after another, no
// padding, with `offsets[s]..offsets[s + 1]` the rows of sequence s. Per layer that leaves four
// cuBLAS matrix products (candle's) and three of these kernels:
//   quire_attention_d{32,64}        QKV bias + scale + QK^T + softmax + PV, flash style
//                                   (tensor cores, online softmax, nothing [len x len] in memory)
//   quire_bias_gelu_f16             bias + exact (erf) GELU after the intermediate product
//   quire_bias_residual_layernorm   bias + residual + LayerNorm after both output products
// and quire_mean_pool_f16 once at the end (masked mean, L2 normalised, f32 out).
//
// The same file compiles on the CPU against kernels/emu/cuda_emu.h (QUIRE_CUDA_EMU), where
// kernels/emu/kernel_test.cpp checks every kernel against a plain reference.

#ifdef QUIRE_CUDA_EMU
#include "emu/cuda_emu.h"
#else
#include <cuda_fp16.h>
#include <stdint.h>
#if __CUDA_ARCH__ >= 700
#include <mma.h>
#define QUIRE_HAVE_WMMA 1
#endif
#define QUIRE_DYNAMIC_SHARED(name) extern __shared__ __align__(128) unsigned char name[]
#endif

#define QUIRE_FULL_MASK 0xffffffffu

__device__ __forceinline__ float quire_warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(QUIRE_FULL_MASK, v, o);
  return v;
}

// out = gelu(x + bias), x [rows, cols] row-major, cols even (pairs of halves).
extern "C" __global__ void quire_bias_gelu_f16(const __half2* x, const __half2* bias,
                                               __half2* out, uint32_t rows, uint32_t cols) {
  const uint32_t pairs_per_row = cols / 2;
  const size_t n = (size_t)rows * pairs_per_row;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    float2 v = __half22float2(x[i]);
    float2 b = __half22float2(bias[i % pairs_per_row]);
    float a = v.x + b.x, c = v.y + b.y;
    a = 0.5f * a * (1.0f + erff(a * 0.70710678118654752f));
    c = 0.5f * c * (1.0f + erff(c * 0.70710678118654752f));
    out[i] = __floats2half2_rn(a, c);
  }
}

// out = LayerNorm(x + bias + residual) * gamma + beta, one warp per row.
// params: [3, cols] = bias, gamma, beta. cols even and at most 64 * QUIRE_LN_PAIRS.
#define QUIRE_LN_PAIRS 16
extern "C" __global__ void quire_bias_residual_layernorm_f16(
    const __half2* x, const __half2* residual, const __half2* params, __half2* out,
    uint32_t rows, uint32_t cols, float eps) {
  const uint32_t warps = blockDim.x / 32;
  const uint32_t row = blockIdx.x * warps + threadIdx.x / 32;
  const uint32_t lane = threadIdx.x % 32;
  if (row >= rows) return;  // the whole warp: a row belongs to one warp
  const uint32_t pairs = cols / 2;
  const __half2* xr = x + (size_t)row * pairs;
  const __half2* rr = residual + (size_t)row * pairs;
  const __half2* bias = params;
  const __half2* gamma = params + pairs;
  const __half2* beta = params + 2 * pairs;
  float2 v[QUIRE_LN_PAIRS];
  float sum = 0.f;
#pragma unroll
  for (int k = 0; k < QUIRE_LN_PAIRS; k++) {
    const uint32_t j = lane + 32 * k;
    v[k] = make_float2(0.f, 0.f);
    if (j < pairs) {
      float2 a = __half22float2(xr[j]), r = __half22float2(rr[j]), b = __half22float2(bias[j]);
      v[k] = make_float2(a.x + r.x + b.x, a.y + r.y + b.y);
      sum += v[k].x + v[k].y;
    }
  }
  const float mean = quire_warp_sum(sum) / (float)cols;
  float var = 0.f;
#pragma unroll
  for (int k = 0; k < QUIRE_LN_PAIRS; k++) {
    if (lane + 32 * k < pairs) {
      const float dx = v[k].x - mean, dy = v[k].y - mean;
      var += dx * dx + dy * dy;
    }
  }
  const float inv = rsqrtf(quire_warp_sum(var) / (float)cols + eps);
  __half2* o = out + (size_t)row * pairs;
#pragma unroll
  for (int k = 0; k < QUIRE_LN_PAIRS; k++) {
    const uint32_t j = lane + 32 * k;
    if (j < pairs) {
      float2 g = __half22float2(gamma[j]), b = __half22float2(beta[j]);
      o[j] = __floats2half2_rn((v[k].x - mean) * inv * g.x + b.x, (v[k].y - mean) * inv * g.y + b.y);
    }
  }
}

// out[s] = mean of rows offsets[s]..offsets[s+1] of x, L2-normalised, as f32. One block per
// sequence, blockDim a multiple of 32 (at most 1024).
extern "C" __global__ void quire_mean_pool_f16(const __half* x, const uint32_t* offsets,
                                               float* out, uint32_t cols) {
  __shared__ float partial[32];
  const uint32_t s = blockIdx.x;
  const uint32_t start = offsets[s], end = offsets[s + 1];
  const float inv_n = 1.0f / (float)(end > start ? end - start : 1u);
  float* o = out + (size_t)s * cols;
  float squares = 0.f;
  for (uint32_t c = threadIdx.x; c < cols; c += blockDim.x) {
    float acc = 0.f;
    for (uint32_t r = start; r < end; r++) acc += __half2float(x[(size_t)r * cols + c]);
    acc *= inv_n;
    o[c] = acc;
    squares += acc * acc;
  }
  squares = quire_warp_sum(squares);
  const uint32_t lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) partial[warp] = squares;
  __syncthreads();
  if (warp == 0) {
    float t = lane < blockDim.x / 32 ? partial[lane] : 0.f;
    t = quire_warp_sum(t);
    if (lane == 0) partial[0] = t;
  }
  __syncthreads();
  const float inv_norm = 1.0f / fmaxf(sqrtf(partial[0]), 1e-12f);
  for (uint32_t c = threadIdx.x; c < cols; c += blockDim.x) o[c] *= inv_norm;
}

#ifdef QUIRE_HAVE_WMMA
// Attention for one (query tile of 64, head, sequence) per block of 4 warps; each warp owns 16
// query rows. Keys and values stream through shared memory in tiles of 64; scores and the
// running output stay in shared memory as f32, probabilities as f16 for the tensor cores.
//
// qkv: [tokens, 3 * hidden] without bias (query | key | value, each heads x D); bias: [3 * hidden];
// out: [tokens, hidden]. grid = (ceil(max_len / 64), heads, sequences); dynamic shared memory
// quire_attention_smem(D) bytes.
namespace quire_attn {
using namespace nvcuda;
constexpr int BQ = 64, BK = 64, WARPS = 4;

template <int D>
struct Smem {
  static constexpr int LDH = D + 8;   // row stride of the f16 tiles (Q, K, V)
  static constexpr int LDS = BK + 4;  // row stride of the f32 scores
  static constexpr int LDP = BK + 8;  // row stride of the f16 probabilities
  static constexpr int LDO = D + 4;   // row stride of the f32 output accumulator
  static constexpr size_t q = 0;
  static constexpr size_t k = q + sizeof(__half) * BQ * LDH;
  static constexpr size_t v = k + sizeof(__half) * BK * LDH;
  static constexpr size_t s = v + sizeof(__half) * BK * LDH;
  static constexpr size_t p = s + sizeof(float) * WARPS * 16 * LDS;
  static constexpr size_t o = p + sizeof(__half) * WARPS * 16 * LDP;
  static constexpr size_t bytes = o + sizeof(float) * WARPS * 16 * LDO;
};

// Copies rows [first, first + count) of one head's query, key or value (bias added, times
// `scale`) into a tile of `rows` rows; rows past `count` are zero.
template <int D>
__device__ __forceinline__ void load_tile(__half* tile, const __half* qkv, const __half* bias,
                                          uint32_t row0, uint32_t count, int rows,
                                          uint32_t stride, float scale) {
  constexpr int PAIRS = D / 2;
  for (int i = threadIdx.x; i < rows * PAIRS; i += blockDim.x) {
    const int r = i / PAIRS, c = 2 * (i % PAIRS);
    float2 val = make_float2(0.f, 0.f);
    if ((uint32_t)r < count) {
      const float2 a = __half22float2(*(const __half2*)(qkv + (size_t)(row0 + r) * stride + c));
      const float2 b = __half22float2(*(const __half2*)(bias + c));
      val = make_float2((a.x + b.x) * scale, (a.y + b.y) * scale);
    }
    *(__half2*)(tile + r * Smem<D>::LDH + c) = __floats2half2_rn(val.x, val.y);
  }
}

template <int D>
__device__ void attention(const __half* qkv, const __half* bias, const uint32_t* offsets,
                          __half* out, uint32_t heads, float scale, unsigned char* smem) {
  using L = Smem<D>;
  const uint32_t seq = blockIdx.z, head = blockIdx.y;
  const uint32_t start = offsets[seq], len = offsets[seq + 1] - start;
  const uint32_t q0 = blockIdx.x * BQ;
  if (q0 >= len) return;  // the whole block
  const uint32_t hidden = heads * D, stride = 3 * hidden;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  __half* qs = (__half*)(smem + L::q);
  __half* ks = (__half*)(smem + L::k);
  __half* vs = (__half*)(smem + L::v);
  float* sw = (float*)(smem + L::s) + warp * 16 * L::LDS;
  __half* pw = (__half*)(smem + L::p) + warp * 16 * L::LDP;
  float* ow = (float*)(smem + L::o) + warp * 16 * L::LDO;

  const uint32_t qcount = len - q0 < (uint32_t)BQ ? len - q0 : (uint32_t)BQ;
  load_tile<D>(qs, qkv + head * D, bias + head * D, start + q0, qcount, BQ, stride, scale);
  for (int i = lane; i < 16 * L::LDO; i += 32) ow[i] = 0.f;
  __syncthreads();
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> qf[D / 16];
#pragma unroll
  for (int k = 0; k < D / 16; k++) wmma::load_matrix_sync(qf[k], qs + warp * 16 * L::LDH + k * 16, L::LDH);

  // This lane's share of the warp's 16 rows: row `r`, columns [side * 32, side * 32 + 32) of a
  // score tile and [side * D / 2, (side + 1) * D / 2) of the output.
  const int r = lane / 2, side = lane % 2;
  float row_max = -INFINITY, row_sum = 0.f;

  for (uint32_t k0 = 0; k0 < len; k0 += BK) {
    const uint32_t kcount = len - k0 < (uint32_t)BK ? len - k0 : (uint32_t)BK;
    load_tile<D>(ks, qkv + hidden + head * D, bias + hidden + head * D, start + k0, kcount, BK, stride, 1.f);
    load_tile<D>(vs, qkv + 2 * hidden + head * D, bias + 2 * hidden + head * D, start + k0, kcount, BK, stride, 1.f);
    __syncthreads();

    // Scores: S = Q K^T for this warp's rows, 16 keys at a time.
#pragma unroll
    for (int n = 0; n < BK / 16; n++) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
#pragma unroll
      for (int k = 0; k < D / 16; k++) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> kf;
        wmma::load_matrix_sync(kf, ks + n * 16 * L::LDH + k * 16, L::LDH);
        wmma::mma_sync(acc, qf[k], kf, acc);
      }
      wmma::store_matrix_sync(sw + n * 16, acc, L::LDS, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax: new running max, rescale what was summed so far, probabilities as f16.
    const float* srow = sw + r * L::LDS;
    float tile_max = -INFINITY;
    for (int c = side * 32; c < side * 32 + 32; c++)
      if ((uint32_t)c < kcount) tile_max = fmaxf(tile_max, srow[c]);
    tile_max = fmaxf(tile_max, __shfl_xor_sync(QUIRE_FULL_MASK, tile_max, 1));
    const float new_max = fmaxf(row_max, tile_max);  // finite: every tile has a real key
    const float rescale = __expf(row_max - new_max);  // 0 on the first tile
    float tile_sum = 0.f;
    __half* prow = pw + r * L::LDP;
    for (int c = side * 32; c < side * 32 + 32; c++) {
      const float e = (uint32_t)c < kcount ? __expf(srow[c] - new_max) : 0.f;
      prow[c] = __float2half(e);
      tile_sum += e;
    }
    tile_sum += __shfl_xor_sync(QUIRE_FULL_MASK, tile_sum, 1);
    row_sum = row_sum * rescale + tile_sum;
    row_max = new_max;
    float* orow = ow + r * L::LDO;
    for (int d = side * (D / 2); d < (side + 1) * (D / 2); d++) orow[d] *= rescale;
    __syncwarp();

    // O += P V.
#pragma unroll
    for (int n = 0; n < D / 16; n++) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, ow + n * 16, L::LDO, wmma::mem_row_major);
#pragma unroll
      for (int k = 0; k < BK / 16; k++) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> pf;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> vf;
        wmma::load_matrix_sync(pf, pw + k * 16, L::LDP);
        wmma::load_matrix_sync(vf, vs + k * 16 * L::LDH + n * 16, L::LDH);
        wmma::mma_sync(acc, pf, vf, acc);
      }
      wmma::store_matrix_sync(ow + n * 16, acc, L::LDO, wmma::mem_row_major);
    }
    __syncthreads();  // every warp is done with this key tile before the next one loads
  }

  const uint32_t q = q0 + warp * 16 + r;
  if (q < len) {
    const float inv = 1.f / row_sum;
    const float* orow = ow + r * L::LDO;
    __half* o = out + (size_t)(start + q) * hidden + head * D;
    for (int d = side * (D / 2); d < (side + 1) * (D / 2); d += 2)
      *(__half2*)(o + d) = __floats2half2_rn(orow[d] * inv, orow[d + 1] * inv);
  }
}
}  // namespace quire_attn

extern "C" __global__ void quire_attention_d32(const __half* qkv, const __half* bias,
                                               const uint32_t* offsets, __half* out,
                                               uint32_t heads, float scale) {
  QUIRE_DYNAMIC_SHARED(smem);
  quire_attn::attention<32>(qkv, bias, offsets, out, heads, scale, smem);
}

extern "C" __global__ void quire_attention_d64(const __half* qkv, const __half* bias,
                                               const uint32_t* offsets, __half* out,
                                               uint32_t heads, float scale) {
  QUIRE_DYNAMIC_SHARED(smem);
  quire_attn::attention<64>(qkv, bias, offsets, out, heads, scale, smem);
}
#endif
