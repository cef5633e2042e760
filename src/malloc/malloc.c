// What Node.js cannot do from JavaScript: ask glibc's malloc how much free memory it holds, and
// give that memory back to the operating system (malloc_trim) on a libuv pool thread. See README.md.
//
//   supported: boolean              false where the C library is not glibc >= 2.33
//   info(): {heapBytes, inUseBytes, freeBytes, mmappedBytes}
//   trim(done: (released: boolean) => void): boolean   false if a trim is already running
//   fixMmapThreshold(bytes): boolean   blocks of at least `bytes` are mmapped on their own, always
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_GLIBC_MALLOC 1
#else
#define HAVE_GLIBC_MALLOC 0
#endif

#define CHECK(call)                                                          \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      napi_throw_error(env, NULL, "malloc addon: " #call " failed");       \
      return NULL;                                                           \
    }                                                                        \
  } while (0)

typedef struct {
  napi_async_work work;
  napi_ref done;
  int released;
} Trim;

// One trim at a time: a second one would only wait for the first's arena locks.
static Trim *running = NULL;

static bool set_number(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  return napi_create_double(env, v, &n) == napi_ok && napi_set_named_property(env, obj, name, n) == napi_ok;
}

static napi_value info(napi_env env, napi_callback_info ci) {
  (void)ci;
  napi_value out;
  CHECK(napi_create_object(env, &out));
#if HAVE_GLIBC_MALLOC
  struct mallinfo2 m = mallinfo2();
  // arena: bytes obtained with brk/sbrk and arena mmaps; uordblks/fordblks: in use / free in them;
  // hblkhd: large blocks mmapped on their own (given back on free).
  if (!set_number(env, out, "heapBytes", (double)m.arena) || !set_number(env, out, "inUseBytes", (double)m.uordblks) ||
      !set_number(env, out, "freeBytes", (double)m.fordblks) || !set_number(env, out, "mmappedBytes", (double)m.hblkhd)) {
    napi_throw_error(env, NULL, "malloc addon: info failed");
    return NULL;
  }
#endif
  return out;
}

static void trim_execute(napi_env env, void *data) {
  (void)env;
  Trim *t = data;
#if HAVE_GLIBC_MALLOC
  t->released = malloc_trim(0);
#else
  t->released = 0;
#endif
}

static void trim_complete(napi_env env, napi_status status, void *data) {
  Trim *t = data;
  running = NULL;
  napi_value done, global, arg;
  if (status == napi_ok && napi_get_reference_value(env, t->done, &done) == napi_ok && done != NULL &&
      napi_get_global(env, &global) == napi_ok && napi_get_boolean(env, t->released != 0, &arg) == napi_ok) {
    napi_call_function(env, global, done, 1, &arg, NULL);
  }
  napi_delete_reference(env, t->done);
  napi_delete_async_work(env, t->work);
  free(t);
}

static napi_value trim(napi_env env, napi_callback_info ci) {
  size_t argc = 1;
  napi_value argv[1], result, name;
  CHECK(napi_get_cb_info(env, ci, &argc, argv, NULL, NULL));
  napi_valuetype type;
  CHECK(napi_typeof(env, argv[0], &type));
  if (argc < 1 || type != napi_function) {
    napi_throw_type_error(env, NULL, "trim(done): done must be a function");
    return NULL;
  }
  if (running != NULL) {
    CHECK(napi_get_boolean(env, false, &result));
    return result;
  }
  Trim *t = calloc(1, sizeof *t);
  if (t == NULL) {
    napi_throw_error(env, NULL, "malloc addon: out of memory");
    return NULL;
  }
  if (napi_create_reference(env, argv[0], 1, &t->done) != napi_ok || napi_create_string_utf8(env, "vnetd.malloc_trim", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, trim_execute, trim_complete, t, &t->work) != napi_ok || napi_queue_async_work(env, t->work) != napi_ok) {
    if (t->done != NULL) napi_delete_reference(env, t->done);
    if (t->work != NULL) napi_delete_async_work(env, t->work);
    free(t);
    napi_throw_error(env, NULL, "malloc addon: could not queue the trim");
    return NULL;
  }
  running = t;
  CHECK(napi_get_boolean(env, true, &result));
  return result;
}

static napi_value fix_mmap_threshold(napi_env env, napi_callback_info ci) {
  size_t argc = 1;
  napi_value argv[1], result;
  CHECK(napi_get_cb_info(env, ci, &argc, argv, NULL, NULL));
  int64_t bytes = 0;
  if (argc < 1 || napi_get_value_int64(env, argv[0], &bytes) != napi_ok || bytes <= 0 || bytes > (int64_t)1 << 30) {
    napi_throw_range_error(env, NULL, "fixMmapThreshold(bytes): bytes must be in 1..2^30");
    return NULL;
  }
#if HAVE_GLIBC_MALLOC
  // Setting it turns off glibc's dynamic threshold, which rises (up to 32 MiB) each time an
  // mmapped block is freed, after which blocks that size come from the heap and stay there.
  bool ok = mallopt(M_MMAP_THRESHOLD, (int)bytes) == 1;
#else
  bool ok = false;
#endif
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_value f, supported;
  CHECK(napi_create_function(env, "info", NAPI_AUTO_LENGTH, info, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "info", f));
  CHECK(napi_create_function(env, "trim", NAPI_AUTO_LENGTH, trim, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "trim", f));
  CHECK(napi_create_function(env, "fixMmapThreshold", NAPI_AUTO_LENGTH, fix_mmap_threshold, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "fixMmapThreshold", f));
  CHECK(napi_get_boolean(env, HAVE_GLIBC_MALLOC, &supported));
  CHECK(napi_set_named_property(env, exports, "supported", supported));
  return exports;
}
