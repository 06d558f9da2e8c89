/*  agents/cleantext.h: the per-value text operations of data.clean.

    Whitespace folding, case folding for comparison keys, and coercion of
    text to canonical ints, floats and booleans. Pure functions over bytes,
    no allocation, so data.clean can run them on every field of every row
    into one reused buffer.

    Whitespace is Unicode White_Space: U+0009-U+000D, U+0020, U+0085,
    U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and
    U+3000. The zero-width characters U+200B (zero width space), U+2060
    (word joiner) and U+FEFF (byte order mark / zero width no-break space)
    are removed wherever folding applies. No other normalization is done
    (no NFC/NFKC: composed and decomposed forms stay distinct).
*/
#ifndef FED_CLEANTEXT_H_INCLUDED
#define FED_CLEANTEXT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FED_FOLD_TRIM 1     //  remove leading and trailing whitespace
#define FED_FOLD_COLLAPSE 2 //  every run of whitespace becomes one ASCII space (implies trim)
#define FED_FOLD_CASE 4     //  A-Z and Latin-1 À-Þ (not ×) to lower case

//  Writes the folded form of the len bytes at in (valid UTF-8) to out,
//  which has room for len bytes (folding never lengthens), and returns the
//  folded length. in and out must not overlap.
size_t fed_fold (const char *in, size_t len, char *out, int flags);

//  FED_FOLD_TRIM without copying, for ASCII text: sets the trimmed text's
//  start and length and returns true; false (nothing set) when the text
//  holds a non-ASCII byte, for fed_fold to handle.
bool fed_trim_ascii (const char *in, size_t len, size_t *start, size_t *trimmed);

//  The longest text the coercions write (out has this many bytes).
#define FED_COERCE_MAX 32

//  Parses an integer: optional ASCII whitespace around an optional sign and
//  digits within int64, or a decimal/exponent number with an integral value
//  in range ("7.0", "1e3"). Writes it canonically ("+007" -> "7") to out
//  and returns its length, or -1 when the text is not one.
int fed_coerce_int (const char *in, size_t len, char *out, int64_t *value);

//  Parses a float (decimal or exponent, "inf", "infinity", "nan" in any
//  case, signed; ASCII whitespace around) and writes its shortest
//  round-trip form the way Python's repr does ("2.50" -> "2.5", "3" ->
//  "3.0", "1e16" -> "1e+16"); returns the length or -1.
int fed_coerce_float (const char *in, size_t len, char *out, double *value);

//  Parses a boolean (true/false, t/f, yes/no, y/n, 1/0, any case, ASCII
//  whitespace around) and writes "true" or "false"; returns the length or -1.
int fed_coerce_bool (const char *in, size_t len, char *out);

//  Parses a number as fed_coerce_float does, without writing it. True if
//  it is one.
bool fed_parse_double (const char *in, size_t len, double *value);

//  Writes value as fed_coerce_float does; returns the length (< FED_COERCE_MAX).
int fed_format_double (double value, char *out);

#ifdef __cplusplus
}
#endif
#endif
