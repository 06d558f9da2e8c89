/*  tests/unit/test_catalog.c: the workflow catalog view (node/catalog.h).

    workflow.published bodies encode and decode strictly (a hash that is
    not the text's is refused); publications fold into the catalog; the
    first publication of a version stands and a later one with other
    content is listed as a conflict, whichever arrives first; the latest
    version is the highest release; texts are found by hash; malformed
    bodies stay out of the catalog; two logs that take the same events in
    different orders hold identical catalogs, byte for byte. Each test
    works on real event logs in temp dirs, removed afterwards.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

#include "catalog.h"
#include "coreviews.h"
#include "evlog.h"
#include "identity.h"
#include "json.h"
#include "log.h"

//  --- Origins writing their own chains ----------------------------------------

typedef struct {
    fed_identity_t *identity;
    uint64_t seq;
    uint8_t prev [32];
} origin_t;

//  The origin's next event at the given hlc (ms). Caller destroys it.
static fed_event_t *
s_next (origin_t *self, uint64_t ms, const char *type, const msgpack_sbuffer *body)
{
    fed_err_t err = {0, ""};
    fed_event_t *event = fed_event_sign (
        fed_identity_secret (self->identity), fed_identity_public (self->identity), ++self->seq,
        self->prev, ms << 16, type, body->data, body->size, NULL, &err);
    if (!event)
        print_error ("sign: %s\n", err.text);
    assert_non_null (event);
    memcpy (self->prev, fed_event_id (event), 32);
    return event;
}

static bool
s_trust_all (void *arg, const uint8_t origin [32])
{
    return true;
}

typedef struct {
    char *dir;
    fed_identity_t *local;
    origin_t a, b;
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
    assert_int_equal (fed_catalog_register (log, &err), 0);
    return log;
}

static int
s_setup (void **state)
{
    fixture_t *self = (fixture_t *) calloc (1, sizeof (fixture_t));
    char template [] = "/tmp/fed-test-catalog.XXXXXX";
    self->dir = strdup (mkdtemp (template));
    self->local = fed_test_identity (0x10);
    self->a.identity = fed_test_identity (0xa1);
    self->b.identity = fed_test_identity (0xb2);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_identity_destroy (&self->local);
    fed_identity_destroy (&self->a.identity);
    fed_identity_destroy (&self->b.identity);
    fed_test_rmtree (self->dir);
    free (self->dir);
    free (self);
    return 0;
}

static void
s_accept (fed_evlog_t *log, const fed_event_t *event)
{
    fed_blob_t blob = {fed_event_bytes (event), fed_event_size (event)};
    fed_accept_report_t report;
    assert_int_equal (fed_evlog_accept (log, &blob, 1, &report), 0);
    if (report.accepted != 1)
        print_error ("not accepted: %s\n", report.first_error.text);
    assert_int_equal (report.accepted, 1);
}

//  A workflow named name at version, one step running agent.
static fed_workflow_t *
s_workflow (const char *name, const char *version, const char *agent)
{
    char *yaml = fed_sprintf ("name: %s\nversion: \"%s\"\nsteps:\n  - {id: a, agent: %s}\n", name,
                              version, agent);
    fed_wf_errors_t *errors = fed_wf_errors_new ();
    fed_workflow_t *wf = fed_workflow_parse (yaml, strlen (yaml), "t.yaml", NULL, errors);
    if (!wf)
        print_error ("%s\n", fed_wf_errors_text (errors, 0));
    assert_non_null (wf);
    fed_wf_errors_destroy (&errors);
    free (yaml);
    return wf;
}

//  origin's workflow.published event for wf at ms. Caller destroys it.
static fed_event_t *
s_publish (origin_t *origin, uint64_t ms, const fed_workflow_t *wf)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    fed_catalog_body_encode (wf, fed_identity_public (origin->identity), &body);
    fed_event_t *event = s_next (origin, ms, "workflow.published", &body);
    msgpack_sbuffer_destroy (&body);
    return event;
}

static void
test_body (void **state)
{
    fed_workflow_t *wf = s_workflow ("etl", "1.0", "sys.echo");
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    uint8_t by [32];
    memset (by, 7, 32);
    fed_catalog_body_encode (wf, by, &body);
    fed_catalog_body_t decoded;
    fed_err_t err = {0, ""};
    assert_int_equal (
        fed_catalog_body_decode ((const uint8_t *) body.data, body.size, &decoded, &err), 0);
    assert_string_equal (decoded.name, "etl");
    assert_string_equal (decoded.version, "1.0");
    assert_memory_equal (decoded.hash, fed_workflow_hash (wf), 32);
    size_t size;
    const char *source = fed_workflow_source (wf, &size);
    assert_int_equal (decoded.yaml_size, size);
    assert_memory_equal (decoded.yaml, source, size);
    assert_true (decoded.has_publisher);
    assert_memory_equal (decoded.published_by, by, 32);
    msgpack_sbuffer_destroy (&body);
    //  Bodies that must be refused, each with the reason.
    struct {
        const char *json;
        const char *phrase;
    } bad [] = {
        {"[1]", "expected a map"},
        {"{\"name\":\"etl\",\"version\":\"1\",\"hash\":\"x\",\"yaml\":\"y\"}",
         "'hash' must be a bin of 32 bytes"},
        {"{\"name\":\"Etl\"}", "'Etl' is not a valid workflow name"},
        {"{\"version\":\"1 0\"}", "'1 0' is not a valid version"},
        {"{\"name\":\"etl\",\"version\":\"1\"}", "name, version, hash and yaml are required"},
        {"{\"name\":7}", "'name' must be a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        uint8_t *packed;
        size_t packed_size;
        assert_int_equal (fed_json_to_msgpack (bad [i].json, strlen (bad [i].json), NULL, &packed,
                                               &packed_size, &err),
                          0);
        err.text [0] = 0;
        assert_int_equal (fed_catalog_body_decode (packed, packed_size, &decoded, &err), -1);
        assert_contains (err.text, bad [i].phrase);
        free (packed);
    }
    //  A hash that is not the text's.
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 4);
    msgpack_pack_str_with_body (&pk, "name", 4);
    msgpack_pack_str_with_body (&pk, "etl", 3);
    msgpack_pack_str_with_body (&pk, "version", 7);
    msgpack_pack_str_with_body (&pk, "1", 1);
    msgpack_pack_str_with_body (&pk, "hash", 4);
    msgpack_pack_bin_with_body (&pk, by, 32);
    msgpack_pack_str_with_body (&pk, "yaml", 4);
    msgpack_pack_str_with_body (&pk, "x: 1", 4);
    assert_int_equal (
        fed_catalog_body_decode ((const uint8_t *) body.data, body.size, &decoded, &err), -1);
    assert_contains (err.text, "hash is not the BLAKE2b-256 of yaml");
    msgpack_sbuffer_destroy (&body);
    fed_workflow_destroy (&wf);
}

//  The first publication of a version stands, whatever arrives first.
static void
test_first_stands (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_workflow_t *one = s_workflow ("etl", "1.0", "sys.echo");
    fed_workflow_t *other = s_workflow ("etl", "1.0", "sys.sleep");
    //  b publishes other content at t=100, a the first content at t=50 and
    //  again at t=200 (the same hash: its record keeps t=50).
    fed_event_t *late = s_publish (&self->b, 100, other);
    fed_event_t *early = s_publish (&self->a, 50, one);
    fed_event_t *again = s_publish (&self->a, 200, one);
    for (int run = 0; run < 2; run++) {
        char name [16];
        snprintf (name, sizeof name, "db%d", run);
        fed_evlog_t *log = s_open (self, name);
        if (run == 0) {
            s_accept (log, late);
            s_accept (log, early);
            s_accept (log, again);
        } else {
            s_accept (log, early);
            s_accept (log, again);
            s_accept (log, late);
        }
        fed_catalog_version_t found;
        fed_catalog_entry_t *others;
        size_t other_count;
        fed_err_t err;
        assert_int_equal (fed_catalog_find (log, "etl", "1.0", &found, &others, &other_count, &err),
                          1);
        assert_memory_equal (found.entry.hash, fed_workflow_hash (one), 32);
        assert_int_equal (found.entry.published_ms, 50);
        assert_memory_equal (found.entry.origin, fed_identity_public (self->a.identity), 32);
        assert_true (found.entry.has_publisher);
        assert_true (found.latest);
        assert_int_equal (found.conflicts, 1);
        assert_int_equal (other_count, 1);
        assert_memory_equal (others [0].hash, fed_workflow_hash (other), 32);
        assert_int_equal (others [0].published_ms, 100);
        free (others);
        //  Both texts are held, by hash.
        char *yaml;
        size_t size;
        assert_int_equal (fed_catalog_source (log, fed_workflow_hash (other), &yaml, &size, &err),
                          1);
        assert_contains (yaml, "agent: sys.sleep");
        assert_int_equal (yaml [size], 0);
        free (yaml);
        uint8_t none [32] = {0};
        assert_int_equal (fed_catalog_source (log, none, &yaml, &size, &err), 0);
        assert_null (yaml);
        assert_int_equal (fed_catalog_find (log, "etl", "2.0", &found, NULL, NULL, &err), 0);
        assert_int_equal (fed_catalog_find (log, "nope", NULL, &found, NULL, NULL, &err), 0);
        assert_int_equal (fed_catalog_find (log, "Bad/Name", NULL, &found, NULL, NULL, &err), 0);
        fed_evlog_destroy (&log);
    }
    fed_event_destroy (&late);
    fed_event_destroy (&early);
    fed_event_destroy (&again);
    fed_workflow_destroy (&one);
    fed_workflow_destroy (&other);
}

//  Versions list in order; the latest is the highest release.
static void
test_latest (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_evlog_t *log = s_open (self, "db");
    static const char *versions [] = {"1.9", "1.10", "2.0-beta", "1.0", "1.0.0"};
    for (size_t i = 0; i < 5; i++) {
        fed_workflow_t *wf = s_workflow ("etl", versions [i], "sys.echo");
        fed_event_t *event = s_publish (&self->a, 10 + i, wf);
        s_accept (log, event);
        fed_event_destroy (&event);
        fed_workflow_destroy (&wf);
    }
    fed_workflow_t *wf = s_workflow ("beta.only", "0.1-rc.1", "sys.echo");
    fed_event_t *event = s_publish (&self->b, 5, wf);
    s_accept (log, event);
    fed_event_destroy (&event);
    fed_workflow_destroy (&wf);
    fed_catalog_version_t *list;
    size_t count;
    fed_err_t err;
    assert_int_equal (fed_catalog_list (log, NULL, &list, &count, &err), 0);
    assert_int_equal (count, 6);
    //  By name, then version: 1.0 and 1.0.0 are equal, first published first.
    static const char *order [] = {"0.1-rc.1", "1.0", "1.0.0", "1.9", "1.10", "2.0-beta"};
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal (list [i].entry.version, order [i]);
        assert_int_equal (list [i].conflicts, 0);
    }
    assert_string_equal (list [0].entry.name, "beta.only");
    assert_true (list [0].latest); //  only pre-releases: the highest of them
    for (size_t i = 1; i < 6; i++)
        assert_int_equal (list [i].latest, i == 4); //  1.10, not 2.0-beta
    free (list);
    assert_int_equal (fed_catalog_list (log, "etl", &list, &count, &err), 0);
    assert_int_equal (count, 5);
    free (list);
    assert_int_equal (fed_catalog_list (log, "et", &list, &count, &err), 0);
    assert_int_equal (count, 0);
    assert_null (list);
    fed_catalog_version_t found;
    assert_int_equal (fed_catalog_find (log, "etl", NULL, &found, NULL, NULL, &err), 1);
    assert_string_equal (found.entry.version, "1.10");
    assert_int_equal (fed_catalog_find (log, "etl", "2.0-beta", &found, NULL, NULL, &err), 1);
    assert_false (found.latest);
    fed_evlog_destroy (&log);
    //  Equal under the order (1.0, 1.0.0) and nothing higher: the later one.
    log = s_open (self, "db2");
    self->b.seq = 0; //  a new chain for the new log
    memset (self->b.prev, 0, 32);
    for (size_t i = 3; i < 5; i++) {
        wf = s_workflow ("flow", versions [i], "sys.echo");
        event = s_publish (&self->b, 100 - i, wf); //  1.0.0 first published before 1.0
        s_accept (log, event);
        fed_event_destroy (&event);
        fed_workflow_destroy (&wf);
    }
    assert_int_equal (fed_catalog_find (log, "flow", NULL, &found, NULL, NULL, &err), 1);
    assert_string_equal (found.entry.version, "1.0");
    fed_evlog_destroy (&log);
}

//  Bodies that do not decode stay in the log and out of the catalog.
static void
test_malformed (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_evlog_t *log = s_open (self, "db");
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "name", 4);
    msgpack_pack_str_with_body (&pk, "etl", 3);
    fed_event_t *event = s_next (&self->a, 1, "workflow.published", &body);
    s_accept (log, event);
    fed_event_destroy (&event);
    msgpack_sbuffer_destroy (&body);
    fed_catalog_version_t *list;
    size_t count;
    fed_err_t err;
    assert_int_equal (fed_catalog_list (log, NULL, &list, &count, &err), 0);
    assert_int_equal (count, 0);
    assert_int_equal (fed_evlog_count (log), 1);
    fed_evlog_destroy (&log);
}

//  Two logs, the same events in different orders: the same bytes.
static void
test_converge (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    enum { EVENTS = 12 };
    fed_event_t *a [EVENTS], *b [EVENTS];
    for (int i = 0; i < EVENTS; i++) {
        char version [16];
        snprintf (version, sizeof version, "1.%d", i % 4);
        fed_workflow_t *wf = s_workflow (i % 3 ? "etl" : "load", version, "sys.echo");
        fed_workflow_t *other = s_workflow (i % 3 ? "etl" : "load", version, "sys.sleep");
        a [i] = s_publish (&self->a, 1000 + (uint64_t) (i * 7 % 5), wf);
        b [i] = s_publish (&self->b, 1000 + (uint64_t) (i * 3 % 5), i % 2 ? wf : other);
        fed_workflow_destroy (&wf);
        fed_workflow_destroy (&other);
    }
    fed_test_dump_t dumps [3] = {{0}};
    for (int run = 0; run < 3; run++) {
        char name [16];
        snprintf (name, sizeof name, "db%d", run);
        fed_evlog_t *log = s_open (self, name);
        for (int i = 0; i < EVENTS; i++) {
            //  a's chain then b's; b's then a's; interleaved.
            if (run == 0)
                s_accept (log, a [i]);
            else if (run == 1)
                s_accept (log, b [i]);
            else {
                s_accept (log, a [i]);
                s_accept (log, b [i]);
            }
        }
        for (int i = 0; run < 2 && i < EVENTS; i++)
            s_accept (log, run == 0 ? b [i] : a [i]);
        assert_int_equal (fed_evlog_view_scan (log, "workflow/", fed_test_dump_one, &dumps [run]),
                          0);
        fed_evlog_destroy (&log);
    }
    assert_true (dumps [0].keys > 10);
    for (int run = 1; run < 3; run++) {
        assert_int_equal (dumps [run].size, dumps [0].size);
        assert_memory_equal (dumps [run].data, dumps [0].data, dumps [0].size);
    }
    for (int i = 0; i < 3; i++)
        free (dumps [i].data);
    for (int i = 0; i < EVENTS; i++) {
        fed_event_destroy (&a [i]);
        fed_event_destroy (&b [i]);
    }
}

int
main (void)
{
    fed_log_set_level (FED_LOG_ERROR);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_body),
        cmocka_unit_test_setup_teardown (test_first_stands, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_latest, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_malformed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_converge, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
