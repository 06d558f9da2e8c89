/*  tests/unit/test_json.c: JSON text becomes the exact msgpack bytes we
    expect and renders back to canonical text; every malformed input is
    refused with the line and column a user needs to fix it.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

//  Parses text and checks the msgpack bytes exactly.
static void
s_expect_bytes (const char *text, const uint8_t *expected, size_t expected_size)
{
    uint8_t *out = NULL;
    size_t size = 0;
    fed_err_t err = {0, ""};
    int rc = fed_json_to_msgpack (text, strlen (text), NULL, &out, &size, &err);
    if (rc != 0)
        print_error ("parsing %s failed: %s\n", text, err.text);
    assert_int_equal (rc, 0);
    if (size != expected_size || memcmp (out, expected, size) != 0) {
        print_error ("parsing %s: expected %zu bytes, got %zu:", text, expected_size, size);
        for (size_t i = 0; i < size; i++)
            print_error (" %02x", out [i]);
        print_error ("\n");
    }
    assert_int_equal (size, expected_size);
    assert_memory_equal (out, expected, size);
    free (out);
}

#define EXPECT_BYTES(text, ...)                                                                    \
    do {                                                                                           \
        const uint8_t expected_ [] = {__VA_ARGS__};                                                \
        s_expect_bytes (text, expected_, sizeof expected_);                                        \
    } while (0)

//  Renders msgpack bytes and checks the text exactly.
static void
s_expect_render (const uint8_t *data, size_t size, bool pretty, const char *expected)
{
    char *text = fed_json_from_msgpack (data, size, pretty);
    assert_non_null (text);
    assert_string_equal (text, expected);
    free (text);
}

#define EXPECT_RENDER(expected, ...)                                                               \
    do {                                                                                           \
        const uint8_t input_ [] = {__VA_ARGS__};                                                   \
        s_expect_render (input_, sizeof input_, false, expected);                                  \
    } while (0)

//  JSON -> msgpack -> JSON gives canonical; the canonical text parses back
//  to the same bytes.
static void
s_round_trip (const char *text, const char *canonical, bool pretty)
{
    uint8_t *out = NULL, *again = NULL;
    size_t size = 0, again_size = 0;
    fed_err_t err = {0, ""};
    int rc = fed_json_to_msgpack (text, strlen (text), NULL, &out, &size, &err);
    if (rc != 0)
        print_error ("parsing %s failed: %s\n", text, err.text);
    assert_int_equal (rc, 0);
    assert_int_equal (fed_mp_check (out, size, NULL, NULL, 0), 0);
    char *rendered = fed_json_from_msgpack (out, size, pretty);
    assert_non_null (rendered);
    assert_string_equal (rendered, canonical);
    rc = fed_json_to_msgpack (rendered, strlen (rendered), NULL, &again, &again_size, &err);
    assert_int_equal (rc, 0);
    assert_int_equal (again_size, size);
    assert_memory_equal (again, out, size);
    free (rendered);
    free (again);
    free (out);
}

//  Parses size bytes of text and checks the exact error text.
static void
s_expect_error (const char *text, size_t size, const fed_mp_limits_t *limits, const char *expected)
{
    uint8_t *out = (uint8_t *) "sentinel";
    size_t out_size = 99;
    fed_err_t err = {0, ""};
    int rc = fed_json_to_msgpack (text, size, limits, &out, &out_size, &err);
    assert_int_equal (rc, FED_MALFORMED);
    assert_null (out);
    assert_int_equal (out_size, 0);
    assert_int_equal (err.code, FED_MALFORMED);
    assert_string_equal (err.text, expected);
}

#define EXPECT_ERROR(text, expected) s_expect_error (text, strlen (text), NULL, expected)

static void
test_scalars (void **state)
{
    EXPECT_BYTES ("null", 0xc0);
    EXPECT_BYTES ("true", 0xc3);
    EXPECT_BYTES ("false", 0xc2);
    EXPECT_BYTES ("\"\"", 0xa0);
    EXPECT_BYTES ("\"hi\"", 0xa2, 'h', 'i');
    EXPECT_BYTES ("1.5", 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0);
    EXPECT_BYTES ("1e2", 0xcb, 0x40, 0x59, 0, 0, 0, 0, 0, 0);
    EXPECT_BYTES ("-2.5E-1", 0xcb, 0xbf, 0xd0, 0, 0, 0, 0, 0, 0);
    EXPECT_BYTES ("1.0", 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0);
    EXPECT_BYTES ("-0", 0x00);
    EXPECT_BYTES ("-0.0", 0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0);
    EXPECT_BYTES (" \t\r\n[ ]\n ", 0x90);
    EXPECT_BYTES ("{\"a\":[1,{}]}", 0x81, 0xa1, 'a', 0x92, 0x01, 0x80);
}

static void
test_integer_boundaries (void **state)
{
    EXPECT_BYTES ("0", 0x00);
    EXPECT_BYTES ("127", 0x7f);
    EXPECT_BYTES ("128", 0xcc, 0x80);
    EXPECT_BYTES ("255", 0xcc, 0xff);
    EXPECT_BYTES ("256", 0xcd, 0x01, 0x00);
    EXPECT_BYTES ("65535", 0xcd, 0xff, 0xff);
    EXPECT_BYTES ("65536", 0xce, 0x00, 0x01, 0x00, 0x00);
    EXPECT_BYTES ("4294967295", 0xce, 0xff, 0xff, 0xff, 0xff);
    EXPECT_BYTES ("4294967296", 0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0);
    EXPECT_BYTES ("18446744073709551615", 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    EXPECT_BYTES ("-1", 0xff);
    EXPECT_BYTES ("-32", 0xe0);
    EXPECT_BYTES ("-33", 0xd0, 0xdf);
    EXPECT_BYTES ("-128", 0xd0, 0x80);
    EXPECT_BYTES ("-129", 0xd1, 0xff, 0x7f);
    EXPECT_BYTES ("-32768", 0xd1, 0x80, 0x00);
    EXPECT_BYTES ("-32769", 0xd2, 0xff, 0xff, 0x7f, 0xff);
    EXPECT_BYTES ("-2147483648", 0xd2, 0x80, 0, 0, 0);
    EXPECT_BYTES ("-2147483649", 0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff);
    EXPECT_BYTES ("-9223372036854775808", 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0);
    //  Outside int64/uint64: float64 (2^64 and -(2^63) - 1 rounds to -(2^63)).
    EXPECT_BYTES ("18446744073709551616", 0xcb, 0x43, 0xf0, 0, 0, 0, 0, 0, 0);
    EXPECT_BYTES ("-9223372036854775809", 0xcb, 0xc3, 0xe0, 0, 0, 0, 0, 0, 0);
    EXPECT_BYTES ("100000000000000000000000000000000000000000000000000", 0xcb, 0x4a, 0x51, 0x1b,
                  0x0e, 0xc5, 0x7e, 0x64, 0x9a);
    s_round_trip ("[-9223372036854775808, 9223372036854775807, 18446744073709551615, "
                  "18446744073709551616]",
                  "[-9223372036854775808,9223372036854775807,18446744073709551615,"
                  "1.8446744073709552e+19]",
                  false);
}

static void
test_strings_and_escapes (void **state)
{
    EXPECT_BYTES ("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 0xa8, '"', '\\', '/', 8, 12, 10, 13, 9);
    EXPECT_BYTES ("\"\\u00e9\"", 0xa2, 0xc3, 0xa9);
    EXPECT_BYTES ("\"\\u20AC\"", 0xa3, 0xe2, 0x82, 0xac);
    EXPECT_BYTES ("\"\\ud83d\\ude00\"", 0xa4, 0xf0, 0x9f, 0x98, 0x80);
    EXPECT_BYTES ("\"\\uDBFF\\uDFFF\"", 0xa4, 0xf4, 0x8f, 0xbf, 0xbf);
    EXPECT_BYTES ("\"\\u0000\"", 0xa1, 0x00);
    //  Raw UTF-8 passes through unchanged.
    EXPECT_BYTES ("\"\xc3\xa9\xf0\x9f\x98\x80\"", 0xa6, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80);
    //  32 bytes need str8.
    EXPECT_BYTES ("\"0123456789abcdef0123456789abcdef\"", 0xd9, 0x20, '0', '1', '2', '3', '4', '5',
                  '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f', '0', '1', '2', '3', '4', '5',
                  '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f');
    s_round_trip ("\"\\u00e9\\ud83d\\ude00 \\\" \\\\ \\/\"",
                  "\"\xc3\xa9\xf0\x9f\x98\x80 \\\" \\\\ /\"", false);
    //  Control characters come back as \u00xx.
    s_round_trip ("\"\\u0000\\n\\t\\u001f\\u007f\"", "\"\\u0000\\u000a\\u0009\\u001f\\u007f\"",
                  false);
}

static void
test_round_trips (void **state)
{
    s_round_trip (" { \"b\" : [ 1 , -2 , 3.25 , true , false , null , \"x\" ] , \"a\" : { } } ",
                  "{\"b\":[1,-2,3.25,true,false,null,\"x\"],\"a\":{}}", false);
    s_round_trip ("[1.0, -0, -0.0, 1E2, 0.1, 1e-7, 1e300, 2.5e-3]",
                  "[1.0,0,-0.0,100.0,0.1,1e-07,1e+300,0.0025]", false);
    s_round_trip ("0.3333333333333333", "0.3333333333333333", false);
    s_round_trip ("0.1000000000000000055511151231257827", "0.1", false);
    s_round_trip ("[5e-324, 1.7976931348623157e308]",
                  "[4.94065645841247e-324,1.7976931348623157e+308]", false);
    s_round_trip ("[[[]],{\"\":{\"\":[]}}]", "[[[]],{\"\":{\"\":[]}}]", false);
    //  The same key in sibling and nested objects is fine.
    s_round_trip ("{\"a\":{\"a\":1},\"b\":{\"a\":2,\"b\":{\"a\":3}}}",
                  "{\"a\":{\"a\":1},\"b\":{\"a\":2,\"b\":{\"a\":3}}}", false);
}

static void
test_pretty (void **state)
{
    s_round_trip ("{\"a\":[1,2],\"b\":{},\"c\":[],\"d\":{\"e\":null,\"f\":\"g\"}}",
                  "{\n"
                  "  \"a\": [\n"
                  "    1,\n"
                  "    2\n"
                  "  ],\n"
                  "  \"b\": {},\n"
                  "  \"c\": [],\n"
                  "  \"d\": {\n"
                  "    \"e\": null,\n"
                  "    \"f\": \"g\"\n"
                  "  }\n"
                  "}",
                  true);
    s_round_trip ("7", "7", true);
    s_round_trip ("[]", "[]", true);
    const uint8_t bin_in_array [] = {0x91, 0xc4, 0x01, 0xab};
    s_expect_render (bin_in_array, sizeof bin_in_array, true,
                     "[\n  {\n    \"$bin\": \"ab\"\n  }\n]");
    const uint8_t ext [] = {0xd4, 0x05, 0x2a};
    s_expect_render (ext, sizeof ext, true, "{\n  \"$ext\": 5,\n  \"data\": \"2a\"\n}");
}

static void
test_render_msgpack_only_types (void **state)
{
    EXPECT_RENDER ("{\"$bin\":\"00abff\"}", 0xc4, 0x03, 0x00, 0xab, 0xff);
    EXPECT_RENDER ("{\"$bin\":\"\"}", 0xc4, 0x00);
    EXPECT_RENDER ("{\"$bin\":\"0102\"}", 0xc5, 0x00, 0x02, 0x01, 0x02);
    EXPECT_RENDER ("{\"$ext\":5,\"data\":\"2a\"}", 0xd4, 0x05, 0x2a);
    EXPECT_RENDER ("{\"$ext\":-1,\"data\":\"00000001\"}", 0xd6, 0xff, 0, 0, 0, 1);
    EXPECT_RENDER ("{\"$ext\":-128,\"data\":\"0102\"}", 0xc7, 0x02, 0x80, 0x01, 0x02);
    EXPECT_RENDER ("{\"$ext\":7,\"data\":\"\"}", 0xc7, 0x00, 0x07);
    EXPECT_RENDER ("{\"$ext\":1,\"data\":\"ff\"}", 0xc8, 0x00, 0x01, 0x01, 0xff);
    EXPECT_RENDER ("{\"$ext\":2,\"data\":\"ee\"}", 0xc9, 0x00, 0x00, 0x00, 0x01, 0x02, 0xee);
    //  float32 with its own shortest digits; NaN and infinities as null.
    EXPECT_RENDER ("1.5", 0xca, 0x3f, 0xc0, 0x00, 0x00);
    EXPECT_RENDER ("0.1", 0xca, 0x3d, 0xcc, 0xcc, 0xcd);
    EXPECT_RENDER ("2.0", 0xca, 0x40, 0x00, 0x00, 0x00);
    EXPECT_RENDER ("null", 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0);
    EXPECT_RENDER ("null", 0xcb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0);
    EXPECT_RENDER ("null", 0xca, 0x7f, 0x80, 0x00, 0x00);
    //  Integers in wider encodings than needed.
    EXPECT_RENDER ("5", 0xcf, 0, 0, 0, 0, 0, 0, 0, 5);
    EXPECT_RENDER ("-1", 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    EXPECT_RENDER ("18446744073709551615", 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    //  Strings: escapes, control characters, invalid UTF-8 byte by byte.
    EXPECT_RENDER ("\"\\\"\\\\\"", 0xa2, '"', '\\');
    EXPECT_RENDER ("\"\\u0001\\u000a\\u007f\"", 0xa3, 0x01, 0x0a, 0x7f);
    EXPECT_RENDER ("\"a\\ufffdb\"", 0xa3, 'a', 0xff, 'b');
    EXPECT_RENDER ("\"\\ufffd\\ufffd\"", 0xa2, 0xc0, 0xaf);              //  overlong '/'
    EXPECT_RENDER ("\"\\ufffd\\ufffd\\ufffd\"", 0xa3, 0xed, 0xa0, 0x80); //  surrogate
    EXPECT_RENDER ("\"\\ufffd\"", 0xa1, 0xe2);                           //  truncated
    EXPECT_RENDER ("\"\xc3\xa9\"", 0xd9, 0x02, 0xc3, 0xa9);
    //  Non-string keys become their JSON text in a string.
    EXPECT_RENDER ("{\"1\":2}", 0x81, 0x01, 0x02);
    EXPECT_RENDER ("{\"-5\":null}", 0x81, 0xfb, 0xc0);
    EXPECT_RENDER ("{\"null\":true}", 0x81, 0xc0, 0xc3);
    EXPECT_RENDER ("{\"[1,\\\"a\\\"]\":true}", 0x81, 0x92, 0x01, 0xa1, 'a', 0xc3);
    EXPECT_RENDER ("{\"{\\\"$bin\\\":\\\"00\\\"}\":1}", 0x81, 0xc4, 0x01, 0x00, 0x01);
}

static void
test_render_refuses_invalid_msgpack (void **state)
{
    const uint8_t reserved [] = {0xc1};
    const uint8_t truncated [] = {0x92, 0x01};
    const uint8_t trailing [] = {0x01, 0x02};
    const uint8_t huge [] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    const uint8_t ext_short [] = {0xd8, 0x01, 0x00};
    assert_null (fed_json_from_msgpack (reserved, sizeof reserved, false));
    assert_null (fed_json_from_msgpack (truncated, sizeof truncated, true));
    assert_null (fed_json_from_msgpack (trailing, sizeof trailing, false));
    assert_null (fed_json_from_msgpack (huge, sizeof huge, false));
    assert_null (fed_json_from_msgpack (ext_short, sizeof ext_short, false));
    assert_null (fed_json_from_msgpack (reserved, 0, false));
    assert_null (fed_json_from_msgpack (NULL, 0, false));
}

static void
test_error_positions (void **state)
{
    //  Truncated documents.
    EXPECT_ERROR ("", "line 1, column 1: unexpected end of input, expected a JSON value");
    EXPECT_ERROR ("  \n ", "line 2, column 2: unexpected end of input, expected a JSON value");
    EXPECT_ERROR ("{\"a\": [1, 2",
                  "line 1, column 12: unexpected end of input, "
                  "expected ',' or ']' after array element");
    EXPECT_ERROR ("{\"a\": 1",
                  "line 1, column 8: unexpected end of input, "
                  "expected ',' or '}' after object member");
    EXPECT_ERROR ("\"abc", "line 1, column 5: unexpected end of input inside a string");
    EXPECT_ERROR ("\"abc\\", "line 1, column 6: unexpected end of input inside a string");
    EXPECT_ERROR ("tru", "line 1, column 1: invalid literal, expected 'true'");
    EXPECT_ERROR ("1.", "line 1, column 3: unexpected end of input, expected a digit after '.'");
    EXPECT_ERROR ("1e+",
                  "line 1, column 4: unexpected end of input, "
                  "expected a digit in the exponent");
    //  Missing separators, on the line and column where they are missing.
    EXPECT_ERROR ("{\n  \"a\": 1\n  \"b\": 2\n}",
                  "line 3, column 3: expected ',' or '}' after object member");
    EXPECT_ERROR ("{\"a\" 1}", "line 1, column 6: expected ':' after member name");
    EXPECT_ERROR ("{,}", "line 1, column 2: expected '\"' to start a member name");
    EXPECT_ERROR ("{\"a\":1,}", "line 1, column 8: expected '\"' to start a member name");
    EXPECT_ERROR ("[1,]", "line 1, column 4: unexpected ']', expected a JSON value");
    EXPECT_ERROR ("[1 2]", "line 1, column 4: expected ',' or ']' after array element");
    //  Trailing garbage.
    EXPECT_ERROR ("[1] x", "line 1, column 5: unexpected 'x' after the JSON value");
    EXPECT_ERROR ("1 2", "line 1, column 3: unexpected '2' after the JSON value");
    EXPECT_ERROR ("{}}", "line 1, column 3: unexpected '}' after the JSON value");
    s_expect_error ("[1]\0", 4, NULL,
                    "line 1, column 4: unexpected byte 0x00 after the JSON value");
    //  Numbers JSON does not allow.
    EXPECT_ERROR ("01", "line 1, column 1: leading zeros are not allowed in numbers");
    EXPECT_ERROR ("[-01]", "line 1, column 2: leading zeros are not allowed in numbers");
    EXPECT_ERROR ("+1", "line 1, column 1: unexpected '+', expected a JSON value");
    EXPECT_ERROR ("NaN", "line 1, column 1: unexpected 'N', expected a JSON value");
    EXPECT_ERROR ("-Infinity", "line 1, column 2: expected a digit after '-'");
    EXPECT_ERROR (".5", "line 1, column 1: unexpected '.', expected a JSON value");
    EXPECT_ERROR ("1e400", "line 1, column 1: number out of range for a double");
    EXPECT_ERROR ("'a'", "line 1, column 1: unexpected ''', expected a JSON value");
}

static void
test_string_errors (void **state)
{
    EXPECT_ERROR ("\"ab\\q\"",
                  "line 1, column 4: invalid escape '\\q' "
                  "(use \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)");
    EXPECT_ERROR ("\"\\u12G4\"", "line 1, column 2: bad \\u escape: expected 4 hex digits");
    EXPECT_ERROR ("\"\\u12\"", "line 1, column 2: bad \\u escape: expected 4 hex digits");
    //  Lone surrogates.
    EXPECT_ERROR ("[\"\\ud800\"]",
                  "line 1, column 3: lone high surrogate \\ud800 in a string "
                  "(it must be followed by a \\udc00-\\udfff escape)");
    EXPECT_ERROR ("\"\\ud800\\u0041\"",
                  "line 1, column 2: lone high surrogate \\ud800 in a "
                  "string (it must be followed by a \\udc00-\\udfff escape)");
    EXPECT_ERROR ("\"x\\uDC00\"", "line 1, column 3: lone low surrogate \\udc00 in a string");
    //  Invalid UTF-8; the column counts characters, so the 2-byte e-acute is one.
    EXPECT_ERROR ("\"ok\xff\"", "line 1, column 4: invalid UTF-8 byte 0xff in a string");
    EXPECT_ERROR ("\n\"\xc3\xa9\xc3\"", "line 2, column 3: invalid UTF-8 byte 0xc3 in a string");
    EXPECT_ERROR ("\"\xc0\xaf\"", "line 1, column 2: invalid UTF-8 byte 0xc0 in a string");
    EXPECT_ERROR ("\"\xed\xa0\x80\"", "line 1, column 2: invalid UTF-8 byte 0xed in a string");
    EXPECT_ERROR ("\"\xf4\x90\x80\x80\"", "line 1, column 2: invalid UTF-8 byte 0xf4 in a string");
    //  Raw control characters.
    EXPECT_ERROR ("\"a\tb\"",
                  "line 1, column 3: control character 0x09 inside a string "
                  "(write it as \\u0009)");
    EXPECT_ERROR ("[\"a\nb\"]",
                  "line 1, column 4: control character 0x0a inside a string "
                  "(write it as \\u000a)");
}

static void
test_duplicate_keys (void **state)
{
    EXPECT_ERROR ("{\"a\":1,\"b\":2,\"a\":3}", "line 1, column 14: duplicate key \"a\"");
    //  Compared after unescaping.
    EXPECT_ERROR ("{\"a\":1,\"\\u0061\":2}", "line 1, column 8: duplicate key \"a\"");
    EXPECT_ERROR ("{\"\":1,\"\":2}", "line 1, column 7: duplicate key \"\"");
    EXPECT_ERROR ("[{\"x\":{\"y\":1,\"y\":2}}]", "line 1, column 14: duplicate key \"y\"");
    //  Many keys (the table grows several times), then a repeat of the first.
    size_t max = 2000 * 16 + 64;
    char *text = malloc (max);
    assert_non_null (text);
    size_t len = 0;
    text [len++] = '{';
    for (int i = 0; i < 2000; i++)
        len += (size_t) snprintf (text + len, max - len, "%s\"k%d\":%d", i ? "," : "", i, i);
    size_t dup_at = len + 1;
    len += (size_t) snprintf (text + len, max - len, ",\"k0\":0}");
    char expected [100];
    snprintf (expected, sizeof expected, "line 1, column %zu: duplicate key \"k0\"", dup_at + 1);
    s_expect_error (text, len, NULL, expected);
    //  Without the repeat the same object parses, into a map16 of 2000.
    memcpy (text + dup_at - 1, "}", 1);
    uint8_t *out;
    size_t size;
    fed_err_t err;
    assert_int_equal (fed_json_to_msgpack (text, dup_at, NULL, &out, &size, &err), 0);
    assert_int_equal (out [0], 0xde);
    assert_int_equal (out [1], 0x07);
    assert_int_equal (out [2], 0xd0);
    assert_int_equal (fed_mp_check (out, size, NULL, NULL, 0), 0);
    free (out);
    free (text);
}

static void
test_caps (void **state)
{
    //  100,000 '[': refused at the first bracket past the default depth of 32.
    size_t deep = 100000;
    char *text = malloc (deep);
    assert_non_null (text);
    memset (text, '[', deep);
    s_expect_error (text, deep, NULL, "line 1, column 33: nested deeper than 32");
    //  {"a":{"a":... : the 33rd '{' is at byte 5 * 32.
    for (size_t i = 0; i + 5 <= deep; i += 5)
        memcpy (text + i, "{\"a\":", 5);
    s_expect_error (text, deep, NULL, "line 1, column 161: nested deeper than 32");
    free (text);
    //  Exactly at the cap is fine, and passes fed_mp_check with the same caps.
    fed_mp_limits_t tight = {4, 100};
    uint8_t *out;
    size_t size;
    fed_err_t err;
    assert_int_equal (fed_json_to_msgpack ("[[[[1]]]]", 9, &tight, &out, &size, &err), 0);
    assert_int_equal (size, 5);
    assert_int_equal (fed_mp_check (out, size, &tight, NULL, 0), 0);
    free (out);
    s_expect_error ("[[[[[1]]]]]", 11, &tight, "line 1, column 5: nested deeper than 4");
    s_expect_error ("[{\"a\":[{\"b\":[]}]}]", 18, &tight,
                    "line 1, column 13: nested deeper than 4");
    //  Object cap: every value and every map key counts, as in fed_mp_check.
    fed_mp_limits_t few = {8, 5};
    assert_int_equal (fed_json_to_msgpack ("[1,2,3,4]", 9, &few, &out, &size, &err), 0);
    assert_int_equal (fed_mp_check (out, size, &few, NULL, 0), 0);
    free (out);
    s_expect_error ("[1,2,3,4,5]", 11, &few, "line 1, column 10: more than 5 values");
    assert_int_equal (fed_json_to_msgpack ("{\"a\":1,\"b\":2}", 13, &few, &out, &size, &err), 0);
    assert_int_equal (fed_mp_check (out, size, &few, NULL, 0), 0);
    free (out);
    s_expect_error ("{\"a\":1,\"b\":2,\"c\":3}", 19, &few, "line 1, column 14: more than 5 values");
}

static void
test_size_and_null_err (void **state)
{
    //  Only size bytes are read: the rest of the buffer is not looked at.
    EXPECT_BYTES ("[1]", 0x91, 0x01);
    uint8_t *out;
    size_t size;
    fed_err_t err;
    assert_int_equal (fed_json_to_msgpack ("[1]xyz", 3, NULL, &out, &size, &err), 0);
    assert_int_equal (size, 2);
    assert_int_equal (out [0], 0x91);
    assert_int_equal (out [1], 0x01);
    free (out);
    assert_int_equal (fed_json_to_msgpack ("[1", 2, NULL, &out, &size, NULL), FED_MALFORMED);
    assert_null (out);
    assert_int_equal (fed_json_to_msgpack (NULL, 0, NULL, &out, &size, NULL), FED_MALFORMED);
    assert_null (out);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_scalars),
        cmocka_unit_test (test_integer_boundaries),
        cmocka_unit_test (test_strings_and_escapes),
        cmocka_unit_test (test_round_trips),
        cmocka_unit_test (test_pretty),
        cmocka_unit_test (test_render_msgpack_only_types),
        cmocka_unit_test (test_render_refuses_invalid_msgpack),
        cmocka_unit_test (test_error_positions),
        cmocka_unit_test (test_string_errors),
        cmocka_unit_test (test_duplicate_keys),
        cmocka_unit_test (test_caps),
        cmocka_unit_test (test_size_and_null_err),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
