/*
 * The work of a Llama block outside its matrix products, each as one pass in C instead of a chain
 * of TensorFlow.js kernels (pipeline/models/llama-ops.ts calls them; each has a TensorFlow.js
 * twin there that the tests compare it with):
 *
 *   rmsNorm / rmsNormGrad       y = g ⊙ x · s,  s = 1/√(mean(x²) + ε), per row, and its gradient
 *   rope                        rotary positions fused with the move between token-major
 *                               (n, T, heads, hs) and head-major (n, heads, T, hs) layouts
 *   swiglu / swigluGrad         the gated MLP's a · σ(βa) · b and its gradient
 *   causalSoftmax / …Grad       attention probabilities under the causal mask, and their gradient
 *   attendCached                one new position per sequence: rotate q and k, write k and v into
 *                               the key/value cache in place, attend over the cache
 *   sampleRows                  a token per row: argmax of logits, or a nucleus (top-p) draw from
 *                               probabilities
 *   hugeFloat32Array            zeroed memory in 2 MiB pages, for the key/value cache
 *
 * Float32 arithmetic one operation at a time, in the order the TensorFlow.js twins use (the build
 * turns off multiply-add contraction), except where a comment says a sum is kept in double; the
 * gate's exponential is fast_exp.h's (within 2 ulp of expf).
 * Matrices are row-major.
 */
#define _DEFAULT_SOURCE /* mmap's MAP_ANONYMOUS and madvise's MADV_HUGEPAGE */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "fast_exp.h"
#include "napi_args.h"

/* The whole numbers of a binding, read in order; false (with an exception) on the first bad one. */
static bool get_ints(napi_env env, napi_value* argv, int count, const char* fn, const char* const* names, int64_t* out) {
  for (int i = 0; i < count; i++)
    if (!get_int(env, argv[i], 0, INT32_MAX, fn, names[i], &out[i])) return false;
  return true;
}

/*
 * rmsNorm(x, gain, rows, d, eps, out, inv): out[r] = gain ⊙ x[r] · inv[r] with
 * inv[r] = 1/√(mean(x[r]²) + ε); gain may be empty (all ones). inv is kept for the gradient.
 * The mean of squares is summed in double.
 */
static napi_value rms_norm(napi_env env, napi_callback_info info) {
  const char* fn = "rmsNorm";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 7, argv, fn)) return NULL;
  Array X, G, O, S;
  int64_t rows, d;
  double eps;
  if (!get_array(env, argv[0], napi_float32_array, fn, "x", &X) || !get_array(env, argv[1], napi_float32_array, fn, "gain", &G) ||
      !get_int(env, argv[2], 0, INT32_MAX, fn, "rows", &rows) || !get_int(env, argv[3], 1, INT32_MAX, fn, "d", &d) ||
      !get_double(env, argv[4], fn, "eps", &eps) || !get_array(env, argv[5], napi_float32_array, fn, "out", &O) ||
      !get_array(env, argv[6], napi_float32_array, fn, "inv", &S))
    return NULL;
  const uint64_t size = (uint64_t)rows * (uint64_t)d;
  if (!has_length(env, &X, size, fn, "x") || !has_length(env, &O, size, fn, "out") || !has_length(env, &S, rows, fn, "inv")) return NULL;
  if (G.length != 0 && G.length != (size_t)d) return fail_range(env, fn, "gain must hold d values, or none");
  const float* x = X.data;
  const float* g = G.length ? G.data : NULL;
  float* out = O.data;
  float* inv = S.data;
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * d;
    float* yr = out + r * d;
    double squares = 0;
    for (int64_t j = 0; j < d; j++) squares += (double)xr[j] * xr[j];
    const float s = (float)(1.0 / sqrt(squares / (double)d + eps));
    inv[r] = s;
    if (g)
      for (int64_t j = 0; j < d; j++) yr[j] = (xr[j] * s) * g[j];
    else
      for (int64_t j = 0; j < d; j++) yr[j] = xr[j] * s;
  }
  return NULL;
}

/*
 * rmsNormGrad(dy, x, gain, inv, rows, d, dx, dgain): the gradient of rmsNorm,
 *   dx_j = s·g_j·dy_j − x_j · s³/d · Σ_k dy_k g_k x_k,        dgain_j = Σ_r dy_rj x_rj s_r
 * (dgain is written, not accumulated; ignored when gain is empty). Sums in double.
 */
static napi_value rms_norm_grad(napi_env env, napi_callback_info info) {
  const char* fn = "rmsNormGrad";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 8, argv, fn)) return NULL;
  Array DY, X, G, S, DX, DG;
  int64_t rows, d;
  if (!get_array(env, argv[0], napi_float32_array, fn, "dy", &DY) || !get_array(env, argv[1], napi_float32_array, fn, "x", &X) ||
      !get_array(env, argv[2], napi_float32_array, fn, "gain", &G) || !get_array(env, argv[3], napi_float32_array, fn, "inv", &S) ||
      !get_int(env, argv[4], 0, INT32_MAX, fn, "rows", &rows) || !get_int(env, argv[5], 1, INT32_MAX, fn, "d", &d) ||
      !get_array(env, argv[6], napi_float32_array, fn, "dx", &DX) || !get_array(env, argv[7], napi_float32_array, fn, "dgain", &DG))
    return NULL;
  const uint64_t size = (uint64_t)rows * (uint64_t)d;
  if (!has_length(env, &DY, size, fn, "dy") || !has_length(env, &X, size, fn, "x") || !has_length(env, &DX, size, fn, "dx") ||
      !has_length(env, &S, rows, fn, "inv"))
    return NULL;
  const bool gained = G.length != 0;
  if (gained && (G.length != (size_t)d || DG.length != (size_t)d)) return fail_range(env, fn, "gain and dgain must hold d values (or gain none)");
  const float *dy = DY.data, *x = X.data, *g = gained ? G.data : NULL, *inv = S.data;
  float* dx = DX.data;
  double* dg = gained ? calloc((size_t)d, sizeof(double)) : NULL;
  if (gained && !dg) return fail_range(env, fn, "out of memory");
  for (int64_t r = 0; r < rows; r++) {
    const float *dyr = dy + r * d, *xr = x + r * d;
    float* dxr = dx + r * d;
    const double s = inv[r];
    double dot = 0;
    for (int64_t j = 0; j < d; j++) dot += (double)dyr[j] * (g ? g[j] : 1.0f) * xr[j];
    const double c = s * s * s * dot / (double)d;
    for (int64_t j = 0; j < d; j++) dxr[j] = (float)(s * dyr[j] * (g ? g[j] : 1.0f) - xr[j] * c);
    if (g)
      for (int64_t j = 0; j < d; j++) dg[j] += (double)dyr[j] * xr[j] * s;
  }
  if (gained) {
    float* out = DG.data;
    for (int64_t j = 0; j < d; j++) out[j] = (float)dg[j];
    free(dg);
  }
  return NULL;
}

/*
 * rope(input, output, n, T, heads, hs, pos0, cos, sin, forward): rotary positions. Forward: input
 * token-major (n, T, heads, hs), output head-major (n, heads, T, hs), each pair (x₂ᵢ, x₂ᵢ₊₁) of a
 * head at position p = pos0 + t turned by its angle: (x₀c − x₁s, x₁c + x₀s), c = cos[p, i],
 * s = sin[p, i] (tables of (positions, hs/2)). Backward (the gradient): input head-major, output
 * token-major, each pair turned back: (y₀c + y₁s, y₁c − y₀s).
 */
static napi_value rope(napi_env env, napi_callback_info info) {
  const char* fn = "rope";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 10, argv, fn)) return NULL;
  Array In, Out, Cos, Sin;
  int64_t v[5];
  static const char* const names[] = {"n", "T", "heads", "hs", "pos0"};
  bool forward;
  if (!get_array(env, argv[0], napi_float32_array, fn, "input", &In) || !get_array(env, argv[1], napi_float32_array, fn, "output", &Out) ||
      !get_ints(env, argv + 2, 5, fn, names, v) || !get_array(env, argv[7], napi_float32_array, fn, "cos", &Cos) ||
      !get_array(env, argv[8], napi_float32_array, fn, "sin", &Sin) || !get_bool(env, argv[9], fn, "forward", &forward))
    return NULL;
  const int64_t n = v[0], T = v[1], H = v[2], hs = v[3], pos0 = v[4], half = hs / 2;
  if (hs % 2 != 0) return fail_range(env, fn, "hs must be even");
  const uint64_t size = (uint64_t)n * T * H * hs, table = (uint64_t)(pos0 + T) * half;
  if (!has_length(env, &In, size, fn, "input") || !has_length(env, &Out, size, fn, "output") || !has_length(env, &Cos, table, fn, "cos") ||
      !has_length(env, &Sin, table, fn, "sin"))
    return NULL;
  const float *in = In.data, *cs = Cos.data, *sn = Sin.data;
  float* out = Out.data;
  for (int64_t b = 0; b < n; b++)
    for (int64_t t = 0; t < T; t++) {
      const float *c = cs + (pos0 + t) * half, *s = sn + (pos0 + t) * half;
      for (int64_t h = 0; h < H; h++) {
        const int64_t token_major = ((b * T + t) * H + h) * hs, head_major = ((b * H + h) * T + t) * hs;
        const float* x = in + (forward ? token_major : head_major);
        float* y = out + (forward ? head_major : token_major);
        if (forward)
          for (int64_t i = 0; i < half; i++) {
            const float x0 = x[2 * i], x1 = x[2 * i + 1];
            y[2 * i] = x0 * c[i] - x1 * s[i];
            y[2 * i + 1] = x1 * c[i] + x0 * s[i];
          }
        else
          for (int64_t i = 0; i < half; i++) {
            const float y0 = x[2 * i], y1 = x[2 * i + 1];
            y[2 * i] = y0 * c[i] + y1 * s[i];
            y[2 * i + 1] = y1 * c[i] - y0 * s[i];
          }
      }
    }
  return NULL;
}

/* The gate's loops (σ by exp_vec), compiled twice and chosen at load by the CPU (AVX2 where it has it). */
__attribute__((target_clones("avx2", "default"))) static void swiglu_loop(const float* a, const float* b, float beta, float* out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float sigma = 1.0f / (1.0f + exp_vec(-(a[i] * beta)));
    out[i] = (a[i] * sigma) * b[i];
  }
}

__attribute__((target_clones("avx2", "default"))) static void swiglu_grad_loop(const float* dy, const float* a, const float* b, float beta, float* da,
                                                                              float* db, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float za = a[i] * beta;
    const float sigma = 1.0f / (1.0f + exp_vec(-za));
    db[i] = dy[i] * (a[i] * sigma);
    da[i] = (dy[i] * b[i]) * (sigma + za * (sigma * (1.0f - sigma)));
  }
}

/* swiglu(a, b, beta, out): out = (a · σ(βa)) · b element-wise, σ(z) = 1/(1 + e^(−z)). */
static napi_value swiglu(napi_env env, napi_callback_info info) {
  const char* fn = "swiglu";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 4, argv, fn)) return NULL;
  Array A, B, O;
  double beta;
  if (!get_array(env, argv[0], napi_float32_array, fn, "a", &A) || !get_array(env, argv[1], napi_float32_array, fn, "b", &B) ||
      !get_double(env, argv[2], fn, "beta", &beta) || !get_array(env, argv[3], napi_float32_array, fn, "out", &O))
    return NULL;
  if (!has_length(env, &B, A.length, fn, "b") || !has_length(env, &O, A.length, fn, "out")) return NULL;
  swiglu_loop(A.data, B.data, (float)beta, O.data, A.length);
  return NULL;
}

/*
 * swigluGrad(dy, a, b, beta, da, db): the gradient of swiglu,
 *   da = dy · b · (σ + βa·σ(1 − σ)),   db = dy · a·σ,   σ = σ(βa).
 */
static napi_value swiglu_grad(napi_env env, napi_callback_info info) {
  const char* fn = "swigluGrad";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 6, argv, fn)) return NULL;
  Array DY, A, B, DA, DB;
  double beta;
  if (!get_array(env, argv[0], napi_float32_array, fn, "dy", &DY) || !get_array(env, argv[1], napi_float32_array, fn, "a", &A) ||
      !get_array(env, argv[2], napi_float32_array, fn, "b", &B) || !get_double(env, argv[3], fn, "beta", &beta) ||
      !get_array(env, argv[4], napi_float32_array, fn, "da", &DA) || !get_array(env, argv[5], napi_float32_array, fn, "db", &DB))
    return NULL;
  const size_t n = A.length;
  if (!has_length(env, &DY, n, fn, "dy") || !has_length(env, &B, n, fn, "b") || !has_length(env, &DA, n, fn, "da") ||
      !has_length(env, &DB, n, fn, "db"))
    return NULL;
  swiglu_grad_loop(DY.data, A.data, B.data, (float)beta, DA.data, DB.data, n);
  return NULL;
}

/*
 * Causal softmax of attention scores, rows of Tk: row r holds query i = r mod Tq, at position
 * Tk − Tq + i, which sees keys 0 … Tk − Tq + i. p = softmax(scale · s) over those keys, 0 beyond
 * them; the gradient dx = scale · p ⊙ (dy − Σ_k dy_k p_k). Lane-wise max and sums (vectorised);
 * exp is fast_exp.h's. Compiled twice and chosen at load by the CPU.
 */
__attribute__((target_clones("avx2", "default"))) static void causal_softmax_rows(const float* x, float* p, int64_t rows, int64_t Tq, int64_t Tk,
                                                                                 float scale) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * Tk;
    float* pr = p + r * Tk;
    const int64_t seen = Tk - Tq + r % Tq + 1;
    float lane_max[8];
    for (int l = 0; l < 8; l++) lane_max[l] = -INFINITY;
    int64_t j = 0;
    for (; j + 8 <= seen; j += 8)
      for (int l = 0; l < 8; l++) {
        const float v = xr[j + l] * scale;
        pr[j + l] = v;
        lane_max[l] = v > lane_max[l] ? v : lane_max[l];
      }
    float max = lane_max[0];
    for (int l = 1; l < 8; l++) max = lane_max[l] > max ? lane_max[l] : max;
    for (; j < seen; j++) {
      pr[j] = xr[j] * scale;
      max = pr[j] > max ? pr[j] : max;
    }
    float lane_sum[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (j = 0; j + 8 <= seen; j += 8)
      for (int l = 0; l < 8; l++) lane_sum[l] += pr[j + l] = exp_vec(pr[j + l] - max);
    float sum = 0;
    for (; j < seen; j++) sum += pr[j] = exp_vec(pr[j] - max);
    for (int l = 0; l < 8; l++) sum += lane_sum[l];
    const float inv = 1.0f / sum;
    for (j = 0; j < seen; j++) pr[j] *= inv;
    for (; j < Tk; j++) pr[j] = 0;
  }
}

__attribute__((target_clones("avx2", "default"))) static void causal_softmax_grad_rows(const float* dy, const float* p, float* dx, int64_t rows,
                                                                                      int64_t Tq, int64_t Tk, float scale) {
  for (int64_t r = 0; r < rows; r++) {
    const float *dyr = dy + r * Tk, *pr = p + r * Tk;
    float* dxr = dx + r * Tk;
    const int64_t seen = Tk - Tq + r % Tq + 1;
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= seen; j += 8)
      for (int l = 0; l < 8; l++) lane[l] += dyr[j + l] * pr[j + l];
    float dot = 0;
    for (; j < seen; j++) dot += dyr[j] * pr[j];
    for (int l = 0; l < 8; l++) dot += lane[l];
    for (j = 0; j < seen; j++) dxr[j] = scale * (pr[j] * (dyr[j] - dot));
    for (; j < Tk; j++) dxr[j] = 0;
  }
}

/*
 * causalSoftmax(x, rows, Tq, Tk, scale, p) and causalSoftmaxGrad(dy, p, rows, Tq, Tk, scale, dx):
 * attention probabilities from raw scores (rows × Tk) under the causal mask, and their gradient.
 */
static napi_value causal_softmax(napi_env env, napi_callback_info info) {
  const char* fn = "causalSoftmax";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 6, argv, fn)) return NULL;
  Array X, P;
  int64_t v[3];
  static const char* const names[] = {"rows", "Tq", "Tk"};
  double scale;
  if (!get_array(env, argv[0], napi_float32_array, fn, "x", &X) || !get_ints(env, argv + 1, 3, fn, names, v) ||
      !get_double(env, argv[4], fn, "scale", &scale) || !get_array(env, argv[5], napi_float32_array, fn, "p", &P))
    return NULL;
  const int64_t rows = v[0], Tq = v[1], Tk = v[2];
  if (Tq < 1 || Tq > Tk) return fail_range(env, fn, "Tq must be in 1 … Tk");
  if (!has_length(env, &X, (uint64_t)rows * Tk, fn, "x") || !has_length(env, &P, (uint64_t)rows * Tk, fn, "p")) return NULL;
  causal_softmax_rows(X.data, P.data, rows, Tq, Tk, (float)scale);
  return NULL;
}

static napi_value causal_softmax_grad(napi_env env, napi_callback_info info) {
  const char* fn = "causalSoftmaxGrad";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 7, argv, fn)) return NULL;
  Array DY, P, DX;
  int64_t v[3];
  static const char* const names[] = {"rows", "Tq", "Tk"};
  double scale;
  if (!get_array(env, argv[0], napi_float32_array, fn, "dy", &DY) || !get_array(env, argv[1], napi_float32_array, fn, "p", &P) ||
      !get_ints(env, argv + 2, 3, fn, names, v) || !get_double(env, argv[5], fn, "scale", &scale) ||
      !get_array(env, argv[6], napi_float32_array, fn, "dx", &DX))
    return NULL;
  const int64_t rows = v[0], Tq = v[1], Tk = v[2];
  if (Tq < 1 || Tq > Tk) return fail_range(env, fn, "Tq must be in 1 … Tk");
  const uint64_t size = (uint64_t)rows * Tk;
  if (!has_length(env, &DY, size, fn, "dy") || !has_length(env, &P, size, fn, "p") || !has_length(env, &DX, size, fn, "dx")) return NULL;
  causal_softmax_grad_rows(DY.data, P.data, DX.data, rows, Tq, Tk, (float)scale);
  return NULL;
}

/*
 * The cache of one sequence is two contiguous streams, so that attention reads memory front to
 * back: keys in tiles of KEY_TILE positions, tile b holding positions 8b … 8b + 7 of every kv
 * head as (kvHeads, hs, 8), and values (positions, kvHeads, hs). In a tile one vector holds one
 * coordinate of eight keys, so a query's scores come eight at a time, each lane summing in
 * exactly the order of a single dot product (a dot reduced across the lanes of one vector cost a
 * chain of 15 dependent additions per position).
 */
#define KEY_TILE 8
typedef float tile_vec __attribute__((vector_size(KEY_TILE * sizeof(float))));

/* Eight floats from p, unaligned (a macro: a function returning a 32-byte vector has a different
   ABI with and without AVX, which GCC warns of even when every call is inlined). */
#define LOAD_TILE(p) (__extension__({ \
  tile_vec x_; \
  memcpy(&x_, (p), sizeof x_); \
  x_; \
}))

/*
 * Hardware prefetchers stop at page boundaries, so even a front-to-back stream stalls at each
 * new page (attention over a 64-sequence batch ran at under half the machine's memory bandwidth).
 * The kernel reads a sequence's keys, its values, then the next sequence's keys as one stream,
 * and as it reads each stretch it fetches the stretch PREFETCH_AHEAD floats further on.
 */
#define PREFETCH_AHEAD 4096

typedef struct {
  const float *keys, *values, *next;
  int64_t key_floats, value_floats;
} Stream;

/* Always inlined: GCC otherwise judges a function of prefetches alone free of effects and drops its calls. */
__attribute__((always_inline)) static inline void prefetch_ahead(const Stream* s, int64_t at, int64_t floats) {
  for (int64_t x = at + PREFETCH_AHEAD; x < at + PREFETCH_AHEAD + floats; x += 16) { /* a 64-byte line: 16 floats */
    if (x < s->key_floats)
      __builtin_prefetch(s->keys + x);
    else if (x < s->key_floats + s->value_floats)
      __builtin_prefetch(s->values + (x - s->key_floats));
    else if (s->next)
      __builtin_prefetch(s->next + (x - s->key_floats - s->value_floats));
  }
}

/* scores[0 … 8) = (q · k_t) · scale for the eight keys of one head in a tile (hs, 8). */
__attribute__((always_inline)) static inline void score_tile(const float* q, const float* tile, int64_t hs, float scale, float* scores) {
  const int64_t blocked = hs / 16 * 16;
  tile_vec dot = {0};
  for (int64_t l = 0; l < 16 && l < blocked; l++) {
    tile_vec lane = (tile_vec){0} + q[l] * LOAD_TILE(tile + l * KEY_TILE);
    for (int64_t i = l + 16; i < blocked; i += 16) lane += q[i] * LOAD_TILE(tile + i * KEY_TILE);
    dot = l == 0 ? lane : dot + lane;
  }
  for (int64_t i = blocked; i < hs; i++) dot += q[i] * LOAD_TILE(tile + i * KEY_TILE);
  dot *= scale;
  memcpy(scores, &dot, sizeof dot);
}

/*
 * One sequence's attention over its `positions` cached positions, every head: for head h (of kv
 * head g = h / (H/KV)), scores_t = (q_h · k_{g,t}) · scale, each dot in 16 interleaved partial sums
 * (lane l adds terms i ≡ l mod 16, then the lanes in order, then the tail); p = softmax(scores)
 * with fast_exp.h's exponential, its sum in position order; out_h = Σ_t p_t v_{g,t}. q (H, hs)
 * already rotated; keys and values in the layout above; scores (H, stride) with stride whole
 * tiles; next is the next sequence's keys (NULL for none), to prefetch. Compiled twice and chosen
 * at load by the CPU (AVX2 where it has it; same sums). kv-cache.ts's attendCachedPortable is the
 * same computation in TypeScript.
 */
__attribute__((target_clones("avx2", "default"))) static void attend_sequence(const float* q, const float* keys, const float* values,
                                                                             int64_t positions, int64_t H, int64_t KV, int64_t hs,
                                                                             float scale, float* scores, int64_t stride, float* out,
                                                                             const float* next) {
  const int64_t tiles = (positions + KEY_TILE - 1) / KEY_TILE, span = KV * hs * KEY_TILE, group = H / KV;
  const Stream stream = {keys, values, next, tiles * span, positions * KV * hs};
  for (int64_t b = 0; b < tiles; b++)
    for (int64_t h = 0; h < H; h++) {
      if (h % group == 0) prefetch_ahead(&stream, b * span + h / group * hs * KEY_TILE, hs * KEY_TILE);
      score_tile(q + h * hs, keys + b * span + h / group * hs * KEY_TILE, hs, scale, scores + h * stride + b * KEY_TILE);
    }
  for (int64_t h = 0; h < H; h++) {
    float* s = scores + h * stride;
    float max = -INFINITY;
    for (int64_t t = 0; t < positions; t++) max = s[t] > max ? s[t] : max;
    for (int64_t t = 0; t < positions; t++) s[t] = exp_vec(s[t] - max);
    float sum = 0;
    for (int64_t t = 0; t < positions; t++) sum += s[t];
    const float inv = 1.0f / sum;
    for (int64_t t = 0; t < positions; t++) s[t] *= inv;
  }
  for (int64_t i = 0; i < H * hs; i++) out[i] = 0;
  for (int64_t t = 0; t < positions; t++) {
    prefetch_ahead(&stream, stream.key_floats + t * KV * hs, KV * hs);
    for (int64_t h = 0; h < H; h++) {
      const float p = scores[h * stride + t];
      const float* v = values + (t * KV + h / group) * hs;
      float* o = out + h * hs;
      for (int64_t i = 0; i < hs; i++) o[i] += p * v[i];
    }
  }
}

/*
 * attendCached(q, k, v, kCache, vCache, slots, n, heads, kvHeads, context, hs, pos, cos, sin, out):
 * the attention of one new position `pos` for each of n sequences. q (n, heads·hs), k and v
 * (n, kvHeads·hs) are the new position's projections; sequence r keeps its keys and values in
 * slot slots[r] of the caches, `context` positions each (a whole number of key tiles) in the
 * layout above. q and k are rotated by pos, k and v written into the caches at pos, and each head
 * h attends over positions 0 … pos of its key/value head h / (heads/kvHeads):
 * out = Σ_t softmax_t(q·k_t / √hs) v_t, out (n, heads·hs).
 */
static napi_value attend_cached(napi_env env, napi_callback_info info) {
  const char* fn = "attendCached";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 15, argv, fn)) return NULL;
  Array Q, K, V, KC, VC, Slots, Cos, Sin, O;
  int64_t v[6];
  static const char* const names[] = {"n", "heads", "kvHeads", "context", "hs", "pos"};
  if (!get_array(env, argv[0], napi_float32_array, fn, "q", &Q) || !get_array(env, argv[1], napi_float32_array, fn, "k", &K) ||
      !get_array(env, argv[2], napi_float32_array, fn, "v", &V) || !get_array(env, argv[3], napi_float32_array, fn, "kCache", &KC) ||
      !get_array(env, argv[4], napi_float32_array, fn, "vCache", &VC) || !get_array(env, argv[5], napi_int32_array, fn, "slots", &Slots) ||
      !get_ints(env, argv + 6, 6, fn, names, v) || !get_array(env, argv[12], napi_float32_array, fn, "cos", &Cos) ||
      !get_array(env, argv[13], napi_float32_array, fn, "sin", &Sin) || !get_array(env, argv[14], napi_float32_array, fn, "out", &O))
    return NULL;
  const int64_t n = v[0], H = v[1], KV = v[2], C = v[3], hs = v[4], pos = v[5], half = hs / 2;
  if (hs % 2 != 0 || KV < 1 || H % KV != 0) return fail_range(env, fn, "hs must be even and heads a multiple of kvHeads ≥ 1");
  if (C % KEY_TILE != 0) return fail_range(env, fn, "the cache's context must be a multiple of 8 positions (one key tile)");
  if (pos >= C) return fail_range(env, fn, "pos must be below the cache's context");
  const uint64_t per_slot = (uint64_t)KV * C * hs;
  if (!has_length(env, &Q, (uint64_t)n * H * hs, fn, "q") || !has_length(env, &K, (uint64_t)n * KV * hs, fn, "k") ||
      !has_length(env, &V, (uint64_t)n * KV * hs, fn, "v") || !has_length(env, &Slots, n, fn, "slots") ||
      !has_length(env, &O, (uint64_t)n * H * hs, fn, "out") || !has_length(env, &Cos, (uint64_t)(pos + 1) * half, fn, "cos") ||
      !has_length(env, &Sin, (uint64_t)(pos + 1) * half, fn, "sin") || !has_length(env, &VC, KC.length, fn, "vCache"))
    return NULL;
  const uint64_t slots_held = KC.length / per_slot;
  const int32_t* slot = Slots.data;
  for (int64_t r = 0; r < n; r++)
    if (slot[r] < 0 || (uint64_t)slot[r] >= slots_held) return fail_range(env, fn, "a slot is outside the caches");
  const int64_t stride = (pos / KEY_TILE + 1) * KEY_TILE;
  float* scores = malloc((size_t)(H * stride) * sizeof(float));
  float* qr = malloc((size_t)(H * hs) * sizeof(float));
  if (!scores || !qr) {
    free(scores);
    free(qr);
    return fail_range(env, fn, "out of memory");
  }
  const float *q = Q.data, *k = K.data, *vv = V.data, *c = (const float*)Cos.data + pos * half, *s = (const float*)Sin.data + pos * half;
  float *kc = KC.data, *vc = VC.data, *out = O.data;
  const float scale = 1.0f / sqrtf((float)hs);
  for (int64_t r = 0; r < n; r++) {
    float* ks = kc + (uint64_t)slot[r] * per_slot;
    float* vs = vc + (uint64_t)slot[r] * per_slot;
    for (int64_t h = 0; h < KV; h++) {
      const float *kr = k + (r * KV + h) * hs, *vr = vv + (r * KV + h) * hs;
      /* Coordinate i of this key sits at kt[i · KEY_TILE] in its head's part of the tile. */
      float *kt = ks + (pos / KEY_TILE * KV + h) * hs * KEY_TILE + pos % KEY_TILE, *vt = vs + (pos * KV + h) * hs;
      for (int64_t i = 0; i < half; i++) {
        kt[2 * i * KEY_TILE] = kr[2 * i] * c[i] - kr[2 * i + 1] * s[i];
        kt[(2 * i + 1) * KEY_TILE] = kr[2 * i + 1] * c[i] + kr[2 * i] * s[i];
      }
      memcpy(vt, vr, (size_t)hs * sizeof(float));
    }
    const float* qh = q + r * H * hs;
    for (int64_t i = 0; i < H * half; i++) {
      const int64_t j = i % half;
      qr[2 * i] = qh[2 * i] * c[j] - qh[2 * i + 1] * s[j];
      qr[2 * i + 1] = qh[2 * i + 1] * c[j] + qh[2 * i] * s[j];
    }
    const float* next = r + 1 < n ? kc + (uint64_t)slot[r + 1] * per_slot : NULL;
    attend_sequence(qr, ks, vs, pos + 1, H, KV, hs, scale, scores, stride, out + r * H * hs, next);
  }
  free(scores);
  free(qr);
  return NULL;
}

/*
 * A mapping's start and length, to unmap it when its ArrayBuffer is collected.
 */
typedef struct {
  void* start;
  size_t bytes;
} Mapping;

static void unmap(napi_env env, void* data, void* hint) {
  (void)data;
  Mapping* m = hint;
  int64_t adjusted;
  napi_adjust_external_memory(env, -(int64_t)m->bytes, &adjusted);
  munmap(m->start, m->bytes);
  free(m);
}

#define HUGE_PAGE ((size_t)2 << 20)

/*
 * hugeFloat32Array(length): a zeroed Float32Array in anonymous memory aligned to 2 MiB and marked
 * for transparent huge pages. The sampler's cache is hundreds of MiB written once, front to back:
 * in 4 KiB pages the first write to each page faulted (50,000 faults for 64 stories of stories15M,
 * a fifth of cached attention's time) and each page cost a TLB entry. Below one huge page (a single
 * sequence's cache) no huge page fits: the array is an ordinary one, as `new Float32Array(length)`
 * makes (whose memory the allocator recycles; a fresh mapping per call would fault anew). Where the
 * kernel gives no huge pages the memory is ordinary too, and correct either way.
 */
static napi_value huge_float32_array(napi_env env, napi_callback_info info) {
  const char* fn = "hugeFloat32Array";
  napi_value argv[MAX_ARGS];
  int64_t length;
  if (!get_args(env, info, 1, argv, fn) || !get_int(env, argv[0], 1, INT32_MAX, fn, "length", &length)) return NULL;
  const size_t used = (size_t)length * sizeof(float), bytes = used + HUGE_PAGE; /* room to align */
  napi_value buffer, out;
  if (used < HUGE_PAGE) {
    void* data;
    if (napi_create_arraybuffer(env, used, &data, &buffer) != napi_ok) return NULL; /* zeroed */
    if (napi_create_typedarray(env, napi_float32_array, (size_t)length, buffer, 0, &out) != napi_ok) return NULL;
    return out;
  }
  char* start = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  Mapping* m = malloc(sizeof *m);
  if (start == MAP_FAILED || !m) {
    if (start != MAP_FAILED) munmap(start, bytes);
    free(m);
    return fail_range(env, fn, "out of memory");
  }
  *m = (Mapping){start, bytes};
  char* aligned = start + (HUGE_PAGE - (uintptr_t)start % HUGE_PAGE) % HUGE_PAGE;
  madvise(aligned, used, MADV_HUGEPAGE); /* advice: failure leaves ordinary pages */
  if (napi_create_external_arraybuffer(env, aligned, used, unmap, m, &buffer) != napi_ok) {
    munmap(start, bytes);
    free(m);
    return fail_range(env, fn, "could not wrap the memory in an ArrayBuffer");
  }
  int64_t adjusted; /* the collector counts it, as it counts its own buffers */
  napi_adjust_external_memory(env, (int64_t)bytes, &adjusted);
  if (napi_create_typedarray(env, napi_float32_array, (size_t)length, buffer, 0, &out) != napi_ok) return NULL;
  return out;
}

typedef struct {
  double p;
  int32_t i;
} Candidate;

/* Whether a comes before b in the nucleus: more probable first, equal probabilities by index. */
static inline bool before(Candidate a, Candidate b) { return a.p != b.p ? a.p > b.p : a.i < b.i; }

/* Restores the heap below `at` in h[0 … n) (its first candidate before both children). */
static void sift_down(Candidate* h, int64_t n, int64_t at) {
  const Candidate moving = h[at];
  for (int64_t child; (child = 2 * at + 1) < n; at = child) {
    if (child + 1 < n && before(h[child + 1], h[child])) child++;
    if (!before(h[child], moving)) break;
    h[at] = h[child];
  }
  h[at] = moving;
}

/*
 * Orders the candidates c[0 … n) most probable first only as far as the nucleus needs: until
 * their mass exceeds top-p. A heap, not a sort: thousands of tokens pass the bound, a few dozen
 * make the nucleus. Returns the nucleus's size k, its tokens in order in c[0 … k).
 */
static int64_t nucleus(Candidate* c, int64_t n, double top_p) {
  for (int64_t at = n / 2 - 1; at >= 0; at--) sift_down(c, n, at);
  int64_t left = n;
  double mass = 0;
  while (left > 0) { /* the first of the heap moves to the end of the ordered tail c[left …) */
    const Candidate first = c[0];
    c[0] = c[--left];
    c[left] = first;
    sift_down(c, left, 0);
    mass += first.p;
    if (mass > top_p) break;
  }
  const int64_t k = n - left; /* c[n − 1] is the most probable: reverse the tail to the front */
  for (int64_t j = 0; j < k / 2; j++) {
    const Candidate t = c[left + j];
    c[left + j] = c[n - 1 - j];
    c[n - 1 - j] = t;
  }
  memmove(c, c + left, (size_t)k * sizeof(Candidate));
  return k;
}

/*
 * sampleRows(scores, rows, vocab, topP, uniforms, out): a token per row of scores (rows × vocab).
 * topP 0: the first argmax of each row (greedy decoding from logits). Otherwise the rows are
 * probabilities, and each draw is from the nucleus: tokens with p ≥ (1 − top-p)/(vocab − 1) (no
 * token below can be in it), most probable first, up to the first at which their mass exceeds
 * top-p (all tokens in index order when top-p is 1); then the first token at which the cumulative
 * probability passes uniforms[r] × the kept mass. Sums in double, as
 * pipeline/models/llama-generate.ts's nucleusDraw, which is the same draw.
 */
static napi_value sample_rows(napi_env env, napi_callback_info info) {
  const char* fn = "sampleRows";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 6, argv, fn)) return NULL;
  Array Z, U, O;
  int64_t rows, V;
  double top_p;
  if (!get_array(env, argv[0], napi_float32_array, fn, "scores", &Z) || !get_int(env, argv[1], 0, INT32_MAX, fn, "rows", &rows) ||
      !get_int(env, argv[2], 2, INT32_MAX, fn, "vocab", &V) || !get_double(env, argv[3], fn, "topP", &top_p) ||
      !get_array(env, argv[4], napi_float64_array, fn, "uniforms", &U) || !get_array(env, argv[5], napi_int32_array, fn, "out", &O))
    return NULL;
  if (!(top_p >= 0 && top_p <= 1)) return fail_range(env, fn, "top-p must be in [0, 1] (0: argmax)");
  if (!has_length(env, &Z, (uint64_t)rows * V, fn, "scores") || !has_length(env, &U, rows, fn, "uniforms") || !has_length(env, &O, rows, fn, "out"))
    return NULL;
  Candidate* kept = malloc((size_t)V * sizeof(Candidate));
  if (!kept) return fail_range(env, fn, "out of memory");
  const double* uniforms = U.data;
  int32_t* out = O.data;
  for (int64_t r = 0; r < rows; r++) {
    const float* p = (const float*)Z.data + r * V;
    if (top_p == 0) {
      int32_t best = 0;
      for (int64_t j = 1; j < V; j++)
        if (p[j] > p[best]) best = (int32_t)j;
      out[r] = best;
      continue;
    }
    int64_t count = 0;
    if (top_p >= 1) {
      for (int64_t j = 0; j < V; j++) kept[count++] = (Candidate){p[j], (int32_t)j};
    } else {
      /* p ≥ cutoff compared in double, as JavaScript compares a float32 with a double. */
      const double bound = (1 - top_p) / (double)(V - 1);
      for (int64_t j = 0; j < V; j++)
        if ((double)p[j] >= bound) kept[count++] = (Candidate){p[j], (int32_t)j};
      count = nucleus(kept, count, top_p);
    }
    if (count == 0) { /* no token at the bound: impossible for probabilities summing to 1 */
      free(kept);
      return fail_range(env, fn, "no token reaches the nucleus bound: the probabilities are not finite (NaN or infinite logits)");
    }
    double total = 0;
    for (int64_t j = 0; j < count; j++) total += kept[j].p;
    const double target = uniforms[r] * total;
    double cumulative = 0;
    int64_t j = 0;
    for (; j < count; j++) {
      cumulative += kept[j].p;
      if (target < cumulative) break;
    }
    if (j == count && !(cumulative > 0 && isfinite(cumulative))) {
      free(kept);
      return fail_range(env, fn, "the probabilities are not finite (the model gave NaN or infinite logits)");
    }
    out[r] = kept[j < count ? j : count - 1].i; /* past the end: u · total rounded past the last sum */
  }
  free(kept);
  return NULL;
}

napi_status define_llama_kernels(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"rmsNorm", NULL, rms_norm, NULL, NULL, NULL, napi_enumerable, NULL},
    {"rmsNormGrad", NULL, rms_norm_grad, NULL, NULL, NULL, napi_enumerable, NULL},
    {"rope", NULL, rope, NULL, NULL, NULL, napi_enumerable, NULL},
    {"swiglu", NULL, swiglu, NULL, NULL, NULL, napi_enumerable, NULL},
    {"swigluGrad", NULL, swiglu_grad, NULL, NULL, NULL, napi_enumerable, NULL},
    {"causalSoftmax", NULL, causal_softmax, NULL, NULL, NULL, napi_enumerable, NULL},
    {"causalSoftmaxGrad", NULL, causal_softmax_grad, NULL, NULL, NULL, napi_enumerable, NULL},
    {"attendCached", NULL, attend_cached, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sampleRows", NULL, sample_rows, NULL, NULL, NULL, napi_enumerable, NULL},
    {"hugeFloat32Array", NULL, huge_float32_array, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
