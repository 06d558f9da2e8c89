/*  tests/bench/bench_placement.c: placement decisions per second for
    10,000 agents on 1,000 nodes, beside bare scans of the same candidates
    measured in the same run (doc/benchmarks.md).

    Built and run by `make bench` only; a measurement, not a test: it prints
    PASS or BELOW beside each goal and always exits 0 (1 only if a step is
    refused, or gets different answers from the same candidates in another
    order).

    The world (fixed seed, so every run places the same steps): 1,000 nodes
    in 8 regions (around real cities, up to ±4° away), 3 zones a region, 10
    sites a zone, labels tier (gold/silver/bronze) and arch (x86/arm) on
    every node and gpu on 30%; states 90% alive, 4% suspect, 4% dead, 2%
    left; 0..19 active steps. 10 agents on each node from 100 names (so
    each name on about 100 nodes), version 1.0 or 1.1, capabilities from
    gpu, fp16 and big-mem, 5% unavailable, 10% with their own site and
    coordinates (edge devices up to ±1° from their node). One array of
    10,000 candidates, in node order, as a registry would list them.

    Steps: STEPS_PER_KIND steps of each kind below (agent names and places
    drawn at random, each step its own run id). Each kind is timed on its
    own, best of ROUNDS rounds in which every measure takes its turn (so all
    see the same load from the rest of the machine); the mix is all kinds'
    steps once, from the kinds' best times. Each figure is also measured
    over the agent's hosts alone (the candidates grouped by name, as a
    registry view keyed by agent name would hand them over), beside the
    same bare loop over those hosts. Before timing, every step is checked
    to get the same node and sentence both ways.

      baseline scan+haversine  a bare loop over the 10,000 candidates doing
                               only the name compare and one haversine
                               each: issue 6's yardstick
      baseline scan            the name compare alone: the least any
                               placement over an unindexed list must do
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "placement.h"

#define NODES 1000
#define AGENTS_PER_NODE 10
#define CANDIDATES (NODES * AGENTS_PER_NODE)
#define NAMES 100
#define REGIONS 8
#define STEPS_PER_KIND 500
#define HAVERSINE_STEPS 100 //  of them for the slow scan+haversine baseline
#define ROUNDS 5

static const struct {
    const char *name;
    double lat, lon;
} s_regions [REGIONS] = {
    {"eu-west", 48.86, 2.35},    {"eu-central", 50.11, 8.68}, {"us-east", 38.90, -77.04},
    {"us-west", 45.52, -122.68}, {"ap-south", 19.08, 72.88},  {"ap-north", 35.68, 139.65},
    {"sa-east", -23.55, -46.63}, {"af-south", -26.20, 28.05},
};

static const char *const s_verbs [10] = {"data", "model", "report", "sensor", "image",
                                         "text", "geo",   "audit",  "sync",   "queue"};
static const char *const s_nouns [10] = {"clean", "join",  "train", "score", "export",
                                         "scan",  "merge", "index", "check", "split"};
static const char *const s_tiers [3] = {"gold", "silver", "bronze"};
static const char *const s_archs [2] = {"x86", "arm"};
static const char *const s_gpus [2] = {"a100", "h100"};
static const char *const s_caps [3] = {"gpu", "fp16", "big-mem"};

typedef struct {
    char name [16], zone [24], site [32];
    int region;
    fed_placement_label_t labels [3];
    size_t label_count;
} s_node_t;

typedef struct {
    char site [40];
    const char *caps [3];
} s_agent_extra_t;

typedef enum {
    K_AGENT,
    K_REGION,
    K_ZONE,
    K_LABELS,
    K_NODE,
    K_NEAR,
    K_NEAR_TIGHT,
    K_CAPS,
    K_PREFER,
    K_NO_AGENT,
    K_NO_REGION,
    KINDS
} s_kind_t;

static const char *const s_kind_names [KINDS] = {
    "agent only",
    "region",
    "region + zone",
    "labels tier=gold, arch=arm",
    "node by name",
    "near 500 km",
    "near 20 km",
    "version + capabilities",
    "prefer zone + near 3000 km",
    "unknown agent (waits)",
    "region with none (waits)",
};

typedef struct {
    s_node_t nodes [NODES];
    char names [NAMES][24];
    s_agent_extra_t extras [CANDIDATES];
    fed_placement_candidate_t candidates [CANDIDATES];
    fed_placement_candidate_t grouped [CANDIDATES]; //  the same, by agent name
    size_t group_start [NAMES], group_size [NAMES];
    //  Steps and what they point to.
    fed_placement_step_t steps [KINDS][STEPS_PER_KIND];
    char run_ids [KINDS][STEPS_PER_KIND][24];
    char zones [KINDS][STEPS_PER_KIND][24];
    uint64_t rng;
} bench_t;

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

//  xorshift64*: the same world every run.
static uint64_t
s_rand (bench_t *self)
{
    self->rng ^= self->rng >> 12;
    self->rng ^= self->rng << 25;
    self->rng ^= self->rng >> 27;
    return self->rng * 2685821657736338717ull;
}

static unsigned
s_below (bench_t *self, unsigned n)
{
    return (unsigned) (s_rand (self) >> 33) % n;
}

//  Uniform in [-1, 1).
static double
s_unit (bench_t *self)
{
    return (double) (s_rand (self) >> 11) / (double) (1ull << 52) - 1.0;
}

static void
s_world (bench_t *self)
{
    for (int n = 0; n < NAMES; n++)
        snprintf (self->names [n], sizeof self->names [n], "%s.%s", s_verbs [n / 10],
                  s_nouns [n % 10]);
    for (int i = 0; i < NODES; i++) {
        s_node_t *node = &self->nodes [i];
        node->region = (int) s_below (self, REGIONS);
        const char *region = s_regions [node->region].name;
        unsigned zone = s_below (self, 3);
        snprintf (node->name, sizeof node->name, "node-%04d", i);
        snprintf (node->zone, sizeof node->zone, "%s-%c", region, 'a' + zone);
        snprintf (node->site, sizeof node->site, "%s-%c-%u", region, 'a' + zone,
                  s_below (self, 10));
        node->labels [0] = (fed_placement_label_t){"tier", s_tiers [s_below (self, 3)]};
        node->labels [1] = (fed_placement_label_t){"arch", s_archs [s_below (self, 2)]};
        node->label_count = 2;
        if (s_below (self, 10) < 3)
            node->labels [node->label_count++] =
                (fed_placement_label_t){"gpu", s_gpus [s_below (self, 2)]};
        unsigned state = s_below (self, 100);
        fed_wire_state_t node_state = state < 90 ? FED_WIRE_ALIVE
            : state < 94                         ? FED_WIRE_SUSPECT
            : state < 98                         ? FED_WIRE_DEAD
                                                 : FED_WIRE_LEFT;
        double lat = s_regions [node->region].lat + 4 * s_unit (self);
        double lon = s_regions [node->region].lon + 4 * s_unit (self);
        uint32_t active = s_below (self, 20);
        uint8_t id [32];
        randombytes_buf_deterministic (id, sizeof id,
                                       (const uint8_t *) "bench_placement-node-seed-32byte");
        id [0] ^= (uint8_t) i;
        id [1] ^= (uint8_t) (i >> 8);
        //  10 distinct names on this node.
        int taken [AGENTS_PER_NODE];
        for (int a = 0; a < AGENTS_PER_NODE; a++) {
            int name;
            bool again;
            do {
                name = (int) s_below (self, NAMES);
                again = false;
                for (int b = 0; b < a; b++)
                    again |= taken [b] == name;
            } while (again);
            taken [a] = name;
            size_t at = (size_t) i * AGENTS_PER_NODE + (size_t) a;
            fed_placement_candidate_t *c = &self->candidates [at];
            s_agent_extra_t *extra = &self->extras [at];
            memcpy (c->node_id, id, 32);
            c->node_name = node->name;
            c->node_state = node_state;
            c->node_location =
                (fed_placement_location_t){region, node->zone,   node->site,       true, true, lat,
                                           lon,    node->labels, node->label_count};
            c->agent_name = self->names [name];
            c->agent_version = s_below (self, 2) ? "1.1" : "1.0";
            size_t caps = 0;
            for (int k = 0; k < 3; k++)
                if (s_below (self, 2))
                    extra->caps [caps++] = s_caps [k];
            c->capabilities = extra->caps;
            c->capability_count = caps;
            if (s_below (self, 10) == 0) {
                snprintf (extra->site, sizeof extra->site, "edge-%04d-%d", i, a);
                c->agent_location = (fed_placement_location_t){
                    NULL, NULL, extra->site, true, true, lat + s_unit (self), lon + s_unit (self),
                    NULL, 0};
            }
            c->available = s_below (self, 100) >= 5;
            c->active_steps = active;
        }
    }
}

static const fed_placement_label_t s_gold_arm [] = {{"tier", "gold"}, {"arch", "arm"}};
static const char *const s_gpu_fp16 [] = {"gpu", "fp16"};

static void
s_steps (bench_t *self)
{
    for (int k = 0; k < KINDS; k++)
        for (int i = 0; i < STEPS_PER_KIND; i++) {
            fed_placement_step_t *step = &self->steps [k][i];
            snprintf (self->run_ids [k][i], sizeof self->run_ids [k][i], "run-%d-%d", k, i);
            int region = (int) s_below (self, REGIONS);
            *step = (fed_placement_step_t){.run_id = self->run_ids [k][i],
                                           .step_id = "step",
                                           .agent = self->names [s_below (self, NAMES)]};
            double lat = s_regions [region].lat + 3 * s_unit (self);
            double lon = s_regions [region].lon + 3 * s_unit (self);
            switch ((s_kind_t) k) {
                case K_AGENT: break;
                case K_REGION: step->require.region = s_regions [region].name; break;
                case K_ZONE:
                    snprintf (self->zones [k][i], sizeof self->zones [k][i], "%s-%c",
                              s_regions [region].name, 'a' + s_below (self, 3));
                    step->require.region = s_regions [region].name;
                    step->require.zone = self->zones [k][i];
                    break;
                case K_LABELS:
                    step->require.labels = s_gold_arm;
                    step->require.label_count = 2;
                    break;
                case K_NODE: step->require.node = self->nodes [s_below (self, NODES)].name; break;
                case K_NEAR: step->near = (fed_placement_near_t){true, lat, lon, 500}; break;
                case K_NEAR_TIGHT: step->near = (fed_placement_near_t){true, lat, lon, 20}; break;
                case K_CAPS:
                    step->version = "1.1";
                    step->capabilities = s_gpu_fp16;
                    step->capability_count = 2;
                    break;
                case K_PREFER:
                    snprintf (self->zones [k][i], sizeof self->zones [k][i], "%s-%c",
                              s_regions [region].name, 'a' + s_below (self, 3));
                    step->prefer.zone = self->zones [k][i];
                    step->near = (fed_placement_near_t){true, lat, lon, 3000};
                    break;
                case K_NO_AGENT: step->agent = "no.such-agent"; break;
                case K_NO_REGION: step->require.region = "antarctica"; break;
                case KINDS: break;
            }
        }
}

//  The hosts of step's agent in the grouped array (count 0 if none).
static const fed_placement_candidate_t *
s_hosts (bench_t *self, const fed_placement_step_t *step, size_t *count)
{
    for (int n = 0; n < NAMES; n++)
        if (strcmp (self->names [n], step->agent) == 0) {
            *count = self->group_size [n];
            return self->grouped + self->group_start [n];
        }
    *count = 0;
    return self->grouped;
}

//  Seconds to decide steps [0, count) of kind k, over every candidate or
//  (hosts_only) over the agent's hosts alone; counts the placed ones.
static double
s_place_time (bench_t *self, int k, int count, bool hosts_only, size_t *placed)
{
    fed_placement_result_t result;
    *placed = 0;
    double start = s_now ();
    for (int i = 0; i < count; i++) {
        const fed_placement_step_t *step = &self->steps [k][i];
        size_t size = CANDIDATES;
        const fed_placement_candidate_t *candidates =
            hosts_only ? s_hosts (self, step, &size) : self->candidates;
        fed_err_t err;
        if (fed_placement_decide (step, candidates, size, &result, &err)) {
            fprintf (stderr, "bench_placement: %s\n", err.text);
            exit (1);
        }
        *placed += result.reason == FED_PLACEMENT_PLACED;
    }
    return s_now () - start;
}

//  Seconds for the bare loop over the same steps and candidates: a name
//  compare on every candidate and (with_haversine) one haversine each,
//  from the step's near point or, without one, from (0, 0).
static double
s_scan_time (bench_t *self, int k, int count, bool hosts_only, bool with_haversine)
{
    size_t hosts = 0;
    double sum = 0;
    double start = s_now ();
    for (int i = 0; i < count; i++) {
        const fed_placement_step_t *step = &self->steps [k][i];
        size_t size = CANDIDATES;
        const fed_placement_candidate_t *candidates =
            hosts_only ? s_hosts (self, step, &size) : self->candidates;
        double lat = step->near.given ? step->near.lat : 0;
        double lon = step->near.given ? step->near.lon : 0;
        for (size_t c = 0; c < size; c++) {
            hosts += strcmp (candidates [c].agent_name, step->agent) == 0;
            if (with_haversine)
                sum += fed_haversine_km (lat, lon, candidates [c].node_location.lat,
                                         candidates [c].node_location.lon);
        }
    }
    double seconds = s_now () - start;
    if (hosts == SIZE_MAX || isnan (sum)) //  keep the results live
        printf ("(impossible)\n");
    return seconds;
}

static int
s_by_name (const void *a, const void *b)
{
    return strcmp (((const fed_placement_candidate_t *) a)->agent_name,
                   ((const fed_placement_candidate_t *) b)->agent_name);
}

//  The candidates grouped by agent name, as a registry view keyed by name
//  would hand them over.
static void
s_group (bench_t *self)
{
    memcpy (self->grouped, self->candidates, sizeof self->grouped);
    qsort (self->grouped, CANDIDATES, sizeof self->grouped [0], s_by_name);
    for (int n = 0; n < NAMES; n++) {
        size_t at = 0;
        while (at < CANDIDATES && strcmp (self->grouped [at].agent_name, self->names [n]) != 0)
            at++;
        self->group_start [n] = at;
        while (at < CANDIDATES && strcmp (self->grouped [at].agent_name, self->names [n]) == 0)
            at++;
        self->group_size [n] = at - self->group_start [n];
    }
}

//  Before timing: every step gets the same node (or the same reason and
//  sentence) from all candidates as from its agent's hosts alone, in
//  another order. Exits 1 if not.
static void
s_verify (bench_t *self)
{
    for (int k = 0; k < KINDS; k++)
        for (int i = 0; i < STEPS_PER_KIND; i++) {
            const fed_placement_step_t *step = &self->steps [k][i];
            size_t size;
            const fed_placement_candidate_t *hosts = s_hosts (self, step, &size);
            fed_placement_result_t all, some;
            fed_err_t err;
            if (fed_placement_decide (step, self->candidates, CANDIDATES, &all, &err)
                || fed_placement_decide (step, hosts, size, &some, &err)) {
                fprintf (stderr, "bench_placement: %s\n", err.text);
                exit (1);
            }
            bool same = all.reason == some.reason && strcmp (all.text, some.text) == 0
                && (all.reason != FED_PLACEMENT_PLACED
                    || memcmp (self->candidates [all.index].node_id, hosts [some.index].node_id, 32)
                        == 0);
            if (!same) {
                fprintf (stderr,
                         "bench_placement: %s step %d: \"%s\" over all, \"%s\" over hosts\n",
                         s_kind_names [k], i, all.text, some.text);
                exit (1);
            }
        }
}

typedef enum { M_PLACE, M_SCAN_H, M_SCAN, M_HOSTS, M_HOSTS_SCAN_H, MEASURES } s_measure_t;

static void
s_report (const char *name, const double *best, double steps, double haversine_steps, size_t placed,
          bool goals)
{
    double rate = steps / best [M_PLACE];
    double scan_h = haversine_steps / best [M_SCAN_H];
    double scan = steps / best [M_SCAN];
    printf ("%-28s %7.0f /s  scan+haversine %6.0f /s ratio %5.2f  scan %6.0f /s ratio %4.2f", name,
            rate, scan_h, rate / scan_h, scan, rate / scan);
    printf ("  placed %3.0f%%", 100.0 * (double) placed / steps);
    if (goals)
        printf ("  goal >= 10000/s %s, scan ratio >= 0.5 %s", rate >= 10000 ? "PASS" : "BELOW",
                rate / scan >= 0.5 ? "PASS" : "BELOW");
    printf ("\n");
    double hosts = steps / best [M_HOSTS];
    double hosts_h = steps / best [M_HOSTS_SCAN_H];
    printf ("%-28s %7.0f /s  scan+haversine %6.0f /s ratio %5.2f   (hosts only)\n", "", hosts,
            hosts_h, hosts / hosts_h);
    fflush (stdout);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    bench_t *self = calloc (1, sizeof *self);
    if (!self)
        return 1;
    self->rng = 0x9E3779B97F4A7C15ull;
    s_world (self);
    s_steps (self);
    s_group (self);
    s_verify (self);
    printf ("bench_placement: %d candidates (%d agents on each of %d nodes, %d names), %d steps "
            "of each of %d kinds; best of %d rounds, each measure taking turns with the others\n",
            CANDIDATES, AGENTS_PER_NODE, NODES, NAMES, STEPS_PER_KIND, KINDS, ROUNDS);
    //  Best time of each measure for each kind; a round runs each once, in
    //  turn, so all see the same load from the rest of the machine.
    double best [KINDS][MEASURES];
    size_t placed [KINDS] = {0}, hosts_placed [KINDS] = {0};
    for (int k = 0; k < KINDS; k++)
        for (int m = 0; m < MEASURES; m++)
            best [k][m] = INFINITY;
    for (int r = 0; r < ROUNDS; r++)
        for (int k = 0; k < KINDS; k++) {
            double t [MEASURES];
            t [M_SCAN] = s_scan_time (self, k, STEPS_PER_KIND, false, false);
            t [M_SCAN_H] = s_scan_time (self, k, HAVERSINE_STEPS, false, true);
            t [M_PLACE] = s_place_time (self, k, STEPS_PER_KIND, false, &placed [k]);
            t [M_HOSTS_SCAN_H] = s_scan_time (self, k, STEPS_PER_KIND, true, true);
            t [M_HOSTS] = s_place_time (self, k, STEPS_PER_KIND, true, &hosts_placed [k]);
            for (int m = 0; m < MEASURES; m++)
                best [k][m] = t [m] < best [k][m] ? t [m] : best [k][m];
        }
    //  The mix: every kind's steps once (equal shares), from the kinds' best
    //  times; what a round-robin over the kinds would take.
    double mix [MEASURES] = {0};
    size_t mix_placed = 0;
    for (int k = 0; k < KINDS; k++) {
        for (int m = 0; m < MEASURES; m++)
            mix [m] += best [k][m];
        mix_placed += placed [k];
    }
    //  Goals: a 10,000-step workflow (the limit, DESIGN §11) placed within a
    //  second on 1,000 nodes; and placement at least half the bare scan's
    //  rate, i.e. no more than one scan's worth of work beyond it.
    s_report ("mix of all kinds", mix, (double) STEPS_PER_KIND * KINDS,
              (double) HAVERSINE_STEPS * KINDS, mix_placed, true);
    for (int k = 0; k < KINDS; k++) {
        char name [40];
        snprintf (name, sizeof name, "  %s", s_kind_names [k]);
        s_report (name, best [k], STEPS_PER_KIND, HAVERSINE_STEPS, placed [k], false);
    }
    free (self);
    return 0;
}
