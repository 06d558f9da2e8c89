/*  proto/curve.h: CURVE sockets and the ZAP handler.

    Every fednode socket is CURVE (DESIGN §3, §12). A CURVE server without a
    ZAP handler admits any client key, so the node starts its ZAP handler
    before any server binds, and every server socket sets a non-empty
    ZMQ_ZAP_DOMAIN with ZMQ_ZAP_ENFORCE_DOMAIN, so that a missing handler
    fails closed. The handler admits a client only if its CURVE public key
    is in the allow table of the socket's domain, and reports the User-Id
    the table gives (the caller's ed25519 key in hex), which a server reads
    from each message (zframe_meta (frame, "User-Id")).

    A domain may also run in pending mode (DESIGN §3, doc/protocol.md §4.1):
    there a CURVE key the allow table lacks is still admitted, as *pending*,
    with User-Id "pending:" and the 64 lower-case hex chars of its CURVE
    public key, so the server can let it send a join request and nothing
    else. Pending admissions pass a token bucket per domain; over its rate
    the handshake is refused.

    One ZAP handler serves one ZeroMQ context (czmq's global one): one node
    per process. The handler runs on its own thread; the fed_zap_* calls
    talk to it through a pipe (a socket), so call them from one thread at a
    time, normally the thread that made it.
*/
#ifndef FED_CURVE_H_INCLUDED
#define FED_CURVE_H_INCLUDED

#include <czmq.h>
#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Options every fednode socket carries: ZMQ_MAXMSGSIZE (max_message
//  bytes), a 5 s handshake timeout, heartbeats (5 s interval, 15 s timeout),
//  linger 0 (never block shutdown on unsent messages).
void fed_socket_defaults (zsock_t *sock, int64_t max_message);

//  Makes sock a CURVE server with this node's CURVE keys (32 bytes each) in
//  ZAP domain domain. Call before binding.
void fed_curve_server (zsock_t *sock, const uint8_t secret [32], const uint8_t public_key [32],
                       const char *domain);

//  Makes sock a CURVE client with its own keys, pinning the server's CURVE
//  public key. Call before connecting.
void fed_curve_client (zsock_t *sock, const uint8_t secret [32], const uint8_t public_key [32],
                       const uint8_t server_public [32]);

typedef struct fed_zap_t fed_zap_t;

//  Starts the ZAP handler (binds inproc://zeromq.zap.01). Returns NULL with
//  err if a handler is already bound in this process. Caller owns it.
fed_zap_t *fed_zap_new (fed_err_t *err);
//  Stops the handler. Accepts NULL; sets *self_p to NULL.
void fed_zap_destroy (fed_zap_t **self_p);
//  Admits curve_key in domain, reporting user_id (≤ 127 chars) as User-Id.
//  Takes effect before it returns.
void fed_zap_allow (fed_zap_t *self, const char *domain, const uint8_t curve_key [32],
                    const char *user_id);
//  Stops admitting curve_key in domain (new handshakes only: a server must
//  also refuse the key's requests on open connections). Takes effect before
//  it returns.
void fed_zap_deny (fed_zap_t *self, const char *domain, const uint8_t curve_key [32]);
//  Turns pending mode on in domain (or changes its rate): a CURVE key not
//  allowed in domain is admitted with User-Id "pending:<64 hex chars of the
//  key>", at most burst in a row and then rate_per_s a second (a token
//  bucket on the monotonic clock, full when pending mode starts; a change
//  of rate keeps the tokens left, capped at the new burst). Beyond that the
//  handshake is refused as a temporary failure (ZAP status 300): libzmq
//  sends the client no ERROR and drops the connection at the handshake
//  timeout, and the client reconnects by itself, while an unknown key
//  refused outright (400) is not retried by libzmq. A burst of 0 counts
//  as 1. rate_per_s 0 turns pending mode off in domain: unknown
//  keys are refused again. Keys allowed in domain keep their own User-Id;
//  other domains are not affected. domain is copied. Takes effect before
//  it returns.
void fed_zap_set_pending (fed_zap_t *self, const char *domain, uint32_t rate_per_s, uint32_t burst);
//  Handshakes admitted and refused so far, in all domains (admitted counts
//  pending admissions too; refused counts those refused over the rate).
void fed_zap_counts (fed_zap_t *self, uint64_t *allowed, uint64_t *denied);
//  Pending admissions so far, and handshakes refused because the pending
//  rate was used up (both included in fed_zap_counts).
void fed_zap_pending_counts (fed_zap_t *self, uint64_t *pending_admitted,
                             uint64_t *pending_refused);

#ifdef __cplusplus
}
#endif
#endif
