/*  tests/unit/test_tokenize.c: the tokenizer and the counting map behind
    data.transform (agents/tokenize.h, agents/vocab.h).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenize.h"
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

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_whitespace_ngrams),
        cmocka_unit_test (test_regex),
        cmocka_unit_test (test_fnv),
        cmocka_unit_test (test_vocab),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
