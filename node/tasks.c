/*  node/tasks.c: the node's built-in agents at work (see tasks.h). */
#include "tasks.h"
#include "node_internal.h"
#include "control.h"
#include "registry.h"
#include "extagents.h"
#include "executor.h"
#include "data.h"
#include "sys.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEPT_MAX 256 //  final reports kept until collected

struct fed_tasks_t {
    fed_node_t *node; //  borrowed
    zloop_t *loop;    //  borrowed
    fed_agentset_t *agents;
    fed_data_config_t data; //  the data.* agents' arg (roots borrowed from the config)
    fed_pool_t *pool;
    fed_extagents_t *external;     //  the agent endpoint and external agents, owned
    uint64_t next_id;              //  the node's task ids, over pool and external agents
    zhashx_t *pool_ids;            //  pool task id -> node task id, while it runs
    fed_report_t *kept [KEPT_MAX]; //  final reports not collected yet, owned
    size_t kept_count;
};

//  Keeps a final report until it is collected (takes report).
static void
s_keep (fed_tasks_t *self, fed_report_t *report)
{
    //  A workflow step's task: the executor writes its outcome.
    if (*fed_report_run (report) && self->node->executor) {
        fed_executor_task_report (self->node->executor, &report);
        return;
    }
    if (!fed_report_is_final (report)) {
        fed_report_destroy (&report); //  progress: nobody asks for it yet
        return;
    }
    if (self->kept_count == KEPT_MAX) {
        //  Nobody collected the oldest: drop it.
        fed_report_destroy (&self->kept [0]);
        memmove (self->kept, self->kept + 1, (KEPT_MAX - 1) * sizeof (fed_report_t *));
        self->kept_count--;
    }
    self->kept [self->kept_count++] = report;
    //  A control request may be parked on this result.
    fed_control_log_changed (self->node->control);
}

static void
s_pool_key (char key [24], uint64_t pool_id)
{
    snprintf (key, 24, "%llu", (unsigned long long) pool_id);
}

//  A report from the pool: renumbered with the node's id for the task.
static int
s_on_pool_report (zloop_t *loop, zsock_t *socket, void *arg)
{
    fed_tasks_t *self = (fed_tasks_t *) arg;
    fed_report_t *report = fed_pool_recv (self->pool);
    if (!report)
        return 0;
    char key [24];
    s_pool_key (key, fed_report_task (report));
    uintptr_t id = (uintptr_t) zhashx_lookup (self->pool_ids, key);
    if (!id) {
        fed_report_destroy (&report); //  not submitted through here: a bug
        return 0;
    }
    fed_report_set_task (report, id);
    if (fed_report_is_final (report))
        zhashx_delete (self->pool_ids, key);
    s_keep (self, report);
    return 0;
}

static void
s_on_external_report (void *arg, fed_report_t *report)
{
    s_keep ((fed_tasks_t *) arg, report);
}

fed_tasks_t *
fed_tasks_new (fed_node_t *node, zloop_t *loop, fed_err_t *err)
{
    fed_tasks_t *self = (fed_tasks_t *) fed_calloc (1, sizeof (fed_tasks_t));
    self->node = node;
    self->loop = loop;
    self->agents = fed_agentset_new ();
    if (fed_sys_register (self->agents, err))
        goto err;
    const fed_config_t *config = node->config;
    self->data.roots = (const char *const *) config->agents.data_roots;
    self->data.root_count = config->agents.data_root_count;
    self->data.memory_budget = config->agents.data_memory;
    if (fed_data_register (self->agents, &self->data, err))
        goto err;
    //  The embedding program's agents (fed_node_register_agent), checked
    //  there; the set is fixed once the node starts.
    for (size_t i = 0; i < fed_agentset_size (node->agents); i++)
        if (fed_agentset_add (self->agents, fed_agentset_at (node->agents, i), err))
            goto err;
    fed_pool_options_t options;
    fed_pool_options_default (&options);
    options.size = node->config->agents.workers;
    self->pool = fed_pool_new (self->agents, &options, err);
    if (!self->pool)
        goto err;
    self->pool_ids = zhashx_new ();
    zloop_reader (loop, fed_pool_socket (self->pool), s_on_pool_report, self);
    self->external = fed_extagents_new (node, loop, self->agents, s_on_external_report, self, err);
    if (!self->external || fed_extagents_deregister_stale (self->external, err))
        goto err;
    return self;
err:
    fed_tasks_destroy (&self);
    return NULL;
}

void
fed_tasks_destroy (fed_tasks_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_tasks_t *self = *self_p;
    fed_extagents_destroy (&self->external);
    if (self->pool) {
        zloop_reader_end (self->loop, fed_pool_socket (self->pool));
        fed_pool_destroy (&self->pool);
    }
    for (size_t i = 0; i < self->kept_count; i++)
        fed_report_destroy (&self->kept [i]);
    zhashx_destroy (&self->pool_ids);
    fed_agentset_destroy (&self->agents);
    free (self);
    *self_p = NULL;
}

//  The registry record of a built-in agent hosted here (location: the node's).
static void
s_record_of (fed_tasks_t *self, const fed_agent_t *agent, fed_agent_record_t *record)
{
    memset (record, 0, sizeof *record);
    snprintf (record->name, sizeof record->name, "%s", agent->name);
    snprintf (record->version, sizeof record->version, "%s", agent->version);
    memcpy (record->node, fed_identity_public (self->node->identity), 32);
    record->kind = FED_AGENT_BUILTIN;
    for (size_t i = 0; agent->capabilities && agent->capabilities [i] && i < FED_AGENT_CAPS_MAX;
         i++)
        snprintf (record->capabilities [record->capability_count++],
                  sizeof record->capabilities [0], "%s", agent->capabilities [i]);
}

int
fed_tasks_register_builtins (fed_tasks_t *self, fed_err_t *err)
{
    fed_evlog_t *log = self->node->log;
    const uint8_t *me = fed_identity_public (self->node->identity);
    fed_agent_record_t *want = (fed_agent_record_t *) fed_malloc (sizeof *want);
    fed_agent_record_t *have = (fed_agent_record_t *) fed_malloc (sizeof *have);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < fed_agentset_size (self->agents); i++) {
        s_record_of (self, fed_agentset_at (self->agents, i), want);
        int found = fed_registry_find (log, me, want->name, have, err);
        if (found < 0)
            rc = -1;
        else if (found == 0 || !fed_agent_record_same (want, have)) {
            msgpack_sbuffer body;
            msgpack_sbuffer_init (&body);
            rc = fed_agent_record_encode (want, &body, err);
            if (rc == 0)
                rc = fed_node_append_local (self->node, "agent.registered", body.data, body.size,
                                            NULL, NULL, err);
            msgpack_sbuffer_destroy (&body);
        }
    }
    //  Built-ins registered here by an earlier run that this one lacks.
    fed_agent_name_t *names = NULL;
    size_t count = 0;
    if (rc == 0 && fed_registry_hosted (log, me, FED_AGENT_BUILTIN, &names, &count, err))
        rc = -1;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (fed_agentset_find (self->agents, names [i]))
            continue;
        msgpack_sbuffer body;
        msgpack_sbuffer_init (&body);
        fed_agent_deregistered_encode (me, names [i], &body);
        rc = fed_node_append_local (self->node, "agent.deregistered", body.data, body.size, NULL,
                                    NULL, err);
        msgpack_sbuffer_destroy (&body);
    }
    free (names);
    free (want);
    free (have);
    return rc;
}

uint64_t
fed_tasks_submit (fed_tasks_t *self, const fed_task_spec_t *spec)
{
    uint64_t id = ++self->next_id;
    if (fed_agentset_find (self->agents, spec->agent)) {
        char key [24];
        s_pool_key (key, fed_pool_submit (self->pool, spec));
        zhashx_insert (self->pool_ids, key, (void *) (uintptr_t) id);
    } else
        fed_extagents_submit (self->external, id, spec);
    return id;
}

void
fed_tasks_external_stats (fed_tasks_t *self, fed_extagents_stats_t *stats)
{
    fed_extagents_stats (self->external, stats);
}

void
fed_tasks_pack_processes (fed_tasks_t *self, msgpack_packer *pk)
{
    fed_extagents_pack_processes (self->external, pk);
}

const char *
fed_tasks_agent_endpoint (fed_tasks_t *self)
{
    return fed_extagents_endpoint (self->external);
}

const fed_report_t *
fed_tasks_result (fed_tasks_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->kept_count; i++)
        if (fed_report_task (self->kept [i]) == id)
            return self->kept [i];
    return NULL;
}

void
fed_tasks_forget (fed_tasks_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->kept_count; i++)
        if (fed_report_task (self->kept [i]) == id) {
            fed_report_destroy (&self->kept [i]);
            memmove (self->kept + i, self->kept + i + 1,
                     (self->kept_count - i - 1) * sizeof (fed_report_t *));
            self->kept_count--;
            return;
        }
}

void
fed_tasks_cancel (fed_tasks_t *self, uint64_t id)
{
    zlistx_t *keys = zhashx_keys (self->pool_ids);
    for (const char *key = (const char *) zlistx_first (keys); key;
         key = (const char *) zlistx_next (keys))
        if ((uintptr_t) zhashx_lookup (self->pool_ids, key) == id) {
            fed_pool_cancel (self->pool, strtoull (key, NULL, 10));
            break;
        }
    zlistx_destroy (&keys);
}

void
fed_tasks_stats (fed_tasks_t *self, fed_pool_stats_t *stats)
{
    fed_pool_stats (self->pool, stats);
}
