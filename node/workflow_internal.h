/*  node/workflow_internal.h: what the parts of the workflow parser share.
    Not installed.

        workflow.c        the model's API, errors, memory, keys, top level and params
        workflow_value.c  scalars, values as msgpack, references, names, versions
        workflow_step.c   one step's keys: agent, needs, with, location, hitl ...
        workflow_check.c  the graph: ids, needs, cycles, order, references

    The parse works on the YAML tree (node/yamltree.h) and keeps it until the
    graph checks are done, so every error can point at its node. Memory
    the model keeps comes from one arena owned by the workflow.
*/
#ifndef FED_WORKFLOW_INTERNAL_H_INCLUDED
#define FED_WORKFLOW_INTERNAL_H_INCLUDED

#include "workflow.h"
#include "yamltree.h"

#include <msgpack.h>

typedef struct fed_wf_arena_t fed_wf_arena_t;

struct fed_workflow_t {
    fed_wf_arena_t *arena; //  every string and array below, owned
    char *source;          //  the YAML text and a NUL
    size_t source_size;
    uint8_t hash [32];
    const char *name, *version, *description;
    fed_wf_param_t *params;
    size_t param_count;
    fed_wf_step_t *steps;
    size_t step_count;
    size_t *order;     //  topological order, step_count entries
    size_t *table;     //  id hash table: step index + 1, 0 for empty
    size_t table_size; //  a power of two, at least twice step_count
};

//  Where one step came from, for the graph checks.
typedef struct {
    const fed_ynode_t *node;   //  the step's mapping (or whatever stood there)
    const fed_ynode_t *id;     //  the id's value, NULL when missing or bad
    const fed_ynode_t **needs; //  the needs entries (scalars), need_count of them
    size_t need_count;
    const fed_ynode_t *same_node_as; //  location.same_node_as's value, NULL if absent
} fed_wf_source_t;

//  A reference met while parsing, checked once the graph is known.
typedef struct {
    size_t step;        //  the step it is in
    bool is_step;       //  ${steps.ID...}; else ${params.NAME}
    const char *target; //  ID or NAME (arena)
    const char *path;   //  after "output": "" or "key.key" (arena)
    const char *text;   //  the whole "${...}" (arena), for messages
    size_t line, column;
} fed_wf_pending_t;

//  One parse.
typedef struct {
    fed_workflow_t *wf;
    const char *name;        //  file name for messages
    fed_wf_errors_t *errors; //  where errors go (the caller's, or our own)
    fed_workflow_limits_t limits;
    fed_wf_source_t *sources; //  step_count entries
    fed_wf_pending_t *refs;   //  references met
    size_t ref_count, ref_alloc;
    size_t searches; //  did-you-mean searches over step ids left
} fed_wf_parse_t;

//  --- workflow.c ----------------------------------------------------------

//  Records an error at node (NULL: the file as a whole).
void fed_wf_fail (fed_wf_parse_t *p, const fed_ynode_t *at, const char *format, ...)
    FED_PRINTF (3, 4);
//  Records an error at line, column (1-based).
void fed_wf_fail_at (fed_wf_parse_t *p, size_t line, size_t column, const char *format, ...)
    FED_PRINTF (4, 5);

//  Arena memory (zeroed), and a copy of text in it.
void *fed_wf_alloc (fed_wf_arena_t *arena, size_t size);
const char *fed_wf_strdup (fed_wf_arena_t *arena, const char *text);
//  The same without trailing white space (a description written as a
//  block scalar ends in a newline).
const char *fed_wf_strdup_trimmed (fed_wf_arena_t *arena, const char *text);

//  Checks that map's keys are text and none repeats, reporting each
//  problem; named says whose keys they are ("step 'a'"). Returns the number
//  of problems.
size_t fed_wf_check_keys (fed_wf_parse_t *p, const fed_ynode_t *map, const char *named);
//  The name of key inside named, into out: "step 'a': key 'hitl'" and
//  "approvers" give "step 'a': key 'hitl.approvers'"; "param 'n'" and
//  "type" give "param 'n': key 'type'".
void fed_wf_child_name (char *out, size_t size, const char *named, const char *key);
//  Reports an unknown key with the nearest of the count valid ones.
void fed_wf_unknown_key (fed_wf_parse_t *p, const fed_ynode_t *key, const char *named,
                         const char *const *valid, size_t count);

//  --- workflow_value.c ---------------------------------------------------

//  Scalar readers: each returns 0 with the value, or reports why not (named
//  "step 'a': key 'retries'" and so on) and returns -1.
int fed_wf_text (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, size_t max,
                 bool may_be_empty, const char **text);
int fed_wf_duration (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, int64_t min_ms,
                     int64_t max_ms, int64_t *ms);
int fed_wf_count (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, uint64_t min,
                  uint64_t max, uint64_t *count);
int fed_wf_number (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, double min,
                   double max, double *number);
int fed_wf_bool (fed_wf_parse_t *p, const fed_ynode_t *value, const char *named, bool *flag);

//  Packs a YAML value as msgpack (plain scalars resolved as YAML 1.2's core
//  schema: null, true/false, integers, floats; anything else text). With
//  step != SIZE_MAX, every string is scanned for references, recorded for
//  that step. Reports repeated or non-text map keys.
void fed_wf_pack_value (fed_wf_parse_t *p, msgpack_packer *pk, const fed_ynode_t *value,
                        const char *named, size_t step);
//  Scans text (the scalar at node) for references of step; reports bad ones.
void fed_wf_scan_refs (fed_wf_parse_t *p, const fed_ynode_t *node, const char *text,
                       const char *named, size_t step);
//  Whether value can be the default of a param of type; *why says what
//  to give instead when not.
bool fed_wf_default_fits (const fed_ynode_t *value, fed_wf_type_t type, const char **why);
//  The type a default implies when the param names none.
fed_wf_type_t fed_wf_type_of (const fed_ynode_t *value);
//  Packs a default that fits type (text stays text, an integer given for
//  a float becomes a float).
void fed_wf_pack_default (fed_wf_parse_t *p, msgpack_packer *pk, const fed_ynode_t *value,
                          fed_wf_type_t type, const char *named);

//  --- workflow_step.c -------------------------------------------------------

//  Parses steps[index] into p->wf->steps [index] and p->sources [index].
void fed_wf_parse_step (fed_wf_parse_t *p, const fed_ynode_t *node, size_t index);

//  --- workflow_check.c -----------------------------------------------------

//  Builds the id table (reporting duplicates), resolves needs (reporting
//  unknown ids), finds cycles (reporting each with its path), computes the
//  order, and checks every reference. Fills wf->table, order and each
//  step's needs and refs.
void fed_wf_check_graph (fed_wf_parse_t *p);

//  FNV-1a of text, for the id table.
uint64_t fed_wf_hash_id (const char *text);

#endif
