/*  tests/integration/crash_writer.c: a process that appends to the event log
    until it is killed, for the crash tests (test_crash, test_wal).

        crash_writer [--wal] [--batch N] [--stop-at SEQ] DATA_DIR
        crash_writer --verify DATA_DIR

    Writer mode opens (creating) the node key DATA_DIR/node.key and the log
    DATA_DIR/db (durability sync, or wal with --wal), registers the core
    views, then appends "test.crash" events forever, N per atomic batch
    (fed_evlog_append for N = 1, fed_evlog_append_many otherwise). Only after
    an append returns 0 does it print "ack SEQ\n" (the last seq of the batch)
    and flush, so every seq a reader has seen acknowledged must survive a
    SIGKILL at any moment. With --stop-at SEQ it kills itself (SIGKILL: no
    close, no WAL flush) right after acknowledging SEQ or more, so a test gets
    a log of exactly that many events that lives only in the WAL.

    Verify mode reopens the same log, audits it (fed_evlog_verify) and prints
    "seq N events E bad B": N the node's highest contiguous seq, E the events
    walked, B those that failed a check. It exits 0 only if the audit passed
    and the stats view counts exactly E events (a view is never ahead of or
    behind the log it was folded from).
*/
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>

#include "coreviews.h"
#include "evlog.h"
#include "identity.h"
#include "log.h"

#define BATCH_MAX 1000

typedef struct {
    const char *data_dir; //  DATA_DIR argument
    fed_durability_t durability;
    size_t batch;     //  events per append call
    bool verify;      //  audit instead of writing
    uint64_t stop_at; //  SIGKILL self once this seq is acked (0: never)
} args_t;

//  Opens the identity and the log, and registers the core views. Returns the
//  log (caller owns it) with *identity_p set (caller owns it), or NULL after
//  printing why.
static fed_evlog_t *
s_open (const args_t *args, fed_identity_t **identity_p)
{
    fed_err_t err = {0};
    fed_identity_t *identity = fed_identity_open (args->data_dir, NULL, &err);
    if (!identity) {
        fprintf (stderr, "crash_writer: %s\n", err.text);
        return NULL;
    }
    char *path = fed_sprintf ("%s/db", args->data_dir);
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    options.durability = args->durability;
    fed_evlog_t *log = fed_evlog_open (path, &options, &err);
    free (path);
    if (!log) {
        fprintf (stderr, "crash_writer: %s\n", err.text);
        goto err;
    }
    fed_evlog_set_signer (log, fed_identity_public (identity), fed_identity_secret (identity));
    if (fed_coreviews_register (log, &err)) {
        fprintf (stderr, "crash_writer: %s\n", err.text);
        goto err;
    }
    *identity_p = identity;
    return log;

err:
    fed_evlog_destroy (&log);
    fed_identity_destroy (&identity);
    return NULL;
}

//  Appends batches until a write fails (or the process is killed).
static int
s_write (const args_t *args)
{
    fed_identity_t *identity = NULL;
    fed_evlog_t *log = s_open (args, &identity);
    if (!log)
        return 1;
    msgpack_sbuffer bodies [BATCH_MAX];
    fed_new_event_t items [BATCH_MAX];
    for (size_t i = 0; i < args->batch; i++)
        msgpack_sbuffer_init (&bodies [i]);
    uint64_t counter = fed_evlog_seq (log, fed_identity_public (identity));
    int rc = 0;
    while (rc == 0) {
        for (size_t i = 0; i < args->batch; i++) {
            msgpack_sbuffer_clear (&bodies [i]);
            msgpack_packer pk;
            msgpack_packer_init (&pk, &bodies [i], msgpack_sbuffer_write);
            msgpack_pack_map (&pk, 2);
            msgpack_pack_str_with_body (&pk, "n", 1);
            msgpack_pack_uint64 (&pk, ++counter);
            msgpack_pack_str_with_body (&pk, "pad", 3);
            msgpack_pack_str_with_body (&pk, "crash test payload", 18);
            items [i] = (fed_new_event_t){"test.crash", bodies [i].data, bodies [i].size};
        }
        uint64_t first = 0;
        fed_err_t err = {0};
        if (fed_evlog_append_many (log, items, args->batch, &first, &err)) {
            fprintf (stderr, "crash_writer: append failed: %s\n", err.text);
            rc = 1;
        } else if (printf ("ack %" PRIu64 "\n", first + args->batch - 1) < 0
                   || fflush (stdout) != 0) {
            fprintf (stderr, "crash_writer: stdout: %s\n", strerror (errno));
            rc = 1;
        } else if (args->stop_at && first + args->batch - 1 >= args->stop_at)
            raise (SIGKILL);
    }
    for (size_t i = 0; i < args->batch; i++)
        msgpack_sbuffer_destroy (&bodies [i]);
    fed_evlog_destroy (&log);
    fed_identity_destroy (&identity);
    return rc;
}

static int
s_verify (const args_t *args)
{
    fed_identity_t *identity = NULL;
    fed_evlog_t *log = s_open (args, &identity);
    if (!log)
        return 1;
    fed_verify_report_t report;
    int rc = fed_evlog_verify (log, &report) ? 1 : 0;
    uint64_t seq = fed_evlog_seq (log, fed_identity_public (identity));
    printf ("seq %" PRIu64 " events %" PRIu64 " bad %" PRIu64 "\n", seq, report.events, report.bad);
    if (rc)
        fprintf (stderr, "crash_writer: audit failed: %s\n", report.first_error.text);
    int64_t counted = fed_coreviews_count (log, "total");
    if (counted < 0 || (uint64_t) counted != report.events) {
        fprintf (stderr,
                 "crash_writer: the stats view counts %" PRId64 " events, the log "
                 "holds %" PRIu64 "\n",
                 counted, report.events);
        rc = 1;
    }
    fed_evlog_destroy (&log);
    fed_identity_destroy (&identity);
    return rc;
}

static int
s_usage (void)
{
    fprintf (stderr,
             "usage: crash_writer [--wal] [--batch N] [--stop-at SEQ] DATA_DIR\n"
             "       crash_writer --verify DATA_DIR\n");
    return 2;
}

int
main (int argc, char *argv [])
{
    args_t args = {NULL, FED_DURABILITY_SYNC, 1, false, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--wal") == 0)
            args.durability = FED_DURABILITY_WAL;
        else if (strcmp (argv [i], "--verify") == 0)
            args.verify = true;
        else if (strcmp (argv [i], "--batch") == 0 && i + 1 < argc) {
            char *end;
            unsigned long n = strtoul (argv [++i], &end, 10);
            if (*end || n == 0 || n > BATCH_MAX)
                return s_usage ();
            args.batch = n;
        } else if (strcmp (argv [i], "--stop-at") == 0 && i + 1 < argc) {
            char *end;
            args.stop_at = strtoull (argv [++i], &end, 10);
            if (*end || args.stop_at == 0)
                return s_usage ();
        } else if (argv [i][0] != '-' && !args.data_dir)
            args.data_dir = argv [i];
        else
            return s_usage ();
    }
    if (!args.data_dir)
        return s_usage ();
    fed_log_set_level (FED_LOG_WARN);
    return args.verify ? s_verify (&args) : s_write (&args);
}
