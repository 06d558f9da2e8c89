/*  tests/unit/test_mpread.c: the bounds-checked msgpack reader refuses
    hostile input before anything allocates, and reads good input exactly.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mpread.h"

static void
test_huge_array_declared_in_five_bytes (void **state)
{
    //  array32 declaring 4,294,967,295 elements, and nothing after it.
    const uint8_t hostile [] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    char why [200];
    assert_int_equal (fed_mp_check (hostile, sizeof hostile, NULL, why, sizeof why), FED_MALFORMED);
    fed_mpr_t reader;
    fed_mpr_init (&reader, hostile, sizeof hostile);
    uint32_t count;
    assert_int_equal (fed_mpr_array (&reader, &count), FED_MALFORMED);
    assert_int_equal (reader.pos, 0);
    msgpack_zone zone;
    msgpack_zone_init (&zone, 1024);
    msgpack_object object;
    assert_int_equal (fed_mp_unpack (hostile, sizeof hostile, NULL, &zone, &object), FED_MALFORMED);
    msgpack_zone_destroy (&zone);
}

static void
test_huge_map_and_strings (void **state)
{
    const uint8_t map32 [] = {0xdf, 0x80, 0x00, 0x00, 0x00, 0x01};
    const uint8_t str32 [] = {0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'};
    const uint8_t bin32 [] = {0xc6, 0x7f, 0xff, 0xff, 0xff};
    const uint8_t ext32 [] = {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal (fed_mp_check (map32, sizeof map32, NULL, NULL, 0), FED_MALFORMED);
    assert_int_equal (fed_mp_check (str32, sizeof str32, NULL, NULL, 0), FED_MALFORMED);
    assert_int_equal (fed_mp_check (bin32, sizeof bin32, NULL, NULL, 0), FED_MALFORMED);
    assert_int_equal (fed_mp_check (ext32, sizeof ext32, NULL, NULL, 0), FED_MALFORMED);
}

static void
test_deep_nesting (void **state)
{
    uint8_t deep [100000];
    memset (deep, 0x91, sizeof deep); //  fixarray of one, nested 100k deep
    deep [sizeof deep - 1] = 0xc0;
    char why [200];
    assert_int_equal (fed_mp_check (deep, sizeof deep, NULL, why, sizeof why), FED_MALFORMED);
    assert_non_null (strstr (why, "deeper"));
    //  32 levels is within the default cap.
    assert_int_equal (fed_mp_check (deep + sizeof deep - 33, 33, NULL, NULL, 0), 0);
    fed_mp_limits_t tight = {4, 100};
    assert_int_equal (fed_mp_check (deep + sizeof deep - 6, 6, &tight, NULL, 0), FED_MALFORMED);
    assert_int_equal (fed_mp_check (deep + sizeof deep - 5, 5, &tight, NULL, 0), 0);
}

static void
test_object_count_cap (void **state)
{
    uint8_t many [1 + 4 + 2000];
    many [0] = 0xdd;
    many [1] = 0;
    many [2] = 0;
    many [3] = 0x07;
    many [4] = 0xd0; //  2000 elements
    memset (many + 5, 0x01, 2000);
    fed_mp_limits_t caps = {8, 1000};
    char why [200];
    assert_int_equal (fed_mp_check (many, sizeof many, &caps, why, sizeof why), FED_MALFORMED);
    assert_non_null (strstr (why, "1000 objects"));
    assert_int_equal (fed_mp_check (many, sizeof many, NULL, NULL, 0), 0);
}

static void
test_reserved_and_trailing (void **state)
{
    const uint8_t reserved [] = {0x91, 0xc1};
    const uint8_t trailing [] = {0x01, 0x02};
    const uint8_t empty [] = {0};
    char why [200];
    assert_int_equal (fed_mp_check (reserved, sizeof reserved, NULL, NULL, 0), FED_MALFORMED);
    assert_int_equal (fed_mp_check (trailing, sizeof trailing, NULL, why, sizeof why),
                      FED_MALFORMED);
    assert_non_null (strstr (why, "trailing"));
    assert_int_equal (fed_mp_check (empty, 0, NULL, NULL, 0), FED_MALFORMED);
}

static void
test_reads_every_type (void **state)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 9);
    msgpack_pack_uint64 (&pk, UINT64_MAX);
    msgpack_pack_int64 (&pk, INT64_MIN);
    msgpack_pack_int8 (&pk, -3);
    msgpack_pack_str_with_body (&pk, "hello", 5);
    msgpack_pack_bin_with_body (&pk, "\x00\x01", 2);
    msgpack_pack_true (&pk);
    msgpack_pack_nil (&pk);
    msgpack_pack_double (&pk, 2.5);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "k", 1);
    msgpack_pack_uint8 (&pk, 7);

    assert_int_equal (fed_mp_check (buffer.data, buffer.size, NULL, NULL, 0), 0);
    fed_mpr_t r;
    fed_mpr_init (&r, buffer.data, buffer.size);
    uint32_t count;
    uint64_t u;
    int64_t i;
    const char *s;
    const uint8_t *b;
    uint32_t len;
    bool flag;
    double d;
    assert_int_equal (fed_mpr_array (&r, &count), 0);
    assert_int_equal (count, 9);
    //  Wrong type leaves the cursor where it was.
    size_t before = r.pos;
    assert_int_equal (fed_mpr_str (&r, &s, &len), FED_MALFORMED);
    assert_int_equal (r.pos, before);
    assert_int_equal (fed_mpr_int (&r, &i), FED_MALFORMED); //  UINT64_MAX does not fit
    assert_int_equal (fed_mpr_uint (&r, &u), 0);
    assert_true (u == UINT64_MAX);
    assert_int_equal (fed_mpr_uint (&r, &u), FED_MALFORMED); //  negative is not a uint
    assert_int_equal (fed_mpr_int (&r, &i), 0);
    assert_true (i == INT64_MIN);
    assert_int_equal (fed_mpr_int (&r, &i), 0);
    assert_int_equal (i, -3);
    assert_int_equal (fed_mpr_str (&r, &s, &len), 0);
    assert_int_equal (len, 5);
    assert_memory_equal (s, "hello", 5);
    assert_int_equal (fed_mpr_bin (&r, &b, &len), 0);
    assert_int_equal (len, 2);
    assert_int_equal (fed_mpr_bool (&r, &flag), 0);
    assert_true (flag);
    assert_int_equal (fed_mpr_nil (&r), 0);
    assert_int_equal (fed_mpr_double (&r, &d), 0);
    assert_true (d == 2.5);
    assert_int_equal (fed_mpr_peek (&r), FED_MP_MAP);
    assert_int_equal (fed_mpr_skip (&r, NULL), 0);
    assert_true (fed_mpr_done (&r));
    msgpack_sbuffer_destroy (&buffer);
}

static void
test_every_truncation_is_refused (void **state)
{
    //  A valid object cut at every length is refused, never over-read
    //  (ASan watches the reads).
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "name", 4);
    msgpack_pack_str_with_body (&pk, "a somewhat longer string value here, over 32", 44);
    msgpack_pack_str_with_body (&pk, "n", 1);
    msgpack_pack_uint64 (&pk, 1ULL << 40);
    for (size_t cut = 0; cut < buffer.size; cut++) {
        uint8_t *copy = fed_malloc (cut ? cut : 1);
        memcpy (copy, buffer.data, cut);
        assert_int_equal (fed_mp_check (copy, cut, NULL, NULL, 0), FED_MALFORMED);
        free (copy);
    }
    assert_int_equal (fed_mp_check (buffer.data, buffer.size, NULL, NULL, 0), 0);
    msgpack_sbuffer_destroy (&buffer);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_huge_array_declared_in_five_bytes),
        cmocka_unit_test (test_huge_map_and_strings),
        cmocka_unit_test (test_deep_nesting),
        cmocka_unit_test (test_object_count_cap),
        cmocka_unit_test (test_reserved_and_trailing),
        cmocka_unit_test (test_reads_every_type),
        cmocka_unit_test (test_every_truncation_is_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
