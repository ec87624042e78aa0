// Just enough of CUDA to run Quire's kernels (kernels/bert.cu) on the CPU, for testing them on
// machines without a GPU. Every CUDA thread of a block is an OS thread, so barriers, warp
// shuffles and shared memory behave as they do on a GPU (blocks run one after another):
//   __syncthreads / __syncwarp   std::barrier over the block / the warp
//   __shfl_xor_sync              through a per-warp exchange buffer
//   __shared__ / dynamic shared  function statics / one buffer per block
//   wmma fragments               whole 16x16 matrices held by every lane; f16 operands are
//                                rounded to f16, products summed in f32 as tensor cores do;
//                                stores are written by lane 0 only, so a missing __syncwarp
//                                before other lanes read shows up as a wrong result
// It checks the kernels' arithmetic and indexing, not GPU timing or memory-model subtleties.
#pragma once
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __align__(n) alignas(n)

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};
struct float2 {
  float x, y;
};
inline float2 make_float2(float x, float y) { return {x, y}; }

struct __half {
  _Float16 v;
};
struct __half2 {
  __half x, y;
};
inline float __half2float(__half h) { return (float)h.v; }
inline __half __float2half(float f) { return {(_Float16)f}; }
inline float2 __half22float2(__half2 h) { return {(float)h.x.v, (float)h.y.v}; }
inline __half2 __floats2half2_rn(float a, float b) { return {{(_Float16)a}, {(_Float16)b}}; }
inline float __expf(float x) { return std::exp(x); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }

namespace quire_emu {
struct Block {
  std::unique_ptr<std::barrier<>> all;
  std::vector<std::unique_ptr<std::barrier<>>> warps;
  std::vector<uint32_t> exchange;  // one word per thread, for shuffles
  // Aligned as CUDA aligns dynamic shared memory, so the fragment checks below mean something.
  struct Free {
    void operator()(unsigned char* p) const { std::free(p); }
  };
  std::unique_ptr<unsigned char[], Free> dynamic_shared;
};
inline Block* block = nullptr;
}  // namespace quire_emu

inline dim3 gridDim, blockDim;
inline thread_local dim3 blockIdx, threadIdx;

inline void __syncthreads() { quire_emu::block->all->arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) {
  quire_emu::block->warps[threadIdx.x / 32]->arrive_and_wait();
}
inline float __shfl_xor_sync(unsigned, float v, int mask) {
  auto& ex = quire_emu::block->exchange;
  const unsigned lane = threadIdx.x % 32, base = threadIdx.x - lane;
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  ex[threadIdx.x] = bits;
  __syncwarp();
  bits = ex[base + (lane ^ (unsigned)mask)];
  __syncwarp();
  std::memcpy(&v, &bits, 4);
  return v;
}

#define QUIRE_DYNAMIC_SHARED(name) unsigned char* name = quire_emu::block->dynamic_shared.get()
#define QUIRE_HAVE_WMMA 1

// Runs `kernel(args...)` over the grid, one block at a time, each with blockDim.x OS threads.
template <typename... Params, typename... Args>
void quire_emu_launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
                      Args... args) {
  gridDim = grid;
  blockDim = block;
  const unsigned threads = block.x;
  for (unsigned z = 0; z < grid.z; z++)
    for (unsigned y = 0; y < grid.y; y++)
      for (unsigned x = 0; x < grid.x; x++) {
        quire_emu::Block b;
        b.all = std::make_unique<std::barrier<>>(threads);
        for (unsigned w = 0; w < (threads + 31) / 32; w++)
          b.warps.push_back(std::make_unique<std::barrier<>>(threads - w * 32 < 32 ? threads - w * 32 : 32));
        b.exchange.assign(threads, 0);
        const size_t rounded = (shared_bytes + 127) / 128 * 128 + 128;
        b.dynamic_shared.reset(static_cast<unsigned char*>(std::aligned_alloc(128, rounded)));
        std::memset(b.dynamic_shared.get(), 0xAB, rounded);  // garbage, as on a GPU
        quire_emu::block = &b;
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < threads; t++)
          pool.emplace_back([&, t] {
            blockIdx = {x, y, z};
            threadIdx = {t, 0, 0};
            kernel(args...);
          });
        for (auto& th : pool) th.join();
        quire_emu::block = nullptr;
      }
}

namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
  // matrix_a: M x K, matrix_b: K x N, accumulator: M x N; row-major here whatever the layout.
  static constexpr int rows = std::is_same_v<Use, matrix_b> ? K : M;
  static constexpr int cols = std::is_same_v<Use, matrix_a> ? K : N;
  float x[rows * cols];
};

template <typename Use, int M, int N, int K, typename T, typename L>
void fill_fragment(fragment<Use, M, N, K, T, L>& f, float v) {
  for (auto& e : f.x) e = v;
}

// What CUDA requires of wmma loads and stores (else undefined behaviour): a 256-bit aligned
// pointer, and a row stride that is a multiple of 16 bytes.
template <typename P>
void check_fragment_memory(const P* p, unsigned ldm) {
  if (reinterpret_cast<uintptr_t>(p) % 32 != 0 || (ldm * sizeof(P)) % 16 != 0) {
    std::fprintf(stderr, "wmma: misaligned pointer %p or stride %u\n", (const void*)p, ldm);
    std::abort();
  }
}

inline float as_float(const __half& h) { return (float)h.v; }
inline float as_float(const float& f) { return f; }

// Operand fragments: the layout says how the matrix lies in memory.
template <typename Use, int M, int N, int K, typename T, typename L, typename P>
void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const P* p, unsigned ldm) {
  using F = fragment<Use, M, N, K, T, L>;
  check_fragment_memory(p, ldm);
  for (int i = 0; i < F::rows; i++)
    for (int j = 0; j < F::cols; j++)
      f.x[i * F::cols + j] = as_float(std::is_same_v<L, col_major> ? p[j * ldm + i] : p[i * ldm + j]);
}

template <int M, int N, int K>
void load_matrix_sync(fragment<accumulator, M, N, K, float>& f, const float* p, unsigned ldm,
                      layout_t layout) {
  check_fragment_memory(p, ldm);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++)
      f.x[i * N + j] = layout == mem_row_major ? p[i * ldm + j] : p[j * ldm + i];
}

template <int M, int N, int K>
void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm,
                       layout_t layout) {
  check_fragment_memory(p, ldm);
  __syncwarp();  // every lane has computed its copy
  if (threadIdx.x % 32 == 0)
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) (layout == mem_row_major ? p[i * ldm + j] : p[j * ldm + i]) = f.x[i * N + j];
}

template <int M, int N, int K, typename LA, typename LB>
void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, __half, LA>& a,
              const fragment<matrix_b, M, N, K, __half, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
  float out[M * N];
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float s = c.x[i * N + j];
      for (int k = 0; k < K; k++) s += a.x[i * K + k] * b.x[k * N + j];
      out[i * N + j] = s;
    }
  std::memcpy(d.x, out, sizeof out);
}
}  // namespace wmma
}  // namespace nvcuda
