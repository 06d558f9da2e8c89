/*  doc/examples/gateway.c: a field gateway that embeds a fednode.

        gateway -d DATA_DIR [--peer-bind EP] [--control-bind EP] [--seed KEY@EP]
                [--join-token TOKEN] [--name NAME] [--site SITE]

    The program links libfednode, starts a node in-process and adds two
    agents of its own beside the node's sys.* agents, so any node of the
    cluster lists them and an operator runs them with `fedctl agents run`:

      gateway.sensor   {sensor: "boiler"|"cabinet"} -> {sensor, celsius,
                       read_at_ms}; the simulated boiler warms as the valve
                       opens (20 + 0.5 * valve), the cabinet cools as the
                       fan speeds up (45 - 0.25 * fan). Another sensor
                       fails "no_sensor".
      gateway.actuate  {actuator: "valve"|"fan", position: 0..100} ->
                       {actuator, position, previous}; fails "bad_params"
                       for a missing or mistyped param, "no_actuator" for
                       an unknown actuator, "out_of_range" for a position
                       outside 0..100.

    Both share the gateway's plant (the record's arg), so they guard it
    with a mutex: the node runs agents on its worker threads, several at
    once. It stops on SIGINT or SIGTERM (exit 0), or when the node cannot
    go on (exit 1). Only installed headers are used; out of tree:

        cc gateway.c $(pkg-config --cflags --libs libfednode) -lpthread
*/
#define _POSIX_C_SOURCE 200809L //  sigtimedwait, pthread_sigmask
#include <node.h>

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  The simulated plant behind the gateway: two actuators, 0..100 %.
typedef struct {
    pthread_mutex_t lock; //  guards the positions: tasks run concurrently
    int64_t valve;        //  boiler valve, % open
    int64_t fan;          //  cabinet fan, % of full speed
} plant_t;

static int
s_sensor_run (fed_task_t *task)
{
    plant_t *plant = (plant_t *) fed_task_arg (task);
    const char *sensor;
    if (fed_task_require_str (task, "sensor", &sensor))
        return -1; //  failed "bad_params", naming the param
    bool boiler = strcmp (sensor, "boiler") == 0;
    if (!boiler && strcmp (sensor, "cabinet") != 0)
        return fed_task_fail (task, "no_sensor", "no sensor \"%s\" (boiler, cabinet)", sensor);
    pthread_mutex_lock (&plant->lock);
    double celsius =
        boiler ? 20.0 + 0.5 * (double) plant->valve : 45.0 - 0.25 * (double) plant->fan;
    pthread_mutex_unlock (&plant->lock);
    fed_task_output_str (task, "sensor", sensor);
    fed_task_output_double (task, "celsius", celsius);
    fed_task_output_int (task, "read_at_ms", fed_wall_ms ());
    return 0;
}

static int
s_actuate_run (fed_task_t *task)
{
    plant_t *plant = (plant_t *) fed_task_arg (task);
    const char *actuator;
    int64_t position;
    if (fed_task_require_str (task, "actuator", &actuator)
        || fed_task_require_int (task, "position", &position))
        return -1;
    int64_t *target;
    if (strcmp (actuator, "valve") == 0)
        target = &plant->valve;
    else if (strcmp (actuator, "fan") == 0)
        target = &plant->fan;
    else
        return fed_task_fail (task, "no_actuator", "no actuator \"%s\" (valve, fan)", actuator);
    if (position < 0 || position > 100)
        return fed_task_fail (task, "out_of_range", "position %lld is outside 0..100",
                              (long long) position);
    pthread_mutex_lock (&plant->lock);
    int64_t previous = *target;
    *target = position;
    pthread_mutex_unlock (&plant->lock);
    fed_task_output_str (task, "actuator", actuator);
    fed_task_output_int (task, "position", position);
    fed_task_output_int (task, "previous", previous);
    return 0;
}

static const char *s_usage =
    "usage: gateway -d DATA_DIR [--peer-bind EP] [--control-bind EP] [--seed KEY@EP]\n"
    "               [--join-token TOKEN] [--name NAME] [--site SITE]\n";

//  The command line into config. 0, or -1 after saying what was wrong.
static int
s_parse (int argc, char **argv, fed_config_t *config)
{
    static const struct option options [] = {{"data-dir", required_argument, NULL, 'd'},
                                             {"peer-bind", required_argument, NULL, 'p'},
                                             {"control-bind", required_argument, NULL, 'c'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"join-token", required_argument, NULL, 't'},
                                             {"name", required_argument, NULL, 'n'},
                                             {"site", required_argument, NULL, 'S'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    fed_err_t err;
    int opt, rc = 0;
    while (rc == 0 && (opt = getopt_long (argc, argv, "d:h", options, NULL)) != -1) {
        switch (opt) {
            case 'd': rc = fed_config_set (config, "data_dir", optarg, &err); break;
            case 'p': rc = fed_config_set (config, "listen.peer", optarg, &err); break;
            case 'c': rc = fed_config_set (config, "listen.control", optarg, &err); break;
            case 's': rc = fed_config_add_seed (config, optarg, &err); break;
            case 't': rc = fed_config_set (config, "join_token", optarg, &err); break;
            case 'n': rc = fed_config_set (config, "node.name", optarg, &err); break;
            case 'S': rc = fed_config_set (config, "node.site", optarg, &err); break;
            case 'h': printf ("%s", s_usage); exit (0);
            default: fprintf (stderr, "%s", s_usage); return -1;
        }
    }
    if (rc == 0 && optind < argc) {
        fed_err_set (&err, -1, "unexpected argument '%s'", argv [optind]);
        rc = -1;
    }
    if (rc == 0)
        rc = fed_config_check (config, &err);
    if (rc)
        fprintf (stderr, "gateway: %s\n", err.text);
    return rc;
}

int
main (int argc, char **argv)
{
    //  Block the stop signals before the node (or RocksDB) starts a thread,
    //  so every thread inherits the mask and sigtimedwait below takes them.
    sigset_t stop;
    sigemptyset (&stop);
    sigaddset (&stop, SIGINT);
    sigaddset (&stop, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &stop, NULL);

    fed_config_t *config = fed_config_new ();
    if (s_parse (argc, argv, config)) {
        fed_config_destroy (&config);
        return 2;
    }
    fed_log_set_level (config->log_level);
    plant_t plant = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    static const char *const caps [] = {"telemetry", NULL};
    const fed_agent_t agents [] = {{.name = "gateway.sensor",
                                    .version = "1.0.0",
                                    .description = "reads a plant sensor",
                                    .capabilities = caps,
                                    .fn = s_sensor_run,
                                    .arg = &plant},
                                   {.name = "gateway.actuate",
                                    .version = "1.0.0",
                                    .description = "moves a plant actuator",
                                    .fn = s_actuate_run,
                                    .timeout_ms = 5000,
                                    .arg = &plant}};

    fed_err_t err;
    int status = 1;
    fed_node_t *node = fed_node_new (config, &err);
    if (!node)
        goto done;
    for (size_t i = 0; i < sizeof agents / sizeof agents [0]; i++)
        if (fed_node_register_agent (node, &agents [i], &err))
            goto done;
    if (fed_node_start (node, &err))
        goto done;
    //  Run until a stop signal, looking every 100 ms whether the node gave up.
    const char *failure = NULL;
    int signal_number = -1;
    while (signal_number < 0 && !(failure = fed_node_failure (node))) {
        struct timespec wait = {0, 100 * 1000 * 1000};
        signal_number = sigtimedwait (&stop, NULL, &wait);
    }
    if (failure)
        snprintf (err.text, sizeof err.text, "%s", failure);
    else
        status = 0;
done:
    if (status)
        fprintf (stderr, "gateway: %s\n", err.text);
    fed_node_destroy (&node); //  stops the agents, then the node
    fed_config_destroy (&config);
    return status;
}
