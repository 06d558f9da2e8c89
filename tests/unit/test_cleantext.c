/*  tests/unit/test_cleantext.c: data.clean's value operations
    (agents/cleantext.h): whitespace and case folding over ASCII runs long
    and short and Unicode spaces, coercion to canonical ints, floats and
    booleans, and the repr-style float form.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "cleantext.h"

static void
s_fold (const char *in, int flags, const char *want)
{
    char out [256];
    size_t n = fed_fold (in, strlen (in), out, flags);
    out [n] = '\0';
    if (strcmp (out, want))
        fail_msg ("fold '%s' (%d): expected '%s', got '%s'", in, flags, want, out);
}

static void
test_fold (void **state)
{
    (void) state;
    int key = FED_FOLD_COLLAPSE | FED_FOLD_CASE;
    s_fold ("  Hello   World  ", FED_FOLD_TRIM, "Hello   World");
    s_fold ("  Hello   World  ", FED_FOLD_COLLAPSE, "Hello World");
    s_fold ("ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`@abcz{|}~0123456789", key,
            "abcdefghijklmnopqrstuvwxyz[\\]^_`@abcz{|}~0123456789");
    s_fold ("\xc2\xa0\xe3\x80\x80"
            "Caf\xc3\x89\xe2\x80\x83\xe2\x80\x83"
            "AU LAIT\t\n\xe2\x80\x8b",
            key, "caf\xc3\xa9 au lait");
    s_fold ("\xc3\x97\xc3\x9e\xc3\x80", FED_FOLD_CASE, "\xc3\x97\xc3\xbe\xc3\xa0");
    s_fold ("zero\xe2\x80\x8bwidth\xef\xbb\xbf", FED_FOLD_TRIM, "zerowidth");
    s_fold ("LongerThanEightBytes And\tMore Words Here", key,
            "longerthaneightbytes and more words here");
    s_fold ("", key, "");
    s_fold (" \t ", key, "");
}

//  The plain definition for ASCII: collapse runs of whitespace to one
//  space, trim, lower case.
static size_t
s_reference (const char *in, size_t len, char *out)
{
    size_t n = 0;
    bool pending = false;
    for (size_t i = 0; i < len; i++) {
        char c = in [i];
        if (c == ' ' || (c >= 0x09 && c <= 0x0d)) {
            pending = n > 0;
            continue;
        }
        if (pending)
            out [n++] = ' ';
        pending = false;
        out [n++] = (char) (c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    return n;
}

static void
test_fold_random (void **state)
{
    (void) state;
    static const char alphabet [] = "aZ  \t.b Q";
    uint32_t seed = 1;
    for (int round = 0; round < 20000; round++) {
        char in [64], want [64], got [64];
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % 40;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            in [i] = alphabet [(seed >> 16) % (sizeof alphabet - 1)];
        }
        size_t w = s_reference (in, len, want);
        size_t g = fed_fold (in, len, got, FED_FOLD_COLLAPSE | FED_FOLD_CASE);
        if (w != g || memcmp (want, got, w))
            fail_msg ("fold of '%.*s': expected '%.*s', got '%.*s'", (int) len, in, (int) w, want,
                      (int) g, got);
        //  trim alone: the text between the first and last non-space, as is
        size_t a = 0, b = len;
        while (a < b && (in [a] == ' ' || in [a] == '\t'))
            a++;
        while (b > a && (in [b - 1] == ' ' || in [b - 1] == '\t'))
            b--;
        g = fed_fold (in, len, got, FED_FOLD_TRIM);
        if (g != b - a || memcmp (in + a, got, g))
            fail_msg ("trim of '%.*s': got '%.*s'", (int) len, in, (int) g, got);
    }
}

static void
test_coerce (void **state)
{
    (void) state;
    char out [FED_COERCE_MAX];
    int64_t i;
    double d;
    assert_int_equal (fed_coerce_int (" +007 ", 6, out, &i), 1);
    assert_string_equal (out, "7");
    assert_int_equal (fed_coerce_int ("-9223372036854775808", 20, out, &i), 20);
    assert_int_equal (fed_coerce_int ("9223372036854775808", 19, out, &i), -1);
    assert_int_equal (fed_coerce_int ("1e3", 3, out, &i), 4);
    assert_string_equal (out, "1000");
    assert_int_equal (fed_coerce_int ("1.5", 3, out, &i), -1);
    assert_int_equal (fed_coerce_int ("", 0, out, &i), -1);
    static const struct {
        const char *in, *want;
    } floats [] = {{"2.50", "2.5"},      {"3", "3.0"},
                   {"1e16", "1e+16"},    {"-0.000012", "-1.2e-05"},
                   {"0.0001", "0.0001"}, {"123456789012345678", "1.2345678901234568e+17"},
                   {"0.1", "0.1"},       {"-0", "-0.0"},
                   {"INF", "inf"},       {"-infinity", "-inf"},
                   {"NaN", "nan"},       {".5", "0.5"},
                   {"1.", "1.0"},        {"0.30000000000000004", "0.30000000000000004"}};
    for (size_t k = 0; k < sizeof floats / sizeof floats [0]; k++) {
        int n = fed_coerce_float (floats [k].in, strlen (floats [k].in), out, &d);
        if (n < 0 || strcmp (out, floats [k].want))
            fail_msg ("float '%s': expected '%s', got '%s'", floats [k].in, floats [k].want,
                      n < 0 ? "(refused)" : out);
    }
    static const char *const not_floats [] = {"", ".", "-", "0x10", "1e", "abc", "1,5", "nan(1)"};
    for (size_t k = 0; k < sizeof not_floats / sizeof not_floats [0]; k++)
        assert_int_equal (fed_coerce_float (not_floats [k], strlen (not_floats [k]), out, &d), -1);
    assert_true (fed_parse_double ("12.34", 5, &d) && d == 12.34);
    assert_true (fed_parse_double ("-0.001", 6, &d) && d == -0.001);
    assert_int_equal (fed_coerce_bool ("Yes", 3, out), 4);
    assert_string_equal (out, "true");
    assert_int_equal (fed_coerce_bool (" 0 ", 3, out), 5);
    assert_string_equal (out, "false");
    assert_int_equal (fed_coerce_bool ("maybe", 5, out), -1);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_fold),
        cmocka_unit_test (test_fold_random),
        cmocka_unit_test (test_coerce),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
