/*  node/executor_worker.c: the executor's worker (see executor.h): runs
    the attempts assigned to this node and writes what became of them.
*/
#include "executor_internal.h"
#include "node_internal.h"
#include "tasks.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void
fed_exec_task_key (char key [FED_EXEC_TASK_KEY_MAX], const char *run, const char *step,
                   uint32_t attempt)
{
    snprintf (key, FED_EXEC_TASK_KEY_MAX, "%s/%s/%u", run, step, attempt);
}

void
fed_exec_task_destroy (void **item_p)
{
    fed_exec_task_t *task = (fed_exec_task_t *) *item_p;
    if (task) {
        free (task->step);
        free (task);
        *item_p = NULL;
    }
}

//  --- Worker: attempts assigned to this node -----------------------------------------

void
fed_exec_work (fed_executor_t *self, const fed_rev_t *assigned, bool write_started)
{
    char key [FED_EXEC_TASK_KEY_MAX];
    fed_exec_task_key (key, assigned->run, assigned->step, assigned->attempt);
    if (zhashx_lookup (self->tasks, key))
        return;
    //  An earlier attempt of the same step running here is superseded.
    for (uint32_t a = 1; a < assigned->attempt && a < 64; a++) {
        char old [FED_EXEC_TASK_KEY_MAX];
        fed_exec_task_key (old, assigned->run, assigned->step, assigned->attempt - a);
        fed_exec_task_t *task = (fed_exec_task_t *) zhashx_lookup (self->tasks, old);
        if (task) {
            fed_tasks_cancel (self->node->tasks, task->task);
            zhashx_delete (self->tasks, old);
        }
    }
    fed_task_spec_t spec;
    memset (&spec, 0, sizeof spec);
    spec.agent = assigned->agent;
    spec.params = assigned->params;
    spec.params_size = assigned->params_size;
    spec.run = assigned->run;
    spec.step = assigned->step;
    spec.attempt = assigned->attempt;
    spec.timeout_ms = (int64_t) assigned->timeout_ms;
    //  The step's workspace: {data_dir}/work/RUN/STEP/, made on demand (an
    //  agent that writes nothing leaves it empty). Run and step ids are
    //  checked names ([0-9a-f], [A-Za-z0-9_-]), so they are safe in a path.
    char *workspace =
        fed_sprintf ("%s/work/%s/%s", self->node->config->data_dir, assigned->run, assigned->step);
    if (fed_make_dirs (workspace) == 0)
        spec.workspace = workspace;
    else
        fed_warn ("executor: cannot make the workspace %s: %s", workspace, strerror (errno));
    fed_exec_task_t *task = fed_calloc (1, sizeof *task);
    memcpy (task->run, assigned->run, sizeof task->run);
    task->step = fed_strdup (assigned->step);
    task->attempt = assigned->attempt;
    zhashx_insert (self->tasks, key, task);
    self->stats.tasks_started++;
    if (write_started) {
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        fed_rev_pack_step_started (&body, assigned->run, assigned->step, assigned->attempt);
        //  On failure the task still runs: its result is what matters.
        (void) fed_exec_append (self, "step.started", &body);
    }
    //  Submitted last: a built-in agent's refusal may be reported at once.
    task->task = fed_tasks_submit (self->node->tasks, &spec);
    free (workspace);
}

void
fed_exec_drop_tasks (fed_executor_t *self, const char *run)
{
    zlistx_t *keys = zhashx_keys (self->tasks);
    for (const char *key = (const char *) zlistx_first (keys); key;
         key = (const char *) zlistx_next (keys)) {
        fed_exec_task_t *task = (fed_exec_task_t *) zhashx_lookup (self->tasks, key);
        if (task && strcmp (task->run, run) == 0) {
            fed_tasks_cancel (self->node->tasks, task->task);
            zhashx_delete (self->tasks, key);
        }
    }
    zlistx_destroy (&keys);
}

void
fed_executor_task_report (fed_executor_t *self, fed_report_t **report_p)
{
    fed_report_t *report = *report_p;
    *report_p = NULL;
    char key [FED_EXEC_TASK_KEY_MAX];
    fed_exec_task_key (key, fed_report_run (report), fed_report_step (report),
                       fed_report_attempt (report));
    fed_exec_task_t *task = (fed_exec_task_t *) zhashx_lookup (self->tasks, key);
    if (!task || task->task != fed_report_task (report)) {
        fed_report_destroy (&report); //  cancelled or superseded: nobody waits for it
        return;
    }
    if (!fed_report_is_final (report)) {
        //  Progress is recorded for everyone to see (fedctl run show on any
        //  node), at most once a second per attempt.
        int64_t now = fed_mono_ms ();
        if (!task->progress_ms || now - task->progress_ms >= FED_EXEC_PROGRESS_EVERY_MS) {
            task->progress_ms = now;
            msgpack_sbuffer body;
            msgpack_sbuffer_init (&body);
            fed_rev_pack_progress (&body, task->run, task->step, task->attempt,
                                   fed_report_done (report), fed_report_total (report),
                                   fed_report_text (report));
            (void) fed_exec_append (self, "step.progress", &body);
        }
        fed_report_destroy (&report);
        return;
    }
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    uint64_t ms =
        (uint64_t) (fed_report_elapsed_ms (report) > 0 ? fed_report_elapsed_ms (report) : 0);
    const char *type;
    if (fed_report_kind (report) == FED_REPORT_COMPLETED) {
        const uint8_t *output;
        size_t size;
        fed_report_output (report, &output, &size);
        fed_rev_pack_completed (&body, task->run, task->step, task->attempt, output, size, ms);
        type = "step.completed";
    } else {
        fed_rev_pack_failed (&body, task->run, task->step, task->attempt, fed_report_code (report),
                             fed_report_message (report), ms);
        type = "step.failed";
    }
    if (body.size > self->node->config->limits.event_body) {
        //  An output the log cannot hold fails the attempt, saying so.
        char message [256];
        snprintf (message, sizeof message,
                  "the output (%zu bytes) does not fit in one event (limits.event_body: %llu)",
                  body.size, (unsigned long long) self->node->config->limits.event_body);
        msgpack_sbuffer_clear (&body);
        fed_rev_pack_failed (&body, task->run, task->step, task->attempt, "output_too_large",
                             message, ms);
        type = "step.failed";
    }
    zhashx_delete (self->tasks, key);
    fed_report_destroy (&report);
    fed_exec_append (self, type, &body);
}
