/*  tests/unit/test_util.c: the shared helpers parse exactly the forms they
    document, refuse everything else without touching the output, and the
    byte helpers agree with their inverses.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

static void
s_duration_ok (const char *text, int64_t expected)
{
    int64_t value = -42;
    if (fed_parse_duration (text, &value) != 0)
        print_error ("fed_parse_duration (\"%s\") refused\n", text);
    assert_int_equal (value, expected);
}

static void
s_duration_bad (const char *text)
{
    int64_t value = -42;
    if (fed_parse_duration (text, &value) != -1)
        print_error ("fed_parse_duration (\"%s\") accepted it as %lld\n", text, (long long) value);
    assert_int_equal (value, -42);
}

static void
test_parse_duration (void **state)
{
    s_duration_ok ("250ms", 250);
    s_duration_ok ("5s", 5000);
    s_duration_ok ("2m", 120000);
    s_duration_ok ("1h", 3600000);
    s_duration_ok ("1d", 86400000);
    s_duration_ok ("0", 0);
    s_duration_ok ("5", 5); //  a bare number is milliseconds
    s_duration_ok ("0ms", 0);
    s_duration_ok ("007s", 7000);
    s_duration_ok ("9223372036854775807", INT64_MAX);
    s_duration_ok ("106751991167d", INT64_C (106751991167) * 86400000);
    s_duration_bad ("106751991168d");
    s_duration_bad ("9223372036854775808");
    s_duration_bad ("9999999999999999999d");
    s_duration_bad ("99999999999999999999"); //  beyond uint64
    s_duration_bad ("");
    s_duration_bad ("-1");
    s_duration_bad ("+1");
    s_duration_bad ("5x");
    s_duration_bad ("5S");
    s_duration_bad ("s");
    s_duration_bad ("ms");
    s_duration_bad ("1.5s");
    s_duration_bad (" 5s");
    s_duration_bad ("5 s");
    s_duration_bad ("5s ");
    s_duration_bad ("5sec");
    s_duration_bad ("0x10");
    s_duration_bad (NULL);
}

static void
s_size_ok (const char *text, uint64_t expected)
{
    uint64_t value = 42;
    if (fed_parse_size (text, &value) != 0)
        print_error ("fed_parse_size (\"%s\") refused\n", text);
    assert_true (value == expected);
}

static void
s_size_bad (const char *text)
{
    uint64_t value = 42;
    if (fed_parse_size (text, &value) != -1)
        print_error ("fed_parse_size (\"%s\") accepted it\n", text);
    assert_true (value == 42);
}

static void
test_parse_size (void **state)
{
    s_size_ok ("512", 512);
    s_size_ok ("0", 0);
    s_size_ok ("7B", 7);
    s_size_ok ("1KB", 1000);
    s_size_ok ("64KiB", 65536);
    s_size_ok ("1MiB", 1048576);
    s_size_ok ("4MB", 4000000);
    s_size_ok ("3GB", 3000000000u);
    s_size_ok ("1GiB", 1073741824);
    s_size_ok ("18446744073709551615", UINT64_MAX);
    s_size_ok ("17179869183GiB", UINT64_MAX - 1073741823);
    s_size_bad ("17179869184GiB"); //  2^64
    s_size_bad ("18446744073709551616");
    s_size_bad ("");
    s_size_bad ("-1");
    s_size_bad ("1.5MiB");
    s_size_bad ("1mib");
    s_size_bad ("1 MiB");
    s_size_bad ("MiB");
    s_size_bad ("1TiB");
    s_size_bad (" 1");
    s_size_bad (NULL);
}

static void
test_hex (void **state)
{
    const uint8_t bytes [] = {0x00, 0x01, 0xab, 0xff, 0x7e};
    char text [2 * sizeof bytes + 1];
    memset (text, '#', sizeof text);
    fed_hex_encode (text, bytes, sizeof bytes);
    assert_string_equal (text, "0001abff7e");
    fed_hex_encode (text, bytes, 0);
    assert_string_equal (text, "");

    uint8_t out [5];
    assert_int_equal (fed_hex_decode (out, 5, "0001ABff7e"), 0);
    assert_memory_equal (out, bytes, 5);
    assert_int_equal (fed_hex_decode (out, 0, ""), 0);
    //  Wrong lengths and bad characters; the decoder never reads past size.
    memset (out, 0x55, sizeof out);
    assert_int_equal (fed_hex_decode (out, 2, "abc"), -1);
    assert_int_equal (fed_hex_decode (out, 2, "abcde"), -1);
    assert_int_equal (fed_hex_decode (out, 2, ""), -1);
    assert_int_equal (fed_hex_decode (out, 2, "0g00"), -1);
    assert_int_equal (fed_hex_decode (out, 2, "00 0"), -1);
    assert_int_equal (fed_hex_decode (out, 2, "-100"), -1);
    assert_int_equal (fed_hex_decode (out, 2, "000G"), -1);
    assert_int_equal (fed_hex_decode (out, 2, "0x00"), -1);
}

static void
test_key_decode (void **state)
{
    uint8_t key [32], back [32];
    for (int i = 0; i < 32; i++)
        key [i] = (uint8_t) (i * 37 + 11);
    char z85 [41];
    fed_z85_encode_key (z85, key);
    assert_int_equal (strlen (z85), 40);
    memset (back, 0, sizeof back);
    assert_int_equal (fed_key_decode (back, z85), 0);
    assert_memory_equal (back, key, 32);

    char hex [65];
    fed_hex_encode (hex, key, 32);
    memset (back, 0, sizeof back);
    assert_int_equal (fed_key_decode (back, hex), 0);
    assert_memory_equal (back, key, 32);

    //  A known key: all zero bytes are forty '0's in Z85.
    assert_int_equal (fed_key_decode (back, "0000000000000000000000000000000000000000"), 0);
    const uint8_t zero [32] = {0};
    assert_memory_equal (back, zero, 32);

    //  Wrong lengths.
    assert_int_equal (fed_key_decode (back, ""), -1);
    char text [80];
    memcpy (text, z85, 39);
    text [39] = 0;
    assert_int_equal (fed_key_decode (back, text), -1);
    snprintf (text, sizeof text, "%s0", z85);
    assert_int_equal (fed_key_decode (back, text), -1);
    memcpy (text, hex, 63);
    text [63] = 0;
    assert_int_equal (fed_key_decode (back, text), -1);
    snprintf (text, sizeof text, "%s0", hex);
    assert_int_equal (fed_key_decode (back, text), -1);

    //  Characters outside the Z85 alphabet, anywhere in the text.
    const char *outside = " ,;~\"'\\_`|";
    for (const char *c = outside; *c; c++) {
        strcpy (text, z85);
        text [(c - outside) * 4 % 40] = *c;
        assert_int_equal (fed_key_decode (back, text), -1);
    }
    //  In the alphabet but a 5-char group above 2^32 - 1.
    assert_int_equal (fed_key_decode (back, "########################################"), -1);
    //  64 chars that are not all hex.
    strcpy (text, hex);
    text [10] = 'g';
    assert_int_equal (fed_key_decode (back, text), -1);
}

static void
test_be64 (void **state)
{
    uint8_t bytes [8];
    fed_put_be64 (bytes, 0x0102030405060708u);
    const uint8_t expected [8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal (bytes, expected, 8);
    assert_true (fed_get_be64 (bytes) == 0x0102030405060708u);

    //  Byte order sorts like the numbers, which is why keys use it.
    const uint64_t ascending [] = {0,
                                   1,
                                   255,
                                   256,
                                   65535,
                                   65536,
                                   (uint64_t) 1 << 32,
                                   INT64_MAX,
                                   (uint64_t) INT64_MAX + 1,
                                   UINT64_MAX};
    size_t count = sizeof ascending / sizeof ascending [0];
    for (size_t i = 0; i + 1 < count; i++) {
        uint8_t a [8], b [8];
        fed_put_be64 (a, ascending [i]);
        fed_put_be64 (b, ascending [i + 1]);
        assert_true (memcmp (a, b, 8) < 0);
        assert_true (fed_get_be64 (a) == ascending [i]);
        assert_true (fed_get_be64 (b) == ascending [i + 1]);
    }
}

static void
test_sprintf_and_strings (void **state)
{
    char *text = fed_sprintf ("%s-%d-%05.1f", "a", 42, 2.25);
    assert_string_equal (text, "a-42-002.2");
    free (text);
    text = fed_sprintf ("%s", "");
    assert_string_equal (text, "");
    free (text);
    char long_text [3000];
    memset (long_text, 'x', sizeof long_text - 1);
    long_text [sizeof long_text - 1] = 0;
    text = fed_sprintf ("<%s>", long_text);
    assert_int_equal (strlen (text), 3001);
    assert_int_equal (text [0], '<');
    assert_int_equal (text [3000], '>');
    free (text);

    text = fed_strndup ("abcdef", 3);
    assert_string_equal (text, "abc");
    fed_free (&text);
    assert_null (text);
    fed_free (&text); //  already NULL: no-op
    fed_free (NULL);
}

static void
test_err_set (void **state)
{
    fed_err_set (NULL, 7, "nobody listens: %d", 1); //  must not crash
    fed_err_t err = {0, ""};
    fed_err_set (&err, 7, "bad %s at %d", "thing", 3);
    assert_int_equal (err.code, 7);
    assert_string_equal (err.text, "bad thing at 3");
    //  Long messages are cut to the buffer, NUL-terminated.
    char long_text [1000];
    memset (long_text, 'y', sizeof long_text - 1);
    long_text [sizeof long_text - 1] = 0;
    fed_err_set (&err, -1, "%s", long_text);
    assert_int_equal (err.code, -1);
    assert_int_equal (strlen (err.text), sizeof err.text - 1);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_parse_duration),
        cmocka_unit_test (test_parse_size),
        cmocka_unit_test (test_hex),
        cmocka_unit_test (test_key_decode),
        cmocka_unit_test (test_be64),
        cmocka_unit_test (test_sprintf_and_strings),
        cmocka_unit_test (test_err_set),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
