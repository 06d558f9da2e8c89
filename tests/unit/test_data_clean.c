/*  tests/unit/test_data_clean.c: data.clean on a real pool (datatest.h).
    Each operation on a small table with the exact data.csv it must give:
    whitespace, coercion with rejects, fills by median/mean/mode/value,
    quantile clipping matching pandas, deduplication exact, normalized and
    by key columns; malformed rows, empty input, a huge field, bad params;
    and 200,000 rows under a 64 KiB budget giving the same bytes as under
    64 MiB, with its spill files gone afterwards.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>

#include "datatest.h"

//  Runs data.clean with params; expects it to complete and returns data.csv.
static char *
s_clean (dt_env_t *env, const char *params, char **json)
{
    fed_report_t *report = dt_run (env, "data.clean", params);
    assert_non_null (report);
    if (fed_report_kind (report) != FED_REPORT_COMPLETED)
        fail_msg ("expected completed, got %s: %s", fed_report_code (report),
                  fed_report_message (report));
    if (json)
        *json = dt_output_json (report);
    fed_report_destroy (&report);
    char *data = dt_read (env, "data.csv");
    assert_non_null (data);
    return data;
}

static void
s_contains (const char *text, const char *part)
{
    if (!strstr (text, part))
        fail_msg ("expected '%s' in '%s'", part, text);
}

static void
s_expect_failed (dt_env_t *env, const char *params, const char *code, const char *part)
{
    fed_report_t *report = dt_run (env, "data.clean", params);
    assert_non_null (report);
    assert_int_equal (fed_report_kind (report), FED_REPORT_FAILED);
    assert_string_equal (fed_report_code (report), code);
    s_contains (fed_report_message (report), part);
    fed_report_destroy (&report);
}

static void
test_whitespace (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv",
              "id,name,note\n"
              "1,\"  Alice \",a  b\n"
              "2,\xc2\xa0"
              "Bob\xe3\x80\x80,\"x\t\ty\"\n"
              "3,Carol\xe2\x80\x8b,\"  lots \xe2\x80\x83 of\nspace \"\n"
              "4,Dan,plain\n");
    char *json;
    char *data = s_clean (&env,
                          "{\"input\": \"in.csv\", \"trim\": [\"name\"], "
                          "\"normalize_whitespace\": [\"note\"]}",
                          &json);
    assert_string_equal (data,
                         "id,name,note\n1,Alice,a b\n2,Bob,x y\n3,Carol,lots of space\n"
                         "4,Dan,plain\n");
    s_contains (json, "\"trimmed\":6");
    s_contains (json, "\"rows_in\":4,\"rows_out\":4");
    s_contains (json, "\"columns\":[\"id\",\"name\",\"note\"]");
    free (json);
    free (data);
    //  trim: true trims every column, inner whitespace kept.
    dt_next_step (&env);
    data = s_clean (&env, "{\"input\": \"in.csv\", \"trim\": true}", NULL);
    assert_string_equal (data,
                         "id,name,note\n1,Alice,a  b\n2,Bob,x\t\ty\n"
                         "3,Carol,\"lots \xe2\x80\x83 of\nspace\"\n4,Dan,plain\n");
    free (data);
    dt_teardown (&env);
}

static const char *s_typed_csv = "id,n,f,b\n"
                                 "1, +7 ,2.50,Yes\n"
                                 "2,x,1,0\n"
                                 "3,-0,1e16,TRUE\n"
                                 "4,5,abc,no\n"
                                 "5,3.0,-0.000012,maybe\n";

static void
test_types (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", s_typed_csv);
    char *json;
    char *data = s_clean (&env,
                          "{\"input\": \"in.csv\", \"types\": {\"n\": \"int\", \"f\": \"float\", "
                          "\"b\": \"bool\"}}",
                          &json);
    assert_string_equal (data, "id,n,f,b\n1,7,2.5,true\n3,0,1e+16,true\n");
    char *rejects = dt_read (&env, "rejects.csv");
    assert_string_equal (rejects,
                         "line,offset,reason,raw\n"
                         "3,25,column 'n': 'x' is not an int,\"2,x,1,0\"\n"
                         "5,48,column 'f': 'abc' is not a float,\"4,5,abc,no\"\n"
                         "6,59,column 'b': 'maybe' is not a bool,"
                         "\"5,3.0,-0.000012,maybe\"\n");
    s_contains (json, "\"coerced_rejects\":3");
    s_contains (json, "\"rejects\":{\"path\":");
    free (rejects);
    free (json);
    free (data);
    //  on_bad_type: null empties the value instead.
    dt_next_step (&env);
    data = s_clean (&env,
                    "{\"input\": \"in.csv\", \"types\": {\"n\": \"int\", \"f\": \"float\", "
                    "\"b\": \"bool\"}, \"on_bad_type\": \"null\"}",
                    &json);
    assert_string_equal (data,
                         "id,n,f,b\n1,7,2.5,true\n2,,1.0,false\n3,0,1e+16,true\n"
                         "4,5,,false\n5,3,-1.2e-05,\n");
    s_contains (json, "\"coerced_rejects\":0,\"coerced_nulls\":3");
    free (json);
    free (data);
    //  JSONL out: typed columns as JSON numbers and booleans.
    dt_next_step (&env);
    fed_report_t *report = dt_run (&env, "data.clean",
                                   "{\"input\": \"in.csv\", \"types\": {\"n\": \"int\", \"b\": "
                                   "\"bool\"}, \"on_bad_type\": \"null\", \"format\": \"jsonl\"}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    fed_report_destroy (&report);
    data = dt_read (&env, "data.jsonl");
    assert_string_equal (data,
                         "{\"id\":\"1\",\"n\":7,\"f\":\"2.50\",\"b\":true}\n"
                         "{\"id\":\"2\",\"n\":null,\"f\":\"1\",\"b\":false}\n"
                         "{\"id\":\"3\",\"n\":0,\"f\":\"1e16\",\"b\":true}\n"
                         "{\"id\":\"4\",\"n\":5,\"f\":\"abc\",\"b\":false}\n"
                         "{\"id\":\"5\",\"n\":3,\"f\":\"-0.000012\",\"b\":null}\n");
    free (data);
    dt_teardown (&env);
}

static void
test_missing (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", "id,x,c,s\n1,1,a,p\n2,,b,\n3,3,a,q\n4,10,,q\n5,,a,r\n");
    char *json;
    char *data = s_clean (&env,
                          "{\"input\": \"in.csv\", \"missing\": {\"x\": \"median\", \"c\": "
                          "\"mode\", \"s\": {\"value\": \"none\"}}}",
                          &json);
    assert_string_equal (data, "id,x,c,s\n1,1,a,p\n2,3,b,none\n3,3,a,q\n4,10,a,q\n5,3,a,r\n");
    s_contains (json, "\"filled\":{\"x\":2,\"c\":1,\"s\":1}");
    free (json);
    free (data);
    //  The mean (pandas: 4.666666666666667), a number as the value.
    dt_next_step (&env);
    data = s_clean (&env,
                    "{\"input\": \"in.csv\", \"missing\": {\"x\": \"mean\", \"s\": {\"value\": "
                    "0.5}}}",
                    NULL);
    assert_string_equal (data,
                         "id,x,c,s\n1,1,a,p\n2,4.666666666666667,b,0.5\n3,3,a,q\n"
                         "4,10,,q\n5,4.666666666666667,a,r\n");
    free (data);
    //  An even count: the median halves the middle two (6.5).
    dt_next_step (&env);
    dt_write (&env, "even.csv", "x,y\n20,a\n,b\n1,c\n10,d\n3,e\n");
    data = s_clean (&env, "{\"input\": \"even.csv\", \"missing\": {\"x\": \"median\"}}", NULL);
    assert_string_equal (data, "x,y\n20,a\n6.5,b\n1,c\n10,d\n3,e\n");
    free (data);
    //  drop: per column, or any empty field.
    dt_next_step (&env);
    data = s_clean (&env, "{\"input\": \"in.csv\", \"missing\": {\"x\": \"drop\"}}", &json);
    assert_string_equal (data, "id,x,c,s\n1,1,a,p\n3,3,a,q\n4,10,,q\n");
    s_contains (json, "\"dropped_missing\":2");
    free (json);
    free (data);
    dt_next_step (&env);
    data = s_clean (&env, "{\"input\": \"in.csv\", \"missing\": \"drop\"}", NULL);
    assert_string_equal (data, "id,x,c,s\n1,1,a,p\n3,3,a,q\n");
    free (data);
    //  A column that is not numeric cannot give a median: those rows are refused.
    dt_next_step (&env);
    dt_write (&env, "mixed.csv", "x,y\n1,a\nabc,b\n,c\n5,d\n");
    data = s_clean (&env, "{\"input\": \"mixed.csv\", \"missing\": {\"x\": \"median\"}}", NULL);
    assert_string_equal (data, "x,y\n1,a\n3,c\n5,d\n");
    char *rejects = dt_read (&env, "rejects.csv");
    s_contains (rejects, "3,8,column 'x': 'abc' is not a number,\"abc,b\"\n");
    free (rejects);
    free (data);
    dt_teardown (&env);
}

static void
test_clip (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    //  pandas: Series([1..10, 100]).quantile(0.05) == 1.5, (0.95) == 55.0,
    //  (0.99) == 91.00000000000003, (0.01) == 1.1.
    dt_write (&env, "in.csv",
              "id,x\na,5\nb,1\nc,2\nd,100\ne,3\nf,4\ng,\nh,6\ni,7\nj,8\nk,9\nl,10\n");
    char *json;
    char *data = s_clean (&env,
                          "{\"input\": \"in.csv\", \"clip\": {\"x\": {\"lower\": 0.05, "
                          "\"upper\": 0.95}}}",
                          &json);
    assert_string_equal (data,
                         "id,x\na,5\nb,1.5\nc,2\nd,55\ne,3\nf,4\ng,\nh,6\ni,7\nj,8\nk,9\n"
                         "l,10\n");
    s_contains (json, "\"clipped\":{\"x\":2}");
    free (json);
    free (data);
    dt_next_step (&env);
    data = s_clean (&env,
                    "{\"input\": \"in.csv\", \"clip\": {\"x\": {\"lower\": 0.01, \"upper\": "
                    "0.99}}}",
                    NULL);
    assert_string_equal (data,
                         "id,x\na,5\nb,1.1\nc,2\nd,91.00000000000003\ne,3\nf,4\ng,\nh,6\n"
                         "i,7\nj,8\nk,9\nl,10\n");
    free (data);
    //  Floats; only an upper bound. pandas: Series([0.1, 0.7, 0.2, 5.5,
    //  -3.25, 2.2, 0.3]).quantile(0.9) == 3.5200000000000014.
    dt_next_step (&env);
    dt_write (&env, "f.csv", "v\n0.1\n0.7\n0.2\n5.5\n-3.25\n2.2\n0.3\n");
    data = s_clean (&env, "{\"input\": \"f.csv\", \"clip\": {\"v\": {\"upper\": 0.9}}}", NULL);
    assert_string_equal (data, "v\n0.1\n0.7\n0.2\n3.5200000000000014\n-3.25\n2.2\n0.3\n");
    free (data);
    //  Fill first, then clip: the fill (the median of 1..10 and 100, 6) is
    //  inside the bounds; both statistics come from the values as read.
    dt_next_step (&env);
    data = s_clean (&env,
                    "{\"input\": \"in.csv\", \"missing\": {\"x\": \"median\"}, \"clip\": {\"x\": "
                    "{\"lower\": 0.05, \"upper\": 0.95}}}",
                    NULL);
    assert_string_equal (data,
                         "id,x\na,5\nb,1.5\nc,2\nd,55\ne,3\nf,4\ng,6\nh,6\ni,7\nj,8\n"
                         "k,9\nl,10\n");
    free (data);
    dt_teardown (&env);
}

static void
test_dedup (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "rows.csv", "a,b\n1,x\n1,x\n2,x\n1,x\n1,X\n");
    char *json;
    char *data = s_clean (&env, "{\"input\": \"rows.csv\", \"dedup\": true}", &json);
    assert_string_equal (data, "a,b\n1,x\n2,x\n1,X\n");
    s_contains (json, "\"duplicates\":2");
    s_contains (json, "\"spill_files\":0");
    free (json);
    free (data);
    dt_write (&env, "people.csv",
              "id,name,city\n1,Alice,Paris\n2,alice,Paris\n3,Alice,Paris\n4, ALICE\xc2\xa0 ,paris\n"
              "5,Bob,Rome\n6,\xc3\x89mile,Lyon\n7,\xc3\x89MILE,Lyon\n8,Bob,Rome\xe2\x80\x8b\n");
    dt_next_step (&env);
    data = s_clean (&env,
                    "{\"input\": \"people.csv\", \"dedup\": {\"columns\": [\"name\", "
                    "\"city\"]}}",
                    &json);
    assert_string_equal (data,
                         "id,name,city\n1,Alice,Paris\n2,alice,Paris\n4,\" ALICE\xc2\xa0 \",paris\n"
                         "5,Bob,Rome\n6,\xc3\x89mile,Lyon\n7,\xc3\x89MILE,Lyon\n"
                         "8,Bob,Rome\xe2\x80\x8b\n");
    s_contains (json, "\"duplicates\":1");
    free (json);
    free (data);
    dt_next_step (&env);
    data = s_clean (&env,
                    "{\"input\": \"people.csv\", \"dedup\": {\"columns\": [\"name\", "
                    "\"city\"], \"normalize\": true}}",
                    &json);
    assert_string_equal (data, "id,name,city\n1,Alice,Paris\n5,Bob,Rome\n6,\xc3\x89mile,Lyon\n");
    s_contains (json, "\"duplicates\":5");
    free (json);
    free (data);
    //  One key column, as a string.
    dt_next_step (&env);
    data = s_clean (&env, "{\"input\": \"people.csv\", \"dedup\": {\"columns\": \"city\"}}", NULL);
    assert_string_equal (data,
                         "id,name,city\n1,Alice,Paris\n4,\" ALICE\xc2\xa0 \",paris\n5,Bob,Rome\n"
                         "6,\xc3\x89mile,Lyon\n8,Bob,Rome\xe2\x80\x8b\n");
    free (data);
    dt_teardown (&env);
}

static void
test_malformed_and_edges (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    //  A bad quote, a short row, invalid UTF-8: refused; the rest kept.
    dt_write (&env, "in.csv", "a,b\n1, x \n2,\"bad\"y\n3\n4,\xff\xfe\n5,y\n5,y\n");
    char *json;
    char *data = s_clean (&env, "{\"input\": \"in.csv\", \"trim\": true, \"dedup\": true}", &json);
    assert_string_equal (data, "a,b\n1,x\n5,y\n");
    char *rejects = dt_read (&env, "rejects.csv");
    s_contains (rejects, "3,10,line 3 (byte 10): text after a closing quote");
    s_contains (rejects, "\n4,19,\"line 4 (byte 19): field count differs");
    s_contains (rejects,
                "5,21,line 5 (byte 21): invalid UTF-8 at byte 23,\"4,\xef\xbf\xbd\xef\xbf\xbd\"\n");
    s_contains (json, "\"rows_in\":6,\"rows_out\":2,\"duplicates\":1");
    s_contains (json, "\"malformed\":3");
    free (rejects);
    free (json);
    free (data);
    //  Empty input: an empty table, whatever the params.
    dt_next_step (&env);
    dt_write (&env, "empty.csv", "");
    data = s_clean (&env,
                    "{\"input\": \"empty.csv\", \"dedup\": true, \"missing\": {\"x\": "
                    "\"median\"}}",
                    &json);
    assert_string_equal (data, "");
    s_contains (json, "\"rows_in\":0,\"rows_out\":0");
    free (json);
    free (data);
    //  A header and no rows.
    dt_next_step (&env);
    dt_write (&env, "header.csv", "x,y\n");
    data = s_clean (&env,
                    "{\"input\": \"header.csv\", \"dedup\": true, \"missing\": {\"x\": "
                    "\"median\"}, \"clip\": {\"x\": {\"upper\": 0.5}}}",
                    NULL);
    assert_string_equal (data, "x,y\n");
    free (data);
    //  A huge field is cleaned like any other; one past the reader's
    //  1 MiB limit is refused and the rest kept.
    dt_next_step (&env);
    size_t big = 900 * 1024, bigger = 1200 * 1024;
    size_t size = 16 + big + bigger + 64;
    char *text = (char *) malloc (size);
    size_t n = (size_t) snprintf (text, size, "id,text\n1,   ");
    memset (text + n, 'a', big);
    n += big;
    n += (size_t) snprintf (text + n, size - n, "   \n2,");
    memset (text + n, 'b', bigger);
    n += bigger;
    n += (size_t) snprintf (text + n, size - n, "\n3,c\n");
    dt_write_n (&env, "big.csv", text, n);
    data = s_clean (&env, "{\"input\": \"big.csv\", \"trim\": true, \"dedup\": true}", NULL);
    assert_int_equal (strlen (data), 8 + 2 + big + 1 + 4);
    assert_memory_equal (data, "id,text\n1,aaa", 13);
    assert_string_equal (data + 8 + 2 + big, "\n3,c\n");
    free (data);
    rejects = dt_read (&env, "rejects.csv");
    s_contains (rejects, "field");
    free (rejects);
    free (text);
    dt_teardown (&env);
}

static void
test_bad_params (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", "id,name\n1,a\n");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"dedupe\": true}", "bad_params",
                     "unknown param 'dedupe'; did you mean 'dedup'?");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"types\": {\"nmae\": \"int\"}}", "bad_params",
                     "no column 'nmae' in the input; did you mean 'name'?");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"types\": {\"id\": \"itn\"}}", "bad_params",
                     "unknown type 'itn'; did you mean 'int'?");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"missing\": {\"id\": \"meen\"}}", "bad_params",
                     "did you mean 'mean'?");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"missing\": \"dorp\"}", "bad_params",
                     "did you mean 'drop'?");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"clip\": {\"id\": {\"lowr\": 0.1}}}",
                     "bad_params", "did you mean 'lower'?");
    s_expect_failed (
        &env, "{\"input\": \"in.csv\", \"clip\": {\"id\": {\"lower\": 0.9, \"upper\": 0.1}}}",
        "bad_params", "lower at most upper");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"clip\": {\"id\": {\"lower\": 1.5}}}",
                     "bad_params", "q from 0 to 1");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"dedup\": {\"column\": [\"id\"]}}",
                     "bad_params", "did you mean 'columns'?");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"dedup\": {\"columns\": [\"idd\"]}}",
                     "bad_params", "did you mean 'id'?");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"trim\": [\"nam\"]}", "bad_params",
                     "did you mean 'name'?");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"format\": \"json\"}", "bad_params",
                     "did you mean 'jsonl'?");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"on_bad_type\": \"nul\"}", "bad_params",
                     "did you mean 'null'?");
    s_expect_failed (&env,
                     "{\"input\": \"in.csv\", \"types\": {\"id\": \"bool\"}, \"missing\": {\"id\": "
                     "\"median\"}}",
                     "bad_params", "typed bool");
    s_expect_failed (&env, "{\"input\": \"in.csv\", \"missing\": {\"id\": {\"valeu\": 1}}}",
                     "bad_params", "did you mean 'value'?");
    dt_teardown (&env);
}

//  Writes rows rows of generated data with duplicates differing in case and
//  whitespace, empty and outlying numbers.
static void
s_generate (dt_env_t *env, const char *name, int rows)
{
    size_t cap = (size_t) rows * 48 + 64, n = 0;
    char *text = (char *) malloc (cap);
    n += (size_t) snprintf (text, cap, "id,key,num,cat\n");
    uint32_t state = 12345;
    for (int i = 0; i < rows; i++) {
        state = state * 1103515245u + 12345u;
        uint32_t r = state >> 8;
        int key = (int) (r % 150000);
        const char *pad = r % 7 == 0 ? "  " : "";
        char key_text [32];
        snprintf (key_text, sizeof key_text, "%s-%d", r % 3 == 0 ? "Item" : "item", key);
        char num [32] = "";
        if (r % 11)
            snprintf (num, sizeof num, "%d.%02d", (int) (r % 1000) - (r % 97 == 0 ? 50000 : 0),
                      (int) (r % 100));
        n += (size_t) snprintf (text + n, cap - n, "%d,%s%s%s,%s,c%d\n", i, pad, key_text, pad, num,
                                (int) (r % 5));
    }
    dt_write_n (env, name, text, n);
    free (text);
}

//  Names of files in the workspace other than data.csv and rejects.csv.
static int
s_stray_files (dt_env_t *env)
{
    DIR *dir = opendir (env->workspace);
    int stray = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (entry->d_name [0] == '.' || !strcmp (entry->d_name, "data.csv")
            || !strcmp (entry->d_name, "rejects.csv"))
            continue;
        fprintf (stderr, "stray file %s\n", entry->d_name);
        stray++;
    }
    closedir (dir);
    return stray;
}

static void
test_spill_same_output (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    s_generate (&env, "big.csv", 200000);
    const char *params = "{\"input\": \"big.csv\", \"trim\": [\"key\"], \"dedup\": {\"columns\": "
                         "[\"key\"], \"normalize\": true}, \"missing\": {\"num\": \"median\", "
                         "\"cat\": \"mode\"}, \"clip\": {\"num\": {\"lower\": 0.01, \"upper\": "
                         "0.99}}}";
    char *json_big;
    char *big = s_clean (&env, params, &json_big);
    s_contains (json_big, "\"spill_files\":0");
    assert_int_equal (s_stray_files (&env), 0);
    dt_next_step (&env);
    env.config.memory_budget = 64 * 1024;
    char *json_small;
    char *small = s_clean (&env, params, &json_small);
    assert_true (env.progress_reports > 0);
    if (strstr (json_small, "\"spill_files\":0,"))
        fail_msg ("expected spill files under 64 KiB: %s", json_small);
    assert_int_equal (s_stray_files (&env), 0);
    assert_int_equal (strlen (small), strlen (big));
    assert_true (strcmp (small, big) == 0);
    //  Same stats but the spill count.
    const char *a = strstr (json_big, "\"stats\":"), *b = strstr (json_small, "\"stats\":");
    const char *a_end = strstr (a, "\"spill_files\""), *b_end = strstr (b, "\"spill_files\"");
    assert_int_equal (a_end - a, b_end - b);
    assert_memory_equal (a, b, (size_t) (a_end - a));
    s_contains (json_big, "\"rows_in\":200000,");
    free (json_big);
    free (json_small);
    free (big);
    free (small);
    dt_teardown (&env);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_whitespace), cmocka_unit_test (test_types),
        cmocka_unit_test (test_missing),    cmocka_unit_test (test_clip),
        cmocka_unit_test (test_dedup),      cmocka_unit_test (test_malformed_and_edges),
        cmocka_unit_test (test_bad_params), cmocka_unit_test (test_spill_same_output),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
