/*  tests/bench/benchnode.c: real fednode processes and control calls for
    the replication benchmarks (see benchnode.h).
*/
#include "benchutil.h"
#include "benchnode.h"
#include "ctlmsg.h"
#include "log.h"
#include "mpread.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 10000
#define STOP_DEADLINE_MS 5000

volatile int bench_interrupted = 0;

static void
s_on_signal (int signal_number)
{
    (void) signal_number;
    bench_interrupted = 1;
}

void
bench_signals (void)
{
    zsys_handler_set (NULL);
    struct sigaction action = {.sa_handler = s_on_signal};
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
}

int64_t
bench_now_ns (void)
{
    return fed_bench_now_ns ();
}

double
bench_median (double *samples, size_t count)
{
    if (count == 0)
        return 0;
    return fed_bench_median (samples, count);
}

double
bench_percentile (double *samples, size_t count, double fraction)
{
    if (count == 0)
        return 0;
    qsort (samples, count, sizeof (double), fed_bench_compare);
    return samples [(size_t) ((double) (count - 1) * fraction + 0.5)];
}

//  --- programs and ports ----------------------------------------------------------

char *
bench_fednode_path (const char *program)
{
    const char *builddir = getenv ("FED_BUILDDIR");
    if (!builddir || !*builddir)
        builddir = FED_BUILDDIR;
    char *path = fed_sprintf ("%s/fednode", builddir);
    char head [2] = {0, 0};
    FILE *file = fopen (path, "r");
    bool script = file && fread (head, 1, 2, file) == 2 && head [0] == '#' && head [1] == '!';
    if (file)
        fclose (file);
    if (script) {
        //  A libtool wrapper: it would set LD_LIBRARY_PATH and exec this.
        free (path);
        path = fed_sprintf ("%s/.libs/fednode", builddir);
        const char *old = getenv ("LD_LIBRARY_PATH");
        char *libs = old && *old ? fed_sprintf ("%s/.libs:%s", builddir, old)
                                 : fed_sprintf ("%s/.libs", builddir);
        setenv ("LD_LIBRARY_PATH", libs, 1);
        free (libs);
    }
    if (access (path, X_OK)) {
        fprintf (stderr, "%s: cannot run %s: %s (run `make bench` in the build dir)\n", program,
                 path, strerror (errno));
        exit (1);
    }
    return path;
}

static int
s_connect_tcp (int port, bool bind_it)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) port)};
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    int rc = fd < 0 ? -1
        : bind_it   ? bind (fd, (struct sockaddr *) &address, sizeof address)
                    : connect (fd, (struct sockaddr *) &address, sizeof address);
    if (fd >= 0)
        close (fd);
    return rc;
}

void
bench_free_ports (int *ports, int count, int salt, const char *program)
{
    //  Below 32768 (no ephemeral port is handed out there between probe and
    //  bind) and below the shell tests' 20000 and up.
    int port = 10000 + (int) ((getpid () + salt * 97) % 400) * 24;
    int found = 0;
    for (; found < count && port < 20000; port++)
        if (s_connect_tcp (port, true) == 0)
            ports [found++] = port;
    if (found < count) {
        fprintf (stderr, "%s: no %d free loopback ports in 10000-19999\n", program, count);
        exit (1);
    }
}

void
bench_free_ports_in (int *ports, int count, int low, int high, int salt, const char *program)
{
    int span = high - low + 1;
    int start = (int) ((getpid () + salt * 97) % span);
    int found = 0;
    for (int step = 0; found < count && step < span; step++) {
        int port = low + (start + step) % span;
        if (s_connect_tcp (port, true) == 0)
            ports [found++] = port;
    }
    if (found < count) {
        fprintf (stderr, "%s: no %d free loopback ports in %d-%d\n", program, count, low, high);
        exit (1);
    }
}

//  --- nodes -------------------------------------------------------------------------

void
bench_node_init (bench_node_t *self, const char *work, const char *name, int peer_port,
                 int control_port)
{
    memset (self, 0, sizeof *self);
    snprintf (self->name, sizeof self->name, "%s", name);
    self->dir = fed_sprintf ("%s/%s", work, name);
    self->log = fed_sprintf ("%s/%s.log", work, name);
    self->peer_port = peer_port;
    self->control_port = control_port;
    fed_err_t err;
    fed_identity_t *identity = fed_identity_open (self->dir, NULL, &err);
    if (!identity) {
        fprintf (stderr, "bench: %s\n", err.text);
        exit (1);
    }
    memcpy (self->key, fed_identity_public (identity), 32);
    snprintf (self->id, sizeof self->id, "%s", fed_identity_id (identity));
    fed_identity_destroy (&identity);
}

int
bench_node_start (bench_node_t *self, const char *fednode, const char *config,
                  const bench_node_t *seed)
{
    char peer [64], control [64], seed_text [128];
    snprintf (peer, sizeof peer, "tcp://127.0.0.1:%d", self->peer_port);
    snprintf (control, sizeof control, "tcp://127.0.0.1:%d", self->control_port);
    const char *argv [16] = {fednode,          "run",    "-c",       config,        "-d",
                             self->dir,        "--name", self->name, "--peer-bind", peer,
                             "--control-bind", control,  NULL};
    if (seed) {
        snprintf (seed_text, sizeof seed_text, "%s@tcp://127.0.0.1:%d", seed->id, seed->peer_port);
        argv [12] = "--seed";
        argv [13] = seed_text;
        argv [14] = NULL;
    }
    int log_fd = open (self->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        fprintf (stderr, "bench: %s: %s\n", self->log, strerror (errno));
        return -1;
    }
    pid_t parent = getpid ();
    self->started_ns = bench_now_ns ();
    pid_t pid = fork ();
    if (pid == 0) {
        //  Only async-signal-safe calls from here to exec.
        if (prctl (PR_SET_PDEATHSIG, SIGKILL) || getppid () != parent)
            _exit (127);
        if (dup2 (log_fd, STDOUT_FILENO) < 0 || dup2 (log_fd, STDERR_FILENO) < 0)
            _exit (127);
        execv (argv [0], (char *const *) argv);
        _exit (127);
    }
    close (log_fd);
    if (pid < 0) {
        fprintf (stderr, "bench: fork: %s\n", strerror (errno));
        return -1;
    }
    self->pid = pid;
    return 0;
}

fed_client_t *
bench_client (const char *dir, const char *endpoint)
{
    char *admin_path = fed_sprintf ("%s/admin.key", dir);
    char *pub_path = fed_sprintf ("%s/node.pub", dir);
    fed_err_t err;
    uint8_t server [32];
    fed_client_t *client = NULL;
    fed_identity_t *admin = fed_identity_load (admin_path, &err);
    if (admin && fed_identity_read_public (pub_path, server, &err) == 0)
        client = fed_client_new (endpoint, admin, server, &err);
    fed_identity_destroy (&admin);
    free (pub_path);
    free (admin_path);
    return client;
}

int
bench_node_connect (bench_node_t *self, int wait_ms)
{
    int64_t deadline = bench_now_ns () + (int64_t) wait_ms * 1000000;
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", self->control_port);
    while (!bench_interrupted && bench_now_ns () < deadline) {
        int status;
        if (self->pid && waitpid (self->pid, &status, WNOHANG) == self->pid) {
            self->pid = 0;
            fprintf (stderr, "bench: node %s exited at start\n", self->name);
            bench_node_print_log (self);
            return -1;
        }
        uint64_t events;
        if (!self->client && s_connect_tcp (self->control_port, false) == 0)
            self->client = bench_client (self->dir, endpoint);
        if (self->client && bench_events (self->client, &events) == 0)
            return 0;
        usleep (1000);
    }
    fprintf (stderr, "bench: node %s did not answer status within %d ms\n", self->name, wait_ms);
    bench_node_print_log (self);
    return -1;
}

void
bench_node_stop (bench_node_t *self)
{
    fed_client_destroy (&self->client);
    if (!self->pid)
        return;
    kill (self->pid, SIGTERM);
    int status;
    int64_t deadline = bench_now_ns () + (int64_t) STOP_DEADLINE_MS * 1000000;
    pid_t done = 0;
    while ((done = waitpid (self->pid, &status, WNOHANG)) == 0 && bench_now_ns () < deadline)
        usleep (1000);
    if (done != self->pid) {
        kill (self->pid, SIGKILL);
        waitpid (self->pid, &status, 0);
    }
    self->pid = 0;
}

void
bench_node_free (bench_node_t *self)
{
    bench_node_stop (self);
    fed_free (&self->dir);
    fed_free (&self->log);
}

void
bench_node_print_log (const bench_node_t *self)
{
    FILE *file = fopen (self->log, "r");
    if (!file)
        return;
    char lines [20][400];
    size_t count = 0;
    while (fgets (lines [count % 20], sizeof lines [0], file))
        count++;
    fclose (file);
    fprintf (stderr, "--- last lines of %s\n", self->log);
    for (size_t i = count > 20 ? count - 20 : 0; i < count; i++)
        fputs (lines [i % 20], stderr);
}

double
bench_cpu_s (pid_t pid)
{
    char path [64], text [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    size_t size = file ? fread (text, 1, sizeof text - 1, file) : 0;
    if (file)
        fclose (file);
    text [size] = 0;
    //  Fields after the command name (which may hold spaces): state is the
    //  3rd field, utime and stime the 14th and 15th.
    const char *at = strrchr (text, ')');
    unsigned long utime = 0, stime = 0;
    if (!at
        || sscanf (at + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %lu", &utime, &stime)
            != 2)
        return 0;
    return (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK);
}

void
bench_wait_idle (pid_t pid, int wait_ms)
{
    int64_t deadline = bench_now_ns () + (int64_t) wait_ms * 1000000;
    while (!bench_interrupted && bench_now_ns () < deadline) {
        double before = bench_cpu_s (pid);
        usleep (100000);
        if (bench_cpu_s (pid) - before < 0.005)
            return;
    }
}

//  --- control calls ---------------------------------------------------------------

//  Sends the request and decodes the reply: 0 with *result borrowed from
//  *reply_p (caller frees), or -1.
static int
s_call (fed_client_t *client, msgpack_sbuffer *request, int timeout_ms, uint8_t **reply_p,
        fed_mpr_t *result)
{
    size_t reply_size;
    fed_blob_t blob;
    char code [64];
    fed_err_t err;
    *reply_p = NULL;
    fed_client_status_t status =
        fed_client_call (client, request->data, request->size, timeout_ms, reply_p, &reply_size,
                         &blob, code, sizeof code, &err);
    msgpack_sbuffer_destroy (request);
    if (status != FED_CLIENT_OK)
        return -1;
    fed_mpr_init (result, blob.data, blob.size);
    return 0;
}

void
bench_request (msgpack_sbuffer *buffer, msgpack_packer *pk, const char *command, uint32_t args)
{
    msgpack_sbuffer_init (buffer);
    msgpack_packer_init (pk, buffer, msgpack_sbuffer_write);
    fed_ctl_request_begin (pk, command, args);
}

void
bench_pack_str (msgpack_packer *pk, const char *text)
{
    msgpack_pack_str_with_body (pk, text, strlen (text));
}

int
bench_find (fed_mpr_t *reader, uint32_t count, const char *key)
{
    for (uint32_t i = 0; i < count; i++) {
        const char *name;
        uint32_t size;
        if (fed_mpr_str (reader, &name, &size))
            return -1;
        if (size == strlen (key) && memcmp (name, key, size) == 0)
            return 0;
        if (fed_mpr_skip (reader, NULL))
            return -1;
    }
    return -1;
}

int
bench_events (fed_client_t *client, uint64_t *events)
{
    msgpack_sbuffer request;
    msgpack_packer pk;
    bench_request (&request, &pk, "status", 0);
    uint8_t *reply;
    fed_mpr_t result;
    uint32_t count;
    int rc = s_call (client, &request, CALL_TIMEOUT_MS, &reply, &result) == 0
            && fed_mpr_map (&result, &count) == 0 && bench_find (&result, count, "events") == 0
            && fed_mpr_uint (&result, events) == 0
        ? 0
        : -1;
    free (reply);
    return rc;
}

int
bench_members (fed_client_t *client, const char *name, uint64_t *seq, size_t *alive)
{
    msgpack_sbuffer request;
    msgpack_packer pk;
    bench_request (&request, &pk, "members", 0);
    uint8_t *reply;
    fed_mpr_t result;
    uint32_t members;
    int rc = s_call (client, &request, CALL_TIMEOUT_MS, &reply, &result) == 0
            && fed_mpr_array (&result, &members) == 0
        ? 0
        : -1;
    *alive = 0;
    for (uint32_t i = 0; rc == 0 && i < members; i++) {
        uint32_t fields;
        const char *text;
        uint32_t size;
        bool mine = false;
        rc = fed_mpr_map (&result, &fields);
        for (uint32_t f = 0; rc == 0 && f < fields; f++) {
            rc = fed_mpr_str (&result, &text, &size);
            if (rc)
                break;
            bool is_name = size == 4 && memcmp (text, "name", 4) == 0;
            bool is_state = size == 5 && memcmp (text, "state", 5) == 0;
            bool is_seq = size == 3 && memcmp (text, "seq", 3) == 0;
            if ((is_name || is_state) && fed_mpr_peek (&result) == FED_MP_STR) {
                rc = fed_mpr_str (&result, &text, &size);
                if (is_name)
                    mine = name && size == strlen (name) && memcmp (text, name, size) == 0;
                else
                    *alive += size == 5 && memcmp (text, "alive", 5) == 0;
            } else if (is_seq && mine)
                rc = fed_mpr_uint (&result, seq);
            else
                rc = fed_mpr_skip (&result, NULL);
        }
    }
    free (reply);
    return rc ? -1 : 0;
}

int
bench_publish (fed_client_t *client, const char *type, const uint8_t *body, size_t size,
               uint64_t *seq)
{
    msgpack_sbuffer request;
    msgpack_packer pk;
    bench_request (&request, &pk, "events.publish", 4);
    bench_pack_str (&pk, "type");
    bench_pack_str (&pk, type);
    bench_pack_str (&pk, "body");
    msgpack_sbuffer_write (&request, (const char *) body, size);
    fed_client_pack_replay (&pk);
    uint8_t *reply;
    fed_mpr_t result;
    uint32_t count;
    uint64_t value = 0;
    int rc = s_call (client, &request, CALL_TIMEOUT_MS, &reply, &result) == 0
            && fed_mpr_map (&result, &count) == 0 && bench_find (&result, count, "seq") == 0
            && fed_mpr_uint (&result, &value) == 0
        ? 0
        : -1;
    if (seq)
        *seq = value;
    free (reply);
    return rc;
}

int
bench_tail (fed_client_t *client, const char *type, uint64_t *cursor, int wait_ms, bool *found)
{
    msgpack_sbuffer request;
    msgpack_packer pk;
    bool from_end = *cursor == UINT64_MAX;
    bench_request (&request, &pk, "events.tail", from_end ? 2 : 4);
    bench_pack_str (&pk, "type");
    bench_pack_str (&pk, type);
    bench_pack_str (&pk, "limit");
    msgpack_pack_uint64 (&pk, 1);
    if (!from_end) {
        char text [24];
        snprintf (text, sizeof text, "%llu", (unsigned long long) *cursor);
        bench_pack_str (&pk, "after");
        bench_pack_str (&pk, text);
        bench_pack_str (&pk, "wait_ms");
        msgpack_pack_uint64 (&pk, (uint64_t) wait_ms);
    }
    uint8_t *reply;
    fed_mpr_t result;
    uint32_t count, events = 0;
    const char *text;
    uint32_t size;
    int rc = -1;
    if (s_call (client, &request, wait_ms + CALL_TIMEOUT_MS, &reply, &result) == 0
        && fed_mpr_map (&result, &count) == 0) {
        fed_mpr_t again = result;
        if (bench_find (&result, count, "events") == 0 && fed_mpr_array (&result, &events) == 0
            && bench_find (&again, count, "cursor") == 0 && fed_mpr_str (&again, &text, &size) == 0
            && size < 24) {
            char digits [24];
            snprintf (digits, sizeof digits, "%.*s", (int) size, text);
            *cursor = strtoull (digits, NULL, 10);
            rc = 0;
        }
    }
    *found = events > 0 && !from_end;
    free (reply);
    return rc;
}

double
bench_metric (fed_client_t *client, const char *name_and_labels)
{
    msgpack_sbuffer request;
    msgpack_packer pk;
    bench_request (&request, &pk, "metrics", 0);
    uint8_t *reply;
    fed_mpr_t result;
    const char *text;
    uint32_t size;
    double value = 0;
    if (s_call (client, &request, CALL_TIMEOUT_MS, &reply, &result) == 0
        && fed_mpr_str (&result, &text, &size) == 0) {
        char *copy = fed_strndup (text, size);
        size_t length = strlen (name_and_labels);
        for (char *line = copy; line && *line;) {
            if (strncmp (line, name_and_labels, length) == 0 && line [length] == ' ') {
                value = strtod (line + length + 1, NULL);
                break;
            }
            line = strchr (line, '\n');
            line = line ? line + 1 : NULL;
        }
        free (copy);
    }
    free (reply);
    return value;
}
