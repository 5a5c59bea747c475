/*
 * Native linear algebra for the pipeline: OpenBLAS sgemm, LAPACKE symmetric eigensolvers
 * (ssyevd/dsyevd) and a fused AdamW update, exposed to JavaScript through Node-API (ABI-stable:
 * one build loads on every Node version).
 *
 * Every argument is validated here: a wrong type, a negative or oversized dimension, or an array
 * too short for the dimensions given throws a JavaScript TypeError/RangeError; nothing reaches
 * BLAS that could read or write out of bounds.
 *
 * All matrices are row-major.
 */
#include <cblas.h>
#include <lapacke.h>
#include "fast_exp.h"
#include "napi_args.h"

/* llama_kernels.c: the element-wise and attention kernels of a Llama block. */
napi_status define_llama_kernels(napi_env env, napi_value exports);

/*
 * y[i] ← alpha · (W[i] · x) + beta · y[i] for the n rows of W (row i at W + i·ld, k long): the
 * matrix-vector product of a row-major weight matrix, in 16 interleaved partial sums per row
 * (vectorised without reassociation flags), compiled twice and chosen at load by the CPU (AVX2
 * where it has it; the sums are the same either way). Measured on stories15M's matrices: 1.6×
 * OpenBLAS's sgemv, which reads such a matrix as a column-major transpose.
 */
__attribute__((target_clones("avx2", "default"))) static void rows_dot(float* y, const float* W, const float* x, int64_t n, int64_t k, int64_t ld, float alpha,
                                                                     float beta) {
  for (int64_t i = 0; i < n; i++) {
    const float* w = W + i * ld;
    float lane[16] = {0};
    int64_t j = 0;
    for (; j + 16 <= k; j += 16)
      for (int l = 0; l < 16; l++) lane[l] += w[j + l] * x[j + l];
    float sum = 0;
    for (int l = 0; l < 16; l++) sum += lane[l];
    for (; j < k; j++) sum += w[j] * x[j];
    y[i] = beta == 0 ? alpha * sum : alpha * sum + beta * y[i];
  }
}

/*
 * sgemm / dgemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
 * C ← alpha · op(A) · op(B) + beta · C, with op(A): m×k, op(B): k×n, C: m×n, all row-major;
 * float32 arrays for sgemm (training), float64 for dgemm (the exact float64 analyses).
 */
static napi_value gemm(napi_env env, napi_callback_info info, const char* fn, napi_typedarray_type type) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 13, argv, fn)) return NULL;
  bool ta, tb;
  int64_t m, n, k, lda, ldb, ldc;
  double alpha, beta;
  Array A, B, C;
  if (!get_bool(env, argv[0], fn, "transA", &ta) || !get_bool(env, argv[1], fn, "transB", &tb) ||
      !get_int(env, argv[2], 0, INT_MAX, fn, "m", &m) || !get_int(env, argv[3], 0, INT_MAX, fn, "n", &n) ||
      !get_int(env, argv[4], 0, INT_MAX, fn, "k", &k) || !get_double(env, argv[5], fn, "alpha", &alpha) ||
      !get_array(env, argv[6], type, fn, "A", &A) || !get_int(env, argv[7], 1, INT_MAX, fn, "lda", &lda) ||
      !get_array(env, argv[8], type, fn, "B", &B) || !get_int(env, argv[9], 1, INT_MAX, fn, "ldb", &ldb) ||
      !get_double(env, argv[10], fn, "beta", &beta) || !get_array(env, argv[11], type, fn, "C", &C) ||
      !get_int(env, argv[12], 1, INT_MAX, fn, "ldc", &ldc))
    return NULL;
  const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
  const int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
  char message[200];
  if (lda < a_cols || ldb < b_cols || ldc < n) {
    snprintf(message, sizeof message, "leading dimensions (lda %lld, ldb %lld, ldc %lld) must be at least the row lengths (%lld, %lld, %lld)",
             (long long)lda, (long long)ldb, (long long)ldc, (long long)a_cols, (long long)b_cols, (long long)n);
    return fail_range(env, fn, message);
  }
  if (!fits(A.length, a_rows, a_cols, lda)) {
    snprintf(message, sizeof message, "A has %zu elements, too few for %lld×%lld with lda %lld", A.length, (long long)a_rows, (long long)a_cols, (long long)lda);
    return fail_range(env, fn, message);
  }
  if (!fits(B.length, b_rows, b_cols, ldb)) {
    snprintf(message, sizeof message, "B has %zu elements, too few for %lld×%lld with ldb %lld", B.length, (long long)b_rows, (long long)b_cols, (long long)ldb);
    return fail_range(env, fn, message);
  }
  if (!fits(C.length, m, n, ldc)) {
    snprintf(message, sizeof message, "C has %zu elements, too few for %lld×%lld with ldc %lld", C.length, (long long)m, (long long)n, (long long)ldc);
    return fail_range(env, fn, message);
  }
  if (m == 1 && n > 0 && type == napi_float32_array) {
    /* One row (a sampler's single sequence): a matrix-vector product. sgemm would pack all of B
       for it, a copy of the whole weight matrix per call (measured: 6 of a token's 7 ms). */
    const float* x = A.data;
    const int incx = ta ? (int)lda : 1;
    if (tb && incx == 1)
      rows_dot((float*)C.data, (const float*)B.data, x, n, k, ldb, (float)alpha, (float)beta);
    else
      cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)n, (float)alpha, (const float*)B.data, (int)ldb, x, incx, (float)beta, (float*)C.data, 1);
  } else if (m > 0 && n > 0) {
    const CBLAS_TRANSPOSE opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
    if (type == napi_float32_array)
      cblas_sgemm(CblasRowMajor, opa, opb, (int)m, (int)n, (int)k, (float)alpha, (const float*)A.data, (int)lda, (const float*)B.data, (int)ldb,
                  (float)beta, (float*)C.data, (int)ldc);
    else
      cblas_dgemm(CblasRowMajor, opa, opb, (int)m, (int)n, (int)k, alpha, (const double*)A.data, (int)lda, (const double*)B.data, (int)ldb, beta,
                  (double*)C.data, (int)ldc);
  }
  return NULL;
}

static napi_value sgemm(napi_env env, napi_callback_info info) { return gemm(env, info, "sgemm", napi_float32_array); }
static napi_value dgemm(napi_env env, napi_callback_info info) { return gemm(env, info, "dgemm", napi_float64_array); }

/*
 * syevd(A, n, w): eigendecomposition of the symmetric n×n matrix A.
 * On return w holds the eigenvalues in ascending order and row j of A the eigenvector of w[j].
 * A symmetric matrix reads the same in row- and column-major order, so LAPACK is called in its
 * native column-major layout (LAPACKE's row-major mode would transpose the matrix in and out);
 * its column-major eigenvector columns are then our rows, each contiguous.
 * Float64Array arguments call dsyevd, Float32Array ones ssyevd.
 */
static napi_value syevd(napi_env env, napi_callback_info info) {
  const char* fn = "syevd";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 3, argv, fn)) return NULL;
  bool is_typed = false;
  napi_is_typedarray(env, argv[0], &is_typed);
  if (!is_typed) return fail_type(env, fn, "A must be a Float64Array or Float32Array");
  napi_typedarray_type type;
  size_t len;
  void* data;
  napi_value buffer;
  size_t offset;
  CHECK(env, napi_get_typedarray_info(env, argv[0], &type, &len, &data, &buffer, &offset));
  if (type != napi_float64_array && type != napi_float32_array) return fail_type(env, fn, "A must be a Float64Array or Float32Array");
  Array A, W;
  int64_t n;
  if (!get_array(env, argv[0], type, fn, "A", &A) || !get_int(env, argv[1], 0, 46340, fn, "n", &n) ||
      !get_array(env, argv[2], type, fn, "w (of the same type as A)", &W))
    return NULL;
  char message[160];
  if (A.length != (size_t)(n * n)) {
    snprintf(message, sizeof message, "A has %zu elements, expected n×n = %lld", A.length, (long long)(n * n));
    return fail_range(env, fn, message);
  }
  if (W.length != (size_t)n) {
    snprintf(message, sizeof message, "w has %zu elements, expected n = %lld", W.length, (long long)n);
    return fail_range(env, fn, message);
  }
  if (n == 0) return NULL;
  lapack_int status = type == napi_float64_array
    ? LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)n, (double*)A.data, (lapack_int)n, (double*)W.data)
    : LAPACKE_ssyevd(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)n, (float*)A.data, (lapack_int)n, (float*)W.data);
  if (status != 0) {
    snprintf(message, sizeof message, "LAPACKE_%csyevd failed with info = %d%s", type == napi_float64_array ? 'd' : 's', (int)status,
             status > 0 ? " (no convergence)" : " (bad argument)");
    napi_throw_error(env, NULL, message);
  }
  return NULL;
}

/*
 * adamw(p, g, m, v, lr, beta1, beta2, epsilon, weightDecay, c1, c2): one AdamW step in place,
 * in float32 with the operations in the same order as the TensorFlow.js version
 * (pipeline/train/adamw.ts), so both give the same bits:
 *   m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  p ← p(1 − lr·λ) − lr · (m/c1) / (√(v/c2) + ε)
 */
static napi_value adamw(napi_env env, napi_callback_info info) {
  const char* fn = "adamw";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 11, argv, fn)) return NULL;
  Array P, G, M, V;
  double lr, b1, b2, eps, wd, c1, c2;
  if (!get_array(env, argv[0], napi_float32_array, fn, "p", &P) || !get_array(env, argv[1], napi_float32_array, fn, "g", &G) ||
      !get_array(env, argv[2], napi_float32_array, fn, "m", &M) || !get_array(env, argv[3], napi_float32_array, fn, "v", &V) ||
      !get_double(env, argv[4], fn, "lr", &lr) || !get_double(env, argv[5], fn, "beta1", &b1) ||
      !get_double(env, argv[6], fn, "beta2", &b2) || !get_double(env, argv[7], fn, "epsilon", &eps) ||
      !get_double(env, argv[8], fn, "weightDecay", &wd) || !get_double(env, argv[9], fn, "c1", &c1) ||
      !get_double(env, argv[10], fn, "c2", &c2))
    return NULL;
  if (G.length != P.length || M.length != P.length || V.length != P.length) {
    char message[200];
    snprintf(message, sizeof message, "p, g, m and v must have the same length (got %zu, %zu, %zu, %zu)", P.length, G.length, M.length, V.length);
    return fail_range(env, fn, message);
  }
  float* p = P.data;
  const float* g = G.data;
  float* m = M.data;
  float* v = V.data;
  /* Scalars rounded to float32 exactly as TensorFlow.js rounds them. */
  const float fb1 = (float)b1, fb1c = (float)(1 - b1), fb2 = (float)b2, fb2c = (float)(1 - b2);
  const float fc1 = (float)c1, fc2 = (float)c2, feps = (float)eps, flr = (float)lr, fdecay = (float)(1 - lr * wd);
  const bool decay = wd > 0;
  for (size_t i = 0; i < P.length; i++) {
    float mi = fb1 * m[i];
    mi = mi + fb1c * g[i];
    float gg = g[i] * g[i];
    float vi = fb2 * v[i];
    vi = vi + fb2c * gg;
    m[i] = mi;
    v[i] = vi;
    float update = (mi / fc1) / (sqrtf(vi / fc2) + feps);
    float base = decay ? p[i] * fdecay : p[i];
    p[i] = base - update * flr;
  }
  return NULL;
}

/*
 * crossEntropy(logits, targets, rows, cols, scale, loss, grad): softmax cross-entropy of each row
 * of logits (rows × cols, row-major) against its target index, in one pass over the logits:
 *   loss[r] = log Σ_j exp(z_rj − max_r) + max_r − z_r,t        grad[r, j] = scale · (softmax(z_r)_j − [j = t])
 * (grad may be empty: the loss alone). The sum is accumulated in double (32,000 terms), the
 * exponential is fast_exp.h's (within 2 ulp of expf), the rest in float32. It replaces the dozen
 * element-wise kernels (exp, sums, one-hot, products) a language model's loss otherwise costs.
 */
/*
 * One row's loss, log Σ exp(z − max) + max − z_t, and unless grad is NULL its gradient row. The
 * max and the sum run in 8 lanes (the sum in double), so that the loop over 32,000 logits
 * vectorises; exp is fast_exp.h's. Compiled twice and chosen at load by the CPU.
 */
__attribute__((target_clones("avx2", "default"))) static float cross_entropy_row(const float* z, float* grad, int64_t cols, int32_t t, float scale) {
  float lane_max[8];
  for (int l = 0; l < 8; l++) lane_max[l] = z[0];
  int64_t j = 0;
  for (; j + 8 <= cols; j += 8)
    for (int l = 0; l < 8; l++) lane_max[l] = z[j + l] > lane_max[l] ? z[j + l] : lane_max[l];
  float max = lane_max[0];
  for (int l = 1; l < 8; l++) max = lane_max[l] > max ? lane_max[l] : max;
  for (; j < cols; j++) max = z[j] > max ? z[j] : max;
  double lane_sum[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  j = 0;
  if (grad) {
    for (; j + 8 <= cols; j += 8)
      for (int l = 0; l < 8; l++) lane_sum[l] += grad[j + l] = exp_vec(z[j + l] - max);
    for (; j < cols; j++) lane_sum[0] += grad[j] = exp_vec(z[j] - max);
  } else {
    for (; j + 8 <= cols; j += 8)
      for (int l = 0; l < 8; l++) lane_sum[l] += exp_vec(z[j + l] - max);
    for (; j < cols; j++) lane_sum[0] += exp_vec(z[j] - max);
  }
  double sum = 0;
  for (int l = 0; l < 8; l++) sum += lane_sum[l];
  if (grad) {
    const float inv = (float)(1.0 / sum);
    for (j = 0; j < cols; j++) grad[j] = scale * (grad[j] * inv);
    grad[t] -= scale;
  }
  return (float)(log(sum) + max - z[t]);
}

static napi_value cross_entropy(napi_env env, napi_callback_info info) {
  const char* fn = "crossEntropy";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 7, argv, fn)) return NULL;
  Array Z, T, L, G;
  int64_t rows, cols;
  double scale;
  if (!get_array(env, argv[0], napi_float32_array, fn, "logits", &Z) || !get_array(env, argv[1], napi_int32_array, fn, "targets", &T) ||
      !get_int(env, argv[2], 1, INT32_MAX, fn, "rows", &rows) || !get_int(env, argv[3], 1, INT32_MAX, fn, "cols", &cols) ||
      !get_double(env, argv[4], fn, "scale", &scale) || !get_array(env, argv[5], napi_float32_array, fn, "loss", &L) ||
      !get_array(env, argv[6], napi_float32_array, fn, "grad", &G))
    return NULL;
  if (Z.length != (size_t)(rows * cols) || (G.length != Z.length && G.length != 0) || T.length != (size_t)rows || L.length != (size_t)rows)
    return fail_range(env, fn, "logits (and grad, unless empty) must hold rows × cols values, targets and loss rows");
  const bool with_grad = G.length != 0;
  const int32_t* t = T.data;
  for (int64_t r = 0; r < rows; r++)
    if (t[r] < 0 || t[r] >= cols) return fail_range(env, fn, "a target index is outside 0 … cols − 1");
  float* loss = L.data;
  for (int64_t r = 0; r < rows; r++) {
    const float* zr = (const float*)Z.data + r * cols;
    loss[r] = cross_entropy_row(zr, with_grad ? (float*)G.data + r * cols : NULL, cols, t[r], (float)scale);
  }
  return NULL;
}

/*
 * scatterRows(out, rows, ids, cols): out ← 0, then out[ids[r], :] += rows[r, :] for every r: the
 * gradient of an embedding lookup (rows are the gradients at the looked-up positions).
 */
static napi_value scatter_rows(napi_env env, napi_callback_info info) {
  const char* fn = "scatterRows";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 4, argv, fn)) return NULL;
  Array Out, Rows, Ids; /* not I: complex.h (via lapacke.h) defines it */
  int64_t cols;
  if (!get_array(env, argv[0], napi_float32_array, fn, "out", &Out) || !get_array(env, argv[1], napi_float32_array, fn, "rows", &Rows) ||
      !get_array(env, argv[2], napi_int32_array, fn, "ids", &Ids) || !get_int(env, argv[3], 1, INT32_MAX, fn, "cols", &cols))
    return NULL;
  if (Rows.length != Ids.length * (size_t)cols || Out.length % (size_t)cols != 0) return fail_range(env, fn, "rows must hold ids × cols values and out whole rows of cols");
  const size_t table_rows = Out.length / (size_t)cols;
  float* out = Out.data;
  const float* rows = Rows.data;
  const int32_t* ids = Ids.data;
  for (size_t r = 0; r < Ids.length; r++)
    if (ids[r] < 0 || (size_t)ids[r] >= table_rows) return fail_range(env, fn, "an id is outside the table");
  memset(out, 0, Out.length * sizeof(float));
  for (size_t r = 0; r < Ids.length; r++) {
    float* target = out + (size_t)ids[r] * (size_t)cols;
    const float* source = rows + r * (size_t)cols;
    for (int64_t j = 0; j < cols; j++) target[j] += source[j];
  }
  return NULL;
}

/*
 * normals(out, seed, std): fills a Float32Array with draws from N(0, std²), the same stream as
 * pipeline/util/random.ts's `new Rng(seed).normalArray(n, std)`: SplitMix32-seeded xoshiro128**,
 * Box–Muller pairs (u ≠ 0; r = √(−2 ln u); r cos 2πv, then r sin 2πv), each rounded to float32
 * after scaling. Equal to the JavaScript stream except where libm and V8 round ln, sin or cos
 * differently in the last bit of a double (tested to 1e-6).
 */
static uint32_t rotl32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static napi_value normals(napi_env env, napi_callback_info info) {
  const char* fn = "normals";
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 3, argv, fn)) return NULL;
  Array O;
  int64_t seed;
  double std;
  if (!get_array(env, argv[0], napi_float32_array, fn, "out", &O) || !get_int(env, argv[1], 0, 4294967295LL, fn, "seed", &seed) ||
      !get_double(env, argv[2], fn, "std", &std))
    return NULL;
  uint32_t z = (uint32_t)seed, s[4];
  for (int i = 0; i < 4; i++) {
    z += 0x9e3779b9u;
    uint32_t t = z ^ (z >> 16);
    t *= 0x21f0aaadu;
    t ^= t >> 15;
    t *= 0x735a2d97u;
    s[i] = t ^ (t >> 15);
  }
  float* out = O.data;
  const double two_pi = 2 * 3.141592653589793; /* 2 · Math.PI, as JavaScript computes it */
  for (size_t i = 0; i < O.length; i += 2) {
    double u, v;
    do {
      uint32_t r = rotl32(s[1] * 5, 7) * 9, t = s[1] << 9;
      s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl32(s[3], 11);
      u = r / 4294967296.0;
    } while (u == 0);
    {
      uint32_t r = rotl32(s[1] * 5, 7) * 9, t = s[1] << 9;
      s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl32(s[3], 11);
      v = r / 4294967296.0;
    }
    const double radius = sqrt(-2 * log(u));
    out[i] = (float)(radius * cos(two_pi * v) * std);
    if (i + 1 < O.length) out[i + 1] = (float)(radius * sin(two_pi * v) * std);
  }
  return NULL;
}

/* info(): { config, corename, threads } of the OpenBLAS this addon runs. */
static napi_value blas_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, config, core, threads;
  CHECK(env, napi_create_object(env, &out));
  CHECK(env, napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &config));
  CHECK(env, napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &core));
  CHECK(env, napi_create_int32(env, openblas_get_num_threads(), &threads));
  CHECK(env, napi_set_named_property(env, out, "config", config));
  CHECK(env, napi_set_named_property(env, out, "corename", core));
  CHECK(env, napi_set_named_property(env, out, "threads", threads));
  return out;
}

/* setThreads(n): how many threads OpenBLAS uses from now on. */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  int64_t n;
  if (!get_args(env, info, 1, argv, "setThreads") || !get_int(env, argv[0], 1, 1024, "setThreads", "n", &n)) return NULL;
  openblas_set_num_threads((int)n);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
    {"dgemm", NULL, dgemm, NULL, NULL, NULL, napi_enumerable, NULL},
    {"syevd", NULL, syevd, NULL, NULL, NULL, napi_enumerable, NULL},
    {"adamw", NULL, adamw, NULL, NULL, NULL, napi_enumerable, NULL},
    {"normals", NULL, normals, NULL, NULL, NULL, napi_enumerable, NULL},
    {"crossEntropy", NULL, cross_entropy, NULL, NULL, NULL, napi_enumerable, NULL},
    {"scatterRows", NULL, scatter_rows, NULL, NULL, NULL, napi_enumerable, NULL},
    {"info", NULL, blas_info, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  CHECK(env, define_llama_kernels(env, exports));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
