/*  tests/unit/test_extsort.c: the external sort (agents/extsort.h) and the
    deduplicator built on it (agents/dedup.h), checked against in-memory
    answers: keys and strings sorted under the smallest budget (several
    merge levels), doubles kept in numeric order, and first occurrences
    kept in row order through the partition spill and its sort fallback,
    with every spill file removed.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dedup.h"
#include "extsort.h"

static int
s_compare_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

//  Files left in dir (besides . and ..).
static int
s_files (const char *dir)
{
    DIR *d = opendir (dir);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir (d)))
        count += entry->d_name [0] != '.';
    closedir (d);
    return count;
}

static void
test_keys (void **state)
{
    (void) state;
    char dir [] = "/tmp/fed-extsort-XXXXXX";
    assert_non_null (mkdtemp (dir));
    size_t count = 100000;
    uint64_t *expected = (uint64_t *) malloc (count * sizeof (uint64_t));
    uint64_t seed = 42;
    fed_extsort_t *sort = fed_extsort_new (dir, "k", 0, 8); //  the 64 KiB minimum
    for (size_t i = 0; i < count; i++) {
        expected [i] = s_random (&seed) % 5000; //  many equal keys
        assert_int_equal (fed_extsort_add_key (sort, expected [i]), 0);
    }
    assert_int_equal (fed_extsort_sort (sort), 0);
    assert_true (fed_extsort_runs (sort) > 20); //  4096 keys a run, 4 merged at a time
    qsort (expected, count, sizeof (uint64_t), s_compare_u64);
    uint64_t key;
    for (size_t i = 0; i < count; i++) {
        assert_int_equal (fed_extsort_next_key (sort, &key), 1);
        assert_int_equal (key, expected [i]);
    }
    assert_int_equal (fed_extsort_next_key (sort, &key), 0);
    fed_extsort_destroy (&sort);
    assert_int_equal (s_files (dir), 0);
    //  In memory: no file.
    sort = fed_extsort_new (dir, "m", 1 << 20, 8);
    for (size_t i = 0; i < 1000; i++)
        assert_int_equal (fed_extsort_add_key (sort, 999 - i), 0);
    assert_int_equal (fed_extsort_sort (sort), 0);
    assert_int_equal (fed_extsort_runs (sort), 0);
    for (uint64_t i = 0; i < 1000; i++) {
        assert_int_equal (fed_extsort_next_key (sort, &key), 1);
        assert_int_equal (key, i);
    }
    fed_extsort_destroy (&sort);
    free (expected);
    rmdir (dir);
}

static void
test_doubles (void **state)
{
    (void) state;
    double values [] = {-1e300, -2.5, -0.0, 0.0, 1e-300, 0.5, 3.0, 1e300};
    for (size_t i = 0; i + 1 < sizeof values / sizeof values [0]; i++) {
        assert_true (fed_extsort_key_double (values [i]) < fed_extsort_key_double (values [i + 1]));
        assert_true (fed_extsort_double_key (fed_extsort_key_double (values [i])) == values [i]);
    }
}

static int
s_compare_str (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
test_strings (void **state)
{
    (void) state;
    char dir [] = "/tmp/fed-extsort-XXXXXX";
    assert_non_null (mkdtemp (dir));
    size_t count = 30000;
    char **expected = (char **) malloc (count * sizeof (char *));
    uint64_t seed = 7;
    fed_extsort_t *sort = fed_extsort_new (dir, "s", 0, 0);
    for (size_t i = 0; i < count; i++) {
        char text [64];
        //  Prefixes of each other too ("ab" < "abc").
        snprintf (text, sizeof text, "%llx", (unsigned long long) (s_random (&seed) % 100000));
        text [s_random (&seed) % 4 + 1] = '\0';
        expected [i] = strdup (text);
        assert_int_equal (fed_extsort_add (sort, text, strlen (text)), 0);
    }
    assert_int_equal (fed_extsort_sort (sort), 0);
    assert_true (fed_extsort_runs (sort) > 1);
    qsort (expected, count, sizeof (char *), s_compare_str);
    const void *data;
    size_t size;
    for (size_t i = 0; i < count; i++) {
        assert_int_equal (fed_extsort_next (sort, &data, &size), 1);
        assert_int_equal (size, strlen (expected [i]));
        assert_memory_equal (data, expected [i], size);
        free (expected [i]);
    }
    assert_int_equal (fed_extsort_next (sort, &data, &size), 0);
    fed_extsort_destroy (&sort);
    assert_int_equal (s_files (dir), 0);
    free (expected);
    rmdir (dir);
}

//  count rows with keys among distinct values through a deduplicator with
//  the 64 KiB minimum and the given expectation; checks the rows kept.
static void
s_dedup_check (size_t count, uint64_t distinct, uint64_t expected_rows)
{
    char dir [] = "/tmp/fed-dedup-XXXXXX";
    assert_non_null (mkdtemp (dir));
    uint64_t *keys = (uint64_t *) malloc (count * sizeof (uint64_t));
    bool *first = (bool *) calloc (count, sizeof (bool));
    bool *seen = (bool *) calloc (distinct, sizeof (bool));
    uint64_t seed = 99;
    size_t unique = 0;
    for (size_t i = 0; i < count; i++) {
        keys [i] = s_random (&seed) % distinct;
        first [i] = !seen [keys [i]];
        seen [keys [i]] = true;
        unique += first [i];
    }
    fed_dedup_t *dedup = fed_dedup_new (dir, 0, expected_rows);
    size_t next_first = 0; //  the next row that must come out
    for (size_t i = 0; i < count; i++) {
        uint8_t hash [FED_DEDUP_HASH] = {0};
        memcpy (hash, &keys [i], 8);
        hash [15] = (uint8_t) (keys [i] * 31);
        hash [8] = (uint8_t) keys [i];
        int rc = fed_dedup_check (dedup, hash);
        if (rc == 1) {
            while (!first [next_first])
                next_first++;
            assert_int_equal (i, next_first++);
        } else if (rc == 2) {
            uint64_t row = i;
            assert_int_equal (fed_dedup_spill (dedup, hash, i, &row, sizeof row), 0);
        } else
            assert_false (first [i]);
    }
    assert_int_equal (fed_dedup_finish (dedup), 0);
    const void *data;
    size_t size;
    while (fed_dedup_next (dedup, &data, &size) == 1) {
        assert_int_equal (size, 8);
        uint64_t row;
        memcpy (&row, data, 8);
        while (!first [next_first])
            next_first++;
        assert_int_equal (row, next_first++);
    }
    while (next_first < count && !first [next_first])
        next_first++;
    assert_int_equal (next_first, count);
    assert_int_equal (fed_dedup_duplicates (dedup), count - unique);
    assert_true (fed_dedup_files (dedup) > 0);
    fed_dedup_destroy (&dedup);
    assert_int_equal (s_files (dir), 0);
    free (keys);
    free (first);
    free (seen);
    rmdir (dir);
}

static void
test_dedup_partitions (void **state)
{
    (void) state;
    s_dedup_check (60000, 20000, 60000); //  partitions that fit a set
}

static void
test_dedup_sort_fallback (void **state)
{
    (void) state;
    s_dedup_check (60000, 20000, 1); //  two partitions, each too big: sorted
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_keys),
        cmocka_unit_test (test_doubles),
        cmocka_unit_test (test_strings),
        cmocka_unit_test (test_dedup_partitions),
        cmocka_unit_test (test_dedup_sort_fallback),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
