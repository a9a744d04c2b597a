/*
 * Plain domain list compiler: one name per line -> the block table of packages/common/src/blocklist
 * (table.ts layout: bucket offsets + fingerprints sorted inside each bucket, duplicates dropped).
 *
 * It must give exactly what the JavaScript compiler (plain-list.ts) gives for the same file: the same
 * keys (hash.ts: two 32-bit lanes fed right to left, then two fmix32 rounds), the same line rules and the
 * same `rejected` count. src/plain-list.test.ts compares both on random hostile lists and on the real
 * lists; change both or neither.
 *
 * Line rules (plain-list.ts): bytes <= 0x20 are blanks; blanks around the name are trimmed; an empty
 * line or one whose first non-blank byte is '#' is skipped; one trailing '.' is ignored; A-Z are folded
 * to a-z; a blank inside the name, an empty or over-long (> 63) label, a name over 253 characters, or a
 * line of 1 MiB - 1 bytes or more (the JavaScript reader's chunk) rejects the line.
 *
 * Speed: the file is mapped (no copy into the JS heap); a line is found and checked from SSE2 bit masks
 * of its bytes (newline, blank, dot) when it is short and plain, else byte by byte; names are hashed
 * eight of the same length at a time, one per lane of two SSE4.1 vectors (or four scalar chains that
 * overlap: one name's hash is a serial chain, ~6 cycles a byte); the table is built with a counting sort
 * by bucket. 1M names (20 MB): ~30 ms here, the JavaScript compiler ~100 ms.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <node_api.h>

#include "plain_list.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_VECTOR_HASH 1
static int vector_hash; /* the CPU has SSE4.1 (checked once in plain_list_init) */
#endif

#define MAX_LABEL_LENGTH 63
#define MAX_NAME_LENGTH 253
/* plain-list.ts reads 1 MiB chunks with a newline in front: a line of CHUNK - 1 bytes cannot be whole. */
#define LONG_LINE ((size_t)(1u << 20) - 1)
#define MIN_BUCKET_BITS 4
#define MAX_BUCKET_BITS 21

static uint8_t lower[256];

void plain_list_init(void) {
#if defined(HAVE_VECTOR_HASH)
  __builtin_cpu_init();
  vector_hash = __builtin_cpu_supports("sse4.1");
#endif
  for (int code = 0; code < 256; code++) {
    lower[code] = code <= 0x20 ? 0 : (code >= 0x41 && code <= 0x5a) ? (uint8_t)(code | 0x20) : (uint8_t)code;
  }
}

static inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

/* finalizeK1 / finalizeK2 of hash.ts, packed as k1 << 32 | k2. */
static inline uint64_t finalize_key(uint32_t h1, uint32_t h2) {
  uint32_t k1 = fmix32(h1 ^ (h2 * 0x9e3779b1u));
  uint32_t k2 = fmix32(h2 + k1 * 0x85ebca77u);
  return ((uint64_t)k1 << 32) | k2;
}

#define STEP(h1, h2, c)            \
  do {                             \
    h1 = (h1 ^ (c)) * 0x01000193u; \
    h2 = (h2 + (c)) * 0x5bd1e995u; \
    h2 ^= h2 >> 15;                \
  } while (0)

typedef struct {
  const uint8_t* name; /* the name's first character */
  uint32_t length;     /* a trailing dot excluded */
} name_span;

/* 1: a name (span filled), 0: empty or comment line, -1: rejected. `line` excludes the newline. */
static int check_line(const uint8_t* line, size_t length, name_span* span) {
  if (length >= LONG_LINE) return -1;
  size_t first = 0;
  while (first < length && lower[line[first]] == 0) first++;
  if (first == length) return 0;
  if (line[first] == '#') return 0;
  size_t end = length;
  while (lower[line[end - 1]] == 0) end--;
  if (line[end - 1] == '.') end--;
  if (end == first || end - first > MAX_NAME_LENGTH) return -1;
  size_t label = 0;
  for (size_t i = first; i < end; i++) {
    uint8_t c = lower[line[i]];
    if (c == '.') {
      if (label == 0 || label > MAX_LABEL_LENGTH) return -1;
      label = 0;
    } else if (c == 0) {
      return -1;
    } else {
      label++;
    }
  }
  if (label == 0 || label > MAX_LABEL_LENGTH) return -1;
  span->name = line + first;
  span->length = (uint32_t)(end - first);
  return 1;
}

/* Four keys of four names of the same length, the four multiply chains interleaved. */
static inline void hash_four(const uint8_t* const* names, uint32_t length, uint32_t lane1, uint32_t lane2,
                             uint64_t* out) {
  const uint8_t* p0 = names[0];
  const uint8_t* p1 = names[1];
  const uint8_t* p2 = names[2];
  const uint8_t* p3 = names[3];
  uint32_t a1 = lane1, a2 = lane2, b1 = lane1, b2 = lane2, c1 = lane1, c2 = lane2, d1 = lane1, d2 = lane2;
  for (uint32_t k = length; k > 0; k--) {
    STEP(a1, a2, lower[p0[k - 1]]);
    STEP(b1, b2, lower[p1[k - 1]]);
    STEP(c1, c2, lower[p2[k - 1]]);
    STEP(d1, d2, lower[p3[k - 1]]);
  }
  out[0] = finalize_key(a1, a2);
  out[1] = finalize_key(b1, b2);
  out[2] = finalize_key(c1, c2);
  out[3] = finalize_key(d1, d2);
}

/*
 * chooseBucketBits of table.ts: round(log2(n / 4)) clamped to [4, 21], in integers. round(log2 x) >= k
 * iff x >= 2^(k - 1/2) iff n^2 >= 2^(2k + 3) (x = n / 4; equality cannot hold, 2^(k - 1/2) is irrational).
 */
static int choose_bucket_bits(size_t n) {
  if (n >= ((size_t)1 << 24)) return MAX_BUCKET_BITS;
  uint64_t square = (uint64_t)n * (uint64_t)n;
  for (int k = MAX_BUCKET_BITS; k > MIN_BUCKET_BITS; k--) {
    if (square >= ((uint64_t)1 << (2 * k + 3))) return k;
  }
  return MIN_BUCKET_BITS;
}

typedef struct {
  uint64_t* keys;
  size_t count;
  size_t capacity;
  size_t rejected;
} key_list;

static int push_keys(key_list* list, size_t more) {
  if (list->count + more <= list->capacity) return 0;
  size_t capacity = list->capacity * 2;
  if (capacity < list->count + more) capacity = list->count + more;
  uint64_t* grown = realloc(list->keys, capacity * sizeof(uint64_t));
  if (grown == NULL) return -1;
  list->keys = grown;
  list->capacity = capacity;
  return 0;
}

#if defined(HAVE_VECTOR_HASH)

/* Byte k of dword j of a register, zero-extended into 32-bit lane k (pshufb masks, by j). */
static const int8_t dword_lanes[4][16] = {
    {0, -1, -1, -1, 1, -1, -1, -1, 2, -1, -1, -1, 3, -1, -1, -1},
    {4, -1, -1, -1, 5, -1, -1, -1, 6, -1, -1, -1, 7, -1, -1, -1},
    {8, -1, -1, -1, 9, -1, -1, -1, 10, -1, -1, -1, 11, -1, -1, -1},
    {12, -1, -1, -1, 13, -1, -1, -1, 14, -1, -1, -1, 15, -1, -1, -1},
};

__attribute__((target("sse4.1"))) static inline __m128i fmix32x4(__m128i h) {
  h = _mm_xor_si128(h, _mm_srli_epi32(h, 16));
  h = _mm_mullo_epi32(h, _mm_set1_epi32((int)0x85ebca6bu));
  h = _mm_xor_si128(h, _mm_srli_epi32(h, 13));
  h = _mm_mullo_epi32(h, _mm_set1_epi32((int)0xc2b2ae35u));
  return _mm_xor_si128(h, _mm_srli_epi32(h, 16));
}

/* Lowered 16 bytes ending just before `end` (A-Z -> a-z; other bytes kept, like `lower` for names). */
__attribute__((target("sse4.1"))) static inline __m128i load_lowered(const uint8_t* end) {
  __m128i v = _mm_loadu_si128((const __m128i*)(const void*)(end - 16));
  __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x40)), _mm_cmplt_epi8(v, _mm_set1_epi8(0x5b)));
  return _mm_or_si128(v, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
}

/* rows r[0..3] of 16 bytes -> t[q]: dword j of t[q] holds byte 4q + j of r[0], r[1], r[2], r[3]. */
__attribute__((target("sse4.1"))) static inline void transpose4(const __m128i r[4], __m128i t[4]) {
  __m128i ab_lo = _mm_unpacklo_epi8(r[0], r[1]), ab_hi = _mm_unpackhi_epi8(r[0], r[1]);
  __m128i cd_lo = _mm_unpacklo_epi8(r[2], r[3]), cd_hi = _mm_unpackhi_epi8(r[2], r[3]);
  t[0] = _mm_unpacklo_epi16(ab_lo, cd_lo);
  t[1] = _mm_unpackhi_epi16(ab_lo, cd_lo);
  t[2] = _mm_unpacklo_epi16(ab_hi, cd_hi);
  t[3] = _mm_unpackhi_epi16(ab_hi, cd_hi);
}

#define VSTEP(h1, h2, c)                                                            \
  do {                                                                              \
    h1 = _mm_mullo_epi32(_mm_xor_si128(h1, c), fnv);                                \
    h2 = _mm_mullo_epi32(_mm_add_epi32(h2, c), mul2);                               \
    h2 = _mm_xor_si128(h2, _mm_srli_epi32(h2, 15));                                 \
  } while (0)

/*
 * Keys of eight names of the same length: lane i of two 4-lane vectors is name i's chain (same steps
 * as STEP / finalize_key). Each name is read in 16-byte blocks from its end; needs 16 readable bytes
 * before every name (the caller checks).
 */
__attribute__((target("sse4.1"))) static void hash_eight_vector(const uint8_t* const names[8], uint32_t length,
                                                               uint32_t lane1, uint32_t lane2, uint64_t* out) {
  const __m128i fnv = _mm_set1_epi32(0x01000193);
  const __m128i mul2 = _mm_set1_epi32(0x5bd1e995);
  __m128i a1 = _mm_set1_epi32((int)lane1), a2 = _mm_set1_epi32((int)lane2);
  __m128i b1 = a1, b2 = a2;
  uint32_t left = length; /* characters not hashed yet: names[i][0, left) */
  while (left > 0) {
    __m128i ra[4], rb[4], ta[4], tb[4];
    for (int i = 0; i < 4; i++) {
      ra[i] = load_lowered(names[i] + left);
      rb[i] = load_lowered(names[4 + i] + left);
    }
    transpose4(ra, ta);
    transpose4(rb, tb);
    /* position j of the block is character left - 16 + j; take them from j = 15 down */
    const int last = left >= 16 ? 0 : 16 - (int)left;
    for (int j = 15; j >= last; j--) {
      const __m128i pick = _mm_loadu_si128((const __m128i*)(const void*)dword_lanes[j & 3]);
      __m128i ca = _mm_shuffle_epi8(ta[j >> 2], pick);
      __m128i cb = _mm_shuffle_epi8(tb[j >> 2], pick);
      VSTEP(a1, a2, ca);
      VSTEP(b1, b2, cb);
    }
    left = left >= 16 ? left - 16 : 0;
  }
  const __m128i golden = _mm_set1_epi32((int)0x9e3779b1u);
  const __m128i mix = _mm_set1_epi32((int)0x85ebca77u);
  __m128i ka1 = fmix32x4(_mm_xor_si128(a1, _mm_mullo_epi32(a2, golden)));
  __m128i ka2 = fmix32x4(_mm_add_epi32(a2, _mm_mullo_epi32(ka1, mix)));
  __m128i kb1 = fmix32x4(_mm_xor_si128(b1, _mm_mullo_epi32(b2, golden)));
  __m128i kb2 = fmix32x4(_mm_add_epi32(b2, _mm_mullo_epi32(kb1, mix)));
  /* 64-bit lanes k1 << 32 | k2, little-endian: low dword k2, high dword k1 */
  _mm_storeu_si128((__m128i*)(void*)(out + 0), _mm_unpacklo_epi32(ka2, ka1));
  _mm_storeu_si128((__m128i*)(void*)(out + 2), _mm_unpackhi_epi32(ka2, ka1));
  _mm_storeu_si128((__m128i*)(void*)(out + 4), _mm_unpacklo_epi32(kb2, kb1));
  _mm_storeu_si128((__m128i*)(void*)(out + 6), _mm_unpackhi_epi32(kb2, kb1));
}
#endif

/* One key, one chain. */
static inline uint64_t hash_one(const uint8_t* name, uint32_t length, uint32_t lane1, uint32_t lane2) {
  uint32_t h1 = lane1, h2 = lane2;
  for (uint32_t k = length; k > 0; k--) STEP(h1, h2, lower[name[k - 1]]);
  return finalize_key(h1, h2);
}

#define GROUP 8

/*
 * Checked names wait here by length; when eight of one length are in, they are hashed together (eight
 * SSE4.1 lanes, or two interleaved runs of four chains), so no chain runs alone. Names point into the
 * mapped file, which starts at `base`.
 */
typedef struct {
  const uint8_t* names[MAX_NAME_LENGTH + 1][GROUP];
  uint8_t waiting[MAX_NAME_LENGTH + 1];
  const uint8_t* base;
  int vector; /* use hash_eight_vector */
} name_queue;

/* 0, or -1 when out of memory. */
static inline int queue_name(name_queue* queue, const name_span* span, uint32_t lane1, uint32_t lane2,
                             key_list* list) {
  const uint32_t length = span->length;
  if (span->name - queue->base < 16) {
    /* too close to the start of the file for the 16-byte loads: hash it alone */
    if (push_keys(list, 1) != 0) return -1;
    list->keys[list->count++] = hash_one(span->name, length, lane1, lane2);
    return 0;
  }
  queue->names[length][queue->waiting[length]] = span->name;
  if (++queue->waiting[length] < GROUP) return 0;
  queue->waiting[length] = 0;
  if (push_keys(list, GROUP) != 0) return -1;
  uint64_t* out = list->keys + list->count;
#if defined(HAVE_VECTOR_HASH)
  if (queue->vector) {
    hash_eight_vector(queue->names[length], length, lane1, lane2, out);
  } else
#endif
  {
    hash_four(queue->names[length], length, lane1, lane2, out);
    hash_four(queue->names[length] + 4, length, lane1, lane2, out + 4);
  }
  list->count += GROUP;
  return 0;
}

/* Hash the names still waiting (fewer than GROUP of each length), one chain each. */
static int drain_queue(name_queue* queue, uint32_t lane1, uint32_t lane2, key_list* list) {
  for (uint32_t length = 1; length <= MAX_NAME_LENGTH; length++) {
    const uint32_t waiting = queue->waiting[length];
    if (waiting == 0) continue;
    if (push_keys(list, waiting) != 0) return -1;
    for (uint32_t i = 0; i < waiting; i++) {
      list->keys[list->count++] = hash_one(queue->names[length][i], length, lane1, lane2);
    }
    queue->waiting[length] = 0;
  }
  return 0;
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* Bit i of *newline / *blank (<= 0x20, newline included) / *dot describes p[i], for 16 * blocks bytes. */
static inline void classify(const uint8_t* p, int blocks, uint64_t* newline, uint64_t* blank, uint64_t* dot) {
  const __m128i nl = _mm_set1_epi8('\n');
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i period = _mm_set1_epi8('.');
  uint64_t n = 0, b = 0, d = 0;
  for (int k = 0; k < blocks; k++) {
    __m128i v = _mm_loadu_si128((const __m128i*)(const void*)(p + 16 * k));
    n |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)) << (16 * k);
    b |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, space), v)) << (16 * k);
    d |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, period)) << (16 * k);
  }
  *newline = n;
  *blank = b;
  *dot = d;
}

/*
 * The common line, decided from bit masks of its bytes: shorter than 64 bytes, no blank but trailing
 * ones (CR of CRLF), not a comment. Returns 1 (name), -1 (rejected), 0 (empty) or 2 (take the scalar
 * path: leading or inner blanks, a comment, a longer line); *consumed = bytes up to and including the
 * newline. Needs 64 readable bytes at `line`.
 */
static inline int check_short_line(const uint8_t* line, name_span* span, size_t* consumed) {
  uint64_t newline, blank, dot;
  classify(line, 2, &newline, &blank, &dot);
  if (newline == 0) {
    classify(line, 4, &newline, &blank, &dot);
    if (newline == 0) return 2;
  }
  unsigned length = (unsigned)__builtin_ctzll(newline); /* <= 63 */
  *consumed = length + 1;
  uint64_t in_line = (length == 0) ? 0 : (~(uint64_t)0 >> (64 - length));
  uint64_t blanks = blank & in_line;
  if (blanks != 0) {
    /* only a run of trailing blanks is handled here: it must reach the end of the line */
    unsigned run_start = (unsigned)__builtin_ctzll(blanks);
    if ((blanks >> run_start) != (in_line >> run_start)) return 2;
    length = run_start;
    in_line = (length == 0) ? 0 : (~(uint64_t)0 >> (64 - length));
  }
  if (length == 0) return 0;
  if (line[0] == '#') return 0;
  uint64_t dots = dot & in_line;
  /* a leading dot (empty first label), or two dots in a row (an empty label, or "name.." at the end) */
  if ((dots & 1) != 0 || (dots & (dots >> 1)) != 0) return -1;
  if ((dots >> (length - 1)) & 1) length--; /* one trailing dot is ignored; length stays >= 1 */
  span->name = line;
  span->length = length; /* <= 63: no label or name bound can be exceeded */
  return 1;
}
#endif

/* Split, check and hash every line of `bytes` (`vector`: SSE4.1 hashing); 0, or -1 when out of memory. */
static int hash_lines(const uint8_t* bytes, size_t size, uint32_t lane1, uint32_t lane2, int vector,
                      key_list* list) {
  name_queue* queue = calloc(1, sizeof(name_queue));
  if (queue == NULL) return -1;
  queue->base = bytes;
  queue->vector = vector;
  name_span span;
  const uint8_t* line = bytes;
  const uint8_t* stop = bytes + size;
  int failed = 0;
  while (line < stop && !failed) {
#if defined(__SSE2__)
    if (stop - line >= 64) {
      size_t consumed = 0;
      int verdict = check_short_line(line, &span, &consumed);
      if (verdict != 2) {
        if (verdict > 0) {
          failed = queue_name(queue, &span, lane1, lane2, list);
        } else if (verdict < 0) {
          list->rejected++;
        }
        line += consumed;
        continue;
      }
    }
#endif
    const uint8_t* newline = memchr(line, '\n', (size_t)(stop - line));
    const uint8_t* line_end = newline != NULL ? newline : stop;
    int verdict = check_line(line, (size_t)(line_end - line), &span);
    if (verdict > 0) {
      failed = queue_name(queue, &span, lane1, lane2, list);
    } else if (verdict < 0) {
      list->rejected++;
    }
    if (newline == NULL) break;
    line = newline + 1;
  }
  if (!failed) failed = drain_queue(queue, lane1, lane2, list);
  free(queue);
  return failed;
}

/*
 * The block table: counting sort by bucket, insertion sort inside buckets (they hold ~4), then, only if
 * two fingerprints of a bucket were equal, a pass that drops the repeats. `fingerprints` has room for
 * every key. Returns the entry count, or SIZE_MAX when out of memory. Frees list->keys.
 */
static size_t build_table(key_list* list, int bucket_bits, uint32_t* offsets, uint32_t* fingerprints) {
  const size_t n = list->count;
  const uint64_t* keys = list->keys;
  const int shift = 64 - bucket_bits;
  const size_t buckets = (size_t)1 << bucket_bits;
  memset(offsets, 0, (buckets + 1) * sizeof(uint32_t));
  for (size_t i = 0; i < n; i++) offsets[(keys[i] >> shift) + 1]++;
  for (size_t b = 0; b < buckets; b++) offsets[b + 1] += offsets[b];
  uint32_t* fill = malloc(buckets * sizeof(uint32_t));
  if (fill == NULL) return SIZE_MAX;
  memcpy(fill, offsets, buckets * sizeof(uint32_t));
  for (size_t i = 0; i < n; i++) fingerprints[fill[keys[i] >> shift]++] = (uint32_t)keys[i];
  free(fill);
  free(list->keys);
  list->keys = NULL;
  size_t repeats = 0;
  for (size_t b = 0; b < buckets; b++) {
    const uint32_t start = offsets[b];
    const uint32_t end = offsets[b + 1];
    for (uint32_t i = start + 1; i < end; i++) {
      const uint32_t value = fingerprints[i];
      uint32_t j = i;
      while (j > start && fingerprints[j - 1] > value) {
        fingerprints[j] = fingerprints[j - 1];
        j--;
      }
      if (j > start && fingerprints[j - 1] == value) repeats++;
      fingerprints[j] = value;
    }
  }
  if (repeats == 0) return n;
  size_t write = 0;
  for (size_t b = 0; b < buckets; b++) {
    const size_t begin = offsets[b];
    const size_t end = offsets[b + 1];
    offsets[b] = (uint32_t)write;
    for (size_t i = begin; i < end; i++) {
      if (i > begin && fingerprints[i] == fingerprints[i - 1]) continue;
      fingerprints[write++] = fingerprints[i];
    }
  }
  offsets[buckets] = (uint32_t)write;
  return write;
}

#define THROW_IF(env, condition, message)                      \
  do {                                                         \
    if (condition) {                                           \
      napi_throw_error((env), "ERR_DNS_NATIVE_PLAIN_LIST", (message)); \
      goto fail;                                               \
    }                                                          \
  } while (0)

/*
 * compilePlainList(fd, lane1, lane2, scalar?) -> { entries, rejected, bucketBits, offsets, fingerprints } | null
 * fd: an open file; lane1/lane2: initialLane1/initialLane2 of the list seed (hash.ts); scalar: do not
 * use the SSE4.1 hashing even where the CPU has it (tests compare both paths). null when the
 * file cannot be mapped (not a regular file, empty, over 4 GiB): the caller then reads it itself.
 */
napi_value plain_list_compile(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd = -1;
  uint32_t lane1 = 0, lane2 = 0;
  napi_value result = NULL;
  key_list list = {NULL, 0, 0, 0};
  void* mapped = MAP_FAILED;
  size_t size = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_uint32(env, argv[1], &lane1) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &lane2) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected (fd, lane1, lane2)");
    return NULL;
  }
  bool scalar = false;
  if (argc >= 4) napi_get_value_bool(env, argv[3], &scalar);
#if defined(HAVE_VECTOR_HASH)
  const int vector = vector_hash && !scalar;
#else
  const int vector = 0;
  (void)scalar;
#endif
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > UINT32_MAX) {
    napi_get_null(env, &result);
    return result;
  }
  size = (size_t)st.st_size;
  mapped = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (mapped == MAP_FAILED) {
    napi_get_null(env, &result);
    return result;
  }
  madvise(mapped, size, MADV_SEQUENTIAL);
  list.capacity = size / 12 + 16; /* domain lists average 15-25 bytes a line; grows if short */
  list.keys = malloc(list.capacity * sizeof(uint64_t));
  THROW_IF(env, list.keys == NULL, "out of memory");
  THROW_IF(env, hash_lines(mapped, size, lane1, lane2, vector, &list) != 0, "out of memory");
  munmap(mapped, size);
  mapped = MAP_FAILED;

  const int bucket_bits = choose_bucket_bits(list.count);
  const size_t buckets = (size_t)1 << bucket_bits;
  napi_value offsets_buffer, offsets_array, fingerprints_buffer, fingerprints_array, value;
  void* offsets_data = NULL;
  void* fingerprints_data = NULL;
  THROW_IF(env,
           napi_create_arraybuffer(env, (buckets + 1) * sizeof(uint32_t), &offsets_data, &offsets_buffer) != napi_ok,
           "cannot allocate the bucket offsets");
  /* Sorted straight into the JS buffer; a smaller copy is made only when duplicates were dropped. */
  THROW_IF(env,
           napi_create_arraybuffer(env, list.count * sizeof(uint32_t), &fingerprints_data, &fingerprints_buffer) !=
               napi_ok,
           "cannot allocate the fingerprints");
  size_t entries = build_table(&list, bucket_bits, offsets_data, fingerprints_data);
  THROW_IF(env, entries == SIZE_MAX, "out of memory");
  if (entries < list.count) {
    void* all = fingerprints_data;
    THROW_IF(env,
             napi_create_arraybuffer(env, entries * sizeof(uint32_t), &fingerprints_data, &fingerprints_buffer) !=
                 napi_ok,
             "cannot allocate the fingerprints");
    if (entries > 0) memcpy(fingerprints_data, all, entries * sizeof(uint32_t));
  }
  THROW_IF(env,
           napi_create_typedarray(env, napi_uint32_array, buckets + 1, offsets_buffer, 0, &offsets_array) != napi_ok ||
               napi_create_typedarray(env, napi_uint32_array, entries, fingerprints_buffer, 0, &fingerprints_array) !=
                   napi_ok ||
               napi_create_object(env, &result) != napi_ok,
           "cannot create the result");
  THROW_IF(env,
           napi_create_double(env, (double)entries, &value) != napi_ok ||
               napi_set_named_property(env, result, "entries", value) != napi_ok ||
               napi_create_double(env, (double)list.rejected, &value) != napi_ok ||
               napi_set_named_property(env, result, "rejected", value) != napi_ok ||
               napi_create_int32(env, bucket_bits, &value) != napi_ok ||
               napi_set_named_property(env, result, "bucketBits", value) != napi_ok ||
               napi_set_named_property(env, result, "offsets", offsets_array) != napi_ok ||
               napi_set_named_property(env, result, "fingerprints", fingerprints_array) != napi_ok,
           "cannot fill the result");
  return result;

fail:
  if (mapped != MAP_FAILED) munmap(mapped, size);
  free(list.keys);
  return NULL;
}
