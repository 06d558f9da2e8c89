/*  tests/unit/test_hlc.c: the hybrid logical clock never goes backwards,
    counts within one millisecond, adopts later remote timestamps and refuses
    ones from clocks too far ahead.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hlc.h"

#define HLC(ms, counter) (((uint64_t) (ms) << 16) | (uint64_t) (counter))

static void
test_follows_wall_clock (void **state)
{
    fed_hlc_t clock;
    fed_hlc_init (&clock, 0, 60000);
    assert_true (fed_hlc_now (&clock, 1000) == HLC (1000, 0));
    assert_true (fed_hlc_now (&clock, 1001) == HLC (1001, 0));
    assert_true (fed_hlc_now (&clock, 5000) == HLC (5000, 0));
    assert_int_equal (fed_hlc_ms (HLC (5000, 7)), 5000);
    assert_true (clock.last == HLC (5000, 0));
}

static void
test_counter_within_one_ms (void **state)
{
    fed_hlc_t clock;
    fed_hlc_init (&clock, 0, 60000);
    for (uint64_t i = 0; i < 1000; i++)
        assert_true (fed_hlc_now (&clock, 2000) == HLC (2000, i));
    //  The wall clock moving on resets the counter.
    assert_true (fed_hlc_now (&clock, 2001) == HLC (2001, 0));
}

static void
test_monotonic_when_wall_goes_backwards (void **state)
{
    fed_hlc_t clock;
    fed_hlc_init (&clock, 0, 60000);
    uint64_t last = fed_hlc_now (&clock, 10000);
    assert_true (last == HLC (10000, 0));
    //  The wall clock steps back a whole second, then crawls forward.
    const int64_t walls [] = {9000, 9000, 8999, 9500, 9999, 10000, -5, 0};
    for (size_t i = 0; i < sizeof walls / sizeof walls [0]; i++) {
        uint64_t now = fed_hlc_now (&clock, walls [i]);
        assert_true (now == last + 1);
        last = now;
    }
    assert_true (last == HLC (10000, 8));
    assert_true (fed_hlc_now (&clock, 10001) == HLC (10001, 0));
}

static void
test_starts_at_high_water_mark (void **state)
{
    fed_hlc_t clock;
    fed_hlc_init (&clock, HLC (50000, 3), 60000);
    //  A restart with the wall clock behind the persisted mark.
    assert_true (fed_hlc_now (&clock, 40000) == HLC (50000, 4));
    assert_true (fed_hlc_now (&clock, 50001) == HLC (50001, 0));
}

static void
test_observe (void **state)
{
    fed_hlc_t clock;
    fed_hlc_init (&clock, 0, 60000);
    assert_true (fed_hlc_now (&clock, 1000) == HLC (1000, 0));

    //  A remote timestamp ahead of ours (within the drift) is adopted: the
    //  next local one follows it, even though our wall clock is behind.
    assert_true (fed_hlc_observe (&clock, HLC (1500, 9), 1000));
    assert_true (clock.last == HLC (1500, 9));
    assert_true (fed_hlc_now (&clock, 1001) == HLC (1500, 10));

    //  An older remote timestamp is fine but changes nothing.
    assert_true (fed_hlc_observe (&clock, HLC (900, 0), 1002));
    assert_true (clock.last == HLC (1500, 10));

    //  Exactly at the drift bound is adopted; one ms beyond is refused.
    assert_true (fed_hlc_observe (&clock, HLC (61002, 0), 1002));
    assert_true (clock.last == HLC (61002, 0));
    assert_false (fed_hlc_observe (&clock, HLC (121003, 0), 61002 - 1));
    assert_false (fed_hlc_observe (&clock, HLC (999999999, 5), 1002));
    assert_true (clock.last == HLC (61002, 0));
    assert_true (fed_hlc_now (&clock, 1003) == HLC (61002, 1));
}

static void
test_small_drift (void **state)
{
    fed_hlc_t clock;
    fed_hlc_init (&clock, 0, 10);
    assert_true (fed_hlc_observe (&clock, HLC (110, 0), 100));
    assert_false (fed_hlc_observe (&clock, HLC (111, 0), 100));
    assert_true (clock.last == HLC (110, 0));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_follows_wall_clock),
        cmocka_unit_test (test_counter_within_one_ms),
        cmocka_unit_test (test_monotonic_when_wall_goes_backwards),
        cmocka_unit_test (test_starts_at_high_water_mark),
        cmocka_unit_test (test_observe),
        cmocka_unit_test (test_small_drift),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
