/*  node/metrics.h: the node's counters and gauges, rendered in the
    Prometheus text exposition format (version 0.0.4) for `fedctl metrics`.

    A metric is a family name (fednode_control_requests_total) plus a label
    set written in exposition syntax (command="status",result="ok"). Owned
    by the node actor; not thread-safe.
*/
#ifndef FED_METRICS_H_INCLUDED
#define FED_METRICS_H_INCLUDED

#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_metrics_t fed_metrics_t;

typedef enum { FED_METRIC_COUNTER, FED_METRIC_GAUGE } fed_metric_kind_t;

//  Caller owns the registry. Never NULL.
fed_metrics_t *fed_metrics_new (void);
void fed_metrics_destroy (fed_metrics_t **self_p);

//  Declares a family with its help text (once; later calls are no-ops).
void fed_metrics_declare (fed_metrics_t *self, const char *name, fed_metric_kind_t kind,
                          const char *help);
//  Adds delta to a series (created at 0). labels: "" or exposition syntax
//  like command="status",result="ok" (values must be escaped by the caller;
//  they come from code, not from input).
void fed_metrics_add (fed_metrics_t *self, const char *name, const char *labels, double delta);
//  Sets a gauge series.
void fed_metrics_set (fed_metrics_t *self, const char *name, const char *labels, double value);
//  Value of a series (0 if absent).
double fed_metrics_get (fed_metrics_t *self, const char *name, const char *labels);
//  The exposition text, families in declaration order. Caller frees.
char *fed_metrics_render (fed_metrics_t *self);

#ifdef __cplusplus
}
#endif
#endif
