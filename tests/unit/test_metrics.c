/*  tests/unit/test_metrics.c: the metrics registry. Counters accumulate,
    gauges overwrite, and the Prometheus text is exactly what a scraper
    expects: HELP and TYPE per family, families in declaration order, one
    line per label set, and "name 0" for a family with no series yet.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static void
test_counters_accumulate (void **state)
{
    fed_metrics_t *metrics = fed_metrics_new ();
    assert_non_null (metrics);
    fed_metrics_declare (metrics, "fed_requests_total", FED_METRIC_COUNTER, "Requests.");
    assert_true (fed_metrics_get (metrics, "fed_requests_total", "") == 0);
    fed_metrics_add (metrics, "fed_requests_total", "result=\"ok\"", 1);
    fed_metrics_add (metrics, "fed_requests_total", "result=\"ok\"", 1);
    fed_metrics_add (metrics, "fed_requests_total", "result=\"ok\"", 3);
    fed_metrics_add (metrics, "fed_requests_total", "result=\"error\"", 1);
    assert_true (fed_metrics_get (metrics, "fed_requests_total", "result=\"ok\"") == 5);
    assert_true (fed_metrics_get (metrics, "fed_requests_total", "result=\"error\"") == 1);
    //  Another label set, or none, is another series.
    assert_true (fed_metrics_get (metrics, "fed_requests_total", "") == 0);
    assert_true (fed_metrics_get (metrics, "fed_requests_total", "result=\"gone\"") == 0);
    assert_true (fed_metrics_get (metrics, "fed_other", "result=\"ok\"") == 0);
    //  NULL labels and "" are the same series.
    fed_metrics_add (metrics, "fed_requests_total", NULL, 2);
    fed_metrics_add (metrics, "fed_requests_total", "", 0.5);
    assert_true (fed_metrics_get (metrics, "fed_requests_total", NULL) == 2.5);
    assert_true (fed_metrics_get (metrics, "fed_requests_total", "") == 2.5);
    fed_metrics_destroy (&metrics);
    assert_null (metrics);
    fed_metrics_destroy (&metrics);
    fed_metrics_destroy (NULL);
}

static void
test_gauges_overwrite (void **state)
{
    fed_metrics_t *metrics = fed_metrics_new ();
    fed_metrics_declare (metrics, "fed_pending", FED_METRIC_GAUGE, "Pending.");
    fed_metrics_set (metrics, "fed_pending", NULL, 7);
    assert_true (fed_metrics_get (metrics, "fed_pending", NULL) == 7);
    fed_metrics_set (metrics, "fed_pending", NULL, 3);
    assert_true (fed_metrics_get (metrics, "fed_pending", NULL) == 3);
    fed_metrics_set (metrics, "fed_pending", NULL, -1.25);
    assert_true (fed_metrics_get (metrics, "fed_pending", "") == -1.25);
    fed_metrics_set (metrics, "fed_pending", "peer=\"a\"", 0);
    assert_true (fed_metrics_get (metrics, "fed_pending", "peer=\"a\"") == 0);
    assert_true (fed_metrics_get (metrics, "fed_pending", NULL) == -1.25);
    fed_metrics_destroy (&metrics);
}

static void
test_declare_twice_is_a_no_op (void **state)
{
    fed_metrics_t *metrics = fed_metrics_new ();
    fed_metrics_declare (metrics, "fed_a", FED_METRIC_COUNTER, "First help.");
    fed_metrics_declare (metrics, "fed_a", FED_METRIC_GAUGE, "Second help.");
    char *text = fed_metrics_render (metrics);
    assert_string_equal (text,
                         "# HELP fed_a First help.\n"
                         "# TYPE fed_a counter\n"
                         "fed_a 0\n");
    free (text);
    fed_metrics_destroy (&metrics);
}

static void
test_render_exactly (void **state)
{
    fed_metrics_t *metrics = fed_metrics_new ();
    //  Empty registry: empty text.
    char *text = fed_metrics_render (metrics);
    assert_string_equal (text, "");
    free (text);

    fed_metrics_declare (metrics, "fednode_control_requests_total", FED_METRIC_COUNTER,
                         "Control requests handled, by command and result.");
    fed_metrics_declare (metrics, "fednode_events_pending", FED_METRIC_GAUGE,
                         "Events buffered ahead of gaps.");
    fed_metrics_declare (metrics, "fednode_peers", FED_METRIC_GAUGE, "Known peers, by state.");
    fed_metrics_declare (metrics, "fednode_uptime_seconds", FED_METRIC_GAUGE, "Uptime.");
    //  Series touched out of declaration order still render by family.
    fed_metrics_set (metrics, "fednode_peers", "state=\"alive\"", 2);
    fed_metrics_add (metrics, "fednode_control_requests_total", "command=\"status\",result=\"ok\"",
                     1);
    fed_metrics_set (metrics, "fednode_peers", "state=\"suspect\"", 1);
    fed_metrics_add (metrics, "fednode_control_requests_total", "command=\"status\",result=\"ok\"",
                     1);
    fed_metrics_add (metrics, "fednode_control_requests_total",
                     "command=\"trust.add\",result=\"forbidden\"", 1);
    fed_metrics_set (metrics, "fednode_uptime_seconds", NULL, 12.5);
    //  A series of an undeclared family is kept but not rendered.
    fed_metrics_add (metrics, "fednode_undeclared", NULL, 1);
    text = fed_metrics_render (metrics);
    const char *expected =
        "# HELP fednode_control_requests_total Control requests handled, by command and "
        "result.\n"
        "# TYPE fednode_control_requests_total counter\n"
        "fednode_control_requests_total{command=\"status\",result=\"ok\"} 2\n"
        "fednode_control_requests_total{command=\"trust.add\",result=\"forbidden\"} 1\n"
        "# HELP fednode_events_pending Events buffered ahead of gaps.\n"
        "# TYPE fednode_events_pending gauge\n"
        "fednode_events_pending 0\n"
        "# HELP fednode_peers Known peers, by state.\n"
        "# TYPE fednode_peers gauge\n"
        "fednode_peers{state=\"alive\"} 2\n"
        "fednode_peers{state=\"suspect\"} 1\n"
        "# HELP fednode_uptime_seconds Uptime.\n"
        "# TYPE fednode_uptime_seconds gauge\n"
        "fednode_uptime_seconds 12.5\n";
    assert_string_equal (text, expected);
    free (text);
    assert_true (fed_metrics_get (metrics, "fednode_undeclared", NULL) == 1);
    fed_metrics_destroy (&metrics);
}

static void
test_render_grows (void **state)
{
    //  Many series: the text buffer grows past its first size intact.
    fed_metrics_t *metrics = fed_metrics_new ();
    fed_metrics_declare (metrics, "fed_many", FED_METRIC_COUNTER, "Many.");
    for (int i = 0; i < 200; i++) {
        char labels [32];
        snprintf (labels, sizeof labels, "i=\"%03d\"", i);
        fed_metrics_add (metrics, "fed_many", labels, i);
    }
    char *text = fed_metrics_render (metrics);
    assert_non_null (strstr (text,
                             "# HELP fed_many Many.\n# TYPE fed_many counter\n"
                             "fed_many{i=\"000\"} 0\nfed_many{i=\"001\"} 1\n"));
    assert_non_null (strstr (text, "fed_many{i=\"150\"} 150\n"));
    const char *tail = "fed_many{i=\"199\"} 199\n";
    assert_string_equal (text + strlen (text) - strlen (tail), tail);
    size_t lines = 0;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    assert_int_equal (lines, 202);
    free (text);
    fed_metrics_destroy (&metrics);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_counters_accumulate),
        cmocka_unit_test (test_gauges_overwrite),
        cmocka_unit_test (test_declare_twice_is_a_no_op),
        cmocka_unit_test (test_render_exactly),
        cmocka_unit_test (test_render_grows),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
