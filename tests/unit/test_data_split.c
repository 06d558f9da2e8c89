/*  tests/unit/test_data_split.c: data.split on a real pool. The exact files
    of a fixed seed (checked against an independent SipHash-2-4 of the
    documented message), stability when rows are appended, a seed that
    changes the assignment, no group in two splits, per-class proportions
    on a skewed fixture within the stated tolerance, refused ratios,
    malformed rows to rejects.csv, and empty input.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datatest.h"

static const char *s_split_names [] = {"train", "validation", "test"};

//  Twelve rows; label neg on every third.
static const char *s_fixture = "id,text,label\n"
                               "1,apple,neg\n2,banana,pos\n3,cherry,pos\n4,date,neg\n"
                               "5,elder,pos\n6,fig,pos\n7,grape,neg\n8,hazel,pos\n"
                               "9,iris,pos\n10,juniper,neg\n11,kiwi,pos\n12,lemon,pos\n";

static fed_report_t *
s_split (dt_env_t *env, const char *params)
{
    fed_report_t *report = dt_run (env, "data.split", params);
    assert_non_null (report);
    return report;
}

//  Which split (0, 1, 2, or -1 if none) holds line, a whole line of a file.
static int
s_where (dt_env_t *env, const char *line)
{
    int found = -1;
    for (int i = 0; i < 3; i++) {
        char name [32];
        snprintf (name, sizeof name, "%s.csv", s_split_names [i]);
        char *text = dt_read (env, name);
        assert_non_null (text);
        char needle [128];
        snprintf (needle, sizeof needle, "\n%s\n", line);
        if (strstr (text, needle)) {
            assert_int_equal (found, -1); //  never in two splits
            found = i;
        }
        free (text);
    }
    return found;
}

static void
test_exact_files (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", s_fixture);
    const char *params = "{\"input\": \"in.csv\", \"seed\": 42, \"ratios\": {\"train\": 0.5, "
                         "\"validation\": 0.25, \"test\": 0.25}}";
    fed_report_t *report = s_split (&env, params);
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    dt_expect_file (&env, "train.csv",
                    "id,text,label\n2,banana,pos\n4,date,neg\n6,fig,pos\n7,grape,neg\n"
                    "8,hazel,pos\n10,juniper,neg\n12,lemon,pos\n");
    dt_expect_file (&env, "validation.csv", "id,text,label\n3,cherry,pos\n5,elder,pos\n");
    dt_expect_file (&env, "test.csv", "id,text,label\n1,apple,neg\n9,iris,pos\n11,kiwi,pos\n");
    dt_expect_file (&env, "rejects.csv", "line,offset,reason,raw\n");
    char *json = dt_output_json (report);
    dt_expect_in (json, "\"counts\":{\"train\":7,\"validation\":2,\"test\":3}");
    dt_expect_in (json, "\"rows\":12,");
    dt_expect_in (json, "\"columns\":[\"id\",\"text\",\"label\"]");
    dt_expect_in (json, "\"params\":{\"input\":\"in.csv\",\"seed\":42,");
    //  Each split is under splits and at the top level, with its own sha256.
    for (int i = 0; i < 3; i++) {
        char path [600], hex [65], entry [900];
        snprintf (path, sizeof path, "%s/%s.csv", env.workspace, s_split_names [i]);
        assert_int_equal (fed_data_sha256_file (path, hex), 0);
        snprintf (entry, sizeof entry, "\"%s\":{\"path\":\"%s\",", s_split_names [i], path);
        char *first = strstr (json, entry);
        assert_non_null (first);
        assert_non_null (strstr (first + 1, entry));
        dt_expect_in (first, hex);
    }
    assert_true (strncmp (json, "{\"splits\":{\"train\":{", 20) == 0);
    free (json);
    fed_report_destroy (&report);

    //  key: [id] hashes the id alone.
    dt_next_step (&env);
    report = s_split (&env,
                      "{\"input\": \"in.csv\", \"seed\": 42, \"key\": [\"id\"], \"ratios\": "
                      "{\"train\": 0.5, \"validation\": 0.25, \"test\": 0.25}}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    dt_expect_file (&env, "validation.csv", "id,text,label\n9,iris,pos\n");
    dt_expect_file (&env, "test.csv", "id,text,label\n");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

//  n rows "i,text i" from first (1-based) on.
static char *
s_rows (int first, int n, bool header)
{
    char *text = (char *) calloc (1, (size_t) n * 32 + 32);
    size_t at = 0;
    if (header)
        at += (size_t) sprintf (text, "id,text\n");
    for (int i = first; i < first + n; i++)
        at += (size_t) sprintf (text + at, "%d,text %d\n", i, i);
    return text;
}

static void
test_stable_when_appended (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    char *old = s_rows (1, 300, true);
    char *more = s_rows (301, 300, false);
    char *both = (char *) calloc (1, strlen (old) + strlen (more) + 1);
    strcat (strcat (both, old), more);
    dt_write (&env, "old.csv", old);
    dt_write (&env, "new.csv", both);
    fed_report_t *report = s_split (&env, "{\"input\": \"old.csv\", \"seed\": 9}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    fed_report_destroy (&report);
    int before [301];
    for (int i = 1; i <= 300; i++) {
        char line [64];
        snprintf (line, sizeof line, "%d,text %d", i, i);
        before [i] = s_where (&env, line);
        assert_true (before [i] >= 0);
    }
    dt_next_step (&env);
    report = s_split (&env, "{\"input\": \"new.csv\", \"seed\": 9}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    fed_report_destroy (&report);
    int used [3] = {0, 0, 0};
    for (int i = 1; i <= 300; i++) {
        char line [64];
        snprintf (line, sizeof line, "%d,text %d", i, i);
        int after = s_where (&env, line);
        if (after != before [i])
            fail_msg ("row %d moved from split %d to %d when rows were appended", i, before [i],
                      after);
        used [after]++;
    }
    //  Every split got some of the old rows (the test would be empty otherwise).
    assert_true (used [0] > 0 && used [1] > 0 && used [2] > 0);
    free (old);
    free (more);
    free (both);
    dt_teardown (&env);
}

static void
test_seed_changes_assignment (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", s_fixture);
    const char *ratios = "\"ratios\": {\"train\": 0.5, \"validation\": 0.25, \"test\": 0.25}";
    char params [256];
    snprintf (params, sizeof params, "{\"input\": \"in.csv\", \"seed\": 43, %s}", ratios);
    fed_report_t *report = s_split (&env, params);
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    fed_report_destroy (&report);
    //  Seed 42 put 3,cherry and 5,elder in validation (test_exact_files).
    dt_expect_file (&env, "train.csv",
                    "id,text,label\n1,apple,neg\n2,banana,pos\n3,cherry,pos\n4,date,neg\n"
                    "5,elder,pos\n7,grape,neg\n11,kiwi,pos\n12,lemon,pos\n");
    dt_expect_file (&env, "validation.csv", "id,text,label\n9,iris,pos\n");
    dt_expect_file (&env, "test.csv", "id,text,label\n6,fig,pos\n8,hazel,pos\n10,juniper,neg\n");
    //  The same seed again gives the same bytes.
    char *first = dt_read (&env, "train.csv");
    dt_next_step (&env);
    report = s_split (&env, params);
    fed_report_destroy (&report);
    dt_expect_file (&env, "train.csv", first);
    free (first);
    //  A negative seed is a seed too (its two's complement bytes).
    dt_next_step (&env);
    report = s_split (&env, "{\"input\": \"in.csv\", \"seed\": -5}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_group_never_leaks (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    //  400 rows of 40 users, each user's rows spread through the file.
    char *text = (char *) calloc (1, 400 * 40);
    size_t at = (size_t) sprintf (text, "id,user,text\n");
    for (int i = 0; i < 400; i++)
        at += (size_t) sprintf (text + at, "%d,user%d,message %d\n", i, (i * 7) % 40, i);
    dt_write (&env, "in.csv", text);
    fed_report_t *report = s_split (&env,
                                    "{\"input\": \"in.csv\", \"group\": \"user\", "
                                    "\"seed\": 3}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    char *json = dt_output_json (report);
    dt_expect_in (json, "\"groups\":40,\"groups_exact\":true,\"groups_by_split\":{");
    //  Every user's rows are in exactly one split.
    int home [40];
    for (int u = 0; u < 40; u++)
        home [u] = -1;
    int per_split [3] = {0, 0, 0};
    for (int s = 0; s < 3; s++) {
        char name [32];
        snprintf (name, sizeof name, "%s.csv", s_split_names [s]);
        char *file = dt_read (&env, name);
        for (char *line = strchr (file, '\n'); line && line [1]; line = strchr (line + 1, '\n')) {
            int id, user;
            assert_int_equal (sscanf (line + 1, "%d,user%d,", &id, &user), 2);
            if (home [user] == -1) {
                home [user] = s;
                per_split [s]++;
            } else if (home [user] != s)
                fail_msg ("user%d is in %s and %s", user, s_split_names [home [user]],
                          s_split_names [s]);
        }
        free (file);
    }
    char expected [128];
    snprintf (expected, sizeof expected,
              "\"groups_by_split\":{\"train\":%d,\"validation\":%d,\"test\":%d}", per_split [0],
              per_split [1], per_split [2]);
    dt_expect_in (json, expected);
    assert_int_equal (per_split [0] + per_split [1] + per_split [2], 40);
    free (json);
    free (text);
    fed_report_destroy (&report);
    //  key and group exclude each other.
    report = s_split (&env, "{\"input\": \"in.csv\", \"group\": \"user\", \"key\": [\"id\"]}");
    dt_expect_failed (report, "bad_params", "\"key\" and \"group\" exclude each other");
    fed_report_destroy (&report);
    report = s_split (&env, "{\"input\": \"in.csv\", \"group\": [\"user\", \"id\"]}");
    dt_expect_failed (report, "bad_params", "param \"group\" must name one column");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

//  Counts rows of class label (the last field) in a split's file.
static int
s_class_rows (dt_env_t *env, const char *split, const char *label)
{
    char name [32], needle [32];
    snprintf (name, sizeof name, "%s.csv", split);
    snprintf (needle, sizeof needle, ",%s\n", label);
    char *file = dt_read (env, name);
    int n = 0;
    for (char *at = strstr (file, needle); at; at = strstr (at + 1, needle))
        n++;
    free (file);
    return n;
}

static void
test_stratified_proportions (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    //  Skewed and interleaved: 30 tiny (every 100th row), 300 rare, 2,670 common.
    const char *labels [] = {"common", "rare", "tiny"};
    int real [3] = {0, 0, 0};
    char *text = (char *) calloc (1, 3000 * 32);
    size_t at = (size_t) sprintf (text, "id,label\n");
    for (int i = 0; i < 3000; i++) {
        int c = i % 100 == 0 ? 2 : i % 10 == 5 ? 1 : 0;
        real [c]++;
        at += (size_t) sprintf (text + at, "%d,%s\n", i, labels [c]);
    }
    dt_write (&env, "in.csv", text);
    fed_report_t *report = s_split (&env,
                                    "{\"input\": \"in.csv\", \"stratify\": \"label\", "
                                    "\"seed\": 11}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    char *json = dt_output_json (report);
    //  by_class is sorted by class, and matches the files.
    char expected [512];
    int counts [3][3];
    for (int c = 0; c < 3; c++)
        for (int s = 0; s < 3; s++)
            counts [c][s] = s_class_rows (&env, s_split_names [s], labels [c]);
    snprintf (expected, sizeof expected,
              "\"by_class\":{\"common\":{\"train\":%d,\"validation\":%d,\"test\":%d},"
              "\"rare\":{\"train\":%d,\"validation\":%d,\"test\":%d},"
              "\"tiny\":{\"train\":%d,\"validation\":%d,\"test\":%d}}",
              counts [0][0], counts [0][1], counts [0][2], counts [1][0], counts [1][1],
              counts [1][2], counts [2][0], counts [2][1], counts [2][2]);
    dt_expect_in (json, expected);
    //  The stated tolerance (doc/agents-data.md): a class of n rows is within
    //  3 sqrt (r (1 - r) / n) + 1 / n of each ratio r.
    const double ratios [] = {0.8, 0.1, 0.1};
    for (int c = 0; c < 3; c++) {
        assert_int_equal (counts [c][0] + counts [c][1] + counts [c][2], real [c]);
        for (int s = 0; s < 3; s++) {
            double n = real [c], r = ratios [s];
            double fraction = counts [c][s] / n;
            double tolerance = 3 * sqrt (r * (1 - r) / n) + 1 / n;
            if (fabs (fraction - r) > tolerance)
                fail_msg ("class %s in %s: fraction %.3f, expected %.3f within %.3f", labels [c],
                          s_split_names [s], fraction, r, tolerance);
        }
    }
    free (json);
    free (text);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_bad_ratios (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", s_fixture);
    struct {
        const char *ratios;
        const char *message;
    } cases [] = {
        {"{\"train\": 0.8, \"test\": 0.1}", "must sum to 1, they sum to 0.9"},
        {"{\"train\": 1.1, \"test\": -0.1}", "the share of 'test' must be above 0, got -0.1"},
        {"{\"train\": 1, \"test\": 0}", "the share of 'test' must be above 0, got 0"},
        {"{\"train\": \"0.8\", \"test\": 0.2}", "the share of 'train' must be a number, got str"},
        {"{\"train\": null}", "the share of 'train' must be a number, got nil"},
        {"{}", "must name 1 to 8 splits, got 0"},
        {"{\"a\": 0.1, \"b\": 0.1, \"c\": 0.1, \"d\": 0.1, \"e\": 0.1, \"f\": 0.1, \"g\": 0.1, "
         "\"h\": 0.1, \"i\": 0.2}",
         "must name 1 to 8 splits, got 9"},
        {"{\"rejects\": 1}", "split 1 needs a name"},
        {"{\"../x\": 1}", "split 1 needs a name"},
        {"[0.8, 0.2]", "param \"ratios\" must be a map"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char params [512];
        snprintf (params, sizeof params, "{\"input\": \"in.csv\", \"ratios\": %s}",
                  cases [i].ratios);
        fed_report_t *report = s_split (&env, params);
        dt_expect_failed (report, "bad_params", cases [i].message);
        fed_report_destroy (&report);
    }
    //  A misspelt param is refused, not ignored (the default ratios would apply).
    fed_report_t *typo = s_split (&env, "{\"input\": \"in.csv\", \"ratio\": {\"a\": 1}}");
    dt_expect_failed (typo, "bad_params", "unknown param \"ratio\"; did you mean \"ratios\"?");
    fed_report_destroy (&typo);
    //  A sum within 1e-9 of 1 is fine, one split alone too.
    fed_report_t *report = s_split (&env,
                                    "{\"input\": \"in.csv\", \"ratios\": {\"a\": 0.3, "
                                    "\"b\": 0.3, \"c\": 0.4000000000001}}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    fed_report_destroy (&report);
    report = s_split (&env, "{\"input\": \"in.csv\", \"ratios\": {\"all\": 1}}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    dt_expect_file (&env, "all.csv", s_fixture);
    fed_report_destroy (&report);
    //  Other params are checked too.
    report = s_split (&env, "{\"input\": \"in.csv\", \"seed\": \"x\"}");
    dt_expect_failed (report, "bad_params", "\"seed\"");
    fed_report_destroy (&report);
    report = s_split (&env, "{\"input\": \"in.csv\", \"stratify\": \"lable\"}");
    dt_expect_failed (report, "bad_params", "did you mean 'label'?");
    fed_report_destroy (&report);
    report = s_split (&env, "{\"input\": \"in.csv\", \"format\": \"xml\"}");
    dt_expect_failed (report, "bad_params", "\"format\" must be csv, tsv or jsonl");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_malformed_rows_rejected (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", "id,text,label\n1,a,x\n2,\"bad\"q,x\n3,c\n4,\xff,y\n5,e,y\n");
    fed_report_t *report = s_split (&env, "{\"input\": \"in.csv\", \"ratios\": {\"all\": 1}}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    dt_expect_file (&env, "all.csv", "id,text,label\n1,a,x\n5,e,y\n");
    dt_expect_file (&env, "rejects.csv",
                    "line,offset,reason,raw\n"
                    "3,20,line 3 (byte 20): text after a closing quote at byte 27,"
                    "\"2,\"\"bad\"\"q,x\"\n"
                    "4,31,\"line 4 (byte 31): field count differs from the header's at byte 35: "
                    "2 fields, the header has 3\",\"3,c\"\n"
                    "5,35,line 5 (byte 35): invalid UTF-8 at byte 37,\"4,\xef\xbf\xbd,y\"\n");
    char *json = dt_output_json (report);
    dt_expect_in (json, "\"counts\":{\"all\":2},\"rows\":2,\"rejects\":{\"path\":");
    dt_expect_in (json, "\"rows\":3,");
    free (json);
    fed_report_destroy (&report);
    report = s_split (&env, "{\"input\": \"in.csv\", \"max_rejects\": 2}");
    dt_expect_failed (report, "too_many_rejects", "max_rejects");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_empty_input (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "empty.csv", "");
    fed_report_t *report =
        s_split (&env, "{\"input\": \"empty.csv\", \"stratify\": \"label\", \"group\": \"u\"}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    for (int i = 0; i < 3; i++) {
        char name [32];
        snprintf (name, sizeof name, "%s.csv", s_split_names [i]);
        dt_expect_file (&env, name, "");
    }
    char *json = dt_output_json (report);
    dt_expect_in (json,
                  "\"counts\":{\"train\":0,\"validation\":0,\"test\":0},\"by_class\":{},"
                  "\"groups\":0,");
    dt_expect_in (json, "\"columns\":[]");
    free (json);
    fed_report_destroy (&report);
    //  A header alone: every split gets the header.
    dt_write (&env, "header.csv", "id,label\n");
    report = s_split (&env, "{\"input\": \"header.csv\", \"stratify\": \"label\"}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    dt_expect_file (&env, "test.csv", "id,label\n");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_jsonl_in_and_out (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.jsonl",
              "{\"id\": 1, \"ok\": true, \"t\": \"a\"}\n"
              "{\"id\": 2, \"ok\": false, \"t\": null}\n");
    fed_report_t *report = s_split (&env,
                                    "{\"input\": \"in.jsonl\", \"format\": \"jsonl\", "
                                    "\"ratios\": {\"all\": 1}}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    dt_expect_file (&env, "all.jsonl",
                    "{\"id\":1,\"ok\":true,\"t\":\"a\"}\n"
                    "{\"id\":2,\"ok\":false,\"t\":null}\n");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_exact_files),
        cmocka_unit_test (test_stable_when_appended),
        cmocka_unit_test (test_seed_changes_assignment),
        cmocka_unit_test (test_group_never_leaks),
        cmocka_unit_test (test_stratified_proportions),
        cmocka_unit_test (test_bad_ratios),
        cmocka_unit_test (test_malformed_rows_rejected),
        cmocka_unit_test (test_empty_input),
        cmocka_unit_test (test_jsonl_in_and_out),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
