/*  proto/log.c: the logging facade: levels, a per-node prefix, and a
    rate-limit gate for errors that a misbehaving peer could repeat forever.
*/
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

//  Allowed globals (STYLE 10): process-wide logging config, set at start-up.
static fed_log_level_t s_level = FED_LOG_INFO;
static char s_prefix [32] = "";

void
fed_log_set_level (fed_log_level_t level)
{
    s_level = level;
}

fed_log_level_t
fed_log_level (void)
{
    return s_level;
}

int
fed_log_level_parse (const char *name, fed_log_level_t *level)
{
    static const char *names [] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp (name, names [i]) == 0) {
            *level = (fed_log_level_t) i;
            return 0;
        }
    return -1;
}

void
fed_log_set_prefix (const char *prefix)
{
    snprintf (s_prefix, sizeof s_prefix, "%s", prefix ? prefix : "");
}

void
fed_log_write (fed_log_level_t level, const char *format, ...)
{
    static const char *tags [] = {"E", "W", "I", "D"};
    char line [2048];
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);
    int used =
        snprintf (line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s%s",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  ts.tv_nsec / 1000000, tags [level], s_prefix, *s_prefix ? " " : "");
    va_list args;
    va_start (args, format);
    if (used >= 0 && (size_t) used < sizeof line)
        vsnprintf (line + used, sizeof line - (size_t) used, format, args);
    va_end (args);
    //  One write per line so lines from several threads do not interleave.
    fprintf (stderr, "%s\n", line);
}

bool
fed_ratelimit_allow (fed_ratelimit_t *self, int64_t interval_ms, uint64_t *suppressed_p)
{
    int64_t now = fed_mono_ms ();
    if (self->last_ms == 0 || now - self->last_ms >= interval_ms) {
        if (suppressed_p)
            *suppressed_p = self->suppressed;
        self->last_ms = now;
        self->suppressed = 0;
        return true;
    }
    self->suppressed++;
    return false;
}
