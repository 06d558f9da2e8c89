/*  node/extagents.c: the agent endpoint and its external agents (see
    extagents.h; the protocol is doc/protocol.md §5).

    State: the ready processes, by routing id; the external tasks, by the
    node's task id; and the queue of tasks waiting for a free slot, an
    intrusive list in submission order (failed-over tasks go to its front).
    A task is either queued (process NULL) or held by exactly one process.
    One timer, every min(heartbeat, 100 ms), sends heartbeats, forgets
    silent processes and times tasks out.
*/
#include "extagents.h"
#include "node_internal.h"
#include "agentwire.h"
#include "registry.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MAX_MS 100            //  timer period at most
#define DEFAULT_TIMEOUT_MS 3600000 //  a task's deadline when its submitter gives none
#define ERRORS_PER_SECOND 10       //  ERRORs sent to one connection
#define DRAIN_MAX 256              //  messages read per wake-up
#define ROUTING_MAX 255            //  bytes in a ZeroMQ routing id
#define READY_BUDGET 30            //  READYs that change an offer, per key and minute

//  What is left of one key's READY budget.
typedef struct {
    double tokens;
    int64_t at_ms; //  monotonic, when tokens was last brought up to date
} budget_t;

typedef struct process_t process_t;

typedef struct ext_task_t {
    uint64_t id;
    char *agent, *version, *run, *step, *workspace; //  owned; version NULL = any
    uint32_t attempt;
    uint8_t *params; //  owned msgpack map
    size_t params_size;
    int64_t submitted_ms, deadline_ms; //  monotonic
    process_t *process;                //  holding it, or NULL while queued
    uint32_t failovers;                //  times it moved off a process
    struct ext_task_t *prev, *next;    //  queue links while queued
} ext_task_t;

struct process_t {
    char key [2 * ROUTING_MAX + 1]; //  routing id in hex: the processes table key
    zframe_t *routing;              //  owned
    char label [FED_AW_NAME_MAX + 1];
    char user [65];         //  the ed25519 key ZAP admitted, hex
    fed_aw_agent_t *agents; //  owned; location points into locations
    uint8_t **locations;    //  owned copies of each agent's location map (or NULL)
    uint32_t agent_count;
    uint32_t slots, running; //  tasks it may hold, tasks it holds
    uint64_t last_turn;      //  when it was last given a task (round robin)
    int64_t last_heard_ms;   //  monotonic
    int64_t ready_ms;        //  wall clock of its first READY
    int64_t error_window_ms; //  ERROR rate limit: the current second
    uint32_t errors_in_window;
};

struct fed_extagents_t {
    fed_node_t *node;               //  borrowed
    zloop_t *loop;                  //  borrowed
    const fed_agentset_t *builtins; //  borrowed
    fed_extagents_report_fn *on_report;
    void *arg;
    zsock_t *router;         //  owned
    char *endpoint;          //  owned
    zhashx_t *processes;     //  routing hex -> process_t (owned by the table)
    zhashx_t *tasks;         //  "%llu" id -> ext_task_t (owned by the table)
    zhashx_t *budgets;       //  agent key (hex) -> budget_t (owned by the table)
    ext_task_t *head, *tail; //  the queue
    size_t queued;
    int timer;
    int64_t next_heartbeat_ms;
    uint64_t turn;
    int64_t stranger_window_ms; //  ERROR rate limit for connections not ready
    uint32_t stranger_errors;
    fed_ratelimit_t log_limit;
    fed_extagents_stats_t stats;
};

//  --- Small helpers --------------------------------------------------------

static void
s_task_free (void **item_p)
{
    ext_task_t *task = (ext_task_t *) *item_p;
    if (!task)
        return;
    free (task->agent);
    free (task->version);
    free (task->run);
    free (task->step);
    free (task->workspace);
    free (task->params);
    free (task);
    *item_p = NULL;
}

static void
s_process_free (void **item_p)
{
    process_t *process = (process_t *) *item_p;
    if (!process)
        return;
    zframe_destroy (&process->routing);
    for (uint32_t i = 0; i < process->agent_count; i++)
        free (process->locations [i]);
    free (process->locations);
    free (process->agents);
    free (process);
    *item_p = NULL;
}

static void
s_budget_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void
s_task_key (char key [24], uint64_t id)
{
    snprintf (key, 24, "%llu", (unsigned long long) id);
}

static void
s_queue_unlink (fed_extagents_t *self, ext_task_t *task)
{
    if (task->prev)
        task->prev->next = task->next;
    else
        self->head = task->next;
    if (task->next)
        task->next->prev = task->prev;
    else
        self->tail = task->prev;
    task->prev = task->next = NULL;
    self->queued--;
}

static void
s_queue_push (fed_extagents_t *self, ext_task_t *task, bool front)
{
    task->process = NULL;
    if (front) {
        task->next = self->head;
        task->prev = NULL;
        if (self->head)
            self->head->prev = task;
        else
            self->tail = task;
        self->head = task;
    } else {
        task->prev = self->tail;
        task->next = NULL;
        if (self->tail)
            self->tail->next = task;
        else
            self->head = task;
        self->tail = task;
    }
    self->queued++;
}

//  Sends msg to the connection routing (borrowed). Never blocks: a frame
//  the socket cannot take now is dropped (the agent's heartbeat check or
//  the task's deadline covers it).
static void
s_send (fed_extagents_t *self, zframe_t *routing, const fed_aw_msg_t *msg)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    fed_aw_encode (msg, &buffer);
    zmsg_t *out = zmsg_new ();
    zframe_t *to = zframe_dup (routing);
    zmsg_append (out, &to);
    zmsg_addmem (out, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    if (zmsg_send (&out, self->router))
        zmsg_destroy (&out);
}

static void
s_send_type (fed_extagents_t *self, zframe_t *routing, fed_aw_type_t type)
{
    fed_aw_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = type;
    s_send (self, routing, &msg);
}

//  ERROR code/message (about task, 0 if none), at most ERRORS_PER_SECOND
//  a second to one connection (process NULL: to any not ready, together).
static void s_send_error (fed_extagents_t *self, zframe_t *routing, process_t *process,
                          const char *code, uint64_t task, const char *format, ...)
    FED_PRINTF (6, 7);

static void
s_send_error (fed_extagents_t *self, zframe_t *routing, process_t *process, const char *code,
              uint64_t task, const char *format, ...)
{
    int64_t now = fed_mono_ms ();
    int64_t *window = process ? &process->error_window_ms : &self->stranger_window_ms;
    uint32_t *count = process ? &process->errors_in_window : &self->stranger_errors;
    if (now - *window >= 1000) {
        *window = now;
        *count = 0;
    }
    if (++*count > ERRORS_PER_SECOND)
        return;
    fed_aw_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = FED_AW_ERROR;
    msg.task = task;
    snprintf (msg.code, 33, "%s", code);
    va_list args;
    va_start (args, format);
    vsnprintf (msg.message, 513, format, args);
    va_end (args);
    s_send (self, routing, &msg);
}

//  --- Reports ----------------------------------------------------------------

static void
s_deliver (fed_extagents_t *self, msgpack_sbuffer *buffer)
{
    fed_err_t err;
    fed_report_t *report = fed_report_decode (buffer->data, buffer->size, &err);
    if (report)
        self->on_report (self->arg, report);
    else
        fed_error ("external agents: a report did not decode (a bug): %s", err.text);
}

static void
s_head (const ext_task_t *task, fed_report_head_t *head)
{
    head->task = task->id;
    head->run = task->run;
    head->step = task->step;
    head->attempt = task->attempt;
    head->elapsed_ms = fed_mono_ms () - task->submitted_ms;
}

//  Ends task with its final report and forgets it. output (a checked map)
//  for completed, code and message for failed.
static void
s_finish (fed_extagents_t *self, ext_task_t *task, const void *output, size_t output_size,
          const char *code, const char *message)
{
    fed_report_head_t head;
    s_head (task, &head);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    if (code) {
        fed_report_pack_failed (&buffer, &head, code, message);
        self->stats.failed++;
        if (streq (code, "timeout"))
            self->stats.timed_out++;
    } else {
        fed_report_pack_completed (&buffer, &head, output, output_size);
        self->stats.completed++;
    }
    if (task->process)
        task->process->running--;
    else
        s_queue_unlink (self, task);
    char key [24];
    s_task_key (key, task->id);
    zhashx_delete (self->tasks, key); //  frees task
    s_deliver (self, &buffer);
    msgpack_sbuffer_destroy (&buffer);
}

//  A task refused before it was queued: its one, failed, report.
static void
s_refuse (fed_extagents_t *self, uint64_t id, const fed_task_spec_t *spec, const char *code,
          const char *message)
{
    fed_report_head_t head = {id, spec->run, spec->step, spec->attempt, 0};
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    fed_report_pack_failed (&buffer, &head, code, message);
    self->stats.failed++;
    s_deliver (self, &buffer);
    msgpack_sbuffer_destroy (&buffer);
}

//  --- Dispatch -----------------------------------------------------------------

static const fed_aw_agent_t *
s_offer (const process_t *process, const char *name)
{
    for (uint32_t i = 0; i < process->agent_count; i++)
        if (streq (process->agents [i].name, name))
            return &process->agents [i];
    return NULL;
}

//  True if a ready process offers name (at version, unless NULL).
static bool
s_offered (fed_extagents_t *self, const char *name, const char *version)
{
    for (process_t *process = (process_t *) zhashx_first (self->processes); process;
         process = (process_t *) zhashx_next (self->processes)) {
        const fed_aw_agent_t *offer = s_offer (process, name);
        if (offer && (!version || streq (offer->version, version)))
            return true;
    }
    return false;
}

//  The process to run task: offering its agent, with a free slot, the
//  fewest tasks held, then the longest since it was given one. NULL if none.
static process_t *
s_pick (fed_extagents_t *self, const ext_task_t *task)
{
    process_t *best = NULL;
    for (process_t *process = (process_t *) zhashx_first (self->processes); process;
         process = (process_t *) zhashx_next (self->processes)) {
        if (process->running >= process->slots)
            continue;
        const fed_aw_agent_t *offer = s_offer (process, task->agent);
        if (!offer || (task->version && !streq (offer->version, task->version)))
            continue;
        if (!best || process->running < best->running
            || (process->running == best->running && process->last_turn < best->last_turn))
            best = process;
    }
    return best;
}

static void
s_send_task (fed_extagents_t *self, process_t *process, ext_task_t *task)
{
    const fed_aw_agent_t *offer = s_offer (process, task->agent);
    fed_aw_msg_t *msg = (fed_aw_msg_t *) fed_calloc (1, sizeof (fed_aw_msg_t));
    msg->type = FED_AW_TASK;
    msg->task = task->id;
    snprintf (msg->agent, sizeof msg->agent, "%s", task->agent);
    snprintf (msg->version, sizeof msg->version, "%s", offer->version);
    msg->params = task->params;
    msg->params_size = task->params_size;
    int64_t left = task->deadline_ms - fed_mono_ms ();
    msg->timeout_ms = left > 1 ? (uint64_t) left : 1;
    snprintf (msg->run, sizeof msg->run, "%s", task->run);
    snprintf (msg->step, sizeof msg->step, "%s", task->step);
    msg->attempt = task->attempt;
    snprintf (msg->workspace, sizeof msg->workspace, "%s", task->workspace);
    s_send (self, process->routing, msg);
    free (msg);
    task->process = process;
    process->running++;
    process->last_turn = ++self->turn;
}

//  Hands queued tasks, in order, to processes with free slots.
static void
s_dispatch (fed_extagents_t *self)
{
    ext_task_t *task = self->head;
    while (task) {
        ext_task_t *next = task->next;
        process_t *process = s_pick (self, task);
        if (process) {
            s_queue_unlink (self, task);
            s_send_task (self, process, task);
        }
        task = next;
    }
}

//  --- Registry -----------------------------------------------------------------

//  The registry record of offer (at index i of process) hosted here.
static int
s_record_of (fed_extagents_t *self, const fed_aw_agent_t *offer, fed_agent_record_t *record,
             fed_err_t *err)
{
    memset (record, 0, sizeof *record);
    snprintf (record->name, sizeof record->name, "%s", offer->name);
    snprintf (record->version, sizeof record->version, "%s", offer->version);
    memcpy (record->node, fed_identity_public (self->node->identity), 32);
    record->kind = FED_AGENT_EXTERNAL;
    for (uint32_t i = 0; i < offer->capability_count && i < FED_AGENT_CAPS_MAX; i++)
        snprintf (record->capabilities [record->capability_count++],
                  sizeof record->capabilities [0], "%s", offer->capabilities [i]);
    if (offer->location) {
        fed_mpr_t reader;
        fed_mpr_init (&reader, offer->location, offer->location_size);
        if (fed_agent_location_read (&reader, &record->location, err))
            return -1;
        record->has_location = true;
    }
    return 0;
}

static void
s_append (fed_extagents_t *self, const char *type, msgpack_sbuffer *body)
{
    fed_err_t err;
    if (fed_node_append_local (self->node, type, body->data, body->size, NULL, NULL, &err))
        fed_error ("external agents: cannot record %s: %s", type, err.text);
}

//  agent.registered for each agent process offers, unless the registry
//  already holds it as it is.
static void
s_register (fed_extagents_t *self, process_t *process)
{
    const uint8_t *me = fed_identity_public (self->node->identity);
    fed_agent_record_t *want = (fed_agent_record_t *) fed_malloc (sizeof *want);
    fed_agent_record_t *have = (fed_agent_record_t *) fed_malloc (sizeof *have);
    for (uint32_t i = 0; i < process->agent_count; i++) {
        fed_err_t err;
        if (s_record_of (self, &process->agents [i], want, &err))
            continue; //  checked when the READY came in
        int found = fed_registry_find (self->node->log, me, want->name, have, &err);
        if (found == 1 && fed_agent_record_same (want, have))
            continue;
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        if (fed_agent_record_encode (want, &body, &err) == 0)
            s_append (self, "agent.registered", &body);
        else
            fed_error ("external agents: cannot register %s: %s", want->name, err.text);
        msgpack_sbuffer_destroy (&body);
    }
    free (want);
    free (have);
}

//  agent.deregistered for name, hosted here, unless a ready process still
//  offers it.
static void
s_deregister_unless_offered (fed_extagents_t *self, const char *name)
{
    if (s_offered (self, name, NULL))
        return;
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_agent_deregistered_encode (fed_identity_public (self->node->identity), name, &body);
    s_append (self, "agent.deregistered", &body);
    msgpack_sbuffer_destroy (&body);
}

int
fed_extagents_deregister_stale (fed_extagents_t *self, fed_err_t *err)
{
    fed_agent_name_t *names;
    size_t count;
    if (fed_registry_hosted (self->node->log, fed_identity_public (self->node->identity),
                             FED_AGENT_EXTERNAL, &names, &count, err))
        return -1;
    for (size_t i = 0; i < count; i++)
        s_deregister_unless_offered (self, names [i]);
    free (names);
    return 0;
}

//  --- Processes ------------------------------------------------------------------

//  Forgets process (it went silent, said BYE or lost its key): each task it
//  held goes to the front of the queue, or fails once it has moved
//  agents.failovers times; agents nobody offers any more are deregistered.
static void
s_forget (fed_extagents_t *self, process_t *process, const char *why)
{
    uint32_t max_failovers = self->node->config->agents.failovers;
    fed_info ("external agents: process %s (%s, key %.8s) %s; %u task(s) held", process->key,
              process->label [0] ? process->label : "no label", process->user, why,
              process->running);
    //  Collect first: s_finish changes the table being walked.
    size_t count = 0;
    ext_task_t **held = (ext_task_t **) fed_calloc (process->running + 1, sizeof (ext_task_t *));
    for (ext_task_t *task = (ext_task_t *) zhashx_first (self->tasks); task;
         task = (ext_task_t *) zhashx_next (self->tasks))
        if (task->process == process && count < process->running)
            held [count++] = task;
    for (size_t i = count; i-- > 0;) {
        ext_task_t *task = held [i];
        process->running--;
        task->process = NULL;
        task->failovers++;
        if (task->failovers > max_failovers) {
            task->process = NULL;
            s_queue_push (self, task, true); //  s_finish unlinks it
            char message [300];
            snprintf (message, sizeof message,
                      "the agent process running it went away (%s) and it has moved "
                      "%u times, the most agents.failovers allows",
                      why, max_failovers);
            s_finish (self, task, NULL, 0, "agent_gone", message);
        } else {
            self->stats.failovers++;
            s_queue_push (self, task, true);
        }
    }
    free (held);
    //  Take it out of the table before asking who still offers what.
    char names [FED_AW_AGENTS_MAX][FED_AW_NAME_MAX + 1];
    uint32_t name_count = process->agent_count;
    for (uint32_t i = 0; i < name_count; i++)
        snprintf (names [i], sizeof names [i], "%s", process->agents [i].name);
    zhashx_delete (self->processes, process->key); //  frees process
    for (uint32_t i = 0; i < name_count; i++)
        s_deregister_unless_offered (self, names [i]);
    s_dispatch (self);
}

//  Why offer cannot be taken from process: NULL if it can, else a
//  message in why (code in *code_p).
static bool
s_offer_refused (fed_extagents_t *self, process_t *process, const fed_aw_msg_t *msg, uint32_t i,
                 const char **code_p, char *why, size_t why_size)
{
    const fed_aw_agent_t *offer = &msg->agents [i];
    for (uint32_t j = 0; j < i; j++)
        if (streq (msg->agents [j].name, offer->name)) {
            *code_p = "bad_message";
            snprintf (why, why_size, "READY agents[%u].name: '%s' is offered twice", i,
                      offer->name);
            return true;
        }
    if (self->builtins && fed_agentset_find (self->builtins, offer->name)) {
        *code_p = "conflict";
        snprintf (why, why_size, "READY agents[%u]: '%s' is a built-in agent of this node", i,
                  offer->name);
        return true;
    }
    fed_agent_record_t *want = (fed_agent_record_t *) fed_malloc (sizeof *want);
    fed_agent_record_t *have = (fed_agent_record_t *) fed_malloc (sizeof *have);
    fed_err_t err;
    bool refused = false;
    if (s_record_of (self, offer, want, &err)) {
        *code_p = "bad_message";
        snprintf (why, why_size, "READY agents[%u].location: %.400s", i, err.text);
        refused = true;
    } else if (fed_registry_find (self->node->log, fed_identity_public (self->node->identity),
                                  offer->name, have, &err)
                   == 1
               && have->kind != FED_AGENT_EXTERNAL) {
        *code_p = "conflict";
        snprintf (why, why_size, "READY agents[%u]: this node has a %s agent named '%s'", i,
                  fed_agent_kind_name (have->kind), offer->name);
        refused = true;
    }
    //  Another process offering the same name must offer the same agent.
    for (process_t *other = (process_t *) zhashx_first (self->processes); other && !refused;
         other = (process_t *) zhashx_next (self->processes)) {
        const fed_aw_agent_t *theirs = other == process ? NULL : s_offer (other, offer->name);
        if (!theirs || s_record_of (self, theirs, have, &err))
            continue;
        if (!fed_agent_record_same (want, have)) {
            *code_p = "conflict";
            snprintf (why, why_size,
                      "READY agents[%u]: process %.64s already offers '%s' with another "
                      "version, capabilities or location (version %s)",
                      i, other->label [0] ? other->label : other->key, offer->name,
                      theirs->version);
            refused = true;
        }
    }
    free (want);
    free (have);
    return refused;
}

static void
s_send_welcome (fed_extagents_t *self, zframe_t *routing)
{
    fed_aw_msg_t welcome;
    memset (&welcome, 0, sizeof welcome);
    welcome.type = FED_AW_WELCOME;
    memcpy (welcome.node, fed_identity_public (self->node->identity), 32);
    welcome.heartbeat_ms = (uint64_t) self->node->config->agents.heartbeat_ms;
    welcome.liveness = self->node->config->agents.liveness;
    s_send (self, routing, &welcome);
}

//  True if msg offers exactly what process offers now.
static bool
s_same_offer (const process_t *process, const fed_aw_msg_t *msg)
{
    if (process->agent_count != msg->agent_count || process->slots != msg->slots
        || strcmp (process->label, msg->label))
        return false;
    for (uint32_t i = 0; i < msg->agent_count; i++) {
        const fed_aw_agent_t *a = &process->agents [i], *b = &msg->agents [i];
        if (strcmp (a->name, b->name) || strcmp (a->version, b->version)
            || a->capability_count != b->capability_count || a->location_size != b->location_size
            || (a->location_size && memcmp (a->location, b->location, a->location_size)))
            return false;
        for (uint32_t j = 0; j < a->capability_count; j++)
            if (strcmp (a->capabilities [j], b->capabilities [j]))
                return false;
    }
    return true;
}

//  Takes one READY from key's budget (READY_BUDGET a minute, refilled
//  evenly); false when it is spent.
static bool
s_budget_take (fed_extagents_t *self, const char *user)
{
    int64_t now = fed_mono_ms ();
    budget_t *budget = (budget_t *) zhashx_lookup (self->budgets, user);
    if (!budget) {
        budget = (budget_t *) fed_calloc (1, sizeof (budget_t));
        budget->tokens = READY_BUDGET;
        budget->at_ms = now;
        zhashx_insert (self->budgets, user, budget);
    }
    budget->tokens += (double) (now - budget->at_ms) * READY_BUDGET / 60000.0;
    if (budget->tokens > READY_BUDGET)
        budget->tokens = READY_BUDGET;
    budget->at_ms = now;
    if (budget->tokens < 1)
        return false;
    budget->tokens -= 1;
    return true;
}

static void
s_on_ready (fed_extagents_t *self, zframe_t *routing, const char *key, const char *user,
            process_t *process, fed_aw_msg_t *msg)
{
    if (process && s_same_offer (process, msg)) {
        s_send_welcome (self, routing);
        return; //  a repeat (the agent missed its WELCOME): nothing to check again
    }
    //  Each other READY costs registry reads and may write events every
    //  node keeps: a budget per key.
    if (!s_budget_take (self, user)) {
        self->stats.refused++;
        s_send_error (self, routing, process, "limit", 0,
                      "this key sent more than %d READYs that change an offer in a minute; "
                      "send READY once per connection",
                      READY_BUDGET);
        return;
    }
    const char *code = NULL;
    char why [512];
    for (uint32_t i = 0; i < msg->agent_count; i++)
        if (s_offer_refused (self, process, msg, i, &code, why, sizeof why)) {
            self->stats.refused++;
            s_send_error (self, routing, process, code, 0, "%s", why);
            return;
        }
    if (!process && zhashx_size (self->processes) >= self->node->config->agents.max_external) {
        self->stats.refused++;
        s_send_error (self, routing, process, "limit", 0,
                      "%zu agent processes are connected, the most agents.max_external allows",
                      zhashx_size (self->processes));
        return;
    }
    //  The names offered before, to deregister those dropped from the offer.
    char old [FED_AW_AGENTS_MAX][FED_AW_NAME_MAX + 1];
    uint32_t old_count = 0;
    if (!process) {
        process = (process_t *) fed_calloc (1, sizeof (process_t));
        snprintf (process->key, sizeof process->key, "%s", key);
        process->routing = zframe_dup (routing);
        process->last_heard_ms = fed_mono_ms ();
        process->ready_ms = fed_wall_ms ();
        zhashx_insert (self->processes, key, process);
        fed_info ("external agents: process %s (%s, key %.8s) ready with %u agent(s), %u slot(s)",
                  key, msg->label [0] ? msg->label : "no label", user, msg->agent_count,
                  msg->slots);
    } else {
        for (uint32_t i = 0; i < process->agent_count; i++) {
            snprintf (old [old_count++], sizeof old [0], "%s", process->agents [i].name);
            free (process->locations [i]);
        }
        free (process->locations);
        free (process->agents);
    }
    snprintf (process->label, sizeof process->label, "%s", msg->label);
    snprintf (process->user, sizeof process->user, "%s", user);
    process->slots = msg->slots;
    process->agent_count = msg->agent_count;
    process->agents = (fed_aw_agent_t *) fed_calloc (msg->agent_count, sizeof (fed_aw_agent_t));
    process->locations = (uint8_t **) fed_calloc (msg->agent_count, sizeof (uint8_t *));
    for (uint32_t i = 0; i < msg->agent_count; i++) {
        process->agents [i] = msg->agents [i];
        if (msg->agents [i].location) {
            process->locations [i] = fed_malloc (msg->agents [i].location_size);
            memcpy (process->locations [i], msg->agents [i].location,
                    msg->agents [i].location_size);
            process->agents [i].location = process->locations [i];
        }
    }
    s_send_welcome (self, routing);
    s_register (self, process);
    for (uint32_t i = 0; i < old_count; i++)
        s_deregister_unless_offered (self, old [i]);
    s_dispatch (self);
}

//  The task a PROGRESS, RESULT or FAIL is about, if process holds it; else
//  answers unknown_task and returns NULL.
static ext_task_t *
s_held (fed_extagents_t *self, zframe_t *routing, process_t *process, uint64_t id)
{
    char key [24];
    s_task_key (key, id);
    ext_task_t *task = (ext_task_t *) zhashx_lookup (self->tasks, key);
    if (task && task->process == process)
        return task;
    s_send_error (self, routing, process, "unknown_task", id,
                  "task %llu is not held by this process (it ended, timed out, was cancelled "
                  "or moved to another process): drop it",
                  (unsigned long long) id);
    return NULL;
}

static void
s_on_progress (fed_extagents_t *self, ext_task_t *task, const fed_aw_msg_t *msg)
{
    fed_report_head_t head;
    s_head (task, &head);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    fed_report_pack_progress (&buffer, &head, msg->done, msg->total, msg->text);
    s_deliver (self, &buffer);
    msgpack_sbuffer_destroy (&buffer);
}

static void
s_on_result (fed_extagents_t *self, ext_task_t *task, const fed_aw_msg_t *msg)
{
    uint64_t max = self->node->config->limits.event_body;
    if (msg->output_size > max) {
        char message [200];
        snprintf (message, sizeof message,
                  "the agent's output is %zu bytes, over the %llu of limits.event_body",
                  msg->output_size, (unsigned long long) max);
        s_finish (self, task, NULL, 0, "output_too_large", message);
    } else
        s_finish (self, task, msg->output, msg->output_size, NULL, NULL);
    s_dispatch (self);
}

//  One message from a connection.
static void
s_on_frame (fed_extagents_t *self, zframe_t *routing, zframe_t *frame)
{
    char key [2 * ROUTING_MAX + 1];
    size_t routing_size = zframe_size (routing);
    if (routing_size == 0 || routing_size > ROUTING_MAX)
        return;
    fed_hex_encode (key, zframe_data (routing), routing_size);
    process_t *process = (process_t *) zhashx_lookup (self->processes, key);
    //  The key ZAP admitted must still hold the agent role (trust may have
    //  changed since the handshake).
    const char *user = zframe_meta (frame, "User-Id");
    uint8_t caller [32];
    fed_role_t role;
    if (!user || fed_hex_decode (caller, 32, user)
        || !fed_trust_role (self->node->trust, caller, &role) || role != FED_ROLE_AGENT) {
        s_send_error (self, routing, process, "forbidden", 0,
                      "this key is not trusted with the agent role (any more)");
        if (process)
            s_forget (self, process, "lost the agent role");
        return;
    }
    //  ROUTER routing ids are unique among live connections only: a process
    //  whose id now arrives with another key has gone (and a client may
    //  choose its own id). Forget it, so that its tasks fail over and
    //  nothing of it reaches the newcomer.
    if (process && strcmp (process->user, user) != 0) {
        s_forget (self, process, "its routing id came back with another key");
        process = NULL;
    }
    if (process)
        process->last_heard_ms = fed_mono_ms ();
    fed_aw_msg_t *msg = (fed_aw_msg_t *) fed_calloc (1, sizeof (fed_aw_msg_t));
    fed_err_t err = {0, ""};
    if (fed_aw_decode (zframe_data (frame), zframe_size (frame), msg, &err)) {
        int reason = err.code > 0 && err.code < 5 ? err.code : FED_AW_DROP_MALFORMED;
        self->stats.dropped [reason]++;
        if (fed_ratelimit_allow (&self->log_limit, 60000, NULL))
            fed_warn ("external agents: dropped a message from %s (%s): %s", key,
                      fed_aw_drop_name ((fed_aw_drop_t) reason), err.text);
        s_send_error (self, routing, process, "bad_message", 0, "%s", err.text);
        goto done;
    }
    if (msg->type == FED_AW_READY) {
        s_on_ready (self, routing, key, user, process, msg);
        goto done;
    }
    if (msg->type == FED_AW_WELCOME || msg->type == FED_AW_TASK || msg->type == FED_AW_CANCEL
        || msg->type == FED_AW_ERROR) {
        self->stats.dropped [FED_AW_DROP_TYPE]++;
        s_send_error (self, routing, process, "bad_message", 0,
                      "%s is sent by the node, not by agents", fed_aw_type_name (msg->type));
        goto done;
    }
    if (!process) {
        if (msg->type != FED_AW_BYE)
            s_send_error (self, routing, NULL, "not_ready", msg->task,
                          "send READY first (this node does not know this connection; it may "
                          "have restarted)");
        goto done;
    }
    ext_task_t *task;
    switch (msg->type) {
        case FED_AW_HEARTBEAT: break;
        case FED_AW_BYE:
            self->stats.byes++;
            s_forget (self, process, "said BYE");
            break;
        case FED_AW_PROGRESS:
            if ((task = s_held (self, routing, process, msg->task)))
                s_on_progress (self, task, msg);
            break;
        case FED_AW_RESULT:
            if ((task = s_held (self, routing, process, msg->task)))
                s_on_result (self, task, msg);
            break;
        case FED_AW_FAIL:
            if ((task = s_held (self, routing, process, msg->task))) {
                s_finish (self, task, NULL, 0, msg->code, msg->message);
                s_dispatch (self);
            }
            break;
        default: break;
    }
done:
    fed_aw_msg_clear (msg);
    free (msg);
}

static int
s_on_readable (zloop_t *loop, zsock_t *router, void *arg)
{
    fed_extagents_t *self = (fed_extagents_t *) arg;
    for (int n = 0; n < DRAIN_MAX && (zsock_events (router) & ZMQ_POLLIN); n++) {
        zmsg_t *msg = zmsg_recv (router);
        if (!msg)
            break;
        zframe_t *routing = zmsg_pop (msg);
        zframe_t *frame = zmsg_pop (msg);
        if (routing && frame && zmsg_size (msg) == 0)
            s_on_frame (self, routing, frame);
        else {
            self->stats.dropped [FED_AW_DROP_MALFORMED]++;
            if (routing)
                s_send_error (self, routing, NULL, "bad_message", 0,
                              "a message is one frame (a DEALER sends no delimiter)");
        }
        zframe_destroy (&routing);
        zframe_destroy (&frame);
        zmsg_destroy (&msg);
    }
    return 0;
}

//  Heartbeats out, silent processes forgotten, tasks past their deadline
//  failed.
static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    fed_extagents_t *self = (fed_extagents_t *) arg;
    const fed_config_t *config = self->node->config;
    int64_t now = fed_mono_ms ();
    if (now >= self->next_heartbeat_ms) {
        self->next_heartbeat_ms = now + config->agents.heartbeat_ms;
        for (process_t *process = (process_t *) zhashx_first (self->processes); process;
             process = (process_t *) zhashx_next (self->processes))
            s_send_type (self, process->routing, FED_AW_HEARTBEAT);
    }
    int64_t silence = config->agents.heartbeat_ms * (int64_t) config->agents.liveness;
    for (;;) {
        process_t *silent = NULL;
        for (process_t *process = (process_t *) zhashx_first (self->processes); process && !silent;
             process = (process_t *) zhashx_next (self->processes))
            if (now - process->last_heard_ms > silence)
                silent = process;
        if (!silent)
            break;
        self->stats.gone++;
        char why [100];
        snprintf (why, sizeof why, "went silent for %lld ms",
                  (long long) (now - silent->last_heard_ms));
        s_forget (self, silent, why);
    }
    //  Late tasks: found in one pass (collected by id, since finishing one
    //  changes the table), ended, then one dispatch for the freed slots.
    size_t late_count = 0;
    uint64_t *late_ids = NULL;
    for (ext_task_t *task = (ext_task_t *) zhashx_first (self->tasks); task;
         task = (ext_task_t *) zhashx_next (self->tasks))
        if (now >= task->deadline_ms) {
            late_ids = fed_realloc (late_ids, (late_count + 1) * sizeof *late_ids);
            late_ids [late_count++] = task->id;
        }
    for (size_t i = 0; i < late_count; i++) {
        char key [24];
        s_task_key (key, late_ids [i]);
        ext_task_t *late = (ext_task_t *) zhashx_lookup (self->tasks, key);
        if (!late)
            continue;
        if (late->process) {
            fed_aw_msg_t cancel;
            memset (&cancel, 0, sizeof cancel);
            cancel.type = FED_AW_CANCEL;
            cancel.task = late->id;
            snprintf (cancel.code, sizeof cancel.code, "timeout");
            s_send (self, late->process->routing, &cancel);
        }
        char message [200];
        snprintf (message, sizeof message, "the task ran out of its %lld ms",
                  (long long) (late->deadline_ms - late->submitted_ms));
        s_finish (self, late, NULL, 0, "timeout", message);
    }
    free (late_ids);
    if (late_count)
        s_dispatch (self);
    return 0;
}

//  --- Life cycle ----------------------------------------------------------------------

fed_extagents_t *
fed_extagents_new (fed_node_t *node, zloop_t *loop, const fed_agentset_t *builtins,
                   fed_extagents_report_fn *on_report, void *arg, fed_err_t *err)
{
    fed_extagents_t *self = (fed_extagents_t *) fed_calloc (1, sizeof (fed_extagents_t));
    self->node = node;
    self->loop = loop;
    self->builtins = builtins;
    self->on_report = on_report;
    self->arg = arg;
    self->timer = -1;
    self->processes = zhashx_new ();
    zhashx_set_destructor (self->processes, s_process_free);
    self->tasks = zhashx_new ();
    zhashx_set_destructor (self->tasks, s_task_free);
    self->budgets = zhashx_new ();
    zhashx_set_destructor (self->budgets, s_budget_free);
    char *endpoint = fed_node_agent_endpoint (node->config, err);
    if (!endpoint)
        goto err;
    self->router = zsock_new (ZMQ_ROUTER);
    fed_socket_defaults (self->router, (int64_t) node->config->limits.wire_message);
    zsock_set_handshake_ivl (self->router, (int) node->config->limits.handshake_timeout_ms);
    zsock_set_sndtimeo (self->router, 0);
    //  The protocol has heartbeats of its own; ZMTP heartbeats on a ROUTER
    //  whose input backs up trip an assertion in libzmq 4.3.4 (seen under a
    //  READY flood), so they are off here.
    zsock_set_heartbeat_ivl (self->router, 0);
    zsock_set_heartbeat_timeout (self->router, 0);
    fed_curve_server (self->router, fed_identity_curve_secret (node->identity),
                      fed_identity_curve_public (node->identity), FED_ZAP_AGENTS);
    if (zsock_bind (self->router, "%s", endpoint) < 0) {
        fed_err_set (err, -1, "cannot bind the agent endpoint %s: %s (config listen.agents)",
                     endpoint, zmq_strerror (zmq_errno ()));
        free (endpoint);
        goto err;
    }
    //  A tcp endpoint with port 0 or * gets its real port from ZeroMQ.
    self->endpoint = fed_strdup (
        strncmp (endpoint, "tcp://", 6) == 0 ? zsock_endpoint (self->router) : endpoint);
    free (endpoint);
    zloop_reader (loop, self->router, s_on_readable, self);
    zloop_reader_set_tolerant (loop, self->router);
    int64_t tick = node->config->agents.heartbeat_ms;
    if (tick > TICK_MAX_MS)
        tick = TICK_MAX_MS;
    self->next_heartbeat_ms = fed_mono_ms () + node->config->agents.heartbeat_ms;
    self->timer = zloop_timer (loop, (size_t) tick, 0, s_on_tick, self);
    fed_info ("agent endpoint: %s", self->endpoint);
    return self;
err:
    fed_extagents_destroy (&self);
    return NULL;
}

void
fed_extagents_destroy (fed_extagents_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_extagents_t *self = *self_p;
    if (self->timer >= 0)
        zloop_timer_end (self->loop, self->timer);
    if (self->router) {
        for (process_t *process = (process_t *) zhashx_first (self->processes); process;
             process = (process_t *) zhashx_next (self->processes))
            s_send_type (self, process->routing, FED_AW_BYE);
        zloop_reader_end (self->loop, self->router);
        zsock_destroy (&self->router);
    }
    zhashx_destroy (&self->tasks);
    zhashx_destroy (&self->processes);
    zhashx_destroy (&self->budgets);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

const char *
fed_extagents_endpoint (fed_extagents_t *self)
{
    return self->endpoint;
}

void
fed_extagents_submit (fed_extagents_t *self, uint64_t id, const fed_task_spec_t *spec)
{
    self->stats.submitted++;
    static const uint8_t empty_map [] = {0x80};
    const void *params = spec->params && spec->params_size ? spec->params : empty_map;
    size_t params_size = spec->params && spec->params_size ? spec->params_size : 1;
    char why [300];
    if (fed_task_params_check (params, params_size, why, sizeof why)) {
        s_refuse (self, id, spec, "bad_params", why);
        return;
    }
    if (!s_offered (self, spec->agent, spec->version)) {
        snprintf (why, sizeof why,
                  "no built-in agent here and no connected external agent offers '%.64s'%s%.32s",
                  spec->agent, spec->version ? " at version " : "",
                  spec->version ? spec->version : "");
        s_refuse (self, id, spec, "no_agent", why);
        return;
    }
    ext_task_t *task = (ext_task_t *) fed_calloc (1, sizeof (ext_task_t));
    task->id = id;
    task->agent = fed_strdup (spec->agent);
    task->version = spec->version ? fed_strdup (spec->version) : NULL;
    task->run = fed_strdup (spec->run ? spec->run : "");
    task->step = fed_strdup (spec->step ? spec->step : "");
    task->workspace = fed_strdup (spec->workspace ? spec->workspace : "");
    task->attempt = spec->attempt;
    task->params = fed_malloc (params_size);
    memcpy (task->params, params, params_size);
    task->params_size = params_size;
    task->submitted_ms = fed_mono_ms ();
    task->deadline_ms =
        task->submitted_ms + (spec->timeout_ms > 0 ? spec->timeout_ms : DEFAULT_TIMEOUT_MS);
    char key [24];
    s_task_key (key, id);
    zhashx_insert (self->tasks, key, task);
    s_queue_push (self, task, false);
    s_dispatch (self);
}

static void
s_pack_str (msgpack_packer *pk, const char *text)
{
    msgpack_pack_str_with_body (pk, text, strlen (text));
}

void
fed_extagents_pack_processes (fed_extagents_t *self, msgpack_packer *pk)
{
    int64_t now = fed_mono_ms ();
    msgpack_pack_array (pk, (uint32_t) zhashx_size (self->processes));
    for (process_t *process = (process_t *) zhashx_first (self->processes); process;
         process = (process_t *) zhashx_next (self->processes)) {
        uint8_t key [32];
        char z85 [41] = "";
        if (fed_hex_decode (key, 32, process->user) == 0)
            fed_z85_encode_key (z85, key);
        msgpack_pack_map (pk, 7);
        s_pack_str (pk, "label");
        s_pack_str (pk, process->label);
        s_pack_str (pk, "key");
        s_pack_str (pk, z85);
        s_pack_str (pk, "slots");
        msgpack_pack_uint32 (pk, process->slots);
        s_pack_str (pk, "running");
        msgpack_pack_uint32 (pk, process->running);
        s_pack_str (pk, "agents");
        msgpack_pack_array (pk, process->agent_count);
        for (uint32_t i = 0; i < process->agent_count; i++) {
            char name [FED_AW_NAME_MAX + FED_AW_VERSION_MAX + 2];
            snprintf (name, sizeof name, "%s@%s", process->agents [i].name,
                      process->agents [i].version);
            s_pack_str (pk, name);
        }
        s_pack_str (pk, "ready_ms");
        msgpack_pack_int64 (pk, process->ready_ms);
        s_pack_str (pk, "heard_ms_ago");
        msgpack_pack_int64 (pk, now - process->last_heard_ms);
    }
}

void
fed_extagents_stats (fed_extagents_t *self, fed_extagents_stats_t *stats)
{
    *stats = self->stats;
    stats->processes = zhashx_size (self->processes);
    stats->queued = self->queued;
    stats->running = zhashx_size (self->tasks) - self->queued;
}
