/*  node/jointoken.h: checking a join token a pending peer presents.

    Tokens are made by `fedctl token create` (node/control_cmds.c): the
    text "fedtok-ID-SECRET" goes to the operator, and only its BLAKE2b hash
    is stored, in a token.created event folded into the tokens view
    (store/coreviews.c). A joining node sends the text in its HELLO, inside
    a CURVE channel to the pinned seed key. This module decides whether the
    text is a live token: known id, matching hash (compared in constant
    time), not revoked, not expired, uses left. Each admission is recorded
    by the trust.added event the caller writes (with "token": ID), which
    the tokens view counts as a use.
*/
#ifndef FED_JOINTOKEN_H_INCLUDED
#define FED_JOINTOKEN_H_INCLUDED

#include "evlog.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FED_JOINTOKEN_ID_MAX 16 //  hex chars in a token id

//  Checks size bytes of token text against log's tokens view at wall time
//  now_ms. Returns 0 and copies the token id (NUL-terminated) into id; or
//  -1 with err->text saying why, in words safe to send to the joining node
//  and to log (never the token itself): "unknown join token", "join token
//  ID expired", "join token ID was revoked", "join token ID is used up
//  (N uses)", or a storage error.
int fed_jointoken_check (fed_evlog_t *log, const char *token, size_t size, int64_t now_ms,
                         char id [FED_JOINTOKEN_ID_MAX + 1], fed_err_t *err) FED_MUST_USE;

//  May a join token admit key? Not when the trust view holds a record for
//  it (it is trusted already, or was removed: a token must not undo an
//  admin's removal) or for its twin (the other ed25519 key with the same
//  CURVE key, which would re-admit that key's holder). Returns 0, or -1
//  with err->text saying which, in words safe to send to the joiner.
int fed_jointoken_key_admissible (fed_evlog_t *log, const uint8_t key [32],
                                  fed_err_t *err) FED_MUST_USE;

#ifdef __cplusplus
}
#endif
#endif
