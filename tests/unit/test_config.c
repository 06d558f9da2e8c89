/*  tests/unit/test_config.c: the node config has the documented defaults,
    round-trips through its own YAML, refuses every bad input with the exact
    file:line:column and the expected form, refuses hostile YAML quickly, and
    never changes the caller's config when it fails.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <math.h>
#include <cmocka.h>

#include "testutil.h"

#include "config.h"

//  Two keys the tests use: bytes 0..31 and 32..63, as Z85 and hex.
typedef struct {
    uint8_t a [32], b [32];
    char a_z85 [41], b_z85 [41], a_hex [65];
} keys_t;

static void
s_keys (keys_t *keys)
{
    for (int i = 0; i < 32; i++) {
        keys->a [i] = (uint8_t) i;
        keys->b [i] = (uint8_t) (i + 32);
    }
    fed_z85_encode_key (keys->a_z85, keys->a);
    fed_z85_encode_key (keys->b_z85, keys->b);
    fed_hex_encode (keys->a_hex, keys->a, 32);
}

//  Loads yaml (as "t.yaml") into a config holding defaults; expects a refusal
//  whose text starts with prefix and contains phrase, and an unchanged config.
static void
s_expect_error (const char *yaml, size_t size, const char *prefix, const char *phrase)
{
    fed_config_t *config = fed_config_new ();
    char *before = fed_config_to_yaml (config);
    fed_err_t err = {0, ""};
    int rc = fed_config_load_string (config, yaml, size, "t.yaml", &err);
    if (rc != -1 || strncmp (err.text, prefix, strlen (prefix)) || !strstr (err.text, phrase))
        print_error ("for YAML:\n%.200s\nexpected rc -1 and '%s...%s'\ngot rc %d and '%s'\n", yaml,
                     prefix, phrase, rc, err.text);
    assert_int_equal (rc, -1);
    assert_int_equal (strncmp (err.text, prefix, strlen (prefix)), 0);
    assert_non_null (strstr (err.text, phrase));
    char *after = fed_config_to_yaml (config);
    assert_string_equal (before, after);
    free (before);
    free (after);
    fed_config_destroy (&config);
}

#define EXPECT_ERROR(yaml, prefix, phrase) s_expect_error (yaml, strlen (yaml), prefix, phrase)

static void
test_defaults (void **state)
{
    fed_config_t *config = fed_config_new ();
    assert_string_equal (config->data_dir, "./fednode-data");
    assert_true (config->durability_sync);
    assert_int_equal (config->log_level, FED_LOG_INFO);
    assert_string_equal (config->node.name, "");
    assert_string_equal (config->node.region, "");
    assert_string_equal (config->node.zone, "");
    assert_string_equal (config->node.site, "");
    assert_false (config->node.has_latlon);
    assert_int_equal (config->node.label_count, 0);
    assert_string_equal (config->listen.peer, "tcp://*:7701");
    assert_string_equal (config->listen.control, "tcp://127.0.0.1:7702");
    assert_string_equal (config->listen.agents, "");
    assert_string_equal (config->listen.advertise, "");
    assert_int_equal (config->seed_count, 0);
    assert_int_equal (config->trust_count, 0);
    assert_int_equal (config->limits.event_body, 1048576);
    assert_int_equal (config->limits.wire_message, 4 * 1048576);
    assert_int_equal (config->limits.yaml_file, 1048576);
    assert_int_equal (config->limits.workflow_steps, 10000);
    assert_int_equal (config->limits.pending_events, 10000);
    assert_int_equal (config->gossip.fanout, 3);
    assert_int_equal (config->gossip.interval_ms, 1000);
    assert_int_equal (config->gossip.probe_interval_ms, 1000);
    assert_int_equal (config->gossip.probe_timeout_ms, 500);
    assert_int_equal (config->gossip.suspicion_timeout_ms, 5000);

    //  Defaults print and read back as defaults.
    char *yaml = fed_config_to_yaml (config);
    assert_true (config->gossip.push);
    assert_non_null (strstr (yaml, "gossip:\n  fanout: 3\n  push: true\n  interval: 1s\n"));
    assert_non_null (strstr (yaml, "  lat: ~\n  lon: ~\n  labels: {}\n"));
    fed_config_t *again = fed_config_new ();
    fed_err_t err;
    assert_int_equal (fed_config_load_string (again, yaml, strlen (yaml), "defaults", &err), 0);
    char *yaml_again = fed_config_to_yaml (again);
    assert_string_equal (yaml, yaml_again);
    free (yaml);
    free (yaml_again);
    fed_config_destroy (&again);
    fed_config_destroy (&config);
    fed_config_destroy (&config); //  NULL is fine
    fed_config_destroy (NULL);
}

static void
test_full_round_trip (void **state)
{
    keys_t keys;
    s_keys (&keys);
    char *yaml = fed_sprintf ("# every key\n"
                              "data_dir: /var/lib/fednode\n"
                              "durability: wal\n"
                              "log_level: debug\n"
                              "node:\n"
                              "  name: \"gate \\\"7\\\" \\\\ caf\\u00e9\\n\\t\\u2028\"\n"
                              "  region: eu-west\n"
                              "  zone: eu-west-1a\n"
                              "  site: plant-3\n"
                              "  lat: 48.8566\n"
                              "  lon: -2.35e-1\n"
                              "  labels:\n"
                              "    gpu: a100\n"
                              "    k8s.io/role: \"edge: yes\"\n"
                              "    empty:\n"
                              "listen:\n"
                              "  peer: tcp://[::1]:8801\n"
                              "  control: ipc:///tmp/fed-control.sock\n"
                              "  agents: tcp://10.0.0.5:8803\n"
                              "  advertise: tcp://node-a.example.org:8801\n"
                              "seeds:\n"
                              "  - \"%s@tcp://10.0.0.1:7701\"\n"
                              "  - %s@tcp://seed-b:7701\n"
                              "trust:\n"
                              "  - {key: \"%s\", role: admin, name: ops team}\n"
                              "  - key: \"%s\"\n"
                              "    role: viewer\n"
                              "limits:\n"
                              "  event_body: 512KiB\n"
                              "  wire_message: 8MB\n"
                              "  yaml_file: 2MiB\n"
                              "  workflow_steps: 500\n"
                              "  pending_events: 123\n"
                              "gossip:\n"
                              "  fanout: 5\n"
                              "  interval: 250ms\n"
                              "  probe_interval: 2s\n"
                              "  probe_timeout: 1500ms\n"
                              "  suspicion_timeout: 2m\n",
                              keys.a_z85, keys.a_hex, keys.a_z85, keys.b_z85);
    fed_config_t *config = fed_config_new ();
    fed_err_t err = {0, ""};
    int rc = fed_config_load_string (config, yaml, strlen (yaml), "full.yaml", &err);
    if (rc)
        print_error ("%s\n", err.text);
    assert_int_equal (rc, 0);
    assert_string_equal (config->data_dir, "/var/lib/fednode");
    assert_false (config->durability_sync);
    assert_int_equal (config->log_level, FED_LOG_DEBUG);
    assert_string_equal (config->node.name, "gate \"7\" \\ caf\xc3\xa9\n\t\xe2\x80\xa8");
    assert_string_equal (config->node.site, "plant-3");
    assert_true (config->node.has_latlon);
    assert_true (config->node.lat == 48.8566);
    assert_true (config->node.lon == -0.235);
    assert_int_equal (config->node.label_count, 3);
    assert_string_equal (config->node.labels [1].key, "k8s.io/role");
    assert_string_equal (config->node.labels [1].value, "edge: yes");
    assert_string_equal (config->node.labels [2].value, "");
    assert_string_equal (config->listen.peer, "tcp://[::1]:8801");
    assert_string_equal (config->listen.control, "ipc:///tmp/fed-control.sock");
    assert_int_equal (config->seed_count, 2);
    assert_memory_equal (config->seeds [0].key, keys.a, 32);
    assert_memory_equal (config->seeds [1].key, keys.a, 32);
    assert_string_equal (config->seeds [1].endpoint, "tcp://seed-b:7701");
    assert_int_equal (config->trust_count, 2);
    assert_int_equal (config->trust [0].role, FED_ROLE_ADMIN);
    assert_string_equal (config->trust [0].name, "ops team");
    assert_memory_equal (config->trust [1].key, keys.b, 32);
    assert_int_equal (config->trust [1].role, FED_ROLE_VIEWER);
    assert_null (config->trust [1].name);
    assert_int_equal (config->limits.event_body, 512 * 1024);
    assert_int_equal (config->limits.wire_message, 8000000);
    assert_int_equal (config->limits.pending_events, 123);
    assert_int_equal (config->gossip.fanout, 5);
    assert_int_equal (config->gossip.interval_ms, 250);
    assert_int_equal (config->gossip.probe_timeout_ms, 1500);
    assert_int_equal (config->gossip.suspicion_timeout_ms, 120000);

    char *first = fed_config_to_yaml (config);
    fed_config_t *again = fed_config_new ();
    rc = fed_config_load_string (again, first, strlen (first), "first", &err);
    if (rc)
        print_error ("%s\n%s\n", err.text, first);
    assert_int_equal (rc, 0);
    char *second = fed_config_to_yaml (again);
    assert_string_equal (first, second);
    assert_true (again->node.lat == config->node.lat && again->node.lon == config->node.lon);
    assert_string_equal (again->node.name, config->node.name);
    free (yaml);
    free (first);
    free (second);
    fed_config_destroy (&again);
    fed_config_destroy (&config);
}

static void
test_unknown_keys (void **state)
{
    EXPECT_ERROR ("gossip:\n  intreval: 2s\n", "t.yaml:2:3: ",
                  "key 'gossip.intreval' is unknown; did you mean 'gossip.interval'?");
    EXPECT_ERROR ("lsten:\n  peer: tcp://*:1\n", "t.yaml:1:1: ", "did you mean 'listen'?");
    EXPECT_ERROR ("log_level: info\nbogus_thing_here: 1\n", "t.yaml:2:1: ",
                  "key 'bogus_thing_here' is unknown; valid keys are: data_dir, durability");
    EXPECT_ERROR ("gossip: {zzzzzzzz: 1}\n", "t.yaml:1:10: ", "valid keys in gossip are: fanout");
    EXPECT_ERROR ("trust:\n  - {rol: admin, key: x}\n",
                  "t.yaml:2:6: ", "key 'trust[0].rol' is unknown; did you mean 'role'?");
}

static void
test_wrong_types (void **state)
{
    EXPECT_ERROR ("node: [1, 2]\n", "t.yaml:1:7: ", "key 'node': expected a mapping");
    EXPECT_ERROR ("- a\n- b\n", "t.yaml:1:1: ", "expected a mapping of config keys");
    EXPECT_ERROR ("seeds: {a: 1}\n",
                  "t.yaml:1:8: ", "key 'seeds': expected a list of PUBKEY@tcp://host:port");
    EXPECT_ERROR ("seeds: tcp://x:1\n",
                  "t.yaml:1:8: ", "expected a list of PUBKEY@tcp://host:port");
    EXPECT_ERROR ("trust: [admin]\n", "t.yaml:1:9: ", "key 'trust[0]': expected a mapping");
    EXPECT_ERROR ("node:\n  labels: [a]\n",
                  "t.yaml:2:11: ", "key 'node.labels': expected a mapping");
    EXPECT_ERROR ("data_dir: {a: b}\n", "t.yaml:1:11: ", "key 'data_dir': expected a path");
    EXPECT_ERROR ("data_dir: \"\"\n", "t.yaml:1:11: ", "expected a path");
    EXPECT_ERROR ("durability: fast\n", "t.yaml:1:13: ", "expected one of sync, wal, got 'fast'");
    EXPECT_ERROR ("gossip: {push: yes}\n",
                  "t.yaml:1:16: ", "key 'gossip.push': expected one of true, false, got 'yes'");
    EXPECT_ERROR ("log_level: loud\n", "t.yaml:1:12: ", "expected one of error, warn, info, debug");
    EXPECT_ERROR ("? [a]\n: b\n", "t.yaml:1:3: ", "expected a text key");
    EXPECT_ERROR ("agents: {data_roots: /srv}\n", "t.yaml:1:22: ",
                  "key 'agents.data_roots': expected a list of absolute directories");
    EXPECT_ERROR ("agents: {data_roots: [srv/data]}\n", "t.yaml:1:23: ",
                  "key 'agents.data_roots': bad directory: it is not an absolute path");
    EXPECT_ERROR ("agents: {data_roots: [[a]]}\n", "t.yaml:1:23: ", "it is not a single value");
    EXPECT_ERROR ("agents: {data_memory: 1KiB}\n", "t.yaml:1:23: ", "agents.data_memory");
}

//  agents.data_roots and data_memory: from a file, from flags, and printed.
static void
test_data_agents (void **state)
{
    (void) state;
    fed_config_t *config = fed_config_new ();
    assert_int_equal (config->agents.data_memory, 256u << 20);
    assert_int_equal (config->agents.data_root_count, 0);
    fed_err_t err;
    assert_int_equal (fed_config_add_data_root (config, "/srv/data", &err), 0);
    assert_int_equal (fed_config_add_data_root (config, "data", &err), -1);
    assert_string_equal (err.text,
                         "bad data root 'data': it is not an absolute path (key "
                         "agents.data_roots)");
    assert_int_equal (config->agents.data_root_count, 1);
    assert_string_equal (config->agents.data_roots [0], "/srv/data");
    assert_int_equal (fed_config_set (config, "agents.data_memory", "64MiB", &err), 0);
    assert_int_equal (config->agents.data_memory, 64u << 20);
    fed_config_destroy (&config);
}

static void
test_bad_values (void **state)
{
    EXPECT_ERROR ("gossip:\n  interval: soon\n", "t.yaml:2:13: ",
                  "key 'gossip.interval': expected a duration like 500ms, 5s, 2m, got 'soon'");
    EXPECT_ERROR ("gossip:\n  probe_timeout: 0ms\n", "t.yaml:2:18: ", "out of range");
    EXPECT_ERROR ("limits:\n  event_body: big\n", "t.yaml:2:15: ",
                  "key 'limits.event_body': expected a size like 512KiB, 1MiB, 4MB");
    EXPECT_ERROR ("limits:\n  yaml_file: 1TiB\n", "t.yaml:2:14: ", "expected a size");
    EXPECT_ERROR ("limits:\n  event_body: 4GiB\n",
                  "t.yaml:2:15: ", "4GiB is out of range; expected a size from 1KiB to 1GiB");
    EXPECT_ERROR ("gossip:\n  fanout: 65\n", "t.yaml:2:11: ",
                  "key 'gossip.fanout': 65 is out of range; expected an integer from 1 to 64");
    EXPECT_ERROR ("gossip:\n  fanout: -1\n", "t.yaml:2:11: ", "expected an integer from 1 to 64");
    EXPECT_ERROR ("limits: {workflow_steps: 0}\n", "t.yaml:1:26: ", "out of range");
    EXPECT_ERROR ("node:\n  lat: 91\n  lon: 0\n", "t.yaml:2:8: ",
                  "key 'node.lat': 91 is out of range; expected a number from -90 to 90");
    EXPECT_ERROR ("node:\n  lat: 10\n  lon: east\n", "t.yaml:3:8: ", "expected a number");
    EXPECT_ERROR ("node:\n  lat: nan\n  lon: 1\n", "t.yaml:2:8: ", "expected a number");
    EXPECT_ERROR ("node:\n  name: 0123456789012345678901234567890123456789"
                  "0123456789012345678901234\n",
                  "t.yaml:2:9: ", "expected at most 64 bytes");
    EXPECT_ERROR ("node:\n  labels:\n    \"bad key\": x\n",
                  "t.yaml:3:5: ", "label 'bad key' must be letters, digits");
}

static void
test_bad_endpoints (void **state)
{
    EXPECT_ERROR ("listen:\n  peer: tcp://*:99999\n", "t.yaml:2:9: ",
                  "bad endpoint 'tcp://*:99999': the port must be a number from 1 to 65535");
    EXPECT_ERROR ("listen:\n  peer: tcp://*:0\n", "t.yaml:2:9: ", "the port must be");
    EXPECT_ERROR ("listen:\n  control: udp://*:1\n", "t.yaml:2:12: ",
                  "neither tcp:// nor ipc://; expected tcp://HOST:PORT or ipc://PATH");
    //  Peers connect to what a node announces: the peer endpoint is tcp only.
    EXPECT_ERROR ("listen:\n  peer: ipc:///tmp/p.sock\n",
                  "t.yaml:2:9: ", "only tcp:// is accepted here; expected tcp://HOST:PORT");
    EXPECT_ERROR ("listen:\n  control: tcp://127.0.0.1\n", "t.yaml:2:12: ", "the :PORT is missing");
    EXPECT_ERROR ("listen:\n  control: tcp://300.1.1.1:5\n", "t.yaml:2:12: ", "not a valid IPv4");
    EXPECT_ERROR ("listen:\n  control: tcp://[::g]:5\n", "t.yaml:2:12: ", "not a valid IPv6");
    EXPECT_ERROR ("listen:\n  control: tcp://-bad-.host:5\n",
                  "t.yaml:2:12: ", "not a valid hostname");
    EXPECT_ERROR ("listen:\n  control: ipc://\n", "t.yaml:2:12: ", "the ipc path is empty");
    EXPECT_ERROR ("listen:\n  peer: \"\"\n", "t.yaml:2:9: ", "it is empty");
    EXPECT_ERROR ("listen:\n  advertise: tcp://*:7701\n",
                  "t.yaml:2:14: ", "* is not an address peers can reach; expected tcp://HOST:PORT");
    EXPECT_ERROR ("listen:\n  advertise: ipc:///x\n", "t.yaml:2:14: ", "only tcp://");
}

static void
test_bad_seeds_and_trust (void **state)
{
    keys_t keys;
    s_keys (&keys);
    char *yaml = fed_sprintf ("seeds:\n  - \"%s@tcp://*:7701\"\n", keys.a_z85);
    EXPECT_ERROR (yaml, "t.yaml:2:5: ", "key 'seeds': bad seed: * is not an address peers");
    free (yaml);
    EXPECT_ERROR ("seeds:\n  - nokey@tcp://a:1\n",
                  "t.yaml:2:5: ", "expected PUBKEY@tcp://host:port");
    EXPECT_ERROR ("trust:\n  - {role: peer}\n", "t.yaml:2:5: ", "'key' is missing");
    EXPECT_ERROR ("trust:\n  - {key: abc, role: peer}\n",
                  "t.yaml:2:11: ", "key 'trust[0].key': expected a public key of 40 Z85 or 64 hex");
    yaml = fed_sprintf ("trust:\n  - {key: \"%s\", role: boss}\n", keys.a_z85);
    EXPECT_ERROR (yaml, "t.yaml:2:61: ", "expected one of peer, admin, operator");
    free (yaml);
    yaml = fed_sprintf ("trust:\n  - {key: \"%s\", role: peer}\n  - {key: %s, role: admin}\n",
                        keys.a_z85, keys.a_hex);
    EXPECT_ERROR (yaml, "t.yaml:3:5: ", "already listed at line 2");
    free (yaml);
}

static void
test_structure_errors (void **state)
{
    EXPECT_ERROR ("gossip:\n  fanout: 3\n  interval: 1s\n  fanout: 4\n",
                  "t.yaml:4:3: ", "duplicate key 'gossip.fanout' (first at line 2, column 3)");
    EXPECT_ERROR ("node:\n  labels: {a: 1, b: 2, a: 3}\n",
                  "t.yaml:2:24: ", "duplicate key 'node.labels.a' (first at line 2, column 12)");
    EXPECT_ERROR ("node:\n  lat: 45.5\n",
                  "t.yaml:2:8: ", "key 'node.lat' is set without 'node.lon'");
    EXPECT_ERROR ("node: {lon: 5, lat: ~}\n", "t.yaml:1:13: ", "'node.lon' is set without");
    EXPECT_ERROR ("gossip:\n  fanout: [1, 2\n", "t.yaml:3:1: ",
                  "YAML syntax error: did not find "
                  "expected ',' or ']'");
    EXPECT_ERROR ("a: b\n c: d\n", "t.yaml:2:3: ",
                  "YAML syntax error: mapping values are not "
                  "allowed");
    EXPECT_ERROR ("log_level: info\n---\nlog_level: warn\n", "t.yaml:2:1: ",
                  "a second YAML "
                  "document");
    EXPECT_ERROR ("data_dir: \"a\xff\"\n", "t.yaml:1:13: ", "YAML syntax error: invalid");
    EXPECT_ERROR ("node: &n\n  name: x\n", "t.yaml:1:7: ", "anchor '&n' refused");
    EXPECT_ERROR ("data_dir: !!str x\n", "t.yaml:1:11: ", "tag 'tag:yaml.org,2002:str' refused");
    EXPECT_ERROR ("data_dir: \"a\\0b\"\n", "t.yaml:1:11: ", "NUL");
}

static void
test_hostile_documents (void **state)
{
    //  Billion laughs: refused at the first anchor, nothing expanded.
    const char *laughs = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                         "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                         "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                         "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                         "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                         "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                         "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                         "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                         "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    int64_t start = fed_mono_ms ();
    EXPECT_ERROR (laughs, "t.yaml:1:4: ", "anchors, aliases and tags are not allowed");
    EXPECT_ERROR ("data_dir: *x\n", "t.yaml:1:11: ", "alias '*x' refused");

    //  100,000 levels deep: refused at level 17.
    size_t depth = 100000;
    char *deep = (char *) fed_malloc (2 * depth + 2);
    memset (deep, '[', depth);
    memset (deep + depth, ']', depth);
    deep [2 * depth] = '\n';
    deep [2 * depth + 1] = 0;
    s_expect_error (deep, 2 * depth + 1, "t.yaml:1:17: ", "nesting deeper than 16 levels");
    memset (deep, ' ', depth);
    for (size_t i = 0; i < 1000; i++)
        memcpy (deep + i * 4, "{a: ", 4);
    s_expect_error (deep, 4000, "t.yaml:1:65: ", "nesting deeper than 16 levels");
    free (deep);
    assert_true (fed_mono_ms () - start < 2000);

    //  One byte over the file limit, named with its key.
    size_t size = 1048577;
    char *big = (char *) fed_malloc (size);
    memset (big, '#', size);
    s_expect_error (
        big, size, "t.yaml: ", "the file is 1048577 bytes, over the 1MiB limit (limits.yaml_file)");
    free (big);
}

static void
test_empty_documents (void **state)
{
    const char *empties [] = {"", "# only a comment\n\n   # another\n", "---\n", "~\n", "---\n..."};
    fed_config_t *config = fed_config_new ();
    char *defaults = fed_config_to_yaml (config);
    for (size_t i = 0; i < sizeof empties / sizeof empties [0]; i++) {
        fed_err_t err = {0, ""};
        assert_int_equal (
            fed_config_load_string (config, empties [i], strlen (empties [i]), "e.yaml", &err), 0);
        char *now = fed_config_to_yaml (config);
        assert_string_equal (defaults, now);
        free (now);
    }
    //  A section left empty is fine too.
    fed_err_t err;
    assert_int_equal (fed_config_load_string (config, "node:\ngossip:\n", 14, "e.yaml", &err), 0);
    free (defaults);
    fed_config_destroy (&config);
}

//  Writes text to a fresh temp file; returns its path (caller frees and unlinks).
static char *
s_temp_file (const char *text)
{
    char *path = fed_strdup ("/tmp/test_config_XXXXXX");
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    return path;
}

static void
test_load_file (void **state)
{
    fed_config_t *config = fed_config_new ();
    fed_err_t err = {0, ""};
    char *path = s_temp_file ("gossip:\n  fanout: 7\nnode:\n  region: us-east\n");
    assert_int_equal (fed_config_load_file (config, path, &err), 0);
    assert_int_equal (config->gossip.fanout, 7);
    assert_string_equal (config->node.region, "us-east");
    //  A second file overrides only what it names.
    char *second = s_temp_file ("gossip:\n  interval: 3s\n  intreval: 4s\n");
    assert_int_equal (fed_config_load_file (config, second, &err), -1);
    char *prefix = fed_sprintf ("%s:3:3: key 'gossip.intreval' is unknown; did you mean "
                                "'gossip.interval'?",
                                second);
    assert_string_equal (err.text, prefix);
    assert_int_equal (config->gossip.interval_ms, 1000);
    assert_int_equal (config->gossip.fanout, 7);
    unlink (path);
    unlink (second);
    assert_int_equal (fed_config_load_file (config, path, &err), -1);
    char *missing =
        fed_sprintf ("%s: cannot open the config file: No such file or directory", path);
    assert_string_equal (err.text, missing);

    //  The limit is the one in force before the file is read.
    assert_int_equal (fed_config_set (config, "limits.yaml_file", "1KiB", &err), 0);
    char text [1100];
    memset (text, '#', sizeof text - 1);
    text [sizeof text - 1] = 0;
    free (path);
    path = s_temp_file (text);
    assert_int_equal (fed_config_load_file (config, path, &err), -1);
    free (missing);
    missing = fed_sprintf ("%s: the file is over the 1KiB limit (limits.yaml_file)", path);
    assert_string_equal (err.text, missing);
    unlink (path);
    free (path);
    free (second);
    free (prefix);
    free (missing);
    fed_config_destroy (&config);
}

static void
test_unchanged_on_error (void **state)
{
    keys_t keys;
    s_keys (&keys);
    fed_config_t *config = fed_config_new ();
    fed_err_t err;
    char *yaml = fed_sprintf ("node: {name: a, labels: {x: y}}\nseeds: [\"%s@tcp://s:1\"]\n"
                              "trust: [{key: \"%s\", role: peer}]\n",
                              keys.a_z85, keys.b_z85);
    assert_int_equal (fed_config_load_string (config, yaml, strlen (yaml), "one", &err), 0);
    free (yaml);
    char *before = fed_config_to_yaml (config);
    //  Valid keys first, lists and labels replaced, then one bad value last.
    yaml = fed_sprintf ("data_dir: /elsewhere\nnode: {name: b, labels: {z: w}, lat: 1, lon: 2}\n"
                        "seeds: []\ntrust: [{key: \"%s\", role: admin}]\n"
                        "gossip: {fanout: 9, interval: never}\n",
                        keys.a_z85);
    assert_int_equal (fed_config_load_string (config, yaml, strlen (yaml), "two", &err), -1);
    assert_string_equal (err.text,
                         "two:5:31: key 'gossip.interval': expected a duration like "
                         "500ms, 5s, 2m, got 'never'");
    char *after = fed_config_to_yaml (config);
    assert_string_equal (before, after);
    assert_string_equal (config->data_dir, "./fednode-data");
    assert_string_equal (config->node.labels [0].key, "x");
    assert_int_equal (config->seed_count, 1);
    assert_int_equal (config->trust [0].role, FED_ROLE_PEER);
    assert_int_equal (config->gossip.fanout, 3);
    assert_false (config->node.has_latlon);
    //  Same for set and add_seed.
    assert_int_equal (fed_config_set (config, "gossip.fanout", "0", &err), -1);
    assert_int_equal (fed_config_add_seed (config, "junk", &err), -1);
    free (after);
    after = fed_config_to_yaml (config);
    assert_string_equal (before, after);
    free (yaml);
    free (before);
    free (after);
    fed_config_destroy (&config);
}

static void
test_set (void **state)
{
    static const struct {
        const char *key, *value;
        const char *error; //  NULL when the value is good; else a phrase
    } cases [] = {
        {"data_dir", "/srv/fed", NULL},
        {"data_dir", "", "key 'data_dir': expected a path"},
        {"durability", "wal", NULL},
        {"durability", "maybe", "key 'durability': expected one of sync, wal, got 'maybe'"},
        {"log_level", "warn", NULL},
        {"log_level", "WARN", "expected one of error, warn, info, debug"},
        {"node.name", "gateway one", NULL},
        {"node.region", "01234567890123456789012345678901234567890123456789012345678901234",
         "key 'node.region': expected at most 64 bytes of text, got 65"},
        {"node.zone", "\xc3\x28", "key 'node.zone': expected UTF-8 text"},
        {"node.lat", "-33.8688", NULL},
        {"node.lat", "-90.5", "key 'node.lat': -90.5 is out of range"},
        {"node.lon", "151.2093", NULL},
        {"node.lon", "0x10", "key 'node.lon': expected a number from -180 to 180"},
        {"listen.peer", "tcp://eth0:7701", NULL},
        {"listen.peer", "tcp://*:", "key 'listen.peer': bad endpoint 'tcp://*:': the :PORT is"},
        {"listen.agents", "", NULL},
        {"listen.agents", "ipc:///run/fed/agents.sock", NULL},
        {"listen.advertise", "tcp://192.0.2.1:7701", NULL},
        {"listen.advertise", "tcp://*:7701", "not an address peers can reach"},
        {"limits.wire_message", "16MiB", NULL},
        {"limits.wire_message", "16 MiB", "key 'limits.wire_message': expected a size like"},
        {"limits.pending_events", "20000", NULL},
        {"limits.pending_events", "2e4", "expected an integer from 1 to 10000000, got '2e4'"},
        {"gossip.fanout", "64", NULL},
        {"gossip.fanout", "65", "key 'gossip.fanout': 65 is out of range"},
        {"gossip.suspicion_timeout", "30s", NULL},
        {"gossip.suspicion_timeout", "5 s",
         "key 'gossip.suspicion_timeout': expected a duration "
         "like 500ms, 5s, 2m"},
        {"gossip.suspicion_timeout", "2d", "out of range; expected a duration from 10ms to 1d"},
        {"gossip.intreval", "1s",
         "key 'gossip.intreval' is unknown; did you mean "
         "'gossip.interval'?"},
        {"gossip", "1s", "key 'gossip' is a section"},
        {"seeds", "x", "key 'seeds' is a list or mapping"},
        {"node.labels", "x", "key 'node.labels' is a list or mapping"},
    };
    fed_config_t *config = fed_config_new ();
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        fed_err_t err = {0, ""};
        int rc = fed_config_set (config, cases [i].key, cases [i].value, &err);
        if ((rc == 0) != (cases [i].error == NULL)
            || (cases [i].error && !strstr (err.text, cases [i].error)))
            print_error ("set %s=%s: expected %s, got rc %d '%s'\n", cases [i].key, cases [i].value,
                         cases [i].error ? cases [i].error : "success", rc, err.text);
        assert_int_equal (rc, cases [i].error ? -1 : 0);
        if (cases [i].error)
            assert_non_null (strstr (err.text, cases [i].error));
    }
    assert_string_equal (config->data_dir, "/srv/fed");
    assert_false (config->durability_sync);
    assert_int_equal (config->log_level, FED_LOG_WARN);
    assert_true (config->node.has_latlon);
    assert_true (config->node.lat == -33.8688 && config->node.lon == 151.2093);
    assert_string_equal (config->listen.agents, "ipc:///run/fed/agents.sock");
    assert_int_equal (config->limits.wire_message, 16 * 1048576);
    assert_int_equal (config->gossip.fanout, 64);
    assert_int_equal (config->gossip.suspicion_timeout_ms, 30000);

    //  One coordinate alone is held until its partner comes; check() names it.
    fed_err_t err;
    assert_int_equal (fed_config_check (config, &err), 0);
    assert_int_equal (fed_config_set (config, "node.lon", "~", &err), 0);
    assert_false (config->node.has_latlon);
    assert_int_equal (fed_config_check (config, &err), -1);
    assert_string_equal (err.text,
                         "key 'node.lat' is set without 'node.lon'; lat and lon come "
                         "together");
    assert_int_equal (fed_config_set (config, "node.lat", "~", &err), 0);
    assert_int_equal (fed_config_check (config, &err), 0);
    //  A probe timeout as long as the probe interval leaves no room for
    //  indirect probes.
    assert_int_equal (fed_config_set (config, "gossip.probe_interval", "1s", &err), 0);
    assert_int_equal (fed_config_set (config, "gossip.probe_timeout", "1s", &err), 0);
    assert_int_equal (fed_config_check (config, &err), -1);
    assert_contains (err.text, "gossip.probe_timeout (1000 ms) must be shorter than");
    assert_int_equal (fed_config_set (config, "gossip.probe_timeout", "400ms", &err), 0);
    assert_int_equal (fed_config_check (config, &err), 0);
    fed_config_destroy (&config);
}

static void
test_add_seed (void **state)
{
    keys_t keys;
    s_keys (&keys);
    fed_config_t *config = fed_config_new ();
    fed_err_t err = {0, ""};
    char *seed = fed_sprintf ("%s@tcp://10.1.2.3:7701", keys.a_z85);
    assert_int_equal (fed_config_add_seed (config, seed, &err), 0);
    free (seed);
    seed = fed_sprintf ("%s@tcp://[2001:db8::1]:7701", keys.a_hex);
    assert_int_equal (fed_config_add_seed (config, seed, &err), 0);
    free (seed);
    assert_int_equal (config->seed_count, 2);
    assert_memory_equal (config->seeds [1].key, keys.a, 32);
    assert_string_equal (config->seeds [1].endpoint, "tcp://[2001:db8::1]:7701");

    static const struct {
        const char *suffix, *phrase;
    } bad [] = {{"@ipc:///x", "only tcp://"},
                {"@tcp://*:1", "* is not an address"},
                {"@tcp://host", "the :PORT is missing"},
                {"tcp://host:1", "does not start with a 40-char Z85"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        seed = fed_sprintf ("%s%s", i == 3 ? "" : keys.b_z85, bad [i].suffix);
        assert_int_equal (fed_config_add_seed (config, seed, &err), -1);
        assert_non_null (strstr (err.text, bad [i].phrase));
        assert_non_null (strstr (err.text, "expected PUBKEY@tcp://host:port"));
        free (seed);
    }
    //  A 40-char key outside the Z85 alphabet.
    assert_int_equal (fed_config_add_seed (config,
                                           "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~@tcp:"
                                           "//a:1",
                                           &err),
                      -1);
    assert_non_null (strstr (err.text, "the key is not valid Z85 or hex"));
    assert_int_equal (config->seed_count, 2);
    fed_config_destroy (&config);
}

static void
test_roles (void **state)
{
    static const char *names [] = {"peer", "admin", "operator", "approver", "viewer"};
    for (int i = 0; i < 5; i++) {
        fed_role_t role;
        assert_string_equal (fed_role_name ((fed_role_t) i), names [i]);
        assert_int_equal (fed_role_parse (names [i], &role), 0);
        assert_int_equal (role, i);
    }
    fed_role_t role = FED_ROLE_VIEWER;
    assert_int_equal (fed_role_parse ("root", &role), -1);
    assert_int_equal (fed_role_parse ("Admin", &role), -1);
    assert_int_equal (role, FED_ROLE_VIEWER);
    assert_string_equal (fed_role_name ((fed_role_t) 42), "unknown");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_defaults),
        cmocka_unit_test (test_full_round_trip),
        cmocka_unit_test (test_unknown_keys),
        cmocka_unit_test (test_wrong_types),
        cmocka_unit_test (test_bad_values),
        cmocka_unit_test (test_bad_endpoints),
        cmocka_unit_test (test_bad_seeds_and_trust),
        cmocka_unit_test (test_data_agents),
        cmocka_unit_test (test_structure_errors),
        cmocka_unit_test (test_hostile_documents),
        cmocka_unit_test (test_empty_documents),
        cmocka_unit_test (test_load_file),
        cmocka_unit_test (test_unchanged_on_error),
        cmocka_unit_test (test_set),
        cmocka_unit_test (test_add_seed),
        cmocka_unit_test (test_roles),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
