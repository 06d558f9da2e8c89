/*  proto/log.h: the logging facade.

    Every module logs through these macros. The level is checked before any
    formatting happens, lines go to stderr prefixed with a timestamp, the
    level and the node's short id, and secrets are never passed here (the
    identity module logs key file paths and public keys only).

    Process-wide logging config is one of the allowed globals (STYLE 10):
    set it once at start-up, before threads start.
*/
#ifndef FED_LOG_H_INCLUDED
#define FED_LOG_H_INCLUDED

#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FED_LOG_ERROR = 0,
    FED_LOG_WARN = 1,
    FED_LOG_INFO = 2,
    FED_LOG_DEBUG = 3
} fed_log_level_t;

//  Sets the lowest level that is printed. Default FED_LOG_INFO.
void fed_log_set_level (fed_log_level_t level);
fed_log_level_t fed_log_level (void);
//  Parses "error", "warn", "info", "debug". Returns 0 or -1.
int fed_log_level_parse (const char *name, fed_log_level_t *level) FED_MUST_USE;
//  Sets the prefix printed on every line (the node's short id); copied.
void fed_log_set_prefix (const char *prefix);

//  Formats and prints one line. Use the macros, which skip formatting when
//  the level is off.
void fed_log_write (fed_log_level_t level, const char *format, ...) FED_PRINTF (2, 3);

#define fed_log_at(lvl, ...)                                                                       \
    do {                                                                                           \
        if ((lvl) <= fed_log_level ())                                                             \
            fed_log_write ((lvl), __VA_ARGS__);                                                    \
    } while (0)
#define fed_error(...) fed_log_at (FED_LOG_ERROR, __VA_ARGS__)
#define fed_warn(...) fed_log_at (FED_LOG_WARN, __VA_ARGS__)
#define fed_info(...) fed_log_at (FED_LOG_INFO, __VA_ARGS__)
#define fed_debug(...) fed_log_at (FED_LOG_DEBUG, __VA_ARGS__)

//  A once-per-interval gate for repeated errors (per peer, per origin).
//  Embed one per thing being rate-limited; zero-initialise it.
typedef struct {
    int64_t last_ms;     //  monotonic time of the last line let through
    uint64_t suppressed; //  lines held back since then
} fed_ratelimit_t;

//  True if a line may be logged now (and resets the window); false counts a
//  suppressed line. *suppressed_p, if given, receives how many were held back.
bool fed_ratelimit_allow (fed_ratelimit_t *self, int64_t interval_ms, uint64_t *suppressed_p);

#ifdef __cplusplus
}
#endif
#endif
