/*  tests/unit/test_converge.c: views converge (DESIGN §5). Four origins
    write 200 events mixing kv.set and kv.delete on a small shared key set,
    node.info and other types, with interleaved (and sometimes equal) HLCs.
    The whole set is applied to a fresh log in 100 shuffled orders, in
    random-size batches (gaps are buffered, so any order must work), and
    every run must end with byte-identical views and the same version vector.
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
#include "identity.h"

#define ORIGINS 4
#define PER_ORIGIN 50
#define EVENTS (ORIGINS * PER_ORIGIN)
#define RUNS 100

//  A small seeded PRNG (xorshift64*), so every run of the test is the same.
static uint64_t
s_next (uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static size_t
s_below (uint64_t *state, size_t n)
{
    return (size_t) (s_next (state) % n);
}

typedef struct {
    fed_identity_t *origins [ORIGINS];
    fed_identity_t *receiver;
    fed_event_t *events [EVENTS];
    char *dir;
} fixture_t;

static bool
s_trust (void *arg, const uint8_t origin [32])
{
    fixture_t *self = arg;
    for (int i = 0; i < ORIGINS; i++)
        if (memcmp (origin, fed_identity_public (self->origins [i]), 32) == 0)
            return true;
    return false;
}

//  Appends a msgpack str.
static size_t
s_str (uint8_t *dst, const char *text)
{
    size_t size = strlen (text);
    dst [0] = (uint8_t) (0xa0 | size);
    memcpy (dst + 1, text, size);
    return 1 + size;
}

//  Signs the whole event set. HLCs follow one global schedule: each step
//  picks an origin and advances a shared clock by 0..2 ms, so origins
//  interleave and sometimes share a timestamp (ties broken by origin).
static void
s_make_events (fixture_t *self)
{
    uint64_t rng = 0x5eed5eed12345678ULL;
    size_t written [ORIGINS] = {0};
    uint64_t tail [ORIGINS] = {0};
    fed_event_t *last [ORIGINS] = {NULL};
    uint64_t ms = 1700000000000ULL;
    size_t n = 0;
    const char *keys [] = {"alpha", "beta", "gamma", "delta", "eps"};
    const char *others [] = {"agent.registered", "step.completed", "metric.sample"};
    while (n < EVENTS) {
        size_t o = s_below (&rng, ORIGINS);
        if (written [o] == PER_ORIGIN)
            continue;
        //  Each origin's last 10 events share one millisecond, after all
        //  the others, each origin counting up within it: the final value
        //  of every key is then decided by an hlc tie between origins.
        bool in_tail = written [o] >= PER_ORIGIN - 10;
        uint64_t hlc;
        if (!in_tail) {
            ms += s_below (&rng, 3);
            hlc = ms << 16;
        } else
            hlc = ((1700000000000ULL + 60000) << 16) | tail [o];
        uint8_t body [128];
        size_t size = 0;
        const char *type;
        size_t pick = s_below (&rng, 10);
        if (pick < 5 || in_tail) {
            //  In the tail, every origin's k-th event sets key k % 5 at
            //  counter k: the same top hlc for a key from several origins.
            type = "kv.set";
            body [size++] = 0x82;
            size += s_str (body + size, "key");
            size += s_str (body + size, keys [in_tail ? tail [o]++ % 5 : s_below (&rng, 5)]);
            size += s_str (body + size, "value");
            //  value: [origin, seq, random]
            body [size++] = 0x93;
            body [size++] = (uint8_t) o;
            body [size++] = (uint8_t) (written [o] + 1);
            body [size++] = 0xcd;
            uint16_t r = (uint16_t) s_next (&rng);
            body [size++] = (uint8_t) (r >> 8);
            body [size++] = (uint8_t) r;
        } else if (pick < 7) {
            type = "kv.delete";
            body [size++] = 0x81;
            size += s_str (body + size, "key");
            size += s_str (body + size, keys [s_below (&rng, 5)]);
        } else if (pick < 8) {
            type = "node.info";
            body [size++] = 0x82;
            size += s_str (body + size, "name");
            body [size++] = 0xa5;
            memcpy (body + size, "node", 4);
            size += 4;
            body [size++] = (uint8_t) ('0' + o);
            size += s_str (body + size, "seq");
            body [size++] = (uint8_t) (written [o] + 1);
        } else {
            type = others [s_below (&rng, 3)];
            body [size++] = 0x81;
            size += s_str (body + size, "n");
            body [size++] = (uint8_t) s_below (&rng, 100);
        }
        fed_err_t err = {0, ""};
        fed_identity_t *key = self->origins [o];
        self->events [n] = fed_event_sign (
            fed_identity_secret (key), fed_identity_public (key), written [o] + 1,
            last [o] ? fed_event_id (last [o]) : NULL, hlc, type, body, size, NULL, &err);
        if (!self->events [n])
            print_error ("sign: %s\n", err.text);
        assert_non_null (self->events [n]);
        last [o] = self->events [n];
        written [o]++;
        n++;
    }
}

static int
s_setup (void **state)
{
    char template [] = "/tmp/fed-converge-XXXXXX";
    if (!mkdtemp (template))
        return -1;
    fixture_t *self = calloc (1, sizeof *self);
    self->dir = fed_strdup (template);
    for (int i = 0; i < ORIGINS; i++) {
        uint8_t seed [32];
        memset (seed, 0x40 + i, sizeof seed);
        self->origins [i] = fed_identity_from_seed (seed);
    }
    uint8_t seed [32];
    memset (seed, 0x77, sizeof seed);
    self->receiver = fed_identity_from_seed (seed);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    int rc = fed_test_rmtree (self->dir);
    for (int i = 0; i < EVENTS; i++)
        fed_event_destroy (&self->events [i]);
    for (int i = 0; i < ORIGINS; i++)
        fed_identity_destroy (&self->origins [i]);
    fed_identity_destroy (&self->receiver);
    free (self->dir);
    free (self);
    return rc;
}

//  Applies every event to a fresh log in the order and batches the run's
//  PRNG picks. Fills *dump and *vv (caller frees both).
static void
s_run (fixture_t *self, int run, fed_test_dump_t *dump, fed_vv_entry_t **vv, size_t *vv_count)
{
    uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t) (run + 1);
    size_t order [EVENTS];
    for (size_t i = 0; i < EVENTS; i++)
        order [i] = i;
    //  Run 0 keeps the writing order; the others are shuffled.
    if (run > 0)
        for (size_t i = EVENTS - 1; i > 0; i--) {
            size_t j = s_below (&rng, i + 1);
            size_t t = order [i];
            order [i] = order [j];
            order [j] = t;
        }
    char *path = fed_sprintf ("%s/run%d", self->dir, run);
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    options.durability = FED_DURABILITY_WAL;
    fed_err_t err = {0, ""};
    fed_evlog_t *log = fed_evlog_open (path, &options, &err);
    assert_non_null (log);
    fed_evlog_set_signer (log, fed_identity_public (self->receiver),
                          fed_identity_secret (self->receiver));
    fed_evlog_set_trust (log, s_trust, self);
    assert_int_equal (fed_coreviews_register (log, &err), 0);

    //  Batches of 1..40 events; every tenth run one event at a time.
    size_t accepted = 0, fresh_ok = 0;
    for (size_t at = 0; at < EVENTS;) {
        size_t batch = run % 10 == 9 ? 1 : 1 + s_below (&rng, 40);
        if (batch > EVENTS - at)
            batch = EVENTS - at;
        fed_blob_t blobs [40];
        for (size_t i = 0; i < batch; i++) {
            const fed_event_t *event = self->events [order [at + i]];
            blobs [i] = (fed_blob_t){fed_event_bytes (event), fed_event_size (event)};
        }
        fed_accept_report_t report;
        assert_int_equal (fed_evlog_accept (log, blobs, batch, &report), 0);
        if (report.first_error.code != 0)
            print_error ("run %d: %s\n", run, report.first_error.text);
        assert_int_equal (report.first_error.code, 0);
        assert_int_equal (report.by_status [FED_EVENT_OK] + report.by_status [FED_EVENT_BUFFERED],
                          batch);
        accepted += report.accepted;
        fresh_ok += report.by_status [FED_EVENT_OK];
        at += batch;
    }
    assert_int_equal (accepted, EVENTS);
    assert_int_equal (fed_evlog_pending (log), 0);
    assert_true (fed_evlog_count (log) == EVENTS);
    assert_int_equal (fed_coreviews_count (log, "total"), EVENTS);
    fed_verify_report_t verify;
    assert_int_equal (fed_evlog_verify (log, &verify), 0);
    assert_true (verify.events == EVENTS && verify.origins == ORIGINS);
    (void) fresh_ok;

    *dump = (fed_test_dump_t){NULL, 0, 0};
    assert_int_equal (fed_evlog_view_scan (log, "", fed_test_dump_one, dump), 0);
    *vv_count = fed_evlog_version_vector (log, vv);
    fed_evlog_destroy (&log);
    int rc = fed_test_rmtree (path);
    assert_int_equal (rc, 0);
    free (path);
}

//  Reports the first key whose bytes differ between two dumps.
static void
s_report_difference (const fed_test_dump_t *want, const fed_test_dump_t *got, int run)
{
    size_t a = 0, b = 0;
    while (a < want->size && b < got->size) {
        uint64_t ka = fed_get_be64 (want->data + a), kb = fed_get_be64 (got->data + b);
        uint64_t va = fed_get_be64 (want->data + a + 8 + ka);
        uint64_t vb = fed_get_be64 (got->data + b + 8 + kb);
        if (ka != kb || va != vb || memcmp (want->data + a, got->data + b, 16 + ka + va) != 0) {
            print_error ("run %d: views differ from run 0 at key \"%.*s\"\n", run, (int) ka,
                         (const char *) want->data + a + 8);
            return;
        }
        a += 16 + ka + va;
        b += 16 + kb + vb;
    }
    print_error ("run %d: views have %zu bytes, run 0 had %zu\n", run, got->size, want->size);
}

static void
test_views_converge_in_any_order (void **state)
{
    fixture_t *self = *state;
    s_make_events (self);
    fed_test_dump_t first;
    fed_vv_entry_t *first_vv;
    size_t first_vv_count;
    s_run (self, 0, &first, &first_vv, &first_vv_count);
    assert_int_equal (first_vv_count, ORIGINS);
    for (size_t i = 0; i < first_vv_count; i++)
        assert_true (first_vv [i].seq == PER_ORIGIN);
    //  The views hold something of every kind: stats counters (6 types),
    //  4 nodes and the 5 shared kv keys.
    assert_int_equal (first.keys, 6 + ORIGINS + 5);

    for (int run = 1; run < RUNS; run++) {
        fed_test_dump_t dump;
        fed_vv_entry_t *vv;
        size_t vv_count;
        s_run (self, run, &dump, &vv, &vv_count);
        if (dump.size != first.size || memcmp (dump.data, first.data, first.size) != 0)
            s_report_difference (&first, &dump, run);
        assert_int_equal (dump.size, first.size);
        assert_memory_equal (dump.data, first.data, first.size);
        assert_int_equal (vv_count, first_vv_count);
        assert_memory_equal (vv, first_vv, vv_count * sizeof *vv);
        free (dump.data);
        free (vv);
    }
    free (first.data);
    free (first_vv);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_views_converge_in_any_order, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
