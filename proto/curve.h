/*  proto/curve.h: CURVE sockets and the ZAP handler.

    Every fednode socket is CURVE (DESIGN §3, §12). A CURVE server without a
    ZAP handler admits any client key, so the node starts its ZAP handler
    before any server binds, and every server socket sets a non-empty
    ZMQ_ZAP_DOMAIN with ZMQ_ZAP_ENFORCE_DOMAIN, so that a missing handler
    fails closed. The handler admits a client only if its CURVE public key
    is in the allow table of the socket's domain, and reports the User-Id
    the table gives (the caller's ed25519 key in hex), which a server reads
    from each message (zframe_meta (frame, "User-Id")).

    One ZAP handler serves one ZeroMQ context (czmq's global one): one node
    per process.
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
//  Handshakes admitted and refused so far.
void fed_zap_counts (fed_zap_t *self, uint64_t *allowed, uint64_t *denied);

#ifdef __cplusplus
}
#endif
#endif
