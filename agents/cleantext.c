/*  agents/cleantext.c: whitespace and case folding, value coercion
    (cleantext.h).
*/
#include "cleantext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

//  Decodes the code point at in [i] (valid UTF-8) and sets *size to its
//  byte length.
static uint32_t
s_decode (const unsigned char *in, size_t i, size_t *size)
{
    unsigned char c = in [i];
    if (c < 0x80) {
        *size = 1;
        return c;
    }
    if (c < 0xe0) {
        *size = 2;
        return ((uint32_t) (c & 0x1f) << 6) | (in [i + 1] & 0x3f);
    }
    if (c < 0xf0) {
        *size = 3;
        return ((uint32_t) (c & 0x0f) << 12) | ((uint32_t) (in [i + 1] & 0x3f) << 6)
            | (in [i + 2] & 0x3f);
    }
    *size = 4;
    return ((uint32_t) (c & 0x07) << 18) | ((uint32_t) (in [i + 1] & 0x3f) << 12)
        | ((uint32_t) (in [i + 2] & 0x3f) << 6) | (in [i + 3] & 0x3f);
}

static bool
s_space (uint32_t cp)
{
    if (cp < 0x80)
        return cp == ' ' || (cp >= 0x09 && cp <= 0x0d);
    return cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a)
        || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

static bool
s_zero_width (uint32_t cp)
{
    return cp == 0x200b || cp == 0x2060 || cp == 0xfeff;
}

//  ASCII and not whitespace.
static inline bool
s_plain (unsigned char c)
{
    return (c > 0x20 && c < 0x80) || c < 0x09 || (c > 0x0d && c < 0x20);
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

//  Eight bytes that fold as they are but for case: each from 0x20 to 0x7f,
//  no two spaces side by side and the last not a space (a single space
//  between other characters stays one space). The adds never carry out of
//  a byte: every byte is below 0x80 by then.
static inline bool
s_plain8 (uint64_t v)
{
    if ((v & HIGHS) || ((v + ONES * 0x60) & HIGHS) != HIGHS)
        return false;
    uint64_t x = v ^ (ONES * ' ');
    uint64_t spaces = ~(((x & ~HIGHS) + ~HIGHS) | x) & HIGHS; //  exactly the spaces
    return !(spaces & (spaces << 8)) && !(spaces >> 63);
}

//  Eight such bytes with A-Z lowered.
static inline uint64_t
s_lower8 (uint64_t v)
{
    uint64_t at_least_a = v + ONES * (0x80 - 'A'), above_z = v + ONES * (0x7f - 'Z');
    return v | ((at_least_a & ~above_z & HIGHS) >> 2);
}

size_t
fed_fold (const char *in_text, size_t len, char *out, int flags)
{
    const unsigned char *in = (const unsigned char *) in_text;
    bool collapse = flags & FED_FOLD_COLLAPSE, lower = flags & FED_FOLD_CASE;
    bool trim = collapse || (flags & FED_FOLD_TRIM);
    size_t n = 0;
    size_t kept = 0;      //  output length up to the last non-space (for trim)
    bool pending = false; //  collapse: a space is owed before the next character
    for (size_t i = 0; i < len;) {
        //  A run of ASCII other than whitespace first, in a tight loop.
        unsigned char c = in [i];
        if (s_plain (c)) {
            if (pending) {
                out [n++] = ' ';
                pending = false;
            }
            while (i < len) {
                uint64_t v;
                if (len - i >= 8 && (memcpy (&v, in + i, 8), s_plain8 (v))) {
                    if (lower)
                        v = s_lower8 (v);
                    memcpy (out + n, &v, 8);
                    n += 8;
                    i += 8;
                    continue;
                }
                c = in [i];
                if (c == ' ' && i + 1 < len && s_plain (in [i + 1])) {
                    out [n++] = ' '; //  one space inside the run stays
                    i++;
                    continue;
                }
                if (!s_plain (c))
                    break;
                out [n++] = (char) (lower && (unsigned) (c - 'A') < 26u ? c + 32 : c);
                i++;
            }
            kept = n;
            continue;
        }
        size_t size;
        uint32_t cp;
        if (c < 0x80) {
            cp = c;
            size = 1;
        } else
            cp = s_decode (in, i, &size);
        if (s_zero_width (cp)) {
            i += size;
            continue;
        }
        if (s_space (cp)) {
            if (collapse)
                pending = n > 0;
            else if (!(trim && n == 0)) {
                memcpy (out + n, in + i, size);
                n += size;
            }
            i += size;
            continue;
        }
        if (pending) {
            out [n++] = ' ';
            pending = false;
        }
        if (lower && cp >= 'A' && cp <= 'Z')
            out [n++] = (char) (cp + 32);
        else if (lower && cp >= 0xc0 && cp <= 0xde && cp != 0xd7) {
            //  Latin-1 capitals: two bytes, the same length lower case.
            cp += 32;
            out [n++] = (char) (0xc0 | (cp >> 6));
            out [n++] = (char) (0x80 | (cp & 0x3f));
        } else {
            memcpy (out + n, in + i, size);
            n += size;
        }
        kept = n;
        i += size;
    }
    return trim ? kept : n;
}

bool
fed_trim_ascii (const char *in_text, size_t len, size_t *start, size_t *trimmed)
{
    const unsigned char *in = (const unsigned char *) in_text;
    unsigned char any = 0;
    for (size_t i = 0; i < len; i++)
        any |= in [i];
    if (any & 0x80)
        return false;
    size_t a = 0, b = len;
    while (a < b && (in [a] == ' ' || (in [a] >= 0x09 && in [a] <= 0x0d)))
        a++;
    while (b > a && (in [b - 1] == ' ' || (in [b - 1] >= 0x09 && in [b - 1] <= 0x0d)))
        b--;
    *start = a;
    *trimmed = b - a;
    return true;
}

//  Copies the number text without surrounding ASCII whitespace into buffer
//  (NUL-terminated), refusing what strtod would read but is no plain
//  number (hex floats, "nan(...)"). Returns false when it is none.
static bool
s_number_text (const char *in, size_t len, char *buffer, size_t size)
{
    while (len && (*in == ' ' || (*in >= 0x09 && *in <= 0x0d))) {
        in++;
        len--;
    }
    while (len && (in [len - 1] == ' ' || (in [len - 1] >= 0x09 && in [len - 1] <= 0x0d)))
        len--;
    if (len == 0 || len >= size)
        return false;
    bool digits = false;
    for (size_t i = 0; i < len; i++) {
        char c = in [i];
        if (c >= '0' && c <= '9')
            digits = true;
        else if (c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E')
            return false;
    }
    if (!digits) {
        size_t skip = (in [0] == '+' || in [0] == '-') ? 1 : 0;
        return false
            || (len - skip == 3
                && (!strncasecmp (in + skip, "inf", 3) || !strncasecmp (in + skip, "nan", 3)))
            || (len - skip == 8 && !strncasecmp (in + skip, "infinity", 8));
    }
    memcpy (buffer, in, len);
    buffer [len] = '\0';
    return true;
}

//  The common case exactly and fast: [-]digits[.digits] with at most 15
//  significant digits is an integer below 2^53 divided by a power of ten
//  up to 1e22, both exact doubles, so one IEEE division rounds it
//  correctly, as strtod would.
static bool
s_parse_simple (const char *in, size_t len, double *value)
{
    static const double powers [] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    size_t i = 0;
    bool negative = len && in [0] == '-';
    i += negative;
    uint64_t mantissa = 0;
    int digits = 0, fraction = -1;
    for (; i < len; i++) {
        char c = in [i];
        if (c >= '0' && c <= '9') {
            mantissa = mantissa * 10 + (uint64_t) (c - '0');
            if (mantissa && ++digits > 15)
                return false;
            if (fraction >= 0)
                fraction++;
        } else if (c == '.' && fraction < 0)
            fraction = 0;
        else
            return false;
    }
    if (i == (size_t) negative || (fraction >= 0 && i == (size_t) negative + 1))
        return false; //  "" or "-" or "."
    if (fraction > 15)
        return false;
    double result = (double) mantissa;
    if (fraction > 0)
        result /= powers [fraction];
    *value = negative ? -result : result;
    return true;
}

bool
fed_parse_double (const char *in, size_t len, double *value)
{
    if (s_parse_simple (in, len, value))
        return true;
    char buffer [400];
    if (!s_number_text (in, len, buffer, sizeof buffer)) {
        //  inf, infinity, nan (checked above, not copied)
        while (len && (*in == ' ' || (*in >= 0x09 && *in <= 0x0d))) {
            in++;
            len--;
        }
        while (len && (in [len - 1] == ' ' || (in [len - 1] >= 0x09 && in [len - 1] <= 0x0d)))
            len--;
        bool negative = len && in [0] == '-';
        size_t skip = len && (in [0] == '+' || in [0] == '-') ? 1 : 0;
        if ((len - skip == 3 && !strncasecmp (in + skip, "inf", 3))
            || (len - skip == 8 && !strncasecmp (in + skip, "infinity", 8))) {
            *value = negative ? -INFINITY : INFINITY;
            return true;
        }
        if (len - skip == 3 && !strncasecmp (in + skip, "nan", 3)) {
            *value = NAN;
            return true;
        }
        return false;
    }
    char *end;
    *value = strtod (buffer, &end);
    return *end == '\0';
}

int
fed_format_double (double value, char *out)
{
    if (isnan (value))
        return snprintf (out, FED_COERCE_MAX, "nan");
    if (isinf (value))
        return snprintf (out, FED_COERCE_MAX, value < 0 ? "-inf" : "inf");
    //  The shortest of 15, 16 or 17 significant digits that reads back as
    //  value: 15 is enough whenever fewer digits are (the ulp is below half
    //  a unit in the 15th digit), and %e with trailing zeros cut gives it.
    char text [40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf (text, sizeof text, "%.*e", digits - 1, value);
        if (strtod (text, NULL) == value)
            break;
    }
    //  text: [-]d.ddde[+-]XX
    bool negative = text [0] == '-';
    const char *p = text + negative;
    char mantissa [24];
    size_t m = 0;
    for (; *p != 'e'; p++)
        if (*p != '.')
            mantissa [m++] = *p;
    while (m > 1 && mantissa [m - 1] == '0')
        m--;
    int exponent = atoi (p + 1);
    size_t n = 0;
    if (negative)
        out [n++] = '-';
    if (exponent >= -4 && exponent < 16) {
        if (exponent < 0) {
            out [n++] = '0';
            out [n++] = '.';
            for (int i = -1; i > exponent; i--)
                out [n++] = '0';
            memcpy (out + n, mantissa, m);
            n += m;
        } else {
            for (int i = 0; i <= exponent; i++)
                out [n++] = (size_t) i < m ? mantissa [i] : '0';
            out [n++] = '.';
            if ((size_t) exponent + 1 < m) {
                memcpy (out + n, mantissa + exponent + 1, m - (size_t) exponent - 1);
                n += m - (size_t) exponent - 1;
            } else
                out [n++] = '0';
        }
        out [n] = '\0';
        return (int) n;
    }
    out [n++] = mantissa [0];
    if (m > 1) {
        out [n++] = '.';
        memcpy (out + n, mantissa + 1, m - 1);
        n += m - 1;
    }
    n += (size_t) snprintf (out + n, FED_COERCE_MAX - n, "e%c%02d", exponent < 0 ? '-' : '+',
                            abs (exponent));
    return (int) n;
}

int
fed_coerce_float (const char *in, size_t len, char *out, double *value)
{
    if (!fed_parse_double (in, len, value))
        return -1;
    return fed_format_double (*value, out);
}

int
fed_coerce_int (const char *in, size_t len, char *out, int64_t *value)
{
    size_t i = 0;
    while (i < len && (in [i] == ' ' || (in [i] >= 0x09 && in [i] <= 0x0d)))
        i++;
    while (len > i && (in [len - 1] == ' ' || (in [len - 1] >= 0x09 && in [len - 1] <= 0x0d)))
        len--;
    bool negative = false;
    if (i < len && (in [i] == '+' || in [i] == '-'))
        negative = in [i++] == '-';
    size_t start = i;
    uint64_t magnitude = 0;
    bool overflow = false;
    for (; i < len && in [i] >= '0' && in [i] <= '9'; i++) {
        unsigned digit = (unsigned) (in [i] - '0');
        if (magnitude > (UINT64_MAX - digit) / 10)
            overflow = true;
        else
            magnitude = magnitude * 10 + digit;
    }
    if (i == len && i > start && !overflow
        && magnitude <= (negative ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX)) {
        *value = negative ? (int64_t) (0 - magnitude) : (int64_t) magnitude;
    } else {
        double real;
        //  2^63 is the first double past INT64_MAX.
        if (!fed_parse_double (in, len, &real) || real != floor (real) || real < -0x1p63
            || real >= 0x1p63)
            return -1;
        *value = (int64_t) real;
    }
    return snprintf (out, FED_COERCE_MAX, "%lld", (long long) *value);
}

int
fed_coerce_bool (const char *in, size_t len, char *out)
{
    while (len && (*in == ' ' || (*in >= 0x09 && *in <= 0x0d))) {
        in++;
        len--;
    }
    while (len && (in [len - 1] == ' ' || (in [len - 1] >= 0x09 && in [len - 1] <= 0x0d)))
        len--;
    static const char *const yes [] = {"true", "t", "yes", "y", "1"};
    static const char *const no [] = {"false", "f", "no", "n", "0"};
    for (size_t k = 0; k < 5; k++) {
        if (strlen (yes [k]) == len && !strncasecmp (in, yes [k], len)) {
            memcpy (out, "true", 5);
            return 4;
        }
        if (strlen (no [k]) == len && !strncasecmp (in, no [k], len)) {
            memcpy (out, "false", 6);
            return 5;
        }
    }
    return -1;
}
