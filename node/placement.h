/*  node/placement.h: where a workflow step runs (DESIGN §8), as a pure
    function.

    The caller lists the candidates, one per agent on a node (what the
    registry and the member table say), and the step's constraints; the
    function picks one candidate or says, in a sentence with the numbers,
    why the step has to wait. It reads no registry, no clock and no socket,
    allocates nothing and keeps nothing, so the coordinator can call it
    again whenever the registry or the membership changes, and tests can
    call it on tables of cases.

    Filters, in this order; a candidate must pass all of them, and a step
    that no candidate passes waits for the reason of the first filter that
    left none (counting the nodes that passed every filter before it):

      agent       its name equals the step's agent
      version     its version equals the step's, when the step gives one
      capability  it has every capability the step lists
      live        its node is alive or suspect (not dead, left or unknown)
      available   the registry marks it available
      node        the step's node, when given, is its node's name or id
      region      its region equals the step's, when given
      zone        likewise
      site        likewise
      labels      it has every label key=value the step lists
      near        it has coordinates, and is within within_km of the
                  step's point (haversine, inclusive)

    Location: a candidate's region, zone, site, coordinates and labels are
    its agent's own where the agent states them, else its node's (DESIGN
    §8: "an agent inherits it unless it states its own"). Field by field:
    a region, zone or site is the agent's if non-empty; the coordinates
    are the agent's if it gives both lat and lon, else the node's if it
    gives both, else none; a label is the agent's value for its key if the
    agent has the key, else the node's. Coordinates that are not finite
    numbers within ±90 / ±180 degrees count as none.

    Ranking of the candidates that pass, first key first:

      1. alive before suspect: a suspect node is usually about to be
         declared dead, and a step sent there costs a timeout and a
         reassignment; but it may also be a false suspicion, so when only
         suspects pass the step goes to one rather than wait.
      2. exact match: the most of the step's preferences met (below).
      3. distance to the step's near point, in whole kilometres (floor),
         nearest first; only when the step gives near. Whole kilometres, so
         that the nodes of one site, whose coordinates differ by metres,
         tie and are spread by the keys below.
      4. fewest active steps.
      5. a stable hash: the first 16 bytes of BLAKE2b (crypto_generichash)
         of run id, NUL, step id, NUL, node id (32 bytes); smallest first.
         The same on every node and independent of the candidates' order,
         and different for each run, so equal nodes share the runs.
      6. for two agents on one node: the higher version (strverscmp), then
         the lower index (only identical duplicates get this far).

    Preferences: DESIGN §8 ranks by "exact match" after filtering on the
    same keys, which would make that key a constant. Here the step's
    location has two parts: `require` (the filters above) and `prefer`, the
    same keys (node, region, zone, site, labels) as wishes. A candidate
    scores one point for each preference it meets (each label counts one);
    an exact match meets them all. A step with no preferences ranks every
    candidate equal on this key.

    Candidates are expected one per (agent name, node), so the sentences
    count them as nodes; a node listed twice for one agent is counted twice
    there (the choice is unaffected: key 6).

    The step and the candidates are borrowed for the call. One call touches
    only its arguments, so calls may run in parallel on different results.
*/
#ifndef FED_PLACEMENT_H_INCLUDED
#define FED_PLACEMENT_H_INCLUDED

#include "util.h"
#include "wire.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Mean Earth radius in km (IUGG's R1 = (2a + b) / 3 of WGS 84), the
//  radius that makes the haversine error against the ellipsoid smallest on
//  average (at most about 0.5%).
#define FED_EARTH_RADIUS_KM 6371.0088

//  Great-circle distance in km between two points given in degrees
//  (latitude north, longitude east), on a sphere of FED_EARTH_RADIUS_KM.
//  No range checks: NaN in gives NaN out; any finite degrees work.
double fed_haversine_km (double lat1, double lon1, double lat2, double lon2);

//  A label, key=value; both strings borrowed.
typedef struct {
    const char *key;
    const char *value;
} fed_placement_label_t;

//  Where a node or an agent is. Strings borrowed; NULL or "" means unset.
typedef struct {
    const char *region;
    const char *zone;
    const char *site;
    bool has_lat, has_lon;
    double lat, lon; //  degrees
    const fed_placement_label_t *labels;
    size_t label_count;
} fed_placement_location_t;

//  What a step asks of a location, as filter (require) or wish (prefer).
//  Strings borrowed; NULL or "" means "any". node is a node's name, or its
//  id as 64 hex or 40 Z85 characters: a node matches if either is equal.
typedef struct {
    const char *node;
    const char *region;
    const char *zone;
    const char *site;
    const fed_placement_label_t *labels; //  all must match; key non-empty,
    size_t label_count;                  //  value non-NULL ("" is a value)
} fed_placement_where_t;

//  The step's `near`: within within_km of (lat, lon), in degrees.
typedef struct {
    bool given;
    double lat, lon;  //  -90..90, -180..180
    double within_km; //  > 0
} fed_placement_near_t;

//  One step to place. Strings borrowed.
typedef struct {
    const char *run_id;              //  non-empty; hashed for the tie-break
    const char *step_id;             //  non-empty; likewise
    const char *agent;               //  non-empty
    const char *version;             //  NULL or "": any version
    const char *const *capabilities; //  each non-empty; the agent needs all
    size_t capability_count;
    fed_placement_where_t require; //  filters
    fed_placement_near_t near;     //  filter, and ranking by distance
    fed_placement_where_t prefer;  //  ranking: more met first
} fed_placement_step_t;

//  One agent on one node. Strings borrowed; a NULL string reads as "".
//  These come from replicated events, so nothing in them is trusted: bad
//  coordinates count as none, a state outside the enum as not live.
typedef struct {
    uint8_t node_id [32]; //  ed25519 public key
    const char *node_name;
    fed_wire_state_t node_state; //  as this node's member table has it
    fed_placement_location_t node_location;
    const char *agent_name;
    const char *agent_version;
    const char *const *capabilities;
    size_t capability_count;
    fed_placement_location_t agent_location; //  its own, where it states it
    bool available;                          //  the registry's status says it takes steps
    uint32_t active_steps;                   //  steps assigned to the node, not finished
} fed_placement_candidate_t;

//  Why a step waits; FED_PLACEMENT_PLACED when it does not. The order is
//  the order of the filters.
typedef enum {
    FED_PLACEMENT_PLACED = 0,
    FED_PLACEMENT_NO_AGENT,       //  no candidate has the agent's name
    FED_PLACEMENT_NO_VERSION,     //  none at the step's version
    FED_PLACEMENT_NO_CAPABILITY,  //  none with every capability
    FED_PLACEMENT_NOT_LIVE,       //  every host is dead, left or unknown
    FED_PLACEMENT_UNAVAILABLE,    //  no live host has the agent available
    FED_PLACEMENT_NO_NODE,        //  the step's node is not among them
    FED_PLACEMENT_NO_REGION,      //  none in the step's region
    FED_PLACEMENT_NO_ZONE,        //  none in the step's zone
    FED_PLACEMENT_NO_SITE,        //  none at the step's site
    FED_PLACEMENT_NO_LABELS,      //  none with every label
    FED_PLACEMENT_NO_COORDINATES, //  near given, none has coordinates
    FED_PLACEMENT_TOO_FAR,        //  none within within_km
    FED_PLACEMENT_REASONS         //  number of values; not a reason
} fed_placement_reason_t;

typedef struct {
    fed_placement_reason_t reason; //  PLACED, or why the step waits
    size_t index;                  //  PLACED: the chosen candidate; else SIZE_MAX
    size_t eligible;               //  candidates that passed every filter
    uint32_t preferences_met;      //  PLACED: the chosen one's score
    double distance_km;            //  PLACED with near: its distance; else NAN
    char text [512];               //  a sentence for people: where and why,
                                   //  or why it waits, with the numbers
} fed_placement_result_t;

//  Places step among count candidates (NULL when count is 0): fills
//  result with the chosen candidate or with the reason the step waits.
//  Deterministic: the same step and the same set of candidates, in any
//  order, give the same node. Allocates nothing; step and candidates are
//  borrowed and unchanged. Returns 0 when result holds a decision (placed
//  or waiting), or -1 with err (result then says nothing) when the step is
//  malformed: empty run id, step id or agent, an empty capability or label
//  key, a NULL label value, or a near point whose lat/lon is not a finite
//  number within ±90 / ±180 or whose within_km is not a finite number > 0.
//  Cost: one string compare per candidate, the other filters on the
//  agent's hosts, a haversine on those that reach `near`, a BLAKE2b on
//  those that tie on every key before it, and one sentence.
int fed_placement_decide (const fed_placement_step_t *step,
                          const fed_placement_candidate_t *candidates, size_t count,
                          fed_placement_result_t *result, fed_err_t *err) FED_MUST_USE;

//  A short stable name for reason ("placed", "no-agent", ..., "too-far"),
//  for JSON and logs; "unknown" for a value outside the enum. Static string.
const char *fed_placement_reason_name (fed_placement_reason_t reason);

#ifdef __cplusplus
}
#endif
#endif
