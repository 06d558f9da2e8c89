/*  proto/util.h: the few things every fednode module shares.

    One macro that marks results callers must check, one allocation wrapper
    that aborts on out-of-memory (so no module carries dead NULL checks after
    malloc), and small byte helpers for big-endian keys and hex/Z85 text.
    Nothing here keeps state.
*/
#ifndef FED_UTIL_H_INCLUDED
#define FED_UTIL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Results that must be checked: 0 ok, -1 error (-2 malformed input in decoders).
#if defined(__GNUC__)
#define FED_MUST_USE __attribute__ ((warn_unused_result))
#define FED_PRINTF(a, b) __attribute__ ((format (printf, a, b)))
#else
#define FED_MUST_USE
#define FED_PRINTF(a, b)
#endif

#define FED_MALFORMED (-2)

//  An error report: a reason code (module-specific, 0 if none) and a message
//  that says what went wrong, where, and what to do instead. Lives on the
//  caller's stack; functions that fail fill it when it is not NULL.
typedef struct {
    int code;
    char text [512];
} fed_err_t;

//  Fills err (if not NULL) with code and a formatted message.
void fed_err_set (fed_err_t *err, int code, const char *format, ...) FED_PRINTF (3, 4);

//  A borrowed run of bytes (not owned by the struct).
typedef struct {
    const uint8_t *data;
    size_t size;
} fed_blob_t;

//  Allocate or abort. Memory from these is freed with free ().
//  Caller owns the returned memory. Never returns NULL.
void *fed_malloc (size_t size);
void *fed_calloc (size_t count, size_t size);
void *fed_realloc (void *ptr, size_t size);
char *fed_strdup (const char *s);
char *fed_strndup (const char *s, size_t n);
//  printf into fresh memory. Caller owns the returned string.
char *fed_sprintf (const char *format, ...) FED_PRINTF (1, 2);

//  Free *p_p and set it to NULL. Accepts NULL.
void fed_free (void *p_p);

//  Big-endian 64-bit store/load, for RocksDB keys that sort by number.
void fed_put_be64 (uint8_t *dst, uint64_t value);
uint64_t fed_get_be64 (const uint8_t *src);

//  True if size bytes at ptr are well-formed UTF-8 (no overlong forms,
//  surrogates or code points past U+10FFFF) without a NUL byte, so that a
//  C reader may copy them into a NUL-terminated buffer without losing part.
//  The rule for every str a fednode protocol carries (doc/protocol.md §4.2).
bool fed_text_valid (const char *ptr, size_t size);

//  Lower-case hex of size bytes into dst, which must hold 2*size+1 chars.
void fed_hex_encode (char *dst, const uint8_t *src, size_t size);
//  Parses exactly 2*size hex chars into dst. Returns 0, or -1 if text is not
//  that many hex digits.
int fed_hex_decode (uint8_t *dst, size_t size, const char *text) FED_MUST_USE;

//  Z85 of a 32-byte key into dst, which must hold 41 chars.
void fed_z85_encode_key (char *dst, const uint8_t key [32]);
//  Parses a 32-byte key given as 40 Z85 chars or 64 hex chars. Returns 0 or -1.
int fed_key_decode (uint8_t key [32], const char *text) FED_MUST_USE;

//  Monotonic and wall-clock milliseconds.
int64_t fed_mono_ms (void);
int64_t fed_wall_ms (void);

//  Parses "250ms", "5s", "2m", "1h", "1d" (and a bare number of ms) into
//  milliseconds. Returns 0, or -1 with *value untouched.
int fed_parse_duration (const char *text, int64_t *value) FED_MUST_USE;
//  Writes ms as a duration fed_parse_duration reads back, in the largest
//  unit that divides it (90000 -> "90s", 7200000 -> "2h", 250 -> "250ms").
void fed_format_duration (char *text, size_t size, int64_t ms);
//  Parses "512", "64KiB", "1MiB", "4MB", "1GiB" into bytes. Returns 0 or -1.
int fed_parse_size (const char *text, uint64_t *value) FED_MUST_USE;

//  The nearest of count candidates to word by edit distance (insertions,
//  deletions, substitutions and swaps of neighbours count one each), for
//  "did you mean …?"; NULL when none is within 3 edits and a third of
//  word's length. Words of 64 bytes or more are never near anything.
const char *fed_nearest_word (const char *word, const char *const *candidates, size_t count);

//  Makes directory path and its missing parents (mode 0700), like mkdir -p.
//  Returns 0, or -1 with errno.
int fed_make_dirs (const char *path) FED_MUST_USE;

#ifdef __cplusplus
}
#endif
#endif
