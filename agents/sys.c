/*  agents/sys.c: sys.echo, sys.sleep and sys.fail (sys.h), written against
    the public agent API only, as any built-in agent would be.
*/
#include "sys.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#define SLEEP_MAX_MS (24 * 3600 * 1000)
#define SLEEP_TICK_MS 10

static int
s_echo_run (fed_task_t *task)
{
    const uint8_t *params;
    size_t size;
    fed_task_params (task, &params, &size);
    fed_mpr_t reader;
    fed_mpr_init (&reader, params, size);
    uint32_t count;
    if (fed_mpr_map (&reader, &count))
        return fed_task_fail (task, "bad_params", "params are not a map");
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t len;
        if (fed_mpr_str (&reader, &key, &len))
            return fed_task_fail (task, "bad_params", "params key %u is not a string", i);
        size_t start = reader.pos;
        if (fed_mpr_skip (&reader, NULL))
            return fed_task_fail (task, "bad_params", "params value %u is malformed", i);
        char *name = fed_strndup (key, len);
        int rc = fed_task_output_raw (task, name, params + start, reader.pos - start);
        free (name);
        if (rc)
            return fed_task_fail (task, "bad_params", "params value %u is malformed", i);
    }
    return 0;
}

static void
s_sleep_ms (int64_t ms)
{
    struct timespec ts = {(time_t) (ms / 1000), (long) (ms % 1000) * 1000000L};
    while (nanosleep (&ts, &ts) && errno == EINTR)
        ;
}

static int
s_sleep_run (fed_task_t *task)
{
    int64_t ms;
    if (fed_task_require_int (task, "ms", &ms))
        return -1;
    if (ms < 0 || ms > SLEEP_MAX_MS)
        return fed_task_fail (task, "bad_params", "param \"ms\" must be from 0 to %d, not %" PRId64,
                              SLEEP_MAX_MS, ms);
    int64_t start = fed_mono_ms ();
    int64_t slept = 0;
    char text [64];
    while (slept < ms) {
        if (fed_task_cancelled (task))
            return fed_task_fail (task, "cancelled",
                                  "cancelled after %" PRId64 " of %" PRId64 " ms", slept, ms);
        int64_t left = ms - slept;
        s_sleep_ms (left < SLEEP_TICK_MS ? left : SLEEP_TICK_MS);
        slept = fed_mono_ms () - start;
        if (slept > ms)
            slept = ms;
        snprintf (text, sizeof text, "slept %" PRId64 " of %" PRId64 " ms", slept, ms);
        fed_task_progress (task, (uint64_t) slept, (uint64_t) ms, text);
    }
    fed_task_output_int (task, "slept_ms", slept);
    return 0;
}

static int
s_fail_run (fed_task_t *task)
{
    const char *code = "failed";
    const char *message = "sys.fail was asked to fail";
    if (fed_task_has (task, "code") && fed_task_require_str (task, "code", &code))
        return -1;
    if (fed_task_has (task, "message") && fed_task_require_str (task, "message", &message))
        return -1;
    if (!fed_task_code_valid (code))
        return fed_task_fail (task, "bad_params",
                              "param \"code\" must be 1 to 63 chars of a-z, 0-9, '_' and '.'");
    return fed_task_fail (task, code, "%s", message);
}

int
fed_sys_register (fed_agentset_t *agents, fed_err_t *err)
{
    static const char *const capabilities [] = {"sys", NULL};
    const fed_agent_t records [] = {
        {"sys.echo", "1.0.0", "completes with its params as its output", capabilities, s_echo_run,
         0, NULL},
        {"sys.sleep", "1.0.0", "sleeps ms milliseconds, reporting progress, cancellable",
         capabilities, s_sleep_run, 0, NULL},
        {"sys.fail", "1.0.0", "fails with the code and message it is given", capabilities,
         s_fail_run, 0, NULL},
    };
    for (size_t i = 0; i < sizeof records / sizeof records [0]; i++)
        if (fed_agentset_add (agents, &records [i], err))
            return -1;
    return 0;
}
