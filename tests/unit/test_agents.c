/*  tests/unit/test_agents.c: the agent API, the worker pool and the sys.*
    agents: typed params, the output map, progress and its rate limit,
    cancellation, failure, unknown agents, timeouts of a hanging agent and
    the worker that replaces it, many tasks on two workers, and destroying
    a pool with tasks in flight.

    No fixed sleeps: every wait is a poll on the pool's socket with a
    deadline. Time bounds are looser under sanitizers (FED_SANITIZERS).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <czmq.h>
#include <inttypes.h>
#include <pthread.h>

#include "agentset.h"
#include "log.h"
#include "pool.h"
#include "sys.h"
#include "testutil.h"

//  Multiplies time bounds: sanitizers slow everything down.
static int64_t
s_slack (void)
{
    const char *san = getenv ("FED_SANITIZERS");
    return san && *san ? 5 : 1;
}

//  --- Test agents ---------------------------------------------------------------

//  What test.hang blocks on until the test releases it.
typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool released; //  the test let every hanging agent go
    int entered;   //  agents that started hanging
    int left;      //  agents that returned
} gate_t;

static int
s_hang_run (fed_task_t *task)
{
    gate_t *gate = (gate_t *) fed_task_arg (task);
    pthread_mutex_lock (&gate->mutex);
    gate->entered++;
    pthread_cond_broadcast (&gate->cond);
    while (!gate->released)
        pthread_cond_wait (&gate->cond, &gate->mutex);
    gate->left++;
    pthread_cond_broadcast (&gate->cond);
    pthread_mutex_unlock (&gate->mutex);
    //  Reports after the timeout must be dropped by the pool.
    fed_task_progress (task, 1, 1, "late progress");
    fed_task_output_str (task, "late", "result");
    return 0;
}

//  Writes what the typed getters return for a fixed set of params.
static int
s_types_run (fed_task_t *task)
{
    const char *s;
    int64_t i;
    double d;
    bool b;
    const uint8_t *bin;
    size_t size;
    fed_mpr_t reader;
    uint32_t count;
    if (fed_task_param_str (task, "s", &s) == 0)
        fed_task_output_str (task, "s", s);
    if (fed_task_param_int (task, "neg", &i) == 0)
        fed_task_output_int (task, "neg", i);
    if (fed_task_param_int (task, "pos", &i) == 0)
        fed_task_output_int (task, "pos", i);
    if (fed_task_param_double (task, "d", &d) == 0)
        fed_task_output_double (task, "d", d);
    if (fed_task_param_double (task, "pos", &d) == 0)
        fed_task_output_double (task, "pos_as_double", d);
    if (fed_task_param_bool (task, "b", &b) == 0)
        fed_task_output_bool (task, "b", b);
    if (fed_task_param_bin (task, "bin", &bin, &size) == 0)
        fed_task_output_bin (task, "bin", bin, size);
    if (fed_task_param_map (task, "m", &reader, &count) == 0)
        fed_task_output_int (task, "m_count", count);
    if (fed_task_param_array (task, "a", &reader, &count) == 0) {
        int64_t sum = 0;
        for (uint32_t k = 0; k < count; k++)
            if (fed_mpr_int (&reader, &i) == 0)
                sum += i;
        fed_task_output_int (task, "a_sum", sum);
    }
    //  Wrong types, missing params, out of range, embedded NUL: all -1.
    int refused = 0;
    refused += fed_task_param_int (task, "s", &i) == -1;
    refused += fed_task_param_str (task, "neg", &s) == -1;
    refused += fed_task_param_bool (task, "pos", &b) == -1;
    refused += fed_task_param_bin (task, "s", &bin, &size) == -1;
    refused += fed_task_param_map (task, "a", &reader, &count) == -1;
    refused += fed_task_param_array (task, "m", &reader, &count) == -1;
    refused += fed_task_param_double (task, "s", &d) == -1;
    refused += fed_task_param_int (task, "missing", &i) == -1;
    refused += fed_task_param_raw (task, "missing", &bin, &size) == -1;
    refused += fed_task_param_int (task, "huge", &i) == -1;
    refused += fed_task_param_str (task, "nul", &s) == -1;
    fed_task_output_int (task, "refused", refused);
    fed_task_output_str (task, "type_neg", fed_mp_type_name (fed_task_param_type (task, "neg")));
    fed_task_output_bool (task, "has_missing", fed_task_has (task, "missing"));
    fed_task_output_bool (task, "has_s", fed_task_has (task, "s"));
    if (fed_task_param_raw (task, "m", &bin, &size) == 0
        && fed_task_output_raw (task, "m", bin, size))
        return fed_task_fail (task, "test", "raw m refused");
    return 0;
}

//  Requires param "x" to be of the type named by param "want".
static int
s_need_run (fed_task_t *task)
{
    const char *want, *s;
    int64_t i;
    double d;
    bool b;
    const uint8_t *bin;
    size_t size;
    fed_mpr_t reader;
    uint32_t count;
    if (fed_task_require_str (task, "want", &want))
        return -1;
    int rc = streq (want, "str") ? fed_task_require_str (task, "x", &s)
        : streq (want, "int")    ? fed_task_require_int (task, "x", &i)
        : streq (want, "double") ? fed_task_require_double (task, "x", &d)
        : streq (want, "bool")   ? fed_task_require_bool (task, "x", &b)
        : streq (want, "bin")    ? fed_task_require_bin (task, "x", &bin, &size)
        : streq (want, "map")    ? fed_task_require_map (task, "x", &reader, &count)
        : streq (want, "array")  ? fed_task_require_array (task, "x", &reader, &count)
                                 : fed_task_fail (task, "test", "unknown want %s", want);
    return rc;
}

//  Writes one value of each kind, replaces a key, and tries a bad raw value.
static int
s_output_run (fed_task_t *task)
{
    fed_task_output_str (task, "str", "text");
    fed_task_output_int (task, "int", -42);
    fed_task_output_double (task, "double", 0.25);
    fed_task_output_bool (task, "bool", true);
    fed_task_output_nil (task, "nil");
    fed_task_output_bin (task, "bin", "\x00\x01\x02", 3);
    fed_task_output_int (task, "replaced", 1);
    fed_task_output_int (task, "replaced", 2);
    const uint8_t nested [] = {0x82, 0xa1, 'x', 0x01, 0xa1, 'y', 0x92, 0xc3, 0xc2};
    if (fed_task_output_raw (task, "raw", nested, sizeof nested))
        return fed_task_fail (task, "test", "good raw value refused");
    const uint8_t truncated [] = {0x82, 0xa1, 'x'};
    fed_task_output_bool (task, "bad_raw_refused",
                          fed_task_output_raw (task, "bad", truncated, sizeof truncated) == -1);
    return 0;
}

static int
s_identity_run (fed_task_t *task)
{
    fed_task_output_int (task, "id", (int64_t) fed_task_id (task));
    fed_task_output_str (task, "run", fed_task_run (task));
    fed_task_output_str (task, "step", fed_task_step (task));
    fed_task_output_int (task, "attempt", fed_task_attempt (task));
    fed_task_output_str (task, "workspace", fed_task_workspace (task));
    fed_task_output_str (task, "agent", fed_task_agent (task));
    fed_task_output_int (task, "remaining", fed_task_remaining_ms (task));
    return 0;
}

//  Calls fed_task_progress as fast as it can for param "ms" milliseconds.
static int
s_flood_run (fed_task_t *task)
{
    int64_t ms;
    if (fed_task_require_int (task, "ms", &ms))
        return -1;
    int64_t end = fed_mono_ms () + ms;
    uint64_t calls = 0;
    while (fed_mono_ms () < end)
        fed_task_progress (task, ++calls, 0, "flooding");
    fed_task_output_int (task, "calls", (int64_t) calls);
    return 0;
}

static int
s_bare_fail_run (fed_task_t *task)
{
    return -1;
}

//  Writes "n" bytes of binary output.
static int
s_big_run (fed_task_t *task)
{
    int64_t n;
    if (fed_task_require_int (task, "n", &n))
        return -1;
    uint8_t *data = (uint8_t *) calloc (1, (size_t) n);
    fed_task_output_bin (task, "data", data, (size_t) n);
    free (data);
    return 0;
}

typedef struct {
    gate_t gate;
    fed_agentset_t *agents;
} fixture_t;

static int
s_setup (void **state)
{
    fed_log_set_level (FED_LOG_ERROR);
    fixture_t *self = (fixture_t *) calloc (1, sizeof (fixture_t));
    pthread_mutex_init (&self->gate.mutex, NULL);
    pthread_cond_init (&self->gate.cond, NULL);
    self->agents = fed_agentset_new ();
    fed_err_t err = {0};
    assert_int_equal (fed_sys_register (self->agents, &err), 0);
    const fed_agent_t tests [] = {
        {"test.hang", "1", NULL, NULL, s_hang_run, 0, &self->gate},
        {"test.types", "1", NULL, NULL, s_types_run, 0, NULL},
        {"test.need", "1", NULL, NULL, s_need_run, 0, NULL},
        {"test.output", "1", NULL, NULL, s_output_run, 0, NULL},
        {"test.identity", "1", NULL, NULL, s_identity_run, 5000, NULL},
        {"test.flood", "1", NULL, NULL, s_flood_run, 0, NULL},
        {"test.bare-fail", "1", NULL, NULL, s_bare_fail_run, 0, NULL},
        {"test.big", "1", NULL, NULL, s_big_run, 0, NULL},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests [0]; i++)
        assert_int_equal (fed_agentset_add (self->agents, &tests [i], &err), 0);
    *state = self;
    return 0;
}

static void s_gate_release (gate_t *gate);

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_agentset_destroy (&self->agents);
    //  A failed test may leave agents hanging on the gate: let them go, and
    //  keep the gate (leak it) if they do not all leave in time.
    s_gate_release (&self->gate);
    struct timespec until;
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock (&self->gate.mutex);
    int rc = 0;
    while (self->gate.left < self->gate.entered && rc == 0)
        rc = pthread_cond_timedwait (&self->gate.cond, &self->gate.mutex, &until);
    bool clear = self->gate.left == self->gate.entered;
    pthread_mutex_unlock (&self->gate.mutex);
    if (!clear)
        return -1;
    pthread_mutex_destroy (&self->gate.mutex);
    pthread_cond_destroy (&self->gate.cond);
    free (self);
    return 0;
}

//  --- Helpers ----------------------------------------------------------------------

static fed_pool_t *
s_pool (fixture_t *self, size_t size, size_t max_lost)
{
    fed_pool_options_t options;
    fed_pool_options_default (&options);
    options.size = size;
    options.max_lost = max_lost;
    fed_err_t err = {0};
    fed_pool_t *pool = fed_pool_new (self->agents, &options, &err);
    if (!pool)
        print_error ("fed_pool_new: %s\n", err.text);
    assert_non_null (pool);
    return pool;
}

//  Packs a map from a printf-like picture: each char of keys names a value
//  type (s str, i int, b bool), values follow as key, value pairs.
static void
s_params (msgpack_sbuffer *buffer, const char *types, ...)
{
    msgpack_sbuffer_init (buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, (uint32_t) strlen (types));
    va_list args;
    va_start (args, types);
    for (const char *t = types; *t; t++) {
        const char *key = va_arg (args, const char *);
        msgpack_pack_str_with_body (&pk, key, strlen (key));
        if (*t == 's') {
            const char *value = va_arg (args, const char *);
            msgpack_pack_str_with_body (&pk, value, strlen (value));
        } else if (*t == 'i')
            msgpack_pack_int64 (&pk, va_arg (args, int64_t));
        else
            assert_true (false);
    }
    va_end (args);
}

static uint64_t
s_submit (fed_pool_t *pool, const char *agent, const msgpack_sbuffer *params, int64_t timeout_ms)
{
    fed_task_spec_t spec = {0};
    spec.agent = agent;
    spec.params = params ? params->data : NULL;
    spec.params_size = params ? params->size : 0;
    spec.timeout_ms = timeout_ms;
    uint64_t id = fed_pool_submit (pool, &spec);
    assert_true (id > 0);
    return id;
}

//  The next report, or NULL if none within ms.
static fed_report_t *
s_next (fed_pool_t *pool, int64_t ms)
{
    zpoller_t *poller = zpoller_new (fed_pool_socket (pool), NULL);
    fed_report_t *report = NULL;
    if (zpoller_wait (poller, (int) ms) == fed_pool_socket (pool))
        report = fed_pool_recv (pool);
    zpoller_destroy (&poller);
    return report;
}

//  Reads reports until id's final one (within ms), counting progress
//  reports for id into *progress (if given) and keeping the last in
//  *last_progress (if given; caller destroys). A final report for another
//  id is a failure; so is progress for another id unless others_progress.
//  Caller owns the final report.
static fed_report_t *
s_final_among (fed_pool_t *pool, uint64_t id, int64_t ms, int *progress,
               fed_report_t **last_progress, bool others_progress)
{
    int64_t deadline = fed_mono_ms () + ms * s_slack ();
    while (true) {
        int64_t left = deadline - fed_mono_ms ();
        fed_report_t *report = s_next (pool, left > 0 ? left : 0);
        if (!report) {
            print_error ("no final report for task %" PRIu64 " within %" PRId64 " ms\n", id,
                         ms * s_slack ());
            fail ();
        }
        if (fed_report_task (report) != id && others_progress && !fed_report_is_final (report)) {
            fed_report_destroy (&report);
            continue;
        }
        if (fed_report_task (report) != id) {
            print_error ("expected a report for task %" PRIu64 ", got one for %" PRIu64 "\n", id,
                         fed_report_task (report));
            fail ();
        }
        if (fed_report_is_final (report))
            return report;
        if (progress)
            (*progress)++;
        if (last_progress) {
            fed_report_destroy (last_progress);
            *last_progress = report;
        } else
            fed_report_destroy (&report);
    }
}

static fed_report_t *
s_final (fed_pool_t *pool, uint64_t id, int64_t ms, int *progress, fed_report_t **last_progress)
{
    return s_final_among (pool, id, ms, progress, last_progress, false);
}

static void
s_expect_failed (fed_report_t *report, const char *code, const char *needle)
{
    if (fed_report_kind (report) != FED_REPORT_FAILED) {
        print_error ("expected failed \"%s\", got %s\n", code,
                     fed_report_kind_name (fed_report_kind (report)));
        fail ();
    }
    if (strcmp (fed_report_code (report), code) != 0) {
        print_error ("expected code \"%s\", got \"%s\" (%s)\n", code, fed_report_code (report),
                     fed_report_message (report));
        fail ();
    }
    if (needle)
        assert_contains (fed_report_message (report), needle);
}

//  A reader over a completed report's output, positioned on key's value.
static void
s_output_find (fed_report_t *report, const char *key, fed_mpr_t *value)
{
    if (fed_report_kind (report) != FED_REPORT_COMPLETED) {
        print_error ("expected completed, got %s: %s %s\n",
                     fed_report_kind_name (fed_report_kind (report)), fed_report_code (report),
                     fed_report_message (report));
        fail ();
    }
    const uint8_t *data;
    size_t size;
    fed_report_output (report, &data, &size);
    fed_mpr_init (value, data, size);
    uint32_t count;
    assert_int_equal (fed_mpr_map (value, &count), 0);
    for (uint32_t i = 0; i < count; i++) {
        const char *name;
        uint32_t len;
        assert_int_equal (fed_mpr_str (value, &name, &len), 0);
        if (len == strlen (key) && memcmp (name, key, len) == 0)
            return;
        assert_int_equal (fed_mpr_skip (value, NULL), 0);
    }
    print_error ("output has no key \"%s\"\n", key);
    fail ();
}

static int64_t
s_output_int (fed_report_t *report, const char *key)
{
    fed_mpr_t value;
    s_output_find (report, key, &value);
    int64_t number;
    assert_int_equal (fed_mpr_int (&value, &number), 0);
    return number;
}

static void
s_output_str (fed_report_t *report, const char *key, const char *expected)
{
    fed_mpr_t value;
    s_output_find (report, key, &value);
    const char *text;
    uint32_t len;
    assert_int_equal (fed_mpr_str (&value, &text, &len), 0);
    if (len != strlen (expected) || memcmp (text, expected, len) != 0) {
        print_error ("output %s: expected \"%s\", got \"%.*s\"\n", key, expected, (int) len, text);
        fail ();
    }
}

static bool
s_output_bool (fed_report_t *report, const char *key)
{
    fed_mpr_t value;
    s_output_find (report, key, &value);
    bool flag;
    assert_int_equal (fed_mpr_bool (&value, &flag), 0);
    return flag;
}

//  Polls fed_pool_stats until check passes or ms pass.
static bool
s_stats_until (fed_pool_t *pool, fed_pool_stats_t *stats, int64_t ms,
               bool (*check) (const fed_pool_stats_t *))
{
    int64_t deadline = fed_mono_ms () + ms * s_slack ();
    do {
        fed_pool_stats (pool, stats);
        if (check (stats))
            return true;
        zclock_sleep (2);
    } while (fed_mono_ms () < deadline);
    return false;
}

static void
s_gate_release (gate_t *gate)
{
    pthread_mutex_lock (&gate->mutex);
    gate->released = true;
    pthread_cond_broadcast (&gate->cond);
    pthread_mutex_unlock (&gate->mutex);
}

//  --- Tests -------------------------------------------------------------------------

static void
test_agentset (void **state)
{
    fed_agentset_t *set = fed_agentset_new ();
    fed_err_t err = {0};
    const char *caps [] = {"demo", "x.y", NULL};
    fed_agent_t agent = {"demo.one", "1.2.3", "a demo", caps, s_bare_fail_run, 0, NULL};
    assert_int_equal (fed_agentset_add (set, &agent, &err), 0);
    assert_int_equal (fed_agentset_add (set, &agent, &err), -1);
    assert_contains (err.text, "already registered");
    fed_agent_t bad = agent;
    bad.name = "Demo";
    assert_int_equal (fed_agentset_add (set, &bad, &err), -1);
    assert_contains (err.text, "not valid");
    bad.name = "demo.two";
    bad.version = "1 2";
    assert_int_equal (fed_agentset_add (set, &bad, &err), -1);
    assert_contains (err.text, "version");
    bad.version = "1";
    bad.fn = NULL;
    assert_int_equal (fed_agentset_add (set, &bad, &err), -1);
    bad.fn = s_bare_fail_run;
    bad.timeout_ms = -1;
    assert_int_equal (fed_agentset_add (set, &bad, &err), -1);
    bad.timeout_ms = 0;
    const char *bad_caps [] = {"ok", "Not ok", NULL};
    bad.capabilities = bad_caps;
    assert_int_equal (fed_agentset_add (set, &bad, &err), -1);
    assert_contains (err.text, "capability");

    fed_agentset_t *copy = fed_agentset_dup (set);
    fed_agentset_destroy (&set);
    assert_null (set);
    assert_int_equal (fed_agentset_size (copy), 1);
    const fed_agent_t *found = fed_agentset_find (copy, "demo.one");
    assert_non_null (found);
    assert_string_equal (found->version, "1.2.3");
    assert_string_equal (found->capabilities [1], "x.y");
    assert_null (found->capabilities [2]);
    assert_ptr_equal (fed_agentset_at (copy, 0), found);
    assert_null (fed_agentset_at (copy, 1));
    assert_null (fed_agentset_find (copy, "demo.two"));
    fed_agentset_destroy (&copy);
}

static void
test_report_codec (void **state)
{
    fed_report_head_t head = {7, "run-1", "step-a", 3, 12};
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    fed_report_pack_progress (&buffer, &head, 5, 10, "half");
    fed_err_t err = {0};
    fed_report_t *report = fed_report_decode (buffer.data, buffer.size, &err);
    assert_non_null (report);
    assert_int_equal (fed_report_task (report), 7);
    assert_int_equal (fed_report_kind (report), FED_REPORT_PROGRESS);
    assert_string_equal (fed_report_run (report), "run-1");
    assert_string_equal (fed_report_step (report), "step-a");
    assert_int_equal (fed_report_attempt (report), 3);
    assert_int_equal (fed_report_elapsed_ms (report), 12);
    assert_int_equal (fed_report_done (report), 5);
    assert_int_equal (fed_report_total (report), 10);
    assert_string_equal (fed_report_text (report), "half");
    assert_false (fed_report_is_final (report));
    fed_report_destroy (&report);
    //  Every truncation is refused (ASan watches the reads).
    for (size_t cut = 0; cut < buffer.size; cut++) {
        fed_report_t *none = fed_report_decode (buffer.data, cut, &err);
        assert_null (none);
    }
    msgpack_sbuffer_clear (&buffer);

    const uint8_t output [] = {0x81, 0xa1, 'k', 0x2a};
    fed_report_pack_completed (&buffer, &head, output, sizeof output);
    report = fed_report_decode (buffer.data, buffer.size, &err);
    assert_non_null (report);
    assert_true (fed_report_is_final (report));
    const uint8_t *data;
    size_t size;
    fed_report_output (report, &data, &size);
    assert_int_equal (size, sizeof output);
    assert_memory_equal (data, output, size);
    assert_string_equal (fed_report_code (report), "");
    fed_report_destroy (&report);
    msgpack_sbuffer_clear (&buffer);

    fed_report_pack_failed (&buffer, &head, "timeout", "too slow");
    report = fed_report_decode (buffer.data, buffer.size, &err);
    assert_non_null (report);
    assert_string_equal (fed_report_code (report), "timeout");
    assert_string_equal (fed_report_message (report), "too slow");
    fed_report_destroy (&report);
    msgpack_sbuffer_destroy (&buffer);

    //  An empty map, a kind with another kind's fields, an unknown key.
    const uint8_t empty [] = {0x80};
    assert_null (fed_report_decode (empty, sizeof empty, &err));
    assert_contains (err.text, "missing");
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "extra", 5);
    msgpack_pack_nil (&pk);
    assert_null (fed_report_decode (buffer.data, buffer.size, &err));
    assert_contains (err.text, "unknown");
    msgpack_sbuffer_destroy (&buffer);
}

static void
test_typed_params (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_t *pool = s_pool (self, 1, 1);
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 10);
    msgpack_pack_str_with_body (&pk, "s", 1);
    msgpack_pack_str_with_body (&pk, "hello", 5);
    msgpack_pack_str_with_body (&pk, "neg", 3);
    msgpack_pack_int64 (&pk, -5);
    msgpack_pack_str_with_body (&pk, "pos", 3);
    msgpack_pack_uint64 (&pk, 7);
    msgpack_pack_str_with_body (&pk, "d", 1);
    msgpack_pack_double (&pk, 2.5);
    msgpack_pack_str_with_body (&pk, "b", 1);
    msgpack_pack_true (&pk);
    msgpack_pack_str_with_body (&pk, "bin", 3);
    msgpack_pack_bin_with_body (&pk, "\x01\x00\x02", 3);
    msgpack_pack_str_with_body (&pk, "m", 1);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "x", 1);
    msgpack_pack_int8 (&pk, 1);
    msgpack_pack_str_with_body (&pk, "y", 1);
    msgpack_pack_int8 (&pk, 2);
    msgpack_pack_str_with_body (&pk, "a", 1);
    msgpack_pack_array (&pk, 3);
    msgpack_pack_int8 (&pk, 10);
    msgpack_pack_int8 (&pk, -20);
    msgpack_pack_int8 (&pk, 30);
    msgpack_pack_str_with_body (&pk, "huge", 4);
    msgpack_pack_uint64 (&pk, UINT64_MAX);
    msgpack_pack_str_with_body (&pk, "nul", 3);
    msgpack_pack_str_with_body (&pk, "a\0b", 3);

    uint64_t id = s_submit (pool, "test.types", &params, 0);
    fed_report_t *report = s_final (pool, id, 2000, NULL, NULL);
    s_output_str (report, "s", "hello");
    assert_int_equal (s_output_int (report, "neg"), -5);
    assert_int_equal (s_output_int (report, "pos"), 7);
    fed_mpr_t value;
    double d;
    s_output_find (report, "d", &value);
    assert_int_equal (fed_mpr_double (&value, &d), 0);
    assert_true (d == 2.5);
    s_output_find (report, "pos_as_double", &value);
    assert_int_equal (fed_mpr_double (&value, &d), 0);
    assert_true (d == 7.0);
    assert_true (s_output_bool (report, "b"));
    s_output_find (report, "bin", &value);
    const uint8_t *bin;
    uint32_t len;
    assert_int_equal (fed_mpr_bin (&value, &bin, &len), 0);
    assert_int_equal (len, 3);
    assert_memory_equal (bin, "\x01\x00\x02", 3);
    assert_int_equal (s_output_int (report, "m_count"), 2);
    assert_int_equal (s_output_int (report, "a_sum"), 20);
    assert_int_equal (s_output_int (report, "refused"), 11);
    s_output_str (report, "type_neg", "int");
    assert_false (s_output_bool (report, "has_missing"));
    assert_true (s_output_bool (report, "has_s"));
    s_output_find (report, "m", &value);
    uint32_t count;
    assert_int_equal (fed_mpr_map (&value, &count), 0);
    assert_int_equal (count, 2);
    fed_report_destroy (&report);
    msgpack_sbuffer_destroy (&params);
    fed_pool_destroy (&pool);
}

//  Runs test.need with want and x = a string, and checks the failure.
static void
s_need_fails (fed_pool_t *pool, const char *want, bool give_x, const char *needle)
{
    msgpack_sbuffer params;
    if (give_x)
        s_params (&params, "ss", "want", want, "x", "a string");
    else
        s_params (&params, "s", "want", want);
    uint64_t id = s_submit (pool, "test.need", &params, 0);
    fed_report_t *report = s_final (pool, id, 2000, NULL, NULL);
    s_expect_failed (report, "bad_params", needle);
    fed_report_destroy (&report);
    msgpack_sbuffer_destroy (&params);
}

static void
test_require_names_param_and_type (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_t *pool = s_pool (self, 1, 1);
    s_need_fails (pool, "int", true, "param \"x\" must be an integer, got str");
    s_need_fails (pool, "double", true, "param \"x\" must be a number, got str");
    s_need_fails (pool, "bool", true, "param \"x\" must be a boolean, got str");
    s_need_fails (pool, "bin", true, "param \"x\" must be binary, got str");
    s_need_fails (pool, "map", true, "param \"x\" must be a map, got str");
    s_need_fails (pool, "array", true, "param \"x\" must be an array, got str");
    s_need_fails (pool, "int", false, "param \"x\" is required (an integer)");
    s_need_fails (pool, "str", false, "param \"x\" is required (a string)");

    //  A string param given where sys.sleep wants an integer.
    msgpack_sbuffer params;
    s_params (&params, "s", "ms", "10");
    uint64_t id = s_submit (pool, "sys.sleep", &params, 0);
    fed_report_t *report = s_final (pool, id, 2000, NULL, NULL);
    s_expect_failed (report, "bad_params", "param \"ms\" must be an integer, got str");
    fed_report_destroy (&report);
    msgpack_sbuffer_destroy (&params);
    fed_pool_destroy (&pool);
}

static void
test_params_checked_at_submission (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_t *pool = s_pool (self, 1, 1);
    struct {
        const uint8_t *bytes;
        size_t size;
        const char *needle;
    } cases [] = {
        {(const uint8_t *) "\x82\xa1k\x01", 4, "not valid msgpack"},   //  truncated
        {(const uint8_t *) "\x91\x01", 2, "must be a map, got array"}, //  an array
        {(const uint8_t *) "\x82\xa1k\x01\xa1k\x02", 7, "\"k\" appears twice"},
        {(const uint8_t *) "\x81\x01\x02", 3, "not a string"},              //  integer key
        {(const uint8_t *) "\xdd\xff\xff\xff\xff", 5, "not valid msgpack"}, //  huge array
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        fed_task_spec_t spec = {0};
        spec.agent = "sys.echo";
        spec.params = cases [i].bytes;
        spec.params_size = cases [i].size;
        uint64_t id = fed_pool_submit (pool, &spec);
        fed_report_t *report = s_final (pool, id, 2000, NULL, NULL);
        s_expect_failed (report, "bad_params", cases [i].needle);
        assert_int_equal (fed_report_elapsed_ms (report), 0);
        fed_report_destroy (&report);
    }
    fed_pool_destroy (&pool);
}

static void
test_output_round_trip (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_t *pool = s_pool (self, 1, 1);
    uint64_t id = s_submit (pool, "test.output", NULL, 0);
    fed_report_t *report = s_final (pool, id, 2000, NULL, NULL);
    const uint8_t *data;
    size_t size;
    fed_report_output (report, &data, &size);
    //  Keys in the order first set; "replaced" keeps its place, with 2.
    const char *keys [] = {"str", "int",      "double", "bool",           "nil",
                           "bin", "replaced", "raw",    "bad_raw_refused"};
    fed_mpr_t reader;
    fed_mpr_init (&reader, data, size);
    uint32_t count;
    assert_int_equal (fed_mpr_map (&reader, &count), 0);
    assert_int_equal (count, sizeof keys / sizeof keys [0]);
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t len;
        assert_int_equal (fed_mpr_str (&reader, &key, &len), 0);
        assert_int_equal (len, strlen (keys [i]));
        assert_memory_equal (key, keys [i], len);
        assert_int_equal (fed_mpr_skip (&reader, NULL), 0);
    }
    s_output_str (report, "str", "text");
    assert_int_equal (s_output_int (report, "int"), -42);
    assert_int_equal (s_output_int (report, "replaced"), 2);
    assert_true (s_output_bool (report, "bool"));
    assert_true (s_output_bool (report, "bad_raw_refused"));
    fed_mpr_t value;
    s_output_find (report, "nil", &value);
    assert_int_equal (fed_mpr_nil (&value), 0);
    s_output_find (report, "raw", &value);
    const uint8_t nested [] = {0x82, 0xa1, 'x', 0x01, 0xa1, 'y', 0x92, 0xc3, 0xc2};
    assert_memory_equal (value.data + value.pos, nested, sizeof nested);
    fed_report_destroy (&report);
    fed_pool_destroy (&pool);
}

static void
test_echo_and_identity (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_t *pool = s_pool (self, 2, 1);
    //  Output = params, byte for byte (keys packed the same way).
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 3);
    msgpack_pack_str_with_body (&pk, "name", 4);
    msgpack_pack_str_with_body (&pk, "fednode", 7);
    msgpack_pack_str_with_body (&pk, "list", 4);
    msgpack_pack_array (&pk, 2);
    msgpack_pack_nil (&pk);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "deep", 4);
    msgpack_pack_double (&pk, 1.5);
    msgpack_pack_str_with_body (&pk, "n", 1);
    msgpack_pack_int64 (&pk, -123456789);
    fed_task_spec_t spec = {0};
    spec.agent = "sys.echo";
    spec.version = "1.0.0";
    spec.params = params.data;
    spec.params_size = params.size;
    spec.run = "run-9";
    spec.step = "clean";
    spec.attempt = 2;
    uint64_t id = fed_pool_submit (pool, &spec);
    fed_report_t *report = s_final (pool, id, 2000, NULL, NULL);
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    assert_string_equal (fed_report_run (report), "run-9");
    assert_string_equal (fed_report_step (report), "clean");
    assert_int_equal (fed_report_attempt (report), 2);
    const uint8_t *data;
    size_t size;
    fed_report_output (report, &data, &size);
    assert_int_equal (size, params.size);
    assert_memory_equal (data, params.data, size);
    fed_report_destroy (&report);

    //  No params at all: {} back.
    id = s_submit (pool, "sys.echo", NULL, 0);
    report = s_final (pool, id, 2000, NULL, NULL);
    fed_report_output (report, &data, &size);
    assert_int_equal (size, 1);
    assert_int_equal (data [0], 0x80);
    fed_report_destroy (&report);

    //  What the agent sees of its identity.
    spec.agent = "test.identity";
    spec.version = NULL;
    spec.workspace = "/tmp/work/run-9/clean";
    id = fed_pool_submit (pool, &spec);
    report = s_final (pool, id, 2000, NULL, NULL);
    assert_int_equal (s_output_int (report, "id"), (int64_t) id);
    s_output_str (report, "run", "run-9");
    s_output_str (report, "step", "clean");
    assert_int_equal (s_output_int (report, "attempt"), 2);
    s_output_str (report, "workspace", "/tmp/work/run-9/clean");
    s_output_str (report, "agent", "test.identity");
    int64_t remaining = s_output_int (report, "remaining");
    assert_true (remaining > 0 && remaining <= 5000); //  the agent's default timeout
    fed_report_destroy (&report);
    msgpack_sbuffer_destroy (&params);
    fed_pool_destroy (&pool);
}

static void
test_sleep_reports_progress (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_t *pool = s_pool (self, 1, 1);
    msgpack_sbuffer params;
    s_params (&params, "i", "ms", (int64_t) 350);
    uint64_t id = s_submit (pool, "sys.sleep", &params, 0);
    int progress = 0;
    fed_report_t *last = NULL;
    int64_t previous = -1;
    int64_t deadline = fed_mono_ms () + 3000 * s_slack ();
    fed_report_t *report = NULL;
    //  Progress at most every 100 ms: ~4 of them over 350 ms, the last one
    //  (350 of 350) always sent, before the result.
    while (!report && fed_mono_ms () < deadline) {
        fed_report_t *next = s_next (pool, deadline - fed_mono_ms ());
        assert_non_null (next);
        assert_int_equal (fed_report_task (next), id);
        if (fed_report_is_final (next))
            report = next;
        else {
            progress++;
            assert_int_equal (fed_report_total (next), 350);
            int64_t at = fed_report_elapsed_ms (next);
            //  The last one (350 of 350) is flushed at the end, whenever that is.
            bool flushed = fed_report_done (next) == fed_report_total (next);
            if (previous >= 0 && !flushed && s_slack () == 1 && at - previous < 90) {
                print_error ("progress %d came %" PRId64 " ms after the one before\n", progress,
                             at - previous);
                fail ();
            }
            previous = at;
            fed_report_destroy (&last);
            last = next;
        }
    }
    assert_non_null (report);
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    assert_int_equal (s_output_int (report, "slept_ms"), 350);
    assert_true (progress >= 2 && progress <= 6);
    assert_non_null (last);
    assert_int_equal (fed_report_done (last), 350);
    assert_string_equal (fed_report_text (last), "slept 350 of 350 ms");
    fed_report_destroy (&last);
    fed_report_destroy (&report);
    msgpack_sbuffer_destroy (&params);
    fed_pool_destroy (&pool);
}

static bool
s_idle (const fed_pool_stats_t *stats)
{
    return stats->busy == 0 && stats->queued == 0;
}

static void
test_sleep_cancelled (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_t *pool = s_pool (self, 1, 1);
    msgpack_sbuffer params;
    s_params (&params, "i", "ms", (int64_t) 10000);
    uint64_t running = s_submit (pool, "sys.sleep", &params, 0);
    uint64_t queued = s_submit (pool, "sys.sleep", &params, 0);
    //  Wait until the first one runs (its first progress report).
    fed_report_t *report = s_next (pool, 2000 * s_slack ());
    assert_non_null (report);
    assert_int_equal (fed_report_task (report), running);
    assert_int_equal (fed_report_kind (report), FED_REPORT_PROGRESS);
    fed_report_destroy (&report);

    fed_pool_cancel (pool, queued);
    report = s_final_among (pool, queued, 500, NULL, NULL, true);
    s_expect_failed (report, "cancelled", "before it started");
    fed_report_destroy (&report);

    int64_t start = fed_mono_ms ();
    fed_pool_cancel (pool, running);
    report = s_final_among (pool, running, 500, NULL, NULL, true);
    s_expect_failed (report, "cancelled", "asked to stop");
    fed_report_destroy (&report);
    //  The agent sees the flag within its 10 ms tick and frees the worker.
    fed_pool_stats_t stats;
    assert_true (s_stats_until (pool, &stats, 200, s_idle));
    int64_t freed = fed_mono_ms () - start;
    if (freed > 500 * s_slack ()) {
        print_error ("the worker was busy %" PRId64 " ms after the cancel\n", freed);
        fail ();
    }
    assert_int_equal (stats.cancelled, 2);
    assert_int_equal (stats.lost, 0);
    //  Cancelling again, or an unknown id, does nothing.
    fed_pool_cancel (pool, running);
    fed_pool_cancel (pool, 999999);
    uint64_t id = s_submit (pool, "sys.echo", NULL, 0);
    report = s_final (pool, id, 1000, NULL, NULL);
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    fed_report_destroy (&report);
    msgpack_sbuffer_destroy (&params);
    fed_pool_destroy (&pool);
}

static void
test_progress_is_rate_limited (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_t *pool = s_pool (self, 1, 1);
    msgpack_sbuffer params;
    s_params (&params, "i", "ms", (int64_t) 300);
    uint64_t id = s_submit (pool, "test.flood", &params, 0);
    int progress = 0;
    fed_report_t *last = NULL;
    fed_report_t *report = s_final (pool, id, 3000, &progress, &last);
    int64_t calls = s_output_int (report, "calls");
    //  Hundreds of thousands of calls, at most one report per 100 ms plus
    //  the first and the last.
    assert_true (calls > 1000);
    if (progress < 2 || progress > 300 / 100 + 2) {
        print_error ("expected 2 to 5 progress reports for %" PRId64 " calls, got %d\n", calls,
                     progress);
        fail ();
    }
    assert_non_null (last);
    assert_int_equal (fed_report_done (last), (uint64_t) calls);
    fed_report_destroy (&last);
    fed_report_destroy (&report);
    msgpack_sbuffer_destroy (&params);
    fed_pool_destroy (&pool);
}

static void
test_failures (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_t *pool = s_pool (self, 2, 1);
    msgpack_sbuffer params;
    s_params (&params, "ss", "code", "disk_full", "message", "no room left on /data");
    uint64_t id = s_submit (pool, "sys.fail", &params, 0);
    fed_report_t *report = s_final (pool, id, 2000, NULL, NULL);
    s_expect_failed (report, "disk_full", NULL);
    assert_string_equal (fed_report_message (report), "no room left on /data");
    fed_report_destroy (&report);
    msgpack_sbuffer_destroy (&params);

    id = s_submit (pool, "sys.fail", NULL, 0);
    report = s_final (pool, id, 2000, NULL, NULL);
    s_expect_failed (report, "failed", "sys.fail was asked to fail");
    fed_report_destroy (&report);

    s_params (&params, "s", "code", "Not A Code");
    id = s_submit (pool, "sys.fail", &params, 0);
    report = s_final (pool, id, 2000, NULL, NULL);
    s_expect_failed (report, "bad_params", "param \"code\"");
    fed_report_destroy (&report);
    msgpack_sbuffer_destroy (&params);

    //  -1 with no reason given.
    id = s_submit (pool, "test.bare-fail", NULL, 0);
    report = s_final (pool, id, 2000, NULL, NULL);
    s_expect_failed (report, "agent_error", "returned -1 without saying why");
    fed_report_destroy (&report);

    //  Unknown agent, and a known one at a version this node lacks.
    id = s_submit (pool, "no.such", NULL, 0);
    report = s_final (pool, id, 500, NULL, NULL);
    s_expect_failed (report, "no_agent", "no agent no.such");
    fed_report_destroy (&report);
    fed_task_spec_t spec = {0};
    spec.agent = "sys.echo";
    spec.version = "2.0";
    id = fed_pool_submit (pool, &spec);
    report = s_final (pool, id, 500, NULL, NULL);
    s_expect_failed (report, "no_agent", "version 2.0");
    fed_report_destroy (&report);

    fed_pool_stats_t stats;
    fed_pool_stats (pool, &stats);
    assert_int_equal (stats.submitted, 6);
    assert_int_equal (stats.failed, 6);
    assert_int_equal (stats.completed, 0);
    fed_pool_destroy (&pool);
}

static void
test_output_too_large (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_options_t options;
    fed_pool_options_default (&options);
    options.size = 1;
    options.max_output = 1024;
    fed_err_t err = {0};
    fed_pool_t *pool = fed_pool_new (self->agents, &options, &err);
    assert_non_null (pool);
    msgpack_sbuffer params;
    s_params (&params, "i", "n", (int64_t) 1000);
    uint64_t id = s_submit (pool, "test.big", &params, 0);
    fed_report_t *report = s_final (pool, id, 2000, NULL, NULL);
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    fed_report_destroy (&report);
    msgpack_sbuffer_destroy (&params);
    s_params (&params, "i", "n", (int64_t) 2000);
    id = s_submit (pool, "test.big", &params, 0);
    report = s_final (pool, id, 2000, NULL, NULL);
    s_expect_failed (report, "output_too_large", "max_output of 1024");
    fed_report_destroy (&report);
    msgpack_sbuffer_destroy (&params);
    fed_pool_destroy (&pool);

    //  Options out of range are refused up front.
    options.max_output = 8;
    assert_null (fed_pool_new (self->agents, &options, &err));
    assert_contains (err.text, "max_output");
    options.max_output = 1024;
    options.size = 100000;
    assert_null (fed_pool_new (self->agents, &options, &err));
    assert_contains (err.text, "limit");
}

static bool
s_none_lost (const fed_pool_stats_t *stats)
{
    return stats->lost == 0 && stats->workers == 1;
}

static void
test_timeout_of_a_hanging_agent (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_t *pool = s_pool (self, 1, 1);
    //  The agent ignores cancellation and blocks until the gate opens.
    int64_t start = fed_mono_ms ();
    uint64_t first = s_submit (pool, "test.hang", NULL, 100);
    fed_report_t *report = s_final (pool, first, 2000, NULL, NULL);
    int64_t took = fed_mono_ms () - start;
    s_expect_failed (report, "timeout", "timeout of 100 ms");
    assert_true (fed_report_elapsed_ms (report) >= 100);
    //  Reported while the agent is still stuck, soon after the deadline
    //  (the bound allows for a loaded machine; the actor wakes at the
    //  deadline itself, ~1 ms late when idle).
    if (took < 100 || took > 100 + 900 * s_slack ()) {
        print_error ("the timeout was reported after %" PRId64 " ms, expected 100 to %" PRId64 "\n",
                     took, 100 + 900 * s_slack ());
        fail ();
    }
    fed_report_destroy (&report);

    //  A replacement worker runs the next task while the first is stuck.
    uint64_t id = s_submit (pool, "sys.echo", NULL, 0);
    report = s_final (pool, id, 1000, NULL, NULL);
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    fed_report_destroy (&report);
    fed_pool_stats_t stats;
    fed_pool_stats (pool, &stats);
    assert_int_equal (stats.workers, 1);
    assert_int_equal (stats.lost, 1);
    assert_int_equal (stats.lost_total, 1);
    assert_int_equal (stats.timed_out, 1);

    //  A second stuck worker is one over max_lost = 1: no replacement, and
    //  the pool refuses tasks until one comes back.
    uint64_t second = s_submit (pool, "test.hang", NULL, 100);
    report = s_final (pool, second, 2000, NULL, NULL);
    s_expect_failed (report, "timeout", NULL);
    fed_report_destroy (&report);
    id = s_submit (pool, "sys.echo", NULL, 0);
    report = s_final (pool, id, 1000, NULL, NULL);
    s_expect_failed (report, "pool_exhausted", "max_lost");
    fed_report_destroy (&report);
    fed_pool_stats (pool, &stats);
    assert_int_equal (stats.workers, 0);
    assert_int_equal (stats.lost, 2);

    //  Released, both stuck agents return; their late progress and output
    //  are dropped, their threads joined, and the pool is whole again.
    s_gate_release (&self->gate);
    assert_true (s_stats_until (pool, &stats, 2000, s_none_lost));
    assert_int_equal (stats.lost_total, 2);
    id = s_submit (pool, "sys.echo", NULL, 0);
    report = s_final (pool, id, 1000, NULL, NULL); //  fails on any report about the hung tasks
    assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
    fed_report_destroy (&report);
    pthread_mutex_lock (&self->gate.mutex);
    assert_int_equal (self->gate.entered, 2);
    assert_int_equal (self->gate.left, 2);
    pthread_mutex_unlock (&self->gate.mutex);
    fed_pool_destroy (&pool);
}

static void
test_many_tasks_on_two_workers (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_t *pool = s_pool (self, 2, 1);
    enum { COUNT = 2000 };
    uint64_t first = 0;
    for (int64_t i = 0; i < COUNT; i++) {
        msgpack_sbuffer params;
        s_params (&params, "i", "i", i);
        uint64_t id = s_submit (pool, "sys.echo", &params, 0);
        if (i == 0)
            first = id;
        assert_int_equal (id, first + (uint64_t) i);
        msgpack_sbuffer_destroy (&params);
    }
    uint8_t *seen = (uint8_t *) calloc (COUNT, 1);
    for (int done = 0; done < COUNT; done++) {
        fed_report_t *report = s_next (pool, 5000 * s_slack ());
        if (!report) {
            print_error ("%d of %d tasks reported, then nothing\n", done, COUNT);
            fail ();
        }
        uint64_t index = fed_report_task (report) - first;
        assert_true (index < COUNT);
        assert_int_equal (fed_report_kind (report), FED_REPORT_COMPLETED);
        if (seen [index]) {
            print_error ("task %" PRIu64 " reported twice\n", fed_report_task (report));
            fail ();
        }
        seen [index] = 1;
        assert_int_equal (s_output_int (report, "i"), (int64_t) index);
        fed_report_destroy (&report);
    }
    free (seen);
    fed_report_t *extra = s_next (pool, 50);
    assert_null (extra);
    fed_pool_stats_t stats;
    fed_pool_stats (pool, &stats);
    assert_int_equal (stats.submitted, COUNT);
    assert_int_equal (stats.completed, COUNT);
    assert_int_equal (stats.failed, 0);
    assert_int_equal (stats.workers, 2);
    fed_pool_destroy (&pool);
}

static void
test_destroy_with_tasks_in_flight (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_pool_options_t options;
    fed_pool_options_default (&options);
    options.size = 2;
    options.stop_grace_ms = 10000;
    fed_err_t err = {0};
    fed_pool_t *pool = fed_pool_new (self->agents, &options, &err);
    assert_non_null (pool);
    msgpack_sbuffer params;
    s_params (&params, "i", "ms", (int64_t) 10000);
    for (int i = 0; i < 12; i++) {
        uint64_t id = s_submit (pool, "sys.sleep", &params, 0);
        (void) id;
    }
    msgpack_sbuffer_destroy (&params);
    for (int i = 0; i < 50; i++) {
        uint64_t id = s_submit (pool, "sys.echo", NULL, 0);
        (void) id;
    }
    //  Make sure two sleeps are running, then stop with reports unread.
    fed_report_t *report = s_next (pool, 2000 * s_slack ());
    assert_non_null (report);
    fed_report_destroy (&report);
    int64_t start = fed_mono_ms ();
    fed_pool_destroy (&pool);
    assert_null (pool);
    int64_t took = fed_mono_ms () - start;
    //  The sleeps saw the cancel flag: destroy did not wait out the grace.
    if (took > 2000) {
        print_error ("destroy took %" PRId64 " ms with two cancellable sleeps running\n", took);
        fail ();
    }
    //  Destroying right after creation, and NULL, are fine too.
    pool = s_pool (self, 3, 1);
    fed_pool_destroy (&pool);
    fed_pool_destroy (&pool);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_agentset),
        cmocka_unit_test (test_report_codec),
        cmocka_unit_test_setup_teardown (test_typed_params, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_require_names_param_and_type, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_params_checked_at_submission, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_output_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_echo_and_identity, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_sleep_reports_progress, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_sleep_cancelled, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_progress_is_rate_limited, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_failures, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_output_too_large, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_timeout_of_a_hanging_agent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_many_tasks_on_two_workers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_destroy_with_tasks_in_flight, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
