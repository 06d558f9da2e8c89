/*  tests/integration/test_crash.c: nothing acknowledged is lost when the
    writer is killed at a random moment.

    For R rounds (FED_CRASH_ROUNDS, default 20) on one data dir: start
    crash_writer (sync or wal durability, batches of 1, 10 or 100, chosen by
    the seeded PRNG), read its "ack SEQ" lines, SIGKILL it after a random
    0-300 ms (measured from its start, so some kills land while it opens the
    store), reap it, then run crash_writer --verify on the same dir and check:

      - the audit passed (every chain from seq 1, every link and signature,
        the version vector, the stats view all agree) and bad == 0;
      - the highest seq held is the last acknowledged seq, or that plus one
        batch (the batch in flight was durable but its ack not yet written):
        nothing acknowledged is lost and a batch is all or nothing.

    The audit reads every event, so once the log holds ROTATE_EVENTS the
    next round starts on a fresh data dir (the old one is removed): rounds
    stay fast and 1,000 of them fit in minutes.

    The seed is printed (FED_CRASH_SEED repeats a run). Children are always
    reaped, also on failure paths and when the driver is interrupted, and
    each has PR_SET_PDEATHSIG so none outlives a driver that is killed.
    Waits are poll() with deadlines; the only sleep is the random kill delay.
*/
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define KILL_DELAY_MAX_MS 300
#define VERIFY_DEADLINE_MS 60000
#define ROTATE_EVENTS 5000

static volatile sig_atomic_t s_interrupted = 0;

static void
s_on_signal (int signum)
{
    s_interrupted = signum;
}

//  One child process whose stdout we read line by line.
typedef struct {
    pid_t pid;       //  0 when reaped
    int out;         //  read end of its stdout, -1 when closed
    char line [256]; //  partial line read so far
    size_t used;     //  bytes in line
} child_t;

typedef struct {
    char *writer;   //  path of crash_writer, owned
    char *base;     //  the mkdtemp dir, owned
    char *data_dir; //  base/node-GENERATION, owned
    int generation; //  data dirs used so far
    uint64_t rng;   //  xorshift state
    child_t child;  //  the current child, if any
} driver_t;

static uint64_t
s_rand (driver_t *self)
{
    uint64_t x = self->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return self->rng = x;
}

//  Starts argv[0] with stdout on a pipe. 0, or -1 after printing why.
static int
s_spawn (child_t *child, const char *const argv [])
{
    int fds [2];
    if (pipe2 (fds, O_CLOEXEC)) {
        perror ("test_crash: pipe2");
        return -1;
    }
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) {
        perror ("test_crash: fork");
        close (fds [0]);
        close (fds [1]);
        return -1;
    }
    if (pid == 0) {
        //  Die with the driver, whatever kills it.
        if (prctl (PR_SET_PDEATHSIG, SIGKILL) || getppid () != parent)
            _exit (127);
        if (dup2 (fds [1], STDOUT_FILENO) < 0)
            _exit (127);
        execv (argv [0], (char *const *) argv);
        fprintf (stderr, "test_crash: cannot run %s: %s\n", argv [0], strerror (errno));
        _exit (127);
    }
    close (fds [1]);
    child->pid = pid;
    child->out = fds [0];
    child->used = 0;
    return 0;
}

//  Kills (if asked) and reaps the child, and closes its pipe. Returns its
//  wait status, or -1 if there was no child.
static int
s_reap (child_t *child, bool kill_it)
{
    int status = -1;
    if (child->pid > 0) {
        if (kill_it)
            kill (child->pid, SIGKILL);
        while (waitpid (child->pid, &status, 0) < 0 && errno == EINTR)
            ;
        child->pid = 0;
    }
    if (child->out >= 0)
        close (child->out);
    child->out = -1;
    return status;
}

//  Reads what the child has written until deadline (monotonic ms; -1: until
//  EOF), calling on_line for each complete line. Returns 1 at EOF, 0 at the
//  deadline, -1 on an error, an interrupt or a line on_line refused.
typedef int (s_line_fn) (void *arg, const char *line);

static int
s_read_lines (child_t *child, int64_t deadline, s_line_fn *on_line, void *arg)
{
    while (!s_interrupted) {
        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - fed_mono_ms ();
            if (left <= 0)
                return 0;
            timeout = (int) left;
        }
        struct pollfd pfd = {child->out, POLLIN, 0};
        int n = poll (&pfd, 1, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror ("test_crash: poll");
            return -1;
        }
        if (n == 0)
            continue;
        ssize_t got =
            read (child->out, child->line + child->used, sizeof child->line - 1 - child->used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            perror ("test_crash: read");
            return -1;
        }
        if (got == 0)
            return 1;
        child->used += (size_t) got;
        char *newline;
        while ((newline = memchr (child->line, '\n', child->used))) {
            *newline = 0;
            if (on_line (arg, child->line))
                return -1;
            size_t rest = child->used - (size_t) (newline + 1 - child->line);
            memmove (child->line, newline + 1, rest);
            child->used = rest;
        }
        if (child->used == sizeof child->line - 1) {
            fprintf (stderr,
                     "test_crash: expected short lines, got %zu bytes without a "
                     "newline\n",
                     child->used);
            return -1;
        }
    }
    fprintf (stderr, "test_crash: interrupted by signal %d\n", (int) s_interrupted);
    return -1;
}

typedef struct {
    uint64_t last; //  highest seq acknowledged (starts at the seq held)
    uint64_t acks; //  ack lines read
} acks_t;

static int
s_on_ack (void *arg, const char *line)
{
    acks_t *acks = (acks_t *) arg;
    uint64_t seq;
    char extra;
    if (sscanf (line, "ack %" SCNu64 "%c", &seq, &extra) != 1) {
        fprintf (stderr, "test_crash: expected \"ack SEQ\", got \"%s\"\n", line);
        return -1;
    }
    if (seq <= acks->last) {
        fprintf (stderr, "test_crash: expected an ack above %" PRIu64 ", got %" PRIu64 "\n",
                 acks->last, seq);
        return -1;
    }
    acks->last = seq;
    acks->acks++;
    return 0;
}

typedef struct {
    uint64_t seq, events, bad;
    int lines;
} verify_t;

static int
s_on_verify (void *arg, const char *line)
{
    verify_t *verify = (verify_t *) arg;
    if (verify->lines++ > 0
        || sscanf (line, "seq %" SCNu64 " events %" SCNu64 " bad %" SCNu64, &verify->seq,
                   &verify->events, &verify->bad)
            != 3) {
        fprintf (stderr, "test_crash: expected one \"seq N events E bad B\", got \"%s\"\n", line);
        return -1;
    }
    return 0;
}

//  One round: write, kill, verify. *held is the seq the log held before and
//  is updated. Returns 0, or -1 after printing what was expected and got.
static int
s_round (driver_t *self, int round, int rounds, uint64_t *held, uint64_t *acknowledged)
{
    static const size_t batches [] = {1, 1, 10, 100};
    bool wal = s_rand (self) & 1;
    size_t batch = batches [s_rand (self) % 4];
    int delay = (int) (s_rand (self) % (KILL_DELAY_MAX_MS + 1));
    char batch_text [16];
    snprintf (batch_text, sizeof batch_text, "%zu", batch);
    const char *write_argv [] = {self->writer,         "--batch", batch_text, self->data_dir,
                                 wal ? "--wal" : NULL, NULL};

    //  Write until the kill.
    acks_t acks = {*held, 0};
    int64_t started = fed_mono_ms ();
    if (s_spawn (&self->child, write_argv))
        return -1;
    int rc = s_read_lines (&self->child, started + delay, s_on_ack, &acks);
    if (rc == 1) {
        fprintf (stderr, "test_crash: expected the writer to run until killed, it exited\n");
        s_reap (&self->child, true);
        return -1;
    }
    if (rc < 0) {
        s_reap (&self->child, true);
        return -1;
    }
    kill (self->child.pid, SIGKILL);
    int status;
    while (waitpid (self->child.pid, &status, 0) < 0 && errno == EINTR)
        ;
    self->child.pid = 0;
    //  Acks written before the kill are still in the pipe.
    rc = s_read_lines (&self->child, -1, s_on_ack, &acks);
    s_reap (&self->child, false);
    if (rc != 1)
        return -1;
    if (!WIFSIGNALED (status) || WTERMSIG (status) != SIGKILL) {
        fprintf (stderr,
                 "test_crash: expected the writer to die of SIGKILL, got status "
                 "0x%x\n",
                 (unsigned) status);
        return -1;
    }

    //  Verify on restart.
    verify_t verify = {0, 0, 0, 0};
    const char *verify_argv [] = {self->writer, "--verify", self->data_dir, NULL};
    if (s_spawn (&self->child, verify_argv))
        return -1;
    rc = s_read_lines (&self->child, fed_mono_ms () + VERIFY_DEADLINE_MS, s_on_verify, &verify);
    status = s_reap (&self->child, rc != 1);
    if (rc == 0)
        fprintf (stderr, "test_crash: expected verify to finish within %d ms\n",
                 VERIFY_DEADLINE_MS);
    if (rc != 1)
        return -1;
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0 || verify.lines != 1) {
        fprintf (stderr,
                 "test_crash: expected verify to exit 0 with one line, got status "
                 "0x%x and %d lines\n",
                 (unsigned) status, verify.lines);
        return -1;
    }
    printf ("round %d/%d: %s batch %zu, killed at %d ms after %" PRIu64 " acks, last ack "
            "%" PRIu64 ": held seq %" PRIu64 " events %" PRIu64 " bad %" PRIu64 "\n",
            round, rounds, wal ? "wal" : "sync", batch, delay, acks.acks, acks.last, verify.seq,
            verify.events, verify.bad);
    if (verify.bad != 0 || verify.events != verify.seq) {
        fprintf (stderr,
                 "test_crash: expected bad 0 and events == seq, got seq %" PRIu64 " events %" PRIu64
                 " bad %" PRIu64 "\n",
                 verify.seq, verify.events, verify.bad);
        return -1;
    }
    if (verify.seq != acks.last && verify.seq != acks.last + batch) {
        fprintf (stderr,
                 "test_crash: expected seq %" PRIu64 " (last ack) or %" PRIu64
                 " (one unacknowledged batch more), got %" PRIu64 "%s\n",
                 acks.last, acks.last + batch, verify.seq,
                 verify.seq < acks.last ? ": ACKNOWLEDGED EVENTS LOST" : "");
        return -1;
    }
    *acknowledged += acks.last - *held;
    *held = verify.seq;
    return 0;
}

static int
s_remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

int
main (int argc, char *argv [])
{
    driver_t self = {0};
    self.child.out = -1;
    const char *rounds_env = getenv ("FED_CRASH_ROUNDS");
    int rounds = rounds_env ? atoi (rounds_env) : 20;
    const char *seed_env = getenv ("FED_CRASH_SEED");
    uint64_t seed = seed_env ? strtoull (seed_env, NULL, 0)
                             : (uint64_t) time (NULL) ^ ((uint64_t) getpid () << 32);
    self.rng = seed ? seed : 1;
    printf ("crash: seed %" PRIu64 " (FED_CRASH_SEED=%" PRIu64 " repeats this run), %d rounds\n",
            seed, seed, rounds);

    const char *builddir = getenv ("FED_BUILDDIR");
    self.writer = builddir ? fed_sprintf ("%s/tests/integration/crash_writer", builddir)
                           : fed_sprintf ("%s/tests/integration/crash_writer", FED_BUILDDIR);
    if (access (self.writer, X_OK)) {
        fprintf (stderr, "test_crash: expected the writer at %s: %s\n", self.writer,
                 strerror (errno));
        free (self.writer);
        return 1;
    }
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal; //  no SA_RESTART: poll returns EINTR
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGHUP, &action, NULL);
    signal (SIGPIPE, SIG_IGN);

    const char *tmp = getenv ("TMPDIR");
    self.base = fed_sprintf ("%s/fed-crash-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (self.base)) {
        perror ("test_crash: mkdtemp");
        free (self.base);
        free (self.writer);
        return 1;
    }

    int rc = 0;
    uint64_t held = 0, acknowledged = 0;
    int64_t started = fed_mono_ms ();
    for (int round = 1; round <= rounds && rc == 0; round++) {
        if (!self.data_dir || held >= ROTATE_EVENTS) {
            if (self.data_dir && nftw (self.data_dir, s_remove_one, 16, FTW_DEPTH | FTW_PHYS))
                fprintf (stderr, "test_crash: cannot remove %s\n", self.data_dir);
            free (self.data_dir);
            self.data_dir = fed_sprintf ("%s/node-%d", self.base, ++self.generation);
            held = 0;
        }
        rc = s_round (&self, round, rounds, &held, &acknowledged);
    }
    s_reap (&self.child, true);
    if (rc == 0)
        printf ("crash: %d rounds, %" PRIu64 " acknowledged events, 0 lost (%d data dirs, "
                "%" PRId64 " ms)\n",
                rounds, acknowledged, self.generation, fed_mono_ms () - started);
    else
        fprintf (stderr, "crash: FAILED (seed %" PRIu64 ")\n", seed);
    if (nftw (self.base, s_remove_one, 16, FTW_DEPTH | FTW_PHYS))
        fprintf (stderr, "test_crash: cannot remove %s\n", self.base);
    free (self.data_dir);
    free (self.base);
    free (self.writer);
    return rc ? 1 : 0;
}
