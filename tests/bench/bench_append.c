/*  tests/bench/bench_append.c: how fast the event log takes events, each
    figure beside a baseline measured in the same run (doc/benchmarks.md).

    Built and run by `make bench` only; a measurement, not a test: it prints
    PASS or BELOW beside each goal and always exits 0 (1 only if something
    it measures fails outright).

    Every event has a 200-byte body (one msgpack map {"d": bin}), which makes
    the signed message about 330 bytes. Each store figure uses a fresh temp
    dir, removed afterwards.

      baselines   ed25519 sign and verify of 330-byte messages (libsodium);
                  raw RocksDB puts of the same event bytes under the same key
                  shape origin‖seq, one column family, WAL on, sync off (wal)
                  or on (sync), one put per write and WriteBatches of 100.
      fednode     fed_evlog_append and fed_evlog_append_many (batches of 100)
                  in wal and sync mode, with the core views registered as a
                  node has them.
      acceptance  a prebuilt 50,000-event chain from one remote origin taken
                  in via fed_evlog_accept in batches of 500 (wal mode).
*/
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <rocksdb/c.h>
#include <sodium.h>

#include "coreviews.h"
#include "evlog.h"
#include "identity.h"
#include "log.h"

#define BODY_SIZE 200
#define REMOTE_EVENTS 50000
#define ACCEPT_BATCH 500
#define GROUP 100

typedef struct {
    fed_identity_t *local;    //  signs fednode appends; owned
    fed_identity_t *remote;   //  signs the chain to accept; owned
    uint8_t body [BODY_SIZE]; //  the body every event carries
    fed_event_t *sample;      //  one signed event: the bytes raw puts write; owned
    char *tmp;                //  parent of the temp dirs
} bench_t;

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
s_remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

//  A fresh temp dir (caller frees; removed by s_dir_done).
static char *
s_dir_new (bench_t *self)
{
    char *dir = fed_sprintf ("%s/fed-bench-XXXXXX", self->tmp);
    if (!mkdtemp (dir)) {
        perror ("bench_append: mkdtemp");
        exit (1);
    }
    return dir;
}

static void
s_dir_done (char **dir_p)
{
    if (nftw (*dir_p, s_remove_one, 16, FTW_DEPTH | FTW_PHYS))
        fprintf (stderr, "bench_append: cannot remove %s\n", *dir_p);
    fed_free (dir_p);
}

//  Prints one figure. goal > 0 is a minimum for ratio (or, with
//  goal_is_rate, for the rate itself).
static void
s_report (const char *name, double rate, double baseline, double goal, bool goal_is_rate)
{
    printf ("%-34s %10.0f events/s", name, rate);
    if (baseline > 0)
        printf ("  baseline %10.0f/s  ratio %6.2f", baseline, rate / baseline);
    if (goal > 0) {
        double measured = goal_is_rate ? rate : rate / baseline;
        printf ("  goal %s>= %g %s", goal_is_rate ? "rate " : "", goal,
                measured >= goal ? "PASS" : "BELOW");
    }
    printf ("\n");
    fflush (stdout);
}

//  --- Baselines ---------------------------------------------------------------

static double
s_sign_rate (bench_t *self, size_t count)
{
    const uint8_t *msg = fed_event_bytes (self->sample);
    size_t size = fed_event_size (self->sample) - 66; //  what a signature covers
    uint8_t sig [64];
    double start = s_now ();
    for (size_t i = 0; i < count; i++) {
        crypto_sign_detached (sig, NULL, msg, size, fed_identity_secret (self->local));
        sig [0] ^= (uint8_t) i; //  keep the result live
    }
    return (double) count / (s_now () - start);
}

static double
s_verify_rate (bench_t *self, size_t count)
{
    const uint8_t *msg = fed_event_bytes (self->sample);
    size_t size = fed_event_size (self->sample) - 66;
    size_t good = 0;
    double start = s_now ();
    for (size_t i = 0; i < count; i++)
        good += crypto_sign_verify_detached (fed_event_sig (self->sample), msg, size,
                                             fed_event_origin (self->sample))
            == 0;
    double rate = (double) count / (s_now () - start);
    if (good != count) {
        fprintf (stderr, "bench_append: the sample's signature does not verify\n");
        exit (1);
    }
    return rate;
}

//  Raw RocksDB: count puts of the sample bytes, group per WriteBatch.
static double
s_raw_put_rate (bench_t *self, size_t count, size_t group, bool sync)
{
    char *dir = s_dir_new (self);
    rocksdb_options_t *options = rocksdb_options_create ();
    rocksdb_options_set_create_if_missing (options, 1);
    char *error = NULL;
    rocksdb_t *db = rocksdb_open (options, dir, &error);
    if (error) {
        fprintf (stderr, "bench_append: raw open %s: %s\n", dir, error);
        exit (1);
    }
    rocksdb_writeoptions_t *write_options = rocksdb_writeoptions_create ();
    rocksdb_writeoptions_set_sync (write_options, sync);
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create ();
    const uint8_t *origin = fed_identity_public (self->local);
    uint8_t key [40];
    memcpy (key, origin, 32);
    double start = s_now ();
    for (size_t seq = 1; seq <= count; seq += group) {
        rocksdb_writebatch_clear (batch);
        for (size_t i = 0; i < group; i++) {
            fed_put_be64 (key + 32, seq + i);
            rocksdb_writebatch_put (batch, (const char *) key, sizeof key,
                                    (const char *) fed_event_bytes (self->sample),
                                    fed_event_size (self->sample));
        }
        rocksdb_write (db, write_options, batch, &error);
        if (error) {
            fprintf (stderr, "bench_append: raw write: %s\n", error);
            exit (1);
        }
    }
    double rate = (double) count / (s_now () - start);
    rocksdb_writebatch_destroy (batch);
    rocksdb_writeoptions_destroy (write_options);
    rocksdb_close (db);
    rocksdb_options_destroy (options);
    s_dir_done (&dir);
    return rate;
}

//  --- fednode ----------------------------------------------------------------

static fed_evlog_t *
s_log_open (const char *dir, fed_durability_t durability, bool views)
{
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    options.durability = durability;
    fed_err_t err = {0};
    char *path = fed_sprintf ("%s/db", dir);
    fed_evlog_t *log = fed_evlog_open (path, &options, &err);
    free (path);
    if (!log || (views && fed_coreviews_register (log, &err))) {
        fprintf (stderr, "bench_append: %s\n", err.text);
        exit (1);
    }
    return log;
}

//  Appends count events, group per call (1: fed_evlog_append).
static double
s_append_rate (bench_t *self, size_t count, size_t group, fed_durability_t durability, bool views)
{
    char *dir = s_dir_new (self);
    fed_evlog_t *log = s_log_open (dir, durability, views);
    fed_evlog_set_signer (log, fed_identity_public (self->local),
                          fed_identity_secret (self->local));
    fed_new_event_t items [GROUP];
    for (size_t i = 0; i < GROUP; i++)
        items [i] = (fed_new_event_t){"bench.append", self->body, sizeof self->body};
    fed_err_t err = {0};
    double start = s_now ();
    for (size_t done = 0; done < count; done += group) {
        int rc = group == 1
            ? fed_evlog_append (log, "bench.append", self->body, sizeof self->body, NULL, &err)
            : fed_evlog_append_many (log, items, group, NULL, &err);
        if (rc) {
            fprintf (stderr, "bench_append: append: %s\n", err.text);
            exit (1);
        }
    }
    double rate = (double) count / (s_now () - start);
    if (fed_evlog_count (log) != count) {
        fprintf (stderr, "bench_append: expected %zu events, the log holds %" PRIu64 "\n", count,
                 fed_evlog_count (log));
        exit (1);
    }
    fed_evlog_destroy (&log);
    s_dir_done (&dir);
    return rate;
}

static bool
s_trust_all (void *arg, const uint8_t origin [32])
{
    return true;
}

static double
s_accept_rate (bench_t *self)
{
    //  The chain, signed up front (not timed).
    fed_blob_t *blobs = fed_calloc (REMOTE_EVENTS, sizeof (fed_blob_t));
    fed_event_t **events = fed_calloc (REMOTE_EVENTS, sizeof (fed_event_t *));
    uint64_t hlc = (uint64_t) fed_wall_ms () << 16;
    for (size_t i = 0; i < REMOTE_EVENTS; i++) {
        fed_err_t err = {0};
        events [i] =
            fed_event_sign (fed_identity_secret (self->remote), fed_identity_public (self->remote),
                            i + 1, i ? fed_event_id (events [i - 1]) : NULL, hlc + i,
                            "bench.remote", self->body, sizeof self->body, NULL, &err);
        if (!events [i]) {
            fprintf (stderr, "bench_append: sign: %s\n", err.text);
            exit (1);
        }
        blobs [i] = (fed_blob_t){fed_event_bytes (events [i]), fed_event_size (events [i])};
    }
    char *dir = s_dir_new (self);
    fed_evlog_t *log = s_log_open (dir, FED_DURABILITY_WAL, true);
    fed_evlog_set_signer (log, fed_identity_public (self->local),
                          fed_identity_secret (self->local));
    fed_evlog_set_trust (log, s_trust_all, NULL);
    double start = s_now ();
    for (size_t at = 0; at < REMOTE_EVENTS; at += ACCEPT_BATCH) {
        fed_accept_report_t report;
        if (fed_evlog_accept (log, blobs + at, ACCEPT_BATCH, &report)
            || report.accepted != ACCEPT_BATCH) {
            fprintf (stderr, "bench_append: expected %d accepted, got %zu: %s\n", ACCEPT_BATCH,
                     report.accepted, report.first_error.text);
            exit (1);
        }
    }
    double rate = (double) REMOTE_EVENTS / (s_now () - start);
    fed_evlog_destroy (&log);
    s_dir_done (&dir);
    for (size_t i = 0; i < REMOTE_EVENTS; i++)
        fed_event_destroy (&events [i]);
    free (events);
    free (blobs);
    return rate;
}

static double
s_composite (double a, double b)
{
    return 1.0 / (1.0 / a + 1.0 / b);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    fed_log_set_level (FED_LOG_WARN);
    bench_t self = {0};
    uint8_t seed [32];
    memset (seed, 1, sizeof seed);
    self.local = fed_identity_from_seed (seed);
    memset (seed, 2, sizeof seed);
    self.remote = fed_identity_from_seed (seed);
    //  {"d": bin8 of 195 bytes}: 1 + 2 + 2 + 195 = 200 bytes.
    self.body [0] = 0x81;
    self.body [1] = 0xa1;
    self.body [2] = 'd';
    self.body [3] = 0xc4;
    self.body [4] = BODY_SIZE - 5;
    randombytes_buf_deterministic (self.body + 5, BODY_SIZE - 5, seed);
    fed_err_t err = {0};
    self.sample = fed_event_sign (
        fed_identity_secret (self.local), fed_identity_public (self.local), 1, NULL,
        (uint64_t) fed_wall_ms () << 16, "bench.append", self.body, sizeof self.body, NULL, &err);
    if (!self.sample) {
        fprintf (stderr, "bench_append: %s\n", err.text);
        return 1;
    }
    const char *tmp = getenv ("TMPDIR");
    self.tmp = fed_strdup (tmp && *tmp ? tmp : "/tmp");
    printf ("bench_append: %d-byte bodies, %zu-byte events (%zu bytes signed)\n", BODY_SIZE,
            fed_event_size (self.sample), fed_event_size (self.sample) - 66);

    double sign = s_sign_rate (&self, 20000);
    double verify = s_verify_rate (&self, 10000);
    double put_wal = s_raw_put_rate (&self, 100000, 1, false);
    double put_wal_batch = s_raw_put_rate (&self, 300000, GROUP, false);
    double put_sync = s_raw_put_rate (&self, 2000, 1, true);
    double put_sync_batch = s_raw_put_rate (&self, 50000, GROUP, true);
    s_report ("baseline ed25519 sign", sign, 0, 0, false);
    s_report ("baseline ed25519 verify", verify, 0, 0, false);
    s_report ("baseline rocksdb put wal", put_wal, 0, 0, false);
    s_report ("baseline rocksdb put wal batch100", put_wal_batch, 0, 0, false);
    s_report ("baseline rocksdb put sync", put_sync, 0, 0, false);
    s_report ("baseline rocksdb put sync batch100", put_sync_batch, 0, 0, false);

    //  Baseline for a local append: sign, then put (1/(1/sign + 1/put)).
    s_report ("append wal", s_append_rate (&self, 20000, 1, FED_DURABILITY_WAL, true),
              s_composite (sign, put_wal), 0.8, false);
    s_report ("append wal (no views)", s_append_rate (&self, 20000, 1, FED_DURABILITY_WAL, false),
              s_composite (sign, put_wal), 0.8, false);
    s_report ("append_many wal batch100",
              s_append_rate (&self, 100000, GROUP, FED_DURABILITY_WAL, true),
              s_composite (sign, put_wal_batch), 0, false);
    s_report ("append sync", s_append_rate (&self, 2000, 1, FED_DURABILITY_SYNC, true),
              s_composite (sign, put_sync), 0, false);
    s_report ("append_many sync batch100",
              s_append_rate (&self, 50000, GROUP, FED_DURABILITY_SYNC, true),
              s_composite (sign, put_sync_batch), 20000, true);
    s_report ("accept wal batch500", s_accept_rate (&self), verify, 10, false);

    fed_event_destroy (&self.sample);
    fed_identity_destroy (&self.local);
    fed_identity_destroy (&self.remote);
    free (self.tmp);
    return 0;
}
