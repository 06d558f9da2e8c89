/*  node/fedctl_print_runs.c: how fedctl shows workflow runs and approvals.

    See fedctl_print.h. A run map is the deepest result fedctl prints (steps
    holding approvals holding votes), and it comes from a node that may be
    newer, older or broken, so every field is read through one typed reader
    that accepts it absent or nil and refuses it of another type, naming
    it. The text is built in memory and written out only when the whole
    result read well: a bad reply prints an error, never half a table.
*/
#include "fedctl_print.h"
#include "json.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_OUTPUT_SHOWN 100 //  characters of a step's output shown
#define S_PARAMS_SHOWN 200 //  characters of a run's params shown
#define S_MESSAGE_SHOWN 60 //  characters of an approval message in the table
#define S_COORDINATOR_ID 8 //  characters of a key shown when a node has no name

//  Reads fields of one result, remembering the first wrong one.
typedef struct {
    fed_err_t *err;  //  the caller's, filled at the first bad field
    bool bad;        //  a field was of the wrong type
    char where [64]; //  what is being read ("steps[2]"), for the message
} s_reader_t;

static const char *
s_type_name (fed_mp_type_t type)
{
    switch (type) {
        case FED_MP_NIL: return "nil";
        case FED_MP_BOOL: return "a bool";
        case FED_MP_UINT: return "a uint";
        case FED_MP_INT: return "an int";
        case FED_MP_FLOAT: return "a float";
        case FED_MP_STR: return "a str";
        case FED_MP_BIN: return "a bin";
        case FED_MP_ARRAY: return "an array";
        case FED_MP_MAP: return "a map";
        case FED_MP_EXT: return "an ext";
        default: return "truncated";
    }
}

static fed_mp_type_t
s_type (fed_blob_t value)
{
    fed_mpr_t reader;
    fed_mpr_init (&reader, value.data, value.size);
    return fed_mpr_peek (&reader);
}

static void
s_wrong (s_reader_t *rd, const char *key, fed_mp_type_t got, const char *wanted)
{
    if (!rd->bad)
        fed_err_set (rd->err, FED_MALFORMED, "%s%s'%s' is %s, not %s", rd->where,
                     *rd->where ? ": " : "", key, s_type_name (got), wanted);
    rd->bad = true;
}

//  map[key] when present, not nil and of type (FED_MP_INT also takes a
//  uint). Absent or nil: false. Another type: false, and rd is bad.
static bool
s_field (s_reader_t *rd, fed_blob_t map, const char *key, fed_mp_type_t type, const char *wanted,
         fed_blob_t *value)
{
    int rc = fed_print_get (map, key, value);
    if (rc == FED_MALFORMED && !rd->bad) {
        fed_err_set (rd->err, FED_MALFORMED, "%s%snot a whole msgpack map", rd->where,
                     *rd->where ? ": " : "");
        rd->bad = true;
    }
    if (rc)
        return false;
    fed_mp_type_t got = s_type (*value);
    if (got == FED_MP_NIL)
        return false;
    if (got == type || (type == FED_MP_INT && got == FED_MP_UINT))
        return true;
    s_wrong (rd, key, got, wanted);
    return false;
}

//  Replaces what a terminal would act on: line breaks and tabs by spaces,
//  other control characters by '?', and every non-ASCII byte by '?' when
//  the text is not valid UTF-8.
static char *
s_clean (char *text)
{
    bool utf8 = fed_text_valid (text, strlen (text));
    for (unsigned char *p = (unsigned char *) text; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
        else if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && !utf8))
            *p = '?';
    return text;
}

//  Cuts text to at most max characters (UTF-8 sequences count as one, and
//  are never split), ending it with "…" when it was longer. Takes text;
//  caller owns the result.
static char *
s_cut (char *text, size_t max)
{
    size_t chars = 0, i = 0;
    for (; text [i]; i++)
        if (((unsigned char) text [i] & 0xc0) != 0x80 && chars++ == max)
            break;
    if (!text [i])
        return text;
    //  i starts character max + 1: keep max - 1 of them and the ellipsis.
    size_t keep = 0;
    chars = 0;
    for (; text [keep]; keep++)
        if (((unsigned char) text [keep] & 0xc0) != 0x80 && chars++ == max - 1)
            break;
    char *cut = fed_sprintf ("%.*s\xe2\x80\xa6", (int) keep, text);
    free (text);
    return cut;
}

//  A str field, cleaned; NULL when absent or nil (or bad). Caller frees.
static char *
s_str (s_reader_t *rd, fed_blob_t map, const char *key)
{
    fed_blob_t value;
    if (!s_field (rd, map, key, FED_MP_STR, "a str", &value))
        return NULL;
    return s_clean (fed_print_text (value, 0));
}

//  s_str, or "-" in its place. Caller frees.
static char *
s_str_or_dash (s_reader_t *rd, fed_blob_t map, const char *key)
{
    char *text = s_str (rd, map, key);
    return text ? text : fed_strdup ("-");
}

//  An int or uint field (a uint past INT64_MAX is bad). False when absent
//  or nil.
static bool
s_int (s_reader_t *rd, fed_blob_t map, const char *key, int64_t *number)
{
    fed_blob_t value;
    if (!s_field (rd, map, key, FED_MP_INT, "an integer", &value))
        return false;
    fed_mpr_t reader;
    fed_mpr_init (&reader, value.data, value.size);
    uint64_t u;
    if (s_type (value) == FED_MP_UINT) {
        if (fed_mpr_uint (&reader, &u) == 0 && u <= INT64_MAX) {
            *number = (int64_t) u;
            return true;
        }
    } else if (fed_mpr_int (&reader, number) == 0)
        return true;
    s_wrong (rd, key, FED_MP_UINT, "an integer that fits 64 bits");
    return false;
}

static bool
s_bool (s_reader_t *rd, fed_blob_t map, const char *key)
{
    fed_blob_t value;
    bool flag = false;
    if (s_field (rd, map, key, FED_MP_BOOL, "a bool", &value)) {
        fed_mpr_t reader;
        fed_mpr_init (&reader, value.data, value.size);
        if (fed_mpr_bool (&reader, &flag))
            flag = false;
    }
    return flag;
}

//  Compact JSON of a value, cleaned and cut to max characters. Caller frees.
static char *
s_json (s_reader_t *rd, const char *key, fed_blob_t value, size_t max)
{
    char *json = fed_json_from_msgpack (value.data, value.size, false);
    if (!json) {
        s_wrong (rd, key, s_type (value), "a value JSON can show");
        return fed_strdup ("?");
    }
    return s_cut (s_clean (json), max);
}

//  "850ms", "12.3s", "3m12s", "2h05m", "3d04h".
static char *
s_duration (int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms < 1000)
        return fed_sprintf ("%" PRId64 "ms", ms);
    if (ms < 60000)
        return fed_sprintf ("%" PRId64 ".%" PRId64 "s", ms / 1000, ms % 1000 / 100);
    int64_t s = ms / 1000;
    if (s < 3600)
        return fed_sprintf ("%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    if (s < 86400)
        return fed_sprintf ("%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
    return fed_sprintf ("%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
}

//  When then is, from now, to the second: "3m12s ago", "in 5m00s", "now".
static char *
s_relative (int64_t now_ms, int64_t then_ms)
{
    int64_t delta = now_ms - then_ms;
    int64_t size = delta < 0 ? -delta : delta;
    if (size < 1000)
        return fed_strdup ("now");
    char *text = s_duration (size / 1000 * 1000);
    //  Whole seconds: "12.0s" reads better as "12s".
    char *dot = strstr (text, ".0s");
    if (dot)
        memmove (dot, dot + 2, strlen (dot + 2) + 1);
    char *relative = delta > 0 ? fed_sprintf ("%s ago", text) : fed_sprintf ("in %s", text);
    free (text);
    return relative;
}

//  A time field as UTC with how long ago ("2026-…Z (3m12s ago)"), or "-".
static char *
s_when (s_reader_t *rd, fed_blob_t map, const char *key, int64_t now_ms)
{
    int64_t ms;
    if (!s_int (rd, map, key, &ms))
        return fed_strdup ("-");
    char *time = fed_print_time (ms < 0 ? 0 : (uint64_t) ms);
    char *relative = s_relative (now_ms, ms);
    char *text = fed_sprintf ("%s (%s)", time, relative);
    free (time);
    free (relative);
    return text;
}

//  A node as people know it: its name field, else its key field's first
//  characters, else "-".
static char *
s_node (s_reader_t *rd, fed_blob_t map, const char *name_key, const char *key_key)
{
    char *name = s_str (rd, map, name_key);
    char *key = s_str (rd, map, key_key);
    if (name && *name) {
        free (key);
        return name;
    }
    free (name);
    if (!key)
        return fed_strdup ("-");
    if (strlen (key) > S_COORDINATOR_ID)
        key [S_COORDINATOR_ID] = 0;
    return key;
}

//  The top of a result must be a map (or an array): else nothing reads.
static int
s_expect (s_reader_t *rd, fed_blob_t value, fed_mp_type_t type, const char *what)
{
    fed_mp_type_t got = s_type (value);
    fed_mpr_t reader;
    fed_mpr_init (&reader, value.data, value.size);
    if (got == type && fed_mpr_skip (&reader, NULL) == 0)
        return 0;
    if (got == type) {
        fed_err_set (rd->err, FED_MALFORMED, "%s is cut short: not whole msgpack",
                     *rd->where ? rd->where : "the result");
        rd->bad = true;
        return FED_MALFORMED;
    }
    fed_err_set (rd->err, FED_MALFORMED, "%s is %s, not %s", *rd->where ? rd->where : "the result",
                 s_type_name (got), what);
    rd->bad = true;
    return FED_MALFORMED;
}

//  Closes memory (made by s_memory with *text_p and *size_p) and writes
//  what it holds to out when rd read well. Frees the text.
static int
s_finish (s_reader_t *rd, FILE *out, FILE *memory, char **text_p, size_t *size_p)
{
    fclose (memory);
    if (!rd->bad)
        fwrite (*text_p, 1, *size_p, out);
    free (*text_p);
    *text_p = NULL;
    return rd->bad ? FED_MALFORMED : 0;
}

static FILE *
s_memory (char **text, size_t *size)
{
    FILE *memory = open_memstream (text, size);
    if (!memory)
        abort (); //  out of memory, as fed_malloc does
    return memory;
}

//  --- run.start, run.cancel, approve, reject --------------------------------

int
fed_print_run_started (FILE *out, fed_blob_t result, fed_err_t *err)
{
    s_reader_t rd = {err, false, ""};
    if (s_expect (&rd, result, FED_MP_MAP, "a map"))
        return FED_MALFORMED;
    char *run = s_str (&rd, result, "run");
    if (!rd.bad && (!run || !*run)) {
        fed_err_set (err, FED_MALFORMED, "'run' (the run id) is missing");
        rd.bad = true;
    }
    if (!rd.bad)
        fprintf (out, "%s\n", run);
    free (run);
    return rd.bad ? FED_MALFORMED : 0;
}

int
fed_print_run_cancel (FILE *out, fed_blob_t result, fed_err_t *err)
{
    s_reader_t rd = {err, false, ""};
    if (s_expect (&rd, result, FED_MP_MAP, "a map"))
        return FED_MALFORMED;
    char *run = s_str_or_dash (&rd, result, "run");
    char *state = s_str_or_dash (&rd, result, "state");
    if (!rd.bad) {
        if (strcmp (state, "cancelling") == 0)
            fprintf (out, "cancelling %s (another node coordinates it and will cancel it)\n", run);
        else
            fprintf (out, "%s %s\n", state, run);
    }
    free (run);
    free (state);
    return rd.bad ? FED_MALFORMED : 0;
}

int
fed_print_decision (FILE *out, fed_blob_t result, bool approve, fed_err_t *err)
{
    s_reader_t rd = {err, false, ""};
    if (s_expect (&rd, result, FED_MP_MAP, "a map"))
        return FED_MALFORMED;
    char *run = s_str_or_dash (&rd, result, "run");
    char *step = s_str_or_dash (&rd, result, "step");
    int64_t approvals = 0, needed = 0;
    bool counted = approve && s_int (&rd, result, "approvals", &approvals);
    bool has_needed = approve && s_int (&rd, result, "needed", &needed);
    if (!rd.bad) {
        fprintf (out, "%s %s/%s", approve ? "approved" : "rejected", run, step);
        if (counted && has_needed)
            fprintf (out, " (%" PRId64 " of %" PRId64 " approval%s)", approvals, needed,
                     needed == 1 ? "" : "s");
        else if (counted)
            fprintf (out, " (%" PRId64 " approval%s)", approvals, approvals == 1 ? "" : "s");
        fprintf (out, "\n");
    }
    free (run);
    free (step);
    return rd.bad ? FED_MALFORMED : 0;
}

//  --- run summaries -----------------------------------------------------------

//  "DONE/STEPS", or "-" when the node did not say.
static char *
s_progress (s_reader_t *rd, fed_blob_t summary)
{
    int64_t done, steps;
    bool has_done = s_int (rd, summary, "done", &done);
    bool has_steps = s_int (rd, summary, "steps", &steps);
    if (has_done && has_steps)
        return fed_sprintf ("%" PRId64 "/%" PRId64, done, steps);
    if (has_done)
        return fed_sprintf ("%" PRId64 "/?", done);
    return fed_strdup ("-");
}

//  How long a run took, or has been running: "1m12s", "running for 12.0s".
static char *
s_run_duration (s_reader_t *rd, fed_blob_t map, int64_t now_ms)
{
    int64_t started, ended;
    if (!s_int (rd, map, "started_ms", &started))
        return fed_strdup ("-");
    if (s_int (rd, map, "ended_ms", &ended))
        return s_duration (ended - started);
    char *duration = s_duration (now_ms - started);
    char *text = fed_sprintf ("running for %s", duration);
    free (duration);
    return text;
}

typedef struct {
    s_reader_t *rd;
    fed_table_t *table;
    int64_t now_ms;
    size_t index;
} s_rows_t;

static void
s_run_row (fed_blob_t summary, void *arg)
{
    s_rows_t *rows = (s_rows_t *) arg;
    s_reader_t *rd = rows->rd;
    snprintf (rd->where, sizeof rd->where, "[%zu]", rows->index++);
    if (rd->bad || s_expect (rd, summary, FED_MP_MAP, "a map (a run summary)"))
        return;
    int64_t started;
    char *age = s_int (rd, summary, "started_ms", &started) ? s_relative (rows->now_ms, started)
                                                            : fed_strdup ("-");
    fed_table_add (rows->table, s_str_or_dash (rd, summary, "run"),
                   s_str_or_dash (rd, summary, "workflow"), s_str_or_dash (rd, summary, "version"),
                   s_str_or_dash (rd, summary, "state"), s_progress (rd, summary), age,
                   s_node (rd, summary, "coordinator_name", "coordinator"));
}

int
fed_print_runs (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err)
{
    s_reader_t rd = {err, false, ""};
    if (s_expect (&rd, result, FED_MP_ARRAY, "an array of run summaries"))
        return FED_MALFORMED;
    fed_table_t *table = fed_table_new ("RUN", "WORKFLOW", "VERSION", "STATE", "STEPS", "STARTED",
                                        "COORDINATOR", NULL);
    s_rows_t rows = {&rd, table, now_ms, 0};
    if (fed_print_each (result, s_run_row, &rows) && !rd.bad) {
        fed_err_set (err, FED_MALFORMED, "the result is not a whole msgpack array");
        rd.bad = true;
    }
    if (!rd.bad && fed_table_rows (table))
        fed_table_print (table, out);
    else if (!rd.bad)
        fprintf (out, "no runs\n");
    fed_table_destroy (&table);
    return rd.bad ? FED_MALFORMED : 0;
}

int
fed_print_run_summary (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err)
{
    s_reader_t rd = {err, false, ""};
    if (s_expect (&rd, result, FED_MP_MAP, "a map (a run summary)"))
        return FED_MALFORMED;
    char *run = s_str_or_dash (&rd, result, "run");
    char *workflow = s_str_or_dash (&rd, result, "workflow");
    char *version = s_str_or_dash (&rd, result, "version");
    char *state = s_str_or_dash (&rd, result, "state");
    char *progress = s_progress (&rd, result);
    char *duration = s_run_duration (&rd, result, now_ms);
    char *reason = s_str (&rd, result, "reason");
    if (!rd.bad) {
        if (strcmp (state, "running") == 0)
            fprintf (out, "%s %s@%s still running: %s steps done, %s\n", run, workflow, version,
                     progress, duration);
        else
            fprintf (out, "%s %s@%s %s: %s steps done in %s\n", run, workflow, version, state,
                     progress, duration);
        if (reason)
            fprintf (out, "reason: %s\n", reason);
    }
    free (run);
    free (workflow);
    free (version);
    free (state);
    free (progress);
    free (duration);
    free (reason);
    return rd.bad ? FED_MALFORMED : 0;
}

//  --- run.show ------------------------------------------------------------------

//  "a, b, c" of an array of str (cleaned), or NULL when absent or empty.
static char *
s_str_list (s_reader_t *rd, fed_blob_t map, const char *key)
{
    fed_blob_t array;
    if (!s_field (rd, map, key, FED_MP_ARRAY, "an array", &array))
        return NULL;
    fed_mpr_t reader;
    fed_mpr_init (&reader, array.data, array.size);
    uint32_t count;
    if (fed_mpr_array (&reader, &count) || count == 0)
        return NULL;
    char *text = fed_strdup ("");
    for (uint32_t i = 0; i < count; i++) {
        const char *item;
        uint32_t size;
        if (fed_mpr_str (&reader, &item, &size)) {
            s_wrong (rd, key, fed_mpr_peek (&reader), "an array of str");
            break;
        }
        char *longer = fed_sprintf ("%s%s%.*s", text, i ? ", " : "", (int) size, item);
        free (text);
        text = longer;
    }
    return s_clean (text);
}

typedef struct {
    s_reader_t *rd;
    fed_table_t *table;
    const char *indent;
    int64_t approvals; //  approving votes seen
    size_t index;
} s_votes_t;

//  One vote of an approval, as a note: `approve by alice: "ok" (value
//  small)`, marked late when recorded after the decision.
static void
s_vote_note (fed_blob_t vote, void *arg)
{
    s_votes_t *votes = (s_votes_t *) arg;
    s_reader_t *rd = votes->rd;
    char where [sizeof rd->where];
    memcpy (where, rd->where, sizeof where);
    size_t length = strlen (rd->where);
    snprintf (rd->where + length, sizeof rd->where - length, ".votes[%zu]", votes->index++);
    if (!rd->bad && s_expect (rd, vote, FED_MP_MAP, "a map (a vote)") == 0) {
        char *decision = s_str_or_dash (rd, vote, "decision");
        char *who = s_node (rd, vote, "name", "by");
        char *comment = s_str (rd, vote, "comment");
        char *value = s_str (rd, vote, "value");
        bool late = s_bool (rd, vote, "late");
        if (strcmp (decision, "approve") == 0)
            votes->approvals++;
        char *quoted = comment && *comment ? fed_sprintf (": \"%s\"", comment) : fed_strdup ("");
        char *valued = value ? fed_sprintf (" (value %s)", value) : fed_strdup ("");
        if (votes->table)
            fed_table_note (votes->table,
                            fed_sprintf ("%s%s by %s%s%s%s", votes->indent, decision, who, quoted,
                                         valued, late ? " [late]" : ""));
        free (decision);
        free (who);
        free (comment);
        free (value);
        free (quoted);
        free (valued);
    }
    memcpy (rd->where, where, sizeof where);
}

//  Reads an approval's votes: counts the approving ones and, with a
//  table, adds each as a note under its last row.
static int64_t
s_votes (s_reader_t *rd, fed_blob_t approval, fed_table_t *table)
{
    s_votes_t votes = {rd, table, "      ", 0, 0};
    fed_blob_t list;
    if (s_field (rd, approval, "votes", FED_MP_ARRAY, "an array", &list)
        && fed_print_each (list, s_vote_note, &votes))
        s_wrong (rd, "votes", FED_MP_NONE, "a whole array");
    return votes.approvals;
}

//  A step's approval map as notes under it.
static void
s_approval_notes (s_reader_t *rd, fed_table_t *table, fed_blob_t approval, int64_t now_ms)
{
    if (s_expect (rd, approval, FED_MP_MAP, "a map (an approval)"))
        return;
    char *message = s_str_or_dash (rd, approval, "message");
    int64_t needed = 0, deadline;
    bool has_needed = s_int (rd, approval, "min_approvals", &needed);
    char *values = s_str_list (rd, approval, "values");
    char *approvers = s_str_list (rd, approval, "approvers");
    char *deadline_text =
        s_int (rd, approval, "deadline_ms", &deadline) ? s_relative (now_ms, deadline) : NULL;
    bool escalated = s_bool (rd, approval, "escalated");
    char *outcome = s_str (rd, approval, "outcome");
    char *value = s_str (rd, approval, "value");
    if (outcome) {
        //  Decided: the deadline no longer means anything.
        free (deadline_text);
        deadline_text = NULL;
    }
    int64_t approvals = s_votes (rd, approval, NULL);
    char *counted = has_needed
        ? fed_sprintf ("%" PRId64 " of %" PRId64 " approvals", approvals, needed)
        : fed_sprintf ("%" PRId64 " approvals", approvals);
    fed_table_note (table, fed_sprintf ("    approval: %s", message));
    fed_table_note (table,
                    fed_sprintf ("      %s%s%s%s%s%s%s", counted, values ? "; values: " : "",
                                 values ? values : "", approvers ? "; approvers: " : "",
                                 approvers ? approvers : "", deadline_text ? "; deadline " : "",
                                 deadline_text ? deadline_text : ""));
    if (escalated)
        fed_table_note (table, fed_strdup ("      escalated: only an admin may decide now"));
    (void) s_votes (rd, approval, table);
    if (outcome && value)
        fed_table_note (table, fed_sprintf ("      outcome: %s (value %s)", outcome, value));
    else if (outcome)
        fed_table_note (table, fed_sprintf ("      outcome: %s", outcome));
    free (counted);
    free (message);
    free (values);
    free (approvers);
    free (deadline_text);
    free (outcome);
    free (value);
}

typedef struct {
    s_reader_t *rd;
    fed_table_t *table;
    int64_t now_ms;
    size_t index;
} s_steps_t;

//  TIME: the agent's ms when it ended, "running for …" while it runs.
static char *
s_step_time (s_reader_t *rd, fed_blob_t step, const char *state, int64_t now_ms)
{
    int64_t ms, started;
    if (s_int (rd, step, "ms", &ms))
        return s_duration (ms);
    if (strcmp (state, "running") == 0 && s_int (rd, step, "started_ms", &started)) {
        char *duration = s_duration (now_ms - started);
        char *text = fed_sprintf ("running for %s", duration);
        free (duration);
        return text;
    }
    return fed_strdup ("-");
}

static void
s_step_row (fed_blob_t step, void *arg)
{
    s_steps_t *steps = (s_steps_t *) arg;
    s_reader_t *rd = steps->rd;
    snprintf (rd->where, sizeof rd->where, "steps[%zu]", steps->index++);
    if (rd->bad || s_expect (rd, step, FED_MP_MAP, "a map (a step)"))
        return;
    char *agent = s_str_or_dash (rd, step, "agent");
    if (!*agent) {
        free (agent);
        agent = fed_strdup ("(approval)");
    }
    char *state = s_str_or_dash (rd, step, "state");
    int64_t attempt = 0;
    char *attempt_text = s_int (rd, step, "attempt", &attempt) && attempt > 0
        ? fed_sprintf ("%" PRId64, attempt)
        : fed_strdup ("-");
    char *time = s_step_time (rd, step, state, steps->now_ms);
    fed_table_add (steps->table, s_str_or_dash (rd, step, "id"), agent, state,
                   s_node (rd, step, "node_name", "node"), attempt_text, time);
    fed_blob_t value;
    if (s_field (rd, step, "error", FED_MP_MAP, "a map", &value)) {
        char *code = s_str_or_dash (rd, value, "code");
        char *message = s_str_or_dash (rd, value, "message");
        fed_table_note (steps->table, fed_sprintf ("    error: %s: %s", code, message));
        free (code);
        free (message);
    }
    char *waiting = s_str (rd, step, "waiting");
    if (waiting)
        fed_table_note (steps->table, fed_sprintf ("    waiting: %s", waiting));
    free (waiting);
    if (s_field (rd, step, "progress", FED_MP_MAP, "a map", &value)) {
        int64_t done = 0, total = 0;
        (void) s_int (rd, value, "done", &done);
        (void) s_int (rd, value, "total", &total);
        char *text = s_str (rd, value, "text");
        char *amount = total > 0 ? fed_sprintf ("%" PRId64 " of %" PRId64 " (%" PRId64 "%%)", done,
                                                total, total ? done * 100 / total : 0)
                                 : fed_sprintf ("%" PRId64, done);
        fed_table_note (
            steps->table,
            fed_sprintf ("    progress: %s%s%s", amount, text ? ": " : "", text ? text : ""));
        free (amount);
        free (text);
    }
    if (s_field (rd, step, "approval", FED_MP_MAP, "a map", &value))
        s_approval_notes (rd, steps->table, value, steps->now_ms);
    if (s_field (rd, step, "output", FED_MP_MAP, "a map", &value)) {
        char *json = s_json (rd, "output", value, S_OUTPUT_SHOWN);
        fed_table_note (steps->table, fed_sprintf ("    output: %s", json));
        free (json);
    }
}

int
fed_print_run (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err)
{
    s_reader_t rd = {err, false, ""};
    if (s_expect (&rd, result, FED_MP_MAP, "a map (a run map)"))
        return FED_MALFORMED;
    char *text = NULL;
    size_t size = 0;
    FILE *memory = s_memory (&text, &size);
    fed_table_t *header = fed_table_new ("", "", NULL);
    char *workflow = s_str_or_dash (&rd, result, "workflow");
    char *version = s_str_or_dash (&rd, result, "version");
    fed_table_add (header, fed_strdup ("run:"), s_str_or_dash (&rd, result, "run"));
    fed_table_add (header, fed_strdup ("workflow:"), fed_sprintf ("%s@%s", workflow, version));
    free (workflow);
    free (version);
    fed_table_add (header, fed_strdup ("state:"), s_str_or_dash (&rd, result, "state"));
    char *name = s_str (&rd, result, "coordinator_name");
    char *key = s_str_or_dash (&rd, result, "coordinator");
    fed_table_add (header, fed_strdup ("coordinator:"),
                   name && *name ? fed_sprintf ("%s (%s)", name, key) : fed_strdup (key));
    free (name);
    free (key);
    fed_table_add (header, fed_strdup ("started by:"), s_str_or_dash (&rd, result, "by"));
    fed_table_add (header, fed_strdup ("started:"), s_when (&rd, result, "started_ms", now_ms));
    fed_table_add (header, fed_strdup ("ended:"), s_when (&rd, result, "ended_ms", now_ms));
    fed_table_add (header, fed_strdup ("duration:"), s_run_duration (&rd, result, now_ms));
    fed_blob_t params;
    fed_table_add (header, fed_strdup ("params:"),
                   s_field (&rd, result, "params", FED_MP_MAP, "a map", &params)
                       ? s_json (&rd, "params", params, S_PARAMS_SHOWN)
                       : fed_strdup ("-"));
    fed_table_add (header, fed_strdup ("reason:"), s_str_or_dash (&rd, result, "reason"));
    fed_table_print (header, memory);
    fed_table_destroy (&header);

    fed_blob_t steps;
    if (s_field (&rd, result, "steps", FED_MP_ARRAY, "an array of step maps", &steps)) {
        fed_table_t *table =
            fed_table_new ("STEP", "AGENT", "STATE", "NODE", "ATTEMPT", "TIME", NULL);
        s_steps_t rows = {&rd, table, now_ms, 0};
        if (fed_print_each (steps, s_step_row, &rows) && !rd.bad) {
            fed_err_set (err, FED_MALFORMED, "'steps' is not a whole msgpack array");
            rd.bad = true;
        }
        fprintf (memory, "\n");
        fed_table_print (table, memory);
        fed_table_destroy (&table);
    }
    return s_finish (&rd, out, memory, &text, &size);
}

//  --- approvals ------------------------------------------------------------------

static void
s_approval_row (fed_blob_t approval, void *arg)
{
    s_rows_t *rows = (s_rows_t *) arg;
    s_reader_t *rd = rows->rd;
    snprintf (rd->where, sizeof rd->where, "[%zu]", rows->index++);
    if (rd->bad || s_expect (rd, approval, FED_MP_MAP, "a map (an approval)"))
        return;
    int64_t since, deadline, needed;
    char *waiting = s_int (rd, approval, "since_ms", &since) ? s_relative (rows->now_ms, since)
                                                             : fed_strdup ("-");
    char *deadline_text = s_int (rd, approval, "deadline_ms", &deadline)
        ? s_relative (rows->now_ms, deadline)
        : fed_strdup ("-");
    bool has_needed = s_int (rd, approval, "min_approvals", &needed);
    //  Approvals so far: the approving votes (a rejection decides at once).
    int64_t approvals = s_votes (rd, approval, NULL);
    char *counted = has_needed ? fed_sprintf ("%" PRId64 "/%" PRId64, approvals, needed)
                               : fed_sprintf ("%" PRId64 "/?", approvals);
    char *message = s_str (rd, approval, "message");
    fed_table_add (rows->table, s_str_or_dash (rd, approval, "run"),
                   s_str_or_dash (rd, approval, "step"), s_str_or_dash (rd, approval, "workflow"),
                   waiting, counted, deadline_text,
                   message ? s_cut (message, S_MESSAGE_SHOWN) : fed_strdup ("-"));
    char *values = s_str_list (rd, approval, "values");
    if (values)
        fed_table_note (rows->table, fed_sprintf ("  values: %s (--value V)", values));
    free (values);
    if (s_bool (rd, approval, "escalated"))
        fed_table_note (rows->table, fed_strdup ("  escalated: only an admin may decide now"));
}

int
fed_print_approvals (FILE *out, fed_blob_t result, int64_t now_ms, fed_err_t *err)
{
    s_reader_t rd = {err, false, ""};
    if (s_expect (&rd, result, FED_MP_ARRAY, "an array of approvals"))
        return FED_MALFORMED;
    fed_table_t *table =
        fed_table_new ("RUN", "STEP", "WORKFLOW", "WAITING", "VOTES", "DEADLINE", "MESSAGE", NULL);
    s_rows_t rows = {&rd, table, now_ms, 0};
    if (fed_print_each (result, s_approval_row, &rows) && !rd.bad) {
        fed_err_set (err, FED_MALFORMED, "the result is not a whole msgpack array");
        rd.bad = true;
    }
    if (!rd.bad && fed_table_rows (table))
        fed_table_print (table, out);
    else if (!rd.bad)
        fprintf (out, "no steps awaiting approval\n");
    fed_table_destroy (&table);
    return rd.bad ? FED_MALFORMED : 0;
}
