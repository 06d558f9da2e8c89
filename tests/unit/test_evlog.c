/*  tests/unit/test_evlog.c: the RocksDB event log. Local appends are atomic
    and survive a reopen; received events are accepted, buffered or refused
    one reason at a time, and nothing refused ever enters the log; forks
    quarantine their origin for good; the views fold every stored event,
    converge under last-writer-wins and rebuild to the same bytes. Each test
    runs on a real store in its own temp directory, removed afterwards.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include <sodium.h>

#include "coreviews.h"
#include "evlog.h"
#include "evlog_internal.h" //  white-box: the interrupted-rebuild test sets a meta mark
#include "identity.h"

//  Compares a report's count for one outcome, naming it on failure.
#define assert_status(report, status, expected)                                                    \
    do {                                                                                           \
        if ((report).by_status [status] != (size_t) (expected)) {                                  \
            print_error ("%s: expected %zu, got %zu (first error: %s)\n",                          \
                         fed_event_status_name (status), (size_t) (expected),                      \
                         (report).by_status [status], (report).first_error.text);                  \
            fail ();                                                                               \
        }                                                                                          \
    } while (0)

//  --- Fixture: a temp dir, the local key, two trusted origins, one not ------

typedef struct {
    char *dir;                //  temp dir, removed at teardown
    char *db;                 //  dir/db
    fed_identity_t *local;    //  the log's signer
    fed_identity_t *a, *b;    //  trusted remote origins
    fed_identity_t *stranger; //  untrusted
} fixture_t;

static int
s_setup (void **state)
{
    char template [] = "/tmp/fed-evlog-XXXXXX";
    if (!mkdtemp (template))
        return -1;
    fixture_t *self = calloc (1, sizeof *self);
    self->dir = fed_strdup (template);
    self->db = fed_sprintf ("%s/db", template);
    self->local = fed_test_identity (1);
    self->a = fed_test_identity (2);
    self->b = fed_test_identity (3);
    self->stranger = fed_test_identity (4);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    int rc = fed_test_rmtree (self->dir);
    fed_identity_destroy (&self->local);
    fed_identity_destroy (&self->a);
    fed_identity_destroy (&self->b);
    fed_identity_destroy (&self->stranger);
    free (self->db);
    free (self->dir);
    free (self);
    return rc;
}

static bool
s_trust (void *arg, const uint8_t origin [32])
{
    fixture_t *self = arg;
    return memcmp (origin, fed_identity_public (self->a), 32) == 0
        || memcmp (origin, fed_identity_public (self->b), 32) == 0;
}

//  Opens the fixture's log with options (NULL: defaults but WAL durability),
//  signer and trust set, and the core views.
static fed_evlog_t *
s_open_with (fixture_t *self, const fed_evlog_options_t *options)
{
    fed_evlog_options_t defaults;
    fed_evlog_options_default (&defaults);
    defaults.durability = FED_DURABILITY_WAL;
    fed_err_t err = {0, ""};
    fed_evlog_t *log = fed_evlog_open (self->db, options ? options : &defaults, &err);
    if (!log)
        print_error ("open failed: %s\n", err.text);
    assert_non_null (log);
    fed_evlog_set_signer (log, fed_identity_public (self->local),
                          fed_identity_secret (self->local));
    fed_evlog_set_trust (log, s_trust, self);
    int rc = fed_coreviews_register (log, &err);
    if (rc)
        print_error ("coreviews: %s\n", err.text);
    assert_int_equal (rc, 0);
    return log;
}

static fed_evlog_t *
s_open (fixture_t *self)
{
    return s_open_with (self, NULL);
}

//  --- Remote chains ---------------------------------------------------------

//  Body {"n": n} with n as uint16, so a test can alter one byte and keep the
//  msgpack valid.
static void
s_n_body (uint8_t body [6], uint16_t n)
{
    body [0] = 0x81;
    body [1] = 0xa1;
    body [2] = 'n';
    body [3] = 0xcd;
    body [4] = (uint8_t) (n >> 8);
    body [5] = (uint8_t) n;
}

//  Signs count linked events of origin key, seq 1..count, into events.
static void
s_chain (const fed_identity_t *key, fed_event_t **events, size_t count, const char *type,
         uint64_t hlc_base)
{
    fed_err_t err = {0, ""};
    for (size_t i = 0; i < count; i++) {
        uint8_t body [6];
        s_n_body (body, (uint16_t) (i + 1));
        events [i] = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), i + 1,
                                     i ? fed_event_id (events [i - 1]) : NULL, hlc_base + i, type,
                                     body, sizeof body, NULL, &err);
        assert_non_null (events [i]);
    }
}

static void
s_free_chain (fed_event_t **events, size_t count)
{
    for (size_t i = 0; i < count; i++)
        fed_event_destroy (&events [i]);
}

static fed_blob_t
s_blob (const fed_event_t *event)
{
    return (fed_blob_t){fed_event_bytes (event), fed_event_size (event)};
}

//  The bytes of event with the last byte of its body flipped: still a
//  well-formed event, but the signature no longer verifies. Caller frees.
static uint8_t *
s_tampered (const fed_event_t *event)
{
    uint8_t *copy = malloc (fed_event_size (event));
    memcpy (copy, fed_event_bytes (event), fed_event_size (event));
    size_t at = (size_t) (fed_event_body (event) - fed_event_bytes (event))
        + fed_event_body_size (event) - 1;
    copy [at] ^= 0x40;
    return copy;
}

//  Accepts the listed events (by index into chain) as one batch.
static void
s_accept (fed_evlog_t *log, fed_event_t **chain, const int *which, size_t count,
          fed_accept_report_t *report)
{
    fed_blob_t blobs [64];
    assert_true (count <= 64);
    for (size_t i = 0; i < count; i++)
        blobs [i] = s_blob (chain [which [i]]);
    assert_int_equal (fed_evlog_accept (log, blobs, count, report), 0);
}

//  The stored event at (origin, seq) must be exactly expected.
static void
s_assert_stored (fed_evlog_t *log, const fed_event_t *expected)
{
    fed_event_t *held = fed_evlog_get (log, fed_event_origin (expected), fed_event_seq (expected));
    if (!held)
        print_error ("seq %llu is not stored\n", (unsigned long long) fed_event_seq (expected));
    assert_non_null (held);
    assert_int_equal (fed_event_size (held), fed_event_size (expected));
    assert_memory_equal (fed_event_bytes (held), fed_event_bytes (expected),
                         fed_event_size (expected));
    fed_event_destroy (&held);
}

static void
s_assert_absent (fed_evlog_t *log, const uint8_t *origin, uint64_t seq)
{
    fed_event_t *held = fed_evlog_get (log, origin, seq);
    if (held)
        print_error ("seq %llu should not be stored\n", (unsigned long long) seq);
    assert_null (held);
}

static void
s_assert_verifies (fed_evlog_t *log, uint64_t origins, uint64_t events)
{
    fed_verify_report_t report;
    int rc = fed_evlog_verify (log, &report);
    if (rc)
        print_error ("verify: %s\n", report.first_error.text);
    assert_int_equal (rc, 0);
    assert_int_equal (report.bad, 0);
    assert_int_equal (report.origins, origins);
    assert_int_equal (report.events, events);
}

//  --- Views dump --------------------------------------------------------------

static fed_test_dump_t
s_dump (fed_evlog_t *log)
{
    fed_test_dump_t dump = {NULL, 0, 0};
    assert_int_equal (fed_evlog_view_scan (log, "", fed_test_dump_one, &dump), 0);
    return dump;
}

//  --- Local appends -----------------------------------------------------------

typedef struct {
    uint64_t seqs [16];
    size_t count;
} seen_t;

static int
s_collect (void *arg, const fed_event_t *event)
{
    seen_t *seen = arg;
    seen->seqs [seen->count++] = fed_event_seq (event);
    return seen->count == 16 ? 99 : 0;
}

static void
test_append_and_read_back (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    const uint8_t *me = fed_identity_public (self->local);
    assert_memory_equal (fed_evlog_origin (log), me, 32);
    fed_err_t err = {0, ""};
    const uint8_t body [] = {0x81, 0xa1, 'x', 0x2a};
    uint64_t seq = 0;
    assert_int_equal (fed_evlog_append (log, "user.deploy", body, sizeof body, &seq, &err), 0);
    assert_true (seq == 1);
    assert_int_equal (fed_evlog_append (log, "user.undo", NULL, 0, &seq, &err), 0);
    assert_true (seq == 2);
    assert_int_equal (fed_evlog_append (log, "user.deploy", body, sizeof body, &seq, &err), 0);
    assert_true (seq == 3);

    fed_event_t *events [3];
    for (int i = 0; i < 3; i++) {
        events [i] = fed_evlog_get (log, me, (uint64_t) i + 1);
        assert_non_null (events [i]);
        assert_true (fed_event_verify (events [i]));
        assert_memory_equal (fed_event_origin (events [i]), me, 32);
        assert_true (fed_event_seq (events [i]) == (uint64_t) i + 1);
    }
    const uint8_t zeros [32] = {0};
    assert_memory_equal (fed_event_prev (events [0]), zeros, 32);
    assert_memory_equal (fed_event_prev (events [1]), fed_event_id (events [0]), 32);
    assert_memory_equal (fed_event_prev (events [2]), fed_event_id (events [1]), 32);
    assert_true (fed_event_hlc (events [0]) < fed_event_hlc (events [1]));
    assert_true (fed_event_hlc (events [1]) < fed_event_hlc (events [2]));
    assert_string_equal (fed_event_type (events [1]), "user.undo");
    assert_int_equal (fed_event_body_size (events [0]), sizeof body);
    assert_memory_equal (fed_event_body (events [0]), body, sizeof body);
    assert_int_equal (fed_event_body_size (events [1]), 1);
    assert_null (fed_evlog_get (log, me, 4));
    assert_null (fed_evlog_get (log, fed_identity_public (self->a), 1));

    assert_true (fed_evlog_count (log) == 3);
    assert_true (fed_evlog_seq (log, me) == 3);
    assert_true (fed_evlog_seq (log, fed_identity_public (self->a)) == 0);
    fed_vv_entry_t *vv = NULL;
    assert_int_equal (fed_evlog_version_vector (log, &vv), 1);
    assert_memory_equal (vv [0].origin, me, 32);
    assert_true (vv [0].seq == 3);
    assert_memory_equal (vv [0].id, fed_event_id (events [2]), 32);
    free (vv);

    //  Ranges: one origin from 2, a bounded range, every origin, a stop.
    seen_t seen = {{0}, 0};
    assert_int_equal (fed_evlog_range (log, me, 2, 0, s_collect, &seen, &err), 0);
    assert_int_equal (seen.count, 2);
    assert_true (seen.seqs [0] == 2 && seen.seqs [1] == 3);
    seen.count = 0;
    assert_int_equal (fed_evlog_range (log, me, 1, 2, s_collect, &seen, &err), 0);
    assert_int_equal (seen.count, 2);
    assert_true (seen.seqs [0] == 1 && seen.seqs [1] == 2);
    seen.count = 0;
    assert_int_equal (fed_evlog_range (log, NULL, 0, 0, s_collect, &seen, &err), 0);
    assert_int_equal (seen.count, 3);
    seen.count = 13;
    assert_int_equal (fed_evlog_range (log, me, 1, 0, s_collect, &seen, &err), 99);
    assert_int_equal (seen.count, 16);
    seen.count = 0;
    assert_int_equal (
        fed_evlog_range (log, fed_identity_public (self->a), 1, 0, s_collect, &seen, &err), 0);
    assert_int_equal (seen.count, 0);

    fed_evlog_stats_t stats;
    fed_evlog_stats (log, &stats);
    assert_true (stats.appended == 3);
    assert_true (stats.batches >= 3);
    assert_int_equal (fed_coreviews_count (log, "type/user.deploy"), 2);
    assert_int_equal (fed_coreviews_count (log, "type/user.undo"), 1);
    assert_int_equal (fed_coreviews_count (log, "total"), 3);
    s_assert_verifies (log, 1, 3);
    for (int i = 0; i < 3; i++)
        fed_event_destroy (&events [i]);
    fed_evlog_destroy (&log);
    assert_null (log);
    fed_evlog_destroy (&log);
}

static void
test_append_refusals (void **state)
{
    fixture_t *self = *state;
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    options.durability = FED_DURABILITY_SYNC;
    fed_err_t err = {0, ""};
    fed_evlog_t *log = fed_evlog_open (self->db, &options, &err);
    assert_non_null (log);
    assert_int_equal (fed_evlog_append (log, "a.b", NULL, 0, NULL, &err), -1);
    assert_contains (err.text, "without a signing key");
    fed_evlog_set_signer (log, fed_identity_public (self->local),
                          fed_identity_secret (self->local));
    assert_int_equal (fed_evlog_append (log, "a b", NULL, 0, NULL, &err), -1);
    assert_int_equal (err.code, FED_EVENT_MALFORMED);
    const uint8_t array [] = {0x90};
    assert_int_equal (fed_evlog_append (log, "a.b", array, 1, NULL, &err), -1);
    assert_int_equal (err.code, FED_EVENT_MALFORMED);
    assert_true (fed_evlog_count (log) == 0);
    assert_int_equal (fed_evlog_append (log, "a.b", NULL, 0, NULL, &err), 0);
    assert_true (fed_evlog_count (log) == 1);
    assert_int_equal (fed_evlog_append_many (log, NULL, 0, NULL, &err), 0);
    assert_true (fed_evlog_count (log) == 1);
    fed_evlog_destroy (&log);
}

static void
test_append_many_is_atomic (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    const uint8_t *me = fed_identity_public (self->local);
    fed_err_t err = {0, ""};
    assert_int_equal (fed_evlog_append (log, "first.one", NULL, 0, NULL, &err), 0);
    fed_test_dump_t before = s_dump (log);

    fed_new_event_t items [10];
    for (int i = 0; i < 10; i++)
        items [i] = (fed_new_event_t){"batch.item", NULL, 0};
    items [5].type = "bad..type";
    uint64_t first = 77;
    assert_int_equal (fed_evlog_append_many (log, items, 10, &first, &err), -1);
    assert_int_equal (err.code, FED_EVENT_MALFORMED);
    assert_contains (err.text, "bad..type");
    assert_true (first == 77);
    assert_true (fed_evlog_seq (log, me) == 1);
    assert_true (fed_evlog_count (log) == 1);
    for (uint64_t seq = 2; seq <= 11; seq++)
        s_assert_absent (log, me, seq);
    assert_int_equal (fed_coreviews_count (log, "type/batch.item"), 0);
    fed_test_dump_t after = s_dump (log);
    assert_int_equal (after.size, before.size);
    assert_memory_equal (after.data, before.data, before.size);
    free (after.data);
    free (before.data);

    //  The same batch, fixed, goes in whole and continues the chain.
    items [5].type = "batch.item";
    assert_int_equal (fed_evlog_append_many (log, items, 10, &first, &err), 0);
    assert_true (first == 2);
    assert_true (fed_evlog_seq (log, me) == 11);
    assert_true (fed_evlog_count (log) == 11);
    assert_int_equal (fed_coreviews_count (log, "type/batch.item"), 10);
    assert_int_equal (fed_coreviews_count (log, "total"), 11);
    s_assert_verifies (log, 1, 11);
    fed_evlog_destroy (&log);
}

static void
test_reopen_continues_chain (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    const uint8_t *me = fed_identity_public (self->local);
    fed_err_t err = {0, ""};
    for (int i = 0; i < 3; i++)
        assert_int_equal (fed_evlog_append (log, "a.b", NULL, 0, NULL, &err), 0);
    fed_event_t *chain [2];
    s_chain (self->a, chain, 2, "remote.x", 1000);
    fed_accept_report_t report;
    s_accept (log, chain, (int []){0, 1}, 2, &report);
    assert_int_equal (report.accepted, 2);
    fed_event_t *third = fed_evlog_get (log, me, 3);
    fed_evlog_destroy (&log);

    log = s_open (self);
    assert_true (fed_evlog_count (log) == 5);
    assert_true (fed_evlog_seq (log, me) == 3);
    assert_true (fed_evlog_seq (log, fed_identity_public (self->a)) == 2);
    uint64_t seq = 0;
    assert_int_equal (fed_evlog_append (log, "a.b", NULL, 0, &seq, &err), 0);
    assert_true (seq == 4);
    fed_event_t *fourth = fed_evlog_get (log, me, 4);
    assert_non_null (fourth);
    assert_memory_equal (fed_event_prev (fourth), fed_event_id (third), 32);
    assert_true (fed_event_hlc (fourth) > fed_event_hlc (third));
    s_assert_stored (log, chain [0]);
    s_assert_stored (log, chain [1]);
    assert_int_equal (fed_coreviews_count (log, "total"), 6);
    s_assert_verifies (log, 2, 6);
    fed_event_destroy (&fourth);
    fed_event_destroy (&third);
    s_free_chain (chain, 2);
    fed_evlog_destroy (&log);
}

//  --- Remote accept -------------------------------------------------------------

static void
test_accept_good_run (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    fed_event_t *chain [5];
    s_chain (self->a, chain, 5, "remote.x", 1000);
    fed_accept_report_t report;
    s_accept (log, chain, (int []){0, 1, 2, 3, 4}, 5, &report);
    assert_int_equal (report.accepted, 5);
    assert_status (report, FED_EVENT_OK, 5);
    assert_int_equal (report.first_error.code, 0);
    assert_true (fed_evlog_count (log) == 5);
    assert_true (fed_evlog_seq (log, fed_identity_public (self->a)) == 5);
    for (int i = 0; i < 5; i++)
        s_assert_stored (log, chain [i]);
    assert_int_equal (fed_coreviews_count (log, "type/remote.x"), 5);
    fed_evlog_stats_t stats;
    fed_evlog_stats (log, &stats);
    assert_true (stats.received [FED_EVENT_OK] == 5);
    assert_true (stats.appended == 0);
    s_assert_verifies (log, 1, 5);
    s_free_chain (chain, 5);
    fed_evlog_destroy (&log);
}

static void
test_accept_untrusted (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    fed_event_t *chain [3];
    s_chain (self->stranger, chain, 3, "remote.x", 1000);
    fed_accept_report_t report;
    s_accept (log, chain, (int []){0, 1, 2}, 3, &report);
    assert_int_equal (report.accepted, 0);
    assert_status (report, FED_EVENT_UNTRUSTED, 3);
    assert_status (report, FED_EVENT_OK, 0);
    assert_int_equal (report.first_error.code, FED_EVENT_UNTRUSTED);
    assert_contains (report.first_error.text, "untrusted");
    assert_true (fed_evlog_count (log) == 0);
    assert_true (fed_evlog_seq (log, fed_identity_public (self->stranger)) == 0);
    for (uint64_t seq = 1; seq <= 3; seq++)
        s_assert_absent (log, fed_identity_public (self->stranger), seq);
    assert_int_equal (fed_evlog_pending (log), 0);
    assert_int_equal (fed_coreviews_count (log, "total"), 0);
    s_free_chain (chain, 3);
    fed_evlog_destroy (&log);
}

static void
test_accept_bad_signature_at_end (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    const uint8_t *a = fed_identity_public (self->a);
    fed_event_t *chain [4];
    s_chain (self->a, chain, 4, "remote.x", 1000);
    uint8_t *tampered = s_tampered (chain [3]);
    fed_blob_t blobs [4] = {s_blob (chain [0]),
                            s_blob (chain [1]),
                            s_blob (chain [2]),
                            {tampered, fed_event_size (chain [3])}};
    fed_accept_report_t report;
    assert_int_equal (fed_evlog_accept (log, blobs, 4, &report), 0);
    assert_int_equal (report.accepted, 3);
    assert_status (report, FED_EVENT_OK, 3);
    assert_status (report, FED_EVENT_BAD_SIGNATURE, 1);
    assert_int_equal (report.first_error.code, FED_EVENT_BAD_SIGNATURE);
    assert_true (fed_evlog_seq (log, a) == 3);
    assert_true (fed_evlog_count (log) == 3);
    for (int i = 0; i < 3; i++)
        s_assert_stored (log, chain [i]);
    s_assert_absent (log, a, 4);

    //  A lone tampered event is refused too; the genuine one then goes in.
    assert_int_equal (fed_evlog_accept (log, blobs + 3, 1, &report), 0);
    assert_status (report, FED_EVENT_BAD_SIGNATURE, 1);
    assert_int_equal (report.accepted, 0);
    s_assert_absent (log, a, 4);
    s_accept (log, chain, (int []){3}, 1, &report);
    assert_int_equal (report.accepted, 1);
    s_assert_stored (log, chain [3]);
    assert_int_equal (fed_coreviews_count (log, "total"), 4);
    s_assert_verifies (log, 1, 4);
    free (tampered);
    s_free_chain (chain, 4);
    fed_evlog_destroy (&log);
}

static void
test_accept_tampered_middle (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    const uint8_t *a = fed_identity_public (self->a);
    fed_event_t *chain [6];
    s_chain (self->a, chain, 6, "remote.x", 1000);
    //  A relay alters event 3 and forwards the run.
    uint8_t *tampered = s_tampered (chain [2]);
    fed_blob_t blobs [6];
    for (int i = 0; i < 6; i++)
        blobs [i] = s_blob (chain [i]);
    blobs [2].data = tampered;
    fed_accept_report_t report;
    assert_int_equal (fed_evlog_accept (log, blobs, 6, &report), 0);
    assert_int_equal (report.accepted, 2);
    assert_status (report, FED_EVENT_OK, 2);
    assert_status (report, FED_EVENT_BAD_SIGNATURE, 1);
    assert_status (report, FED_EVENT_BUFFERED, 3);
    assert_true (fed_evlog_seq (log, a) == 2);
    assert_true (fed_evlog_count (log) == 2);
    s_assert_stored (log, chain [0]);
    s_assert_stored (log, chain [1]);
    for (uint64_t seq = 3; seq <= 6; seq++)
        s_assert_absent (log, a, seq);
    assert_int_equal (fed_evlog_pending (log), 3);
    fed_gap_t *gaps = NULL;
    assert_int_equal (fed_evlog_gaps (log, &gaps), 1);
    assert_memory_equal (gaps [0].origin, a, 32);
    assert_true (gaps [0].from == 3 && gaps [0].to == 3);
    free (gaps);

    //  The genuine event 3 arrives: it and the three buffered go in.
    s_accept (log, chain, (int []){2}, 1, &report);
    assert_int_equal (report.accepted, 4);
    assert_status (report, FED_EVENT_OK, 1);
    assert_status (report, FED_EVENT_BAD_SIGNATURE, 0);
    assert_true (fed_evlog_seq (log, a) == 6);
    assert_int_equal (fed_evlog_pending (log), 0);
    for (int i = 0; i < 6; i++)
        s_assert_stored (log, chain [i]);
    assert_int_equal (fed_coreviews_count (log, "total"), 6);
    s_assert_verifies (log, 1, 6);
    free (tampered);
    s_free_chain (chain, 6);
    fed_evlog_destroy (&log);
}

static void
test_accept_bad_prev (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    const uint8_t *a = fed_identity_public (self->a);
    fed_event_t *chain [3];
    s_chain (self->a, chain, 3, "remote.x", 1000);
    fed_accept_report_t report;
    s_accept (log, chain, (int []){0, 1}, 2, &report);
    assert_int_equal (report.accepted, 2);
    //  Seq 3 claiming origin a, with a wrong prev, signed by another key.
    uint8_t wrong [32];
    memset (wrong, 0xee, sizeof wrong);
    fed_err_t err = {0, ""};
    fed_event_t *forged = fed_event_sign (fed_identity_secret (self->stranger), a, 3, wrong, 2000,
                                          "remote.x", NULL, 0, NULL, &err);
    assert_non_null (forged);
    fed_blob_t blob = s_blob (forged);
    assert_int_equal (fed_evlog_accept (log, &blob, 1, &report), 0);
    assert_int_equal (report.accepted, 0);
    assert_status (report, FED_EVENT_BAD_PREV, 1);
    assert_status (report, FED_EVENT_FORK, 0);
    assert_int_equal (report.first_error.code, FED_EVENT_BAD_PREV);
    assert_false (fed_evlog_quarantined (log, a));
    assert_true (fed_evlog_seq (log, a) == 2);
    s_assert_absent (log, a, 3);
    //  The same forgery in one batch behind the genuine events.
    fed_blob_t batch [2] = {s_blob (chain [1]), blob};
    assert_int_equal (fed_evlog_accept (log, batch, 2, &report), 0);
    assert_status (report, FED_EVENT_DUPLICATE, 1);
    assert_status (report, FED_EVENT_BAD_PREV, 1);
    //  And the genuine one still goes in.
    s_accept (log, chain, (int []){2}, 1, &report);
    assert_int_equal (report.accepted, 1);
    s_assert_stored (log, chain [2]);
    assert_true (fed_evlog_count (log) == 3);
    fed_event_destroy (&forged);
    s_free_chain (chain, 3);
    fed_evlog_destroy (&log);
}

//  A view recording the order events are folded in (state: seen_t).
static int
s_order_apply (void *state, fed_view_txn_t *txn, const fed_event_t *event)
{
    seen_t *seen = state;
    if (seen->count < 16)
        seen->seqs [seen->count++] = fed_event_seq (event);
    return 0;
}

static void
test_accept_gap_then_fill (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    seen_t order = {{0}, 0};
    fed_view_def_t view = {"order", 1, s_order_apply, &order};
    fed_err_t err = {0, ""};
    assert_int_equal (fed_evlog_add_view (log, &view, &err), 0);
    const uint8_t *a = fed_identity_public (self->a);
    fed_event_t *chain [6];
    s_chain (self->a, chain, 6, "remote.x", 1000);
    fed_accept_report_t report;
    s_accept (log, chain, (int []){5, 3, 4}, 3, &report);
    assert_int_equal (report.accepted, 0);
    assert_status (report, FED_EVENT_BUFFERED, 3);
    assert_true (fed_evlog_count (log) == 0);
    assert_int_equal (fed_evlog_pending (log), 3);
    fed_gap_t *gaps = NULL;
    assert_int_equal (fed_evlog_gaps (log, &gaps), 1);
    assert_memory_equal (gaps [0].origin, a, 32);
    assert_true (gaps [0].from == 1);
    assert_true (gaps [0].to == 3);
    free (gaps);

    s_accept (log, chain, (int []){1}, 1, &report);
    assert_status (report, FED_EVENT_BUFFERED, 1);
    assert_int_equal (report.accepted, 0);
    assert_int_equal (fed_evlog_pending (log), 4);
    assert_int_equal (fed_evlog_gaps (log, &gaps), 1);
    assert_true (gaps [0].from == 1 && gaps [0].to == 1);
    free (gaps);

    //  Another origin's events do not disturb a's buffer.
    fed_event_t *other [1];
    s_chain (self->b, other, 1, "remote.y", 500);
    s_accept (log, other, (int []){0}, 1, &report);
    assert_int_equal (report.accepted, 1);
    assert_int_equal (fed_evlog_pending (log), 4);
    assert_int_equal (order.count, 1);
    order.count = 0;

    s_accept (log, chain, (int []){2, 0}, 2, &report);
    assert_int_equal (report.accepted, 6);
    assert_status (report, FED_EVENT_OK, 2);
    assert_status (report, FED_EVENT_BUFFERED, 0);
    assert_int_equal (fed_evlog_pending (log), 0);
    assert_int_equal (fed_evlog_gaps (log, &gaps), 0);
    free (gaps);
    assert_true (fed_evlog_seq (log, a) == 6);
    assert_true (fed_evlog_count (log) == 7);
    assert_int_equal (order.count, 6);
    for (size_t i = 0; i < 6; i++)
        assert_true (order.seqs [i] == i + 1);
    for (int i = 0; i < 6; i++)
        s_assert_stored (log, chain [i]);
    assert_int_equal (fed_coreviews_count (log, "type/remote.x"), 6);
    s_assert_verifies (log, 2, 7);
    s_free_chain (other, 1);
    s_free_chain (chain, 6);
    fed_evlog_destroy (&log);
}

static void
test_accept_duplicates (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    fed_event_t *chain [3];
    s_chain (self->a, chain, 3, "remote.x", 1000);
    fed_accept_report_t report;
    s_accept (log, chain, (int []){0, 2, 1, 0, 2}, 5, &report);
    assert_int_equal (report.accepted, 3);
    assert_status (report, FED_EVENT_OK, 3);
    assert_status (report, FED_EVENT_DUPLICATE, 2);
    assert_int_equal (report.first_error.code, 0);
    s_accept (log, chain, (int []){0, 1, 2}, 3, &report);
    assert_int_equal (report.accepted, 0);
    assert_status (report, FED_EVENT_DUPLICATE, 3);
    assert_status (report, FED_EVENT_OK, 0);
    assert_true (fed_evlog_count (log) == 3);
    assert_int_equal (fed_coreviews_count (log, "total"), 3);
    assert_int_equal (fed_coreviews_count (log, "type/remote.x"), 3);
    s_assert_verifies (log, 1, 3);

    //  Duplicates of events waiting behind a gap are held once.
    fed_event_t *other [3];
    s_chain (self->b, other, 3, "remote.y", 1000);
    s_accept (log, other, (int []){2, 2}, 2, &report);
    assert_status (report, FED_EVENT_BUFFERED, 1);
    assert_status (report, FED_EVENT_DUPLICATE, 1);
    assert_int_equal (fed_evlog_pending (log), 1);
    s_accept (log, other, (int []){2}, 1, &report);
    assert_status (report, FED_EVENT_BUFFERED, 0);
    assert_status (report, FED_EVENT_DUPLICATE, 1);
    assert_int_equal (fed_evlog_pending (log), 1);
    //  The gap fills; the copy of 3 sent again is a duplicate of the buffered one.
    s_accept (log, other, (int []){1, 2, 0}, 3, &report);
    assert_int_equal (report.accepted, 3);
    assert_status (report, FED_EVENT_OK, 2);
    assert_status (report, FED_EVENT_DUPLICATE, 1);
    assert_int_equal (fed_evlog_pending (log), 0);
    assert_true (fed_evlog_count (log) == 6);
    assert_int_equal (fed_coreviews_count (log, "total"), 6);
    s_free_chain (other, 3);
    s_free_chain (chain, 3);
    fed_evlog_destroy (&log);
}

typedef struct {
    bool found;
    uint8_t origin [32];
    uint64_t seq;
} forked_t;

//  Finds origin and seq in an origin.forked body.
static int
s_find_forked (void *arg, const fed_event_t *event)
{
    forked_t *forked = arg;
    if (strcmp (fed_event_type (event), "origin.forked") != 0)
        return 0;
    fed_mpr_t reader;
    fed_mpr_init (&reader, fed_event_body (event), fed_event_body_size (event));
    uint32_t count;
    assert_int_equal (fed_mpr_map (&reader, &count), 0);
    assert_int_equal (count, 4);
    for (uint32_t i = 0; i < count; i++) {
        const char *name;
        uint32_t size;
        assert_int_equal (fed_mpr_str (&reader, &name, &size), 0);
        if (size == 6 && memcmp (name, "origin", 6) == 0) {
            const uint8_t *origin;
            uint32_t len;
            assert_int_equal (fed_mpr_bin (&reader, &origin, &len), 0);
            assert_int_equal (len, 32);
            memcpy (forked->origin, origin, 32);
        } else if (size == 3 && memcmp (name, "seq", 3) == 0)
            assert_int_equal (fed_mpr_uint (&reader, &forked->seq), 0);
        else
            assert_int_equal (fed_mpr_skip (&reader, NULL), 0);
    }
    forked->found = true;
    return 0;
}

static void
test_fork_quarantines (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    const uint8_t *a = fed_identity_public (self->a);
    const uint8_t *me = fed_identity_public (self->local);
    fed_event_t *chain [4];
    s_chain (self->a, chain, 4, "remote.x", 1000);
    fed_accept_report_t report;
    s_accept (log, chain, (int []){0, 1, 2}, 3, &report);
    assert_int_equal (report.accepted, 3);

    //  a signs a different event 2 (same prev): a fork.
    uint8_t body [6];
    s_n_body (body, 999);
    fed_err_t err = {0, ""};
    fed_event_t *other =
        fed_event_sign (fed_identity_secret (self->a), a, 2, fed_event_id (chain [0]), 1001,
                        "remote.x", body, sizeof body, NULL, &err);
    assert_non_null (other);
    assert_true (fed_event_verify (other));
    fed_blob_t blob = s_blob (other);
    assert_int_equal (fed_evlog_accept (log, &blob, 1, &report), 0);
    assert_status (report, FED_EVENT_FORK, 1);
    assert_int_equal (report.accepted, 0);
    assert_int_equal (report.first_error.code, FED_EVENT_FORK);
    assert_true (fed_evlog_quarantined (log, a));
    assert_false (fed_evlog_quarantined (log, fed_identity_public (self->b)));
    fed_evlog_stats_t stats;
    fed_evlog_stats (log, &stats);
    assert_true (stats.forks == 1);
    //  The held event 2 is unchanged; the local node recorded the fork.
    s_assert_stored (log, chain [1]);
    assert_true (fed_evlog_seq (log, a) == 3);
    assert_true (fed_evlog_seq (log, me) == 1);
    assert_true (fed_evlog_count (log) == 4);
    forked_t forked = {false, {0}, 0};
    assert_int_equal (fed_evlog_range (log, me, 1, 0, s_find_forked, &forked, &err), 0);
    assert_true (forked.found);
    assert_memory_equal (forked.origin, a, 32);
    assert_true (forked.seq == 2);
    assert_int_equal (fed_coreviews_count (log, "type/origin.forked"), 1);

    //  Later events from a are refused.
    s_accept (log, chain, (int []){3}, 1, &report);
    assert_status (report, FED_EVENT_QUARANTINED, 1);
    assert_int_equal (report.accepted, 0);
    s_assert_absent (log, a, 4);
    s_assert_verifies (log, 2, 4);
    fed_evlog_destroy (&log);

    //  The quarantine survives a reopen.
    log = s_open (self);
    assert_true (fed_evlog_quarantined (log, a));
    s_accept (log, chain, (int []){3}, 1, &report);
    assert_status (report, FED_EVENT_QUARANTINED, 1);
    s_assert_absent (log, a, 4);
    assert_true (fed_evlog_count (log) == 4);
    //  The local chain continues after origin.forked.
    uint64_t seq = 0;
    assert_int_equal (fed_evlog_append (log, "a.b", NULL, 0, &seq, &err), 0);
    assert_true (seq == 2);
    s_assert_verifies (log, 2, 5);
    fed_event_destroy (&other);
    s_free_chain (chain, 4);
    fed_evlog_destroy (&log);
}

static void
test_fork_at_next_seq (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    const uint8_t *a = fed_identity_public (self->a);
    fed_event_t *chain [2];
    s_chain (self->a, chain, 2, "remote.x", 1000);
    fed_accept_report_t report;
    s_accept (log, chain, (int []){0, 1}, 2, &report);
    //  Validly signed seq 3 whose prev is not event 2.
    uint8_t wrong [32];
    memset (wrong, 0x11, sizeof wrong);
    fed_err_t err = {0, ""};
    fed_event_t *other = fed_event_sign (fed_identity_secret (self->a), a, 3, wrong, 1005,
                                         "remote.x", NULL, 0, NULL, &err);
    fed_blob_t blob = s_blob (other);
    assert_int_equal (fed_evlog_accept (log, &blob, 1, &report), 0);
    assert_status (report, FED_EVENT_FORK, 1);
    assert_true (fed_evlog_quarantined (log, a));
    s_assert_absent (log, a, 3);
    assert_true (fed_evlog_count (log) == 3);
    fed_event_destroy (&other);
    s_free_chain (chain, 2);
    fed_evlog_destroy (&log);
}

static void
test_pending_overflow (void **state)
{
    fixture_t *self = *state;
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    options.durability = FED_DURABILITY_WAL;
    options.pending_max = 2;
    fed_evlog_t *log = s_open_with (self, &options);
    fed_event_t *chain [6];
    s_chain (self->a, chain, 6, "remote.x", 1000);
    fed_accept_report_t report;
    s_accept (log, chain, (int []){2, 3, 4, 5}, 4, &report);
    assert_status (report, FED_EVENT_BUFFERED, 2);
    assert_status (report, FED_EVENT_OVERFLOW, 2);
    assert_int_equal (report.first_error.code, FED_EVENT_OVERFLOW);
    assert_contains (report.first_error.text, "limits.pending_events");
    assert_int_equal (fed_evlog_pending (log), 2);
    fed_evlog_stats_t stats;
    fed_evlog_stats (log, &stats);
    assert_true (stats.received [FED_EVENT_OVERFLOW] == 2);
    assert_true (fed_evlog_count (log) == 0);
    //  Filling the gap drains what was held; the dropped ones come again.
    s_accept (log, chain, (int []){0, 1}, 2, &report);
    assert_int_equal (report.accepted, 4);
    assert_true (fed_evlog_seq (log, fed_identity_public (self->a)) == 4);
    s_accept (log, chain, (int []){4, 5}, 2, &report);
    assert_int_equal (report.accepted, 2);
    assert_true (fed_evlog_count (log) == 6);
    s_free_chain (chain, 6);
    fed_evlog_destroy (&log);
}

static void
test_read_only (void **state)
{
    fixture_t *self = *state;
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    options.read_only = true;
    fed_err_t err = {0, ""};
    //  Read-only never creates a store.
    assert_null (fed_evlog_open (self->db, &options, &err));
    assert_contains (err.text, self->db);

    fed_evlog_t *log = s_open (self);
    for (int i = 0; i < 3; i++)
        assert_int_equal (fed_evlog_append (log, "a.b", NULL, 0, NULL, &err), 0);
    //  A reader beside the running writer sees what was written.
    fed_evlog_t *reader = fed_evlog_open (self->db, &options, &err);
    assert_non_null (reader);
    assert_true (fed_evlog_count (reader) == 3);
    fed_evlog_destroy (&reader);
    fed_evlog_destroy (&log);

    reader = fed_evlog_open (self->db, &options, &err);
    assert_non_null (reader);
    fed_evlog_set_signer (reader, fed_identity_public (self->local),
                          fed_identity_secret (self->local));
    assert_int_equal (fed_coreviews_register (reader, &err), 0);
    const uint8_t *me = fed_identity_public (self->local);
    assert_true (fed_evlog_count (reader) == 3);
    assert_true (fed_evlog_seq (reader, me) == 3);
    fed_event_t *event = fed_evlog_get (reader, me, 3);
    assert_non_null (event);
    assert_int_equal (fed_coreviews_count (reader, "total"), 3);
    assert_int_equal (fed_evlog_append (reader, "a.b", NULL, 0, NULL, &err), -1);
    assert_contains (err.text, "read-only");
    fed_blob_t blob = s_blob (event);
    fed_accept_report_t report;
    assert_int_equal (fed_evlog_accept (reader, &blob, 1, &report), -1);
    assert_contains (report.first_error.text, "read-only");
    assert_int_equal (fed_evlog_rebuild (reader, &err), -1);
    assert_true (fed_evlog_count (reader) == 3);
    s_assert_verifies (reader, 1, 3);
    fed_event_destroy (&event);
    fed_evlog_destroy (&reader);
}

static void
test_second_writer_refused (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    fed_err_t err = {0, ""};
    fed_evlog_t *second = fed_evlog_open (self->db, NULL, &err);
    assert_null (second);
    assert_contains (err.text, self->db);
    assert_contains (err.text, "another fednode");
    fed_evlog_destroy (&log);
    //  Once the first is closed, it opens.
    second = fed_evlog_open (self->db, NULL, &err);
    assert_non_null (second);
    fed_evlog_destroy (&second);
}

//  --- Views ---------------------------------------------------------------------

//  kv.set {key, value: str} or kv.delete {key} signed by key at (seq, prev, hlc).
static fed_event_t *
s_kv_event (const fed_identity_t *key, uint64_t seq, const fed_event_t *prev, uint64_t hlc,
            const char *name, const char *value)
{
    uint8_t body [128];
    size_t n = 0;
    body [n++] = value ? 0x82 : 0x81;
    body [n++] = 0xa3;
    memcpy (body + n, "key", 3);
    n += 3;
    body [n++] = (uint8_t) (0xa0 | strlen (name));
    memcpy (body + n, name, strlen (name));
    n += strlen (name);
    if (value) {
        body [n++] = 0xa5;
        memcpy (body + n, "value", 5);
        n += 5;
        body [n++] = (uint8_t) (0xa0 | strlen (value));
        memcpy (body + n, value, strlen (value));
        n += strlen (value);
    }
    fed_err_t err = {0, ""};
    fed_event_t *event = fed_event_sign (fed_identity_secret (key), fed_identity_public (key), seq,
                                         prev ? fed_event_id (prev) : NULL, hlc,
                                         value ? "kv.set" : "kv.delete", body, n, NULL, &err);
    assert_non_null (event);
    return event;
}

//  kv KEY must read as the msgpack str value, or be absent if value is NULL.
static void
s_assert_kv (fed_evlog_t *log, const char *key, const char *value)
{
    uint8_t *got = NULL;
    size_t size = 0;
    assert_int_equal (fed_coreviews_kv_get (log, key, &got, &size), 0);
    if (!value) {
        if (got)
            print_error ("kv %s: expected absent, got %zu bytes\n", key, size);
        assert_null (got);
        return;
    }
    if (!got || size != strlen (value) + 1 || memcmp (got + 1, value, size - 1) != 0)
        print_error ("kv %s: expected \"%s\", got %.*s\n", key, value, (int) size,
                     got ? (const char *) got + 1 : "(absent)");
    assert_non_null (got);
    assert_int_equal (size, strlen (value) + 1);
    assert_int_equal (got [0], 0xa0 | strlen (value));
    assert_memory_equal (got + 1, value, strlen (value));
    free (got);
}

static void
test_kv_last_writer_wins (void **state)
{
    fixture_t *self = *state;
    //  The origin with the larger key wins hlc ties.
    bool a_larger = memcmp (fed_identity_public (self->a), fed_identity_public (self->b), 32) > 0;
    fed_event_t *ea [3], *eb [3];
    ea [0] = s_kv_event (self->a, 1, NULL, 100, "k", "a1");
    ea [1] = s_kv_event (self->a, 2, ea [0], 300, "k", NULL);
    ea [2] = s_kv_event (self->a, 3, ea [1], 500, "tie", "from-a");
    eb [0] = s_kv_event (self->b, 1, NULL, 200, "k", "b1");
    eb [1] = s_kv_event (self->b, 2, eb [0], 400, "j", "b2");
    eb [2] = s_kv_event (self->b, 3, eb [1], 500, "tie", "from-b");

    fed_test_dump_t first = {NULL, 0, 0};
    for (int run = 0; run < 4; run++) {
        fed_evlog_t *log = s_open (self);
        fed_accept_report_t report;
        fed_blob_t blobs [3];
        //  Run 0: a then b, one event at a time in steps; run 1: b then a;
        //  runs 2 and 3: interleaved.
        for (int step = 0; step < 6; step++) {
            fed_event_t *event;
            if (run == 0)
                event = step < 3 ? ea [step] : eb [step - 3];
            else if (run == 1)
                event = step < 3 ? eb [step] : ea [step - 3];
            else if (run == 2)
                event = step % 2 ? ea [step / 2] : eb [step / 2];
            else
                event = step % 2 ? eb [step / 2] : ea [step / 2];
            blobs [0] = s_blob (event);
            assert_int_equal (fed_evlog_accept (log, blobs, 1, &report), 0);
            assert_int_equal (report.accepted, 1);
            if (run == 0 && step == 0)
                s_assert_kv (log, "k", "a1");
            if (run == 1 && step == 0)
                s_assert_kv (log, "k", "b1");
        }
        //  k: a1@100, b1@200, delete@300 -> deleted. j: b2. tie: larger origin.
        s_assert_kv (log, "k", NULL);
        s_assert_kv (log, "j", "b2");
        s_assert_kv (log, "tie", a_larger ? "from-a" : "from-b");
        s_assert_kv (log, "never", NULL);
        assert_int_equal (fed_coreviews_count (log, "type/kv.set"), 5);
        assert_int_equal (fed_coreviews_count (log, "type/kv.delete"), 1);
        fed_test_dump_t dump = s_dump (log);
        if (run == 0)
            first = dump;
        else {
            assert_int_equal (dump.size, first.size);
            assert_memory_equal (dump.data, first.data, first.size);
            free (dump.data);
        }
        fed_evlog_destroy (&log);
        int rc = fed_test_rmtree (self->db);
        assert_int_equal (rc, 0);
    }
    //  stats: 2 type counters, nodes: none, kv: 3 registers (k tombstone, j, tie).
    assert_int_equal (first.keys, 5);
    free (first.data);

    //  A delete that is older than the set it follows in apply order loses.
    fed_evlog_t *log = s_open (self);
    fed_event_t *late_set = s_kv_event (self->a, 1, NULL, 900, "z", "set");
    fed_event_t *old_delete = s_kv_event (self->b, 1, NULL, 800, "z", NULL);
    fed_blob_t blobs [2] = {s_blob (late_set), s_blob (old_delete)};
    fed_accept_report_t report;
    assert_int_equal (fed_evlog_accept (log, blobs, 2, &report), 0);
    assert_int_equal (report.accepted, 2);
    s_assert_kv (log, "z", "set");
    fed_evlog_destroy (&log);
    fed_event_destroy (&late_set);
    fed_event_destroy (&old_delete);
    s_free_chain (ea, 3);
    s_free_chain (eb, 3);
}

//  Fills a log with local and remote events of several types.
static void
s_fill (fixture_t *self, fed_evlog_t *log, fed_event_t **chain)
{
    fed_err_t err = {0, ""};
    const uint8_t info [] = {0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa2, 'n', '1'};
    assert_int_equal (fed_evlog_append (log, "node.info", info, sizeof info, NULL, &err), 0);
    const uint8_t kv [] = {0x82, 0xa3, 'k', 'e', 'y',  0xa1, 'q',  0xa5, 'v',
                           'a',  'l',  'u', 'e', 0x93, 0x01, 0x02, 0x03};
    assert_int_equal (fed_evlog_append (log, "kv.set", kv, sizeof kv, NULL, &err), 0);
    assert_int_equal (fed_evlog_append (log, "misc.thing", NULL, 0, NULL, &err), 0);
    s_chain (self->a, chain, 4, "node.info", 5000);
    fed_accept_report_t report;
    s_accept (log, chain, (int []){0, 1, 2, 3}, 4, &report);
    assert_int_equal (report.accepted, 4);
}

static void
test_rebuild_is_byte_identical (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    fed_event_t *chain [4];
    s_fill (self, log, chain);
    fed_test_dump_t before = s_dump (log);
    //  stats: node.info, kv.set, misc.thing; nodes: local, a; kv: q.
    assert_int_equal (before.keys, 6);
    fed_err_t err = {0, ""};
    assert_int_equal (fed_evlog_rebuild (log, &err), 0);
    fed_test_dump_t after = s_dump (log);
    assert_int_equal (after.keys, before.keys);
    assert_int_equal (after.size, before.size);
    assert_memory_equal (after.data, before.data, before.size);
    free (after.data);
    //  Twice, and after a reopen, the same.
    assert_int_equal (fed_evlog_rebuild (log, &err), 0);
    fed_evlog_destroy (&log);
    log = s_open (self);
    after = s_dump (log);
    assert_int_equal (after.size, before.size);
    assert_memory_equal (after.data, before.data, before.size);
    free (after.data);
    assert_int_equal (fed_coreviews_count (log, "total"), 7);
    assert_int_equal (fed_coreviews_count (log, "type/node.info"), 5);
    uint8_t *value = NULL;
    size_t size = 0;
    assert_int_equal (fed_coreviews_kv_get (log, "q", &value, &size), 0);
    assert_int_equal (size, 4);
    assert_memory_equal (value, "\x93\x01\x02\x03", 4);
    free (value);
    free (before.data);
    s_free_chain (chain, 4);
    fed_evlog_destroy (&log);
}

//  A test view: counts events under the key "v1" or "v2" per its version.
typedef struct {
    size_t applied;
} counting_t;

static int
s_count_v1 (void *state, fed_view_txn_t *txn, const fed_event_t *event)
{
    ((counting_t *) state)->applied++;
    fed_view_add (txn, "v1", 2, 1);
    return 0;
}

static int
s_count_v2 (void *state, fed_view_txn_t *txn, const fed_event_t *event)
{
    ((counting_t *) state)->applied++;
    fed_view_add (txn, "v2", 2, 10);
    return 0;
}

static int64_t
s_view_counter (fed_evlog_t *log, const char *key)
{
    uint8_t *value = NULL;
    size_t size = 0;
    assert_int_equal (fed_evlog_view_get (log, key, strlen (key), &value, &size), 0);
    int64_t count = value ? fed_view_counter (value, size) : -1;
    free (value);
    return count;
}

static void
test_view_version_bump_refolds (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    fed_event_t *chain [4];
    s_fill (self, log, chain);
    fed_err_t err = {0, ""};
    //  A new view is folded from the whole log on registration.
    counting_t counting = {0};
    fed_view_def_t v1 = {"counting", 1, s_count_v1, &counting};
    assert_int_equal (fed_evlog_add_view (log, &v1, &err), 0);
    assert_int_equal (counting.applied, 7);
    assert_int_equal (s_view_counter (log, "counting/v1"), 7);
    assert_int_equal (fed_evlog_add_view (log, &v1, &err), -1);
    assert_contains (err.text, "already registered");
    fed_view_def_t bad = {"Bad-Name", 1, s_count_v1, &counting};
    assert_int_equal (fed_evlog_add_view (log, &bad, &err), -1);
    assert_contains (err.text, "Bad-Name");
    assert_int_equal (fed_evlog_append (log, "x.y", NULL, 0, NULL, &err), 0);
    assert_int_equal (s_view_counter (log, "counting/v1"), 8);
    fed_evlog_destroy (&log);

    //  Same version: not refolded.
    counting.applied = 0;
    log = s_open (self);
    assert_int_equal (fed_evlog_add_view (log, &v1, &err), 0);
    assert_int_equal (counting.applied, 0);
    assert_int_equal (s_view_counter (log, "counting/v1"), 8);
    fed_test_dump_t core = {NULL, 0, 0};
    assert_int_equal (fed_evlog_view_scan (log, "stats/", fed_test_dump_one, &core), 0);
    fed_evlog_destroy (&log);

    //  Bumped: refolded from scratch, old keys gone, other views untouched.
    log = s_open (self);
    fed_view_def_t v2 = {"counting", 2, s_count_v2, &counting};
    assert_int_equal (fed_evlog_add_view (log, &v2, &err), 0);
    assert_int_equal (counting.applied, 8);
    assert_int_equal (s_view_counter (log, "counting/v1"), -1);
    assert_int_equal (s_view_counter (log, "counting/v2"), 80);
    fed_test_dump_t core_after = {NULL, 0, 0};
    assert_int_equal (fed_evlog_view_scan (log, "stats/", fed_test_dump_one, &core_after), 0);
    assert_int_equal (core_after.size, core.size);
    assert_memory_equal (core_after.data, core.data, core.size);
    assert_int_equal (core.keys, 4);
    free (core.data);
    free (core_after.data);
    s_free_chain (chain, 4);
    fed_evlog_destroy (&log);
}

static void
test_view_name_is_copied (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    fed_err_t err = {0, ""};
    counting_t counting = {0};
    char name [16];
    snprintf (name, sizeof name, "%s", "named");
    fed_view_def_t def = {name, 1, s_count_v1, &counting};
    assert_int_equal (fed_evlog_add_view (log, &def, &err), 0);
    //  The caller reuses its buffer: the registered view keeps its name.
    snprintf (name, sizeof name, "%s", "other");
    assert_int_equal (fed_evlog_append (log, "x.y", NULL, 0, NULL, &err), 0);
    assert_int_equal (counting.applied, 1);
    assert_int_equal (s_view_counter (log, "named/v1"), 1);
    assert_int_equal (s_view_counter (log, "other/v1"), -1);
    fed_evlog_destroy (&log);
}

static void
test_bodies_over_default_limit (void **state)
{
    fixture_t *self = *state;
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    options.durability = FED_DURABILITY_WAL;
    options.limits.max_body = 3 * 1024 * 1024;
    fed_evlog_t *log = s_open_with (self, &options);
    size_t data_size = 2 * 1024 * 1024;
    uint8_t *body = malloc (data_size + 8);
    body [0] = 0x81;
    body [1] = 0xa1;
    body [2] = 'b';
    body [3] = 0xc6;
    body [4] = (uint8_t) (data_size >> 24);
    body [5] = (uint8_t) (data_size >> 16);
    body [6] = (uint8_t) (data_size >> 8);
    body [7] = (uint8_t) data_size;
    memset (body + 8, 0x42, data_size);
    fed_err_t err = {0, ""};
    uint64_t seq = 0;
    assert_int_equal (fed_evlog_append (log, "big.blob", body, data_size + 8, &seq, &err), 0);
    //  What the log took in with its limits, it reads back.
    fed_event_t *event = fed_evlog_get (log, fed_identity_public (self->local), seq);
    assert_non_null (event);
    assert_int_equal (fed_event_body_size (event), data_size + 8);
    s_assert_verifies (log, 1, 1);
    assert_int_equal (fed_evlog_rebuild (log, &err), 0);
    assert_int_equal (fed_coreviews_count (log, "type/big.blob"), 1);
    fed_event_destroy (&event);
    free (body);
    fed_evlog_destroy (&log);
}

static void
test_verify_good_log (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    fed_event_t *chain [4];
    s_fill (self, log, chain);
    fed_event_t *other [2];
    s_chain (self->b, other, 2, "remote.y", 1);
    fed_accept_report_t report;
    s_accept (log, other, (int []){1, 0}, 2, &report);
    assert_int_equal (report.accepted, 2);
    s_assert_verifies (log, 3, 9);
    fed_vv_entry_t *vv = NULL;
    assert_int_equal (fed_evlog_version_vector (log, &vv), 3);
    for (int i = 0; i < 2; i++)
        assert_true (memcmp (vv [i].origin, vv [i + 1].origin, 32) < 0);
    uint64_t total = 0;
    for (int i = 0; i < 3; i++)
        total += vv [i].seq;
    assert_true (total == 9);
    free (vv);
    s_free_chain (other, 2);
    s_free_chain (chain, 4);
    fed_evlog_destroy (&log);
}

#define TEST(name) cmocka_unit_test_setup_teardown (name, s_setup, s_teardown)

//  The id index is built off the write path: an event is found by id
//  before it is indexed (from the unindexed tail), while the index is being
//  built, and after; the index resumes where it stopped across a reopen.
static void
test_id_index_deferred (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    uint8_t ids [10][32];
    for (int i = 0; i < 10; i++) {
        uint64_t seq;
        fed_err_t err;
        assert_int_equal (fed_evlog_append (log, "user.n", NULL, 0, &seq, &err), 0);
        fed_event_t *event = fed_evlog_get (log, fed_identity_public (self->local), seq);
        assert_non_null (event);
        memcpy (ids [i], fed_event_id (event), 32);
        fed_event_destroy (&event);
    }
    uint8_t unknown [32];
    memset (unknown, 0x5a, sizeof unknown);
    for (int step = 0; step < 3; step++) {
        for (int i = 0; i < 10; i++) {
            fed_event_t *found = fed_evlog_get_by_id (log, ids [i]);
            assert_non_null (found);
            assert_memory_equal (fed_event_id (found), ids [i], 32);
            assert_int_equal (fed_event_seq (found), (uint64_t) i + 1);
            fed_event_destroy (&found);
        }
        assert_null (fed_evlog_get_by_id (log, unknown));
        if (step == 0)
            assert_int_equal (fed_evlog_index_ids (log, 4), 4);
        else if (step == 1) {
            fed_evlog_destroy (&log);
            log = s_open (self);
            //  Resumes after the 4 indexed before the reopen.
            assert_int_equal (fed_evlog_index_ids (log, 100), 6);
            assert_int_equal (fed_evlog_index_ids (log, 100), 0);
        }
    }
    fed_evlog_destroy (&log);
}

//  A full rebuild cut off by a crash leaves the "rebuilding" mark (and
//  possibly half-folded views): the next open must refold every view whole.
static void
test_interrupted_rebuild_refolds_all (void **state)
{
    fixture_t *self = *state;
    fed_evlog_t *log = s_open (self);
    fed_event_t *chain [4];
    s_fill (self, log, chain);
    fed_test_dump_t before = s_dump (log);
    assert_true (before.keys > 3);
    //  What a crash mid-rebuild leaves: the mark set, the views partly gone.
    char *error = NULL;
    rocksdb_put_cf (log->db, log->sync_options, log->cf [CF_META], "rebuilding", 10, "1", 1,
                    &error);
    assert_null (error);
    rocksdb_delete_range_cf (log->db, log->sync_options, log->cf [CF_VIEWS], "kv/", 3, "kv0", 3,
                             &error);
    assert_null (error);
    rocksdb_delete_range_cf (log->db, log->sync_options, log->cf [CF_VIEWS], "nodes/", 6, "nodes0",
                             6, &error);
    assert_null (error);
    fed_evlog_destroy (&log);
    log = s_open (self);
    fed_test_dump_t after = s_dump (log);
    assert_int_equal (after.keys, before.keys);
    assert_int_equal (after.size, before.size);
    assert_memory_equal (after.data, before.data, before.size);
    free (before.data);
    free (after.data);
    for (int i = 0; i < 4; i++)
        fed_event_destroy (&chain [i]);
    fed_evlog_destroy (&log);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    const struct CMUnitTest tests [] = {
        TEST (test_append_and_read_back),
        TEST (test_append_refusals),
        TEST (test_append_many_is_atomic),
        TEST (test_reopen_continues_chain),
        TEST (test_accept_good_run),
        TEST (test_accept_untrusted),
        TEST (test_accept_bad_signature_at_end),
        TEST (test_accept_tampered_middle),
        TEST (test_accept_bad_prev),
        TEST (test_accept_gap_then_fill),
        TEST (test_accept_duplicates),
        TEST (test_fork_quarantines),
        TEST (test_fork_at_next_seq),
        TEST (test_pending_overflow),
        TEST (test_read_only),
        TEST (test_second_writer_refused),
        TEST (test_kv_last_writer_wins),
        TEST (test_rebuild_is_byte_identical),
        TEST (test_view_version_bump_refolds),
        TEST (test_view_name_is_copied),
        TEST (test_bodies_over_default_limit),
        TEST (test_verify_good_log),
        TEST (test_id_index_deferred),
        TEST (test_interrupted_rebuild_refolds_all),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
