/*  agents/data_ingest_files.c: data.ingest's input source (data_ingest.h).

    Param input is one file (a path, or a map with "path", as dataio takes
    it) or a glob pattern (with *, ? or [...], relative to the run's
    directory as a path is). Every
    match is checked like any input path (fed_data_check_path), the matches
    are read in sorted order, and all must name the same columns in the
    same order: a file whose header differs fails "bad_input" naming it and
    the first file, unless union is true, when the table has every column
    of every file (in order of appearance) and a file's missing columns
    read empty. Empty files are passed over. With more than one file a
    reject's reason starts with its file's name, so its line number points
    somewhere. The source output lists each file with its rows, rejects,
    bytes and sha256.
*/
#include "data_ingest.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILES 1000 //  glob matches, each listed in the source output

//  One file a glob matched (or the one path given).
typedef struct {
    char path [PATH_MAX]; //  canonical
    const char *name;     //  as matched, relative to the run's directory when the
                          //  pattern was; points into the glob's results
    uint64_t rows, rejects, bytes;
    char sha256 [65];
} s_file_t;

//  "a, b, c" for a message, cut at size.
static void
s_names_text (char *text, size_t size, const fed_field_t *names, size_t count)
{
    size_t n = 0;
    text [0] = '\0';
    for (size_t i = 0; i < count && n + 1 < size; i++) {
        int w = snprintf (text + n, size - n, "%s%s", i ? ", " : "", names [i].ptr);
        n += w > 0 ? (size_t) w : 0;
    }
    if (n >= size && size > 4)
        memcpy (text + size - 4, "...", 4);
}

//  Reads the header of every file and sets the sink's columns: the first
//  file's, each other file's the same (else "bad_input" naming both), or
//  with union the union in order of appearance. Files without columns
//  (empty) are passed over.
static int
s_files_columns (fed_task_t *task, fed_ingest_t *sink, s_file_t *files, size_t count, bool unite)
{
    fed_field_t *names = NULL;
    size_t name_count = 0;
    const char *first = NULL;
    int rc = 0;
    for (size_t f = 0; f < count && rc == 0; f++) {
        fed_data_reader_t *reader =
            fed_data_reader_open (task, files [f].path, fed_ingest_options (sink));
        if (!reader) {
            rc = -1;
            break;
        }
        size_t n;
        const fed_field_t *columns = fed_data_reader_columns (reader, &n);
        if (n && !first)
            first = files [f].name;
        else if (n && !unite) {
            bool same = n == name_count;
            for (size_t i = 0; same && i < n; i++)
                same = !strcmp (columns [i].ptr, names [i].ptr);
            if (!same) {
                char mine [200], theirs [200];
                s_names_text (mine, sizeof mine, columns, n);
                s_names_text (theirs, sizeof theirs, names, name_count);
                rc = fed_task_fail (task, "bad_input",
                                    "%.200s: its columns (%s) differ from %.200s's (%s); give "
                                    "union: true to take the union of the files' columns",
                                    files [f].name, mine, first, theirs);
            }
            n = 0; //  nothing to add
        }
        //  Adds the names not yet seen (all of the first file's).
        for (size_t i = 0; i < n; i++) {
            size_t k = 0;
            while (k < name_count && strcmp (columns [i].ptr, names [k].ptr))
                k++;
            if (k < name_count)
                continue;
            names = (fed_field_t *) fed_realloc (names, (name_count + 1) * sizeof *names);
            names [name_count++] =
                (fed_field_t){fed_strdup (columns [i].ptr), columns [i].len, FED_CELL_TEXT};
        }
        fed_data_reader_close (&reader);
    }
    if (rc == 0 && name_count)
        rc = fed_ingest_columns (sink, names, name_count);
    for (size_t i = 0; i < name_count; i++)
        free ((char *) names [i].ptr);
    free (names);
    return rc;
}

//  Sets the source output: {kind: files, files: [{path, name, rows, rejects,
//  bytes, sha256}]}.
static void
s_files_source (fed_ingest_t *sink, const s_file_t *files, size_t count)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    fed_data_pack_str (&pk, "kind");
    fed_data_pack_str (&pk, "files");
    fed_data_pack_str (&pk, "files");
    msgpack_pack_array (&pk, count);
    for (size_t i = 0; i < count; i++) {
        msgpack_pack_map (&pk, 6);
        fed_data_pack_str (&pk, "path");
        fed_data_pack_str (&pk, files [i].path);
        fed_data_pack_str (&pk, "name");
        fed_data_pack_str (&pk, files [i].name);
        fed_data_pack_str (&pk, "rows");
        msgpack_pack_uint64 (&pk, files [i].rows);
        fed_data_pack_str (&pk, "rejects");
        msgpack_pack_uint64 (&pk, files [i].rejects);
        fed_data_pack_str (&pk, "bytes");
        msgpack_pack_uint64 (&pk, files [i].bytes);
        fed_data_pack_str (&pk, "sha256");
        fed_data_pack_str (&pk, files [i].sha256);
    }
    fed_ingest_source (sink, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
}

//  Reads each file into the sink, its name in rejects when there are
//  several, and hashes it.
static int
s_files_read (fed_task_t *task, fed_ingest_t *sink, s_file_t *files, size_t count)
{
    for (size_t f = 0; f < count; f++) {
        if (fed_ingest_file (sink, files [f].path, count > 1 ? files [f].name : NULL,
                             &files [f].rows, &files [f].rejects))
            return -1;
        struct stat st;
        if (stat (files [f].path, &st) || fed_data_sha256_file (files [f].path, files [f].sha256))
            return fed_task_fail (task, "io_error", "%.300s: %s", files [f].path, strerror (errno));
        files [f].bytes = (uint64_t) st.st_size;
    }
    s_files_source (sink, files, count);
    return 0;
}

//  The pattern of param input made absolute (a relative one is taken from
//  the run's directory, the parent of the workspace); *skip is how many
//  bytes of a match to leave out to name it as given.
static int
s_glob_pattern (fed_task_t *task, const char *given, char *pattern, size_t *skip)
{
    *skip = 0;
    if (given [0] == '/') {
        snprintf (pattern, PATH_MAX, "%s", given);
        return 0;
    }
    char parent [PATH_MAX], run_dir [PATH_MAX];
    const char *workspace = fed_task_workspace (task);
    int n = snprintf (parent, sizeof parent, "%s/..", workspace);
    if (!*workspace || n < 0 || (size_t) n >= sizeof parent || !realpath (parent, run_dir))
        return fed_task_fail (task, "bad_params",
                              "relative pattern '%.200s' needs a step workspace; give an absolute "
                              "one",
                              given);
    n = snprintf (pattern, PATH_MAX, "%s/%s", run_dir, given);
    if (n < 0 || n >= PATH_MAX)
        return fed_task_fail (task, "bad_params", "param \"input\" is too long");
    *skip = strlen (run_dir) + 1;
    return 0;
}

int
fed_ingest_input (fed_task_t *task, fed_ingest_t *sink)
{
    bool unite = false;
    if (fed_task_has (task, "union") && fed_task_require_bool (task, "union", &unite))
        return -1;
    const char *given = NULL;
    if (fed_task_param_type (task, "input") != FED_MP_STR
        || fed_task_param_str (task, "input", &given) || !strpbrk (given, "*?[")) {
        s_file_t *file = (s_file_t *) fed_calloc (1, sizeof *file);
        int rc = fed_data_input_path (task, "input", file->path);
        if (rc == 0) {
            file->name = given ? given : file->path;
            rc = s_files_read (task, sink, file, 1);
        }
        free (file);
        return rc;
    }
    char pattern [PATH_MAX];
    size_t skip;
    if (s_glob_pattern (task, given, pattern, &skip))
        return -1;
    glob_t matches;
    int grc = glob (pattern, GLOB_ERR, NULL, &matches);
    if (grc == GLOB_NOMATCH)
        return fed_task_fail (task, "not_found", "no file matches param \"input\" '%.200s'%s",
                              given, skip ? " (in the run's directory)" : "");
    if (grc)
        return fed_task_fail (task, "io_error", "param \"input\" '%.200s': %s", given,
                              grc == GLOB_NOSPACE ? "out of memory" : "a directory is unreadable");
    int rc = 0;
    s_file_t *files = NULL;
    if (matches.gl_pathc > MAX_FILES) {
        rc = fed_task_fail (task, "bad_params",
                            "param \"input\" '%.200s' matches %zu files, more than %d; ingest them "
                            "in parts",
                            given, matches.gl_pathc, MAX_FILES);
        goto done;
    }
    //  glob sorts its matches (LC_COLLATE; byte order in the C locale)
    files = (s_file_t *) fed_calloc (matches.gl_pathc, sizeof *files);
    for (size_t i = 0; i < matches.gl_pathc && rc == 0; i++) {
        files [i].name = matches.gl_pathv [i] + skip;
        rc = fed_data_check_path (task, matches.gl_pathv [i], files [i].path);
    }
    if (rc == 0)
        rc = s_files_columns (task, sink, files, matches.gl_pathc, unite);
    if (rc == 0)
        rc = s_files_read (task, sink, files, matches.gl_pathc);
done:
    free (files);
    globfree (&matches);
    return rc;
}
