/*  tests/unit/test_dataio.c: the layer the data.* agents share. A small
    agent written here (t.copy: input -> out, malformed rows to rejects.csv)
    runs on a real pool and shows that paths are confined to the run's
    directory and the data roots, that CSV and JSONL rows come back aligned
    to one column list, that a malformed row reaches the rejects file with
    its line, reason and raw bytes while the rest carry on, that thresholds
    fail the step, and that each output's sha256 is the file's.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datatest.h"

//  t.copy: copies param input to param out (default data.csv), malformed
//  rows to rejects.csv; outputs data, rejects, columns, params.
static int
s_copy_run (fed_task_t *task)
{
    char path [PATH_MAX];
    if (fed_data_input_path (task, "input", path))
        return -1;
    const char *out = "data.csv";
    if (fed_task_has (task, "out") && fed_task_require_str (task, "out", &out))
        return -1;
    fed_data_reader_t *reader = fed_data_reader_open (task, path, NULL);
    if (!reader)
        return -1;
    size_t count;
    const fed_field_t *columns = fed_data_reader_columns (reader, &count);
    fed_data_columns_t keys;
    int rc = fed_data_param_columns (task, "keys", reader, &keys);
    fed_data_columns_free (&keys);
    fed_data_writer_t *writer = rc ? NULL : fed_data_writer_open (task, out, columns, count);
    fed_data_rejects_t *rejects = writer ? fed_data_rejects_open (task, "rejects.csv") : NULL;
    if (!rejects) {
        fed_data_writer_abort (&writer);
        fed_data_reader_close (&reader);
        return -1;
    }
    const fed_field_t *fields;
    while ((rc = fed_data_reader_next (reader, &fields)) != 0) {
        if (rc == -1 || (rc == -2 && fed_data_rejects_malformed (rejects, reader))
            || (rc == 1 && fed_data_writer_row (writer, fields)))
            break;
    }
    fed_data_output_columns (task, "columns", columns, count);
    fed_data_reader_close (&reader);
    uint64_t good = fed_data_writer_rows (writer);
    if (rc) {
        fed_data_writer_abort (&writer);
        if (fed_data_rejects_close (&rejects, task, good, NULL))
            return -1;
        return -1;
    }
    if (fed_data_writer_close (&writer, task, "data")
        || fed_data_rejects_close (&rejects, task, good, "rejects"))
        return -1;
    fed_data_output_params (task, "params");
    return 0;
}

static fed_report_t *
s_copy (dt_env_t *env, const char *params)
{
    fed_err_t err = {0};
    fed_agentset_t *agents = fed_agentset_new ();
    const fed_agent_t record = {"t.copy", "1.0.0", NULL, NULL, s_copy_run, 0, &env->config};
    assert_int_equal (fed_agentset_add (agents, &record, &err), 0);
    fed_report_t *report = dt_run_in (env, agents, "t.copy", params);
    fed_agentset_destroy (&agents);
    assert_non_null (report);
    return report;
}

static void
test_csv_copy_with_rejects (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", "id,text\n1,\"a, b\"\n2,\"bad\"x\n3,\"multi\nline\"\n4,\xff\n5,e\n");
    fed_report_t *report = s_copy (&env, "{\"input\": \"in.csv\"}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    char *data = dt_read (&env, "data.csv");
    assert_string_equal (data, "id,text\n1,\"a, b\"\n3,\"multi\nline\"\n5,e\n");
    char *rejects = dt_read (&env, "rejects.csv");
    assert_string_equal (rejects,
                         "line,offset,reason,raw\n"
                         "3,17,line 3 (byte 17): text after a closing quote at byte 24,"
                         "\"2,\"\"bad\"\"x\"\n"
                         "6,41,line 6 (byte 41): invalid UTF-8 at byte 43,\"4,\xef\xbf\xbd\"\n");
    //  The output reports the file's own sha256, and its rows.
    char path [600], hex [65];
    snprintf (path, sizeof path, "%s/data.csv", env.workspace);
    assert_int_equal (fed_data_sha256_file (path, hex), 0);
    char *json = dt_output_json (report);
    assert_non_null (strstr (json, hex));
    assert_non_null (strstr (json, "\"data\":{\"path\":\""));
    assert_non_null (strstr (json, "\"rows\":3,"));
    assert_non_null (strstr (json, "\"columns\":[\"id\",\"text\"]"));
    assert_non_null (strstr (json, "\"params\":{\"input\":\"in.csv\"}"));
    free (json);
    free (data);
    free (rejects);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_jsonl_aligned (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.jsonl",
              "{\"a\": 1, \"b\": \"x\"}\n{\"b\": \"y\"}\n{\"a\": 3, \"c\": 0}\nnot json\n"
              "{\"b\": \"z\", \"a\": true}\n");
    fed_report_t *report = s_copy (&env,
                                   "{\"input\": {\"path\": \"in.jsonl\"}, \"out\": "
                                   "\"out.jsonl\"}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    char *data = dt_read (&env, "out.jsonl");
    assert_string_equal (data,
                         "{\"a\":1,\"b\":\"x\"}\n{\"a\":null,\"b\":\"y\"}\n"
                         "{\"a\":true,\"b\":\"z\"}\n");
    char *rejects = dt_read (&env, "rejects.csv");
    assert_non_null (strstr (rejects, "3,30,line 3 (byte 30): key 'c' is not a column"));
    assert_non_null (strstr (rejects, "\n4,47,"));
    free (data);
    free (rejects);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_paths_confined (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", "alpha\n1\n");
    fed_report_t *report = s_copy (&env, "{\"input\": \"/etc/passwd.csv\"}");
    dt_expect_failed (report, "not_found", "/etc/passwd.csv");
    fed_report_destroy (&report);
    report = s_copy (&env, "{\"input\": \"../../../../../../etc/hostname\"}");
    dt_expect_failed (report, "forbidden_path", "agents.data_roots");
    fed_report_destroy (&report);
    //  A symlink out of the run directory is refused too.
    char link_path [300];
    snprintf (link_path, sizeof link_path, "%s/escape.csv", env.run);
    assert_int_equal (symlink ("/etc/hostname", link_path), 0);
    report = s_copy (&env, "{\"input\": \"escape.csv\"}");
    dt_expect_failed (report, "forbidden_path", "/etc/hostname");
    fed_report_destroy (&report);
    //  A data root allows it.
    env.roots [0] = "/etc";
    env.config.root_count = 1;
    report = s_copy (&env, "{\"input\": \"/etc/hostname\"}");
    dt_expect_failed (report, "bad_params", "unknown format");
    fed_report_destroy (&report);
    //  Params are checked.
    report = s_copy (&env, "{\"input\": 7}");
    dt_expect_failed (report, "bad_params", "\"input\"");
    fed_report_destroy (&report);
    report = s_copy (&env, "{}");
    dt_expect_failed (report, "bad_params", "\"input\" is missing");
    fed_report_destroy (&report);
    report = s_copy (&env, "{\"input\": \"in.csv\", \"out\": \"../x.csv\"}");
    dt_expect_failed (report, "bad_params", "plain file name");
    fed_report_destroy (&report);
    report = s_copy (&env, "{\"input\": \"in.csv\", \"keys\": [\"alpah\"]}");
    dt_expect_failed (report, "bad_params",
                      "no column 'alpah' in the input; did you mean 'alpha'?");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_thresholds_and_edges (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", "a,b\n1,2\n3\n4,5\n6\n");
    fed_report_t *report = s_copy (&env, "{\"input\": \"in.csv\", \"max_rejects\": 1}");
    dt_expect_failed (report, "too_many_rejects",
                      "more than 1 rows refused (param \"max_rejects\")");
    fed_report_destroy (&report);
    report = s_copy (&env, "{\"input\": \"in.csv\", \"max_reject_ratio\": 0.25}");
    dt_expect_failed (report, "too_many_rejects", "2 of 4 rows refused");
    fed_report_destroy (&report);
    report = s_copy (&env, "{\"input\": \"in.csv\", \"max_reject_ratio\": 0.5}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    fed_report_destroy (&report);
    //  Empty input: no columns, no rows, an empty output.
    dt_write (&env, "empty.csv", "");
    report = s_copy (&env, "{\"input\": \"empty.csv\"}");
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    char *data = dt_read (&env, "data.csv");
    assert_string_equal (data, "");
    free (data);
    fed_report_destroy (&report);
    //  A malformed header fails the step.
    dt_write (&env, "bad.csv", "\"a,b\n1,2\n");
    report = s_copy (&env, "{\"input\": \"bad.csv\"}");
    dt_expect_failed (report, "bad_input", "header row is malformed");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_csv_copy_with_rejects),
        cmocka_unit_test (test_jsonl_aligned),
        cmocka_unit_test (test_paths_confined),
        cmocka_unit_test (test_thresholds_and_edges),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
