/*  agents/agentset.c: a small array of agent records with their strings
    copied. Sets hold a handful of agents, so lookups are linear.
*/
#include "agentset.h"

#include <ctype.h>
#include <string.h>

#define MAX_NAME 64
#define MAX_VERSION 32
#define MAX_CAPABILITIES 32

struct fed_agentset_t {
    fed_agent_t *agents; //  records whose strings and lists this set owns
    size_t size;         //  records in use
    size_t capacity;     //  records allocated
};

fed_agentset_t *
fed_agentset_new (void)
{
    return (fed_agentset_t *) fed_calloc (1, sizeof (fed_agentset_t));
}

//  Frees what a copied record owns.
static void
s_record_free (fed_agent_t *record)
{
    free ((char *) record->name);
    free ((char *) record->version);
    free ((char *) record->description);
    if (record->capabilities) {
        for (size_t i = 0; record->capabilities [i]; i++)
            free ((char *) record->capabilities [i]);
        free ((char **) record->capabilities);
    }
}

void
fed_agentset_destroy (fed_agentset_t **self_p)
{
    if (self_p && *self_p) {
        fed_agentset_t *self = *self_p;
        for (size_t i = 0; i < self->size; i++)
            s_record_free (&self->agents [i]);
        free (self->agents);
        free (self);
        *self_p = NULL;
    }
}

bool
fed_agentset_name_valid (const char *name)
{
    if (!name || !*name || strlen (name) > MAX_NAME)
        return false;
    if (!islower ((unsigned char) name [0]) && !isdigit ((unsigned char) name [0]))
        return false;
    for (const char *p = name; *p; p++)
        if (!islower ((unsigned char) *p) && !isdigit ((unsigned char) *p) && !strchr ("._-", *p))
            return false;
    return true;
}

static bool
s_version_valid (const char *version)
{
    if (!version || !*version || strlen (version) > MAX_VERSION)
        return false;
    for (const char *p = version; *p; p++)
        if (!isgraph ((unsigned char) *p))
            return false;
    return true;
}

//  Appends a deep copy of agent, which has been checked.
static void
s_append (fed_agentset_t *self, const fed_agent_t *agent)
{
    if (self->size == self->capacity) {
        self->capacity = self->capacity ? 2 * self->capacity : 8;
        self->agents =
            (fed_agent_t *) fed_realloc (self->agents, self->capacity * sizeof (fed_agent_t));
    }
    fed_agent_t *copy = &self->agents [self->size++];
    *copy = *agent;
    copy->name = fed_strdup (agent->name);
    copy->version = fed_strdup (agent->version);
    copy->description = agent->description ? fed_strdup (agent->description) : NULL;
    size_t count = 0;
    while (agent->capabilities && agent->capabilities [count])
        count++;
    char **capabilities = (char **) fed_calloc (count + 1, sizeof (char *));
    for (size_t i = 0; i < count; i++)
        capabilities [i] = fed_strdup (agent->capabilities [i]);
    copy->capabilities = (const char *const *) capabilities;
}

int
fed_agentset_add (fed_agentset_t *self, const fed_agent_t *agent, fed_err_t *err)
{
    const char *name = agent->name ? agent->name : "(null)";
    if (!fed_agentset_name_valid (agent->name)) {
        fed_err_set (err, -1,
                     "agent name \"%s\" is not valid: use 1 to %d chars of a-z, 0-9, '.', '_', "
                     "'-', starting with a letter or digit",
                     name, MAX_NAME);
        return -1;
    }
    if (!s_version_valid (agent->version)) {
        fed_err_set (err, -1,
                     "agent %s: version \"%s\" is not valid: use 1 to %d printable chars, no "
                     "spaces",
                     name, agent->version ? agent->version : "(null)", MAX_VERSION);
        return -1;
    }
    if (!agent->fn) {
        fed_err_set (err, -1, "agent %s: no function to run", name);
        return -1;
    }
    if (agent->timeout_ms < 0) {
        fed_err_set (err, -1, "agent %s: timeout %lld ms is negative (0 means the pool's default)",
                     name, (long long) agent->timeout_ms);
        return -1;
    }
    size_t count = 0;
    for (; agent->capabilities && agent->capabilities [count]; count++)
        if (!fed_agentset_name_valid (agent->capabilities [count])) {
            fed_err_set (err, -1, "agent %s: capability \"%s\" is not a valid name", name,
                         agent->capabilities [count]);
            return -1;
        }
    if (count > MAX_CAPABILITIES) {
        fed_err_set (err, -1, "agent %s: %zu capabilities, at most %d", name, count,
                     MAX_CAPABILITIES);
        return -1;
    }
    if (fed_agentset_find (self, agent->name)) {
        fed_err_set (err, -1, "agent %s is already registered (one version per name)", name);
        return -1;
    }
    s_append (self, agent);
    return 0;
}

fed_agentset_t *
fed_agentset_dup (const fed_agentset_t *self)
{
    fed_agentset_t *copy = fed_agentset_new ();
    for (size_t i = 0; i < self->size; i++)
        s_append (copy, &self->agents [i]);
    return copy;
}

const fed_agent_t *
fed_agentset_find (const fed_agentset_t *self, const char *name)
{
    for (size_t i = 0; name && i < self->size; i++)
        if (strcmp (self->agents [i].name, name) == 0)
            return &self->agents [i];
    return NULL;
}

size_t
fed_agentset_size (const fed_agentset_t *self)
{
    return self->size;
}

const fed_agent_t *
fed_agentset_at (const fed_agentset_t *self, size_t index)
{
    return index < self->size ? &self->agents [index] : NULL;
}
