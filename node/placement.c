/*  node/placement.c: placing a step on a node. See placement.h for the
    filters, the ranking and why.

    One pass over the candidates. Each candidate whose agent name matches
    goes through the filters in order (s_check) and stops at the first it
    fails; the pass counts how many stop at each filter and keeps, per
    filter, the little it takes to explain a wait (the distinct regions
    seen, the states, the nearest distance...). If none passes, every host
    stopped at or before the last filter any of them reached, so that
    filter is the reason and its notes describe exactly the hosts that
    reached it: no second pass. Candidates that pass are compared with the
    best so far; the BLAKE2b tie-break is computed only on a tie, and the
    hash state of run‖step is prepared once per call.
*/
#include "placement.h"

#include <assert.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

//  The filters, in order; S_PASSED last. FED_PLACEMENT_NO_VERSION + stage
//  is the reason a step waits when no host gets past stage.
typedef enum {
    S_VERSION,
    S_CAPABILITY,
    S_LIVE,
    S_AVAILABLE,
    S_NODE,
    S_REGION,
    S_ZONE,
    S_SITE,
    S_LABELS,
    S_COORDINATES,
    S_NEAR,
    S_PASSED
} s_stage_t;

#define S_VALUES_MAX 4  //  distinct values a sentence names
#define S_COUNTED_MAX 8 //  capabilities and labels a sentence counts
#define S_HASH_SIZE 16  //  bytes of the BLAKE2b tie-break (its minimum size)
#define S_NAME_MAX 64   //  bytes of a name or value printed in a sentence

//  Distinct strings seen: the S_VALUES_MAX smallest, sorted (borrowed).
typedef struct {
    const char *values [S_VALUES_MAX];
    size_t kept;
    bool more; //  there are distinct values beyond these
    size_t unset;
} s_values_t;

//  What a decision knows about the step, prepared once.
typedef struct {
    const fed_placement_step_t *step;
    bool by_version;
    bool require_id, prefer_id; //  the node is given as a decodable id
    uint8_t require_node [32], prefer_node [32];
    double near_lat, near_lon; //  radians
    double near_cos;
    crypto_generichash_state hash; //  after run‖NUL‖step‖NUL
} s_ctx_t;

//  A candidate that passed, with its ranking keys.
typedef struct {
    size_t index;
    bool suspect;
    uint32_t score;
    double km;    //  distance floored to whole km; 0 without near
    double exact; //  the distance itself, for the result
    uint32_t active;
    bool hashed;
    uint8_t hash [S_HASH_SIZE];
} s_rank_t;

//  What the pass noted for the sentence of each filter.
typedef struct {
    size_t stopped [S_PASSED + 1]; //  hosts stopped at each filter; [S_PASSED]: passed
    size_t hosts;                  //  candidates with the agent's name
    s_values_t versions;
    size_t capability_had [S_COUNTED_MAX]; //  hosts at S_CAPABILITY with each one
    size_t dead, left, unknown;
    s_values_t places [3]; //  regions, zones, sites of the hosts stopped there
    s_values_t names;      //  node names of the hosts stopped at S_NODE
    s_stage_t pinned;      //  farthest a host on the step's node got; S_PASSED: none
    size_t label_had [S_COUNTED_MAX];
    double nearest_km; //  among those stopped at S_NEAR
    const fed_placement_candidate_t *nearest;
} s_notes_t;

//  Text being built into a fixed buffer; truncated, never overrun.
typedef struct {
    char *text;
    size_t size, used;
} s_say_t;

static const char *const s_reason_names [FED_PLACEMENT_REASONS] = {
    "placed",      "no-agent",       "no-version", "no-capability", "not-live",
    "unavailable", "no-node",        "no-region",  "no-zone",       "no-site",
    "no-labels",   "no-coordinates", "too-far"};

double
fed_haversine_km (double lat1, double lon1, double lat2, double lon2)
{
    const double rad = M_PI / 180.0;
    double dlat = sin ((lat2 - lat1) * rad / 2);
    double dlon = sin ((lon2 - lon1) * rad / 2);
    double a = dlat * dlat + cos (lat1 * rad) * cos (lat2 * rad) * dlon * dlon;
    //  Rounding can take a just past 1 for antipodes; asin would give NaN.
    //  (Written so that a NaN a stays NaN.)
    return 2 * FED_EARTH_RADIUS_KM * asin (sqrt (a > 1 ? 1 : a));
}

const char *
fed_placement_reason_name (fed_placement_reason_t reason)
{
    return (unsigned) reason < FED_PLACEMENT_REASONS ? s_reason_names [reason] : "unknown";
}

//  --- Reading a candidate ------------------------------------------------------

static const char *
s_str (const char *text)
{
    return text ? text : "";
}

static bool
s_given (const char *text)
{
    return text && *text;
}

//  The agent's own field when it states one, else its node's.
static const char *
s_field (const char *own, const char *node)
{
    return s_given (own) ? own : s_str (node);
}

static bool
s_valid_point (double lat, double lon)
{
    return isfinite (lat) && isfinite (lon) && fabs (lat) <= 90 && fabs (lon) <= 180;
}

//  The candidate's coordinates (agent's, else node's). False when none.
static bool
s_coords (const fed_placement_candidate_t *c, double *lat, double *lon)
{
    const fed_placement_location_t *at = &c->agent_location;
    if (!(at->has_lat && at->has_lon))
        at = &c->node_location;
    if (!(at->has_lat && at->has_lon) || !s_valid_point (at->lat, at->lon))
        return false;
    *lat = at->lat;
    *lon = at->lon;
    return true;
}

//  Value of label key in location, or NULL.
static const char *
s_label_in (const fed_placement_location_t *location, const char *key)
{
    for (size_t i = 0; i < location->label_count; i++)
        if (location->labels [i].key && strcmp (location->labels [i].key, key) == 0)
            return s_str (location->labels [i].value);
    return NULL;
}

//  The candidate's value for label key (agent's, else node's), or NULL.
static const char *
s_label (const fed_placement_candidate_t *c, const char *key)
{
    const char *value = s_label_in (&c->agent_location, key);
    return value ? value : s_label_in (&c->node_location, key);
}

static bool
s_label_is (const fed_placement_candidate_t *c, const fed_placement_label_t *label)
{
    const char *value = s_label (c, label->key);
    return value && strcmp (value, label->value) == 0;
}

static bool
s_has_capability (const fed_placement_candidate_t *c, const char *capability)
{
    for (size_t i = 0; i < c->capability_count; i++)
        if (c->capabilities [i] && strcmp (c->capabilities [i], capability) == 0)
            return true;
    return false;
}

//  Whether the candidate's node is the one named (by name, or by id when
//  the name decoded as one).
static bool
s_node_is (const fed_placement_candidate_t *c, const char *node, bool by_id, const uint8_t id [32])
{
    return strcmp (s_str (c->node_name), node) == 0 || (by_id && memcmp (c->node_id, id, 32) == 0);
}

static bool
s_live (fed_wire_state_t state)
{
    return state == FED_WIRE_ALIVE || state == FED_WIRE_SUSPECT;
}

//  --- Filters and ranking ------------------------------------------------------

//  Runs the filters on a host of the agent; returns the first it fails, or
//  S_PASSED. *km is the distance when the near filter ran.
static s_stage_t
s_check (const s_ctx_t *ctx, const fed_placement_candidate_t *c, double *km)
{
    const fed_placement_step_t *step = ctx->step;
    const fed_placement_where_t *want = &step->require;
    if (ctx->by_version && strcmp (s_str (c->agent_version), step->version) != 0)
        return S_VERSION;
    for (size_t i = 0; i < step->capability_count; i++)
        if (!s_has_capability (c, step->capabilities [i]))
            return S_CAPABILITY;
    if (!s_live (c->node_state))
        return S_LIVE;
    if (!c->available)
        return S_AVAILABLE;
    if (s_given (want->node) && !s_node_is (c, want->node, ctx->require_id, ctx->require_node))
        return S_NODE;
    if (s_given (want->region)
        && strcmp (s_field (c->agent_location.region, c->node_location.region), want->region))
        return S_REGION;
    if (s_given (want->zone)
        && strcmp (s_field (c->agent_location.zone, c->node_location.zone), want->zone))
        return S_ZONE;
    if (s_given (want->site)
        && strcmp (s_field (c->agent_location.site, c->node_location.site), want->site))
        return S_SITE;
    for (size_t i = 0; i < want->label_count; i++)
        if (!s_label_is (c, &want->labels [i]))
            return S_LABELS;
    if (step->near.given) {
        double lat, lon;
        if (!s_coords (c, &lat, &lon))
            return S_COORDINATES;
        //  fed_haversine_km with the step's half prepared once.
        const double rad = M_PI / 180.0;
        double dlat = sin ((lat * rad - ctx->near_lat) / 2);
        double dlon = sin ((lon * rad - ctx->near_lon) / 2);
        double a = dlat * dlat + ctx->near_cos * cos (lat * rad) * dlon * dlon;
        *km = 2 * FED_EARTH_RADIUS_KM * asin (sqrt (a > 1 ? 1 : a));
        if (!(*km <= step->near.within_km))
            return S_NEAR;
    }
    return S_PASSED;
}

//  How many of the step's preferences the candidate meets.
static uint32_t
s_score (const s_ctx_t *ctx, const fed_placement_candidate_t *c)
{
    const fed_placement_where_t *wish = &ctx->step->prefer;
    uint32_t score = 0;
    if (s_given (wish->node) && s_node_is (c, wish->node, ctx->prefer_id, ctx->prefer_node))
        score++;
    if (s_given (wish->region)
        && strcmp (s_field (c->agent_location.region, c->node_location.region), wish->region) == 0)
        score++;
    if (s_given (wish->zone)
        && strcmp (s_field (c->agent_location.zone, c->node_location.zone), wish->zone) == 0)
        score++;
    if (s_given (wish->site)
        && strcmp (s_field (c->agent_location.site, c->node_location.site), wish->site) == 0)
        score++;
    for (size_t i = 0; i < wish->label_count; i++)
        if (s_label_is (c, &wish->labels [i]))
            score++;
    return score;
}

static void
s_hash (const s_ctx_t *ctx, const fed_placement_candidate_t *candidates, s_rank_t *rank)
{
    if (rank->hashed)
        return;
    crypto_generichash_state state = ctx->hash;
    crypto_generichash_update (&state, candidates [rank->index].node_id, 32);
    crypto_generichash_final (&state, rank->hash, S_HASH_SIZE);
    rank->hashed = true;
}

//  True when a ranks before b (placement.h, keys 1 to 6).
static bool
s_before (const s_ctx_t *ctx, const fed_placement_candidate_t *candidates, s_rank_t *a, s_rank_t *b)
{
    if (a->suspect != b->suspect)
        return !a->suspect;
    if (a->score != b->score)
        return a->score > b->score;
    if (a->km != b->km)
        return a->km < b->km;
    if (a->active != b->active)
        return a->active < b->active;
    s_hash (ctx, candidates, a);
    s_hash (ctx, candidates, b);
    int order = memcmp (a->hash, b->hash, S_HASH_SIZE);
    if (order)
        return order < 0;
    order = strverscmp (s_str (candidates [a->index].agent_version),
                        s_str (candidates [b->index].agent_version));
    if (order)
        return order > 0;
    return a->index < b->index;
}

//  --- Notes for the sentence ---------------------------------------------------

//  Keeps the S_VALUES_MAX smallest distinct values, sorted, so that the
//  sentence does not depend on the candidates' order.
static void
s_values_add (s_values_t *self, const char *value)
{
    if (!*value) {
        self->unset++;
        return;
    }
    size_t at = 0;
    int order = 1;
    while (at < self->kept && (order = strcmp (self->values [at], value)) < 0)
        at++;
    if (at < self->kept && order == 0)
        return;
    if (self->kept == S_VALUES_MAX) {
        self->more = true; //  more than S_VALUES_MAX distinct values exist
        if (at == S_VALUES_MAX)
            return;
        self->kept--;
    }
    memmove (self->values + at + 1, self->values + at, (self->kept - at) * sizeof (char *));
    self->values [at] = value;
    self->kept++;
}

//  Notes what explains a host stopping at stage.
static void
s_note (const s_ctx_t *ctx, s_notes_t *notes, const fed_placement_candidate_t *c, s_stage_t stage,
        double km)
{
    const fed_placement_step_t *step = ctx->step;
    notes->stopped [stage]++;
    //  A host on the step's node that stopped earlier: its reason is news.
    if (stage < S_NODE && s_given (step->require.node)
        && s_node_is (c, step->require.node, ctx->require_id, ctx->require_node)
        && (notes->pinned == S_PASSED || stage > notes->pinned))
        notes->pinned = stage;
    switch (stage) {
        case S_VERSION: s_values_add (&notes->versions, s_str (c->agent_version)); break;
        case S_CAPABILITY:
            for (size_t i = 0; i < step->capability_count && i < S_COUNTED_MAX; i++)
                notes->capability_had [i] += s_has_capability (c, step->capabilities [i]);
            break;
        case S_LIVE:
            if (c->node_state == FED_WIRE_DEAD)
                notes->dead++;
            else if (c->node_state == FED_WIRE_LEFT)
                notes->left++;
            else
                notes->unknown++;
            break;
        case S_NODE: s_values_add (&notes->names, s_str (c->node_name)); break;
        case S_REGION:
            s_values_add (&notes->places [0],
                          s_field (c->agent_location.region, c->node_location.region));
            break;
        case S_ZONE:
            s_values_add (&notes->places [1],
                          s_field (c->agent_location.zone, c->node_location.zone));
            break;
        case S_SITE:
            s_values_add (&notes->places [2],
                          s_field (c->agent_location.site, c->node_location.site));
            break;
        case S_LABELS:
            for (size_t i = 0; i < step->require.label_count && i < S_COUNTED_MAX; i++)
                notes->label_had [i] += s_label_is (c, &step->require.labels [i]);
            break;
        case S_NEAR:
            //  Nearest first; on equal distance the smaller node id, so the
            //  sentence does not depend on the candidates' order.
            if (!notes->nearest || km < notes->nearest_km
                || (km == notes->nearest_km
                    && memcmp (c->node_id, notes->nearest->node_id, 32) < 0)) {
                notes->nearest_km = km;
                notes->nearest = c;
            }
            break;
        case S_AVAILABLE:
        case S_COORDINATES:
        case S_PASSED: break;
    }
}

//  --- Sentences ----------------------------------------------------------------

static void s_say (s_say_t *self, const char *format, ...) FED_PRINTF (2, 3);

static void
s_say (s_say_t *self, const char *format, ...)
{
    if (self->used >= self->size - 1)
        return;
    va_list args;
    va_start (args, format);
    int wrote = vsnprintf (self->text + self->used, self->size - self->used, format, args);
    va_end (args);
    if (wrote > 0)
        self->used +=
            (size_t) wrote < self->size - self->used ? (size_t) wrote : self->size - 1 - self->used;
}

//  "3 nodes host data.clean 1.2" / "1 live node hosts data.clean".
static void
s_say_hosts (s_say_t *say, const fed_placement_step_t *step, size_t count, bool live)
{
    s_say (say, "%zu %snode%s host%s %.*s", count, live ? "live " : "", count == 1 ? "" : "s",
           count == 1 ? "s" : "", S_NAME_MAX, step->agent);
    if (s_given (step->version))
        s_say (say, " %.*s", S_NAME_MAX, step->version);
}

//  ", on node n1, in region eu-west, in zone a" for the location filters
//  given and passed before stage.
static void
s_say_passed (s_say_t *say, const fed_placement_step_t *step, s_stage_t stage)
{
    const fed_placement_where_t *want = &step->require;
    if (stage > S_NODE && s_given (want->node))
        s_say (say, ", on node %.*s", S_NAME_MAX, want->node);
    if (stage > S_REGION && s_given (want->region))
        s_say (say, ", in region %.*s", S_NAME_MAX, want->region);
    if (stage > S_ZONE && s_given (want->zone))
        s_say (say, ", in zone %.*s", S_NAME_MAX, want->zone);
    if (stage > S_SITE && s_given (want->site))
        s_say (say, ", at site %.*s", S_NAME_MAX, want->site);
    if (stage > S_LABELS && want->label_count)
        s_say (say, ", with label%s", want->label_count == 1 ? "" : "s");
    for (size_t i = 0; stage > S_LABELS && i < want->label_count; i++)
        s_say (say, "%s %.*s=%.*s", i ? "," : "", S_NAME_MAX, want->labels [i].key, S_NAME_MAX,
               want->labels [i].value);
}

//  " (they are in ap-south, us-east, 1 with no region)"; " (2 with no region)".
static void
s_say_values (s_say_t *say, const s_values_t *values, const char *lead, const char *unset)
{
    s_say (say, " (%s", values->kept ? lead : "");
    for (size_t i = 0; i < values->kept; i++)
        s_say (say, "%s%.*s", i ? ", " : "", S_NAME_MAX, values->values [i]);
    if (values->more)
        s_say (say, " and more");
    if (values->unset)
        s_say (say, "%s%zu with %s", values->kept ? ", " : "", values->unset, unset);
    s_say (say, ")");
}

//  Counts "gpu: 1 of 3, fp16: 0 of 3" for the first S_COUNTED_MAX of names.
static void
s_say_counts (s_say_t *say, const char *const *names, const fed_placement_label_t *labels,
              size_t count, const size_t *had, size_t of)
{
    s_say (say, " (");
    for (size_t i = 0; i < count && i < S_COUNTED_MAX; i++) {
        if (names)
            s_say (say, "%s%.*s: %zu of %zu", i ? ", " : "", S_NAME_MAX, names [i], had [i], of);
        else
            s_say (say, "%s%.*s=%.*s: %zu of %zu", i ? ", " : "", S_NAME_MAX, labels [i].key,
                   S_NAME_MAX, labels [i].value, had [i], of);
    }
    s_say (say, "%s)", count > S_COUNTED_MAX ? ", ..." : "");
}

static const char *
s_stage_words (s_stage_t stage)
{
    switch (stage) {
        case S_VERSION: return "is at another version";
        case S_CAPABILITY: return "lacks a capability";
        case S_LIVE: return "is not alive";
        case S_AVAILABLE: return "does not have it available";
        default: return "";
    }
}

//  Why the step waits, when no host got past stage.
static void
s_explain (const s_ctx_t *ctx, const s_notes_t *notes, s_stage_t stage, s_say_t *say)
{
    const fed_placement_step_t *step = ctx->step;
    const fed_placement_where_t *want = &step->require;
    size_t count = notes->stopped [stage];
    if (stage <= S_LIVE) {
        //  Hosts, whatever their state.
        s_say (say, "%zu node%s host%s %.*s", count, count == 1 ? "" : "s", count == 1 ? "s" : "",
               S_NAME_MAX, step->agent);
        if (stage > S_VERSION && s_given (step->version))
            s_say (say, " %.*s", S_NAME_MAX, step->version);
    } else
        s_say_hosts (say, step, count, true);
    s_say_passed (say, step, stage);
    switch (stage) {
        case S_VERSION:
            s_say (say, " but none at version %.*s", S_NAME_MAX, step->version);
            s_say_values (say, &notes->versions, "they have ", "no version");
            break;
        case S_CAPABILITY:
            s_say (say, " but none has every capability the step needs");
            s_say_counts (say, step->capabilities, NULL, step->capability_count,
                          notes->capability_had, count);
            break;
        case S_LIVE:
            s_say (say, " but none is alive (");
            if (notes->dead)
                s_say (say, "%zu dead", notes->dead);
            if (notes->left)
                s_say (say, "%s%zu left", notes->dead ? ", " : "", notes->left);
            if (notes->unknown)
                s_say (say, "%s%zu in no known state", notes->dead + notes->left ? ", " : "",
                       notes->unknown);
            s_say (say, ")");
            break;
        case S_AVAILABLE: s_say (say, " but none has it available"); break;
        case S_NODE:
            s_say (say, " but none is node %.*s", S_NAME_MAX, want->node);
            s_say_values (say, &notes->names, "they are ", "no name");
            if (notes->pinned != S_PASSED)
                s_say (say, "; %.*s hosts it but %s", S_NAME_MAX, want->node,
                       s_stage_words (notes->pinned));
            break;
        case S_REGION:
            s_say (say, " but none is in region %.*s", S_NAME_MAX, want->region);
            s_say_values (say, &notes->places [0], "they are in ", "no region");
            break;
        case S_ZONE:
            s_say (say, " but none is in zone %.*s", S_NAME_MAX, want->zone);
            s_say_values (say, &notes->places [1], "they are in ", "no zone");
            break;
        case S_SITE:
            s_say (say, " but none is at site %.*s", S_NAME_MAX, want->site);
            s_say_values (say, &notes->places [2], "they are at ", "no site");
            break;
        case S_LABELS:
            s_say (say, " but none has every label the step needs");
            s_say_counts (say, NULL, want->labels, want->label_count, notes->label_had, count);
            break;
        case S_COORDINATES:
            s_say (say,
                   " but none states coordinates (lat and lon), so none can be within %g km "
                   "of (%g, %g)",
                   step->near.within_km, step->near.lat, step->near.lon);
            break;
        case S_NEAR:
            s_say (say,
                   " but none within %g km of (%g, %g): the nearest is %.1f km away (node %.*s)",
                   step->near.within_km, step->near.lat, step->near.lon, notes->nearest_km,
                   S_NAME_MAX, s_str (notes->nearest->node_name));
            break;
        case S_PASSED: break;
    }
}

static void
s_explain_placed (const s_ctx_t *ctx, const fed_placement_candidate_t *c, const s_rank_t *best,
                  const s_notes_t *notes, s_say_t *say)
{
    const fed_placement_step_t *step = ctx->step;
    s_say (say, "node %.*s (%s", S_NAME_MAX, s_str (c->node_name),
           best->suspect ? "suspect" : "alive");
    size_t wishes = (s_given (step->prefer.node) ? 1 : 0) + (s_given (step->prefer.region) ? 1 : 0)
        + (s_given (step->prefer.zone) ? 1 : 0) + (s_given (step->prefer.site) ? 1 : 0)
        + step->prefer.label_count;
    if (wishes)
        s_say (say, ", %u of %zu preferences", best->score, wishes);
    if (step->near.given)
        s_say (say, ", %.1f km", best->exact);
    s_say (say, ", %u active step%s): first of %zu eligible among %zu hosting %.*s", best->active,
           best->active == 1 ? "" : "s", notes->stopped [S_PASSED], notes->hosts, S_NAME_MAX,
           step->agent);
}

//  --- Deciding -----------------------------------------------------------------

//  Checks one where (require or prefer); -1 with err naming it.
static int
s_check_where (const fed_placement_where_t *where, const char *name, fed_err_t *err)
{
    for (size_t i = 0; i < where->label_count; i++) {
        if (!where->labels || !s_given (where->labels [i].key)) {
            fed_err_set (err, 0, "placement: %s label %zu has an empty key", name, i + 1);
            return -1;
        }
        if (!where->labels [i].value) {
            fed_err_set (err, 0, "placement: %s label %s has no value (\"\" is one)", name,
                         where->labels [i].key);
            return -1;
        }
    }
    return 0;
}

static int
s_check_step (const fed_placement_step_t *step, const fed_placement_candidate_t *candidates,
              size_t count, fed_err_t *err)
{
    if (!s_given (step->run_id) || !s_given (step->step_id)) {
        fed_err_set (err, 0, "placement: the step's %s id is empty",
                     s_given (step->run_id) ? "step" : "run");
        return -1;
    }
    if (!s_given (step->agent)) {
        fed_err_set (err, 0, "placement: step %s names no agent", step->step_id);
        return -1;
    }
    for (size_t i = 0; i < step->capability_count; i++)
        if (!step->capabilities || !s_given (step->capabilities [i])) {
            fed_err_set (err, 0, "placement: step %s: capability %zu is empty", step->step_id,
                         i + 1);
            return -1;
        }
    if (s_check_where (&step->require, "required", err)
        || s_check_where (&step->prefer, "preferred", err))
        return -1;
    const fed_placement_near_t *near = &step->near;
    if (near->given && !s_valid_point (near->lat, near->lon)) {
        fed_err_set (err, 0,
                     "placement: step %s: near (%g, %g) is not a point: lat must be a number "
                     "in -90..90 and lon in -180..180",
                     step->step_id, near->lat, near->lon);
        return -1;
    }
    if (near->given && !(isfinite (near->within_km) && near->within_km > 0)) {
        fed_err_set (err, 0, "placement: step %s: near.within_km is %g; it must be a number > 0",
                     step->step_id, near->within_km);
        return -1;
    }
    if (count && !candidates) {
        fed_err_set (err, 0, "placement: %zu candidates given as NULL", count);
        return -1;
    }
    return 0;
}

static void
s_ctx_init (s_ctx_t *ctx, const fed_placement_step_t *step)
{
    memset (ctx, 0, sizeof *ctx);
    ctx->step = step;
    ctx->by_version = s_given (step->version);
    ctx->require_id =
        s_given (step->require.node) && fed_key_decode (ctx->require_node, step->require.node) == 0;
    ctx->prefer_id =
        s_given (step->prefer.node) && fed_key_decode (ctx->prefer_node, step->prefer.node) == 0;
    if (step->near.given) {
        ctx->near_lat = step->near.lat * M_PI / 180.0;
        ctx->near_lon = step->near.lon * M_PI / 180.0;
        ctx->near_cos = cos (ctx->near_lat);
    }
    static const uint8_t nul = 0;
    crypto_generichash_init (&ctx->hash, NULL, 0, S_HASH_SIZE);
    crypto_generichash_update (&ctx->hash, (const uint8_t *) step->run_id, strlen (step->run_id));
    crypto_generichash_update (&ctx->hash, &nul, 1);
    crypto_generichash_update (&ctx->hash, (const uint8_t *) step->step_id, strlen (step->step_id));
    crypto_generichash_update (&ctx->hash, &nul, 1);
}

int
fed_placement_decide (const fed_placement_step_t *step, const fed_placement_candidate_t *candidates,
                      size_t count, fed_placement_result_t *result, fed_err_t *err)
{
    assert (step && result);
    if (s_check_step (step, candidates, count, err))
        return -1;
    s_ctx_t ctx;
    s_ctx_init (&ctx, step);
    s_notes_t notes;
    memset (&notes, 0, sizeof notes);
    notes.pinned = S_PASSED;
    s_rank_t best = {0};
    bool have_best = false;
    for (size_t i = 0; i < count; i++) {
        const fed_placement_candidate_t *c = &candidates [i];
        if (!c->agent_name || strcmp (c->agent_name, step->agent) != 0)
            continue;
        notes.hosts++;
        double km = NAN;
        s_stage_t stage = s_check (&ctx, c, &km);
        s_note (&ctx, &notes, c, stage, km);
        if (stage != S_PASSED)
            continue;
        s_rank_t rank = {.index = i,
                         .suspect = c->node_state == FED_WIRE_SUSPECT,
                         .score = s_score (&ctx, c),
                         .km = step->near.given ? floor (km) : 0,
                         .exact = km,
                         .active = c->active_steps};
        if (!have_best || s_before (&ctx, candidates, &rank, &best)) {
            best = rank;
            have_best = true;
        }
    }
    memset (result, 0, sizeof *result);
    s_say_t say = {result->text, sizeof result->text, 0};
    result->index = SIZE_MAX;
    result->distance_km = NAN;
    result->eligible = notes.stopped [S_PASSED];
    if (have_best) {
        result->reason = FED_PLACEMENT_PLACED;
        result->index = best.index;
        result->preferences_met = best.score;
        result->distance_km = best.exact;
        s_explain_placed (&ctx, &candidates [best.index], &best, &notes, &say);
    } else if (notes.hosts == 0) {
        result->reason = FED_PLACEMENT_NO_AGENT;
        s_say (&say, "no agent %.*s is registered", S_NAME_MAX, step->agent);
    } else {
        //  Every host stopped somewhere; the farthest stop is the reason.
        s_stage_t stage = S_NEAR;
        while (notes.stopped [stage] == 0)
            stage--;
        result->reason = (fed_placement_reason_t) (FED_PLACEMENT_NO_VERSION + stage);
        s_explain (&ctx, &notes, stage, &say);
    }
    return 0;
}
