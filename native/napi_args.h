/*
 * Node-API argument reading shared by the addon's C files: every binding validates its arguments
 * with these, so a wrong type, a negative or oversized dimension, or an array too short throws a
 * JavaScript TypeError/RangeError before any kernel could read or write out of bounds.
 */
#ifndef NAPI_ARGS_H
#define NAPI_ARGS_H
#define NAPI_VERSION 8
#include <node_api.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_ARGS 16

/* Throws unless a Node-API call succeeded; every binding returns NULL after a throw. */
#define CHECK(env, call)                                                                    \
  do {                                                                                      \
    if ((call) != napi_ok) {                                                                \
      const napi_extended_error_info* info_;                                                \
      napi_get_last_error_info((env), &info_);                                              \
      bool pending_;                                                                        \
      napi_is_exception_pending((env), &pending_);                                          \
      if (!pending_) napi_throw_error((env), NULL, info_->error_message ? info_->error_message : "Node-API call failed"); \
      return NULL;                                                                          \
    }                                                                                       \
  } while (0)

static inline napi_value fail_type(napi_env env, const char* fn, const char* what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", fn, what);
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static inline napi_value fail_range(napi_env env, const char* fn, const char* what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", fn, what);
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

typedef struct {
  void* data;
  size_t length; /* elements */
  napi_typedarray_type type;
} Array;

static inline const char* type_name(napi_typedarray_type type) {
  return type == napi_float32_array ? "Float32Array" : type == napi_int32_array ? "Int32Array" : "Float64Array";
}

/* Reads argument i as a typed array of the given type; false (with an exception) otherwise. */
static inline bool get_array(napi_env env, napi_value value, napi_typedarray_type type, const char* fn, const char* name, Array* out) {
  bool is_typed = false;
  char message[160];
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) {
    snprintf(message, sizeof message, "%s must be a %s", name, type_name(type));
    fail_type(env, fn, message);
    return false;
  }
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &out->type, &out->length, &out->data, &buffer, &offset) != napi_ok) {
    fail_type(env, fn, "could not read a typed array");
    return false;
  }
  if (out->type != type) {
    snprintf(message, sizeof message, "%s must be a %s", name, type_name(type));
    fail_type(env, fn, message);
    return false;
  }
  return true;
}

/* Reads a whole number in [lo, hi]. */
static inline bool get_int(napi_env env, napi_value value, int64_t lo, int64_t hi, const char* fn, const char* name, int64_t* out) {
  double x;
  char message[160];
  if (napi_get_value_double(env, value, &x) != napi_ok) {
    snprintf(message, sizeof message, "%s must be a number", name);
    fail_type(env, fn, message);
    return false;
  }
  if (!(x >= (double)lo && x <= (double)hi) || x != floor(x)) {
    snprintf(message, sizeof message, "%s must be a whole number in [%lld, %lld], got %g", name, (long long)lo, (long long)hi, x);
    fail_range(env, fn, message);
    return false;
  }
  *out = (int64_t)x;
  return true;
}

static inline bool get_double(napi_env env, napi_value value, const char* fn, const char* name, double* out) {
  char message[160];
  if (napi_get_value_double(env, value, out) != napi_ok || !isfinite(*out)) {
    snprintf(message, sizeof message, "%s must be a finite number", name);
    fail_type(env, fn, message);
    return false;
  }
  return true;
}

static inline bool get_bool(napi_env env, napi_value value, const char* fn, const char* name, bool* out) {
  char message[160];
  if (napi_get_value_bool(env, value, out) != napi_ok) {
    snprintf(message, sizeof message, "%s must be a boolean", name);
    fail_type(env, fn, message);
    return false;
  }
  return true;
}

static inline bool get_args(napi_env env, napi_callback_info info, size_t expected, napi_value* argv, const char* fn) {
  size_t argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc != expected) {
    char message[128];
    snprintf(message, sizeof message, "expected %zu arguments, got %zu", expected, argc);
    fail_type(env, fn, message);
    return false;
  }
  return true;
}

/* Elements a row-major rows×cols matrix with leading dimension ld spans. */
static inline bool fits(size_t length, int64_t rows, int64_t cols, int64_t ld) {
  if (rows == 0 || cols == 0) return true;
  return (uint64_t)(rows - 1) * (uint64_t)ld + (uint64_t)cols <= (uint64_t)length;
}


/* Checks that an array holds at least `need` elements; false (with a RangeError) otherwise. */
static inline bool has_length(napi_env env, const Array* a, uint64_t need, const char* fn, const char* name) {
  if ((uint64_t)a->length >= need) return true;
  char message[200];
  snprintf(message, sizeof message, "%s has %zu elements, too few: needs %llu", name, a->length, (unsigned long long)need);
  fail_range(env, fn, message);
  return false;
}

#endif
