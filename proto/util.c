/*  proto/util.c: allocation wrappers, byte helpers, and text parsers for
    durations and sizes shared by config, codecs and the store.
*/
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zmq.h>

static void
s_out_of_memory (size_t size)
{
    fprintf (stderr, "fednode: out of memory allocating %zu bytes\n", size);
    abort ();
}

void *
fed_malloc (size_t size)
{
    void *p = malloc (size ? size : 1);
    if (!p)
        s_out_of_memory (size);
    return p;
}

void *
fed_calloc (size_t count, size_t size)
{
    void *p = calloc (count ? count : 1, size ? size : 1);
    if (!p)
        s_out_of_memory (count * size);
    return p;
}

void *
fed_realloc (void *ptr, size_t size)
{
    void *p = realloc (ptr, size ? size : 1);
    if (!p)
        s_out_of_memory (size);
    return p;
}

char *
fed_strdup (const char *s)
{
    return fed_strndup (s, strlen (s));
}

char *
fed_strndup (const char *s, size_t n)
{
    char *copy = (char *) fed_malloc (n + 1);
    memcpy (copy, s, n);
    copy [n] = 0;
    return copy;
}

char *
fed_sprintf (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int size = vsnprintf (NULL, 0, format, args);
    va_end (args);
    char *text = (char *) fed_malloc ((size_t) (size < 0 ? 0 : size) + 1);
    va_start (args, format);
    vsnprintf (text, (size_t) (size < 0 ? 0 : size) + 1, format, args);
    va_end (args);
    return text;
}

void
fed_err_set (fed_err_t *err, int code, const char *format, ...)
{
    if (!err)
        return;
    err->code = code;
    va_list args;
    va_start (args, format);
    vsnprintf (err->text, sizeof err->text, format, args);
    va_end (args);
}

void
fed_free (void *p_p)
{
    void **pp = (void **) p_p;
    if (pp && *pp) {
        free (*pp);
        *pp = NULL;
    }
}

void
fed_put_be64 (uint8_t *dst, uint64_t value)
{
    for (int i = 7; i >= 0; i--) {
        dst [i] = (uint8_t) (value & 0xff);
        value >>= 8;
    }
}

uint64_t
fed_get_be64 (const uint8_t *src)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = (value << 8) | src [i];
    return value;
}

bool
fed_text_valid (const char *ptr, size_t size)
{
    const uint8_t *p = (const uint8_t *) ptr;
    size_t i = 0;
    while (i < size) {
        uint8_t b = p [i];
        if (b == 0)
            return false;
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if (b >= 0xc2 && b <= 0xdf) {
            n = 1;
            cp = b & 0x1f;
            min = 0x80;
        } else if (b >= 0xe0 && b <= 0xef) {
            n = 2;
            cp = b & 0x0f;
            min = 0x800;
        } else if (b >= 0xf0 && b <= 0xf4) {
            n = 3;
            cp = b & 0x07;
            min = 0x10000;
        } else
            return false;
        if (size - i - 1 < n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p [i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p [i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

void
fed_hex_encode (char *dst, const uint8_t *src, size_t size)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        dst [2 * i] = digits [src [i] >> 4];
        dst [2 * i + 1] = digits [src [i] & 15];
    }
    dst [2 * size] = 0;
}

static int
s_hex_value (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
fed_hex_decode (uint8_t *dst, size_t size, const char *text)
{
    if (strlen (text) != 2 * size)
        return -1;
    for (size_t i = 0; i < size; i++) {
        int hi = s_hex_value (text [2 * i]);
        int lo = s_hex_value (text [2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        dst [i] = (uint8_t) (hi << 4 | lo);
    }
    return 0;
}

void
fed_z85_encode_key (char *dst, const uint8_t key [32])
{
    zmq_z85_encode (dst, key, 32);
}

int
fed_key_decode (uint8_t key [32], const char *text)
{
    size_t len = strlen (text);
    if (len == 64)
        return fed_hex_decode (key, 32, text);
    if (len == 40) {
        //  zmq_z85_decode accepts any byte; check the alphabet first.
        static const char alphabet [] = "0123456789abcdefghijklmnopqrstuvwxyz"
                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
        if (strspn (text, alphabet) != 40)
            return -1;
        return zmq_z85_decode (key, text) ? 0 : -1;
    }
    return -1;
}

int64_t
fed_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
fed_wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  Splits "123unit" into a number and a suffix; the number must be a plain
//  non-negative decimal integer with no sign or spaces.
static int
s_split_number (const char *text, uint64_t *number, const char **suffix)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long value = strtoull (text, &end, 10);
    if (errno == ERANGE)
        return -1;
    *number = value;
    *suffix = end;
    return 0;
}

void
fed_format_duration (char *text, size_t size, int64_t ms)
{
    static const struct {
        const char *suffix;
        int64_t unit;
    } units [] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    for (size_t i = 0; i < sizeof units / sizeof units [0]; i++)
        if (ms && ms % units [i].unit == 0) {
            snprintf (text, size, "%lld%s", (long long) (ms / units [i].unit), units [i].suffix);
            return;
        }
    snprintf (text, size, "%lldms", (long long) ms);
}

int
fed_parse_duration (const char *text, int64_t *value)
{
    static const struct {
        const char *suffix;
        uint64_t ms;
    } units [] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    uint64_t number;
    const char *suffix;
    if (s_split_number (text, &number, &suffix))
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units [0]; i++)
        if (strcmp (suffix, units [i].suffix) == 0) {
            if (number > (uint64_t) INT64_MAX / units [i].ms)
                return -1;
            *value = (int64_t) (number * units [i].ms);
            return 0;
        }
    return -1;
}

int
fed_parse_size (const char *text, uint64_t *value)
{
    static const struct {
        const char *suffix;
        uint64_t bytes;
    } units [] = {{"", 1},         {"B", 1},         {"KB", 1000},       {"KiB", 1024},
                  {"MB", 1000000}, {"MiB", 1048576}, {"GB", 1000000000}, {"GiB", 1073741824}};
    uint64_t number;
    const char *suffix;
    if (s_split_number (text, &number, &suffix))
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units [0]; i++)
        if (strcmp (suffix, units [i].suffix) == 0) {
            if (number > UINT64_MAX / units [i].bytes)
                return -1;
            *value = number * units [i].bytes;
            return 0;
        }
    return -1;
}

//  Edit distance of two short words, counting a swap of two neighbouring
//  characters as one edit (optimal string alignment: "fecth" is one edit
//  from "fetch"); SIZE_MAX when either is long.
static size_t
s_distance (const char *a, size_t alen, const char *b, size_t blen)
{
    size_t rows [3][64], *before = rows [0], *above = rows [1], *row = rows [2];
    if (alen >= 64 || blen >= 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= blen; j++)
        above [j] = j;
    for (size_t i = 1; i <= alen; i++) {
        row [0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t best = above [j - 1] + (a [i - 1] != b [j - 1]);
            if (above [j] + 1 < best)
                best = above [j] + 1;
            if (row [j - 1] + 1 < best)
                best = row [j - 1] + 1;
            if (i > 1 && j > 1 && a [i - 1] == b [j - 2] && a [i - 2] == b [j - 1]
                && before [j - 2] + 1 < best)
                best = before [j - 2] + 1;
            row [j] = best;
        }
        size_t *spare = before;
        before = above;
        above = row;
        row = spare;
    }
    return above [blen];
}

const char *
fed_nearest_word (const char *word, const char *const *candidates, size_t count)
{
    const char *best = NULL;
    size_t best_distance = SIZE_MAX;
    size_t length = strlen (word);
    for (size_t i = 0; i < count; i++) {
        size_t distance = s_distance (word, length, candidates [i], strlen (candidates [i]));
        if (distance < best_distance) {
            best = candidates [i];
            best_distance = distance;
        }
    }
    return best_distance <= 3 && best_distance * 3 <= length ? best : NULL;
}

int
fed_make_dirs (const char *path)
{
    char *copy = fed_strdup (path);
    int rc = 0;
    for (char *slash = copy + 1; rc == 0; slash++) {
        bool end = *slash == 0;
        if (*slash != '/' && !end)
            continue;
        *slash = 0;
        if (mkdir (copy, 0700) && errno != EEXIST)
            rc = -1;
        if (end)
            break;
        *slash = '/';
    }
    free (copy);
    return rc;
}
