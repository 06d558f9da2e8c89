/*  proto/ctlmsg.h: the control protocol codec (doc/protocol.md §3).

    Requests are [1, command, args-map]; replies are [1, true, result] or
    [1, false, {code, message}]. Decoding is strict and bounds-checked (via
    proto/mpread.h): a request that is not exactly that shape is refused with
    a code and a message that says what to send instead. Arguments are read
    through typed getters that mark each argument used, so that a request
    carrying an argument the command does not know is refused (typos are
    caught, not ignored).
*/
#ifndef FED_CTLMSG_H_INCLUDED
#define FED_CTLMSG_H_INCLUDED

#include <msgpack.h>
#include "mpread.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FED_CTL_VERSION 1
#define FED_CTL_COMMAND_MAX 64
#define FED_CTL_ARGS_MAX 64

//  One argument: a key and the raw bytes of its value (both borrowed from
//  the request frame).
typedef struct {
    const char *key;
    uint32_t key_size;
    fed_blob_t value;
    bool used; //  read by a getter
} fed_ctl_arg_t;

typedef struct {
    char command [FED_CTL_COMMAND_MAX + 1]; //  NUL-terminated
    fed_ctl_arg_t args [FED_CTL_ARGS_MAX];  //  borrowed from the frame
    size_t arg_count;
} fed_ctl_request_t;

//  Decodes a request frame into *request (which borrows from data: keep the
//  frame alive while using it). Returns 0, or FED_MALFORMED with *code_p
//  set to "bad_request" or "version" and err saying what is wrong.
int fed_ctl_request_decode (const void *data, size_t size, fed_ctl_request_t *request,
                            const char **code_p, fed_err_t *err) FED_MUST_USE;

//  Typed argument getters. Each returns 0 when the argument is present and
//  of the type, 1 when it is absent, and -1 (err: "argument 'x' must be …")
//  when it has another type or breaks the limit given.
int fed_ctl_arg_str (fed_ctl_request_t *request, const char *name, size_t max_size,
                     const char **ptr, uint32_t *size, fed_err_t *err) FED_MUST_USE;
int fed_ctl_arg_uint (fed_ctl_request_t *request, const char *name, uint64_t max, uint64_t *value,
                      fed_err_t *err) FED_MUST_USE;
int fed_ctl_arg_bool (fed_ctl_request_t *request, const char *name, bool *value,
                      fed_err_t *err) FED_MUST_USE;
//  A number (float or integer) within lo..hi, as a double.
int fed_ctl_arg_double (fed_ctl_request_t *request, const char *name, double lo, double hi,
                        double *value, fed_err_t *err) FED_MUST_USE;
//  A bin of exactly size bytes (size 0: any size up to max_size).
int fed_ctl_arg_bin (fed_ctl_request_t *request, const char *name, size_t size, size_t max_size,
                     const uint8_t **ptr, uint32_t *len, fed_err_t *err) FED_MUST_USE;
//  A map: *value gets its raw msgpack bytes.
int fed_ctl_arg_map (fed_ctl_request_t *request, const char *name, fed_blob_t *value,
                     fed_err_t *err) FED_MUST_USE;
//  An array: *value gets its raw msgpack bytes (read its elements with
//  proto/mpread.h; the request decoder has already checked that they lie
//  within the frame).
int fed_ctl_arg_array (fed_ctl_request_t *request, const char *name, fed_blob_t *value,
                       fed_err_t *err) FED_MUST_USE;

//  After the getters: -1 with err naming the first argument no getter read
//  ("unknown argument 'x' for 'status'"), else 0.
int fed_ctl_args_all_used (const fed_ctl_request_t *request, fed_err_t *err) FED_MUST_USE;

//  Starts a success reply in buffer: packs [1, true, and leaves the result
//  for the caller to pack as the next object.
void fed_ctl_reply_ok (msgpack_packer *pk);
//  Packs a whole failure reply [1, false, {code, message}].
void fed_ctl_reply_error (msgpack_packer *pk, const char *code, const char *message);
//  The same with "errors": every problem found (a command that checks many
//  things at once, like workflow.publish), given as size bytes of one
//  packed msgpack array of str; errors NULL packs none.
void fed_ctl_reply_error_list (msgpack_packer *pk, const char *code, const char *message,
                               const void *errors, size_t size);

//  Client side: packs [1, command, and a map header of arg_count entries;
//  the caller packs the entries.
void fed_ctl_request_begin (msgpack_packer *pk, const char *command, uint32_t arg_count);

//  Client side: decodes a reply. Returns 0 with *ok and *result (borrowed:
//  the result object's bytes on success, the error map's on failure), and on
//  failure code/message copied into the buffers; FED_MALFORMED if the reply
//  is not a reply.
int fed_ctl_reply_decode (const void *data, size_t size, bool *ok, fed_blob_t *result, char *code,
                          size_t code_size, char *message, size_t message_size) FED_MUST_USE;

#ifdef __cplusplus
}
#endif
#endif
