/*  tests/unit/test_embed.c: a program's own agents in an embedded node
    (fed_node_register_agent). Refused, each with an error naming the agent
    and the rule: a bad name or version, no function, a negative timeout, a
    bad capability, a name registered twice, any name in the node's sys.*
    namespace, and every registration once fed_node_start was called. A
    refusal adds nothing. Accepted agents are copied (the caller's strings
    may change afterwards) and reach the node's registry as built-ins when
    it starts. The node leaves SIGINT to the program's own handler (czmq's
    is turned off). Each test has its own data dir, removed afterwards; a node's
    control endpoint is an ipc socket inside it.
*/
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include "log.h"
#include "node.h"
#include "registry.h"

static int
s_noop_run (fed_task_t *task)
{
    return 0;
}

typedef struct {
    char *dir;            //  temp dir, removed at teardown
    fed_config_t *config; //  data dir and control endpoint inside dir
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *self = (fixture_t *) calloc (1, sizeof (fixture_t));
    char template [] = "/tmp/fed-test-embed.XXXXXX";
    self->dir = strdup (mkdtemp (template));
    self->config = fed_config_new ();
    char *data_dir = fed_sprintf ("%s/data", self->dir);
    //  The peer endpoint takes tcp only: a port below the ephemeral range,
    //  from the pid as the integration tests do.
    char *peer = fed_sprintf ("tcp://127.0.0.1:%d", 20000 + ((int) getpid () % 1000) * 10 + 7);
    char *control = fed_sprintf ("ipc://%s/control.sock", self->dir);
    fed_err_t err = {0, ""};
    assert_int_equal (fed_config_set (self->config, "data_dir", data_dir, &err), 0);
    assert_int_equal (fed_config_set (self->config, "listen.peer", peer, &err), 0);
    assert_int_equal (fed_config_set (self->config, "listen.control", control, &err), 0);
    assert_int_equal (fed_config_set (self->config, "durability", "wal", &err), 0);
    assert_int_equal (fed_config_set (self->config, "agents.workers", "2", &err), 0);
    free (data_dir);
    free (peer);
    free (control);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_config_destroy (&self->config);
    fed_test_rmtree (self->dir);
    free (self->dir);
    free (self);
    return 0;
}

static fed_node_t *
s_node (fixture_t *self)
{
    fed_err_t err = {0, ""};
    fed_node_t *node = fed_node_new (self->config, &err);
    if (!node)
        print_error ("fed_node_new: %s\n", err.text);
    assert_non_null (node);
    return node;
}

//  Registers agent, expecting a refusal whose text holds both needles.
static void
s_refused (fed_node_t *node, const fed_agent_t *agent, const char *needle, const char *rule)
{
    fed_err_t err = {0, ""};
    assert_int_equal (fed_node_register_agent (node, agent, &err), -1);
    assert_contains (err.text, needle);
    assert_contains (err.text, rule);
}

//  Whether node's registry (the node not running) lists name as a built-in
//  of that node.
static bool
s_registered (fed_node_t *node, const char *name)
{
    fed_evlog_t *log = fed_node_log (node);
    assert_non_null (log);
    fed_agent_record_t record;
    fed_err_t err = {0, ""};
    int found = fed_registry_find (log, fed_identity_public (fed_node_identity (node)), name,
                                   &record, &err);
    assert_true (found >= 0);
    return found == 1 && record.kind == FED_AGENT_BUILTIN;
}

static void
test_bad_records (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_node_t *node = s_node (self);
    fed_agent_t agent = {.name = "Gateway.Sensor", .version = "1.0.0", .fn = s_noop_run};
    s_refused (node, &agent, "\"Gateway.Sensor\"", "is not valid: use 1 to 64 chars of a-z");
    agent.name = "";
    s_refused (node, &agent, "\"\"", "is not valid");
    agent.name = NULL;
    s_refused (node, &agent, "(null)", "is not valid");
    agent.name = "gateway.sensor";
    agent.version = "1 0";
    s_refused (node, &agent, "gateway.sensor", "version \"1 0\" is not valid");
    agent.version = NULL;
    s_refused (node, &agent, "gateway.sensor", "version \"(null)\" is not valid");
    agent.version = "1.0.0";
    agent.fn = NULL;
    s_refused (node, &agent, "gateway.sensor", "no function to run");
    agent.fn = s_noop_run;
    agent.timeout_ms = -1;
    s_refused (node, &agent, "gateway.sensor", "timeout -1 ms is negative");
    agent.timeout_ms = 0;
    const char *const caps [] = {"telemetry", "Bad Cap", NULL};
    agent.capabilities = caps;
    s_refused (node, &agent, "gateway.sensor", "capability \"Bad Cap\" is not a valid name");
    fed_node_destroy (&node);
    assert_null (node);
}

static void
test_duplicates_and_sys (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_node_t *node = s_node (self);
    fed_agent_t agent = {.name = "gateway.sensor", .version = "1.0.0", .fn = s_noop_run};
    fed_err_t err = {0, ""};
    assert_int_equal (fed_node_register_agent (node, &agent, &err), 0);
    agent.version = "2.0.0"; //  one version per name, whatever the version
    s_refused (node, &agent, "gateway.sensor", "already registered (one version per name)");
    //  The node's own agents, and the rest of their namespace.
    agent.name = "sys.echo";
    s_refused (node, &agent, "agent sys.echo", "belong to the node's own built-in agents");
    agent.name = "sys.gateway";
    s_refused (node, &agent, "agent sys.gateway", "names starting with \"sys.\"");
    //  Not the namespace: only the "sys." prefix is taken.
    agent.name = "sysadmin.probe";
    assert_int_equal (fed_node_register_agent (node, &agent, &err), 0);
    fed_node_destroy (&node);
}

static void
test_after_start (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    fed_node_t *node = s_node (self);
    //  The record is copied: the caller's strings may change on return.
    char name [32] = "gateway.sensor";
    char capability [32] = "telemetry";
    const char *caps [] = {capability, NULL};
    fed_agent_t agent = {.name = name, .version = "1.0.0", .capabilities = caps, .fn = s_noop_run};
    fed_err_t err = {0, ""};
    assert_int_equal (fed_node_register_agent (node, &agent, &err), 0);
    snprintf (name, sizeof name, "gateway.renamed");
    snprintf (capability, sizeof capability, "Not Valid");
    assert_int_equal (
        fed_node_register_agent (
            node, &(fed_agent_t){.name = "gateway.actuate", .version = "1", .fn = s_noop_run},
            &err),
        0);
    int rc = fed_node_start (node, &err);
    if (rc)
        print_error ("fed_node_start: %s\n", err.text);
    assert_int_equal (rc, 0);
    assert_null (fed_node_failure (node));
    agent.name = "gateway.late";
    agent.capabilities = NULL;
    s_refused (node, &agent, "agent gateway.late", "registered before fed_node_start");
    //  Even a refusal for another reason says the node has started.
    agent.name = "sys.late";
    s_refused (node, &agent, "agent sys.late", "registered before fed_node_start");
    fed_node_destroy (&node);

    //  Reopened, not started: its registry holds what it registered.
    node = s_node (self);
    assert_true (s_registered (node, "gateway.sensor"));
    assert_true (s_registered (node, "gateway.actuate"));
    assert_true (s_registered (node, "sys.echo"));
    assert_false (s_registered (node, "gateway.renamed"));
    assert_false (s_registered (node, "gateway.late"));
    fed_agent_record_t record;
    assert_int_equal (fed_registry_find (fed_node_log (node),
                                         fed_identity_public (fed_node_identity (node)),
                                         "gateway.sensor", &record, &err),
                      1);
    assert_int_equal (record.capability_count, 1);
    assert_string_equal (record.capabilities [0], "telemetry");
    fed_node_destroy (&node);
}

static void
test_failed_start (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    //  A control endpoint that cannot be bound makes the start fail.
    fed_err_t err = {0, ""};
    char *control = fed_sprintf ("ipc://%s/no/such/dir/control.sock", self->dir);
    assert_int_equal (fed_config_set (self->config, "listen.control", control, &err), 0);
    free (control);
    fed_node_t *node = s_node (self);
    assert_int_equal (fed_node_start (node, &err), -1);
    fed_agent_t agent = {.name = "gateway.sensor", .version = "1.0.0", .fn = s_noop_run};
    s_refused (node, &agent, "agent gateway.sensor", "registered before fed_node_start");
    fed_node_destroy (&node);
}

static volatile sig_atomic_t s_interrupts; //  SIGINTs the test's handler took

static void
s_on_interrupt (int signal_number)
{
    s_interrupts++;
}

//  The signals stay the program's: czmq's own handler would have replaced
//  this one and stopped the node's loop.
static void
test_signals_stay_the_programs (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    struct sigaction action, before;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_interrupt;
    sigemptyset (&action.sa_mask);
    assert_int_equal (sigaction (SIGINT, &action, &before), 0);
    fed_node_t *node = s_node (self);
    fed_err_t err = {0, ""};
    assert_int_equal (fed_node_start (node, &err), 0);
    s_interrupts = 0;
    raise (SIGINT);
    if (s_interrupts != 1)
        print_error ("expected the program's SIGINT handler to run once, it ran %d times\n",
                     (int) s_interrupts);
    assert_int_equal (s_interrupts, 1);
    uint64_t seq = 0;
    int rc = fed_node_append (node, "user.after-sigint", NULL, 0, &seq, &err);
    if (rc)
        print_error ("the node's loop stopped at SIGINT: %s\n", err.text);
    assert_int_equal (rc, 0);
    assert_true (seq > 0);
    fed_node_destroy (&node);
    assert_int_equal (sigaction (SIGINT, &before, NULL), 0);
}

int
main (void)
{
    fed_log_set_level (FED_LOG_ERROR);
    const struct CMUnitTest tests [] = {
        //  First: czmq installs its handlers once per process, at its first
        //  socket, so only a test that comes before any node can see them.
        cmocka_unit_test_setup_teardown (test_signals_stay_the_programs, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_records, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_duplicates_and_sys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_after_start, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_failed_start, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
