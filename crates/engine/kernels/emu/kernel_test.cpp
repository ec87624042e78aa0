// Runs every kernel of kernels/bert.cu on the CPU (cuda_emu.h) and compares it with a plain
// double-precision reference on random data, including the edges: sequences of 1 token, exactly
// one tile, one past a tile, several tiles; rows that do not fill a block.
//
//   g++ -std=c++20 -O2 -pthread -Wno-unknown-pragmas -I kernels kernels/emu/kernel_test.cpp
//
// Prints one line per check and exits 1 when any is off by more than its tolerance.
#define QUIRE_CUDA_EMU 1
#include "../bert.cu"

#include <cstdio>
#include <random>

static std::mt19937 rng(7);
static int failures = 0;

static std::vector<__half> random_halves(size_t n, float scale) {
  std::normal_distribution<float> normal(0.f, scale);
  std::vector<__half> v(n);
  for (auto& h : v) h = __float2half(normal(rng));
  return v;
}
static double f(__half h) { return (double)__half2float(h); }
static double r16(double x) { return (double)__half2float(__float2half((float)x)); }

static void report(const char* what, double worst, double tolerance) {
  const bool ok = worst <= tolerance;
  failures += !ok;
  std::printf("%-44s largest difference %.2e (tolerance %.0e) %s\n", what, worst, tolerance,
              ok ? "ok" : "FAILED");
}

static double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

static void check_bias_gelu(uint32_t rows, uint32_t cols) {
  auto x = random_halves(rows * cols, 2.f), bias = random_halves(cols, 1.f);
  std::vector<__half> out(rows * cols);
  quire_emu_launch(quire_bias_gelu_f16, dim3{3}, dim3{64}, 0, (const __half2*)x.data(),
                   (const __half2*)bias.data(), (__half2*)out.data(), rows, cols);
  double worst = 0;
  for (uint32_t i = 0; i < rows * cols; i++)
    worst = std::max(worst, std::abs(f(out[i]) - gelu(f(x[i]) + f(bias[i % cols]))));
  char what[80];
  std::snprintf(what, sizeof what, "bias + gelu %ux%u", rows, cols);
  report(what, worst, 1e-2);
}

static void check_layernorm(uint32_t rows, uint32_t cols) {
  auto x = random_halves(rows * cols, 1.f), res = random_halves(rows * cols, 1.f);
  auto params = random_halves(3 * cols, 0.5f);
  std::vector<__half> out(rows * cols);
  const uint32_t warps = 4;
  quire_emu_launch(quire_bias_residual_layernorm_f16, dim3{(rows + warps - 1) / warps},
                   dim3{32 * warps}, 0, (const __half2*)x.data(), (const __half2*)res.data(),
                   (const __half2*)params.data(), (__half2*)out.data(), rows, cols, 1e-12f);
  double worst = 0;
  for (uint32_t r = 0; r < rows; r++) {
    std::vector<double> v(cols);
    double mean = 0, var = 0;
    for (uint32_t c = 0; c < cols; c++) mean += v[c] = f(x[r * cols + c]) + f(res[r * cols + c]) + f(params[c]);
    mean /= cols;
    for (double e : v) var += (e - mean) * (e - mean);
    var /= cols;
    for (uint32_t c = 0; c < cols; c++) {
      const double want = (v[c] - mean) / std::sqrt(var + 1e-12) * f(params[cols + c]) + f(params[2 * cols + c]);
      worst = std::max(worst, std::abs(f(out[r * cols + c]) - want));
    }
  }
  char what[80];
  std::snprintf(what, sizeof what, "bias + residual + layer norm %ux%u", rows, cols);
  report(what, worst, 1e-2);
}

static void check_mean_pool(std::vector<uint32_t> lens, uint32_t cols) {
  std::vector<uint32_t> offsets{0};
  for (auto l : lens) offsets.push_back(offsets.back() + l);
  auto x = random_halves(offsets.back() * cols, 1.f);
  std::vector<float> out(lens.size() * cols);
  quire_emu_launch(quire_mean_pool_f16, dim3{(unsigned)lens.size()}, dim3{128}, 0, x.data(),
                   offsets.data(), out.data(), cols);
  double worst = 0;
  for (size_t s = 0; s < lens.size(); s++) {
    std::vector<double> mean(cols, 0.0);
    double norm = 0;
    for (uint32_t r = offsets[s]; r < offsets[s + 1]; r++)
      for (uint32_t c = 0; c < cols; c++) mean[c] += f(x[r * cols + c]) / lens[s];
    for (double m : mean) norm += m * m;
    norm = std::sqrt(norm);
    for (uint32_t c = 0; c < cols; c++) worst = std::max(worst, std::abs(out[s * cols + c] - mean[c] / norm));
  }
  report("masked mean pooling, L2 normalised", worst, 1e-5);
}

template <int D>
static void check_attention(void (*kernel)(const __half*, const __half*, const uint32_t*, __half*, uint32_t, float),
                            std::vector<uint32_t> lens, uint32_t heads) {
  const uint32_t hidden = heads * D, stride = 3 * hidden;
  std::vector<uint32_t> offsets{0};
  uint32_t max_len = 0;
  for (auto l : lens) {
    offsets.push_back(offsets.back() + l);
    max_len = std::max(max_len, l);
  }
  const uint32_t tokens = offsets.back();
  auto qkv = random_halves(tokens * stride, 1.5f), bias = random_halves(stride, 0.5f);
  std::vector<__half> out(tokens * hidden, __float2half(NAN));
  const float scale = 1.0f / std::sqrt((float)D);
  quire_emu_launch(kernel, dim3{(max_len + 63) / 64, heads, (unsigned)lens.size()}, dim3{128},
                   quire_attn::Smem<D>::bytes, (const __half*)qkv.data(), (const __half*)bias.data(),
                   (const uint32_t*)offsets.data(), out.data(), heads, scale);
  double worst = 0;
  for (size_t s = 0; s < lens.size(); s++)
    for (uint32_t h = 0; h < heads; h++)
      for (uint32_t i = 0; i < lens[s]; i++) {
        const uint32_t qi = offsets[s] + i;
        std::vector<double> scores(lens[s]);
        double top = -INFINITY, total = 0;
        for (uint32_t j = 0; j < lens[s]; j++) {
          const uint32_t kj = offsets[s] + j;
          double dot = 0;
          for (int d = 0; d < D; d++) {
            const uint32_t c = h * D + d;
            // The kernel rounds the biased (and scaled) operands to f16, as its tiles hold them.
            const double q = r16((f(qkv[qi * stride + c]) + f(bias[c])) * scale);
            const double k = r16(f(qkv[kj * stride + hidden + c]) + f(bias[hidden + c]));
            dot += q * k;
          }
          scores[j] = dot;
          top = std::max(top, dot);
        }
        for (auto& e : scores) total += e = std::exp(e - top);
        for (int d = 0; d < D; d++) {
          const uint32_t c = h * D + d;
          double want = 0;
          for (uint32_t j = 0; j < lens[s]; j++)
            want += scores[j] / total * r16(f(qkv[(offsets[s] + j) * stride + 2 * hidden + c]) + f(bias[2 * hidden + c]));
          const double got = f(out[qi * hidden + c]);
          worst = std::isnan(got) ? INFINITY : std::max(worst, std::abs(got - want));
        }
      }
  char what[80];
  std::snprintf(what, sizeof what, "attention, head size %d, %zu sequences", D, lens.size());
  report(what, worst, 2e-2);
}

int main() {
  check_bias_gelu(5, 38);
  check_bias_gelu(64, 1536);
  check_layernorm(7, 384);
  check_layernorm(9, 1024);
  check_layernorm(3, 70);
  check_mean_pool({3, 1, 20, 64}, 384);
  check_attention<32>(quire_attention_d32, {1, 5, 64, 65, 130}, 2);
  check_attention<64>(quire_attention_d64, {17, 1, 128, 200}, 3);
  std::printf(failures ? "%d checks FAILED\n" : "all kernel checks passed\n", failures);
  return failures ? 1 : 0;
}
