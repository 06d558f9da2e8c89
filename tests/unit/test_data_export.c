/*  tests/unit/test_data_export.c: data.export on a real pool. The exact
    JSONL of each style (records typed by inferred column types,
    prompt_completion from a template or a column, messages), CSV, the
    manifest (schema, counts, checksums that are the files' own, lineage as
    given), invalid UTF-8 and other malformed rows to rejects, a field of
    most of a MiB, empty input, refused params, and data.split's output fed
    in as it is.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datatest.h"

static const char *s_train = "id,text,label,score,ok\n"
                             "1,\"hi \"\"there\"\"\nnext\",pos,1.5,True\n"
                             "2,,neg,,false\n"
                             "3,tab\there \\ back,pos,nan,\n";
static const char *s_test = "id,text,label,score,ok\n"
                            "4,x,pos,2,TRUE\n"
                            "5,\"bad\"q,neg,1,true\n";

static fed_report_t *
s_export (dt_env_t *env, const char *params)
{
    fed_report_t *report = dt_run (env, "data.export", params);
    assert_non_null (report);
    return report;
}

static void
test_records_typed (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "train.csv", s_train);
    dt_write (&env, "test.csv", s_test);
    fed_report_t *report = s_export (&env,
                                     "{\"splits\": {\"train\": \"train.csv\", \"test\": "
                                     "{\"path\": \"test.csv\", \"rows\": 2}}}");
    dt_expect_completed (report);
    //  Types come from every split: score is a float (2 is written 2.0),
    //  nan and empty fields are null, True/TRUE/false are booleans.
    dt_expect_file (
        &env, "train.jsonl",
        "{\"id\":1,\"text\":\"hi \\\"there\\\"\\nnext\",\"label\":\"pos\",\"score\":1.5,"
        "\"ok\":true}\n"
        "{\"id\":2,\"text\":null,\"label\":\"neg\",\"score\":null,\"ok\":false}\n"
        "{\"id\":3,\"text\":\"tab\\there \\\\ back\",\"label\":\"pos\",\"score\":null,"
        "\"ok\":null}\n");
    dt_expect_file (&env, "test.jsonl",
                    "{\"id\":4,\"text\":\"x\",\"label\":\"pos\",\"score\":2.0,\"ok\":true}\n");
    dt_expect_file (&env, "test.rejects.csv",
                    "line,offset,reason,raw\n"
                    "3,38,line 3 (byte 38): text after a closing quote at byte 45,"
                    "\"5,\"\"bad\"\"q,neg,1,true\"\n");
    char *json = dt_output_json (report);
    dt_expect_in (json, "\"rows\":{\"train\":3,\"test\":1},\"rejects\":{\"train\":{");
    dt_expect_in (json,
                  "\"schema\":[{\"name\":\"id\",\"type\":\"int\"},{\"name\":\"text\",\"type\":"
                  "\"string\"},{\"name\":\"label\",\"type\":\"string\"},{\"name\":\"score\","
                  "\"type\":\"float\"},{\"name\":\"ok\",\"type\":\"bool\"}]");
    assert_true (strncmp (json, "{\"files\":{\"train\":{\"path\":\"", 27) == 0);
    free (json);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_records_from_jsonl (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    //  A JSON string stays a string even when it reads as a number; nested
    //  values and numbers stay as they were; a missing key is null.
    dt_write (&env, "in.jsonl",
              "{\"id\": 1, \"zip\": \"00501\", \"tags\": [\"a\", 2], "
              "\"p\": 0.25, \"ok\": true}\n"
              "{\"id\": 2, \"zip\": \"\", \"tags\": {\"k\": null}, "
              "\"ok\": false}\n");
    fed_report_t *report = s_export (&env, "{\"input\": \"in.jsonl\"}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.jsonl",
                    "{\"id\":1,\"zip\":\"00501\",\"tags\":[\"a\",2],\"p\":0.25,\"ok\":true}\n"
                    "{\"id\":2,\"zip\":\"\",\"tags\":{\"k\":null},\"p\":null,\"ok\":false}\n");
    char *json = dt_output_json (report);
    dt_expect_in (json,
                  "\"schema\":[{\"name\":\"id\",\"type\":\"int\"},{\"name\":\"zip\","
                  "\"type\":\"string\"},{\"name\":\"tags\",\"type\":\"string\"},{\"name\":"
                  "\"p\",\"type\":\"float\"},{\"name\":\"ok\",\"type\":\"bool\"}]");
    free (json);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_prompt_completion (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", s_train);
    fed_report_t *report = s_export (
        &env,
        "{\"input\": \"in.csv\", \"style\": \"prompt_completion\", \"prompt\": {\"template\": "
        "\"Classify {{id {id}}}: {text}\"}, \"completion\": {\"column\": \"label\"}}");
    dt_expect_completed (report);
    dt_expect_file (
        &env, "data.jsonl",
        "{\"prompt\":\"Classify {id 1}: hi \\\"there\\\"\\nnext\",\"completion\":\"pos\"}\n"
        "{\"prompt\":\"Classify {id 2}: \",\"completion\":\"neg\"}\n"
        "{\"prompt\":\"Classify {id 3}: tab\\there \\\\ back\",\"completion\":\"pos\"}\n");
    fed_report_destroy (&report);
    //  A column for the prompt; drop_empty skips the rows with no completion.
    report = s_export (&env,
                       "{\"input\": \"in.csv\", \"style\": \"prompt_completion\", "
                       "\"prompt\": {\"column\": \"label\"}, \"completion\": \"ok\", "
                       "\"drop_empty\": true}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.jsonl",
                    "{\"prompt\":\"pos\",\"completion\":\"True\"}\n"
                    "{\"prompt\":\"neg\",\"completion\":\"false\"}\n");
    char *json = dt_output_json (report);
    dt_expect_in (json, "\"rows\":{\"data\":2},\"dropped\":{\"data\":1},");
    dt_expect_in (json,
                  "\"schema\":[{\"name\":\"prompt\",\"type\":\"string\"},{\"name\":"
                  "\"completion\",\"type\":\"string\"}]");
    free (json);
    fed_report_destroy (&report);
    //  Templates are checked.
    struct {
        const char *prompt;
        const char *message;
    } cases [] = {
        {"{\"template\": \"Classify: {txt}\"}",
         "no column 'txt' in the input; did you mean 'text'?"},
        {"{\"template\": \"Classify: {text\"}", "an unclosed { at byte 10"},
        {"{\"template\": \"a {} b\"}", "an empty {} at byte 2"},
        {"{\"template\": \"a } b\"}", "a lone } at byte 2"},
        {"{\"tmpl\": \"a\"}", "the key must be column, template or text, not 'tmpl'"},
        {"7", "must be a column name, {column: NAME}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char params [512];
        snprintf (params, sizeof params,
                  "{\"input\": \"in.csv\", \"style\": \"prompt_completion\", \"prompt\": %s, "
                  "\"completion\": \"label\"}",
                  cases [i].prompt);
        report = s_export (&env, params);
        dt_expect_failed (report, "bad_params", cases [i].message);
        fed_report_destroy (&report);
    }
    report = s_export (&env,
                       "{\"input\": \"in.csv\", \"style\": \"prompt_completion\", "
                       "\"prompt\": \"text\"}");
    dt_expect_failed (report, "bad_params", "needs params \"prompt\" and \"completion\"");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_messages (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", s_train);
    fed_report_t *report = s_export (
        &env,
        "{\"input\": \"in.csv\", \"style\": \"messages\", \"system\": \"You label \\\"text\\\"."
        "\\n\", \"user\": {\"template\": \"Text: {text}\"}, \"assistant\": \"label\"}");
    dt_expect_completed (report);
    dt_expect_file (
        &env, "data.jsonl",
        "{\"messages\":[{\"role\":\"system\",\"content\":\"You label \\\"text\\\".\\n\"},"
        "{\"role\":\"user\",\"content\":\"Text: hi \\\"there\\\"\\nnext\"},"
        "{\"role\":\"assistant\",\"content\":\"pos\"}]}\n"
        "{\"messages\":[{\"role\":\"system\",\"content\":\"You label \\\"text\\\".\\n\"},"
        "{\"role\":\"user\",\"content\":\"Text: \"},"
        "{\"role\":\"assistant\",\"content\":\"neg\"}]}\n"
        "{\"messages\":[{\"role\":\"system\",\"content\":\"You label \\\"text\\\".\\n\"},"
        "{\"role\":\"user\",\"content\":\"Text: tab\\there \\\\ back\"},"
        "{\"role\":\"assistant\",\"content\":\"pos\"}]}\n");
    fed_report_destroy (&report);
    //  No system message; drop_empty on the assistant.
    report = s_export (&env,
                       "{\"input\": \"in.csv\", \"style\": \"messages\", \"user\": "
                       "\"text\", \"assistant\": {\"column\": \"ok\"}, \"drop_empty\": "
                       "true}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.jsonl",
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"hi \\\"there\\\"\\nnext\"},"
                    "{\"role\":\"assistant\",\"content\":\"True\"}]}\n"
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"\"},"
                    "{\"role\":\"assistant\",\"content\":\"false\"}]}\n");
    char *json = dt_output_json (report);
    dt_expect_in (json, "\"dropped\":{\"data\":1}");
    free (json);
    fed_report_destroy (&report);
    report =
        s_export (&env, "{\"input\": \"in.csv\", \"style\": \"messages\", \"user\": \"text\"}");
    dt_expect_failed (report, "bad_params", "needs params \"user\" and \"assistant\"");
    fed_report_destroy (&report);
    report = s_export (&env,
                       "{\"input\": \"in.csv\", \"style\": \"messages\", \"format\": \"csv\", "
                       "\"user\": \"text\", \"assistant\": \"label\"}");
    dt_expect_failed (report, "bad_params", "style messages is JSONL only");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_csv (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", s_train);
    fed_report_t *report = s_export (&env, "{\"input\": \"in.csv\", \"format\": \"csv\"}");
    dt_expect_completed (report);
    //  Records in CSV are the table as it was read. A field that ends with a
    //  space is quoted.
    dt_expect_file (&env, "data.csv", s_train);
    char *json = dt_output_json (report);
    dt_expect_in (json, "\"schema\":[{\"name\":\"id\",\"type\":\"int\"},");
    free (json);
    fed_report_destroy (&report);
    report = s_export (&env,
                       "{\"input\": \"in.csv\", \"format\": \"csv\", \"style\": "
                       "\"prompt_completion\", \"prompt\": {\"template\": \"Q: {text}\"}, "
                       "\"completion\": \"label\"}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv",
                    "prompt,completion\n"
                    "\"Q: hi \"\"there\"\"\nnext\",pos\n"
                    "\"Q: \",neg\n"
                    "Q: tab\there \\ back,pos\n");
    fed_report_destroy (&report);
    report = s_export (&env, "{\"input\": \"in.csv\", \"format\": \"tsv\"}");
    dt_expect_failed (report, "bad_params", "\"format\" must be jsonl or csv");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

//  The value of "key":"..." in text (the first one), into value.
static void
s_json_value (const char *text, const char *key, char *value, size_t size)
{
    char needle [64];
    snprintf (needle, sizeof needle, "\"%s\": \"", key);
    const char *at = strstr (text, needle);
    assert_non_null (at);
    at += strlen (needle);
    const char *end = strchr (at, '"');
    assert_non_null (end);
    snprintf (value, size, "%.*s", (int) (end - at), at);
}

static void
test_manifest (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "train.csv", s_train);
    dt_write (&env, "test.csv", s_test);
    fed_report_t *report = s_export (
        &env,
        "{\"splits\": {\"train\": \"train.csv\", \"test\": \"test.csv\"}, \"name\": "
        "\"reviews-v1\", \"lineage\": {\"ingest\": {\"params\": {\"input\": \"raw.csv\"}, "
        "\"data\": {\"sha256\": \"ab\"}}, \"split\": {\"params\": {\"seed\": 7}}}}");
    dt_expect_completed (report);
    char *manifest = dt_read (&env, "manifest.json");
    assert_non_null (manifest);
    dt_expect_in (manifest, "{\n  \"name\": \"reviews-v1\",\n  \"created_at\": \"");
    char created [64];
    s_json_value (manifest, "created_at", created, sizeof created);
    assert_int_equal (strlen (created), 20); //  2025-01-31T12:00:00Z
    assert_true (created [4] == '-' && created [7] == '-' && created [10] == 'T'
                 && created [13] == ':' && created [16] == ':' && created [19] == 'Z');
    dt_expect_in (manifest,
                  "\"format\": \"jsonl\",\n  \"style\": \"records\",\n  \"schema\": [\n"
                  "    {\n      \"name\": \"id\",\n      \"type\": \"int\"\n    },\n");
    dt_expect_in (manifest, "\"name\": \"score\",\n      \"type\": \"float\"");
    dt_expect_in (manifest, "\"total_rows\": 4,\n");
    //  Each split's checksum and size are its file's own.
    const char *names [] = {"train", "test"};
    const int rows [] = {3, 1};
    for (int i = 0; i < 2; i++) {
        char path [600], hex [65], entry [1024];
        snprintf (path, sizeof path, "%s/%s.jsonl", env.workspace, names [i]);
        assert_int_equal (fed_data_sha256_file (path, hex), 0);
        struct stat st;
        assert_int_equal (stat (path, &st), 0);
        snprintf (entry, sizeof entry,
                  "\"%s\": {\n      \"path\": \"%s\",\n      \"rows\": %d,\n      \"bytes\": %lld,"
                  "\n      \"sha256\": \"%s\"\n    }",
                  names [i], path, rows [i], (long long) st.st_size, hex);
        dt_expect_in (manifest, entry);
    }
    //  The lineage as given, then the params.
    dt_expect_in (manifest,
                  "\"steps\": {\n    \"ingest\": {\n      \"params\": {\n        "
                  "\"input\": \"raw.csv\"\n      },\n      \"data\": {\n        "
                  "\"sha256\": \"ab\"\n      }\n    },\n    \"split\": {\n      "
                  "\"params\": {\n        \"seed\": 7\n      }\n    }\n  },\n"
                  "  \"params\": {\n    \"splits\": {");
    //  The output's manifest entry is the file's own too.
    char path [600], hex [65];
    snprintf (path, sizeof path, "%s/manifest.json", env.workspace);
    assert_int_equal (fed_data_sha256_file (path, hex), 0);
    char *json = dt_output_json (report);
    char entry [800];
    snprintf (entry, sizeof entry, "\"manifest\":{\"path\":\"%s\",\"bytes\":%zu,\"sha256\":\"%s\"}",
              path, strlen (manifest), hex);
    dt_expect_in (json, entry);
    free (json);
    free (manifest);
    fed_report_destroy (&report);
    //  Without lineage, steps is an empty list.
    report = s_export (&env, "{\"input\": \"test.csv\"}");
    dt_expect_completed (report);
    manifest = dt_read (&env, "manifest.json");
    dt_expect_in (manifest, "\"name\": \"0123456789abcdef\",");
    dt_expect_in (manifest, "\"steps\": [],");
    free (manifest);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_rejects_and_huge_field (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    //  Invalid UTF-8 in a row: refused, the rest exported.
    dt_write (&env, "in.csv", "id,text\n1,ok\n2,caf\xe9\n3,\xc3\xa9t\xc3\xa9\n4,\xed\xa0\x80\n");
    fed_report_t *report = s_export (&env, "{\"input\": \"in.csv\"}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.jsonl",
                    "{\"id\":1,\"text\":\"ok\"}\n{\"id\":3,\"text\":\"\xc3\xa9t\xc3\xa9\"}\n");
    dt_expect_file (&env, "data.rejects.csv",
                    "line,offset,reason,raw\n"
                    "3,13,line 3 (byte 13): invalid UTF-8 at byte 18: truncated "
                    "sequence,\"2,caf\xef\xbf\xbd\"\n"
                    "5,28,line 5 (byte 28): invalid UTF-8 at byte 30,"
                    "\"4,\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"\n");
    fed_report_destroy (&report);
    report = s_export (&env, "{\"input\": \"in.csv\", \"max_rejects\": 1}");
    dt_expect_failed (report, "too_many_rejects", "max_rejects");
    fed_report_destroy (&report);

    //  A field of 900,000 bytes with quotes, newlines and control bytes
    //  comes through escaped; one over the 1 MiB field limit is refused.
    size_t big = 900000;
    char *csv = (char *) malloc (big * 2 + 1200000);
    char *expected = (char *) malloc (big * 6 + 4096);
    size_t n = (size_t) sprintf (csv, "id,text\n1,\"");
    size_t e = (size_t) sprintf (expected, "{\"id\":1,\"text\":\"");
    for (size_t i = 0; i < big; i++) {
        char c = "ab\"\n\x01 " [i % 6];
        if (c == '"') {
            csv [n++] = '"';
            csv [n++] = '"';
            e += (size_t) sprintf (expected + e, "\\\"");
        } else {
            csv [n++] = c;
            if (c == '\n')
                e += (size_t) sprintf (expected + e, "\\n");
            else if (c == 1)
                e += (size_t) sprintf (expected + e, "\\u0001");
            else
                expected [e++] = c;
        }
    }
    n += (size_t) sprintf (csv + n, "\"\n2,");
    memset (csv + n, 'z', 1100000);
    n += 1100000;
    n += (size_t) sprintf (csv + n, "\n3,end\n");
    sprintf (expected + e, "\"}\n{\"id\":3,\"text\":\"end\"}\n");
    dt_write_n (&env, "big.csv", csv, n);
    report = s_export (&env, "{\"input\": \"big.csv\"}");
    dt_expect_completed (report);
    char *data = dt_read (&env, "data.jsonl");
    assert_non_null (data);
    assert_int_equal (strlen (data), strlen (expected));
    assert_true (strcmp (data, expected) == 0);
    char *rejects = dt_read (&env, "data.rejects.csv");
    dt_expect_in (rejects,
                  "\n150003,1050013,line 150003 (byte 1050013): field over the size limit");
    char *json = dt_output_json (report);
    dt_expect_in (json, "\"rows\":{\"data\":2}");
    dt_expect_in (json, "\"rejects\":{\"data\":{\"path\":");
    free (json);
    free (rejects);
    free (data);
    free (csv);
    free (expected);
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
    dt_write (&env, "header.csv", "id,text\n");
    fed_report_t *report = s_export (&env,
                                     "{\"splits\": {\"train\": \"empty.csv\", \"test\": "
                                     "\"header.csv\"}}");
    dt_expect_completed (report);
    dt_expect_file (&env, "train.jsonl", "");
    dt_expect_file (&env, "test.jsonl", "");
    char *manifest = dt_read (&env, "manifest.json");
    dt_expect_in (manifest, "\"total_rows\": 0,");
    dt_expect_in (manifest,
                  "\"schema\": [\n    {\n      \"name\": \"id\",\n      \"type\": "
                  "\"empty\"\n    },");
    free (manifest);
    char *json = dt_output_json (report);
    dt_expect_in (json, "\"rows\":{\"train\":0,\"test\":0}");
    free (json);
    fed_report_destroy (&report);
    //  An empty split before one with rows: each file from its own input.
    dt_write (&env, "rows.csv", "id,text\n1,x\n");
    report = s_export (&env,
                       "{\"splits\": {\"train\": \"empty.csv\", \"test\": "
                       "\"rows.csv\"}}");
    dt_expect_completed (report);
    dt_expect_file (&env, "train.jsonl", "");
    dt_expect_file (&env, "test.jsonl", "{\"id\":1,\"text\":\"x\"}\n");
    fed_report_destroy (&report);
    //  Nothing but an empty input: an empty schema; prompt_completion too.
    report = s_export (&env,
                       "{\"input\": \"empty.csv\", \"style\": \"prompt_completion\", "
                       "\"prompt\": \"text\", \"completion\": \"label\"}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.jsonl", "");
    manifest = dt_read (&env, "manifest.json");
    dt_expect_in (manifest, "\"total_rows\": 0,");
    free (manifest);
    fed_report_destroy (&report);
    report = s_export (&env, "{\"input\": \"empty.csv\"}");
    dt_expect_completed (report);
    manifest = dt_read (&env, "manifest.json");
    dt_expect_in (manifest, "\"schema\": [],");
    free (manifest);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_bad_params (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "a.csv", "id,text\n1,x\n");
    dt_write (&env, "b.csv", "id,body\n1,x\n");
    struct {
        const char *params;
        const char *code;
        const char *message;
    } cases [] = {
        {"{}", "bad_params", "give param \"splits\""},
        {"{\"input\": \"a.csv\", \"stile\": \"records\"}", "bad_params",
         "unknown param \"stile\"; did you mean \"style\"?"},
        {"{\"input\": \"a.csv\", \"zzzzzz\": 1}", "bad_params",
         "unknown param \"zzzzzz\"; data.export takes splits, input, format"},
        {"{\"input\": \"a.csv\", \"splits\": {\"a\": \"a.csv\"}}", "bad_params",
         "give param \"splits\""},
        {"{\"splits\": {}}", "bad_params", "must map 1 to 16 split names"},
        {"{\"splits\": [\"a.csv\"]}", "bad_params", "must map 1 to 16 split names"},
        {"{\"splits\": {\"a/b\": \"a.csv\"}}", "bad_params", "split 1 needs a name"},
        {"{\"splits\": {\"a\": 3}}", "bad_params", "'a' must be a path or a map"},
        {"{\"splits\": {\"a\": {\"rows\": 3}}}", "bad_params", "'a' must be a path or a map"},
        {"{\"splits\": {\"a\": \"missing.csv\"}}", "not_found", "missing.csv"},
        {"{\"splits\": {\"a\": \"/etc/hostname\"}}", "forbidden_path", "agents.data_roots"},
        {"{\"splits\": {\"a\": \"a.csv\", \"b\": \"b.csv\"}}", "bad_input",
         "split 'b' has other columns"},
        {"{\"input\": \"a.csv\", \"style\": \"chat\"}", "bad_params",
         "\"style\" must be records, prompt_completion or messages"},
        {"{\"input\": \"a.csv\", \"drop_empty\": true}", "bad_params",
         "\"drop_empty\" needs style prompt_completion or messages"},
        {"{\"input\": \"a.csv\", \"drop_empty\": 1}", "bad_params", "\"drop_empty\""},
        {"{\"input\": \"a.csv\", \"name\": 1}", "bad_params", "\"name\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        fed_report_t *report = s_export (&env, cases [i].params);
        dt_expect_failed (report, cases [i].code, cases [i].message);
        fed_report_destroy (&report);
    }
    dt_teardown (&env);
}

//  The text of the JSON object after "key": in json (a fresh copy).
static char *
s_object_after (const char *json, const char *key)
{
    const char *at = strstr (json, key);
    assert_non_null (at);
    at += strlen (key);
    int depth = 0;
    const char *end = at;
    do {
        if (*end == '{')
            depth++;
        else if (*end == '}')
            depth--;
        end++;
    } while (depth > 0 && *end);
    return strndup (at, (size_t) (end - at));
}

//  filter keeps the rows whose column is a number in range; its bounds may
//  be texts (a HITL step's value); empty and non-numeric values are out.
static void
test_filter (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", s_train);
    fed_report_t *report = s_export (&env,
                                     "{\"input\": \"in.csv\", \"filter\": {\"column\": "
                                     "\"score\", \"min\": \"1\"}}");
    dt_expect_completed (report);
    dt_expect_file (
        &env, "data.jsonl",
        "{\"id\":1,\"text\":\"hi \\\"there\\\"\\nnext\",\"label\":\"pos\",\"score\":1.5,"
        "\"ok\":true}\n");
    char *json = dt_output_json (report);
    dt_expect_in (json, "\"rows\":{\"data\":1},\"filtered\":{\"data\":2},");
    free (json);
    fed_report_destroy (&report);
    report = s_export (&env,
                       "{\"input\": \"in.csv\", \"filter\": {\"column\": \"id\", \"min\": 2, "
                       "\"max\": 2.5}}");
    dt_expect_completed (report);
    json = dt_output_json (report);
    dt_expect_in (json, "\"rows\":{\"data\":1},\"filtered\":{\"data\":2},");
    free (json);
    fed_report_destroy (&report);
    struct {
        const char *filter;
        const char *message;
    } cases [] = {
        {"{\"column\": \"scor\", \"min\": 1}",
         "no column 'scor' in the input; did you mean 'score'?"},
        {"{\"column\": \"score\"}", "needs column and at least one of min and max"},
        {"{\"column\": \"score\", \"min\": \"high\"}", "min must be a number"},
        {"{\"column\": \"score\", \"min\": 2, \"max\": 1}", "min 2 is over max 1"},
        {"{\"column\": \"score\", \"above\": 1}", "unknown key 'above'"},
        {"[1]", "param \"filter\" must be a map"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char params [256];
        snprintf (params, sizeof params, "{\"input\": \"in.csv\", \"filter\": %s}",
                  cases [i].filter);
        report = s_export (&env, params);
        dt_expect_failed (report, "bad_params", cases [i].message);
        fed_report_destroy (&report);
    }
    dt_teardown (&env);
}

static void
test_after_split (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    char *text = (char *) calloc (1, 64 * 100);
    size_t at = (size_t) sprintf (text, "id,review,label\n");
    for (int i = 0; i < 100; i++)
        at += (size_t) sprintf (text + at, "%d,review %d,%s\n", i, i, i % 4 ? "pos" : "neg");
    dt_write (&env, "in.csv", text);
    fed_report_t *report = dt_run (&env, "data.split", "{\"input\": \"in.csv\"}");
    dt_expect_completed (report);
    char *json = dt_output_json (report);
    char *splits = s_object_after (json, "\"splits\":");
    char params [4096];
    snprintf (params, sizeof params,
              "{\"splits\": %s, \"style\": \"prompt_completion\", \"prompt\": \"review\", "
              "\"completion\": \"label\", \"lineage\": {\"split\": %s}}",
              splits, json);
    free (splits);
    free (json);
    fed_report_destroy (&report);
    dt_next_step (&env);
    report = s_export (&env, params);
    dt_expect_completed (report);
    json = dt_output_json (report);
    dt_expect_in (json, "\"files\":{\"train\":{");
    dt_expect_in (json, "\"validation\":{");
    char *manifest = dt_read (&env, "manifest.json");
    dt_expect_in (manifest, "\"total_rows\": 100,");
    dt_expect_in (manifest, "\"steps\": {\n    \"split\": {\n      \"splits\": {");
    free (manifest);
    free (json);
    free (text);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_records_typed),
        cmocka_unit_test (test_records_from_jsonl),
        cmocka_unit_test (test_prompt_completion),
        cmocka_unit_test (test_messages),
        cmocka_unit_test (test_csv),
        cmocka_unit_test (test_manifest),
        cmocka_unit_test (test_rejects_and_huge_field),
        cmocka_unit_test (test_empty_input),
        cmocka_unit_test (test_bad_params),
        cmocka_unit_test (test_after_split),
        cmocka_unit_test (test_filter),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
