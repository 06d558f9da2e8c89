/*  agents/pool.c: the worker pool's front end and its actor (pool.h).

    The front end owns two sockets: the actor's pipe (commands: SUBMIT with
    a task pointer, CANCEL with an id, STATS) and the PAIR the actor sends
    reports on. The actor owns the queue and the workers (worker.h) and runs
    one zmq_poll loop over its pipe and every worker's pair, waking for the
    earliest task deadline. It forwards workers' reports to the caller as
    they come (the frame is passed on, not copied) and writes the reports
    only it can know of: refusals, cancellations and timeouts.
*/
#include "pool.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "task_internal.h"

#define MAX_WORKERS 256
#define PIPE_BATCH 256 //  commands read per loop turn

struct fed_pool_t {
    zactor_t *actor;  //  the pool actor, owned
    zsock_t *events;  //  PAIR the actor's reports arrive on, owned
    uint64_t last_id; //  last task id handed out
};

//  What fed_pool_new hands the actor; read before the actor signals ready.
typedef struct {
    fed_agentset_t *agents;            //  the actor takes it over
    const fed_pool_options_t *options; //  copied
    const char *events;                //  endpoint to connect to
    const char *name;                  //  the pool's unique name, for worker endpoints
} pool_args_t;

typedef struct {
    zsock_t *pipe;              //  to the front end, not owned
    zsock_t *events;            //  PAIR to the caller, owned
    fed_agentset_t *agents;     //  owned
    fed_pool_options_t options; //  size resolved
    zlist_t *queue;             //  fed_task_t *, waiting for a worker; owns them
    fed_worker_t **workers;     //  live and lost workers, owned; NULL slots are gaps
    size_t worker_count;        //  slots used
    size_t worker_capacity;     //  slots allocated
    size_t live;                //  workers not lost
    size_t lost;                //  lost workers whose thread has not ended yet
    char name [33];             //  the pool's unique name (a UUID in hex)
    uint64_t serial;            //  numbers worker endpoints
    zmq_pollitem_t *items;      //  the pipe, then worker_count worker pairs
    bool items_stale;           //  workers changed since items were built
    bool stopping;              //  $TERM seen
    fed_pool_stats_t counters;  //  the cumulative counters of fed_pool_stats
} actor_t;

void
fed_pool_options_default (fed_pool_options_t *options)
{
    options->size = 0;
    options->max_lost = 4;
    options->default_timeout_ms = 3600 * 1000;
    options->progress_interval_ms = 100;
    options->stop_grace_ms = 2000;
    options->max_output = 1024 * 1024;
}

//  --- Reports the actor writes --------------------------------------------------

//  Sends a report the actor wrote (taking report's buffer).
static void
s_send_report (actor_t *self, msgpack_sbuffer *report)
{
    zmq_msg_t msg;
    fed_worker_report_msg (&msg, report);
    if (zmq_msg_send (&msg, zsock_resolve (self->events), ZMQ_DONTWAIT) < 0)
        zmq_msg_close (&msg);
}

//  Sends a failed report for head and counts it.
static void s_fail (actor_t *self, const fed_report_head_t *head, const char *code,
                    const char *format, ...) FED_PRINTF (4, 5);

static void
s_fail (actor_t *self, const fed_report_head_t *head, const char *code, const char *format, ...)
{
    char message [FED_TASK_MAX_MESSAGE + 1];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    msgpack_sbuffer report;
    msgpack_sbuffer_init (&report);
    fed_report_pack_failed (&report, head, code, message);
    s_send_report (self, &report);
    msgpack_sbuffer_destroy (&report);
    self->counters.failed++;
    if (strcmp (code, "timeout") == 0)
        self->counters.timed_out++;
    else if (strcmp (code, "cancelled") == 0)
        self->counters.cancelled++;
}

//  The head of a report about the task a worker runs.
static void
s_worker_head (const fed_worker_t *worker, int64_t now, fed_report_head_t *head)
{
    *head = (fed_report_head_t){worker->task, worker->run, worker->step, worker->attempt,
                                now - worker->started_ms};
}

//  --- Workers -------------------------------------------------------------------

static int
s_worker_add (actor_t *self, fed_err_t *err)
{
    char endpoint [80];
    snprintf (endpoint, sizeof endpoint, "inproc://fed-pool-%s-%" PRIu64, self->name,
              ++self->serial);
    fed_worker_t *worker = fed_worker_start (endpoint, err);
    if (!worker)
        return -1;
    if (self->worker_count == self->worker_capacity) {
        self->worker_capacity = self->worker_capacity ? 2 * self->worker_capacity : 8;
        self->workers = (fed_worker_t **) fed_realloc (
            self->workers, self->worker_capacity * sizeof (fed_worker_t *));
    }
    self->workers [self->worker_count++] = worker;
    self->live++;
    self->items_stale = true;
    return 0;
}

//  Keeps size workers live while the thread budget (size + max_lost,
//  counting lost threads) allows.
static void
s_top_up (actor_t *self)
{
    while (self->live < self->options.size
           && self->live + self->lost < self->options.size + self->options.max_lost) {
        fed_err_t err = {0};
        if (s_worker_add (self, &err)) {
            fed_error ("pool: %s", err.text);
            break;
        }
    }
}

static bool
s_exhausted (const actor_t *self)
{
    return self->lost > self->options.max_lost;
}

//  Fails every queued task with code, when no worker is left to run them.
static void
s_fail_queue (actor_t *self, const char *code, const char *why)
{
    fed_task_t *task;
    while ((task = (fed_task_t *) zlist_pop (self->queue))) {
        fed_report_head_t head;
        fed_task_head (task, 0, &head);
        s_fail (self, &head, code, "%s", why);
        fed_task_destroy (&task);
    }
}

static void
s_exhausted_message (const actor_t *self, char *text, size_t size)
{
    snprintf (text, size,
              "the agent pool takes no tasks: %zu worker threads are stuck in tasks that timed "
              "out, over the cap of %zu (max_lost); it takes tasks again when one returns, or "
              "after a restart",
              self->lost, self->options.max_lost);
}

//  A live worker ran past its deadline: report the timeout and replace it.
static void
s_worker_lose (actor_t *self, fed_worker_t *worker, int64_t now)
{
    int expected = FED_WORKER_RUNNING;
    if (!atomic_compare_exchange_strong (&worker->state, &expected, FED_WORKER_LOST))
        return; //  it finished just now: its final report is on the way
    if (!worker->reported) {
        fed_report_head_t head;
        s_worker_head (worker, now, &head);
        s_fail (self, &head, "timeout",
                "agent %s did not finish within its timeout of %" PRId64
                " ms; its thread is left to end by itself and a new worker took its place",
                worker->agent, worker->timeout_ms);
    }
    fed_warn ("pool: agent %s, task %" PRIu64 " (run %s step %s) over its %" PRId64
              " ms timeout; worker lost (%zu lost now, cap %zu)",
              worker->agent, worker->task, worker->run, worker->step, worker->timeout_ms,
              self->lost + 1, self->options.max_lost);
    worker->lost = true;
    fed_worker_clear (worker);
    self->live--;
    self->lost++;
    self->counters.lost_total++;
    s_top_up (self);
    if (s_exhausted (self) && self->live == 0) {
        char why [FED_TASK_MAX_MESSAGE + 1];
        s_exhausted_message (self, why, sizeof why);
        s_fail_queue (self, "pool_exhausted", why);
    }
}

static void
s_check_deadlines (actor_t *self)
{
    int64_t now = fed_mono_ms ();
    for (size_t i = 0; i < self->worker_count; i++) {
        fed_worker_t *worker = self->workers [i];
        if (worker && !worker->lost && worker->task && now >= worker->deadline_ms)
            s_worker_lose (self, worker, now);
    }
}

//  Milliseconds until the next deadline, -1 if no task runs.
static long
s_timeout (const actor_t *self)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < self->worker_count; i++) {
        const fed_worker_t *worker = self->workers [i];
        if (worker && !worker->lost && worker->task && worker->deadline_ms < next)
            next = worker->deadline_ms;
    }
    if (next == INT64_MAX)
        return -1;
    int64_t wait = next - fed_mono_ms ();
    return wait > 0 ? (long) wait : 0;
}

//  Reads everything worker has sent. forward: pass reports on to the caller.
static void
s_worker_ready (actor_t *self, size_t index, bool forward)
{
    fed_worker_t *worker = self->workers [index];
    void *handle = zsock_resolve (worker->actor_sock);
    while (true) {
        zmq_msg_t kind_msg, report;
        zmq_msg_init (&kind_msg);
        if (zmq_msg_recv (&kind_msg, handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&kind_msg);
            return;
        }
        char kind = zmq_msg_size (&kind_msg) ? *(char *) zmq_msg_data (&kind_msg) : 0;
        bool more = zmq_msg_more (&kind_msg);
        zmq_msg_close (&kind_msg);
        zmq_msg_init (&report);
        if (more && zmq_msg_recv (&report, handle, 0) < 0) {
            zmq_msg_close (&report);
            return;
        }
        if (more)
            FED_HANDOFF_RECV (zmq_msg_data (&report)); //  freed here if dropped
        bool current = forward && !worker->lost && worker->task && !worker->reported;
        if (kind == FED_WORKER_EXITED) {
            zmq_msg_close (&report);
            if (worker->lost)
                self->lost--;
            else
                self->live--;
            fed_worker_join (&self->workers [index]);
            self->items_stale = true;
            if (!self->stopping)
                s_top_up (self);
            return;
        }
        if (current && more) {
            if (zmq_msg_send (&report, zsock_resolve (self->events), ZMQ_DONTWAIT) < 0)
                zmq_msg_close (&report);
        } else
            zmq_msg_close (&report);
        if (kind == FED_WORKER_COMPLETED || kind == FED_WORKER_FAILED) {
            if (current) {
                if (kind == FED_WORKER_COMPLETED)
                    self->counters.completed++;
                else
                    self->counters.failed++;
            }
            fed_worker_clear (worker);
            atomic_store (&worker->state, FED_WORKER_IDLE);
        }
    }
}

//  --- Tasks ----------------------------------------------------------------------

//  Takes a submitted task: refuses it at once, or queues it.
static void
s_accept (actor_t *self, fed_task_t *task)
{
    self->counters.submitted++;
    fed_report_head_t head;
    fed_task_head (task, 0, &head);
    const fed_agent_t *agent = fed_agentset_find (self->agents, task->agent);
    char why [FED_TASK_MAX_MESSAGE + 1];
    if (!agent)
        s_fail (self, &head, "no_agent", "no agent %s on this node", task->agent);
    else if (task->version && strcmp (task->version, agent->version) != 0)
        s_fail (self, &head, "no_agent", "no agent %s version %s on this node (it has %s)",
                task->agent, task->version, agent->version);
    else if (fed_task_check_params (task, why, sizeof why))
        s_fail (self, &head, "bad_params", "%s", why);
    else if (s_exhausted (self)) {
        s_exhausted_message (self, why, sizeof why);
        s_fail (self, &head, "pool_exhausted", "%s", why);
    } else {
        task->fn = agent->fn;
        task->arg = agent->arg;
        task->timeout_ms = task->timeout_ms > 0 ? task->timeout_ms
            : agent->timeout_ms > 0             ? agent->timeout_ms
                                                : self->options.default_timeout_ms;
        task->progress_interval_ms = self->options.progress_interval_ms;
        task->max_output = self->options.max_output;
        zlist_append (self->queue, task);
        return;
    }
    fed_task_destroy (&task);
}

static void
s_cancel (actor_t *self, uint64_t id)
{
    for (fed_task_t *task = (fed_task_t *) zlist_first (self->queue); task;
         task = (fed_task_t *) zlist_next (self->queue))
        if (task->id == id) {
            zlist_remove (self->queue, task);
            fed_report_head_t head;
            fed_task_head (task, 0, &head);
            s_fail (self, &head, "cancelled", "cancelled before it started");
            fed_task_destroy (&task);
            return;
        }
    for (size_t i = 0; i < self->worker_count; i++) {
        fed_worker_t *worker = self->workers [i];
        if (worker && !worker->lost && worker->task == id && !worker->reported) {
            atomic_store (&worker->cancel, true);
            int64_t now = fed_mono_ms ();
            fed_report_head_t head;
            s_worker_head (worker, now, &head);
            s_fail (self, &head, "cancelled",
                    "cancelled after %" PRId64 " ms; agent %s was asked to stop", head.elapsed_ms,
                    worker->agent);
            worker->reported = true;
            return;
        }
    }
}

//  Hands queued tasks to idle workers.
static void
s_dispatch (actor_t *self)
{
    size_t next = 0;
    while (zlist_size (self->queue)) {
        while (
            next < self->worker_count
            && (!self->workers [next] || self->workers [next]->lost || self->workers [next]->task))
            next++;
        if (next == self->worker_count)
            return;
        fed_task_t *task = (fed_task_t *) zlist_pop (self->queue);
        if (fed_worker_assign (self->workers [next], &task, fed_mono_ms ())) {
            fed_report_head_t head;
            fed_task_head (task, 0, &head);
            s_fail (self, &head, "agent_error", "the worker thread did not take the task");
            fed_task_destroy (&task);
            next++;
        }
    }
}

//  --- The actor --------------------------------------------------------------------

//  Handles one command from the front end. Returns -1 if the pipe failed.
static int
s_command (actor_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    if (!msg)
        return -1;
    char *command = zmsg_popstr (msg);
    zframe_t *frame = zmsg_pop (msg);
    if (command && streq (command, "SUBMIT") && frame && zframe_size (frame) == sizeof (void *)) {
        fed_task_t *task;
        memcpy (&task, zframe_data (frame), sizeof task);
        FED_HANDOFF_RECV (task);
        s_accept (self, task);
    } else if (command && streq (command, "CANCEL") && frame
               && zframe_size (frame) == sizeof (uint64_t)) {
        uint64_t id;
        memcpy (&id, zframe_data (frame), sizeof id);
        s_cancel (self, id);
    } else if (command && streq (command, "STATS")) {
        size_t busy = 0;
        for (size_t i = 0; i < self->worker_count; i++)
            busy += self->workers [i] && !self->workers [i]->lost && self->workers [i]->task;
        zsock_send (self->pipe, "8888888888", (uint64_t) self->live, (uint64_t) busy,
                    (uint64_t) zlist_size (self->queue), (uint64_t) self->lost,
                    self->counters.submitted, self->counters.completed, self->counters.failed,
                    self->counters.timed_out, self->counters.cancelled, self->counters.lost_total);
    } else if (command && streq (command, "$TERM"))
        self->stopping = true;
    else
        fed_error ("pool: unknown command %s", command ? command : "(none)");
    zframe_destroy (&frame);
    free (command);
    zmsg_destroy (&msg);
    return 0;
}

//  Rebuilds the poll items after workers came or went (dropping gaps).
static void
s_items_rebuild (actor_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->worker_count; i++)
        if (self->workers [i])
            self->workers [kept++] = self->workers [i];
    self->worker_count = kept;
    free (self->items);
    self->items = (zmq_pollitem_t *) fed_calloc (kept + 1, sizeof (zmq_pollitem_t));
    self->items [0] = (zmq_pollitem_t){zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0};
    for (size_t i = 0; i < kept; i++)
        self->items [i + 1] =
            (zmq_pollitem_t){zsock_resolve (self->workers [i]->actor_sock), 0, ZMQ_POLLIN, 0};
    self->items_stale = false;
}

//  Polls the workers' pairs (and the pipe, if with_pipe) once, for at most
//  timeout ms, and reads what they sent. Returns -1 if the poll failed.
static int
s_poll (actor_t *self, long timeout, bool with_pipe)
{
    if (self->items_stale)
        s_items_rebuild (self);
    size_t first = with_pipe ? 0 : 1;
    int rc = zmq_poll (self->items + first, (int) (self->worker_count + 1 - first), timeout);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    //  A burst of submissions is read in one turn (up to PIPE_BATCH, so the
    //  workers' reports are not kept waiting), not one poll per command.
    if (with_pipe && (self->items [0].revents & ZMQ_POLLIN))
        for (int read = 0; read < PIPE_BATCH && !self->stopping; read++) {
            if (s_command (self))
                return -1;
            if (!(zsock_events (self->pipe) & ZMQ_POLLIN))
                break;
        }
    //  Reading may join a worker (its slot becomes a gap), never move one.
    size_t count = self->worker_count;
    for (size_t i = 0; i < count; i++)
        if ((self->items [i + 1].revents & ZMQ_POLLIN) && self->workers [i])
            s_worker_ready (self, i, !self->stopping);
    return 0;
}

//  Stops every worker: running agents are cancelled and waited for until
//  the grace ends; threads still running then are left behind.
static void
s_stop_workers (actor_t *self)
{
    for (size_t i = 0; i < self->worker_count; i++) {
        fed_worker_t *worker = self->workers [i];
        if (worker) {
            atomic_store (&worker->cancel, true);
            fed_worker_stop (worker);
        }
    }
    int64_t deadline = fed_mono_ms () + self->options.stop_grace_ms;
    while (self->live + self->lost > 0) {
        int64_t left = deadline - fed_mono_ms ();
        if (left <= 0 || s_poll (self, (long) left, false))
            break;
    }
    for (size_t i = 0; i < self->worker_count; i++)
        if (self->workers [i]) {
            fed_warn ("pool: a worker thread%s%s did not end within the stop grace of %" PRId64
                      " ms; it is left running until the process exits",
                      self->workers [i]->agent ? " running agent " : "",
                      self->workers [i]->agent ? self->workers [i]->agent : "",
                      self->options.stop_grace_ms);
            fed_worker_abandon (&self->workers [i]);
        }
}

static void
s_pool_actor (zsock_t *pipe, void *arg)
{
    pool_args_t *args = (pool_args_t *) arg;
    actor_t self = {0};
    self.pipe = pipe;
    self.agents = args->agents;
    self.options = *args->options;
    snprintf (self.name, sizeof self.name, "%s", args->name);
    self.queue = zlist_new ();
    self.events = zsock_new (ZMQ_PAIR);
    fed_err_t err = {0};
    int rc = -1;
    if (self.events) {
        zsock_set_sndhwm (self.events, 0);
        zsock_set_linger (self.events, 0);
        rc = zsock_connect (self.events, "%s", args->events) < 0 ? -1 : 0;
        if (rc)
            fed_err_set (&err, -1, "cannot connect to %s", args->events);
    }
    for (size_t i = 0; rc == 0 && i < self.options.size; i++)
        rc = s_worker_add (&self, &err);
    //  zactor_new swallows the first signal's status: say it again.
    zsock_signal (pipe, 0);
    zsock_send (pipe, "is", rc, rc ? err.text : "");
    while (rc == 0 && !self.stopping) {
        if (s_poll (&self, s_timeout (&self), true))
            break;
        s_check_deadlines (&self);
        s_dispatch (&self);
    }
    fed_task_t *task;
    while ((task = (fed_task_t *) zlist_pop (self.queue)))
        fed_task_destroy (&task);
    zlist_destroy (&self.queue);
    self.stopping = true;
    s_stop_workers (&self);
    free (self.workers);
    free (self.items);
    zsock_destroy (&self.events);
    fed_agentset_destroy (&self.agents);
}

//  --- The front end ---------------------------------------------------------------

static int
s_check_options (const fed_pool_options_t *options, fed_err_t *err)
{
    if (options->size > MAX_WORKERS)
        fed_err_set (err, -1, "pool size %zu is over the limit of %d workers", options->size,
                     MAX_WORKERS);
    else if (options->default_timeout_ms <= 0)
        fed_err_set (err, -1, "pool default timeout must be positive, not %" PRId64 " ms",
                     options->default_timeout_ms);
    else if (options->progress_interval_ms < 0 || options->stop_grace_ms < 0)
        fed_err_set (err, -1, "pool progress interval and stop grace must not be negative");
    else if (options->max_output < 16)
        fed_err_set (err, -1, "pool max_output %zu is under 16 bytes", options->max_output);
    else
        return 0;
    return -1;
}

fed_pool_t *
fed_pool_new (const fed_agentset_t *agents, const fed_pool_options_t *options, fed_err_t *err)
{
    fed_pool_options_t resolved;
    if (options)
        resolved = *options;
    else
        fed_pool_options_default (&resolved);
    if (s_check_options (&resolved, err))
        return NULL;
    if (resolved.size == 0) {
        long cpus = sysconf (_SC_NPROCESSORS_ONLN);
        resolved.size = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (size_t) cpus;
    }
    fed_pool_t *self = (fed_pool_t *) fed_calloc (1, sizeof (fed_pool_t));
    //  A closed socket's inproc endpoint is released later, by libzmq's
    //  reaper: names must be unique, not merely unused right now.
    zuuid_t *uuid = zuuid_new ();
    char name [33];
    snprintf (name, sizeof name, "%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://fed-pool-%s", name);
    self->events = zsock_new (ZMQ_PAIR);
    if (!self->events) {
        fed_err_set (err, -1, "cannot create the pool's report socket");
        goto err;
    }
    zsock_set_rcvhwm (self->events, 0);
    zsock_set_linger (self->events, 0);
    if (zsock_bind (self->events, "%s", endpoint) < 0) {
        fed_err_set (err, -1, "cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        goto err;
    }
    pool_args_t args = {fed_agentset_dup (agents), &resolved, endpoint, name};
    self->actor = zactor_new (s_pool_actor, &args);
    int status = -1;
    char *why = NULL;
    if (!self->actor || zsock_recv (self->actor, "is", &status, &why) || status != 0) {
        fed_err_set (err, -1, "cannot start the agent pool: %s", why ? why : "actor failed");
        free (why);
        goto err;
    }
    free (why);
    return self;
err:
    fed_pool_destroy (&self);
    return NULL;
}

void
fed_pool_destroy (fed_pool_t **self_p)
{
    if (self_p && *self_p) {
        fed_pool_t *self = *self_p;
        zactor_destroy (&self->actor);
        zsock_destroy (&self->events);
        free (self);
        *self_p = NULL;
    }
}

uint64_t
fed_pool_submit (fed_pool_t *self, const fed_task_spec_t *spec)
{
    fed_task_t *task = fed_task_new (++self->last_id, spec);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "SUBMIT");
    zmsg_addmem (msg, &task, sizeof task);
    FED_HANDOFF_SEND (task);
    if (zmsg_send (&msg, self->actor)) {
        //  Only while the process is being torn down.
        zmsg_destroy (&msg);
        fed_task_destroy (&task);
        return 0;
    }
    return self->last_id;
}

void
fed_pool_cancel (fed_pool_t *self, uint64_t id)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "CANCEL");
    zmsg_addmem (msg, &id, sizeof id);
    if (zmsg_send (&msg, self->actor))
        zmsg_destroy (&msg);
}

zsock_t *
fed_pool_socket (fed_pool_t *self)
{
    return self->events;
}

fed_report_t *
fed_pool_recv (fed_pool_t *self)
{
    zframe_t *frame = zframe_recv (self->events);
    if (!frame)
        return NULL;
    FED_HANDOFF_RECV (zframe_data (frame)); //  the report's bytes, written on another thread
    fed_err_t err = {0};
    fed_report_t *report = fed_report_decode (zframe_data (frame), zframe_size (frame), &err);
    if (!report)
        fed_error ("pool: %s", err.text);
    zframe_destroy (&frame);
    return report;
}

void
fed_pool_stats (fed_pool_t *self, fed_pool_stats_t *stats)
{
    memset (stats, 0, sizeof *stats);
    uint64_t workers = 0, busy = 0, queued = 0, lost = 0;
    if (zsock_send (self->actor, "s", "STATS")
        || zsock_recv (self->actor, "8888888888", &workers, &busy, &queued, &lost,
                       &stats->submitted, &stats->completed, &stats->failed, &stats->timed_out,
                       &stats->cancelled, &stats->lost_total))
        return;
    stats->workers = (size_t) workers;
    stats->busy = (size_t) busy;
    stats->queued = (size_t) queued;
    stats->lost = (size_t) lost;
}
