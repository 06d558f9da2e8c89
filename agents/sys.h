/*  agents/sys.h: the built-in utility agents, for tests and demos.

      sys.echo   completes with its params as its output, key for key.
      sys.sleep  sleeps `ms` milliseconds (an integer, 0 to 86,400,000),
                 reporting progress (done = ms slept, total = ms) and
                 checking for cancellation at least every 10 ms; output
                 {slept_ms}. Cancelled, it stops within 10 ms.
      sys.fail   fails with its `code` (default "failed"; a valid code, see
                 fed_task_code_valid) and `message` (default "sys.fail was
                 asked to fail") params.

    All three are version "1.0.0", capability "sys", and take the pool's
    default timeout.
*/
#ifndef FED_SYS_H_INCLUDED
#define FED_SYS_H_INCLUDED

#include "agentset.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Adds sys.echo, sys.sleep and sys.fail to agents. Returns 0, or -1 with
//  err if one of those names is already taken.
int fed_sys_register (fed_agentset_t *agents, fed_err_t *err) FED_MUST_USE;

#ifdef __cplusplus
}
#endif
#endif
