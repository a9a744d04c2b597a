/*
 * Batched UDP listener for the DNS forwarder (Linux): the socket is created here, polled by libuv
 * (uv_poll_t), drained with recvmmsg(2) into one preallocated buffer and handed to JS with ONE call
 * per batch; replies written by JS into a shared send buffer go out with sendmmsg(2) after that call
 * (and on demand through flush() for asynchronous answers).
 *
 * Shared memory (ArrayBuffers owned by V8, exposed read-only as properties of the handle object):
 *   recvData  RECV_SLOTS x SLOT_SIZE bytes; datagram i starts at i * SLOT_SIZE
 *   recvMeta  Uint32 x META_WORDS per datagram: length, port, addr[4] (raw in6_addr / in_addr bytes),
 *             scope id, flags (1 = truncated: larger than SLOT_SIZE, must be dropped)
 *   sendData  SEND_BYTES bytes written by JS
 *   sendMeta  Uint32 x META_WORDS per reply: offset, length, port, addr[4], scope id
 *   control   Int32: [0] replies queued, [1] send bytes used (JS bookkeeping), [2] datagrams dropped
 *             here (truncated), [3] replies that failed to send
 * Nothing written by JS is trusted: counts, offsets and lengths are checked before use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "plain_list.h"

#define RECV_SLOTS 64
/* Queries larger than this are dropped: a DNS query is one question plus EDNS options (RFC 6891);
 * 4 KiB is far beyond any real one (padding, RFC 8467, rounds queries to 128 bytes). */
#define SLOT_SIZE 4096
#define SEND_SLOTS 256
#define SEND_BYTES (256 * 1024)
#define META_WORDS 8
#define CONTROL_WORDS 4
/* Largest UDP payload over IPv6 without jumbograms; over IPv4 the kernel refuses more (EMSGSIZE). */
#define MAX_DATAGRAM 65527
/* Batches per readiness event before yielding to the rest of the event loop (poll is level-triggered). */
#define MAX_ROUNDS 8

typedef struct {
  napi_env env;
  int fd;
  int family;
  int closing;
  int hooked;
  uv_poll_t* poll; /* freed in its own close callback: its lifetime may outlast this struct */
  napi_ref callback;
  napi_ref self; /* strong while open: the handle object must not be collected under libuv */
  napi_async_context async_context;
  uint8_t* recv_data;
  uint32_t* recv_meta;
  uint8_t* send_data;
  uint32_t* send_meta;
  int32_t* control;
  struct mmsghdr recv_msgs[RECV_SLOTS];
  struct iovec recv_iov[RECV_SLOTS];
  struct sockaddr_in6 recv_addr[RECV_SLOTS]; /* large enough for sockaddr_in too */
  struct mmsghdr send_msgs[SEND_SLOTS];
  struct iovec send_iov[SEND_SLOTS];
  struct sockaddr_in6 send_addr[SEND_SLOTS];
} dns_socket;

static napi_status throw_errno(napi_env env, int err, const char* what) {
  char message[160];
  const char* name = uv_err_name(uv_translate_sys_error(err));
  snprintf(message, sizeof message, "%s: %s (%s)", what, strerror(err), name);
  return napi_throw_error(env, name, message);
}

#define CHECK(env, call)                                          \
  do {                                                            \
    if ((call) != napi_ok) {                                      \
      const napi_extended_error_info* info = NULL;                \
      napi_get_last_error_info((env), &info);                     \
      bool pending = false;                                       \
      napi_is_exception_pending((env), &pending);                 \
      if (!pending)                                               \
        napi_throw_error((env), "ERR_DNS_NATIVE",                 \
                         info && info->error_message ? info->error_message : #call); \
      return NULL;                                                \
    }                                                             \
  } while (0)

static void on_poll_closed(uv_handle_t* handle) {
  dns_socket* s = (dns_socket*)handle->data;
  if (s != NULL) s->poll = NULL;
  free(handle);
}

/* Stops polling and closes the descriptor (JS references are released by release_js, from JS calls). */
static void close_socket(dns_socket* s) {
  if (s->closing) return;
  s->closing = 1;
  if (s->poll != NULL) {
    uv_poll_stop(s->poll); /* stop before close(2): libuv must not poll a closed fd (uv_poll docs) */
    uv_close((uv_handle_t*)s->poll, on_poll_closed);
  }
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
}

static void cleanup_hook(void* arg) {
  dns_socket* s = (dns_socket*)arg;
  s->hooked = 0;
  close_socket(s);
}

static void release_js(dns_socket* s) {
  if (s->hooked) {
    s->hooked = 0;
    napi_remove_env_cleanup_hook(s->env, cleanup_hook, s);
  }
  if (s->callback != NULL) {
    napi_delete_reference(s->env, s->callback);
    s->callback = NULL;
  }
  if (s->async_context != NULL) {
    napi_async_destroy(s->env, s->async_context);
    s->async_context = NULL;
  }
  if (s->self != NULL) {
    napi_delete_reference(s->env, s->self);
    s->self = NULL;
  }
}

static void finalize_socket(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  dns_socket* s = (dns_socket*)data;
  close_socket(s);
  if (s->hooked) {
    s->hooked = 0;
    napi_remove_env_cleanup_hook(s->env, cleanup_hook, s);
  }
  if (s->poll != NULL) s->poll->data = NULL;
  /* References are owned by the env; at teardown they go with it, otherwise release_js ran at close. */
  free(s);
}

/* Sends the queued replies; returns how many could not be sent (dropped: UDP allows loss). */
static int32_t flush_sends(dns_socket* s) {
  int32_t queued = s->control[0];
  s->control[0] = 0;
  s->control[1] = 0;
  if (queued <= 0 || s->fd < 0) return 0;
  if (queued > SEND_SLOTS) queued = SEND_SLOTS;
  int count = 0;
  int32_t failed = 0;
  for (int32_t i = 0; i < queued; i++) {
    const uint32_t* m = s->send_meta + (size_t)i * META_WORDS;
    uint32_t offset = m[0], length = m[1], port = m[2];
    if (offset > SEND_BYTES || length > SEND_BYTES - offset || length > MAX_DATAGRAM || port == 0 ||
        port > 65535) {
      failed++;
      continue;
    }
    struct sockaddr_in6* a = &s->send_addr[count];
    socklen_t alen;
    memset(a, 0, sizeof *a);
    if (s->family == AF_INET) {
      struct sockaddr_in* a4 = (struct sockaddr_in*)a;
      a4->sin_family = AF_INET;
      a4->sin_port = htons((uint16_t)port);
      memcpy(&a4->sin_addr, &m[3], 4);
      alen = sizeof *a4;
    } else {
      a->sin6_family = AF_INET6;
      a->sin6_port = htons((uint16_t)port);
      memcpy(&a->sin6_addr, &m[3], 16);
      a->sin6_scope_id = m[7];
      alen = sizeof *a;
    }
    s->send_iov[count].iov_base = s->send_data + offset;
    s->send_iov[count].iov_len = length;
    struct msghdr* h = &s->send_msgs[count].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_name = a;
    h->msg_namelen = alen;
    h->msg_iov = &s->send_iov[count];
    h->msg_iovlen = 1;
    count++;
  }
  int sent = 0;
  while (sent < count) {
    int r = sendmmsg(s->fd, s->send_msgs + sent, (unsigned)(count - sent), MSG_DONTWAIT);
    if (r > 0) {
      sent += r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      /* Send buffer full: drop the rest rather than hold the loop (clients retry, RFC 1035 §4.2.1). */
      failed += count - sent;
      break;
    }
    /* Any other error belongs to the first unsent datagram (sendmmsg(2)): skip it, send the rest. */
    failed++;
    sent++;
  }
  s->control[3] += failed;
  return failed;
}

static void on_poll(uv_poll_t* handle, int status, int events) {
  (void)events;
  dns_socket* s = (dns_socket*)handle->data;
  if (s == NULL || s->closing || status < 0) return;
  napi_env env = s->env;
  for (int round = 0; round < MAX_ROUNDS && !s->closing; round++) {
    for (int i = 0; i < RECV_SLOTS; i++) {
      struct msghdr* h = &s->recv_msgs[i].msg_hdr;
      h->msg_name = &s->recv_addr[i];
      h->msg_namelen = sizeof s->recv_addr[i];
      h->msg_iov = &s->recv_iov[i];
      h->msg_iovlen = 1;
      h->msg_control = NULL;
      h->msg_controllen = 0;
      h->msg_flags = 0;
      s->recv_msgs[i].msg_len = 0;
    }
    int n = recvmmsg(s->fd, s->recv_msgs, RECV_SLOTS, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* EAGAIN: drained. Anything else (a queued ICMP error, ENOMEM): try again on the next event. */
      return;
    }
    if (n == 0) return;
    for (int i = 0; i < n; i++) {
      uint32_t* m = s->recv_meta + (size_t)i * META_WORDS;
      const struct msghdr* h = &s->recv_msgs[i].msg_hdr;
      uint32_t length = s->recv_msgs[i].msg_len;
      m[7] = (h->msg_flags & MSG_TRUNC) ? 1 : 0;
      if (length > SLOT_SIZE) length = SLOT_SIZE;
      m[0] = length;
      memset(&m[1], 0, 6 * sizeof(uint32_t));
      if (m[7]) s->control[2]++;
      if (h->msg_namelen >= sizeof(struct sockaddr_in) && s->recv_addr[i].sin6_family == AF_INET &&
          s->family == AF_INET) {
        const struct sockaddr_in* a4 = (const struct sockaddr_in*)&s->recv_addr[i];
        m[1] = ntohs(a4->sin_port);
        memcpy(&m[2], &a4->sin_addr, 4);
      } else if (h->msg_namelen >= sizeof(struct sockaddr_in6) &&
                 s->recv_addr[i].sin6_family == AF_INET6 && s->family == AF_INET6) {
        m[1] = ntohs(s->recv_addr[i].sin6_port);
        memcpy(&m[2], &s->recv_addr[i].sin6_addr, 16);
        m[6] = s->recv_addr[i].sin6_scope_id;
      } else {
        m[7] = 2; /* no usable peer address: nothing to reply to */
      }
    }
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value callback, self, argv[1], result;
    if (napi_get_reference_value(env, s->callback, &callback) == napi_ok &&
        napi_get_reference_value(env, s->self, &self) == napi_ok && callback != NULL && self != NULL &&
        napi_create_int32(env, n, &argv[0]) == napi_ok) {
      /* make_callback: runs the nextTick and microtask queues afterwards, like any Node I/O callback,
       * so answers resolved by promises within the batch are queued before the flush below. */
      napi_status st = napi_make_callback(env, s->async_context, self, callback, 1, argv, &result);
      if (st == napi_pending_exception) {
        napi_value ignored;
        /* The JS side catches everything per datagram; an escape here must not take the agent down. */
        napi_get_and_clear_last_exception(env, &ignored);
      }
    }
    napi_close_handle_scope(env, scope);
    if (s->closing) return;
    flush_sends(s);
    if (n < RECV_SLOTS) return;
  }
}

static napi_value define_buffer(napi_env env, napi_value target, const char* name, size_t length,
                                void** data) {
  napi_value buffer;
  CHECK(env, napi_create_arraybuffer(env, length, data, &buffer));
  memset(*data, 0, length);
  napi_property_descriptor d = {name, NULL, NULL, NULL, NULL, buffer, napi_enumerable, NULL};
  CHECK(env, napi_define_properties(env, target, 1, &d));
  return buffer;
}

static napi_value define_number(napi_env env, napi_value target, const char* name, int32_t value) {
  napi_value number;
  CHECK(env, napi_create_int32(env, value, &number));
  napi_property_descriptor d = {name, NULL, NULL, NULL, NULL, number, napi_enumerable, NULL};
  CHECK(env, napi_define_properties(env, target, 1, &d));
  return number;
}

/* open(family: 4 | 6, address: string, port: number, onBatch: (count) => void): handle */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "open(family, address, port, onBatch)");
    return NULL;
  }
  int32_t family_arg = 0, port = -1;
  char address[64];
  size_t address_length = 0;
  napi_valuetype type;
  CHECK(env, napi_typeof(env, argv[3], &type));
  if (napi_get_value_int32(env, argv[0], &family_arg) != napi_ok ||
      napi_get_value_int32(env, argv[2], &port) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], address, sizeof address, &address_length) != napi_ok ||
      type != napi_function || (family_arg != 4 && family_arg != 6) || port < 0 || port > 65535 ||
      address_length >= sizeof address - 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "open(family 4|6, IP literal, port 0..65535, function)");
    return NULL;
  }
  int family = family_arg == 4 ? AF_INET : AF_INET6;
  struct sockaddr_in6 bind_addr;
  socklen_t bind_length;
  memset(&bind_addr, 0, sizeof bind_addr);
  if (family == AF_INET) {
    struct sockaddr_in* a4 = (struct sockaddr_in*)&bind_addr;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &a4->sin_addr) != 1) goto bad_address;
    bind_length = sizeof *a4;
  } else {
    bind_addr.sin6_family = AF_INET6;
    bind_addr.sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &bind_addr.sin6_addr) != 1) goto bad_address;
    bind_length = sizeof bind_addr;
  }

  uv_loop_t* loop = NULL;
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, errno, "socket");
    return NULL;
  }
  int one = 1;
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  int size = 4 << 20; /* burst tolerance; the kernel caps it at net.core.[rw]mem_max silently */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (bind(fd, (struct sockaddr*)&bind_addr, bind_length) != 0) {
    int err = errno;
    close(fd);
    throw_errno(env, err, "bind");
    return NULL;
  }
  struct sockaddr_in6 bound;
  socklen_t bound_length = sizeof bound;
  if (getsockname(fd, (struct sockaddr*)&bound, &bound_length) != 0) {
    int err = errno;
    close(fd);
    throw_errno(env, err, "getsockname");
    return NULL;
  }
  int bound_port = ntohs(bound.sin6_port); /* sin_port and sin6_port share their offset */

  dns_socket* s = (dns_socket*)calloc(1, sizeof *s);
  uv_poll_t* poll = (uv_poll_t*)calloc(1, sizeof *poll);
  if (s == NULL || poll == NULL) {
    free(s);
    free(poll);
    close(fd);
    throw_errno(env, ENOMEM, "open");
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  s->family = family;
  napi_value handle;
  if (napi_create_object(env, &handle) != napi_ok ||
      napi_wrap(env, handle, s, finalize_socket, NULL, NULL) != napi_ok) {
    free(s);
    free(poll);
    close(fd);
    napi_throw_error(env, "ERR_DNS_NATIVE", "cannot create the handle");
    return NULL;
  }
  /* From here on the finalizer owns s and closes fd. */
  if (define_buffer(env, handle, "recvData", (size_t)RECV_SLOTS * SLOT_SIZE, (void**)&s->recv_data) == NULL ||
      define_buffer(env, handle, "recvMeta", (size_t)RECV_SLOTS * META_WORDS * 4, (void**)&s->recv_meta) == NULL ||
      define_buffer(env, handle, "sendData", SEND_BYTES, (void**)&s->send_data) == NULL ||
      define_buffer(env, handle, "sendMeta", (size_t)SEND_SLOTS * META_WORDS * 4, (void**)&s->send_meta) == NULL ||
      define_buffer(env, handle, "control", CONTROL_WORDS * 4, (void**)&s->control) == NULL ||
      define_number(env, handle, "port", bound_port) == NULL ||
      define_number(env, handle, "recvSlots", RECV_SLOTS) == NULL ||
      define_number(env, handle, "slotSize", SLOT_SIZE) == NULL ||
      define_number(env, handle, "sendSlots", SEND_SLOTS) == NULL ||
      define_number(env, handle, "sendBytes", SEND_BYTES) == NULL ||
      define_number(env, handle, "metaWords", META_WORDS) == NULL) {
    free(poll);
    return NULL;
  }
  for (int i = 0; i < RECV_SLOTS; i++) {
    s->recv_iov[i].iov_base = s->recv_data + (size_t)i * SLOT_SIZE;
    s->recv_iov[i].iov_len = SLOT_SIZE;
  }
  napi_value resource_name;
  CHECK(env, napi_create_string_utf8(env, "BetBlockerDnsUdp", NAPI_AUTO_LENGTH, &resource_name));
  if (napi_create_reference(env, argv[3], 1, &s->callback) != napi_ok ||
      napi_create_reference(env, handle, 1, &s->self) != napi_ok ||
      napi_async_init(env, handle, resource_name, &s->async_context) != napi_ok) {
    free(poll);
    release_js(s);
    napi_throw_error(env, "ERR_DNS_NATIVE", "cannot create references");
    return NULL;
  }
  int r = uv_poll_init(loop, poll, fd);
  if (r == 0) {
    poll->data = s;
    s->poll = poll;
    r = uv_poll_start(poll, UV_READABLE, on_poll);
  } else {
    free(poll);
  }
  if (r != 0) {
    close_socket(s);
    release_js(s);
    napi_throw_error(env, uv_err_name(r), uv_strerror(r));
    return NULL;
  }
  if (napi_add_env_cleanup_hook(env, cleanup_hook, s) == napi_ok) s->hooked = 1;
  return handle;

bad_address:
  napi_throw_type_error(env, "ERR_INVALID_IP_ADDRESS", "address is not an IP literal of that family");
  return NULL;
}

static dns_socket* unwrap_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_unwrap(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a handle from open()");
    return NULL;
  }
  return (dns_socket*)data;
}

/* flush(handle): sends the queued replies now; returns how many were dropped. */
static napi_value js_flush(napi_env env, napi_callback_info info) {
  dns_socket* s = unwrap_arg(env, info);
  if (s == NULL) return NULL;
  int32_t failed = s->closing ? 0 : flush_sends(s);
  napi_value result;
  CHECK(env, napi_create_int32(env, failed, &result));
  return result;
}

/* close(handle): idempotent; no callback runs afterwards. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  dns_socket* s = unwrap_arg(env, info);
  if (s == NULL) return NULL;
  if (!s->closing) {
    close_socket(s);
    release_js(s);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flush", NULL, js_flush, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"compilePlainList", NULL, plain_list_compile, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  plain_list_init();
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
