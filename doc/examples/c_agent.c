/*  doc/examples/c_agent.c: an external agent in C, with the client in
    libfednode (agents/agentclient.h; the protocol is doc/protocol.md §5).

    It offers two agents, written exactly as built-in ones would be:

        c.upper   {text: str}              -> {text: TEXT IN UPPER CASE, pid}
        c.stats   {values: [number, ...]}  -> {count, sum, min, max, mean, pid}

    and runs them in its own process, so a crash in one cannot take the
    node down. Run it beside a node:

        eval "$(fednode agent-env -d DATA_DIR)"
        c_agent [--name LABEL] [--slots N]

    It runs until SIGINT or SIGTERM, then says BYE, so the node moves any
    task it held to another process at once. Exit 0, 1 when it cannot
    start, 2 on a bad command line.
*/
#define _POSIX_C_SOURCE 200809L //  pthread_sigmask, strsignal
#include <agentclient.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
s_upper_run (fed_task_t *task)
{
    const char *text;
    if (fed_task_require_str (task, "text", &text))
        return -1;
    size_t size = strlen (text);
    char *upper = malloc (size + 1);
    if (!upper)
        return fed_task_fail (task, "no_memory", "cannot hold %zu bytes", size);
    for (size_t i = 0; i <= size; i++)
        upper [i] = (text [i] >= 'a' && text [i] <= 'z') ? (char) (text [i] - 32) : text [i];
    fed_task_output_str (task, "text", upper);
    fed_task_output_int (task, "pid", (int64_t) getpid ());
    free (upper);
    return 0;
}

static int
s_stats_run (fed_task_t *task)
{
    fed_mpr_t reader;
    uint32_t count;
    if (fed_task_require_array (task, "values", &reader, &count))
        return -1;
    if (count == 0)
        return fed_task_fail (task, "bad_params", "param \"values\" is empty");
    double sum = 0, min = 0, max = 0;
    for (uint32_t i = 0; i < count; i++) {
        double value;
        if (fed_mpr_double (&reader, &value))
            return fed_task_fail (task, "bad_params", "values[%u] is not a number", i);
        sum += value;
        min = (i == 0 || value < min) ? value : min;
        max = (i == 0 || value > max) ? value : max;
        if ((i & 0xffff) == 0) {
            fed_task_progress (task, i, count, "summing");
            if (fed_task_cancelled (task))
                return -1;
        }
    }
    fed_task_output_int (task, "count", count);
    fed_task_output_double (task, "sum", sum);
    fed_task_output_double (task, "min", min);
    fed_task_output_double (task, "max", max);
    fed_task_output_double (task, "mean", sum / count);
    fed_task_output_int (task, "pid", (int64_t) getpid ());
    return 0;
}

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: c_agent [--name LABEL] [--slots N]\n"
             "  Serves c.upper and c.stats to the node FEDNODE_AGENT_ENDPOINT names\n"
             "  (eval \"$(fednode agent-env -d DATA_DIR)\" first).\n");
}

int
main (int argc, char **argv)
{
    fed_agent_client_options_t options;
    fed_agent_client_options_default (&options);
    for (int i = 1; i < argc; i++) {
        if (!strcmp (argv [i], "--help") || !strcmp (argv [i], "-h")) {
            s_usage (stdout);
            return 0;
        } else if (!strcmp (argv [i], "--name") && i + 1 < argc)
            snprintf (options.label, sizeof options.label, "%s", argv [++i]);
        else if (!strcmp (argv [i], "--slots") && i + 1 < argc) {
            char *end;
            errno = 0;
            long slots = strtol (argv [++i], &end, 10);
            if (errno || *end || slots < 1 || slots > 256) {
                fprintf (stderr, "c_agent: --slots must be 1..256, not '%s'\n", argv [i]);
                return 2;
            }
            options.slots = (uint32_t) slots;
        } else {
            s_usage (stderr);
            return 2;
        }
    }
    fed_err_t err;
    if (fed_agent_client_options_from_env (&options, &err)) {
        fprintf (stderr, "c_agent: %s\n", err.text);
        return 1;
    }
    //  Block the signals before any thread starts, so every thread inherits
    //  the mask and sigwait below is their only taker.
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);

    static const char *const text_caps [] = {"text", NULL};
    static const char *const stats_caps [] = {"statistics", NULL};
    fed_agent_t upper = {"c.upper", "1.0", "upper-cases a text", text_caps, s_upper_run, 0, NULL};
    fed_agent_t stats = {"c.stats", "1.0", "count, sum, min, max, mean", stats_caps, s_stats_run,
                         0,         NULL};
    fed_agentset_t *agents = fed_agentset_new ();
    fed_agent_client_t *client = NULL;
    if (fed_agentset_add (agents, &upper, &err) == 0
        && fed_agentset_add (agents, &stats, &err) == 0)
        client = fed_agent_client_new (agents, &options, &err);
    fed_agent_client_options_wipe (&options);
    fed_agentset_destroy (&agents);
    if (!client) {
        fprintf (stderr, "c_agent: %s\n", err.text);
        return 1;
    }
    if (fed_agent_client_wait_ready (client, 10000) == 0)
        printf ("c_agent: ready (pid %d)\n", (int) getpid ());
    else
        printf ("c_agent: no WELCOME yet; still trying\n");
    fflush (stdout);
    int signal_number;
    sigwait (&signals, &signal_number);
    fed_agent_client_stats_t stats_now;
    fed_agent_client_stats (client, &stats_now);
    printf ("c_agent: %s: %llu task(s) completed, %llu failed; bye\n", strsignal (signal_number),
            (unsigned long long) stats_now.tasks_completed,
            (unsigned long long) stats_now.tasks_failed);
    fed_agent_client_destroy (&client);
    return 0;
}
