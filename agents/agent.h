/*  agents/agent.h: the C API a built-in agent is written against.

    An agent is one function, int run (fed_task_t *task), and a record that
    registers it by name and version (fed_agent_t, added to a fed_agentset_t
    and handed to a worker pool, agents/pool.h). The function reads its
    params (one msgpack map) through the typed getters below, writes its
    output map through the fed_task_output_* setters, reports progress,
    checks for cancellation in any loop that may run long, and returns 0 for
    success or fails with a code and a message (DESIGN §9):

        static int
        s_double_run (fed_task_t *task)
        {
            int64_t n;
            if (fed_task_require_int (task, "n", &n))
                return -1; //  failed "bad_params", naming "n" and its type
            fed_task_output_int (task, "twice", 2 * n);
            return 0;
        }

    Threads. The function runs on one of the pool's worker threads, never on
    the node's event loop, and only that thread may touch its task. The task
    and everything the getters return belong to the task and stay valid
    until the function returns. Agents keep no state between tasks except
    what their record's arg points to, which they must guard themselves if
    they change it (several tasks of one agent run at once).

    Time limits. Every task has a timeout (the submitter's, else the agent's
    default, else the pool's). A task over its timeout is reported failed
    with code "timeout" at once. Its thread cannot be stopped safely from
    outside in-process, so the pool leaves it running, marks the worker
    lost, starts a replacement and ignores whatever the task reports later;
    from then on fed_task_cancelled returns true, so an agent that checks it
    ends by itself and its thread is reaped. An agent that never returns
    keeps its thread, its stack and its task until the process exits.

    What cannot be isolated in-process. A built-in agent shares the node's
    address space: a crash in it (SIGSEGV, an abort, a stack overflow,
    exit ()) takes the whole node down, and memory it corrupts or leaks is
    the node's. A timed-out agent that never returns costs a thread for the
    rest of the process's life (the pool caps how many, see pool.h). Work
    that may crash or hang belongs in an external agent (a separate process
    speaking the agent protocol, DESIGN §9), where the node can kill it.
*/
#ifndef FED_AGENT_H_INCLUDED
#define FED_AGENT_H_INCLUDED

#include <stdarg.h>
#include "mpread.h"
#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_task_t fed_task_t;

//  An agent's entry point. Return 0 when the task succeeded (its output is
//  what the fed_task_output_* calls built, an empty map if none), -1 when it
//  failed: with the code and message of fed_task_fail, or "agent_error" if
//  the function did not say why. A call to fed_task_fail makes the task
//  fail whatever the function returns.
typedef int (*fed_agent_fn) (fed_task_t *task);

//  The registration record of one agent. fed_agentset_add copies the strings
//  and the capability list; fn and arg are kept as given.
typedef struct {
    const char *name;                //  "sys.echo": [a-z0-9][a-z0-9._-]*, at most 64 chars
    const char *version;             //  "1.0.0": printable, no spaces, at most 32 chars
    const char *description;         //  one line for people, may be NULL
    const char *const *capabilities; //  NULL-terminated list of names, may be NULL
    fed_agent_fn fn;                 //  the entry point
    int64_t timeout_ms;              //  default timeout; 0: the pool's default
    void *arg;                       //  handed to every task (fed_task_arg); not owned
} fed_agent_t;

//  --- Identity -----------------------------------------------------------
//  Strings belong to the task; none is NULL ("" when the submitter gave none).

//  The pool's id of this task (unique within one pool, never 0).
uint64_t fed_task_id (const fed_task_t *task);
//  The workflow run, step and attempt this task executes (DESIGN §8).
const char *fed_task_run (const fed_task_t *task);
const char *fed_task_step (const fed_task_t *task);
uint32_t fed_task_attempt (const fed_task_t *task);
//  The step's workspace directory ({data_dir}/work/RUN/STEP/), "" if none.
//  The node creates it; the agent may read and write files under it.
const char *fed_task_workspace (const fed_task_t *task);
//  The name of the agent running the task, and its record's arg.
const char *fed_task_agent (const fed_task_t *task);
void *fed_task_arg (const fed_task_t *task);
//  Milliseconds this task may still run before it times out (0 if over).
int64_t fed_task_remaining_ms (const fed_task_t *task);

//  --- Params -------------------------------------------------------------
//  Params are one msgpack map with string keys, checked when the task was
//  submitted (well formed, within fed_mp_default_limits, no duplicate keys).
//  Each getter finds name in it and returns 0 with the value, or -1 when
//  the param is missing or of another type (the *value is left alone).
//  The require variants do the same, and on -1 also fail the task with
//  code "bad_params" and a message naming the param and the type expected
//  (`param "ms" must be an integer, got str`): an agent returns -1 next.

//  Type of a param (FED_MP_UINT for non-negative integers, FED_MP_INT for
//  negative ones), FED_MP_NONE when it is missing.
fed_mp_type_t fed_task_param_type (fed_task_t *task, const char *name);
bool fed_task_has (fed_task_t *task, const char *name);

//  A string, NUL-terminated; one with an embedded NUL byte is refused.
int fed_task_param_str (fed_task_t *task, const char *name, const char **value) FED_MUST_USE;
//  An integer that fits int64_t.
int fed_task_param_int (fed_task_t *task, const char *name, int64_t *value) FED_MUST_USE;
//  A float, or any integer, as a double.
int fed_task_param_double (fed_task_t *task, const char *name, double *value) FED_MUST_USE;
int fed_task_param_bool (fed_task_t *task, const char *name, bool *value) FED_MUST_USE;
//  Binary: *data points into the params (not NUL-terminated).
int fed_task_param_bin (fed_task_t *task, const char *name, const uint8_t **data,
                        size_t *size) FED_MUST_USE;
//  A map or an array: *reader is set up over the value with the container
//  header already read, so the caller reads *count entries (key and value
//  for a map) with the fed_mpr_* functions. The bytes stay valid until the
//  task ends.
int fed_task_param_map (fed_task_t *task, const char *name, fed_mpr_t *reader,
                        uint32_t *count) FED_MUST_USE;
int fed_task_param_array (fed_task_t *task, const char *name, fed_mpr_t *reader,
                          uint32_t *count) FED_MUST_USE;
//  The msgpack bytes of a param's value, whatever its type (-1 if missing).
int fed_task_param_raw (fed_task_t *task, const char *name, const uint8_t **data,
                        size_t *size) FED_MUST_USE;
//  The whole params map.
void fed_task_params (const fed_task_t *task, const uint8_t **data, size_t *size);

int fed_task_require_str (fed_task_t *task, const char *name, const char **value) FED_MUST_USE;
int fed_task_require_int (fed_task_t *task, const char *name, int64_t *value) FED_MUST_USE;
int fed_task_require_double (fed_task_t *task, const char *name, double *value) FED_MUST_USE;
int fed_task_require_bool (fed_task_t *task, const char *name, bool *value) FED_MUST_USE;
int fed_task_require_bin (fed_task_t *task, const char *name, const uint8_t **data,
                          size_t *size) FED_MUST_USE;
int fed_task_require_map (fed_task_t *task, const char *name, fed_mpr_t *reader,
                          uint32_t *count) FED_MUST_USE;
int fed_task_require_array (fed_task_t *task, const char *name, fed_mpr_t *reader,
                            uint32_t *count) FED_MUST_USE;

//  --- Output -------------------------------------------------------------
//  The output is one msgpack map, built key by key in the order first set;
//  setting a key again replaces its value. Keys and values are copied.
//  Lookups are linear in the number of keys: meant for tens of keys; bulk
//  results go into one nested value (fed_task_output_raw) or, past the
//  pool's max_output, into files in the workspace.

void fed_task_output_str (fed_task_t *task, const char *key, const char *value);
void fed_task_output_int (fed_task_t *task, const char *key, int64_t value);
void fed_task_output_double (fed_task_t *task, const char *key, double value);
void fed_task_output_bool (fed_task_t *task, const char *key, bool value);
void fed_task_output_nil (fed_task_t *task, const char *key);
void fed_task_output_bin (fed_task_t *task, const char *key, const void *data, size_t size);
//  Any msgpack value (a map, an array, …): exactly one object, checked with
//  fed_mp_check. Returns 0, or -1 (nothing set) if data is not that.
int fed_task_output_raw (fed_task_t *task, const char *key, const void *data,
                         size_t size) FED_MUST_USE;

//  --- Progress, cancellation, failure --------------------------------------

//  Reports that done of total units are finished, with a short text (cut
//  to 255 bytes; may be NULL). Cheap to call in a hot loop: a report goes
//  out at most once per the pool's progress interval (100 ms by default);
//  one held back is sent at the next chance (a later call to this or to
//  fed_task_cancelled past the interval), and the last one before the
//  task ends is always sent, before its result.
void fed_task_progress (fed_task_t *task, uint64_t done, uint64_t total, const char *text);

//  True once the task was cancelled, timed out or the pool is stopping: the
//  agent should stop soon and return (what it returns is then ignored).
//  Cheap (an atomic load); call it at least every few milliseconds of work.
bool fed_task_cancelled (fed_task_t *task);

//  Fails the task with code and a printf-style message (cut to 1,023
//  bytes). Returns -1, so an agent can `return fed_task_fail (…)`. The
//  first failure stands; later calls are ignored. code must be a valid
//  code (fed_task_code_valid); another becomes "agent_error" with the bad
//  code quoted in the message.
int fed_task_fail (fed_task_t *task, const char *code, const char *format, ...) FED_PRINTF (3, 4);
int fed_task_failv (fed_task_t *task, const char *code, const char *format, va_list args)
    FED_PRINTF (3, 0);

//  Checks that params (size bytes) are what a task takes: one msgpack map
//  with string keys, none twice, within fed_mp_default_limits. Returns 0,
//  or -1 with why (a NUL-terminated text of why_size bytes at most) naming
//  the problem. Submitters call it before handing params to an agent.
int fed_task_params_check (const void *params, size_t size, char *why,
                           size_t why_size) FED_MUST_USE;

//  True if code is a usable failure code: 1 to 63 chars of [a-z0-9_.].
bool fed_task_code_valid (const char *code);

#ifdef __cplusplus
}
#endif
#endif
