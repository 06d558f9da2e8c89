/*  tests/bench/benchnode.h: what the replication benchmarks share: real
    fednode processes started from the build tree and reaped on every way
    out, and a control client that asks them the few things a benchmark
    polls (status, members, events.tail long polls, events.publish).

    Benchmarks are single programs, not a library: these helpers exit the
    program with a message when something they need is missing (no binary,
    no free port), and return -1 only where a benchmark may carry on.
*/
#ifndef BENCHNODE_H_INCLUDED
#define BENCHNODE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "client.h"
#include "identity.h"
#include "mpread.h"

//  One fednode: its data dir and ports, the process once started, and a
//  control client once connected.
typedef struct {
    char name [16];
    char *dir;            //  data dir, owned
    char *log;            //  its stdout and stderr, owned
    int peer_port;        //  tcp://127.0.0.1:peer_port
    int control_port;     //  tcp://127.0.0.1:control_port
    uint8_t key [32];     //  node key (ed25519 public)
    char id [41];         //  the same in Z85
    pid_t pid;            //  0 when not running
    int64_t started_ns;   //  CLOCK_MONOTONIC at fork
    fed_client_t *client; //  control client, owned; NULL until connected
} bench_node_t;

//  Monotonic nanoseconds.
int64_t bench_now_ns (void);

//  Installs SIGINT/SIGTERM handlers that set bench_interrupted; every wait
//  here gives up when it is set.
void bench_signals (void);
extern volatile int bench_interrupted;

//  The real fednode binary of the build tree (FED_BUILDDIR, else the build
//  dir configure gave): .libs/fednode with LD_LIBRARY_PATH set when fednode
//  is a libtool wrapper. Exits if there is none. Caller frees.
char *bench_fednode_path (const char *program);

//  count loopback ports in 10000-19999 nobody listens on, starting at a
//  place picked from the pid and salt (benches running at once differ).
void bench_free_ports (int *ports, int count, int salt, const char *program);

//  The same in low..high (a bench given its own range), scanning from a
//  place picked from the pid and salt and wrapping round.
void bench_free_ports_in (int *ports, int count, int low, int high, int salt, const char *program);

//  A node named name with data dir WORK/name: creates the dir and its node
//  key (fed_identity_open) so that its key can go into trust lists before
//  it runs. Exits on failure.
void bench_node_init (bench_node_t *self, const char *work, const char *name, int peer_port,
                      int control_port);

//  Starts `fednode run -c config` on the node's dir and ports, seeded by
//  seed (NULL: none); stdout and stderr appended to self->log. The child
//  dies with us (PR_SET_PDEATHSIG). Returns 0 or -1.
int bench_node_start (bench_node_t *self, const char *fednode, const char *config,
                      const bench_node_t *seed);

//  Waits (up to wait_ms) until the node answers status, connecting a
//  control client with the dir's admin.key. Returns 0, or -1 (the node's
//  log is printed).
int bench_node_connect (bench_node_t *self, int wait_ms);

//  SIGTERM, then SIGKILL after 5 s; reaps; closes the client. Accepts a
//  node that is not running.
void bench_node_stop (bench_node_t *self);
void bench_node_free (bench_node_t *self);

//  Prints the last lines of the node's log to stderr.
void bench_node_print_log (const bench_node_t *self);

//  --- control calls --------------------------------------------------------------

//  Reads map entries (count of them) until key; the reader is left at its
//  value. Returns 0, or -1 if absent or malformed.
int bench_find (fed_mpr_t *reader, uint32_t count, const char *key);

//  Events the node holds (status "events"). Returns 0 or -1.
int bench_events (fed_client_t *client, uint64_t *events);

//  For the member named name: the seq of its events this node holds
//  (members "seq"), and how many members are alive (self included).
//  name NULL: only the count. Returns 0 or -1.
int bench_members (fed_client_t *client, const char *name, uint64_t *seq, size_t *alive);

//  Publishes one user.* event with body (a msgpack map); *seq (if given)
//  receives its seq. Returns 0 or -1.
int bench_publish (fed_client_t *client, const char *type, const uint8_t *body, size_t size,
                   uint64_t *seq);

//  events.tail of type after *cursor (NULL cursor text: the current end),
//  waiting up to wait_ms for one: *found says if one came; *cursor moves on.
//  Returns 0 or -1.
int bench_tail (fed_client_t *client, const char *type, uint64_t *cursor, int wait_ms, bool *found);

//  A metrics line's value (Prometheus text, "name{labels} value"); 0 if absent.
double bench_metric (fed_client_t *client, const char *name_and_labels);

//  Connects a control client to a running node from its data dir (admin.key
//  and node.pub) and endpoint. NULL if it cannot.
fed_client_t *bench_client (const char *dir, const char *endpoint);

//  CPU time (user + system) the process has used so far, in seconds; 0 if
//  it cannot be read.
double bench_cpu_s (pid_t pid);

//  Waits (up to wait_ms) until the process uses under 5 % of a CPU over
//  100 ms: a node that has just started is done with its start-up work
//  (such as indexing the ids of events appended offline).
void bench_wait_idle (pid_t pid, int wait_ms);

//  Statistics of samples (sorted in place).
double bench_median (double *samples, size_t count);
double bench_percentile (double *samples, size_t count, double fraction);

//  Starts a control request [1, command, {args entries}] in buffer (which
//  the caller then owns and destroys), with pk packing into it.
void bench_request (msgpack_sbuffer *buffer, msgpack_packer *pk, const char *command,
                    uint32_t args);
//  Packs text as a msgpack str.
void bench_pack_str (msgpack_packer *pk, const char *text);

#endif
