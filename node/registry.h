/*  node/registry.h: the agent registry, a view folded from the log
    (DESIGN §8, doc/protocol.md §2 agent.registered / agent.deregistered).

    Every node folds the same events into the same registry: one entry per
    (node, agent name), a last-writer-wins register on (hlc, origin), so
    nodes that hold the same events list the same agents whatever order
    the events came in. Only a node speaks for its own agents: an event
    whose `node` is not its origin is ignored by the view.

    agent.registered body (a msgpack map; unknown keys are ignored):
        name          str, 1..64 of [a-z0-9._-], starting with a letter or digit
        version       str, 1..32
        node          bin 32, the hosting node's key (must be the event's origin)
        kind          "builtin" | "external" | "edge"
        capabilities  array ≤ 32 of str 1..64 (optional)
        location      map (optional): region, zone, site (str ≤ 64 or nil),
                      lat (-90..90), lon (-180..180) (number or nil),
                      labels (map ≤ 32 of str ≤ 64 → str ≤ 64)
    agent.deregistered body: {name, node}.

    An agent without a location inherits its node's (from node.started);
    fed_registry_scan hands over the record as written, and
    fed_agent_effective_location resolves the inheritance.
*/
#ifndef FED_REGISTRY_H_INCLUDED
#define FED_REGISTRY_H_INCLUDED

#include <msgpack.h>
#include "evlog.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FED_AGENT_NAME_MAX 64
#define FED_AGENT_VERSION_MAX 32
#define FED_AGENT_TEXT_MAX 64 //  capability, region, zone, site, label key and value
#define FED_AGENT_CAPS_MAX 32
#define FED_AGENT_LABELS_MAX 32

typedef enum { FED_AGENT_BUILTIN = 1, FED_AGENT_EXTERNAL, FED_AGENT_EDGE } fed_agent_kind_t;

//  "builtin", "external", "edge" (or "?").
const char *fed_agent_kind_name (fed_agent_kind_t kind);

typedef struct {
    char region [FED_AGENT_TEXT_MAX + 1], zone [FED_AGENT_TEXT_MAX + 1],
        site [FED_AGENT_TEXT_MAX + 1]; //  "" when unset
    bool has_lat, has_lon;
    double lat, lon;
    uint32_t label_count;
    char label_keys [FED_AGENT_LABELS_MAX][FED_AGENT_TEXT_MAX + 1];
    char label_values [FED_AGENT_LABELS_MAX][FED_AGENT_TEXT_MAX + 1];
} fed_agent_location_t;

//  Decodes a location map (the shape node.started also uses) at the
//  reader's position. Returns 0, or -1 with err naming the field and limit.
int fed_agent_location_read (fed_mpr_t *reader, fed_agent_location_t *location,
                             fed_err_t *err) FED_MUST_USE;
//  Packs location as a map of 6 (empty texts and missing coordinates as nil).
void fed_agent_location_pack (msgpack_packer *pk, const fed_agent_location_t *location);

typedef struct {
    char name [FED_AGENT_NAME_MAX + 1];
    char version [FED_AGENT_VERSION_MAX + 1];
    uint8_t node [32];
    fed_agent_kind_t kind;
    uint32_t capability_count;
    char capabilities [FED_AGENT_CAPS_MAX][FED_AGENT_TEXT_MAX + 1];
    bool has_location; //  else: the node's location applies
    fed_agent_location_t location;
    int64_t registered_ms; //  wall clock of the registering event (from its HLC)
} fed_agent_record_t;

//  Decodes and checks an agent.registered body. Returns 0, or -1 with err
//  saying which field is wrong and why.
int fed_agent_record_decode (const uint8_t *body, size_t size, fed_agent_record_t *record,
                             fed_err_t *err) FED_MUST_USE;
//  Checks record and packs it as an agent.registered body into buffer
//  (appended; the caller owns buffer). Returns 0, or -1 with err.
int fed_agent_record_encode (const fed_agent_record_t *record, msgpack_sbuffer *buffer,
                             fed_err_t *err) FED_MUST_USE;
//  True when a and b describe the same agent as registered: name, version,
//  kind, capabilities (in order) and own location (node and time aside).
bool fed_agent_record_same (const fed_agent_record_t *a, const fed_agent_record_t *b);

//  Packs an agent.deregistered body for (node, name) into buffer.
void fed_agent_deregistered_encode (const uint8_t node [32], const char *name,
                                    msgpack_sbuffer *buffer);

//  Registers the "agent" view on log. Call before the log takes events
//  (a new or changed view is refolded from the whole log).
int fed_registry_register (fed_evlog_t *log, fed_err_t *err) FED_MUST_USE;

//  Called per registered agent (deregistered ones are skipped), in
//  (node, name) order; record is borrowed for the call. Non-zero stops.
typedef int (fed_registry_each_fn) (void *arg, const fed_agent_record_t *record);
//  Returns 0 (or what each returned to stop), -1 on a storage error.
int fed_registry_scan (fed_evlog_t *log, fed_registry_each_fn *each, void *arg,
                       fed_err_t *err) FED_MUST_USE;

//  The names of the agents node hosts with kind (registered, not
//  deregistered), in name order: *names_p is one allocation of *count_p
//  names (NULL when none), which the caller frees. 0, or -1 on a storage
//  error.
typedef char fed_agent_name_t [FED_AGENT_NAME_MAX + 1];
int fed_registry_hosted (fed_evlog_t *log, const uint8_t node [32], fed_agent_kind_t kind,
                         fed_agent_name_t **names_p, size_t *count_p, fed_err_t *err) FED_MUST_USE;

//  The agent node/name as registered, into *record. Returns 1 found, 0
//  absent or deregistered, -1 on a storage error.
int fed_registry_find (fed_evlog_t *log, const uint8_t node [32], const char *name,
                       fed_agent_record_t *record, fed_err_t *err) FED_MUST_USE;

//  What node's node.started says: its name into name (size bytes, "" when
//  absent; name may be NULL) and its location. Returns true when the record
//  holds a readable location (else *location is empty). One view read.
bool fed_registry_node (fed_evlog_t *log, const uint8_t node [32], char *name, size_t name_size,
                        fed_agent_location_t *location);

//  The location that applies to record: its own, else its node's (from
//  the nodes view), else an empty one. Returns true when one was found.
bool fed_agent_effective_location (fed_evlog_t *log, const fed_agent_record_t *record,
                                   fed_agent_location_t *location);

//  A filter for listings: every set field must match. NULL/"" = any.
typedef struct {
    const char *name;       //  exact agent name
    const char *capability; //  one of the agent's capabilities
    const char *region;     //  the effective location's region
    const char *kind;       //  "builtin", "external" or "edge"
    uint32_t label_count;   //  each label_keys[i]=label_values[i] must be present
    const char *const *label_keys;
    const char *const *label_values;
} fed_agent_filter_t;

//  True if record (with its effective location) passes filter.
bool fed_agent_matches (const fed_agent_record_t *record, const fed_agent_location_t *location,
                        const fed_agent_filter_t *filter);

#ifdef __cplusplus
}
#endif
#endif
