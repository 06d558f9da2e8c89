/*  tests/integration/test_wal.c: how the store reopens after damage to its
    write-ahead log (DESIGN §12: a torn WAL tail is fine; corruption in the
    middle refuses to start with a clear message; never skip records).

    Each case gets a fresh data dir in which crash_writer --stop-at N appends
    N events one by one with durability sync (each append is one WAL record,
    fsynced) and then SIGKILLs itself, so the events live only in the WAL
    (the test checks there is no SST file). The test then edits the newest WAL
    file (DATA_DIR/db/NNNNNN.log) as the case says and opens the log in-process.

    RocksDB's WAL is a series of 32 KiB blocks; each physical record is a
    7-byte header (crc32c 4, length 2 little-endian, type 1) and a payload; a
    logical record (one write batch) that does not fit in the rest of a block
    is split into FIRST/MIDDLE/LAST fragments. The store opens with
    wal_recovery_mode kTolerateCorruptedTailRecords (store/evlog.c).

    What each case simulates, and what must happen:

      torn-tail-record   a process killed in the middle of write() of one
                         more record: the header and half the payload of a
                         copy of the last record appended at the end.
                         Opens; all N events.
      torn-tail-header   the same, killed inside the header: 4 bytes of it.
                         Opens; all N events.
      torn-last-record   the last append torn (as if it never returned): the
                         file cut in the middle of the last record's payload.
                         Opens; the N-1 events before the damage, no more.
      bad-crc-tail       the last record complete but with a flipped payload
                         byte (bit rot; a process kill cannot do this).
                         Refused, naming the path and "corrupt".
      bad-crc-middle     8 payload bytes flipped in the record in the middle
                         of the file. Refused, naming the path and "corrupt".
      bad-len-middle     the length field of a record in a full block (not
                         the last block) set to 0xffff. Refused likewise.
      bad-len-last-block the length field of a record in the last, partial
                         block (with acknowledged records after it) set to
                         0xffff. Must be refused likewise: a store that opens
                         here has silently dropped acknowledged events.

    RocksDB 7.8 alone (kTolerateCorruptedTailRecords) opens bad-len-last-block
    and silently drops every record after the damage: a length that runs past
    the end of the file reads as a torn tail in the last, partial block. The
    store's pre-open scan (store/walcheck.c) refuses it. A case the store
    fails can be marked known_bug in the table; such cases are built into a
    second program (-DFED_WAL_KNOWN_BUGS) that automake runs as XFAIL. None
    is marked today.

    FED_WAL_CASES (a comma-separated list of names) runs exactly those cases.
    The data dirs live under one mkdtemp dir, removed at the end.
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
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coreviews.h"
#include "evlog.h"
#include "identity.h"
#include "log.h"

#define EVENTS 300
#define WRITER_DEADLINE_MS 60000
#define BLOCK 32768
#define HEADER 7

enum { FULL = 1, FIRST = 2, MIDDLE = 3, LAST = 4 };

//  One logical record: its first fragment's header offset, its last
//  fragment's header offset and payload size, and the record's end.
typedef struct {
    size_t start;
    uint8_t start_type; //  FULL or FIRST
    size_t last;        //  header of the last fragment
    size_t last_size;   //  payload bytes of the last fragment
    size_t end;
} record_t;

typedef struct {
    uint8_t *data; //  the WAL file, owned
    size_t size;
    record_t *records; //  logical records, owned
    size_t count;
} wal_t;

//  Damages wal in memory. Sets *expect_seq to the seq that must be held if
//  the store opens. Returns 0, 1 if this WAL's layout does not fit the case
//  (retry with more events), -1 on a bug.
typedef int (damage_fn) (wal_t *wal, uint64_t events, uint64_t *expect_seq);

typedef struct {
    const char *name;
    damage_fn *damage;
    bool must_open; //  true: opens holding expect_seq; false: refused
    bool known_bug; //  the store fails this today (see the top)
} case_t;

//  --- Running the writer ----------------------------------------------------

//  Runs crash_writer --stop-at events in data_dir and checks it acknowledged
//  exactly that and died of SIGKILL. 0, or -1 after printing why.
static int
s_write_events (const char *writer, const char *data_dir, uint64_t events)
{
    char stop [24];
    snprintf (stop, sizeof stop, "%" PRIu64, events);
    int fds [2];
    if (pipe2 (fds, O_CLOEXEC)) {
        perror ("test_wal: pipe2");
        return -1;
    }
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) {
        perror ("test_wal: fork");
        close (fds [0]);
        close (fds [1]);
        return -1;
    }
    if (pid == 0) {
        if (prctl (PR_SET_PDEATHSIG, SIGKILL) || getppid () != parent
            || dup2 (fds [1], STDOUT_FILENO) < 0)
            _exit (127);
        execl (writer, writer, "--stop-at", stop, data_dir, (char *) NULL);
        fprintf (stderr, "test_wal: cannot run %s: %s\n", writer, strerror (errno));
        _exit (127);
    }
    close (fds [1]);
    //  Read the acks until EOF (the writer's death), with a deadline.
    char text [64] = "";
    size_t used = 0;
    uint64_t last_ack = 0;
    int64_t deadline = fed_mono_ms () + WRITER_DEADLINE_MS;
    bool eof = false;
    while (!eof) {
        int64_t left = deadline - fed_mono_ms ();
        struct pollfd pfd = {fds [0], POLLIN, 0};
        int n = left > 0 ? poll (&pfd, 1, (int) left) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf (stderr, "test_wal: expected the writer to finish within %d ms\n",
                     WRITER_DEADLINE_MS);
            break;
        }
        ssize_t got = read (fds [0], text + used, sizeof text - 1 - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            eof = true;
            break;
        }
        used += (size_t) got;
        char *newline;
        while ((newline = memchr (text, '\n', used))) {
            *newline = 0;
            if (sscanf (text, "ack %" SCNu64, &last_ack) != 1)
                fprintf (stderr, "test_wal: unexpected writer line \"%s\"\n", text);
            used -= (size_t) (newline + 1 - text);
            memmove (text, newline + 1, used);
        }
        if (used == sizeof text - 1)
            used = 0;
    }
    close (fds [0]);
    if (!eof)
        kill (pid, SIGKILL);
    int status = 0;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!eof)
        return -1;
    if (!WIFSIGNALED (status) || WTERMSIG (status) != SIGKILL || last_ack != events) {
        fprintf (stderr,
                 "test_wal: expected the writer to ack %" PRIu64 " and die of SIGKILL, "
                 "got last ack %" PRIu64 " and status 0x%x\n",
                 events, last_ack, (unsigned) status);
        return -1;
    }
    return 0;
}

//  --- Reading and editing the WAL --------------------------------------------

//  The newest (highest-numbered) *.log in db_dir; fails if an *.sst exists,
//  since then the events would not live only in the WAL. Caller frees.
static char *
s_newest_wal (const char *db_dir)
{
    DIR *dir = opendir (db_dir);
    if (!dir) {
        fprintf (stderr, "test_wal: cannot list %s: %s\n", db_dir, strerror (errno));
        return NULL;
    }
    unsigned long best = 0;
    bool found = false, sst = false;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        size_t len = strlen (entry->d_name);
        if (len > 4 && strcmp (entry->d_name + len - 4, ".sst") == 0)
            sst = true;
        if (len > 4 && strcmp (entry->d_name + len - 4, ".log") == 0) {
            unsigned long number = strtoul (entry->d_name, NULL, 10);
            if (!found || number > best)
                best = number;
            found = true;
        }
    }
    closedir (dir);
    if (!found || sst) {
        fprintf (stderr, "test_wal: expected WAL files and no SST in %s, got %s\n", db_dir,
                 found ? "an SST file" : "no WAL");
        return NULL;
    }
    return fed_sprintf ("%s/%06lu.log", db_dir, best);
}

//  Loads the WAL and splits it into logical records. 0, or -1 if the file
//  cannot be read or does not parse (then the test's model of it is wrong).
static int
s_wal_load (wal_t *wal, const char *path)
{
    memset (wal, 0, sizeof *wal);
    FILE *file = fopen (path, "rb");
    struct stat st;
    if (!file || fstat (fileno (file), &st)) {
        fprintf (stderr, "test_wal: cannot read %s: %s\n", path, strerror (errno));
        if (file)
            fclose (file);
        return -1;
    }
    wal->size = (size_t) st.st_size;
    wal->data = fed_malloc (wal->size + 1);
    size_t got = fread (wal->data, 1, wal->size, file);
    fclose (file);
    if (got != wal->size) {
        fprintf (stderr, "test_wal: short read of %s\n", path);
        return -1;
    }
    wal->records = fed_calloc (wal->size / HEADER + 1, sizeof (record_t));
    record_t *open = NULL;
    size_t at = 0;
    while (at < wal->size) {
        size_t left_in_block = BLOCK - at % BLOCK;
        if (left_in_block < HEADER) {
            at += left_in_block; //  trailer padding
            continue;
        }
        if (at + HEADER > wal->size)
            break;
        size_t length = wal->data [at + 4] | (size_t) wal->data [at + 5] << 8;
        uint8_t type = wal->data [at + 6];
        if (type < FULL || type > LAST || at + HEADER + length > wal->size
            || ((type == FULL || type == FIRST) != (open == NULL))) {
            fprintf (stderr, "test_wal: %s: unexpected record type %u length %zu at %zu\n", path,
                     type, length, at);
            return -1;
        }
        if (type == FULL || type == FIRST) {
            open = &wal->records [wal->count++];
            open->start = at;
            open->start_type = type;
        }
        open->last = at;
        open->last_size = length;
        open->end = at + HEADER + length;
        if (type == FULL || type == LAST)
            open = NULL;
        at += HEADER + length;
    }
    return 0;
}

static void
s_wal_free (wal_t *wal)
{
    free (wal->data);
    free (wal->records);
    memset (wal, 0, sizeof *wal);
}

static int
s_wal_save (const wal_t *wal, const char *path)
{
    int fd = open (path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0 || write (fd, wal->data, wal->size) != (ssize_t) wal->size || fsync (fd)) {
        fprintf (stderr, "test_wal: cannot rewrite %s: %s\n", path, strerror (errno));
        if (fd >= 0)
            close (fd);
        return -1;
    }
    return close (fd);
}

//  The seq of logical record i: the last `events` records are events 1..N.
static uint64_t
s_seq_of (const wal_t *wal, size_t i, uint64_t events)
{
    return events - (wal->count - 1 - i);
}

//  Appends bytes at the end, as the writer would: padding a block trailer
//  that cannot hold a header first.
static void
s_wal_append (wal_t *wal, const uint8_t *bytes, size_t size)
{
    size_t left_in_block = BLOCK - wal->size % BLOCK;
    size_t pad = left_in_block < HEADER ? left_in_block : 0;
    wal->data = fed_realloc (wal->data, wal->size + pad + size);
    memset (wal->data + wal->size, 0, pad);
    memcpy (wal->data + wal->size + pad, bytes, size);
    wal->size += pad + size;
}

//  --- The cases ---------------------------------------------------------------

static int
s_torn_tail_record (wal_t *wal, uint64_t events, uint64_t *expect_seq)
{
    const record_t *last = &wal->records [wal->count - 1];
    size_t left_in_block = BLOCK - wal->size % BLOCK;
    if (left_in_block < HEADER)
        left_in_block = BLOCK;
    //  The header claims last_size bytes; fewer follow before EOF.
    size_t take = HEADER + last->last_size / 2;
    if (take > left_in_block - 1)
        take = left_in_block - 1 < HEADER ? HEADER : left_in_block - 1;
    uint8_t *copy = fed_malloc (take);
    memcpy (copy, wal->data + last->last, take);
    copy [6] = FULL;
    s_wal_append (wal, copy, take);
    free (copy);
    *expect_seq = events;
    return 0;
}

static int
s_torn_tail_header (wal_t *wal, uint64_t events, uint64_t *expect_seq)
{
    uint8_t header [4];
    memcpy (header, wal->data + wal->records [wal->count - 1].last, sizeof header);
    s_wal_append (wal, header, sizeof header);
    *expect_seq = events;
    return 0;
}

static int
s_torn_last_record (wal_t *wal, uint64_t events, uint64_t *expect_seq)
{
    const record_t *last = &wal->records [wal->count - 1];
    wal->size = last->last + HEADER + last->last_size / 2;
    *expect_seq = events - 1;
    return 0;
}

static int
s_bad_crc_tail (wal_t *wal, uint64_t events, uint64_t *expect_seq)
{
    const record_t *last = &wal->records [wal->count - 1];
    wal->data [last->last + HEADER + last->last_size / 2] ^= 0x40;
    *expect_seq = events;
    return 0;
}

static int
s_bad_crc_middle (wal_t *wal, uint64_t events, uint64_t *expect_seq)
{
    const record_t *middle = &wal->records [wal->count / 2];
    size_t payload = middle->start + HEADER;
    for (size_t i = 0; i < 8; i++)
        wal->data [payload + 16 + i] ^= 0xa5;
    *expect_seq = events;
    return 0;
}

//  Sets the length field of the first FULL record whose header lies in the
//  block chosen by want_last_block and that has records after it.
static int
s_bad_len (wal_t *wal, uint64_t events, uint64_t *expect_seq, bool want_last_block)
{
    size_t last_block = (wal->size - 1) / BLOCK;
    for (size_t i = wal->count - events; i + 2 < wal->count; i++) {
        const record_t *record = &wal->records [i];
        bool in_last_block = record->start / BLOCK == last_block;
        if (record->start_type != FULL || in_last_block != want_last_block)
            continue;
        wal->data [record->start + 4] = 0xff;
        wal->data [record->start + 5] = 0xff;
        *expect_seq = s_seq_of (wal, i, events);
        return 0;
    }
    return 1;
}

static int
s_bad_len_middle (wal_t *wal, uint64_t events, uint64_t *expect_seq)
{
    return s_bad_len (wal, events, expect_seq, false);
}

static int
s_bad_len_last_block (wal_t *wal, uint64_t events, uint64_t *expect_seq)
{
    return s_bad_len (wal, events, expect_seq, true);
}

static const case_t s_cases [] = {
    {"torn-tail-record", s_torn_tail_record, true, false},
    {"torn-tail-header", s_torn_tail_header, true, false},
    {"torn-last-record", s_torn_last_record, true, false},
    {"bad-crc-tail", s_bad_crc_tail, false, false},
    {"bad-crc-middle", s_bad_crc_middle, false, false},
    {"bad-len-middle", s_bad_len_middle, false, false},
    {"bad-len-last-block", s_bad_len_last_block, false, false},
};

//  --- Checking the reopened store ---------------------------------------------

//  Opens data_dir's log and checks the case's outcome. expect_seq is the seq
//  the log must hold if it opens; for a refused case it is the seq of the
//  damaged record. 0, or -1 after printing expected and got.
static int
s_check (const case_t *test, const char *data_dir, uint64_t events, uint64_t expect_seq)
{
    fed_err_t err = {0};
    fed_identity_t *identity = fed_identity_open (data_dir, NULL, &err);
    if (!identity) {
        fprintf (stderr, "test_wal: %s\n", err.text);
        return -1;
    }
    char *db = fed_sprintf ("%s/db", data_dir);
    fed_evlog_options_t options;
    fed_evlog_options_default (&options);
    fed_evlog_t *log = fed_evlog_open (db, &options, &err);
    int rc = -1;
    if (!test->must_open) {
        if (log) {
            uint64_t seq = fed_evlog_seq (log, fed_identity_public (identity));
            fprintf (stderr,
                     "%s: expected the open to FAIL (record of seq %" PRIu64 " damaged), "
                     "got an open store holding seq %" PRIu64 " of %" PRIu64 " acknowledged%s\n",
                     test->name, expect_seq, seq, events,
                     seq < events ? ": ACKNOWLEDGED EVENTS SILENTLY DROPPED" : "");
        } else if (!strstr (err.text, db) || !strstr (err.text, "corrupt"))
            fprintf (stderr, "%s: expected an error naming %s and \"corrupt\", got \"%s\"\n",
                     test->name, db, err.text);
        else {
            printf ("%s: refused as required: %s\n", test->name, err.text);
            rc = 0;
        }
        goto done;
    }
    if (!log) {
        fprintf (stderr, "%s: expected the store to open, got: %s\n", test->name, err.text);
        goto done;
    }
    fed_evlog_set_signer (log, fed_identity_public (identity), fed_identity_secret (identity));
    if (fed_coreviews_register (log, &err)) {
        fprintf (stderr, "%s: %s\n", test->name, err.text);
        goto done;
    }
    uint64_t seq = fed_evlog_seq (log, fed_identity_public (identity));
    fed_verify_report_t report;
    int verified = fed_evlog_verify (log, &report);
    int64_t counted = fed_coreviews_count (log, "total");
    if (seq != expect_seq || verified || report.events != seq || counted != (int64_t) seq)
        fprintf (stderr,
                 "%s: expected seq %" PRIu64 ", a clean audit and the stats view at "
                 "the same count, got seq %" PRIu64 ", audit %s (%" PRIu64 " events, %" PRIu64
                 " bad: %s), stats %" PRId64 "\n",
                 test->name, expect_seq, seq, verified ? "FAILED" : "ok", report.events, report.bad,
                 report.first_error.text, counted);
    else {
        printf ("%s: opened holding seq %" PRIu64 " as required, audit clean\n", test->name, seq);
        rc = 0;
    }

done:
    fed_evlog_destroy (&log);
    fed_identity_destroy (&identity);
    free (db);
    return rc;
}

static int
s_run_case (const case_t *test, const char *writer, const char *base)
{
    int rc = -1;
    for (uint64_t events = EVENTS, attempt = 0; attempt < 4; attempt++, events += 37) {
        char *data_dir = fed_sprintf ("%s/%s-%" PRIu64, base, test->name, attempt);
        char *db = fed_sprintf ("%s/db", data_dir);
        char *path = NULL;
        wal_t wal = {0};
        uint64_t expect_seq = 0;
        int layout = -1;
        if (s_write_events (writer, data_dir, events) == 0 && (path = s_newest_wal (db))
            && s_wal_load (&wal, path) == 0) {
            if (wal.count < events)
                fprintf (stderr, "%s: expected at least %" PRIu64 " WAL records, got %zu\n",
                         test->name, events, wal.count);
            else
                layout = test->damage (&wal, events, &expect_seq);
        }
        if (layout == 0 && s_wal_save (&wal, path) == 0)
            rc = s_check (test, data_dir, events, expect_seq);
        s_wal_free (&wal);
        free (path);
        free (db);
        free (data_dir);
        if (layout != 1)
            break;
    }
    return rc;
}

static int
s_remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

static bool
s_selected (const case_t *test)
{
    const char *list = getenv ("FED_WAL_CASES");
    if (!list || !*list) {
#ifdef FED_WAL_KNOWN_BUGS
        return test->known_bug;
#else
        return !test->known_bug;
#endif
    }
    const char *name = test->name;
    size_t len = strlen (name);
    for (const char *at = strstr (list, name); at; at = strstr (at + 1, name))
        if ((at == list || at [-1] == ',') && (at [len] == 0 || at [len] == ','))
            return true;
    return false;
}

int
main (void)
{
    const char *builddir = getenv ("FED_BUILDDIR");
    char *writer =
        fed_sprintf ("%s/tests/integration/crash_writer", builddir ? builddir : FED_BUILDDIR);
    const char *tmp = getenv ("TMPDIR");
    char *base = fed_sprintf ("%s/fed-wal-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (base)) {
        perror ("test_wal: mkdtemp");
        free (base);
        free (writer);
        return 1;
    }
    signal (SIGPIPE, SIG_IGN);
    fed_log_set_level (FED_LOG_WARN);
    int failed = 0, ran = 0;
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases [0]; i++)
        if (s_selected (&s_cases [i])) {
            ran++;
            if (s_run_case (&s_cases [i], writer, base))
                failed++;
        }
    if (nftw (base, s_remove_one, 16, FTW_DEPTH | FTW_PHYS))
        fprintf (stderr, "test_wal: cannot remove %s\n", base);
    free (base);
    free (writer);
    printf ("wal: %d cases, %d failed\n", ran, failed);
    return failed ? 1 : 0;
}
