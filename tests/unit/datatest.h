/*  tests/unit/datatest.h: runs one data.* agent for a test, for real, on a
    worker pool, in a fresh workspace under a fresh run directory, and
    reads back its files. Header-only; include once per test program.

        dt_env_t env;
        dt_setup (&env);                               //  /tmp/fed-dt-XXXXXX/run/step
        dt_write (&env, "in.csv", "a,b\n1,2\n");        //  into the run directory
        fed_report_t *r = dt_run (&env, "data.clean", "{\"input\": \"in.csv\"}");
        assert_int_equal (fed_report_kind (r), FED_REPORT_COMPLETED);
        char *out = dt_read (&env, "data.csv");        //  from the step's workspace
        char *json = dt_output_json (r);                //  the output map as JSON
        ...
        dt_teardown (&env);                            //  removes the directories

    Params are JSON (converted with fed_json_to_msgpack). The config is
    env.config (memory budget and data roots), which a test may change
    before dt_run. The dt_expect_* checks need cmocka.h included before
    this header.
*/
#ifndef FED_DATATEST_H_INCLUDED
#define FED_DATATEST_H_INCLUDED

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"
#include "json.h"
#include "pool.h"

typedef struct {
    char root [64];       //  /tmp/fed-dt-XXXXXX
    char run [96];        //  root/run: the run directory (inputs go here)
    char workspace [128]; //  root/run/step: the step's workspace
    fed_data_config_t config;
    const char *roots [4];
    int step;             //  dt_next_step: step2, step3, ...
    int progress_reports; //  progress reports the last dt_run saw
    char progress [256];  //  the last one's text
} dt_env_t;

static inline void
dt_setup (dt_env_t *env)
{
    memset (env, 0, sizeof *env);
    snprintf (env->root, sizeof env->root, "/tmp/fed-dt-XXXXXX");
    if (!mkdtemp (env->root))
        abort ();
    snprintf (env->run, sizeof env->run, "%s/run", env->root);
    mkdir (env->run, 0755);
    snprintf (env->workspace, sizeof env->workspace, "%s/step", env->run);
    mkdir (env->workspace, 0755);
    env->config.memory_budget = 64u << 20;
    env->config.roots = env->roots;
}

static inline int
dt_rm (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    return remove (path);
}

static inline void
dt_teardown (dt_env_t *env)
{
    nftw (env->root, dt_rm, 16, FTW_DEPTH | FTW_PHYS);
}

//  Writes size bytes (strlen when size is 0) to name under the run directory.
static inline void
dt_write_n (dt_env_t *env, const char *name, const void *data, size_t size)
{
    char path [512];
    snprintf (path, sizeof path, "%s/%s", env->run, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (data, 1, size, file) != size)
        abort ();
    fclose (file);
}

static inline void
dt_write (dt_env_t *env, const char *name, const char *text)
{
    dt_write_n (env, name, text, strlen (text));
}

//  Starts a new workspace for the next run (step, step2, step3, ...).
static inline void
dt_next_step (dt_env_t *env)
{
    env->step++;
    snprintf (env->workspace, sizeof env->workspace, "%s/step%d", env->run, env->step + 1);
    mkdir (env->workspace, 0755);
}

//  Runs agent from agents with params (JSON text) in env's workspace;
//  returns the final report (caller owns it). timeout 60 s.
static inline fed_report_t *
dt_run_in (dt_env_t *env, const fed_agentset_t *agents, const char *agent, const char *params_json)
{
    fed_err_t err = {0};
    fed_pool_options_t options;
    fed_pool_options_default (&options);
    options.size = 1;
    fed_pool_t *pool = fed_pool_new (agents, &options, &err);
    uint8_t *params = NULL;
    size_t size = 0;
    if (fed_json_to_msgpack (params_json, strlen (params_json), NULL, &params, &size, &err)) {
        fprintf (stderr, "dt_run: params: %s\n", err.text);
        abort ();
    }
    fed_task_spec_t spec = {agent,  NULL, params,         size, "0123456789abcdef",
                            "step", 1,    env->workspace, 60000};
    env->progress_reports = 0;
    env->progress [0] = '\0';
    uint64_t id = fed_pool_submit (pool, &spec);
    (void) id;
    fed_report_t *report = NULL;
    while (true) {
        report = fed_pool_recv (pool);
        if (!report || fed_report_is_final (report))
            break;
        env->progress_reports++;
        snprintf (env->progress, sizeof env->progress, "%s", fed_report_text (report));
        fed_report_destroy (&report);
    }
    free (params);
    fed_pool_destroy (&pool);
    if (report && fed_report_kind (report) == FED_REPORT_FAILED)
        fprintf (stderr, "dt_run %s: failed %s: %s\n", agent, fed_report_code (report),
                 fed_report_message (report));
    return report;
}

//  dt_run_in with the six data.* agents, env->config as their config.
static inline fed_report_t *
dt_run (dt_env_t *env, const char *agent, const char *params_json)
{
    fed_err_t err = {0};
    fed_agentset_t *agents = fed_agentset_new ();
    if (fed_data_register (agents, &env->config, &err))
        abort ();
    fed_report_t *report = dt_run_in (env, agents, agent, params_json);
    fed_agentset_destroy (&agents);
    return report;
}

//  The report's output map as compact JSON (caller frees).
static inline char *
dt_output_json (const fed_report_t *report)
{
    const uint8_t *data;
    size_t size;
    fed_report_output (report, &data, &size);
    return fed_json_from_msgpack (data, size, false);
}

//  Reads name from the workspace (NULL if absent); caller frees.
static inline char *
dt_read (dt_env_t *env, const char *name)
{
    char path [512];
    snprintf (path, sizeof path, "%s/%s", env->workspace, name);
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    fseek (file, 0, SEEK_SET);
    char *text = (char *) calloc (1, (size_t) size + 1);
    if (fread (text, 1, (size_t) size, file) != (size_t) size)
        abort ();
    fclose (file);
    return text;
}

//  --- Checks (cmocka) ---------------------------------------------------------

//  The report says completed (else fails, showing the code and message).
static inline void
dt_expect_completed (const fed_report_t *report)
{
    if (fed_report_kind (report) != FED_REPORT_COMPLETED)
        fail_msg ("expected completed, got %s: %s", fed_report_code (report),
                  fed_report_message (report));
}

//  The report says failed with code, its message holding part.
static inline void
dt_expect_failed (const fed_report_t *report, const char *code, const char *part)
{
    assert_int_equal (fed_report_kind (report), FED_REPORT_FAILED);
    assert_string_equal (fed_report_code (report), code);
    if (!strstr (fed_report_message (report), part))
        fail_msg ("message '%s' lacks '%s'", fed_report_message (report), part);
}

//  haystack holds needle.
static inline void
dt_expect_in (const char *haystack, const char *needle)
{
    if (!strstr (haystack, needle))
        fail_msg ("expected '%s' in\n%s", needle, haystack);
}

//  The report's output map, as compact JSON, holds part.
static inline void
dt_expect_output (const fed_report_t *report, const char *part)
{
    char *json = dt_output_json (report);
    if (!strstr (json, part))
        fail_msg ("output %s lacks %s", json, part);
    free (json);
}

//  name in the workspace holds exactly expected (both printed whole on a
//  difference: cmocka cuts long failure messages).
static inline void
dt_expect_file (dt_env_t *env, const char *name, const char *expected)
{
    char *got = dt_read (env, name);
    if (!got) {
        fail_msg ("%s is missing", name);
        return;
    }
    if (strcmp (got, expected)) {
        fprintf (stderr, "%s:\n--- expected\n%s--- got\n%s---\n", name, expected, got);
        fail_msg ("%s differs from what was expected", name);
    }
    free (got);
}

#endif
