/*  tests/bench/bench_footprint.c: what an idle fednode costs the machine it
    runs on, beside bare_node, the least a program with the same libraries
    and the same open sockets and database could cost, measured in the same
    run (doc/benchmarks.md).

    Built and run by `make bench` only; a measurement, not a test: it prints
    PASS or BELOW beside each goal and exits 0 (1 only if a process it
    measures fails to start or to answer).

    Both programs are found in the build tree (FED_BUILDDIR from the
    environment, else the one configure gave), so out-of-tree builds work.
    fednode is a libtool wrapper script there; the real binary in .libs is
    started instead, with LD_LIBRARY_PATH as the wrapper would set it, so
    that neither the shell nor the wrapper is timed or measured. Both
    programs get the same environment.

      start to ready   from fork to ready, the median of RUNS starts each,
                       fednode and bare_node taking turns: on a fresh data
                       dir, and again on an existing one (a restart).
                       fednode is ready when `status` is answered on its
                       control port, which is what `fedctl --data-dir D
                       status` does: the port is probed with a TCP connect
                       every POLL_US, and once it accepts, a fed_client with
                       the data dir's admin.key asks for `status`. bare_node
                       is ready when it prints "ready".
      idle             one more of each, left idle for IDLE_MS after ready:
                       VmRSS, VmHWM and Threads from /proc/PID/status,
                       Anonymous and Private_Dirty from
                       /proc/PID/smaps_rollup; over the idle time, the
                       CPU time and context switches of all threads
                       (/proc/PID/task/TID/schedstat and status).

    Every child gets PR_SET_PDEATHSIG, and every path out of main stops and
    reaps the children it started and removes the temp dir.
*/
#include "benchutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <czmq.h>
#include <sodium.h>

#include "client.h"
#include "ctlmsg.h"
#include "identity.h"
#include "log.h"

#define RUNS 5
#define IDLE_MS 2000
#define READY_DEADLINE_MS 10000
#define STOP_DEADLINE_MS 5000
#define POLL_US 500
#define STATUS_TIMEOUT_MS 2000
#define PRIVATE_GOAL_KB (8 * 1024)
#define RSS_GOAL_RATIO 1.4
#define READY_GOAL_MS 100.0

//  The one mutable global: set by SIGINT/SIGTERM, checked by every wait.
static volatile sig_atomic_t s_interrupted = 0;

//  A started program.
typedef struct {
    pid_t pid;  //  0 when not running
    int out_fd; //  read end of its stdout (bare_node), else -1
    char *log;  //  its stderr (and fednode's stdout) go here; owned
    char *dir;  //  its data dir; owned
    int status; //  wait status once it has exited on its own
} child_t;

//  Figures read from /proc for one process; -1 when not available.
typedef struct {
    long rss_kb;
    long hwm_kb;
    long anonymous_kb;
    long private_dirty_kb;
    long threads;
    double cpu_ms_per_s;   //  CPU time of all threads over the idle window
    double switches_per_s; //  context switches of all threads over the idle window
} usage_t;

typedef struct {
    char *fednode;       //  the real fednode binary; owned
    char *bare;          //  bare_node; owned
    char *work;          //  temp dir holding every data dir and log; owned
    int ports [4];       //  fednode peer and control, bare_node peer and control
    child_t node;        //  the fednode being measured
    child_t base;        //  the bare_node being measured
    msgpack_sbuffer req; //  [1, "status", {}]
} footprint_t;

static void
s_on_signal (int signal_number)
{
    s_interrupted = 1;
}

static int
s_remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

//  Prints the end of a child's log, for a failure message.
static void
s_print_log (const child_t *child)
{
    FILE *file = fopen (child->log, "r");
    if (!file)
        return;
    char line [512];
    fprintf (stderr, "--- %s\n", child->log);
    while (fgets (line, sizeof line, file))
        fputs (line, stderr);
    fclose (file);
}

//  --- Finding the programs and ports ----------------------------------------------

//  True if path starts with "#!" (a libtool wrapper).
static bool
s_is_script (const char *path)
{
    char head [2] = {0, 0};
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    bool script = fread (head, 1, 2, file) == 2 && head [0] == '#' && head [1] == '!';
    fclose (file);
    return script;
}

//  Finds fednode and bare_node under builddir. Returns 0, or -1 with a message.
static int
s_find_programs (footprint_t *self, const char *builddir)
{
    self->fednode = fed_sprintf ("%s/fednode", builddir);
    if (s_is_script (self->fednode)) {
        //  A libtool wrapper: it would set LD_LIBRARY_PATH and exec this.
        free (self->fednode);
        self->fednode = fed_sprintf ("%s/.libs/fednode", builddir);
        const char *old = getenv ("LD_LIBRARY_PATH");
        char *path = old && *old ? fed_sprintf ("%s/.libs:%s", builddir, old)
                                 : fed_sprintf ("%s/.libs", builddir);
        setenv ("LD_LIBRARY_PATH", path, 1);
        free (path);
    }
    self->bare = fed_sprintf ("%s/tests/bench/bare_node", builddir);
    const char *programs [] = {self->fednode, self->bare};
    for (size_t i = 0; i < 2; i++)
        if (access (programs [i], X_OK)) {
            fprintf (stderr,
                     "bench_footprint: cannot run %s: %s (run `make bench` in the build dir)\n",
                     programs [i], strerror (errno));
            return -1;
        }
    return 0;
}

//  True if nothing listens on 127.0.0.1:port and it can be bound now.
static bool
s_port_free (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) port)};
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    bool free_now = fd >= 0 && bind (fd, (struct sockaddr *) &address, sizeof address) == 0;
    if (fd >= 0)
        close (fd);
    return free_now;
}

//  Four free ports in 10000-19999: below 32768, where Linux does not hand
//  out ephemeral ports (so no outgoing connection takes one between probe
//  and bind), and below the shell tests' 20000 and up.
static int
s_find_ports (footprint_t *self)
{
    int port = 10000 + (int) (getpid () % 600) * 16;
    int found = 0;
    for (; found < 4 && port < 20000; port++)
        if (s_port_free (port))
            self->ports [found++] = port;
    if (found < 4) {
        fprintf (stderr, "bench_footprint: no four free loopback ports in 10000-19999\n");
        return -1;
    }
    return 0;
}

//  True if something accepts TCP connections on 127.0.0.1:port.
static bool
s_port_accepts (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) port)};
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    bool accepts = fd >= 0 && connect (fd, (struct sockaddr *) &address, sizeof address) == 0;
    if (fd >= 0)
        close (fd);
    return accepts;
}

//  --- Children ---------------------------------------------------------------------

//  Starts argv [0] with argv; stdout into a pipe (pipe_stdout) or the log,
//  stderr into the log. Returns 0, or -1 with a message.
static int
s_spawn (child_t *child, const char *const argv [], bool pipe_stdout)
{
    int fds [2] = {-1, -1};
    int log_fd = open (child->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0 || (pipe_stdout && pipe2 (fds, O_CLOEXEC))) {
        fprintf (stderr, "bench_footprint: %s: %s\n", child->log, strerror (errno));
        goto err;
    }
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        //  Only async-signal-safe calls from here to exec.
        if (prctl (PR_SET_PDEATHSIG, SIGKILL) || getppid () != parent)
            _exit (127);
        if (dup2 (pipe_stdout ? fds [1] : log_fd, STDOUT_FILENO) < 0
            || dup2 (log_fd, STDERR_FILENO) < 0)
            _exit (127);
        execv (argv [0], (char *const *) argv);
        _exit (127);
    }
    if (pid < 0) {
        fprintf (stderr, "bench_footprint: fork: %s\n", strerror (errno));
        goto err;
    }
    child->pid = pid;
    child->out_fd = fds [0];
    if (fds [1] >= 0)
        close (fds [1]);
    close (log_fd);
    return 0;

err:
    if (fds [0] >= 0)
        close (fds [0]);
    if (fds [1] >= 0)
        close (fds [1]);
    if (log_fd >= 0)
        close (log_fd);
    return -1;
}

//  True if the child has exited (and reaps it).
static bool
s_exited (child_t *child)
{
    if (child->pid && waitpid (child->pid, &child->status, WNOHANG) == child->pid) {
        child->pid = 0;
        return true;
    }
    return child->pid == 0;
}

//  SIGTERM, then SIGKILL after STOP_DEADLINE_MS; reaps. Returns the exit
//  status (-1 if it had to be killed or was not running). Accepts a child
//  that is not running.
static int
s_stop (child_t *child)
{
    if (child->out_fd >= 0) {
        close (child->out_fd);
        child->out_fd = -1;
    }
    if (!child->pid)
        return -1;
    kill (child->pid, SIGTERM);
    int status = 0;
    int64_t deadline = fed_bench_now_ns () + (int64_t) STOP_DEADLINE_MS * 1000000;
    pid_t done = 0;
    while ((done = waitpid (child->pid, &status, WNOHANG)) == 0 && fed_bench_now_ns () < deadline)
        usleep (1000);
    if (done != child->pid) {
        kill (child->pid, SIGKILL);
        waitpid (child->pid, &status, 0);
        status = -1;
    } else
        status = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
    child->pid = 0;
    return status;
}

//  --- Ready --------------------------------------------------------------------------

//  One `status` call with the data dir's admin.key. True if answered.
static bool
s_status_answers (footprint_t *self, const char *data_dir, int control_port)
{
    char *admin_path = fed_sprintf ("%s/admin.key", data_dir);
    char *pub_path = fed_sprintf ("%s/node.pub", data_dir);
    char *endpoint = fed_sprintf ("tcp://127.0.0.1:%d", control_port);
    fed_err_t err;
    uint8_t server [32];
    fed_identity_t *admin = fed_identity_load (admin_path, &err);
    fed_client_t *client = NULL;
    bool answered = false;
    if (admin && fed_identity_read_public (pub_path, server, &err) == 0)
        client = fed_client_new (endpoint, admin, server, &err);
    if (client) {
        uint8_t *reply = NULL;
        size_t reply_size;
        fed_blob_t result;
        char code [64];
        answered = fed_client_call (client, self->req.data, self->req.size, STATUS_TIMEOUT_MS,
                                    &reply, &reply_size, &result, code, sizeof code, &err)
            == FED_CLIENT_OK;
        free (reply);
    }
    fed_client_destroy (&client);
    fed_identity_destroy (&admin);
    free (endpoint);
    free (pub_path);
    free (admin_path);
    return answered;
}

//  Starts fednode on its data dir and waits until it answers `status`.
//  Fills the ms from fork to the control port accepting and to the answer.
//  Returns 0, or -1 with a message (the node is left for s_stop).
static int
s_node_start (footprint_t *self, double *port_ms, double *ready_ms)
{
    child_t *node = &self->node;
    char *peer = fed_sprintf ("tcp://127.0.0.1:%d", self->ports [0]);
    char *control = fed_sprintf ("tcp://127.0.0.1:%d", self->ports [1]);
    const char *argv [] = {self->fednode,    "run",   "--data-dir", node->dir, "--peer-bind", peer,
                           "--control-bind", control, NULL};
    int64_t start = fed_bench_now_ns ();
    int rc = s_spawn (node, argv, false);
    bool port_open = false;
    int64_t deadline = start + (int64_t) READY_DEADLINE_MS * 1000000;
    while (rc == 0) {
        if (s_interrupted || s_exited (node) || fed_bench_now_ns () > deadline) {
            fprintf (stderr, "bench_footprint: fednode %s before answering status\n",
                     s_interrupted   ? "interrupted"
                         : node->pid ? "timed out"
                                     : "exited");
            if (!s_interrupted)
                s_print_log (node);
            rc = -1;
        } else if (!port_open && s_port_accepts (self->ports [1])) {
            port_open = true;
            *port_ms = (double) (fed_bench_now_ns () - start) / 1e6;
        } else if (port_open && s_status_answers (self, node->dir, self->ports [1])) {
            *ready_ms = (double) (fed_bench_now_ns () - start) / 1e6;
            break;
        } else
            usleep (POLL_US);
    }
    free (peer);
    free (control);
    return rc;
}

//  Starts bare_node on its dir and waits until it prints "ready". Fills
//  the ms from fork to that line. Returns 0, or -1 with a message.
static int
s_bare_start (footprint_t *self, double *ready_ms)
{
    child_t *base = &self->base;
    char *peer = fed_sprintf ("tcp://127.0.0.1:%d", self->ports [2]);
    char *control = fed_sprintf ("tcp://127.0.0.1:%d", self->ports [3]);
    const char *argv [] = {self->bare, base->dir, peer, control, NULL};
    int64_t start = fed_bench_now_ns ();
    int rc = s_spawn (base, argv, true);
    char seen [64] = "";
    size_t used = 0;
    int64_t deadline = start + (int64_t) READY_DEADLINE_MS * 1000000;
    while (rc == 0 && !strstr (seen, "ready\n")) {
        struct pollfd item = {base->out_fd, POLLIN, 0};
        int wait_ms = (int) ((deadline - fed_bench_now_ns ()) / 1000000);
        ssize_t size = -1;
        if (!s_interrupted && wait_ms > 0 && poll (&item, 1, wait_ms) == 1)
            size = read (base->out_fd, seen + used, sizeof seen - 1 - used);
        if (size <= 0 || used + (size_t) size >= sizeof seen - 1) {
            fprintf (stderr, "bench_footprint: bare_node did not print ready (%s)\n",
                     s_interrupted   ? "interrupted"
                         : size == 0 ? "it exited"
                                     : "timed out");
            if (!s_interrupted)
                s_print_log (base);
            rc = -1;
        } else
            used += (size_t) size;
    }
    if (rc == 0)
        *ready_ms = (double) (fed_bench_now_ns () - start) / 1e6;
    free (peer);
    free (control);
    return rc;
}

//  --- Idle ---------------------------------------------------------------------------

//  The value of "Name:" in a /proc file (kB or a count), or with name NULL
//  the file's first number; -1 when there is none.
static long
s_proc_field (pid_t pid, const char *file_name, const char *name)
{
    char *path = fed_sprintf ("/proc/%d/%s", (int) pid, file_name);
    FILE *file = fopen (path, "r");
    free (path);
    if (!file)
        return -1;
    char line [256];
    long value = -1;
    size_t length = name ? strlen (name) : 0;
    while (value < 0 && fgets (line, sizeof line, file))
        if (!name)
            value = strtol (line, NULL, 10);
        else if (strncmp (line, name, length) == 0 && line [length] == ':')
            value = strtol (line + length + 1, NULL, 10);
    fclose (file);
    return value;
}

//  Sums over pid's threads the ns they ran (schedstat) and their context
//  switches, voluntary and not.
static void
s_task_totals (pid_t pid, int64_t *cpu_ns, int64_t *switches)
{
    *cpu_ns = 0;
    *switches = 0;
    char *path = fed_sprintf ("/proc/%d/task", (int) pid);
    DIR *tasks = opendir (path);
    free (path);
    struct dirent *entry;
    while (tasks && (entry = readdir (tasks))) {
        if (entry->d_name [0] == '.')
            continue;
        char *name = fed_sprintf ("task/%s/schedstat", entry->d_name);
        char *status = fed_sprintf ("task/%s/status", entry->d_name);
        *cpu_ns += s_proc_field (pid, name, NULL);
        *switches += s_proc_field (pid, status, "voluntary_ctxt_switches")
            + s_proc_field (pid, status, "nonvoluntary_ctxt_switches");
        free (name);
        free (status);
    }
    if (tasks)
        closedir (tasks);
}

//  Waits idle_ms, then fills usage for both processes (CPU and switches
//  over the wait). Returns 0, or -1 if interrupted or one of them exited.
static int
s_idle_usage (footprint_t *self, int idle_ms, usage_t *node, usage_t *bare)
{
    int64_t node_cpu, node_switches, bare_cpu, bare_switches;
    s_task_totals (self->node.pid, &node_cpu, &node_switches);
    s_task_totals (self->base.pid, &bare_cpu, &bare_switches);
    int64_t start = fed_bench_now_ns ();
    while (!s_interrupted && fed_bench_now_ns () < start + (int64_t) idle_ms * 1000000)
        usleep (10000);
    if (s_interrupted) {
        fprintf (stderr, "bench_footprint: interrupted while idle\n");
        return -1;
    }
    child_t *children [2] = {&self->node, &self->base};
    const char *names [2] = {"fednode", "bare_node"};
    for (int i = 0; i < 2; i++)
        if (s_exited (children [i])) {
            int status = children [i]->status;
            fprintf (stderr, "bench_footprint: %s exited while idle (%s %d)\n", names [i],
                     WIFSIGNALED (status) ? "signal" : "exit status",
                     WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
            s_print_log (children [i]);
            return -1;
        }
    double seconds = (double) (fed_bench_now_ns () - start) / 1e9;
    usage_t *usages [2] = {node, bare};
    pid_t pids [2] = {self->node.pid, self->base.pid};
    int64_t cpu_before [2] = {node_cpu, bare_cpu};
    int64_t switches_before [2] = {node_switches, bare_switches};
    for (int i = 0; i < 2; i++) {
        usage_t *usage = usages [i];
        usage->rss_kb = s_proc_field (pids [i], "status", "VmRSS");
        usage->hwm_kb = s_proc_field (pids [i], "status", "VmHWM");
        usage->threads = s_proc_field (pids [i], "status", "Threads");
        usage->anonymous_kb = s_proc_field (pids [i], "smaps_rollup", "Anonymous");
        usage->private_dirty_kb = s_proc_field (pids [i], "smaps_rollup", "Private_Dirty");
        int64_t cpu, switches;
        s_task_totals (pids [i], &cpu, &switches);
        usage->cpu_ms_per_s = (double) (cpu - cpu_before [i]) / 1e6 / seconds;
        usage->switches_per_s = (double) (switches - switches_before [i]) / seconds;
    }
    return 0;
}

//  --- Report -------------------------------------------------------------------------

//  One figure: fednode's value beside bare_node's (baseline < 0: none),
//  their ratio, and a goal (goal_text NULL: none) that passes or not.
static void
s_report (const char *name, double value, double baseline, int decimals, const char *unit,
          const char *goal_text, bool pass)
{
    printf ("%-36s %9.*f", name, decimals, value);
    if (baseline >= 0)
        printf (" %-5s baseline %9.*f %-5s ratio %5.2f", unit, decimals, baseline, unit,
                baseline > 0 ? value / baseline : 0.0);
    else
        printf (" %s", unit);
    if (goal_text)
        printf ("  goal %s %s", goal_text, pass ? "PASS" : "BELOW");
    printf ("\n");
    fflush (stdout);
}

//  --- The run ------------------------------------------------------------------------

//  RUNS starts of each on dirs named prefix-N (fresh) or prefix (restart),
//  taking turns; fills the medians. Returns 0 or -1.
static int
s_start_series (footprint_t *self, bool fresh, double *node_ready, double *node_port,
                double *bare_ready)
{
    double ready [RUNS], port [RUNS], bare [RUNS];
    for (int run = 0; run < RUNS; run++) {
        free (self->node.dir);
        free (self->base.dir);
        self->node.dir = fresh ? fed_sprintf ("%s/node-%d", self->work, run)
                               : fed_sprintf ("%s/node", self->work);
        self->base.dir = fresh ? fed_sprintf ("%s/bare-%d", self->work, run)
                               : fed_sprintf ("%s/bare", self->work);
        if (s_node_start (self, &port [run], &ready [run]))
            return -1;
        int status = s_stop (&self->node);
        if (status != 0) {
            fprintf (stderr, "bench_footprint: fednode stopped with status %d, not 0\n", status);
            s_print_log (&self->node);
            return -1;
        }
        if (s_bare_start (self, &bare [run]))
            return -1;
        s_stop (&self->base);
    }
    *node_ready = fed_bench_median (ready, RUNS);
    *node_port = fed_bench_median (port, RUNS);
    *bare_ready = fed_bench_median (bare, RUNS);
    return 0;
}

static int
s_run (footprint_t *self)
{
    double fresh_ready, fresh_port, fresh_bare;
    double restart_ready, restart_port, restart_bare;
    //  The restart series reopens the dirs of one untimed first start.
    double unused;
    self->node.dir = fed_sprintf ("%s/node", self->work);
    self->base.dir = fed_sprintf ("%s/bare", self->work);
    if (s_node_start (self, &unused, &unused) || s_stop (&self->node) != 0
        || s_bare_start (self, &unused))
        return -1;
    s_stop (&self->base);
    if (s_start_series (self, true, &fresh_ready, &fresh_port, &fresh_bare)
        || s_start_series (self, false, &restart_ready, &restart_port, &restart_bare))
        return -1;

    //  Idle: one more restart of each, side by side.
    free (self->node.dir);
    free (self->base.dir);
    self->node.dir = fed_sprintf ("%s/node", self->work);
    self->base.dir = fed_sprintf ("%s/bare", self->work);
    if (s_node_start (self, &unused, &unused) || s_bare_start (self, &unused))
        return -1;
    usage_t node, bare;
    if (s_idle_usage (self, IDLE_MS, &node, &bare))
        return -1;

    printf ("bench_footprint: fednode run beside bare_node (same libraries; ZAP handler, CURVE "
            "ROUTERs on a peer and a control port, empty RocksDB); start times are medians of %d, "
            "idle figures after %d ms idle\n",
            RUNS, IDLE_MS);
    char goal [64];
    snprintf (goal, sizeof goal, "<= %.0f ms", READY_GOAL_MS);
    s_report ("start to ready, fresh data dir", fresh_ready, fresh_bare, 1, "ms", goal,
              fresh_ready <= READY_GOAL_MS);
    s_report ("  of which until the port accepts", fresh_port, -1, 1, "ms", NULL, false);
    s_report ("start to ready, restart", restart_ready, restart_bare, 1, "ms", goal,
              restart_ready <= READY_GOAL_MS);
    s_report ("  of which until the port accepts", restart_port, -1, 1, "ms", NULL, false);
    snprintf (goal, sizeof goal, "<= %.1f x bare", RSS_GOAL_RATIO);
    s_report ("idle RSS (VmRSS)", (double) node.rss_kb, (double) bare.rss_kb, 0, "kB", goal,
              node.rss_kb <= RSS_GOAL_RATIO * (double) bare.rss_kb);
    snprintf (goal, sizeof goal, "<= %d kB", PRIVATE_GOAL_KB);
    s_report ("idle private anonymous (Anonymous)", (double) node.anonymous_kb,
              (double) bare.anonymous_kb, 0, "kB", goal,
              node.anonymous_kb >= 0 && node.anonymous_kb <= PRIVATE_GOAL_KB);
    s_report ("idle Private_Dirty", (double) node.private_dirty_kb, (double) bare.private_dirty_kb,
              0, "kB", NULL, false);
    s_report ("peak RSS (VmHWM)", (double) node.hwm_kb, (double) bare.hwm_kb, 0, "kB", NULL, false);
    s_report ("threads", (double) node.threads, (double) bare.threads, 0, "", NULL, false);
    s_report ("idle CPU time", node.cpu_ms_per_s, bare.cpu_ms_per_s, 2, "ms/s", NULL, false);
    s_report ("idle wakeups (context switches)", node.switches_per_s, bare.switches_per_s, 1, "/s",
              NULL, false);
    return 0;
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    fed_log_set_level (FED_LOG_ERROR);
    //  Our own handlers (czmq's would only set zsys_interrupted): a signal
    //  ends every wait, and the children are stopped on the way out.
    zsys_handler_set (NULL);
    struct sigaction action = {.sa_handler = s_on_signal};
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    zsys_init ();

    footprint_t self = {.node = {.out_fd = -1}, .base = {.out_fd = -1}};
    msgpack_sbuffer_init (&self.req);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &self.req, msgpack_sbuffer_write);
    fed_ctl_request_begin (&pk, "status", 0);

    const char *builddir = getenv ("FED_BUILDDIR");
    const char *tmp = getenv ("TMPDIR");
    self.work = fed_sprintf ("%s/fed-bench-footprint-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int rc = -1;
    if (!mkdtemp (self.work)) {
        perror ("bench_footprint: mkdtemp");
        fed_free (&self.work);
        goto err;
    }
    self.node.log = fed_sprintf ("%s/fednode.log", self.work);
    self.base.log = fed_sprintf ("%s/bare_node.log", self.work);
    if (s_find_programs (&self, builddir && *builddir ? builddir : FED_BUILDDIR)
        || s_find_ports (&self))
        goto err;
    rc = s_run (&self);

err:
    s_stop (&self.node);
    s_stop (&self.base);
    if (self.work && nftw (self.work, s_remove_one, 16, FTW_DEPTH | FTW_PHYS))
        fprintf (stderr, "bench_footprint: cannot remove %s\n", self.work);
    msgpack_sbuffer_destroy (&self.req);
    free (self.node.log);
    free (self.node.dir);
    free (self.base.log);
    free (self.base.dir);
    free (self.fednode);
    free (self.bare);
    free (self.work);
    return rc ? 1 : 0;
}
