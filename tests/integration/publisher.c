/*  tests/integration/publisher.c: publishes a stream of events to a running
    node over one control connection, for the convergence test.

        publisher [--timeout MS] [--patience MS] [--kill-at K PID] DATA_DIR COUNT TAG

    Talks to the node whose data dir is DATA_DIR as fedctl --data-dir does
    (DATA_DIR/control.endpoint, DATA_DIR/admin.key as the client's key,
    DATA_DIR/node.key for the node's public key), but keeps one CURVE
    connection for the whole stream: a fedctl process per event is too slow
    to put thousands of events on several nodes at once. It publishes COUNT
    events "user.test" with body {tag: TAG, k: K}, K = 1 … COUNT, one at a
    time, and prints to stdout, flushed, one line per event the node
    acknowledged:

        ack SEQ ID K        SEQ and ID (64 hex) as the node's reply gave them

    so that a test knows exactly which events a client was told are stored.

    A node that does not answer within --timeout (default 3,000 ms) may have
    stored the event or not (it was killed mid-request, say). The publisher
    sends the same request again (the same rid) until it gets an answer or
    --patience (default 60,000 ms) passes without one. If the node answers
    `replayed`, an earlier copy of the request reached it, and it is unknown
    whether that one's event was stored: the publisher prints

        uncertain K

    and publishes K again with a fresh rid.

    --kill-at K PID: once event K is acknowledged, the publisher sends
    event K + 1 and SIGKILLs process PID (the node) 0 to 20 ms later, so the
    node dies with that request anywhere from not yet read to done (answered
    or not); it prints

        killed PID

    and goes on as above until the node is back. A test gets a kill in the
    middle of a stream wherever the machine's scheduler is, which polling
    the acks from outside cannot promise.

    Exit status: 0 when every event was acknowledged, 1 when the node
    refused one or stayed silent past --patience (or the kill failed), 2 on
    a usage error.
*/
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <czmq.h>
#include <msgpack.h>

#include "client.h"
#include "ctlmsg.h"
#include "identity.h"
#include "log.h"
#include "mpread.h"

typedef struct {
    const char *data_dir; //  DATA_DIR argument
    uint64_t count;       //  events to publish
    const char *tag;      //  body "tag"
    int timeout_ms;       //  one call's wait for a reply
    int64_t patience_ms;  //  silence tolerated before giving up
    uint64_t kill_at;     //  SIGKILL kill_pid while event kill_at + 1 is sent (0: never)
    pid_t kill_pid;
} args_t;

//  The kill of --kill-at, run on its own thread while the main thread waits
//  for the reply to the request just sent.
typedef struct {
    pid_t pid;
    unsigned delay_us; //  after the start of the thread
    int rc;            //  kill's result
    int error;         //  and its errno
} s_killer_t;

static void *
s_killer_run (void *arg)
{
    s_killer_t *killer = (s_killer_t *) arg;
    usleep (killer->delay_us);
    killer->rc = kill (killer->pid, SIGKILL);
    killer->error = errno;
    if (killer->rc == 0) {
        printf ("killed %ld\n", (long) killer->pid);
        fflush (stdout);
    }
    return NULL;
}

//  Packs the events.publish request for event k with a fresh rid into
//  buffer (cleared first).
static void
s_request (msgpack_sbuffer *buffer, const char *tag, uint64_t k)
{
    msgpack_sbuffer_clear (buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    fed_ctl_request_begin (&pk, "events.publish", 4);
    msgpack_pack_str_with_body (&pk, "type", 4);
    msgpack_pack_str_with_body (&pk, "user.test", 9);
    msgpack_pack_str_with_body (&pk, "body", 4);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "tag", 3);
    msgpack_pack_str_with_body (&pk, tag, strlen (tag));
    msgpack_pack_str_with_body (&pk, "k", 1);
    msgpack_pack_uint64 (&pk, k);
    fed_client_pack_replay (&pk);
}

//  Reads "seq" and "id" from a publish result. Returns 0, or -1 if the
//  result does not have that shape.
static int
s_result (fed_blob_t result, uint64_t *seq, uint8_t id [32])
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, result.data, result.size);
    uint32_t count;
    bool have_seq = false, have_id = false;
    if (fed_mpr_map (&reader, &count))
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        const char *key;
        uint32_t key_size;
        if (fed_mpr_str (&reader, &key, &key_size))
            return -1;
        if (key_size == 3 && memcmp (key, "seq", 3) == 0) {
            if (fed_mpr_uint (&reader, seq))
                return -1;
            have_seq = true;
        } else if (key_size == 2 && memcmp (key, "id", 2) == 0) {
            const uint8_t *bytes;
            uint32_t size;
            if (fed_mpr_bin (&reader, &bytes, &size) || size != 32)
                return -1;
            memcpy (id, bytes, 32);
            have_id = true;
        } else if (fed_mpr_skip (&reader, &fed_mp_default_limits))
            return -1;
    }
    return have_seq && have_id ? 0 : -1;
}

//  Publishes event k until the node acknowledges it. Returns 0, or -1 after
//  printing why.
static int
s_publish_one (fed_client_t *client, const args_t *args, msgpack_sbuffer *buffer, uint64_t k)
{
    s_request (buffer, args->tag, k);
    int64_t silent_since = fed_mono_ms ();
    bool kill_now = args->kill_at && k == args->kill_at + 1;
    while (true) {
        uint8_t *reply = NULL;
        size_t reply_size = 0;
        fed_blob_t result;
        char code [64];
        fed_err_t err = {0};
        s_killer_t killer = {args->kill_pid, randombytes_uniform (20001), -1, 0};
        pthread_t thread;
        if (kill_now && pthread_create (&thread, NULL, s_killer_run, &killer) != 0) {
            fprintf (stderr, "publisher: cannot start the killer thread\n");
            return -1;
        }
        fed_client_status_t status =
            fed_client_call (client, buffer->data, buffer->size, args->timeout_ms, &reply,
                             &reply_size, &result, code, sizeof code, &err);
        if (kill_now) {
            pthread_join (thread, NULL);
            kill_now = false;
            if (killer.rc != 0) {
                fprintf (stderr, "publisher: cannot kill %ld: %s\n", (long) args->kill_pid,
                         strerror (killer.error));
                free (reply);
                return -1;
            }
        }
        if (status == FED_CLIENT_OK) {
            uint64_t seq = 0;
            uint8_t id [32];
            char hex [65];
            int rc = s_result (result, &seq, id);
            if (rc == 0) {
                fed_hex_encode (hex, id, 32);
                printf ("ack %" PRIu64 " %s %" PRIu64 "\n", seq, hex, k);
                fflush (stdout);
            } else
                fprintf (stderr, "publisher: event %" PRIu64 ": the reply has no seq and id\n", k);
            free (reply);
            return rc;
        }
        if (status == FED_CLIENT_FAILED && streq (code, "replayed")) {
            //  An earlier send of this request reached the node.
            printf ("uncertain %" PRIu64 "\n", k);
            fflush (stdout);
            s_request (buffer, args->tag, k);
            continue;
        }
        if (status != FED_CLIENT_UNREACHABLE) {
            fprintf (stderr, "publisher: event %" PRIu64 ": %s%s%s\n", k,
                     status == FED_CLIENT_FAILED ? code : "",
                     status == FED_CLIENT_FAILED ? ": " : "", err.text);
            return -1;
        }
        if (fed_mono_ms () - silent_since > args->patience_ms) {
            fprintf (stderr, "publisher: event %" PRIu64 ": no answer for %" PRId64 " ms: %s\n", k,
                     args->patience_ms, err.text);
            return -1;
        }
        zclock_sleep (50);
    }
}

static int
s_run (const args_t *args)
{
    int rc = 1;
    fed_err_t err = {0};
    fed_client_t *client = NULL;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    char *key_path = fed_sprintf ("%s/admin.key", args->data_dir);
    char *node_key_path = fed_sprintf ("%s/node.key", args->data_dir);
    char *endpoint_path = fed_sprintf ("%s/control.endpoint", args->data_dir);
    char endpoint [512] = "";
    fed_identity_t *identity = fed_identity_load (key_path, &err);
    if (!identity) {
        fprintf (stderr, "publisher: %s: %s\n", key_path, err.text);
        goto err;
    }
    uint8_t server [32];
    if (fed_identity_read_public (node_key_path, server, &err)) {
        fprintf (stderr, "publisher: %s: %s\n", node_key_path, err.text);
        goto err;
    }
    FILE *file = fopen (endpoint_path, "r");
    if (!file || !fgets (endpoint, sizeof endpoint, file)) {
        fprintf (stderr, "publisher: cannot read %s\n", endpoint_path);
        if (file)
            fclose (file);
        goto err;
    }
    fclose (file);
    endpoint [strcspn (endpoint, "\r\n")] = 0;
    client = fed_client_new (endpoint, identity, server, &err);
    if (!client) {
        fprintf (stderr, "publisher: %s\n", err.text);
        goto err;
    }
    rc = 0;
    for (uint64_t k = 1; k <= args->count && rc == 0; k++)
        rc = s_publish_one (client, args, &buffer, k) ? 1 : 0;
err:
    fed_client_destroy (&client);
    fed_identity_destroy (&identity);
    msgpack_sbuffer_destroy (&buffer);
    free (key_path);
    free (node_key_path);
    free (endpoint_path);
    return rc;
}

static int
s_usage (void)
{
    fprintf (stderr,
             "usage: publisher [--timeout MS] [--patience MS] [--kill-at K PID] "
             "DATA_DIR COUNT TAG\n");
    return 2;
}

//  A positive decimal number, or 0 if text is not one.
static uint64_t
s_number (const char *text)
{
    char *end;
    unsigned long long n = strtoull (text, &end, 10);
    return *text && !*end && *text != '-' ? (uint64_t) n : 0;
}

int
main (int argc, char *argv [])
{
    args_t args = {NULL, 0, NULL, 3000, 60000, 0, 0};
    const char *positional [3];
    int count = 0;
    for (int i = 1; i < argc; i++) {
        if (streq (argv [i], "--timeout") && i + 1 < argc) {
            uint64_t n = s_number (argv [++i]);
            if (n == 0 || n > 600000)
                return s_usage ();
            args.timeout_ms = (int) n;
        } else if (streq (argv [i], "--patience") && i + 1 < argc) {
            uint64_t n = s_number (argv [++i]);
            if (n == 0 || n > 3600000)
                return s_usage ();
            args.patience_ms = (int64_t) n;
        } else if (streq (argv [i], "--kill-at") && i + 2 < argc) {
            args.kill_at = s_number (argv [++i]);
            uint64_t pid = s_number (argv [++i]);
            if (args.kill_at == 0 || pid == 0 || pid > INT32_MAX)
                return s_usage ();
            args.kill_pid = (pid_t) pid;
        } else if (argv [i][0] != '-' && count < 3)
            positional [count++] = argv [i];
        else
            return s_usage ();
    }
    if (count != 3)
        return s_usage ();
    args.data_dir = positional [0];
    args.count = s_number (positional [1]);
    args.tag = positional [2];
    if (args.count == 0 || !*args.tag)
        return s_usage ();
    //  No czmq handler: a signal from the test ends the publisher at once.
    zsys_handler_set (NULL);
    fed_log_set_level (FED_LOG_WARN);
    return s_run (&args);
}
