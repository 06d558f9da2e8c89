/*  node/config.h: the node's configuration, read from YAML.

    A node's settings live in one plain value object, fed_config_t, that every
    module reads directly. It is plain data on purpose: a config is built once
    at start-up (defaults, then a YAML file, then command-line flags) and then
    only read. Every key has a default, so a node with no config file at all is
    a working single-node cluster.

    The schema with its defaults follows in line comments, since its
    endpoints cannot sit inside a block comment.

    Forms: an endpoint is tcp://HOST:PORT (HOST = *, IPv4, hostname or [IPv6];
    PORT 1..65535) or ipc://PATH; advertise and seeds take tcp only, with no *.
    A duration is "250ms", "5s", "2m", "1h", "1d"; a size is "512", "64KiB",
    "1MiB", "4MB", "1GiB". PUBKEY is an ed25519 public key as 40 Z85 or 64 hex
    characters. ROLE is peer, admin, operator, approver or viewer. Ranges:
    limits.event_body 1KiB..1GiB, wire_message 1KiB..2GiB, yaml_file
    1KiB..64MiB, workflow_steps 1..1000000, pending_events 1..10000000;
    gossip.interval and probe_interval 10ms..1h, probe_timeout 1ms..1h,
    suspicion_timeout 10ms..1d.

    Loading a file sets the keys it names and leaves the others alone; a list
    or map key (seeds, trust, node.labels) replaces the whole list or map.
    Anchors, aliases and tags are refused (billion laughs), nesting is capped
    at 16 levels, and the file at limits.yaml_file bytes. Every error names
    FILE:LINE:COLUMN (1-based) and the form that was expected, and a failed
    call leaves the config exactly as it was.
*/
//  The schema, with its defaults (one table in config.c drives parsing,
//  validation, defaults and printing):
//
//      data_dir: ./fednode-data          # path
//      durability: sync                  # sync | wal
//      log_level: info                   # error | warn | info | debug
//      node:
//        name: ""                        # free text, <= 64 bytes; empty = the node's short id
//        region: ""                      # location tags, each <= 64 bytes
//        zone: ""
//        site: ""
//        lat: ~                          # float -90..90, or unset (~)
//        lon: ~                          # float -180..180, or unset; lat and lon come together
//        labels: {}                      # map string -> string; keys [A-Za-z0-9_./-]+,
//                                        # 64 KiB in all
//      listen:
//        peer: tcp://*:7701              # endpoint
//        control: tcp://127.0.0.1:7702   # endpoint
//        agents: ""                      # endpoint; empty = ipc://{data_dir}/agents.sock
//        advertise: ""                   # tcp://host:port peers use to reach us; empty = derived
//      seeds: []                         # list of "PUBKEY@tcp://host:port"
//      join_token: ""                    # token presented to seeds that do not trust us yet
//      trust: []                         # list of {key: PUBKEY, role: ROLE, name: optional text}
//      limits:
//        event_body: 1MiB                # size
//        wire_message: 4MiB              # size
//        yaml_file: 1MiB                 # size (also caps the config file itself)
//        workflow_steps: 10000           # integer
//        pending_events: 10000           # integer: out-of-order events buffered per node
//        handshake_timeout: 5s           # duration 100ms..1m: unfinished handshakes dropped
//        pending_joins: 10               # integer: handshakes/s admitted from unknown keys
//      gossip:
//        fanout: 3                       # integer 1..64
//        push: true                      # push new events at once (false: anti-entropy alone)
//        interval: 1s                    # duration
//        probe_interval: 1s
//        probe_timeout: 500ms
//        suspicion_timeout: 5s
//        indirect_probes: 3              # integer 1..16: PING_REQ fan-out
//        retransmit_mult: 4              # integer 1..64: an update rides on mult*log2(N+1) messages
//        sync_interval: 30s              # full membership exchange with one member
//        reconnect_interval: 10s         # ask one dead member whether it is back (heals partitions)
//      agents:
//        workers: 0                      # integer 0..256: threads for built-in agents (0: one per CPU)
//        heartbeat: 1s                   # duration 10ms..1m: external agents' heartbeat
//        liveness: 3                     # integer 1..100: heartbeats missed before one is gone
//        failovers: 3                    # integer 0..100: moves of one task to another process
//        max_external: 256               # integer 1..4096: external agent processes at once
//        data_roots: []                  # absolute directories the data.* agents may read
//        data_memory: 256MiB             # size 1MiB..1TiB: one data task's memory before it spills

#ifndef FED_CONFIG_H_INCLUDED
#define FED_CONFIG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FED_ROLE_PEER,
    FED_ROLE_ADMIN,
    FED_ROLE_OPERATOR,
    FED_ROLE_APPROVER,
    FED_ROLE_VIEWER,
    FED_ROLE_AGENT //  an external agent process: the agent endpoint only (doc/protocol.md §5)
} fed_role_t;

//  One trusted key. name is NULL when the entry gave none.
typedef struct {
    uint8_t key [32];
    fed_role_t role;
    char *name;
} fed_trust_entry_t;

//  One seed peer: its pinned public key and a tcp:// endpoint.
typedef struct {
    uint8_t key [32];
    char *endpoint;
} fed_seed_t;

typedef struct {
    char *key;
    char *value;
} fed_label_t;

//  The effective configuration. Every string is owned by the config and is
//  never NULL (empty string when unset), except fed_trust_entry_t.name. When
//  has_latlon is false, lat and lon are not meaningful (a coordinate set alone
//  through fed_config_set is held in them until its partner arrives).
typedef struct {
    char *data_dir;
    bool durability_sync; //  true = fsync per batch, false = WAL only
    fed_log_level_t log_level;
    struct {
        char *name, *region, *zone, *site;
        bool has_latlon;
        double lat, lon;
        fed_label_t *labels;
        size_t label_count;
    } node;
    struct {
        char *peer, *control, *agents, *advertise;
    } listen;
    fed_seed_t *seeds;
    size_t seed_count;
    char *join_token; //  "" when none
    fed_trust_entry_t *trust;
    size_t trust_count;
    struct {
        uint64_t event_body, wire_message, yaml_file, workflow_steps, pending_events;
        int64_t handshake_timeout_ms;
        uint32_t pending_joins;
    } limits;
    struct {
        uint32_t fanout, indirect_probes, retransmit_mult;
        bool push; //  push new events at once (false: anti-entropy alone)
        int64_t interval_ms, probe_interval_ms, probe_timeout_ms, suspicion_timeout_ms;
        int64_t sync_interval_ms, reconnect_interval_ms;
    } gossip;
    struct {
        uint32_t workers;      //  built-in agents' worker threads; 0: one per CPU
        int64_t heartbeat_ms;  //  external agents: heartbeat interval
        uint32_t liveness;     //  heartbeats missed before an external agent is gone
        uint32_t failovers;    //  times one task may move to another process
        uint32_t max_external; //  external agent processes connected at once
        char **data_roots;     //  absolute directories data agents may read (besides runs')
        size_t data_root_count;
        uint64_t data_memory;  //  bytes one data-agent task may hold before it spills
    } agents;
} fed_config_t;

//  A config holding every default. Caller owns it and destroys it with
//  fed_config_destroy. Never returns NULL (aborts on out-of-memory).
fed_config_t *fed_config_new (void);

//  Frees the config and everything it holds. Accepts NULL or *self_p == NULL;
//  sets *self_p to NULL.
void fed_config_destroy (fed_config_t **self_p);

//  Loads a YAML file over the current values. An empty file, or one holding
//  only comments, changes nothing. Returns 0, or -1 with err->text such as
//  "PATH:LINE:COLUMN: key 'gossip.intreval' is unknown; did you mean
//  'gossip.interval'?" (a missing or unreadable file: "PATH: " and strerror).
//  On -1 the config is unchanged. The caller keeps ownership of path.
int fed_config_load_file (fed_config_t *self, const char *path, fed_err_t *err) FED_MUST_USE;

//  Same from size bytes of memory (no NUL needed); name stands for the path in
//  messages. Returns 0, or -1 with err set and the config unchanged.
int fed_config_load_string (fed_config_t *self, const char *text, size_t size, const char *name,
                            fed_err_t *err) FED_MUST_USE;

//  Sets one scalar key by dotted path ("listen.peer", "gossip.interval",
//  "durability", "node.lat", ...) from text, with the same validation as a
//  file; "~" unsets node.lat or node.lon. For command-line flags. The list and
//  map keys (seeds, trust, node.labels, agents.data_roots) are not settable here. Returns 0, or
//  -1 with err naming the key and the expected form; on -1 the config is
//  unchanged. Setting one of lat/lon alone is accepted (flags come one at a
//  time); fed_config_check reports a coordinate left without its partner.
int fed_config_set (fed_config_t *self, const char *key, const char *value,
                    fed_err_t *err) FED_MUST_USE;

//  Appends one directory to agents.data_roots (an absolute path). Returns
//  0, or -1 with err; on -1 the config is unchanged.
int fed_config_add_data_root (fed_config_t *self, const char *path, fed_err_t *err) FED_MUST_USE;

//  Appends one seed given as "PUBKEY@tcp://host:port". Returns 0, or -1 with
//  err saying the expected form; on -1 the config is unchanged.
int fed_config_add_seed (fed_config_t *self, const char *seed, fed_err_t *err) FED_MUST_USE;

//  Checks the rules that span keys and that fed_config_set cannot check one
//  flag at a time (node.lat and node.lon come together;
//  gossip.probe_timeout is shorter than gossip.probe_interval). Call it once
//  after the last fed_config_set. Returns 0, or -1 with err set.
int fed_config_check (const fed_config_t *self, fed_err_t *err) FED_MUST_USE;

//  The effective config as YAML, every key present, keys as 40-char Z85, that
//  fed_config_load_string reads back into an identical config. Caller owns the
//  returned string and frees it with free (). Never returns NULL.
char *fed_config_to_yaml (const fed_config_t *self);

//  "peer", "admin", "operator", "approver", "viewer"; "unknown" for a value
//  outside the enum. The string is static.
const char *fed_role_name (fed_role_t role);

//  Parses a role name (exact, lower case). Returns 0, or -1 for an unknown
//  name with *role untouched.
int fed_role_parse (const char *name, fed_role_t *role) FED_MUST_USE;

#ifdef __cplusplus
}
#endif
#endif
