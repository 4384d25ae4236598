/*
 * twinslot-launcher: the native launcher (DESIGN.md sections 3 and 4, step 6).
 *
 *     twinslot-launcher --root <dir> [--] <args...>
 *
 * It does exactly what `twinslot launch` does in Node (src/slots/launch.ts,
 * src/cli/client-commands.ts), with libc/POSIX only:
 *
 *   1. read <root>/state, or when it is absent a complete leftover <root>/state.tmp,
 *      without touching the leftover (peekJournal(): without the lock it may be an
 *      updater's save in progress);
 *   2. parse it as strictly as parseJournal() in src/slots/state-file.ts;
 *   3. decide as decideLaunch() in src/slots/transitions.ts: no trial -> run the
 *      active slot without writing; a trial past max-attempts or with a runaway save
 *      count (>= 28) -> revert to the previous slot; otherwise count the start;
 *   4. under the root lock (proper-lockfile's mkdir lock <root>/.lock, stale after
 *      10 s), settle a leftover state.tmp (src/slots/atomic-file.ts settleLeftover:
 *      deleted when state exists, renamed to state when only it exists and parses;
 *      the root fsynced), decide again and persist a changed journal,
 *      byte-identical to formatJournal(), with the
 *      durable recipe: write state.tmp -> fsync -> rename over state -> fsync <root>;
 *   5. set TWINSLOT_ROOT, TWINSLOT_SLOT, TWINSLOT_VERSION, TWINSLOT_LAUNCHED=1,
 *      TWINSLOT_RELAUNCH (a JSON array: the command that starts this root again) and
 *      exec <root>/slots/<slot>/<entry> with the passed-through arguments.
 *
 * The text is read the way Node reads it: Buffer#toString('utf8'), i.e. UTF-8 with
 * each invalid sequence replaced by U+FFFD (WHATWG rules), and the 64 KiB limit counts
 * UTF-16 code units as String#length does. Versions are checked as semver.valid(v) === v
 * (semver 7): MAJOR.MINOR.PATCH without leading zeros, each at most 2^53-1, an optional
 * -prerelease, no build metadata, at most 256 characters. Entry paths get the checks of
 * checkSlotPath() in src/manifest/paths.ts; the Unicode NFC check is conservative: only
 * code points that are NFC by themselves in any context (below U+0300, U+4E00-U+9FFF and
 * U+FFFD) are accepted, any other non-ASCII character makes the root refuse to start.
 *
 * Exit status: that of the app (the launcher execs it); 1 with one line on stderr when
 * the root is damaged, nothing is installed or the lock cannot be taken; 2 for a usage
 * mistake; 127 when the entry cannot be executed.
 */
#define _POSIX_C_SOURCE 200809L
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <limits.h>

#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#if defined(__APPLE__)
#define MTIME_NSEC(st) ((st).st_mtimespec.tv_nsec)
#else
#define MTIME_NSEC(st) ((st).st_mtim.tv_nsec)
#endif

#define PROG "twinslot-launcher"
#define STATE_MAGIC "twinslot-state 1"
/* MAX_STATE_BYTES in state-file.ts; compared with String#length (UTF-16 code units). */
#define MAX_STATE_UNITS 65536UL
/* Every byte decodes to at least 1/3 of a code unit: a longer file is over the limit. */
#define READ_CAP (3 * MAX_STATE_UNITS + 1)
/* MAX_SAVES in transitions.ts. */
#define MAX_SAVES 28UL
/* revertTrial keeps the last 64 bad versions. */
#define MAX_BAD 64
/* LOCK_STALE_MS in lock.ts; launch.ts retries a held lock 50 times, 100 ms apart. */
#define LOCK_STALE_MS 10000LL
#define LOCK_RETRIES 50
#define LOCK_RETRY_MS 100L

/* ------------------------------------------------------------------ errors */

static char *g_lock_path; /* set while this process holds <root>/.lock */

static void release_lock_quietly(void) {
  if (g_lock_path) {
    (void)rmdir(g_lock_path);
    g_lock_path = NULL;
  }
}

/* Appends `s[0..n)` to `out`, escaping what would break the one-line message. */
static size_t put_escaped(char *out, size_t cap, size_t len, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n && len + 8 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      out[len++] = '\\';
      out[len++] = (char)c;
    } else if (c < 0x20 || c == 0x7f) {
      out[len++] = '\\';
      out[len++] = 'u';
      out[len++] = '0';
      out[len++] = '0';
      out[len++] = hex[c >> 4];
      out[len++] = hex[c & 15];
    } else {
      out[len++] = (char)c;
    }
  }
  out[len] = '\0';
  return len;
}

/* A printable rendering of a value for messages: quoted, escaped, cut after `max` bytes. */
static const char *shown(const char *s, size_t n, size_t max) {
  static char bufs[4][1024];
  static int next;
  char *b = bufs[next++ & 3];
  size_t len = 0, cut = n;
  if (cut > max) {
    cut = max;
    while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80) cut--; /* whole characters only */
  }
  b[len++] = '"';
  len = put_escaped(b, sizeof bufs[0] - 8, len, s, cut);
  if (cut < n) {
    memcpy(b + len, "...", 3);
    len += 3;
  }
  b[len++] = '"';
  b[len] = '\0';
  return b;
}

/* A path or other free text for messages, escaped so the message stays one line. */
static const char *plain(const char *s) {
  static char bufs[4][1024];
  static int next;
  char *b = bufs[next++ & 3];
  put_escaped(b, sizeof bufs[0], 0, s, strlen(s));
  return b;
}

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

PRINTF_LIKE(2, 3) _Noreturn static void die(int status, const char *fmt, ...);
PRINTF_LIKE(1, 2) _Noreturn static void usage_error(const char *fmt, ...);
PRINTF_LIKE(3, 4) static int corrupt(char *why, size_t cap, const char *fmt, ...);

static void die(int status, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  release_lock_quietly();
  fprintf(stderr, PROG ": %s\n", msg);
  exit(status);
}

/* fromFsError() in errors.ts: a full disk is DISK_FULL, anything else IO. */
_Noreturn static void die_fs(int err, const char *what, const char *path) {
  if (err == ENOSPC
#ifdef EDQUOT
      || err == EDQUOT
#endif
  )
    die(1, "DISK_FULL: %s %s: no space left on device", what, plain(path));
  die(1, "IO: %s %s: %s", what, plain(path), strerror(err));
}

static void usage_error(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, PROG ": %s; usage: " PROG " --root <dir> [--] <args...>\n", msg);
  exit(2);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die(1, "IO: out of memory");
  return p;
}

/* ------------------------------------------------------------------ growable buffer */

typedef struct {
  char *p;
  size_t n, cap;
} buf_t;

static void buf_add(buf_t *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->n + n + 1 > cap) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) die(1, "IO: out of memory");
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void buf_str(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_num(buf_t *b, unsigned long v) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%lu", v);
  buf_add(b, tmp, (size_t)n);
}

/* ------------------------------------------------------------------ paths */

/* path.resolve(p): absolute, lexically normalized (no symlinks resolved). */
static char *resolve_path(const char *p) {
  buf_t full = {0};
  if (p[0] != '/') {
    size_t size = 256;
    char *cwd = NULL;
    for (;;) {
      cwd = xmalloc(size);
      if (getcwd(cwd, size)) break;
      int err = errno;
      free(cwd);
      if (err != ERANGE) die(1, "IO: cannot read the current directory: %s", strerror(err));
      size *= 2;
    }
    buf_str(&full, cwd);
    buf_str(&full, "/");
    free(cwd);
  }
  buf_str(&full, p);
  /* Segments on a stack, in place. */
  char *out = xmalloc(full.n + 2);
  size_t len = 0;
  const char *s = full.p;
  while (*s) {
    while (*s == '/') s++;
    const char *e = s;
    while (*e && *e != '/') e++;
    size_t n = (size_t)(e - s);
    if (n == 0 || (n == 1 && s[0] == '.')) {
      /* nothing */
    } else if (n == 2 && s[0] == '.' && s[1] == '.') {
      while (len > 0 && out[len - 1] != '/') len--;
      if (len > 0) len--; /* drop the slash too */
    } else {
      out[len++] = '/';
      memcpy(out + len, s, n);
      len += n;
    }
    s = e;
  }
  if (len == 0) out[len++] = '/';
  out[len] = '\0';
  free(full.p);
  return out;
}

/* path.join(dir, rel) for a normalized rel without "." or ".." segments. */
static char *path_join(const char *dir, const char *rel) {
  buf_t b = {0};
  buf_str(&b, dir);
  if (b.n == 0 || b.p[b.n - 1] != '/') buf_str(&b, "/");
  buf_str(&b, rel);
  return b.p;
}

/* ------------------------------------------------------------------ UTF-8 as Node reads it */

static void put_code_point(unsigned char *out, size_t *len, unsigned long cp) {
  if (cp < 0x80) {
    out[(*len)++] = (unsigned char)cp;
  } else if (cp < 0x800) {
    out[(*len)++] = (unsigned char)(0xc0 | (cp >> 6));
    out[(*len)++] = (unsigned char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out[(*len)++] = (unsigned char)(0xe0 | (cp >> 12));
    out[(*len)++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[(*len)++] = (unsigned char)(0x80 | (cp & 0x3f));
  } else {
    out[(*len)++] = (unsigned char)(0xf0 | (cp >> 18));
    out[(*len)++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    out[(*len)++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[(*len)++] = (unsigned char)(0x80 | (cp & 0x3f));
  }
}

/*
 * The WHATWG UTF-8 decoder (what Buffer#toString('utf8') does), re-encoded as UTF-8:
 * every maximal invalid subsequence becomes U+FFFD. `*units` gets String#length.
 */
static char *decode_utf8(const unsigned char *in, size_t n, size_t *out_len, size_t *units) {
  unsigned char *out = xmalloc(3 * n + 1);
  size_t len = 0, u = 0;
  unsigned long cp = 0;
  int needed = 0, seen = 0;
  unsigned char lower = 0x80, upper = 0xbf;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = in[i];
    if (needed == 0) {
      if (c <= 0x7f) {
        out[len++] = c;
        u++;
      } else if (c >= 0xc2 && c <= 0xdf) {
        needed = 1;
        cp = c & 0x1f;
      } else if (c >= 0xe0 && c <= 0xef) {
        if (c == 0xe0) lower = 0xa0;
        if (c == 0xed) upper = 0x9f;
        needed = 2;
        cp = c & 0x0f;
      } else if (c >= 0xf0 && c <= 0xf4) {
        if (c == 0xf0) lower = 0x90;
        if (c == 0xf4) upper = 0x8f;
        needed = 3;
        cp = c & 0x07;
      } else {
        put_code_point(out, &len, 0xfffd);
        u++;
      }
      continue;
    }
    if (c < lower || c > upper) {
      cp = 0;
      needed = seen = 0;
      lower = 0x80;
      upper = 0xbf;
      put_code_point(out, &len, 0xfffd);
      u++;
      i--; /* the byte starts something else */
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    cp = (cp << 6) | (c & 0x3f);
    if (++seen == needed) {
      put_code_point(out, &len, cp);
      u += cp >= 0x10000 ? 2 : 1;
      cp = 0;
      needed = seen = 0;
    }
  }
  if (needed) {
    put_code_point(out, &len, 0xfffd);
    u++;
  }
  out[len] = '\0';
  *out_len = len;
  *units = u;
  return (char *)out;
}

/* Next code point of valid UTF-8 (decode_utf8's output). */
static unsigned long next_code_point(const unsigned char *s, size_t n, size_t *i) {
  unsigned char c = s[*i];
  int more = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
  unsigned long cp = more == 0 ? c : more == 1 ? (c & 0x1fu) : more == 2 ? (c & 0x0fu) : (c & 0x07u);
  (*i)++;
  for (int k = 0; k < more && *i < n; k++) cp = (cp << 6) | (s[(*i)++] & 0x3fu);
  return cp;
}

/* ------------------------------------------------------------------ the journal */

typedef struct {
  const char *p;
  size_t n;
} span_t;

enum { ST_EMPTY, ST_INVALID, ST_STAGED, ST_TRIAL, ST_GOOD, ST_BAD, ST_COUNT };
static const char *const STATUS_NAMES[ST_COUNT] = {"empty", "invalid", "staged", "trial", "good", "bad"};

typedef struct {
  int has_version;
  span_t version;
  int status;
  int has_entry;
  span_t entry;
} slot_t;

typedef struct {
  int active;   /* 0 = a, 1 = b */
  int previous; /* -1 when none */
  int trial;
  unsigned long attempts, max_attempts, saves;
  slot_t slots[2];
  span_t *bad;
  size_t nbad;
  char *text; /* owns the bytes every span points into */
} journal_t;

static const char SLOT_CHAR[2] = {'a', 'b'};

static void journal_free(journal_t *j) {
  free(j->bad);
  free(j->text);
  memset(j, 0, sizeof *j);
}

static int span_is(span_t s, const char *lit) { return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0; }

static int span_eq(span_t a, span_t b) { return a.n == b.n && memcmp(a.p, b.p, a.n) == 0; }

/* 0|[1-9][0-9]* and at most Number.MAX_SAFE_INTEGER. */
static int numeric_at_most_safe(const char *p, size_t n) {
  if (n == 0 || n > 16) return 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] < '0' || p[i] > '9') return 0;
  if (n > 1 && p[0] == '0') return 0;
  return n < 16 || memcmp(p, "9007199254740991", 16) <= 0;
}

/* semver.valid(v) === v (semver 7.x, strict): see the header comment. */
static int valid_version(span_t v) {
  const char *p = v.p;
  size_t n = v.n, i = 0;
  if (n > 256) return 0;
  for (int part = 0; part < 3; part++) {
    size_t start = i;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    if (!numeric_at_most_safe(p + start, i - start)) return 0;
    if (part < 2) {
      if (i >= n || p[i] != '.') return 0;
      i++;
    }
  }
  if (i == n) return 1;
  if (p[i] != '-') return 0; /* build metadata is dropped by valid(), so never equal */
  i++;
  for (;;) {
    size_t start = i;
    int letters = 0;
    while (i < n && p[i] != '.') {
      char c = p[i];
      if (c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        letters = 1;
      else if (c < '0' || c > '9')
        return 0;
      i++;
    }
    size_t len = i - start;
    if (len == 0) return 0;
    if (!letters && len > 1 && p[start] == '0') return 0; /* numeric identifiers have no leading zero */
    if (i == n) return 1;
    i++; /* the dot; an identifier must follow */
  }
}

/* Code points that are in NFC whatever surrounds them (NFC_QC=Yes, combining class 0). */
static int always_nfc(unsigned long cp) { return cp < 0x300 || (cp >= 0x4e00 && cp <= 0x9fff) || cp == 0xfffd; }

static int lower_ascii(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int prefix_ci(const char *s, size_t n, const char *lit) {
  size_t k = strlen(lit);
  if (n < k) return 0;
  for (size_t i = 0; i < k; i++)
    if (lower_ascii((unsigned char)s[i]) != lit[i]) return 0;
  return 1;
}

/* RESERVED in paths.ts: /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i */
static int reserved_segment(const char *s, size_t n) {
  size_t name = 0;
  if (prefix_ci(s, n, "con") || prefix_ci(s, n, "prn") || prefix_ci(s, n, "aux") || prefix_ci(s, n, "nul")) {
    name = 3;
  } else if (prefix_ci(s, n, "com") || prefix_ci(s, n, "lpt")) {
    if (n >= 4 && s[3] >= '0' && s[3] <= '9')
      name = 4;
    else if (n >= 5 && (unsigned char)s[3] == 0xc2 &&
             ((unsigned char)s[4] == 0xb9 || (unsigned char)s[4] == 0xb2 || (unsigned char)s[4] == 0xb3))
      name = 5; /* superscript one, two, three */
  }
  if (name == 0) return 0;
  if (n == name) return 1;
  return s[name] == '.'; /* ".*" cannot cross a line terminator; those are refused before */
}

/* checkSlotPath() in paths.ts; NULL when safe, else why not. */
static const char *unsafe_path(span_t path) {
  const unsigned char *p = (const unsigned char *)path.p;
  size_t n = path.n;
  if (n == 0) return "is empty";
  if (n > 4096) return "is longer than 4096 bytes";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = p[i];
    if (c < 0x20 || c == 0x7f || c == '\\' || c == ':' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' ||
        c == '|')
      return "contains a control character, a backslash or one of : * ? \" < > |";
  }
  if (p[0] == '/') return "is absolute";
  for (size_t i = 0; i < n;) {
    if (!always_nfc(next_code_point(p, n, &i)))
      return "has characters whose Unicode NFC form the native launcher does not check (only U+0000-U+02FF, "
             "U+4E00-U+9FFF and U+FFFD)";
  }
  size_t start = 0;
  for (;;) {
    size_t end = start;
    while (end < n && p[end] != '/') end++;
    const char *seg = path.p + start;
    size_t len = end - start;
    if (len == 0) return "has an empty segment";
    if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) return "has a \".\" or \"..\" segment";
    if (len > 255) return "has a segment over 255 bytes";
    if (seg[len - 1] == '.' || seg[len - 1] == ' ') return "has a segment ending in a dot or space";
    if (reserved_segment(seg, len)) return "uses a reserved Windows name";
    if (end == n) break;
    start = end + 1;
  }
  return NULL;
}

typedef struct {
  span_t key, value;
} kv_t;

static int kv_cmp(const void *a, const void *b) {
  const kv_t *x = a, *y = b;
  size_t n = x->key.n < y->key.n ? x->key.n : y->key.n;
  int c = memcmp(x->key.p, y->key.p, n);
  if (c) return c;
  return x->key.n < y->key.n ? -1 : x->key.n > y->key.n;
}

static int corrupt(char *why, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, cap, fmt, ap);
  va_end(ap);
  return -1;
}

static const kv_t *find_key(const kv_t *kvs, size_t n, const char *key) {
  kv_t probe = {{key, strlen(key)}, {NULL, 0}};
  return bsearch(&probe, kvs, n, sizeof *kvs, kv_cmp);
}

static int parse_slot_name(span_t v, int *out) {
  if (span_is(v, "a")) *out = 0;
  else if (span_is(v, "b")) *out = 1;
  else return 0;
  return 1;
}

/* /^[0-9]{1,9}$/ */
static int parse_count(span_t v, unsigned long *out) {
  if (v.n < 1 || v.n > 9) return 0;
  unsigned long x = 0;
  for (size_t i = 0; i < v.n; i++) {
    if (v.p[i] < '0' || v.p[i] > '9') return 0;
    x = x * 10 + (unsigned long)(v.p[i] - '0');
  }
  *out = x;
  return 1;
}

/* checkConsistent() in state-file.ts. */
static int check_consistent(const journal_t *j, char *why, size_t cap) {
  const slot_t *active = &j->slots[j->active];
  int want = j->trial ? ST_TRIAL : ST_GOOD;
  if (active->status != want)
    return corrupt(why, cap, "says slot %c is active with status \"%s\" while trial is %d", SLOT_CHAR[j->active],
                   STATUS_NAMES[active->status], j->trial);
  if (!active->has_version || !active->has_entry)
    return corrupt(why, cap, "has no version or entry for the active slot %c", SLOT_CHAR[j->active]);
  if (j->trial) {
    if (j->previous != 1 - j->active) return corrupt(why, cap, "has a trial without a previous slot to revert to");
    const slot_t *prev = &j->slots[j->previous];
    if (prev->status != ST_GOOD || !prev->has_entry || !prev->has_version)
      return corrupt(why, cap, "has a trial whose previous slot %c is not good", SLOT_CHAR[j->previous]);
  }
  if (j->previous == j->active) return corrupt(why, cap, "names the same slot as active and previous");
  if (j->max_attempts < 1) return corrupt(why, cap, "has max-attempts below 1");
  return 0;
}

/* parseJournal() in state-file.ts. On success `j` owns its text; on failure `why` says what is wrong. */
static int parse_journal(const unsigned char *bytes, size_t nbytes, journal_t *j, char *why, size_t cap) {
  memset(j, 0, sizeof *j);
  if (nbytes >= READ_CAP) return corrupt(why, cap, "is larger than 64 KiB");
  size_t n, units;
  char *t = decode_utf8(bytes, nbytes, &n, &units);
  kv_t *kvs = NULL;
  size_t nkv = 0;
  int rc = -1;
  j->text = t;
  if (units > MAX_STATE_UNITS) {
    corrupt(why, cap, "is larger than 64 KiB");
    goto out;
  }
  const char *nl = memchr(t, '\n', n);
  size_t first = nl ? (size_t)(nl - t) : n;
  if (first != strlen(STATE_MAGIC) || memcmp(t, STATE_MAGIC, first) != 0) {
    corrupt(why, cap, "does not start with \"%s\"", STATE_MAGIC);
    goto out;
  }
  if (n == 0 || t[n - 1] != '\n') {
    corrupt(why, cap, "is truncated (no final newline)");
    goto out;
  }
  /* The lines between the magic line and the final newline. */
  size_t lines = 0;
  for (size_t i = first + 1; i < n; i++)
    if (t[i] == '\n') lines++;
  kvs = xmalloc(lines * sizeof *kvs);
  j->bad = xmalloc(lines * sizeof *j->bad);
  for (size_t i = first + 1; i < n;) {
    const char *line = t + i;
    const char *end = memchr(line, '\n', n - i);
    size_t len = (size_t)(end - line);
    const char *space = memchr(line, ' ', len);
    if (!space || space == line) {
      corrupt(why, cap, "has a malformed line %s", shown(line, len, 60));
      goto out;
    }
    span_t key = {line, (size_t)(space - line)};
    span_t value = {space + 1, len - key.n - 1};
    if (span_is(key, "bad")) {
      if (!valid_version(value)) {
        corrupt(why, cap, "has an invalid version %s for bad", shown(value.p, value.n, 60));
        goto out;
      }
      j->bad[j->nbad++] = value;
    } else {
      kvs[nkv].key = key;
      kvs[nkv].value = value;
      nkv++;
    }
    i += len + 1;
  }
  qsort(kvs, nkv, sizeof *kvs, kv_cmp);
  for (size_t i = 1; i < nkv; i++) {
    if (kv_cmp(&kvs[i - 1], &kvs[i]) == 0) {
      corrupt(why, cap, "repeats %s", shown(kvs[i].key.p, kvs[i].key.n, 60));
      goto out;
    }
  }
  static const char *const required[] = {"active", "trial", "attempts", "max-attempts", "a", "b"};
  for (size_t k = 0; k < sizeof required / sizeof *required; k++) {
    if (!find_key(kvs, nkv, required[k])) {
      corrupt(why, cap, "has no \"%s\" line", required[k]);
      goto out;
    }
  }
  const kv_t *kv = find_key(kvs, nkv, "active");
  if (!parse_slot_name(kv->value, &j->active)) {
    corrupt(why, cap, "has active %s; a slot is a or b", shown(kv->value.p, kv->value.n, 60));
    goto out;
  }
  j->previous = -1;
  if ((kv = find_key(kvs, nkv, "previous")) && !parse_slot_name(kv->value, &j->previous)) {
    corrupt(why, cap, "has previous %s; a slot is a or b", shown(kv->value.p, kv->value.n, 60));
    goto out;
  }
  kv = find_key(kvs, nkv, "trial");
  if (!span_is(kv->value, "0") && !span_is(kv->value, "1")) {
    corrupt(why, cap, "has trial %s; expected 0 or 1", shown(kv->value.p, kv->value.n, 60));
    goto out;
  }
  j->trial = span_is(kv->value, "1");
  static const char *const counts[] = {"attempts", "max-attempts", "saves"};
  unsigned long *targets[] = {&j->attempts, &j->max_attempts, &j->saves};
  for (size_t k = 0; k < 3; k++) {
    kv = find_key(kvs, nkv, counts[k]);
    if (!kv) continue; /* only saves is optional (0), the others were required above */
    if (!parse_count(kv->value, targets[k])) {
      corrupt(why, cap, "has %s %s; expected a small number", counts[k], shown(kv->value.p, kv->value.n, 60));
      goto out;
    }
  }
  for (int s = 0; s < 2; s++) {
    char name[2] = {SLOT_CHAR[s], '\0'};
    char entry_key[8] = "entry-?";
    entry_key[6] = SLOT_CHAR[s];
    span_t v = find_key(kvs, nkv, name)->value;
    const char *sp = memchr(v.p, ' ', v.n);
    if (!sp || memchr(sp + 1, ' ', v.n - (size_t)(sp + 1 - v.p))) {
      corrupt(why, cap, "has a malformed \"%c\" line", SLOT_CHAR[s]);
      goto out;
    }
    span_t version = {v.p, (size_t)(sp - v.p)};
    span_t status = {sp + 1, v.n - version.n - 1};
    slot_t *slot = &j->slots[s];
    slot->status = -1;
    for (int k = 0; k < ST_COUNT; k++)
      if (span_is(status, STATUS_NAMES[k])) slot->status = k;
    if (slot->status < 0) {
      corrupt(why, cap, "has an unknown status %s for slot %c", shown(status.p, status.n, 60), SLOT_CHAR[s]);
      goto out;
    }
    if (!span_is(version, "-")) {
      if (!valid_version(version)) {
        corrupt(why, cap, "has an invalid version %s for %c", shown(version.p, version.n, 60), SLOT_CHAR[s]);
        goto out;
      }
      slot->has_version = 1;
      slot->version = version;
    }
    if ((kv = find_key(kvs, nkv, entry_key))) {
      const char *unsafe = unsafe_path(kv->value);
      if (unsafe) {
        corrupt(why, cap, "has an unsafe entry for slot %c: %s %s", SLOT_CHAR[s], shown(kv->value.p, kv->value.n, 120),
                unsafe);
        goto out;
      }
      slot->has_entry = 1;
      slot->entry = kv->value;
    }
  }
  rc = check_consistent(j, why, cap);
out:
  free(kvs);
  if (rc != 0) journal_free(j);
  return rc;
}

/* formatJournal() in state-file.ts, byte for byte. */
static void format_journal(const journal_t *j, buf_t *b) {
  buf_str(b, STATE_MAGIC "\nactive ");
  buf_add(b, &SLOT_CHAR[j->active], 1);
  if (j->previous >= 0) {
    buf_str(b, "\nprevious ");
    buf_add(b, &SLOT_CHAR[j->previous], 1);
  }
  buf_str(b, "\ntrial ");
  buf_str(b, j->trial ? "1" : "0");
  buf_str(b, "\nattempts ");
  buf_num(b, j->attempts);
  buf_str(b, "\nmax-attempts ");
  buf_num(b, j->max_attempts);
  buf_str(b, "\nsaves ");
  buf_num(b, j->saves);
  buf_str(b, "\n");
  for (int s = 0; s < 2; s++) {
    const slot_t *slot = &j->slots[s];
    buf_add(b, &SLOT_CHAR[s], 1);
    buf_str(b, " ");
    if (slot->has_version) buf_add(b, slot->version.p, slot->version.n);
    else buf_str(b, "-");
    buf_str(b, " ");
    buf_str(b, STATUS_NAMES[slot->status]);
    buf_str(b, "\n");
  }
  for (int s = 0; s < 2; s++) {
    const slot_t *slot = &j->slots[s];
    if (!slot->has_entry) continue;
    buf_str(b, s == 0 ? "entry-a " : "entry-b ");
    buf_add(b, slot->entry.p, slot->entry.n);
    buf_str(b, "\n");
  }
  for (size_t i = 0; i < j->nbad; i++) {
    buf_str(b, "bad ");
    buf_add(b, j->bad[i].p, j->bad[i].n);
    buf_str(b, "\n");
  }
}

/* ------------------------------------------------------------------ decisions (transitions.ts) */

enum { RUN, RUN_COUNTED, REVERT_MAX_ATTEMPTS, REVERT_STATE_LOOP };

/* revertTrial(): back to the previous slot; the reverted-from release is marked bad. */
static void revert_trial(journal_t *j) {
  int from = j->active;
  slot_t *rec = &j->slots[from];
  if (rec->has_version) {
    int listed = 0;
    for (size_t i = 0; i < j->nbad; i++)
      if (span_eq(j->bad[i], rec->version)) listed = 1;
    if (!listed) {
      span_t *bad = realloc(j->bad, (j->nbad + 1) * sizeof *bad);
      if (!bad) die(1, "IO: out of memory");
      j->bad = bad;
      j->bad[j->nbad++] = rec->version;
    }
  }
  if (j->nbad > MAX_BAD) {
    memmove(j->bad, j->bad + (j->nbad - MAX_BAD), MAX_BAD * sizeof *j->bad);
    j->nbad = MAX_BAD;
  }
  j->active = j->previous;
  j->previous = from;
  j->trial = 0;
  j->attempts = 0;
  j->saves = 0;
  rec->status = ST_BAD;
}

/* decideLaunch(): changes `j` when the decision must be persisted. */
static int decide_launch(journal_t *j) {
  if (!j->trial) return RUN;
  if (j->attempts >= j->max_attempts) {
    revert_trial(j);
    return REVERT_MAX_ATTEMPTS;
  }
  if (j->saves >= MAX_SAVES) {
    revert_trial(j);
    return REVERT_STATE_LOOP;
  }
  j->attempts++; /* countStart(): attempts + 1 and, as every bump, saves + 1 */
  j->saves++;
  return RUN_COUNTED;
}

/* ------------------------------------------------------------------ files */

typedef struct {
  char *root, *state, *tmp, *lock;
} layout_t;

/* readIfExists(): 1 with the bytes, 0 when absent; dies on any other error. A file too
 * large to be a journal is returned cut at READ_CAP bytes (it fails parse_journal). */
static int read_if_exists(const char *path, unsigned char **out, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    die_fs(errno, "reading", path);
  }
  unsigned char *b = xmalloc(READ_CAP + 1);
  size_t n = 0;
  while (n < READ_CAP) {
    ssize_t r = read(fd, b + n, READ_CAP - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      die_fs(err, "reading", path);
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  *out = b;
  *len = n;
  return 1;
}

/* syncDir() in io/file-system.ts. */
static int sync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  errno = err;
  return rc;
}

static int parses(const unsigned char *bytes, size_t n) {
  journal_t j;
  char why[512];
  if (parse_journal(bytes, n, &j, why, sizeof why) != 0) return 0;
  journal_free(&j);
  return 1;
}

/*
 * loadJournal() in journal-store.ts (settle = 1): settle a leftover state.tmp, then
 * parse; peekJournal() (settle = 0): read without touching the leftover, which
 * without the lock may be an updater's save in progress. 0 when nothing is installed.
 */
static int load_journal(const layout_t *l, journal_t *j, int settle) {
  unsigned char *cur = NULL, *left = NULL;
  size_t ncur = 0, nleft = 0;
  int have_cur = read_if_exists(l->state, &cur, &ncur);
  /* As peekJournal(): the leftover is only looked at when there is no state. */
  int have_left = settle || !have_cur ? read_if_exists(l->tmp, &left, &nleft) : 0;
  if (have_left && !settle) {
    if (!have_cur && parses(left, nleft)) {
      cur = left;
      ncur = nleft;
      have_cur = 1;
      left = NULL;
    }
  } else if (have_left) {
    if (!have_cur && parses(left, nleft)) {
      /* The rename never happened but the write was complete: finish it. */
      if (rename(l->tmp, l->state) != 0 || sync_dir(l->root) != 0) die_fs(errno, "settling", l->tmp);
      cur = left;
      ncur = nleft;
      have_cur = 1;
      left = NULL;
    } else {
      if (unlink(l->tmp) != 0 || sync_dir(l->root) != 0) die_fs(errno, "settling", l->tmp);
    }
  }
  free(left);
  if (!have_cur) return 0;
  char why[1024];
  if (parse_journal(cur, ncur, j, why, sizeof why) != 0) die(1, "STATE_CORRUPT: state file %s %s", plain(l->state), why);
  free(cur);
  return 1;
}

/* Appends `text` to `b` as a JSON string. */
static void buf_add_json_string(buf_t *b, const char *text) {
  buf_add(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (*p == '"' || *p == '\\') {
      char esc[2] = {'\\', (char)*p};
      buf_add(b, esc, 2);
    } else if (*p < 0x20) {
      char esc[8];
      int n = snprintf(esc, sizeof esc, "\\u%04x", *p);
      buf_add(b, esc, (size_t)n);
    } else {
      buf_add(b, (const char *)p, 1);
    }
  }
  buf_add(b, "\"", 1);
}

/*
 * TWINSLOT_RELAUNCH: the command, as a JSON array, that starts this root again through
 * this launcher (the app appends its own arguments), so an app that restarts itself
 * after an install (twinslot/electron's quitAndInstall) goes through the trial count
 * instead of re-running the old slot's executable. Left unset when this executable's
 * own path cannot be found.
 */
static void set_relaunch_env(const char *argv0, const char *root) {
  char link[PATH_MAX];
  char *self = NULL;
  ssize_t n = readlink("/proc/self/exe", link, sizeof link - 1);
  if (n > 0) {
    link[n] = '\0';
    self = resolve_path(link);
  } else if (strchr(argv0, '/') != NULL) {
    self = resolve_path(argv0); /* started by a path (no /proc): relative to the unchanged cwd */
  } else {
    unsetenv("TWINSLOT_RELAUNCH");
    return;
  }
  buf_t b = {0};
  buf_add(&b, "[", 1);
  buf_add_json_string(&b, self);
  free(self);
  buf_add(&b, ",\"--root\",", 10);
  buf_add_json_string(&b, root);
  buf_add(&b, ",\"--\"]", 7);
  if (setenv("TWINSLOT_RELAUNCH", b.p, 1) != 0) unsetenv("TWINSLOT_RELAUNCH");
  free(b.p);
}

/* writeFileAtomic() in atomic-file.ts: state.tmp -> fsync -> rename -> fsync the directory. */
static void save_journal(const layout_t *l, const journal_t *j) {
  buf_t b = {0};
  format_journal(j, &b);
  int fd = open(l->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) die_fs(errno, "writing", l->state);
  size_t done = 0;
  while (done < b.n) {
    ssize_t w = write(fd, b.p + done, b.n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      die_fs(err, "writing", l->state);
    }
    done += (size_t)w;
  }
  if (fsync(fd) != 0) {
    int err = errno;
    close(fd);
    die_fs(err, "writing", l->state);
  }
  if (close(fd) != 0) die_fs(errno, "writing", l->state);
  if (rename(l->tmp, l->state) != 0) die_fs(errno, "writing", l->state);
  if (sync_dir(l->root) != 0) die_fs(errno, "writing", l->state);
  free(b.p);
}

/* ------------------------------------------------------------------ the lock (proper-lockfile) */

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One acquireLock() of proper-lockfile: 0 taken, 1 held by someone else; dies on errors. */
static int try_lock(const layout_t *l) {
  if (mkdir(l->lock, 0777) == 0) return 0;
  if (errno != EEXIST) die(1, "IO: cannot lock %s: %s", plain(l->root), strerror(errno));
  struct stat st;
  if (stat(l->lock, &st) != 0) {
    if (errno != ENOENT) die(1, "IO: cannot lock %s: %s", plain(l->root), strerror(errno));
    /* Removed meanwhile: one more try, without the stale check. */
  } else {
    long long mtime = (long long)st.st_mtime * 1000 + MTIME_NSEC(st) / 1000000;
    if (!(mtime < now_ms() - LOCK_STALE_MS)) return 1;
    /* A lock untouched for 10 s belongs to a dead process: reclaim it. The Node updater
       keeps its PID in <lock>/owner, and rmdir needs the directory empty. */
    char owner[PATH_MAX];
    if (snprintf(owner, sizeof owner, "%s/owner", l->lock) < (int)sizeof owner) (void)unlink(owner);
    if (rmdir(l->lock) != 0 && errno != ENOENT) die(1, "IO: cannot lock %s: %s", plain(l->root), strerror(errno));
  }
  if (mkdir(l->lock, 0777) == 0) return 0;
  if (errno == EEXIST) return 1;
  die(1, "IO: cannot lock %s: %s", plain(l->root), strerror(errno));
}

/* lockWithPatience() in launch.ts: up to 50 retries, 100 ms apart. */
static void lock_root(const layout_t *l) {
  for (int attempt = 0;; attempt++) {
    if (try_lock(l) == 0) {
      g_lock_path = l->lock;
      return;
    }
    if (attempt >= LOCK_RETRIES) die(1, "LOCKED: another updater holds the lock on %s", plain(l->root));
    struct timespec ts = {0, LOCK_RETRY_MS * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
}

static void unlock_root(const layout_t *l) {
  g_lock_path = NULL;
  if (rmdir(l->lock) != 0 && errno != ENOENT)
    die(1, "IO: cannot release the lock on %s: %s", plain(l->root), strerror(errno));
}

/* ------------------------------------------------------------------ main */

static char *span_dup(span_t s) {
  char *p = xmalloc(s.n + 1);
  memcpy(p, s.p, s.n);
  p[s.n] = '\0';
  return p;
}

int main(int argc, char **argv) {
  const char *root_arg = NULL;
  int i = 1;
  while (i < argc) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "--root") == 0) {
      if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0) usage_error("--root needs a value");
      if (argv[i + 1][0] == '-') usage_error("--root needs a value; write --root=%s for a path starting with a dash", plain(argv[i + 1]));
      root_arg = argv[i + 1];
      i += 2;
    } else if (strncmp(a, "--root=", 7) == 0) {
      root_arg = a + 7;
      i++;
    } else if (strcmp(a, "--json") == 0) {
      i++; /* accepted for parity with `twinslot launch`; nothing is printed */
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      printf("usage: " PROG " --root <dir> [--] <args...>\n"
             "Starts the active slot of a twinslot install root, counting a start while a trial is\n"
             "pending and reverting a crash-looping trial first.\n");
      return 0;
    } else if (a[0] == '-' && a[1] != '\0') {
      usage_error("unknown option \"%s\"", plain(a));
    } else {
      break; /* the app's first argument */
    }
  }
  if (!root_arg || root_arg[0] == '\0') usage_error("--root is required");

  layout_t l;
  l.root = resolve_path(root_arg);
  l.state = path_join(l.root, "state");
  l.tmp = path_join(l.root, "state.tmp");
  l.lock = path_join(l.root, ".lock");

  /* prepareLaunch() in launch.ts. */
  journal_t j;
  if (!load_journal(&l, &j, 0)) die(1, "INVALID_STATE: nothing is installed in %s", plain(l.root));
  int decision = decide_launch(&j);
  if (decision != RUN) {
    /* Only a trial start writes; take the lock so no updater writes the journal at the same time. */
    journal_free(&j);
    lock_root(&l);
    if (!load_journal(&l, &j, 1)) die(1, "STATE_CORRUPT: the state file of %s vanished", plain(l.root));
    decision = decide_launch(&j);
    if (decision != RUN) save_journal(&l, &j);
    unlock_root(&l);
  }
  const slot_t *rec = &j.slots[j.active];
  if (!rec->has_entry || !rec->has_version) die(1, "STATE_CORRUPT: slot %c has no entry point", SLOT_CHAR[j.active]);
  char *version = span_dup(rec->version);
  char slot_dir[] = "slots/?";
  slot_dir[6] = SLOT_CHAR[j.active];
  char *dir = path_join(l.root, slot_dir);
  char *entry_rel = span_dup(rec->entry);
  char *entry = path_join(dir, entry_rel);
  char slot_name[2] = {SLOT_CHAR[j.active], '\0'};

  if (decision == REVERT_MAX_ATTEMPTS || decision == REVERT_STATE_LOOP) {
    fprintf(stderr, PROG ": reverted to %s (slot %s): %s\n", version, slot_name,
            decision == REVERT_MAX_ATTEMPTS ? "max-attempts" : "state-loop");
  }
  if (setenv("TWINSLOT_ROOT", l.root, 1) != 0 || setenv("TWINSLOT_SLOT", slot_name, 1) != 0 ||
      setenv("TWINSLOT_VERSION", version, 1) != 0 || setenv("TWINSLOT_LAUNCHED", "1", 1) != 0)
    die(127, "cannot start %s: %s", plain(entry), strerror(errno));
  set_relaunch_env(argv[0], l.root);

  char **args = xmalloc(((size_t)(argc - i) + 2) * sizeof *args);
  size_t k = 0;
  args[k++] = entry;
  for (; i < argc; i++) args[k++] = argv[i];
  args[k] = NULL;
  fflush(NULL);
  /* execvp with a path that has a slash searches nothing; like Node's spawn (libuv uses
   * execvp too), a script without "#!" is run by /bin/sh where the C library does that. */
  execvp(entry, args);
  die(127, "cannot start %s: %s", plain(entry), strerror(errno));
}
