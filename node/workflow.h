/*  node/workflow.h: a workflow definition (DESIGN §8), parsed from YAML
    into a typed model that the executor runs.

    A workflow is a DAG of steps, each run by an agent somewhere in the
    cluster. The parser reads the whole file and reports EVERY problem it
    finds, not just the first, each as "FILE:LINE:COLUMN: what is wrong and
    what to write instead", sorted by position: unknown keys (with the
    nearest valid key), values of the wrong type, bad durations, names and
    agent names, duplicate step ids, `needs` naming no step, cycles (with
    their path), references to undeclared params or to steps that are not
    upstream, and the limits. A file that parses is a valid workflow: the
    model holds no half-checked parts.

    The YAML (doc/design.md "Workflows" has the full reference):

        name: etl                   # [a-z0-9][a-z0-9._-]*, <= 64 bytes
        version: "1.2.0"            # [A-Za-z0-9][A-Za-z0-9._+-]*, <= 32 bytes
        description: text           # optional
        params:                     # optional; each param a mapping
          rows: {type: int, default: 100, description: text}
          source: {type: string, required: true}
        steps:                      # 1 .. limits.workflow_steps
          - id: fetch               # [A-Za-z0-9_][A-Za-z0-9_-]*, <= 64 bytes, unique
            agent: sys.echo         # an agent name, as registered
            needs: [a, b]           # or one id; steps that must finish first
            with: {n: "${params.rows}", prev: "${steps.a.output.key}"}
            location: {region: edge, zone: z, site: s, node: n1,
                       labels: {gpu: a100}, near: {lat: 48.8, lon: 2.3, within_km: 50},
                       prefer: {region: r, zone: z, site: s, node: n, labels: {}}}
            retries: 3              # 0..100
            backoff: 5s             # or {initial: 1s, max: 1m, factor: 2}
            timeout: 10m            # duration with a unit
            hitl: true              # or {approvers, message, timeout, min_approvals,
                                    #     forbid_submitter, values, on_timeout}

    A duration is a whole number and a unit: 500ms, 30s, 5m, 2h, 1d (a bare
    number is refused: which unit was meant?). References are
    ${params.NAME} and ${steps.ID.output}, ${steps.ID.output.KEY[.KEY...]};
    they are allowed in the strings of `with` (at any depth) and in
    hitl.message, and $${ writes a literal ${. A step referring to another
    step's output must have it upstream: in its needs, directly or through
    other steps.

    Limits: the text at most limits.yaml_file bytes, at most
    limits.workflow_steps steps, nesting at most FED_WORKFLOW_DEPTH_MAX
    levels (fixed); anchors, aliases and tags are refused (billion laughs).

    The hash of a workflow is BLAKE2b-256 of its exact YAML bytes (what
    `b2sum -l 256 FILE` prints), not of a canonical form of the model:
    every node can check it without parsing (so nodes of different versions,
    whose parsers may differ, agree on it and on the catalog built from it),
    and what a run pins is the very text people read and reviewed, comments
    included. A reformatted file is a new definition.

    Cost: linear in the text, except the upstream check of references to
    steps that are not direct needs: one pass over steps and needs per 4,096
    distinct steps so referred to, each pass moving bitsets of up to 64
    words. Cycle detection and the topological order are one pass over steps
    and needs.

    The model is read-only once built, so threads may share it.
*/
#ifndef FED_WORKFLOW_H_INCLUDED
#define FED_WORKFLOW_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "placement.h"
#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FED_WORKFLOW_NAME_MAX 64
#define FED_WORKFLOW_VERSION_MAX 32
#define FED_WORKFLOW_ID_MAX 64   //  a step id or a param name
#define FED_WORKFLOW_TEXT_MAX 64 //  a location text: node, region, zone, site, label
#define FED_WORKFLOW_DESCRIPTION_MAX 4096
#define FED_WORKFLOW_DEPTH_MAX 32 //  YAML nesting levels (a fixed limit)
#define FED_WORKFLOW_RETRIES_MAX 100
#define FED_WORKFLOW_ERRORS_MAX 1000 //  errors kept; past it, one line counts the rest

typedef struct fed_workflow_t fed_workflow_t;
typedef struct fed_wf_errors_t fed_wf_errors_t;

//  What the parser refuses past (the node's config, limits.*).
typedef struct {
    uint64_t yaml_file;      //  bytes of YAML (limits.yaml_file)
    uint64_t workflow_steps; //  steps (limits.workflow_steps)
} fed_workflow_limits_t;

//  The limits as a config holds them.
void fed_workflow_limits_from_config (fed_workflow_limits_t *limits, const fed_config_t *config);

//  --- Errors ---------------------------------------------------------------

//  An empty list of errors. Caller owns it. Never NULL.
fed_wf_errors_t *fed_wf_errors_new (void);
//  Frees it. Accepts NULL or *self_p NULL; sets *self_p to NULL.
void fed_wf_errors_destroy (fed_wf_errors_t **self_p);
//  Lines held: the errors, in file order, and one more ("N more errors not
//  shown") when more than FED_WORKFLOW_ERRORS_MAX were found.
size_t fed_wf_errors_count (const fed_wf_errors_t *self);
//  Line index as "FILE:LINE:COLUMN: message" (or "FILE: message" for the
//  file as a whole). Borrowed; valid until the list changes.
const char *fed_wf_errors_text (const fed_wf_errors_t *self, size_t index);
//  Where line index points: 1-based, or 0 and 0 for the file as a whole.
size_t fed_wf_errors_line (const fed_wf_errors_t *self, size_t index);
size_t fed_wf_errors_column (const fed_wf_errors_t *self, size_t index);

//  --- The model ---------------------------------------------------------------
//  Every string below is NUL-terminated UTF-8 and owned by the workflow;
//  optional texts are "" when absent, never NULL.

typedef enum {
    FED_WF_STRING = 1,
    FED_WF_INT,
    FED_WF_FLOAT,
    FED_WF_BOOL,
    FED_WF_LIST,
    FED_WF_MAP
} fed_wf_type_t;

//  "string", "int", "float", "bool", "list", "map" (or "?").
const char *fed_wf_type_name (fed_wf_type_t type);

typedef struct {
    const char *name; //  [A-Za-z_][A-Za-z0-9_]*
    fed_wf_type_t type;
    bool required; //  a run must give it (then it has no default)
    const char *description;
    const uint8_t *fallback; //  the default as one msgpack value of the type; NULL when none
    size_t fallback_size;
} fed_wf_param_t;

//  Delay before retry n (1-based): initial_ms * factor^(n-1), at most max_ms.
//  Default {1000, 60000, 2}; `backoff: 5s` is {5000, 5000, 1}.
typedef struct {
    int64_t initial_ms;
    int64_t max_ms;
    double factor; //  1..100
} fed_wf_backoff_t;

typedef enum {
    FED_WF_ON_TIMEOUT_REJECT = 1, //  the default
    FED_WF_ON_TIMEOUT_APPROVE,
    FED_WF_ON_TIMEOUT_ESCALATE
} fed_wf_on_timeout_t;

//  One entry of hitl.approvers: a role name or a key.
typedef struct {
    bool is_role;
    fed_role_t role;  //  when is_role: admin, operator or approver
    uint8_t key [32]; //  else: an ed25519 public key (written as 40 Z85 or 64 hex)
    const char *text; //  as written
} fed_wf_approver_t;

//  A step's human approval. enabled false: the step has none.
typedef struct {
    bool enabled;
    const fed_wf_approver_t *approvers; //  none: any key with the approver role
    size_t approver_count;
    const char *message;       //  shown to approvers; may hold references
    int64_t timeout_ms;        //  0: waits until decided
    uint32_t min_approvals;    //  distinct approvers needed, 1 by default
    bool forbid_submitter;     //  the key that started the run may not approve
    const char *const *values; //  the values an approval may carry; none: no value
    size_t value_count;
    fed_wf_on_timeout_t on_timeout; //  what a timeout decides (only with timeout_ms)
} fed_wf_hitl_t;

//  A reference found in a step's `with` or hitl.message.
typedef struct {
    bool is_step;     //  ${steps.ID.output...}; else ${params.NAME}
    size_t step;      //  is_step: the index of step ID
    const char *name; //  is_step: the path after "output" ("" for all of it, else "key" or
                      //  "a.b"); else the param's name
} fed_wf_ref_t;

typedef struct {
    const char *id;
    const char *agent; //  "" only for a hitl step without an agent: an approval gate,
                       //  whose output is the decision
    const char *description;
    const size_t *needs; //  indices of the steps it needs, in the order written
    size_t need_count;
    const uint8_t *with;      //  msgpack map of the agent's params ("\x80" when absent);
    size_t with_size;         //  its strings may hold references, resolved at run time
    const fed_wf_ref_t *refs; //  the references in with and hitl.message
    size_t ref_count;
    //  Where it may run, ready for fed_placement_decide (strings and labels
    //  owned by the workflow; NULL or "" means any).
    fed_placement_where_t require;
    fed_placement_near_t near;
    fed_placement_where_t prefer;
    //  location.same_node_as: runs on the node where this step of its needs
    //  completed (the data it left stays there); SIZE_MAX when not given.
    size_t same_node_as;
    uint32_t retries; //  extra attempts after a failure, 0..100
    fed_wf_backoff_t backoff;
    int64_t timeout_ms; //  per attempt; 0 when not given (the executor's default)
    fed_wf_hitl_t hitl;
    size_t line, column; //  where the step starts in the file
} fed_wf_step_t;

//  Parses size bytes of YAML (no NUL needed); name stands for the file in
//  messages. limits NULL: the defaults (1 MiB, 10,000 steps). Returns the
//  workflow (caller owns it and destroys it with fed_workflow_destroy), or
//  NULL when the text is not a valid workflow; errors (may be NULL) is
//  emptied first and then receives every error found. Never fails
//  otherwise (out-of-memory aborts).
fed_workflow_t *fed_workflow_parse (const char *text, size_t size, const char *name,
                                    const fed_workflow_limits_t *limits, fed_wf_errors_t *errors);

//  Reads the file at path and parses it, path standing for it in messages.
//  A file that cannot be read, or holds more than limits->yaml_file bytes,
//  is one error. Returns as fed_workflow_parse.
fed_workflow_t *fed_workflow_load (const char *path, const fed_workflow_limits_t *limits,
                                   fed_wf_errors_t *errors);

//  Frees the workflow. Accepts NULL or *self_p NULL; sets *self_p to NULL.
void fed_workflow_destroy (fed_workflow_t **self_p);

const char *fed_workflow_name (const fed_workflow_t *self);
const char *fed_workflow_version (const fed_workflow_t *self);
const char *fed_workflow_description (const fed_workflow_t *self);

size_t fed_workflow_param_count (const fed_workflow_t *self);
//  Param index (< count), in the order written. Borrowed.
const fed_wf_param_t *fed_workflow_param (const fed_workflow_t *self, size_t index);
//  The param called name, or NULL.
const fed_wf_param_t *fed_workflow_param_find (const fed_workflow_t *self, const char *name);

size_t fed_workflow_step_count (const fed_workflow_t *self);
//  Step index (< count), in the order written. Borrowed.
const fed_wf_step_t *fed_workflow_step (const fed_workflow_t *self, size_t index);
//  The index of the step with id, or SIZE_MAX. O(1).
size_t fed_workflow_step_find (const fed_workflow_t *self, const char *id);
//  The steps in a topological order: every step after all the steps it
//  needs (Kahn's algorithm with a first-in-first-out queue seeded in the
//  order written, so the same file always gives the same order). count
//  entries, borrowed.
const size_t *fed_workflow_order (const fed_workflow_t *self);

//  The definition's hash: BLAKE2b-256 of the YAML bytes (32 bytes, borrowed).
const uint8_t *fed_workflow_hash (const fed_workflow_t *self);
//  The YAML text as given (size bytes and a NUL after them). Borrowed.
const char *fed_workflow_source (const fed_workflow_t *self, size_t *size);

//  BLAKE2b-256 of size bytes of text into hash: the workflow hash of that
//  text, computed without parsing it.
void fed_workflow_hash_text (const void *text, size_t size, uint8_t hash [32]);

//  True for a workflow name: 1 to 64 of [a-z0-9._-], starting with a letter
//  or digit (the agent-name rule). size bytes at name; no NUL needed.
bool fed_workflow_name_valid (const char *name, size_t size);
//  True for a version: 1 to 32 of [A-Za-z0-9._+-], starting with a letter
//  or digit.
bool fed_workflow_version_valid (const char *version, size_t size);

//  Orders two versions, "semver-ish": build metadata (from '+') is ignored;
//  the rest splits at its first '-' into release and pre-release; releases
//  compare field by field ('.'-separated, a missing field counting as 0),
//  then a version with a pre-release sorts before the same release without
//  one, and pre-releases compare field by field (a missing field sorting
//  first). Fields compare naturally: runs of digits as numbers, other runs
//  bytewise, digits before letters. So 1.9 < 1.10 < 2, 1.0-rc.2 < 1.0-rc.10
//  < 1.0, and 1.0 = 1.0.0 = 1.0+build7. Returns <0, 0 or >0.
int fed_workflow_version_cmp (const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif
