/*  node/identity.h: a node's ed25519 identity and its key files.

    A node is one ed25519 keypair. Its CURVE (x25519) keys, used on every ZMQ
    socket, are derived from it, so a single key file is the whole node and
    the node id is the ed25519 public key printed in Z85 (40 chars). Secret
    material lives in sodium_malloc'd, read-only, guarded memory and is wiped
    when the identity is destroyed.

    Secret key file (DATA_DIR/node.key, DATA_DIR/admin.key), text, mode 0600:

        # fednode ed25519 key. SECRET: keep this file mode 0600.
        version: 1
        public: <40-char Z85 of the 32-byte ed25519 public key>
        secret: <40-char Z85 of the 32-byte ed25519 seed>

    Public key file (NAME.pub, for trust lists), mode 0644: the same form
    without the secret: line. Lines starting with '#' are comments; every
    other line is "name: value", each of version, public (and secret) once,
    in any order, and every line ends in a newline. Anything else, a file
    over 4 KiB, or a public line that does not match the seed, is corrupt.

    Loading a secret key refuses a file that is not a regular file, is owned
    by another user (unless running as root), or is readable or writable by
    group or others; every refusal names the file and the fix. Saving writes
    a temp file in the same directory (O_EXCL, fchmod to the final mode,
    fsync), moves it into place without ever replacing an existing file, and
    fsyncs the directory.
*/
#ifndef FED_IDENTITY_H_INCLUDED
#define FED_IDENTITY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_identity_t fed_identity_t;

//  Reason codes left in fed_err_t.code by this module.
enum {
    FED_IDENTITY_ERR_IO = 1,      //  a system call failed (message has strerror)
    FED_IDENTITY_ERR_MISSING = 2, //  the file does not exist
    FED_IDENTITY_ERR_UNSAFE = 3,  //  wrong file type, owner or mode
    FED_IDENTITY_ERR_CORRUPT = 4, //  the file's contents fail a check
    FED_IDENTITY_ERR_EXISTS = 5,  //  refusing to overwrite an existing file
    FED_IDENTITY_ERR_INVALID = 6  //  key text or key bytes are not a valid key
};

//  A fresh random keypair. Caller owns the result and must destroy it.
//  Never returns NULL (out-of-memory aborts).
fed_identity_t *fed_identity_generate (void);

//  The keypair for a 32-byte seed (tests, deterministic benches). Caller owns
//  the result. Never returns NULL. The seed is copied; the caller wipes its own.
fed_identity_t *fed_identity_from_seed (const uint8_t seed [32]);

//  Loads a secret key file, with the type, owner, mode, size and content
//  checks described above. Caller owns the result. Returns NULL and fills err
//  (code FED_IDENTITY_ERR_*; the text names path and the fix) on failure.
fed_identity_t *fed_identity_load (const char *path, fed_err_t *err);

//  Loads DATA_DIR/node.key, first creating DATA_DIR (and missing parents, mode
//  0700) and a new key if the file is absent. *created_p (if not NULL) says
//  whether a new key was created. Caller owns the result. Returns NULL and
//  fills err on failure; an existing but refused key file is never replaced.
fed_identity_t *fed_identity_open (const char *data_dir, bool *created_p, fed_err_t *err);

//  Loads DATA_DIR/admin.key the same way, creating it (0600) if absent: the
//  local operator's key, which the node trusts as admin so that
//  `fedctl --data-dir DIR` works with no set-up. Caller owns the result.
//  Returns NULL and fills err on failure.
fed_identity_t *fed_identity_open_admin (const char *data_dir, bool *created_p, fed_err_t *err);

//  Loads DATA_DIR/agent.key the same way, creating it (0600) if absent: the
//  key local external agents connect with, which the node trusts with the
//  agent role (doc/protocol.md §5.1; `fednode agent-env` prints its CURVE
//  form). Caller owns the result. Returns NULL and fills err on failure.
fed_identity_t *fed_identity_open_agent (const char *data_dir, bool *created_p, fed_err_t *err);

//  Writes the secret key file at path with mode 0600 whatever the umask.
//  Refuses to overwrite (FED_IDENTITY_ERR_EXISTS). Returns 0, or -1 and fills
//  err; on failure no file is left at path and the temp file is removed.
int fed_identity_save (const fed_identity_t *self, const char *path, fed_err_t *err) FED_MUST_USE;

//  Writes the public-only key file at path with mode 0644. Same rules and
//  failures as fed_identity_save.
int fed_identity_save_public (const fed_identity_t *self, const char *path,
                              fed_err_t *err) FED_MUST_USE;

//  Fills key with a 32-byte ed25519 public key read from path_or_key: an
//  existing public key file or secret key file (content checked, mode not
//  checked, the secret never kept), or else key text of 40 Z85 or 64 hex
//  chars. An existing file always wins over text. The key must be a valid
//  ed25519 point usable for CURVE. Returns 0, or -1 and fills err (key is
//  then untouched). For trust lists and --key arguments.
int fed_identity_read_public (const char *path_or_key, uint8_t key [32],
                              fed_err_t *err) FED_MUST_USE;

//  Operator key generation (fednode keygen, fedctl keygen): makes a fresh
//  identity and writes NAME.key (secret, 0600) and NAME.pub (0644), refusing
//  to overwrite either. Returns the new identity (caller owns it), or NULL
//  with err.
fed_identity_t *fed_identity_keygen (const char *name, fed_err_t *err);

//  Wipes the secrets and frees the identity. Accepts NULL or *self_p NULL;
//  sets *self_p to NULL.
void fed_identity_destroy (fed_identity_t **self_p);

//  Accessors. Every returned pointer is owned by self and valid until it is
//  destroyed; the secret ones point into read-only guarded memory.
//  The ed25519 public key, 32 bytes.
const uint8_t *fed_identity_public (const fed_identity_t *self);
//  The 64-byte libsodium ed25519 secret key (seed followed by public key).
const uint8_t *fed_identity_secret (const fed_identity_t *self);
//  The derived CURVE public key, 32 bytes.
const uint8_t *fed_identity_curve_public (const fed_identity_t *self);
//  The derived CURVE secret key, 32 bytes.
const uint8_t *fed_identity_curve_secret (const fed_identity_t *self);
//  The node id: 40-char Z85 of the ed25519 public key.
const char *fed_identity_id (const fed_identity_t *self);
//  40-char Z85 of the CURVE public key (ZMQ_CURVE_PUBLICKEY / SERVERKEY).
const char *fed_identity_curve_public_z85 (const fed_identity_t *self);
//  40-char Z85 of the CURVE secret key (ZMQ_CURVE_SECRETKEY). Never log it.
const char *fed_identity_curve_secret_z85 (const fed_identity_t *self);
//  First 8 lower-case hex chars of the ed25519 public key, for log prefixes.
const char *fed_identity_short_id (const fed_identity_t *self);

//  Derives the CURVE public key from an ed25519 public key, to pin a peer's
//  server key. Returns 0, or -1 if ed_public is not a valid ed25519 point
//  (curve_public is then untouched).
int fed_identity_curve_from_public (const uint8_t ed_public [32],
                                    uint8_t curve_public [32]) FED_MUST_USE;

//  Signs size bytes at msg with this identity: a detached ed25519 signature,
//  64 bytes written to sig. Cannot fail.
void fed_identity_sign (const fed_identity_t *self, const uint8_t *msg, size_t size,
                        uint8_t sig [64]);

#ifdef __cplusplus
}
#endif
#endif
