/*  agents/data_ingest_sql.c: data.ingest's sqlite and postgres sources
    (data_ingest.h).

    Both run one read-only query and stream its rows into the sink, one at a
    time, so memory stays bounded whatever the result's size: SQLite steps
    its statement (sqlite3_step), PostgreSQL sends rows one by one in
    single-row mode (PQsetSingleRowMode). A NULL is an empty field; text
    that is not valid UTF-8 refuses its row. Reject line numbers are the
    result's row numbers (offset 0).

    SQLite: the database file is an input path (confined as every input,
    dataio.h), opened read-only, with ATTACH disabled (it could open files
    outside the confinement), one statement only, and it must not write.
    A blob is refused with its row unless param blobs is "hex" (then it is
    written as lower-case hex): a table of text should not silently hold
    binary, and hex(col) in the query says the same thing explicitly.

    PostgreSQL: conninfo as libpq reads it, but without a password (the
    params are recorded in the output and the event log; a password goes in
    a password file, PGPASSFILE or ~/.pgpass). The query runs in a READ
    ONLY transaction that is rolled back, as one statement (the extended
    protocol refuses several); client_encoding is UTF8; booleans are
    written true/false. A cancelled task cancels the query on the server.

    Without a library at build time its source fails "unsupported", naming
    the Debian package that enables it.
*/
#include "fed_build.h"
#include "data_ingest.h"
#include "log.h"

#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_SQLITE
#include <sqlite3.h>
#endif
#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#define PROGRESS_ROWS 1024

//  Reads param name: a map {conn: "...", query: "..."} (conn is "database"
//  or "conninfo"). Returns 0 with both set (copies the caller frees), or
//  -1 having failed the task (either may then be set, or NULL).
static int
s_query_params (fed_task_t *task, const char *name, const char *conn, const char **conn_value,
                const char **query)
{
    fed_mpr_t mpr;
    uint32_t count;
    char **slots [2] = {(char **) conn_value, (char **) query};
    const char *keys [2] = {conn, "query"};
    *conn_value = *query = NULL;
    if (fed_task_param_type (task, name) != FED_MP_MAP
        || fed_task_param_map (task, name, &mpr, &count))
        return fed_task_fail (task, "bad_params", "param \"%s\" must be a map {%s, query}", name,
                              conn);
    //  msgpack strings are not NUL-terminated: each value is copied, and
    //  the caller frees both copies, on failure too.
    for (uint32_t i = 0; i < count; i++) {
        const char *key, *value;
        uint32_t klen, vlen;
        if (fed_mpr_str (&mpr, &key, &klen))
            return fed_task_fail (task, "bad_params", "param \"%s\": keys must be strings", name);
        int slot = -1;
        for (int k = 0; k < 2; k++)
            if (strlen (keys [k]) == klen && !memcmp (key, keys [k], klen))
                slot = k;
        if (slot < 0)
            return fed_task_fail (task, "bad_params",
                                  "param \"%s\": unknown key '%.*s' (it takes %s and query)", name,
                                  (int) (klen < 64 ? klen : 64), key, conn);
        if (fed_mpr_peek (&mpr) != FED_MP_STR || fed_mpr_str (&mpr, &value, &vlen)
            || memchr (value, 0, vlen) || vlen == 0)
            return fed_task_fail (task, "bad_params", "param \"%s\": %s must be a non-empty string",
                                  name, keys [slot]);
        free (*slots [slot]);
        *slots [slot] = fed_strndup (value, vlen);
    }
    for (int k = 0; k < 2; k++)
        if (!*slots [k])
            return fed_task_fail (task, "bad_params", "param \"%s\": %s is missing", name,
                                  keys [k]);
    return 0;
}

//  Packs the source output's common part: kind, query and rows, after
//  extra more pairs the caller packs next.
static void
s_source_begin (msgpack_packer *pk, const char *kind, const char *query, uint64_t rows, int extra)
{
    msgpack_pack_map (pk, 3 + extra);
    fed_data_pack_str (pk, "kind");
    fed_data_pack_str (pk, kind);
    fed_data_pack_str (pk, "query");
    fed_data_pack_str (pk, query);
    fed_data_pack_str (pk, "rows");
    msgpack_pack_uint64 (pk, rows);
}

static void
s_progress (fed_task_t *task, uint64_t rows)
{
    char text [64];
    snprintf (text, sizeof text, "rows %" PRIu64, rows);
    fed_task_progress (task, rows, 0, text);
}

//  --- SQLite ----------------------------------------------------------------------

#ifdef HAVE_SQLITE

//  Interrupts a long step (a sort, a scan) once the task is cancelled.
static int
s_sqlite_interrupt (void *arg)
{
    return fed_task_cancelled ((fed_task_t *) arg) ? 1 : 0;
}

//  Prepares the one statement of query. Returns the statement, or NULL
//  having failed the task.
static sqlite3_stmt *
s_sqlite_prepare (fed_task_t *task, sqlite3 *db, const char *query)
{
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v2 (db, query, -1, &stmt, &tail) != SQLITE_OK) {
        fed_task_fail (task, "bad_query", "param \"sqlite\": query: %s", sqlite3_errmsg (db));
        return NULL;
    }
    const char *why = NULL;
    if (!stmt)
        why = "holds no statement";
    else if (tail && tail [strspn (tail, " \t\r\n;")])
        why = "holds more than one statement; give one SELECT";
    else if (!sqlite3_stmt_readonly (stmt))
        why = "must only read (a SELECT); the database is opened read-only";
    else if (sqlite3_column_count (stmt) == 0)
        why = "returns no columns";
    if (why) {
        sqlite3_finalize (stmt);
        fed_task_fail (task, "bad_params", "param \"sqlite\": query %s", why);
        return NULL;
    }
    return stmt;
}

//  Feeds the statement's rows to the sink. Returns 0, or -1 having failed.
static int
s_sqlite_rows (fed_task_t *task, fed_ingest_t *sink, sqlite3 *db, sqlite3_stmt *stmt, bool hex)
{
    int count = sqlite3_column_count (stmt);
    fed_field_t *fields = (fed_field_t *) fed_calloc ((size_t) count, sizeof *fields);
    char **hexes = (char **) fed_calloc ((size_t) count, sizeof (char *));
    size_t max_field = fed_ingest_options (sink)->max_field;
    for (int c = 0; c < count; c++) {
        const char *name = sqlite3_column_name (stmt, c);
        fields [c] = (fed_field_t){name ? name : "", name ? strlen (name) : 0, FED_CELL_TEXT};
    }
    int rc = fed_ingest_columns (sink, fields, (size_t) count);
    uint64_t row = 0;
    int step;
    while (rc == 0 && (step = sqlite3_step (stmt)) == SQLITE_ROW) {
        row++;
        const char *blob = NULL; //  a refused blob's column
        size_t blob_bytes = 0;
        for (int c = 0; c < count; c++) {
            int type = sqlite3_column_type (stmt, c);
            fed_field_t *f = &fields [c];
            if (type == SQLITE_NULL) {
                *f = (fed_field_t){"", 0, FED_CELL_NULL};
                continue;
            }
            if (type == SQLITE_BLOB) {
                const unsigned char *bytes = (const unsigned char *) sqlite3_column_blob (stmt, c);
                size_t n = (size_t) sqlite3_column_bytes (stmt, c);
                *f = (fed_field_t){"", 0, FED_CELL_TEXT};
                if (!hex || 2 * n > max_field) {
                    blob = sqlite3_column_name (stmt, c);
                    blob_bytes = n;
                    continue;
                }
                hexes [c] = (char *) fed_realloc (hexes [c], 2 * n + 1);
                if (n)
                    fed_hex_encode (hexes [c], bytes, n);
                hexes [c][2 * n] = '\0';
                *f = (fed_field_t){hexes [c], 2 * n, FED_CELL_TEXT};
                continue;
            }
            const char *text = (const char *) sqlite3_column_text (stmt, c);
            size_t n = (size_t) sqlite3_column_bytes (stmt, c);
            bool number = type == SQLITE_INTEGER
                || (type == SQLITE_FLOAT && isfinite (sqlite3_column_double (stmt, c)));
            *f = (fed_field_t){text ? text : "", text ? n : 0,
                               number ? FED_CELL_NUMBER : FED_CELL_TEXT};
        }
        if (blob) {
            char why [300];
            snprintf (why, sizeof why,
                      "row %" PRIu64 ": column '%.100s' holds a blob of %zu bytes; give param "
                      "\"blobs\": \"hex\" or convert it in the query (hex(), CAST)",
                      row, blob, blob_bytes);
            rc = fed_ingest_refuse (sink, fields, row, 0, why);
        } else
            rc = fed_ingest_row (sink, fields, row, 0, NULL);
        if (row % PROGRESS_ROWS == 0)
            s_progress (task, row);
    }
    if (rc == 0 && step != SQLITE_DONE) {
        if (step == SQLITE_INTERRUPT && fed_task_cancelled (task))
            rc = fed_task_fail (task, "cancelled", "cancelled after %" PRIu64 " rows", row);
        else
            rc = fed_task_fail (task, "query_error",
                                "param \"sqlite\": query failed at row %" PRIu64 ": %s", row + 1,
                                sqlite3_errmsg (db));
    }
    if (rc == 0)
        s_progress (task, row);
    for (int c = 0; c < count; c++)
        free (hexes [c]);
    free (hexes);
    free (fields);
    return rc;
}

int
fed_ingest_sqlite (fed_task_t *task, fed_ingest_t *sink)
{
    char *database = NULL, *query = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = -1;
    bool hex = false;
    if (fed_task_has (task, "blobs")) {
        const char *blobs;
        if (fed_task_require_str (task, "blobs", &blobs))
            goto err;
        if (strcmp (blobs, "hex") && strcmp (blobs, "refuse")) {
            fed_task_fail (task, "bad_params", "param \"blobs\" must be \"refuse\" or \"hex\"");
            goto err;
        }
        hex = !strcmp (blobs, "hex");
    }
    if (s_query_params (task, "sqlite", "database", (const char **) &database,
                        (const char **) &query))
        goto err;
    char path [PATH_MAX];
    if (fed_data_check_path (task, database, path))
        goto err;
    //  "file:" URIs are off (SQLITE_OPEN_URI not given): path is a plain file.
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK) {
        fed_task_fail (task, "bad_input", "%.300s: %s", path,
                       db ? sqlite3_errmsg (db) : "cannot open");
        goto err;
    }
    sqlite3_limit (db, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_busy_timeout (db, 5000);
    sqlite3_progress_handler (db, 10000, s_sqlite_interrupt, task);
    fed_ingest_unit (sink, "row");
    //  The file is read lazily: reading the schema's version shows at once a
    //  file that is not a database (a query that reads no table would not).
    int check = sqlite3_exec (db, "PRAGMA schema_version", NULL, NULL, NULL);
    if (check != SQLITE_OK && check != SQLITE_INTERRUPT) {
        fed_task_fail (task, "bad_input", "param \"sqlite\": %.300s: %s", path,
                       sqlite3_errmsg (db));
        goto err;
    }
    stmt = s_sqlite_prepare (task, db, query);
    if (!stmt || s_sqlite_rows (task, sink, db, stmt, hex))
        goto err;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    s_source_begin (&pk, "sqlite", query, fed_ingest_rows (sink) + fed_ingest_rejected (sink), 1);
    fed_data_pack_str (&pk, "database");
    fed_data_pack_str (&pk, path);
    fed_ingest_source (sink, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    rc = 0;
err:
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    free (database);
    free (query);
    return rc;
}

#else

int
fed_ingest_sqlite (fed_task_t *task, fed_ingest_t *sink)
{
    (void) sink;
    return fed_task_fail (task, "unsupported",
                          "this fednode was built without libsqlite3, which source \"sqlite\" "
                          "needs (Debian: apt-get install libsqlite3-dev, then configure and "
                          "build again)");
}

#endif

//  --- PostgreSQL ------------------------------------------------------------------

#ifdef HAVE_LIBPQ

#define PG_BOOL_OID 16
#define PG_CONNECT_TIMEOUT "10"

//  Refuses a conninfo libpq cannot parse or that holds a password.
static int
s_pg_conninfo_check (fed_task_t *task, const char *conninfo)
{
    char *why = NULL;
    PQconninfoOption *options = PQconninfoParse (conninfo, &why);
    if (!options) {
        size_t n = why ? strlen (why) : 0;
        while (n && why [n - 1] == '\n')
            n--;
        fed_task_fail (task, "bad_params", "param \"postgres\": conninfo: %.*s", (int) n,
                       why ? why : "out of memory");
        PQfreemem (why);
        return -1;
    }
    int rc = 0;
    for (PQconninfoOption *o = options; o->keyword; o++)
        if (!strcmp (o->keyword, "password") && o->val && *o->val)
            rc = fed_task_fail (task, "bad_params",
                                "param \"postgres\": conninfo must not hold a password (params "
                                "are recorded in the output and the event log); put it in a "
                                "password file (~/.pgpass, or PGPASSFILE / passfile=)");
    PQconninfoFree (options);
    return rc;
}

//  Asks the server to cancel the query, once, when the task is cancelled
//  or (force) the rows are no longer wanted.
static void
s_pg_cancel (fed_task_t *task, PGconn *conn, bool *cancelled, bool force)
{
    if (*cancelled || !(force || fed_task_cancelled (task)))
        return;
    *cancelled = true;
    PGcancel *cancel = PQgetCancel (conn);
    char why [256];
    if (cancel) {
        if (!PQcancel (cancel, why, sizeof why))
            fed_warn ("data.ingest: cancelling the query: %s", why);
        PQfreeCancel (cancel);
    }
}

//  Waits for the next result without blocking past 100 ms at a time, so a
//  cancelled task cancels the query on the server. Returns the result
//  (NULL at the end), the caller clears it.
static PGresult *
s_pg_next (fed_task_t *task, PGconn *conn, bool *cancelled)
{
    while (PQisBusy (conn)) {
        s_pg_cancel (task, conn, cancelled, false);
        struct pollfd pfd = {PQsocket (conn), POLLIN, 0};
        if (pfd.fd < 0 || poll (&pfd, 1, 100) < 0 || !PQconsumeInput (conn))
            break; //  PQgetResult reports the connection's error
    }
    return PQgetResult (conn);
}

//  A PostgreSQL error's message without its trailing line end.
static void
s_pg_message (char *text, size_t size, const char *message)
{
    snprintf (text, size, "%s", message ? message : "unknown error");
    size_t n = strlen (text);
    while (n && (text [n - 1] == '\n' || text [n - 1] == ' '))
        text [--n] = '\0';
}

//  Feeds one single-row result to the sink (setting the columns from the
//  first). Returns 0, or -1 having failed.
static int
s_pg_row (fed_ingest_t *sink, PGresult *res, fed_field_t **fields, uint64_t row)
{
    int count = PQnfields (res);
    if (!fed_ingest_has_columns (sink)) {
        *fields = (fed_field_t *) fed_calloc (count ? (size_t) count : 1, sizeof (fed_field_t));
        for (int c = 0; c < count; c++) {
            const char *name = PQfname (res, c);
            (*fields) [c] = (fed_field_t){name, strlen (name), FED_CELL_TEXT};
        }
        if (fed_ingest_columns (sink, *fields, (size_t) count))
            return -1;
    }
    if (PQntuples (res) == 0)
        return 0;
    for (int c = 0; c < count; c++) {
        fed_field_t *f = &(*fields) [c];
        if (PQgetisnull (res, 0, c)) {
            *f = (fed_field_t){"", 0, FED_CELL_NULL};
            continue;
        }
        const char *value = PQgetvalue (res, 0, c);
        size_t n = (size_t) PQgetlength (res, 0, c);
        *f = (fed_field_t){value, n, FED_CELL_TEXT};
        if (PQftype (res, c) == PG_BOOL_OID && n == 1)
            *f = value [0] == 't' ? (fed_field_t){"true", 4, FED_CELL_BOOL}
                                  : (fed_field_t){"false", 5, FED_CELL_BOOL};
    }
    return fed_ingest_row (sink, *fields, row, 0, NULL);
}

//  Runs query on conn in single-row mode. Returns 0, or -1 having failed.
static int
s_pg_query (fed_task_t *task, fed_ingest_t *sink, PGconn *conn, const char *query)
{
    char message [600];
    PGresult *res = PQexec (conn, "BEGIN TRANSACTION READ ONLY");
    if (PQresultStatus (res) != PGRES_COMMAND_OK) {
        s_pg_message (message, sizeof message, PQerrorMessage (conn));
        PQclear (res);
        return fed_task_fail (task, "query_error", "param \"postgres\": BEGIN: %s", message);
    }
    PQclear (res);
    if (!PQsendQueryParams (conn, query, 0, NULL, NULL, NULL, NULL, 0)
        || !PQsetSingleRowMode (conn)) {
        s_pg_message (message, sizeof message, PQerrorMessage (conn));
        return fed_task_fail (task, "query_error", "param \"postgres\": query: %s", message);
    }
    fed_field_t *fields = NULL;
    bool cancelled = false, ended = false;
    uint64_t row = 0;
    int rc = 0;
    //  Every result is read, even after a failure, so the connection is idle.
    while ((res = s_pg_next (task, conn, &cancelled)) != NULL) {
        ExecStatusType status = PQresultStatus (res);
        if (rc == 0 && cancelled)
            rc = fed_task_fail (task, "cancelled", "cancelled after %" PRIu64 " rows", row);
        else if (rc == 0 && status == PGRES_SINGLE_TUPLE) {
            rc = s_pg_row (sink, res, &fields, ++row);
            if (row % PROGRESS_ROWS == 0) {
                s_progress (task, row);
                s_pg_cancel (task, conn, &cancelled, false); //  rows may come without a wait
            }
        } else if (rc == 0 && status == PGRES_TUPLES_OK) {
            rc = s_pg_row (sink, res, &fields, row);
            ended = true;
        } else if (rc == 0 && (status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY))
            rc = fed_task_fail (task, "bad_params",
                                "param \"postgres\": query returns no rows (give a SELECT)");
        else if (rc == 0) {
            s_pg_message (message, sizeof message, PQresultErrorMessage (res));
            const char *state = PQresultErrorField (res, PG_DIAG_SQLSTATE);
            //  class 42: syntax errors and access rule violations
            rc = fed_task_fail (task,
                                state && !strncmp (state, "42", 2) ? "bad_query" : "query_error",
                                "param \"postgres\": query: %s", message);
        }
        PQclear (res);
        if (rc)
            s_pg_cancel (task, conn, &cancelled, true); //  failed: the rest is not read
    }
    free (fields);
    if (rc == 0 && !ended) {
        s_pg_message (message, sizeof message, PQerrorMessage (conn));
        rc = fed_task_fail (task, "query_error", "param \"postgres\": the query ended early: %s",
                            message);
    }
    PQclear (PQexec (conn, "ROLLBACK"));
    if (rc == 0)
        s_progress (task, row);
    return rc;
}

int
fed_ingest_postgres (fed_task_t *task, fed_ingest_t *sink)
{
    char *conninfo = NULL, *query = NULL;
    PGconn *conn = NULL;
    int rc = -1;
    if (s_query_params (task, "postgres", "conninfo", (const char **) &conninfo,
                        (const char **) &query)
        || s_pg_conninfo_check (task, conninfo))
        goto err;
    //  Keywords are applied in order: conninfo (expanded from dbname) may
    //  override the connect timeout; nothing overrides the encoding.
    const char *keys [] = {"connect_timeout", "dbname", "client_encoding", NULL};
    const char *values [] = {PG_CONNECT_TIMEOUT, conninfo, "UTF8", NULL};
    fed_task_progress (task, 0, 0, "connecting");
    conn = PQconnectdbParams (keys, values, 1);
    if (!conn || PQstatus (conn) != CONNECTION_OK) {
        char message [600];
        s_pg_message (message, sizeof message, conn ? PQerrorMessage (conn) : NULL);
        fed_task_fail (task, "connect_error", "param \"postgres\": %s", message);
        goto err;
    }
    fed_ingest_unit (sink, "row");
    if (s_pg_query (task, sink, conn, query))
        goto err;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    s_source_begin (&pk, "postgres", query, fed_ingest_rows (sink) + fed_ingest_rejected (sink), 4);
    const char *parts [4][2] = {{"host", PQhost (conn)},
                                {"port", PQport (conn)},
                                {"dbname", PQdb (conn)},
                                {"user", PQuser (conn)}};
    for (int i = 0; i < 4; i++) {
        fed_data_pack_str (&pk, parts [i][0]);
        fed_data_pack_str (&pk, parts [i][1] ? parts [i][1] : "");
    }
    fed_ingest_source (sink, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    rc = 0;
err:
    PQfinish (conn);
    free (conninfo);
    free (query);
    return rc;
}

#else

int
fed_ingest_postgres (fed_task_t *task, fed_ingest_t *sink)
{
    (void) sink;
    return fed_task_fail (task, "unsupported",
                          "this fednode was built without libpq, which source \"postgres\" needs "
                          "(Debian: apt-get install libpq-dev, then configure and build again)");
}

#endif
