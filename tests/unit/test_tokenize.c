/*  tests/unit/test_tokenize.c: the tokenizer, the counting map and the
    spilling counter behind data.transform (agents/tokenize.h,
    agents/vocab.h, agents/transform_count.h).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenize.h"
#include "transform_count.h"
#include "vocab.h"

static const char *
s_tokens (fed_tokenizer_t *t, const char *text, size_t *count)
{
    size_t size;
    return fed_tokenizer_run (t, text, strlen (text), &size, count);
}

static void
test_whitespace_ngrams (void **state)
{
    (void) state;
    fed_tokenize_options_t options = {FED_TOKENIZE_WHITESPACE, NULL, true, 1, 3};
    fed_tokenizer_t *t = fed_tokenizer_new (&options, NULL);
    assert_non_null (t);
    size_t count;
    assert_string_equal (s_tokens (t, "  A b\tC\r\n", &count), "a b c a_b b_c a_b_c");
    assert_int_equal (count, 6);
    assert_string_equal (s_tokens (t, "", &count), "");
    assert_int_equal (count, 0);
    //  Only ASCII folds; UTF-8 passes through whole.
    assert_string_equal (s_tokens (t, "\xc3\x89T\xc3\xa9", &count), "\xc3\x89t\xc3\xa9");
    fed_tokenizer_destroy (&t);
    assert_null (t);
    fed_tokenizer_destroy (&t);
    options.ngram_min = 2;
    options.ngram_max = 1;
    fed_err_t err = {0};
    assert_null (fed_tokenizer_new (&options, &err));
    assert_non_null (strstr (err.text, "1 <= min <= max"));
}

static void
test_regex (void **state)
{
    (void) state;
    fed_tokenize_options_t options = {FED_TOKENIZE_REGEX, "[a-z]+( [0-9])?", false, 1, 1};
    fed_tokenizer_t *t = fed_tokenizer_new (&options, NULL);
    size_t count;
    //  Whitespace inside a match becomes '_'; upper case is not matched.
    assert_string_equal (s_tokens (t, "ab 1, CD x", &count), "ab_1 x");
    assert_int_equal (count, 2);
    fed_tokenizer_destroy (&t);
    //  A pattern that matches empty strings steps over them, whole
    //  UTF-8 characters at a time.
    options.pattern = "[0-9]*";
    t = fed_tokenizer_new (&options, NULL);
    assert_string_equal (s_tokens (t,
                                   "\xc3\xa9"
                                   "12x3",
                                   &count),
                         "12 3");
    fed_tokenizer_destroy (&t);
    options.pattern = "(";
    fed_err_t err = {0};
    assert_null (fed_tokenizer_new (&options, &err));
    assert_non_null (strstr (err.text, "pattern '(' does not compile: "));
}

static void
test_fnv (void **state)
{
    (void) state;
    //  The published FNV-1a 32-bit test vectors.
    assert_int_equal (fed_fnv1a32 ("", 0), 0x811c9dc5u);
    assert_int_equal (fed_fnv1a32 ("a", 1), 0xe40c292cu);
    assert_int_equal (fed_fnv1a32 ("foobar", 6), 0xbf9cf968u);
}

static void
test_vocab (void **state)
{
    (void) state;
    fed_vocab_t *v = fed_vocab_new (1 << 20);
    const char *words [] = {"b", "a", "c", "a", "b", "bb", "a"};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal (fed_vocab_add (v, words [i], strlen (words [i]), i < 3 ? 1 : 2), 0);
    assert_int_equal (fed_vocab_size (v), 4);
    const fed_vocab_entry_t *e = fed_vocab_find (v, "a", 1);
    assert_int_equal (e->count, 3);
    assert_int_equal (e->docs, 2);
    size_t kept;
    const fed_vocab_entry_t *const *ids = fed_vocab_freeze (v, 1, 3, &kept);
    assert_int_equal (kept, 3);
    assert_string_equal (ids [0]->text, "a");
    assert_string_equal (ids [1]->text, "b");
    assert_string_equal (ids [2]->text, "bb"); //  count 1: bb before c
    assert_int_equal (fed_vocab_find (v, "c", 1)->id, 0);
    ids = fed_vocab_sort_bytes (v, &kept);
    assert_string_equal (ids [2]->text, "bb");
    assert_int_equal (fed_vocab_find (v, "b", 1)->id, 2);
    assert_int_equal (fed_vocab_put (v, "a", 1, 1, 1, 9), -1);
    fed_vocab_destroy (&v);
    //  A budget: new strings are refused past it, known ones still count.
    v = fed_vocab_new (2048);
    char word [16];
    int i = 0;
    for (;; i++) {
        snprintf (word, sizeof word, "w%d", i);
        if (fed_vocab_add (v, word, strlen (word), 1))
            break;
    }
    assert_true (i > 0 && i < 64);
    assert_true (fed_vocab_bytes (v) <= 2048);
    assert_int_equal (fed_vocab_add (v, "w0", 2, 2), 0);
    fed_vocab_destroy (&v);
}

static void
test_vocab_walk (void **state)
{
    (void) state;
    fed_vocab_t *v = fed_vocab_new (1 << 20);
    char word [16];
    uint64_t text_bytes = 0;
    for (int i = 0; i < 1000; i++) {
        int n = snprintf (word, sizeof word, "w%d", i);
        assert_int_equal (fed_vocab_add (v, word, (size_t) n, 1), 0);
        text_bytes += (uint64_t) n;
        //  bytes_for predicts the bytes exactly, slots included.
        assert_int_equal (fed_vocab_bytes (v), fed_vocab_bytes_for ((size_t) i + 1, text_bytes));
    }
    assert_int_equal (fed_vocab_find (v, "w7", 2)->first_doc, 1);
    size_t cursor = 0, seen = 0;
    while (fed_vocab_next (v, &cursor))
        seen++;
    assert_int_equal (seen, 1000);
    fed_vocab_clear (v);
    assert_int_equal (fed_vocab_size (v), 0);
    assert_int_equal (fed_vocab_bytes (v), fed_vocab_bytes_for (0, 0));
    assert_null (fed_vocab_find (v, "w7", 2));
    //  Ids given by put make a freeze.
    assert_int_equal (fed_vocab_put (v, "b", 1, 5, 2, 2), 0);
    assert_int_equal (fed_vocab_put (v, "a", 1, 9, 3, 1), 0);
    size_t kept;
    const fed_vocab_entry_t *const *ids = fed_vocab_freeze_ids (v, &kept);
    assert_int_equal (kept, 2);
    assert_string_equal (ids [0]->text, "a");
    assert_string_equal (ids [1]->text, "b");
    fed_vocab_destroy (&v);
}

//  The run files left in dir.
static int
s_runs (const char *dir)
{
    DIR *d = opendir (dir);
    assert_non_null (d);
    int runs = 0;
    struct dirent *entry;
    while ((entry = readdir (d))) {
        size_t len = strlen (entry->d_name);
        runs += len > 4 && !strcmp (entry->d_name + len - 4, ".run");
    }
    closedir (d);
    return runs;
}

//  Token t of document d: a skewed pick from 6,000 strings, repeated in a
//  document now and then; document 777 holds 3,000 distinct tokens, more
//  than a counting map of 4 KiB holds, so it is split across windows. Some
//  strings hold a NUL byte. Returns the length.
static size_t
s_token (uint64_t d, int t, char *out)
{
    uint64_t x = (d * 2654435761u + (uint64_t) t * 40503u) % 1000003u;
    uint64_t pick = d == 777 ? (uint64_t) t : (x % 7 == 0 ? x % 6000 : x % 300);
    if (t % 5 == 4)
        pick = (d * 31 + (uint64_t) t / 5) % 6000; //  again later in the document
    int n = snprintf (out, 24, "k%llu", (unsigned long long) pick);
    if (pick % 97 == 0)
        out [1] = '\0'; //  "k\0..." is another string than "k..."
    return (size_t) n;
}

static int
s_tokens_in (uint64_t d)
{
    return d == 777 ? 3000 : 1 + (int) (d % 23);
}

static bool
s_stop (void *arg, uint64_t done)
{
    (void) done;
    (*(int *) arg)++;
    return false;
}

static bool
s_go_on (void *arg, uint64_t done)
{
    (void) done;
    (*(int *) arg)++;
    return true;
}

//  Fills a counter of budget bytes with the test's 3,000 documents; the
//  same tokens go to reference when given.
static fed_xcount_t *
s_fill (const char *dir, uint64_t budget, fed_vocab_t *reference)
{
    fed_xcount_t *c = fed_xcount_new (dir, "t", budget);
    char token [24];
    for (uint64_t d = 1; d <= 3000; d++)
        for (int t = 0; t < s_tokens_in (d); t++) {
            size_t len = s_token (d, t, token);
            assert_int_equal (fed_xcount_add (c, token, len, d), 0);
            if (reference)
                assert_int_equal (fed_vocab_add (reference, token, len, d), 0);
        }
    return c;
}

static void
test_xcount (void **state)
{
    (void) state;
    char dir [] = "/tmp/fed-xcount-XXXXXX";
    assert_non_null (mkdtemp (dir));
    fed_vocab_t *reference = fed_vocab_new (1 << 30);
    //  8 KiB: a map of 4 KiB, emptied into the sorter hundreds of times.
    fed_xcount_t *c = s_fill (dir, 8192, reference);
    assert_true (fed_xcount_spills (c) > 100);
    int hooks = 0;
    fed_xcount_set_hook (c, s_go_on, &hooks);
    size_t expected_count, kept;
    const fed_vocab_entry_t *const *expected =
        fed_vocab_freeze (reference, 2, 500, &expected_count);
    fed_vocab_t *map = fed_xcount_finish (c, 2, 500, 1 << 20);
    assert_non_null (map);
    assert_true (hooks > 0);
    assert_int_equal (s_runs (dir), 0);
    assert_int_equal (fed_xcount_distinct (c), fed_vocab_size (reference));
    const fed_vocab_entry_t *const *got = fed_xcount_kept (c, &kept);
    assert_int_equal (kept, expected_count);
    assert_int_equal (kept, 500);
    for (size_t i = 0; i < kept; i++) {
        assert_int_equal (got [i]->len, expected [i]->len);
        assert_memory_equal (got [i]->text, expected [i]->text, got [i]->len);
        assert_int_equal (got [i]->count, expected [i]->count);
        if (got [i]->docs != expected [i]->docs)
            fail_msg ("entry %zu (%s): docs %llu, expected %llu", i, got [i]->text,
                      (unsigned long long) got [i]->docs, (unsigned long long) expected [i]->docs);
        assert_int_equal (got [i]->id, i + 1);
        assert_ptr_equal (fed_vocab_find (map, got [i]->text, got [i]->len), got [i]);
    }
    //  The kept map holds the kept entries only, within the keep bytes.
    assert_int_equal (fed_vocab_size (map), 500);
    assert_true (fed_vocab_bytes (map) <= 1 << 20);
    fed_vocab_destroy (&map);
    fed_xcount_destroy (&c);
    //  No cap and every count: every document count is exact.
    c = s_fill (dir, 8192, NULL);
    map = fed_xcount_finish (c, 1, 0, 1 << 22);
    assert_non_null (map);
    assert_int_equal (fed_vocab_size (map), fed_vocab_size (reference));
    size_t cursor = 0;
    const fed_vocab_entry_t *e;
    while ((e = fed_vocab_next (reference, &cursor))) {
        const fed_vocab_entry_t *mine = fed_vocab_find (map, e->text, e->len);
        assert_non_null (mine);
        assert_int_equal (mine->count, e->count);
        if (mine->docs != e->docs)
            fail_msg ("%s: docs %llu, expected %llu", e->text, (unsigned long long) mine->docs,
                      (unsigned long long) e->docs);
    }
    fed_vocab_destroy (&map);
    fed_xcount_destroy (&c);
    //  Plenty of memory: nothing spills, the counting map is frozen.
    c = s_fill (dir, 1 << 24, NULL);
    assert_int_equal (fed_xcount_spills (c), 0);
    assert_int_equal (s_runs (dir), 0);
    map = fed_xcount_finish (c, 2, 500, 1 << 24);
    got = fed_xcount_kept (c, &kept);
    assert_int_equal (kept, 500);
    for (size_t i = 0; i < kept; i++)
        assert_memory_equal (got [i]->text, expected [i]->text, got [i]->len);
    assert_int_equal (fed_vocab_size (map), fed_vocab_size (reference));
    fed_vocab_destroy (&map);
    fed_xcount_destroy (&c);
    //  What is kept must fit: 500 entries do not fit 8 KiB.
    c = s_fill (dir, 8192, NULL);
    assert_true (s_runs (dir) > 0);
    errno = 0;
    assert_null (fed_xcount_finish (c, 2, 500, 8192));
    assert_int_equal (errno, ENOMEM);
    assert_int_equal (s_runs (dir), 0);
    fed_xcount_destroy (&c);
    //  A hook that says stop cancels the merge and leaves no file.
    c = s_fill (dir, 8192, NULL);
    hooks = 0;
    fed_xcount_set_hook (c, s_stop, &hooks);
    assert_null (fed_xcount_finish (c, 2, 500, 1 << 20));
    assert_int_equal (errno, ECANCELED);
    assert_int_equal (hooks, 1);
    assert_int_equal (s_runs (dir), 0);
    fed_xcount_destroy (&c);
    //  Destroyed while counting: the spill files go with it.
    c = s_fill (dir, 8192, NULL);
    assert_true (s_runs (dir) > 0);
    fed_xcount_destroy (&c);
    assert_int_equal (s_runs (dir), 0);
    //  One string longer than the counting map may hold.
    c = fed_xcount_new (dir, "t", 4096);
    char big [1800];
    memset (big, 'x', sizeof big);
    assert_int_equal (fed_xcount_add (c, "a", 1, 1), 0);
    assert_int_equal (fed_xcount_add (c, big, sizeof big, 1), -1);
    assert_int_equal (errno, ENOMEM);
    fed_xcount_destroy (&c);
    fed_vocab_destroy (&reference);
    rmdir (dir);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_whitespace_ngrams),
        cmocka_unit_test (test_regex),
        cmocka_unit_test (test_fnv),
        cmocka_unit_test (test_vocab),
        cmocka_unit_test (test_vocab_walk),
        cmocka_unit_test (test_xcount),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
