/*  node/metrics.c: a small registry of labelled series and its Prometheus
    text rendering. Families and series live in insertion order in flat
    arrays: a node has tens of series, looked up by linear search.
*/
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name; //  family name, owned
    fed_metric_kind_t kind;
    char *help; //  owned
} family_t;

typedef struct {
    char *name;   //  family name, owned
    char *labels; //  exposition label set, owned
    double value;
} series_t;

struct fed_metrics_t {
    family_t *families; //  owned array
    size_t family_count;
    series_t *series; //  owned array
    size_t series_count;
};

fed_metrics_t *
fed_metrics_new (void)
{
    return (fed_metrics_t *) fed_calloc (1, sizeof (fed_metrics_t));
}

void
fed_metrics_destroy (fed_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_metrics_t *self = *self_p;
    for (size_t i = 0; i < self->family_count; i++) {
        free (self->families [i].name);
        free (self->families [i].help);
    }
    for (size_t i = 0; i < self->series_count; i++) {
        free (self->series [i].name);
        free (self->series [i].labels);
    }
    free (self->families);
    free (self->series);
    free (self);
    *self_p = NULL;
}

void
fed_metrics_declare (fed_metrics_t *self, const char *name, fed_metric_kind_t kind,
                     const char *help)
{
    for (size_t i = 0; i < self->family_count; i++)
        if (strcmp (self->families [i].name, name) == 0)
            return;
    self->families =
        (family_t *) fed_realloc (self->families, (self->family_count + 1) * sizeof (family_t));
    self->families [self->family_count++] = (family_t){fed_strdup (name), kind, fed_strdup (help)};
}

static series_t *
s_series (fed_metrics_t *self, const char *name, const char *labels)
{
    for (size_t i = 0; i < self->series_count; i++)
        if (strcmp (self->series [i].name, name) == 0
            && strcmp (self->series [i].labels, labels) == 0)
            return &self->series [i];
    self->series =
        (series_t *) fed_realloc (self->series, (self->series_count + 1) * sizeof (series_t));
    series_t *series = &self->series [self->series_count++];
    *series = (series_t){fed_strdup (name), fed_strdup (labels), 0};
    return series;
}

void
fed_metrics_add (fed_metrics_t *self, const char *name, const char *labels, double delta)
{
    s_series (self, name, labels ? labels : "")->value += delta;
}

void
fed_metrics_set (fed_metrics_t *self, const char *name, const char *labels, double value)
{
    s_series (self, name, labels ? labels : "")->value = value;
}

double
fed_metrics_get (fed_metrics_t *self, const char *name, const char *labels)
{
    for (size_t i = 0; i < self->series_count; i++)
        if (strcmp (self->series [i].name, name) == 0
            && strcmp (self->series [i].labels, labels ? labels : "") == 0)
            return self->series [i].value;
    return 0;
}

//  Appends formatted text to a growing buffer.
typedef struct {
    char *data;
    size_t size;
    size_t capacity;
} text_t;

static void s_append (text_t *text, const char *format, ...) FED_PRINTF (2, 3);

static void
s_append (text_t *text, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int needed = vsnprintf (NULL, 0, format, args);
    va_end (args);
    if (needed < 0)
        return;
    if (text->size + (size_t) needed + 1 > text->capacity) {
        text->capacity = 2 * (text->size + (size_t) needed + 1);
        text->data = (char *) fed_realloc (text->data, text->capacity);
    }
    va_start (args, format);
    vsnprintf (text->data + text->size, text->capacity - text->size, format, args);
    va_end (args);
    text->size += (size_t) needed;
}

char *
fed_metrics_render (fed_metrics_t *self)
{
    text_t text = {fed_strdup (""), 0, 1};
    for (size_t f = 0; f < self->family_count; f++) {
        const family_t *family = &self->families [f];
        s_append (&text, "# HELP %s %s\n# TYPE %s %s\n", family->name, family->help, family->name,
                  family->kind == FED_METRIC_COUNTER ? "counter" : "gauge");
        bool any = false;
        for (size_t i = 0; i < self->series_count; i++) {
            const series_t *series = &self->series [i];
            if (strcmp (series->name, family->name) != 0)
                continue;
            any = true;
            if (*series->labels)
                s_append (&text, "%s{%s} %.17g\n", series->name, series->labels, series->value);
            else
                s_append (&text, "%s %.17g\n", series->name, series->value);
        }
        if (!any)
            s_append (&text, "%s 0\n", family->name);
    }
    return text.data;
}
