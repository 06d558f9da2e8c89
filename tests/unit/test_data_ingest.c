/*  tests/unit/test_data_ingest.c: data.ingest on a real worker pool, in a
    fresh run directory (tests/unit/datatest.h). Files (CSV with quotes and
    line breaks, TSV, JSONL), globs (same header, a different one, the
    union), malformed rows quarantined with their line and raw bytes,
    declared types, thresholds, a file far over the record limit, SQLite
    queries, confinement of every path, and the param checks. The url and
    postgres sources run against real servers in
    tests/integration/test_data_ingest.sh; here only what fails before a
    connection.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datatest.h"
#include "fed_build.h"

#ifdef HAVE_SQLITE
#include <sqlite3.h>
#endif

static fed_report_t *
s_ingest (dt_env_t *env, const char *params)
{
    fed_report_t *report = dt_run (env, "data.ingest", params);
    assert_non_null (report);
    return report;
}

static void
test_csv_quotes_and_lines (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv",
              "id,name,note\r\n1,\"Smith, J\",\"said \"\"hi\"\"\"\r\n2,plain,\"two\r\nlines\"\r\n"
              "3,,\"  \"\r\n\r\n4,\xc3\xa9t\xc3\xa9,x\r\n");
    fed_report_t *report = s_ingest (&env, "{\"input\": \"in.csv\"}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv",
                    "id,name,note\n1,\"Smith, J\",\"said \"\"hi\"\"\"\n2,plain,\"two\r\nlines\"\n"
                    "3,,\"  \"\n4,\xc3\xa9t\xc3\xa9,x\n");
    dt_expect_file (&env, "rejects.csv", "line,offset,reason,raw\n");
    dt_expect_output (report, "\"rows\":4,");
    dt_expect_output (report, "\"columns\":[\"id\",\"name\",\"note\"]");
    dt_expect_output (report,
                      "\"schema\":[{\"name\":\"id\",\"type\":\"int\"},{\"name\":\"name\","
                      "\"type\":\"string\"},{\"name\":\"note\",\"type\":\"string\"}]");
    dt_expect_output (report, "\"source\":{\"kind\":\"files\",\"files\":[{\"path\":\"");
    dt_expect_output (report, "\"name\":\"in.csv\",\"rows\":4,\"rejects\":0,\"bytes\":86,");
    dt_expect_output (report, "\"params\":{\"input\":\"in.csv\"}");
    //  The source lists the input's own sha256.
    char path [600], hex [65];
    snprintf (path, sizeof path, "%s/in.csv", env.run);
    assert_int_equal (fed_data_sha256_file (path, hex), 0);
    dt_expect_output (report, hex);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_tsv_and_jsonl (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.tsv", "a\tb c\n1\tx,y\n2\t\"q\"\n");
    fed_report_t *report = s_ingest (&env, "{\"input\": \"in.tsv\"}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "a,b c\n1,\"x,y\"\n2,q\n");
    fed_report_destroy (&report);

    dt_next_step (&env);
    dt_write (&env, "in.jsonl",
              "{\"id\": 1, \"text\": \"hello, world\", \"ok\": true, \"tags\": [1, 2]}\n"
              "{\"id\": 2.5, \"text\": \"line\\nbreak\", \"ok\": null}\n\n"
              "{\"text\": \"\\u00e9\", \"id\": -3, \"ok\": false, \"tags\": {\"k\": \"v\"}}\n");
    report = s_ingest (&env, "{\"input\": \"in.jsonl\"}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv",
                    "id,text,ok,tags\n1,\"hello, world\",true,\"[1,2]\"\n2.5,\"line\nbreak\",,\n"
                    "-3,\xc3\xa9,false,\"{\"\"k\"\":\"\"v\"\"}\"\n");
    dt_expect_output (report,
                      "\"schema\":[{\"name\":\"id\",\"type\":\"float\"},{\"name\":\"text\","
                      "\"type\":\"string\"},{\"name\":\"ok\",\"type\":\"bool\"},{\"name\":"
                      "\"tags\",\"type\":\"string\"}]");
    fed_report_destroy (&report);

    //  format jsonl: the same table as JSONL, declared types as JSON kinds.
    dt_next_step (&env);
    report = s_ingest (&env,
                       "{\"input\": \"in.tsv\", \"format\": \"jsonl\", \"types\": "
                       "{\"a\": \"int\"}}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.jsonl", "{\"a\":1,\"b c\":\"x,y\"}\n{\"a\":2,\"b c\":\"q\"}\n");
    dt_expect_output (report, "\"data\":{\"path\":\"");
    dt_expect_output (report, "data.jsonl\",\"rows\":2,");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_glob (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    char dir [300];
    snprintf (dir, sizeof dir, "%s/parts", env.run);
    assert_int_equal (mkdir (dir, 0755), 0);
    dt_write (&env, "parts/b.csv", "id,name\n3,c\n4,\"d\"x\n");
    dt_write (&env, "parts/a.csv", "id,name\n1,a\n2,b\n");
    dt_write (&env, "parts/c.csv", "id,extra\n5,e\n");
    dt_write (&env, "parts/d.txt", "not a table\n");
    fed_report_t *report = s_ingest (&env, "{\"input\": \"parts/*.csv\"}");
    dt_expect_failed (report, "bad_input",
                      "parts/c.csv: its columns (id, extra) differ from parts/a.csv's (id, name); "
                      "give union: true");
    fed_report_destroy (&report);
    //  Nothing was written for the failed step but the (empty) rejects.
    assert_null (dt_read (&env, "data.csv"));

    //  Matches are read sorted; a reject names its file.
    dt_next_step (&env);
    report = s_ingest (&env, "{\"input\": \"parts/[ab].csv\"}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "id,name\n1,a\n2,b\n3,c\n");
    dt_expect_file (&env, "rejects.csv",
                    "line,offset,reason,raw\n"
                    "3,12,parts/b.csv: line 3 (byte 12): text after a closing quote at byte 17,"
                    "\"4,\"\"d\"\"x\"\n");
    dt_expect_output (report, "\"name\":\"parts/a.csv\",\"rows\":2,\"rejects\":0,");
    dt_expect_output (report, "\"name\":\"parts/b.csv\",\"rows\":1,\"rejects\":1,");
    fed_report_destroy (&report);

    //  union: every column of every file, missing ones empty.
    dt_next_step (&env);
    report = s_ingest (&env,
                       "{\"input\": \"parts/*.csv\", \"union\": true, \"types\": "
                       "{\"extra\": \"string\"}}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "id,name,extra\n1,a,\n2,b,\n3,c,\n5,,e\n");
    dt_expect_output (report, "\"columns\":[\"id\",\"name\",\"extra\"]");
    fed_report_destroy (&report);

    //  An empty glob, and a glob reaching out of the run's directory.
    report = s_ingest (&env, "{\"input\": \"parts/*.jsonl\"}");
    dt_expect_failed (report, "not_found", "no file matches param \"input\" 'parts/*.jsonl'");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"input\": \"/etc/host*\"}");
    dt_expect_failed (report, "forbidden_path", "agents.data_roots");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"input\": \"../../*/run/parts/*.csv\"}");
    dt_expect_failed (report, "forbidden_path", "outside the run's directory");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_malformed_rows (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    char big [200];
    memset (big, 'z', sizeof big - 1);
    big [sizeof big - 1] = '\0';
    char text [1024];
    snprintf (text, sizeof text,
              "k,v\n1,ok\n2,\"bad\"quote\n3,wide,row\n4,\xff\xfe\n5,%s\n6,\"still\nok\"\n7\n", big);
    dt_write (&env, "in.csv", text);
    fed_report_t *report = s_ingest (&env, "{\"input\": \"in.csv\", \"max_field\": 100}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "k,v\n1,ok\n6,\"still\nok\"\n");
    char want [2048];
    snprintf (
        want, sizeof want,
        "line,offset,reason,raw\n"
        "3,9,line 3 (byte 9): text after a closing quote at byte 16,\"2,\"\"bad\"\"quote\"\n"
        "4,22,\"line 4 (byte 22): field count differs from the header's at byte 33: 3 fields, "
        "the header has 2\",\"3,wide,row\"\n"
        "5,33,line 5 (byte 33): invalid UTF-8 at byte 35,\"4,\xef\xbf\xbd\xef\xbf\xbd\"\n"
        "6,38,line 6 (byte 38): field over the size limit at byte 140,\"5,%s\"\n"
        "9,253,\"line 9 (byte 253): field count differs from the header's at byte 255: 1 "
        "fields, the header has 2\",7\n",
        big);
    dt_expect_file (&env, "rejects.csv", want);
    dt_expect_output (report, "\"rejects\":{\"path\":\"");
    dt_expect_output (report, "rejects.csv\",\"rows\":5,");
    fed_report_destroy (&report);

    //  max_rejects: past it the step fails; the rejects so far stay.
    dt_next_step (&env);
    report = s_ingest (&env, "{\"input\": \"in.csv\", \"max_field\": 100, \"max_rejects\": 2}");
    dt_expect_failed (report, "too_many_rejects",
                      "more than 2 rows refused (param \"max_rejects\")");
    assert_null (dt_read (&env, "data.csv"));
    char *rejects = dt_read (&env, "rejects.csv");
    assert_non_null (rejects);
    assert_non_null (strstr (rejects, "\n5,33,"));
    free (rejects);
    fed_report_destroy (&report);
    report = s_ingest (&env,
                       "{\"input\": \"in.csv\", \"max_field\": 100, \"max_reject_ratio\": "
                       "0.5}");
    dt_expect_failed (report, "too_many_rejects", "5 of 7 rows refused");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_empty_and_header_only (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "empty.csv", "");
    fed_report_t *report = s_ingest (&env, "{\"input\": \"empty.csv\"}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "");
    dt_expect_output (report, "\"rows\":0,\"bytes\":0,");
    dt_expect_output (report, "\"columns\":[],\"schema\":[]");
    fed_report_destroy (&report);

    dt_next_step (&env);
    dt_write (&env, "head.csv", "a,b\n");
    report = s_ingest (&env, "{\"input\": \"head.csv\"}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "a,b\n");
    dt_expect_output (report,
                      "\"schema\":[{\"name\":\"a\",\"type\":\"empty\"},{\"name\":\"b\","
                      "\"type\":\"empty\"}]");
    fed_report_destroy (&report);

    //  A header naming a column twice is refused.
    dt_write (&env, "dup.csv", "a,b,a\n1,2,3\n");
    report = s_ingest (&env, "{\"input\": \"dup.csv\"}");
    dt_expect_failed (report, "bad_input", "column 'a' appears twice");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_declared_types (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv",
              "n,x,flag,s\n1,1.5,true,a\n2,abc,false,b\n,,,\n3.5,2,yes,c\n4,1e3,"
              "False,7\n");
    fed_report_t *report = s_ingest (&env,
                                     "{\"input\": \"in.csv\", \"types\": {\"x\": \"float\", "
                                     "\"flag\": \"bool\", \"n\": \"int\", \"s\": "
                                     "\"string\"}}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "n,x,flag,s\n1,1.5,true,a\n,,,\n4,1e3,False,7\n");
    dt_expect_file (&env, "rejects.csv",
                    "line,offset,reason,raw\n"
                    "3,24,line 3: column 'x': 'abc' is not a float,\"2,abc,false,b\"\n"
                    "5,42,line 5: column 'n': '3.5' is not an int,\"3.5,2,yes,c\"\n");
    dt_expect_output (report,
                      "\"schema\":[{\"name\":\"n\",\"type\":\"int\"},{\"name\":\"x\","
                      "\"type\":\"float\"},{\"name\":\"flag\",\"type\":\"bool\"},{\"name\":"
                      "\"s\",\"type\":\"string\"}]");
    fed_report_destroy (&report);

    //  Bad declarations.
    report = s_ingest (&env, "{\"input\": \"in.csv\", \"types\": {\"flga\": \"bool\"}}");
    dt_expect_failed (report, "bad_params",
                      "param \"types\": no column 'flga' in the input; did "
                      "you mean 'flag'?");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"input\": \"in.csv\", \"types\": {\"n\": \"integer\"}}");
    dt_expect_failed (report, "bad_params", "column 'n' must be int, float, bool or string");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"input\": \"in.csv\", \"types\": [\"n\"]}");
    dt_expect_failed (report, "bad_params", "param \"types\" must be a map");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

//  A 4 MiB file through a 4 KiB record limit and a 64 KiB memory budget:
//  the reader streams it a row at a time.
static void
test_large_file_streams (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    env.config.memory_budget = 64 << 10;
    size_t rows = 60000;
    char path [600];
    snprintf (path, sizeof path, "%s/big.csv", env.run);
    FILE *file = fopen (path, "wb");
    assert_non_null (file);
    fputs ("id,text,value\n", file);
    for (size_t i = 0; i < rows; i++)
        fprintf (file, "%zu,\"row %zu, with some text to make it longer than a line\",%zu.5\n", i,
                 i, i * 7);
    long size = ftell (file);
    fclose (file);
    assert_true (size > 4 << 20);
    fed_report_t *report = s_ingest (&env, "{\"input\": \"big.csv\", \"max_record\": 4096}");
    dt_expect_completed (report);
    dt_expect_output (report, "\"rows\":60000,");
    dt_expect_output (report, "{\"name\":\"value\",\"type\":\"float\"}");
    //  The copy is the input, byte for byte (its quoting is the writer's too).
    char *in = NULL, *out = dt_read (&env, "data.csv");
    file = fopen (path, "rb");
    in = (char *) calloc (1, (size_t) size + 1);
    assert_int_equal (fread (in, 1, (size_t) size, file), (size_t) size);
    fclose (file);
    assert_true (strcmp (in, out) == 0);
    assert_true (env.progress_reports > 0);
    free (in);
    free (out);
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_params (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", "a\n1\n");
    fed_report_t *report = s_ingest (&env, "{}");
    dt_expect_failed (report, "bad_params", "no source: give one of params \"input\"");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"input\": \"in.csv\", \"url\": \"http://x/a.csv\"}");
    dt_expect_failed (report, "bad_params", "give one source, not both \"input\" and \"url\"");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"input\": \"in.csv\", \"max_reject\": 3}");
    dt_expect_failed (report, "bad_params",
                      "unknown param \"max_reject\"; did you mean \"max_rejects\"?");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"input\": \"in.csv\", \"max_bytes\": 10}");
    dt_expect_failed (report, "bad_params",
                      "param \"max_bytes\" does not apply to source \"input\"");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"input\": \"in.csv\", \"format\": \"tsv\"}");
    dt_expect_failed (report, "bad_params", "param \"format\" must be \"csv\" or \"jsonl\"");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"input\": \"in.csv\", \"max_field\": \"lots\"}");
    dt_expect_failed (report, "bad_params", "param \"max_field\" must be a size");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"input\": \"in.csv\", \"union\": 1}");
    dt_expect_failed (report, "bad_params", "\"union\"");
    fed_report_destroy (&report);
    //  Paths outside the run's directory.
    report = s_ingest (&env, "{\"input\": \"../../../../../../etc/hostname\"}");
    dt_expect_failed (report, "forbidden_path", "agents.data_roots");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"input\": \"missing.csv\"}");
    dt_expect_failed (report, "not_found", "missing.csv");
    fed_report_destroy (&report);
    //  The url source checks its URL before any connection.
    report = s_ingest (&env, "{\"url\": \"ftp://example.org/a.csv\"}");
#ifdef HAVE_CURL
    dt_expect_failed (report, "bad_params", "param \"url\" must start with http:// or https://");
#else
    dt_expect_failed (report, "unsupported", "libcurl4-openssl-dev");
#endif
    fed_report_destroy (&report);
    report = s_ingest (&env,
                       "{\"postgres\": {\"conninfo\": \"host=/tmp password=x\", \"query\": "
                       "\"SELECT 1\"}}");
#ifdef HAVE_LIBPQ
    dt_expect_failed (report, "bad_params", "conninfo must not hold a password");
#else
    dt_expect_failed (report, "unsupported", "libpq-dev");
#endif
    fed_report_destroy (&report);
#ifdef HAVE_LIBPQ
    report = s_ingest (&env,
                       "{\"postgres\": {\"conninfo\": \"host=/tmp nonsense=1\", \"query\": "
                       "\"SELECT 1\"}}");
    dt_expect_failed (report, "bad_params", "conninfo: invalid connection option \"nonsense\"");
    fed_report_destroy (&report);
    report =
        s_ingest (&env, "{\"postgres\": {\"conninfo\": \"host=/nonexistent-dir port=62999\"}}");
    dt_expect_failed (report, "bad_params", "param \"postgres\": query is missing");
    fed_report_destroy (&report);
    report = s_ingest (&env,
                       "{\"postgres\": {\"conninfo\": \"host=/nonexistent-dir port=62999\", "
                       "\"query\": \"SELECT 1\"}}");
    dt_expect_failed (report, "connect_error", "/nonexistent-dir/.s.PGSQL.62999");
    fed_report_destroy (&report);
#endif
    dt_teardown (&env);
}

#ifdef HAVE_SQLITE
//  Creates name in the run directory and runs sql in it.
static void
s_sqlite_make (dt_env_t *env, const char *name, const char *sql)
{
    char path [600];
    snprintf (path, sizeof path, "%s/%s", env->run, name);
    sqlite3 *db = NULL;
    assert_int_equal (sqlite3_open (path, &db), SQLITE_OK);
    char *why = NULL;
    if (sqlite3_exec (db, sql, NULL, NULL, &why) != SQLITE_OK)
        fail_msg ("sqlite: %s", why);
    sqlite3_close (db);
}

static void
test_sqlite (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    s_sqlite_make (&env, "db.sqlite",
                   "CREATE TABLE t (id INTEGER, name TEXT, score REAL, data BLOB);"
                   "INSERT INTO t VALUES (1, 'alice', 1.5, NULL);"
                   "INSERT INTO t VALUES (2, NULL, NULL, NULL);"
                   "INSERT INTO t VALUES (3, 'b, \"c\"', -2.0, x'00ff');"
                   "INSERT INTO t VALUES (4, 'multi\nline', 1e300, NULL);"
                   "INSERT INTO t VALUES (5, CAST(x'ff' AS TEXT), 0, NULL);");
    fed_report_t *report =
        s_ingest (&env,
                  "{\"sqlite\": {\"database\": \"db.sqlite\", \"query\": \"SELECT id, name, "
                  "score FROM t ORDER BY id\"}}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv",
                    "id,name,score\n1,alice,1.5\n2,,\n3,\"b, \"\"c\"\"\",-2.0\n"
                    "4,\"multi\nline\",1.0e+300\n");
    dt_expect_file (&env, "rejects.csv",
                    "line,offset,reason,raw\n"
                    "5,0,row 5: column 'name': invalid UTF-8 or a NUL byte,"
                    "\"5,\xef\xbf\xbd,0.0\"\n");
    dt_expect_output (report,
                      "\"schema\":[{\"name\":\"id\",\"type\":\"int\"},{\"name\":\"name\","
                      "\"type\":\"string\"},{\"name\":\"score\",\"type\":\"float\"}]");
    dt_expect_output (report,
                      "\"source\":{\"kind\":\"sqlite\",\"query\":\"SELECT id, name, score "
                      "FROM t ORDER BY id\",\"rows\":5,\"database\":\"");
    fed_report_destroy (&report);

    //  Blobs: refused with their row, or written as hex.
    dt_next_step (&env);
    report = s_ingest (&env,
                       "{\"sqlite\": {\"database\": \"db.sqlite\", \"query\": \"SELECT id, "
                       "data FROM t WHERE id <= 3\"}}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "id,data\n1,\n2,\n");
    dt_expect_file (
        &env, "rejects.csv",
        "line,offset,reason,raw\n3,0,\"row 3: column 'data' holds a blob of 2 bytes; give "
        "param \"\"blobs\"\": \"\"hex\"\" or convert it in the query (hex(), CAST)\","
        "\"3,\"\n");
    fed_report_destroy (&report);
    dt_next_step (&env);
    report = s_ingest (&env,
                       "{\"sqlite\": {\"database\": \"db.sqlite\", \"query\": \"SELECT id, "
                       "data FROM t WHERE id <= 3\"}, \"blobs\": \"hex\", \"format\": "
                       "\"jsonl\"}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.jsonl",
                    "{\"id\":1,\"data\":null}\n{\"id\":2,\"data\":null}\n"
                    "{\"id\":3,\"data\":\"00ff\"}\n");
    fed_report_destroy (&report);

    //  An empty result still has its columns.
    dt_next_step (&env);
    report = s_ingest (&env,
                       "{\"sqlite\": {\"database\": \"db.sqlite\", \"query\": \"SELECT id "
                       "AS key, name FROM t WHERE id > 99\"}}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "key,name\n");
    fed_report_destroy (&report);

    //  Bad queries get sqlite's own message; writes and ATTACH are refused.
    report = s_ingest (&env,
                       "{\"sqlite\": {\"database\": \"db.sqlite\", \"query\": \"SELECT nope "
                       "FROM t\"}}");
    dt_expect_failed (report, "bad_query", "param \"sqlite\": query: no such column: nope");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"sqlite\": {\"database\": \"db.sqlite\", \"query\": \"SELEC 1\"}}");
    dt_expect_failed (report, "bad_query", "near \"SELEC\": syntax error");
    fed_report_destroy (&report);
    report = s_ingest (&env,
                       "{\"sqlite\": {\"database\": \"db.sqlite\", \"query\": \"SELECT 1; "
                       "SELECT 2\"}}");
    dt_expect_failed (report, "bad_params", "more than one statement");
    fed_report_destroy (&report);
    report = s_ingest (&env,
                       "{\"sqlite\": {\"database\": \"db.sqlite\", \"query\": \"DELETE FROM "
                       "t\"}}");
    dt_expect_failed (report, "bad_params", "must only read");
    fed_report_destroy (&report);
    report = s_ingest (&env,
                       "{\"sqlite\": {\"database\": \"db.sqlite\", \"query\": \"ATTACH "
                       "'/tmp/x.db' AS x\"}}");
    if (fed_report_kind (report) != FED_REPORT_FAILED)
        fail_msg ("ATTACH was not refused");
    fed_report_destroy (&report);
    //  The database is an input path: confined, and must exist.
    report = s_ingest (&env,
                       "{\"sqlite\": {\"database\": \"../../../../../etc/hostname\", "
                       "\"query\": \"SELECT 1\"}}");
    dt_expect_failed (report, "forbidden_path", "agents.data_roots");
    fed_report_destroy (&report);
    report = s_ingest (&env,
                       "{\"sqlite\": {\"database\": \"none.sqlite\", \"query\": \"SELECT "
                       "1\"}}");
    dt_expect_failed (report, "not_found", "none.sqlite");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"sqlite\": {\"database\": \"db.sqlite\", \"sql\": \"SELECT 1\"}}");
    dt_expect_failed (report, "bad_params", "param \"sqlite\": unknown key 'sql'");
    fed_report_destroy (&report);
    report = s_ingest (&env, "{\"sqlite\": \"db.sqlite\"}");
    dt_expect_failed (report, "bad_params", "param \"sqlite\" must be a map {database, query}");
    fed_report_destroy (&report);
    //  A file that is not a database.
    dt_write (&env, "text.sqlite", "id,name\n1,a\n");
    report = s_ingest (&env,
                       "{\"sqlite\": {\"database\": \"text.sqlite\", \"query\": \"SELECT "
                       "1\"}}");
    dt_expect_failed (report, "bad_input", "text.sqlite: file is not a database");
    fed_report_destroy (&report);
    //  The database was not changed by any of it.
    dt_next_step (&env);
    report = s_ingest (&env,
                       "{\"sqlite\": {\"database\": \"db.sqlite\", \"query\": \"SELECT "
                       "count(*) AS n FROM t\"}}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "n\n5\n");
    fed_report_destroy (&report);
    dt_teardown (&env);
}
#endif

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_csv_quotes_and_lines),
        cmocka_unit_test (test_tsv_and_jsonl),
        cmocka_unit_test (test_glob),
        cmocka_unit_test (test_malformed_rows),
        cmocka_unit_test (test_empty_and_header_only),
        cmocka_unit_test (test_declared_types),
        cmocka_unit_test (test_large_file_streams),
        cmocka_unit_test (test_params),
#ifdef HAVE_SQLITE
        cmocka_unit_test (test_sqlite),
#endif
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
