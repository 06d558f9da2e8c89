/*  tests/unit/test_placement.c: placing a step (node/placement.h).

    Most cases are rows of one table over one small world of eight nodes in
    real cities: the step, an optional change to the world (a node dead, an
    agent unavailable), and the node expected or the reason the step waits
    with words its sentence must hold. Each row runs as its own test. The
    rest check what a table cannot: haversine against WGS 84 distances, a
    node named by its id, that the choice does not depend on the
    candidates' order, that the tie-break is the BLAKE2b rule and spreads
    runs evenly, and that malformed steps are refused with a message.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>
#include <sodium.h>

#include "testutil.h"

#include "placement.h"

//  --- The world -----------------------------------------------------------------

typedef struct {
    const char *name;
    const char *region, *zone, *site;
    bool coords;
    double lat, lon;
    fed_placement_label_t labels [2];
    size_t label_count;
    uint32_t active;
} s_node_t;

#define PARIS 48.8566, 2.3522
#define LONDON 51.5074, -0.1278
#define LYON 45.7640, 4.8357
#define MARSEILLE 43.2965, 5.3698

enum { PARIS_1, PARIS_2, LYON_1, LONDON_1, BERLIN_1, NYC_1, TOKYO_1, NOCOORD_1, NODES };

static const s_node_t s_nodes [NODES] = {
    {"paris-1", "eu-west", "fr-a", "par1", true, PARIS, {{"tier", "gold"}, {"gpu", "a100"}}, 2, 3},
    //  About 340 m from paris-1: the same whole kilometre from Paris.
    {"paris-2", "eu-west", "fr-a", "par2", true, 48.8590, 2.3550, {{"tier", "silver"}}, 1, 1},
    {"lyon-1", "eu-west", "fr-b", "lyo1", true, LYON, {{"tier", "gold"}}, 1, 2},
    {"london-1", "eu-north", "uk-a", "lon1", true, LONDON, {{"gpu", "a100"}}, 1, 4},
    {"berlin-1", "eu-central", "de-a", "ber1", true, 52.5200, 13.4050, {{0}}, 0, 0},
    {"nyc-1", "us-east", "us-a", "nyc1", true, 40.7128, -74.0060, {{0}}, 0, 0},
    {"tokyo-1", "ap-north", "jp-a", "tyo1", true, 35.6762, 139.6503, {{0}}, 0, 1},
    {"nocoord-1", "eu-west", "fr-c", "par9", false, 0, 0, {{0}}, 0, 0},
};

static const char *const s_gpu_fp16 [] = {"gpu", "fp16"};
static const char *const s_gpu [] = {"gpu"};
static const fed_placement_label_t s_bronze [] = {{"tier", "bronze"}};

typedef struct {
    const char *name;
    const char *version;
    int node;
    const char *const *capabilities;
    size_t capability_count;
    fed_placement_location_t own;
} s_agent_t;

//  edge.sense runs on lyon-1 but states its own site, coordinates and
//  tier: a device in Marseille attached to the Lyon node.
static const s_agent_t s_agents [] = {
    {"data.clean", "1.2", PARIS_1, NULL, 0, {0}},
    {"data.clean", "1.2", PARIS_2, NULL, 0, {0}},
    {"data.clean", "1.2", LYON_1, NULL, 0, {0}},
    {"data.clean", "1.2", LONDON_1, NULL, 0, {0}},
    {"data.clean", "1.2", BERLIN_1, NULL, 0, {0}},
    {"data.clean", "1.3", NYC_1, NULL, 0, {0}},
    {"data.clean", "1.3", TOKYO_1, NULL, 0, {0}},
    {"model.train", "2.0", PARIS_1, s_gpu_fp16, 2, {0}},
    {"model.train", "2.0", LONDON_1, s_gpu, 1, {0}},
    {"edge.sense",
     "1.0",
     LYON_1,
     NULL,
     0,
     {NULL, NULL, "mrs-edge", true, true, MARSEILLE, s_bronze, 1}},
    {"blind.agent", "1.0", NOCOORD_1, NULL, 0, {0}},
    {"solo.agent", "1.0", BERLIN_1, NULL, 0, {0}},
    {"solo.agent", "1.0", NYC_1, NULL, 0, {0}},
    {"solo.agent", "1.0", TOKYO_1, NULL, 0, {0}},
};
#define S_AGENT_COUNT (sizeof s_agents / sizeof s_agents [0])

typedef struct {
    fed_placement_candidate_t candidates [S_AGENT_COUNT];
    size_t count;
} s_world_t;

//  Node i's id: 32 bytes of (i + 1) * 0x11.
static void
s_node_id (uint8_t id [32], int node)
{
    memset (id, (node + 1) * 0x11, 32);
}

static void
s_world_build (s_world_t *world)
{
    memset (world, 0, sizeof *world);
    for (size_t i = 0; i < S_AGENT_COUNT; i++) {
        const s_agent_t *agent = &s_agents [i];
        const s_node_t *node = &s_nodes [agent->node];
        fed_placement_candidate_t *c = &world->candidates [i];
        s_node_id (c->node_id, agent->node);
        c->node_name = node->name;
        c->node_state = FED_WIRE_ALIVE;
        c->node_location = (fed_placement_location_t){
            node->region, node->zone, node->site,   node->coords,     node->coords,
            node->lat,    node->lon,  node->labels, node->label_count};
        c->agent_name = agent->name;
        c->agent_version = agent->version;
        c->capabilities = agent->capabilities;
        c->capability_count = agent->capability_count;
        c->agent_location = agent->own;
        c->available = true;
        c->active_steps = node->active;
    }
    world->count = S_AGENT_COUNT;
}

//  Sets the state of every candidate on the node named.
static void
s_set_state (s_world_t *world, const char *node, fed_wire_state_t state)
{
    for (size_t i = 0; i < world->count; i++)
        if (strcmp (world->candidates [i].node_name, node) == 0)
            world->candidates [i].node_state = state;
}

static void
s_unavailable (s_world_t *world, const char *agent, const char *node)
{
    for (size_t i = 0; i < world->count; i++)
        if (strcmp (world->candidates [i].agent_name, agent) == 0
            && (!node || strcmp (world->candidates [i].node_name, node) == 0))
            world->candidates [i].available = false;
}

static void
s_paris_2_dead (s_world_t *world)
{
    s_set_state (world, "paris-2", FED_WIRE_DEAD);
}

static void
s_paris_2_left (s_world_t *world)
{
    s_set_state (world, "paris-2", FED_WIRE_LEFT);
}

static void
s_paris_2_suspect (s_world_t *world)
{
    s_set_state (world, "paris-2", FED_WIRE_SUSPECT);
}

static void
s_lyon_1_suspect (s_world_t *world)
{
    s_set_state (world, "lyon-1", FED_WIRE_SUSPECT);
}

static void
s_berlin_1_dead (s_world_t *world)
{
    s_set_state (world, "berlin-1", FED_WIRE_DEAD);
}

//  solo.agent's three nodes: two dead, one left.
static void
s_solo_gone (s_world_t *world)
{
    s_set_state (world, "berlin-1", FED_WIRE_DEAD);
    s_set_state (world, "nyc-1", FED_WIRE_DEAD);
    s_set_state (world, "tokyo-1", FED_WIRE_LEFT);
}

static void
s_far_east_gone (s_world_t *world)
{
    s_set_state (world, "nyc-1", FED_WIRE_DEAD);
    s_set_state (world, "tokyo-1", FED_WIRE_LEFT);
}

static void
s_paris_2_unavailable (s_world_t *world)
{
    s_unavailable (world, "data.clean", "paris-2");
}

static void
s_solo_unavailable (s_world_t *world)
{
    s_unavailable (world, "solo.agent", NULL);
}

//  Fills a step's ids when the case left them out.
static fed_placement_step_t
s_step (const fed_placement_step_t *given)
{
    fed_placement_step_t step = *given;
    if (!step.run_id)
        step.run_id = "run-1";
    if (!step.step_id)
        step.step_id = "clean";
    return step;
}

//  Decides, failing the test if the step is refused.
static void
s_decide (const fed_placement_step_t *step, const fed_placement_candidate_t *candidates,
          size_t count, fed_placement_result_t *result)
{
    fed_err_t err = {0, ""};
    if (fed_placement_decide (step, candidates, count, result, &err)) {
        print_error ("expected a decision for agent %s; got an error: %s\n", step->agent, err.text);
        fail ();
    }
}

//  The node name of a placed result, or "(waits)".
static const char *
s_placed_on (const fed_placement_result_t *result, const fed_placement_candidate_t *candidates)
{
    return result->reason == FED_PLACEMENT_PLACED ? candidates [result->index].node_name
                                                  : "(waits)";
}

//  --- The table -----------------------------------------------------------------

typedef struct {
    const char *name;
    void (*setup) (s_world_t *world); //  changes to the world, or NULL
    fed_placement_step_t step;        //  run "run-1" and step "clean" unless given
    fed_placement_reason_t reason;
    const char *node;     //  placed: where
    const char *needle;   //  words the sentence must hold, or NULL
    const char *needle_2; //  more of them, or NULL
} s_case_t;

#define LABELS(...)                                                                                \
    (const fed_placement_label_t [])                                                               \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
#define CAPS(...)                                                                                  \
    (const char *const [])                                                                         \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

static const s_case_t s_cases [] = {
    //  Location filters: region, zone, site, labels, node.
    {"exact region: eu-west's three, fewest active steps",
     NULL,
     {.agent = "data.clean", .require = {.region = "eu-west"}},
     FED_PLACEMENT_PLACED,
     "paris-2",
     "node paris-2 (alive, 1 active step): first of 3 eligible among 7 hosting data.clean",
     NULL},
    {"zone",
     NULL,
     {.agent = "data.clean", .require = {.zone = "fr-b"}},
     FED_PLACEMENT_PLACED,
     "lyon-1",
     NULL,
     NULL},
    {"site",
     NULL,
     {.agent = "data.clean", .require = {.site = "par1"}},
     FED_PLACEMENT_PLACED,
     "paris-1",
     NULL,
     NULL},
    {"one label: gold nodes only",
     NULL,
     {.agent = "data.clean", .require = {.labels = LABELS ({"tier", "gold"}), .label_count = 1}},
     FED_PLACEMENT_PLACED,
     "lyon-1",
     NULL,
     NULL},
    {"labels: all must match",
     NULL,
     {.agent = "data.clean",
      .require = {.labels = LABELS ({"tier", "gold"}, {"gpu", "a100"}), .label_count = 2}},
     FED_PLACEMENT_PLACED,
     "paris-1",
     NULL,
     NULL},
    {"a label no node has",
     NULL,
     {.agent = "data.clean", .require = {.labels = LABELS ({"gpu", "h100"}), .label_count = 1}},
     FED_PLACEMENT_NO_LABELS,
     NULL,
     "7 live nodes host data.clean but none has every label the step needs (gpu=h100: 0 of 7)",
     NULL},
    {"labels each held, never together",
     NULL,
     {.agent = "data.clean",
      .require = {.labels = LABELS ({"gpu", "a100"}, {"tier", "silver"}), .label_count = 2}},
     FED_PLACEMENT_NO_LABELS,
     NULL,
     "(gpu=a100: 2 of 7, tier=silver: 1 of 7)",
     NULL},
    {"node pinned by name",
     NULL,
     {.agent = "data.clean", .require = {.node = "berlin-1"}},
     FED_PLACEMENT_PLACED,
     "berlin-1",
     NULL,
     NULL},
    {"node pinned that does not host it",
     NULL,
     {.agent = "data.clean", .require = {.node = "ghost"}},
     FED_PLACEMENT_NO_NODE,
     NULL,
     "7 live nodes host data.clean but none is node ghost (they are berlin-1, london-1, lyon-1, "
     "nyc-1 and more)",
     NULL},
    {"node pinned is dead",
     s_berlin_1_dead,
     {.agent = "data.clean", .require = {.node = "berlin-1"}},
     FED_PLACEMENT_NO_NODE,
     NULL,
     "6 live nodes host data.clean but none is node berlin-1",
     "; berlin-1 hosts it but is not alive"},
    {"region none is in",
     NULL,
     {.agent = "model.train", .require = {.region = "us-east"}},
     FED_PLACEMENT_NO_REGION,
     NULL,
     "2 live nodes host model.train but none is in region us-east (they are in eu-north, "
     "eu-west)",
     NULL},
    {"filters passed are named",
     NULL,
     {.agent = "data.clean", .require = {.region = "eu-west", .zone = "fr-a", .site = "par3"}},
     FED_PLACEMENT_NO_SITE,
     NULL,
     "2 live nodes host data.clean, in region eu-west, in zone fr-a but none is at site par3 "
     "(they are at par1, par2)",
     NULL},

    //  near.
    {"near: same whole km ties, fewer active steps wins",
     NULL,
     {.agent = "data.clean", .near = {true, PARIS, 50}},
     FED_PLACEMENT_PLACED,
     "paris-2",
     "node paris-2 (alive, 0.3 km, 1 active step): first of 2 eligible",
     NULL},
    {"near: nearest first, before active steps",
     NULL,
     {.agent = "data.clean", .near = {true, LONDON, 400}},
     FED_PLACEMENT_PLACED,
     "london-1",
     "0.0 km, 4 active steps",
     NULL},
    {"near: none within",
     NULL,
     {.agent = "data.clean", .near = {true, MARSEILLE, 50}},
     FED_PLACEMENT_TOO_FAR,
     NULL,
     "7 live nodes host data.clean but none within 50 km of (43.2965, 5.3698): the nearest is "
     "277.6 km away (node lyon-1)",
     NULL},
    {"near: no coordinates",
     NULL,
     {.agent = "blind.agent", .near = {true, PARIS, 100}},
     FED_PLACEMENT_NO_COORDINATES,
     NULL,
     "1 live node hosts blind.agent but none states coordinates (lat and lon), so none can be "
     "within 100 km of (48.8566, 2.3522)",
     NULL},
    {"near: within the bound",
     NULL,
     {.agent = "data.clean", .require = {.node = "lyon-1"}, .near = {true, MARSEILLE, 277.7}},
     FED_PLACEMENT_PLACED,
     "lyon-1",
     "277.6 km",
     NULL},

    //  What the agent is: name, version, capabilities.
    {"no such agent",
     NULL,
     {.agent = "nope"},
     FED_PLACEMENT_NO_AGENT,
     NULL,
     "no agent nope is registered",
     NULL},
    {"version",
     NULL,
     {.agent = "data.clean", .version = "1.3"},
     FED_PLACEMENT_PLACED,
     "nyc-1",
     NULL,
     NULL},
    {"version none has",
     NULL,
     {.agent = "data.clean", .version = "2.0"},
     FED_PLACEMENT_NO_VERSION,
     NULL,
     "7 nodes host data.clean but none at version 2.0 (they have 1.2, 1.3)",
     NULL},
    {"capabilities: all needed, even against a preference",
     NULL,
     {.agent = "model.train",
      .capabilities = CAPS ("gpu", "fp16"),
      .capability_count = 2,
      .prefer = {.region = "eu-north"}},
     FED_PLACEMENT_PLACED,
     "paris-1",
     NULL,
     NULL},
    {"capability one has",
     NULL,
     {.agent = "model.train", .capabilities = CAPS ("gpu"), .capability_count = 1},
     FED_PLACEMENT_PLACED,
     "paris-1",
     NULL,
     NULL},
    {"capability none has",
     NULL,
     {.agent = "model.train", .capabilities = CAPS ("tpu", "gpu"), .capability_count = 2},
     FED_PLACEMENT_NO_CAPABILITY,
     NULL,
     "2 nodes host model.train but none has every capability the step needs (tpu: 0 of 2, "
     "gpu: 2 of 2)",
     NULL},

    //  Node states and availability.
    {"every host gone",
     s_solo_gone,
     {.agent = "solo.agent"},
     FED_PLACEMENT_NOT_LIVE,
     NULL,
     "3 nodes host solo.agent but none is alive (2 dead, 1 left)",
     NULL},
    {"every host of the version gone",
     s_far_east_gone,
     {.agent = "data.clean", .version = "1.3"},
     FED_PLACEMENT_NOT_LIVE,
     NULL,
     "2 nodes host data.clean 1.3 but none is alive (1 dead, 1 left)",
     NULL},
    {"dead node excluded",
     s_paris_2_dead,
     {.agent = "data.clean", .require = {.region = "eu-west"}},
     FED_PLACEMENT_PLACED,
     "lyon-1",
     "first of 2 eligible among 7",
     NULL},
    {"left node excluded",
     s_paris_2_left,
     {.agent = "data.clean", .require = {.region = "eu-west"}},
     FED_PLACEMENT_PLACED,
     "lyon-1",
     NULL,
     NULL},
    {"suspect ranks after alive, even with fewer steps",
     s_paris_2_suspect,
     {.agent = "data.clean", .require = {.region = "eu-west"}},
     FED_PLACEMENT_PLACED,
     "lyon-1",
     "first of 3 eligible",
     NULL},
    {"suspect takes the step when nothing alive can",
     s_lyon_1_suspect,
     {.agent = "data.clean", .require = {.zone = "fr-b"}},
     FED_PLACEMENT_PLACED,
     "lyon-1",
     "node lyon-1 (suspect, 2 active steps)",
     NULL},
    {"unavailable agent excluded",
     s_paris_2_unavailable,
     {.agent = "data.clean", .require = {.region = "eu-west"}},
     FED_PLACEMENT_PLACED,
     "lyon-1",
     NULL,
     NULL},
    {"every agent unavailable",
     s_solo_unavailable,
     {.agent = "solo.agent"},
     FED_PLACEMENT_UNAVAILABLE,
     NULL,
     "3 live nodes host solo.agent but none has it available",
     NULL},

    //  The agent's own location over its node's.
    {"own coordinates",
     NULL,
     {.agent = "edge.sense", .near = {true, MARSEILLE, 10}},
     FED_PLACEMENT_PLACED,
     "lyon-1",
     "0.0 km",
     NULL},
    {"own coordinates, not the node's",
     NULL,
     {.agent = "edge.sense", .near = {true, LYON, 10}},
     FED_PLACEMENT_TOO_FAR,
     NULL,
     "the nearest is 277.6 km away (node lyon-1)",
     NULL},
    {"own site",
     NULL,
     {.agent = "edge.sense", .require = {.site = "lyo1"}},
     FED_PLACEMENT_NO_SITE,
     NULL,
     "(they are at mrs-edge)",
     NULL},
    {"own label overrides the node's",
     NULL,
     {.agent = "edge.sense", .require = {.labels = LABELS ({"tier", "gold"}), .label_count = 1}},
     FED_PLACEMENT_NO_LABELS,
     NULL,
     "(tier=gold: 0 of 1)",
     NULL},
    {"own label",
     NULL,
     {.agent = "edge.sense", .require = {.labels = LABELS ({"tier", "bronze"}), .label_count = 1}},
     FED_PLACEMENT_PLACED,
     "lyon-1",
     NULL,
     NULL},
    {"region inherited from the node",
     NULL,
     {.agent = "edge.sense", .require = {.region = "eu-west", .zone = "fr-b"}},
     FED_PLACEMENT_PLACED,
     "lyon-1",
     NULL,
     NULL},

    //  Exact match: preferences.
    {"a preference",
     NULL,
     {.agent = "data.clean", .require = {.region = "eu-west"}, .prefer = {.zone = "fr-b"}},
     FED_PLACEMENT_PLACED,
     "lyon-1",
     "1 of 1 preferences",
     NULL},
    {"more preferences met first",
     NULL,
     {.agent = "data.clean", .prefer = {.zone = "fr-a", .site = "par1"}},
     FED_PLACEMENT_PLACED,
     "paris-1",
     "2 of 2 preferences",
     NULL},
    {"preferences before distance",
     NULL,
     {.agent = "data.clean", .near = {true, PARIS, 400}, .prefer = {.region = "eu-north"}},
     FED_PLACEMENT_PLACED,
     "london-1",
     "343.6 km",
     NULL},
    {"preferred labels count one each",
     NULL,
     {.agent = "data.clean",
      .prefer = {.labels = LABELS ({"tier", "gold"}, {"gpu", "a100"}), .label_count = 2}},
     FED_PLACEMENT_PLACED,
     "paris-1",
     "2 of 2 preferences",
     NULL},
    {"preferred node",
     NULL,
     {.agent = "data.clean", .prefer = {.node = "tokyo-1"}},
     FED_PLACEMENT_PLACED,
     "tokyo-1",
     NULL,
     NULL},
    {"unmet preference is no filter",
     NULL,
     {.agent = "data.clean", .prefer = {.zone = "xx"}},
     FED_PLACEMENT_PLACED,
     NULL,
     "0 of 1 preferences",
     NULL},
};
#define S_CASE_COUNT (sizeof s_cases / sizeof s_cases [0])

static void
test_case (void **state)
{
    const s_case_t *row = (const s_case_t *) *state;
    s_world_t world;
    s_world_build (&world);
    if (row->setup)
        row->setup (&world);
    fed_placement_step_t step = s_step (&row->step);
    fed_placement_result_t result;
    s_decide (&step, world.candidates, world.count, &result);
    if (result.reason != row->reason) {
        print_error ("%s: expected %s, got %s: %s\n", row->name,
                     fed_placement_reason_name (row->reason),
                     fed_placement_reason_name (result.reason), result.text);
        fail ();
    }
    if (row->reason == FED_PLACEMENT_PLACED) {
        assert_true (result.index < world.count);
        if (row->node && strcmp (s_placed_on (&result, world.candidates), row->node) != 0) {
            print_error ("%s: expected node %s, got %s: %s\n", row->name, row->node,
                         s_placed_on (&result, world.candidates), result.text);
            fail ();
        }
        assert_string_equal (world.candidates [result.index].agent_name, step.agent);
    } else {
        assert_int_equal (result.index, SIZE_MAX);
        assert_int_equal (result.eligible, 0);
    }
    if (row->needle)
        assert_contains (result.text, row->needle);
    if (row->needle_2)
        assert_contains (result.text, row->needle_2);
}

//  --- Haversine ------------------------------------------------------------------

//  Distances on the WGS 84 ellipsoid (Vincenty's inverse formula), in km.
static const struct {
    const char *name;
    double lat1, lon1, lat2, lon2;
    double km;
} s_known [] = {
    {"Paris-London", PARIS, LONDON, 343.9},
    {"Paris-Lyon", PARIS, LYON, 391.7},
    {"Paris-Berlin", PARIS, 52.5200, 13.4050, 879.7},
    {"Paris-Marseille", PARIS, MARSEILLE, 660.5},
    {"Frankfurt-Berlin", 50.1109, 8.6821, 52.5200, 13.4050, 424.4},
    {"London-New York", LONDON, 40.7128, -74.0060, 5585.2},
    {"New York-Tokyo", 40.7128, -74.0060, 35.6762, 139.6503, 10875.7},
    {"Tokyo-Sydney", 35.6762, 139.6503, -33.8688, 151.2093, 7792.2},
    {"Sao Paulo-Singapore", -23.5505, -46.6333, 1.3521, 103.8198, 15999.7},
};

static void
test_haversine_known (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_known / sizeof s_known [0]; i++) {
        double km = fed_haversine_km (s_known [i].lat1, s_known [i].lon1, s_known [i].lat2,
                                      s_known [i].lon2);
        double off = fabs (km - s_known [i].km) / s_known [i].km;
        if (off > 0.005) {
            print_error ("%s: expected %.1f km within 0.5%%, got %.1f km (%.2f%%)\n",
                         s_known [i].name, s_known [i].km, km, off * 100);
            fail ();
        }
        //  Symmetric.
        assert_float_equal (km,
                            fed_haversine_km (s_known [i].lat2, s_known [i].lon2, s_known [i].lat1,
                                              s_known [i].lon1),
                            1e-9);
    }
}

static void
test_haversine_edges (void **state)
{
    (void) state;
    assert_float_equal (fed_haversine_km (PARIS, PARIS), 0, 1e-12);
    //  Antipodes: half the circumference, no NaN from rounding.
    double half = M_PI * FED_EARTH_RADIUS_KM;
    assert_float_equal (fed_haversine_km (0, 0, 0, 180), half, 1e-6);
    assert_float_equal (fed_haversine_km (90, 0, -90, 0), half, 1e-6);
    assert_float_equal (fed_haversine_km (48.8566, 2.3522, -48.8566, -177.6478), half, 1e-6);
    //  Across the antimeridian: one degree of the equator, not 359.
    assert_float_equal (fed_haversine_km (0, 179.5, 0, -179.5), half / 180, 1e-6);
    //  Longitude means nothing at a pole.
    assert_float_equal (fed_haversine_km (90, 0, 90, 123), 0, 1e-9);
    assert_true (isnan (fed_haversine_km (NAN, 0, 0, 0)));
}

//  --- What a table cannot say ------------------------------------------------------

static void
test_node_by_id (void **state)
{
    (void) state;
    s_world_t world;
    s_world_build (&world);
    uint8_t id [32];
    s_node_id (id, TOKYO_1);
    char hex [65], z85 [41];
    fed_hex_encode (hex, id, 32);
    fed_z85_encode_key (z85, id);
    const char *names [] = {hex, z85};
    for (size_t i = 0; i < 2; i++) {
        fed_placement_step_t step = {.run_id = "r", .step_id = "s", .agent = "data.clean"};
        step.require.node = names [i];
        fed_placement_result_t result;
        s_decide (&step, world.candidates, world.count, &result);
        assert_int_equal (result.reason, FED_PLACEMENT_PLACED);
        assert_string_equal (s_placed_on (&result, world.candidates), "tokyo-1");
        step.require.node = NULL;
        step.prefer.node = names [i];
        s_decide (&step, world.candidates, world.count, &result);
        assert_string_equal (s_placed_on (&result, world.candidates), "tokyo-1");
        assert_int_equal (result.preferences_met, 1);
    }
    //  A 64-char name that is not hex is only a name.
    fed_placement_step_t step = {.run_id = "r", .step_id = "s", .agent = "data.clean"};
    step.require.node = "zz00000000000000000000000000000000000000000000000000000000000000";
    fed_placement_result_t result;
    s_decide (&step, world.candidates, world.count, &result);
    assert_int_equal (result.reason, FED_PLACEMENT_NO_NODE);
}

#define EQUALS 8

//  EQUALS nodes alike in all but id and name, each hosting even.agent.
static void
s_equals (fed_placement_candidate_t *candidates, char names [EQUALS][16])
{
    for (int i = 0; i < EQUALS; i++) {
        snprintf (names [i], 16, "eq-%d", i);
        candidates [i] = (fed_placement_candidate_t){
            .node_name = names [i],
            .node_state = FED_WIRE_ALIVE,
            .node_location = {"eu-west", "a", "s1", true, true, PARIS, NULL, 0},
            .agent_name = "even.agent",
            .agent_version = "1.0",
            .available = true,
        };
        for (int b = 0; b < 32; b++)
            candidates [i].node_id [b] = (uint8_t) (i * 37 + b * 11);
    }
}

//  The node the rule says wins among equals: smallest BLAKE2b-128 of
//  run‖NUL‖step‖NUL‖node id.
static size_t
s_expected_by_hash (const fed_placement_candidate_t *candidates, size_t count, const char *run,
                    const char *step)
{
    size_t best = 0;
    uint8_t best_hash [16];
    for (size_t i = 0; i < count; i++) {
        uint8_t hash [16];
        crypto_generichash_state st;
        crypto_generichash_init (&st, NULL, 0, sizeof hash);
        crypto_generichash_update (&st, (const uint8_t *) run, strlen (run) + 1);
        crypto_generichash_update (&st, (const uint8_t *) step, strlen (step) + 1);
        crypto_generichash_update (&st, candidates [i].node_id, 32);
        crypto_generichash_final (&st, hash, sizeof hash);
        if (i == 0 || memcmp (hash, best_hash, sizeof hash) < 0) {
            best = i;
            memcpy (best_hash, hash, sizeof hash);
        }
    }
    return best;
}

static void
test_ties_stable_and_order_free (void **state)
{
    (void) state;
    fed_placement_candidate_t candidates [EQUALS];
    char names [EQUALS][16];
    s_equals (candidates, names);
    fed_placement_step_t step = {.run_id = "run-42", .step_id = "train", .agent = "even.agent"};
    size_t expected = s_expected_by_hash (candidates, EQUALS, "run-42", "train");
    const char *node = names [expected];
    fed_placement_result_t result;
    s_decide (&step, candidates, EQUALS, &result);
    assert_string_equal (candidates [result.index].node_name, node);
    //  Same input, same node; and in any order.
    uint32_t seed = 12345;
    for (int round = 0; round < 50; round++) {
        for (size_t i = EQUALS - 1; i > 0; i--) {
            seed = seed * 1103515245u + 12345u;
            size_t j = (seed >> 8) % (i + 1);
            fed_placement_candidate_t swap = candidates [i];
            candidates [i] = candidates [j];
            candidates [j] = swap;
        }
        s_decide (&step, candidates, EQUALS, &result);
        if (strcmp (candidates [result.index].node_name, node) != 0) {
            print_error ("round %d: expected %s whatever the order, got %s\n", round, node,
                         candidates [result.index].node_name);
            fail ();
        }
    }
    //  The whole world too, reversed: every table row gives the same node.
    for (size_t r = 0; r < S_CASE_COUNT; r++) {
        s_world_t world, reversed;
        s_world_build (&world);
        if (s_cases [r].setup)
            s_cases [r].setup (&world);
        reversed = world;
        for (size_t i = 0; i < world.count; i++)
            reversed.candidates [i] = world.candidates [world.count - 1 - i];
        fed_placement_step_t row_step = s_step (&s_cases [r].step);
        fed_placement_result_t a, b;
        s_decide (&row_step, world.candidates, world.count, &a);
        s_decide (&row_step, reversed.candidates, reversed.count, &b);
        assert_int_equal (a.reason, b.reason);
        assert_string_equal (s_placed_on (&a, world.candidates),
                             s_placed_on (&b, reversed.candidates));
        assert_string_equal (a.text, b.text);
    }
}

static void
test_ties_spread (void **state)
{
    (void) state;
    fed_placement_candidate_t candidates [EQUALS];
    char names [EQUALS][16];
    s_equals (candidates, names);
    size_t runs = 8000, landed [EQUALS] = {0};
    for (size_t r = 0; r < runs; r++) {
        char run [32];
        snprintf (run, sizeof run, "run-%zu", r);
        fed_placement_step_t step = {.run_id = run, .step_id = "train", .agent = "even.agent"};
        fed_placement_result_t result;
        s_decide (&step, candidates, EQUALS, &result);
        assert_int_equal (result.index, s_expected_by_hash (candidates, EQUALS, run, "train"));
        landed [result.index]++;
    }
    //  1,000 expected on each; a binomial's standard deviation is ~30.
    for (size_t i = 0; i < EQUALS; i++)
        if (landed [i] < 850 || landed [i] > 1150) {
            print_error ("expected about %zu runs on %s, got %zu\n", runs / EQUALS, names [i],
                         landed [i]);
            fail ();
        }
    //  Another step of the same run may land elsewhere: the step is hashed too.
    size_t moved = 0;
    for (size_t r = 0; r < 100; r++) {
        char run [32];
        snprintf (run, sizeof run, "run-%zu", r);
        moved += s_expected_by_hash (candidates, EQUALS, run, "train")
            != s_expected_by_hash (candidates, EQUALS, run, "clean");
    }
    assert_true (moved > 50);
}

static void
test_load_before_hash (void **state)
{
    (void) state;
    fed_placement_candidate_t candidates [EQUALS];
    char names [EQUALS][16];
    s_equals (candidates, names);
    for (size_t i = 0; i < EQUALS; i++)
        candidates [i].active_steps = 5;
    candidates [6].active_steps = 4;
    fed_placement_step_t step = {.run_id = "r", .step_id = "s", .agent = "even.agent"};
    for (int r = 0; r < 20; r++) {
        char run [16];
        snprintf (run, sizeof run, "r%d", r);
        step.run_id = run;
        fed_placement_result_t result;
        s_decide (&step, candidates, EQUALS, &result);
        assert_int_equal (result.index, 6);
    }
}

static void
test_versions_on_one_node (void **state)
{
    (void) state;
    fed_placement_candidate_t candidates [3];
    char names [EQUALS][16];
    fed_placement_candidate_t all [EQUALS];
    s_equals (all, names);
    candidates [0] = all [0];
    candidates [1] = all [0];
    candidates [2] = all [0];
    candidates [0].agent_version = "1.9";
    candidates [1].agent_version = "1.10";
    candidates [2].agent_version = "1.2";
    fed_placement_step_t step = {.run_id = "r", .step_id = "s", .agent = "even.agent"};
    fed_placement_result_t result;
    s_decide (&step, candidates, 3, &result);
    assert_string_equal (candidates [result.index].agent_version, "1.10");
}

static void
test_untrusted_candidates (void **state)
{
    (void) state;
    char names [EQUALS][16];
    fed_placement_candidate_t candidates [EQUALS];
    s_equals (candidates, names);
    //  Out-of-range and NaN coordinates count as none; NULL strings as "".
    candidates [0].node_location.lat = NAN;
    candidates [1].node_location.lat = 91;
    candidates [2].node_location.lon = -180.5;
    candidates [3].node_location.has_lon = false;
    candidates [3].agent_location.has_lat = true; //  half a point: not the agent's
    candidates [3].agent_location.lat = 10;
    candidates [4].node_name = NULL;
    candidates [4].node_location = (fed_placement_location_t){0};
    candidates [5].node_state = (fed_wire_state_t) 99;
    candidates [6].agent_name = NULL;
    candidates [7].agent_version = NULL;
    candidates [7].node_location.lat = 10; //  about 4,300 km from Paris
    fed_placement_step_t step = {.run_id = "r", .step_id = "s", .agent = "even.agent"};
    step.near = (fed_placement_near_t){true, PARIS, 20000};
    fed_placement_result_t result;
    s_decide (&step, candidates, EQUALS, &result);
    assert_int_equal (result.reason, FED_PLACEMENT_PLACED);
    assert_int_equal (result.index, 7);
    assert_int_equal (result.eligible, 1);
    assert_float_equal (result.distance_km, fed_haversine_km (PARIS, 10, 2.3522), 1e-9);
    //  Without near, a nameless node is a candidate like any other.
    step.near.given = false;
    step.require.node = "";
    s_decide (&step, candidates, EQUALS, &result);
    assert_int_equal (result.eligible, 6); //  not the unknown state, not the nameless agent
    assert_true (isnan (result.distance_km));
}

static void
test_empty (void **state)
{
    (void) state;
    fed_placement_step_t step = {.run_id = "r", .step_id = "s", .agent = "data.clean"};
    fed_placement_result_t result;
    s_decide (&step, NULL, 0, &result);
    assert_int_equal (result.reason, FED_PLACEMENT_NO_AGENT);
    assert_string_equal (result.text, "no agent data.clean is registered");
    assert_int_equal (result.index, SIZE_MAX);
}

//  Each malformed step, and the words its error must hold.
static void
test_bad_steps (void **state)
{
    (void) state;
    const struct {
        fed_placement_step_t step;
        const char *needle;
    } bad [] = {
        {{.run_id = "r", .step_id = "s", .agent = ""}, "step s names no agent"},
        {{.run_id = "r", .step_id = "s"}, "step s names no agent"},
        {{.run_id = "", .step_id = "s", .agent = "a"}, "the step's run id is empty"},
        {{.step_id = "s", .agent = "a"}, "the step's run id is empty"},
        {{.run_id = "r", .step_id = "", .agent = "a"}, "the step's step id is empty"},
        {{.run_id = "r", .step_id = "s", .agent = "a", .near = {true, NAN, 2, 10}},
         "near (nan, 2) is not a point"},
        {{.run_id = "r", .step_id = "s", .agent = "a", .near = {true, 91, 2, 10}},
         "near (91, 2) is not a point: lat must be a number in -90..90 and lon in -180..180"},
        {{.run_id = "r", .step_id = "s", .agent = "a", .near = {true, 0, -181, 10}},
         "near (0, -181) is not a point"},
        {{.run_id = "r", .step_id = "s", .agent = "a", .near = {true, 0, INFINITY, 10}},
         "is not a point"},
        {{.run_id = "r", .step_id = "s", .agent = "a", .near = {true, PARIS, 0}},
         "near.within_km is 0; it must be a number > 0"},
        {{.run_id = "r", .step_id = "s", .agent = "a", .near = {true, PARIS, -5}},
         "near.within_km is -5"},
        {{.run_id = "r", .step_id = "s", .agent = "a", .near = {true, PARIS, NAN}},
         "near.within_km is nan"},
        {{.run_id = "r", .step_id = "s", .agent = "a", .near = {true, PARIS, INFINITY}},
         "near.within_km is inf"},
        {{.run_id = "r",
          .step_id = "s",
          .agent = "a",
          .capabilities = CAPS ("gpu", ""),
          .capability_count = 2},
         "step s: capability 2 is empty"},
        {{.run_id = "r", .step_id = "s", .agent = "a", .capability_count = 1},
         "capability 1 is empty"},
        {{.run_id = "r",
          .step_id = "s",
          .agent = "a",
          .require = {.labels = LABELS ({"", "x"}), .label_count = 1}},
         "required label 1 has an empty key"},
        {{.run_id = "r",
          .step_id = "s",
          .agent = "a",
          .prefer = {.labels = LABELS ({"tier", "gold"}, {"gpu", NULL}), .label_count = 2}},
         "preferred label gpu has no value"},
    };
    s_world_t world;
    s_world_build (&world);
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        fed_err_t err = {0, ""};
        fed_placement_result_t result;
        if (fed_placement_decide (&bad [i].step, world.candidates, world.count, &result, &err)
            != -1) {
            print_error ("bad step %zu: expected -1 (\"%s\"); got a decision: %s\n", i,
                         bad [i].needle, result.text);
            fail ();
        }
        assert_contains (err.text, bad [i].needle);
    }
    fed_placement_step_t step = {.run_id = "r", .step_id = "s", .agent = "a"};
    fed_err_t err = {0, ""};
    fed_placement_result_t result;
    assert_int_equal (fed_placement_decide (&step, NULL, 3, &result, &err), -1);
    assert_contains (err.text, "3 candidates given as NULL");
}

static void
test_reason_names (void **state)
{
    (void) state;
    assert_string_equal (fed_placement_reason_name (FED_PLACEMENT_PLACED), "placed");
    assert_string_equal (fed_placement_reason_name (FED_PLACEMENT_NO_AGENT), "no-agent");
    assert_string_equal (fed_placement_reason_name (FED_PLACEMENT_NOT_LIVE), "not-live");
    assert_string_equal (fed_placement_reason_name (FED_PLACEMENT_TOO_FAR), "too-far");
    assert_string_equal (fed_placement_reason_name (FED_PLACEMENT_REASONS), "unknown");
    assert_string_equal (fed_placement_reason_name ((fed_placement_reason_t) -1), "unknown");
    for (int r = 0; r < FED_PLACEMENT_REASONS; r++)
        for (int s = r + 1; s < FED_PLACEMENT_REASONS; s++)
            assert_string_not_equal (fed_placement_reason_name ((fed_placement_reason_t) r),
                                     fed_placement_reason_name ((fed_placement_reason_t) s));
}

//  A sentence never overruns: long names are cut to 64 bytes.
static void
test_long_names (void **state)
{
    (void) state;
    char long_name [2000];
    memset (long_name, 'x', sizeof long_name - 1);
    long_name [sizeof long_name - 1] = 0;
    s_world_t world;
    s_world_build (&world);
    fed_placement_step_t step = {.run_id = "r", .step_id = "s", .agent = "data.clean"};
    step.require.region = long_name;
    step.require.node = long_name;
    fed_placement_result_t result;
    s_decide (&step, world.candidates, world.count, &result);
    assert_int_equal (result.reason, FED_PLACEMENT_NO_NODE);
    assert_true (strlen (result.text) < sizeof result.text);
    step.agent = long_name;
    s_decide (&step, world.candidates, world.count, &result);
    assert_int_equal (result.reason, FED_PLACEMENT_NO_AGENT);
    assert_int_equal (strlen (result.text), strlen ("no agent  is registered") + 64);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    struct CMUnitTest tests [S_CASE_COUNT + 12];
    size_t n = 0;
    for (size_t i = 0; i < S_CASE_COUNT; i++)
        tests [n++] =
            (struct CMUnitTest){s_cases [i].name, test_case, NULL, NULL, (void *) &s_cases [i]};
    const struct CMUnitTest others [] = {
        cmocka_unit_test (test_haversine_known),
        cmocka_unit_test (test_haversine_edges),
        cmocka_unit_test (test_node_by_id),
        cmocka_unit_test (test_ties_stable_and_order_free),
        cmocka_unit_test (test_ties_spread),
        cmocka_unit_test (test_load_before_hash),
        cmocka_unit_test (test_versions_on_one_node),
        cmocka_unit_test (test_untrusted_candidates),
        cmocka_unit_test (test_empty),
        cmocka_unit_test (test_bad_steps),
        cmocka_unit_test (test_reason_names),
        cmocka_unit_test (test_long_names),
    };
    for (size_t i = 0; i < sizeof others / sizeof others [0]; i++)
        tests [n++] = others [i];
    return cmocka_run_group_tests_name ("placement", tests, NULL, NULL);
}
