/*  node/fedctl_config.h: fedctl's own settings file.

    So that an operator need not repeat --endpoint, --key and --server-key
    on every command, fedctl reads ~/.config/fednode/fedctl.yaml (or the file
    given with --config), a flat YAML map:

        endpoint: tcp://node1.example:7702     # the node's control endpoint
        key: ~/.config/fednode/ops.key         # the caller's secret key file
        server_key: node1.pub                  # the node's public key: file, Z85 or hex
        timeout: 5s                            # how long to wait for a reply

    Every key is optional; command-line flags override them. Unknown keys,
    repeated keys, non-scalar values, anchors, aliases and tags are refused
    with FILE:LINE:COLUMN, so a typo is never silently ignored. A path that
    starts with "~/" is taken from $HOME; a relative key or server_key path
    is taken relative to the file's folder when a file exists there.
*/
#ifndef FED_FEDCTL_CONFIG_H_INCLUDED
#define FED_FEDCTL_CONFIG_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Plain data: each string is owned (free ()) and NULL when the file does
//  not set it.
typedef struct {
    char *endpoint;     //  control endpoint
    char *key;          //  the caller's key file
    char *server_key;   //  the node's public key (file path or key text)
    int64_t timeout_ms; //  reply timeout; -1 when not set
} fed_fedctl_config_t;

//  Largest settings file read.
#define FED_FEDCTL_CONFIG_MAX (64 * 1024)

//  Empties *self (all unset). Call before the first load.
void fed_fedctl_config_init (fed_fedctl_config_t *self);

//  Reads the settings file at path into *self. A missing file is an error
//  only when required is set (an explicit --config); otherwise it returns 0
//  and leaves *self unset. Returns 0, or -1 with err ("FILE:LINE:COLUMN:
//  what is wrong and what is expected"); on failure *self is left unset.
int fed_fedctl_config_load (fed_fedctl_config_t *self, const char *path, bool required,
                            fed_err_t *err) FED_MUST_USE;

//  The default path, $HOME/.config/fednode/fedctl.yaml (or
//  $XDG_CONFIG_HOME/fednode/fedctl.yaml when that is set). Caller frees.
//  NULL when neither variable is set.
char *fed_fedctl_config_default_path (void);

//  Frees the strings and resets *self to unset. Accepts NULL.
void fed_fedctl_config_clear (fed_fedctl_config_t *self);

#ifdef __cplusplus
}
#endif
#endif
