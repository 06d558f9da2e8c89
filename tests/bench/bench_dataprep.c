/*  tests/bench/bench_dataprep.c: data preparation with the data.* agents
    beside pandas doing the same work, measured in the same run
    (doc/benchmarks.md).

    Built and run by `make bench` only; a measurement, not a test: it
    prints PASS or FAIL beside the goal and exits 0 (1 only if something it
    measures fails outright).

      input       a generated CSV of ROWS rows (deterministic): id, text
                  (words and a number; about 10% repeat an earlier row's
                  text differing only in case and whitespace), num (a
                  decimal; about 5% empty, 1% outliers), cat (8 values).
      fednode     data.clean with trim, dedup normalized on text, missing
                  num by median, clip num to its 1%/99% quantiles; then
                  data.split of its output, 80/10/10 by a seeded hash (seed
                  42); both on one worker pool (as a node runs them) in a
                  child process.
      pandas      tests/bench/pandas_dataprep.py with /usr/bin/python3 in a
                  child process: read_csv, str.strip/lower/whitespace
                  collapse for the key, drop_duplicates, fillna(median),
                  clip(quantile), a split by hash_pandas_object, to_csv of
                  the three parts.

    Each child's wall time (fork to wait4) and peak RSS (wait4's
    ru_maxrss) are measured the same way. Goal: fednode at least 5x
    pandas' rows/s at no more than 1/3 of its peak memory.
*/
#include "benchutil.h"
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data.h"
#include "json.h"
#include "pool.h"

#define ROWS 1000000
#define SPEED_GOAL 5.0  //  fednode rows/s >= this times pandas'
#define MEMORY_GOAL 3.0 //  pandas peak RSS >= this times fednode's
#define PYTHON "/usr/bin/python3"
#ifndef FED_BENCH_SRCDIR
#define FED_BENCH_SRCDIR "."
#endif

static const char *const s_words [] = {
    "alpha",  "bravo",  "charlie", "delta", "echo",    "foxtrot",  "golf",    "hotel",
    "india",  "juliet", "kilo",    "lima",  "mike",    "november", "oscar",   "papa",
    "quebec", "romeo",  "sierra",  "tango", "uniform", "victor",   "whiskey", "xray",
    "yankee", "zulu",   "red",     "green", "blue",    "amber",    "violet",  "cyan"};

static uint64_t
s_mix (uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

//  Row j's own text (a function of j alone, so a repeat can rebuild it).
static size_t
s_text (uint64_t j, char *out)
{
    uint64_t h = s_mix (j + 1);
    size_t n = 0;
    for (int k = 0; k < 7; k++) {
        const char *word = s_words [(h >> (5 * k)) & 31];
        n += (size_t) sprintf (out + n, "%s%s", k ? " " : "", word);
    }
    n += (size_t) sprintf (out + n, " %" PRIx64, j);
    return n;
}

//  Writes the input; returns 0, or -1.
static int
s_generate (const char *path)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    fputs ("id,text,num,cat\n", file);
    char text [128], varied [160];
    for (uint64_t i = 0; i < ROWS; i++) {
        uint64_t h = s_mix (i ^ 0x9e3779b97f4a7c15ull);
        const char *out = text;
        if (i > 0 && h % 10 == 0) {
            //  A repeat of an earlier row, case and whitespace changed.
            size_t len = s_text ((h >> 8) % i, text), n = 0;
            if (h & 0x100)
                varied [n++] = ' ';
            for (size_t k = 0; k < len; k++) {
                char c = text [k];
                if (c == ' ' && (h & 0x200))
                    varied [n++] = ' ';
                varied [n++] = (h & 0x400) && c >= 'a' && c <= 'z' ? (char) (c - 32) : c;
            }
            if (h & 0x800)
                varied [n++] = ' ';
            varied [n] = '\0';
            out = varied;
        } else
            s_text (i, text);
        char num [32] = "";
        uint64_t r = h >> 20;
        if (r % 20 != 0) {
            double value = (double) (r % 100000) / 100.0;
            if (r % 100 == 1)
                value *= 1000.0; //  an outlier
            snprintf (num, sizeof num, "%.2f", value);
        }
        fprintf (file, "%" PRIu64 ",%s,%s,cat%u\n", i, out, num, (unsigned) ((h >> 40) % 8));
    }
    return fclose (file) ? -1 : 0;
}

//  Runs one task on pool and waits for its end. Returns 0 if it completed.
static int
s_task (fed_pool_t *pool, const char *agent, const char *params, const char *workspace)
{
    fed_err_t err = {0};
    uint8_t *packed = NULL;
    size_t size = 0;
    if (fed_json_to_msgpack (params, strlen (params), NULL, &packed, &size, &err))
        return 2;
    fed_task_spec_t spec = {agent, NULL, packed,    size,  "0123456789abcdef",
                            agent, 1,    workspace, 600000};
    int status = 1;
    if (fed_pool_submit (pool, &spec)) {
        fed_report_t *report;
        while ((report = fed_pool_recv (pool))) {
            bool final = fed_report_is_final (report);
            if (final && fed_report_kind (report) == FED_REPORT_COMPLETED)
                status = 0;
            else if (final)
                fprintf (stderr, "%s failed: %s: %s\n", agent, fed_report_code (report),
                         fed_report_message (report));
            fed_report_destroy (&report);
            if (final)
                break;
        }
    }
    free (packed);
    return status;
}

//  Runs the agents in this (child) process, as a workflow's two steps
//  would: data.clean, then data.split on its data.csv. Returns the exit
//  status.
static int
s_run_fednode (const char *dir, const char *input)
{
    fed_data_config_t config = {0};
    const char *roots [1] = {dir};
    config.roots = roots;
    config.root_count = 1;
    config.memory_budget = 256ull << 20; //  the node's default
    fed_err_t err = {0};
    fed_agentset_t *agents = fed_agentset_new ();
    if (fed_data_register (agents, &config, &err))
        return 2;
    fed_pool_options_t options;
    fed_pool_options_default (&options);
    options.size = 1;
    fed_pool_t *pool = fed_pool_new (agents, &options, &err);
    if (!pool)
        return 2;
    char workspace [PATH_MAX], params [PATH_MAX + 512];
    snprintf (workspace, sizeof workspace, "%s/run/clean", dir);
    snprintf (params, sizeof params,
              "{\"input\": \"%s\", \"trim\": [\"text\"], \"dedup\": {\"columns\": [\"text\"], "
              "\"normalize\": true}, \"missing\": {\"num\": \"median\"}, \"clip\": {\"num\": "
              "{\"lower\": 0.01, \"upper\": 0.99}}}",
              input);
    int status = s_task (pool, "data.clean", params, workspace);
    if (status == 0) {
        snprintf (params, sizeof params,
                  "{\"input\": \"%s/data.csv\", \"ratios\": {\"train\": 0.8, \"validation\": "
                  "0.1, \"test\": 0.1}, \"seed\": 42}",
                  workspace);
        snprintf (workspace, sizeof workspace, "%s/run/split", dir);
        status = s_task (pool, "data.split", params, workspace);
    }
    fed_pool_destroy (&pool);
    fed_agentset_destroy (&agents);
    return status;
}

typedef struct {
    double seconds;  //  wall time, fork to reaped
    double cpu;      //  its user + system CPU seconds
    double peak_mib; //  the child's peak RSS
    int status;      //  its exit status (-1: killed)
} s_result_t;

//  Runs fn in a child (or execs argv when fn is NULL) and measures it.
static s_result_t
s_measure (int (*fn) (const char *, const char *), const char *dir, const char *input,
           char *const *argv)
{
    s_result_t result = {0, 0, 0, -1};
    fflush (NULL);
    int64_t start = fed_bench_now_ns ();
    pid_t pid = fork ();
    if (pid == 0) {
        if (fn)
            _exit (fn (dir, input));
        execv (argv [0], argv);
        _exit (127);
    }
    if (pid < 0)
        return result;
    int status;
    struct rusage usage;
    while (wait4 (pid, &status, 0, &usage) < 0 && errno == EINTR)
        ;
    result.seconds = (double) (fed_bench_now_ns () - start) / 1e9;
    result.peak_mib = (double) usage.ru_maxrss / 1024.0;
    result.cpu = (double) usage.ru_utime.tv_sec + (double) usage.ru_utime.tv_usec / 1e6
        + (double) usage.ru_stime.tv_sec + (double) usage.ru_stime.tv_usec / 1e6;
    result.status = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
    return result;
}

static int
s_rm (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    return remove (path);
}

//  Lines in a file minus the header.
static long
s_rows (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    long lines = 0;
    int c;
    while ((c = getc (file)) != EOF)
        lines += c == '\n';
    fclose (file);
    return lines - 1;
}

//  Rows in the three split files under dir/sub.
static long
s_split_rows (const char *dir, const char *sub)
{
    static const char *const names [] = {"train", "validation", "test"};
    long rows = 0;
    for (int i = 0; i < 3; i++) {
        char path [PATH_MAX + 64];
        snprintf (path, sizeof path, "%s/%s/%s.csv", dir, sub, names [i]);
        long n = s_rows (path);
        if (n < 0)
            return -1;
        rows += n;
    }
    return rows;
}

int
main (void)
{
    const char *tmp = getenv ("TMPDIR");
    char dir [PATH_MAX], input [PATH_MAX + 16], path [PATH_MAX + 64];
    snprintf (dir, sizeof dir, "%s/fed-bench-dataprep-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (dir))
        return 1;
    snprintf (input, sizeof input, "%s/input.csv", dir);
    snprintf (path, sizeof path, "%s/run", dir);
    mkdir (path, 0755);
    snprintf (path, sizeof path, "%s/run/clean", dir);
    mkdir (path, 0755);
    snprintf (path, sizeof path, "%s/run/split", dir);
    mkdir (path, 0755);
    snprintf (path, sizeof path, "%s/pandas", dir);
    mkdir (path, 0755);
    int rc = 1;
    if (s_generate (input))
        goto done;
    struct stat st;
    stat (input, &st);
    printf ("input: %d rows, %.1f MiB CSV (id, text with ~10%% case/space repeats, num with "
            "empties and outliers, cat)\n",
            ROWS, (double) st.st_size / 1048576.0);
    printf ("pipeline: data.clean (trim, dedup normalized, fill median, clip 1%%/99%%), then "
            "data.split 80/10/10\n");
    s_result_t fed = s_measure (s_run_fednode, dir, input, NULL);
    if (fed.status != 0) {
        fprintf (stderr, "fednode run failed (status %d)\n", fed.status);
        goto done;
    }
    long fed_rows = s_split_rows (dir, "run/split");
    printf ("%-28s %6.2f s (cpu %5.2f s)  %9.0f rows/s  peak RSS %7.1f MiB  (%ld rows out)\n",
            "fednode clean + split", fed.seconds, fed.cpu, ROWS / fed.seconds, fed.peak_mib,
            fed_rows);
    const char *script_env = getenv ("FED_PANDAS_SCRIPT");
    char script [PATH_MAX];
    snprintf (script, sizeof script, "%s",
              script_env ? script_env : FED_BENCH_SRCDIR "/tests/bench/pandas_dataprep.py");
    char pandas_dir [PATH_MAX + 16];
    snprintf (pandas_dir, sizeof pandas_dir, "%s/pandas", dir);
    char *argv [] = {(char *) PYTHON, script, input, pandas_dir, (char *) "--split", NULL};
    char *probe [] = {(char *) PYTHON, (char *) "-c", (char *) "import pandas", NULL};
    s_result_t probed = access (PYTHON, X_OK) == 0 && access (script, R_OK) == 0
        ? s_measure (NULL, NULL, NULL, probe)
        : (s_result_t){0, 0, 0, -1};
    if (probed.status != 0) {
        printf ("%-28s SKIP (no %s with pandas, or no %s)\n", "pandas baseline", PYTHON, script);
        rc = 0;
        goto done;
    }
    s_result_t pandas = s_measure (NULL, NULL, NULL, argv);
    if (pandas.status != 0) {
        fprintf (stderr, "pandas run failed (status %d)\n", pandas.status);
        goto done;
    }
    printf ("%-28s %6.2f s (cpu %5.2f s)  %9.0f rows/s  peak RSS %7.1f MiB  (%ld rows out)\n",
            "pandas (baseline)", pandas.seconds, pandas.cpu, ROWS / pandas.seconds, pandas.peak_mib,
            s_split_rows (dir, "pandas"));
    double speed = pandas.seconds / fed.seconds, memory = pandas.peak_mib / fed.peak_mib;
    printf ("%-28s speed %5.2fx pandas (goal >= %.0fx), memory 1/%.2f of pandas (goal <= 1/%.0f)"
            "  %s\n",
            "fednode / pandas", speed, SPEED_GOAL, memory, MEMORY_GOAL,
            speed >= SPEED_GOAL && memory >= MEMORY_GOAL ? "PASS" : "FAIL");
    //  Wall time is the goal's measure; on a shared machine it stretches
    //  with the load, CPU time much less, so both are shown.
    printf ("%-28s CPU time ratio %5.2fx (for reference: less sensitive to other load)\n", "",
            pandas.cpu / fed.cpu);
    rc = 0;
done:
    nftw (dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
