/*  agents/data_ingest_url.c: data.ingest's url source (data_ingest.h).

    Downloads an http:// or https:// URL with libcurl into the step's
    workspace (download.csv, .tsv or .jsonl: the format from param
    input_format, else the URL path's extension, else the response's
    Content-Type), then reads that file like any input. The download is
    capped (param max_bytes, 1 GiB by default, counted after any content
    decoding, so the disk it takes is bounded), timed (param timeout, else
    what remains of the task's), reports progress in bytes of the
    Content-Length, and stops when the task is cancelled. Redirects are
    followed within http and https only. An HTTP status of 400 or more
    fails "http_error" naming it; nothing partial is kept on failure.

    Without libcurl at build time the source fails "unsupported", naming
    the Debian package that enables it.
*/
#include "fed_build.h"
#include "data_ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifdef HAVE_CURL
#include <curl/curl.h>
#include <pthread.h>

#define DEFAULT_MAX_BYTES (1ull << 30)
#define CONNECT_TIMEOUT_MS 30000

//  One download in progress.
typedef struct {
    fed_task_t *task;
    FILE *file;         //  download.part, written as bytes arrive
    uint64_t bytes;     //  written so far
    uint64_t max_bytes; //  param max_bytes
    bool too_large;     //  stopped at max_bytes
    bool write_failed;  //  the disk refused (errno in write_errno)
    int write_errno;    //  why
} s_download_t;

static pthread_once_t s_curl_once = PTHREAD_ONCE_INIT;

//  libcurl's global init, once per process (not undone: the node may
//  download again until it exits).
static void
s_curl_init (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
}

static size_t
s_write (char *data, size_t size, size_t count, void *arg)
{
    s_download_t *self = (s_download_t *) arg;
    size_t n = size * count;
    if (self->bytes + n > self->max_bytes) {
        self->too_large = true;
        return 0; //  curl stops with CURLE_WRITE_ERROR
    }
    if (fwrite (data, 1, n, self->file) != n) {
        self->write_failed = true;
        self->write_errno = errno;
        return 0;
    }
    self->bytes += n;
    return n;
}

static int
s_progress (void *arg, curl_off_t total, curl_off_t now, curl_off_t up_total, curl_off_t up_now)
{
    (void) up_total, (void) up_now;
    s_download_t *self = (s_download_t *) arg;
    if (fed_task_cancelled (self->task))
        return 1; //  curl stops with CURLE_ABORTED_BY_CALLBACK
    char text [96];
    if (total > 0)
        snprintf (text, sizeof text, "download %.1f of %.1f MiB", (double) now / 1048576.0,
                  (double) total / 1048576.0);
    else
        snprintf (text, sizeof text, "download %.1f MiB", (double) now / 1048576.0);
    fed_task_progress (self->task, (uint64_t) now, total > 0 ? (uint64_t) total : 0, text);
    return 0;
}

//  The format an URL's path names by its extension. Returns 0 or -1.
static int
s_url_format (const char *url, fed_data_format_t *format)
{
    CURLU *handle = curl_url ();
    char *path = NULL;
    int rc = -1;
    if (handle && curl_url_set (handle, CURLUPART_URL, url, 0) == CURLUE_OK
        && curl_url_get (handle, CURLUPART_PATH, &path, 0) == CURLUE_OK)
        rc = fed_data_format_of (path, format);
    curl_free (path);
    curl_url_cleanup (handle);
    return rc;
}

//  The format a Content-Type names ("text/csv; charset=utf-8"). 0 or -1.
static int
s_type_format (const char *type, fed_data_format_t *format)
{
    static const struct {
        const char *type;
        fed_data_format_t format;
    } types [] = {{"text/csv", FED_DATA_CSV},
                  {"application/csv", FED_DATA_CSV},
                  {"text/tab-separated-values", FED_DATA_TSV},
                  {"application/x-ndjson", FED_DATA_JSONL},
                  {"application/jsonl", FED_DATA_JSONL},
                  {"application/x-jsonlines", FED_DATA_JSONL},
                  {"application/jsonlines", FED_DATA_JSONL}};
    if (!type)
        return -1;
    for (size_t i = 0; i < sizeof types / sizeof types [0]; i++) {
        size_t n = strlen (types [i].type);
        if (!strncasecmp (type, types [i].type, n) && (type [n] == '\0' || type [n] == ';')) {
            *format = types [i].format;
            return 0;
        }
    }
    return -1;
}

//  Reads params url, max_bytes and timeout. Returns 0 or -1 having failed.
static int
s_params (fed_task_t *task, const char **url, uint64_t *max_bytes, int64_t *timeout_ms)
{
    if (fed_task_require_str (task, "url", url))
        return -1;
    if (strncasecmp (*url, "http://", 7) && strncasecmp (*url, "https://", 8))
        return fed_task_fail (task, "bad_params",
                              "param \"url\" must start with http:// or https://, got '%.200s'",
                              *url);
    //  A password in the URL would be recorded with the params in the
    //  output and the event log: refused, and not repeated in the message.
    CURLU *handle = curl_url ();
    CURLUcode urc = curl_url_set (handle, CURLUPART_URL, *url, 0);
    char *password = NULL;
    bool has_password = urc == CURLUE_OK
        && curl_url_get (handle, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK && password
        && *password;
    curl_free (password);
    curl_url_cleanup (handle);
    if (has_password)
        return fed_task_fail (task, "bad_params",
                              "param \"url\" holds a password; params are recorded in the "
                              "run's events, so pass no credentials in a URL");
    if (urc != CURLUE_OK)
        return fed_task_fail (task, "bad_params", "param \"url\" '%.200s' is malformed", *url);
    *max_bytes = DEFAULT_MAX_BYTES;
    fed_mp_type_t type = fed_task_param_type (task, "max_bytes");
    int64_t n;
    const char *text;
    if (type == FED_MP_UINT && fed_task_param_int (task, "max_bytes", &n) == 0 && n > 0)
        *max_bytes = (uint64_t) n;
    else if (type == FED_MP_STR && fed_task_param_str (task, "max_bytes", &text) == 0
             && fed_parse_size (text, max_bytes) == 0 && *max_bytes > 0)
        ;
    else if (type != FED_MP_NONE)
        return fed_task_fail (task, "bad_params",
                              "param \"max_bytes\" must be a positive size (bytes, or text such "
                              "as \"64MiB\")");
    *timeout_ms = fed_task_remaining_ms (task);
    type = fed_task_param_type (task, "timeout");
    int64_t ms = 0;
    if (type == FED_MP_UINT && fed_task_param_int (task, "timeout", &ms) == 0 && ms > 0)
        ;
    else if (type == FED_MP_STR && fed_task_param_str (task, "timeout", &text) == 0
             && fed_parse_duration (text, &ms) == 0 && ms > 0)
        ;
    else if (type != FED_MP_NONE)
        return fed_task_fail (task, "bad_params",
                              "param \"timeout\" must be a positive duration (\"30s\", \"5m\", or "
                              "milliseconds)");
    if (ms > 0 && ms < *timeout_ms)
        *timeout_ms = ms;
    if (*timeout_ms <= 0)
        *timeout_ms = 1;
    return 0;
}

//  Sets the source output: {kind: url, url, status, content_type, path,
//  bytes, sha256}.
static void
s_source (fed_ingest_t *sink, const char *url, long status, const char *content_type,
          const char *path, uint64_t bytes, const char *sha256)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 7);
    fed_data_pack_str (&pk, "kind");
    fed_data_pack_str (&pk, "url");
    fed_data_pack_str (&pk, "url");
    fed_data_pack_str (&pk, url);
    fed_data_pack_str (&pk, "status");
    msgpack_pack_long (&pk, status);
    fed_data_pack_str (&pk, "content_type");
    if (content_type)
        fed_data_pack_str (&pk, content_type);
    else
        msgpack_pack_nil (&pk);
    fed_data_pack_str (&pk, "path");
    fed_data_pack_str (&pk, path);
    fed_data_pack_str (&pk, "bytes");
    msgpack_pack_uint64 (&pk, bytes);
    fed_data_pack_str (&pk, "sha256");
    fed_data_pack_str (&pk, sha256);
    fed_ingest_source (sink, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
}

//  Fails the task for a transfer that ended in code.
static int
s_fail (fed_task_t *task, const char *url, CURLcode code, const s_download_t *dl, long status,
        int64_t timeout_ms, const char *detail)
{
    if (code == CURLE_HTTP_RETURNED_ERROR)
        return fed_task_fail (task, "http_error", "GET %.300s: HTTP %ld", url, status);
    if (dl->too_large || code == CURLE_FILESIZE_EXCEEDED)
        return fed_task_fail (task, "too_large",
                              "GET %.300s: the response is larger than param \"max_bytes\" "
                              "(%" PRIu64 " bytes)",
                              url, dl->max_bytes);
    if (dl->write_failed)
        return fed_task_fail (task, "io_error", "GET %.300s: writing the download: %s", url,
                              strerror (dl->write_errno));
    if (code == CURLE_ABORTED_BY_CALLBACK && fed_task_cancelled (task))
        return fed_task_fail (task, "cancelled", "cancelled after %" PRIu64 " bytes of %.300s",
                              dl->bytes, url);
    if (code == CURLE_OPERATION_TIMEDOUT)
        return fed_task_fail (task, "network_error",
                              "GET %.300s: timed out after %" PRId64 " ms (param \"timeout\", or "
                              "the task's): %s",
                              url, timeout_ms, detail);
    return fed_task_fail (task, "network_error", "GET %.300s: %s", url,
                          *detail ? detail : curl_easy_strerror (code));
}

int
fed_ingest_url (fed_task_t *task, fed_ingest_t *sink)
{
    const char *url;
    uint64_t max_bytes = 0;
    int64_t timeout_ms = 0;
    if (s_params (task, &url, &max_bytes, &timeout_ms))
        return -1;
    fed_data_format_t format;
    bool have_format = false;
    if (fed_task_has (task, "input_format")) {
        const char *name;
        if (fed_task_require_str (task, "input_format", &name))
            return -1;
        if (fed_data_format_parse (name, &format))
            return fed_task_fail (task, "bad_params",
                                  "param \"input_format\" must be csv, tsv or jsonl");
        have_format = true;
    }
    pthread_once (&s_curl_once, s_curl_init);
    char part [PATH_MAX], path [PATH_MAX];
    if (fed_data_output_path (task, "download.part", part))
        return -1;
    s_download_t dl = {task, fopen (part, "wb"), 0, max_bytes, false, false, 0};
    if (!dl.file)
        return fed_task_fail (task, "io_error", "%.300s: %s", part, strerror (errno));
    CURL *curl = curl_easy_init ();
    if (!curl) {
        fclose (dl.file);
        unlink (part);
        return fed_task_fail (task, "agent_error", "libcurl did not start");
    }
    char detail [CURL_ERROR_SIZE] = "";
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt (curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt (curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L); //  a worker thread: no SIGALRM
    curl_easy_setopt (curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt (curl, CURLOPT_USERAGENT, "fednode/" PACKAGE_VERSION " data.ingest");
    curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
    curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS,
                      (long) (timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS));
    curl_easy_setopt (curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) max_bytes);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &dl);
    curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, s_progress);
    curl_easy_setopt (curl, CURLOPT_XFERINFODATA, &dl);
    curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
    CURLcode code = curl_easy_perform (curl);
    long status = 0;
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
    char *type = NULL;
    curl_easy_getinfo (curl, CURLINFO_CONTENT_TYPE, &type);
    char content_type [128] = "";
    if (type)
        snprintf (content_type, sizeof content_type, "%s", type);
    curl_easy_cleanup (curl);
    if (fclose (dl.file) && code == CURLE_OK) {
        dl.write_failed = true;
        dl.write_errno = errno;
        code = CURLE_WRITE_ERROR;
    }
    int rc = 0;
    if (code != CURLE_OK)
        rc = s_fail (task, url, code, &dl, status, timeout_ms, detail);
    else if (!have_format && s_url_format (url, &format)
             && s_type_format (type ? content_type : NULL, &format))
        rc = fed_task_fail (task, "bad_params",
                            "cannot tell the format of %.300s: its path has no .csv, .tsv or "
                            ".jsonl extension and its Content-Type is '%s'; give param "
                            "\"input_format\"",
                            url, type ? content_type : "none");
    else {
        char name [32];
        snprintf (name, sizeof name, "download.%s", fed_data_format_name (format));
        if (fed_data_output_path (task, name, path))
            rc = -1;
        else if (rename (part, path))
            rc = fed_task_fail (task, "io_error", "%.300s: %s", path, strerror (errno));
    }
    if (rc) {
        unlink (part);
        return -1;
    }
    char sha256 [65];
    if (fed_data_sha256_file (path, sha256))
        return fed_task_fail (task, "io_error", "%.300s: %s", path, strerror (errno));
    s_source (sink, url, status, type ? content_type : NULL, path, dl.bytes, sha256);
    uint64_t rows, rejects;
    return fed_ingest_file (sink, path, NULL, &rows, &rejects);
}

#else

int
fed_ingest_url (fed_task_t *task, fed_ingest_t *sink)
{
    (void) sink;
    return fed_task_fail (task, "unsupported",
                          "this fednode was built without libcurl, which source \"url\" needs "
                          "(Debian: apt-get install libcurl4-openssl-dev, then configure and "
                          "build again)");
}

#endif
