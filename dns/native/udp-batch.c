// Batched UDP I/O for the DNS server: recvmmsg/sendmmsg on a socket watched by libuv, with one
// call into JavaScript per batch of datagrams instead of one per datagram (node:dgram's 'message'
// event, a Buffer, an rinfo object and a send request each). See dns/native/README.md.
//
// The JavaScript side owns four typed arrays the addon reads and writes in place:
//   inData  [slots * inSlotBytes]   received datagrams, slot i at i * inSlotBytes
//   inMeta  [slots * META_INTS]     per received slot: length, flags, family, port, address (16 bytes)
//   outData [slots * outSlotBytes]  answers, answer j at j * outSlotBytes
//   outMeta [slots * 2]             per answer: length, the input slot whose sender it goes to
// onBatch(count) is called with the number of datagrams received; it returns how many answers it
// wrote, and the addon sends them with sendmmsg before the next recvmmsg. Nothing JavaScript writes
// is trusted: lengths and slots are checked against the arrays' bounds before any send.
#define _GNU_SOURCE  // recvmmsg, sendmmsg
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
  META_INTS = 8,  // length, flags, family, port, address as 4 int32 (network byte order bytes)
  META_LENGTH = 0,
  META_FLAGS = 1,
  META_FAMILY = 2,
  META_PORT = 3,
  META_ADDRESS = 4,
  FLAG_TRUNCATED = 1,
  SLOTS_MAX = 1024,
  SLOT_BYTES_MAX = 65536,
};

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int fd;
  int closing;   // close() called: no more reads or sends
  int released;  // the socket closed and the JavaScript references dropped (on_closed)
  int finalized; // the external handle was collected: the struct may go once released too
  napi_ref on_batch;
  napi_ref arrays[4];
  napi_async_context async;
  uint32_t slots, in_slot_bytes, out_slot_bytes, rounds_max;
  uint8_t *in_data, *out_data;
  int32_t *in_meta, *out_meta;
  struct mmsghdr *rmsgs, *smsgs;
  struct iovec *riov, *siov;
  struct sockaddr_storage *names;
  // Counters, read by stats(): datagrams larger than a slot, answers not sent (send buffer full or
  // an error), answers JavaScript described out of bounds (a bug on that side), receive errors.
  double truncated, send_dropped, send_invalid, recv_errors, batches, datagrams;
} udp_t;

#define CHECK(env, call)                                 \
  do {                                                   \
    if ((call) != napi_ok) {                             \
      napi_throw_error((env), NULL, "napi call failed: " #call); \
      return NULL;                                       \
    }                                                    \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value msg, code, error;
  const char *name = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : err == EINVAL ? "EINVAL" : "ESYSCALL";
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &error);
  napi_throw(env, error);
  return NULL;
}

static void write_meta(udp_t *u, uint32_t i) {
  int32_t *m = u->in_meta + (size_t)i * META_INTS;
  struct msghdr *h = &u->rmsgs[i].msg_hdr;
  const struct sockaddr_storage *ss = &u->names[i];
  m[META_LENGTH] = (int32_t)u->rmsgs[i].msg_len;
  m[META_FLAGS] = (h->msg_flags & MSG_TRUNC) ? FLAG_TRUNCATED : 0;
  memset(m + META_ADDRESS, 0, 16);
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    m[META_FAMILY] = 6;
    m[META_PORT] = ntohs(a->sin6_port);
    memcpy(m + META_ADDRESS, &a->sin6_addr, 16);
  } else {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    m[META_FAMILY] = 4;
    m[META_PORT] = ntohs(a->sin_port);
    memcpy(m + META_ADDRESS, &a->sin_addr, 4);
  }
}

static void send_all(udp_t *u, struct mmsghdr *msgs, uint32_t count) {
  uint32_t sent = 0;
  while (sent < count) {
    int r = sendmmsg(u->fd, msgs + sent, count - sent, MSG_DONTWAIT);
    if (r > 0) {
      sent += (uint32_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      // The send buffer is full: UDP may drop, and the client retries. Waiting here would stall
      // the event loop (Raft and HTTP share it); queueing would need a bound anyway.
      u->send_dropped += count - sent;
      return;
    } else {
      // An error concerning one datagram (a vanished client): skip it, send the rest.
      u->send_dropped += 1;
      sent += 1;
    }
  }
}

static void send_batch(udp_t *u, uint32_t received, uint32_t answers) {
  if (answers > u->slots) {
    u->send_invalid += answers - u->slots;
    answers = u->slots;
  }
  uint32_t k = 0;
  for (uint32_t j = 0; j < answers; j++) {
    int32_t length = u->out_meta[2 * j];
    int32_t slot = u->out_meta[2 * j + 1];
    if (length <= 0 || (uint32_t)length > u->out_slot_bytes || slot < 0 || (uint32_t)slot >= received) {
      u->send_invalid += 1;
      continue;
    }
    u->siov[k].iov_base = u->out_data + (size_t)j * u->out_slot_bytes;
    u->siov[k].iov_len = (size_t)length;
    struct msghdr *h = &u->smsgs[k].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_name = &u->names[slot];
    h->msg_namelen = u->rmsgs[slot].msg_hdr.msg_namelen;
    h->msg_iov = &u->siov[k];
    h->msg_iovlen = 1;
    k++;
  }
  if (k > 0) send_all(u, u->smsgs, k);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  udp_t *u = (udp_t *)poll->data;
  if (u->closing || status < 0) return;
  napi_env env = u->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv;
  napi_get_reference_value(env, u->on_batch, &cb);
  napi_get_global(env, &recv);  // napi_make_callback needs an object receiver
  // A bounded number of batches per readiness: the socket is level-triggered, so what is left is
  // read on the next loop turn, after timers and other sockets (Raft, HTTP) had theirs.
  for (uint32_t round = 0; round < u->rounds_max && !u->closing; round++) {
    for (uint32_t i = 0; i < u->slots; i++) {
      u->rmsgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      u->rmsgs[i].msg_hdr.msg_flags = 0;
      u->rmsgs[i].msg_len = 0;
    }
    int n = recvmmsg(u->fd, u->rmsgs, u->slots, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) u->recv_errors += 1;
      break;
    }
    if (n == 0) break;
    u->batches += 1;
    u->datagrams += n;
    for (uint32_t i = 0; i < (uint32_t)n; i++) {
      write_meta(u, i);
      if (u->rmsgs[i].msg_hdr.msg_flags & MSG_TRUNC) u->truncated += 1;
    }
    napi_value argv[1], result;
    napi_create_uint32(env, (uint32_t)n, &argv[0]);
    napi_status st = napi_make_callback(env, u->async, recv, cb, 1, argv, &result);
    if (st != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);  // as node:dgram would: 'uncaughtException'
      }
      break;
    }
    uint32_t answers = 0;
    if (napi_get_value_uint32(env, result, &answers) != napi_ok) answers = 0;
    if (u->closing) break;
    send_batch(u, (uint32_t)n, answers);
    if ((uint32_t)n < u->slots) break;
  }
  napi_close_handle_scope(env, scope);
}

// Drops what the open socket needed. The struct itself stays until the external handle is
// collected too, so stats() and close() on a closed handle stay safe.
static void release(udp_t *u) {
  napi_env env = u->env;
  napi_delete_reference(env, u->on_batch);
  for (int i = 0; i < 4; i++) napi_delete_reference(env, u->arrays[i]);
  napi_async_destroy(env, u->async);
  free(u->rmsgs);
  free(u->smsgs);
  free(u->riov);
  free(u->siov);
  free(u->names);
  u->rmsgs = u->smsgs = NULL;
  u->riov = u->siov = NULL;
  u->names = NULL;
  u->released = 1;
}

static void on_closed(uv_handle_t *handle) {
  udp_t *u = (udp_t *)handle->data;
  close(u->fd);
  release(u);
  if (u->finalized) free(u);
}

static void *typed_data(napi_env env, napi_value value, size_t *bytes, napi_typedarray_type want) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return NULL;
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value ab;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, &ab, &offset) != napi_ok) return NULL;
  if (type != want) return NULL;
  *bytes = length * (want == napi_int32_array ? 4 : 1);
  return data;
}

static int parse_host(const char *host, uint32_t port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    return AF_INET;
  }
  if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof *a6;
    return AF_INET6;
  }
  return -1;
}

static void finalize_external(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  udp_t *u = (udp_t *)data;
  // An open socket whose handle was dropped keeps serving (as an unclosed dgram socket would);
  // its struct then lives as long as the process.
  u->finalized = 1;
  if (u->released) free(u);
}

// open(host, port, rcvbufBytes, sndbufBytes, inData, inMeta, outData, outMeta, slots,
//      inSlotBytes, outSlotBytes, roundsMax, onBatch) -> handle
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 13) {
    napi_throw_type_error(env, NULL, "open() takes 13 arguments");
    return NULL;
  }
  char host[64];
  size_t host_len;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_len) != napi_ok) {
    napi_throw_type_error(env, NULL, "host must be a string");
    return NULL;
  }
  uint32_t port, rcvbuf, sndbuf, slots, in_slot, out_slot, rounds;
  if (napi_get_value_uint32(env, argv[1], &port) != napi_ok || napi_get_value_uint32(env, argv[2], &rcvbuf) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &sndbuf) != napi_ok || napi_get_value_uint32(env, argv[8], &slots) != napi_ok ||
      napi_get_value_uint32(env, argv[9], &in_slot) != napi_ok || napi_get_value_uint32(env, argv[10], &out_slot) != napi_ok ||
      napi_get_value_uint32(env, argv[11], &rounds) != napi_ok) {
    napi_throw_type_error(env, NULL, "port, buffer sizes, slots, slot bytes and rounds must be numbers");
    return NULL;
  }
  if (port > 65535 || slots == 0 || slots > SLOTS_MAX || in_slot == 0 || in_slot > SLOT_BYTES_MAX || out_slot == 0 ||
      out_slot > SLOT_BYTES_MAX || rounds == 0) {
    napi_throw_range_error(env, NULL, "port, slots, slot bytes or rounds out of range");
    return NULL;
  }
  size_t in_bytes, in_meta_bytes, out_bytes, out_meta_bytes;
  uint8_t *in_data = typed_data(env, argv[4], &in_bytes, napi_uint8_array);
  int32_t *in_meta = typed_data(env, argv[5], &in_meta_bytes, napi_int32_array);
  uint8_t *out_data = typed_data(env, argv[6], &out_bytes, napi_uint8_array);
  int32_t *out_meta = typed_data(env, argv[7], &out_meta_bytes, napi_int32_array);
  if (in_data == NULL || in_meta == NULL || out_data == NULL || out_meta == NULL || in_bytes < (size_t)slots * in_slot ||
      in_meta_bytes < (size_t)slots * META_INTS * 4 || out_bytes < (size_t)slots * out_slot || out_meta_bytes < (size_t)slots * 2 * 4) {
    napi_throw_range_error(env, NULL, "inData/outData (Uint8Array) and inMeta/outMeta (Int32Array) are smaller than slots need");
    return NULL;
  }
  napi_valuetype cb_type;
  CHECK(env, napi_typeof(env, argv[12], &cb_type));
  if (cb_type != napi_function) {
    napi_throw_type_error(env, NULL, "onBatch must be a function");
    return NULL;
  }

  struct sockaddr_storage addr;
  socklen_t addr_len;
  int family = parse_host(host, port, &addr, &addr_len);
  if (family < 0) return throw_errno(env, "host must be an IPv4 or IPv6 literal", EINVAL);
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (family == AF_INET6) {
    int off = 0;  // "::" takes IPv4 too, as node:dgram's udp6 does by default
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  int rb = (int)rcvbuf, sb = (int)sndbuf;
  if (rb > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
  if (sb > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
  if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }

  udp_t *u = calloc(1, sizeof *u);
  if (u == NULL) {
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  u->env = env;
  u->fd = fd;
  u->slots = slots;
  u->in_slot_bytes = in_slot;
  u->out_slot_bytes = out_slot;
  u->rounds_max = rounds;
  u->in_data = in_data;
  u->in_meta = in_meta;
  u->out_data = out_data;
  u->out_meta = out_meta;
  u->rmsgs = calloc(slots, sizeof *u->rmsgs);
  u->smsgs = calloc(slots, sizeof *u->smsgs);
  u->riov = calloc(slots, sizeof *u->riov);
  u->siov = calloc(slots, sizeof *u->siov);
  u->names = calloc(slots, sizeof *u->names);
  if (!u->rmsgs || !u->smsgs || !u->riov || !u->siov || !u->names) {
    close(fd);
    free(u->rmsgs), free(u->smsgs), free(u->riov), free(u->siov), free(u->names), free(u);
    return throw_errno(env, "calloc", ENOMEM);
  }
  for (uint32_t i = 0; i < slots; i++) {
    u->riov[i].iov_base = in_data + (size_t)i * in_slot;
    u->riov[i].iov_len = in_slot;
    u->rmsgs[i].msg_hdr.msg_name = &u->names[i];
    u->rmsgs[i].msg_hdr.msg_iov = &u->riov[i];
    u->rmsgs[i].msg_hdr.msg_iovlen = 1;
  }
  napi_create_reference(env, argv[12], 1, &u->on_batch);
  for (int i = 0; i < 4; i++) napi_create_reference(env, argv[4 + i], 1, &u->arrays[i]);
  napi_value resource_name;
  napi_create_string_utf8(env, "vnetd:udp-batch", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &u->async);

  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  int r = uv_poll_init(loop, &u->poll, fd);
  if (r != 0) {
    close(fd);
    release(u);
    free(u);
    return throw_errno(env, "uv_poll_init", -r);
  }
  // From here the poll handle belongs to the loop: it is freed only through uv_close (on_closed,
  // which closes the socket), with `finalized` set because no JavaScript handle will own it.
  u->poll.data = u;
  r = uv_poll_start(&u->poll, UV_READABLE, on_readable);
  napi_value external;
  if (r == 0 && napi_create_external(env, u, finalize_external, NULL, &external) == napi_ok) return external;
  u->finalized = 1;
  u->closing = 1;
  uv_poll_stop(&u->poll);
  uv_close((uv_handle_t *)&u->poll, on_closed);
  if (r != 0) return throw_errno(env, "uv_poll_start", -r);
  napi_throw_error(env, NULL, "napi_create_external failed");
  return NULL;
}

static udp_t *handle_of(napi_env env, napi_value value) {
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return (udp_t *)data;
}

// localPort(handle) -> number
static napi_value js_local_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u = argc == 1 ? handle_of(env, argv[0]) : NULL;
  if (u == NULL || u->closing) {
    napi_throw_error(env, NULL, "not an open handle");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(u->fd, (struct sockaddr *)&ss, &len) != 0) return throw_errno(env, "getsockname", errno);
  uint16_t port = ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port;
  CHECK(env, napi_create_uint32(env, ntohs(port), &out));
  return out;
}

// sendTo(handle, data: Uint8Array, family: 4|6, address: Uint8Array(16), port) -> boolean (sent)
// For answers that leave after their batch (forwarded queries).
static napi_value js_send_to(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], out;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u = argc == 5 ? handle_of(env, argv[0]) : NULL;
  size_t data_len = 0, addr_len = 0;
  uint8_t *data = argc == 5 ? typed_data(env, argv[1], &data_len, napi_uint8_array) : NULL;
  uint8_t *address = argc == 5 ? typed_data(env, argv[3], &addr_len, napi_uint8_array) : NULL;
  uint32_t family = 0, port = 0;
  if (u == NULL || data == NULL || address == NULL || addr_len < 16 || napi_get_value_uint32(env, argv[2], &family) != napi_ok ||
      napi_get_value_uint32(env, argv[4], &port) != napi_ok || (family != 4 && family != 6) || port > 65535) {
    napi_throw_type_error(env, NULL, "sendTo(handle, data, family 4|6, address[16], port)");
    return NULL;
  }
  bool sent = false;
  if (!u->closing) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == 6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      a->sin6_family = AF_INET6;
      a->sin6_port = htons((uint16_t)port);
      memcpy(&a->sin6_addr, address, 16);
      len = sizeof *a;
    } else {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      a->sin_family = AF_INET;
      a->sin_port = htons((uint16_t)port);
      memcpy(&a->sin_addr, address, 4);
      len = sizeof *a;
    }
    ssize_t r;
    do r = sendto(u->fd, data, data_len, MSG_DONTWAIT, (struct sockaddr *)&ss, len);
    while (r < 0 && errno == EINTR);
    sent = r >= 0;
    if (!sent) u->send_dropped += 1;
  }
  CHECK(env, napi_get_boolean(env, sent, &out));
  return out;
}

// stats(handle) -> { batches, datagrams, truncated, sendDropped, sendInvalid, recvErrors }
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, v;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u = argc == 1 ? handle_of(env, argv[0]) : NULL;
  if (u == NULL) {
    napi_throw_error(env, NULL, "not a handle");
    return NULL;
  }
  CHECK(env, napi_create_object(env, &out));
  const struct { const char *name; double value; } fields[] = {
      {"batches", u->batches},         {"datagrams", u->datagrams},       {"truncated", u->truncated},
      {"sendDropped", u->send_dropped}, {"sendInvalid", u->send_invalid}, {"recvErrors", u->recv_errors},
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    CHECK(env, napi_create_double(env, fields[i].value, &v));
    CHECK(env, napi_set_named_property(env, out, fields[i].name, v));
  }
  return out;
}

// close(handle): stops reading; the socket closes on the next loop turn. Idempotent.
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u = argc == 1 ? handle_of(env, argv[0]) : NULL;
  if (u == NULL) {
    napi_throw_error(env, NULL, "not a handle");
    return NULL;
  }
  if (!u->closing) {
    u->closing = 1;
    uv_poll_stop(&u->poll);
    uv_close((uv_handle_t *)&u->poll, on_closed);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_default, NULL},
      {"sendTo", NULL, js_send_to, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value meta_ints;
  napi_create_uint32(env, META_INTS, &meta_ints);
  napi_set_named_property(env, exports, "metaInts", meta_ints);
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(udp_batch, init)
