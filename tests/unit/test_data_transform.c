/*  tests/unit/test_data_transform.c: data.transform on a real pool. Each
    mode on a small table with the exact data.csv and fitted.json it must
    give (TF-IDF numbers computed with Python's math: idf = ln((1+n)/(1+df))
    + 1, rows L2-normalized, as scikit-learn's TfidfVectorizer), a fitted
    file applied to new data, bad params, rejects, and the edges: empty
    input, invalid UTF-8, a huge field, a vocabulary over a tiny budget.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>

#include "datatest.h"

static fed_report_t *
s_run (dt_env_t *env, const char *params)
{
    fed_report_t *report = dt_run (env, "data.transform", params);
    assert_non_null (report);
    return report;
}

//  No spill file (*.run) is left in the workspace.
static void
s_expect_no_runs (dt_env_t *env)
{
    DIR *dir = opendir (env->workspace);
    assert_non_null (dir);
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        size_t len = strlen (entry->d_name);
        if (len > 4 && !strcmp (entry->d_name + len - 4, ".run"))
            fail_msg ("spill file %s/%s is left", env->workspace, entry->d_name);
    }
    closedir (dir);
}

static void
test_tokens_vocabulary_ids (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", "id,text\n1,The cat sat\n2,the dog sat\n3,A cat\n");
    fed_report_t *report =
        s_run (&env,
               "{\"input\": \"in.csv\", \"tokenize\": {\"column\": \"text\", \"lowercase\": "
               "true, \"ngrams\": [1, 2]}, \"vocabulary\": {\"min_count\": 2}, "
               "\"vectorize\": {\"method\": \"ids\"}}");
    dt_expect_completed (report);
    //  Counts: cat, sat, the 2 each (ids by count, then bytes); the rest once.
    dt_expect_file (&env, "data.csv",
                    "id,text,text_tokens,text_vec\n"
                    "1,The cat sat,the cat sat the_cat cat_sat,3 1 2 0 0\n"
                    "2,the dog sat,the dog sat the_dog dog_sat,3 0 2 0 0\n"
                    "3,A cat,a cat a_cat,0 1 0\n");
    dt_expect_file (&env, "fitted.json",
                    "{\n  \"agent\": \"data.transform\",\n  \"version\": 1,\n  \"params\": {\n"
                    "    \"tokenize\": {\n      \"column\": \"text\",\n      \"lowercase\": true,\n"
                    "      \"ngrams\": [\n        1,\n        2\n      ]\n    },\n"
                    "    \"vocabulary\": {\n      \"min_count\": 2\n    },\n"
                    "    \"vectorize\": {\n      \"method\": \"ids\"\n    }\n  },\n"
                    "  \"rows\": 3,\n  \"vocabulary\": {\n    \"size\": 3,\n    \"tokens\": [\n"
                    "      \"cat\",\n      \"sat\",\n      \"the\"\n    ],\n"
                    "    \"counts\": [\n      2,\n      2,\n      2\n    ]\n  }\n}\n");
    dt_expect_output (report, "\"columns\":[\"id\",\"text\",\"text_tokens\",\"text_vec\"]");
    dt_expect_output (report,
                      "\"stats\":{\"rows\":3,\"rejected\":0,\"fitted_rows\":3,\"tokens\":"
                      "13,\"vocabulary\":3,\"oov\":7}");
    dt_expect_output (report, "\"fitted\":{\"path\":\"");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_tfidf (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", "text\na b a\nb c\nc c d\n");
    fed_report_t *report = s_run (&env,
                                  "{\"input\": \"in.csv\", \"tokenize\": {\"column\": "
                                  "\"text\"}, \"vectorize\": {\"method\": \"tfidf\"}}");
    dt_expect_completed (report);
    //  ids c=1 a=2 b=3 d=4; df a 1, b 2, c 2, d 1 of n = 3.
    dt_expect_file (&env, "data.csv",
                    "text,text_tokens,text_vec\n"
                    "a b a,a b a,2:0.934702 3:0.355432\n"
                    "b c,b c,1:0.707107 3:0.707107\n"
                    "c c d,c c d,1:0.835592 4:0.549351\n");
    char *fitted = dt_read (&env, "fitted.json");
    assert_non_null (strstr (fitted,
                             "\"idf\": [\n    1.2876820724517808,\n    "
                             "1.6931471805599454,\n    1.2876820724517808,\n    "
                             "1.6931471805599454\n  ]"));
    assert_non_null (strstr (fitted,
                             "\"tokens\": [\n      \"c\",\n      \"a\",\n      \"b\",\n"
                             "      \"d\"\n    ]"));
    free (fitted);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_regex_hashing (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    //  FNV-1a % 8: the -> 4, cat -> 7, sat -> 7, dog -> 1.
    dt_write (&env, "in.csv", "text\n\"the cat, sat; the cat!\"\ndog42\n\"\"\n");
    fed_report_t *report =
        s_run (&env,
               "{\"input\": \"in.csv\", \"tokenize\": {\"column\": \"text\", \"mode\": "
               "\"regex\", \"pattern\": \"[a-z]+\"}, \"vectorize\": {\"method\": "
               "\"hashing\", \"dims\": 8}}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv",
                    "text,text_tokens,text_vec\n"
                    "\"the cat, sat; the cat!\",the cat sat the cat,4:2 7:3\n"
                    "dog42,dog,1:1\n"
                    ",,\n");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static const char *s_scale_params =
    "{\"input\": \"in.csv\", \"scale\": {\"a\": \"minmax\", \"b\": \"zscore\"}, "
    "\"onehot\": {\"c\": {\"max_categories\": 1}}}";

static void
test_scale_onehot_rejects (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", "a,b,c\n1,10,x\n2,,y\n3,30,x\noops,5,w\n4,\"bad\"q,z\n");
    fed_report_t *report = s_run (&env, s_scale_params);
    dt_expect_completed (report);
    //  a: min 1, max 3; b: mean 20, population std 10; c: x twice, y once
    //  (one category kept, the rest __other__).
    dt_expect_file (&env, "data.csv", "a,b,c,c=x,c=__other__\n0,-1,x,1,0\n0.5,,y,0,1\n1,1,x,1,0\n");
    dt_expect_file (&env, "rejects.csv",
                    "line,offset,reason,raw\n"
                    "5,0,column 'a': 'oops' is not a finite number,\"oops,5,w\"\n"
                    "6,34,line 6 (byte 34): text after a closing quote at byte 41,"
                    "\"4,\"\"bad\"\"q,z\"\n");
    char *fitted = dt_read (&env, "fitted.json");
    assert_non_null (strstr (fitted,
                             "\"a\": {\n      \"method\": \"minmax\",\n      \"count\": 3,\n"
                             "      \"min\": 1.0,\n      \"max\": 3.0,\n      \"mean\": "
                             "2.0,\n      \"std\": 0.816496580927726\n    }"));
    assert_non_null (strstr (fitted,
                             "\"b\": {\n      \"method\": \"zscore\",\n      \"count\": 2,\n"
                             "      \"min\": 10.0,\n      \"max\": 30.0,\n      \"mean\": "
                             "20.0,\n      \"std\": 10.0\n    }"));
    assert_non_null (strstr (fitted,
                             "\"onehot\": {\n    \"c\": {\n      \"categories\": [\n"
                             "        \"x\"\n      ],\n      \"other\": true\n    }\n  }"));
    free (fitted);
    dt_expect_output (report, "\"stats\":{\"rows\":3,\"rejected\":2,");
    fed_report_destroy (&report);
    //  The list form, uncapped: every category, sorted by bytes; a constant
    //  column min-max scales to 0.
    dt_write (&env, "in2.csv", "k,v\nb,7\na,7\nb,7\n");
    report = s_run (&env,
                    "{\"input\": \"in2.csv\", \"onehot\": [\"k\"], \"scale\": {\"v\": "
                    "\"minmax\"}}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "k,v,k=a,k=b\nb,0,0,1\na,0,1,0\nb,0,0,1\n");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_apply_fitted (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", "a,b,c,text\n1,10,x,a b a\n2,,y,b c\n3,30,x,c c d\n");
    const char *fit = "{\"input\": \"in.csv\", \"scale\": {\"a\": \"minmax\", \"b\": \"zscore\"}, "
                      "\"onehot\": {\"c\": {\"max_categories\": 1}}, \"tokenize\": {\"column\": "
                      "\"text\"}, \"vectorize\": {\"method\": \"tfidf\"}}";
    fed_report_t *report = s_run (&env, fit);
    dt_expect_completed (report);
    char *fitted = dt_read (&env, "fitted.json");
    fed_report_destroy (&report);
    //  New data in another step, the saved parameters applied as they were:
    //  values outside the fitted range scale past [0, 1]; unseen tokens are
    //  left out of the tf-idf row; an unseen category is __other__, an empty
    //  one all zeros.
    dt_next_step (&env);
    dt_write (&env, "new.csv", "text,c,b,a\nd zzz,y,40,5\nzzz,x,20,\nb,,0,0\n");
    report = s_run (&env, "{\"input\": \"new.csv\", \"fitted\": \"step/fitted.json\"}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv",
                    "text,c,b,a,text_tokens,text_vec,c=x,c=__other__\n"
                    "d zzz,y,2,2,d zzz,4:1,0,1\n"
                    "zzz,x,0,,zzz,,1,0\n"
                    "b,,-2,-0.5,b,3:1,0,0\n");
    //  The fitted file is carried into the step as it was.
    dt_expect_file (&env, "fitted.json", fitted);
    dt_expect_output (report, "\"oov\":2");
    fed_report_destroy (&report);
    //  Spec params given with fitted must be the file's.
    dt_next_step (&env);
    report = s_run (&env,
                    "{\"input\": \"new.csv\", \"fitted\": \"step/fitted.json\", \"scale\": "
                    "{\"a\": \"zscore\"}}");
    dt_expect_failed (report, "bad_params",
                      "param \"scale\" differs from the fitted file's: {\"a\":\"zscore\"} here, "
                      "{\"a\":\"minmax\",\"b\":\"zscore\"} there");
    fed_report_destroy (&report);
    report = s_run (&env,
                    "{\"input\": \"new.csv\", \"fitted\": {\"path\": \"step/fitted.json\"}, "
                    "\"scale\": {\"a\": \"minmax\", \"b\": \"zscore\"}}");
    dt_expect_completed (report);
    fed_report_destroy (&report);
    //  A fitted file whose columns the new data lacks names the column.
    dt_write (&env, "other.csv", "texts,c,b,a\nx,y,1,2\n");
    report = s_run (&env, "{\"input\": \"other.csv\", \"fitted\": \"step/fitted.json\"}");
    dt_expect_failed (report, "bad_params",
                      "fitted param \"tokenize\": no column 'text' in the input; did you mean "
                      "'texts'?");
    fed_report_destroy (&report);
    //  Not a fitted file.
    dt_write (&env, "junk.json", "{\"agent\": \"data.label\"}");
    report = s_run (&env, "{\"input\": \"new.csv\", \"fitted\": \"junk.json\"}");
    dt_expect_failed (report, "bad_params", "not a data.transform fitted.json");
    fed_report_destroy (&report);
    free (fitted);
    dt_teardown (&env);
}

static void
test_bad_params (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", "text,price\nhello,1\n");
    fed_report_t *report = s_run (&env,
                                  "{\"input\": \"in.csv\", \"tokenize\": {\"column\": "
                                  "\"text\", \"mode\": \"regex\", \"pattern\": \"([a-z\"}}");
    dt_expect_failed (report, "bad_params",
                      "param \"tokenize\": pattern '([a-z' does not compile: ");
    fed_report_destroy (&report);
    report = s_run (&env, "{\"input\": \"in.csv\", \"tokenize\": {\"column\": \"txet\"}}");
    dt_expect_failed (report, "bad_params",
                      "param \"tokenize\": no column 'txet' in the input; did you mean 'text'?");
    fed_report_destroy (&report);
    report = s_run (&env, "{\"input\": \"in.csv\", \"scale\": {\"prices\": \"minmax\"}}");
    dt_expect_failed (report, "bad_params",
                      "no column 'prices' in the input; did you mean 'price'?");
    fed_report_destroy (&report);
    report = s_run (&env,
                    "{\"input\": \"in.csv\", \"tokenize\": {\"column\": \"text\"}, "
                    "\"vectorize\": {\"method\": \"tfidif\"}}");
    dt_expect_failed (report, "bad_params",
                      "param \"vectorize\": unknown method 'tfidif' (did you mean 'tfidf'?)");
    fed_report_destroy (&report);
    report = s_run (&env, "{\"input\": \"in.csv\", \"vectorize\": {\"method\": \"ids\"}}");
    dt_expect_failed (report, "bad_params", "needs \"tokenize\"");
    fed_report_destroy (&report);
    report = s_run (&env, "{\"input\": \"in.csv\", \"scale\": {\"price\": \"log\"}}");
    dt_expect_failed (report, "bad_params", "minmax or zscore");
    fed_report_destroy (&report);
    report = s_run (&env, "{\"input\": \"in.csv\", \"onehots\": [\"text\"]}");
    dt_expect_failed (report, "bad_params", "unknown param \"onehots\"; did you mean \"onehot\"?");
    fed_report_destroy (&report);
    report = s_run (&env,
                    "{\"input\": \"in.csv\", \"tokenize\": {\"column\": \"text\", "
                    "\"ngrams\": [2, 1]}}");
    dt_expect_failed (report, "bad_params", "\"ngrams\"");
    fed_report_destroy (&report);
    //  An output column that already exists.
    dt_write (&env, "clash.csv", "text,text_tokens\na,b\n");
    report = s_run (&env, "{\"input\": \"clash.csv\", \"tokenize\": {\"column\": \"text\"}}");
    dt_expect_failed (report, "bad_params", "output column 'text_tokens' is already a column");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_edges (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    const char *params = "{\"input\": \"in.csv\", \"tokenize\": {\"column\": \"text\"}, "
                         "\"vectorize\": {\"method\": \"ids\"}}";
    //  Empty input: an empty table, a fitted file of no rows.
    dt_write (&env, "in.csv", "");
    fed_report_t *report = s_run (&env, params);
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "");
    char *fitted = dt_read (&env, "fitted.json");
    assert_non_null (strstr (fitted, "\"rows\": 0\n}"));
    free (fitted);
    fed_report_destroy (&report);
    //  Invalid UTF-8 is refused, the rest kept.
    dt_write (&env, "in.csv", "text\nok go\nbad \xff\xfe byte\ngo\n");
    report = s_run (&env, params);
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "text,text_tokens,text_vec\nok go,ok go,2 1\ngo,go,1\n");
    dt_expect_file (&env, "rejects.csv",
                    "line,offset,reason,raw\n3,11,line 3 (byte 11): invalid UTF-8 at byte 15,"
                    "bad \xef\xbf\xbd\xef\xbf\xbd byte\n");
    fed_report_destroy (&report);
    //  A huge field: 100,000 tokens in one 600 KB row.
    size_t size = 100000 * 6 + 64;
    char *big = (char *) calloc (1, size);
    strcpy (big, "text\n");
    for (int i = 0; i < 100000; i++)
        sprintf (big + strlen (big), "w%04d ", i % 5000);
    strcat (big, "\nw0001\n");
    dt_write (&env, "in.csv", big);
    free (big);
    report = s_run (&env,
                    "{\"input\": \"in.csv\", \"tokenize\": {\"column\": \"text\"}, "
                    "\"vocabulary\": {\"max_size\": 10}, \"vectorize\": {\"method\": "
                    "\"hashing\", \"dims\": 4}}");
    dt_expect_completed (report);
    dt_expect_output (report, "\"tokens\":100001,\"vocabulary\":10,");
    char *data = dt_read (&env, "data.csv");
    assert_non_null (strstr (data, "\nw0001,w0001,"));
    free (data);
    fitted = dt_read (&env, "fitted.json");
    //  w0001 occurs 21 times, every other 20: it comes first.
    assert_non_null (strstr (fitted, "\"tokens\": [\n      \"w0001\",\n      \"w0000\",\n"));
    free (fitted);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_over_budget (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    //  2,000 distinct tokens, all kept (max_size 100,000), need more than a
    //  16 KiB budget: counting spills, but what is kept must fit for pass
    //  two, so the step fails naming the cap to lower and the config to
    //  raise, and leaves no spill file.
    char *text = (char *) calloc (1, 2000 * 8 + 16);
    strcpy (text, "text\n");
    for (int i = 0; i < 2000; i++)
        sprintf (text + strlen (text), "t%d\n", i);
    dt_write (&env, "in.csv", text);
    free (text);
    env.config.memory_budget = 16 * 1024;
    const char *params = "{\"input\": \"in.csv\", \"tokenize\": {\"column\": \"text\"}, "
                         "\"vectorize\": {\"method\": \"tfidf\"}}";
    fed_report_t *report = s_run (&env, params);
    dt_expect_failed (report, "over_budget",
                      "the vocabulary: what it keeps (vocabulary.max_size 100000) needs more "
                      "memory than config agents.data_memory (16384 bytes) allows; lower "
                      "vocabulary.max_size or raise agents.data_memory");
    fed_report_destroy (&report);
    s_expect_no_runs (&env);
    //  A vocabulary of 100 fits: the 2,000 tokens are counted in spills.
    report = s_run (&env,
                    "{\"input\": \"in.csv\", \"tokenize\": {\"column\": \"text\"}, "
                    "\"vocabulary\": {\"max_size\": 100}, \"vectorize\": {\"method\": "
                    "\"tfidf\"}}");
    dt_expect_completed (report);
    dt_expect_output (report, "\"vocabulary\":100,");
    fed_report_destroy (&report);
    s_expect_no_runs (&env);
    //  Within the budget it completes; hashing needs no vocabulary at all.
    env.config.memory_budget = 1 << 20;
    report = s_run (&env, params);
    dt_expect_completed (report);
    fed_report_destroy (&report);
    env.config.memory_budget = 16 * 1024;
    report = s_run (&env,
                    "{\"input\": \"in.csv\", \"tokenize\": {\"column\": \"text\"}, "
                    "\"vectorize\": {\"method\": \"hashing\"}}");
    dt_expect_completed (report);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

//  50,000 rows with some 60,000 distinct tokens and bigrams and 5,000
//  one-hot values: under a 64 KiB budget both counters spill many times
//  (in the middle of rows too, between a row's repeats of a token), yet data.csv and fitted.json are the bytes
//  a 64 MiB budget gives, and no spill file is left. (The vocabulary
//  writes some 460 run files here; test_tokenize counts spills exactly.)
static void
test_spill_same_output (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    size_t cap = 50000 * 120 + 64, len = 0;
    char *text = (char *) calloc (1, cap);
    len += (size_t) sprintf (text, "id,text,cat,x\n");
    for (int i = 0; i < 50000; i++)
        len += (size_t) sprintf (text + len, "%d,w%d n%d m%d w%d n%d Q%d w%d,c%d,%d\n", i, i % 13,
                                 i % 20011, (i * 7) % 30011, i % 13, (i / 3) % 5003, i % 4, i % 13,
                                 (i * 31) % 5000, i % 97);
    dt_write_n (&env, "in.csv", text, len);
    free (text);
    const char *params = "{\"input\": \"in.csv\", \"tokenize\": {\"column\": \"text\", "
                         "\"lowercase\": true, \"ngrams\": [1, 2]}, \"vocabulary\": "
                         "{\"min_count\": 2, \"max_size\": 300}, \"vectorize\": {\"method\": "
                         "\"tfidf\"}, \"scale\": {\"x\": \"zscore\"}, \"onehot\": {\"cat\": "
                         "{\"max_categories\": 20}}}";
    fed_report_t *report = s_run (&env, params);
    dt_expect_completed (report);
    fed_report_destroy (&report);
    char *data = dt_read (&env, "data.csv");
    char *fitted = dt_read (&env, "fitted.json");
    assert_non_null (data);
    assert_non_null (fitted);
    //  The kept categories tie at 10 rows each: the smallest bytes win.
    assert_non_null (strstr (fitted, "\"categories\": [\n        \"c0\",\n        \"c1\",\n"));
    dt_next_step (&env);
    env.config.memory_budget = 64 * 1024;
    report = s_run (&env, params);
    dt_expect_completed (report);
    fed_report_destroy (&report);
    char *small_data = dt_read (&env, "data.csv");
    char *small_fitted = dt_read (&env, "fitted.json");
    assert_non_null (small_data);
    assert_non_null (small_fitted);
    if (strcmp (fitted, small_fitted))
        fail_msg ("fitted.json differs under 64 KiB");
    if (strcmp (data, small_data))
        fail_msg ("data.csv differs under 64 KiB");
    s_expect_no_runs (&env);
    free (data);
    free (fitted);
    free (small_data);
    free (small_fitted);
    dt_teardown (&env);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_tokens_vocabulary_ids),
        cmocka_unit_test (test_tfidf),
        cmocka_unit_test (test_regex_hashing),
        cmocka_unit_test (test_scale_onehot_rejects),
        cmocka_unit_test (test_apply_fitted),
        cmocka_unit_test (test_bad_params),
        cmocka_unit_test (test_edges),
        cmocka_unit_test (test_over_budget),
        cmocka_unit_test (test_spill_same_output),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
