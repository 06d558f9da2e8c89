/*  agents/data_column.c: column lookup for nested params (data_column.h).
*/
#include "data_column.h"

#include <stdlib.h>
#include <string.h>

int
fed_data_column_find (fed_task_t *task, const fed_data_reader_t *reader, const char *where,
                      const char *name, size_t len, size_t *index)
{
    size_t count;
    const fed_field_t *columns = fed_data_reader_columns (reader, &count);
    for (size_t i = 0; i < count; i++)
        if (columns [i].len == len && memcmp (columns [i].ptr, name, len) == 0) {
            *index = i;
            return 0;
        }
    char *copy = fed_strndup (name, len);
    const char **names = (const char **) fed_calloc (count ? count : 1, sizeof (char *));
    for (size_t i = 0; i < count; i++)
        names [i] = columns [i].ptr;
    const char *near = fed_nearest_word (copy, names, count);
    char near_text [200] = "";
    if (near)
        snprintf (near_text, sizeof near_text, "; did you mean '%.100s'?", near);
    fed_task_fail (task, "bad_params", "%s: no column '%.100s' in the input%s", where, copy,
                   near_text);
    free (names);
    free (copy);
    return -1;
}

bool
fed_data_key_is (const char *key, uint32_t len, const char *word)
{
    return strlen (word) == len && memcmp (key, word, len) == 0;
}
