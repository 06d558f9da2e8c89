/*  agents/agentset.h: the agents built into this process, by name.

    A set of fed_agent_t records (agents/agent.h) with their names checked
    and their strings copied. The node fills one at start-up (for example
    with fed_sys_register) and hands it to fed_pool_new, which takes its own
    copy, so the set may be changed or destroyed afterwards without touching
    a running pool. Names are unique within a set: one version per name.

    Not thread-safe; nothing in it changes once it is handed over.
*/
#ifndef FED_AGENTSET_H_INCLUDED
#define FED_AGENTSET_H_INCLUDED

#include "agent.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_agentset_t fed_agentset_t;

//  An empty set. Caller owns it.
fed_agentset_t *fed_agentset_new (void);
//  Accepts NULL; sets *self_p to NULL.
void fed_agentset_destroy (fed_agentset_t **self_p);
//  A deep copy (strings and capability lists; fn and arg as they are).
//  Caller owns it.
fed_agentset_t *fed_agentset_dup (const fed_agentset_t *self);

//  Adds a copy of agent. Returns 0, or -1 with err when the name or version
//  is not valid (agent.h says what is), fn is NULL, the timeout negative, a
//  capability not a valid name, or an agent of that name is already in the
//  set.
int fed_agentset_add (fed_agentset_t *self, const fed_agent_t *agent, fed_err_t *err) FED_MUST_USE;

//  The record of name, or NULL. The record belongs to the set.
const fed_agent_t *fed_agentset_find (const fed_agentset_t *self, const char *name);
//  Number of agents, and the one at index (in the order added; NULL past
//  the end). Records belong to the set.
size_t fed_agentset_size (const fed_agentset_t *self);
const fed_agent_t *fed_agentset_at (const fed_agentset_t *self, size_t index);

//  True if name is a valid agent or capability name.
bool fed_agentset_name_valid (const char *name);

#ifdef __cplusplus
}
#endif
#endif
