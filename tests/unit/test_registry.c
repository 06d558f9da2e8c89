/*  tests/unit/test_registry.c: the agent registry view. Records encode and
    decode strictly (every bad field named); agent.registered and
    agent.deregistered fold into one last-writer-wins entry per (node,
    name); a node cannot register agents for another; an agent without a
    location inherits its node's; filters match; two logs that take the
    same events in different interleavings hold identical registries.
    Each test works on real event logs in temp dirs, removed afterwards.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "testutil.h"

#include "coreviews.h"
#include "evlog.h"
#include "identity.h"
#include "log.h"
#include "registry.h"

//  --- A remote origin writing its own chain -------------------------------

typedef struct {
    fed_identity_t *identity;
    uint64_t seq;
    uint8_t prev [32];
    uint64_t hlc;
} origin_t;

static void
s_origin_init (origin_t *self, uint8_t fill)
{
    memset (self, 0, sizeof *self);
    self->identity = fed_test_identity (fill);
    self->hlc = (uint64_t) 1700000000000 << 16;
}

//  The origin's next event. Caller destroys it.
static fed_event_t *
s_next (origin_t *self, const char *type, const msgpack_sbuffer *body)
{
    fed_err_t err = {0, ""};
    self->hlc += 1 << 16;
    fed_event_t *event = fed_event_sign (
        fed_identity_secret (self->identity), fed_identity_public (self->identity), ++self->seq,
        self->prev, self->hlc, type, body ? body->data : NULL, body ? body->size : 0, NULL, &err);
    if (!event)
        print_error ("sign: %s\n", err.text);
    assert_non_null (event);
    memcpy (self->prev, fed_event_id (event), 32);
    return event;
}

//  --- Fixture ----------------------------------------------------------------

static bool
s_trust_all (void *arg, const uint8_t origin [32])
{
    return true;
}

typedef struct {
    char *dir;
    fed_identity_t *local;
    origin_t a, b;
    fed_evlog_t *log;
} fixture_t;

static fed_evlog_t *
s_open (fixture_t *self, const char *name)
{
    char *path = fed_sprintf ("%s/%s", self->dir, name);
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    options.durability = FED_DURABILITY_WAL;
    fed_err_t err = {0, ""};
    fed_evlog_t *log = fed_evlog_open (path, &options, &err);
    free (path);
    assert_non_null (log);
    fed_evlog_set_signer (log, fed_identity_public (self->local),
                          fed_identity_secret (self->local));
    fed_evlog_set_trust (log, s_trust_all, NULL);
    assert_int_equal (fed_coreviews_register (log, &err), 0);
    assert_int_equal (fed_registry_register (log, &err), 0);
    return log;
}

static int
s_setup (void **state)
{
    fixture_t *self = (fixture_t *) calloc (1, sizeof (fixture_t));
    char template [] = "/tmp/fed-test-registry.XXXXXX";
    self->dir = strdup (mkdtemp (template));
    self->local = fed_test_identity (0x10);
    s_origin_init (&self->a, 0xa1);
    s_origin_init (&self->b, 0xb2);
    self->log = s_open (self, "db");
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_evlog_destroy (&self->log);
    fed_identity_destroy (&self->local);
    fed_identity_destroy (&self->a.identity);
    fed_identity_destroy (&self->b.identity);
    fed_test_rmtree (self->dir);
    free (self->dir);
    free (self);
    return 0;
}

static void
s_accept (fed_evlog_t *log, fed_event_t *event)
{
    fed_blob_t blob = {fed_event_bytes (event), fed_event_size (event)};
    fed_accept_report_t report;
    assert_int_equal (fed_evlog_accept (log, &blob, 1, &report), 0);
    if (report.accepted != 1)
        print_error ("not accepted: %s\n", report.first_error.text);
    assert_int_equal (report.accepted, 1);
}

//  A record for node with name and version; location when region is set.
static fed_agent_record_t *
s_record (const uint8_t node [32], const char *name, const char *version, const char *region)
{
    fed_agent_record_t *record = (fed_agent_record_t *) calloc (1, sizeof *record);
    snprintf (record->name, sizeof record->name, "%s", name);
    snprintf (record->version, sizeof record->version, "%s", version);
    memcpy (record->node, node, 32);
    record->kind = FED_AGENT_BUILTIN;
    record->capability_count = 2;
    strcpy (record->capabilities [0], "csv");
    strcpy (record->capabilities [1], "dedup");
    if (region) {
        record->has_location = true;
        snprintf (record->location.region, sizeof record->location.region, "%s", region);
        record->location.has_lat = record->location.has_lon = true;
        record->location.lat = 48.8566;
        record->location.lon = 2.3522;
        record->location.label_count = 1;
        strcpy (record->location.label_keys [0], "gpu");
        strcpy (record->location.label_values [0], "a100");
    }
    return record;
}

//  Writes record as an agent.registered event of origin into log.
static void
s_register (fed_evlog_t *log, origin_t *origin, const fed_agent_record_t *record)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_err_t err = {0, ""};
    assert_int_equal (fed_agent_record_encode (record, &body, &err), 0);
    fed_event_t *event = s_next (origin, "agent.registered", &body);
    s_accept (log, event);
    fed_event_destroy (&event);
    msgpack_sbuffer_destroy (&body);
}

static void
s_deregister (fed_evlog_t *log, origin_t *origin, const char *name)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_agent_deregistered_encode (fed_identity_public (origin->identity), name, &body);
    fed_event_t *event = s_next (origin, "agent.deregistered", &body);
    s_accept (log, event);
    fed_event_destroy (&event);
    msgpack_sbuffer_destroy (&body);
}

static int
s_count_one (void *arg, const fed_agent_record_t *record)
{
    (*(int *) arg)++;
    return 0;
}

static int
s_count (fed_evlog_t *log)
{
    int count = 0;
    fed_err_t err;
    assert_int_equal (fed_registry_scan (log, s_count_one, &count, &err), 0);
    return count;
}

//  --- Tests --------------------------------------------------------------------

static void
test_record_round_trip (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_agent_record_t *record =
        s_record (fed_identity_public (self->a.identity), "data.clean", "1.2.0", "eu-west");
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_err_t err = {0, ""};
    assert_int_equal (fed_agent_record_encode (record, &body, &err), 0);
    fed_agent_record_t *back = (fed_agent_record_t *) calloc (1, sizeof *back);
    assert_int_equal (fed_agent_record_decode ((const uint8_t *) body.data, body.size, back, &err),
                      0);
    assert_string_equal (back->name, "data.clean");
    assert_string_equal (back->version, "1.2.0");
    assert_memory_equal (back->node, record->node, 32);
    assert_int_equal (back->kind, FED_AGENT_BUILTIN);
    assert_int_equal (back->capability_count, 2);
    assert_string_equal (back->capabilities [1], "dedup");
    assert_true (back->has_location);
    assert_string_equal (back->location.region, "eu-west");
    assert_true (fabs (back->location.lat - 48.8566) < 1e-9);
    assert_string_equal (back->location.label_values [0], "a100");
    msgpack_sbuffer_destroy (&body);
    free (back);
    free (record);
}

//  Packs a body from a list of (key, packer) steps: the tests below build
//  bad records by hand, field by field.
typedef void (s_field_fn) (msgpack_packer *pk);
static void
s_f_name (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "data.clean", 10);
}
static void
s_f_version (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "1", 1);
}
static void
s_f_node (msgpack_packer *pk)
{
    uint8_t node [32] = {1};
    msgpack_pack_bin_with_body (pk, node, 32);
}
static void
s_f_kind (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "edge", 4);
}

typedef struct {
    const char *key;
    void (*pack) (msgpack_packer *pk);
} field_t;

static void
s_expect_bad (const field_t *fields, size_t count, const char *phrase)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, (uint32_t) count);
    for (size_t i = 0; i < count; i++) {
        msgpack_pack_str_with_body (&pk, fields [i].key, strlen (fields [i].key));
        fields [i].pack (&pk);
    }
    fed_agent_record_t *record = (fed_agent_record_t *) calloc (1, sizeof *record);
    fed_err_t err = {0, ""};
    assert_int_equal (
        fed_agent_record_decode ((const uint8_t *) body.data, body.size, record, &err), -1);
    assert_contains (err.text, phrase);
    free (record);
    msgpack_sbuffer_destroy (&body);
}

static void
s_bad_name (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "Data Clean", 10);
}
static void
s_long_name (msgpack_packer *pk)
{
    char name [80];
    memset (name, 'a', sizeof name);
    msgpack_pack_str_with_body (pk, name, sizeof name);
}
static void
s_short_node (msgpack_packer *pk)
{
    uint8_t node [31] = {1};
    msgpack_pack_bin_with_body (pk, node, 31);
}
static void
s_bad_kind (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "robot", 5);
}
static void
s_many_caps (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 33);
    for (int i = 0; i < 33; i++)
        msgpack_pack_str_with_body (pk, "x", 1);
}
static void
s_int_cap (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 1);
    msgpack_pack_int (pk, 7);
}
static void
s_bad_lat (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "lat", 3);
    msgpack_pack_double (pk, 91.0);
}
static void
s_nan_lon (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "lon", 3);
    msgpack_pack_double (pk, NAN);
}
static void
s_many_labels (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "labels", 6);
    msgpack_pack_map (pk, 33);
    for (int i = 0; i < 33; i++) {
        char key [8];
        int n = snprintf (key, sizeof key, "k%d", i);
        msgpack_pack_str_with_body (pk, key, (size_t) n);
        msgpack_pack_str_with_body (pk, "v", 1);
    }
}
static void
s_array_location (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 0);
}

static void
test_bad_records (void **state)
{
    (void) state;
    const field_t missing_kind [] = {
        {"name", s_f_name}, {"version", s_f_version}, {"node", s_f_node}};
    s_expect_bad (missing_kind, 3, "name, version, node and kind are required");
    const field_t bad_name [] = {
        {"name", s_bad_name}, {"version", s_f_version}, {"node", s_f_node}, {"kind", s_f_kind}};
    s_expect_bad (bad_name, 4, "use lowercase letters");
    const field_t long_name [] = {{"name", s_long_name}, {"kind", s_f_kind}};
    s_expect_bad (long_name, 2, "name: 80 bytes; expected 1 to 64");
    const field_t short_node [] = {{"node", s_short_node}};
    s_expect_bad (short_node, 1, "node: expected a 32-byte bin");
    const field_t bad_kind [] = {{"kind", s_bad_kind}};
    s_expect_bad (bad_kind, 1, "kind: expected \"builtin\", \"external\" or \"edge\"");
    const field_t many_caps [] = {{"capabilities", s_many_caps}};
    s_expect_bad (many_caps, 1, "capabilities: 33 entries; at most 32");
    const field_t int_cap [] = {{"capabilities", s_int_cap}};
    s_expect_bad (int_cap, 1, "capabilities entry: expected a string, got uint");
    const field_t bad_lat [] = {{"location", s_bad_lat}};
    s_expect_bad (bad_lat, 1, "location.lat: 91 is outside -90..90");
    const field_t nan_lon [] = {{"location", s_nan_lon}};
    s_expect_bad (nan_lon, 1, "location.lon: nan is outside");
    const field_t many_labels [] = {{"location", s_many_labels}};
    s_expect_bad (many_labels, 1, "location.labels: 33 labels; at most 32");
    const field_t array_location [] = {{"location", s_array_location}};
    s_expect_bad (array_location, 1, "location: expected a map, got array");
    //  Not a map at all, and truncated.
    fed_agent_record_t *record = (fed_agent_record_t *) calloc (1, sizeof *record);
    fed_err_t err = {0, ""};
    const uint8_t array [] = {0x90};
    assert_int_equal (fed_agent_record_decode (array, 1, record, &err), -1);
    const uint8_t truncated [] = {0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa5, 'd'};
    assert_int_equal (fed_agent_record_decode (truncated, sizeof truncated, record, &err), -1);
    //  The encoder refuses what the decoder would.
    uint8_t node [32] = {1};
    fed_agent_record_t *bad = s_record (node, "Bad Name", "1", NULL);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    assert_int_equal (fed_agent_record_encode (bad, &body, &err), -1);
    assert_contains (err.text, "agent name 'Bad Name'");
    free (bad);
    bad = s_record (node, "ok", "1", "r");
    bad->location.lat = 120;
    assert_int_equal (fed_agent_record_encode (bad, &body, &err), -1);
    assert_contains (err.text, "lat must be within -90..90");
    assert_int_equal (body.size, 0);
    msgpack_sbuffer_destroy (&body);
    free (bad);
    free (record);
}

static void
test_fold_register_update_deregister (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const uint8_t *a = fed_identity_public (self->a.identity);
    fed_agent_record_t *record = s_record (a, "data.clean", "1.0", NULL);
    s_register (self->log, &self->a, record);
    strcpy (record->version, "1.1");
    s_register (self->log, &self->a, record);
    fed_agent_record_t *found = (fed_agent_record_t *) calloc (1, sizeof *found);
    fed_err_t err;
    assert_int_equal (fed_registry_find (self->log, a, "data.clean", found, &err), 1);
    assert_string_equal (found->version, "1.1");
    assert_true (found->registered_ms >= 1700000000000);
    assert_int_equal (s_count (self->log), 1);
    //  A second agent, then the first leaves.
    fed_agent_record_t *other = s_record (a, "sys.echo", "1", NULL);
    s_register (self->log, &self->a, other);
    assert_int_equal (s_count (self->log), 2);
    s_deregister (self->log, &self->a, "data.clean");
    assert_int_equal (fed_registry_find (self->log, a, "data.clean", found, &err), 0);
    assert_int_equal (s_count (self->log), 1);
    //  And comes back.
    s_register (self->log, &self->a, record);
    assert_int_equal (fed_registry_find (self->log, a, "data.clean", found, &err), 1);
    assert_int_equal (s_count (self->log), 2);
    //  Unknown names are simply absent.
    assert_int_equal (fed_registry_find (self->log, a, "nope", found, &err), 0);
    free (found);
    free (other);
    free (record);
}

static void
test_only_a_node_speaks_for_its_agents (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const uint8_t *b = fed_identity_public (self->b.identity);
    //  A registers an agent claiming to be on B: in the log, not in the registry.
    fed_agent_record_t *record = s_record (b, "data.clean", "1", NULL);
    s_register (self->log, &self->a, record);
    assert_int_equal (s_count (self->log), 0);
    //  B's own registration counts, and A cannot deregister it.
    s_register (self->log, &self->b, record);
    assert_int_equal (s_count (self->log), 1);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_agent_deregistered_encode (b, "data.clean", &body);
    fed_event_t *event = s_next (&self->a, "agent.deregistered", &body);
    s_accept (self->log, event);
    fed_event_destroy (&event);
    msgpack_sbuffer_destroy (&body);
    assert_int_equal (s_count (self->log), 1);
    //  A malformed registration is stored in the log and ignored here.
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "name", 4);
    msgpack_pack_int (&pk, 5);
    event = s_next (&self->b, "agent.registered", &body);
    s_accept (self->log, event);
    fed_event_destroy (&event);
    msgpack_sbuffer_destroy (&body);
    assert_int_equal (s_count (self->log), 1);
    free (record);
}

static void
test_location_inherited_from_node (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const uint8_t *a = fed_identity_public (self->a.identity);
    //  A's node.started says where A is.
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "name", 4);
    msgpack_pack_str_with_body (&pk, "edge-a", 6);
    msgpack_pack_str_with_body (&pk, "location", 8);
    fed_agent_location_t where;
    memset (&where, 0, sizeof where);
    strcpy (where.region, "ap-south");
    where.has_lat = where.has_lon = true;
    where.lat = 19.07;
    where.lon = 72.87;
    where.label_count = 1;
    strcpy (where.label_keys [0], "site");
    strcpy (where.label_values [0], "mumbai");
    fed_agent_location_pack (&pk, &where);
    fed_event_t *event = s_next (&self->a, "node.started", &body);
    s_accept (self->log, event);
    fed_event_destroy (&event);
    msgpack_sbuffer_destroy (&body);

    fed_agent_record_t *plain = s_record (a, "sys.echo", "1", NULL);
    fed_agent_location_t location;
    assert_true (fed_agent_effective_location (self->log, plain, &location));
    assert_string_equal (location.region, "ap-south");
    assert_true (location.has_lat && fabs (location.lon - 72.87) < 1e-9);
    //  Its own location wins.
    fed_agent_record_t *placed = s_record (a, "sys.echo", "1", "eu-west");
    assert_true (fed_agent_effective_location (self->log, placed, &location));
    assert_string_equal (location.region, "eu-west");
    //  A node never heard of: no location.
    fed_agent_record_t *lost = s_record (fed_identity_public (self->b.identity), "x", "1", NULL);
    assert_false (fed_agent_effective_location (self->log, lost, &location));
    assert_string_equal (location.region, "");

    //  Filters.
    fed_agent_filter_t filter;
    memset (&filter, 0, sizeof filter);
    assert_true (fed_agent_matches (plain, &where, &filter));
    filter.name = "sys.echo";
    filter.capability = "dedup";
    filter.region = "ap-south";
    filter.kind = "builtin";
    const char *keys [] = {"site"}, *values [] = {"mumbai"};
    filter.label_count = 1;
    filter.label_keys = keys;
    filter.label_values = values;
    assert_true (fed_agent_matches (plain, &where, &filter));
    filter.region = "eu-west";
    assert_false (fed_agent_matches (plain, &where, &filter));
    filter.region = NULL;
    values [0] = "pune";
    assert_false (fed_agent_matches (plain, &where, &filter));
    values [0] = "mumbai";
    filter.capability = "gpu";
    assert_false (fed_agent_matches (plain, &where, &filter));
    filter.capability = NULL;
    filter.kind = "edge";
    assert_false (fed_agent_matches (plain, &where, &filter));
    free (plain);
    free (placed);
    free (lost);
}

static void
test_converges_across_interleavings (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    //  Both origins register, update and deregister; one log takes all of
    //  A then all of B, the other alternates starting with B.
    enum { EVENTS = 12 };
    fed_event_t *from_a [EVENTS], *from_b [EVENTS];
    origin_t *origins [2] = {&self->a, &self->b};
    fed_event_t **chains [2] = {from_a, from_b};
    for (int o = 0; o < 2; o++) {
        const uint8_t *node = fed_identity_public (origins [o]->identity);
        for (int i = 0; i < EVENTS; i++) {
            char name [16];
            snprintf (name, sizeof name, "agent.%d", i % 4);
            msgpack_sbuffer body;
            msgpack_sbuffer_init (&body);
            const char *type = "agent.registered";
            if (i % 5 == 4) {
                type = "agent.deregistered";
                fed_agent_deregistered_encode (node, name, &body);
            } else {
                char version [8];
                snprintf (version, sizeof version, "%d", i);
                fed_agent_record_t *record = s_record (node, name, version, i % 2 ? "r1" : NULL);
                fed_err_t err;
                assert_int_equal (fed_agent_record_encode (record, &body, &err), 0);
                free (record);
            }
            chains [o][i] = s_next (origins [o], type, &body);
            msgpack_sbuffer_destroy (&body);
        }
    }
    fed_evlog_t *other = s_open (self, "db2");
    for (int i = 0; i < EVENTS; i++)
        s_accept (self->log, from_a [i]);
    for (int i = 0; i < EVENTS; i++)
        s_accept (self->log, from_b [i]);
    for (int i = 0; i < EVENTS; i++) {
        s_accept (other, from_b [i]);
        s_accept (other, from_a [i]);
    }
    fed_test_dump_t one = {NULL, 0, 0}, two = {NULL, 0, 0};
    assert_int_equal (fed_evlog_view_scan (self->log, "agent/", fed_test_dump_one, &one), 0);
    assert_int_equal (fed_evlog_view_scan (other, "agent/", fed_test_dump_one, &two), 0);
    assert_int_equal (one.keys, 8); //  four names on each of two nodes
    assert_int_equal (one.size, two.size);
    assert_memory_equal (one.data, two.data, one.size);
    assert_int_equal (s_count (self->log), s_count (other));
    free (one.data);
    free (two.data);
    fed_evlog_destroy (&other);
    for (int i = 0; i < EVENTS; i++) {
        fed_event_destroy (&from_a [i]);
        fed_event_destroy (&from_b [i]);
    }
}

int
main (void)
{
    fed_log_set_level (FED_LOG_ERROR);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_record_round_trip, s_setup, s_teardown),
        cmocka_unit_test (test_bad_records),
        cmocka_unit_test_setup_teardown (test_fold_register_update_deregister, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_only_a_node_speaks_for_its_agents, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_location_inherited_from_node, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_converges_across_interleavings, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
