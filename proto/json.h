/*  proto/json.h: JSON text to msgpack bytes and back.

    Events carry msgpack bodies, but people type and read JSON: `fedctl
    events publish TYPE --body JSON` converts what the user typed, and event
    printing renders bodies as JSON. The parser is strict RFC 8259 (no
    comments, no trailing commas, no NaN) and refuses hostile input with the
    same depth and object caps as fed_mp_check, so whatever it produces also
    passes fed_mp_check with those limits. Errors name the line and column
    (1-based, the column counts characters) so a user can fix the text.

    msgpack has types JSON lacks; the renderer shows them in a fixed form:
    bin as {"$bin":"<hex>"}, ext as {"$ext":TYPE,"data":"<hex>"}, non-string
    map keys as their JSON text inside a string.
*/
#ifndef FED_JSON_H_INCLUDED
#define FED_JSON_H_INCLUDED

#include "mpread.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Parses JSON text (size bytes, need not be NUL-terminated) into exactly one
//  msgpack object: objects -> maps (string keys; duplicate keys, compared after
//  unescaping, are an error), arrays, strings (UTF-8 validated; \uXXXX escapes
//  incl. surrogate pairs -> UTF-8; lone surrogates an error), integers -> the
//  smallest msgpack int/uint encoding (full int64/uint64 range; integers
//  outside it become float64; "-0" is the integer 0), numbers with
//  fraction/exponent -> float64 (a number that overflows a double is an
//  error), true/false/null. Nesting deeper than limits->max_depth or more
//  than limits->max_objects values (map keys count, as in fed_mp_check) is
//  refused (NULL limits = fed_mp_default_limits). Leading/trailing whitespace
//  allowed, anything else trailing is an error. Caller owns *out_p (free ()).
//  Returns 0, or FED_MALFORMED with *out_p = NULL, *out_size_p = 0 and
//  err->text like "line 3, column 14: expected ',' or '}' after object
//  member" (1-based).
int fed_json_to_msgpack (const char *text, size_t size, const fed_mp_limits_t *limits,
                         uint8_t **out_p, size_t *out_size_p, fed_err_t *err) FED_MUST_USE;

//  Renders one msgpack object as JSON. The input is checked with fed_mp_check
//  (default limits) first: returns NULL if it is not exactly one valid object.
//  str -> JSON string, escaped (control chars and DEL as \u00xx; invalid UTF-8
//  bytes as \ufffd, one per byte); bin -> {"$bin":"<lowercase hex>"}; ext ->
//  {"$ext":TYPE,"data":"<hex>"} with TYPE signed; floats with the fewest
//  digits that round-trip (at most "%.17g"), with ".0" appended when that
//  reads as an integer so the type survives a round trip; NaN/Inf as null;
//  non-string map keys are rendered as their compact JSON text inside a
//  string. pretty=true indents by 2 spaces, one member or element per line,
//  ": " after keys, no trailing newline; false is compact with no spaces.
//  Caller owns the returned string (free ()).
char *fed_json_from_msgpack (const void *data, size_t size, bool pretty);

#ifdef __cplusplus
}
#endif
#endif
