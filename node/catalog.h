/*  node/catalog.h: the workflow catalog (DESIGN §8), a view folded from
    workflow.published events, so that every node holds every published
    workflow and can show it, and (later) run it.

    workflow.published body (a msgpack map; unknown keys are ignored):
        name          str: a workflow name (fed_workflow_name_valid)
        version       str: a version (fed_workflow_version_valid)
        hash          bin 32: BLAKE2b-256 of yaml (fed_workflow_hash_text)
        yaml          str: the definition, byte for byte as published
        published_by  bin 32, optional: the key that asked the node to
                      publish it (the control caller)

    The fold checks the body's shape and that hash is the hash of yaml; it
    does not parse the YAML. The publishing node validated it, and the
    parser's rules may differ between fednode versions: a view that
    depended on them would not converge across a cluster being upgraded.
    Whoever runs a workflow parses it then.

    Versions are immutable. The catalog keeps every publication of a (name,
    version), one per distinct hash, each as its first publication (the
    smallest (hlc, origin) among the events that published that hash), and
    the one that stands is the first of them all: a later publication with
    other content (from two nodes publishing during a partition, or from a
    buggy or hostile node) never displaces it, and is listed as a conflict.
    A node refuses to publish a version it already holds with other content
    (doc/protocol.md §3.4 workflow.publish). Each record is a function of
    the set of events alone, so the view converges.

    The latest version of a name is its highest release by
    fed_workflow_version_cmp ("semver-ish": 1.10 after 1.9), pre-releases
    (1.0-rc.1) counting only when a name has nothing else, as `helm` and
    `npm` do: publishing 2.0-beta does not make it what runs by default.
    Versions equal under the order (1.0 and 1.0.0) go by when they were
    first published, the later being the latest.

    View "workflow" (version 1):
        p/NAME/VERSION/HASH(32) -> hlc(8) ‖ origin(32) ‖ {by: bin 32 | nil}
        h/HASH(32)              -> the YAML bytes
*/
#ifndef FED_CATALOG_H_INCLUDED
#define FED_CATALOG_H_INCLUDED

#include <msgpack.h>

#include "evlog.h"
#include "workflow.h"

#ifdef __cplusplus
extern "C" {
#endif

//  A decoded workflow.published body.
typedef struct {
    char name [FED_WORKFLOW_NAME_MAX + 1];
    char version [FED_WORKFLOW_VERSION_MAX + 1];
    uint8_t hash [32];
    const char *yaml; //  borrowed from the body; yaml_size bytes, no NUL
    size_t yaml_size;
    bool has_publisher;
    uint8_t published_by [32];
} fed_catalog_body_t;

//  Decodes and checks a workflow.published body: types, names, yaml valid
//  UTF-8 without NUL, and hash = BLAKE2b-256 of yaml. Returns 0, or -1 with
//  err naming the field.
int fed_catalog_body_decode (const uint8_t *body, size_t size, fed_catalog_body_t *out,
                             fed_err_t *err) FED_MUST_USE;

//  Packs the workflow.published body of wf (its name, version, hash and
//  source) into buffer (appended; caller owns buffer). published_by may be
//  NULL.
void fed_catalog_body_encode (const fed_workflow_t *wf, const uint8_t *published_by,
                              msgpack_sbuffer *buffer);

//  Registers the "workflow" view on log. Call before the log takes events.
int fed_catalog_register (fed_evlog_t *log, fed_err_t *err) FED_MUST_USE;

//  One publication, as the catalog holds it.
typedef struct {
    char name [FED_WORKFLOW_NAME_MAX + 1];
    char version [FED_WORKFLOW_VERSION_MAX + 1];
    uint8_t hash [32];
    uint64_t hlc;         //  of the first event that published it
    uint8_t origin [32];  //  the node that wrote that event
    int64_t published_ms; //  wall clock of that event (from its hlc)
    bool has_publisher;
    uint8_t published_by [32];
} fed_catalog_entry_t;

//  One version of a workflow: the publication that stands, and how many
//  others (other content) were refused.
typedef struct {
    fed_catalog_entry_t entry;
    bool latest;      //  the latest version of its name
    size_t conflicts; //  other publications of this version
} fed_catalog_version_t;

//  The catalog, or one name's part of it (name NULL or ""): each version
//  once, by name (bytewise), then version (fed_workflow_version_cmp, ties
//  by first publication). Returns 0 with *versions_p (caller frees it;
//  NULL when *count_p is 0), or -1 with err on a storage error.
int fed_catalog_list (fed_evlog_t *log, const char *name, fed_catalog_version_t **versions_p,
                      size_t *count_p, fed_err_t *err) FED_MUST_USE;

//  name@version, or name's latest version (version NULL or ""). Returns 1
//  with *found; *others_p (caller frees, may be NULL) gets the refused
//  publications of that version, first published first, and *other_count_p
//  their number (others_p NULL: not wanted); 0 when there is none; -1 with
//  err on a storage error.
int fed_catalog_find (fed_evlog_t *log, const char *name, const char *version,
                      fed_catalog_version_t *found, fed_catalog_entry_t **others_p,
                      size_t *other_count_p, fed_err_t *err) FED_MUST_USE;

//  The text published under hash. Returns 1 with *yaml_p (caller frees; a
//  NUL follows the size bytes), 0 when the catalog has no such text, -1
//  with err on a storage error.
int fed_catalog_source (fed_evlog_t *log, const uint8_t hash [32], char **yaml_p, size_t *size_p,
                        fed_err_t *err) FED_MUST_USE;

#ifdef __cplusplus
}
#endif
#endif
